//! 台标 in the real window: a photo imported from a card, the app's own icon (a PNG with a
//! transparent background) chosen as the logo in 直播网站 › 台标设置, the preview of the photo
//! as residents will see it, the composer's phone preview with the logo, and the resident
//! site serving the watermarked copy while the original and the app's copy stay as imported.

use crate::harness::Desktop;
use std::io::{Read, Write};
use std::path::Path;

/// A landscape-ish scene: sky, hills, a field.
fn scene(path: &Path) {
    let img = image::RgbImage::from_fn(1600, 1067, |x, y| {
        let hill = 520.0 + 80.0 * ((x as f32) / 240.0).sin();
        if (y as f32) < hill {
            let t = y as f32 / hill;
            image::Rgb([(110.0 + 90.0 * t) as u8, (160.0 + 60.0 * t) as u8, 235])
        } else {
            let g = 120 + ((x / 7 + y / 5) % 40) as u8;
            image::Rgb([60, g, 50])
        }
    });
    image::DynamicImage::ImageRgb8(img).save(path).unwrap();
}

fn get(port: u16, path: &str) -> (String, Vec<u8>) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    (head, raw[split + 4..].to_vec())
}

/// Waits until the image matched by `css` has loaded; returns its natural width.
async fn loaded_width(s: &crate::harness::Session, css: &str) -> u64 {
    for _ in 0..100 {
        let w = s
            .client
            .execute(
                "const i = document.querySelector(arguments[0]);
                 return i && i.complete ? i.naturalWidth : 0;",
                vec![serde_json::json!(css)],
            )
            .await
            .unwrap();
        if let Some(w) = w.as_u64().filter(|w| *w > 0) {
            return w;
        }
        s.pause_ms(100).await;
    }
    panic!("{css} never loaded");
}

#[tokio::test]
#[ignore = "needs the embedded app build, Xvfb and tauri-driver; .ci/run runs it"]
async fn the_logo_is_previewed_and_served_on_public_copies_only() {
    let desktop = Desktop::start();
    let sd = desktop.tmp.path().join("sd");
    std::fs::create_dir_all(&sd).unwrap();
    scene(&sd.join("荫田镇现场.png"));
    let logo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../src-tauri/icons/128x128.png");
    let logo = std::fs::canonicalize(logo).unwrap();

    let s = desktop.session().await;
    s.wait_for("[data-testid='township-row-430482001000']")
        .await;
    s.click("[data-testid='nav-feed']").await;
    s.click("[data-testid='feed-tab-photos']").await;
    s.wait_for("[data-testid='photo-import-files']").await;
    s.pause_ms(1000).await;
    desktop.answer_dialog(&[sd.as_path()]);
    s.click("[data-testid='photo-import-folder']").await;
    s.wait_for("img[data-testid^='photo-thumb-']").await;

    // 直播网站 › 台标设置: choose the logo; the preview shows the photo as residents see it.
    s.click("[data-testid='feed-tab-site']").await;
    s.wait_for("[data-testid='watermark-panel']").await;
    desktop.answer_dialog(&[logo.as_path()]);
    s.click("[data-testid='watermark-choose']").await;
    s.wait_for_text("[data-testid='watermark-logo']", "128×128")
        .await;
    s.click("[data-testid='watermark-corner-bottom_right']")
        .await;
    s.set_value("[data-testid='watermark-size']", "12").await;
    s.click("[data-testid='watermark-save']").await;
    s.wait_for_text(
        "[data-testid='watermark-panel'] [role='status']",
        "已按新设置加上台标",
    )
    .await;
    let width = loaded_width(&s, "[data-testid='watermark-preview-image']").await;
    assert_eq!(width, 1600, "the preview is the 1600 px public copy");
    s.client
        .execute(
            "document.querySelector(\"[data-testid='watermark-panel']\").scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    s.screenshot("26-watermark-panel").await;
    let settings = s.invoke("get_watermark", serde_json::json!({})).await;
    let digest = settings["ok"]["digest"].as_str().unwrap().to_string();
    assert_eq!(settings["ok"]["placement"]["sizePct"], 12);

    // The composer's phone preview shows the public copy, with the logo.
    s.click("[data-testid='feed-tab-compose']").await;
    s.set_value(
        "[data-testid='post-body']",
        "观摩团走进荫田镇,察看高标准农田建设。",
    )
    .await;
    s.click("[data-testid='post-add-photos']").await;
    s.wait_for("[data-testid='photo-picker']").await;
    s.click("[data-testid^='pick-photo-']").await;
    s.click("[data-testid='photo-picker-confirm']").await;
    s.wait_for("[data-testid='post-photo-0']").await;
    loaded_width(&s, "[data-testid='preview-photos'] img").await;
    s.screenshot("27-composer-watermark-preview").await;
    let src = s
        .client
        .execute(
            "return document.querySelector(\"[data-testid='preview-photos'] img\").src",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        src.as_str()
            .unwrap()
            .ends_with(&format!("/1600/public?w={digest}")),
        "the phone preview shows the current public copy: {src}"
    );
    s.click("[data-testid='post-publish']").await;
    s.wait_for_text("[data-testid^='post-row-']", "已发布")
        .await;

    // The resident site serves the watermarked copy; the original and the app's copy are as
    // imported.
    let photos = s.invoke("list_photos", serde_json::json!({})).await;
    let hash = photos["ok"][0]["hash"].as_str().unwrap().to_string();
    let port = crate::harness::free_port();
    let started = s
        .invoke(
            "start_live_site",
            serde_json::json!({ "ip": "127.0.0.1", "port": port }),
        )
        .await;
    assert!(started.get("ok").is_some(), "{started}");
    let objects = desktop
        .data_dir()
        .join("objects")
        .join(&hash[0..2])
        .join(&hash[2..4]);
    let plain = std::fs::read(objects.join(format!("{hash}.1600.jpg"))).unwrap();
    let (head, served) = get(port, &format!("/media/{hash}/1600.jpg?w={digest}"));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.contains("immutable"), "{head}");
    assert_ne!(served, plain, "residents get the watermarked copy");
    let public = desktop
        .data_dir()
        .join("public-copies")
        .join(&hash[0..2])
        .join(&hash[2..4])
        .join(format!("{hash}.1600.w-{digest}.jpg"));
    assert_eq!(std::fs::read(public).unwrap(), served);
    let original = std::fs::read(objects.join(&hash)).unwrap();
    assert_eq!(
        original,
        std::fs::read(sd.join("荫田镇现场.png")).unwrap(),
        "the original is the imported file, byte for byte"
    );
    s.close().await;
}
