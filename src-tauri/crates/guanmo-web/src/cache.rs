//! The feed's hot path without the database: the feed version (newest public change seq) and
//! the rendered first pages are kept in memory and dropped the moment a post changes. A commit
//! hook bumps a generation counter on the writer's thread before `write` returns, so a
//! request that starts after a publish has returned always sees the new version. The ETags
//! the cached bodies go out with are compared here too.

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue};
use guanmo_api::changes::{self, Committed};
use guanmo_api::Ctx;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// Cache policy of photos and versioned assets: they never change under their URL.
pub(crate) const FOREVER: &str = "public, max-age=31536000, immutable";

/// Rendered bodies kept at most (pages × sizes × kinds); more clears the map.
const MAX_PAGES: usize = 64;

/// What a rendered body is cached under.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PageKey {
    /// `f` the feed JSON, `p` the page.
    pub(crate) kind: char,
    pub(crate) cursor: Option<String>,
    pub(crate) limit: u32,
    /// The stop followed (`?stop=`), by position; `Some(0)` for a stop that does not exist.
    pub(crate) stop: Option<i32>,
    /// The page only: the tag of the tour view it shows (see `stops::SiteView::tag`) mixed
    /// with the address its absolute URLs use; 0 for the JSON.
    pub(crate) view: u64,
}

impl PageKey {
    /// The key of the whole feed's JSON or page (no stop, no view).
    #[cfg(test)]
    fn plain(kind: char, cursor: Option<String>, limit: u32) -> PageKey {
        PageKey {
            kind,
            cursor,
            limit,
            stop: None,
            view: 0,
        }
    }
}

/// A rendered body and the ETag it is served with (both built once, not per request), and
/// its gzip and brotli copies, each made the first time a phone asks for it.
#[derive(Clone, Debug)]
pub(crate) struct Page {
    pub(crate) body: Bytes,
    pub(crate) etag: HeaderValue,
    gzip: Arc<OnceLock<Bytes>>,
    br: Arc<OnceLock<Bytes>>,
}

/// A content coding a phone accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    Identity,
    Gzip,
    Br,
}

impl Coding {
    /// The best coding `Accept-Encoding` allows: brotli, then gzip, else none. A coding
    /// with `q=0` is refused.
    pub(crate) fn choose(accept: Option<&str>) -> Coding {
        let Some(accept) = accept else {
            return Coding::Identity;
        };
        let allowed = |name: &str| {
            accept.split(',').any(|item| {
                let mut parts = item.split(';');
                let coding = parts.next().unwrap_or("").trim();
                let q_zero = parts.any(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.trim().parse::<f32>().ok())
                        .is_some_and(|q| q <= 0.0)
                });
                coding.eq_ignore_ascii_case(name) && !q_zero
            })
        };
        if allowed("br") {
            Coding::Br
        } else if allowed("gzip") {
            Coding::Gzip
        } else {
            Coding::Identity
        }
    }

    /// The `Content-Encoding` value, if any.
    pub(crate) fn header(self) -> Option<HeaderValue> {
        match self {
            Coding::Identity => None,
            Coding::Gzip => Some(HeaderValue::from_static("gzip")),
            Coding::Br => Some(HeaderValue::from_static("br")),
        }
    }
}

impl Page {
    pub(crate) fn new(body: Bytes, etag: HeaderValue) -> Page {
        Page {
            body,
            etag,
            gzip: Arc::default(),
            br: Arc::default(),
        }
    }

    /// The body in `coding`, compressed once per version. Falls back to the plain body (and
    /// says so) if compressing fails.
    pub(crate) fn encoded(&self, coding: Coding) -> (Bytes, Coding) {
        let made = match coding {
            Coding::Identity => return (self.body.clone(), Coding::Identity),
            Coding::Gzip => self.gzip.get_or_init(|| gzip(&self.body)),
            Coding::Br => self.br.get_or_init(|| brotli(&self.body)),
        };
        if made.is_empty() {
            (self.body.clone(), Coding::Identity)
        } else {
            (made.clone(), coding)
        }
    }
}

fn gzip(body: &[u8]) -> Bytes {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    match enc.write_all(body).and_then(|()| enc.finish()) {
        Ok(v) => Bytes::from(v),
        Err(_) => Bytes::new(),
    }
}

