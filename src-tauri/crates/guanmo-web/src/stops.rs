//! What the resident pages know of the tour besides the posts: the stops in tour order with
//! their post counts, which stop is current (当前站), which stop each published post belongs to
//! (so `/live?stop=` passes only that stop's posts) and the site's public address (for the
//! absolute URLs of link previews). Read at most once per feed change and every
//! [`FRESH_FOR`] (the current stop moves with the clock and the organiser's 开放), by one
//! request at a time, so a thousand filtered live streams hearing of one post cost one read.

use crate::error::{blocking, HttpError, Plain};
use crate::limits::is_https;
use crate::state::WebState;
use axum::http::{header, HeaderMap, Uri};
use guanmo_api::feed_stops::{self, PublicStop, PublicStops};
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a view is used before it is read again although no post changed.
pub(crate) const FRESH_FOR: Duration = Duration::from_secs(15);

/// The tour as the pages show it, read at one moment.
#[derive(Debug, Default)]
pub(crate) struct SiteView {
    pub(crate) stops: PublicStops,
    /// Post id → township id, for the published posts that have a stop.
    pub(crate) post_stop: HashMap<String, String>,
    /// The 公网地址 (ends with `/`), when one is set.
    pub(crate) public_url: Option<String>,
    /// The digest of the 台标 the public photo copies carry, when one is on: photo links name
    /// it (`?w=`), so a phone never keeps a copy made before the setting changed.
    pub(crate) watermark: Option<String>,
    /// A digest of what the page shows from this view (the stops, counts, current stop,
    /// public address): part of the page's cache key and ETag.
    pub(crate) tag: u64,
}

impl SiteView {
    fn new(
        stops: PublicStops,
        post_stop: HashMap<String, String>,
        public_url: Option<String>,
        watermark: Option<String>,
    ) -> Self {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        stops.live.hash(&mut h);
        stops.current.hash(&mut h);
        for s in &stops.stops {
            (s.position, &s.name, &s.code, s.posts).hash(&mut h);
        }
        public_url.hash(&mut h);
        watermark.hash(&mut h);
        SiteView {
            stops,
            post_stop,
            public_url,
            watermark,
            tag: h.finish(),
        }
    }

    /// The stop a `?stop=` value names.
    pub(crate) fn find(&self, key: &str) -> Option<&PublicStop> {
        self.stops.find(key)
    }

    /// The stop of a published post, by post id.
    pub(crate) fn stop_of(&self, post_id: &str) -> Option<&PublicStop> {
        let township = self.post_stop.get(post_id)?;
        self.stops.stops.iter().find(|s| &s.township_id == township)
    }
}

/// The last view read, and when.
#[derive(Default)]
pub(crate) struct ViewMemo {
    last: Mutex<Option<(u64, Instant, Arc<SiteView>)>>,
    /// Held while one request reads a new view; the others wait and take it.
    reading: tokio::sync::Mutex<()>,
}

impl ViewMemo {
    fn fresh(&self, generation: u64) -> Option<Arc<SiteView>> {
        let last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        match &*last {
            Some((g, at, v)) if *g == generation && at.elapsed() < FRESH_FOR => Some(v.clone()),
            _ => None,
        }
    }
}

/// The current view: from memory unless a post changed or it is older than [`FRESH_FOR`].
pub(crate) async fn site_view(state: &WebState) -> Result<Arc<SiteView>, HttpError> {
    let memo = &state.cache.view;
    let generation = state.cache.generation();
    if let Some(v) = memo.fresh(generation) {
        return Ok(v);
    }
    let _reading = memo.reading.lock().await;
    let generation = state.cache.generation();
    if let Some(v) = memo.fresh(generation) {
        return Ok(v);
    }
    let ctx = state.ctx.clone();
    let view = blocking(move || {
        let stops = feed_stops::public_stops(&ctx).map_err(Plain)?;
        let post_stop = feed_stops::stops_of_public_posts(&ctx).map_err(Plain)?;
        let public_url = guanmo_api::site::public_site_url(&ctx).map_err(Plain)?;
        let watermark = guanmo_api::photos::watermark::public_digest(&ctx).map_err(Plain)?;
        Ok::<_, Plain>(SiteView::new(stops, post_stop, public_url, watermark))
    })
    .await?;
    let view = Arc::new(view);
    *memo.last.lock().unwrap_or_else(|e| e.into_inner()) =
        Some((generation, Instant::now(), view.clone()));
    Ok(view)
}

/// The site's address for absolute URLs (ends with `/`): the 公网地址 when one is set, else
/// the scheme and `Host` of the request (the guard has let only allowed hosts through; the
/// scheme is `https` when a trusted proxy says so).
pub(crate) fn origin(
    view: &SiteView,
    peer: Option<SocketAddr>,
    uri: &Uri,
    headers: &HeaderMap,
    trusted: &[std::net::IpAddr],
) -> String {
    if let Some(u) = &view.public_url {
        return u.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()))
        .unwrap_or("localhost");
    let scheme = if is_https(peer, uri, headers, trusted) {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}/")
}

/// A view of `stops` alone, for the page's tests.
#[cfg(test)]
pub(crate) fn tests_view(stops: PublicStops) -> SiteView {
    SiteView::new(stops, HashMap::new(), None, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn view(public_url: Option<&str>) -> SiteView {
        SiteView::new(
            PublicStops {
                stops: vec![PublicStop {
                    township_id: "t8".into(),
                    position: 8,
                    code: "430482104000".into(),
                    name: "荫田镇".into(),
                    posts: 2,
                }],
                live: true,
                current: Some(8),
            },
            HashMap::from([("p1".to_string(), "t8".to_string())]),
            public_url.map(str::to_string),
            None,
        )
    }

    #[test]
    fn absolute_urls_use_the_public_address_else_the_requests_host_and_scheme() {
        let uri: Uri = "/?stop=8".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("192.168.1.20:8080"));
        let v = view(None);
        assert_eq!(origin(&v, None, &uri, &h, &[]), "http://192.168.1.20:8080/");
        // Behind a trusted proxy that says https.
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        let proxy: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        assert_eq!(
            origin(&v, Some(proxy), &uri, &h, &[proxy.ip()]),
            "https://192.168.1.20:8080/"
        );
        // Not believed from anyone else.
        assert_eq!(
            origin(&v, Some(proxy), &uri, &h, &[]),
            "http://192.168.1.20:8080/"
        );
        let v = view(Some("https://live.example.cn/"));
        assert_eq!(origin(&v, None, &uri, &h, &[]), "https://live.example.cn/");
    }

    #[test]
    fn the_view_finds_a_posts_stop_and_its_tag_follows_what_the_page_shows() {
        let v = view(None);
        assert_eq!(v.stop_of("p1").unwrap().position, 8);
        assert!(v.stop_of("p2").is_none());
        assert_eq!(v.find("8").unwrap().name, "荫田镇");
        let mut moved = view(None).stops;
        moved.current = Some(9);
        assert_ne!(SiteView::new(moved, HashMap::new(), None, None).tag, v.tag);
        assert_eq!(view(None).tag, v.tag, "the same view, the same tag");
        assert_ne!(view(Some("https://live.example.cn/")).tag, v.tag);
        // A new 台标 changes the photo links, so the page's tag too.
        let marked = SiteView::new(view(None).stops, HashMap::new(), None, Some("ab12".into()));
        assert_ne!(marked.tag, v.tag);
    }
}
