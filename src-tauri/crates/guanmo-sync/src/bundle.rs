//! Sync bundle files (导出同步包 / 导入同步包): everything the hub has not confirmed from a
//! laptop, in one signed file for a USB stick.
//!
//! A bundle is a zip holding exactly `ops.jsonl` (the laptop's own operations after the last
//! one the hub confirmed, one JSON object per line), `photos/<hash>` (the originals those
//! operations refer to), `manifest.json` (who wrote it, for which hub, and the name, size and
//! BLAKE3 of every other entry) and `manifest.sig` (the device's ed25519 signature over the
//! manifest's exact bytes, lowercase hex).
//!
//! Import keeps these invariants: nothing in the file is trusted until the signature verifies
//! with the key the hub stored when the device paired; nothing is applied until every entry
//! matches the manifest; entry names are only compared with the expected forms, never turned
//! into paths; every read is bounded by the manifest's sizes and hard caps, counted while
//! decompressing (a zip bomb lies in its headers). Then the photos go through the photo
//! pipeline (content-addressed, so importing one twice is harmless) and the operations apply
//! in one transaction that also records the bundle, so an import is all or nothing and a
//! replayed file is refused.

use crate::identity::{self, Role};
use crate::{blobs, SyncError, SyncErrorCode, SyncResult};
use chrono::SecondsFormat;
use ed25519_dalek::{Signature, Signer, VerifyingKey};
use guanmo_api::Ctx;
use guanmo_media::{Limits, MediaError, MediaStore, Size};
use guanmo_store::oplog::{self, Kind, Op};
use guanmo_store::{meta, ChangeInput};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use specta::Type;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Mutex, PoisonError};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// Format of the files written here, named in every manifest.
pub const FORMAT: &str = "guanmo-sync-bundle/1";
/// Largest `manifest.json` read.
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;
/// Largest `ops.jsonl` written or read.
pub const MAX_OPS_BYTES: u64 = 512 << 20;
/// Most photos in one bundle.
pub const MAX_PHOTOS: usize = 100_000;
/// Largest `manifest.sig` read (a signature is 128 hex characters).
const MAX_SIGNATURE_BYTES: u64 = 1024;

const MANIFEST: &str = "manifest.json";
const SIGNATURE: &str = "manifest.sig";
const OPS: &str = "ops.jsonl";
const PHOTOS: &str = "photos/";
/// The laptop's highest own sequence number the hub confirmed (kept by [`crate::sync_once`]).
const ACKED: &str = "hub_acked_seq";
/// Own operations read from the store at a time while exporting.
const EXPORT_BATCH: u32 = 1_000;
/// Buffer for copying photos.
const COPY_BUFFER: usize = 256 << 10;

/// Progress of writing or reading a bundle: one step per entry (and, on import, one per
/// photo stored and one for applying the operations).
#[derive(Debug, Clone, Serialize, Type)]
pub struct BundleProgress {
    /// Entries done.
    pub done: u32,
    /// Entries in all.
    pub total: u32,
}

/// What an export wrote.
#[derive(Debug, Clone, Default, Serialize, Type)]
pub struct BundleSummary {
    /// Operations in the file.
    pub ops: u32,
    /// Photos in the file.
    pub photos: u32,
    /// Size of the file.
    pub bytes: u64,
    /// The bundle's id (the hub refuses a second import of the same id).
    pub bundle_id: String,
    /// Photos the operations refer to whose original is not on this laptop (it received
    /// them without the bytes); they are not in the file.
    pub photos_absent: u32,
}

/// One refused operation in an import report.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct RefusedOp {
    /// Device that made it.
    pub origin: String,
    /// Its number there.
    pub seq: u32,
    /// Stable code.
    pub code: String,
    /// Details.
    pub detail: String,
}

/// What an import did (导入同步包 report).
#[derive(Debug, Clone, Default, Serialize, Deserialize, Type)]
pub struct BundleReport {
    /// Device that wrote the file.
    pub device_id: String,
    /// Its name, as paired.
    pub device_name: String,
    /// Operations applied (including operations held back earlier that this bundle
    /// released).
    pub applied: u32,
    /// Operations already here.
    pub already: u32,
    /// Operations refused, with reasons.
    pub refused: Vec<RefusedOp>,
    /// Operations held back because earlier ones are still missing.
    pub still_missing: u32,
    /// Photos added.
    pub photos_added: u32,
    /// Photos already here.
    pub photos_already: u32,
    /// The bundle's id.
    pub bundle_id: String,
    /// Operations in the file.
    pub ops: u32,
    /// Operations kept without applying because they edited a shared record concurrently
    /// with another device (shown in 同步 → 问题 for a person to resolve).
    pub conflicts: u32,
    /// Photos the operations refer to that the hub still lacks after the import (the laptop
    /// did not have their bytes either).
    pub photos_missing: u32,
}

