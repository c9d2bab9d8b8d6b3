//! E2E of publishing from a 直播电脑 paired with the organiser's hub, two real app instances:
//! the organiser sets 原图上传 to 仅U盘 on the hub; the laptop pairs, learns the setting, imports
//! two photos and publishes a post with them; its post list shows the post's way to the hub
//! until 已上线, the composer says so, and the hub's own feed lists the post with both
//! photos shown from the 1600 px copies the laptop sent (no original crossed the network).

use crate::harness::{free_port, Desktop};
use std::path::Path;

fn png(path: &Path, shade: u8) {
    let img = image::RgbImage::from_fn(2000, 1500, |x, y| {
        image::Rgb([shade, (x / 8) as u8, (y / 6) as u8])
    });
    img.save(path).unwrap();
}

#[tokio::test]
#[ignore = "needs the embedded app build, Xvfb and tauri-driver; .ci/run runs it"]
async fn a_post_from_a_media_laptop_goes_live_with_its_copies_and_says_so() {
    let peer_port = free_port().to_string();
    let env = [("GUANMO_PEER_PORT", peer_port.clone())];
    let hub_desk = Desktop::start_with_env(&env);
    let laptop_desk = Desktop::beside(&hub_desk, &env);

    let hub = hub_desk.session().await;
    hub.wait_for("[data-testid='township-row-430482001000']")
        .await;
    hub.choose_role("hub", "组织方主机").await;
    hub.wait_for_text("[data-testid='hub-url']", &format!(":{peer_port}"))
        .await;
    hub.click("[data-testid='originals-usb_only']").await;
    hub.wait_for_text("[data-testid='originals-setting']", "已设为“仅U盘”")
        .await;
    hub.screenshot("60-hub-originals-setting").await;
    let code = hub.new_pairing_code().await;

    let laptop = laptop_desk.session().await;
    laptop
        .wait_for("[data-testid='township-row-430482001000']")
        .await;
    laptop.choose_role("media", "直播电脑").await;
    laptop.pair_with_hub(&peer_port, &code).await;
    laptop
        .wait_for_text("[data-testid='stat-originals']", "仅U盘")
        .await;

    // Two photos into 照片库, then a post with both.
    let sd = laptop_desk.tmp.path().join("sd");
    std::fs::create_dir_all(&sd).unwrap();
    png(&sd.join("现场1.png"), 60);
    png(&sd.join("现场2.png"), 180);
    laptop.click("[data-testid='nav-feed']").await;
    laptop.click("[data-testid='feed-tab-photos']").await;
    laptop.wait_for("[data-testid='photo-import-folder']").await;
    laptop.pause_ms(1000).await;
    laptop_desk.answer_dialog(&[sd.as_path()]);
    laptop.click("[data-testid='photo-import-folder']").await;
    // Both photos in the library before composing (the import lands one photo at a time; the
    // picker lists what is there when it opens).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let thumbs = laptop
            .client
            .find_all(fantoccini::Locator::Css("img[data-testid^='photo-thumb-']"))
            .await
            .unwrap()
            .len();
        if thumbs >= 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the library shows {thumbs} of the 2 photos imported"
        );
        laptop.pause_ms(200).await;
    }
    laptop.click("[data-testid='feed-tab-compose']").await;
    laptop
        .set_value(
            "[data-testid='post-body']",
            "观摩团来到水口山镇产业园区,现场察看项目建设。",
        )
        .await;
    laptop.click("[data-testid='post-add-photos']").await;
    laptop.wait_for("[data-testid='photo-picker']").await;
    let picks = laptop
        .client
        .find_all(fantoccini::Locator::Css("[data-testid^='pick-photo-']"))
        .await
        .unwrap();
    assert_eq!(picks.len(), 2);
    picks[0].click().await.unwrap();
    picks[1].click().await.unwrap();
    laptop.click("[data-testid='photo-picker-confirm']").await;
    laptop.wait_for("[data-testid='post-photo-1']").await;
    laptop.click("[data-testid='post-publish']").await;
    laptop
        .wait_for_text("[data-testid='feed-notice']", "已发布")
        .await;
    // Automatic sync carries it within seconds; the row and the notice say it is live.
    laptop
        .wait_for_text("[data-testid^='post-upload-']", "已上线")
        .await;
    laptop
        .wait_for_text("[data-testid='feed-notice']", "直播页面可见")
        .await;
    laptop.screenshot("61-laptop-post-live").await;

    // The hub lists it as published, its photos shown from the copies: no original came.
    hub.click("[data-testid='nav-feed']").await;
    hub.wait_for_text("[data-testid^='post-row-']", "产业园区")
        .await;
    let posts = hub.invoke("list_posts", serde_json::json!({})).await;
    let photos = posts["ok"][0]["photos"].as_array().unwrap().clone();
    assert_eq!(photos.len(), 2, "{posts}");
    let hub_data = hub_desk.data_dir();
    for h in &photos {
        let h = h.as_str().unwrap();
        let dir = hub_data.join("objects").join(&h[0..2]).join(&h[2..4]);
        assert!(dir.join(format!("{h}.1600.jpg")).is_file(), "{h}: copy");
        assert!(dir.join(format!("{h}.320.jpg")).is_file(), "{h}: thumbnail");
        assert!(!dir.join(h).exists(), "{h}: no original over the network");
    }
    hub.screenshot("62-hub-feed-with-the-laptops-post").await;
    // The laptop says how many originals wait for a USB bundle.
    laptop.click("[data-testid='nav-sync']").await;
    laptop
        .wait_for_text("[data-testid='stat-originals']", "待传 2")
        .await;
    laptop.screenshot("63-laptop-originals-waiting").await;
}
