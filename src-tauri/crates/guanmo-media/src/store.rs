//! The content-addressed photo store under `<data_dir>/objects/`: originals at
//! `ab/cd/<blake3-hex>`, derived copies beside them as `<hash>.320.jpg` and `<hash>.1600.jpg`.
//! Invariants: a path is built only from a validated hash, never from a file name; every file
//! appears under its final name complete and fsynced (temp file + fsync + rename), and a failed
//! write leaves no temp file behind; an import that fails (a full disk included) leaves none of
//! its files; the same bytes are stored once.

use crate::render::{
    downsize_own_jpeg, render, render_contained, start_render, Derived, Renderer, MID_SIDE,
    THUMB_SIDE, WEB_SIDE,
};
use crate::sniff::{read_header, ImageFormat};
use crate::watermark::Watermark;
use crate::{EvidenceMeta, Limits, MediaError};
use serde::{Deserialize, Serialize};
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Which file of a photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Size {
    /// 320 px long side, metadata-free JPEG.
    Thumb,
    /// 1600 px long side (or smaller if the original is), metadata-free JPEG.
    Web,
    /// The bytes as imported, EXIF and all (evidence; never served to residents).
    Original,
}

/// One imported photo, as the API stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Imported {
    /// BLAKE3 of the original's bytes, 64 lowercase hex characters.
    pub hash: String,
    /// Width of the original as displayed (EXIF orientation applied).
    pub width: u32,
    /// Height of the original as displayed.
    pub height: u32,
    /// The original's format, from its magic bytes.
    pub format: ImageFormat,
    /// Evidence metadata from the original's EXIF.
    pub meta: EvidenceMeta,
    /// Size of the original in bytes.
    pub original_bytes: u64,
}

/// The photo store. Cheap to clone; safe to use from several threads at once.
#[derive(Debug, Clone)]
pub struct MediaStore {
    root: PathBuf,
    /// What the contained decode worker runs; always [`render`] outside this crate's tests.
    renderer: Renderer,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Largest 1600 px copy accepted from another device (ours are 150–600 KB at quality 82).
pub const MAX_WEB_COPY_BYTES: u64 = 8 * 1024 * 1024;

impl MediaStore {
    /// Opens (creating if needed) the store at `<data_dir>/objects/`.
    pub fn new(data_dir: &Path) -> Result<Self, MediaError> {
        let root = data_dir.join("objects");
        fs::create_dir_all(&root)?;
        Ok(Self {
            root,
            renderer: render,
        })
    }

    /// A store whose decode worker runs `renderer` instead of the real decoder, so tests can
    /// make the worker panic or hang on the real import path.
    #[cfg(test)]
    pub(crate) fn with_renderer(data_dir: &Path, renderer: Renderer) -> Result<Self, MediaError> {
        Ok(Self {
            renderer,
            ..Self::new(data_dir)?
        })
    }

    /// The `objects/` directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Imports one file: header checks, BLAKE3, both derived copies made in a contained worker,
    /// then the original and the copies written atomically. Refused files leave nothing behind.
    pub fn import(&self, path: &Path, limits: &Limits) -> Result<Imported, MediaError> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        if len > limits.max_bytes {
            return Err(MediaError::TooLarge {
                bytes: len,
                max: limits.max_bytes,
            });
        }
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        // `take` guards against a file that grows while it is read.
        file.take(limits.max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)?;
        self.import_owned(bytes, limits)
    }

    /// Imports bytes already in memory; `name` is for logs only and never reaches a path.
    pub fn import_bytes(
        &self,
        name: &str,
        bytes: &[u8],
        limits: &Limits,
    ) -> Result<Imported, MediaError> {
        tracing::debug!(name, len = bytes.len(), "importing photo");
        // Check before copying so an oversized buffer is not duplicated.
        read_header(bytes, limits)?;
        self.import_owned(bytes.to_vec(), limits)
    }

