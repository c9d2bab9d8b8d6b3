//! The feed routes, all `GET`: the page (`/`), the feed JSON (`/api/feed`) and the static
//! files. Feed responses are labelled with the feed's version (the newest public change-log
//! seq) so phones and proxies revalidate with a cheap `304`; versioned assets are cached
//! forever. No route here changes anything.

use crate::cache::{etag_matches, Coding, Page, PageKey, FOREVER};
use crate::error::{blocking, HttpError, Plain};
use crate::page::{self, PageOptions};
use crate::state::WebState;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use guanmo_api::feed::{self, DEFAULT_PAGE};
use serde::Deserialize;

/// Cache policy of the page and the feed JSON: phones may reuse it for two seconds, then
/// revalidate with the ETag.
const FEED_CACHE: &str = "public, max-age=2";
/// Headers a feed response ends up with (its own three, the guard's five, `vary`); reserved
/// up front so the map does not grow on the way out.
const RESPONSE_HEADERS: usize = 10;
const JSON: HeaderValue = HeaderValue::from_static("application/json; charset=utf-8");
const HTML: HeaderValue = HeaderValue::from_static("text/html; charset=utf-8");
const ACCEPT_ENCODING: HeaderValue = HeaderValue::from_static("accept-encoding");

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
    let seq = blocking(move || feed::feed_seq(&ctx).map_err(Plain)).await?;
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
    let f = blocking(move || feed::public_feed(&ctx, c.as_deref(), limit).map_err(Plain)).await?;
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

pub(super) async fn index(State(state): State<WebState>, req: Request) -> Response {
    feed_response(&state, &req.into_parts().0, Kind::Page)
        .await
        .unwrap_or_else(|e| e)
}

pub(super) async fn api_feed(State(state): State<WebState>, req: Request) -> Response {
    feed_response(&state, &req.into_parts().0, Kind::Feed)
        .await
        .unwrap_or_else(|e| e)
}

pub(super) async fn static_file(Path(file): Path<String>) -> Result<Response, HttpError> {
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
