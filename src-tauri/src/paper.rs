//! Paper score sheets entered twice (双人录入): one thin command per IPC call; the rules live
//! in `guanmo_api::paper` and `guanmo_domain::paper`.

use crate::commands::{blocking, Res};
use guanmo_api::paper::{PaperMismatches, PaperSettlement, PaperSheetStatus};
use guanmo_domain::paper::PaperInput;

/// Every scorer × township with where its paper sheet stands (never an entry's values).
#[tauri::command]
#[specta::specta]
pub async fn list_paper_sheets(app: tauri::AppHandle) -> Res<Vec<PaperSheetStatus>> {
    blocking(app, move |s| guanmo_api::paper::list_paper_sheets(&s.ctx)).await
}

/// Enters one round (1 or 2) of a paper sheet as the person signed in.
#[tauri::command]
#[specta::specta]
pub async fn enter_paper_sheet(
    app: tauri::AppHandle,
    scorer_id: String,
    township_id: String,
    round: i32,
    input: PaperInput,
) -> Res<PaperSheetStatus> {
    blocking(app, move |s| {
        guanmo_api::paper::enter_paper_sheet(&s.ctx, &scorer_id, &township_id, round, input)
    })
    .await
}

/// The differences between the two rounds (once both exist).
#[tauri::command]
#[specta::specta]
pub async fn paper_mismatches(
    app: tauri::AppHandle,
    scorer_id: String,
    township_id: String,
) -> Res<PaperMismatches> {
    blocking(app, move |s| {
        guanmo_api::paper::paper_mismatches(&s.ctx, &scorer_id, &township_id)
    })
    .await
}

/// Re-enters mismatched items against the paper, then compares again.
#[tauri::command]
#[specta::specta]
pub async fn settle_paper_sheet(
    app: tauri::AppHandle,
    scorer_id: String,
    township_id: String,
    settlement: PaperSettlement,
) -> Res<PaperMismatches> {
    blocking(app, move |s| {
        guanmo_api::paper::settle_paper_sheet(&s.ctx, &scorer_id, &township_id, settlement)
    })
    .await
}

/// Discards one round's entry with a reason (组织方).
#[tauri::command]
#[specta::specta]
pub async fn discard_paper_entry(
    app: tauri::AppHandle,
    scorer_id: String,
    township_id: String,
    round: i32,
    reason: String,
) -> Res<PaperSheetStatus> {
    blocking(app, move |s| {
        guanmo_api::paper::discard_paper_entry(&s.ctx, &scorer_id, &township_id, round, reason)
    })
    .await
}

/// Attaches the scan or photo (an imported photo's hash) of the paper sheet.
#[tauri::command]
#[specta::specta]
pub async fn attach_paper_scan(
    app: tauri::AppHandle,
    scorer_id: String,
    township_id: String,
    hash: String,
) -> Res<PaperSheetStatus> {
    blocking(app, move |s| {
        guanmo_api::paper::attach_paper_scan(&s.ctx, &scorer_id, &township_id, &hash)
    })
    .await
}
