//! The `Store` handle: one writer connection (behind a mutex, so there is exactly one
//! writer) and a pool of read-only connections. Every write is a `BEGIN IMMEDIATE`
//! transaction with `synchronous=FULL`, so once `write` returns `Ok` the data survives a
//! power cut, and every change row is committed with the data it describes.

use crate::changes::{Change, ChangeInput};
use crate::phone_crypt::{PhoneKeys, KEY_FILE, KEY_ID_META};
use crate::{meta, migrations, oplog, Result, StoreError};
use chrono::{DateTime, SecondsFormat, Utc};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{params, Connection, OpenFlags, TransactionBehavior};
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Oldest SQLite accepted: 3.51.3 fixes a WAL-reset corruption bug.
pub const MIN_SQLITE_VERSION: (i32, &str) = (3_051_003, "3.51.3");

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A cloneable handle to the database.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<Connection>,
    readers: r2d2::Pool<SqliteConnectionManager>,
    phone_keys: Arc<PhoneKeys>,
    path: PathBuf,
    device_id: String,
    listeners: Mutex<Vec<Sender<Committed>>>,
    hooks: Mutex<Vec<CommitHook>>,
}

/// Called on the writer's thread right after a commit, before `write` returns: for cheap
/// bookkeeping that must never lag the database (e.g. invalidating a cache).
pub type CommitHook = Arc<dyn Fn(&Committed) + Send + Sync>;

/// What a committed write changed: the kinds of record it touched. Listeners (the UI's live
/// refresh, later the resident stream and sync) read the change log from here instead of
/// polling tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Committed {
    /// Entity kinds changed, e.g. `sheet`, `township`.
    pub entities: Vec<String>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

/// Fails when the linked SQLite is below the floor.
pub fn check_sqlite_version() -> Result<()> {
    if rusqlite::version_number() < MIN_SQLITE_VERSION.0 {
        return Err(StoreError::SqliteTooOld {
            found: rusqlite::version().to_string(),
            required: MIN_SQLITE_VERSION.1.to_string(),
        });
    }
    Ok(())
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    // Statement and savepoint journals and temporary b-trees in memory. With the default, a
    // journal over 64 KiB spills to a temporary file and every page is written to it: when
    // the comment ingest still put each comment in a savepoint, that was 12 % of the server's
    // core under load. They are transient, never a durability copy (the WAL is).
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Deleted and overwritten content is zeroed, not left in free space or free pages: a
    // resident's number (sealed now, but plain in a database from before 0024) or a purged
    // comment leaves no bytes behind in the file.
    conn.pragma_update(None, "secure_delete", "ON")?;
    Ok(())
}

/// The data folder holds the device's signing key, its hub token, the SMS provider's key and
/// residents' phone numbers: only its owner may read it. Makes the folder `0700` and the
/// database with its WAL and shared-memory files `0600` (SQLite gives the WAL and `-shm` the
/// database file's mode when it makes them), whatever the umask, for new and existing files.
#[cfg(unix)]
fn make_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)?;
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        match std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            other => other?,
        }
    }
    Ok(())
}

#[cfg(not(unix))]
fn make_private(_path: &Path) -> Result<()> {
    Ok(())
}

/// The newest schema version this build knows: the number of its migrations (what
/// `PRAGMA user_version` reads once they all ran).
pub fn known_schema_version() -> Result<i64> {
    // rusqlite_migration counts its migrations only against a connection: an empty one at
    // version 0 has them all pending. Not a test shortcut, so the ban does not apply.
    #[allow(clippy::disallowed_methods)]
    let empty = Connection::open_in_memory()?;
    Ok(i64::from(
        migrations::migrations().pending_migrations(&empty)?,
    ))
}

