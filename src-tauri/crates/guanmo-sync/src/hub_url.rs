//! Where laptops reach the hub: the address a person types as 主机地址, and the port of the
//! hub's peer listener (8787 unless the organiser chose another in 同步 › 更改端口, or
//! `GUANMO_PEER_PORT` fixes it). Refusals come worded for the person, as an [`ApiError`]
//! with a [`Problem`] naming the field.

use crate::identity::{self, MIN_PEER_PORT};
use guanmo_api::{ApiError, Ctx, ErrorCode};
use guanmo_domain::problem::{Problem, ProblemCode};

/// Port of the hub's peer listener unless `GUANMO_PEER_PORT` or the organiser says otherwise.
pub const DEFAULT_PEER_PORT: u16 = 8787;
/// Environment variable fixing the peer port (tests use it so they never meet a real hub).
pub const PEER_PORT_ENV: &str = "GUANMO_PEER_PORT";

/// A usable hub address from what a person typed: trims, adds `http://` (and the usual port
/// to a bare address), drops a trailing `/`.
pub fn normalize_hub_url(raw: &str) -> Result<String, ApiError> {
    let t = raw.trim();
    let (scheme, rest) = match (t.strip_prefix("http://"), t.strip_prefix("https://")) {
        (Some(rest), _) => ("http", rest),
        (_, Some(rest)) => ("https", rest),
        _ => ("http", t),
    };
    let host = rest.trim_end_matches('/');
    let ok = !host.is_empty()
        && !host.contains('/')
        && !host.contains(char::is_whitespace)
        && !host.starts_with(':');
    if !ok {
        return Err(ApiError::with_problems(
            ErrorCode::Validation,
            format!("not a hub address: {raw}"),
            vec![Problem::error(
                ProblemCode::Invalid,
                "主机地址",
                "请填写组织方主机上显示的地址,如 http://192.168.1.20:8787",
            )],
        ));
    }
    // A bare LAN address means the hub's usual port.
    Ok(if scheme == "http" && !host.contains(':') {
        format!("http://{host}:{DEFAULT_PEER_PORT}")
    } else {
        format!("{scheme}://{host}")
    })
}

/// What the person reads when a hub address would send the device token in the clear.
pub const PLAIN_HTTP_REFUSED: &str = "公网地址必须使用 https://,以免设备密钥被截获";

/// Whether `host` (as in a URL: a name, an IPv4 address or a bracketed IPv6 one) may be
/// reached over plain `http://`: only loopback and private-range addresses (10/8, 172.16/12,
/// 192.168/16, 169.254/16, 127/8, ::1, fc00::/7, fe80::/10) and the name `localhost`. Any
/// other name is refused too, since a name may resolve to a public address.
pub fn plain_http_allowed(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback() || ip.is_private() || ip.is_link_local(),
        Ok(std::net::IpAddr::V6(ip)) => {
            if let Some(v4) = ip.to_ipv4_mapped() {
                return plain_http_allowed(&v4.to_string());
            }
            let first = ip.segments()[0];
            ip.is_loopback() || first & 0xfe00 == 0xfc00 || first & 0xffc0 == 0xfe80
        }
        Err(_) => false,
    }
}

/// Refuses an `http://` hub address whose host is not loopback or private (see
/// [`plain_http_allowed`]): over the internet the device token would travel in the clear.
/// `url` is a normalised address (see [`normalize_hub_url`]).
pub fn require_safe_scheme(url: &str) -> Result<(), ApiError> {
    match url.strip_prefix("http://") {
        Some(rest) if !plain_http_allowed(host_of(rest)) => Err(ApiError::with_problems(
            ErrorCode::InsecureHubAddress,
            format!("{url}: plain http:// is only for private and loopback addresses"),
            vec![Problem::error(
                ProblemCode::Invalid,
                "主机地址",
                PLAIN_HTTP_REFUSED,
            )],
        )),
        _ => Ok(()),
    }
}

