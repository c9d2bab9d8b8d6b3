//! Tauri commands: each converts its arguments, calls one `guanmo-api` function and returns
//! its result. They run off the main thread (`async`) so the window never blocks on SQLite.

use crate::AppState;
use guanmo_api::exchange::FileFormat;
use guanmo_api::info::AppInfo;
use guanmo_api::roster::ImportReport;
use guanmo_api::{ApiError, ErrorCode};
use guanmo_domain::problem::Problem;
use guanmo_domain::roster::{Township, TownshipInput};
use guanmo_domain::rubric::Rubric;
use std::path::Path;
use tauri::State;
use tauri_plugin_opener::OpenerExt;

type Res<T> = Result<T, ApiError>;

/// Versions, data folder and device id for 设置.
#[tauri::command(async)]
#[specta::specta]
pub fn get_app_info(app: tauri::AppHandle, state: State<'_, AppState>) -> AppInfo {
    guanmo_api::info::app_info(&state.ctx, &app.package_info().version.to_string())
}

/// Opens the data folder in the system file manager.
#[tauri::command(async)]
#[specta::specta]
pub fn open_data_dir(app: tauri::AppHandle, state: State<'_, AppState>) -> Res<()> {
    let dir = state.ctx.data_dir().display().to_string();
    app.opener()
        .open_path(dir, None::<&str>)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))
}

/// All townships in visit order.
#[tauri::command(async)]
#[specta::specta]
pub fn list_townships(state: State<'_, AppState>) -> Res<Vec<Township>> {
    guanmo_api::roster::list_townships(&state.ctx)
}

/// Adds a township at the end of the route.
#[tauri::command(async)]
#[specta::specta]
pub fn add_township(state: State<'_, AppState>, input: TownshipInput) -> Res<Township> {
    guanmo_api::roster::add_township(&state.ctx, input)
}

/// Edits a township still at `expected_version`.
#[tauri::command(async)]
#[specta::specta]
pub fn update_township(
    state: State<'_, AppState>,
    id: String,
    expected_version: i32,
    input: TownshipInput,
) -> Res<Township> {
    guanmo_api::roster::update_township(&state.ctx, &id, expected_version, input)
}

/// Sets the visit order (every id once).
#[tauri::command(async)]
#[specta::specta]
pub fn reorder_townships(state: State<'_, AppState>, ids: Vec<String>) -> Res<Vec<Township>> {
    guanmo_api::roster::reorder_townships(&state.ctx, ids)
}

/// Imports a roster file chosen in the file dialog.
#[tauri::command(async)]
#[specta::specta]
pub fn import_roster(state: State<'_, AppState>, path: String) -> Res<ImportReport> {
    guanmo_api::roster::import_roster(&state.ctx, Path::new(&path))
}

/// Exports the roster to a file chosen in the save dialog.
#[tauri::command(async)]
#[specta::specta]
pub fn export_roster(state: State<'_, AppState>, path: String, format: FileFormat) -> Res<()> {
    guanmo_api::roster::export_roster(&state.ctx, Path::new(&path), format)
}

/// The current rubric.
#[tauri::command(async)]
#[specta::specta]
pub fn get_rubric(state: State<'_, AppState>) -> Res<Rubric> {
    guanmo_api::rubric::get_rubric(&state.ctx)
}

/// Problems with a rubric being edited.
#[tauri::command(async)]
#[specta::specta]
pub fn validate_rubric(rubric: Rubric) -> Vec<Problem> {
    guanmo_api::rubric::validate_rubric(rubric)
}

/// Saves a valid rubric.
#[tauri::command(async)]
#[specta::specta]
pub fn save_rubric(state: State<'_, AppState>, rubric: Rubric) -> Res<Rubric> {
    guanmo_api::rubric::save_rubric(&state.ctx, rubric)
}

/// Imports a rubric file (JSON or XLSX) and saves it if valid.
#[tauri::command(async)]
#[specta::specta]
pub fn import_rubric(state: State<'_, AppState>, path: String) -> Res<Rubric> {
    guanmo_api::rubric::import_rubric(&state.ctx, Path::new(&path))
}

/// Exports the rubric as JSON or XLSX.
#[tauri::command(async)]
#[specta::specta]
pub fn export_rubric(state: State<'_, AppState>, path: String, format: FileFormat) -> Res<()> {
    guanmo_api::rubric::export_rubric(&state.ctx, Path::new(&path), format)
}

/// The command set, for the invoke handler and the bindings export.
pub fn builder() -> tauri_specta::Builder<tauri::Wry> {
    // One TypeScript type per Rust type: our types serialize and deserialize alike.
    tauri_specta::Builder::<tauri::Wry>::new()
        .disable_serde_phases()
        .commands(tauri_specta::collect_commands![
            get_app_info,
            open_data_dir,
            list_townships,
            add_township,
            update_township,
            reorder_townships,
            import_roster,
            export_roster,
            get_rubric,
            validate_rubric,
            save_rubric,
            import_rubric,
            export_rubric,
        ])
}
