//! The devices a replica knows and how they pair: on the hub every paired laptop with its key,
//! token hash and role, the one-time pairing codes (hashed) with their wrong tries per source,
//! and the bundle files already imported; on a laptop its hub. Sync (`guanmo-sync`) decides
//! what may happen; this module is the only place that reads and writes these tables.

use crate::{Result, WriteTx};
use rusqlite::{params, Connection, OptionalExtension, Row};

/// A device as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// Device id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `hub`, `scorer` or `media`.
    pub role: String,
    /// Ed25519 public key, 64 hex characters.
    pub public_key: String,
    /// When it paired (RFC 3339).
    pub paired_at: String,
    /// When the hub revoked it.
    pub revoked_at: Option<String>,
    /// Last request from it (hub) or last exchange with it (laptop).
    pub last_contact: Option<String>,
    /// The hub's address (on a laptop).
    pub address: Option<String>,
    /// The organiser allowed it to pair once more with a new key.
    pub repair_allowed: bool,
}

const COLUMNS: &str = "id, name, role, public_key, paired_at, revoked_at, last_contact, address,
                       repair_allowed_at IS NOT NULL";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Device> {
    Ok(Device {
        id: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        public_key: r.get(3)?,
        paired_at: r.get(4)?,
        revoked_at: r.get(5)?,
        last_contact: r.get(6)?,
        address: r.get(7)?,
        repair_allowed: r.get(8)?,
    })
}

/// Every device, unrevoked first, in pairing order.
pub fn list(conn: &Connection) -> Result<Vec<Device>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM devices ORDER BY revoked_at IS NOT NULL, paired_at"
    ))?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One device, revoked or not.
pub fn get(conn: &Connection, id: &str) -> Result<Option<Device>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM devices WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

/// Paired, unrevoked laptops (scorers' and media).
pub fn paired_laptops(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        "SELECT count(*) FROM devices WHERE revoked_at IS NULL AND role <> 'hub'",
        [],
        |r| r.get(0),
    )?)
}

/// The paired, unrevoked device whose token hashes to `token_hash`.
pub fn by_token_hash(conn: &Connection, token_hash: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT id FROM devices WHERE token_hash = ?1 AND revoked_at IS NULL")?
        .query_row([token_hash], |r| r.get(0))
        .optional()?)
}

/// Notes a contact with `id` now.
pub fn touch(tx: &WriteTx<'_>, id: &str) -> Result<()> {
    tx.conn()
        .prepare_cached("UPDATE devices SET last_contact = ?2 WHERE id = ?1")?
        .execute(params![id, tx.at()])?;
    Ok(())
}

/// What pairing stores of a laptop on the hub.
#[derive(Debug, Clone, Copy)]
pub struct Pairing<'a> {
    /// Device id.
    pub id: &'a str,
    /// Display name.
    pub name: &'a str,
    /// `scorer` or `media`.
    pub role: &'a str,
    /// Its public key.
    pub public_key: &'a str,
    /// Hash of the token it was given.
    pub token_hash: &'a str,
}

/// Registers a new laptop (the id must be new).
pub fn insert_paired(tx: &WriteTx<'_>, p: Pairing<'_>) -> Result<()> {
    tx.conn().execute(
        "INSERT INTO devices (id, name, role, public_key, token_hash, paired_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![p.id, p.name, p.role, p.public_key, p.token_hash, tx.at()],
    )?;
    Ok(())
}

/// Pairs a known laptop again: new name, role, key and token; the organiser's leave is used up.
pub fn repaired(tx: &WriteTx<'_>, p: Pairing<'_>) -> Result<()> {
    tx.conn().execute(
        "UPDATE devices SET name = ?2, role = ?3, public_key = ?4, token_hash = ?5,
             paired_at = ?6, repair_allowed_at = NULL
         WHERE id = ?1",
        params![p.id, p.name, p.role, p.public_key, p.token_hash, tx.at()],
    )?;
    Ok(())
}