/// The signed description of a bundle.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    /// [`FORMAT`].
    format: String,
    /// UUIDv7, unique per file written.
    bundle_id: String,
    /// The device that wrote and signed it.
    device_id: String,
    /// Its name (informational; the hub shows the name it paired).
    device_name: String,
    /// Its ed25519 public key, hex (must be the one the hub paired).
    public_key: String,
    /// The hub it is for.
    hub_id: String,
    /// When it was written (RFC 3339, the device's clock).
    created_at: String,
    /// The operations in `ops.jsonl`.
    ops: OpsRange,
    /// Every entry but the manifest and its signature.
    entries: Vec<EntryInfo>,
}

/// Count and sequence numbers of the operations in a bundle (0 and 0 when there are none).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct OpsRange {
    count: u64,
    first_seq: i64,
    last_seq: i64,
}

/// One entry as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryInfo {
    name: String,
    size: u64,
    blake3: String,
}

/// The entry names a bundle may hold.
#[derive(Debug, Clone, PartialEq, Eq)]
enum EntryKind {
    Manifest,
    Signature,
    Ops,
    Photo(String),
}

/// What an entry name is, if it is one of the expected forms. Exact byte comparison: no
/// normalisation, so `./ops.jsonl`, `photos\…`, `../../x` or an upper-case hash are not.
fn classify(name: &[u8]) -> Option<EntryKind> {
    match name {
        b"manifest.json" => Some(EntryKind::Manifest),
        b"manifest.sig" => Some(EntryKind::Signature),
        b"ops.jsonl" => Some(EntryKind::Ops),
        _ => {
            let hash = std::str::from_utf8(name.strip_prefix(PHOTOS.as_bytes())?).ok()?;
            blobs::valid_hash(hash).then(|| EntryKind::Photo(hash.to_string()))
        }
    }
}

fn invalid(msg: impl Into<String>) -> SyncError {
    SyncError::new(SyncErrorCode::BundleInvalid, msg)
}

fn damaged(e: impl std::fmt::Display) -> SyncError {
    invalid(format!("the file is damaged or incomplete ({e})"))
}

fn write_failed(e: impl std::fmt::Display) -> SyncError {
    SyncError::new(
        SyncErrorCode::Storage,
        format!("writing the bundle failed: {e}"),
    )
}

fn json_failed(e: serde_json::Error) -> SyncError {
    SyncError::new(SyncErrorCode::Storage, e.to_string())
}

/// An entry name fit for a message: lossy UTF-8, escaped, at most 80 characters.
fn shown(name: &[u8]) -> String {
    let text: String = String::from_utf8_lossy(name).chars().take(80).collect();
    text.escape_debug().to_string()
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A 64-byte signature from 128 lowercase hex characters (nothing else, no whitespace).
fn parse_signature(text: &[u8]) -> Option<Signature> {
    if text.len() != 128 {
        return None;
    }
    let mut out = [0u8; 64];
    for (i, pair) in text.chunks(2).enumerate() {
        let nibble = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        out[i] = nibble(pair[0])? << 4 | nibble(pair[1])?;
    }
    Some(Signature::from_bytes(&out))
}

/// The photos an operation refers to: a photo's metadata, a sheet's evidence, a post's
/// pictures. Only well-formed hashes count.
fn photo_refs(op: &Op, out: &mut BTreeSet<String>) {
    let mut add = |h: &str| {
        if blobs::valid_hash(h) {
            out.insert(h.to_string());
        }
    };
    let table = match Kind::parse(&op.kind) {
        Some(Kind::Photo) => {
            add(&op.entity_id);
            return;
        }
        Some(Kind::Sheet) => "sheet_evidence",
        Some(Kind::Post) => "post_photos",
        _ => return,
    };
    let rows = op.payload.get(table).and_then(Value::as_array);
    for row in rows.into_iter().flatten() {
        if let Some(h) = row.get("hash").and_then(Value::as_str) {
            add(h);
        }
    }
}

fn max_photo_bytes() -> u64 {
    Limits::default().max_bytes
}

// ---------------------------------------------------------------------------------------
// Export

/// A file being written beside its final name; removed unless committed, so an export that
/// fails (or a stick pulled mid-write) never leaves a half file under the final name.
struct PartFile {
    part: PathBuf,
    target: PathBuf,
    committed: bool,
}

impl PartFile {
    fn create(target: &Path, id: &str) -> SyncResult<(PartFile, File)> {
        let name = target.file_name().ok_or_else(|| {
            SyncError::new(
                SyncErrorCode::BadRequest,
                "the bundle path has no file name",
            )
        })?;
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let part = dir.join(format!(".{}.{id}.part", name.to_string_lossy()));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&part)
            .map_err(write_failed)?;
        Ok((
            PartFile {
                part,
                target: target.to_path_buf(),
                committed: false,
            },
            file,
        ))
    }

    /// Renames the finished (and already fsynced) file to its final name.
    fn commit(mut self) -> SyncResult<()> {
        fs::rename(&self.part, &self.target).map_err(write_failed)?;
        self.committed = true;
        if let Some(dir) = self.target.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Makes the rename itself durable; some file systems (e.g. FAT on a stick) cannot
            // sync a directory, which is not worth failing the export for.
            if let Ok(d) = File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.part);
        }
    }
}

