//! The parts of the live page that follow the tour and the phone: the link-preview tags
//! (`og:`, `twitter:card`, description, canonical URL, icons) with absolute URLs, the
//! 当前:第N站 banner, the stop picker (按站点看) and the stop heading with its 分享本站 link,
//! and each photo's `<img>` with its size and the copies a phone may choose from.

use crate::stops::SiteView;
use guanmo_api::feed::PublicPost;
use guanmo_api::feed_stops::PublicStop;
use maud::{html, Markup};
use std::collections::HashMap;

// The public copies a photo has (see `guanmo_media::render` and `MediaStore::mid_copy`):
// long side 320, 800 and 1600 px, or the original's when smaller.
use guanmo_media::{MID_SIDE, THUMB_SIDE, WEB_SIDE};
/// The feed column's widest content (720 px less the post's padding).
const COLUMN: u32 = 688;

/// What the server's page knows beyond the posts (the static export has none of it).
pub(crate) struct SiteMeta<'a> {
    /// The site's absolute address, ending with `/`.
    pub origin: &'a str,
    /// The tour: stops, counts, current stop.
    pub view: &'a SiteView,
    /// The stop this page follows (`?stop=`).
    pub filter: Option<&'a PublicStop>,
    /// `?stop=` named no stop: the whole feed is shown, with a note.
    pub unknown_stop: bool,
    /// The photo of the link preview (a content hash).
    pub image: Option<&'a str>,
    /// Known photo sizes (width, height), by hash.
    pub sizes: &'a HashMap<String, (u32, u32)>,
}

/// The address of a public copy of `hash` with long side `side`; with 台标 on it names the
/// setting's digest (`?w=`), so a copy cached before the setting changed is never reused.
pub(crate) fn media_url(base: &str, hash: &str, side: u32, w: Option<&str>) -> String {
    match w {
        Some(d) => format!("{base}media/{hash}/{side}.jpg?w={d}"),
        None => format!("{base}media/{hash}/{side}.jpg"),
    }
}

impl SiteMeta<'_> {
    /// The absolute URL of this page (its stop's, or the site's).
    fn url(&self) -> String {
        match self.filter {
            Some(s) => format!("{}?stop={}", self.origin, s.position),
            None => self.origin.to_string(),
        }
    }

    /// The `?stop=` link of a post's stop, when the post has one.
    pub(crate) fn stop_link(&self, base: &str, post_id: &str) -> Option<String> {
        self.view
            .stop_of(post_id)
            .map(|s| format!("{base}?stop={}", s.position))
    }
}

/// The page's `<title>`.
pub(crate) fn title(site_title: &str, meta: Option<&SiteMeta>) -> String {
    match meta.and_then(|m| m.filter) {
        Some(s) => format!("{} · {site_title} · 图文直播", s.label()),
        None => format!("{site_title} · 图文直播"),
    }
}

/// What a search engine or a chat's link preview says of the page.
pub(crate) fn description(site_title: &str, meta: Option<&SiteMeta>) -> String {
    match meta.and_then(|m| m.filter) {
        Some(s) if s.posts > 0 => format!(
            "{site_title}{}的现场图文直播,共{}条动态,实时更新。",
            s.label(),
            s.posts
        ),
        Some(s) => format!("{site_title}{}的现场图文直播,实时更新。", s.label()),
        None => format!("{site_title}现场图文直播:22个乡镇(街道)观摩现场的图文动态,实时更新。"),
    }
}

/// The first photo among `posts` (for the whole feed's preview).
pub(crate) fn first_photo<'a>(
    pinned: Option<&'a PublicPost>,
    posts: &'a [PublicPost],
) -> Option<&'a str> {
    pinned
        .into_iter()
        .chain(posts)
        .find_map(|p| p.photos.first())
        .map(String::as_str)
}

