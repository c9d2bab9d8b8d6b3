//! 一键备份 / 恢复: the whole data folder (the database and every file of the photo store) as
//! one `.gmbak` file, and back.
//!
//! The file is a zip laid out as the data folder is: `guanmo.sqlite3` (a consistent snapshot taken while the app runs,
//! never a byte copy of the live WAL database), `phone.key` (the key residents' phone numbers
//! are sealed with, see `guanmo_store::phone_crypt`: a restored database is unreadable without
//! it, so the backup carries it and is as secret as the data folder), `objects/…` (the photo
//! store as it lies on disk), and `manifest.json` last, naming the format, the app and schema versions, the
//! device, the row count of every table and the SHA-256 of every other entry. The zip's
//! comment, the file's last bytes, is the SHA-256 of every byte before it: one changed byte
//! anywhere in the file (a zip header included) is found before anything is unpacked.
//!
//! Invariants: a backup appears under its final name complete and fsynced, or not at all (a
//! cancel or an error leaves no file). A restore checks everything before it touches the data
//! folder (manifest, format and schema versions, every entry's SHA-256, the database's
//! integrity and row counts), unpacks beside the folder, and puts the result in place by
//! renames; a refused or cancelled restore leaves the folder as it was. Replacing a folder
//! that holds data first backs that data up in the same format.

use crate::ctx::DB_FILE;
use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use chrono::{DateTime, SecondsFormat, Utc};
use guanmo_store::backup::{check_copy, copy_database};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use specta::Type;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// The format's name in `manifest.json`.
pub const FORMAT: &str = "guanmo-backup";
/// The newest format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// File extension of a backup.
pub const EXTENSION: &str = "gmbak";

const MANIFEST: &str = "manifest.json";
/// The zip comment: this, then the hex SHA-256 of every byte of the file before the hex.
const SEAL_PREFIX: &str = "guanmo-backup sha256:";
/// Hex digits of a SHA-256.
const SEAL_HEX: u64 = 64;
/// The database's entry in the file: entries lie as they do in the data folder.
const DB_ENTRY: &str = DB_FILE;
/// The phone-number key's entry in the file, as in the data folder.
const KEY_ENTRY: &str = guanmo_store::phone_crypt::KEY_FILE;
/// The photo store's folder, in the data folder and in the file.
const OBJECTS: &str = "objects";
/// A manifest bigger than this is not one this app wrote (100,000 photos take ~15 MB).
const MAX_MANIFEST_BYTES: u64 = 64 << 20;
/// Bytes copied between polls of `cancel`.
const CHUNK: usize = 1 << 20;

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// What a backup file says about itself (`manifest.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// The format version ([`FORMAT_VERSION`] when written by this build).
    pub format_version: u32,
    /// Version of the app that wrote it.
    pub app_version: String,
    /// The database's schema version (`user_version`).
    pub schema_version: i64,
    /// When the backup was taken (RFC 3339, UTC).
    pub created_at: String,
    /// The device whose data it is.
    pub device_id: Option<String>,
    /// Rows per table in the database copy.
    pub tables: BTreeMap<String, u64>,
    /// Every other entry of the file with its size and SHA-256.
    pub entries: Vec<ManifestEntry>,
}

/// One entry of a backup file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestEntry {
    /// Its path in the file and the data folder (`guanmo.sqlite3`, `objects/ab/cd/<name>`).
    pub path: String,
    /// Its size, uncompressed.
    pub bytes: u64,
    /// SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
}

/// What a backup or restore is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum BackupPhase {
    /// Copying the database (a consistent snapshot) into the file.
    Database,
    /// Copying the photo store into the file.
    Photos,
    /// Writing the manifest, fsync and rename.
    Finishing,
    /// Restore: checking every entry against the manifest while unpacking beside the folder.
    Verifying,
    /// Restore with replace: backing up the data being replaced.
    SavingCurrent,
    /// Restore: putting the checked data in place.
    Swapping,
}

/// Progress of a backup or restore: bytes and files done of the whole job.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BackupProgress {
    /// What it is doing.
    pub phase: BackupPhase,
    /// Bytes done (the database counts by its size on disk).
    pub bytes_done: f64,
    /// Bytes in all.
    pub bytes_total: f64,
    /// Files done (the database and each photo file).
    pub items_done: u32,
    /// Files in all.
    pub items_total: u32,
}

/// A finished backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BackupSummary {
    /// Where it was written.
    pub path: String,
    /// Size of the file.
    #[specta(type = f64)]
    pub file_bytes: u64,
    /// Photo files in it.
    pub photo_files: u32,
    /// Their bytes.
    #[specta(type = f64)]
    pub photo_bytes: u64,
    /// The database's schema version.
    #[specta(type = f64)]
    pub schema_version: i64,
    /// Rows in all tables.
    #[specta(type = f64)]
    pub rows: u64,
    /// When it was taken (RFC 3339, UTC).
    pub created_at: String,
    /// How long it took, in milliseconds.
    #[specta(type = f64)]
    pub millis: u64,
}

/// Where a restore may write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RestoreMode {
    /// Only into a missing or empty data folder.
    IntoEmpty,
    /// Replace what the folder holds. Its data is first backed up (same format) into
    /// `keep_in`, or beside the folder when `None`.
    Replace {
        /// Folder for the automatic backup of the replaced data.
        keep_in: Option<PathBuf>,
    },
}

