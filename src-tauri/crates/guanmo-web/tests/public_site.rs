//! The resident site from the outside: routes, headers, caching, escaping, the Host guard,
//! the absence of any editing route, the static export, and one real HTTP live stream.
// Helpers outside `#[test]` functions unwrap too: a failing fixture should fail the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{header, Method, Request, Response, StatusCode};
use axum::Router;
use chrono::{DateTime, Duration, Utc};
use guanmo_api::feed::{self as api, PublicFeed};
use guanmo_api::Ctx;
use guanmo_domain::feed::{Post, PostInput};
use guanmo_domain::FixedClock;
use guanmo_web::{export_static, public_router, serve, MediaSource, WebConfig, WebState};
use http_body_util::BodyExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tower::ServiceExt;

struct DirMedia(PathBuf);

impl MediaSource for DirMedia {
    fn derived_path(&self, hash: &str, long_side: u32) -> Option<PathBuf> {
        let p = self.0.join(format!("{hash}.{long_side}.jpg"));
        p.is_file().then_some(p)
    }
}

struct Site {
    _dir: tempfile::TempDir,
    ctx: Ctx,
    clock: Arc<FixedClock>,
    state: WebState,
    media: PathBuf,
}

impl Site {
    fn new() -> Site {
        Site::with(WebConfig {
            title: "常宁市乡镇(街道)工作现场观摩会".into(),
            ..WebConfig::default()
        })
    }

    fn with(config: WebConfig) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(
            DateTime::parse_from_rfc3339("2024-12-04T00:30:00Z")
                .unwrap()
                .with_timezone(&Utc),
        ));
        let ctx = Ctx::open(&dir.path().join("data"), clock.clone()).unwrap();
        let media = dir.path().join("media");
        std::fs::create_dir_all(&media).unwrap();
        let state = WebState::new(ctx.clone(), Arc::new(DirMedia(media.clone())), config).unwrap();
        Site {
            _dir: dir,
            ctx,
            clock,
            state,
            media,
        }
    }

    fn router(&self) -> Router {
        public_router(self.state.clone())
    }

    fn photo(&self, c: char) -> String {
        let hash: String = std::iter::repeat_n(c, 64).collect();
        for side in [320, 800, 1600] {
            std::fs::write(
                self.media.join(format!("{hash}.{side}.jpg")),
                format!("jpeg {side}"),
            )
            .unwrap();
        }
        std::fs::write(self.media.join(&hash), "the original, never served").unwrap();
        hash
    }

    fn post(&self, body: &str, photos: Vec<String>) -> Post {
        self.clock.advance(Duration::minutes(5));
        let d = api::create_draft(
            &self.ctx,
            PostInput {
                stop_label: Some("【第6站·水口山镇】".into()),
                township_id: None,
                body: body.into(),
                photos,
                credit: "记者 李明 摄".into(),
            },
        )
        .unwrap();
        api::publish_post(&self.ctx, &d.id, d.version).unwrap()
    }
}

fn request(method: Method, uri: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "localhost:8080")
        .body(Body::empty())
        .unwrap()
}

async fn get(router: &Router, uri: &str) -> Response<Body> {
    router
        .clone()
        .oneshot(request(Method::GET, uri))
        .await
        .unwrap()
}

