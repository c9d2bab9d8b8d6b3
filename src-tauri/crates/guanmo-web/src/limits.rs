//! Rate limits of the resident site's few writing routes: per phone (its cookie) and per
//! peer address, so one phone cannot flood the queue while fifty phones behind one venue
//! Wi-Fi (one address) can each still comment. `X-Forwarded-For` is believed only from a
//! configured trusted proxy. The global cap is the comment ingest queue itself.

use axum::http::HeaderMap;
use governor::{DefaultKeyedRateLimiter, Quota};
use guanmo_api::site::{SiteQuotas, SiteSettings};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Quotas of one kind of action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// Sustained actions per minute from one phone.
    pub phone_per_minute: u32,
    /// Actions one phone may make at once.
    pub phone_burst: u32,
    /// Sustained actions per minute from one address (all phones behind it).
    pub ip_per_minute: u32,
    /// Actions one address may make at once.
    pub ip_burst: u32,
}

/// The site's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// Comments (评论).
    pub comments: Quotas,
    /// Likes, reports and appeals.
    pub actions: Quotas,
    /// Comments waiting for the group commit at most; beyond it the site answers `429`.
    pub ingest_queue: usize,
    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpAddr>,
}

impl Default for RateLimits {
    /// The defaults of [`SiteSettings`], the one place the numbers live.
    fn default() -> Self {
        Self::from_settings(&SiteSettings::default())
    }
}

impl From<SiteQuotas> for Quotas {
    fn from(q: SiteQuotas) -> Self {
        Quotas {
            phone_per_minute: q.phone_per_minute,
            phone_burst: q.phone_burst,
            ip_per_minute: q.ip_per_minute,
            ip_burst: q.ip_burst,
        }
    }
}

impl RateLimits {
    /// The limits set in 直播网站设置 (the ingest cap is not a setting). Proxy addresses
    /// that do not parse are left out: [`guanmo_api::site::set_site_settings`] refuses them.
    pub fn from_settings(s: &SiteSettings) -> RateLimits {
        RateLimits {
            comments: s.comments.into(),
            actions: s.actions.into(),
            ingest_queue: INGEST_QUEUE,
            trusted_proxies: s
                .trusted_proxies
                .iter()
                .filter_map(|p| p.trim().parse().ok())
                .collect(),
        }
    }
}

/// Comments waiting for the group commit at most, by default.
const INGEST_QUEUE: usize = 8192;

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN)
}

fn quota(per_minute: u32, burst: u32) -> Quota {
    Quota::per_minute(nz(per_minute)).allow_burst(nz(burst))
}

/// Keyed limiters for one kind of action.
pub(crate) struct Limiter {
    /// Keyed by a 64-bit digest of the phone's key: no allocation per check.
    phone: DefaultKeyedRateLimiter<u64>,
    ip: DefaultKeyedRateLimiter<IpAddr>,
    clock: governor::clock::DefaultClock,
    /// When idle keys were last dropped, in ms since `started`.
    pruned_ms: AtomicU64,
    started: std::time::Instant,
    /// Randomly seeded, so nobody can aim two phones at one key.
    hasher: std::collections::hash_map::RandomState,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter").finish_non_exhaustive()
    }
}

/// How often idle keys are dropped (a key is idle once its quota has refilled).
const PRUNE_EVERY: Duration = Duration::from_secs(10);

