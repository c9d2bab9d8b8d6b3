//! The tour's dates (观摩日期), scoring by the schedule (按日程) and photos against the
//! schedule (by stop, evidence taken outside its township's time): one thin command per IPC
//! call; the rules live in `guanmo_api::{schedule, tour_photos}` and `guanmo_domain`.

use crate::commands::{blocking, Res};
use guanmo_api::scoring::ScoringBoard;
use guanmo_api::tour_photos::{self, FlaggedSheet, StopDraft, StopPhotos};
use guanmo_domain::photos::PhotoInfo;
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

/// The photo library by stop, from each photo's capture time and the schedule.
#[tauri::command]
#[specta::specta]
pub async fn photos_by_stop(app: tauri::AppHandle) -> Res<Vec<StopPhotos>> {
    blocking(app, move |s| tour_photos::photos_by_stop(&s.ctx)).await
}

/// The sheets of a township whose evidence was taken outside its scheduled time.
#[tauri::command]
#[specta::specta]
pub async fn flagged_evidence(
    app: tauri::AppHandle,
    township_id: String,
) -> Res<Vec<FlaggedSheet>> {
    blocking(app, move |s| {
        tour_photos::flagged_evidence(&s.ctx, &township_id)
    })
    .await
}

/// Corrects the camera clock of an import's photos (seconds to add to the camera's time).
#[tauri::command]
#[specta::specta]
pub async fn set_camera_offset(
    app: tauri::AppHandle,
    hashes: Vec<String>,
    seconds: i32,
) -> Res<Vec<PhotoInfo>> {
    blocking(app, move |s| {
        tour_photos::set_camera_offset(&s.ctx, &hashes, seconds)
    })
    .await
}

/// The draft the composer offers for the stop the tour is at, if any.
#[tauri::command]
#[specta::specta]
pub async fn get_stop_draft(app: tauri::AppHandle) -> Res<Option<StopDraft>> {
    blocking(app, move |s| tour_photos::stop_draft(&s.ctx)).await
}