/// Writes everything the hub has not confirmed from this laptop to `path`: its own
/// operations after the last one the hub confirmed, the originals of the photos they refer
/// to, and the originals the hub lacked at the last exchange. Changes nothing on the laptop: the hub confirms later (by a sync over the
/// network), and until then every export carries the same operations again, which the hub
/// recognises as already there.
pub fn export_bundle(
    ctx: &Ctx,
    media: &MediaStore,
    path: &Path,
    progress: &dyn Fn(BundleProgress),
) -> SyncResult<BundleSummary> {
    let me = identity::device_identity(ctx)?;
    if me.role == Some(Role::Hub) {
        return Err(SyncError::new(
            SyncErrorCode::BadRequest,
            "the hub imports bundles; laptops write them",
        ));
    }
    let Some(hub_id) = me.hub_id.clone() else {
        return Err(SyncError::new(
            SyncErrorCode::NotPaired,
            "not paired with a hub",
        ));
    };
    let store = ctx.store();
    let acked: i64 = store
        .read(|c| meta::get(c, ACKED))?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let bundle_id = guanmo_domain::ids::new_id();
    let (part, file) = PartFile::create(path, &bundle_id)?;
    let mut zip = ZipWriter::new(BufWriter::with_capacity(1 << 20, file));
    let fixed = SimpleFileOptions::default()
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let deflated = fixed.compression_method(CompressionMethod::Deflated);
    let stored = fixed.compression_method(CompressionMethod::Stored);

    // 1. The operations, streamed from the store in batches.
    zip.start_file(OPS, deflated).map_err(write_failed)?;
    let mut hasher = blake3::Hasher::new();
    let mut ops_bytes = 0u64;
    let mut range = OpsRange {
        count: 0,
        first_seq: 0,
        last_seq: 0,
    };
    let mut photos = BTreeSet::new();
    let mut after = acked;
    loop {
        let batch = store.read(|c| oplog::own_ops_after(c, &me.id, after, EXPORT_BATCH))?;
        if batch.is_empty() {
            break;
        }
        for op in &batch {
            photo_refs(op, &mut photos);
            let mut line = serde_json::to_vec(op).map_err(json_failed)?;
            line.push(b'\n');
            ops_bytes += line.len() as u64;
            if ops_bytes > MAX_OPS_BYTES {
                return Err(SyncError::new(
                    SyncErrorCode::BadRequest,
                    format!(
                        "more than {} MB of operations wait for the hub; sync over the network",
                        MAX_OPS_BYTES >> 20
                    ),
                ));
            }
            hasher.update(&line);
            zip.write_all(&line).map_err(write_failed)?;
            if range.count == 0 {
                range.first_seq = op.seq;
            }
            range.count += 1;
            range.last_seq = op.seq;
            after = op.seq;
        }
    }
    // Originals the hub still lacked at the last exchange, though it has their operations (a
    // post sent over 4G with its 1600 px copies only).
    photos.extend(store.read(guanmo_store::photos::hub_missing_originals)?);
    if photos.len() > MAX_PHOTOS {
        return Err(SyncError::new(
            SyncErrorCode::BadRequest,
            format!("more than {MAX_PHOTOS} photos wait for the hub; sync over the network"),
        ));
    }
    let mut entries = vec![EntryInfo {
        name: OPS.to_string(),
        size: ops_bytes,
        blake3: hasher.finalize().to_hex().to_string(),
    }];
    let total = u32::try_from(photos.len() + 3).unwrap_or(u32::MAX);
    let mut done = 1u32;
    progress(BundleProgress { done, total });

    // 2. The photos' originals, stored as they are (JPEGs do not compress).
    let mut absent = 0u32;
    let mut buf = vec![0u8; COPY_BUFFER];
    for hash in &photos {
        done += 1;
        match add_photo(&mut zip, media, hash, stored, &mut buf)? {
            Some(entry) => entries.push(entry),
            None => absent += 1,
        }
        progress(BundleProgress { done, total });
    }

    // 3. The manifest and its signature, last: they describe everything above.
    let manifest = Manifest {
        format: FORMAT.to_string(),
        bundle_id: bundle_id.clone(),
        device_id: me.id.clone(),
        device_name: me.name.clone(),
        public_key: me.public_key_hex(),
        hub_id,
        created_at: ctx.now().to_rfc3339_opts(SecondsFormat::Millis, true),
        ops: range,
        entries,
    };
    let manifest_bytes = serde_json::to_vec_pretty(&manifest).map_err(json_failed)?;
    let signature = me.key.sign(&manifest_bytes);
    zip.start_file(MANIFEST, deflated).map_err(write_failed)?;
    zip.write_all(&manifest_bytes).map_err(write_failed)?;
    done += 1;
    progress(BundleProgress { done, total });
    zip.start_file(SIGNATURE, stored).map_err(write_failed)?;
    zip.write_all(to_hex(&signature.to_bytes()).as_bytes())
        .map_err(write_failed)?;
    let file = zip
        .finish()
        .map_err(write_failed)?
        .into_inner()
        .map_err(|e| write_failed(e.error()))?;
    file.sync_all().map_err(write_failed)?;
    let bytes = file.metadata().map_err(write_failed)?.len();
    drop(file);
    part.commit()?;
    done += 1;
    progress(BundleProgress { done, total });
    Ok(BundleSummary {
        ops: u32::try_from(range.count).unwrap_or(u32::MAX),
        photos: u32::try_from(manifest.entries.len() - 1).unwrap_or(u32::MAX),
        bytes,
        bundle_id,
        photos_absent: absent,
    })
}