/// On a laptop: the hub it paired with, at `address`.
pub fn set_hub(
    tx: &WriteTx<'_>,
    id: &str,
    name: &str,
    public_key: &str,
    address: &str,
) -> Result<()> {
    tx.conn().execute(
        "INSERT INTO devices (id, name, role, public_key, address, paired_at)
         VALUES (?1, ?2, 'hub', ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, public_key = excluded.public_key,
             address = excluded.address, paired_at = excluded.paired_at, revoked_at = NULL",
        params![id, name, public_key, address, tx.at()],
    )?;
    Ok(())
}

/// Revokes a laptop: its token stops working. False when there was none to revoke.
pub fn revoke(tx: &WriteTx<'_>, id: &str) -> Result<bool> {
    Ok(tx.conn().execute(
        "UPDATE devices SET revoked_at = ?2, token_hash = NULL
         WHERE id = ?1 AND revoked_at IS NULL AND role <> 'hub'",
        params![id, tx.at()],
    )? == 1)
}

/// Lets a known, unrevoked laptop pair once more with a new key. False for none such.
pub fn allow_repair(tx: &WriteTx<'_>, id: &str) -> Result<bool> {
    Ok(tx.conn().execute(
        "UPDATE devices SET repair_allowed_at = ?2
         WHERE id = ?1 AND revoked_at IS NULL AND role <> 'hub'",
        params![id, tx.at()],
    )? == 1)
}

/// True when `id` is a known laptop (`unrevoked`: and still paired) of `role` (any role but
/// the hub's with `None`).
pub fn is_laptop(conn: &Connection, id: &str, role: Option<&str>, unrevoked: bool) -> Result<bool> {
    let n: i64 = conn.query_row(
        "SELECT count(*) FROM devices
         WHERE id = ?1 AND role <> 'hub' AND (?2 IS NULL OR role = ?2)
           AND (?3 = 0 OR revoked_at IS NULL)",
        params![id, role, unrevoked],
        |r| r.get(0),
    )?;
    Ok(n == 1)
}

// ---------------------------------------------------------------------------------------
// Pairing codes

/// The one live code: the newest unused, with its expiry and wrong tries in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveCode {
    /// Hash of the code.
    pub hash: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
    /// Wrong tries from all sources.
    pub tries: i64,
}

/// Makes `hash` the live code until `expires_at`; any earlier unused code stops working.
pub fn new_code(tx: &WriteTx<'_>, hash: &str, expires_at: &str) -> Result<()> {
    tx.conn().execute(
        "UPDATE pairing_codes SET used_at = ?1, used_by = 'replaced' WHERE used_at IS NULL",
        [tx.at()],
    )?;
    tx.conn().execute(
        "INSERT INTO pairing_codes (code_hash, created_at, expires_at) VALUES (?1, ?2, ?3)",
        params![hash, tx.at(), expires_at],
    )?;
    Ok(())
}

/// The live code, if any.
pub fn live_code(conn: &Connection) -> Result<Option<LiveCode>> {
    Ok(conn
        .query_row(
            "SELECT code_hash, expires_at, tries FROM pairing_codes
             WHERE used_at IS NULL ORDER BY created_at DESC LIMIT 1",
            [],
            |r| {
                Ok(LiveCode {
                    hash: r.get(0)?,
                    expires_at: r.get(1)?,
                    tries: r.get(2)?,
                })
            },
        )
        .optional()?)
}

