//! Scorers, scoring state per township, score sheets and their marks, and the score audit
//! log. Every change to a mark, comment or status writes an audit row (old → new, and the
//! unlock reason once a sheet was unlocked) and a change row in the same transaction.

use crate::{ChangeInput, Result, StoreError, WriteTx};
use guanmo_domain::points::Points;
use guanmo_domain::schedule::{ManualState, TourSettings};
use guanmo_domain::scoring::{
    AdjustmentMark, AuditEntry, AuditKind, Mark, Scorer, ScorerInput, ScoringState, Sheet,
    SheetStatus,
};
use rusqlite::{params, Connection, OptionalExtension, Row};

fn scorer_from_row(r: &Row<'_>) -> rusqlite::Result<Scorer> {
    Ok(Scorer {
        id: r.get(0)?,
        name: r.get(1)?,
        group: r.get(2)?,
        township_id: r.get(3)?,
        active: r.get(4)?,
        version: r.get(5)?,
        work_unit: r.get(6)?,
    })
}

const SCORER_COLUMNS: &str = "id, name, grp, township_id, active, version, work_unit";

/// All scorers, in registration order.
pub fn list_scorers(conn: &Connection) -> Result<Vec<Scorer>> {
    let mut st = conn.prepare(&format!(
        "SELECT {SCORER_COLUMNS} FROM scorers ORDER BY created_at, id"
    ))?;
    let rows = st.query_map([], scorer_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// One scorer.
pub fn get_scorer(conn: &Connection, id: &str) -> Result<Scorer> {
    conn.query_row(
        &format!("SELECT {SCORER_COLUMNS} FROM scorers WHERE id = ?1"),
        [id],
        scorer_from_row,
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        entity: "scorer",
        id: id.to_string(),
    })
}

fn log_scorer(tx: &WriteTx<'_>, op: &'static str, s: &Scorer) -> Result<()> {
    tx.record(ChangeInput {
        entity: "scorer",
        entity_id: s.id.clone(),
        op,
        payload: serde_json::to_value(s)?,
    })
}

/// Registers a scorer.
pub fn insert_scorer(tx: &WriteTx<'_>, input: &ScorerInput) -> Result<Scorer> {
    let id = guanmo_domain::ids::new_id();
    tx.conn().execute(
        "INSERT INTO scorers (id, name, grp, township_id, active, version, created_at, updated_at,
                              work_unit)
         VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6, ?7)",
        params![
            id,
            input.name,
            input.group,
            input.township_id,
            input.active,
            tx.at(),
            input.work_unit
        ],
    )?;
    let s = get_scorer(tx.conn(), &id)?;
    log_scorer(tx, "insert", &s)?;
    Ok(s)
}

/// Edits a scorer still at `expected_version`.
pub fn update_scorer(
    tx: &WriteTx<'_>,
    id: &str,
    expected_version: i32,
    input: &ScorerInput,
) -> Result<Scorer> {
    let current = get_scorer(tx.conn(), id)?;
    if current.version != expected_version {
        return Err(StoreError::VersionConflict {
            entity: "scorer",
            id: id.into(),
            expected: expected_version,
            current: current.version,
        });
    }
    tx.conn().execute(
        "UPDATE scorers SET name = ?2, grp = ?3, township_id = ?4, active = ?5,
                version = version + 1, updated_at = ?6, work_unit = ?7 WHERE id = ?1",
        params![
            id,
            input.name,
            input.group,
            input.township_id,
            input.active,
            tx.at(),
            input.work_unit
        ],
    )?;
    let s = get_scorer(tx.conn(), id)?;
    log_scorer(tx, "update", &s)?;
    Ok(s)
}

/// Meta key of the tour's settings (观摩日期), replicated from the hub as op kind
/// `tour_settings`.
pub const TOUR_SETTINGS: &str = "tour_settings";

fn manual_of(s: &str) -> ManualState {
    match s {
        "open" => ManualState::Open,
        "closed" => ManualState::Closed,
        _ => ManualState::Auto,
    }
}

/// The organiser's manual state of every township that has one (a township without a row
/// follows the schedule, as one set to `auto` does).
pub fn manual_states(conn: &Connection) -> Result<Vec<(String, ManualState)>> {
    let mut st = conn.prepare("SELECT township_id, state FROM township_scoring")?;
    let rows = st.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, manual_of(&r.get::<_, String>(1)?)))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The organiser's manual state of one township ([`ManualState::Auto`] without one).
