//! The resident listener's guard: a request whose `Host` is not on the allowlist is refused
//! (421) before any route runs — this stops DNS rebinding and stray virtual hosts — and every
//! response, errors included, carries the security headers.

use crate::state::WebState;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tower_http::set_header::SetResponseHeaderLayer;

/// The Content-Security-Policy of every response: only this origin's scripts, styles,
/// images and connections; no plugins, no `<base>`, no framing.
pub(crate) const CSP: &str = "default-src 'self'; img-src 'self'; script-src 'self'; \
    style-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
    frame-ancestors 'none'; form-action 'self'";

fn split_host(value: &str) -> (&str, Option<&str>) {
    if let Some(rest) = value.strip_prefix('[') {
        // [v6]:port
        return match rest.split_once(']') {
            Some((host, tail)) => (host, tail.strip_prefix(':')),
            None => (value, None),
        };
    }
    match value.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (value, None),
    }
}

/// True when `host` (a `Host` header value) is on `allowed`. An entry without a port accepts
/// any port; names compare without regard to case.
pub fn host_allowed(host: &str, allowed: &[String]) -> bool {
    let (h, p) = split_host(host.trim());
    if h.is_empty() {
        return false;
    }
    allowed.iter().any(|entry| {
        let (eh, ep) = split_host(entry.trim());
        eh.eq_ignore_ascii_case(h) && (ep.is_none() || ep == p)
    })
}

/// Refuses requests for hosts not on the allowlist.
pub(crate) async fn check_host(
    State(state): State<WebState>,
    req: Request,
    next: Next,
) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.as_str().to_string()));
    match host {
        Some(h) if host_allowed(&h, &state.config.allowed_hosts) => next.run(req).await,
        Some(_) => (
            StatusCode::MISDIRECTED_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "未授权的访问地址",
        )
            .into_response(),
        None => (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "缺少 Host",
        )
            .into_response(),
    }
}

/// The security-header layers, outermost last.
pub(crate) fn security_headers() -> [SetResponseHeaderLayer<HeaderValue>; 5] {
    [
        SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ),
        SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ),
        SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static("cross-origin-resource-policy"),
            HeaderValue::from_static("same-origin"),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::host_allowed;

    fn list(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_host_without_a_port_in_the_list_accepts_any_port() {
        let allowed = list(&["192.168.1.20", "live.example.cn:8080", "[::1]"]);
        assert!(host_allowed("192.168.1.20:8080", &allowed));
        assert!(host_allowed("192.168.1.20", &allowed));
        assert!(host_allowed("LIVE.example.cn:8080", &allowed));
        assert!(!host_allowed("live.example.cn:9090", &allowed));
        assert!(host_allowed("[::1]:3000", &allowed));
        assert!(!host_allowed("evil.example", &allowed));
        assert!(!host_allowed("", &allowed));
        assert!(!host_allowed("192.168.1.200", &allowed));
    }
}