/// Copies one original into the bundle, hashing as it goes. `None` when this laptop has no
/// intact original of `hash` (the entry is dropped again).
fn add_photo<W: Write + Seek>(
    zip: &mut ZipWriter<W>,
    media: &MediaStore,
    hash: &str,
    options: SimpleFileOptions,
    buf: &mut [u8],
) -> SyncResult<Option<EntryInfo>> {
    let Ok(path) = media.path(hash, Size::Original) else {
        return Ok(None);
    };
    let mut src = File::open(&path).map_err(write_failed)?;
    if src.metadata().map_err(write_failed)?.len() > max_photo_bytes() {
        return Ok(None);
    }
    let name = format!("{PHOTOS}{hash}");
    zip.start_file(name.as_str(), options)
        .map_err(write_failed)?;
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    loop {
        let n = src.read(buf).map_err(write_failed)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        zip.write_all(&buf[..n]).map_err(write_failed)?;
        size += n as u64;
    }
    if hasher.finalize().to_hex().as_str() != hash || size > max_photo_bytes() {
        // The stored original does not match its address (disk damage): leave it out
        // rather than carry bytes the hub would refuse the whole file for.
        tracing::warn!(hash, "photo original does not match its hash; left out");
        zip.abort_file().map_err(write_failed)?;
        return Ok(None);
    }
    Ok(Some(EntryInfo {
        name,
        size,
        blake3: hash.to_string(),
    }))
}

// ---------------------------------------------------------------------------------------
// Import

/// Where each expected entry sits in the archive.
struct Layout {
    manifest: usize,
    signature: usize,
    ops: usize,
    photos: Vec<(usize, String)>,
}

/// Checks the archive's structure without decompressing anything: no duplicate names, local
/// headers consistent with the central directory, only the expected entry names, plain files
/// stored or deflated.
fn check_layout<R: Read + Seek>(zip: &mut ZipArchive<R>) -> SyncResult<Layout> {
    if zip.len() > MAX_PHOTOS + 3 {
        return Err(invalid(format!(
            "the file holds {} entries; a bundle holds at most {}",
            zip.len(),
            MAX_PHOTOS + 3
        )));
    }
    if zip.has_duplicate_names() {
        return Err(invalid("an entry appears twice in the file"));
    }
    zip.validate_header_consistency().map_err(damaged)?;
    let (mut manifest, mut signature, mut ops) = (None, None, None);
    let mut photos = Vec::new();
    for i in 0..zip.len() {
        let entry = zip.by_index_raw(i).map_err(damaged)?;
        let name = entry.name_raw();
        let Some(kind) = classify(name) else {
            return Err(invalid(format!(
                "unexpected entry \"{}\": a bundle holds only manifest.json, manifest.sig, \
                 ops.jsonl and photos/<hash>",
                shown(name)
            )));
        };
        if !entry.is_file() || entry.encrypted() {
            return Err(invalid(format!(
                "entry \"{}\" is not a plain file",
                shown(name)
            )));
        }
        if !matches!(
            entry.compression(),
            CompressionMethod::Stored | CompressionMethod::Deflated
        ) {
            return Err(invalid(format!(
                "entry \"{}\" uses an unsupported compression",
                shown(name)
            )));
        }
        match kind {
            EntryKind::Manifest => manifest = Some(i),
            EntryKind::Signature => signature = Some(i),
            EntryKind::Ops => ops = Some(i),
            EntryKind::Photo(hash) => photos.push((i, hash)),
        }
    }
    let missing = |what: &str| invalid(format!("{what} is missing: not a complete bundle"));
    Ok(Layout {
        manifest: manifest.ok_or_else(|| missing(MANIFEST))?,
        signature: signature.ok_or_else(|| missing(SIGNATURE))?,
        ops: ops.ok_or_else(|| missing(OPS))?,
        photos,
    })
}

/// Reads a whole entry of at most `limit` bytes, counting while decompressing.
fn read_entry<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    index: usize,
    limit: u64,
    what: &str,
) -> SyncResult<Vec<u8>> {
    let entry = zip.by_index(index).map_err(damaged)?;
    if entry.size() > limit {
        return Err(invalid(format!("{what} is over {limit} bytes")));
    }
    // The declared size is only a hint: reserve at most 64 MB up front, grow while reading.
    let hint = entry.size().min(64 << 20);
    let mut out = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
    entry
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| invalid(format!("{what} is damaged ({e})")))?;
    if out.len() as u64 > limit {
        return Err(invalid(format!(
            "{what} unpacks to more than {limit} bytes (a zip bomb?)"
        )));
    }
    Ok(out)
}