/// The schema version (`PRAGMA user_version`) of the database file at `path`, changing
/// nothing there: not the file, not its journal mode, and no `-wal` or `-shm` made beside it.
///
/// With no `-wal` beside it every committed page is in the main file, so the version is read
/// from its 100-byte header (a read-only connection to a WAL database would create both files
/// and could not remove them); with one (a crash, or the file is open elsewhere) it is read
/// over a read-only connection, which sees the WAL's commits.
pub fn schema_version_of(path: &Path) -> Result<i64> {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if Path::new(&wal).exists() {
        let conn = open_read_only(path)?;
        return Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?);
    }
    let mut header = Vec::with_capacity(100);
    std::io::Read::read_to_end(
        &mut std::io::Read::take(std::fs::File::open(path)?, 100),
        &mut header,
    )?;
    if header.is_empty() {
        // An empty file is a database SQLite has not written yet.
        return Ok(0);
    }
    if header.len() < 100 || !header.starts_with(b"SQLite format 3\0") {
        return Err(StoreError::Corrupt(format!(
            "{} is not an SQLite database",
            path.display()
        )));
    }
    let version = i32::from_be_bytes([header[60], header[61], header[62], header[63]]);
    Ok(i64::from(version))
}

/// A read-only connection to an existing database file (never created here).
pub(crate) fn open_read_only(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    Ok(conn)
}

/// Before an existing database is opened for writing: refuses one written by a newer build
/// ([`StoreError::NewerData`], the file untouched), and, when migrations are pending, writes
/// a consistent copy of it beside it first (see [`pre_migration_backup`]).
fn guard_schema(path: &Path) -> Result<()> {
    let found = schema_version_of(path)?;
    let known = known_schema_version()?;
    if found > known {
        tracing::error!(found, known, path = %path.display(), "database is newer than this build");
        return Err(StoreError::NewerData { found, known });
    }
    if found > 0 && found < known {
        // The migrations are about to open it for writing anyway.
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let bak = pre_migration_backup(&conn, path, found)?;
        tracing::info!(from = found, to = known, backup = %bak.display(), "migrating the database; a copy of the old one is kept");
    }
    Ok(())
}

/// The key file of the database at `path`: `phone.key` in its folder.
pub fn phone_key_path(path: &Path) -> PathBuf {
    path.with_file_name(KEY_FILE)
}

/// The id of the phone key the database on `conn` was written with, if it names one (none
/// before 0024, or before its first open).
fn stored_phone_key_id(conn: &Connection) -> Result<Option<String>> {
    let has_meta: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'meta')",
        [],
        |r| r.get(0),
    )?;
    if !has_meta {
        return Ok(None);
    }
    meta::get(conn, KEY_ID_META)
}

/// The data folder's phone key, made on first open. A database that names a key (it sealed
/// numbers with it) is refused when the key file is gone or holds another key: numbers sealed
/// now could not be read back with the old ones, nor the old ones with the new.
fn open_phone_keys(conn: &Connection, path: &Path) -> Result<PhoneKeys> {
    let key_path = phone_key_path(path);
    let stored = stored_phone_key_id(conn)?;
    let keys = match (PhoneKeys::load(&key_path)?, &stored) {
        (Some(keys), _) => keys,
        // A laptop that never took a resident's number (its comments are masked replicas)
        // loses nothing with its key: it gets a new one rather than refusing to open.
        (None, Some(_)) if !holds_sealed_numbers(conn)? => {
            let keys = PhoneKeys::load_or_create(&key_path)?.0;
            conn.execute(
                "UPDATE meta SET value = ?2 WHERE key = ?1",
                params![KEY_ID_META, keys.id()],
            )?;
            tracing::warn!(key = %key_path.display(), "phone key was missing; no sealed number depended on it, so a new one was made");
            return Ok(keys);
        }
        (None, Some(_)) => {
            return Err(StoreError::PhoneKey(format!(
                "{} is missing: the numbers in this database were sealed with it (restore \
                 the data folder from its backup, which carries the key)",
                key_path.display()
            )))
        }
        (None, None) => PhoneKeys::load_or_create(&key_path)?.0,
    };
    if stored.as_deref().is_some_and(|id| id != keys.id()) {
        return Err(StoreError::PhoneKey(format!(
            "{} is not the key this database's numbers were sealed with",
            key_path.display()
        )));
    }
    Ok(keys)
}

/// Whether any sealed number is stored (the site host's comments, mutes, moderation lines).
fn holds_sealed_numbers(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM comments WHERE phone IS NOT NULL)
             OR EXISTS (SELECT 1 FROM mutes)
             OR EXISTS (SELECT 1 FROM moderation_log WHERE phone IS NOT NULL)",
        [],
        |r| r.get(0),
    )?)
}

/// Records which key the database's numbers are sealed with (local, never synced).
fn remember_phone_key(conn: &Connection, keys: &PhoneKeys) -> Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
        params![KEY_ID_META, keys.id()],
    )?;
    Ok(())
}