/// The head's link-preview tags, canonical URL and icons, with absolute URLs.
pub(crate) fn head(site_title: &str, page_title: &str, desc: &str, m: &SiteMeta) -> Markup {
    let url = m.url();
    let (image, card) = match m.image {
        Some(h) => (
            media_url(m.origin, h, WEB_SIDE, m.view.watermark.as_deref()),
            "summary_large_image",
        ),
        None => (format!("{}static/icon-256.png", m.origin), "summary"),
    };
    let og_title = match m.filter {
        Some(s) => format!("{} · {site_title}", s.label()),
        None => page_title.to_string(),
    };
    html! {
        link rel="canonical" href=(url);
        meta property="og:type" content="website";
        meta property="og:site_name" content=(site_title);
        meta property="og:locale" content="zh_CN";
        meta property="og:title" content=(og_title);
        meta property="og:description" content=(desc);
        meta property="og:url" content=(url);
        meta property="og:image" content=(image);
        meta property="og:image:alt" content=(og_title);
        meta name="twitter:card" content=(card);
        meta name="twitter:title" content=(og_title);
        meta name="twitter:description" content=(desc);
        meta name="twitter:image" content=(image);
        link rel="icon" type="image/png" sizes="32x32" href="/static/icon-32.png";
        link rel="apple-touch-icon" href="/static/icon-256.png";
        meta name="theme-color" content="#b71c1c";
    }
}

/// The 当前:第N站 banner while the tour is live and at a stop.
pub(crate) fn banner(base: &str, m: &SiteMeta) -> Markup {
    let live = m.view.stops.live;
    html! {
        @if let (true, Some(s)) = (live, m.view.stops.current_stop()) {
            p.now {
                span.dot aria-hidden="true" {}
                a href={ (base) "?stop=" (s.position) } { "当前:" (s.label()) }
            }
        }
    }
}

/// The stop picker (按站点看): every stop in tour order with its post count; a stop without
/// posts can still be picked (its page says so). Works without JavaScript (查看 submits).
pub(crate) fn stop_picker(base: &str, m: &SiteMeta) -> Markup {
    let chosen = m.filter.map(|s| s.position);
    let total: i64 = m.view.stops.stops.iter().map(|s| s.posts).sum();
    html! {
        nav.stops aria-label="按站点查看" {
            form action=(base) method="get" {
                label for="stop-pick" { "按站点看" }
                select #stop-pick name="stop" {
                    option value="" selected[chosen.is_none()] { "全部站点" }
                    @for s in &m.view.stops.stops {
                        option value=(s.position) selected[chosen == Some(s.position)] {
                            (s.label()) "(" (s.posts) ")"
                        }
                    }
                }
                button type="submit" { "查看" }
            }
            @if chosen.is_none() && total > 0 {
                span.total { "共" (total) "条站点动态" }
            }
        }
    }
}

/// The heading of a stop's page: its name and post count, 分享本站 (its absolute `?stop=`
/// link; the script shares or copies it) and the way back to every stop.
pub(crate) fn stop_heading(base: &str, site_title: &str, m: &SiteMeta) -> Markup {
    html! {
        @if let Some(s) = m.filter {
            section.stop-head {
                h2 { (s.label()) }
                p {
                    @if s.posts > 0 { "共" (s.posts) "条动态" } @else { "这一站还没有动态" }
                    a.share href=(m.url()) data-share=(format!("{} · {site_title}", s.label())) {
                        "分享本站"
                    }
                    a.all href=(base) { "查看全部站点" }
                }
            }
        }
        @if m.unknown_stop {
            p.notice-bar { "没有找到这一站,以下是全部动态。" }
        }
    }
}

/// `(w, h)` scaled so the long side is at most `side` (as the web copies are made).
fn fit((w, h): (u32, u32), side: u32) -> (u32, u32) {
    let long = w.max(h);
    if long <= side || long == 0 {
        return (w.max(1), h.max(1));
    }
    let scale = |x: u32| {
        ((u64::from(x) * u64::from(side) + u64::from(long) / 2) / u64::from(long)).max(1) as u32
    };
    (scale(w), scale(h))
}

/// The copies a photo of a post with `n` photos offers: the `src`, the `srcset` and `sizes`
/// (a single photo only), the width and height of the `src`, and the 1600 px copy a tap opens.
struct Sources {
    src: String,
    srcset: Option<String>,
    sizes: Option<String>,
    width: u32,
    height: u32,
    web: String,
}

