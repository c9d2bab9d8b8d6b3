//! The database half of 一键备份 / 恢复: a consistent copy of a database that may be in use
//! right now, and the checks a restore runs on a copy before it is used.
//!
//! Invariant: the live database file is never copied as bytes (its WAL may hold committed
//! pages the main file lacks, and a byte copy taken mid-checkpoint is torn). A copy comes
//! from SQLite's online backup API inside one read transaction on a read-only connection: it
//! is the database as of one moment, the writer is never blocked (WAL readers do not block
//! it), and the source file is never changed.

use crate::db::{create_private_empty, open_read_only};
use crate::{meta, Result, StoreError};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::Connection;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Pages copied per step; `cancel` is polled and progress reported between steps (256 pages
/// of 4 KiB: 1 MiB).
const PAGES_PER_STEP: i32 = 256;

/// What a database copy holds, read from the copy itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyFacts {
    /// Its schema version (`PRAGMA user_version`).
    pub schema_version: i64,
    /// The id of the device whose database it is, if it has one.
    pub device_id: Option<String>,
    /// Rows per table (SQLite's own tables left out), by table name.
    pub tables: BTreeMap<String, u64>,
}

/// Copies the database at `source` (possibly open and being written by this or another
/// process) to the new file `dest` as one consistent snapshot, reporting
/// `(pages done, pages total)` after each step and polling `cancel` between steps. The copy
/// is a plain rollback-journal file (no `-wal` beside it), readable by the owner only.
///
/// On an error or [`StoreError::Cancelled`] `dest` is removed.
pub fn copy_database(
    source: &Path,
    dest: &Path,
    progress: &mut dyn FnMut(u64, u64),
    cancel: &AtomicBool,
) -> Result<CopyFacts> {
    let result = copy_into(source, dest, progress, cancel).and_then(|()| facts(dest));
    if result.is_err() {
        let _ = std::fs::remove_file(dest);
        for suffix in ["-journal", "-wal", "-shm"] {
            let mut p = dest.as_os_str().to_owned();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
    result
}

fn copy_into(
    source: &Path,
    dest: &Path,
    progress: &mut dyn FnMut(u64, u64),
    cancel: &AtomicBool,
) -> Result<()> {
    if !source.is_file() {
        return Err(StoreError::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no database at {}", source.display()),
        )));
    }
    let src = open_read_only(source)?;
    create_private_empty(dest)?;
    let mut dst = Connection::open(dest)?;
    // One read transaction around every step: each step then copies from the same snapshot
    // (a step outside one would restart the copy whenever the writer commits, which under
    // steady load is forever).
    src.execute_batch("BEGIN DEFERRED")?;
    let copied = (|| -> Result<()> {
        src.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(()))?;
        let backup = Backup::new(&src, &mut dst)?;
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(StoreError::Cancelled);
            }
            let step = backup.step(PAGES_PER_STEP)?;
            let p = backup.progress();
            let total = u64::try_from(p.pagecount).unwrap_or(0);
            let remaining = u64::try_from(p.remaining).unwrap_or(0);
            progress(total.saturating_sub(remaining), total);
            match step {
                StepResult::Done => return Ok(()),
                StepResult::More => {}
                // The destination is ours alone; a busy source only delays.
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    })();
    // Ends the read transaction either way; the copy's outcome is what counts.
    let ended = src.execute_batch("COMMIT");
    copied?;
    ended?;
    // The source's header says WAL; the copy is one self-contained file.
    let mode: String = dst.query_row("PRAGMA journal_mode=DELETE", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("delete") {
        return Err(StoreError::Corrupt(format!("copy journal_mode is {mode}")));
    }
    dst.close().map_err(|(_, e)| StoreError::Sqlite(e))?;
    std::fs::File::open(dest)?.sync_all()?;
    Ok(())
}

/// Schema version, device id and row counts of the database file at `path`, read over a
/// read-only connection.
pub fn facts(path: &Path) -> Result<CopyFacts> {
    let conn = open_read_only(path)?;
    facts_of(&conn)
}

fn facts_of(conn: &Connection) -> Result<CopyFacts> {
    let schema_version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let names: Vec<String> = {
        let mut st = conn.prepare(
            "SELECT name FROM sqlite_schema
             WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )?;
        let rows = st.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut tables = BTreeMap::new();
    for name in names {
        let sql = format!("SELECT count(*) FROM \"{}\"", name.replace('"', "\"\""));
        let n: i64 = conn.query_row(&sql, [], |r| r.get(0))?;
        tables.insert(name, u64::try_from(n).unwrap_or(0));
    }
    let has_meta = tables.contains_key("meta");
    let device_id = if has_meta {
        meta::get(conn, meta::DEVICE_ID)?
    } else {
        None
    };
    Ok(CopyFacts {
        schema_version,
        device_id,
        tables,
    })
}

/// What a restore learns of a copy before using it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyCheck {
    /// `PRAGMA integrity_check`'s answer: `["ok"]` for a sound file.
    pub integrity: Vec<String>,
    /// The copy's facts (only when the integrity check passed).
    pub facts: Option<CopyFacts>,
}