/// A finished restore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct RestoreSummary {
    /// The restored data's schema version (migrated when the app next opens it).
    #[specta(type = f64)]
    pub schema_version: i64,
    /// When the backup was taken.
    pub created_at: String,
    /// The device whose data it is.
    pub device_id: Option<String>,
    /// Photo files restored.
    pub photo_files: u32,
    /// Rows in all tables.
    #[specta(type = f64)]
    pub rows: u64,
    /// The automatic backup of the replaced data, when there was any (or, when the replaced
    /// folder held no database, the replaced folder itself, kept beside the new one).
    pub previous_data_backup: Option<String>,
}

/// `guanmo-backup-<UTC yyyymmddTHHMM>.gmbak`.
pub fn default_file_name(now: DateTime<Utc>) -> String {
    format!("guanmo-backup-{}.{EXTENSION}", now.format("%Y%m%dT%H%M"))
}

/// `out` itself, or, when it is a folder, a new [`default_file_name`] in it (`-2`, `-3`…
/// added when one of that minute is already there).
pub fn resolve_out(out: &Path, now: DateTime<Utc>) -> PathBuf {
    if !out.is_dir() {
        return out.to_path_buf();
    }
    let name = default_file_name(now);
    let mut path = out.join(&name);
    let stem = name.trim_end_matches(&format!(".{EXTENSION}")).to_string();
    let mut n = 2;
    while path.exists() {
        path = out.join(format!("{stem}-{n}.{EXTENSION}"));
        n += 1;
    }
    path
}

/// Backs up the open data folder of `ctx` to `out` (see [`backup_folder`]).
pub fn backup(
    ctx: &Ctx,
    out: &Path,
    progress: &dyn Fn(BackupProgress),
    cancel: &AtomicBool,
) -> ApiResult<BackupSummary> {
    backup_folder(ctx.data_dir(), ctx.now(), out, progress, cancel)
}

