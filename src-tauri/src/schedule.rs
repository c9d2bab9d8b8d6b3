//! The tour's dates (观摩日期) and scoring by the schedule (按日程): one thin command per IPC
//! call; the rules live in `guanmo_api::schedule` and `guanmo_domain::schedule`.

use crate::commands::{blocking, Res};
use guanmo_api::scoring::ScoringBoard;
use guanmo_domain::schedule::TourSettings;

/// The tour's settings (观摩日期).
#[tauri::command]
#[specta::specta]
pub async fn get_tour_settings(app: tauri::AppHandle) -> Res<TourSettings> {
    blocking(app, move |s| {
        guanmo_api::schedule::get_tour_settings(&s.ctx)
    })
    .await
}

/// Sets the tour's settings (组织方, on the hub).
#[tauri::command]
#[specta::specta]
pub async fn set_tour_settings(app: tauri::AppHandle, settings: TourSettings) -> Res<TourSettings> {
    blocking(app, move |s| {
        guanmo_api::schedule::set_tour_settings(&s.ctx, settings)
    })
    .await
}

/// Hands a township back to the schedule (按日程, 组织方).
#[tauri::command]
#[specta::specta]
pub async fn follow_schedule(app: tauri::AppHandle, township_id: String) -> Res<ScoringBoard> {
    blocking(app, move |s| {
        guanmo_api::schedule::follow_schedule(&s.ctx, &township_id)
    })
    .await
}
