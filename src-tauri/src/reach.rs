//! 传播数据 of the resident site: thin commands over `guanmo_sync::reach` (a paired media
//! laptop shows the hub's figures, any other device its own) and `guanmo_api::reach` (the
//! figures and the workbook; the counting lives in guanmo-web).

use crate::commands::{blocking, Res};
use guanmo_api::reach::{self, ReachReport};

/// Views, visitors, live readers, likes and comments per day, stop and post.
#[tauri::command]
#[specta::specta]
pub async fn get_reach_report(app: tauri::AppHandle) -> Res<ReachReport> {
    blocking(app, move |s| guanmo_sync::reach::view(&s.ctx)).await
}

/// Writes the 传播数据 workbook (按日, 按站, 按条, 说明) of the figures the view shows to the
/// path the save dialog granted.
#[tauri::command]
#[specta::specta]
pub async fn export_reach(app: tauri::AppHandle, path: String) -> Res<()> {
    blocking(app, move |s| {
        let path = s.picks.take_write(&path)?;
        reach::write_xlsx(&guanmo_sync::reach::view(&s.ctx)?, &path)
    })
    .await
}
