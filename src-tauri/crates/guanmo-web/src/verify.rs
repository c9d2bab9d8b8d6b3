//! Mobile-number verification for comments (后台实名): when the organiser configured an SMS
//! provider, a phone asks for a code (`POST /api/verify`), the provider texts it, and the
//! comment carries it back. Codes live in memory only: six digits, valid ten minutes, five
//! tries, one text per number per minute; only their BLAKE3 hashes are kept. Every text costs
//! the organiser money, so [`SmsGate`] caps them apart from every other limit: per address
//! (three in ten minutes), per number (five a day) and for the whole site (500 a day), days
//! counted in Beijing time.

use crate::limits::{address_key, SmsQuotas};
use governor::{DefaultKeyedRateLimiter, Quota};
use guanmo_api::comments::SmsProvider;
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
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

/// Why the gate refused a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SmsRefusal {
    /// This address asked for too many texts; wait this long.
    Address(Duration),
    /// This number had its texts for today; wait until tomorrow.
    NumberToday(Duration),
    /// The site sent its texts for today; wait until tomorrow.
    SiteToday(Duration),
}

/// Texts counted in one Beijing day.
#[derive(Debug, Default)]
struct Day {
    day: i64,
    site: u32,
    numbers: HashMap<String, u32>,
}

/// The caps of texts sent (see the module doc).
pub(crate) struct SmsGate {
    quotas: SmsQuotas,
    address: DefaultKeyedRateLimiter<IpAddr>,
    clock: governor::clock::DefaultClock,
    today: Mutex<Day>,
}

impl std::fmt::Debug for SmsGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsGate").finish_non_exhaustive()
    }
}

const DAY_SECONDS: u64 = 24 * 3600;

/// The Beijing day (UTC+8) now, and the time left until the next one begins.
fn beijing_day() -> (i64, Duration) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 8 * 3600;
    (
        (secs / DAY_SECONDS) as i64,
        Duration::from_secs(DAY_SECONDS - secs % DAY_SECONDS),
    )
}

impl SmsGate {
    pub(crate) fn new(quotas: SmsQuotas) -> SmsGate {
        let n = NonZeroU32::new(quotas.address_per_10_minutes.max(1)).unwrap_or(NonZeroU32::MIN);
        let period = Duration::from_secs(600) / n.get();
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_minute(NonZeroU32::MIN))
            .allow_burst(n);
        SmsGate {
            quotas,
            address: DefaultKeyedRateLimiter::keyed(quota),
            clock: governor::clock::DefaultClock::default(),
            today: Mutex::default(),
        }
    }

    /// Counts a request for a text from `ip`: refused beyond the per-address quota.
    pub(crate) fn check_address(&self, ip: IpAddr) -> Result<(), SmsRefusal> {
        if self.address.len() > 10_000 {
            self.address.retain_recent();
        }
        self.address.check_key(&address_key(ip)).map_err(|n| {
            SmsRefusal::Address(n.wait_time_from(governor::clock::Clock::now(&self.clock)))
        })
    }

    /// Counts a text to `number` against today's caps of the number and of the site.
    pub(crate) fn reserve(&self, number: &str) -> Result<(), SmsRefusal> {
        self.reserve_on(number, beijing_day())
    }

    fn reserve_on(&self, number: &str, (day, left): (i64, Duration)) -> Result<(), SmsRefusal> {
        let mut t = self.today.lock().unwrap_or_else(|e| e.into_inner());
        if t.day != day {
            *t = Day {
                day,
                ..Day::default()
            };
        }
        if t.site >= self.quotas.site_per_day {
            return Err(SmsRefusal::SiteToday(left));
        }
        let sent = t.numbers.get(number).copied().unwrap_or(0);
        if sent >= self.quotas.number_per_day {
            return Err(SmsRefusal::NumberToday(left));
        }
        t.site += 1;
        t.numbers.insert(number.to_string(), sent + 1);
        Ok(())
    }

    /// Gives back a reservation whose text was not sent after all (a code was sent to the
    /// number less than a minute ago).
    pub(crate) fn release(&self, number: &str) {
        let mut t = self.today.lock().unwrap_or_else(|e| e.into_inner());
        t.site = t.site.saturating_sub(1);
        if let Some(n) = t.numbers.get_mut(number) {
            *n = n.saturating_sub(1);
        }
    }
}

/// Asks the provider to text `code` to `phone` (blocking; run off the async workers). `Err`
/// says why the provider refused or could not be reached (its code and a Chinese message; no
/// secret).
pub(crate) fn send_sms(provider: &SmsProvider, phone: &str, code: &str) -> Result<(), String> {
    crate::sms::send(provider, phone, code).map_err(|e| e.to_string())
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
    fn the_gate_caps_texts_per_address_per_number_and_per_site() {
        let gate = SmsGate::new(SmsQuotas::default());
        let ip: IpAddr = "10.0.0.2".parse().unwrap();
        let allowed = (0..60).filter(|_| gate.check_address(ip).is_ok()).count();
        assert_eq!(allowed, 3, "three in ten minutes per address");
        assert!(matches!(
            gate.check_address(ip),
            Err(SmsRefusal::Address(w)) if w > Duration::from_secs(100)
        ));
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let same_net: IpAddr = "2001:db8::2".parse().unwrap();
        for _ in 0..3 {
            gate.check_address(v6).unwrap();
        }
        assert!(gate.check_address(same_net).is_err(), "one /64");

        let day = (20_000, Duration::from_secs(3600));
        for _ in 0..5 {
            gate.reserve_on("13812341234", day).unwrap();
        }
        assert_eq!(
            gate.reserve_on("13812341234", day),
            Err(SmsRefusal::NumberToday(Duration::from_secs(3600)))
        );
        gate.release("13812341234");
        gate.reserve_on("13812341234", day).unwrap();
        gate.reserve_on("13812341234", (20_001, day.1)).unwrap();

        let gate = SmsGate::new(SmsQuotas {
            site_per_day: 4,
            ..SmsQuotas::default()
        });
        for n in 0..4 {
            gate.reserve_on(&format!("1381234000{n}"), day).unwrap();
        }
        assert_eq!(
            gate.reserve_on("13912341234", day),
            Err(SmsRefusal::SiteToday(Duration::from_secs(3600)))
        );
        gate.reserve_on("13912341234", (20_001, day.1)).unwrap();
    }

    #[test]
    fn one_text_per_number_per_minute() {
        let codes = Codes::default();
        codes.issue("13812341234").unwrap();
        assert!(codes.issue("13812341234").unwrap_err() > Duration::ZERO);
        codes.issue("13912341234").unwrap();
    }
}
