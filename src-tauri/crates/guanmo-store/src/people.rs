//! People (人员), their per-device PINs and one-time codes, the sign-in log, and the hub's
//! sealed tally (封存/揭晓). The hashes are made and checked by guanmo-api; this module only
//! stores them.

use crate::{ChangeInput, Result, StoreError, WriteTx};
use guanmo_domain::people::{Person, PersonInput, PersonRole, UNASSIGNED_ID};
use rusqlite::{params, Connection, OptionalExtension, Row};

const COLUMNS: &str = "id, name, work_unit, title, roles, scorer_id, active, version";

fn person_from_row(r: &Row<'_>) -> rusqlite::Result<Person> {
    let roles: String = r.get(4)?;
    let names: Vec<String> = serde_json::from_str(&roles).unwrap_or_default();
    Ok(Person {
        id: r.get(0)?,
        name: r.get(1)?,
        work_unit: r.get(2)?,
        title: r.get(3)?,
        roles: names.iter().filter_map(|n| PersonRole::parse(n)).collect(),
        scorer_id: r.get(5)?,
        active: r.get(6)?,
        version: r.get(7)?,
    })
}

fn roles_json(roles: &[PersonRole]) -> Result<String> {
    Ok(serde_json::to_string(
        &roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
    )?)
}

/// Everyone, 未指定 first, then in the order they were added.
pub fn list_people(conn: &Connection) -> Result<Vec<Person>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM people ORDER BY id <> ?1, created_at, id"
    ))?;
    let rows = st.query_map([UNASSIGNED_ID], person_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One person.
pub fn get_person(conn: &Connection, id: &str) -> Result<Person> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM people WHERE id = ?1"))?
        .query_row([id], person_from_row)
        .optional()?
        .ok_or_else(|| StoreError::NotFound {
            entity: "person",
            id: id.to_string(),
        })
}

/// The person tied to a scorer, if any.
pub fn person_of_scorer(conn: &Connection, scorer_id: &str) -> Result<Option<Person>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM people WHERE scorer_id = ?1"
        ))?
        .query_row([scorer_id], person_from_row)
        .optional()?)
}

fn log_person(tx: &WriteTx<'_>, op: &'static str, id: &str) -> Result<()> {
    tx.record(ChangeInput {
        entity: "person",
        entity_id: id.to_string(),
        op,
        payload: serde_json::json!({}),
    })
}

/// Adds a person (input already validated).
pub fn insert_person(tx: &WriteTx<'_>, id: &str, input: &PersonInput) -> Result<Person> {
    tx.conn()
        .prepare_cached(
            "INSERT INTO people (id, name, work_unit, title, roles, scorer_id, active,
                                 created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        )?
        .execute(params![
            id,
            input.name,
            input.work_unit,
            input.title,
            roles_json(&input.roles)?,
            input.scorer_id,
            input.active,
            tx.at()
        ])?;
    log_person(tx, "create", id)?;
    get_person(tx.conn(), id)
}

/// Edits a person if nobody changed them since `expected_version`.
pub fn update_person(
    tx: &WriteTx<'_>,
    id: &str,
    expected_version: i32,
    input: &PersonInput,
) -> Result<Person> {
    let current = get_person(tx.conn(), id)?;
    if current.version != expected_version {
        return Err(StoreError::VersionConflict {
            entity: "person",
            id: id.to_string(),
            expected: expected_version,
            current: current.version,
        });
    }
    tx.conn()
        .prepare_cached(
            "UPDATE people SET name = ?2, work_unit = ?3, title = ?4, roles = ?5, scorer_id = ?6,
                    active = ?7, version = version + 1, updated_at = ?8
             WHERE id = ?1",
        )?
        .execute(params![
            id,
            input.name,
            input.work_unit,
            input.title,
            roles_json(&input.roles)?,
            input.scorer_id,
            input.active,
            tx.at()
        ])?;
    log_person(tx, "update", id)?;
    get_person(tx.conn(), id)
}

