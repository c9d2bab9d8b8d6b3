//! The feed routes, all `GET`: the page (`/`), the feed JSON (`/api/feed`) and the static
//! files. Feed responses are labelled with the feed's version (the newest public change-log
//! seq) so phones and proxies revalidate with a cheap `304`; versioned assets are cached
//! forever. No route here changes anything.

use crate::cache::{etag_matches, Coding, Page, PageKey, FOREVER};
use crate::error::{blocking, HttpError, Plain};
use crate::page::{self, PageOptions};
use crate::page_meta::{self, SiteMeta};
use crate::state::WebState;
use crate::stops::{self, SiteView};
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use guanmo_api::feed::{self, PublicFeed, DEFAULT_PAGE};
use guanmo_api::feed_stops::{self, PublicStop};
use serde::Deserialize;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::Arc;

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
    /// The stop followed: its position (`7`) or division code.
    stop: Option<String>,
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

    /// The stop asked for, if any (blank: none).
    fn stop(&self) -> Option<&str> {
        self.stop
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
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
    fn etag(self, seq: i64, key: &PageKey) -> Result<HeaderValue, HttpError> {
        let cursor = key.cursor.as_deref().unwrap_or("0");
        let limit = key.limit;
        let tag = match (self, key.stop) {
            (Kind::Feed, None) => format!("W/\"f{seq}-{limit}-{cursor}\""),
            (Kind::Feed, Some(stop)) => format!("W/\"f{seq}-{limit}-{cursor}-s{stop}\""),
            (Kind::Page, stop) => format!(
                "W/\"p{:x}-{seq}-{limit}-{cursor}-s{}-{:x}\"",
                page::JS_VERSION ^ page::CSS_VERSION,
                stop.unwrap_or(-1),
                key.view
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

/// What the page shows besides the posts: the tour view, the stop followed and the address
/// its absolute URLs use.
struct Tour {
    view: Arc<SiteView>,
    stop: Option<PublicStop>,
    unknown_stop: bool,
    origin: String,
}

/// Renders the body of `kind` at `seq` (not from the cache): the whole feed, or one stop's.
async fn render(
    state: &WebState,
    kind: Kind,
    seq: i64,
    cursor: Option<&str>,
    limit: u32,
    tour: Option<&Tour>,
) -> Result<Bytes, HttpError> {
    let ctx = state.ctx.clone();
    let c = cursor.map(str::to_string);
    let township = tour
        .and_then(|t| t.stop.as_ref())
        .map(|s| s.township_id.clone());
    let page = matches!(kind, Kind::Page);
    let (f, sizes, preview) = blocking(move || {
        let f: PublicFeed = match &township {
            Some(t) => feed_stops::public_feed_of_stop(&ctx, t, c.as_deref(), limit),
            None => feed::public_feed(&ctx, c.as_deref(), limit),
        }
        .map_err(Plain)?;
        if !page {
            return Ok::<_, Plain>((f, Default::default(), None));
        }
        let hashes: Vec<&str> = f
            .pinned
            .iter()
            .chain(&f.posts)
            .flat_map(|p| p.photos.iter().map(String::as_str))
            .collect();
        let sizes = feed_stops::photo_sizes(&ctx, &hashes).map_err(Plain)?;
        // A stop's preview is its newest photo, whichever page this is.
        let preview = match &township {
            Some(t) => feed_stops::stop_preview_photo(&ctx, t).map_err(Plain)?,
            None => page_meta::first_photo(f.pinned.as_ref(), &f.posts).map(str::to_string),
        };
        Ok((f, sizes, preview))
    })
    .await?;
    Ok(match kind {
        Kind::Feed => Bytes::from(serde_json::to_vec(&f).map_err(|_| HttpError::internal())?),
        Kind::Page => {
            let meta = tour.map(|t| SiteMeta {
                origin: &t.origin,
                view: &t.view,
                filter: t.stop.as_ref(),
                unknown_stop: t.unknown_stop,
                image: preview.as_deref(),
                sizes: &sizes,
            });
            Bytes::from(
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
                        site: meta.as_ref(),
                    },
                )
                .into_bytes(),
            )
        }
    })
}

/// The tour view for a page, or for a feed request that follows a stop; `None` for the whole
/// feed's JSON (its hot path reads nothing more). A stop that does not exist is `404` for the
/// JSON; the page shows the whole feed with a note.
async fn tour_of(
    state: &WebState,
    req: &Parts,
    kind: Kind,
    stop: Option<&str>,
) -> Result<Option<Tour>, HttpError> {
    if matches!(kind, Kind::Feed) && stop.is_none() {
        return Ok(None);
    }
    let view = stops::site_view(state).await?;
    let found = stop.and_then(|k| view.find(k)).cloned();
    let unknown_stop = stop.is_some() && found.is_none();
    if unknown_stop && matches!(kind, Kind::Feed) {
        return Err(HttpError::not_found());
    }
    let peer = req
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| *a);
    let origin = stops::origin(&view, peer, &req.uri, &req.headers, &state.comments.trusted);
    Ok(Some(Tour {
        view,
        stop: found,
        unknown_stop,
        origin,
    }))
}

/// `GET /` and `GET /api/feed`: the cached body and ETag of the requested page, a `304` when
/// the phone has it already, or a freshly rendered body (then kept).
async fn feed_response(state: &WebState, req: &Parts, kind: Kind) -> Result<Response, Response> {
    let q = PageQuery::of(&req.uri).map_err(IntoResponse::into_response)?;
    let limit = q.limit().map_err(IntoResponse::into_response)?;
    let cursor = q.cursor().map_err(IntoResponse::into_response)?;
    let tour = tour_of(state, req, kind, q.stop())
        .await
        .map_err(IntoResponse::into_response)?;
    let key = PageKey {
        kind: kind.letter(),
        cursor: cursor.map(str::to_string),
        limit,
        stop: tour
            .as_ref()
            .filter(|t| t.stop.is_some() || t.unknown_stop)
            .map(|t| t.stop.as_ref().map_or(0, |s| s.position)),
        view: match (kind, &tour) {
            (Kind::Page, Some(t)) => {
                let mut h = std::collections::hash_map::DefaultHasher::new();
                (t.view.tag, &t.origin).hash(&mut h);
                h.finish()
            }
            _ => 0,
        },
    };
    let (seq, cached) = current(state, &key)
        .await
        .map_err(IntoResponse::into_response)?;
    let etag = match &cached {
        Some(p) => p.etag.clone(),
        None => kind.etag(seq, &key).map_err(IntoResponse::into_response)?,
    };
    if etag_matches(&req.headers, &etag) {
        return Ok(not_modified(etag));
    }
    let page = match cached {
        Some(page) => page,
        None => {
            let body = render(state, kind, seq, cursor, limit, tour.as_ref())
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

/// The site's icon, 32 px (the tab's and `/favicon.ico`) and 256 px (a phone's home screen
/// and the link preview of a page without photos): the app's own icon.
const ICON_32: &[u8] = include_bytes!("../../../../icons/32x32.png");
const ICON_256: &[u8] = include_bytes!("../../../../icons/128x128@2x.png");
/// Search engines may read the pages, not the JSON or the live stream.
const ROBOTS: &str = "User-agent: *\nAllow: /\nDisallow: /api/\nDisallow: /live\n";

pub(super) async fn static_file(Path(file): Path<String>) -> Result<Response, HttpError> {
    let (ty, body): (&str, &'static [u8]) = match file.as_str() {
        "feed.css" => ("text/css; charset=utf-8", page::CSS.as_bytes()),
        "live.js" => ("text/javascript; charset=utf-8", page::JS.as_bytes()),
        // Unversioned URLs (link previews and home screens keep them): cached for a day.
        "icon-32.png" => return Ok(icon(ICON_32)),
        "icon-256.png" => return Ok(icon(ICON_256)),
        _ => return Err(HttpError::not_found()),
    };
    Ok((
        [(header::CONTENT_TYPE, ty), (header::CACHE_CONTROL, FOREVER)],
        body,
    )
        .into_response())
}

fn icon(bytes: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        bytes,
    )
        .into_response()
}

/// `GET /favicon.ico`: what browsers ask for by themselves (a PNG serves as well).
pub(super) async fn favicon() -> Response {
    icon(ICON_32)
}

/// `GET /robots.txt`.
pub(super) async fn robots() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        ROBOTS,
    )
        .into_response()
}
