//! Who a phone is on the resident site: the `gm_id` cookie, which this site signs. A cookie is
//! an id (its issue time in ms, 12 hex digits, then 80 random bits) followed by a keyed BLAKE3
//! tag of the id (128 bits) under a 32-byte key made once and kept in the site host's own
//! `meta` table (never synced, never logged). A cookie whose tag does not verify counts as no
//! cookie: the phone gets a fresh signed one and is held to the stricter limits of a phone
//! without one, so a client cannot invent phones to get round the per-phone limits. What the
//! store keeps is a time-ordered one-way key made from the id (see [`client_key`]).

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::Response;
use guanmo_api::changes;
use guanmo_api::{ApiError, Ctx, ErrorCode};

/// Name of the phone's cookie.
pub(crate) const COOKIE: &str = "gm_id";
const COOKIE_MAX_AGE: u32 = 180 * 24 * 3600;
/// Hex digits of a cookie's id and of its tag.
const ID_LEN: usize = 32;
const TAG_LEN: usize = 32;

/// The key cookies are signed with. Never printed.
pub(crate) struct CookieKey([u8; 32]);

impl std::fmt::Debug for CookieKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CookieKey").finish_non_exhaustive()
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// 32 bytes from the operating system's random source (two v4 UUIDs carry 244 random bits),
/// spread by BLAKE3's key derivation.
fn random_key() -> [u8; 32] {
    let mut seed = [0u8; 32];
    seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    blake3::derive_key("guanmo resident site cookie key v1", &seed)
}

/// Equal in time that does not depend on where the two differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl CookieKey {
    /// The site's key, made and stored on first use. Written without a sync operation: it
    /// belongs to this host only.
    pub(crate) fn load_or_create(ctx: &Ctx) -> Result<CookieKey, ApiError> {
        // Another site over the same database may have made one meanwhile: the first is kept.
        let kept =
            changes::site_cookie_key(ctx, |k| from_hex32(k).is_some(), || to_hex(&random_key()))?;
        from_hex32(&kept)
            .map(CookieKey)
            .ok_or_else(|| ApiError::new(ErrorCode::Internal, "the stored cookie key is malformed"))
    }

    fn tag(&self, id: &str) -> String {
        let h = blake3::keyed_hash(&self.0, id.as_bytes()).to_hex();
        h[..TAG_LEN].to_string()
    }

    /// A new signed cookie value.
    fn issue(&self) -> String {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let random = uuid::Uuid::new_v4().simple().to_string();
        let id = format!("{:012x}{}", ms & 0xFFFF_FFFF_FFFF, &random[..20]);
        let tag = self.tag(&id);
        format!("{id}{tag}")
    }

    /// The id of `cookie` when this site signed it.
    fn verify<'a>(&self, cookie: &'a str) -> Option<&'a str> {
        if cookie.len() != ID_LEN + TAG_LEN
            || !cookie
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return None;
        }
        let (id, tag) = cookie.split_at(ID_LEN);
        same(self.tag(id).as_bytes(), tag.as_bytes()).then_some(id)
    }

    /// The key of the phone whose signed cookie `headers` carry, if any; issues nothing.
    pub(crate) fn known_key(&self, headers: &HeaderMap) -> Option<String> {
        cookies(headers)
            .find_map(|c| self.verify(c))
            .map(client_key)
    }

    /// Who sent `headers`: the phone of its signed cookie, or a new phone with a new cookie.
    pub(crate) fn phone(&self, headers: &HeaderMap) -> Phone {
        if let Some(id) = cookies(headers).find_map(|c| self.verify(c)) {
            return Phone {
                key: client_key(id),
                new_cookie: None,
            };
        }
        let cookie = self.issue();
        Phone {
            key: client_key(&cookie[..ID_LEN]),
            new_cookie: Some(cookie),
        }
    }
}

/// The values of every `gm_id` cookie the request carries.
fn cookies(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .filter(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.trim())
}

/// Who the phone is: the key the store keeps, and the cookie to set when it had no valid one.
#[derive(Debug)]
pub(crate) struct Phone {
    pub(crate) key: String,
    pub(crate) new_cookie: Option<String>,
}

