//! E2E of photos and the live feed in the real window: import a folder of fixtures (three
//! photos, a HEIC and an HTML file named .jpg), see the thumbnails and the skipped-file
//! report; compose a post with two photos, publish it, see it in the phone preview; start
//! the resident site on 127.0.0.1 and find the post and its photos on the public page.

use crate::harness::Desktop;
use std::io::{Read, Write};
use std::path::Path;

fn png(path: &Path, shade: u8) {
    let img = image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([shade, (x % 256) as u8, (y % 256) as u8])
    });
    image::DynamicImage::ImageRgb8(img).save(path).unwrap();
}

/// A plain HTTP/1.1 GET, as a phone would send it; returns status line + headers and body.
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

#[tokio::test]
#[ignore = "needs the embedded app build, Xvfb and tauri-driver; .ci/run runs it"]
async fn photos_import_and_a_post_with_two_photos_reaches_the_public_page() {
    let desktop = Desktop::start();
    let sd = desktop.tmp.path().join("sd");
    std::fs::create_dir_all(&sd).unwrap();
    png(&sd.join("现场1.png"), 40);
    png(&sd.join("现场2.png"), 120);
    png(&sd.join("现场3.png"), 200);
    std::fs::write(
        sd.join("IMG_0012.HEIC"),
        b"\0\0\0\x18ftypheic\0\0\0\0mif1heic",
    )
    .unwrap();
    std::fs::write(
        sd.join("坏照片.jpg"),
        b"<html><body>not a photo</body></html>",
    )
    .unwrap();

    let s = desktop.session().await;
    s.wait_for("[data-testid='township-row-430482001000']")
        .await;
    s.click("[data-testid='nav-feed']").await;
    s.click("[data-testid='feed-tab-photos']").await;
    // The gallery listens for import events once mounted; give its listeners a moment.
    s.wait_for("[data-testid='photo-import-files']").await;
    s.pause_ms(1000).await;

    // A path the person did not pick in a dialog is refused, whoever names it.
    let listed = s
        .invoke("list_folder_images", serde_json::json!({ "dir": sd }))
        .await;
    assert_eq!(listed["err"]["code"], "not_picked", "{listed}");
    // 导入文件夹: the person picks the SD card's folder in the dialog.
    desktop.answer_dialog(&[sd.as_path()]);
    s.click("[data-testid='photo-import-folder']").await;
    s.wait_for_text("[data-testid='photo-skip-report']", "HEIC")
        .await;
    s.wait_for_text("[data-testid='photo-skip-report']", "坏照片.jpg")
        .await;
    let thumbs = s
        .client
        .find_all(fantoccini::Locator::Css("img[data-testid^='photo-thumb-']"))
        .await
        .unwrap();
    assert_eq!(thumbs.len(), 3, "three photos imported, two files skipped");
    s.screenshot("20-photos-imported").await;

    // Compose a post with two photos and publish it.
    s.click("[data-testid='feed-tab-compose']").await;
    s.set_value(
        "[data-testid='post-body']",
        "观摩团走进水口山镇,实地察看铅锌矿工业遗址保护利用情况。",
    )
    .await;
    s.click("[data-testid='post-add-photos']").await;
    s.wait_for("[data-testid='photo-picker']").await;
    let picks = s
        .client
        .find_all(fantoccini::Locator::Css("[data-testid^='pick-photo-']"))
        .await
        .unwrap();
    assert!(picks.len() >= 2);
    picks[0].click().await.unwrap();
    picks[1].click().await.unwrap();
    s.click("[data-testid='photo-picker-confirm']").await;
    s.wait_for("[data-testid='post-photo-1']").await;
    s.wait_for_text("[data-testid='post-preview']", "铅锌矿工业遗址")
        .await;
    s.screenshot("21-composer-with-preview").await;
    s.click("[data-testid='post-publish']").await;
    s.wait_for_text("[data-testid^='post-row-']", "已发布")
        .await;

    // Start the resident site on loopback and read the public page like a phone.
    s.click("[data-testid='feed-tab-site']").await;
    s.select_by_text("[data-testid='site-interface']", "127.0.0.1")
        .await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    s.set_value("[data-testid='site-port']", &port.to_string())
        .await;
    s.click("[data-testid='site-start']").await;
    s.wait_for_text(
        "[data-testid='site-url']",
        &format!("http://127.0.0.1:{port}/"),
    )
    .await;
    s.wait_for("[data-testid='site-qr'] svg").await;
    s.screenshot("22-live-site").await;

    let (head, body) = get(port, "/");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let page = String::from_utf8(body).unwrap();
    assert!(
        page.contains("铅锌矿工业遗址"),
        "the post is on the public page"
    );
    let photos: Vec<&str> = page
        .match_indices("/media/")
        .map(|(i, _)| &page[i + 7..i + 7 + 64])
        .collect();
    assert!(photos.len() >= 2, "two photos on the page: {photos:?}");
    let (head, jpeg) = get(port, &format!("/media/{}/1600.jpg", photos[0]));
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "a JPEG web copy");

    // 直播网站设置: a new title and refresh interval; saving restarts the running site on
    // the same address, and phones get the new page.
    s.set_value(
        "[data-testid='site-title']",
        "常宁市乡镇(街道)工作现场观摩会",
    )
    .await;
    s.set_value("[data-testid='site-poll']", "30").await;
    s.click("[data-testid='site-settings-save']").await;
    s.wait_for_text(
        "[data-testid='site-settings'] [role='status']",
        "已按新设置重新启动",
    )
    .await;
    s.client
        .execute(
            "document.querySelector(\"[data-testid='site-settings']\").scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
    s.screenshot("23-site-settings").await;
    let (head, body) = get(port, "/");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let page = String::from_utf8(body).unwrap();
    assert!(
        page.contains("<title>常宁市乡镇(街道)工作现场观摩会"),
        "the restarted site uses the new title"
    );
    assert!(page.contains("data-poll=\"30\""), "and the new interval");

    // The static export (after its folder dialog) writes a site any web server can serve.
    let out = desktop.tmp.path().join("static-site");
    std::fs::create_dir_all(&out).unwrap();
    desktop.answer_dialog(&[out.as_path()]);
    s.click("[data-testid='site-export-static']").await;
    let index = out.join("index.html");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !index.exists() {
        assert!(std::time::Instant::now() < deadline, "no static export");
        s.pause_ms(200).await;
    }
    s.pause_ms(500).await;
    let index = std::fs::read_to_string(index).unwrap();
    assert!(index.contains("铅锌矿工业遗址"));

    s.click("[data-testid='site-stop']").await;
    s.close().await;
}