pub fn manual_state(conn: &Connection, township_id: &str) -> Result<ManualState> {
    let s: Option<String> = conn
        .query_row(
            "SELECT state FROM township_scoring WHERE township_id = ?1",
            [township_id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(s.as_deref().map_or(ManualState::Auto, manual_of))
}

/// The organiser's manual state of one township as a [`ScoringState`] (`auto` or no row:
/// [`ScoringState::NotOpen`]). This ignores the schedule: whether a township is open now is
/// `guanmo_api::scoring::scoring_state_now`.
pub fn state(conn: &Connection, township_id: &str) -> Result<ScoringState> {
    Ok(match manual_state(conn, township_id)? {
        ManualState::Open => ScoringState::Open,
        ManualState::Closed => ScoringState::Closed,
        ManualState::Auto => ScoringState::NotOpen,
    })
}

/// The tour's settings (defaults until the organiser sets them).
pub fn tour_settings(conn: &Connection) -> Result<TourSettings> {
    Ok(crate::meta::get(conn, TOUR_SETTINGS)?
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default())
}

/// Saves the tour's settings; the change row makes the op log replicate them.
pub fn set_tour_settings(tx: &WriteTx<'_>, settings: &TourSettings) -> Result<()> {
    crate::meta::set(tx, TOUR_SETTINGS, &serde_json::to_string(settings)?)?;
    tx.record(ChangeInput {
        entity: TOUR_SETTINGS,
        entity_id: TOUR_SETTINGS.into(),
        op: "set",
        payload: serde_json::to_value(settings)?,
    })
}

/// Opens or closes scoring of a township.
pub fn set_state(tx: &WriteTx<'_>, township_id: &str, open: bool) -> Result<()> {
    let state = if open { "open" } else { "closed" };
    write_state(
        tx,
        township_id,
        state,
        serde_json::json!({ "state": state }),
    )
}

/// Hands a township back to the schedule (按日程): it opens at its scheduled arrival and
/// closes at the end of its tour day.
pub fn follow_schedule(tx: &WriteTx<'_>, township_id: &str) -> Result<()> {
    write_state(
        tx,
        township_id,
        "auto",
        serde_json::json!({ "state": "auto" }),
    )
}

/// Closes scoring of a township, noting in the change log why it closed although some sheets
/// were not submitted (`reason`) and whose (`missing`: scorer id and name). The change log is
/// kept for good and is local to this device: the note reaches no other replica (the op log
/// carries only the state), so sync is unchanged.
pub fn close_with_reason(
    tx: &WriteTx<'_>,
    township_id: &str,
    reason: Option<&str>,
    missing: &[(String, String)],
) -> Result<()> {
    let missing: Vec<serde_json::Value> = missing
        .iter()
        .map(|(id, name)| serde_json::json!({ "scorer_id": id, "name": name }))
        .collect();
    write_state(
        tx,
        township_id,
        "closed",
        serde_json::json!({ "state": "closed", "reason": reason, "missing": missing }),
    )
}

/// The reason given when each township's scoring was last closed here, if one was given
/// and the township was not opened or handed back to the schedule since.
pub fn close_reasons(conn: &Connection) -> Result<std::collections::HashMap<String, String>> {
    let mut st = conn.prepare(
        "SELECT entity_id, json_extract(payload, '$.reason') FROM changes
         WHERE entity = 'scoring_state' AND op IN ('close', 'open', 'auto') ORDER BY seq",
    )?;
    let rows = st.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
    })?;
    let mut out = std::collections::HashMap::new();
    for row in rows {
        let (township, reason) = row?;
        match reason {
            Some(r) => out.insert(township, r),
            None => out.remove(&township),
        };
    }
    Ok(out)
}

