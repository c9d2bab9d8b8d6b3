//! Rate limits of the resident site's few writing routes: per phone (its signed cookie) and
//! per peer address, so one phone cannot flood the queue while fifty phones behind one venue
//! Wi-Fi (one address) can each still comment. A request without a valid cookie has no phone
//! to count against, so it is held to a far lower per-address quota instead. Addresses are
//! keyed as the network that owns them: an IPv4 address, or an IPv6 address's /64 prefix (one
//! subscriber gets a whole /64 and can pick any address in it). `X-Forwarded-For` and
//! `X-Forwarded-Proto` are believed only from a configured trusted proxy. The global cap is
//! the comment ingest queue itself; SMS codes and live streams have their own caps.

use crate::error::HttpError;
use axum::http::HeaderMap;
use governor::{DefaultKeyedRateLimiter, Quota};
use guanmo_api::site::{SiteQuotas, SiteSettings};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
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

/// Limits of the SMS verification codes (each one is a paid text message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsQuotas {
    /// Texts one address may ask for in ten minutes.
    pub address_per_10_minutes: u32,
    /// Texts one number may receive in a day (Beijing time); one a minute at most besides.
    pub number_per_day: u32,
    /// Texts the whole site sends in a day (Beijing time).
    pub site_per_day: u32,
}

impl Default for SmsQuotas {
    fn default() -> Self {
        SmsQuotas {
            address_per_10_minutes: 3,
            number_per_day: 5,
            site_per_day: 500,
        }
    }
}

/// Caps of the open live streams (`/live`, one per open page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveCaps {
    /// Streams open at once over the whole site; beyond it `503` (the page then falls back to
    /// refreshing the feed every 直播网站设置 interval). [`LiveCaps::DEFAULT_TOTAL`] unless
    /// `guanmo serve --live-max-streams` says otherwise.
    ///
    /// What an open stream costs (measured at 2,000 and 5,000 streams through nginx over TLS,
    /// `guanmo-cli/benches/nginx.rs`, BENCHMARKS.md): in this process about 25 KiB of resident
    /// memory (the connection's buffers, its task, its broadcast receiver) and one open file
    /// (its socket); in nginx in front, two connections (the phone's and the one to this site)
    /// and about 42 KiB; in the kernel, the socket buffers of both connections besides. So
    /// 5,000 streams took 120 MiB here (13 → 133 MiB) and need an open-files limit above 5,000.
    pub total: usize,
    /// Streams open at once from one address; beyond it `429`.
    pub per_address: u32,
    /// Most feed events replayed to a phone that resumes (`Last-Event-ID`, `?since=`);
    /// further behind, it is told to reload its page.
    pub replay: u32,
}

impl LiveCaps {
    /// Streams open at once over the site by default (the desktop app's LAN site too): about
    /// 50 MiB of streams. More is a deployment's choice (`guanmo serve --live-max-streams`),
    /// as it needs the open-files limit and the proxy in front sized for it (`deploy/`).
    pub const DEFAULT_TOTAL: usize = 2000;
    /// The most [`LiveCaps::total`] may be set to: 50,000 streams are about 1.2 GiB here and
    /// 100,000 connections in the proxy in front, beyond what one hub is meant to hold (and
    /// beyond the 65,536 open files the shipped systemd unit allows).
    pub const MAX_TOTAL: usize = 50_000;
}

impl Default for LiveCaps {
    fn default() -> Self {
        // Phones on 4G share public addresses (carrier NAT), and fifty phones behind one venue
        // Wi-Fi are one address: a per-address cap only stops one client opening hundreds.
        LiveCaps {
            total: LiveCaps::DEFAULT_TOTAL,
            per_address: 200,
            replay: 256,
        }
    }
}

