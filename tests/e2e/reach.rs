//! 传播数据 in the real window: the resident site runs from the app, five phones take their
//! cookie from the comment area and report two page loads each showing a post, and the
//! 图文直播 › 传播数据 view shows what they did (after the site's next write of its counts),
//! with the workbook written to the file picked in the save dialog.

use crate::harness::{ok, Desktop};
use serde_json::json;
use std::io::{Read, Write};

/// One HTTP/1.1 request as a phone sends it: status, the `gm_id` cookie it was given (if
/// any) and the body.
fn http(
    port: u16,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: &str,
) -> (u16, Option<String>, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let cookie = cookie
        .map(|c| format!("Cookie: {c}\r\n"))
        .unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n{cookie}\
         Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text[9..12].parse().unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let set = head
        .lines()
        .filter_map(|l| {
            l.strip_prefix("set-cookie: ")
                .or_else(|| l.strip_prefix("Set-Cookie: "))
        })
        .find_map(|v| v.split(';').next().filter(|kv| kv.starts_with("gm_id=")))
        .map(str::to_string);
    (status, set, body.to_string())
}

#[tokio::test]
#[ignore = "needs the embedded app build, Xvfb and tauri-driver; .ci/run runs it"]
async fn the_reach_view_shows_what_phones_did_and_exports_it() {
    let desktop = Desktop::start();
    let s = desktop.session().await;
    s.wait_for("[data-testid='township-row-430482001000']")
        .await;
    let draft = ok(
        s.invoke(
            "create_draft",
            json!({ "input": { "stop_label": null, "township_id": null,
                "body": "观摩团走进宜阳街道,群众纷纷点赞。", "photos": [], "credit": "记者 李明 摄" } }),
        )
        .await,
        "create_draft",
    );
    let post = ok(
        s.invoke(
            "publish_post",
            json!({ "id": draft["id"], "expectedVersion": draft["version"] }),
        )
        .await,
        "publish_post",
    );
    let id = post["id"].as_str().unwrap().to_string();
    let port = crate::harness::free_port();
    let started = s
        .invoke(
            "start_live_site",
            json!({ "ip": "127.0.0.1", "port": port }),
        )
        .await;
    assert!(started.get("ok").is_some(), "{started}");

    // Five phones: each gets its cookie from /api/me, then opens the page twice.
    for _ in 0..5 {
        let (status, cookie, _) = http(port, "GET", "/api/me", None, "");
        assert_eq!(status, 200);
        let cookie = cookie.expect("the comment area gives a phone its cookie");
        for _ in 0..2 {
            let body = json!({ "page": true, "posts": [id] }).to_string();
            let (status, set, _) = http(port, "POST", "/api/seen", Some(&cookie), &body);
            assert_eq!(status, 204);
            assert!(set.is_none(), "counting sets no cookie");
        }
    }

    s.click("[data-testid='nav-feed']").await;
    s.click("[data-testid='feed-tab-reach']").await;
    s.wait_for("[data-testid='reach-view']").await;
    // The site writes its counts every 10 s: refresh until they are there.
    let mut shown = String::new();
    for _ in 0..30 {
        s.click("[data-testid='reach-refresh']").await;
        s.pause_ms(700).await;
        shown = s.text_content("[data-testid='reach-total']").await;
        if shown.contains("10浏览量") || shown.contains("10 浏览量") {
            break;
        }
    }
    let compact: String = shown.split_whitespace().collect();
    assert!(compact.contains("10浏览量"), "{shown}");
    assert!(compact.contains("5访客数"), "{shown}");
    s.wait_for_content("[data-testid='reach-posts']", "宜阳街道")
        .await;
    // Counted by this computer's own site (it is no paired media laptop).
    s.wait_for_content("[data-testid='reach-source']", "本机的直播网站")
        .await;
    s.screenshot("98-reach-view").await;

    let file = desktop.tmp.path().join("传播数据.xlsx");
    desktop.answer_dialog(&[file.as_path()]);
    s.click("[data-testid='reach-export']").await;
    s.wait_for_text("[data-testid='reach-view'] [role='status']", "已导出到")
        .await;
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(&bytes[..2], b"PK", "an XLSX (zip) file");
    s.close().await;
}