fn write_state(
    tx: &WriteTx<'_>,
    township_id: &str,
    state: &'static str,
    payload: serde_json::Value,
) -> Result<()> {
    tx.conn().execute(
        "INSERT INTO township_scoring (township_id, state, opened_at, closed_at)
         VALUES (?1, ?2, CASE WHEN ?2 = 'open' THEN ?3 END, CASE WHEN ?2 = 'closed' THEN ?3 END)
         ON CONFLICT (township_id) DO UPDATE SET state = excluded.state,
             opened_at = COALESCE(excluded.opened_at, opened_at),
             closed_at = CASE WHEN excluded.state = 'closed' THEN excluded.closed_at END",
        params![township_id, state, tx.at()],
    )?;
    tx.record(ChangeInput {
        entity: "scoring_state",
        entity_id: township_id.to_string(),
        op: match state {
            "open" => "open",
            "closed" => "close",
            _ => "auto",
        },
        payload,
    })
}

fn pts(t: Option<i32>) -> Option<f64> {
    t.map(|t| Points(t).as_f64())
}

fn show(t: Option<i32>) -> Option<String> {
    t.map(|t| Points(t).to_string())
}

/// The sheet of `scorer_id` for `township_id`, if one was started.
pub fn find_sheet(conn: &Connection, scorer_id: &str, township_id: &str) -> Result<Option<Sheet>> {
    let id: Option<String> = conn
        .query_row(
            "SELECT id FROM sheets WHERE scorer_id = ?1 AND township_id = ?2",
            [scorer_id, township_id],
            |r| r.get(0),
        )
        .optional()?;
    id.map(|id| get_sheet(conn, &id)).transpose()
}