/// The host of `host[:port][/…]` (an IPv6 address keeps its brackets).
fn host_of(authority: &str) -> &str {
    let authority = authority.split('/').next().unwrap_or_default();
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or(authority);
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

/// A port the organiser may choose for the peer listener (更改端口): [`MIN_PEER_PORT`] up to
/// 65535; below that a port needs administrator rights.
pub fn checked_peer_port(port: i32) -> Result<u16, ApiError> {
    u16::try_from(port)
        .ok()
        .filter(|p| *p >= MIN_PEER_PORT)
        .ok_or_else(|| {
            ApiError::with_problems(
                ErrorCode::Validation,
                format!("port {port} out of range"),
                vec![Problem::error(
                    ProblemCode::OutOfRange,
                    "端口",
                    format!("端口应在1024到65535之间,不能是{port}"),
                )],
            )
        })
}

/// 更改端口 as asked on this device: the port it may move the peer listener to, or why not —
/// out of range, not the hub (only the organiser's hub listens for laptops), or fixed by
/// `GUANMO_PEER_PORT`.
pub fn peer_port_change(ctx: &Ctx, port: i32) -> Result<u16, ApiError> {
    let port = checked_peer_port(port)?;
    if identity::device_identity(ctx)?.role != Some(crate::Role::Hub) {
        return Err(ApiError::new(
            ErrorCode::HubOnly,
            "only the organiser's hub listens for laptops",
        ));
    }
    if std::env::var_os(PEER_PORT_ENV).is_some() {
        return Err(ApiError::with_problems(
            ErrorCode::Validation,
            "the port is fixed by the environment",
            vec![Problem::error(
                ProblemCode::Invalid,
                "端口",
                format!("端口由环境变量 {PEER_PORT_ENV} 指定,不能在这里更改"),
            )],
        ));
    }
    Ok(port)
}

/// The port of the hub's peer listener: `GUANMO_PEER_PORT` when set (tests), else the one
/// the organiser chose ([`crate::peer_port`]), else [`DEFAULT_PEER_PORT`].
pub fn effective_peer_port(ctx: &Ctx) -> u16 {
    let stored = || identity::peer_port(ctx).ok().flatten();
    port_from(std::env::var(PEER_PORT_ENV).ok().as_deref(), stored)
}

/// The rule of [`effective_peer_port`], given the environment variable's value: a positive
/// port there wins, then the stored one, then the default.
fn port_from(env: Option<&str>, stored: impl FnOnce() -> Option<u16>) -> u16 {
    env.and_then(|p| p.trim().parse::<u16>().ok())
        .filter(|p| *p > 0)
        .or_else(stored)
        .unwrap_or(DEFAULT_PEER_PORT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_hub_address_gets_a_scheme_and_loses_its_slash() {
        assert_eq!(
            normalize_hub_url(" 192.168.1.20:8787/ ").unwrap(),
            "http://192.168.1.20:8787"
        );
        assert_eq!(
            normalize_hub_url("http://hub.local:9000").unwrap(),
            "http://hub.local:9000"
        );
        assert_eq!(
            normalize_hub_url("192.168.1.20").unwrap(),
            "http://192.168.1.20:8787",
            "a bare address means the usual port"
        );
        assert_eq!(
            normalize_hub_url("https://hub.example.org/").unwrap(),
            "https://hub.example.org"
        );
        for bad in ["", "http://", "a b", "http://x/y", ":8787"] {
            let err = normalize_hub_url(bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::Validation, "{bad:?} should be refused");
            assert_eq!(err.problems.len(), 1);
            assert_eq!(err.problems[0].location, "主机地址");
            assert_eq!(err.problems[0].code, ProblemCode::Invalid);
        }
    }

    #[test]
    fn plain_http_is_only_for_loopback_and_private_addresses() {
        for ok in [
            "127.0.0.1",
            "127.8.9.10",
            "10.0.0.2",
            "172.16.0.1",
            "172.31.255.254",
            "192.168.1.20",
            "169.254.3.4",
            "[::1]",
            "::1",
            "[fd12:3456::1]",
            "[fc00::1]",
            "[fe80::1]",
            "[::ffff:192.168.1.20]",
            "localhost",
            "LOCALHOST",
        ] {
            assert!(plain_http_allowed(ok), "{ok} is private");
        }
        for public in [
            "203.0.113.7",
            "8.8.8.8",
            "172.32.0.1",
            "172.15.0.1",
            "192.169.0.1",
            "100.64.0.1",
            "0.0.0.0",
            "[2001:db8::1]",
            "[::ffff:8.8.8.8]",
            "hub.local",
            "live.example.cn",
            "localhost.example.cn",
        ] {
            assert!(!plain_http_allowed(public), "{public} is not private");
        }
    }

    #[test]
    fn a_public_http_address_is_refused_in_words_and_https_or_a_lan_one_passes() {
        for ok in [
            "http://192.168.1.20:8787",
            "http://[::1]:8787",
            "http://localhost:8787",
            "https://203.0.113.7:8787",
            "https://live.example.cn",
        ] {
            assert!(require_safe_scheme(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://203.0.113.7:8787",
            "http://live.example.cn:8787",
            "http://[2001:db8::1]:8787",
        ] {
            let e = require_safe_scheme(bad).unwrap_err();
            assert_eq!(e.code, ErrorCode::InsecureHubAddress, "{bad}");
            assert_eq!(e.problems.len(), 1);
            assert_eq!(e.problems[0].location, "主机地址");
            assert_eq!(e.problems[0].message, PLAIN_HTTP_REFUSED);
        }
    }

    #[test]
    fn a_peer_port_below_1024_or_past_65535_is_refused_in_words() {
        assert_eq!(checked_peer_port(1024).unwrap(), 1024);
        assert_eq!(checked_peer_port(65535).unwrap(), 65535);
        for bad in [1023, 80, 0, -1, 65536] {
            let err = checked_peer_port(bad).unwrap_err();
            assert_eq!(err.code, ErrorCode::Validation);
            assert_eq!(err.message, format!("port {bad} out of range"));
            assert_eq!(err.problems.len(), 1);
            let p = &err.problems[0];
            assert_eq!(p.code, ProblemCode::OutOfRange);
            assert_eq!(p.location, "端口");
            assert_eq!(p.message, format!("端口应在1024到65535之间,不能是{bad}"));
        }
    }

    #[test]
    fn the_environment_wins_then_the_chosen_port_then_8787() {
        assert_eq!(port_from(Some(" 9999 "), || Some(9797)), 9999);
        assert_eq!(port_from(Some("0"), || Some(9797)), 9797, "0 means unset");
        assert_eq!(port_from(Some("abc"), || Some(9797)), 9797);
        assert_eq!(port_from(None, || Some(9797)), 9797);
        assert_eq!(port_from(None, || None), DEFAULT_PEER_PORT);
    }

    #[test]
    fn the_hub_listens_on_the_port_it_was_given() {
        if std::env::var_os(PEER_PORT_ENV).is_some() {
            return; // fixed by the environment for this run: nothing stored counts
        }
        let dir = tempfile::tempdir().unwrap();
        let ctx = Ctx::open(dir.path(), std::sync::Arc::new(guanmo_domain::SystemClock)).unwrap();
        identity::set_role(&ctx, crate::Role::Hub, "主机").unwrap();
        assert_eq!(effective_peer_port(&ctx), DEFAULT_PEER_PORT);
        identity::set_peer_port(&ctx, 9797).unwrap();
        assert_eq!(effective_peer_port(&ctx), 9797);
    }

    #[test]
    fn only_the_hub_changes_its_port_and_only_to_a_port_in_range() {
        if std::env::var_os(PEER_PORT_ENV).is_some() {
            return; // fixed by the environment for this run: every change is refused
        }
        let dir = tempfile::tempdir().unwrap();
        let ctx = Ctx::open(dir.path(), std::sync::Arc::new(guanmo_domain::SystemClock)).unwrap();
        identity::set_role(&ctx, crate::Role::Scorer, "评分电脑一").unwrap();
        assert_eq!(
            peer_port_change(&ctx, 9797).unwrap_err().code,
            ErrorCode::HubOnly
        );
        identity::set_role(&ctx, crate::Role::Hub, "主机").unwrap();
        assert_eq!(peer_port_change(&ctx, 9797).unwrap(), 9797);
        assert_eq!(
            peer_port_change(&ctx, 80).unwrap_err().problems[0].code,
            ProblemCode::OutOfRange
        );
    }
}
