//! Townships in the database. Positions are 1-based visit order over all townships;
//! `version` increments on every edit so a stale edit is refused instead of overwriting.

use crate::{ChangeInput, Result, StoreError, WriteTx};
use guanmo_domain::roster::{Township, TownshipInput, TownshipKind};
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::collections::HashMap;

const ENTITY: &str = "township";
const COLUMNS: &str =
    "id, code, name, kind, enabled, position, day, arrival, slot_minutes, note, version, eval_group";

fn kind_to_sql(k: TownshipKind) -> &'static str {
    match k {
        TownshipKind::Subdistrict => "subdistrict",
        TownshipKind::Town => "town",
        TownshipKind::Township => "township",
        TownshipKind::EthnicTownship => "ethnic_township",
    }
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Township> {
    let kind: String = r.get(3)?;
    Ok(Township {
        id: r.get(0)?,
        code: r.get(1)?,
        name: r.get(2)?,
        kind: TownshipKind::parse(&kind).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                3,
                rusqlite::types::Type::Text,
                format!("unknown township kind {kind}").into(),
            )
        })?,
        enabled: r.get(4)?,
        position: r.get(5)?,
        day: r.get(6)?,
        arrival: r.get(7)?,
        slot_minutes: r.get(8)?,
        note: r.get(9)?,
        version: r.get(10)?,
        eval_group: r.get(11)?,
    })
}

/// All townships in visit order.
pub fn list(conn: &Connection) -> Result<Vec<Township>> {
    let mut st = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM townships ORDER BY position, code"
    ))?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// One township by id.
pub fn get(conn: &Connection, id: &str) -> Result<Township> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM townships WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        entity: ENTITY,
        id: id.to_string(),
    })
}

fn log(tx: &WriteTx<'_>, op: &'static str, t: &Township) -> Result<()> {
    tx.record(ChangeInput {
        entity: ENTITY,
        entity_id: t.id.clone(),
        op,
        payload: serde_json::to_value(t)?,
    })
}

/// Adds a township at the end of the route.
pub fn insert(tx: &WriteTx<'_>, input: &TownshipInput) -> Result<Township> {
    let position: i32 = tx.conn().query_row(
        "SELECT COALESCE(MAX(position), 0) + 1 FROM townships",
        [],
        |r| r.get(0),
    )?;
    insert_at(tx, input, position)
}

fn insert_at(tx: &WriteTx<'_>, input: &TownshipInput, position: i32) -> Result<Township> {
    let id = guanmo_domain::ids::new_id();
    tx.conn().execute(
        "INSERT INTO townships (id, code, name, kind, enabled, position, day, arrival,
                                slot_minutes, note, version, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11, ?11)",
        params![
            id,
            input.code,
            input.name,
            kind_to_sql(input.kind),
            input.enabled,
            position,
            input.day,
            input.arrival,
            input.slot_minutes,
            input.note,
            tx.at(),
        ],
    )?;
    let t = get(tx.conn(), &id)?;
    log(tx, "insert", &t)?;
    Ok(t)
}

/// Replaces a township's fields, provided it is still at `expected_version`.
pub fn update(
    tx: &WriteTx<'_>,
    id: &str,
    expected_version: i32,
    input: &TownshipInput,
) -> Result<Township> {
    let current = get(tx.conn(), id)?;
    if current.version != expected_version {
        return Err(StoreError::VersionConflict {
            entity: ENTITY,
            id: id.to_string(),
            expected: expected_version,
            current: current.version,
        });
    }
    write_fields(tx, id, input)?;
    let t = get(tx.conn(), id)?;
    log(tx, "update", &t)?;
    Ok(t)
}

fn write_fields(tx: &WriteTx<'_>, id: &str, input: &TownshipInput) -> Result<()> {
    tx.conn().execute(
        "UPDATE townships SET code = ?2, name = ?3, kind = ?4, enabled = ?5, day = ?6,
                arrival = ?7, slot_minutes = ?8, note = ?9, version = version + 1,
                updated_at = ?10
         WHERE id = ?1",
        params![
            id,
            input.code,
            input.name,
            kind_to_sql(input.kind),
            input.enabled,
            input.day,
            input.arrival,
            input.slot_minutes,
            input.note,
            tx.at(),
        ],
    )?;
    Ok(())
}