/// A person's PIN on this device and the wrong tries against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinRecord {
    /// Argon2id PHC string.
    pub pin_hash: String,
    /// Wrong PINs in a row.
    pub failures: i64,
    /// Sign-in refused until then (RFC 3339), after too many wrong PINs.
    pub locked_until: Option<String>,
}

/// The PIN record of a person on this device.
pub fn pin(conn: &Connection, person_id: &str) -> Result<Option<PinRecord>> {
    Ok(conn
        .prepare_cached(
            "SELECT pin_hash, failures, locked_until FROM person_pins WHERE person_id = ?1",
        )?
        .query_row([person_id], |r| {
            Ok(PinRecord {
                pin_hash: r.get(0)?,
                failures: r.get(1)?,
                locked_until: r.get(2)?,
            })
        })
        .optional()?)
}

/// The people who have a PIN on this device.
pub fn people_with_pin(conn: &Connection) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached("SELECT person_id FROM person_pins ORDER BY person_id")?;
    let rows = st.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Sets (or replaces) a person's PIN hash on this device; clears wrong tries.
pub fn set_pin(tx: &WriteTx<'_>, person_id: &str, pin_hash: &str) -> Result<()> {
    tx.conn()
        .prepare_cached(
            "INSERT INTO person_pins (person_id, pin_hash, set_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (person_id) DO UPDATE SET pin_hash = ?2, set_at = ?3, failures = 0,
                                                  locked_until = NULL",
        )?
        .execute(params![person_id, pin_hash, tx.at()])?;
    Ok(())
}

/// Records one wrong PIN; `lock_until` locks the sign-in when the tries are used up.
pub fn pin_failed(tx: &WriteTx<'_>, person_id: &str, lock_until: Option<&str>) -> Result<()> {
    tx.conn()
        .prepare_cached(
            "UPDATE person_pins SET failures = CASE WHEN ?2 IS NULL THEN failures + 1 ELSE 0 END,
                                    locked_until = COALESCE(?2, locked_until)
             WHERE person_id = ?1",
        )?
        .execute(params![person_id, lock_until])?;
    Ok(())
}

/// A right PIN: wrong tries start again from nothing.
pub fn pin_ok(tx: &WriteTx<'_>, person_id: &str) -> Result<()> {
    tx.conn()
        .prepare_cached(
            "UPDATE person_pins SET failures = 0, locked_until = NULL WHERE person_id = ?1",
        )?
        .execute([person_id])?;
    Ok(())
}

/// A one-time sign-in code as the hub issued it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRecord {
    /// Argon2id PHC string of the code.
    pub code_hash: String,
    /// When it was issued.
    pub issued_at: String,
    /// Good until then.
    pub expires_at: String,
}

/// The person's current one-time code.
pub fn code(conn: &Connection, person_id: &str) -> Result<Option<CodeRecord>> {
    Ok(conn
        .prepare_cached(
            "SELECT code_hash, issued_at, expires_at FROM person_codes WHERE person_id = ?1",
        )?
        .query_row([person_id], |r| {
            Ok(CodeRecord {
                code_hash: r.get(0)?,
                issued_at: r.get(1)?,
                expires_at: r.get(2)?,
            })
        })
        .optional()?)
}

/// Issues (replaces) a person's one-time code; replicates with the person.
pub fn set_code(
    tx: &WriteTx<'_>,
    person_id: &str,
    code_hash: &str,
    expires_at: &str,
) -> Result<()> {
    tx.conn()
        .prepare_cached(
            "INSERT INTO person_codes (person_id, code_hash, issued_at, expires_at)
             VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (person_id) DO UPDATE SET code_hash = ?2, issued_at = ?3,
                                                  expires_at = ?4",
        )?
        .execute(params![person_id, code_hash, tx.at(), expires_at])?;
    log_person(tx, "code", person_id)
}

