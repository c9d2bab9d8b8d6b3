//! The public routes, all `GET`: the page, the feed JSON, photos and static files (the SSE
//! stream is in `live`). Feed responses are labelled with the feed's version (the newest
//! public change-log seq) so phones and proxies revalidate with a cheap `304`; photos are
//! content-addressed and cached forever. No route here changes anything.

use crate::cache::{Coding, Page, PageKey};
use crate::comments;
use crate::error::HttpError;
use crate::guard;
use crate::page::{self, PageOptions};
use crate::state::WebState;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use guanmo_api::feed::{self, DEFAULT_PAGE};
use guanmo_api::ApiResult;
use serde::Deserialize;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;

/// Cache policy of the page and the feed JSON: phones may reuse it for two seconds, then
/// revalidate with the ETag.
const FEED_CACHE: &str = "public, max-age=2";
/// Cache policy of photos and versioned assets: they never change under their URL.
const FOREVER: &str = "public, max-age=31536000, immutable";
/// Largest request body accepted (the comment routes' JSON).
const BODY_LIMIT: usize = 16 * 1024;

/// Headers a feed response ends up with (its own three, the guard's five, `vary`); reserved
/// up front so the map does not grow on the way out.
const RESPONSE_HEADERS: usize = 10;
const JSON: HeaderValue = HeaderValue::from_static("application/json; charset=utf-8");
const HTML: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");
const ACCEPT_ENCODING: HeaderValue = HeaderValue::from_static("accept-encoding");

pub(crate) fn router(state: WebState) -> Router {
    let config = state.config.clone();
    // Each router gets its layers in a single `layer` call: axum boxes (and clones per
    // request) every layer added with its own call. The guard is outermost, so that every response, the
    // body limit's 413 included, carries the security headers.
    // `/` and `/api/feed` serve compressed copies kept with the cached body and take no
    // body, so they stay out of the compression layer (which would wrap every response and
    // compress again) and out of the body limit (which wraps every response body too): on
    // the hottest route the guard is the only layer.
    let compressed = Router::new()
        .route("/live", get(crate::live::live))
        .route("/media/{hash}/{size}", get(media))
        .route("/static/{file}", get(static_file))
        .route(
            "/api/comments",
            get(comments::get_comments).post(comments::post_comment),
        )
        .route("/api/comments/{id}/report", post(comments::post_report))
        .route("/api/comments/{id}/appeal", post(comments::post_appeal))
        .route("/api/likes", post(comments::post_like))
        .route("/api/verify", post(comments::post_verify))
        .route("/api/me", get(comments::get_me))
        .route("/api/townships", get(comments::get_townships))
        .layer(
            ServiceBuilder::new()
                .layer(CompressionLayer::new())
                .layer(RequestBodyLimitLayer::new(BODY_LIMIT)),
        );
    Router::new()
        .route("/", get(index))
        .route("/api/feed", get(api_feed))
        .merge(compressed)
        .fallback(not_found)
        .with_state(state)
        .layer(guard::GuardLayer::new(config))
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

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PageQuery {
    cursor: Option<String>,
    limit: Option<String>,
}

impl PageQuery {
    /// The query of `uri`; parsed only when there is one (the common request has none).
    fn of(uri: &Uri) -> Result<Self, QueryRejection> {
        match uri.query() {
            None | Some("") => Ok(PageQuery::default()),
            Some(_) => Query::<PageQuery>::try_from_uri(uri).map(|Query(q)| q),
        }
    }

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
pub(crate) fn etag_matches(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let mut values = headers.get_all(header::IF_NONE_MATCH).iter().peekable();
    if values.peek().is_none() {
        return false;
    }
    let strip = |t: &str| t.trim().trim_start_matches("W/").to_string();
    let want = strip(etag.to_str().unwrap_or_default());
    values
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || strip(t) == want)
}

fn not_modified(etag: HeaderValue) -> Response {
    let mut r = StatusCode::NOT_MODIFIED.into_response();
    r.headers_mut().insert(header::VARY, ACCEPT_ENCODING);
    set_cache(r.headers_mut(), etag);
    r
}

fn set_cache(h: &mut HeaderMap, etag: HeaderValue) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(FEED_CACHE));
    h.insert(header::ETAG, etag);
}

/// What a feed route renders: the feed JSON or the HTML page.
#[derive(Clone, Copy)]
enum Kind {
    Feed,
    Page,
}