/// Writes the data folder `data_dir` (which may be open and written by this or another
/// process: the database is copied as one snapshot) to the backup file `out`, stamped `now`.
/// The file appears complete or not at all; it is readable by its owner only.
pub fn backup_folder(
    data_dir: &Path,
    now: DateTime<Utc>,
    out: &Path,
    progress: &dyn Fn(BackupProgress),
    cancel: &AtomicBool,
) -> ApiResult<BackupSummary> {
    let started = Instant::now();
    let db = data_dir.join(DB_FILE);
    if !db.is_file() {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            format!(
                "数据文件夹 {} 中没有观摩的数据库,无法备份。",
                data_dir.display()
            ),
        ));
    }
    // An estimate for the progress; the photos copied are listed after the snapshot.
    let estimate = list_photos(&data_dir.join(OBJECTS)).map_err(io_failed)?;
    let db_bytes = db_size(&db);
    let mut tally = Tally {
        progress,
        bytes_total: db_bytes.saturating_add(estimate.iter().map(|p| p.bytes).sum()),
        items_total: u32::try_from(estimate.len() + 1).unwrap_or(u32::MAX),
        bytes_done: 0,
        items_done: 0,
    };

    let temp = TempPath::beside(out, "partial")?;
    let snapshot = TempPath::beside(out, "db")?;

    // 1. The database, as one moment, into a file of our own.
    tally.report(BackupPhase::Database);
    let facts = copy_database(
        &db,
        &snapshot.path,
        &mut |done, total| {
            // The snapshot is the first half of the database's share, compressing it the second.
            tally.report_at(BackupPhase::Database, scale(done, total, db_bytes / 2));
        },
        cancel,
    )?;
    tally.bytes_done = db_bytes / 2;
    // Listed after the snapshot: a photo's files are written before the row that names it, so
    // every photo the snapshot refers to is on disk by now.
    let photos = list_photos(&data_dir.join(OBJECTS)).map_err(io_failed)?;
    tally.bytes_total = db_bytes.saturating_add(photos.iter().map(|p| p.bytes).sum());
    tally.items_total = u32::try_from(photos.len() + 1).unwrap_or(u32::MAX);

    let file = create_private(&temp.path).map_err(io_failed)?;
    let mut zip = ZipWriter::new(BufWriter::with_capacity(CHUNK, file));
    let fixed = SimpleFileOptions::default().unix_permissions(0o600);
    let mut entries = Vec::with_capacity(photos.len() + 1);

    // 2. Its bytes into the file.
    let db_len = fs::metadata(&snapshot.path).map_err(io_failed)?.len();
    let options = fixed
        .compression_method(CompressionMethod::Deflated)
        .large_file(db_len >= u64::from(u32::MAX));
    zip.start_file(DB_ENTRY, options).map_err(zip_failed)?;
    let db_share = db_bytes - db_bytes / 2;
    let source = File::open(&snapshot.path).map_err(io_failed)?;
    let entry = copy_in(source, &mut zip, cancel, &mut |n| {
        tally.advance(BackupPhase::Database, scale(n, db_len, db_share))
    })?;
    entries.push(ManifestEntry {
        path: DB_ENTRY.to_string(),
        ..entry
    });
    tally.bytes_done = db_bytes;
    tally.items_done = 1;
    drop(snapshot);

    // 2b. The phone-number key, when the folder has one (made once, never changed). A restore
    // puts it back beside the database, which cannot open its residents' numbers without it.
    match File::open(data_dir.join(KEY_ENTRY)) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_failed(e)),
        Ok(source) => {
            zip.start_file(
                KEY_ENTRY,
                fixed.compression_method(CompressionMethod::Stored),
            )
            .map_err(zip_failed)?;
            let entry = copy_in(source, &mut zip, cancel, &mut |_| {})?;
            entries.push(ManifestEntry {
                path: KEY_ENTRY.to_string(),
                ..entry
            });
        }
    }

    // 3. The photo store, file by file (JPEGs do not compress: stored as they are).
    let stored = fixed.compression_method(CompressionMethod::Stored);
    let mut photo_files = 0u32;
    let mut photo_written = 0u64;
    for photo in &photos {
        if cancel.load(Ordering::Relaxed) {
            return Err(cancelled());
        }
        let source = match File::open(data_dir.join(&photo.path)) {
            // An import that failed removes what it had written: nothing refers to it.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            other => other.map_err(io_failed)?,
        };
        let options = stored.large_file(photo.bytes >= u64::from(u32::MAX));
        zip.start_file(photo.path.as_str(), options)
            .map_err(zip_failed)?;
        let entry = copy_in(source, &mut zip, cancel, &mut |n| {
            tally.advance(BackupPhase::Photos, n)
        })?;
        photo_written += entry.bytes;
        photo_files += 1;
        tally.items_done += 1;
        tally.report(BackupPhase::Photos);
        entries.push(ManifestEntry {
            path: photo.path.clone(),
            ..entry
        });
    }

    // 4. The manifest, last: it names every entry's hash.
    tally.report(BackupPhase::Finishing);
    let manifest = Manifest {
        format: FORMAT.to_string(),
        format_version: FORMAT_VERSION,
        app_version: env!("CARGO_PKG_VERSION").to_string(),
        schema_version: facts.schema_version,
        created_at: now.to_rfc3339_opts(SecondsFormat::Secs, true),
        device_id: facts.device_id.clone(),
        tables: facts.tables.clone(),
        entries,
    };
    let json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    zip.start_file(
        MANIFEST,
        fixed.compression_method(CompressionMethod::Deflated),
    )
    .map_err(zip_failed)?;
    zip.write_all(&json).map_err(io_failed)?;
    // A placeholder the seal is written over once every byte before it is final.
    zip.set_comment(format!("{SEAL_PREFIX}{}", "0".repeat(64)))
        .map_err(zip_failed)?;
    let writer = zip.finish().map_err(zip_failed)?;
    let file = writer.into_inner().map_err(|e| io_failed(e.into_error()))?;
    drop(file);
    seal(&temp.path, cancel)?;
    if cancel.load(Ordering::Relaxed) {
        return Err(cancelled());
    }
    temp.commit(out)?;
    let file_bytes = fs::metadata(out).map_err(io_failed)?.len();
    tally.bytes_done = tally.bytes_total;
    tally.report(BackupPhase::Finishing);
    Ok(BackupSummary {
        path: out.display().to_string(),
        file_bytes,
        photo_files,
        photo_bytes: photo_written,
        schema_version: facts.schema_version,
        rows: facts.tables.values().sum(),
        created_at: manifest.created_at,
        millis: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}

/// Writes the hex SHA-256 of every byte before the file's last [`SEAL_HEX`] over them, and
/// fsyncs the file.
fn seal(path: &Path, cancel: &AtomicBool) -> ApiResult<()> {
    let mut file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_failed)?;
    let len = file.metadata().map_err(io_failed)?.len();
    let body = len
        .checked_sub(SEAL_HEX)
        .ok_or_else(|| ApiError::new(ErrorCode::Internal, "backup file too short to seal"))?;
    let digest = digest_of(&mut file, body, cancel, &mut |_| {}, cancelled)?;
    file.seek(std::io::SeekFrom::Start(body))
        .map_err(io_failed)?;
    file.write_all(digest.as_bytes()).map_err(io_failed)?;
    file.sync_all().map_err(io_failed)?;
    Ok(())
}

/// Checks the seal of the backup file at `path`: its comment is there (else the file is
/// incomplete or not a backup) and matches the SHA-256 of every byte before it.
fn check_seal(path: &Path, cancel: &AtomicBool, on_chunk: &mut dyn FnMut(u64)) -> ApiResult<()> {
    let mut file = File::open(path).map_err(|e| {
        ApiError::new(
            ErrorCode::FileUnreadable,
            format!("无法读取备份文件 {}:{e}", path.display()),
        )
    })?;
    let len = file.metadata().map_err(io_failed)?.len();
    let tail = SEAL_PREFIX.len() as u64 + SEAL_HEX;
    if len < tail {
        return Err(unreadable("文件过短".to_string()));
    }
    let mut end = vec![0u8; usize::try_from(tail).unwrap_or(0)];
    file.seek(std::io::SeekFrom::Start(len - tail))
        .map_err(io_failed)?;
    file.read_exact(&mut end).map_err(io_failed)?;
    if !end.starts_with(SEAL_PREFIX.as_bytes()) {
        return Err(unreadable("文件末尾缺少校验值,可能未复制完整".to_string()));
    }
    file.rewind().map_err(io_failed)?;
    let digest = digest_of(
        &mut file,
        len - SEAL_HEX,
        cancel,
        on_chunk,
        cancelled_restore,
    )?;
    if digest.as_bytes() != &end[SEAL_PREFIX.len()..] {
        return Err(damaged("整个文件的校验值(SHA-256)不符".to_string()));
    }
    Ok(())
}