/// Writes `<db file name>.pre-v<found>-<UTC yyyymmddTHHMMSS>.bak` beside the database with
/// `VACUUM INTO` over `conn` (one consistent snapshot, the WAL's committed pages included),
/// under a `.partial` name first, fsynced, then renamed: a crash never leaves a half copy
/// under the final name. The owner alone may read it, like the database.
fn pre_migration_backup(conn: &Connection, path: &Path, found: i64) -> Result<PathBuf> {
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| StoreError::Corrupt(format!("database path {}", path.display())))?;
    let stamp = Utc::now().format("%Y%m%dT%H%M%S");
    let mut target = path.with_file_name(format!("{file_name}.pre-v{found}-{stamp}.bak"));
    let mut n = 2;
    while target.exists() {
        target = path.with_file_name(format!("{file_name}.pre-v{found}-{stamp}-{n}.bak"));
        n += 1;
    }
    let mut partial = target.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let into = partial
        .to_str()
        .ok_or_else(|| StoreError::Corrupt(format!("backup path {}", partial.display())))?
        .to_string();
    // VACUUM INTO writes only into a missing or empty file: make it empty and private.
    create_private_empty(&partial)?;
    let copied = conn
        .execute("VACUUM INTO ?1", [&into])
        .map_err(StoreError::from)
        .and_then(|_| Ok(std::fs::File::open(&partial)?.sync_all()?))
        .and_then(|()| Ok(std::fs::rename(&partial, &target)?));
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    // The name survives a power cut once the folder is synced (a Unix notion: elsewhere a
    // folder cannot be opened as a file).
    #[cfg(unix)]
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(target)
}

/// An empty file at `path` (truncated if it was there) only its owner may read.
pub(crate) fn create_private_empty(path: &Path) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?;
    Ok(())
}

impl Store {
    /// Opens (creating if needed) the database at `path`, applies migrations, and makes
    /// sure the device has an id.
    ///
    /// An existing file is first read over a read-only connection: one written by a newer
    /// build (`user_version` past this build's migrations) is refused with
    /// [`StoreError::NewerData`] and left byte for byte as it was; one with migrations
    /// pending gets a consistent copy beside it (`<name>.pre-v<N>-<UTC stamp>.bak`) before
    /// any migration starts, so an upgrade never runs without a way back.
    pub fn open(path: &Path) -> Result<Store> {
        check_sqlite_version()?;
        if path.is_file() {
            guard_schema(path)?;
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        make_private(path)?;
        let mut writer = Connection::open(path)?;
        configure(&writer)?;
        let mode: String = writer.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt(format!(
                "journal_mode is {mode}, not wal"
            )));
        }
        let phone_keys = Arc::new(open_phone_keys(&writer, path)?);
        let before: i64 = writer.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        // Foreign keys off while the schema changes (a migration may rebuild a table that
        // others refer to); each migration checks them before it commits.
        writer.pragma_update(None, "foreign_keys", "OFF")?;
        migrations::migrations_with(Some(phone_keys.clone())).to_latest(&mut writer)?;
        writer.pragma_update(None, "foreign_keys", "ON")?;
        remember_phone_key(&writer, &phone_keys)?;
        if before > 0 && before < migrations::phone_encryption_version() {
            // The numbers were plain until now: their old pages (and any free page a lifted
            // mute left) are rewritten, and the WAL that held them emptied.
            writer.execute_batch("VACUUM")?;
            writer.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            tracing::info!(from = before, "sealed residents' phone numbers");
        }
        let device_id = meta::ensure_device_id(&mut writer)?;

