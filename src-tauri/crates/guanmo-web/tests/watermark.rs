//! 台标 on the resident site: `/media/…` serves the watermarked public copy made under the
//! current setting, a changed setting changes what is served (never a stale copy), links that
//! name the setting's digest are cached for good and others are revalidated, and the original
//! is never touched.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{header, Request, Response, StatusCode};
use axum::Router;
use guanmo_api::feed as api;
use guanmo_api::photos::watermark::{self, WatermarkCorner, WatermarkPlacement};
use guanmo_api::Ctx;
use guanmo_domain::feed::PostInput;
use guanmo_domain::SystemClock;
use guanmo_media::Size;
use guanmo_web::{public_router, WebConfig, WebState};
use http_body_util::BodyExt;
use std::path::Path;
use std::sync::Arc;
use tower::ServiceExt;

const FOREVER: &str = "public, max-age=31536000, immutable";

fn png(img: image::DynamicImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

struct Site {
    dir: tempfile::TempDir,
    ctx: Ctx,
    state: WebState,
    router: Router,
    photo: String,
}

fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Ctx::open(&dir.path().join("data"), Arc::new(SystemClock)).unwrap();
    let photo = image::RgbImage::from_fn(1200, 900, |x, y| {
        image::Rgb([(x / 6) as u8, (y / 4) as u8, 60])
    });
    let imported = ctx
        .media()
        .import_bytes(
            "p.png",
            &png(photo.into()),
            &guanmo_media::Limits::default(),
        )
        .unwrap();
    guanmo_api::photos::record_imported(&ctx, "p.png", &imported).unwrap();
    let d = api::create_draft(
        &ctx,
        PostInput {
            body: "有台标的一条".into(),
            photos: vec![imported.hash.clone()],
            ..PostInput::default()
        },
    )
    .unwrap();
    api::publish_post(&ctx, &d.id, d.version).unwrap();
    let state = WebState::new(
        ctx.clone(),
        Arc::new(ctx.media().clone()),
        WebConfig::default(),
    )
    .unwrap();
    Site {
        dir,
        router: public_router(state.clone()),
        state,
        ctx,
        photo: imported.hash,
    }
}

