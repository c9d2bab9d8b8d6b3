//! Paper score sheets entered twice (双人录入), hub-local: each 计分员's entry per round, the
//! scan of the paper, and the score sheet the agreed entries made. Change rows here name the
//! entry and its round but never its values (the change log reaches the window, and the
//! second 计分员 must not see the first entry), and they make no sync operations. The sheet
//! itself is written through [`crate::scoring`]'s own functions, so its audit and change rows
//! are the usual ones.

use crate::scoring::{self, MarkTarget};
use crate::{ChangeInput, Result, StoreError, WriteTx};
use guanmo_domain::paper::PaperEntry;
use guanmo_domain::points::Points;
use guanmo_domain::scoring::Sheet;
use rusqlite::{params, Connection, OptionalExtension, Row};
use std::collections::BTreeMap;

/// Entity of the change rows written here (not replicated: no op-log kind knows it).
pub const ENTITY: &str = "paper_entry";

/// One live (not discarded) entry.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryRow {
    /// UUIDv7.
    pub id: String,
    /// Whose sheet.
    pub scorer_id: String,
    /// Which township.
    pub township_id: String,
    /// 1 or 2.
    pub round: i32,
    /// The 计分员 who entered it.
    pub clerk_person_id: String,
    /// Their name (未指定 if unknown).
    pub clerk_name: String,
    /// The values.
    pub entry: PaperEntry,
    /// The rubric version it was entered against.
    pub rubric_version: i32,
    /// Names of whoever settled (核对) items of it, joined with 、.
    pub settled_by: Option<String>,
    /// When it was entered.
    pub created_at: String,
    /// When it last changed.
    pub updated_at: String,
}

/// A scorer × township with paper entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperSheetRow {
    /// Scorer.
    pub scorer_id: String,
    /// Township.
    pub township_id: String,
    /// The scan or photo of the paper sheet.
    pub scan_hash: Option<String>,
    /// The score sheet made once both entries agreed.
    pub sheet_id: Option<String>,
    /// When that happened.
    pub committed_at: Option<String>,
    /// Entries discarded so far.
    pub discarded: i32,
}

fn tenths_json(m: &BTreeMap<String, Points>) -> Result<String> {
    let t: BTreeMap<&str, i32> = m.iter().map(|(k, p)| (k.as_str(), p.tenths())).collect();
    Ok(serde_json::to_string(&t)?)
}

fn points_of(json: &str) -> rusqlite::Result<BTreeMap<String, Points>> {
    let t: BTreeMap<String, i32> = serde_json::from_str(json).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(t.into_iter().map(|(k, v)| (k, Points(v))).collect())
}

const ENTRY_COLUMNS: &str = "e.id, e.scorer_id, e.township_id, e.round, e.clerk_person_id,
    COALESCE(p.name, '未指定'), e.marks, e.adjustments, e.comment, e.rubric_version,
    e.settled_by, e.created_at, e.updated_at";

fn entry_from_row(r: &Row<'_>) -> rusqlite::Result<EntryRow> {
    Ok(EntryRow {
        id: r.get(0)?,
        scorer_id: r.get(1)?,
        township_id: r.get(2)?,
        round: r.get(3)?,
        clerk_person_id: r.get(4)?,
        clerk_name: r.get(5)?,
        entry: PaperEntry {
            marks: points_of(&r.get::<_, String>(6)?)?,
            adjustments: points_of(&r.get::<_, String>(7)?)?,
            comment: r.get(8)?,
        },
        rubric_version: r.get(9)?,
        settled_by: r.get(10)?,
        created_at: r.get(11)?,
        updated_at: r.get(12)?,
    })
}