impl Limiter {
    pub(crate) fn new(q: Quotas) -> Limiter {
        Limiter {
            phone: DefaultKeyedRateLimiter::keyed(quota(q.phone_per_minute, q.phone_burst)),
            ip: DefaultKeyedRateLimiter::keyed(quota(q.ip_per_minute, q.ip_burst)),
            clock: governor::clock::DefaultClock::default(),
            pruned_ms: AtomicU64::new(0),
            started: std::time::Instant::now(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// Counts one action; `Err` holds how long to wait before the next is allowed.
    pub(crate) fn check(&self, phone: &str, ip: IpAddr) -> Result<(), Duration> {
        let elapsed = self.started.elapsed().as_millis() as u64;
        let last = self.pruned_ms.load(Ordering::Relaxed);
        if elapsed.saturating_sub(last) >= PRUNE_EVERY.as_millis() as u64
            && self
                .pruned_ms
                .compare_exchange(last, elapsed, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.phone.retain_recent();
            self.ip.retain_recent();
        }
        let now = || governor::clock::Clock::now(&self.clock);
        let digest = {
            use std::hash::{BuildHasher, Hasher};
            let mut h = self.hasher.build_hasher();
            h.write(phone.as_bytes());
            h.finish()
        };
        self.phone
            .check_key(&digest)
            .map_err(|n| n.wait_time_from(now()))?;
        self.ip
            .check_key(&ip)
            .map_err(|n| n.wait_time_from(now()))?;
        Ok(())
    }
}

/// The address a request comes from: the peer, or, when the peer is a trusted proxy, the
/// nearest address in `X-Forwarded-For` that is not itself a trusted proxy.
pub(crate) fn client_ip(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    trusted: &[IpAddr],
) -> IpAddr {
    let peer = peer.map_or(IpAddr::from([0, 0, 0, 0]), |p| p.ip());
    if !trusted.contains(&peer) {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .rev()
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn one_phone_is_held_to_its_burst() {
        let l = Limiter::new(RateLimits::default().comments);
        let ip: IpAddr = "10.0.0.2".parse().unwrap();
        let allowed = (0..100).filter(|_| l.check("phone-a", ip).is_ok()).count();
        assert_eq!(allowed, 3);
        assert!(l.check("phone-a", ip).unwrap_err() > Duration::ZERO);
    }

    #[test]
    fn fifty_phones_behind_one_address_are_each_allowed() {
        let l = Limiter::new(RateLimits::default().comments);
        let ip: IpAddr = "10.0.0.2".parse().unwrap();
        for p in 0..50 {
            for _ in 0..3 {
                assert!(l.check(&format!("phone-{p}"), ip).is_ok(), "phone {p}");
            }
        }
        // A 51st phone sending its burst finds the address spent.
        let extra = (0..10).filter(|_| l.check("phone-x", ip).is_ok()).count();
        assert!(extra < 3);
    }

    #[test]
    fn the_default_limits_are_the_ones_residents_had_before_settings_existed() {
        let l = RateLimits::default();
        let q = |a, b, c, d| Quotas {
            phone_per_minute: a,
            phone_burst: b,
            ip_per_minute: c,
            ip_burst: d,
        };
        assert_eq!(l.comments, q(4, 3, 200, 150));
        assert_eq!(l.actions, q(30, 20, 1500, 1000));
        assert_eq!(l.ingest_queue, 8192);
        assert!(l.trusted_proxies.is_empty());
    }

    #[test]
    fn limits_follow_the_settings() {
        let s = SiteSettings {
            comments: SiteQuotas {
                phone_per_minute: 2,
                phone_burst: 1,
                ip_per_minute: 500,
                ip_burst: 400,
            },
            trusted_proxies: vec!["10.0.0.9".into(), "fd00::9".into()],
            ..SiteSettings::default()
        };
        let l = RateLimits::from_settings(&s);
        assert_eq!((l.comments.phone_burst, l.comments.ip_per_minute), (1, 500));
        assert_eq!(l.actions, RateLimits::default().actions);
        assert_eq!(
            l.trusted_proxies,
            [
                "10.0.0.9".parse::<IpAddr>().unwrap(),
                "fd00::9".parse().unwrap()
            ]
        );
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, 10.0.0.9"),
        );
        let peer: SocketAddr = "10.0.0.9:5000".parse().unwrap();
        assert_eq!(client_ip(Some(peer), &h, &[]), peer.ip());
        let trusted = ["10.0.0.9".parse().unwrap()];
        assert_eq!(
            client_ip(Some(peer), &h, &trusted),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
    }
}
