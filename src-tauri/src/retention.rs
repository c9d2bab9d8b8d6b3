//! 保存期限 of residents' comment data: one thin command per IPC call; the rules (event end,
//! what is due, export before purge, batches) live in `guanmo_api::comments::retention`.

use crate::commands::{blocking, Res};
use guanmo_api::comments::retention::{self, PurgeOutcome, RetentionStatus};

/// The period, the date data becomes due, what a purge now would remove, and the purge log.
#[tauri::command]
#[specta::specta]
pub async fn get_retention_status(app: tauri::AppHandle) -> Res<RetentionStatus> {
    blocking(app, move |s| retention::retention_status(&s.ctx)).await
}

/// Sets the period in days (at least 180).
#[tauri::command]
#[specta::specta]
pub async fn set_retention_days(app: tauri::AppHandle, days: u32) -> Res<RetentionStatus> {
    blocking(app, move |s| retention::set_retention_days(&s.ctx, days)).await
}

/// 立即清理: writes the 评论记录 export, then purges what is due.
#[tauri::command]
#[specta::specta]
pub async fn purge_comments_now(app: tauri::AppHandle) -> Res<PurgeOutcome> {
    blocking(app, move |s| retention::purge_now(&s.ctx)).await
}