impl Kind {
    /// The kind's letter in the cache key.
    fn letter(self) -> char {
        match self {
            Kind::Feed => 'f',
            Kind::Page => 'p',
        }
    }

    fn content_type(self) -> HeaderValue {
        match self {
            Kind::Feed => JSON,
            Kind::Page => HTML,
        }
    }

    /// The ETag of this kind's body at feed version `seq`. The page's script and style are
    /// part of what is cached too.
    fn etag(self, seq: i64, cursor: Option<&str>, limit: u32) -> Result<HeaderValue, HttpError> {
        let cursor = cursor.unwrap_or("0");
        let tag = match self {
            Kind::Feed => format!("W/\"f{seq}-{limit}-{cursor}\""),
            Kind::Page => format!(
                "W/\"p{:x}-{seq}-{limit}-{cursor}\"",
                page::JS_VERSION ^ page::CSS_VERSION
            ),
        };
        HeaderValue::from_str(&tag).map_err(|_| HttpError::internal())
    }
}

/// The feed version and, if kept, the body under `key` at that version: from memory unless a
/// post changed since the version was last read.
async fn current(state: &WebState, key: &PageKey) -> Result<(i64, Option<Page>), HttpError> {
    let generation = state.cache.generation();
    if let Some(found) = state.cache.lookup(generation, key) {
        return Ok(found);
    }
    let ctx = state.ctx.clone();
    let seq = blocking(move || feed::feed_seq(&ctx)).await?;
    state.cache.set_seq(generation, seq);
    Ok((seq, state.cache.page(seq, key)))
}

/// Renders the body of `kind` at `seq` (not from the cache).
async fn render(
    state: &WebState,
    kind: Kind,
    seq: i64,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Bytes, HttpError> {
    let ctx = state.ctx.clone();
    let c = cursor.map(str::to_string);
    let f = blocking(move || feed::public_feed(&ctx, c.as_deref(), limit)).await?;
    Ok(match kind {
        Kind::Feed => Bytes::from(serde_json::to_vec(&f).map_err(|_| HttpError::internal())?),
        Kind::Page => Bytes::from(
            page::render(
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
            )
            .into_bytes(),
        ),
    })
}

/// `GET /` and `GET /api/feed`: the cached body and ETag of the requested page, a `304` when
/// the phone has it already, or a freshly rendered body (then kept).
async fn feed_response(state: &WebState, req: &Parts, kind: Kind) -> Result<Response, Response> {
    let q = PageQuery::of(&req.uri).map_err(IntoResponse::into_response)?;
    let limit = q.limit().map_err(IntoResponse::into_response)?;
    let cursor = q.cursor().map_err(IntoResponse::into_response)?;
    let key: PageKey = (kind.letter(), cursor.map(str::to_string), limit);
    let (seq, cached) = current(state, &key)
        .await
        .map_err(IntoResponse::into_response)?;
    let etag = match &cached {
        Some(p) => p.etag.clone(),
        None => kind
            .etag(seq, cursor, limit)
            .map_err(IntoResponse::into_response)?,
    };
    if etag_matches(&req.headers, &etag) {
        return Ok(not_modified(etag));
    }
    let page = match cached {
        Some(page) => page,
        None => {
            let body = render(state, kind, seq, cursor, limit)
                .await
                .map_err(IntoResponse::into_response)?;
            let page = Page::new(body, etag);
            state.cache.keep(seq, key, page.clone());
            page
        }
    };
    let accept = req
        .headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok());
    let (body, coding) = page.encoded(Coding::choose(accept));
    let mut r = Response::new(Body::from(body));
    let h = r.headers_mut();
    h.reserve(RESPONSE_HEADERS);
    h.insert(header::CONTENT_TYPE, kind.content_type());
    h.insert(header::VARY, ACCEPT_ENCODING);
    if let Some(c) = coding.header() {
        h.insert(header::CONTENT_ENCODING, c);
    }
    set_cache(h, page.etag);
    Ok(r)
}

async fn index(State(state): State<WebState>, req: Request) -> Response {
    feed_response(&state, &req.into_parts().0, Kind::Page)
        .await
        .unwrap_or_else(|e| e)
}

async fn api_feed(State(state): State<WebState>, req: Request) -> Response {
    feed_response(&state, &req.into_parts().0, Kind::Feed)
        .await
        .unwrap_or_else(|e| e)
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
