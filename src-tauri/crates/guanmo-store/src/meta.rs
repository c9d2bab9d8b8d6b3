//! Key/value facts about this database: the device id, whether defaults were seeded.

use crate::{Result, WriteTx};
use rusqlite::{params, Connection, OptionalExtension};

/// Key of the device id.
pub const DEVICE_ID: &str = "device_id";
/// Key set once the default roster and rubric were seeded.
pub const SEEDED: &str = "seeded_at";
/// Key of the retention period of residents' comment data, in days (hub-local, never synced;
/// see `crate::retention`).
pub const COMMENT_RETENTION_DAYS: &str = "comment_retention_days";

/// Reads a value.
pub fn get(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

/// Writes a value inside a write transaction.
pub fn set(tx: &WriteTx<'_>, key: &str, value: &str) -> Result<()> {
    tx.conn().execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Returns the device id, creating it on first open.
pub(crate) fn ensure_device_id(conn: &mut Connection) -> Result<String> {
    if let Some(id) = get(conn, DEVICE_ID)? {
        return Ok(id);
    }
    let id = guanmo_domain::ids::new_id();
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)",
        params![DEVICE_ID, id],
    )?;
    Ok(id)
}