/// Reads an entry and checks it against the manifest's size and hash.
fn read_verified<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    index: usize,
    info: &EntryInfo,
) -> SyncResult<Vec<u8>> {
    declared_size(zip, index, info)?;
    let bytes = read_entry(zip, index, info.size, &info.name)?;
    matches_manifest(info, bytes.len() as u64, blake3::hash(&bytes))?;
    Ok(bytes)
}

/// Streams an entry through BLAKE3 and checks it against the manifest, keeping nothing.
fn verify_streamed<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    index: usize,
    info: &EntryInfo,
    buf: &mut [u8],
) -> SyncResult<()> {
    declared_size(zip, index, info)?;
    let entry = zip.by_index(index).map_err(damaged)?;
    let mut reader = entry.take(info.size + 1);
    let mut hasher = blake3::Hasher::new();
    let mut size = 0u64;
    loop {
        let n = reader
            .read(buf)
            .map_err(|e| invalid(format!("{} is damaged ({e})", info.name)))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    matches_manifest(info, size, hasher.finalize())
}

/// The size the zip headers declare must be the manifest's (reading still counts for itself).
fn declared_size<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    index: usize,
    info: &EntryInfo,
) -> SyncResult<()> {
    let declared = zip.by_index_raw(index).map_err(damaged)?.size();
    if declared != info.size {
        return Err(invalid(format!(
            "{}: the file says {declared} bytes, the manifest {}",
            info.name, info.size
        )));
    }
    Ok(())
}

fn matches_manifest(info: &EntryInfo, size: u64, hash: blake3::Hash) -> SyncResult<()> {
    if size != info.size {
        return Err(invalid(format!(
            "{} is {size} bytes, the manifest says {}",
            info.name, info.size
        )));
    }
    if hash.to_hex().as_str() != info.blake3 {
        return Err(invalid(format!(
            "{} does not match its hash in the manifest",
            info.name
        )));
    }
    Ok(())
}

/// The paired device that signed the manifest, by name, once the signature verifies with
/// the key the hub stored at pairing.
fn verify_sender(
    ctx: &Ctx,
    manifest: &Manifest,
    manifest_bytes: &[u8],
    signature: &[u8],
) -> SyncResult<String> {
    if !guanmo_domain::ids::is_id(&manifest.device_id) {
        return Err(invalid("the manifest names no device"));
    }
    let row = ctx
        .store()
        .read(|c| guanmo_store::devices::get(c, &manifest.device_id))?;
    let Some(guanmo_store::devices::Device {
        name,
        role,
        public_key: key_hex,
        revoked_at,
        ..
    }) = row
    else {
        return Err(invalid(format!(
            "signed by device {}, which is not paired with this hub",
            manifest.device_id
        )));
    };
    if role == Role::Hub.as_str() {
        return Err(invalid("signed by a hub; only laptops write bundles"));
    }
    if let Some(at) = revoked_at {
        return Err(invalid(format!(
            "signed by {name}, which this hub revoked at {at}"
        )));
    }
    let key = identity::parse_hex32(&key_hex)
        .and_then(|k| VerifyingKey::from_bytes(&k).ok())
        .ok_or_else(|| {
            SyncError::new(
                SyncErrorCode::Storage,
                format!("the stored key of {name} is unusable"),
            )
        })?;
    if manifest.public_key != key_hex {
        return Err(invalid(format!(
            "signed with a key that {name} did not pair with"
        )));
    }
    let signature =
        parse_signature(signature).ok_or_else(|| invalid("manifest.sig is not a signature"))?;
    key.verify_strict(manifest_bytes, &signature).map_err(|_| {
        invalid(format!(
            "the signature does not verify: the manifest was altered or not signed by {name}"
        ))
    })?;
    Ok(name)
}

