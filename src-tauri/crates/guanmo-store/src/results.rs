//! The hub's own results records: the organiser's 加减分 per township (removed ones kept with
//! who, when and why) and the imported routine assessment (平时考核). Neither replicates —
//! the ranking lives on the hub — so their change-log entities are ones the op log ignores.

use crate::{ChangeInput, Result, StoreError, WriteTx};
use guanmo_domain::results::OrganiserAdjustment;
use rusqlite::{params, Connection, OptionalExtension, Row};

const ADJUSTMENT: &str = "organiser_adjustment";
const ROUTINE: &str = "routine_score";
const COLUMNS: &str = "id, township_id, tenths, basis, attachment_hash, created_at, created_by,
                       removed_at, removed_by, removed_reason";

fn from_row(r: &Row<'_>) -> rusqlite::Result<OrganiserAdjustment> {
    Ok(OrganiserAdjustment {
        id: r.get(0)?,
        township_id: r.get(1)?,
        tenths: r.get(2)?,
        basis: r.get(3)?,
        attachment_hash: r.get(4)?,
        created_at: r.get(5)?,
        created_by: r.get(6)?,
        removed_at: r.get(7)?,
        removed_by: r.get(8)?,
        removed_reason: r.get(9)?,
    })
}

/// Every adjustment, removed ones too, in the order they were entered.
pub fn list_adjustments(conn: &Connection) -> Result<Vec<OrganiserAdjustment>> {
    let mut st = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM township_adjustments ORDER BY created_at, id"
    ))?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// One adjustment by id.
pub fn get_adjustment(conn: &Connection, id: &str) -> Result<OrganiserAdjustment> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM township_adjustments WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        entity: ADJUSTMENT,
        id: id.to_string(),
    })
}

fn log(tx: &WriteTx<'_>, op: &'static str, a: &OrganiserAdjustment) -> Result<()> {
    tx.record(ChangeInput {
        entity: ADJUSTMENT,
        entity_id: a.id.clone(),
        op,
        payload: serde_json::to_value(a)?,
    })
}

/// Enters an adjustment (checked by the caller), stamped with the writer and time.
pub fn insert_adjustment(
    tx: &WriteTx<'_>,
    township_id: &str,
    tenths: i32,
    basis: &str,
    attachment_hash: Option<&str>,
) -> Result<OrganiserAdjustment> {
    let id = guanmo_domain::ids::new_id();
    tx.conn().execute(
        "INSERT INTO township_adjustments
             (id, township_id, tenths, basis, attachment_hash, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            id,
            township_id,
            tenths,
            basis,
            attachment_hash,
            tx.at(),
            tx.actor()
        ],
    )?;
    let a = get_adjustment(tx.conn(), &id)?;
    log(tx, "add", &a)?;
    Ok(a)
}

/// Marks an adjustment removed with `reason`; removing one already removed changes nothing.
pub fn remove_adjustment(tx: &WriteTx<'_>, id: &str, reason: &str) -> Result<OrganiserAdjustment> {
    let n = tx.conn().execute(
        "UPDATE township_adjustments SET removed_at = ?2, removed_by = ?3, removed_reason = ?4
         WHERE id = ?1 AND removed_at IS NULL",
        params![id, tx.at(), tx.actor(), reason],
    )?;
    let a = get_adjustment(tx.conn(), id)?;
    if n == 1 {
        log(tx, "remove", &a)?;
    }
    Ok(a)
}

/// A township's routine score as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutineScore {
    /// Township.
    pub township_id: String,
    /// 0–10000.
    pub hundredths: i32,
    /// When imported.
    pub imported_at: String,
    /// By whom.
    pub imported_by: String,
}

/// Every routine score.
pub fn list_routine(conn: &Connection) -> Result<Vec<RoutineScore>> {
    let mut st = conn.prepare(
        "SELECT township_id, hundredths, imported_at, imported_by FROM routine_scores
         ORDER BY township_id",
    )?;
    let rows = st.query_map([], |r| {
        Ok(RoutineScore {
            township_id: r.get(0)?,
            hundredths: r.get(1)?,
            imported_at: r.get(2)?,
            imported_by: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Replaces every routine score with an imported file's (checked by the caller).
pub fn replace_routine(tx: &WriteTx<'_>, scores: &[(String, i32)]) -> Result<()> {
    tx.conn().execute("DELETE FROM routine_scores", [])?;
    let mut st = tx.conn().prepare(
        "INSERT INTO routine_scores (township_id, hundredths, imported_at, imported_by)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (township_id, hundredths) in scores {
        st.execute(params![township_id, hundredths, tx.at(), tx.actor()])?;
    }
    tx.record(ChangeInput {
        entity: ROUTINE,
        entity_id: "*".into(),
        op: "import",
        payload: serde_json::json!({ "count": scores.len() }),
    })
}