/// The site's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    /// Comments (评论). Without a valid cookie one address gets a twentieth of its quota.
    pub comments: Quotas,
    /// Likes, reports and appeals. Without a valid cookie one address gets a fiftieth of its
    /// quota, and no like at all.
    pub actions: Quotas,
    /// Likes of one target from one address, per minute (after a burst of ten): a
    /// script that fetches a fresh cookie for every like still cannot pile likes on a post.
    pub likes_per_target_per_minute: u32,
    /// SMS verification codes.
    pub sms: SmsQuotas,
    /// Open live streams.
    pub live: LiveCaps,
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
            likes_per_target_per_minute: LIKE_TARGET_PER_MINUTE,
            sms: SmsQuotas::default(),
            live: LiveCaps::default(),
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
/// Likes of one target from one address per minute, by default.
const LIKE_TARGET_PER_MINUTE: u32 = 2;
/// Likes of one target one address may give at once.
pub(crate) const LIKE_TARGET_BURST: u32 = 10;
/// A request without a valid cookie gets this fraction of an address's comment quota.
pub(crate) const COOKIELESS_COMMENTS_DIVISOR: u32 = 20;
/// A request without a valid cookie gets this fraction of an address's action quota.
pub(crate) const COOKIELESS_ACTIONS_DIVISOR: u32 = 50;

/// The key an address is counted under: an IPv4 address as it is (an IPv4-mapped IPv6
/// address as its IPv4 one), an IPv6 address as its /64 network.
pub(crate) fn address_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(std::net::Ipv6Addr::from(
                u128::from(v6) & !u128::from(u64::MAX),
            )),
        },
    }
}

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
    /// Per address, for requests without a valid cookie.
    cookieless: DefaultKeyedRateLimiter<IpAddr>,
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
    /// Limits of `q`; a request without a valid cookie gets `1 / cookieless_divisor` of the
    /// per-address quota.
    pub(crate) fn new(q: Quotas, cookieless_divisor: u32) -> Limiter {
        let d = cookieless_divisor.max(1);
        Limiter {
            phone: DefaultKeyedRateLimiter::keyed(quota(q.phone_per_minute, q.phone_burst)),
            ip: DefaultKeyedRateLimiter::keyed(quota(q.ip_per_minute, q.ip_burst)),
            cookieless: DefaultKeyedRateLimiter::keyed(quota(q.ip_per_minute / d, q.ip_burst / d)),
            clock: governor::clock::DefaultClock::default(),
            pruned_ms: AtomicU64::new(0),
            started: std::time::Instant::now(),
            hasher: std::collections::hash_map::RandomState::new(),
        }
    }

    /// Counts one action of the phone `phone` (its key, `None` without a valid cookie) from
    /// `ip`; `Err` holds how long to wait before the next is allowed.
    pub(crate) fn check(&self, phone: Option<&str>, ip: IpAddr) -> Result<(), Duration> {
        let ip = address_key(ip);
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
            self.cookieless.retain_recent();
        }
        let now = || governor::clock::Clock::now(&self.clock);
        match phone {
            Some(phone) => {
                let digest = {
                    use std::hash::{BuildHasher, Hasher};
                    let mut h = self.hasher.build_hasher();
                    h.write(phone.as_bytes());
                    h.finish()
                };
                self.phone
                    .check_key(&digest)
                    .map_err(|n| n.wait_time_from(now()))?;
            }
            None => self
                .cookieless
                .check_key(&ip)
                .map_err(|n| n.wait_time_from(now()))?,
        }
        self.ip
            .check_key(&ip)
            .map_err(|n| n.wait_time_from(now()))?;
        Ok(())
    }
}

/// Likes per (address, target): a phone may fetch a fresh cookie for every like, so likes of
/// one target from one address are capped too.
pub(crate) struct TargetLimiter {
    limiter: DefaultKeyedRateLimiter<(IpAddr, u64)>,
    clock: governor::clock::DefaultClock,
    hasher: std::collections::hash_map::RandomState,
    checks: AtomicU64,
}

