//! E2E of 审核流程 in the real window: the organiser sets two levels with names printed; a
//! draft is submitted for review; the 审核 tab shows it in the 审核队列 with its preview (a
//! screenshot), 通过 publishes it, and the post list shows its status word and 责任编辑.

use crate::harness::{ok, Desktop};
use serde_json::json;

#[tokio::test]
#[ignore = "needs the embedded app build, Xvfb and tauri-driver; .ci/run runs it"]
async fn a_submitted_post_waits_in_the_queue_and_its_approval_publishes_it() {
    let desktop = Desktop::start();
    let s = desktop.session().await;
    s.wait_for("[data-testid='township-row-430482001000']")
        .await;
    // On a device where no one signs in, the organiser's own window does every level.
    ok(
        s.invoke(
            "set_signoff_settings",
            json!({ "settings": { "levels": 2, "print_footer": true } }),
        )
        .await,
        "set_signoff_settings",
    );
    let draft = ok(
        s.invoke(
            "create_draft",
            json!({ "input": {
                "stop_label": "【第8站·荫田镇】", "township_id": null,
                "body": "上午10时,观摩团来到荫田镇,实地察看村集体经济项目。\n镇党委书记作现场汇报。",
                "photos": [], "credit": "记者 王明 摄",
            }}),
        )
        .await,
        "create_draft",
    );
    let id = draft["id"].as_str().unwrap().to_string();
    let submitted = ok(
        s.invoke(
            "signoff_post",
            json!({ "id": id, "action": "submit", "expectedVersion": 1, "reason": "" }),
        )
        .await,
        "signoff_post",
    );
    assert_eq!(submitted["status"], "pending");

    s.click("[data-testid='nav-feed']").await;
    s.wait_for_text(&format!("[data-testid='post-status-{id}']"), "待二审")
        .await;
    s.click("[data-testid='feed-tab-signoff']").await;
    s.wait_for(&format!("[data-testid='signoff-item-{id}']"))
        .await;
    s.wait_for_text("[data-testid='signoff-count']", "1").await;
    s.screenshot("70-signoff-queue").await;

    // 退回 needs a reason: the dialog's button stays off until one is typed.
    s.click(&format!("[data-testid='signoff-return-{id}']"))
        .await;
    s.wait_for("[data-testid='return-dialog']").await;
    s.screenshot("71-signoff-return-dialog").await;
    s.click("[data-testid='return-dialog'] button:not(.primary)")
        .await;
    s.wait_for_gone("[data-testid='return-dialog']").await;

    s.click(&format!("[data-testid='signoff-approve-{id}']"))
        .await;
    s.wait_for("[data-testid='signoff-empty']").await;
    s.click("[data-testid='feed-tab-compose']").await;
    s.wait_for_text(&format!("[data-testid='post-status-{id}']"), "已发布")
        .await;
    s.wait_for_text(
        &format!("[data-testid='post-row-{id}']"),
        "责任编辑：组织方",
    )
    .await;
    s.click(&format!("[data-testid='post-history-{id}']")).await;
    s.wait_for_text("[data-testid='history-dialog']", "提交审核")
        .await;
    s.screenshot("72-signoff-history").await;
    s.close().await;
}