/// Hex SHA-256 of the first `len` bytes read from `file`.
fn digest_of(
    file: &mut File,
    len: u64,
    cancel: &AtomicBool,
    on_chunk: &mut dyn FnMut(u64),
    on_cancel: fn() -> ApiError,
) -> ApiResult<String> {
    let mut reader = BufReader::with_capacity(CHUNK, file).take(len);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut read = 0u64;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(on_cancel());
        }
        let n = reader.read(&mut buf).map_err(io_failed)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        read += n as u64;
        on_chunk(n as u64);
    }
    if read != len {
        return Err(unreadable("文件读取不完整".to_string()));
    }
    Ok(hex(&hasher.finalize()))
}

/// Reads and checks only the manifest of the backup file at `file` (no entry is unpacked):
/// for showing what a backup holds before restoring it.
pub fn read_manifest(file: &Path) -> ApiResult<Manifest> {
    let mut zip = open_archive(file)?;
    let manifest = manifest_of(&mut zip)?;
    check_versions(&manifest)?;
    Ok(manifest)
}

/// Restores the backup file `file` into the data folder `target`, stamped `now` (the name of
/// the automatic backup of replaced data). Everything is checked before the folder is
/// touched: the manifest, the format and schema versions (a backup from a newer version is
/// refused with [`ErrorCode::DataNewerThanApp`]), each entry's SHA-256, the database's
/// integrity and its row counts. [`RestoreMode::IntoEmpty`] refuses a folder holding anything
/// ([`ErrorCode::RestoreTargetNotEmpty`]). The data is unpacked into a folder beside `target`
/// and put in place by renames. Files of the replaced folder other than its database and
/// photo store (the copies kept before migrations, say) move into the new one.
///
/// No app may have `target` open meanwhile.
pub fn restore(
    file: &Path,
    target: &Path,
    mode: &RestoreMode,
    now: DateTime<Utc>,
    progress: &dyn Fn(BackupProgress),
    cancel: &AtomicBool,
) -> ApiResult<RestoreSummary> {
    if *mode == RestoreMode::IntoEmpty && holds_anything(target).map_err(io_failed)? {
        return Err(not_empty(target));
    }
    // 1. The whole file against its seal, then its manifest and layout.
    let file_len = fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let mut tally = Tally {
        progress,
        bytes_total: file_len,
        items_total: 0,
        bytes_done: 0,
        items_done: 0,
    };
    tally.report(BackupPhase::Verifying);
    check_seal(file, cancel, &mut |n| {
        tally.advance(BackupPhase::Verifying, n)
    })?;
    let mut zip = open_archive(file)?;
    let manifest = manifest_of(&mut zip)?;
    check_versions(&manifest)?;
    check_layout(&mut zip, &manifest)?;
    let entry_bytes: u64 = manifest.entries.iter().map(|e| e.bytes).sum();
    tally.bytes_total = file_len.saturating_add(entry_bytes);
    tally.items_total = u32::try_from(manifest.entries.len()).unwrap_or(u32::MAX);

    let (parent, name) = split_target(target)?;
    fs::create_dir_all(&parent).map_err(io_failed)?;
    let staging = TempDir::create(&parent, &format!(".{name}.restoring"))?;

    // 2. Unpack beside the folder, checking each entry's size and hash.
    let mut made_dirs = BTreeSet::new();
    for entry in &manifest.entries {
        if cancel.load(Ordering::Relaxed) {
            return Err(cancelled_restore());
        }
        let dest = staging
            .path
            .join(entry.path.replace('/', std::path::MAIN_SEPARATOR_STR));
        if let Some(dir) = dest.parent() {
            if made_dirs.insert(dir.to_path_buf()) {
                fs::create_dir_all(dir).map_err(io_failed)?;
            }
        }
        unpack(&mut zip, entry, &dest, cancel, &mut |n| {
            tally.advance(BackupPhase::Verifying, n)
        })?;
        tally.items_done += 1;
    }
    for dir in &made_dirs {
        sync_dir(dir);
    }

    // 3. The database: sound, of the version and with the rows the manifest says.
    let db = staging.path.join(DB_FILE);
    let check = check_copy(&db).map_err(|e| damaged(format!("数据库无法读取:{e}")))?;
    let Some(facts) = check.facts.as_ref().filter(|_| check.is_ok()) else {
        return Err(damaged(format!(
            "数据库完整性检查未通过:{}",
            check.integrity.join("; ")
        )));
    };
    if facts.schema_version != manifest.schema_version || facts.tables != manifest.tables {
        return Err(damaged("数据库的版本或各表行数与备份清单不符".to_string()));
    }
    guanmo_store::phone_crypt::check_key_of_copy(&db, &staging.path.join(KEY_ENTRY)).map_err(
        |e| {
            damaged(format!(
                "备份中的手机号密钥(phone.key)缺失或与数据库不符,恢复后居民手机号将无法读取:{e}"
            ))
        },
    )?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&staging.path, fs::Permissions::from_mode(0o700)).map_err(io_failed)?;
        fs::set_permissions(&db, fs::Permissions::from_mode(0o600)).map_err(io_failed)?;
    }
    fs::create_dir_all(staging.path.join(OBJECTS)).map_err(io_failed)?;
    if cancel.load(Ordering::Relaxed) {
        return Err(cancelled_restore());
    }

    // 4 and 5. The data being replaced backed up first, then the new folder into place.
    let keep_in = match mode {
        RestoreMode::Replace { keep_in } => Some(keep_in.clone()),
        RestoreMode::IntoEmpty => None,
    };
    let previous = put_in_place(
        &staging.path,
        target,
        keep_in.as_ref().map(Option::as_deref),
        now,
        &mut tally,
        cancel,
    )?;
    staging.keep();
    Ok(RestoreSummary {
        schema_version: manifest.schema_version,
        created_at: manifest.created_at.clone(),
        device_id: manifest.device_id.clone(),
        photo_files: u32::try_from(photo_entries(&manifest)).unwrap_or(u32::MAX),
        rows: manifest.tables.values().sum(),
        previous_data_backup: previous.map(|p| p.display().to_string()),
    })
}

