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
