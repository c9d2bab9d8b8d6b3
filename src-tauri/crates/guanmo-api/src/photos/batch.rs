//! Importing a batch of photos (a folder, an SD card) as one use case: every file goes through
//! the media pipeline, each imported photo is recorded, and each finished file is reported.
//! Invariants: every path gets exactly one progress report; a photo that could not be recorded
//! counts as skipped, never as imported; a batch leaves the registry when it ends, so it can
//! be cancelled only while it runs.

use super::{record_imported, PhotoInfo};
use crate::Ctx;
use serde::{Deserialize, Serialize};
use specta::Type;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// One file of a batch is done.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
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
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct PhotoSkip {
    /// The file's name.
    pub file_name: String,
    /// Stable code (`unsupported_format`, `too_large`, `corrupt`…).
    pub code: String,
    /// Chinese message naming the file.
    pub message: String,
}

/// A batch ended (finished or cancelled).
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
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

/// The running batches and their cancellation flags.
#[derive(Debug, Default)]
pub struct Batches(Mutex<HashMap<String, Arc<AtomicBool>>>);

impl Batches {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<AtomicBool>>> {
        // A panic elsewhere cannot leave the map half-updated: every change is one call.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers a new batch and returns its id; it can be cancelled from now on.
    pub fn start(&self) -> String {
        let batch_id = guanmo_domain::ids::new_id();
        self.lock()
            .insert(batch_id.clone(), Arc::new(AtomicBool::new(false)));
        batch_id
    }

    /// Asks a running batch to stop; false when it is unknown or already done.
    pub fn cancel(&self, batch_id: &str) -> bool {
        match self.lock().get(batch_id) {
            Some(flag) => {
                flag.store(true, Ordering::Relaxed);
                true
            }
            None => false,
        }
    }