/// Puts the checked folder `staged` (beside `target`) in `target`'s place. When `target`
/// holds anything, `replace` must be given (else nothing moves): its data is first backed up
/// into `replace`'s folder (or beside `target`), then it is swapped out by two renames (put
/// back if the second fails), its other files carried over, and it is removed once nothing of
/// it is lost. Returns the backup of the replaced data, or the replaced folder itself when
/// it is kept (it held no database, or a file could not be carried over).
fn put_in_place(
    staged: &Path,
    target: &Path,
    replace: Option<Option<&Path>>,
    now: DateTime<Utc>,
    tally: &mut Tally<'_>,
    cancel: &AtomicBool,
) -> ApiResult<Option<PathBuf>> {
    let (parent, name) = split_target(target)?;
    let occupied = holds_anything(target).map_err(io_failed)?;
    if !occupied {
        tally.report(BackupPhase::Swapping);
        if target.exists() {
            fs::remove_dir(target).map_err(io_failed)?;
        }
        fs::rename(staged, target).map_err(io_failed)?;
        sync_dir(&parent);
        tally.bytes_done = tally.bytes_total;
        tally.report(BackupPhase::Swapping);
        return Ok(None);
    }
    let Some(keep_in) = replace else {
        return Err(not_empty(target));
    };
    let mut previous = None;
    if target.join(DB_FILE).is_file() {
        tally.report(BackupPhase::SavingCurrent);
        let dir = keep_in.map_or_else(|| parent.clone(), Path::to_path_buf);
        fs::create_dir_all(&dir).map_err(io_failed)?;
        let out = unique(
            &dir,
            &format!("guanmo-before-restore-{}", now.format("%Y%m%dT%H%M%S")),
        );
        backup_folder(target, now, &out, &|_| {}, cancel)?;
        previous = Some(out);
    }
    tally.report(BackupPhase::Swapping);
    let old = unique_dir(&parent, &format!(".{name}.replaced"));
    fs::rename(target, &old).map_err(io_failed)?;
    if let Err(e) = fs::rename(staged, target) {
        // Put the old folder back: the folder is never left missing.
        let _ = fs::rename(&old, target);
        return Err(io_failed(e));
    }
    sync_dir(&parent);
    // The rest of the old folder follows; it is removed only once nothing of it is lost.
    match carry_over(&old, target) {
        Ok(()) if previous.is_some() => {
            if let Err(e) = fs::remove_dir_all(&old) {
                tracing::warn!(error = %e, path = %old.display(), "could not remove the replaced data folder");
            }
        }
        result => {
            if let Err(e) = result {
                tracing::warn!(error = %e, path = %old.display(), "kept the replaced data folder");
            }
            previous = previous.or(Some(old));
        }
    }
    tally.bytes_done = tally.bytes_total;
    tally.report(BackupPhase::Swapping);
    Ok(previous)
}

/// Where a restore staged for the next start waits: a folder beside the data folder.
pub fn pending_restore_dir(data_dir: &Path) -> ApiResult<PathBuf> {
    let (parent, name) = split_target(data_dir)?;
    Ok(parent.join(format!(".{name}.pending-restore")))
}

/// Restore for an app that has `data_dir` open (the desktop): checks and unpacks the backup
/// file `file` now, exactly as [`restore`] does, into [`pending_restore_dir`], where it waits
/// for [`apply_pending_restore`] at the next start, before the data folder is opened. A restore
/// staged earlier and not applied is replaced.
pub fn stage_restore(
    file: &Path,
    data_dir: &Path,
    now: DateTime<Utc>,
    progress: &dyn Fn(BackupProgress),
    cancel: &AtomicBool,
) -> ApiResult<RestoreSummary> {
    let pending = pending_restore_dir(data_dir)?;
    if pending.exists() {
        fs::remove_dir_all(&pending).map_err(io_failed)?;
    }
    restore(
        file,
        &pending,
        &RestoreMode::IntoEmpty,
        now,
        progress,
        cancel,
    )
}

/// Whether a restore staged by [`stage_restore`] waits for the next start.
pub fn has_pending_restore(data_dir: &Path) -> ApiResult<bool> {
    Ok(pending_restore_dir(data_dir)?.join(DB_FILE).is_file())
}

