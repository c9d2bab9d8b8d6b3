//! The photo side of the shell: serves derived images to the window through the
//! `guanmo-media://` URI scheme (by hash and size, never base64 over IPC), and runs batch
//! imports in the background with typed progress events and cancellation.

use crate::AppState;
use guanmo_api::photos::PhotoInfo;
use guanmo_media::{MediaStore, Size};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tauri::{Manager, Runtime};
use tauri_specta::Event;

/// One file of a batch is done.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct PhotoImportProgress {
    /// The batch.
    pub batch_id: String,
    /// Files finished so far.
    pub done: i32,
    /// Files in the batch.
    pub total: i32,
    /// The file just finished.
    pub file_name: String,
    /// What was imported, when it was.
    pub photo: Option<PhotoInfo>,
    /// Why it was skipped, when it was.
    pub skip: Option<PhotoSkip>,
}

/// A file the batch skipped, and why.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct PhotoSkip {
    /// The file's name.
    pub file_name: String,
    /// Stable code (`unsupported_format`, `too_large`, `corrupt`…).
    pub code: String,
    /// Chinese message naming the file.
    pub message: String,
}

/// A batch ended (finished or cancelled).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct PhotoImportFinished {
    /// The batch.
    pub batch_id: String,
    /// Photos imported.
    pub imported: i32,
    /// Files skipped, with reasons.
    pub skipped: Vec<PhotoSkip>,
    /// True when the person cancelled it.
    pub cancelled: bool,
}

/// Cancellation flags of running batches.
#[derive(Default)]
pub struct Batches(Mutex<HashMap<String, Arc<AtomicBool>>>);

impl Batches {
    /// Asks a running batch to stop; false when it is unknown or already done.
    pub fn cancel(&self, batch_id: &str) -> bool {
        let batches = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match batches.get(batch_id) {
            Some(flag) => {
                flag.store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Starts importing `paths` in the background and returns the batch id at once.
pub fn start_batch(app: tauri::AppHandle, paths: Vec<PathBuf>) -> String {
    let batch_id = guanmo_domain::ids::new_id();
    let cancel = Arc::new(AtomicBool::new(false));
    let state = app.state::<AppState>();
    state
        .batches
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(batch_id.clone(), cancel.clone());
    let id = batch_id.clone();
    std::thread::spawn(move || {
        let state = app.state::<AppState>();
        let skipped = Mutex::new(Vec::new());
        let imported = std::sync::atomic::AtomicI32::new(0);
        guanmo_media::import_batch(
            &state.media,
            &paths,
            &guanmo_media::Limits::default(),
            &cancel,
            |p| {
                let name = file_name(&p.path);
                let mut skip = None;
                let mut photo = None;
                if let Some(done) = &p.imported {
                    match guanmo_api::photos::record_imported(&state.ctx, &name, done) {
                        Ok(info) => {
                            imported.fetch_add(1, Ordering::Relaxed);
                            photo = Some(info);
                        }
                        Err(e) => {
                            skip = Some(PhotoSkip {
                                file_name: name.clone(),
                                code: "storage".into(),
                                message: format!("{name}: 无法记录照片({})", e.message),
                            })
                        }
                    }
                } else if let (Some(code), Some(message)) = (p.error, &p.message) {
                    skip = Some(PhotoSkip {
                        file_name: name.clone(),
                        code: code.into(),
                        message: message.clone(),
                    });
                }
                if let Some(s) = &skip {
                    skipped
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(s.clone());
                }
                let event = PhotoImportProgress {
                    batch_id: id.clone(),
                    done: i32::try_from(p.done).unwrap_or(i32::MAX),
                    total: i32::try_from(p.total).unwrap_or(i32::MAX),
                    file_name: name,
                    photo,
                    skip,
                };
                if let Err(e) = event.emit(&app) {
                    tracing::warn!(error = %e, "could not report import progress");
                }
            },
        );
        state
            .batches
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&id);
        let finished = PhotoImportFinished {
            batch_id: id,
            imported: imported.load(Ordering::Relaxed),
            skipped: skipped.into_inner().unwrap_or_else(|e| e.into_inner()),
            cancelled: cancel.load(Ordering::Relaxed),
        };
        if let Err(e) = finished.emit(&app) {
            tracing::warn!(error = %e, "could not report the end of an import");
        }
    });
    batch_id
}

/// Answers `guanmo-media://localhost/<hash>/<320|1600>` with the derived JPEG (rebuilt from
/// the original if missing). Originals are never served.
pub fn serve_uri<R: Runtime>(
    ctx: tauri::UriSchemeContext<'_, R>,
    request: tauri::http::Request<Vec<u8>>,
    responder: tauri::UriSchemeResponder,
) {
    let media: MediaStore = ctx.app_handle().state::<AppState>().media.clone();
    let path = request.uri().path().trim_matches('/').to_string();
    std::thread::spawn(move || {
        let response = |status: u16, mime: &str, body: Vec<u8>| {
            tauri::http::Response::builder()
                .status(status)
                .header("Content-Type", mime)
                .header("Cache-Control", "max-age=31536000, immutable")
                .body(body)
        };
        let found = path.split_once('/').and_then(|(hash, size)| {
            let size = match size {
                "320" => Size::Thumb,
                "1600" => Size::Web,
                _ => return None,
            };
            media.path(hash, size).ok()
        });
        let reply = match found.map(std::fs::read) {
            Some(Ok(bytes)) => response(200, "image/jpeg", bytes),
            _ => response(404, "text/plain", b"not found".to_vec()),
        };
        match reply {
            Ok(r) => responder.respond(r),
            Err(e) => tracing::warn!(error = %e, "could not build an image response"),
        }
    });
}
