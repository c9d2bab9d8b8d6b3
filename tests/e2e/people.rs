//! E2E of people and 背靠背 scoring in the real window: the organiser adds people in 人员; the
//! first PIN turns on 谁在操作; 张三 signs in and scores 宜阳街道 through the sheet; 切换用户
//! locks the window; 李四 cannot open 张三's sheet; the organiser seals the tally; the 监票人
//! sees the digest (and no ranking); the organiser reveals; the exported 汇总表 prints the digest
//! the 监票人 saw.

use crate::harness::{ok, Desktop};
use crate::scoring::{become_scorer, score_and_submit};
use serde_json::json;

const YIYANG: &str = "430482001000";

#[tokio::test]
#[ignore = "needs the embedded app build, Xvfb and tauri-driver; .ci/run runs it"]
async fn people_sign_in_score_back_to_back_and_the_reveal_matches_the_print() {
    let desktop = Desktop::start();
    let s = desktop.session().await;
    s.wait_for(&format!("[data-testid='township-row-{YIYANG}']"))
        .await;

    // Two scorers, 宜阳街道 open.
    let mut scorers = Vec::new();
    for name in ["张三", "李四"] {
        scorers.push(s.register_scorer(name).await);
    }
    let yiyang = s.township_id(YIYANG).await;
    ok(
        s.invoke(
            "set_scoring_open",
            json!({ "townshipId": yiyang, "open": true }),
        )
        .await,
        "set_scoring_open",
    );

    // 人员: the organiser adds themself in the window, then the others.
    s.click("[data-testid='nav-people']").await;
    s.click("[data-testid='people-add']").await;
    s.set_value("[data-testid='person-name']", "周主任").await;
    s.set_value("[data-testid='person-unit']", "市委督查室")
        .await;
    s.set_value("[data-testid='person-title']", "主任").await;
    s.click("[data-testid='person-role-organiser']").await;
    s.click("[data-testid='person-save']").await;
    s.wait_for_text("[data-testid='people-table']", "周主任")
        .await;
    let zhang = s.add_person("张三", &["scorer"], Some(&scorers[0])).await;
    let li = s.add_person("李四", &["scorer"], Some(&scorers[1])).await;
    let monitor = s.add_person("孙监票", &["monitor"], None).await;
    let people = ok(s.invoke("list_people", json!({})).await, "list_people");
    let boss = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["person"]["name"] == "周主任")
        .unwrap()["person"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Reload the list so the three added by command show too.
    s.click("[data-testid='nav-roster']").await;
    s.click("[data-testid='nav-people']").await;
    s.wait_for_text("[data-testid='people-table']", "孙监票")
        .await;
    s.screenshot("70-people").await;

    // The organiser types their PIN: from now on this computer asks who is working.
    s.click(&format!("[data-testid='person-set-pin-{boss}']"))
        .await;
    s.set_value("[data-testid='pin-new']", "205817").await;
    s.set_value("[data-testid='pin-confirm']", "205817").await;
    s.click("[data-testid='pin-save']").await;
    s.wait_for("[data-testid='signin-screen']").await;
    s.wait_for_text("[data-testid='signin-screen']", "孙监票")
        .await;
    s.screenshot("71-who-is-working").await;
    // A wrong PIN is refused with the tries left.
    s.click(&format!("[data-testid='signin-person-{boss}']"))
        .await;
    s.set_value("[data-testid='signin-pin']", "000000").await;
    s.click("[data-testid='signin-submit']").await;
    s.wait_for_text("[data-testid='signin-error']", "还可以再试 4 次")
        .await;
    s.click("[data-testid='signin-back']").await;
    s.sign_in_as(&boss, "205817").await;
    s.wait_for_text("[data-testid='session-person']", "周主任")
        .await;
    for (id, pin) in [(&zhang, "730164"), (&li, "730165"), (&monitor, "730167")] {
        ok(
            s.invoke("set_person_pin", json!({ "personId": id, "pin": pin }))
                .await,
            "set_person_pin",
        );
    }

    // 张三 scores 宜阳街道 through the sheet.
    s.sign_in_as(&zhang, "730164").await;
    s.wait_for_text("[data-testid='session-person']", "张三")
        .await;
    become_scorer(&s, "张三").await;
    score_and_submit(&s, "2").await;
    let sheet = ok(
        s.invoke(
            "open_sheet",
            json!({ "scorerId": scorers[0], "townshipId": yiyang }),
        )
        .await,
        "open_sheet",
    );
    let sheet_id = sheet["id"].as_str().unwrap().to_string();
    assert_eq!(sheet["status"], "submitted");
    // 张三 sees no ranking.
    let r = s.invoke("get_standings", json!({})).await;
    assert_eq!(r["err"]["code"], "forbidden", "{r}");

    // Locked: 李四 cannot open 张三's sheet, nor start one for 张三.
    s.sign_in_as(&li, "730165").await;
    let r = s.invoke("get_sheet", json!({ "sheetId": sheet_id })).await;
    assert_eq!(r["err"]["code"], "forbidden", "{r}");
    let r = s
        .invoke(
            "open_sheet",
            json!({ "scorerId": scorers[0], "townshipId": yiyang }),
        )
        .await;
    assert_eq!(r["err"]["code"], "forbidden", "{r}");

    // The organiser seals with a reason (李四 did not submit).
    s.sign_in_as(&boss, "205817").await;
    s.click("[data-testid='nav-ranking']").await;
    s.wait_for_text("[data-testid='tally-progress']", "已提交 1")
        .await;
    s.set_value("[data-testid='tally-reason']", "李四因公缺席,经组织方同意")
        .await;
    s.click("[data-testid='tally-seal']").await;
    s.wait_for("[data-testid='tally-digest']").await;
    let sealed: String = s
        .text_content("[data-testid='tally-digest']")
        .await
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(sealed.len(), 64, "a SHA-256 in hex: {sealed}");

    // The 监票人 sees the same digest, and no ranking before the reveal.
    s.sign_in_as(&monitor, "730167").await;
    s.click("[data-testid='nav-ranking']").await;
    s.wait_for("[data-testid='tally-digest']").await;
    let seen: String = s
        .text_content("[data-testid='tally-digest']")
        .await
        .chars()
        .filter(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(seen, sealed);
    let r = s.invoke("get_standings", json!({})).await;
    assert_eq!(r["err"]["code"], "forbidden", "{r}");
    s.screenshot("72-monitor-sees-the-digest").await;

    // The organiser reveals.
    s.sign_in_as(&boss, "205817").await;
    s.click("[data-testid='nav-ranking']").await;
    s.click("[data-testid='tally-reveal']").await;
    s.click("[data-testid='tally-reveal-confirm']").await;
    s.wait_for_text("[data-testid='tally-revealed']", "已揭晓")
        .await;
    s.screenshot("73-revealed").await;

    // The printed 汇总表 carries the digest the 监票人 saw.
    let out = desktop.tmp.path().join("观摩评比结果.xlsx");
    desktop.answer_dialog(&[out.as_path()]);
    s.click("[data-testid='export-results']").await;
    s.wait_for_text("div.notice", "已导出到").await;
    let cells = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, openpyxl\nws = openpyxl.load_workbook(sys.argv[1])['汇总表']\nprint('\\n'.join(str(c.value) for r in ws.iter_rows() for c in r if c.value is not None))",
        ])
        .arg(&out)
        .output()
        .expect("python3 with openpyxl (installed by .ci/setup)");
    assert!(
        cells.status.success(),
        "{}",
        String::from_utf8_lossy(&cells.stderr)
    );
    let cells = String::from_utf8_lossy(&cells.stdout);
    assert!(
        cells.contains(&format!("封存校验码(SHA-256,揭晓时由监票人核对):{seen}")),
        "the 汇总表 lacks the digest {seen}:\n{cells}"
    );
    assert!(cells.contains("导出:周主任"), "{cells}");
}