/// What happened at the sign-in screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInEvent {
    /// Signed in.
    SignedIn,
    /// A wrong PIN.
    WrongPin,
    /// The last allowed wrong PIN: locked for a while.
    Locked,
    /// A try while locked.
    RefusedLocked,
    /// 切换用户 or 退出.
    SignedOut,
    /// Locked after the idle time.
    IdleLock,
    /// A PIN was set on this device.
    PinSet,
    /// A one-time code was used here.
    CodeUsed,
    /// A wrong one-time code.
    WrongCode,
}

impl SignInEvent {
    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            SignInEvent::SignedIn => "signed_in",
            SignInEvent::WrongPin => "wrong_pin",
            SignInEvent::Locked => "locked",
            SignInEvent::RefusedLocked => "refused_locked",
            SignInEvent::SignedOut => "signed_out",
            SignInEvent::IdleLock => "idle_lock",
            SignInEvent::PinSet => "pin_set",
            SignInEvent::CodeUsed => "code_used",
            SignInEvent::WrongCode => "wrong_code",
        }
    }
}

/// Appends to this device's sign-in log.
pub fn log_event(
    tx: &WriteTx<'_>,
    person_id: &str,
    event: SignInEvent,
    detail: &str,
) -> Result<()> {
    tx.conn()
        .prepare_cached(
            "INSERT INTO sign_in_log (at, person_id, event, detail) VALUES (?1, ?2, ?3, ?4)",
        )?
        .execute(params![tx.at(), person_id, event.as_str(), detail])?;
    Ok(())
}

/// One line of the sign-in log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInLine {
    /// When.
    pub at: String,
    /// Who.
    pub person_id: String,
    /// Their name (未指定 if unknown).
    pub person_name: String,
    /// What happened (as stored).
    pub event: String,
    /// Details.
    pub detail: String,
}

/// The latest `limit` lines of the sign-in log, newest first.
pub fn sign_in_log(conn: &Connection, limit: u32) -> Result<Vec<SignInLine>> {
    let mut st = conn.prepare_cached(
        "SELECT l.at, l.person_id, COALESCE(p.name, '未指定'), l.event, l.detail
         FROM sign_in_log l LEFT JOIN people p ON p.id = l.person_id
         ORDER BY l.seq DESC LIMIT ?1",
    )?;
    let rows = st.query_map([limit], |r| {
        Ok(SignInLine {
            at: r.get(0)?,
            person_id: r.get(1)?,
            person_name: r.get(2)?,
            event: r.get(3)?,
            detail: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Whether this event was logged for the person at or after `since` (a one-time code is good
/// once per device).
pub fn logged_since(
    conn: &Connection,
    person_id: &str,
    event: SignInEvent,
    since: &str,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM sign_in_log WHERE person_id = ?1 AND event = ?2
                                                        AND at >= ?3)",
        )?
        .query_row(params![person_id, event.as_str(), since], |r| r.get(0))?)
}

// ---------------------------------------------------------------------------------------
// The sealed tally

/// A sealed tally (封存), revealed or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    /// Number.
    pub id: i64,
    /// When it was sealed.
    pub sealed_at: String,
    /// Who sealed it (author label).
    pub sealed_by: String,
    /// SHA-256 of `tally`, lowercase hex.
    pub digest: String,
    /// The canonical tally as sealed.
    pub tally: String,
    /// Why scoring was closed with sheets missing, if it was.
    pub close_reason: String,
    /// When it was revealed.
    pub revealed_at: Option<String>,
    /// Who revealed it.
    pub revealed_by: Option<String>,
}

/// The latest seal.
pub fn latest_seal(conn: &Connection) -> Result<Option<Seal>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, sealed_at, sealed_by, digest, tally, close_reason, revealed_at,
                    revealed_by
             FROM tally_seals ORDER BY id DESC LIMIT 1",
        )?
        .query_row([], |r| {
            Ok(Seal {
                id: r.get(0)?,
                sealed_at: r.get(1)?,
                sealed_by: r.get(2)?,
                digest: r.get(3)?,
                tally: r.get(4)?,
                close_reason: r.get(5)?,
                revealed_at: r.get(6)?,
                revealed_by: r.get(7)?,
            })
        })
        .optional()?)
}

