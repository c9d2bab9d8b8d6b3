//! The public routes, all `GET`: the page, the feed JSON, photos and static files (the SSE
//! stream is in `live`). Feed responses are labelled with the feed's version (the newest
//! public change-log seq) so phones and proxies revalidate with a cheap `304`; photos are
//! content-addressed and cached forever. No route here changes anything.

use crate::error::HttpError;
use crate::guard;
use crate::page::{self, PageOptions};
use crate::state::WebState;
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Router};
use guanmo_api::feed::{self, DEFAULT_PAGE};
use guanmo_api::ApiResult;
use serde::Deserialize;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;

/// Cache policy of the page and the feed JSON: phones may reuse it for two seconds, then
/// revalidate with the ETag.
const FEED_CACHE: &str = "public, max-age=2";
/// Cache policy of photos and versioned assets: they never change under their URL.
const FOREVER: &str = "public, max-age=31536000, immutable";
/// Largest request body accepted (no public route takes one yet).
const BODY_LIMIT: usize = 16 * 1024;

pub(crate) fn router(state: WebState) -> Router {
    let mut r = Router::new()
        .route("/", get(index))
        .route("/api/feed", get(api_feed))
        .route("/live", get(crate::live::live))
        .route("/media/{hash}/{size}", get(media))
        .route("/static/{file}", get(static_file))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::check_host,
        ))
        .with_state(state);
    for layer in guard::security_headers() {
        r = r.layer(layer);
    }
    r.layer(CompressionLayer::new())
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
}

async fn not_found() -> HttpError {
    HttpError::not_found()
}

/// Runs store work off the async workers (the reader pool may block when busy).
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> Result<T, HttpError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| HttpError::internal())?
        .map_err(HttpError::from)
}

#[derive(Debug, Deserialize)]
pub(crate) struct PageQuery {
    cursor: Option<String>,
    limit: Option<String>,
}

impl PageQuery {
    fn limit(&self) -> Result<u32, HttpError> {
        match &self.limit {
            None => Ok(DEFAULT_PAGE),
            Some(s) => s.trim().parse().map_err(|_| HttpError::bad_request()),
        }
    }

    /// The cursor, if it has only the characters a cursor can have (so it is safe inside an
    /// ETag); a cursor with others is refused.
    fn cursor(&self) -> Result<Option<&str>, HttpError> {
        match self.cursor.as_deref() {
            None => Ok(None),
            Some(c)
                if c.bytes()
                    .all(|b| b.is_ascii_hexdigit() || b == b'.' || b == b'-') =>
            {
                Ok(Some(c))
            }
            Some(_) => Err(HttpError::bad_request()),
        }
    }
}

/// True when `If-None-Match` names `etag` (weak comparison, as for GET).
fn etag_matches(headers: &HeaderMap, etag: &str) -> bool {
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let want = strip(etag);
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || strip(t) == want)
}

fn not_modified(etag: &str) -> Response {
    let mut r = StatusCode::NOT_MODIFIED.into_response();
    set_cache(r.headers_mut(), etag);
    r
}

fn set_cache(h: &mut HeaderMap, etag: &str) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(FEED_CACHE));
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
}

fn feed_etag(kind: &str, seq: i64, cursor: Option<&str>, limit: u32) -> String {
    format!("W/\"{kind}{seq}-{limit}-{}\"", cursor.unwrap_or("0"))
}

/// The feed version, from memory unless a post changed since it was last read.
async fn current_seq(state: &WebState) -> Result<i64, HttpError> {
    let generation = state.cache.generation();
    if let Some(seq) = state.cache.seq(generation) {
        return Ok(seq);
    }
    let ctx = state.ctx.clone();
    let seq = blocking(move || feed::feed_seq(&ctx)).await?;
    state.cache.set_seq(generation, seq);
    Ok(seq)
}

async fn index(
    State(state): State<WebState>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let limit = q.limit()?;
    let cursor = q.cursor()?.map(str::to_string);
    let seq = current_seq(&state).await?;
    // The page's script and title are part of what is cached too.
    let etag = feed_etag(
        &format!("p{:x}-", page::JS_VERSION ^ page::CSS_VERSION),
        seq,
        cursor.as_deref(),
        limit,
    );
    if etag_matches(&headers, &etag) {
        return Ok(not_modified(&etag));
    }
    let key = ('p', cursor.clone(), limit);
    if let Some(html) = state.cache.page(seq, &key) {
        let mut r = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
        set_cache(r.headers_mut(), &etag);
        return Ok(r);
    }
    let ctx = state.ctx.clone();
    let c = cursor.clone();
    let f = blocking(move || feed::public_feed(&ctx, c.as_deref(), limit)).await?;
    let html = page::render(
        f.pinned.as_ref(),
        &f.posts,
        &PageOptions {
            base: "/",
            title: &state.config.title,
            live: cursor.is_none(),
            poll_seconds: state.config.poll_seconds,
            seq,
            next_cursor: f.next_cursor.as_deref(),
            paged: cursor.is_some(),
        },
    );
    let html = axum::body::Bytes::from(html.into_bytes());
    state.cache.keep(seq, key, html.clone());
    let mut r = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    set_cache(r.headers_mut(), &etag);
    Ok(r)
}

async fn api_feed(
    State(state): State<WebState>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let limit = q.limit()?;
    let cursor = q.cursor()?.map(str::to_string);
    let seq = current_seq(&state).await?;
    let etag = feed_etag("f", seq, cursor.as_deref(), limit);
    if etag_matches(&headers, &etag) {
        return Ok(not_modified(&etag));
    }
    let key = ('f', cursor.clone(), limit);
    let body = match state.cache.page(seq, &key) {
        Some(body) => body,
        None => {
            let ctx = state.ctx.clone();
            let f = blocking(move || feed::public_feed(&ctx, cursor.as_deref(), limit)).await?;
            let body =
                axum::body::Bytes::from(serde_json::to_vec(&f).map_err(|_| HttpError::internal())?);
            state.cache.keep(seq, key, body.clone());
            body
        }
    };
    let mut r = (
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response();
    set_cache(r.headers_mut(), &etag);
    Ok(r)
}

/// The long side for a derived-size file name; originals have no URL at all.
fn long_side(size: &str) -> Option<u32> {
    match size {
        "320.jpg" => Some(320),
        "1600.jpg" => Some(1600),
        _ => None,
    }
}

async fn media(
    State(state): State<WebState>,
    Path((hash, size)): Path<(String, String)>,
) -> Result<Response, HttpError> {
    let side = long_side(&size).ok_or_else(HttpError::not_found)?;
    if !guanmo_domain::feed::is_photo_hash(&hash) {
        return Err(HttpError::not_found());
    }
    let ctx = state.ctx.clone();
    let h = hash.clone();
    if !blocking(move || feed::photo_is_public(&ctx, &h)).await? {
        return Err(HttpError::not_found());
    }
    let path = state
        .media
        .derived_path(&hash, side)
        .ok_or_else(HttpError::not_found)?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| HttpError::not_found())?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, FOREVER),
        ],
        Body::from(bytes),
    )
        .into_response())
}

async fn static_file(Path(file): Path<String>) -> Result<Response, HttpError> {
    let (ty, body) = match file.as_str() {
        "feed.css" => ("text/css; charset=utf-8", page::CSS),
        "live.js" => ("text/javascript; charset=utf-8", page::JS),
        _ => return Err(HttpError::not_found()),
    };
    Ok((
        [(header::CONTENT_TYPE, ty), (header::CACHE_CONTROL, FOREVER)],
        body,
    )
        .into_response())
}
