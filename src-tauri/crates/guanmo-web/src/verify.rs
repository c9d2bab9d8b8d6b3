//! Mobile-number verification for comments (后台实名): when the organiser configured an SMS
//! provider, a phone asks for a code (`POST /api/verify`), the provider texts it, and the
//! comment carries it back. Codes live in memory only: six digits, valid ten minutes, five
//! tries, one text per number per minute; only their BLAKE3 hashes are kept.

use guanmo_api::comments::SmsProvider;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a code is valid.
pub(crate) const CODE_TTL: Duration = Duration::from_secs(600);
/// Wrong codes allowed before the code is void.
const MAX_TRIES: u8 = 5;
/// Shortest time between two texts to one number.
pub(crate) const RESEND_AFTER: Duration = Duration::from_secs(60);
/// Most numbers with a code outstanding (older ones are dropped first).
const MAX_PENDING: usize = 100_000;

struct Pending {
    hash: blake3::Hash,
    sent: Instant,
    tries: u8,
}

/// The outstanding codes.
#[derive(Default)]
pub(crate) struct Codes {
    pending: Mutex<HashMap<String, Pending>>,
}

impl std::fmt::Debug for Codes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codes").finish_non_exhaustive()
    }
}

fn new_code() -> String {
    let n = u32::from_le_bytes(
        uuid::Uuid::new_v4().as_bytes()[..4]
            .try_into()
            .unwrap_or([0; 4]),
    );
    format!("{:06}", n % 1_000_000)
}

impl Codes {
    /// Reserves a fresh code for `phone`, unless one was sent less than a minute ago (then
    /// `Err` says how long to wait).
    pub(crate) fn issue(&self, phone: &str) -> Result<String, Duration> {
        let mut map = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if let Some(p) = map.get(phone) {
            let since = now.duration_since(p.sent);
            if since < RESEND_AFTER {
                return Err(RESEND_AFTER - since);
            }
        }
        if map.len() >= MAX_PENDING {
            map.retain(|_, p| now.duration_since(p.sent) < CODE_TTL);
        }
        let code = new_code();
        map.insert(
            phone.to_string(),
            Pending {
                hash: blake3::hash(code.as_bytes()),
                sent: now,
                tries: 0,
            },
        );
        Ok(code)
    }

    /// Forgets the code of `phone` (the text could not be sent).
    pub(crate) fn withdraw(&self, phone: &str) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(phone);
    }

    /// True when `code` is the live code of `phone`; a right code is used up, a wrong one
    /// counts against the five tries.
    pub(crate) fn check(&self, phone: &str, code: &str) -> bool {
        let mut map = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let Some(p) = map.get_mut(phone) else {
            return false;
        };
        if p.sent.elapsed() > CODE_TTL || p.tries >= MAX_TRIES {
            map.remove(phone);
            return false;
        }
        // blake3::Hash compares in constant time.
        if p.hash == blake3::hash(code.trim().as_bytes()) {
            map.remove(phone);
            true
        } else {
            p.tries += 1;
            false
        }
    }
}

/// Asks the provider to text `code` to `phone` (blocking; run off the async workers). `Err`
/// says why the provider refused or could not be reached.
pub(crate) fn send_sms(provider: &SmsProvider, phone: &str, code: &str) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    let body = serde_json::json!({ "phone": phone, "code": code, "sign": provider.sign });
    let resp = agent
        .post(&provider.url)
        .header("Authorization", &format!("Bearer {}", provider.key))
        .header("Content-Type", "application/json")
        .send(body.to_string().as_bytes())
        .map_err(|e| e.to_string())?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("status {}", resp.status()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_works_once_and_five_wrong_tries_void_it() {
        let codes = Codes::default();
        let c = codes.issue("13812341234").unwrap();
        assert_eq!(c.len(), 6);
        assert!(!codes.check("13912341234", &c), "another number");
        assert!(codes.check("13812341234", &c));
        assert!(!codes.check("13812341234", &c), "used up");

        let codes = Codes::default();
        let c = codes.issue("13812341234").unwrap();
        let wrong = if c == "000000" { "111111" } else { "000000" };
        for _ in 0..5 {
            assert!(!codes.check("13812341234", wrong));
        }
        assert!(
            !codes.check("13812341234", &c),
            "void after five wrong tries"
        );
    }

    #[test]
    fn one_text_per_number_per_minute() {
        let codes = Codes::default();
        codes.issue("13812341234").unwrap();
        assert!(codes.issue("13812341234").unwrap_err() > Duration::ZERO);
        codes.issue("13912341234").unwrap();
    }
}
