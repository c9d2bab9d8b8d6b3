//! The resident listener's guard: a request whose `Host` is not on the allowlist is refused
//! (421) before any route runs — this stops DNS rebinding and stray virtual hosts — and every
//! response, errors included, carries the security headers; a response to a request that came
//! over HTTPS (directly, or through a trusted proxy that says so) also carries
//! `Strict-Transport-Security`, so the phone keeps to HTTPS for a year.

use crate::limits::is_https;
use axum::body::{Body, Bytes, HttpBody};
use axum::http::{self as http, header, HeaderMap, HeaderName, HeaderValue, Request, StatusCode};
use axum::response::Response;
use axum::BoxError;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower::{Layer, Service};

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

/// The security headers every response carries, errors included (they override what a
/// handler set).
const SECURITY_HEADERS: [(HeaderName, HeaderValue); 5] = [
    (
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    ),
    (
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ),
    (
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    ),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (
        HeaderName::from_static("cross-origin-resource-policy"),
        HeaderValue::from_static("same-origin"),
    ),
];

const TEXT_PLAIN: HeaderValue = HeaderValue::from_static("text/plain; charset=utf-8");
/// Sent only over HTTPS: a browser ignores it over plain HTTP, and the site must stay
/// reachable by its LAN address over HTTP.
const HSTS: HeaderValue = HeaderValue::from_static("max-age=31536000");

/// The guard as one layer: the Host check and the security headers in a single service
/// (it runs on every request, so it neither allocates nor boxes).
#[derive(Clone)]
pub(crate) struct GuardLayer {
    config: Arc<GuardConfig>,
}

/// What the guard checks against: the accepted `Host` values and the proxies whose
/// `X-Forwarded-Proto` it believes.
#[derive(Debug)]
struct GuardConfig {
    allowed_hosts: Vec<String>,
    trusted_proxies: Vec<IpAddr>,
}

impl GuardLayer {
    /// A guard accepting `allowed_hosts` (see [`host_allowed`]) and believing
    /// `trusted_proxies` about HTTPS.
    pub(crate) fn new(allowed_hosts: Vec<String>, trusted_proxies: Vec<IpAddr>) -> Self {
        Self {
            config: Arc::new(GuardConfig {
                allowed_hosts,
                trusted_proxies,
            }),
        }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Guard<S> {
        Guard {
            inner,
            config: self.config.clone(),
        }
    }
}

/// See [`GuardLayer`].
#[derive(Clone)]
pub(crate) struct Guard<S> {
    inner: S,
    config: Arc<GuardConfig>,
}

/// Why a request is refused before any route runs, if it is.
fn refusal<B>(req: &Request<B>, allowed: &[String]) -> Option<Response> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()));
    let (status, text) = match host {
        Some(h) if host_allowed(h, allowed) => return None,
        Some(_) => (StatusCode::MISDIRECTED_REQUEST, "未授权的访问地址"),
        None => (StatusCode::BAD_REQUEST, "缺少 Host"),
    };
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, TEXT_PLAIN);
    Some(r)
}

fn add_security_headers(h: &mut HeaderMap) {
    h.reserve(SECURITY_HEADERS.len());
    for (name, value) in SECURITY_HEADERS {
        h.insert(name, value);
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Guard<S>
where
    S: Service<Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Unpin,
    ResBody: HttpBody<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = GuardFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let peer = req
            .extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0);
        let https = is_https(peer, req.uri(), req.headers(), &self.config.trusted_proxies);
        match refusal(&req, &self.config.allowed_hosts) {
            None => GuardFuture::Inner(self.inner.call(req), https),
            Some(refused) => GuardFuture::Refused(Some(refused), https),
        }
    }
}

/// The response future of [`Guard`]; the flag says whether the request came over HTTPS.
pub(crate) enum GuardFuture<F> {
    Inner(F, bool),
    Refused(Option<Response>, bool),
}

impl<F, ResBody, E> Future for GuardFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>> + Unpin,
    ResBody: HttpBody<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let (mut res, https) = match self.get_mut() {
            GuardFuture::Inner(f, https) => match Pin::new(f).poll(cx) {
                // `Body::new` does not box a body that already is one.
                Poll::Ready(Ok(res)) => (res.map(Body::new), *https),
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            },
            // Polled again after completion: answer as refused once more rather than panic.
            GuardFuture::Refused(r, https) => (
                r.take().unwrap_or_else(|| {
                    let mut r = Response::new(Body::empty());
                    *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                    r
                }),
                *https,
            ),
        };
        add_security_headers(res.headers_mut());
        if https {
            res.headers_mut()
                .insert(header::STRICT_TRANSPORT_SECURITY, HSTS);
        }
        Poll::Ready(Ok(res))
    }
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
