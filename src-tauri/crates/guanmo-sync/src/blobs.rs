//! Photos in transit. A photo travels as its original's bytes, in chunks, into
//! `<data_dir>/sync-incoming/<hash>.part`; an interrupted transfer resumes from the bytes
//! already there. When the last chunk arrives the bytes are checked against the hash and
//! imported through the photo pipeline (which checks they are a photo within limits and
//! makes the metadata-free copies), and the part file goes.

use crate::{SyncError, SyncErrorCode, SyncResult};
use guanmo_media::{Limits, MediaStore, Size};
use std::fs::{self, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Largest photo accepted (the import limit).
pub(crate) const MAX_BLOB: u64 = 50 * 1024 * 1024;

/// True for 64 lowercase hex characters: the only thing a path is ever built from.
pub(crate) fn valid_hash(h: &str) -> bool {
    h.len() == 64 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn bad(msg: impl Into<String>) -> SyncError {
    SyncError::new(SyncErrorCode::BadRequest, msg)
}

fn part_path(data_dir: &Path, hash: &str) -> SyncResult<PathBuf> {
    if !valid_hash(hash) {
        return Err(bad("not a photo hash"));
    }
    Ok(data_dir.join("sync-incoming").join(format!("{hash}.part")))
}

/// True when the original of `hash` is stored here.
pub(crate) fn has_original(media: &MediaStore, hash: &str) -> bool {
    valid_hash(hash) && media.path(hash, Size::Original).is_ok()
}

/// True when `hash` has a copy of `size` here (or its original, which makes both).
pub(crate) fn has_copy(media: &MediaStore, hash: &str, size: Size) -> bool {
    valid_hash(hash) && (media.has(hash, Size::Original) || media.has(hash, size))
}

/// Bytes of `hash` received so far.
pub(crate) fn received(data_dir: &Path, hash: &str) -> SyncResult<u64> {
    let p = part_path(data_dir, hash)?;
    Ok(fs::metadata(p).map(|m| m.len()).unwrap_or(0))
}

/// Appends a chunk at `offset` (which must be the bytes received so far; otherwise nothing
/// is written and the caller learns where to resume). Completes the photo when `total`
/// bytes are in. Returns the bytes received.
pub(crate) fn append(
    media: &MediaStore,
    data_dir: &Path,
    hash: &str,
    total: u64,
    offset: u64,
    chunk: &[u8],
) -> SyncResult<u64> {
    if total == 0 || total > MAX_BLOB {
        return Err(bad("photo size out of range"));
    }
    if has_original(media, hash) {
        return Ok(total);
    }
    let p = part_path(data_dir, hash)?;
    if let Some(dir) = p.parent() {
        fs::create_dir_all(dir)?;
    }
    let have = fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
    if offset != have {
        return Ok(have);
    }
    if have + chunk.len() as u64 > total {
        return Err(bad("chunk runs past the photo's size"));
    }
    let mut f = OpenOptions::new().create(true).append(true).open(&p)?;
    f.write_all(chunk)?;
    f.sync_data()?;
    let now = have + chunk.len() as u64;
    if now == total {
        finish(media, &p, hash)?;
    }
    Ok(now)
}

fn finish(media: &MediaStore, part: &Path, hash: &str) -> SyncResult<()> {
    let bytes = fs::read(part)?;
    let actual = blake3::hash(&bytes).to_hex().to_string();
    // Whatever happens next, the part file is done with: a bad one must not block a retry.
    let _ = fs::remove_file(part);
    if actual != hash {
        return Err(bad(format!("photo bytes do not match {hash}")));
    }
    media
        .import_bytes(hash, &bytes, &Limits::default())
        .map_err(|e| bad(format!("photo {hash} refused: {e}")))?;
    Ok(())
}

/// Up to `max` bytes of the original of `hash` from `offset`.
pub(crate) fn read_chunk(
    media: &MediaStore,
    hash: &str,
    offset: u64,
    max: u32,
) -> SyncResult<Vec<u8>> {
    if !valid_hash(hash) {
        return Err(bad("not a photo hash"));
    }
    let path = media
        .path(hash, Size::Original)
        .map_err(|_| SyncError::new(SyncErrorCode::BadRequest, format!("no photo {hash}")))?;
    let mut f = fs::File::open(path)?;
    f.seek(SeekFrom::Start(offset))?;
    let mut out = Vec::new();
    f.take(u64::from(max)).read_to_end(&mut out)?;
    Ok(out)
}