impl std::fmt::Debug for TargetLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetLimiter").finish_non_exhaustive()
    }
}

impl TargetLimiter {
    pub(crate) fn new(per_minute: u32) -> TargetLimiter {
        TargetLimiter {
            limiter: DefaultKeyedRateLimiter::keyed(quota(per_minute, LIKE_TARGET_BURST)),
            clock: governor::clock::DefaultClock::default(),
            hasher: std::collections::hash_map::RandomState::new(),
            checks: AtomicU64::new(0),
        }
    }

    /// Counts one like of `target` from `ip`; `Err` holds how long to wait.
    pub(crate) fn check(&self, ip: IpAddr, target: &str) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
        }
        let digest = {
            use std::hash::{BuildHasher, Hasher};
            let mut h = self.hasher.build_hasher();
            h.write(target.as_bytes());
            h.finish()
        };
        self.limiter
            .check_key(&(address_key(ip), digest))
            .map_err(|n| n.wait_time_from(governor::clock::Clock::now(&self.clock)))
    }
}

/// True when the request came over HTTPS: its URI says so, or the peer is a trusted proxy
/// whose `X-Forwarded-Proto` (its first value) is `https`.
pub(crate) fn is_https(
    peer: Option<SocketAddr>,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    trusted: &[IpAddr],
) -> bool {
    if uri.scheme_str() == Some("https") {
        return true;
    }
    let Some(peer) = peer else {
        return false;
    };
    if !trusted.contains(&peer.ip()) {
        return false;
    }
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
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

/// The open live streams: how many over the site and per address. Each holds a connection
/// and a task, so they are capped: at most `LiveCaps::total` over the site (`503` beyond) and
/// `LiveCaps::per_address` from one address (`429` beyond).
#[derive(Debug)]
pub(crate) struct Streams {
    pub(crate) caps: LiveCaps,
    open: Mutex<(usize, HashMap<IpAddr, u32>)>,
}

/// One admitted stream; gives its place back when dropped (the phone went away, or the
/// server is shutting down).
#[derive(Debug)]
pub(crate) struct Ticket {
    streams: Arc<Streams>,
    ip: IpAddr,
}

impl Streams {
    pub(crate) fn new(caps: LiveCaps) -> Streams {
        Streams {
            caps,
            open: Mutex::default(),
        }
    }

    /// A place for one more stream from `ip`, if the caps allow it.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Ticket, HttpError> {
        let ip = address_key(ip);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.0 >= self.caps.total {
            return Err(HttpError::streams_full());
        }
        let mine = open.1.entry(ip).or_insert(0);
        if *mine >= self.caps.per_address {
            return Err(HttpError::too_many_streams());
        }
        *mine += 1;
        open.0 += 1;
        Ok(Ticket {
            streams: self.clone(),
            ip,
        })
    }

    /// Streams open now over the site.
    pub(crate) fn open_total(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    /// Streams open now (over the site, from `ip`'s address).
    #[cfg(test)]
    pub(crate) fn count(&self, ip: IpAddr) -> (usize, u32) {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        (open.0, open.1.get(&address_key(ip)).copied().unwrap_or(0))
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut open = self.streams.open.lock().unwrap_or_else(|e| e.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.1.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn one_phone_is_held_to_its_burst() {
        let l = Limiter::new(RateLimits::default().comments, COOKIELESS_COMMENTS_DIVISOR);
        let ip: IpAddr = "10.0.0.2".parse().unwrap();
        let allowed = (0..100)
            .filter(|_| l.check(Some("phone-a"), ip).is_ok())
            .count();
        assert_eq!(allowed, 3);
        assert!(l.check(Some("phone-a"), ip).unwrap_err() > Duration::ZERO);
    }

    #[test]
    fn fifty_phones_behind_one_address_are_each_allowed() {
        let l = Limiter::new(RateLimits::default().comments, COOKIELESS_COMMENTS_DIVISOR);
        let ip: IpAddr = "10.0.0.2".parse().unwrap();
        for p in 0..50 {
            for _ in 0..3 {
                assert!(
                    l.check(Some(&format!("phone-{p}")), ip).is_ok(),
                    "phone {p}"
                );
            }
        }
        // A 51st phone sending its burst finds the address spent.
        let extra = (0..10)
            .filter(|_| l.check(Some("phone-x"), ip).is_ok())
            .count();
        assert!(extra < 3);
    }

    #[test]
    fn requests_without_a_cookie_get_a_twentieth_of_the_address_quota() {
        let l = Limiter::new(RateLimits::default().comments, COOKIELESS_COMMENTS_DIVISOR);
        let ip: IpAddr = "10.0.0.2".parse().unwrap();
        let allowed = (0..100).filter(|_| l.check(None, ip).is_ok()).count();
        assert_eq!(allowed, 150 / 20, "the default burst of 150, divided by 20");
        assert!(
            l.check(Some("phone-a"), ip).is_ok(),
            "phones with a cookie keep the rest"
        );
    }

    #[test]
    fn an_ipv6_address_is_counted_as_its_64_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:1:2:3".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), "2001:db8:1:2::".parse::<IpAddr>().unwrap());
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(other));
        let mapped: IpAddr = "::ffff:10.0.0.2".parse().unwrap();
        assert_eq!(address_key(mapped), "10.0.0.2".parse::<IpAddr>().unwrap());
        let l = Limiter::new(RateLimits::default().comments, COOKIELESS_COMMENTS_DIVISOR);
        let spent = (0..20).filter(|_| l.check(None, a).is_ok()).count();
        assert_eq!(spent, 7);
        assert!(l.check(None, b).is_err(), "another address of the same /64");
        assert!(l.check(None, other).is_ok(), "another /64");
    }

    #[test]
    fn https_is_believed_from_the_uri_or_a_trusted_proxy_only() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        let proxy: SocketAddr = "10.0.0.9:5000".parse().unwrap();
        let plain: axum::http::Uri = "/api/me".parse().unwrap();
        let trusted = ["10.0.0.9".parse().unwrap()];
        assert!(is_https(Some(proxy), &plain, &h, &trusted));
        assert!(!is_https(Some(proxy), &plain, &h, &[]), "untrusted peer");
        assert!(!is_https(Some(proxy), &plain, &HeaderMap::new(), &trusted));
        let https: axum::http::Uri = "https://live.example.cn/".parse().unwrap();
        assert!(is_https(None, &https, &HeaderMap::new(), &[]));
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
        assert_eq!(l.likes_per_target_per_minute, 2);
        assert_eq!(
            (
                l.sms.address_per_10_minutes,
                l.sms.number_per_day,
                l.sms.site_per_day
            ),
            (3, 5, 500)
        );
        assert_eq!(
            (l.live.total, l.live.per_address, l.live.replay),
            (2000, 200, 256)
        );
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

    #[test]
    fn streams_are_capped_per_address_and_over_the_site_and_give_back_their_place() {
        let streams = Arc::new(Streams::new(LiveCaps {
            total: 5,
            per_address: 2,
            replay: 256,
        }));
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let a2: IpAddr = "2001:db8:1:2::99".parse().unwrap();
        let t1 = streams.admit(a).unwrap();
        let _t2 = streams.admit(a2).unwrap();
        let e = streams.admit(a).unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::TOO_MANY_REQUESTS);
        drop(t1);
        assert_eq!(streams.count(a), (1, 1));
        let _t3 = streams.admit(a).unwrap();
        let others: Vec<_> = (1..=3)
            .map(|i| streams.admit(IpAddr::from([10, 0, 0, i])).unwrap())
            .collect();
        let e = streams.admit("10.0.0.9".parse().unwrap()).unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
        drop(others);
        assert_eq!(streams.count(a), (2, 2));
    }
}
