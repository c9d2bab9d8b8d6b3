//! The hub's peer listener: the sync routes a paired laptop calls over the LAN (pair, push,
//! pull, photos by hash), a thin HTTP binding of [`guanmo_sync::HubService`]. Invariants:
//! every route but pairing needs `Authorization: Bearer <device token>` of a paired,
//! unrevoked device; every body has a size limit fitted to its route; this router holds no
//! resident route and the resident router ([`crate::public_router`]) holds none of these, so
//! the two listeners keep their two trust levels. Failures answer `{code, message}` with the
//! [`SyncErrorCode`] the laptop's transport turns back into the same
//! [`guanmo_sync::SyncError`] (see `HttpError::peer`).

use crate::error::{blocking, HttpError};
use crate::guard::host_allowed;
use crate::limits::{address_key, client_ip};
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use guanmo_sync::http::{
    BlobGet, BlobPut, BlobReceived, CopyPut, BLOBS, BLOBS_MISSING, COPIES, COPIES_MISSING, PAIR,
    PULL, PUSH, REACH,
};
use guanmo_sync::protocol::{
    BlobQuery, CopyQuery, PairRequest, PullRequest, PushRequest, CHUNK, COPY_MAX,
};
use guanmo_sync::{HubService, SyncErrorCode};
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};

/// Pairing request: a code, an id, a name and a key (a few hundred bytes).
const PAIR_LIMIT: usize = 16 * 1024;
/// A push of [`guanmo_sync::protocol::BATCH`] operations. Each operation carries every row of
/// its aggregate after the write: 500 mark edits with a remark on every fourth criterion are
/// about 1.3 MB (measured in `tests/peer.rs`); the worst case, 500 sheets of the default
/// rubric's 18 criteria each with a 1,000-character remark, is about 30 MB.
pub const PUSH_LIMIT: usize = 64 * 1024 * 1024;
/// Watermarks, one per device.
const PULL_LIMIT: usize = 64 * 1024;
/// Up to 5,000 hashes of 64 characters in JSON.
const MISSING_LIMIT: usize = 512 * 1024;
/// One photo chunk plus slack.
const CHUNK_LIMIT: usize = CHUNK as usize + 64 * 1024;
/// One 1600 px copy, whole.
const COPY_LIMIT: usize = COPY_MAX as usize;

const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");

/// Pairing requests one address may make per minute (each wrong code also counts against
/// the code itself, see [`guanmo_sync::PAIRING_TRIES`]).
const PAIR_PER_MINUTE: u32 = 10;

/// The peer router over the hub's service: `POST /peer/v1/pair`, `/push`, `/pull`,
/// `/blobs/missing`, `PUT` and `GET /peer/v1/blobs/{hash}`, `/copies/missing`, `PUT` and
/// `GET /peer/v1/copies/{hash}`, and `GET /peer/v1/reach` (传播数据, media laptops only). Requests must name the hub by an
/// address, `localhost` or one of the host names of its 直播网站设置 in `Host`, so a web page
/// on another name cannot reach the listener through DNS rebinding. Behind a reverse proxy
/// listed in the settings' trusted proxies (nginx on the same server), pairing tries count
/// per laptop address from `X-Forwarded-For`, not per proxy.
pub fn peer_router(service: HubService) -> Router {
    let settings = guanmo_api::site::get_site_settings(service.ctx()).unwrap_or_default();
    let trusted = crate::limits::RateLimits::from_settings(&settings).trusted_proxies;
    peer_router_behind(service, settings.extra_hosts, trusted)
}

/// [`peer_router`] accepting the host names `names` besides addresses and `localhost`.
pub fn peer_router_with_hosts(service: HubService, names: Vec<String>) -> Router {
    peer_router_behind(service, names, Vec::new())
}