fn sources(base: &str, w: Option<&str>, hash: &str, n: usize, size: Option<(u32, u32)>) -> Sources {
    // Unknown size (a photo record not on this device): a 4:3 guess, corrected on load.
    let size = size.unwrap_or((4000, 3000));
    let thumb = (media_url(base, hash, THUMB_SIDE, w), fit(size, THUMB_SIDE));
    let mid = (media_url(base, hash, MID_SIDE, w), fit(size, MID_SIDE));
    let web = (media_url(base, hash, WEB_SIDE, w), fit(size, WEB_SIDE));
    // The distinct copies, smallest first (a small photo's copies are one and the same).
    let mut copies = vec![&thumb];
    for c in [&mid, &web] {
        if c.1 .0 > copies[copies.len() - 1].1 .0 {
            copies.push(c);
        }
    }
    let single = n == 1;
    let srcset = (single && copies.len() > 1).then(|| {
        copies
            .iter()
            .map(|(url, (cw, _))| format!("{url} {cw}w"))
            .collect::<Vec<_>>()
            .join(", ")
    });
    let sizes = srcset
        .as_ref()
        .map(|_| format!("(min-width: 720px) {COLUMN}px, calc(100vw - 32px)"));
    // A single photo's `src` (for a browser without `srcset`) is the copy a phone needs: the
    // middle one when there is one.
    let (src, (width, height)) = if single {
        let (url, wh) = copies.get(1).copied().unwrap_or(&thumb);
        (url.clone(), *wh)
    } else {
        (thumb.0.clone(), thumb.1)
    };
    Sources {
        src,
        srcset,
        sizes,
        width,
        height,
        web: web.0,
    }
}

/// One photo of a post with `n` photos, with its width and height (so the page does not jump
/// when it loads). A single photo fills the column: both web copies are offered with their
/// real widths and the slot's width, so the phone loads the smallest copy that is sharp on its
/// screen. A grid cell (a square crop, a third or half of the column) shows the thumbnail, as
/// a 320 px copy is what such a cell needs; tapping opens the 1600 px copy. The first post's
/// photos load at once (they are what residents see first); the rest when scrolled near. `w`
/// is the 台标 digest the links name (see [`media_url`]).
pub(crate) fn photo(
    base: &str,
    w: Option<&str>,
    hash: &str,
    i: usize,
    n: usize,
    size: Option<(u32, u32)>,
    first: bool,
) -> Markup {
    let s = sources(base, w, hash, n, size);
    html! {
        a href=(s.web) {
            img src=(s.src) srcset=[s.srcset] sizes=[s.sizes]
                width=(s.width) height=(s.height) alt={ "现场图片 " (i + 1) }
                loading=(if first { "eager" } else { "lazy" })
                fetchpriority=[(first && i == 0).then_some("high")]
                decoding="async";
        }
    }
}