async fn get(router: &Router, uri: &str, etag: Option<&str>) -> Response<Body> {
    let mut req = Request::builder()
        .uri(uri)
        .header(header::HOST, "localhost:8080");
    if let Some(tag) = etag {
        req = req.header(header::IF_NONE_MATCH, tag);
    }
    router
        .clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

fn header_of(r: &Response<Body>, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

async fn body(r: Response<Body>) -> Vec<u8> {
    r.into_body().collect().await.unwrap().to_bytes().to_vec()
}

fn logo(dir: &Path, rgba: [u8; 4]) -> std::path::PathBuf {
    let path = dir.join(format!("logo-{}.png", rgba[0]));
    let img = image::RgbaImage::from_pixel(120, 60, image::Rgba(rgba));
    std::fs::write(&path, png(img.into())).unwrap();
    path
}

/// The public copies' long sides, as their file names say.
const SIDES: [&str; 3] = ["320", "800", "1600"];

/// The photo's plain public copies (320, 800 and 1600 px), as served while 台标 is off.
fn plain_copies(s: &Site) -> Vec<Vec<u8>> {
    let media = s.ctx.media();
    let web = media.path(&s.photo, Size::Web).unwrap();
    let mid = media.mid_copy(&s.photo, &web).unwrap();
    assert_ne!(mid, web, "a 1200 px photo has its own 800 px copy");
    [media.path(&s.photo, Size::Thumb).unwrap(), mid, web]
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

/// Moves the logo to the top left corner; returns the new setting's digest.
fn move_to_top_left(s: &Site) -> String {
    let settings = watermark::get_watermark(&s.ctx).unwrap();
    let moved = watermark::set_watermark_placement(
        &s.ctx,
        WatermarkPlacement {
            corner: WatermarkCorner::TopLeft,
            ..settings.placement
        },
    )
    .unwrap();
    moved.digest.unwrap()
}

#[tokio::test]
async fn the_site_serves_the_current_watermarked_copy_and_never_a_stale_one() {
    let s = site();
    let original = std::fs::read(s.ctx.media().path(&s.photo, Size::Original).unwrap()).unwrap();
    let plain = plain_copies(&s);
    // 台标 off: the plain copies, cached for good (as before).
    for (side, plain) in SIDES.iter().zip(&plain) {
        let r = get(&s.router, &format!("/media/{}/{side}.jpg", s.photo), None).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header_of(&r, "cache-control"), FOREVER);
        assert_eq!(&body(r).await, plain);
    }

    let on = watermark::set_watermark_logo(&s.ctx, &logo(s.dir.path(), [255, 0, 0, 255])).unwrap();
    let first_digest = on.digest.clone().unwrap();
    let mut first = Vec::new();
    for (side, plain) in SIDES.iter().zip(&plain) {
        let uri = format!("/media/{}/{side}.jpg", s.photo);
        // A link that does not name the digest: served, but revalidated.
        let r = get(&s.router, &uri, None).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header_of(&r, "cache-control"), "no-cache");
        let tag = header_of(&r, "etag");
        assert_eq!(tag, format!("\"w-{first_digest}\""));
        let bytes = body(r).await;
        assert_ne!(&bytes, plain, "{side}: the watermark is on the served copy");
        assert_eq!(&bytes[..3], &[0xFF, 0xD8, 0xFF]);
        let again = get(&s.router, &uri, Some(&tag)).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        // A link naming the current digest: the same bytes, cached for good.
        let r = get(&s.router, &format!("{uri}?w={first_digest}"), None).await;
        assert_eq!(header_of(&r, "cache-control"), FOREVER);
        assert_eq!(body(r).await, bytes);
        first.push(bytes);
    }

    // The setting changes: the old ETag no longer matches, the old digest's link is
    // revalidated, and what is served is the new copy.
    let second_digest = move_to_top_left(&s);
    assert_ne!(second_digest, first_digest);
    for (side, old) in SIDES.iter().zip(&first) {
        let uri = format!("/media/{}/{side}.jpg", s.photo);
        let stale_tag = format!("\"w-{first_digest}\"");
        let r = get(&s.router, &uri, Some(&stale_tag)).await;
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "{side}: the old copy is not confirmed"
        );
        assert_eq!(header_of(&r, "etag"), format!("\"w-{second_digest}\""));
        let now = body(r).await;
        assert_ne!(&now, old, "{side}: a new setting, a new copy");
        let r = get(&s.router, &format!("{uri}?w={first_digest}"), None).await;
        assert_eq!(header_of(&r, "cache-control"), "no-cache");
        assert_eq!(body(r).await, now);
    }

    // Off again: the plain copies; a link still naming a digest is revalidated.
    watermark::clear_watermark_logo(&s.ctx).unwrap();
    let uri = format!("/media/{}/1600.jpg", s.photo);
    let r = get(&s.router, &format!("{uri}?w={second_digest}"), None).await;
    assert_eq!(header_of(&r, "cache-control"), "no-cache");
    assert_eq!(body(r).await, plain[2]);
    assert_eq!(
        std::fs::read(s.ctx.media().path(&s.photo, Size::Original).unwrap()).unwrap(),
        original,
        "the original is as imported"
    );
    let r = get(&s.router, &format!("/media/{}/original.jpg", s.photo), None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_static_export_carries_the_watermarked_copies() {
    let s = site();
    watermark::set_watermark_logo(&s.ctx, &logo(s.dir.path(), [255, 0, 0, 255])).unwrap();
    let out = s.dir.path().join("export");
    let report = guanmo_web::export_static(&s.state, &out).unwrap();
    assert_eq!(report.media_files, 3);
    assert!(report.missing_media.is_empty());
    let plain = plain_copies(&s);
    for (side, plain) in SIDES.iter().zip(&plain) {
        let exported =
            std::fs::read(out.join("media").join(&s.photo).join(format!("{side}.jpg"))).unwrap();
        let served =
            body(get(&s.router, &format!("/media/{}/{side}.jpg", s.photo), None).await).await;
        assert_eq!(
            exported, served,
            "{side}: the export has what phones are served"
        );
        assert_ne!(&exported, plain, "{side}: with the 台标");
    }
}

/// The `src` of the page's first photo.
fn first_src(html: &str) -> String {
    let at = html.find("<img ").unwrap();
    let start = html[at..].find(" src=\"").unwrap() + at + 6;
    html[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
}

#[tokio::test]
async fn the_pages_photo_links_name_the_current_digest_so_phones_never_keep_a_stale_copy() {
    let s = site();
    let page = |s: &Site| {
        let router = s.router.clone();
        async move { String::from_utf8(body(get(&router, "/", None).await).await).unwrap() }
    };
    // Off: plain, content-addressed links.
    let html = page(&s).await;
    assert_eq!(first_src(&html), format!("/media/{}/800.jpg", s.photo));
    assert!(!html.contains("?w=") && !html.contains("data-w="));

    // On: every photo link names the digest, and such a link is cached for good.
    let on = watermark::set_watermark_logo(&s.ctx, &logo(s.dir.path(), [255, 0, 0, 255])).unwrap();
    let first = on.digest.unwrap();
    let html = page(&s).await;
    let src = first_src(&html);
    assert_eq!(src, format!("/media/{}/800.jpg?w={first}", s.photo));
    assert!(
        html.contains(&format!(r#"data-w="{first}""#)),
        "the live script's links too"
    );
    assert!(html.contains(&format!(
        r#"<a href="/media/{}/1600.jpg?w={first}">"#,
        s.photo
    )));
    assert!(
        html.contains(&format!(
            r#"<meta property="og:image" content="http://localhost:8080/media/{}/1600.jpg?w={first}">"#,
            s.photo
        )),
        "the link preview's photo too"
    );
    let r = get(&s.router, &src, None).await;
    assert_eq!(header_of(&r, "cache-control"), FOREVER);
    let marked = body(r).await;
    assert_ne!(marked, plain_copies(&s)[1]);

    // A new setting: the page (no longer the cached one) names the new digest at once.
    let second = move_to_top_left(&s);
    let src = first_src(&page(&s).await);
    assert_eq!(src, format!("/media/{}/800.jpg?w={second}", s.photo));
    let r = get(&s.router, &src, None).await;
    assert_eq!(header_of(&r, "cache-control"), FOREVER);
    assert_ne!(body(r).await, marked, "the new copy");

    // Off again: plain links.
    watermark::clear_watermark_logo(&s.ctx).unwrap();
    assert_eq!(
        first_src(&page(&s).await),
        format!("/media/{}/800.jpg", s.photo)
    );
}