/// Whether the latest seal was revealed (without reading the sealed text: this is asked on
/// every look at a sheet).
pub fn latest_seal_revealed(conn: &Connection) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT revealed_at IS NOT NULL FROM tally_seals ORDER BY id DESC LIMIT 1")?
        .query_row([], |r| r.get(0))
        .optional()?
        .unwrap_or(false))
}

/// Seals a tally.
pub fn insert_seal(tx: &WriteTx<'_>, digest: &str, tally: &str, close_reason: &str) -> Result<i64> {
    tx.conn()
        .prepare_cached(
            "INSERT INTO tally_seals (sealed_at, sealed_by, digest, tally, close_reason)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![tx.at(), tx.actor(), digest, tally, close_reason])?;
    let id = tx.conn().last_insert_rowid();
    tx.record(ChangeInput {
        entity: "tally",
        entity_id: id.to_string(),
        op: "seal",
        payload: serde_json::json!({ "digest": digest }),
    })?;
    Ok(id)
}

/// Reveals a seal.
pub fn reveal_seal(tx: &WriteTx<'_>, id: i64) -> Result<()> {
    tx.conn()
        .prepare_cached(
            "UPDATE tally_seals SET revealed_at = ?2, revealed_by = ?3
             WHERE id = ?1 AND revealed_at IS NULL",
        )?
        .execute(params![id, tx.at(), tx.actor()])?;
    tx.record(ChangeInput {
        entity: "tally",
        entity_id: id.to_string(),
        op: "reveal",
        payload: serde_json::json!({}),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::Store;
    use chrono::Utc;

    fn input(name: &str) -> PersonInput {
        PersonInput {
            name: name.into(),
            work_unit: "市委办公室".into(),
            title: "".into(),
            roles: vec![PersonRole::Monitor],
            scorer_id: None,
            active: true,
        }
    }

    #[test]
    fn people_keep_unassigned_first_and_edits_check_the_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("g.sqlite3")).unwrap();
        let p = store
            .write(Utc::now(), "organiser", |tx| {
                insert_person(tx, "p1", &input("张三"))
            })
            .unwrap();
        assert_eq!(p.roles, vec![PersonRole::Monitor]);
        let all = store.read(list_people).unwrap();
        assert_eq!(all[0].id, UNASSIGNED_ID);
        assert_eq!(all[0].name, "未指定");
        assert_eq!(all[1].name, "张三");
        let e = store
            .write(Utc::now(), "organiser", |tx| {
                update_person(tx, "p1", 7, &input("李四"))
            })
            .unwrap_err();
        assert!(matches!(e, StoreError::VersionConflict { .. }));
        let p = store
            .write(Utc::now(), "organiser", |tx| {
                update_person(tx, "p1", 1, &input("李四"))
            })
            .unwrap();
        assert_eq!((p.name.as_str(), p.version), ("李四", 2));
    }

    #[test]
    fn wrong_pins_count_up_and_a_lock_resets_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("g.sqlite3")).unwrap();
        store
            .write(Utc::now(), "organiser", |tx| {
                insert_person(tx, "p1", &input("张三"))?;
                set_pin(tx, "p1", "$argon2id$x")?;
                pin_failed(tx, "p1", None)?;
                pin_failed(tx, "p1", None)
            })
            .unwrap();
        let r = store.read(|c| pin(c, "p1")).unwrap().unwrap();
        assert_eq!((r.failures, r.locked_until), (2, None));
        store
            .write(Utc::now(), "organiser", |tx| {
                pin_failed(tx, "p1", Some("2026-12-07T10:05:00Z"))
            })
            .unwrap();
        let r = store.read(|c| pin(c, "p1")).unwrap().unwrap();
        assert_eq!(r.failures, 0);
        assert_eq!(r.locked_until.as_deref(), Some("2026-12-07T10:05:00Z"));
        store
            .write(Utc::now(), "organiser", |tx| pin_ok(tx, "p1"))
            .unwrap();
        assert_eq!(
            store.read(|c| pin(c, "p1")).unwrap().unwrap().locked_until,
            None
        );
    }
}