/// Checks the manifest's entry list against the archive: the same names, once each, within
/// the caps; a photo's name is its hash. Returns the manifest entry of `ops.jsonl` and of
/// each photo, with the photo's index in the archive.
fn check_entries(
    manifest: &Manifest,
    layout: &Layout,
) -> SyncResult<(EntryInfo, Vec<(usize, EntryInfo)>)> {
    let mut listed: BTreeMap<&str, &EntryInfo> = BTreeMap::new();
    for e in &manifest.entries {
        let kind = classify(e.name.as_bytes()).ok_or_else(|| {
            invalid(format!(
                "the manifest lists an unexpected entry \"{}\"",
                shown(e.name.as_bytes())
            ))
        })?;
        let cap = match &kind {
            EntryKind::Ops => MAX_OPS_BYTES,
            EntryKind::Photo(hash) => {
                if *hash != e.blake3 {
                    return Err(invalid(format!("{} is not named by its hash", e.name)));
                }
                max_photo_bytes()
            }
            EntryKind::Manifest | EntryKind::Signature => {
                return Err(invalid("the manifest lists itself"))
            }
        };
        if !blobs::valid_hash(&e.blake3) {
            return Err(invalid(format!("{} has no valid hash", e.name)));
        }
        if e.size > cap {
            return Err(invalid(format!(
                "{} is {} bytes, over the limit of {cap}",
                e.name, e.size
            )));
        }
        if listed.insert(e.name.as_str(), e).is_some() {
            return Err(invalid(format!("the manifest lists {} twice", e.name)));
        }
    }
    let ops = listed
        .get(OPS)
        .map(|e| (*e).clone())
        .ok_or_else(|| invalid("the manifest does not list ops.jsonl"))?;
    let mut photos = Vec::with_capacity(layout.photos.len());
    for (index, hash) in &layout.photos {
        let name = format!("{PHOTOS}{hash}");
        let info = listed
            .get(name.as_str())
            .ok_or_else(|| invalid(format!("{name} is in the file but not in the manifest")))?;
        photos.push((*index, (*info).clone()));
    }
    if listed.len() != photos.len() + 1 {
        return Err(invalid(
            "the manifest lists entries that are not in the file",
        ));
    }
    Ok((ops, photos))
}

/// Parses `ops.jsonl`: one operation per line, all from the signing device, consecutive
/// sequence numbers, as many and from where the manifest says.
fn parse_ops(bytes: &[u8], manifest: &Manifest) -> SyncResult<Vec<Op>> {
    let body = match bytes.strip_suffix(b"\n") {
        Some(b) => b,
        None if bytes.is_empty() => bytes,
        None => return Err(invalid("ops.jsonl does not end with a line break")),
    };
    let mut ops: Vec<Op> = Vec::new();
    if !body.is_empty() {
        for (i, line) in body.split(|b| *b == b'\n').enumerate() {
            let op: Op = serde_json::from_slice(line)
                .map_err(|e| invalid(format!("ops.jsonl line {}: {e}", i + 1)))?;
            if op.origin != manifest.device_id {
                return Err(invalid(format!(
                    "operation {}#{} is not from the device that signed the bundle",
                    op.origin, op.seq
                )));
            }
            if op.verdict.is_some() {
                // Only the hub gives verdicts; a laptop's own operation carries none.
                return Err(invalid(format!(
                    "operation {}#{} carries a verdict",
                    op.origin, op.seq
                )));
            }
            if let Some(prev) = ops.last() {
                if op.seq != prev.seq + 1 {
                    return Err(invalid(format!(
                        "operations are not consecutive ({} follows {})",
                        op.seq, prev.seq
                    )));
                }
            }
            ops.push(op);
        }
    }
    let range = manifest.ops;
    let first = ops.first().map_or(0, |o| o.seq);
    let last = ops.last().map_or(0, |o| o.seq);
    if ops.len() as u64 != range.count
        || first != range.first_seq
        || last != range.last_seq
        || ops.first().is_some_and(|o| o.seq < 1)
    {
        return Err(invalid(format!(
            "ops.jsonl holds {} operations #{first}..#{last}; the manifest says {} #{}..#{}",
            ops.len(),
            range.count,
            range.first_seq,
            range.last_seq
        )));
    }
    Ok(ops)
}

fn imported_at(
    conn: &rusqlite::Connection,
    bundle_id: &str,
) -> guanmo_store::Result<Option<String>> {
    guanmo_store::devices::bundle_imported_at(conn, bundle_id)
}

fn replayed(at: &str) -> SyncError {
    invalid(format!("this bundle was already imported at {at}"))
}