/// A sheet with its marks and totals (retired rubric items are left out of the totals).
pub fn get_sheet(conn: &Connection, id: &str) -> Result<Sheet> {
    type Head = (
        String,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        i32,
    );
    let head: Option<Head> = conn
        .query_row(
            "SELECT scorer_id, township_id, status, comment, submitted_at, unlock_reason, version
             FROM sheets WHERE id = ?1",
            [id],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            },
        )
        .optional()?;
    let Some((scorer_id, township_id, status, comment, submitted_at, unlock_reason, version)) =
        head
    else {
        return Err(StoreError::NotFound {
            entity: "sheet",
            id: id.to_string(),
        });
    };
    let mut st = conn.prepare(
        "SELECT m.criterion_id, m.tenths, m.note, c.retired FROM marks m
         JOIN rubric_criteria c ON c.id = m.criterion_id WHERE m.sheet_id = ?1",
    )?;
    let mut base = 0i32;
    let marks = st
        .query_map([id], |r| {
            let tenths: Option<i32> = r.get(1)?;
            let retired: bool = r.get(3)?;
            Ok((
                Mark {
                    criterion_id: r.get(0)?,
                    points: pts(tenths),
                    note: r.get(2)?,
                },
                if retired { 0 } else { tenths.unwrap_or(0) },
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .map(|(m, t)| {
            base += t;
            m
        })
        .collect();
    let mut st = conn.prepare(
        "SELECT m.adjustment_id, m.tenths, m.note, a.kind, a.retired FROM adjustment_marks m
         JOIN rubric_adjustments a ON a.id = m.adjustment_id WHERE m.sheet_id = ?1",
    )?;
    let mut adj = 0i32;
    let adjustments = st
        .query_map([id], |r| {
            let tenths: Option<i32> = r.get(1)?;
            let kind: String = r.get(3)?;
            let retired: bool = r.get(4)?;
            let signed = match (retired, kind.as_str()) {
                (true, _) => 0,
                (false, "penalty") => -tenths.unwrap_or(0),
                (false, _) => tenths.unwrap_or(0),
            };
            Ok((
                AdjustmentMark {
                    adjustment_id: r.get(0)?,
                    points: pts(tenths),
                    note: r.get(2)?,
                },
                signed,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .map(|(m, t)| {
            adj += t;
            m
        })
        .collect();
    Ok(Sheet {
        id: id.to_string(),
        scorer_id,
        township_id,
        status: if status == "submitted" {
            SheetStatus::Submitted
        } else {
            SheetStatus::Draft
        },
        marks,
        adjustments,
        evidence: crate::photos::evidence_of(conn, id)?,
        comment,
        base_total: Points(base).as_f64(),
        adjustment_total: Points(adj).as_f64(),
        submitted_at,
        unlock_reason,
        version,
    })
}

/// Starts an empty draft sheet.
pub fn create_sheet(tx: &WriteTx<'_>, scorer_id: &str, township_id: &str) -> Result<Sheet> {
    let id = guanmo_domain::ids::new_id();
    tx.conn().execute(
        "INSERT INTO sheets (id, scorer_id, township_id, status, version, created_at, updated_at)
         VALUES (?1, ?2, ?3, 'draft', 1, ?4, ?4)",
        params![id, scorer_id, township_id, tx.at()],
    )?;
    tx.record(ChangeInput {
        entity: "sheet",
        entity_id: id.clone(),
        op: "create",
        payload: serde_json::json!({ "scorer_id": scorer_id, "township_id": township_id }),
    })?;
    get_sheet(tx.conn(), &id)
}

fn audit(
    tx: &WriteTx<'_>,
    sheet: &Sheet,
    kind: &str,
    item_id: Option<&str>,
    old: Option<String>,
    new: Option<String>,
    reason: Option<&str>,
) -> Result<()> {
    tx.conn().execute(
        "INSERT INTO score_audit (at, device_id, actor, scorer_id, sheet_id, township_id,
                                  item_kind, item_id, old_value, new_value, reason, person_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
        params![
            tx.at(),
            tx.device_id(),
            tx.actor(),
            sheet.scorer_id,
            sheet.id,
            sheet.township_id,
            kind,
            item_id,
            old,
            new,
            reason,
            guanmo_domain::people::person_of_label(tx.actor()),
        ],
    )?;
    Ok(())
}

fn touch(
    tx: &WriteTx<'_>,
    sheet_id: &str,
    op: &'static str,
    payload: serde_json::Value,
) -> Result<Sheet> {
    tx.conn().execute(
        "UPDATE sheets SET version = version + 1, updated_at = ?2 WHERE id = ?1",
        params![sheet_id, tx.at()],
    )?;
    tx.record(ChangeInput {
        entity: "sheet",
        entity_id: sheet_id.to_string(),
        op,
        payload,
    })?;
    get_sheet(tx.conn(), sheet_id)
}

/// Which table a mark lives in.
#[derive(Debug, Clone, Copy)]
pub enum MarkTarget {
    /// A criterion (`marks`).
    Criterion,
    /// A bonus/penalty item (`adjustment_marks`).
    Adjustment,
}

/// Sets one mark (points and note) on a draft sheet; a no-op when nothing changed.
pub fn set_mark(
    tx: &WriteTx<'_>,
    sheet: &Sheet,
    target: MarkTarget,
    item_id: &str,
    tenths: Option<i32>,
    note: &str,
) -> Result<Sheet> {
    let (table, column, kind) = match target {
        MarkTarget::Criterion => ("marks", "criterion_id", "criterion"),
        MarkTarget::Adjustment => ("adjustment_marks", "adjustment_id", "adjustment"),
    };
    let old: Option<(Option<i32>, String)> = tx
        .conn()
        .query_row(
            &format!("SELECT tenths, note FROM {table} WHERE sheet_id = ?1 AND {column} = ?2"),
            [&sheet.id, item_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (old_tenths, old_note) = old.unwrap_or((None, String::new()));
    if old_tenths == tenths && old_note == note {
        return Ok(sheet.clone());
    }
    tx.conn().execute(
        &format!(
            "INSERT INTO {table} (sheet_id, {column}, tenths, note, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (sheet_id, {column}) DO UPDATE SET tenths = excluded.tenths,
                 note = excluded.note, updated_at = excluded.updated_at"
        ),
        params![sheet.id, item_id, tenths, note, tx.at()],
    )?;
    let reason = sheet.unlock_reason.as_deref();
    if old_tenths != tenths {
        audit(
            tx,
            sheet,
            kind,
            Some(item_id),
            show(old_tenths),
            show(tenths),
            reason,
        )?;
    }
    if old_note != note {
        audit(
            tx,
            sheet,
            kind,
            Some(item_id),
            Some(format!("备注:{old_note}")),
            Some(format!("备注:{note}")),
            reason,
        )?;
    }
    touch(
        tx,
        &sheet.id,
        "mark",
        serde_json::json!({ "item": item_id, "kind": kind, "tenths": tenths, "note": note }),
    )
}

/// Sets the overall comment of a draft sheet.
pub fn set_comment(tx: &WriteTx<'_>, sheet: &Sheet, comment: &str) -> Result<Sheet> {
    if sheet.comment == comment {
        return Ok(sheet.clone());
    }
    tx.conn().execute(
        "UPDATE sheets SET comment = ?2 WHERE id = ?1",
        params![sheet.id, comment],
    )?;
    audit(
        tx,
        sheet,
        "comment",
        None,
        Some(sheet.comment.clone()),
        Some(comment.to_string()),
        sheet.unlock_reason.as_deref(),
    )?;
    touch(
        tx,
        &sheet.id,
        "comment",
        serde_json::json!({ "comment": comment }),
    )
}

/// Submits (locks) a sheet.
pub fn submit(tx: &WriteTx<'_>, sheet: &Sheet) -> Result<Sheet> {
    tx.conn().execute(
        "UPDATE sheets SET status = 'submitted', submitted_at = ?2 WHERE id = ?1",
        params![sheet.id, tx.at()],
    )?;
    let total = Points::from_f64(sheet.base_total + sheet.adjustment_total)
        .map(|p| p.to_string())
        .unwrap_or_default();
    audit(
        tx,
        sheet,
        "submit",
        None,
        Some("草稿".into()),
        Some(format!("已提交,总分{total}")),
        sheet.unlock_reason.as_deref(),
    )?;
    touch(
        tx,
        &sheet.id,
        "submit",
        serde_json::json!({ "total": total }),
    )
}

/// Unlocks a submitted sheet for changes, with the organiser's reason.
pub fn unlock(tx: &WriteTx<'_>, sheet: &Sheet, reason: &str) -> Result<Sheet> {
    tx.conn().execute(
        "UPDATE sheets SET status = 'draft', unlock_reason = ?2 WHERE id = ?1",
        params![sheet.id, reason],
    )?;
    audit(
        tx,
        sheet,
        "unlock",
        None,
        Some("已提交".into()),
        Some("草稿".into()),
        Some(reason),
    )?;
    touch(
        tx,
        &sheet.id,
        "unlock",
        serde_json::json!({ "reason": reason }),
    )
}

/// A submitted sheet reduced to what ranking needs.
#[derive(Debug, Clone, PartialEq)]
pub struct SubmittedSheet {
    /// Sheet.
    pub sheet_id: String,
    /// Scorer.
    pub scorer_id: String,
    /// Township.
    pub township_id: String,
    /// Sum of criterion marks, tenths.
    pub base_tenths: i32,
    /// Bonus minus penalty, tenths.
    pub adjustment_tenths: i32,
    /// Per category subtotal, tenths, by category id.
    pub category_tenths: Vec<(String, i32)>,
}

/// Every submitted sheet with its totals, ordered by sheet id.
pub fn submitted_sheets(conn: &Connection) -> Result<Vec<SubmittedSheet>> {
    let mut st = conn.prepare(
        "SELECT s.id, s.scorer_id, s.township_id,
                COALESCE((SELECT SUM(CASE WHEN a.kind = 'penalty' THEN -m.tenths ELSE m.tenths END)
                          FROM adjustment_marks m JOIN rubric_adjustments a ON a.id = m.adjustment_id
                          WHERE m.sheet_id = s.id AND a.retired = 0), 0)
         FROM sheets s WHERE s.status = 'submitted' ORDER BY s.id",
    )?;
    let mut sheets = st
        .query_map([], |r| {
            Ok(SubmittedSheet {
                sheet_id: r.get(0)?,
                scorer_id: r.get(1)?,
                township_id: r.get(2)?,
                base_tenths: 0,
                adjustment_tenths: clamp_tenths(r.get::<_, i64>(3)?),
                category_tenths: Vec::new(),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    // One grouped query for every sheet's category subtotals, merged by sheet id.
    let mut cat = conn.prepare(
        "SELECT m.sheet_id, c.category_id, COALESCE(SUM(m.tenths), 0) FROM marks m
         JOIN rubric_criteria c ON c.id = m.criterion_id
         JOIN sheets s ON s.id = m.sheet_id
         WHERE s.status = 'submitted' AND c.retired = 0
         GROUP BY m.sheet_id, c.category_id ORDER BY m.sheet_id, c.category_id",
    )?;
    let mut subtotals: std::collections::HashMap<String, Vec<(String, i32)>> =
        std::collections::HashMap::new();
    let rows = cat.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })?;
    for row in rows {
        let (sheet, category, tenths) = row?;
        subtotals
            .entry(sheet)
            .or_default()
            .push((category, clamp_tenths(tenths)));
    }
    for s in &mut sheets {
        s.category_tenths = subtotals.remove(&s.sheet_id).unwrap_or_default();
        s.base_tenths = clamp_tenths(s.category_tenths.iter().map(|(_, t)| i64::from(*t)).sum());
    }
    Ok(sheets)
}

/// A sum of tenths taken in 64 bits, as the sheet model holds it. Every mark is checked
/// against its criterion's maximum before it is stored, so a real sum is far inside `i32`;
/// clamping keeps the standings computable whatever a damaged or hostile row holds.
fn clamp_tenths(sum: i64) -> i32 {
    i32::try_from(sum.clamp(i64::from(i32::MIN), i64::from(i32::MAX))).unwrap_or(0)
}

/// A sheet's place on the progress board.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetStatusRow {
    /// Sheet.
    pub sheet_id: String,
    /// Scorer.
    pub scorer_id: String,
    /// Township.
    pub township_id: String,
    /// Draft or submitted.
    pub status: SheetStatus,
    /// When it was (last) submitted, RFC 3339.
    pub submitted_at: Option<String>,
}

/// Every sheet's (id, scorer, township, status, submitted at), for the progress board.
pub fn sheet_statuses(conn: &Connection) -> Result<Vec<SheetStatusRow>> {
    let mut st =
        conn.prepare("SELECT id, scorer_id, township_id, status, submitted_at FROM sheets")?;
    let rows = st.query_map([], |r| {
        let s: String = r.get(3)?;
        Ok(SheetStatusRow {
            sheet_id: r.get(0)?,
            scorer_id: r.get(1)?,
            township_id: r.get(2)?,
            status: if s == "submitted" {
                SheetStatus::Submitted
            } else {
                SheetStatus::Draft
            },
            submitted_at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Whether `township_id` has a score sheet, draft or submitted.
pub fn township_has_sheets(conn: &Connection, township_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM sheets WHERE township_id = ?1)")?
        .query_row([township_id], |r| r.get(0))?)
}

/// The audit log, oldest first; of one sheet when `sheet_id` is given.
pub fn audit_log(conn: &Connection, sheet_id: Option<&str>) -> Result<Vec<AuditEntry>> {
    let mut st = conn.prepare(
        "SELECT a.seq, a.at, a.device_id, a.scorer_id, a.sheet_id, a.township_id, a.item_kind,
                a.item_id, a.old_value, a.new_value, a.reason, a.person_id,
                COALESCE(p.name, '未指定')
         FROM score_audit a LEFT JOIN people p ON p.id = a.person_id
         WHERE ?1 IS NULL OR a.sheet_id = ?1 ORDER BY a.seq",
    )?;
    let rows = st.query_map([sheet_id], |r| {
        let kind: String = r.get(6)?;
        Ok(AuditEntry {
            seq: r.get(0)?,
            at: r.get(1)?,
            device_id: r.get(2)?,
            scorer_id: r.get(3)?,
            sheet_id: r.get(4)?,
            township_id: r.get(5)?,
            kind: match kind.as_str() {
                "criterion" => AuditKind::Criterion,
                "adjustment" => AuditKind::Adjustment,
                "comment" => AuditKind::Comment,
                "submit" => AuditKind::Submit,
                _ => AuditKind::Unlock,
            },
            item_id: r.get(7)?,
            old_value: r.get(8)?,
            new_value: r.get(9)?,
            reason: r.get(10)?,
            person_id: r.get(11)?,
            person_name: r.get(12)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Every sheet, ordered by township then scorer registration.
pub fn list_sheets(conn: &Connection) -> Result<Vec<Sheet>> {
    let mut st = conn.prepare(
        "SELECT s.id FROM sheets s JOIN townships t ON t.id = s.township_id
         JOIN scorers c ON c.id = s.scorer_id ORDER BY t.position, c.created_at, c.id",
    )?;
    let ids = st
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    ids.iter().map(|id| get_sheet(conn, id)).collect()
}