    /// Imports bytes the caller hands over (no copy); as [`MediaStore::import_bytes`].
    pub fn import_owned(&self, bytes: Vec<u8>, limits: &Limits) -> Result<Imported, MediaError> {
        let header = read_header(&bytes, limits)?;
        let hash = blake3::hash(&bytes).to_hex().to_string();
        let original_bytes = bytes.len() as u64;
        let original = self.object_path(&hash, Size::Original)?;
        let web = self.object_path(&hash, Size::Web)?;
        let thumb = self.object_path(&hash, Size::Thumb)?;
        let bytes: Arc<[u8]> = bytes.into();
        // Decode even when the photo is already stored: the caller needs its size and metadata,
        // and a re-import repairs missing derived files. The original is written to a temp file
        // while the decode runs on the other core. All three files are written completely as
        // temp files before any is named, so a full disk (the likeliest failure) leaves nothing;
        // a failure while naming them removes the ones this call named.
        let pending = start_render(Arc::clone(&bytes), header, limits, self.renderer)?;
        let original_temp = if original.exists() {
            None
        } else {
            Some(TempFile::write(&original, &bytes)?)
        };
        let Derived {
            web: web_jpeg,
            thumb: thumb_jpeg,
            width,
            height,
            meta,
        } = pending.wait()?;
        let web_temp = TempFile::write(&web, &web_jpeg)?;
        let thumb_temp = TempFile::write(&thumb, &thumb_jpeg)?;
        let mut named = Vec::with_capacity(3);
        let commits = [
            (Some(web_temp), web.as_path()),
            (Some(thumb_temp), thumb.as_path()),
            // The original last: once it is there, missing derived copies can be rebuilt.
            (original_temp, original.as_path()),
        ];
        for (temp, target) in commits {
            let Some(temp) = temp else { continue };
            let existed = target.exists();
            if let Err(e) = temp.commit(target) {
                // Only what this call created is removed; a file that was already there stays.
                if !existed && target.exists() {
                    named.push(target);
                }
                for path in named {
                    let _ = fs::remove_file(path);
                }
                return Err(e);
            }
            if !existed {
                named.push(target);
            }
        }
        Ok(Imported {
            hash,
            width,
            height,
            format: header.format,
            meta,
            original_bytes,
        })
    }

    /// True when the file of `hash` in `size` is stored (nothing is rebuilt).
    pub fn has(&self, hash: &str, size: Size) -> bool {
        self.object_path(hash, size).is_ok_and(|p| p.is_file())
    }

    /// Stores another device's 320 px thumbnail of `hash`, ahead of its 1600 px copy (a post
    /// goes public with its thumbnails first): the same checks as
    /// [`MediaStore::import_web_copy`], no longer than [`THUMB_SIDE`] on either side, and only
    /// the thumbnail is written. Nothing is written when the photo has a thumbnail already.
    pub fn import_thumb_copy(
        &self,
        hash: &str,
        bytes: &[u8],
        limits: &Limits,
    ) -> Result<(u32, u32), MediaError> {
        let thumb = self.object_path(hash, Size::Thumb)?;
        let rendered = self.render_copy(bytes, THUMB_SIDE, limits)?;
        if !self.has(hash, Size::Thumb) && !self.has(hash, Size::Original) {
            write_atomic(&thumb, &rendered.thumb)?;
        }
        Ok((rendered.width, rendered.height))
    }

    /// Stores another device's 1600 px copy of `hash` before (or instead of) its original:
    /// the bytes are untrusted, so they must be a JPEG no longer than [`WEB_SIDE`] on either
    /// side and within `limits`, and both copies are re-encoded from their pixels (no
    /// metadata survives). The bytes cannot be checked against `hash` (that is the
    /// original's); the caller decides whose copy may stand for it. When the original is
    /// here already nothing is written. Returns the copy's width and height.
    pub fn import_web_copy(
        &self,
        hash: &str,
        bytes: &[u8],
        limits: &Limits,
    ) -> Result<(u32, u32), MediaError> {
        let web = self.object_path(hash, Size::Web)?;
        let thumb = self.object_path(hash, Size::Thumb)?;
        let rendered = self.render_copy(bytes, WEB_SIDE, limits)?;
        if self.has(hash, Size::Original) {
            return Ok((rendered.width, rendered.height));
        }
        // The thumbnail first: a 1600 px copy on disk is what says the photo can be shown.
        write_atomic(&thumb, &rendered.thumb)?;
        write_atomic(&web, &rendered.web)?;
        Ok((rendered.width, rendered.height))
    }