        let manager = SqliteConnectionManager::file(path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(|c| {
                configure(c)?;
                c.pragma_update(None, "query_only", "ON")
            });
        let readers = r2d2::Pool::builder()
            .max_size(4)
            .min_idle(Some(1))
            .build(manager)?;
        Ok(Store {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                readers,
                phone_keys,
                path: path.to_path_buf(),
                device_id,
                listeners: Mutex::new(Vec::new()),
                hooks: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The keys residents' numbers are sealed and hashed with (see [`crate::phone_crypt`]).
    pub fn phone_keys(&self) -> &PhoneKeys {
        &self.inner.phone_keys
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// This device's id (UUIDv7, made on first open).
    pub fn device_id(&self) -> &str {
        &self.inner.device_id
    }

    /// The SQLite library version linked into the binary.
    pub fn sqlite_version() -> &'static str {
        rusqlite::version()
    }

    /// A receiver told about every committed write from now on.
    pub fn subscribe(&self) -> Receiver<Committed> {
        let (tx, rx) = channel();
        self.inner
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tx);
        rx
    }

    /// Runs `hook` after every committed write from now on, before `write` returns.
    pub fn on_commit(&self, hook: CommitHook) {
        self.inner
            .hooks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(hook);
    }

    fn notify(&self, entities: BTreeSet<&'static str>) {
        if entities.is_empty() {
            return;
        }
        let msg = Committed {
            entities: entities.into_iter().map(str::to_string).collect(),
        };
        let hooks: Vec<CommitHook> = self
            .inner
            .hooks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for hook in hooks {
            hook(&msg);
        }
        let mut listeners = self
            .inner
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        listeners.retain(|l| l.send(msg.clone()).is_ok());
    }

    /// Runs `f` on a read-only connection.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.inner.readers.get()?;
        f(&conn)
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on the writer; commits when it returns
    /// `Ok`, rolls back otherwise. `at` and `actor` stamp every change row it appends.
    pub fn write<T>(
        &self,
        at: DateTime<Utc>,
        actor: &str,
        f: impl FnOnce(&WriteTx<'_>) -> Result<T>,
    ) -> Result<T> {
        self.write_with(at, actor, true, f)
    }

    /// Like [`Store::write`], but appends no sync operations: for applying operations that
    /// came from another device, and for first-start defaults every device seeds alike.
    pub fn write_without_ops<T>(
        &self,
        at: DateTime<Utc>,
        actor: &str,
        f: impl FnOnce(&WriteTx<'_>) -> Result<T>,
    ) -> Result<T> {
        self.write_with(at, actor, false, f)
    }

    fn write_with<T>(
        &self,
        at: DateTime<Utc>,
        actor: &str,
        capture: bool,
        f: impl FnOnce(&WriteTx<'_>) -> Result<T>,
    ) -> Result<T> {
        // A panic while holding the lock drops the transaction, which rolls back, so the
        // connection is still consistent: recover it rather than fail forever.
        let (out, touched) = {
            let mut conn = self.inner.writer.lock().unwrap_or_else(|e| e.into_inner());
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let wtx = WriteTx {
                tx,
                at: at.to_rfc3339_opts(SecondsFormat::Millis, true),
                actor: actor.to_string(),
                device_id: self.inner.device_id.clone(),
                touched: RefCell::new(BTreeSet::new()),
                capture,
                replicated: RefCell::new(BTreeSet::new()),
                phone_keys: &self.inner.phone_keys,
            };
            let out = f(&wtx)?;
            let replicated = wtx.replicated.take();
            if !replicated.is_empty() {
                oplog::append_local(&wtx, &replicated)?;
            }
            let touched = wtx.touched.take();
            wtx.tx.commit()?;
            (out, touched)
        };
        // Listeners hear of the write only after the commit and the writer lock are done.
        self.notify(touched);
        Ok(out)
    }

    /// Change-log rows after `seq`, oldest first, at most `limit`.
    pub fn changes_since(&self, seq: i64, limit: u32) -> Result<Vec<Change>> {
        self.read(|c| {
            let mut st = c.prepare(
                "SELECT seq, at, device_id, actor, entity, entity_id, op, payload
                 FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
            )?;
            let rows = st.query_map(params![seq, limit], |r| {
                let payload: String = r.get(7)?;
                Ok(Change {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    device_id: r.get(2)?,
                    actor: r.get(3)?,
                    entity: r.get(4)?,
                    entity_id: r.get(5)?,
                    op: r.get(6)?,
                    payload: serde_json::from_str(&payload).unwrap_or(serde_json::Value::Null),
                })
            })?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }
}

/// An open write transaction. Aggregate modules take `&WriteTx` and call
/// [`WriteTx::record`] for each record they change.
pub struct WriteTx<'c> {
    tx: rusqlite::Transaction<'c>,
    at: String,
    actor: String,
    device_id: String,
    touched: RefCell<BTreeSet<&'static str>>,
    capture: bool,
    replicated: RefCell<BTreeSet<(oplog::Kind, String)>>,
    phone_keys: &'c PhoneKeys,
}

/// The change-log INSERT every write runs (see migration 0009 for what it must not cost).
pub(crate) const INSERT_CHANGE_SQL: &str =
    "INSERT INTO changes (at, device_id, actor, entity, entity_id, op, payload)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

impl WriteTx<'_> {
    /// This device's id.
    pub fn device_id(&self) -> &str {
        &self.device_id
    }

    /// Who is writing.
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The keys residents' numbers are sealed and hashed with.
    pub fn phone_keys(&self) -> &PhoneKeys {
        self.phone_keys
    }

    /// The connection, inside the transaction.
    pub fn conn(&self) -> &Connection {
        &self.tx
    }

    /// The transaction's timestamp (RFC 3339, UTC).
    pub fn at(&self) -> &str {
        &self.at
    }

    /// Appends a row to the change log.
    pub fn record(&self, change: ChangeInput) -> Result<()> {
        self.touched.borrow_mut().insert(change.entity);
        if self.capture {
            if let Some(agg) = oplog::Kind::of_change(change.entity, change.op, &change.entity_id) {
                self.replicated.borrow_mut().insert(agg);
            }
        }
        self.tx.prepare_cached(INSERT_CHANGE_SQL)?.execute(params![
            self.at,
            self.device_id,
            self.actor,
            change.entity,
            change.entity_id,
            change.op,
            serde_json::to_string(&change.payload)?,
        ])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-04T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_new_store_uses_wal_full_sync_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("g.sqlite3")).unwrap();
        let w = store.inner.writer.lock().unwrap();
        let mode: String = w
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        let sync: i64 = w.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        let fk: i64 = w
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        assert_eq!(sync, 2, "synchronous must be FULL (2)");
        assert_eq!(fk, 1);
    }

    #[test]
    fn the_bundled_sqlite_is_new_enough() {
        check_sqlite_version().unwrap();
        assert!(rusqlite::version_number() >= MIN_SQLITE_VERSION.0);
    }

    #[test]
    fn a_failed_write_leaves_no_change_row() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("g.sqlite3")).unwrap();
        let r: Result<()> = store.write(now(), "test", |tx| {
            tx.record(ChangeInput {
                entity: "x",
                entity_id: "1".into(),
                op: "insert",
                payload: serde_json::json!({}),
            })?;
            Err(StoreError::Corrupt("boom".into()))
        });
        assert!(r.is_err());
        assert!(store.changes_since(0, 10).unwrap().is_empty());
    }

    #[test]
    fn subscribers_hear_of_committed_writes_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("g.sqlite3")).unwrap();
        let rx = store.subscribe();
        let change = || ChangeInput {
            entity: "township",
            entity_id: "1".into(),
            op: "update",
            payload: serde_json::json!({}),
        };
        let _ = store.write(now(), "t", |tx| {
            tx.record(change())?;
            Err::<(), _>(StoreError::Corrupt("rolled back".into()))
        });
        assert!(
            rx.try_recv().is_err(),
            "a rolled-back write is not announced"
        );
        store.write(now(), "t", |tx| tx.record(change())).unwrap();
        assert_eq!(
            rx.try_recv().unwrap().entities,
            vec!["township".to_string()]
        );
    }

