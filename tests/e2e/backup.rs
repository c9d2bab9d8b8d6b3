//! 一键备份 and 恢复 in the real window: a backup written to the file picked in the dialog, a
//! change made after it, the backup checked and staged, and at the next start the data as it was
//! when backed up, with the replaced data backed up beside the folder.

use crate::harness::{ok, Desktop};
use serde_json::json;

fn backups_beside(desktop: &Desktop, except: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for dir in [desktop.tmp.path().to_path_buf(), desktop.data_dir()] {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "gmbak") && p != except {
                found.push(p);
            }
        }
    }
    found
}

#[tokio::test]
#[ignore = "needs the embedded app build, Xvfb and tauri-driver; .ci/run runs it"]
async fn a_backup_restored_at_the_next_start_brings_back_the_data_as_it_was() {
    let desktop = Desktop::start();
    let s = desktop.session().await;
    s.wait_for("[data-testid='township-row-430482001000']")
        .await;
    let kept = s.register_scorer("张三").await;

    // 一键备份 to the file picked in the save dialog.
    s.click("[data-testid='nav-settings']").await;
    s.wait_for("[data-testid='backup-panel']").await;
    let file = desktop.tmp.path().join("观摩备份.gmbak");
    desktop.answer_dialog(&[file.as_path()]);
    s.click("[data-testid='backup-now']").await;
    s.wait_for_text("[data-testid='backup-panel'] [role='status']", "已备份到")
        .await;
    s.screenshot("95-backup-done").await;
    assert!(file.metadata().unwrap().len() > 10_000, "a whole backup");

    // A change after the backup, which the restore takes back.
    let later = s.register_scorer("李四").await;
    let names = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_string())
            .collect()
    };
    let now = ok(s.invoke("list_scorers", json!({})).await, "list_scorers");
    assert_eq!(names(&now), [kept.clone(), later.clone()]);

    // 从备份恢复: picked, confirmed, checked and staged for the next start.
    desktop.answer_dialog(&[file.as_path()]);
    s.click("[data-testid='restore-choose']").await;
    s.wait_for("[data-testid='restore-confirm']").await;
    s.screenshot("96-restore-confirm").await;
    s.click("[data-testid='restore-confirm-yes']").await;
    s.wait_for_text("[data-testid='restore-staged']", "备份已检查无误")
        .await;
    s.screenshot("97-restore-staged").await;
    s.close().await;

    // The next start puts the backup in place: the scorer added after it is gone.
    let s = desktop.session().await;
    s.wait_for("[data-testid='township-row-430482001000']")
        .await;
    let after = ok(s.invoke("list_scorers", json!({})).await, "list_scorers");
    assert_eq!(names(&after), [kept]);
    assert_eq!(
        backups_beside(&desktop, &file).len(),
        1,
        "the replaced data was backed up first"
    );
    s.close().await;
}
