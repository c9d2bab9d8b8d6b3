//! 台标 (the outlet's logo on the photos residents see): thin commands over
//! `guanmo_api::photos::watermark`; the rules (a real PNG, the ranges, the digest public copies
//! are cached under) live there. The preview is served by the `guanmo-media://` scheme
//! (`<hash>/<320|1600>/public`, see `photos.rs`), never sent over IPC.

use crate::commands::{blocking, Res};
use guanmo_api::photos::watermark::{self, WatermarkPlacement, WatermarkSettings};

/// This device's 台标: on or off, where, and the logo chosen.
#[tauri::command]
#[specta::specta]
pub async fn get_watermark(app: tauri::AppHandle) -> Res<WatermarkSettings> {
    blocking(app, move |s| watermark::get_watermark(&s.ctx)).await
}

/// Makes the PNG picked in the open dialog the 台标 (checked first; a refused file changes
/// nothing) and switches it on.
#[tauri::command]
#[specta::specta]
pub async fn set_watermark_logo(app: tauri::AppHandle, path: String) -> Res<WatermarkSettings> {
    blocking(app, move |s| {
        let path = s.picks.take_read(&path)?;
        watermark::set_watermark_logo(&s.ctx, &path)
    })
    .await
}

/// Switches 台标 on or off and sets its corner, size, opacity and margin.
#[tauri::command]
#[specta::specta]
pub async fn set_watermark_placement(
    app: tauri::AppHandle,
    placement: WatermarkPlacement,
) -> Res<WatermarkSettings> {
    blocking(app, move |s| {
        watermark::set_watermark_placement(&s.ctx, placement)
    })
    .await
}

/// Removes the logo: public copies carry none from now on.
#[tauri::command]
#[specta::specta]
pub async fn clear_watermark_logo(app: tauri::AppHandle) -> Res<WatermarkSettings> {
    blocking(app, move |s| watermark::clear_watermark_logo(&s.ctx)).await
}