    #[cfg(unix)]
    #[test]
    fn the_data_folder_and_database_files_are_the_owners_only_whatever_the_umask() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        // What an older version left with umask 022.
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        let db = data.join("guanmo.sqlite3");
        {
            let store = Store::open(&db).unwrap();
            store
                .write_without_ops(chrono::Utc::now(), "t", |tx| meta::set(tx, "k", "v"))
                .unwrap();
        }
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        let store = Store::open(&db).unwrap();
        store
            .write_without_ops(chrono::Utc::now(), "t", |tx| meta::set(tx, "k", "w"))
            .unwrap();
        assert_eq!(mode(&data), 0o700, "the data folder");
        assert_eq!(mode(&db), 0o600, "the database");
        let wal = data.join("guanmo.sqlite3-wal");
        let shm = data.join("guanmo.sqlite3-shm");
        assert!(
            wal.exists() && shm.exists(),
            "WAL mode keeps both while open"
        );
        assert_eq!(mode(&wal), 0o600, "the WAL");
        assert_eq!(mode(&shm), 0o600, "the shared memory");
        drop(store);
        // A brand-new folder is made private too.
        let fresh = dir.path().join("fresh").join("guanmo.sqlite3");
        let _s = Store::open(&fresh).unwrap();
        assert_eq!(mode(fresh.parent().unwrap()), 0o700);
        assert_eq!(mode(&fresh), 0o600);
    }

    #[test]
    fn readers_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("g.sqlite3")).unwrap();
        let r = store.read(|c| Ok(c.execute("INSERT INTO meta VALUES ('a','b')", [])?));
        assert!(r.is_err());
    }

    fn sha(path: &Path) -> Vec<u8> {
        std::fs::read(path).unwrap()
    }

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_database_from_a_newer_build_is_refused_and_left_byte_for_byte() {
        // As a newer build would leave it: closed in WAL mode (no `-wal` left), or in
        // rollback mode, where a switch to WAL would show in the header bytes.
        for mode in ["WAL", "DELETE"] {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("g.sqlite3");
            drop(Store::open(&p).unwrap());
            let known = known_schema_version().unwrap();
            {
                let c = Connection::open(&p).unwrap();
                c.pragma_update(None, "user_version", known + 1).unwrap();
                c.pragma_update(None, "journal_mode", mode).unwrap();
            }
            let before = sha(&p);
            let files = listing(dir.path());
            let e = Store::open(&p).unwrap_err();
            match e {
                StoreError::NewerData { found, known: k } => {
                    assert_eq!((found, k), (known + 1, known), "{mode}");
                }
                other => panic!("{mode}: expected NewerData, got {other:?}"),
            }
            assert!(
                before == sha(&p),
                "{mode}: the newer database must not change"
            );
            assert_eq!(
                listing(dir.path()),
                files,
                "{mode}: no file made or left beside it"
            );
        }
    }

    #[test]
    fn pending_migrations_first_leave_a_copy_at_the_old_version_beside_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g.sqlite3");
        {
            let mut c = Connection::open(&p).unwrap();
            c.pragma_update(None, "journal_mode", "WAL").unwrap();
            c.pragma_update(None, "foreign_keys", "OFF").unwrap();
            migrations::migrations().to_version(&mut c, 5).unwrap();
            c.execute("INSERT INTO meta (key, value) VALUES ('old', 'kept')", [])
                .unwrap();
        }
        let store = Store::open(&p).unwrap();
        let known = known_schema_version().unwrap();
        let now: i64 = store
            .read(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?))
            .unwrap();
        assert_eq!(now, known, "migrated to the latest");
        let baks: Vec<String> = listing(dir.path())
            .into_iter()
            .filter(|n| n.starts_with("g.sqlite3.pre-v5-"))
            .collect();
        assert_eq!(baks.len(), 1, "one backup: {:?}", listing(dir.path()));
        let name = &baks[0];
        assert!(name.ends_with(".bak"), "{name}");
        let stamp = &name["g.sqlite3.pre-v5-".len()..name.len() - ".bak".len()];
        assert!(
            chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%dT%H%M%S").is_ok(),
            "UTC stamp yyyymmddTHHMMSS: {stamp}"
        );
        assert!(
            !listing(dir.path()).iter().any(|n| n.ends_with(".partial")),
            "no partial copy left"
        );
        let bak = dir.path().join(name);
        assert_eq!(
            schema_version_of(&bak).unwrap(),
            5,
            "the copy keeps the old version"
        );
        let c = open_read_only(&bak).unwrap();
        let kept: String = c
            .query_row("SELECT value FROM meta WHERE key = 'old'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, "kept");
        let ok: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(ok, "ok");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&bak).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "the copy is the owner's only");
        }
        drop(store);
        // Opening again at the latest version makes no new copy.
        drop(Store::open(&p).unwrap());
        let again = listing(dir.path())
            .into_iter()
            .filter(|n| n.contains(".pre-v"))
            .count();
        assert_eq!(again, 1);
    }

    #[test]
    fn the_device_id_is_kept_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g.sqlite3");
        let a = Store::open(&p).unwrap().device_id().to_string();
        let b = Store::open(&p).unwrap().device_id().to_string();
        assert_eq!(a, b);
    }
}
