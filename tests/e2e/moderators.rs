//! E2E of a moderator laptop (审核) between two real app instances: the organiser's hub and a
//! media laptop paired over the peer listener. Before the grant the laptop's 评论审核 is
//! read-only; the hub grants 审核 (授予审核, shown as 审核员); a resident's comment reaches the
//! hub's own site; the laptop syncs and shows it with the number masked, approves it while the
//! hub is away (the card says 待上传), and once the hub is back and the laptop synced, the hub
//! shows the comment approved and its site serves it to residents.

use crate::harness::{free_port, Desktop, Session};
use crate::moderation::{comment, http, id_of};
use serde_json::json;
use std::time::{Duration, Instant};

/// Asks the laptop to exchange with the hub now (as 立即同步 does) until `css` appears.
async fn sync_until(s: &Session, css: &str) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if s.client.find(fantoccini::Locator::Css(css)).await.is_ok() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{css} did not appear after syncing"
        );
        let _ = s.invoke("sync_now", json!({})).await;
        s.pause_ms(1500).await;
    }
}

fn start_site(port: u16) -> serde_json::Value {
    json!({ "ip": "127.0.0.1", "port": port })
}

#[tokio::test]
#[ignore = "needs the embedded app build, Xvfb and tauri-driver; .ci/run runs it"]
async fn a_laptop_granted_moderation_approves_a_comment_the_hubs_site_took() {
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
    let code = hub.new_pairing_code().await;

    let laptop = laptop_desk.session().await;
    laptop
        .wait_for("[data-testid='township-row-430482001000']")
        .await;
    laptop.choose_role("media", "直播电脑一").await;
    laptop.pair_with_hub(&peer_port, &code).await;
    laptop
        .wait_for_text("[data-testid='stat-moderator']", "未授予")
        .await;
    // Without the grant, 评论审核 only shows, and says who can change that.
    laptop.click("[data-testid='nav-moderation']").await;
    laptop
        .wait_for_text("[data-testid='needs-grant']", "需组织方主机授予审核权限")
        .await;
    laptop.screenshot("47c-moderator-laptop-needs-grant").await;

    // The organiser grants 审核 to the media laptop.
    hub.wait_for_text("[data-testid='device-table']", "直播电脑一")
        .await;
    hub.click("[data-testid^='moderator-grant-']").await;
    hub.wait_for_text("[data-testid^='moderator-badge-']", "审核员")
        .await;
    hub.wait_for("[data-testid^='moderator-revoke-']").await;
    hub.screenshot("48-sync-hub-moderator-granted").await;

    // A resident comments on the hub's own site.
    let site_port = free_port();
    let started = hub.invoke("start_live_site", start_site(site_port)).await;
    assert!(started.get("ok").is_some(), "{started}");
    let (status, body) = http(
        site_port,
        "POST",
        "/api/comments",
        Some(&comment("建议在宜阳街道增设公交站,方便群众出行")),
    );
    assert_eq!(status, 201, "{body}");
    let id = id_of(&body);

    // The laptop learns the grant and receives the comment, the number masked.
    sync_until(&laptop, "[data-testid='moderator-laptop']").await;
    sync_until(&laptop, &format!("[data-testid='comment-{id}']")).await;
    laptop
        .wait_for_text(&format!("[data-testid='comment-{id}']"), "138****1234")
        .await;
    let card = laptop
        .text_content(&format!("[data-testid='comment-{id}']"))
        .await;
    assert!(
        !card.contains("13812341234"),
        "a laptop never sees the full number: {card}"
    );
    laptop
        .wait_for(&format!("[data-testid='approve-{id}']"))
        .await;
    laptop.screenshot("49-moderator-laptop-queue").await;

    // The hub goes away; the laptop approves offline: the decision waits to go out.
    hub.close().await;
    laptop.click(&format!("[data-testid='approve-{id}']")).await;
    laptop.click("[data-testid='send-approve']").await;
    laptop.click("[data-testid='mod-tab-approved']").await;
    laptop
        .wait_for_text(&format!("[data-testid='upload-pending-{id}']"), "待上传")
        .await;
    laptop
        .screenshot("50-moderator-laptop-pending-upload")
        .await;

    // The hub is back (same data folder, same port): the decision goes out.
    let hub = hub_desk.session().await;
    hub.click("[data-testid='nav-sync']").await;
    hub.wait_for_text("[data-testid='hub-url']", &format!(":{peer_port}"))
        .await;
    let deadline = Instant::now() + Duration::from_secs(90);
    while laptop
        .client
        .find(fantoccini::Locator::Css(&format!(
            "[data-testid='upload-pending-{id}']"
        )))
        .await
        .is_ok()
    {
        assert!(
            Instant::now() < deadline,
            "the decision did not reach the hub"
        );
        let _ = laptop.invoke("sync_now", json!({})).await;
        laptop.pause_ms(1500).await;
    }

    // The hub shows it approved, and its site serves it to residents.
    hub.click("[data-testid='nav-moderation']").await;
    hub.click("[data-testid='mod-tab-approved']").await;
    hub.wait_for_text(
        &format!("[data-testid='comment-{id}']"),
        "建议在宜阳街道增设公交站",
    )
    .await;
    hub.screenshot("51-hub-comment-approved-by-laptop").await;
    let site_port = free_port();
    let started = hub.invoke("start_live_site", start_site(site_port)).await;
    assert!(started.get("ok").is_some(), "{started}");
    let (status, public) = http(site_port, "GET", "/api/comments", None);
    assert_eq!(status, 200, "{public}");
    assert!(
        public.contains(&id),
        "the approved comment is public: {public}"
    );
    laptop.close().await;
    hub.close().await;
}