async fn text(resp: Response<Body>) -> String {
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

async fn feed(router: &Router, uri: &str) -> PublicFeed {
    let r = get(router, uri).await;
    assert_eq!(r.status(), StatusCode::OK, "{uri}");
    serde_json::from_str(&text(r).await).unwrap()
}

fn header_of(r: &Response<Body>, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// Reads what an endless SSE body sends within `ms` of silence.
async fn sse_text(resp: Response<Body>, ms: u64) -> String {
    let mut body = resp.into_body();
    let mut out = String::new();
    while let Ok(Some(Ok(frame))) =
        tokio::time::timeout(std::time::Duration::from_millis(ms), body.frame()).await
    {
        if let Some(d) = frame.data_ref() {
            out.push_str(&String::from_utf8_lossy(d));
        }
    }
    out
}

#[tokio::test]
async fn the_page_shows_the_pinned_post_first_then_the_newest_in_beijing_time() {
    let site = Site::new();
    let photo = site.photo('a');
    let opening = site.post("观摩会今天开幕。", vec![]);
    site.post("第一站:宜阳街道。", vec![photo.clone()]);
    site.post("第二站:泉峰街道。\n\n村集体经济发展亮眼。", vec![]);
    api::pin_post(&site.ctx, &opening.id).unwrap();
    let r = get(&site.router(), "/").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header_of(&r, "content-type"), "text/html; charset=utf-8");
    let html = text(r).await;
    assert!(html.contains(r#"<html lang="zh-CN">"#));
    assert!(html.contains(r#"name="viewport""#));
    let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("{s} missing"));
    assert!(at("观摩会今天开幕") < at("第二站") && at("第二站") < at("第一站"));
    assert!(html.contains("置顶"));
    assert!(
        html.contains(">12月4日 08:35<"),
        "00:35 UTC is 08:35 in Beijing, with the day"
    );
    assert!(html.contains("【第6站·水口山镇】"));
    assert!(html.contains("<p>村集体经济发展亮眼。</p>"), "paragraphs");
    // A single photo: the copy a phone needs, with the others to choose from.
    assert!(html.contains(&format!(r#"src="/media/{photo}/800.jpg""#)));
    assert!(html.contains(&format!(r#"<a href="/media/{photo}/1600.jpg">"#)));
    assert!(html.contains("记者 李明 摄"));
    assert!(html.contains("/static/live.js?v="));
    assert!(
        !html.contains("<style") && !html.contains("<script>"),
        "no inline code"
    );
}

#[tokio::test]
async fn an_edited_post_says_when_it_was_updated() {
    let site = Site::new();
    let p = site.post("初稿", vec![]);
    site.clock.advance(Duration::minutes(7));
    api::update_post(
        &site.ctx,
        &p.id,
        p.version,
        PostInput {
            body: "改正后".into(),
            ..PostInput::default()
        },
    )
    .unwrap();
    let html = text(get(&site.router(), "/").await).await;
    assert!(html.contains("已更新 08:42"), "{html}");
}

#[tokio::test]
async fn post_text_is_escaped_everywhere_on_the_page() {
    let site = Site::new();
    site.clock.advance(Duration::minutes(1));
    let d = api::create_draft(
        &site.ctx,
        PostInput {
            stop_label: Some(r#""><img src=x onerror=alert(1)>"#.into()),
            body: "<script>alert('x')</script>".into(),
            credit: "</p><b>记者</b>".into(),
            ..PostInput::default()
        },
    )
    .unwrap();
    api::publish_post(&site.ctx, &d.id, d.version).unwrap();
    let html = text(get(&site.router(), "/").await).await;
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(html.contains("&lt;script&gt;alert('x')&lt;/script&gt;"));
    assert!(!html.contains("<img src=x"));
    assert!(!html.contains("<b>记者"));
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let site = Site::new();
    site.post("正文", vec![]);
    let router = site.router();
    for uri in [
        "/",
        "/api/feed",
        "/static/live.js",
        "/nope",
        "/media/x/320.jpg",
    ] {
        let r = get(&router, uri).await;
        let csp = header_of(&r, "content-security-policy");
        for part in [
            "default-src 'self'",
            "img-src 'self'",
            "script-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(part), "{uri}: CSP lacks {part}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{uri}");
        assert_eq!(header_of(&r, "x-content-type-options"), "nosniff", "{uri}");
        assert_eq!(header_of(&r, "referrer-policy"), "no-referrer", "{uri}");
    }
}

#[tokio::test]
async fn text_is_compressed_for_phones_that_accept_it() {
    let site = Site::new();
    site.post("正文", vec![]);
    for (enc, uri) in [
        ("gzip", "/"),
        ("br", "/api/feed"),
        ("gzip", "/static/live.js"),
    ] {
        let mut req = request(Method::GET, uri);
        req.headers_mut()
            .insert(header::ACCEPT_ENCODING, enc.parse().unwrap());
        let r = site.router().oneshot(req).await.unwrap();
        assert_eq!(header_of(&r, "content-encoding"), enc, "{uri}");
    }
}

#[tokio::test]
async fn the_feed_is_cacheable_and_a_matching_etag_gets_304_until_something_is_published() {
    let site = Site::new();
    site.post("第一条", vec![]);
    let router = site.router();
    for (uri, other) in [
        ("/api/feed?limit=5", "/api/feed?limit=4"),
        ("/", "/?limit=4"),
    ] {
        let r = get(&router, uri).await;
        assert_eq!(header_of(&r, "cache-control"), "public, max-age=2");
        let etag = header_of(&r, "etag");
        assert!(!etag.is_empty(), "{uri}");
        let mut again = request(Method::GET, uri);
        again
            .headers_mut()
            .insert(header::IF_NONE_MATCH, etag.parse().unwrap());
        let r = router.clone().oneshot(again).await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{uri}");
        assert_eq!(header_of(&r, "etag"), etag);
        assert!(text(r).await.is_empty());

        let other = get(&router, other).await;
        assert_ne!(
            header_of(&other, "etag"),
            etag,
            "the page size is part of the tag"
        );
    }
    let before = header_of(&get(&router, "/api/feed").await, "etag");
    api::create_draft(
        &site.ctx,
        PostInput {
            body: "草稿".into(),
            ..PostInput::default()
        },
    )
    .unwrap();
    let after_draft = header_of(&get(&router, "/api/feed").await, "etag");
    assert_eq!(
        before, after_draft,
        "a draft does not change what residents see"
    );
    site.post("第二条", vec![]);
    let after = header_of(&get(&router, "/api/feed").await, "etag");
    assert_ne!(before, after);
}

#[tokio::test]
async fn a_retracted_post_is_absent_from_the_page_the_feed_and_the_live_stream() {
    let site = Site::new();
    let keep = site.post("保留的一条", vec![]);
    let gone = site.post("发错的一条", vec![]);
    api::retract_post(&site.ctx, &gone.id).unwrap();
    let router = site.router();
    let html = text(get(&router, "/").await).await;
    assert!(html.contains("保留的一条"));
    assert!(!html.contains("发错的一条") && !html.contains(&gone.id));
    let f = feed(&router, "/api/feed").await;
    assert_eq!(f.posts.len(), 1);
    assert_eq!(f.posts[0].id, keep.id);
    // A phone replaying the whole log only learns that the post is gone.
    let r = get(&router, "/live?since=0").await;
    assert_eq!(header_of(&r, "content-type"), "text/event-stream");
    let stream = sse_text(r, 300).await;
    assert!(stream.contains("retry:"), "{stream}");
    assert!(stream.contains(&keep.id) && stream.contains("保留的一条"));
    assert!(stream.contains(&format!(r#""kind":"retracted","id":"{}""#, gone.id)));
    assert!(!stream.contains("发错的一条"), "{stream}");
    assert!(
        !stream.contains("organiser"),
        "who retracted it stays internal"
    );
}

#[tokio::test]
async fn drafts_and_internal_fields_never_reach_the_feed_json() {
    let site = Site::new();
    site.post("已发布", vec![]);
    api::create_draft(
        &site.ctx,
        PostInput {
            body: "内部草稿".into(),
            ..PostInput::default()
        },
    )
    .unwrap();
    let json = text(get(&site.router(), "/api/feed").await).await;
    assert!(json.contains("已发布"));
    for private in [
        "内部草稿",
        "retracted_by",
        "status",
        "version",
        "created_at",
    ] {
        assert!(!json.contains(private), "{private} in {json}");
    }
}

#[tokio::test]
async fn pages_follow_the_cursor_to_the_last_page_and_bad_paging_is_400() {
    let site = Site::new();
    let ids: Vec<String> = (0..3)
        .map(|i| site.post(&format!("第{i}条"), vec![]).id)
        .collect();
    let router = site.router();
    let p1 = feed(&router, "/api/feed?limit=1").await;
    assert_eq!(p1.posts.len(), 1);
    assert_eq!(p1.posts[0].id, ids[2]);
    let c1 = p1.next_cursor.unwrap();
    let p2 = feed(&router, &format!("/api/feed?limit=1&cursor={c1}")).await;
    assert_eq!(p2.posts[0].id, ids[1]);
    let p3 = feed(&router, &format!("/api/feed?limit=2&cursor={c1}")).await;
    assert_eq!(p3.posts.len(), 2);
    assert_eq!(p3.next_cursor, None, "the last page says so");
    let html = text(get(&router, "/?limit=1").await).await;
    assert!(
        html.contains("查看更早的动态"),
        "no-JS readers page by link"
    );
    let html = text(get(&router, &format!("/?limit=1&cursor={c1}")).await).await;
    assert!(html.contains("第1条") && !html.contains("第2条"));
    assert!(
        !html.contains("data-live="),
        "older pages are not live (their script only adds likes and comments)"
    );
    for bad in [
        "/api/feed?cursor=zzz",
        "/api/feed?cursor=123.456",
        "/api/feed?cursor=%22%3E",
        "/api/feed?limit=0",
        "/api/feed?limit=51",
        "/api/feed?limit=abc",
        "/?cursor=nope",
        "/live?since=abc",
    ] {
        assert_eq!(
            get(&router, bad).await.status(),
            StatusCode::BAD_REQUEST,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn unknown_routes_are_404() {
    let site = Site::new();
    let router = site.router();
    for uri in [
        "/admin",
        "/api/posts",
        "/api/feed/1",
        "/static/other.js",
        "/static/../Cargo.toml",
        "/index.html",
    ] {
        assert_eq!(
            get(&router, uri).await.status(),
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
}

#[tokio::test]
async fn a_request_for_another_host_is_refused() {
    let site = Site::new();
    for host in ["evil.example", "localhost.evil.example", "10.0.0.1:8080"] {
        let req = Request::builder()
            .uri("/")
            .header(header::HOST, host)
            .body(Body::empty())
            .unwrap();
        let r = site.router().oneshot(req).await.unwrap();
        assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST, "{host}");
        assert_eq!(header_of(&r, "x-content-type-options"), "nosniff");
    }
    let no_host = Request::builder().uri("/").body(Body::empty()).unwrap();
    let r = site.router().oneshot(no_host).await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn no_route_accepts_a_write_method() {
    let site = Site::new();
    let photo = site.photo('c');
    let p = site.post("正文", vec![photo.clone()]);
    let router = site.router();
    let media = format!("/media/{photo}/320.jpg");
    let posts = format!("/api/posts/{}", p.id);
    for uri in [
        "/",
        "/api/feed",
        "/live",
        media.as_str(),
        "/static/live.js",
        posts.as_str(),
        "/api/feed?x=1",
    ] {
        for m in [Method::POST, Method::PUT, Method::DELETE, Method::PATCH] {
            let status = router
                .clone()
                .oneshot(request(m.clone(), uri))
                .await
                .unwrap()
                .status();
            assert!(
                status == StatusCode::METHOD_NOT_ALLOWED || status == StatusCode::NOT_FOUND,
                "{m} {uri} answered {status}"
            );
        }
    }
    assert_eq!(
        api::get_post(&site.ctx, &p.id).unwrap(),
        p,
        "nothing changed"
    );
}

#[tokio::test]
async fn until_its_1600_px_copy_arrives_a_photo_opens_as_its_thumbnail_never_cached() {
    let site = Site::new();
    let photo = site.photo('a');
    // A post from a laptop on 4G: public with its thumbnails, the 1600 px copy still on its way.
    std::fs::remove_file(site.media.join(format!("{photo}.1600.jpg"))).unwrap();
    site.post("先到缩略图", vec![photo.clone()]);
    let router = site.router();
    let r = get(&router, &format!("/media/{photo}/1600.jpg")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header_of(&r, "cache-control"), "no-store");
    assert_eq!(text(r).await, "jpeg 320");
    // Once it is here it is served, and cached for good.
    std::fs::write(site.media.join(format!("{photo}.1600.jpg")), "jpeg 1600").unwrap();
    let r = get(&router, &format!("/media/{photo}/1600.jpg")).await;
    assert_eq!(
        header_of(&r, "cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(text(r).await, "jpeg 1600");
    // With neither, nothing.
    let bare = site.photo('b');
    site.post("无图可显示", vec![bare.clone()]);
    for side in [320, 800, 1600] {
        std::fs::remove_file(site.media.join(format!("{bare}.{side}.jpg"))).unwrap();
    }
    let r = get(&router, &format!("/media/{bare}/1600.jpg")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn media_serves_only_the_web_copies_of_published_photos() {
    let site = Site::new();
    let photo = site.photo('d');
    let draft_photo = site.photo('e');
    site.post("有图", vec![photo.clone()]);
    api::create_draft(
        &site.ctx,
        PostInput {
            body: "草稿有图".into(),
            photos: vec![draft_photo.clone()],
            ..PostInput::default()
        },
    )
    .unwrap();
    let router = site.router();
    for size in ["320", "800", "1600"] {
        let r = get(&router, &format!("/media/{photo}/{size}.jpg")).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header_of(&r, "content-type"), "image/jpeg");
        assert_eq!(
            header_of(&r, "cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(text(r).await, format!("jpeg {size}"));
    }
    let upper = photo.to_uppercase();
    for uri in [
        format!("/media/{photo}/original.jpg"),
        format!("/media/{photo}/{photo}"),
        format!("/media/{photo}/640.jpg"),
        format!("/media/{upper}/320.jpg"),
        "/media/..%2F..%2Fdata%2Fguanmo.sqlite3/320.jpg".to_string(),
        "/media/../data/320.jpg".to_string(),
        format!("/media/{}/320.jpg", &photo[..63]),
        format!("/media/{draft_photo}/320.jpg"),
        format!("/media/{}/320.jpg", "f".repeat(64)),
    ] {
        assert_eq!(
            get(&router, &uri).await.status(),
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
}

#[tokio::test]
async fn the_static_export_writes_a_folder_any_server_can_serve() {
    let site = Site::new();
    let photo = site.photo('b');
    site.post("导出的一条", vec![photo.clone()]);
    let gone = site.post("撤回的一条", vec![]);
    api::retract_post(&site.ctx, &gone.id).unwrap();
    let out = tempfile::tempdir().unwrap();
    let report = export_static(&site.state, out.path()).unwrap();
    assert_eq!(report.posts, 1);
    assert_eq!(report.media_files, 3);
    assert!(report.missing_media.is_empty());
    let html = std::fs::read_to_string(out.path().join("index.html")).unwrap();
    assert!(html.contains("导出的一条") && !html.contains("撤回的一条"));
    assert!(
        !html.contains("live.js"),
        "a static copy has no live script"
    );
    assert!(
        html.contains(&format!(r#"src="media/{photo}/800.jpg""#)),
        "relative links"
    );
    assert!(html.contains(r#"href="static/feed.css"#));
    let json = std::fs::read_to_string(out.path().join("api/feed.json")).unwrap();
    let f: PublicFeed = serde_json::from_str(&json).unwrap();
    assert_eq!(f.posts.len(), 1);
    for side in ["320", "800", "1600"] {
        assert!(out
            .path()
            .join(format!("media/{photo}/{side}.jpg"))
            .is_file());
    }
    assert!(out.path().join("static/feed.css").is_file());
}

#[tokio::test]
async fn the_page_assets_stay_small() {
    let site = Site::new();
    let router = site.router();
    let mut total = 0;
    for uri in ["/", "/static/feed.css", "/static/live.js"] {
        total += text(get(&router, uri).await).await.len();
    }
    assert!(total < 50 * 1024, "page + CSS + JS is {total} bytes");
}

/// Reads from `stream` until `needle` shows up (or panics after `secs`).
async fn read_until(stream: &mut tokio::net::TcpStream, buf: &mut String, needle: &str, secs: u64) {
    use tokio::io::AsyncReadExt;
    let deadline = Instant::now() + std::time::Duration::from_secs(secs);
    let mut chunk = [0u8; 4096];
    while !buf.contains(needle) {
        let left = deadline.saturating_duration_since(Instant::now());
        let n = tokio::time::timeout(left, stream.read(&mut chunk))
            .await
            .unwrap_or_else(|_| panic!("no {needle} within {secs} s; got {buf}"))
            .unwrap();
        assert!(n > 0, "connection closed before {needle}; got {buf}");
        buf.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_on_live_hears_of_a_post_published_through_the_api_and_shutdown_ends_the_stream() {
    use tokio::io::AsyncWriteExt;
    let site = Site::new();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, site.router(), async move {
        let _ = stop_rx.await;
    }));

    let mut phone = tokio::net::TcpStream::connect(addr).await.unwrap();
    phone
        .write_all(
            format!("GET /live HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut got = String::new();
    read_until(&mut phone, &mut got, "retry:", 5).await;
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");

    let ctx = site.ctx.clone();
    let started = Instant::now();
    let post = tokio::task::spawn_blocking(move || {
        let d = api::create_draft(
            &ctx,
            PostInput {
                body: "观摩团抵达水口山镇".into(),
                ..PostInput::default()
            },
        )
        .unwrap();
        api::publish_post(&ctx, &d.id, d.version).unwrap()
    })
    .await
    .unwrap();
    read_until(&mut phone, &mut got, "观摩团抵达水口山镇", 5).await;
    let latency = started.elapsed();
    println!("publish → SSE event on the phone: {latency:?} (includes the draft write)");
    assert!(
        got.contains(&format!(r#""kind":"new","id":"{}""#, post.id)),
        "{got}"
    );
    assert!(latency < std::time::Duration::from_secs(2));

    stop_tx.send(()).unwrap();
    tokio::time::timeout(std::time::Duration::from_secs(5), server)
        .await
        .expect("graceful shutdown ends open live streams")
        .unwrap()
        .unwrap();
}

/// `GET /live` from `peer`.
async fn live_from(router: &Router, uri: &str, peer: &str) -> Response<Body> {
    let mut req = request(Method::GET, uri);
    req.extensions_mut().insert(axum::extract::ConnectInfo(
        peer.parse::<std::net::SocketAddr>().unwrap(),
    ));
    router.clone().oneshot(req).await.unwrap()
}

#[tokio::test]
async fn live_streams_are_capped_at_eight_per_address_and_per_site() {
    let mut config = WebConfig::default();
    config.limits.live.per_address = 8;
    let site = Site::with(config);
    let router = site.router();
    let mut open = Vec::new();
    for n in 1..=8 {
        // Eight addresses of one IPv6 /64 are one address.
        let r = live_from(&router, "/live", &format!("[2001:db8:9:9::{n}]:1")).await;
        assert_eq!(r.status(), StatusCode::OK, "stream {n}");
        open.push(r);
    }
    let r = live_from(&router, "/live", "[2001:db8:9:9::ff]:1").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header_of(&r, "retry-after"), "30");
    assert!(text(r).await.contains("打开的直播页面太多"));
    let other = live_from(&router, "/live", "10.0.0.3:1").await;
    assert_eq!(other.status(), StatusCode::OK, "another address");
    // A phone that goes away gives its place back.
    drop(open.pop());
    let r = live_from(&router, "/live", "[2001:db8:9:9::ff]:1").await;
    assert_eq!(r.status(), StatusCode::OK);

    let mut config = WebConfig::default();
    config.limits.live.total = 3;
    let small = Site::with(config);
    let router = small.router();
    let held: Vec<_> = futures_of(&router, 3).await;
    assert!(held.iter().all(|r| r.status() == StatusCode::OK));
    let r = live_from(&router, "/live", "10.0.0.99:1").await;
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(text(r).await.contains("当前观看人数较多"));
}

/// `n` live streams from `n` addresses, held open.
async fn futures_of(router: &Router, n: u8) -> Vec<Response<Body>> {
    let mut out = Vec::new();
    for i in 1..=n {
        out.push(live_from(router, "/live", &format!("10.0.1.{i}:1")).await);
    }
    out
}

#[tokio::test]
async fn a_phone_too_far_behind_is_told_to_reload_instead_of_replayed_the_whole_log() {
    let mut config = WebConfig::default();
    config.limits.live.replay = 3;
    let site = Site::with(config);
    let first = site.post("第一条直播", vec![]);
    site.post("第二条直播", vec![]);
    let after_second = api::feed_seq(&site.ctx).unwrap();
    let rest: Vec<Post> = (3..=5)
        .map(|n| site.post(&format!("第{n}条直播"), vec![]))
        .collect();
    let router = site.router();

    let stream = sse_text(get(&router, "/live?since=0").await, 300).await;
    let head = api::feed_seq(&site.ctx).unwrap();
    assert!(
        stream.contains(&format!("event: reload\nid: {head}\n")),
        "{stream}"
    );
    assert!(
        !stream.contains("event: post"),
        "nothing replayed: {stream}"
    );
    assert!(!stream.contains(&first.id));

    // Three events behind is within the replay: they come, in order.
    let stream = sse_text(
        get(&router, &format!("/live?since={after_second}")).await,
        300,
    )
    .await;
    assert!(!stream.contains("event: reload"), "{stream}");
    assert_eq!(stream.matches("event: post").count(), 3, "{stream}");
    let at = |p: &Post| stream.find(&p.id).unwrap();
    assert!(at(&rest[0]) < at(&rest[1]) && at(&rest[1]) < at(&rest[2]));

    // A `since` from the future is taken as now: the next post still arrives.
    let r = get(&router, "/live?since=999999999").await;
    let next = site.post("第六条直播", vec![]);
    let stream = sse_text(r, 300).await;
    assert!(stream.contains(&next.id), "{stream}");
}

#[tokio::test]
async fn a_signed_off_post_names_its_editor_under_it_when_the_organiser_prints_names() {
    use guanmo_domain::feed::signoff::{SignoffAction, SignoffSettings};
    let site = Site::new();
    api::set_signoff_settings(
        &site.ctx,
        SignoffSettings {
            levels: 2,
            print_footer: true,
        },
    )
    .unwrap();
    let d = api::create_draft(
        &site.ctx,
        PostInput {
            body: "观摩团来到荫田镇。".into(),
            ..PostInput::default()
        },
    )
    .unwrap();
    // On a hub where no one signs in, the organiser's 签发 names 组织方 (二审 is the last level).
    api::signoff_post(
        &site.ctx,
        &d.id,
        SignoffAction::FastTrack,
        d.version,
        String::new(),
    )
    .unwrap();
    let html = text(get(&site.router(), "/").await).await;
    assert!(
        html.contains(r#"<p class="signoff">责任编辑：组织方</p>"#),
        "{html}"
    );
    let f = feed(&site.router(), "/api/feed").await;
    assert_eq!(f.posts[0].editor.as_deref(), Some("组织方"));
    assert_eq!(f.posts[0].approver, None);
}