/// [`peer_router_with_hosts`] behind the reverse proxies `trusted`.
pub fn peer_router_behind(service: HubService, names: Vec<String>, trusted: Vec<IpAddr>) -> Router {
    let names = std::sync::Arc::new(names);
    let trusted = Trusted(std::sync::Arc::new(trusted));
    let limiter = std::sync::Arc::new(PairLimiter(governor::RateLimiter::keyed(
        governor::Quota::per_minute(
            std::num::NonZeroU32::new(PAIR_PER_MINUTE).unwrap_or(std::num::NonZeroU32::MIN),
        ),
    )));
    Router::new()
        .route(PAIR, post(pair).layer(DefaultBodyLimit::max(PAIR_LIMIT)))
        .route(PUSH, post(push).layer(DefaultBodyLimit::max(PUSH_LIMIT)))
        .route(PULL, post(pull).layer(DefaultBodyLimit::max(PULL_LIMIT)))
        .route(
            BLOBS_MISSING,
            post(blobs_missing).layer(DefaultBodyLimit::max(MISSING_LIMIT)),
        )
        .route(
            &format!("{BLOBS}/{{hash}}"),
            put(put_blob)
                .get(get_blob)
                .layer(DefaultBodyLimit::max(CHUNK_LIMIT)),
        )
        .route(
            COPIES_MISSING,
            post(copies_missing).layer(DefaultBodyLimit::max(MISSING_LIMIT)),
        )
        .route(
            &format!("{COPIES}/{{hash}}"),
            put(put_copy)
                .get(get_copy)
                .layer(DefaultBodyLimit::max(COPY_LIMIT)),
        )
        .route(REACH, get(reach))
        .fallback(not_found)
        .layer(axum::Extension(limiter))
        .layer(axum::Extension(trusted))
        .layer(axum::middleware::from_fn(
            move |req: Request, next: axum::middleware::Next| {
                let names = names.clone();
                async move {
                    // A browser always sends Host (what DNS rebinding turns against the
                    // listener); a request without one does not come from a web page.
                    let host = req
                        .headers()
                        .get(header::HOST)
                        .map(|v| v.to_str().unwrap_or("\u{0}"))
                        .or_else(|| req.uri().authority().map(|a| a.as_str()));
                    if host.is_none_or(|h| peer_host_allowed(h, &names)) {
                        next.run(req).await
                    } else {
                        HttpError::peer(
                            StatusCode::MISDIRECTED_REQUEST,
                            SyncErrorCode::BadRequest,
                            "the hub is reached by its address or its configured host name",
                        )
                        .into_response()
                    }
                }
            },
        ))
        .with_state(service)
}

/// Pairing requests per address.
struct PairLimiter(governor::DefaultKeyedRateLimiter<IpAddr>);

/// The reverse proxies whose `X-Forwarded-For` names the laptop.
#[derive(Clone)]
struct Trusted(std::sync::Arc<Vec<IpAddr>>);

/// True when `host` (a `Host` value) names the hub as a laptop would: an IP address (the hub
/// on the LAN), `localhost`, or one of `names`. A DNS-rebinding page names its own domain.
pub fn peer_host_allowed(host: &str, names: &[String]) -> bool {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        return rest
            .split_once(']')
            .is_some_and(|(ip, _)| ip.parse::<std::net::Ipv6Addr>().is_ok());
    }
    let name = host.rsplit_once(':').map_or(host, |(h, _)| h);
    if name.is_empty() {
        return false;
    }
    name.parse::<std::net::Ipv4Addr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || host_allowed(host, names)
}

async fn not_found() -> HttpError {
    HttpError::peer(
        StatusCode::NOT_FOUND,
        SyncErrorCode::BadRequest,
        "no such peer route",
    )
}

/// The device token of `Authorization: Bearer <token>`. Checked for presence before any body
/// is read; whether it belongs to a paired device is the service's check.
fn bearer(headers: &HeaderMap) -> Result<String, HttpError> {
    let unauthorized =
        |m: &str| HttpError::peer(StatusCode::UNAUTHORIZED, SyncErrorCode::Unauthorized, m);
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("no device token"))?
        .to_str()
        .map_err(|_| unauthorized("malformed device token"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or_else(|| unauthorized("malformed device token"))?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(unauthorized("malformed device token"));
    }
    Ok(token.to_string())
}

/// The token of a paired, unrevoked device, checked before any body is read, so a stranger
/// cannot make the hub buffer a large push or photo chunk.
async fn authed(service: &HubService, headers: &HeaderMap) -> Result<String, HttpError> {
    let token = bearer(headers)?;
    let svc = service.clone();
    let t = token.clone();
    blocking(move || svc.authenticate(&t)).await?;
    Ok(token)
}

/// The body within the route's limit (413 past it).
async fn bytes(req: Request) -> Result<Bytes, HttpError> {
    Bytes::from_request(req, &())
        .await
        .map_err(|r| HttpError::peer(r.status(), SyncErrorCode::BadRequest, r.body_text()))
}

/// A JSON body of the protocol; unknown fields are refused. The JSON content type is required
/// so that a web page cannot post here without a CORS preflight (which this router refuses).
async fn json<T: DeserializeOwned>(req: Request) -> Result<T, HttpError> {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(HttpError::peer(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            SyncErrorCode::BadRequest,
            "expected application/json",
        ));
    }
    let body = bytes(req).await?;
    serde_json::from_slice(&body)
        .map_err(|e| HttpError::peer_bad(format!("malformed request: {e}")))
}

/// The query of `uri`, its fields required unless defaulted and unknown ones refused.
fn query<T: DeserializeOwned>(uri: &Uri) -> Result<T, HttpError> {
    Query::<T>::try_from_uri(uri)
        .map(|Query(q)| q)
        .map_err(|e| HttpError::peer_bad(e.body_text()))
}