fn brotli(body: &[u8]) -> Bytes {
    let mut out = Vec::new();
    let params = brotli::enc::BrotliEncoderParams {
        quality: 9,
        ..Default::default()
    };
    match brotli::BrotliCompress(&mut &body[..], &mut out, &params) {
        Ok(_) => Bytes::from(out),
        Err(_) => Bytes::new(),
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

#[derive(Default)]
struct Inner {
    /// Generation the fields below belong to.
    generation: u64,
    /// The feed version read for that generation.
    seq: Option<i64>,
    /// Bodies rendered at that version.
    pages: HashMap<PageKey, Page>,
}

/// Shared by all requests of one site.
#[derive(Default)]
pub(crate) struct FeedCache {
    generation: AtomicU64,
    inner: Mutex<Inner>,
    /// The tour as the pages show it (stops, current stop), read again on the same
    /// generation changes.
    pub(crate) view: crate::stops::ViewMemo,
}

impl FeedCache {
    /// A cache invalidated by every commit that touches posts or the 台标 setting (the page's
    /// photo links name its digest).
    pub(crate) fn watching(ctx: &Ctx) -> Arc<FeedCache> {
        let cache = Arc::new(FeedCache::default());
        let weak = Arc::downgrade(&cache);
        changes::on_commit(
            ctx,
            Arc::new(move |c: &Committed| {
                if c.entities
                    .iter()
                    .any(|e| e == changes::POSTS || e == changes::WATERMARK)
                {
                    if let Some(cache) = weak.upgrade() {
                        cache.generation.fetch_add(1, Ordering::AcqRel);
                    }
                }
            }),
        );
        cache
    }

    /// The current generation; read it before reading the database.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Records the version read from the database for `generation` (dropping older pages).
    pub(crate) fn set_seq(&self, generation: u64, seq: i64) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.generation != generation || inner.seq != Some(seq) {
            *inner = Inner {
                generation,
                seq: Some(seq),
                pages: HashMap::new(),
            };
        }
    }

    /// The feed version known for `generation` and, if kept, the page under `key` rendered
    /// at that version — one lock for the hot path.
    pub(crate) fn lookup(&self, generation: u64, key: &PageKey) -> Option<(i64, Option<Page>)> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.generation != generation {
            return None;
        }
        let seq = inner.seq?;
        Some((seq, inner.pages.get(key).cloned()))
    }

    /// A body rendered at `seq`, if kept.
    pub(crate) fn page(&self, seq: i64, key: &PageKey) -> Option<Page> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.seq == Some(seq) {
            inner.pages.get(key).cloned()
        } else {
            None
        }
    }

    /// Keeps a body rendered at `seq`.
    pub(crate) fn keep(&self, seq: i64, key: PageKey, page: Page) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.seq != Some(seq) {
            return;
        }
        if inner.pages.len() >= MAX_PAGES {
            inner.pages.clear();
        }
        inner.pages.insert(key, page);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_accepted_coding_is_chosen() {
        assert_eq!(Coding::choose(None), Coding::Identity);
        assert_eq!(Coding::choose(Some("gzip, deflate, br")), Coding::Br);
        assert_eq!(Coding::choose(Some("gzip")), Coding::Gzip);
        assert_eq!(Coding::choose(Some("br;q=0, gzip;q=0.5")), Coding::Gzip);
        assert_eq!(Coding::choose(Some("identity")), Coding::Identity);
        assert_eq!(Coding::choose(Some("GZIP")), Coding::Gzip);
    }

    #[test]
    fn compressed_copies_are_made_once_and_decode_to_the_body() {
        use std::io::Read;
        let body = Bytes::from("图文直播".repeat(500));
        let page = Page::new(body.clone(), HeaderValue::from_static("W/\"x\""));
        let (gz, c) = page.encoded(Coding::Gzip);
        assert_eq!(c, Coding::Gzip);
        assert!(gz.len() < body.len() / 10);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, body);
        let clone = page.clone();
        assert_eq!(
            clone.encoded(Coding::Gzip).0.as_ptr(),
            gz.as_ptr(),
            "made once"
        );
        let (br, c) = page.encoded(Coding::Br);
        assert_eq!(c, Coding::Br);
        let mut back = Vec::new();
        brotli::BrotliDecompress(&mut &br[..], &mut back).unwrap();
        assert_eq!(back, body);
    }

    #[test]
    fn a_new_generation_forgets_the_version_and_the_pages() {
        let cache = FeedCache::default();
        let g = cache.generation();
        cache.set_seq(g, 7);
        let page = Page::new(
            Bytes::from_static(b"{}"),
            HeaderValue::from_static("W/\"f7-20-0\""),
        );
        cache.keep(7, PageKey::plain('f', None, 20), page);
        assert_eq!(
            cache
                .lookup(g, &PageKey::plain('f', None, 20))
                .map(|(s, _)| s),
            Some(7)
        );
        assert!(cache.page(7, &PageKey::plain('f', None, 20)).is_some());
        assert!(matches!(
            cache.lookup(g, &PageKey::plain('f', None, 20)),
            Some((7, Some(_)))
        ));
        assert!(matches!(
            cache.lookup(g, &PageKey::plain('p', None, 20)),
            Some((7, None))
        ));
        cache.generation.fetch_add(1, Ordering::AcqRel);
        let g2 = cache.generation();
        assert!(
            cache.lookup(g2, &PageKey::plain('f', None, 20)).is_none(),
            "the version must be read again"
        );
        cache.set_seq(g2, 9);
        assert!(cache.page(9, &PageKey::plain('f', None, 20)).is_none());
        assert!(cache.page(7, &PageKey::plain('f', None, 20)).is_none());
    }
}