/// Drops a restore staged by [`stage_restore`] and not yet applied. Returns whether one was
/// waiting.
pub fn discard_pending_restore(data_dir: &Path) -> ApiResult<bool> {
    let pending = pending_restore_dir(data_dir)?;
    if !pending.exists() {
        return Ok(false);
    }
    fs::remove_dir_all(&pending).map_err(io_failed)?;
    Ok(true)
}

/// At start, before `data_dir` is opened: puts a restore staged by [`stage_restore`] in
/// place, the current data first backed up beside the data folder (see [`restore`] with
/// [`RestoreMode::Replace`]). Returns the automatic backup's path, if one was made; `Ok(None)`
/// also when nothing was staged. A crash midway leaves either the old folder or the new
/// one in place, and the staged folder for the next start.
pub fn apply_pending_restore(data_dir: &Path, now: DateTime<Utc>) -> ApiResult<Option<PathBuf>> {
    let pending = pending_restore_dir(data_dir)?;
    if !pending.join(DB_FILE).is_file() {
        return Ok(None);
    }
    let quiet = |_: BackupProgress| {};
    let mut tally = Tally {
        progress: &quiet,
        bytes_total: 0,
        items_total: 0,
        bytes_done: 0,
        items_done: 0,
    };
    let previous = put_in_place(
        &pending,
        data_dir,
        Some(None),
        now,
        &mut tally,
        &AtomicBool::new(false),
    )?;
    tracing::info!(data_dir = %data_dir.display(), previous = ?previous, "applied the staged restore");
    Ok(previous)
}

/// One file of the photo store: its path in the data folder and the backup (`/`-separated).
struct Photo {
    path: String,
    bytes: u64,
}

/// Every file under `objects` (sorted), without the photo store's temporary files.
fn list_photos(objects: &Path) -> std::io::Result<Vec<Photo>> {
    let mut out = Vec::new();
    if objects.is_dir() {
        walk(objects, OBJECTS, &mut out)?;
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<Photo>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if !safe_component(&name) || name.starts_with(".tmp-") {
            continue;
        }
        let kind = entry.file_type()?;
        let path = format!("{rel}/{name}");
        if kind.is_dir() {
            walk(&entry.path(), &path, out)?;
        } else if kind.is_file() {
            out.push(Photo {
                path,
                bytes: entry.metadata()?.len(),
            });
        }
    }
    Ok(())
}

/// A path component the photo store makes: hex, dots, dashes and underscores; never `.`
/// or `..`.
fn safe_component(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= 200
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// The photo files a backup holds: its entries under `objects/`.
fn photo_entries(manifest: &Manifest) -> usize {
    manifest
        .entries
        .iter()
        .filter(|e| e.path.starts_with(&format!("{OBJECTS}/")))
        .count()
}

/// An entry path a backup may hold: the database, the phone key, or a file under `objects/`.
fn safe_entry_path(path: &str) -> bool {
    if path == DB_ENTRY || path == KEY_ENTRY {
        return true;
    }
    let mut parts = path.split('/');
    parts.next() == Some(OBJECTS) && {
        let rest: Vec<&str> = parts.collect();
        !rest.is_empty() && rest.len() <= 4 && rest.iter().all(|p| safe_component(p))
    }
}

/// The database's size on disk, its WAL included (what the progress counts it as).
fn db_size(db: &Path) -> u64 {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let size = |p: &Path| fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    size(db).saturating_add(size(Path::new(&wal))).max(1)
}

/// `n` of `of`, as a part of `share`.
fn scale(n: u64, of: u64, share: u64) -> u64 {
    (u128::from(n) * u128::from(share))
        .checked_div(u128::from(of))
        .map_or(0, |v| u64::try_from(v).unwrap_or(share))
}

/// Running totals, reported through the caller's callback.
struct Tally<'a> {
    progress: &'a dyn Fn(BackupProgress),
    bytes_total: u64,
    items_total: u32,
    bytes_done: u64,
    items_done: u32,
}

impl Tally<'_> {
    fn report(&self, phase: BackupPhase) {
        self.report_at(phase, 0);
    }

    fn report_at(&self, phase: BackupPhase, extra: u64) {
        #[allow(clippy::cast_precision_loss)]
        (self.progress)(BackupProgress {
            phase,
            bytes_done: self.bytes_done.saturating_add(extra).min(self.bytes_total) as f64,
            bytes_total: self.bytes_total as f64,
            items_done: self.items_done,
            items_total: self.items_total,
        });
    }

    fn advance(&mut self, phase: BackupPhase, n: u64) {
        self.bytes_done = self.bytes_done.saturating_add(n);
        self.report(phase);
    }
}

/// Streams `file` into the zip entry just started, hashing it; polls `cancel` every
/// [`CHUNK`].
fn copy_in<W: Write + Seek>(
    mut file: File,
    zip: &mut ZipWriter<W>,
    cancel: &AtomicBool,
    on_chunk: &mut dyn FnMut(u64),
) -> ApiResult<ManifestEntry> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut bytes = 0u64;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(cancelled());
        }
        let n = file.read(&mut buf).map_err(io_failed)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        zip.write_all(&buf[..n]).map_err(io_failed)?;
        bytes += n as u64;
        on_chunk(n as u64);
    }
    Ok(ManifestEntry {
        path: String::new(),
        bytes,
        sha256: hex(&hasher.finalize()),
    })
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn open_archive(file: &Path) -> ApiResult<ZipArchive<BufReader<File>>> {
    let f = File::open(file).map_err(|e| {
        ApiError::new(
            ErrorCode::FileUnreadable,
            format!("无法读取备份文件 {}:{e}", file.display()),
        )
    })?;
    ZipArchive::new(BufReader::with_capacity(CHUNK, f))
        .map_err(|e| unreadable(format!("不是完整的备份文件({e})")))
}

