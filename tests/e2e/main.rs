//! End-to-end test of the real desktop binary: tauri-driver + WebKitWebDriver under Xvfb,
//! on an empty temp data folder. Run by `.ci/run` after the embedded build
//! (`npx tauri build --debug --no-bundle`); screenshots go to `test-output/e2e/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backup;
mod bigscreen;
mod feed;
mod harness;
mod moderation;
mod moderators;
mod paper;
mod people;
mod publish;
mod reach;
mod scoring;
mod signoff;
mod sync;
mod watermark;

use fantoccini::Locator;
use harness::{Desktop, Session};

/// The 22 townships of 常宁市 in the default visit order, then the disabled 23rd unit.
const DEFAULT_ORDER: [(&str, &str); 23] = [
    ("430482001000", "宜阳街道"),
    ("430482002000", "泉峰街道"),
    ("430482003000", "培元街道"),
    ("430482005000", "曲潭街道"),
    ("430482101000", "柏坊镇"),
    ("430482102000", "水口山镇"),
    ("430482103000", "烟洲镇"),
    ("430482104000", "荫田镇"),
    ("430482105000", "白沙镇"),
    ("430482106000", "西岭镇"),
    ("430482108000", "三角塘镇"),
    ("430482109000", "洋泉镇"),
    ("430482110000", "庙前镇"),
    ("430482111000", "罗桥镇"),
    ("430482112000", "板桥镇"),
    ("430482113000", "胜桥镇"),
    ("430482114000", "官岭镇"),
    ("430482115000", "新河镇"),
    ("430482201000", "蓬塘乡"),
    ("430482202000", "兰江乡"),
    ("430482203000", "大堡乡"),
    ("430482206000", "塔山瑶族乡"),
    ("430482006000", "天堂山街道"),
];

async fn row_codes(s: &Session) -> Vec<String> {
    let rows = s
        .client
        .find_all(Locator::Css("[data-testid^='township-row-']"))
        .await
        .unwrap();
    let mut codes = Vec::new();
    for r in rows {
        let id = r.attr("data-testid").await.unwrap().unwrap();
        codes.push(id.trim_start_matches("township-row-").to_string());
    }
    codes
}

#[tokio::test]
#[ignore = "needs the embedded app build, Xvfb and tauri-driver; .ci/run runs it"]
async fn an_edited_arrival_time_survives_a_restart() {
    let desktop = Desktop::start();
    let target = "430482102000"; // 水口山镇

    // First start on an empty data folder: the default roster, in order.
    let s = desktop.session().await;
    let url = s.client.current_url().await.unwrap();
    assert_eq!(
        url.scheme(),
        "tauri",
        "the window must load the embedded UI, not a dev URL: {url}"
    );
    s.wait_for(&format!("[data-testid='township-row-{target}']"))
        .await;
    let codes = row_codes(&s).await;
    let expected: Vec<&str> = DEFAULT_ORDER.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        codes, expected,
        "the 23 units must be listed in the default visit order"
    );
    let body = s
        .client
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (_, name) in DEFAULT_ORDER {
        assert!(body.contains(name), "{name} should be shown");
    }
    assert!(
        body.contains("已停用"),
        "天堂山街道 should be shown as disabled"
    );
    s.screenshot("01-roster-first-start").await;

    // Change 水口山镇's planned arrival.
    s.click(&format!("[data-testid='edit-{target}']")).await;
    let field = s.wait_for("[data-testid='field-arrival']").await;
    field.clear().await.unwrap();
    field.send_keys("09:40").await.unwrap();
    s.screenshot("02-edit-arrival").await;
    s.click("[data-testid='save-township']").await;
    s.wait_for_text(&format!("[data-testid='arrival-{target}']"), "09:40")
        .await;
    s.screenshot("03-arrival-saved").await;

    // The rubric editor and the settings view, for the record.
    s.click("[data-testid='nav-scoring']").await;
    s.pause_ms(500).await;
    if let Ok(tab) = s
        .client
        .find(Locator::Css("[data-testid='scoring-tab-rubric']"))
        .await
    {
        tab.click().await.unwrap();
    }
    s.wait_for("[data-testid='rubric-total-status']").await;
    s.screenshot("04-rubric-editor").await;
    // 街道组 gets its own rubric (a copy of the shared one to start); its townships are
    // scored on it from then on, the others keep the shared one.
    s.click("[data-testid='rubric-group-街道组']").await;
    s.wait_for("[data-testid='rubric-group-uses-shared']").await;
    s.click("[data-testid='rubric-group-start']").await;
    s.wait_for("[data-testid='rubric-title']").await;
    s.pause_ms(600).await; // the editor validates 300 ms after the last change
    s.click("[data-testid='rubric-save']").await;
    s.wait_for("[data-testid='rubric-group-own']").await;
    s.wait_for_text("[data-testid='rubric-group-街道组']", "本组标准")
        .await;
    s.screenshot("04b-group-rubric").await;
    let rubrics = harness::ok(
        s.invoke("list_rubrics", serde_json::json!({})).await,
        "list_rubrics",
    );
    let groups: Vec<&str> = rubrics
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["eval_group"].as_str().unwrap())
        .collect();
    assert_eq!(groups, ["", "街道组"]);
    s.click("[data-testid='nav-settings']").await;
    let v = s.wait_for("[data-testid='sqlite-version']").await;
    s.wait_for_text("[data-testid='sqlite-version']", "3.")
        .await;
    assert!(v.text().await.unwrap().starts_with("3."));
    s.screenshot("05-settings").await;
    s.close().await;

    // Restart the app on the same data folder: the change is still there.
    let s = desktop.session().await;
    s.wait_for_text(&format!("[data-testid='arrival-{target}']"), "09:40")
        .await;
    assert_eq!(row_codes(&s).await, expected);
    s.screenshot("06-after-restart").await;
    s.close().await;
}