    /// Another device's copy, untrusted: a JPEG within `side` px on either side, 8 MiB and
    /// `limits`, decoded in the contained worker and re-encoded from its pixels.
    fn render_copy(&self, bytes: &[u8], side: u32, limits: &Limits) -> Result<Derived, MediaError> {
        let limits = Limits {
            max_side: limits.max_side.min(side),
            max_bytes: limits.max_bytes.min(MAX_WEB_COPY_BYTES),
            ..limits.clone()
        };
        let header = read_header(bytes, &limits)?;
        if header.format != ImageFormat::Jpeg {
            return Err(MediaError::UnsupportedFormat {
                what: header.format.as_str().to_uppercase(),
            });
        }
        render_contained(Arc::from(bytes), header, &limits, self.renderer)
    }

    /// Path of a stored file. A missing derived copy is rebuilt from the original (with default
    /// limits); a missing original is `NotFound`.
    pub fn path(&self, hash: &str, size: Size) -> Result<PathBuf, MediaError> {
        let wanted = self.object_path(hash, size)?;
        if wanted.is_file() {
            return Ok(wanted);
        }
        let original = self.object_path(hash, Size::Original)?;
        if !original.is_file() {
            return Err(MediaError::NotFound(hash.to_string()));
        }
        let limits = Limits::default();
        let bytes: Arc<[u8]> = fs::read(&original)?.into();
        let header = read_header(&bytes, &limits)?;
        let rendered = render_contained(bytes, header, &limits, self.renderer)?;
        let jpeg = if size == Size::Thumb {
            rendered.thumb
        } else {
            rendered.web
        };
        write_atomic(&wanted, &jpeg)?;
        Ok(wanted)
    }

    /// The public copy of `hash` in `size` as residents are served it: without a watermark the
    /// derived copy itself; with one, a watermarked copy made from it on first use and kept
    /// under `<data_dir>/public-copies/` by the watermark's digest (older digests of the same
    /// photo and size are removed then). Never the original (`NotFound`).
    pub fn public_path(
        &self,
        hash: &str,
        size: Size,
        watermark: Option<&Watermark>,
    ) -> Result<PathBuf, MediaError> {
        if size == Size::Original {
            return Err(MediaError::NotFound(hash.to_string()));
        }
        let source = self.path(hash, size)?;
        match watermark {
            None => Ok(source),
            Some(w) => {
                let side = if size == Size::Thumb {
                    THUMB_SIDE
                } else {
                    WEB_SIDE
                };
                self.watermarked(hash, side, &source, w)
            }
        }
    }

    /// The ~800 px public copy of `hash` ([`MID_SIDE`] on the long side), made from its 1600 px
    /// copy at `web` on first use and kept under `<data_dir>/public-copies/` (remakeable, so
    /// backups leave it out): what a phone's full-width photo needs, at about a quarter of the
    /// bytes.
    /// A web copy no longer than that is its own middle copy. Never made from an original.
    pub fn mid_copy(&self, hash: &str, web: &Path) -> Result<PathBuf, MediaError> {
        let target = self
            .public_dir(hash)?
            .join(format!("{hash}.{MID_SIDE}.jpg"));
        if target.is_file() {
            return Ok(target);
        }
        match downsize_own_jpeg(&fs::read(web)?, MID_SIDE)? {
            None => Ok(web.to_path_buf()),
            Some(jpeg) => {
                write_atomic(&target, &jpeg)?;
                Ok(target)
            }
        }
    }

