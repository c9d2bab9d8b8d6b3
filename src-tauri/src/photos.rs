//! The photo side of the shell: serves derived images to the window through the
//! `guanmo-media://` URI scheme (by hash and size, never base64 over IPC), and runs batch
//! imports in the background with typed progress events and cancellation.

use crate::AppState;
use guanmo_api::photos as api;
use guanmo_media::{MediaStore, Size};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use tauri::{Manager, Runtime};
use tauri_specta::Event;

pub use guanmo_api::photos::Batches;

/// Gives an event the TypeScript shape and name of the api type it wraps, so the bindings
/// show the api type itself (`PhotoImportProgress`, `PhotoImportFinished`).
macro_rules! photo_event {
    ($(#[$doc:meta])* $name:ident, $event:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub api::$name);

        impl specta::Type for $name {
            fn definition(types: &mut specta::Types) -> specta::datatype::DataType {
                <api::$name as specta::Type>::definition(types)
            }
        }

        impl tauri_specta::Event for $name {
            const NAME: &'static str = $event;
        }
    };
}

photo_event!(
    /// One file of a batch is done (the event carrying [`api::PhotoImportProgress`]).
    PhotoImportProgress,
    "photo-import-progress"
);
photo_event!(
    /// A batch ended, finished or cancelled (the event carrying [`api::PhotoImportFinished`]).
    PhotoImportFinished,
    "photo-import-finished"
);

/// Starts importing `paths` in the background and returns the batch id at once.
pub fn start_batch(app: tauri::AppHandle, paths: Vec<PathBuf>) -> String {
    let batch_id = app.state::<AppState>().batches.start();
    let id = batch_id.clone();
    std::thread::spawn(move || {
        let state = app.state::<AppState>();
        let finished = state
            .batches
            .run_batch(&state.ctx, &id, &paths, |progress| {
                if let Err(e) = PhotoImportProgress(progress).emit(&app) {
                    tracing::warn!(error = %e, "could not report import progress");
                }
            });
        if let Err(e) = PhotoImportFinished(finished).emit(&app) {
            tracing::warn!(error = %e, "could not report the end of an import");
        }
    });
    batch_id
}

/// Answers `guanmo-media://localhost/<hash>/<320|1600>` with the derived JPEG (rebuilt from
/// the original if missing), and `…/<320|1600>/public` with the public copy residents see (with
/// 台标 when it is on; the window adds `?w=<digest>` so a new setting is a new address).
/// Originals are never served.
pub fn serve_uri<R: Runtime>(
    ctx: tauri::UriSchemeContext<'_, R>,
    request: tauri::http::Request<Vec<u8>>,
    responder: tauri::UriSchemeResponder,
) {
    let api_ctx = ctx.app_handle().state::<AppState>().ctx.clone();
    let media: MediaStore = api_ctx.media().clone();
    let path = request.uri().path().trim_matches('/').to_string();
    // Reading a file blocks: run it on Tauri's bounded blocking pool, not a thread per image.
    // A public copy changes with the 台标 setting: always asked again (the file is cached).
    let cache = if path.ends_with("/public") {
        "no-cache"
    } else {
        "max-age=31536000, immutable"
    };
    drop(tauri::async_runtime::spawn_blocking(move || {
        let response = |status: u16, mime: &str, body: Vec<u8>| {
            tauri::http::Response::builder()
                .status(status)
                .header("Content-Type", mime)
                .header("Cache-Control", cache)
                .body(body)
        };
        let found = path.split_once('/').and_then(|(hash, size)| {
            let (size, public) = size
                .strip_suffix("/public")
                .map_or((size, false), |s| (s, true));
            let size = match size {
                "320" => Size::Thumb,
                "1600" => Size::Web,
                _ => return None,
            };
            if public {
                return guanmo_api::photos::watermark::public_path(&api_ctx, hash, size).ok();
            }
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
    }));
}