fn manifest_of<R: Read + Seek>(zip: &mut ZipArchive<R>) -> ApiResult<Manifest> {
    let entry = zip
        .by_name(MANIFEST)
        .map_err(|_| unreadable("缺少备份清单 manifest.json".to_string()))?;
    if entry.size() > MAX_MANIFEST_BYTES {
        return Err(unreadable("备份清单过大".to_string()));
    }
    let mut bytes = Vec::new();
    entry
        .take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| damaged(format!("备份清单读取失败:{e}")))?;
    let manifest: Manifest =
        serde_json::from_slice(&bytes).map_err(|e| damaged(format!("备份清单无法解析:{e}")))?;
    if manifest.format != FORMAT {
        return Err(unreadable(format!(
            "格式为“{}”,不是观摩备份",
            manifest.format
        )));
    }
    Ok(manifest)
}

/// Refuses a backup this build is too old to read, before anything is unpacked.
fn check_versions(manifest: &Manifest) -> ApiResult<()> {
    if manifest.format_version > FORMAT_VERSION {
        return Err(ApiError::new(
            ErrorCode::DataNewerThanApp,
            format!(
                "此备份文件由更新版本的观摩创建(备份格式第 {} 版,本程序支持到第 {FORMAT_VERSION} \
                 版),为防止损坏已拒绝恢复,现有数据未改动。请安装新版本。",
                manifest.format_version
            ),
        ));
    }
    let known = guanmo_store::known_schema_version()?;
    if manifest.schema_version > known {
        return Err(ApiError::new(
            ErrorCode::DataNewerThanApp,
            format!(
                "此备份由更新版本的观摩创建(数据版本 {},本程序支持到 {known}),为防止损坏已拒绝\
                 恢复,现有数据未改动。请安装新版本。",
                manifest.schema_version
            ),
        ));
    }
    Ok(())
}

/// The file holds exactly the manifest's entries and the manifest, each at a safe path, with
/// the database among them; their declared sizes match.
fn check_layout<R: Read + Seek>(zip: &mut ZipArchive<R>, manifest: &Manifest) -> ApiResult<()> {
    let mut listed = BTreeSet::new();
    for e in &manifest.entries {
        if !safe_entry_path(&e.path) || !listed.insert(e.path.as_str()) {
            return Err(damaged(format!("备份清单中的条目“{}”不合规", e.path)));
        }
    }
    if !listed.contains(DB_ENTRY) {
        return Err(damaged("备份中缺少数据库".to_string()));
    }
    let names = zip
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<Result<BTreeSet<String>, _>>()
        .map_err(|e| damaged(format!("条目名称无法读取:{e}")))?;
    let names: BTreeSet<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|n| *n != MANIFEST)
        .collect();
    if names != listed {
        return Err(damaged(format!(
            "文件中的条目({})与备份清单({})不符",
            names.len(),
            listed.len()
        )));
    }
    for e in &manifest.entries {
        let size = zip
            .by_name(&e.path)
            .map_err(|err| damaged(format!("{}:{err}", e.path)))?
            .size();
        if size != e.bytes {
            return Err(damaged(format!("{} 的大小与备份清单不符", e.path)));
        }
    }
    Ok(())
}

/// Unpacks one entry to `dest` (a new private file), checking its size and SHA-256.
fn unpack<R: Read + Seek>(
    zip: &mut ZipArchive<R>,
    entry: &ManifestEntry,
    dest: &Path,
    cancel: &AtomicBool,
    on_chunk: &mut dyn FnMut(u64),
) -> ApiResult<()> {
    let file = zip
        .by_name(&entry.path)
        .map_err(|e| damaged(format!("{}:{e}", entry.path)))?;
    let mut reader = file.take(entry.bytes + 1);
    let mut out = create_private(dest).map_err(io_failed)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![
        0u8;
        CHUNK
            .min(usize::try_from(entry.bytes + 1).unwrap_or(CHUNK))
            .max(1)
    ];
    let mut bytes = 0u64;
    loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(cancelled_restore());
        }
        // A read error here is the zip's own check (CRC, deflate) failing: damage.
        let n = reader
            .read(&mut buf)
            .map_err(|e| damaged(format!("{}:{e}", entry.path)))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(io_failed)?;
        bytes += n as u64;
        on_chunk(n as u64);
    }
    if bytes != entry.bytes || hex(&hasher.finalize()) != entry.sha256 {
        return Err(damaged(format!("{} 的校验值(SHA-256)不符", entry.path)));
    }
    out.sync_all().map_err(io_failed)?;
    Ok(())
}

/// Whether `dir` exists and holds anything (a file there counts as occupied).
fn holds_anything(dir: &Path) -> std::io::Result<bool> {
    match fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
        Ok(m) if !m.is_dir() => Ok(true),
        Ok(_) => Ok(fs::read_dir(dir)?.next().is_some()),
    }
}