/// The head's `<link rel="preload">` of the photo residents see first (the first photo of the
/// first post with photos, `n` photos in that post), offering the copies its `<img>` offers,
/// so the phone asks for that copy with the stylesheet instead of after it.
pub(crate) fn preload(
    base: &str,
    w: Option<&str>,
    hash: &str,
    n: usize,
    size: Option<(u32, u32)>,
) -> Markup {
    let s = sources(base, w, hash, n, size);
    html! {
        link rel="preload" as="image" href=(s.src) imagesrcset=[s.srcset]
            imagesizes=[s.sizes] fetchpriority="high";
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guanmo_api::feed_stops::PublicStops;

    fn stop(position: i32, name: &str, posts: i64) -> PublicStop {
        PublicStop {
            township_id: format!("t{position}"),
            position,
            code: format!("4304821{position:02}000"),
            name: name.into(),
            posts,
        }
    }

    fn view(live: bool, current: Option<i32>) -> SiteView {
        let stops = PublicStops {
            stops: vec![stop(7, "烟洲镇", 0), stop(8, "荫田镇", 3)],
            live,
            current,
        };
        crate::stops::tests_view(stops)
    }

    #[test]
    fn a_stops_preview_names_the_stop_and_shows_its_photo_at_absolute_urls() {
        let v = view(true, Some(8));
        let sizes = HashMap::new();
        let m = SiteMeta {
            origin: "https://live.example.cn/",
            view: &v,
            filter: v.find("8"),
            unknown_stop: false,
            image: Some("ab12"),
            sizes: &sizes,
        };
        let d = description("常宁市观摩会", Some(&m));
        assert_eq!(
            d,
            "常宁市观摩会第8站·荫田镇的现场图文直播,共3条动态,实时更新。"
        );
        let t = title("常宁市观摩会", Some(&m));
        assert_eq!(t, "第8站·荫田镇 · 常宁市观摩会 · 图文直播");
        let html = head("常宁市观摩会", &t, &d, &m).into_string();
        for want in [
            r#"<link rel="canonical" href="https://live.example.cn/?stop=8">"#,
            r#"<meta property="og:title" content="第8站·荫田镇 · 常宁市观摩会">"#,
            r#"<meta property="og:url" content="https://live.example.cn/?stop=8">"#,
            r#"<meta property="og:image" content="https://live.example.cn/media/ab12/1600.jpg">"#,
            r#"<meta name="twitter:card" content="summary_large_image">"#,
            r#"<meta property="og:description" content="常宁市观摩会第8站·荫田镇的现场图文直播,共3条动态,实时更新。">"#,
        ] {
            assert!(html.contains(want), "{want} in {html}");
        }
        // The whole feed without a photo: the site's icon, a small card.
        let m = SiteMeta {
            filter: None,
            image: None,
            ..m
        };
        let html = head("常宁市观摩会", "常宁市观摩会 · 图文直播", "d", &m).into_string();
        assert!(html.contains(r#"<meta property="og:url" content="https://live.example.cn/">"#));
        assert!(html.contains(
            r#"<meta property="og:image" content="https://live.example.cn/static/icon-256.png">"#
        ));
        assert!(html.contains(r#"<meta name="twitter:card" content="summary">"#));
    }

    #[test]
    fn the_banner_shows_the_current_stop_only_while_the_tour_is_live() {
        let sizes = HashMap::new();
        let live = view(true, Some(8));
        let m = SiteMeta {
            origin: "http://127.0.0.1:8080/",
            view: &live,
            filter: None,
            unknown_stop: false,
            image: None,
            sizes: &sizes,
        };
        let html = banner("/", &m).into_string();
        assert!(
            html.contains(r#"<a href="/?stop=8">当前:第8站·荫田镇</a>"#),
            "{html}"
        );
        for v in [view(true, None), view(false, None)] {
            let m = SiteMeta { view: &v, ..m };
            assert_eq!(banner("/", &m).into_string(), "");
        }
    }

    #[test]
    fn the_picker_lists_every_stop_with_its_count_and_marks_the_followed_one() {
        let sizes = HashMap::new();
        let v = view(false, None);
        let m = SiteMeta {
            origin: "http://127.0.0.1:8080/",
            view: &v,
            filter: v.find("430482108000"),
            unknown_stop: false,
            image: None,
            sizes: &sizes,
        };
        let html = stop_picker("/", &m).into_string();
        assert!(
            html.contains(r#"<option value="7">第7站·烟洲镇(0)</option>"#),
            "{html}"
        );
        assert!(
            html.contains(r#"<option value="8" selected>第8站·荫田镇(3)</option>"#),
            "{html}"
        );
        assert!(html.contains(r#"<label for="stop-pick">按站点看</label>"#));
        let head = stop_heading("/", "观摩会", &m).into_string();
        assert!(head.contains(
            r#"<a class="share" href="http://127.0.0.1:8080/?stop=8" data-share="第8站·荫田镇 · 观摩会">分享本站</a>"#
        ), "{head}");
    }

    #[test]
    fn photos_carry_their_size_and_the_three_copies_with_their_real_widths() {
        let one = photo("/", None, "h", 0, 1, Some((3000, 4000)), true).into_string();
        assert!(
            one.contains(
                r#"srcset="/media/h/320.jpg 240w, /media/h/800.jpg 600w, /media/h/1600.jpg 1200w""#
            ),
            "{one}"
        );
        // Without srcset a browser gets the copy a phone needs.
        assert!(one.contains(r#"src="/media/h/800.jpg""#), "{one}");
        assert!(one.contains(r#"width="600" height="800""#), "{one}");
        assert!(
            one.contains(r#"loading="eager" fetchpriority="high" decoding="async""#),
            "{one}"
        );
        assert!(one.contains(r#"sizes="(min-width: 720px) 688px, calc(100vw - 32px)""#));
        let grid = photo("/", None, "h", 1, 3, Some((4000, 3000)), false).into_string();
        assert!(grid.contains(r#"src="/media/h/320.jpg""#), "{grid}");
        assert!(
            !grid.contains("srcset"),
            "a grid cell shows the thumbnail: {grid}"
        );
        assert!(grid.contains(r#"width="320" height="240""#), "{grid}");
        assert!(grid.contains(r#"loading="lazy""#) && !grid.contains("fetchpriority"));
        assert!(grid.contains(r#"decoding="async""#), "{grid}");
        assert!(grid.contains(r#"<a href="/media/h/1600.jpg">"#), "{grid}");
        // A single photo smaller than 320 px has one copy.
        let small = photo("/", None, "h", 0, 1, Some((300, 200)), false).into_string();
        assert!(!small.contains("srcset"), "{small}");
        assert!(small.contains(r#"width="300" height="200""#), "{small}");
        // One of 700 px: its 800 and 1600 px copies are the same, offered once.
        let mid = photo("/", None, "h", 0, 1, Some((700, 500)), false).into_string();
        assert!(
            mid.contains(r#"srcset="/media/h/320.jpg 320w, /media/h/800.jpg 700w""#),
            "{mid}"
        );
        assert_eq!(fit((4000, 3000), 1600), (1600, 1200));
        assert_eq!(fit((1601, 1), 1600), (1600, 1));
    }

    /// The value of `attr` in the first tag of `html` that has it.
    fn attr<'a>(html: &'a str, attr: &str) -> Option<&'a str> {
        let start = html.find(&format!(" {attr}=\""))? + attr.len() + 3;
        html[start..].split('"').next()
    }

    #[test]
    fn the_first_photos_preload_asks_for_the_copy_its_img_will_use() {
        let size = Some((2000, 1500));
        let img = photo("/", None, "h", 0, 1, size, true).into_string();
        let link = preload("/", None, "h", 1, size).into_string();
        assert_eq!(
            link,
            r#"<link rel="preload" as="image" href="/media/h/800.jpg" imagesrcset="/media/h/320.jpg 320w, /media/h/800.jpg 800w, /media/h/1600.jpg 1600w" imagesizes="(min-width: 720px) 688px, calc(100vw - 32px)" fetchpriority="high">"#
        );
        // The phone picks the same copy for both only when they offer the same choice.
        assert_eq!(attr(&link, "imagesrcset"), attr(&img, "srcset"));
        assert_eq!(attr(&link, "imagesizes"), attr(&img, "sizes"));
        assert_eq!(attr(&link, "href"), attr(&img, "src"));
        // A grid's first cell shows its thumbnail, and that alone is preloaded.
        let cell = photo("/", None, "h", 0, 3, size, true).into_string();
        let link = preload("/", None, "h", 3, size).into_string();
        assert_eq!(
            link,
            r#"<link rel="preload" as="image" href="/media/h/320.jpg" fetchpriority="high">"#
        );
        assert_eq!(attr(&link, "href"), attr(&cell, "src"));
    }

    #[test]
    fn with_taibiao_on_every_photo_link_names_its_digest() {
        let size = Some((2000, 1500));
        let img = photo("/", Some("ab12"), "h", 0, 1, size, true).into_string();
        assert!(
            img.contains(r#"<a href="/media/h/1600.jpg?w=ab12">"#),
            "{img}"
        );
        assert!(img.contains(r#"src="/media/h/800.jpg?w=ab12""#), "{img}");
        assert!(
            img.contains(r#"srcset="/media/h/320.jpg?w=ab12 320w, /media/h/800.jpg?w=ab12 800w, /media/h/1600.jpg?w=ab12 1600w""#),
            "{img}"
        );
        let link = preload("/", Some("ab12"), "h", 1, size).into_string();
        assert_eq!(attr(&link, "href"), attr(&img, "src"));
        assert_eq!(attr(&link, "imagesrcset"), attr(&img, "srcset"));
    }
}