/// Stores the bundle's photos through the photo pipeline on every core: this thread reads
/// the archive in order (a zip reader is not shared) and hands each photo to a worker that
/// decodes, resizes and stores it. At most one photo waits between them, so memory stays at
/// a few photos whatever the bundle holds. Stops at the first failure. Returns the photos
/// added and those the hub had already.
fn store_photos<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    media: &MediaStore,
    photos: &[(usize, EntryInfo)],
    step: &mut dyn FnMut(u32),
) -> SyncResult<(u32, u32)> {
    let workers = std::thread::available_parallelism()
        .map_or(2, std::num::NonZeroUsize::get)
        .clamp(1, 4);
    let (job_tx, job_rx) = mpsc::sync_channel::<(&str, Vec<u8>)>(1);
    let job_rx = Mutex::new(job_rx);
    let (done_tx, done_rx) = mpsc::channel::<SyncResult<()>>();
    std::thread::scope(|s| {
        for _ in 0..workers {
            let (job_rx, done_tx) = (&job_rx, done_tx.clone());
            s.spawn(move || loop {
                let job = job_rx.lock().unwrap_or_else(PoisonError::into_inner).recv();
                let Ok((hash, bytes)) = job else { break };
                let stored = media
                    .import_owned(bytes, &Limits::default())
                    .map(drop)
                    .map_err(|e| photo_refused(hash, e));
                if done_tx.send(stored).is_err() {
                    break;
                }
            });
        }
        drop(done_tx);
        let (mut added, mut already) = (0u32, 0u32);
        let mut failed: Option<SyncError> = None;
        // One photo's outcome: counted, or the first failure kept.
        let mut settle = |stored: SyncResult<()>, failed: &mut Option<SyncError>| match stored {
            Ok(()) => {
                added += 1;
                step(1);
            }
            Err(e) => {
                failed.get_or_insert(e);
            }
        };
        for (index, info) in photos {
            while let Ok(stored) = done_rx.try_recv() {
                settle(stored, &mut failed);
            }
            if failed.is_some() {
                break;
            }
            if blobs::has_original(media, &info.blake3) {
                already += 1;
                continue;
            }
            match read_verified(zip, *index, info) {
                Ok(bytes) => {
                    if job_tx.send((info.blake3.as_str(), bytes)).is_err() {
                        break;
                    }
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        drop(job_tx);
        for stored in done_rx {
            settle(stored, &mut failed);
        }
        match failed {
            Some(e) => Err(e),
            None => {
                if already > 0 {
                    step(already);
                }
                Ok((added, already))
            }
        }
    })
}

fn photo_refused(hash: &str, e: MediaError) -> SyncError {
    match e {
        MediaError::DiskFull(_) | MediaError::Io(_) => SyncError::new(
            SyncErrorCode::Storage,
            format!("storing photo {hash} failed: {e}"),
        ),
        e => invalid(format!("photo {hash} is not a photo the hub accepts: {e}")),
    }
}

fn hash_file(path: &Path) -> SyncResult<String> {
    let mut f = File::open(path).map_err(damaged)?;
    let mut hasher = blake3::Hasher::new();
    let mut buf = vec![0u8; COPY_BUFFER];
    loop {
        let n = f.read(&mut buf).map_err(damaged)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().to_hex().to_string())
}

fn count32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Checks and applies a bundle file at the hub, all or nothing. A bundle is refused as a
/// whole (`BundleInvalid`, with the reason, nothing applied) when the file is damaged or
/// incomplete, holds anything but the expected entries, disagrees with its manifest, is not
/// signed by a paired and unrevoked device with the key it paired with, is written for
/// another hub, carries another device's operations, or was imported before.
pub fn import_bundle(
    ctx: &Ctx,
    media: &MediaStore,
    path: &Path,
    progress: &dyn Fn(BundleProgress),
) -> SyncResult<BundleReport> {
    let me = identity::hub_identity(ctx, "only the organiser's hub imports bundles")?;
    let file = File::open(path).map_err(|e| invalid(format!("cannot open the file: {e}")))?;
    let mut zip = ZipArchive::new(BufReader::with_capacity(COPY_BUFFER, file)).map_err(damaged)?;

    // 1. Structure and names, before anything is decompressed.
    let layout = check_layout(&mut zip)?;
    let total = count32(zip.len() + layout.photos.len() + 1);
    let mut done = 0u32;
    let mut step = |n: u32| {
        done += n;
        progress(BundleProgress { done, total });
    };

    // 2. The manifest, trusted only once the paired device's key verifies its signature.
    let manifest_bytes = read_entry(&mut zip, layout.manifest, MAX_MANIFEST_BYTES, MANIFEST)?;
    let signature = read_entry(&mut zip, layout.signature, MAX_SIGNATURE_BYTES, SIGNATURE)?;
    step(2);
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| invalid(format!("manifest.json is not a bundle manifest ({e})")))?;
    let device_name = verify_sender(ctx, &manifest, &manifest_bytes, &signature)?;
    if manifest.format != FORMAT {
        return Err(invalid(format!(
            "unknown bundle format {:?}; this version reads {FORMAT}",
            manifest.format
        )));
    }
    if manifest.hub_id != me.id {
        return Err(invalid("the bundle was written for another hub"));
    }
    if !guanmo_domain::ids::is_id(&manifest.bundle_id) {
        return Err(invalid("the manifest has no valid bundle id"));
    }
    if let Some(at) = ctx.store().read(|c| imported_at(c, &manifest.bundle_id))? {
        return Err(replayed(&at));
    }

    // 3. Every entry against the manifest.
    let (ops_info, photos) = check_entries(&manifest, &layout)?;
    let ops_bytes = read_verified(&mut zip, layout.ops, &ops_info)?;
    let ops = parse_ops(&ops_bytes, &manifest)?;
    drop(ops_bytes);
    step(1);
    let mut refs = BTreeSet::new();
    for op in &ops {
        photo_refs(op, &mut refs);
    }
    // Or a photo the hub already has the record of (its post or sheet came over the network
    // with 1600 px copies only): the bytes are checked against the hash like any other.
    let unreferenced: Vec<&String> = photos
        .iter()
        .map(|(_, i)| &i.blake3)
        .filter(|h| !refs.contains(*h))
        .collect();
    let known_here: BTreeSet<String> = ctx.store().read(|c| {
        let mut known = BTreeSet::new();
        for h in &unreferenced {
            if guanmo_store::photos::exists(c, h)? {
                known.insert((*h).clone());
            }
        }
        Ok(known)
    })?;
    refs.extend(known_here);
    if let Some((_, info)) = photos.iter().find(|(_, i)| !refs.contains(&i.blake3)) {
        return Err(invalid(format!(
            "{} is in the bundle but no operation refers to it",
            info.name
        )));
    }
    let mut buf = vec![0u8; COPY_BUFFER];
    for (index, info) in &photos {
        verify_streamed(&mut zip, *index, info, &mut buf)?;
        step(1);
    }

    // 4. Every check passed: the photos through the photo pipeline (idempotent: they are
    // content-addressed), then the operations and the record of this bundle in one
    // transaction.
    let (photos_added, photos_already) = store_photos(&mut zip, media, &photos, &mut step)?;
    let photos_missing = count32(
        refs.iter()
            .filter(|h| !blobs::has_original(media, h))
            .count(),
    );
    let file_hash = hash_file(path)?;
    let rules = identity::rules(&me);
    let outcome = ctx.store().write_without_ops(ctx.now(), "sync", |tx| {
        if let Some(at) = imported_at(tx.conn(), &manifest.bundle_id)? {
            return Ok(Err(replayed(&at)));
        }
        let r = oplog::apply_remote(tx, &rules, &ops)?;
        let report = BundleReport {
            device_id: manifest.device_id.clone(),
            device_name: device_name.clone(),
            applied: r.applied + r.released,
            already: r.already,
            refused: r
                .refused
                .iter()
                .map(|n| RefusedOp {
                    origin: n.op.origin.clone(),
                    seq: u32::try_from(n.op.seq).unwrap_or(u32::MAX),
                    code: n.code.clone(),
                    detail: n.detail.clone(),
                })
                .collect(),
            still_missing: r.held,
            photos_added,
            photos_already,
            bundle_id: manifest.bundle_id.clone(),
            ops: count32(ops.len()),
            conflicts: r.superseded,
            photos_missing,
        };
        guanmo_store::devices::record_bundle(
            tx,
            &manifest.bundle_id,
            &manifest.device_id,
            &file_hash,
            &serde_json::to_string(&report)?,
        )?;
        tx.record(ChangeInput {
            entity: "device",
            entity_id: manifest.device_id.clone(),
            op: "bundle",
            payload: serde_json::json!({
                "bundle_id": manifest.bundle_id,
                "applied": report.applied,
                "refused": report.refused.len(),
                "still_missing": report.still_missing,
            }),
        })?;
        Ok(Ok(report))
    })?;
    let report = outcome?;
    drop(ops);
    step(1);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_expected_entry_names_are_recognised() {
        let hash = "ab".repeat(32);
        assert_eq!(classify(b"ops.jsonl"), Some(EntryKind::Ops));
        assert_eq!(classify(b"manifest.json"), Some(EntryKind::Manifest));
        assert_eq!(classify(b"manifest.sig"), Some(EntryKind::Signature));
        assert_eq!(
            classify(format!("photos/{hash}").as_bytes()),
            Some(EntryKind::Photo(hash.clone()))
        );
        for bad in [
            "../../x".to_string(),
            "/etc/passwd".to_string(),
            "./ops.jsonl".to_string(),
            "ops.jsonl/".to_string(),
            "ops.sqlite".to_string(),
            "photos/".to_string(),
            format!("photos/{}", hash.to_uppercase()),
            format!("photos\\{hash}"),
            format!("photos/../{hash}"),
            format!("photos/{hash}/x"),
            format!("/photos/{hash}"),
            "manifest.json\0".to_string(),
        ] {
            assert_eq!(classify(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn a_signature_is_exactly_128_lowercase_hex_characters() {
        let ok = "0f".repeat(64);
        assert!(parse_signature(ok.as_bytes()).is_some());
        assert!(parse_signature(ok.to_uppercase().as_bytes()).is_none());
        assert!(parse_signature(format!("{ok}\n").as_bytes()).is_none());
        assert!(parse_signature(&ok.as_bytes()[..126]).is_none());
    }

    #[test]
    fn sheets_posts_and_photo_metadata_name_the_photos_they_need() {
        let h1 = "1".repeat(64);
        let h2 = "2".repeat(64);
        let op = |kind: &str, entity: &str, payload: Value| Op {
            origin: "d".into(),
            seq: 1,
            hlc: String::new(),
            kind: kind.into(),
            entity_id: entity.into(),
            base: None,
            at: String::new(),
            actor: String::new(),
            payload,
            verdict: None,
        };
        let mut refs = BTreeSet::new();
        photo_refs(&op("photo", &h1, Value::Null), &mut refs);
        photo_refs(
            &op(
                "sheet",
                "s",
                serde_json::json!({"sheet_evidence": [{"hash": h2}, {"hash": "../x"}]}),
            ),
            &mut refs,
        );
        photo_refs(
            &op("roster", "*", serde_json::json!({"townships": []})),
            &mut refs,
        );
        assert_eq!(refs.into_iter().collect::<Vec<_>>(), vec![h1, h2]);
    }
}