impl Phone {
    /// True when the request carried a cookie this site signed.
    pub(crate) fn known(&self) -> bool {
        self.new_cookie.is_none()
    }

    /// The key per-phone limits count against: none for a phone without a valid cookie
    /// (its fresh key would start with a full quota every time).
    pub(crate) fn limit_key(&self) -> Option<&str> {
        self.known().then_some(self.key.as_str())
    }

    /// `r` with the phone's new cookie set, if it got one; `Secure` when the request came
    /// over HTTPS.
    pub(crate) fn set_cookie(&self, mut r: Response, secure: bool) -> Response {
        if let Some(c) = &self.new_cookie {
            let v = format!(
                "{COOKIE}={c}; Path=/; Max-Age={COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax{}",
                if secure { "; Secure" } else { "" }
            );
            if let Ok(v) = HeaderValue::from_str(&v) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        r
    }
}

/// The key the store keeps for a phone: the id's first 12 digits (its issue time) then 20 of
/// its BLAKE3 hash. Time-ordered, so the per-phone index grows at its end instead of at
/// random pages; one-way, so the database never holds a cookie that could be replayed.
pub(crate) fn client_key(id: &str) -> String {
    let hash = blake3::hash(id.as_bytes()).to_hex();
    format!("{}{}", &id[..12.min(id.len())], &hash[..20])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn only_a_cookie_this_key_signed_is_a_known_phone() {
        let k = CookieKey(random_key());
        let fresh = k.phone(&HeaderMap::new());
        let cookie = fresh.new_cookie.clone().unwrap();
        assert_eq!(cookie.len(), 64);
        assert!(!fresh.known());
        let again = k.phone(&with_cookie(&format!("x=1; {COOKIE}={cookie}")));
        assert!(again.known());
        assert_eq!(again.key, fresh.key, "the same phone");
        assert_eq!(again.limit_key(), Some(fresh.key.as_str()));

        // An invented cookie, an old unsigned one, a tampered tag, another key's cookie.
        let mut tampered = cookie.clone().into_bytes();
        tampered[63] = if tampered[63] == b'0' { b'1' } else { b'0' };
        let other = CookieKey(random_key()).issue();
        for bad in [
            format!("{:032x}", 7),
            format!("{:064x}", 7),
            String::from_utf8(tampered).unwrap(),
            other,
            cookie.to_uppercase(),
        ] {
            let p = k.phone(&with_cookie(&format!("{COOKIE}={bad}")));
            assert!(!p.known(), "{bad}");
            assert!(p.new_cookie.is_some());
            assert_eq!(p.limit_key(), None);
        }
    }

    #[test]
    fn the_key_is_made_once_and_kept_in_the_hosts_meta() {
        let dir = tempfile::tempdir().unwrap();
        let clock = std::sync::Arc::new(guanmo_domain::SystemClock);
        let ctx = Ctx::open(dir.path(), clock).unwrap();
        let a = CookieKey::load_or_create(&ctx).unwrap();
        let b = CookieKey::load_or_create(&ctx).unwrap();
        assert_eq!(a.0, b.0);
        let stored =
            changes::site_cookie_key(&ctx, |_| true, || unreachable!("the key is stored")).unwrap();
        assert_eq!(stored.len(), 64);
        let cookie = a.issue();
        assert!(b.verify(&cookie).is_some());
        assert!(!format!("{a:?}").contains(&stored[..8]), "never printed");
    }

    #[test]
    fn a_new_cookie_is_secure_over_https() {
        let k = CookieKey(random_key());
        let p = k.phone(&HeaderMap::new());
        let plain = p.set_cookie(Response::default(), false);
        let v = plain.headers()[header::SET_COOKIE].to_str().unwrap();
        assert!(v.ends_with("HttpOnly; SameSite=Lax"), "{v}");
        let tls = p.set_cookie(Response::default(), true);
        let v = tls.headers()[header::SET_COOKIE].to_str().unwrap();
        assert!(v.ends_with("; Secure"), "{v}");
        let known = Phone {
            key: p.key.clone(),
            new_cookie: None,
        };
        assert!(known
            .set_cookie(Response::default(), true)
            .headers()
            .get(header::SET_COOKIE)
            .is_none());
    }
}