async fn pair(
    State(service): State<HubService>,
    axum::Extension(limiter): axum::Extension<std::sync::Arc<PairLimiter>>,
    axum::Extension(trusted): axum::Extension<Trusted>,
    peer: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    req: Request,
) -> Result<Response, HttpError> {
    // Pairing tries count per address, IPv6 by its /64, as the resident site's limits do;
    // behind a trusted proxy, the laptop's address it forwards.
    let source = peer.map(|axum::Extension(ConnectInfo(a))| {
        address_key(client_ip(Some(a), req.headers(), &trusted.0))
    });
    if let Some(ip) = source {
        // Forget addresses whose quota has refilled, so strangers cannot grow the map forever.
        if limiter.0.len() > 10_000 {
            limiter.0.retain_recent();
        }
        if limiter.0.check_key(&ip).is_err() {
            return Err(HttpError::peer(
                StatusCode::TOO_MANY_REQUESTS,
                SyncErrorCode::PairingRefused,
                "too many pairing requests from this address; wait a minute",
            ));
        }
    }
    let body: PairRequest = json(req).await?;
    let source = source.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    let resp = blocking(move || service.pair(&body, &source)).await?;
    Ok(Json(resp).into_response())
}

async fn push(State(service): State<HubService>, req: Request) -> Result<Response, HttpError> {
    let token = authed(&service, req.headers()).await?;
    let body: PushRequest = json(req).await?;
    let resp = blocking(move || service.push(&token, &body)).await?;
    Ok(Json(resp).into_response())
}

async fn pull(State(service): State<HubService>, req: Request) -> Result<Response, HttpError> {
    let token = bearer(req.headers())?;
    let body: PullRequest = json(req).await?;
    let resp = blocking(move || service.pull(&token, &body)).await?;
    Ok(Json(resp).into_response())
}

async fn blobs_missing(
    State(service): State<HubService>,
    req: Request,
) -> Result<Response, HttpError> {
    let token = authed(&service, req.headers()).await?;
    let body: BlobQuery = json(req).await?;
    let resp = blocking(move || service.blobs_missing(&token, &body)).await?;
    Ok(Json(resp).into_response())
}

async fn put_blob(
    State(service): State<HubService>,
    Path(hash): Path<String>,
    req: Request,
) -> Result<Response, HttpError> {
    let token = authed(&service, req.headers()).await?;
    let q: BlobPut = query(req.uri())?;
    let chunk = bytes(req).await?;
    let received =
        blocking(move || service.put_blob(&token, &hash, q.total, q.offset, &chunk)).await?;
    Ok(Json(BlobReceived { received }).into_response())
}

async fn copies_missing(
    State(service): State<HubService>,
    req: Request,
) -> Result<Response, HttpError> {
    let token = authed(&service, req.headers()).await?;
    let body: CopyQuery = json(req).await?;
    let resp = blocking(move || service.copies_missing(&token, &body)).await?;
    Ok(Json(resp).into_response())
}

async fn put_copy(
    State(service): State<HubService>,
    Path(hash): Path<String>,
    req: Request,
) -> Result<Response, HttpError> {
    let token = authed(&service, req.headers()).await?;
    let q: CopyPut = query(req.uri())?;
    let jpeg = bytes(req).await?;
    blocking(move || service.put_copy(&token, &hash, q.size, &jpeg)).await?;
    Ok(Json(serde_json::json!({})).into_response())
}

async fn get_copy(
    State(service): State<HubService>,
    Path(hash): Path<String>,
    req: Request,
) -> Result<Response, HttpError> {
    let token = bearer(req.headers())?;
    let jpeg = blocking(move || service.get_copy(&token, &hash)).await?;
    let mut r = Response::new(Body::from(jpeg));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(header::CACHE_CONTROL, NO_STORE);
    Ok(r)
}

/// `GET /peer/v1/reach`: the 传播数据 of this hub's resident site, for a media laptop.
async fn reach(State(service): State<HubService>, req: Request) -> Result<Response, HttpError> {
    let token = bearer(req.headers())?;
    let report = blocking(move || service.reach(&token)).await?;
    let mut r = Json(report).into_response();
    r.headers_mut().insert(header::CACHE_CONTROL, NO_STORE);
    Ok(r)
}

async fn get_blob(
    State(service): State<HubService>,
    Path(hash): Path<String>,
    req: Request,
) -> Result<Response, HttpError> {
    let token = bearer(req.headers())?;
    let q: BlobGet = query(req.uri())?;
    let chunk = blocking(move || service.get_blob(&token, &hash, q.offset, q.max)).await?;
    let mut r = Response::new(Body::from(chunk));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CACHE_CONTROL, NO_STORE);
    Ok(r)
}