impl CopyCheck {
    /// The file is a sound SQLite database.
    pub fn is_ok(&self) -> bool {
        self.integrity == ["ok"] && self.facts.is_some()
    }
}

/// Runs `PRAGMA integrity_check` on the database file at `path` over a read-only
/// connection and, when it passes, reads its facts. A file SQLite cannot read at all is an
/// `Err`.
pub fn check_copy(path: &Path) -> Result<CopyCheck> {
    let conn = open_read_only(path)?;
    let integrity: Vec<String> = {
        let mut st = conn.prepare("PRAGMA integrity_check")?;
        let rows = st.query_map([], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let facts = if integrity == ["ok"] {
        Some(facts_of(&conn)?)
    } else {
        None
    };
    Ok(CopyCheck { integrity, facts })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::{ChangeInput, Store};
    use chrono::Utc;
    use std::sync::Arc;

    fn change(i: usize) -> ChangeInput {
        ChangeInput {
            entity: "township",
            entity_id: i.to_string(),
            op: "update",
            payload: serde_json::json!({ "i": i }),
        }
    }

    #[test]
    fn a_backup_copy_of_a_live_database_is_complete_and_counts_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("g.sqlite3");
        let store = Store::open(&db).unwrap();
        for i in 0..50 {
            store
                .write(Utc::now(), "t", |tx| tx.record(change(i)))
                .unwrap();
        }
        // The writes sit in the WAL: a byte copy of the main file would miss them.
        assert!(dir.path().join("g.sqlite3-wal").exists());
        let dest = dir.path().join("copy.sqlite3");
        let mut steps = Vec::new();
        let facts = copy_database(
            &db,
            &dest,
            &mut |done, total| steps.push((done, total)),
            &AtomicBool::new(false),
        )
        .unwrap();
        assert_eq!(facts.tables["changes"], 50);
        assert_eq!(facts.device_id.as_deref(), Some(store.device_id()));
        assert_eq!(
            facts.schema_version,
            crate::db::known_schema_version().unwrap()
        );
        let (done, total) = *steps.last().unwrap();
        assert!(total > 0 && done == total, "{steps:?}");
        let check = check_copy(&dest).unwrap();
        assert!(check.is_ok(), "{check:?}");
        assert_eq!(check.facts.unwrap(), facts);
        assert!(
            !dir.path().join("copy.sqlite3-wal").exists(),
            "the copy is one self-contained file"
        );
    }

    #[test]
    fn a_copy_taken_while_another_thread_writes_is_one_consistent_moment() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("g.sqlite3");
        let store = Store::open(&db).unwrap();
        for i in 0..2000 {
            store
                .write(Utc::now(), "t", |tx| tx.record(change(i)))
                .unwrap();
        }
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (store, stop) = (store.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    store
                        .write(Utc::now(), "t", |tx| {
                            tx.record(change(n))?;
                            tx.record(change(n + 1))
                        })
                        .unwrap();
                    n += 2;
                }
                n
            })
        };
        let dest = dir.path().join("copy.sqlite3");
        let facts = copy_database(&db, &dest, &mut |_, _| {}, &AtomicBool::new(false)).unwrap();
        stop.store(true, Ordering::Relaxed);
        let written = writer.join().unwrap();
        assert!(check_copy(&dest).unwrap().is_ok());
        // Every write appends two change rows in one transaction: a snapshot holds both or
        // neither.
        assert_eq!(facts.tables["changes"] % 2, 0, "{facts:?}");
        assert!(facts.tables["changes"] >= 2000);
        assert!(written > 0, "the writer was never blocked out");
    }

    #[test]
    fn a_cancelled_copy_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("g.sqlite3");
        drop(Store::open(&db).unwrap());
        let dest = dir.path().join("copy.sqlite3");
        let e = copy_database(&db, &dest, &mut |_, _| {}, &AtomicBool::new(true)).unwrap_err();
        assert!(matches!(e, StoreError::Cancelled), "{e:?}");
        assert!(!dest.exists());
        assert!(!dir.path().join("copy.sqlite3-journal").exists());
    }

    #[test]
    fn a_damaged_copy_fails_the_check() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("g.sqlite3");
        let store = Store::open(&db).unwrap();
        for i in 0..500 {
            store
                .write(Utc::now(), "t", |tx| tx.record(change(i)))
                .unwrap();
        }
        let dest = dir.path().join("copy.sqlite3");
        copy_database(&db, &dest, &mut |_, _| {}, &AtomicBool::new(false)).unwrap();
        let mut bytes = std::fs::read(&dest).unwrap();
        // Garble the head of a b-tree page in the middle (not the file header, which would
        // make it unreadable): free space inside a page would go unnoticed by any check.
        let page = 4096;
        let mid = (bytes.len() / page / 2) * page;
        for b in &mut bytes[mid..mid + 64] {
            *b ^= 0x5a;
        }
        std::fs::write(&dest, &bytes).unwrap();
        // Unreadable (an `Err`) is refused too.
        if let Ok(check) = check_copy(&dest) {
            assert!(!check.is_ok(), "{check:?}");
        }
    }
}