/// Every live entry, by scorer, township and round.
pub fn live_entries(conn: &Connection) -> Result<Vec<EntryRow>> {
    let mut st = conn.prepare(&format!(
        "SELECT {ENTRY_COLUMNS} FROM paper_entries e LEFT JOIN people p ON p.id = e.clerk_person_id
         WHERE e.discarded_at IS NULL ORDER BY e.scorer_id, e.township_id, e.round"
    ))?;
    let rows = st.query_map([], entry_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The live entries of one paper sheet, round 1 first.
pub fn entries_of(conn: &Connection, scorer_id: &str, township_id: &str) -> Result<Vec<EntryRow>> {
    let mut st = conn.prepare(&format!(
        "SELECT {ENTRY_COLUMNS} FROM paper_entries e LEFT JOIN people p ON p.id = e.clerk_person_id
         WHERE e.discarded_at IS NULL AND e.scorer_id = ?1 AND e.township_id = ?2
         ORDER BY e.round"
    ))?;
    let rows = st.query_map([scorer_id, township_id], entry_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// One live entry by id.
pub fn get_entry(conn: &Connection, id: &str) -> Result<EntryRow> {
    conn.query_row(
        &format!(
            "SELECT {ENTRY_COLUMNS} FROM paper_entries e
             LEFT JOIN people p ON p.id = e.clerk_person_id
             WHERE e.discarded_at IS NULL AND e.id = ?1"
        ),
        [id],
        entry_from_row,
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        entity: ENTITY,
        id: id.to_string(),
    })
}

fn sheet_from_row(r: &Row<'_>) -> rusqlite::Result<PaperSheetRow> {
    Ok(PaperSheetRow {
        scorer_id: r.get(0)?,
        township_id: r.get(1)?,
        scan_hash: r.get(2)?,
        sheet_id: r.get(3)?,
        committed_at: r.get(4)?,
        discarded: r.get(5)?,
    })
}

const SHEET_SELECT: &str = "SELECT s.scorer_id, s.township_id, s.scan_hash, s.sheet_id,
    s.committed_at,
    (SELECT COUNT(*) FROM paper_entries e WHERE e.scorer_id = s.scorer_id
        AND e.township_id = s.township_id AND e.discarded_at IS NOT NULL)
    FROM paper_sheets s";

/// Every scorer × township with paper entries or a scan.
pub fn list_paper_sheets(conn: &Connection) -> Result<Vec<PaperSheetRow>> {
    let mut st = conn.prepare(SHEET_SELECT)?;
    let rows = st.query_map([], sheet_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// One scorer × township, if it has paper entries or a scan.
pub fn find_paper_sheet(
    conn: &Connection,
    scorer_id: &str,
    township_id: &str,
) -> Result<Option<PaperSheetRow>> {
    Ok(conn
        .query_row(
            &format!("{SHEET_SELECT} WHERE s.scorer_id = ?1 AND s.township_id = ?2"),
            [scorer_id, township_id],
            sheet_from_row,
        )
        .optional()?)
}

fn ensure_paper_sheet(tx: &WriteTx<'_>, scorer_id: &str, township_id: &str) -> Result<()> {
    tx.conn().execute(
        "INSERT INTO paper_sheets (scorer_id, township_id, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?3) ON CONFLICT (scorer_id, township_id) DO NOTHING",
        params![scorer_id, township_id, tx.at()],
    )?;
    Ok(())
}

fn log(tx: &WriteTx<'_>, id: &str, op: &'static str, payload: serde_json::Value) -> Result<()> {
    tx.record(ChangeInput {
        entity: ENTITY,
        entity_id: id.to_string(),
        op,
        payload,
    })
}

/// Records one 计分员's entry of a round (the caller checked there is none live).
pub fn insert_entry(
    tx: &WriteTx<'_>,
    scorer_id: &str,
    township_id: &str,
    round: i32,
    clerk_person_id: &str,
    entry: &PaperEntry,
    rubric_version: i32,
) -> Result<EntryRow> {
    ensure_paper_sheet(tx, scorer_id, township_id)?;
    let id = guanmo_domain::ids::new_id();
    tx.conn().execute(
        "INSERT INTO paper_entries (id, scorer_id, township_id, round, clerk_person_id, marks,
                                    adjustments, comment, rubric_version, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
        params![
            id,
            scorer_id,
            township_id,
            round,
            clerk_person_id,
            tenths_json(&entry.marks)?,
            tenths_json(&entry.adjustments)?,
            entry.comment,
            rubric_version,
            tx.at()
        ],
    )?;
    log(
        tx,
        &id,
        "enter",
        serde_json::json!({ "scorer_id": scorer_id, "township_id": township_id, "round": round }),
    )?;
    get_entry(tx.conn(), &id)
}

/// Replaces an entry's values after settling (核对) against the paper; `items` are the ids of
/// what was re-entered (logged without values), `by` the name of whoever settled.
pub fn settle_entry(
    tx: &WriteTx<'_>,
    id: &str,
    entry: &PaperEntry,
    items: &[String],
    by: &str,
) -> Result<EntryRow> {
    let current = get_entry(tx.conn(), id)?;
    let settled_by = match current.settled_by {
        Some(s) if s.split('、').any(|n| n == by) => s,
        Some(s) => format!("{s}、{by}"),
        None => by.to_string(),
    };
    tx.conn().execute(
        "UPDATE paper_entries SET marks = ?2, adjustments = ?3, comment = ?4, settled_by = ?5,
                updated_at = ?6 WHERE id = ?1 AND discarded_at IS NULL",
        params![
            id,
            tenths_json(&entry.marks)?,
            tenths_json(&entry.adjustments)?,
            entry.comment,
            settled_by,
            tx.at()
        ],
    )?;
    log(
        tx,
        id,
        "settle",
        serde_json::json!({ "round": current.round, "items": items }),
    )?;
    get_entry(tx.conn(), id)
}

/// Discards a live entry (the round may then be entered again).
pub fn discard_entry(tx: &WriteTx<'_>, id: &str, by_person_id: &str, reason: &str) -> Result<()> {
    let e = get_entry(tx.conn(), id)?;
    tx.conn().execute(
        "UPDATE paper_entries SET discarded_at = ?2, discarded_by = ?3, discard_reason = ?4,
                updated_at = ?2 WHERE id = ?1",
        params![id, tx.at(), by_person_id, reason],
    )?;
    log(
        tx,
        id,
        "discard",
        serde_json::json!({ "round": e.round, "reason": reason }),
    )
}

/// Sets the scan (a recorded photo's hash) of a paper sheet.
pub fn set_scan(tx: &WriteTx<'_>, scorer_id: &str, township_id: &str, hash: &str) -> Result<()> {
    ensure_paper_sheet(tx, scorer_id, township_id)?;
    tx.conn().execute(
        "UPDATE paper_sheets SET scan_hash = ?3, updated_at = ?4
         WHERE scorer_id = ?1 AND township_id = ?2",
        params![scorer_id, township_id, hash, tx.at()],
    )?;
    log(
        tx,
        &format!("{scorer_id}/{township_id}"),
        "scan",
        serde_json::json!({ "scorer_id": scorer_id, "township_id": township_id, "hash": hash }),
    )
}

/// Makes the scorer's submitted sheet from agreed entries, in the caller's transaction: a new
/// draft, every mark, the comment, then submit — each through [`crate::scoring`], so the score
/// audit has its usual rows, with `reason` (双人录入:张三、李四) on each of them. The reason
/// is passed as the sheet's reason in force for this write only; the stored sheet keeps no
/// unlock reason.
pub fn commit_sheet(
    tx: &WriteTx<'_>,
    scorer_id: &str,
    township_id: &str,
    entry: &PaperEntry,
    reason: &str,
) -> Result<Sheet> {
    let with_reason = |mut s: Sheet| {
        s.unlock_reason = Some(reason.to_string());
        s
    };
    let mut sheet = with_reason(scoring::create_sheet(tx, scorer_id, township_id)?);
    for (id, p) in &entry.marks {
        sheet = with_reason(scoring::set_mark(
            tx,
            &sheet,
            MarkTarget::Criterion,
            id,
            Some(p.tenths()),
            "",
        )?);
    }
    for (id, p) in &entry.adjustments {
        sheet = with_reason(scoring::set_mark(
            tx,
            &sheet,
            MarkTarget::Adjustment,
            id,
            Some(p.tenths()),
            "",
        )?);
    }
    if !entry.comment.is_empty() {
        sheet = with_reason(scoring::set_comment(tx, &sheet, &entry.comment)?);
    }
    let submitted = scoring::submit(tx, &sheet)?;
    tx.conn().execute(
        "UPDATE paper_sheets SET sheet_id = ?3, committed_at = ?4, updated_at = ?4
         WHERE scorer_id = ?1 AND township_id = ?2",
        params![scorer_id, township_id, submitted.id, tx.at()],
    )?;
    log(
        tx,
        &format!("{scorer_id}/{township_id}"),
        "commit",
        serde_json::json!({ "sheet_id": submitted.id }),
    )?;
    Ok(submitted)
}