/// The folder holding `target` and `target`'s name.
fn split_target(target: &Path) -> ApiResult<(PathBuf, String)> {
    let absolute = if target.is_absolute() {
        target.to_path_buf()
    } else {
        std::env::current_dir().map_err(io_failed)?.join(target)
    };
    let name = absolute
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::Validation,
                format!("数据文件夹路径 {} 无效", target.display()),
            )
        })?;
    let parent = absolute
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/"));
    Ok((parent, name))
}

/// Moves what the replaced folder holds besides its database and photo store (the copies kept
/// before migrations, partial sync downloads) into the new one, so replacing loses none of it;
/// what the new folder already has stays in the old one.
fn carry_over(old: &Path, new: &Path) -> std::io::Result<()> {
    // The phone key belongs to its database: never mixed with another folder's.
    let own = |name: &str| {
        name == OBJECTS
            || name == DB_FILE
            || name == KEY_ENTRY
            || ["-wal", "-shm", "-journal"]
                .iter()
                .any(|s| name == format!("{DB_FILE}{s}"))
    };
    for entry in fs::read_dir(old)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_str().is_some_and(own) || new.join(&name).exists() {
            continue;
        }
        fs::rename(entry.path(), new.join(&name))?;
    }
    Ok(())
}

/// `dir/<stem>.gmbak`, or `-2`, `-3`… when taken.
fn unique(dir: &Path, stem: &str) -> PathBuf {
    let mut path = dir.join(format!("{stem}.{EXTENSION}"));
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("{stem}-{n}.{EXTENSION}"));
        n += 1;
    }
    path
}

/// A name for a folder beside the target that nothing else uses.
fn unique_dir(parent: &Path, stem: &str) -> PathBuf {
    loop {
        let path = parent.join(format!(
            "{stem}-{}-{}",
            std::process::id(),
            TEMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        if !path.exists() {
            return path;
        }
    }
}

fn create_private(path: &Path) -> std::io::Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

fn sync_dir(dir: &Path) {
    if let Err(e) = File::open(dir).and_then(|d| d.sync_all()) {
        tracing::warn!(error = %e, dir = %dir.display(), "directory fsync failed");
    }
}

/// A temporary file beside a target, removed on drop unless committed.
struct TempPath {
    path: PathBuf,
    committed: bool,
}

impl TempPath {
    fn beside(target: &Path, what: &str) -> ApiResult<TempPath> {
        let (parent, name) = split_target(target)?;
        if !parent.is_dir() {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("文件夹 {} 不存在", parent.display()),
            ));
        }
        let path = unique_dir(&parent, &format!(".{name}.{what}"));
        Ok(TempPath {
            path,
            committed: false,
        })
    }

    /// Renames it to `target` and fsyncs the folder.
    fn commit(mut self, target: &Path) -> ApiResult<()> {
        fs::rename(&self.path, target).map_err(io_failed)?;
        self.committed = true;
        if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
            sync_dir(dir);
        }
        Ok(())
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A folder being filled beside the target, removed with its contents on drop unless kept.
struct TempDir {
    path: PathBuf,
    kept: bool,
}

impl TempDir {
    fn create(parent: &Path, stem: &str) -> ApiResult<TempDir> {
        let path = unique_dir(parent, stem);
        fs::create_dir(&path).map_err(io_failed)?;
        Ok(TempDir { path, kept: false })
    }

    fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.kept {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

fn not_empty(target: &Path) -> ApiError {
    ApiError::new(
        ErrorCode::RestoreTargetNotEmpty,
        format!(
            "目标数据文件夹 {} 不是空的,已拒绝恢复,其中数据未改动。若要用备份替换现有数据,\
             请选择“替换”(命令行加 --replace),会先自动备份现有数据。",
            target.display()
        ),
    )
}

fn unreadable(detail: String) -> ApiError {
    ApiError::new(
        ErrorCode::BackupUnreadable,
        format!(
            "备份文件不完整或不是观摩备份文件({detail}),已拒绝恢复,现有数据未改动。\
             请确认文件已完整复制。"
        ),
    )
}

fn damaged(detail: String) -> ApiError {
    ApiError::new(
        ErrorCode::BackupDamaged,
        format!("备份文件已损坏({detail}),已拒绝恢复,现有数据未改动。请换用其他备份。"),
    )
}

fn cancelled() -> ApiError {
    ApiError::new(ErrorCode::Cancelled, "已取消备份,未留下任何文件。")
}

fn cancelled_restore() -> ApiError {
    ApiError::new(ErrorCode::Cancelled, "已取消恢复,现有数据未改动。")
}

fn io_failed(e: std::io::Error) -> ApiError {
    tracing::error!(error = %e, "backup file operation failed");
    ApiError::new(
        ErrorCode::Storage,
        format!("读写文件失败:{e}。请检查磁盘空间和文件夹权限后重试。"),
    )
}

fn zip_failed(e: zip::result::ZipError) -> ApiError {
    match e {
        zip::result::ZipError::Io(io) => io_failed(io),
        other => ApiError::new(ErrorCode::Internal, format!("写备份文件失败:{other}")),
    }
}

#[cfg(test)]
#[path = "backup_tests.rs"]
mod tests;
