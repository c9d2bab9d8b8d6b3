//! Importing many files (a folder, an SD card) on every core with progress and cancellation,
//! and listing a folder's images. Invariants: one bad file never stops the others; every path
//! given gets exactly one outcome, in the order given; listing never leaves the folder through
//! a symlink.

use crate::{Imported, Limits, MediaError, MediaStore};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

/// Progress of a batch, reported once per finished file (from a worker thread).
#[derive(Debug, Clone)]
pub struct BatchProgress {
    /// Files finished so far, including this one.
    pub done: usize,
    /// Files in the batch.
    pub total: usize,
    /// The file just finished.
    pub path: PathBuf,
    /// Its error code, if it was refused (`None` when imported).
    pub error: Option<&'static str>,
    /// What was imported, so a caller can record it and show its thumbnail at once.
    pub imported: Option<Imported>,
    /// Why it was refused, in Chinese, naming the file.
    pub message: Option<String>,
}

/// Imports `paths` on all cores (at least two workers). Files not started when `cancel`
/// becomes true get `Err(Cancelled)`; a file already decoding finishes.
pub fn import_batch(
    store: &MediaStore,
    paths: &[PathBuf],
    limits: &Limits,
    cancel: &AtomicBool,
    progress: impl Fn(BatchProgress) + Sync,
) -> Vec<(PathBuf, Result<Imported, MediaError>)> {
    let total = paths.len();
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<Imported, MediaError>>>> =
        paths.iter().map(|_| Mutex::new(None)).collect();
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        .max(2)
        .min(total.max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(path) = paths.get(i) else { break };
                let outcome = if cancel.load(Ordering::Relaxed) {
                    Err(MediaError::Cancelled)
                } else {
                    store.import(path, limits)
                };
                if let Err(e) = &outcome {
                    tracing::info!(path = %path.display(), code = e.code(), "photo refused: {e}");
                }
                let error = outcome.as_ref().err().map(MediaError::code);
                let imported = outcome.as_ref().ok().cloned();
                let message = outcome.as_ref().err().map(|e| {
                    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                    e.message_zh(&name.unwrap_or_default())
                });
                if let Ok(mut slot) = slots[i].lock() {
                    *slot = Some(outcome);
                }
                progress(BatchProgress {
                    done: done.fetch_add(1, Ordering::Relaxed) + 1,
                    total,
                    path: path.clone(),
                    error,
                    imported,
                    message,
                });
            });
        }
    });
    paths
        .iter()
        .zip(slots)
        .map(|(path, slot)| {
            let outcome =
                slot.into_inner().ok().flatten().unwrap_or_else(|| {
                    Err(MediaError::DecoderCrashed("import worker stopped".into()))
                });
            (path.clone(), outcome)
        })
        .collect()
}

/// The image files directly in `dir` and its subfolders, sorted, by extension (jpg, jpeg, png,
/// webp, and the unsupported heic/heif/avif/gif so the person is told about them). Symlinks are
/// never followed, so a link cannot pull in files from outside `dir`; hidden entries are skipped.
pub fn list_folder(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![(dir.to_path_buf(), 0usize)];
    while let Some((folder, depth)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            // `file_type` does not follow symlinks: a link is neither a file nor a dir here.
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() && depth < 8 {
                pending.push((path, depth + 1));
            } else if kind.is_file() && is_image_name(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

fn is_image_name(path: &Path) -> bool {
    path.extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|e| {
            matches!(
                e.as_str(),
                "jpg" | "jpeg" | "jpe" | "png" | "webp" | "heic" | "heif" | "avif" | "gif"
            )
        })
}
