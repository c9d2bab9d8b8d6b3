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
/// becomes true get `Err(Cancelled)`; a file already decoding finishes. Once the disk is
/// full, files not started yet are not decoded in vain: they get `Err(DiskFull)` at once.
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
    let disk_full = AtomicBool::new(false);
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
                } else if disk_full.load(Ordering::Relaxed) {
                    Err(MediaError::DiskFull(std::io::Error::new(
                        std::io::ErrorKind::StorageFull,
                        "not tried: the disk filled up earlier in this batch",
                    )))
                } else {
                    store.import(path, limits)
                };
                if matches!(outcome, Err(MediaError::DiskFull(_))) {
                    disk_full.store(true, Ordering::Relaxed);
                }
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

#[cfg(test)]
mod tests {
    //! The containment promise, proven on the real path: `import_batch` → `MediaStore::import`
    //! → the contained decode worker, with a renderer that really panics or really hangs for
    //! one marked file and runs the real decoder for the others.
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::render::{render, Derived};
    use crate::sniff::Header;
    use std::time::Duration;

    const PANIC_MARK: &[u8] = b"guanmo-test: decoder panics here";
    const HANG_MARK: &[u8] = b"guanmo-test: decoder hangs here";

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    /// The real decoder, except that a file carrying a mark panics inside it or never returns.
    fn hostile_renderer(
        bytes: &[u8],
        header: Header,
        limits: &Limits,
    ) -> Result<Derived, MediaError> {
        if contains(bytes, PANIC_MARK) {
            let index = bytes.len() + 10;
            // A real out-of-bounds panic, as a buggy decoder would hit.
            let _ = bytes[index];
        }
        if contains(bytes, HANG_MARK) {
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        render(bytes, header, limits)
    }

    /// A small, distinct JPEG; with `comment`, the comment sits in a COM segment after SOI.
    fn jpeg(seed: usize, comment: Option<&[u8]>) -> Vec<u8> {
        let (w, h) = (64 + seed, 48);
        let px: Vec<u8> = (0..w * h)
            .flat_map(|i| [(i % 251) as u8, (i / w * 5) as u8, (seed * 40) as u8])
            .collect();
        let image = turbojpeg::Image {
            pixels: px.as_slice(),
            width: w,
            pitch: w * 3,
            height: h,
            format: turbojpeg::PixelFormat::RGB,
        };
        let plain = turbojpeg::compress(image, 85, turbojpeg::Subsamp::Sub2x2)
            .unwrap()
            .to_vec();
        let Some(text) = comment else { return plain };
        let mut out = plain[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xFE]);
        out.extend_from_slice(&u16::try_from(text.len() + 2).unwrap().to_be_bytes());
        out.extend_from_slice(text);
        out.extend_from_slice(&plain[2..]);
        out
    }

    fn files_under(dir: &Path) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(d) = pending.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    pending.push(p);
                } else {
                    out.push(p);
                }
            }
        }
        out
    }

    /// Runs a batch of five files where file 1 carries `mark`; returns the outcomes, the
    /// progress reports, the store's files and the hash of the marked file.
    #[allow(clippy::type_complexity)]
    fn batch_with_one_hostile_file(
        mark: &[u8],
        limits: &Limits,
    ) -> (
        Vec<(PathBuf, Result<Imported, MediaError>)>,
        Vec<BatchProgress>,
        Vec<PathBuf>,
        String,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::with_renderer(dir.path(), hostile_renderer).unwrap();
        let mut paths = Vec::new();
        let mut hostile_hash = String::new();
        for i in 0..5 {
            let bytes = jpeg(i, (i == 1).then_some(mark));
            if i == 1 {
                hostile_hash = blake3::hash(&bytes).to_hex().to_string();
            }
            let path = dir.path().join(format!("IMG_000{i}.JPG"));
            std::fs::write(&path, bytes).unwrap();
            paths.push(path);
        }
        let reports = Mutex::new(Vec::new());
        let outcomes = import_batch(&store, &paths, limits, &AtomicBool::new(false), |p| {
            reports.lock().unwrap().push(p)
        });
        let files = files_under(store.root());
        (outcomes, reports.into_inner().unwrap(), files, hostile_hash)
    }

    fn assert_only_the_hostile_file_failed(
        outcomes: &[(PathBuf, Result<Imported, MediaError>)],
        reports: &[BatchProgress],
        files: &[PathBuf],
        hostile_hash: &str,
        code: &str,
        message: &str,
    ) {
        assert_eq!(outcomes.len(), 5, "every file gets an outcome");
        assert_eq!(reports.len(), 5, "progress once per file");
        for (i, (path, outcome)) in outcomes.iter().enumerate() {
            if i == 1 {
                assert_eq!(outcome.as_ref().unwrap_err().code(), code, "{path:?}");
            } else {
                let imported = outcome.as_ref().unwrap_or_else(|e| panic!("{path:?}: {e}"));
                for name in [
                    imported.hash.clone(),
                    format!("{}.1600.jpg", imported.hash),
                    format!("{}.320.jpg", imported.hash),
                ] {
                    assert!(
                        files.iter().any(|f| f.ends_with(&name)),
                        "{name} of {path:?} is stored"
                    );
                }
            }
        }
        let skipped: Vec<&BatchProgress> = reports.iter().filter(|r| r.error.is_some()).collect();
        assert_eq!(skipped.len(), 1, "exactly the hostile file is skipped");
        assert!(skipped[0].path.ends_with("IMG_0001.JPG"));
        assert_eq!(skipped[0].error, Some(code));
        assert_eq!(skipped[0].message.as_deref(), Some(message));
        assert!(skipped[0].imported.is_none());
        assert_eq!(
            files.len(),
            4 * 3,
            "three files for each of the four good photos"
        );
        for f in files {
            let name = f.file_name().unwrap().to_string_lossy();
            assert!(!name.starts_with(".tmp-"), "temp file left: {f:?}");
            assert!(
                !name.starts_with(hostile_hash),
                "hostile file stored: {f:?}"
            );
        }
    }

    #[test]
    fn a_decoder_panic_skips_that_file_and_the_rest_of_the_batch_imports() {
        let (outcomes, reports, files, hash) =
            batch_with_one_hostile_file(PANIC_MARK, &Limits::default());
        let Err(MediaError::DecoderCrashed(what)) = &outcomes[1].1 else {
            panic!("{:?}", outcomes[1].1);
        };
        assert!(
            what.contains("index out of bounds"),
            "the panic text is kept: {what}"
        );
        assert_only_the_hostile_file_failed(
            &outcomes,
            &reports,
            &files,
            &hash,
            "decoder_crashed",
            "IMG_0001.JPG: 图片无法解码,文件可能已损坏",
        );
    }

    #[test]
    fn a_decoder_that_hangs_is_abandoned_at_the_time_limit_and_the_batch_goes_on() {
        // Long enough for a 64×48 JPEG even on a loaded machine, short for a test.
        let limits = Limits {
            decode_timeout: Duration::from_secs(3),
            ..Limits::default()
        };
        let started = std::time::Instant::now();
        let (outcomes, reports, files, hash) = batch_with_one_hostile_file(HANG_MARK, &limits);
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the batch did not wait for the hung decoder"
        );
        assert_only_the_hostile_file_failed(
            &outcomes,
            &reports,
            &files,
            &hash,
            "decode_timeout",
            "IMG_0001.JPG: 图片解码超时,文件可能已损坏",
        );
    }
}
