//! Results per 评比组 (组织方加减分, 平时考核, bands): one thin command per IPC call; the rules
//! live in `guanmo_api::results`.

use crate::commands::{blocking, Res};
use guanmo_api::results::{AdjustmentInput, RoutineImportReport};
use guanmo_domain::results::{GroupedResults, OrganiserAdjustment, ResultsSettings};
use guanmo_domain::roster::Township;

/// The ranking per 评比组 with organiser adjustments, the blend and the bands.
#[tauri::command]
#[specta::specta]
pub async fn get_results(app: tauri::AppHandle) -> Res<GroupedResults> {
    blocking(app, move |s| guanmo_api::results::get_results(&s.ctx)).await
}

/// Groups, bands and blend weights in force.
#[tauri::command]
#[specta::specta]
pub async fn get_results_settings(app: tauri::AppHandle) -> Res<ResultsSettings> {
    blocking(app, move |s| {
        guanmo_api::results::get_results_settings(&s.ctx)
    })
    .await
}

/// Sets groups, bands and blend weights, if valid.
#[tauri::command]
#[specta::specta]
pub async fn set_results_settings(
    app: tauri::AppHandle,
    settings: ResultsSettings,
) -> Res<ResultsSettings> {
    blocking(app, move |s| {
        guanmo_api::results::set_results_settings(&s.ctx, settings)
    })
    .await
}

/// Puts a township in a 评比组 (blank: the default from its kind).
#[tauri::command]
#[specta::specta]
pub async fn set_township_group(
    app: tauri::AppHandle,
    township_id: String,
    group: String,
) -> Res<Township> {
    blocking(app, move |s| {
        guanmo_api::results::set_township_group(&s.ctx, &township_id, group)
    })
    .await
}

/// Every organiser adjustment, removed ones too.
#[tauri::command]
#[specta::specta]
pub async fn list_organiser_adjustments(app: tauri::AppHandle) -> Res<Vec<OrganiserAdjustment>> {
    blocking(app, move |s| {
        guanmo_api::results::list_organiser_adjustments(&s.ctx)
    })
    .await
}

/// Enters a 组织方加减分 with its 依据.
#[tauri::command]
#[specta::specta]
pub async fn add_organiser_adjustment(
    app: tauri::AppHandle,
    input: AdjustmentInput,
) -> Res<OrganiserAdjustment> {
    blocking(app, move |s| {
        guanmo_api::results::add_organiser_adjustment(&s.ctx, input)
    })
    .await
}

/// Removes a 组织方加减分 with a reason (the record stays).
#[tauri::command]
#[specta::specta]
pub async fn remove_organiser_adjustment(
    app: tauri::AppHandle,
    id: String,
    reason: String,
) -> Res<OrganiserAdjustment> {
    blocking(app, move |s| {
        guanmo_api::results::remove_organiser_adjustment(&s.ctx, &id, reason)
    })
    .await
}

/// Imports 平时考核 scores from a CSV/XLSX file picked in the open dialog (GBK too).
#[tauri::command]
#[specta::specta]
pub async fn import_routine_scores(
    app: tauri::AppHandle,
    path: String,
) -> Res<RoutineImportReport> {
    blocking(app, move |s| {
        let path = s.picks.take_read(&path)?;
        guanmo_api::results::import_routine_scores(&s.ctx, &path)
    })
    .await
}

/// Every rubric: the shared one first, then each 评比组's own.
#[tauri::command]
#[specta::specta]
pub async fn list_rubrics(app: tauri::AppHandle) -> Res<Vec<guanmo_domain::rubric::Rubric>> {
    blocking(app, move |s| guanmo_api::rubric::list_rubrics(&s.ctx)).await
}

/// The rubric a township is scored on (its group's own, else the shared one).
#[tauri::command]
#[specta::specta]
pub async fn get_rubric_for_township(
    app: tauri::AppHandle,
    township_id: String,
) -> Res<guanmo_domain::rubric::Rubric> {
    blocking(app, move |s| {
        guanmo_api::rubric::get_rubric_for_township(&s.ctx, &township_id)
    })
    .await
}

/// Gives a 评比组 back the shared rubric (only before its townships have sheets).
#[tauri::command]
#[specta::specta]
pub async fn remove_group_rubric(app: tauri::AppHandle, group: String) -> Res<()> {
    blocking(app, move |s| {
        guanmo_api::rubric::remove_group_rubric(&s.ctx, &group)
    })
    .await
}