/// Wrong tries of the code `hash` from `source`.
pub fn tries_from(conn: &Connection, hash: &str, source: &str) -> Result<i64> {
    Ok(conn
        .query_row(
            "SELECT tries FROM pairing_attempts WHERE code_hash = ?1 AND source = ?2",
            params![hash, source],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

/// Counts a wrong try of the code `hash` from `source`.
pub fn wrong_try(tx: &WriteTx<'_>, hash: &str, source: &str) -> Result<()> {
    let c = tx.conn();
    c.execute(
        "UPDATE pairing_codes SET tries = tries + 1 WHERE code_hash = ?1",
        [hash],
    )?;
    c.execute(
        "INSERT INTO pairing_attempts (code_hash, source, tries) VALUES (?1, ?2, 1)
         ON CONFLICT (code_hash, source) DO UPDATE SET tries = tries + 1",
        params![hash, source],
    )?;
    Ok(())
}

/// The code `hash` paired `device`: it is used up.
pub fn use_code(tx: &WriteTx<'_>, hash: &str, device: &str) -> Result<()> {
    tx.conn().execute(
        "UPDATE pairing_codes SET used_at = ?2, used_by = ?3 WHERE code_hash = ?1",
        params![hash, tx.at(), device],
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Bundle files

/// When the bundle `id` was imported here, if it was.
pub fn bundle_imported_at(conn: &Connection, id: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT imported_at FROM sync_bundles WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

/// Records an imported bundle (a replay is then refused) and the contact with its device.
pub fn record_bundle(
    tx: &WriteTx<'_>,
    id: &str,
    device_id: &str,
    file_hash: &str,
    report_json: &str,
) -> Result<()> {
    tx.conn().execute(
        "INSERT INTO sync_bundles (id, device_id, file_hash, imported_at, report)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, device_id, file_hash, tx.at(), report_json],
    )?;
    touch(tx, device_id)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::Store;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("g.sqlite3")).unwrap();
        (dir, s)
    }

    fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
        s.parse().unwrap()
    }

    fn laptop<'a>(id: &'a str, key: &'a str) -> Pairing<'a> {
        Pairing {
            id,
            name: "评分电脑一",
            role: "scorer",
            public_key: key,
            token_hash: "t1",
        }
    }

    #[test]
    fn a_laptop_pairs_is_found_by_its_token_and_stays_revoked() {
        let (_d, s) = store();
        let key = "ab".repeat(32);
        s.write_without_ops(at("2026-12-04T08:00:00Z"), "t", |tx| {
            insert_paired(tx, laptop("d1", &key))
        })
        .unwrap();
        assert_eq!(
            s.read(|c| by_token_hash(c, "t1")).unwrap().as_deref(),
            Some("d1")
        );
        assert_eq!(s.read(paired_laptops).unwrap(), 1);
        assert!(s
            .read(|c| is_laptop(c, "d1", Some("scorer"), true))
            .unwrap());
        assert!(!s.read(|c| is_laptop(c, "d1", Some("media"), true)).unwrap());
        let revoked = s
            .write_without_ops(at("2026-12-04T09:00:00Z"), "t", |tx| revoke(tx, "d1"))
            .unwrap();
        assert!(revoked);
        let again = s
            .write_without_ops(at("2026-12-04T09:01:00Z"), "t", |tx| revoke(tx, "d1"))
            .unwrap();
        assert!(!again, "revoked once");
        assert_eq!(s.read(|c| by_token_hash(c, "t1")).unwrap(), None);
        assert!(s.read(|c| is_laptop(c, "d1", None, false)).unwrap());
        assert!(!s.read(|c| is_laptop(c, "d1", None, true)).unwrap());
        let allowed = s
            .write_without_ops(at("2026-12-04T09:02:00Z"), "t", |tx| allow_repair(tx, "d1"))
            .unwrap();
        assert!(!allowed, "a revoked device is never let back");
        let d = s.read(|c| get(c, "d1")).unwrap().unwrap();
        assert_eq!(d.revoked_at.as_deref(), Some("2026-12-04T09:00:00.000Z"));
    }

    #[test]
    fn one_live_code_whose_wrong_tries_count_per_source() {
        let (_d, s) = store();
        s.write_without_ops(at("2026-12-04T08:00:00Z"), "t", |tx| {
            new_code(tx, "h1", "2026-12-04T08:10:00.000Z")
        })
        .unwrap();
        s.write_without_ops(at("2026-12-04T08:01:00Z"), "t", |tx| {
            new_code(tx, "h2", "2026-12-04T08:11:00.000Z")
        })
        .unwrap();
        let live = s.read(live_code).unwrap().unwrap();
        assert_eq!(
            (live.hash.as_str(), live.tries),
            ("h2", 0),
            "the newest replaces"
        );
        s.write_without_ops(at("2026-12-04T08:02:00Z"), "t", |tx| {
            wrong_try(tx, "h2", "10.0.0.7")?;
            wrong_try(tx, "h2", "10.0.0.7")?;
            wrong_try(tx, "h2", "10.0.0.8")
        })
        .unwrap();
        assert_eq!(s.read(live_code).unwrap().unwrap().tries, 3);
        assert_eq!(s.read(|c| tries_from(c, "h2", "10.0.0.7")).unwrap(), 2);
        assert_eq!(s.read(|c| tries_from(c, "h2", "10.0.0.9")).unwrap(), 0);
        s.write_without_ops(at("2026-12-04T08:03:00Z"), "t", |tx| {
            use_code(tx, "h2", "d1")
        })
        .unwrap();
        assert_eq!(s.read(live_code).unwrap(), None, "used up");
    }

    #[test]
    fn a_bundle_is_recorded_once_with_the_contact() {
        let (_d, s) = store();
        let key = "cd".repeat(32);
        s.write_without_ops(at("2026-12-04T08:00:00Z"), "t", |tx| {
            insert_paired(tx, laptop("d1", &key))?;
            record_bundle(tx, "b1", "d1", "f", "{}")
        })
        .unwrap();
        assert_eq!(
            s.read(|c| bundle_imported_at(c, "b1")).unwrap().as_deref(),
            Some("2026-12-04T08:00:00.000Z")
        );
        assert_eq!(s.read(|c| bundle_imported_at(c, "b2")).unwrap(), None);
        let d = s.read(|c| get(c, "d1")).unwrap().unwrap();
        assert_eq!(d.last_contact.as_deref(), Some("2026-12-04T08:00:00.000Z"));
    }
}
