//! 一键备份 / 恢复 in the window: thin commands over `guanmo_api::backup`, a typed progress
//! event, and cancel. A restore is checked and unpacked while the app runs, then put in place
//! at the next start, before the data folder is opened (never under the open database).

use crate::commands::{blocking, Res};
use guanmo_api::backup::{self as api, BackupSummary, RestoreSummary};
use guanmo_api::{ApiError, ErrorCode};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tauri_specta::Event;

/// Progress of the backup or restore running (the event carrying [`api::BackupProgress`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BackupProgress(pub api::BackupProgress);

impl specta::Type for BackupProgress {
    fn definition(types: &mut specta::Types) -> specta::datatype::DataType {
        <api::BackupProgress as specta::Type>::definition(types)
    }
}

impl tauri_specta::Event for BackupProgress {
    const NAME: &'static str = "backup-progress";
}

/// The cancel flag of the one backup or restore running, if any.
static RUNNING: Mutex<Option<Arc<AtomicBool>>> = Mutex::new(None);

/// Runs `job` as the one backup or restore at a time, with its cancel flag and progress
/// reported as [`BackupProgress`] events.
fn exclusive<T>(
    app: &tauri::AppHandle,
    job: impl FnOnce(&dyn Fn(api::BackupProgress), &AtomicBool) -> Res<T>,
) -> Res<T> {
    let cancel = Arc::new(AtomicBool::new(false));
    {
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        if running.is_some() {
            return Err(ApiError::new(
                ErrorCode::Busy,
                "已有备份或恢复正在进行,请等它完成或取消。",
            ));
        }
        *running = Some(cancel.clone());
    }
    let report = |p: api::BackupProgress| {
        if let Err(e) = BackupProgress(p).emit(app) {
            tracing::warn!(error = %e, "could not report backup progress");
        }
    };
    let out = job(&report, &cancel);
    *RUNNING.lock().unwrap_or_else(|e| e.into_inner()) = None;
    out
}

/// Backs the data folder up into the file picked in the save dialog (一键备份).
#[tauri::command]
#[specta::specta]
pub async fn backup_data(app: tauri::AppHandle, path: String) -> Res<BackupSummary> {
    let handle = app.clone();
    blocking(app, move |s| {
        let out = s.picks.take_write(&path)?;
        exclusive(&handle, |report, cancel| {
            api::backup(&s.ctx, &out, report, cancel)
        })
    })
    .await
}

/// Checks and unpacks the backup file picked in the open dialog beside the data folder; it
/// replaces the current data (backed up first, beside the folder) at the next start.
#[tauri::command]
#[specta::specta]
pub async fn stage_restore(app: tauri::AppHandle, path: String) -> Res<RestoreSummary> {
    let handle = app.clone();
    blocking(app, move |s| {
        let file = s.picks.take_read(&path)?;
        exclusive(&handle, |report, cancel| {
            api::stage_restore(&file, s.ctx.data_dir(), s.ctx.now(), report, cancel)
        })
    })
    .await
}

/// Drops a restore waiting for the next start; returns whether one was waiting.
#[tauri::command]
#[specta::specta]
pub async fn discard_staged_restore(app: tauri::AppHandle) -> Res<bool> {
    blocking(app, move |s| api::discard_pending_restore(s.ctx.data_dir())).await
}

/// Whether a checked restore waits for the next start.
#[tauri::command]
#[specta::specta]
pub async fn has_staged_restore(app: tauri::AppHandle) -> Res<bool> {
    blocking(app, move |s| api::has_pending_restore(s.ctx.data_dir())).await
}

/// Cancels the backup or restore running (nothing is left behind); false when none runs.
#[tauri::command]
#[specta::specta]
pub fn cancel_backup() -> bool {
    match RUNNING.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        Some(flag) => {
            flag.store(true, Ordering::Relaxed);
            true
        }
        None => false,
    }
}

/// Restarts the app so a staged restore is put in place.
#[tauri::command]
#[specta::specta]
pub fn restart_to_restore(app: tauri::AppHandle) {
    app.restart();
}

/// At start, before the data folder is opened: puts a staged restore in place (the current
/// data backed up beside the folder first). A failure is logged and the folder opens as it
/// is; the staged restore waits for the next start.
pub fn apply_staged_restore(dir: &Path, clock: &dyn guanmo_domain::Clock) {
    match api::apply_pending_restore(dir, clock.now()) {
        Ok(None) => {}
        Ok(Some(previous)) => {
            tracing::info!(previous = %previous.display(), "restored the staged backup");
        }
        Err(e) => tracing::error!(error = %e, "could not put the staged restore in place"),
    }
}