    /// The watermarked copy of the derived JPEG at `source` (the public copy of `hash` whose
    /// long side is `side`: [`THUMB_SIDE`], [`MID_SIDE`] or [`WEB_SIDE`], wherever it lies),
    /// made once per watermark digest and kept beside the store.
    pub fn watermarked(
        &self,
        hash: &str,
        side: u32,
        source: &Path,
        watermark: &Watermark,
    ) -> Result<PathBuf, MediaError> {
        if ![THUMB_SIDE, MID_SIDE, WEB_SIDE].contains(&side) {
            return Err(MediaError::NotFound(hash.to_string()));
        }
        let dir = self.public_dir(hash)?;
        let prefix = format!("{hash}.{side}.w-");
        let target = dir.join(format!("{prefix}{}.jpg", watermark.digest()));
        if target.is_file() {
            return Ok(target);
        }
        let jpeg = watermark.apply_to_jpeg(&fs::read(source)?)?;
        write_atomic(&target, &jpeg)?;
        // Copies made with an older setting are never served again (their names differ).
        for entry in fs::read_dir(&dir)?.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(&prefix) && entry.path() != target {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(target)
    }

    /// The folder of `hash`'s public copies: `<data_dir>/public-copies/ab/cd/` (outside
    /// `objects/`, so backups leave these remakeable files out).
    fn public_dir(&self, hash: &str) -> Result<PathBuf, MediaError> {
        // Validates the hash: nothing else reaches the path.
        self.object_path(hash, Size::Original)?;
        let base = match self.root.parent() {
            Some(data_dir) => data_dir.join("public-copies"),
            None => self.root.join("public-copies"),
        };
        Ok(base.join(&hash[0..2]).join(&hash[2..4]))
    }

    /// Where a file of `hash` lives; the hash is validated first, so nothing else can steer it.
    fn object_path(&self, hash: &str, size: Size) -> Result<PathBuf, MediaError> {
        let valid =
            hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !valid {
            return Err(MediaError::InvalidHash(hash.chars().take(80).collect()));
        }
        let name = match size {
            Size::Original => hash.to_string(),
            Size::Web => format!("{hash}.1600.jpg"),
            Size::Thumb => format!("{hash}.320.jpg"),
        };
        Ok(self.root.join(&hash[0..2]).join(&hash[2..4]).join(name))
    }
}

/// Writes `bytes` to `target` via a temp file in the same directory, fsync, rename, and a
/// directory fsync. On any error the temp file is removed.
fn write_atomic(target: &Path, bytes: &[u8]) -> Result<(), MediaError> {
    TempFile::write(target, bytes)?.commit(target)
}

/// A complete, fsynced file under a temporary name beside its target; removed on drop unless
/// committed, so no error path can leave it behind.
struct TempFile {
    path: PathBuf,
    committed: bool,
}

impl TempFile {
    fn write(target: &Path, bytes: &[u8]) -> Result<Self, MediaError> {
        let dir = target
            .parent()
            .ok_or_else(|| MediaError::Io(std::io::Error::other("object path has no parent")))?;
        fs::create_dir_all(dir)?;
        let path = dir.join(format!(
            ".tmp-{}-{}",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        // From here on the guard removes the file whatever fails.
        let temp = TempFile {
            path,
            committed: false,
        };
        f.write_all(bytes)?;
        f.sync_all()?;
        Ok(temp)
    }

    /// Renames to `target` and fsyncs the directory, so the name survives a power cut.
    fn commit(mut self, target: &Path) -> Result<(), MediaError> {
        fs::rename(&self.path, target)?;
        self.committed = true;
        if let Some(dir) = target.parent() {
            File::open(dir)?.sync_all()?;
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.committed {
            // Nothing more can be done if this fails; the name marks it as garbage.
            let _ = fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_with_path_characters_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::new(dir.path()).unwrap();
        for bad in [
            "../../etc/passwd",
            "",
            &"A".repeat(64),
            &format!("{}/", "a".repeat(63)),
        ] {
            assert!(
                matches!(
                    store.path(bad, Size::Original),
                    Err(MediaError::InvalidHash(_))
                ),
                "{bad:?} must be refused"
            );
        }
    }

    #[test]
    fn a_failed_write_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // The target is an existing non-empty directory, so the rename fails after the write.
        let target = dir.path().join("ab").join("target");
        fs::create_dir_all(target.join("inside")).unwrap();
        assert!(matches!(
            write_atomic(&target, b"data"),
            Err(MediaError::Io(_))
        ));
        let left: Vec<_> = fs::read_dir(dir.path().join("ab"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            left,
            vec![std::ffi::OsString::from("target")],
            "only the directory stays"
        );
    }
}