/// Puts a township in a 评比组 (blank: the default from its kind), as a roster edit that
/// replicates with the roster and bumps the version.
pub fn set_eval_group(tx: &WriteTx<'_>, id: &str, group: &str) -> Result<Township> {
    let n = tx.conn().execute(
        "UPDATE townships SET eval_group = ?2, version = version + 1, updated_at = ?3
         WHERE id = ?1",
        params![id, group, tx.at()],
    )?;
    if n != 1 {
        return Err(StoreError::NotFound {
            entity: ENTITY,
            id: id.to_string(),
        });
    }
    let t = get(tx.conn(), id)?;
    log(tx, "update", &t)?;
    Ok(t)
}

/// Sets the visit order: `ids` must hold every township exactly once (checked by the caller).
pub fn reorder(tx: &WriteTx<'_>, ids: &[String]) -> Result<()> {
    let mut st = tx
        .conn()
        .prepare("UPDATE townships SET position = ?2, updated_at = ?3 WHERE id = ?1")?;
    for (i, id) in ids.iter().enumerate() {
        let n = st.execute(params![id, i as i64 + 1, tx.at()])?;
        if n != 1 {
            return Err(StoreError::NotFound {
                entity: ENTITY,
                id: id.clone(),
            });
        }
    }
    tx.record(ChangeInput {
        entity: ENTITY,
        entity_id: "*".into(),
        op: "reorder",
        payload: serde_json::json!({ "order": ids }),
    })
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    /// Townships new to the roster.
    pub added: i32,
    /// Townships matched by code and updated.
    pub updated: i32,
    /// Townships absent from the file, now disabled.
    pub disabled: i32,
}

/// Applies a whole imported roster, in file order: rows are matched to existing townships
/// by code (keeping their ids), new codes are added, and townships absent from the file are
/// disabled (never deleted: later records refer to them) and moved after the file's rows.
/// The caller validated the rows, including that no name collides with a township that
/// stays outside the file.
pub fn apply_import(tx: &WriteTx<'_>, rows: &[TownshipInput]) -> Result<ImportCounts> {
    let existing = list(tx.conn())?;
    let by_code: HashMap<&str, &Township> = existing.iter().map(|t| (t.code.as_str(), t)).collect();
    let mut counts = ImportCounts::default();
    // Names are unique: park every matched row's name on its id first, so two townships can
    // swap names within one import without tripping the constraint.
    for r in rows {
        if let Some(t) = by_code.get(r.code.as_str()) {
            tx.conn()
                .execute("UPDATE townships SET name = id WHERE id = ?1", [&t.id])?;
        }
    }
    let mut order = Vec::with_capacity(existing.len() + rows.len());
    for r in rows {
        match by_code.get(r.code.as_str()) {
            Some(t) => {
                write_fields(tx, &t.id, r)?;
                log(tx, "import", &get(tx.conn(), &t.id)?)?;
                counts.updated += 1;
                order.push(t.id.clone());
            }
            None => {
                let t = insert_at(tx, r, 0)?;
                counts.added += 1;
                order.push(t.id);
            }
        }
    }
    let in_file: std::collections::HashSet<&str> = rows.iter().map(|r| r.code.as_str()).collect();
    for t in existing
        .iter()
        .filter(|t| !in_file.contains(t.code.as_str()))
    {
        if t.enabled {
            tx.conn().execute(
                "UPDATE townships SET enabled = 0, version = version + 1, updated_at = ?2
                 WHERE id = ?1",
                params![t.id, tx.at()],
            )?;
            log(tx, "disable", &get(tx.conn(), &t.id)?)?;
            counts.disabled += 1;
        }
        order.push(t.id.clone());
    }
    reorder(tx, &order)?;
    Ok(counts)
}