    /// Imports `paths` as the batch `batch_id` (from [`Batches::start`]) on every core,
    /// records each imported photo, calls `on_progress` once per finished file (from worker
    /// threads), and returns the tally once every file is done. Files not started when the
    /// batch is cancelled are skipped with the code `cancelled`. The batch leaves the registry
    /// when this returns. An id that was never started runs too, but cannot be cancelled.
    pub fn run_batch(
        &self,
        ctx: &Ctx,
        batch_id: &str,
        paths: &[PathBuf],
        on_progress: impl Fn(PhotoImportProgress) + Sync,
    ) -> PhotoImportFinished {
        let cancel = self
            .lock()
            .get(batch_id)
            .cloned()
            .unwrap_or_else(|| Arc::new(AtomicBool::new(false)));
        let skipped = Mutex::new(Vec::new());
        let imported = AtomicI32::new(0);
        guanmo_media::import_batch(
            ctx.media(),
            paths,
            &guanmo_media::Limits::default(),
            &cancel,
            |p| {
                let name = file_name(&p.path);
                let mut skip = None;
                let mut photo = None;
                if let Some(done) = &p.imported {
                    match record_imported(ctx, &name, done) {
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
                on_progress(PhotoImportProgress {
                    batch_id: batch_id.to_string(),
                    done: i32::try_from(p.done).unwrap_or(i32::MAX),
                    total: i32::try_from(p.total).unwrap_or(i32::MAX),
                    file_name: name,
                    photo,
                    skip,
                });
            },
        );
        self.lock().remove(batch_id);
        PhotoImportFinished {
            batch_id: batch_id.to_string(),
            imported: imported.load(Ordering::Relaxed),
            skipped: skipped.into_inner().unwrap_or_else(|e| e.into_inner()),
            cancelled: cancel.load(Ordering::Relaxed),
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::photos::list_photos;
    use guanmo_domain::SystemClock;
    use std::io::Cursor;

    /// A small PNG whose pixels depend on `seed`, so each seed has its own hash.
    fn png(seed: u8) -> Vec<u8> {
        let img = image::RgbImage::from_fn(40 + u32::from(seed), 30, |x, y| {
            image::Rgb([(x * 5) as u8, (y * 7) as u8 ^ seed, seed.wrapping_mul(53)])
        });
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    struct World {
        _dir: tempfile::TempDir,
        ctx: Ctx,
        files: PathBuf,
    }

    fn world() -> World {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Ctx::open(&dir.path().join("data"), Arc::new(SystemClock)).unwrap();
        let files = dir.path().join("card");
        std::fs::create_dir_all(&files).unwrap();
        World {
            _dir: dir,
            ctx,
            files,
        }
    }

    /// Two good photos and one PNG cut off after its header, in that order.
    fn two_good_one_corrupt(w: &World) -> Vec<PathBuf> {
        let mut broken = png(9);
        broken.truncate(60);
        [("a.png", png(1)), ("b.png", png(2)), ("broken.png", broken)]
            .into_iter()
            .map(|(name, bytes)| {
                let p = w.files.join(name);
                std::fs::write(&p, bytes).unwrap();
                p
            })
            .collect()
    }

    #[test]
    fn a_batch_records_the_good_photos_and_skips_the_corrupt_one_with_its_code() {
        let w = world();
        let paths = two_good_one_corrupt(&w);
        let batches = Batches::default();
        let id = batches.start();
        let reports = Mutex::new(Vec::new());
        let finished = batches.run_batch(&w.ctx, &id, &paths, |p| {
            reports.lock().unwrap().push(p);
        });

        let mut reports = reports.into_inner().unwrap();
        reports.sort_by_key(|p| p.done);
        let done: Vec<(i32, i32)> = reports.iter().map(|p| (p.done, p.total)).collect();
        assert_eq!(
            done,
            [(1, 3), (2, 3), (3, 3)],
            "one report per file, counted up"
        );
        assert!(reports.iter().all(|p| p.batch_id == id));

        let broken = reports
            .iter()
            .find(|p| p.file_name == "broken.png")
            .expect("the corrupt file is reported");
        let skip = broken.skip.as_ref().expect("the corrupt file is skipped");
        assert!(broken.photo.is_none());
        assert_eq!(skip.file_name, "broken.png");
        assert_eq!(skip.code, "corrupt", "{skip:?}");
        assert!(skip.message.contains("broken.png"), "{}", skip.message);

        let mut recorded: Vec<String> = list_photos(&w.ctx)
            .unwrap()
            .into_iter()
            .map(|p| p.file_name)
            .collect();
        recorded.sort();
        assert_eq!(recorded, ["a.png", "b.png"]);
        for name in ["a.png", "b.png"] {
            let report = reports.iter().find(|p| p.file_name == name).unwrap();
            let photo = report
                .photo
                .as_ref()
                .expect("a good file carries its photo");
            assert!(report.skip.is_none());
            assert_eq!(photo.format, "png");
            assert!(
                w.ctx
                    .media()
                    .path(&photo.hash, guanmo_media::Size::Thumb)
                    .unwrap()
                    .is_file(),
                "its thumbnail is in the context's photo store"
            );
        }

        assert_eq!(finished.batch_id, id);
        assert_eq!(finished.imported, 2);
        assert!(!finished.cancelled);
        assert_eq!(finished.skipped.len(), 1);
        assert_eq!(finished.skipped[0].code, "corrupt");
        assert!(
            !batches.cancel(&id),
            "a finished batch has left the registry"
        );
    }

    #[test]
    fn a_batch_cancelled_before_it_starts_records_nothing() {
        let w = world();
        let paths = two_good_one_corrupt(&w);
        let batches = Batches::default();
        let id = batches.start();
        assert!(batches.cancel(&id));
        let reports = Mutex::new(Vec::new());
        let finished = batches.run_batch(&w.ctx, &id, &paths, |p| {
            reports.lock().unwrap().push(p);
        });

        assert!(finished.cancelled);
        assert_eq!(finished.imported, 0);
        let codes: Vec<&str> = finished.skipped.iter().map(|s| s.code.as_str()).collect();
        assert_eq!(
            codes, ["cancelled"; 3],
            "every file is skipped as cancelled"
        );
        let reports = reports.into_inner().unwrap();
        assert_eq!(reports.len(), 3, "every file is still reported");
        assert!(reports.iter().all(|p| p.photo.is_none()));
        assert!(list_photos(&w.ctx).unwrap().is_empty());
        assert!(!batches.cancel(&id));
    }

    #[test]
    fn an_unknown_batch_cannot_be_cancelled() {
        assert!(!Batches::default().cancel("no-such-batch"));
    }

    #[test]
    fn the_progress_and_finished_shapes_stay_what_the_ui_reads() {
        let progress = PhotoImportProgress {
            batch_id: "b".into(),
            done: 1,
            total: 2,
            file_name: "x.jpg".into(),
            photo: None,
            skip: Some(PhotoSkip {
                file_name: "x.jpg".into(),
                code: "corrupt".into(),
                message: "m".into(),
            }),
        };
        assert_eq!(
            serde_json::to_value(&progress).unwrap(),
            serde_json::json!({
                "batch_id": "b", "done": 1, "total": 2, "file_name": "x.jpg", "photo": null,
                "skip": {"file_name": "x.jpg", "code": "corrupt", "message": "m"}
            })
        );
        let finished = PhotoImportFinished {
            batch_id: "b".into(),
            imported: 0,
            skipped: vec![],
            cancelled: true,
        };
        assert_eq!(
            serde_json::to_value(&finished).unwrap(),
            serde_json::json!({"batch_id": "b", "imported": 0, "skipped": [], "cancelled": true})
        );
    }
}
