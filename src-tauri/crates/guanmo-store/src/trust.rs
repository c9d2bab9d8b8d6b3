//! What the replica that judges remote operations (the organiser's hub) believes about them:
//! who may send which kind (by the sender's role in the hub's own `devices` rows), which
//! laptop scores for which scorer (the hub's `scorer_devices`, set by the organiser), and the
//! domain rules every applied operation passes, the same as a local write: points within
//! 0..max in tenths, the sheet and post state machines, the recusal rule, sizes and ranges.
//! Nothing here reads ownership from a payload.

use crate::oplog::Kind;
use crate::{Result, WriteTx};
use guanmo_domain::device::Role;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Longest text a remote row may carry in any column (a post body is at most 5,000).
pub const MAX_TEXT_CHARS: usize = 20_000;
/// Most rows one table of a remote operation may carry.
pub const MAX_ROWS: usize = 2_000;
/// Longest note or sheet comment, as in a local write.
const MAX_NOTE_CHARS: usize = guanmo_domain::roster::MAX_NOTE_CHARS;

/// Why a remote operation was refused: a stable code and details for the log.
pub(crate) type Refusal = (&'static str, String);

/// Whether a device of `role` may send operations of `kind`: hub-owned kinds only from the
/// hub, sheets (and their evidence) from scorers' laptops, posts from media laptops, photos
/// from both (evidence and feed photos are one table), residents' comments only from a device
/// that runs the resident site (the media laptop's LAN site), moderators' decisions from any
/// laptop, but only while the hub grants it 审核 (see [`is_moderator`], checked apart).
pub fn kind_allowed(kind: Kind, role: Role) -> bool {
    if role == Role::Hub {
        return true;
    }
    match kind {
        Kind::Sheet => role == Role::Scorer,
        Kind::Post => role == Role::Media,
        // A sign-off step: the media laptop (who may make it is checked apart, by person).
        Kind::PostStep => role == Role::Media,
        Kind::Photo => matches!(role, Role::Scorer | Role::Media),
        // A resident's records (a comment, a report, an appeal, a site's like count): only a
        // device that runs the resident site; whose comment an appeal may be is checked apart.
        Kind::Comment | Kind::CommentReport | Kind::CommentAppeal | Kind::LikeCount => {
            role.runs_site()
        }
        // Moderators' records (decisions, 交办/回复, the area switch, the word list, 禁言):
        // any laptop, but only while the hub grants it 审核 (checked apart).
        Kind::CommentDecision
        | Kind::CommentHandling
        | Kind::CommentArea
        | Kind::CommentWord
        | Kind::CommentMute => true,
        Kind::Roster
        | Kind::Rubric
        | Kind::AggregationRule
        | Kind::Scorer
        | Kind::ScoringState
        | Kind::Moderator
        | Kind::Person
        | Kind::TourSettings
        | Kind::FeedSettings => false,
    }
}

/// True while the hub grants `device_id` 审核 (moderator) and the device is paired and not
/// revoked: only then are its decisions on comments accepted.
pub fn is_moderator(conn: &Connection, device_id: &str) -> Result<bool> {
    Ok(granted_moderator(conn, device_id)? && device_role(conn, device_id)?.is_some())
}

/// Whether `device_id` holds a 审核 grant as this replica knows it (on a laptop: its own,
/// replicated from the hub), whatever its pairing.
pub fn granted_moderator(conn: &Connection, device_id: &str) -> Result<bool> {
    let granted: Option<bool> = conn
        .prepare_cached("SELECT granted FROM moderators WHERE device_id = ?1")?
        .query_row([device_id], |r| r.get(0))
        .optional()?;
    Ok(granted == Some(true))
}

/// The devices granted 审核 now, by id.
pub fn moderators(conn: &Connection) -> Result<Vec<String>> {
    let mut st = conn
        .prepare_cached("SELECT device_id FROM moderators WHERE granted = 1 ORDER BY device_id")?;
    let rows = st.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Grants (`on`) or revokes 审核 for `device_id`: a replicated record of the hub's, so the
/// laptop learns it. The hub's organiser only; the caller checks the device is a paired,
/// unrevoked laptop. Returns whether anything changed.
pub fn set_moderator(tx: &WriteTx<'_>, device_id: &str, on: bool) -> Result<bool> {
    if granted_moderator(tx.conn(), device_id)? == on {
        return Ok(false);
    }
    tx.conn()
        .prepare_cached(
            "INSERT INTO moderators (device_id, granted, at, by) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (device_id) DO UPDATE SET granted = excluded.granted, at = excluded.at,
                 by = excluded.by",
        )?
        .execute(params![device_id, on, tx.at(), tx.actor()])?;
    tx.record(crate::ChangeInput {
        entity: Kind::Moderator.entity(),
        entity_id: device_id.to_string(),
        op: if on { "grant" } else { "revoke" },
        payload: serde_json::json!({ "granted": on }),
    })?;
    Ok(true)
}

/// The role of a paired, unrevoked device as the hub recorded it at pairing.
pub fn device_role(conn: &Connection, device_id: &str) -> Result<Option<Role>> {
    let role: Option<String> = conn
        .prepare_cached("SELECT role FROM devices WHERE id = ?1 AND revoked_at IS NULL")?
        .query_row([device_id], |r| r.get(0))
        .optional()?;
    Ok(role.as_deref().and_then(Role::parse))
}

/// The laptop the organiser assigned to score for `scorer_id`, if any.
pub fn scorer_device(conn: &Connection, scorer_id: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT device_id FROM scorer_devices WHERE scorer_id = ?1")?
        .query_row([scorer_id], |r| r.get(0))
        .optional()?)
}

/// One assignment of a scorer to the laptop that scores for them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScorerAssignment {
    /// The scorer.
    pub scorer_id: String,
    /// The laptop.
    pub device_id: String,
    /// When the organiser set it.
    pub assigned_at: String,
    /// Who set it (`upgrade` for bindings carried over from before assignments existed).
    pub assigned_by: String,
}

/// Every assignment, by scorer.
pub fn scorer_assignments(conn: &Connection) -> Result<Vec<ScorerAssignment>> {
    let mut st = conn.prepare_cached(
        "SELECT scorer_id, device_id, assigned_at, assigned_by FROM scorer_devices
         ORDER BY scorer_id",
    )?;
    let rows = st.query_map([], |r| {
        Ok(ScorerAssignment {
            scorer_id: r.get(0)?,
            device_id: r.get(1)?,
            assigned_at: r.get(2)?,
            assigned_by: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Assigns `scorer_id` to `device_id` (or clears the assignment with `None`): from now on only
/// that laptop's operations may write the scorer's sheets. The hub's organiser only; the
/// caller checks the device is a paired scorer laptop. Returns whether anything changed.
pub fn assign_scorer(tx: &WriteTx<'_>, scorer_id: &str, device_id: Option<&str>) -> Result<bool> {
    let c = tx.conn();
    let before = scorer_device(c, scorer_id)?;
    if before.as_deref() == device_id {
        return Ok(false);
    }
    match device_id {
        Some(d) => {
            c.prepare_cached(
                "INSERT INTO scorer_devices (scorer_id, device_id, assigned_at, assigned_by)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (scorer_id) DO UPDATE SET device_id = excluded.device_id,
                     assigned_at = excluded.assigned_at, assigned_by = excluded.assigned_by",
            )?
            .execute(params![scorer_id, d, tx.at(), tx.actor()])?;
        }
        None => {
            c.prepare_cached("DELETE FROM scorer_devices WHERE scorer_id = ?1")?
                .execute([scorer_id])?;
        }
    }
    if let Some(d) = device_id {
        note_refill(tx, d, &[scorer_id.to_string()])?;
    }
    tx.record(crate::ChangeInput {
        entity: "scorer_device",
        entity_id: scorer_id.to_string(),
        op: "assign",
        payload: serde_json::json!({ "from": before, "to": device_id }),
    })?;
    Ok(true)
}

/// Moves every scorer assigned to `from` to `to` (转交). Returns how many moved.
pub(crate) fn move_assignments(tx: &WriteTx<'_>, from: &str, to: &str) -> Result<usize> {
    let moved: Vec<String> = {
        let mut st = tx
            .conn()
            .prepare_cached("SELECT scorer_id FROM scorer_devices WHERE device_id = ?1")?;
        let rows = st.query_map([from], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    if from != to {
        note_refill(tx, to, &moved)?;
    }
    Ok(tx.conn().execute(
        "UPDATE scorer_devices SET device_id = ?2, assigned_at = ?3, assigned_by = ?4
         WHERE device_id = ?1",
        params![from, to, tx.at(), tx.actor()],
    )?)
}

// ---------------------------------------------------------------------------------------
// What each laptop may hold (背靠背)

/// Which score sheets a device may hold, by its role on the hub: a scorer's laptop only the
/// sheets of the scorers the organiser assigned to it, a media laptop none, the hub (and
/// anything else) all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SheetAccess {
    /// Every sheet.
    All,
    /// Only these scorers' sheets.
    Scorers(BTreeSet<String>),
    /// No sheet.
    None,
}

impl SheetAccess {
    /// Whether a sheet of `scorer_id` may reach the device.
    pub fn may_hold(&self, scorer_id: &str) -> bool {
        match self {
            SheetAccess::All => true,
            SheetAccess::Scorers(s) => s.contains(scorer_id),
            SheetAccess::None => false,
        }
    }
}

/// What `device_id` may hold of the score sheets, as this hub assigned scorers now.
pub fn sheet_access(conn: &Connection, device_id: &str) -> Result<SheetAccess> {
    Ok(match device_role(conn, device_id)? {
        Some(Role::Scorer) => {
            let mut st =
                conn.prepare_cached("SELECT scorer_id FROM scorer_devices WHERE device_id = ?1")?;
            let rows = st.query_map([device_id], |r| r.get(0))?;
            SheetAccess::Scorers(rows.collect::<rusqlite::Result<_>>()?)
        }
        Some(Role::Media) => SheetAccess::None,
        Some(Role::Hub) | None => SheetAccess::All,
    })
}

/// Whether `device_id` (which may hold `access` of the sheets) may hold the photo `hash`,
/// whose record came from a scorer's laptop when `from_scorer` (背靠背: evidence goes only
/// where a sheet it is attached to may go).
///
/// - The hub's own role holds every photo.
/// - A photo a post shows is public.
/// - A photo attached to sheets goes only where one of those sheets may go.
/// - Any other photo goes everywhere, except one a scorer's laptop took: that is evidence
///   not attached yet.
pub fn may_hold_photo(
    conn: &Connection,
    access: &SheetAccess,
    hash: &str,
    from_scorer: bool,
) -> Result<bool> {
    if may_hold_evidence(conn, access, hash, from_scorer)? {
        return Ok(true);
    }
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM post_photos WHERE hash = ?1)")?
        .query_row([hash], |r| r.get(0))?)
}

/// [`may_hold_photo`] as if no post showed the photo: whether it may reach the device as
/// evidence.
pub fn may_hold_evidence(
    conn: &Connection,
    access: &SheetAccess,
    hash: &str,
    from_scorer: bool,
) -> Result<bool> {
    if matches!(access, SheetAccess::All) {
        return Ok(true);
    }
    let mut st = conn.prepare_cached(
        "SELECT DISTINCT s.scorer_id FROM sheet_evidence e JOIN sheets s ON s.id = e.sheet_id
         WHERE e.hash = ?1",
    )?;
    let scorers: Vec<String> = st
        .query_map([hash], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if !scorers.is_empty() {
        return Ok(scorers.iter().any(|s| access.may_hold(s)));
    }
    Ok(!from_scorer)
}

/// The device whose record of photo `hash` stands (the first to reach the hub; later ones
/// are superseded), and whether it is a scorer's laptop (paired as one, revoked since or
/// not): what such a laptop records of photos is evidence.
pub fn photo_owner(conn: &Connection, hash: &str) -> Result<Option<(String, bool)>> {
    let row: Option<(String, Option<String>)> = conn
        .prepare_cached(
            "SELECT o.device_id, d.role FROM sync_owners o LEFT JOIN devices d ON d.id = o.device_id
             WHERE o.owner_key = 'photo:' || ?1",
        )?
        .query_row([hash], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(row.map(|(device, role)| {
        let scorer = role.as_deref().and_then(Role::parse) == Some(Role::Scorer);
        (device, scorer)
    }))
}

/// Whether photo `hash` reaches `device_id` (which may hold `access` of the sheets): its own
/// photo always; any other as [`may_hold_photo`] judges it, by its owner's role, or by
/// `sender`'s when the photo has no owner yet (`None`: not a scorer's).
pub fn photo_reaches(
    conn: &Connection,
    device_id: &str,
    access: &SheetAccess,
    hash: &str,
    sender: Option<&str>,
) -> Result<bool> {
    if matches!(access, SheetAccess::All) {
        return Ok(true);
    }
    let from_scorer = match photo_owner(conn, hash)? {
        Some((owner, _)) if owner == device_id => return Ok(true),
        Some((_, scorer)) => scorer,
        None => match sender {
            Some(origin) => device_role(conn, origin)? == Some(Role::Scorer),
            None => false,
        },
    };
    may_hold_photo(conn, access, hash, from_scorer)
}

/// Whether the hub may give `device_id` the bytes of photo `hash`: its own photo, or one it
/// may hold the record of (see [`photo_reaches`]).
pub fn may_fetch_photo(conn: &Connection, device_id: &str, hash: &str) -> Result<bool> {
    let access = sheet_access(conn, device_id)?;
    photo_reaches(conn, device_id, &access, hash, None)
}

/// Scorers whose sheets the hub sends a laptop again (转交: the laptop passed their
/// operations as stand-ins before it was assigned them), and how far the resend got. Kept on
/// the hub in `meta` under [`REFILL_KEY`] + the device id; hub-local, never replicated. The
/// resend goes in numbered pages, each sent until the laptop confirms it applied it (a lost
/// answer loses nothing); it ends when the laptop confirms the last.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Refill {
    /// Names this resend: a new assignment starts a new one, from the first page.
    pub token: String,
    /// The scorers.
    pub scorers: BTreeSet<String>,
    /// Where each page sent so far ended, by `(hlc, origin, seq)`: page n + 1 starts after
    /// `ends[n - 1]`.
    pub ends: Vec<(String, String, i64)>,
    /// The number of the last page, once it was sent.
    pub last: Option<i64>,
}

/// Prefix of the `meta` key of a device's [`Refill`].
pub const REFILL_KEY: &str = "refill:";

/// The resend waiting for `device_id`, if any.
pub fn refill(conn: &Connection, device_id: &str) -> Result<Option<Refill>> {
    let text = crate::meta::get(conn, &format!("{REFILL_KEY}{device_id}"))?;
    Ok(text.and_then(|t| serde_json::from_str(&t).ok()))
}

/// Records `refill` for `device_id` (`None`: the resend is complete).
pub fn set_refill(tx: &WriteTx<'_>, device_id: &str, refill: Option<&Refill>) -> Result<()> {
    let key = format!("{REFILL_KEY}{device_id}");
    match refill {
        Some(r) => crate::meta::set(tx, &key, &serde_json::to_string(r)?),
        None => {
            tx.conn()
                .prepare_cached("DELETE FROM meta WHERE key = ?1")?
                .execute([key])?;
            Ok(())
        }
    }
}

/// `device_id` was just assigned `scorers`: their sheets go to it again from the start.
fn note_refill(tx: &WriteTx<'_>, device_id: &str, scorers: &[String]) -> Result<()> {
    if scorers.is_empty() {
        return Ok(());
    }
    let mut r = refill(tx.conn(), device_id)?.unwrap_or_default();
    r.scorers.extend(scorers.iter().cloned());
    r.token = guanmo_domain::ids::new_id();
    r.ends.clear();
    r.last = None;
    set_refill(tx, device_id, Some(&r))
}

fn head_row<'a>(payload: &'a Value, table: &str) -> Option<&'a Map<String, Value>> {
    payload
        .get(table)
        .and_then(|rows| rows.get(0))
        .and_then(Value::as_object)
}

fn rows<'a>(payload: &'a Value, table: &str) -> impl Iterator<Item = &'a Map<String, Value>> {
    payload
        .get(table)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
}

fn text<'a>(row: &'a Map<String, Value>, col: &str) -> Option<&'a str> {
    row.get(col).and_then(Value::as_str)
}

/// The text in column `col` of the head row of `table` in an operation's payload (a sheet's
/// scorer, a post's status): what a rule reads of the record the operation writes.
pub(crate) fn head_text<'a>(payload: &'a Value, table: &str, col: &str) -> Option<&'a str> {
    head_row(payload, table).and_then(|row| text(row, col))
}

fn chars_at_most(
    row: &Map<String, Value>,
    col: &str,
    max: usize,
) -> std::result::Result<(), Refusal> {
    match row.get(col) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(()),
        Some(Value::String(_)) => Err(("too_long", format!("{col} is longer than {max}"))),
        Some(_) => Err(("bad_value", format!("{col} is not text"))),
    }
}

/// An integer column within `lo..=hi` (`null` allowed when `nullable`).
fn int_within(
    row: &Map<String, Value>,
    col: &str,
    lo: i64,
    hi: i64,
    nullable: bool,
) -> std::result::Result<(), Refusal> {
    match row.get(col) {
        None | Some(Value::Null) if nullable => Ok(()),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(v) if (lo..=hi).contains(&v) => Ok(()),
            Some(v) => Err((
                "out_of_range",
                format!("{col} = {v} is outside {lo}..={hi}"),
            )),
            None => Err(("bad_value", format!("{col} is not a whole number"))),
        },
        _ => Err(("bad_value", format!("{col} is missing or not a number"))),
    }
}

fn real_within(
    row: &Map<String, Value>,
    col: &str,
    lo: f64,
    hi: f64,
) -> std::result::Result<(), Refusal> {
    match row.get(col) {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(v) if v.is_finite() && (lo..=hi).contains(&v) => Ok(()),
            _ => Err(("out_of_range", format!("{col} is outside {lo}..={hi}"))),
        },
        _ => Err(("bad_value", format!("{col} is not a number"))),
    }
}

/// Sizes every remote operation keeps, whatever its kind: rows per table and text length.
pub(crate) fn check_sizes(payload: &Value) -> std::result::Result<(), Refusal> {
    let Some(obj) = payload.as_object() else {
        return Ok(());
    };
    for (table, rows) in obj {
        let rows = rows.as_array().map_or(&[][..], Vec::as_slice);
        if rows.len() > MAX_ROWS {
            return Err(("too_large", format!("{table} has {} rows", rows.len())));
        }
        for row in rows.iter().filter_map(Value::as_object) {
            for (col, v) in row {
                if v.as_str()
                    .is_some_and(|s| s.chars().count() > MAX_TEXT_CHARS)
                {
                    return Err(("too_long", format!("{table}.{col}")));
                }
            }
        }
    }
    Ok(())
}

/// The content rules of a remote operation from a laptop (`from_hub` false) or the hub: the
/// same rules a local write keeps. Checked before anything is written.
pub(crate) fn check_content(
    conn: &Connection,
    kind: Kind,
    entity_id: &str,
    payload: &Value,
    from_hub: bool,
) -> Result<std::result::Result<(), Refusal>> {
    if from_hub {
        // The hub's own writes went through its use cases; a laptop follows them.
        return Ok(Ok(()));
    }
    if let Err(r) = check_sizes(payload) {
        return Ok(Err(r));
    }
    match kind {
        Kind::Sheet => check_sheet(conn, entity_id, payload),
        Kind::Post => check_post(conn, entity_id, payload),
        Kind::Photo => Ok(check_photo(payload)),
        // Comments and decisions: their shape and lengths are checked with the payload
        // (`crate::comments::parse_record`, `parse_decision`), on every replica.
        _ => Ok(Ok(())),
    }
}

fn check_sheet(
    conn: &Connection,
    entity_id: &str,
    payload: &Value,
) -> Result<std::result::Result<(), Refusal>> {
    let Some(sheet) = head_row(payload, "sheets") else {
        return Ok(Err(("bad_payload", "no sheet row".into())));
    };
    let (Some(scorer_id), Some(township_id)) =
        (text(sheet, "scorer_id"), text(sheet, "township_id"))
    else {
        return Ok(Err((
            "bad_payload",
            "sheet without scorer or township".into(),
        )));
    };
    let status = text(sheet, "status").unwrap_or_default();
    if !matches!(status, "draft" | "submitted") {
        return Ok(Err(("bad_value", format!("sheet status {status:?}"))));
    }
    if status == "submitted" && text(sheet, "submitted_at").is_none() {
        return Ok(Err(("bad_value", "submitted without submitted_at".into())));
    }
    for check in [
        chars_at_most(sheet, "comment", MAX_NOTE_CHARS),
        int_within(sheet, "version", 1, i64::from(i32::MAX), false),
    ] {
        if let Err(r) = check {
            return Ok(Err(r));
        }
    }
    // Who and where a sheet is for never changes once it exists.
    let stored: Option<(String, String)> = conn
        .prepare_cached("SELECT scorer_id, township_id FROM sheets WHERE id = ?1")?
        .query_row([entity_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    if let Some((s, t)) = &stored {
        if s != scorer_id || t != township_id {
            return Ok(Err((
                "immutable_field",
                format!("sheet {entity_id} is {s}'s for {t}"),
            )));
        }
    }
    let scorer_town: Option<Option<String>> = conn
        .prepare_cached("SELECT township_id FROM scorers WHERE id = ?1")?
        .query_row([scorer_id], |r| r.get(0))
        .optional()?;
    match scorer_town {
        None => return Ok(Err(("unknown_scorer", scorer_id.to_string()))),
        Some(Some(t)) if t == township_id => {
            return Ok(Err((
                "recused",
                format!("scorer {scorer_id} heads township {t}"),
            )))
        }
        Some(_) => {}
    }
    let mut crit = conn.prepare_cached("SELECT max_tenths FROM rubric_criteria WHERE id = ?1")?;
    for m in rows(payload, "marks") {
        let id = text(m, "criterion_id").unwrap_or_default();
        let Some(max) = crit.query_row([id], |r| r.get::<_, i64>(0)).optional()? else {
            return Ok(Err(("unknown_criterion", id.to_string())));
        };
        if let Err(r) =
            int_within(m, "tenths", 0, max, true).and(chars_at_most(m, "note", MAX_NOTE_CHARS))
        {
            return Ok(Err((r.0, format!("criterion {id}: {}", r.1))));
        }
    }
    let mut adj =
        conn.prepare_cached("SELECT limit_tenths FROM rubric_adjustments WHERE id = ?1")?;
    for m in rows(payload, "adjustment_marks") {
        let id = text(m, "adjustment_id").unwrap_or_default();
        let Some(max) = adj.query_row([id], |r| r.get::<_, i64>(0)).optional()? else {
            return Ok(Err(("unknown_adjustment", id.to_string())));
        };
        if let Err(r) =
            int_within(m, "tenths", 0, max, true).and(chars_at_most(m, "note", MAX_NOTE_CHARS))
        {
            return Ok(Err((r.0, format!("adjustment {id}: {}", r.1))));
        }
    }
    Ok(Ok(()))
}

fn check_post(
    conn: &Connection,
    entity_id: &str,
    payload: &Value,
) -> Result<std::result::Result<(), Refusal>> {
    let Some(post) = head_row(payload, "posts") else {
        return Ok(Err(("bad_payload", "no post row".into())));
    };
    let status = text(post, "status").unwrap_or_default();
    if !matches!(status, "draft" | "published" | "retracted") {
        return Ok(Err(("bad_value", format!("post status {status:?}"))));
    }
    // 置顶 is the hub's: a laptop's operation keeps the pin as the hub has it.
    let pinned = post.get("pinned").and_then(Value::as_i64).unwrap_or(0);
    let stored_pin: i64 = conn
        .prepare_cached("SELECT pinned FROM posts WHERE id = ?1")?
        .query_row([entity_id], |r| r.get(0))
        .optional()?
        .unwrap_or(0);
    if pinned != stored_pin {
        return Ok(Err((
            "hub_only",
            "only the organiser's hub pins or unpins a post".into(),
        )));
    }
    let photos = rows(payload, "post_photos").count();
    Ok(chars_at_most(post, "body", 5_000)
        .and(chars_at_most(post, "credit", 40))
        .and(chars_at_most(post, "stop_label", 40))
        .and(if photos > 9 {
            Err(("too_large", format!("{photos} photos")))
        } else {
            Ok(())
        }))
}

fn check_photo(payload: &Value) -> std::result::Result<(), Refusal> {
    let Some(p) = head_row(payload, "photos") else {
        return Err(("bad_payload", "no photo row".into()));
    };
    int_within(p, "width", 1, 100_000, false)?;
    int_within(p, "height", 1, 100_000, false)?;
    int_within(p, "original_bytes", 0, 1 << 40, false)?;
    chars_at_most(p, "file_name", 255)?;
    chars_at_most(p, "camera", 200)?;
    chars_at_most(p, "taken_at", 40)?;
    chars_at_most(p, "imported_at", 40)?;
    real_within(p, "gps_lat", -90.0, 90.0)?;
    real_within(p, "gps_lon", -180.0, 180.0)?;
    // The camera clock correction: two days either way, as the table's CHECK says; a laptop
    // from before corrections sends none (the column's default applies).
    if p.contains_key("clock_offset_s") {
        int_within(p, "clock_offset_s", -172_800, 172_800, false)?;
    }
    Ok(())
}

/// The state machines, checked right before a laptop's operation is applied (after a
/// concurrent edit was resolved): a submitted sheet changes only after the hub unlocks it; a
/// post goes draft → published → retracted and a retracted post never changes; a comment is
/// made once, and a decision is one the moderation state machine allows from the comment's
/// state here (`guanmo_domain::comments::transition`), leaving the state it says.
pub(crate) fn check_transition(
    conn: &Connection,
    kind: Kind,
    entity_id: &str,
    payload: &Value,
) -> Result<std::result::Result<(), Refusal>> {
    match kind {
        Kind::Sheet => {
            let stored: Option<String> = conn
                .prepare_cached("SELECT status FROM sheets WHERE id = ?1")?
                .query_row([entity_id], |r| r.get(0))
                .optional()?;
            if stored.as_deref() == Some("submitted") {
                return Ok(Err((
                    "sheet_locked",
                    "the sheet is submitted; only the hub unlocks it".into(),
                )));
            }
        }
        Kind::Post => {
            let stored: Option<String> = conn
                .prepare_cached("SELECT status FROM posts WHERE id = ?1")?
                .query_row([entity_id], |r| r.get(0))
                .optional()?;
            let after = head_row(payload, "posts")
                .and_then(|p| text(p, "status"))
                .unwrap_or_default();
            let ok = matches!(
                (stored.as_deref(), after),
                (None | Some("draft"), "draft" | "published")
                    | (Some("published"), "published" | "retracted")
            );
            if !ok {
                return Ok(Err((
                    "bad_transition",
                    format!("post {} -> {after}", stored.as_deref().unwrap_or("new")),
                )));
            }
            // 审核流程: a post under review is not changed by its author's laptop, and with
            // two or more levels only its last sign-off step publishes it.
            if crate::feed::signoff::is_pending(conn, entity_id)? {
                return Ok(Err((
                    "under_review",
                    format!("post {entity_id} is under review"),
                )));
            }
            let levels = crate::feed::signoff::settings(conn)?.levels;
            if stored.as_deref() != Some("published") && after == "published" && levels > 1 {
                return Ok(Err((
                    "signoff_required",
                    format!("{levels} levels of sign-off: a laptop does not publish directly"),
                )));
            }
        }
        Kind::Comment if crate::comments::exists(conn, entity_id)? => {
            return Ok(Err((
                "comment_exists",
                format!("comment {entity_id} is here already; it never changes"),
            )));
        }
        Kind::CommentDecision => return check_decision(conn, entity_id, payload),
        Kind::CommentHandling => return check_handling(conn, entity_id, payload),
        Kind::CommentMute => {
            // 禁言 of the author of a comment this replica has (the hub finds the number).
            if let Err(e) = crate::comments::parse_mute(entity_id, payload) {
                return Ok(Err(("bad_payload", e)));
            }
            if !crate::comments::exists(conn, entity_id)? {
                return Ok(Err(("unknown_comment", entity_id.to_string())));
            }
        }
        _ => {}
    }
    Ok(Ok(()))
}

/// Who may make a sign-off step, where operations are judged (the hub; the sender is a
/// paired media laptop, checked already): the step names the device that sent it and the
/// person its author label names; that person is on the hub's list, active, holds the role
/// for the step's level (`guanmo_domain::feed::signoff::may_act_at`) and may work on a media
/// laptop; the step was made under the hub's 审核流程 levels, and it follows the post's last
/// step validly (two approvals of one level: the second is refused, and its laptop leaves it
/// out when told). A retracted or published post takes no step.
pub(crate) fn check_post_step(
    conn: &Connection,
    op: &crate::oplog::Op,
) -> Result<std::result::Result<(), Refusal>> {
    use guanmo_domain::feed::signoff::{advance, authorize, level_for, SignoffAction, StepRecord};
    use guanmo_domain::people::{person_of_label, PersonRole, UNASSIGNED_ID};
    let Some(row) = head_row(&op.payload, "post_steps") else {
        return Ok(Err(("bad_payload", "no step row".into())));
    };
    let t = |c: &str| text(row, c).unwrap_or_default().to_string();
    let n = |c: &str| {
        row.get(c)
            .and_then(Value::as_i64)
            .and_then(|v| i32::try_from(v).ok())
            .unwrap_or(0)
    };
    let Some(action) = SignoffAction::parse(&t("action")) else {
        return Ok(Err(("bad_value", format!("action {:?}", t("action")))));
    };
    if t("device_id") != op.origin {
        return Ok(Err((
            "wrong_device",
            format!("step says {} but came from {}", t("device_id"), op.origin),
        )));
    }
    let person_id = t("person_id");
    let device_part = op.actor.split('|').next().unwrap_or_default();
    if device_part != format!("media@{}", op.origin) || person_of_label(&op.actor) != person_id {
        return Ok(Err((
            "wrong_person",
            format!(
                "{:?} does not act for {person_id} on {}",
                op.actor, op.origin
            ),
        )));
    }
    if person_id == UNASSIGNED_ID {
        return Ok(Err((
            "no_person",
            "a laptop's sign-off step names its person".into(),
        )));
    }
    let person = match crate::people::get_person(conn, &person_id) {
        Ok(p) => p,
        Err(crate::StoreError::NotFound { .. }) => {
            return Ok(Err(("unknown_person", person_id)));
        }
        Err(e) => return Err(e),
    };
    let on_media = [
        PersonRole::Editor,
        PersonRole::Moderator,
        PersonRole::Organiser,
        PersonRole::Approver,
    ]
    .iter()
    .any(|r| person.has(*r));
    if !person.active || !on_media || person.name != t("person_name") {
        return Ok(Err((
            "wrong_person",
            format!(
                "{person_id} may not work on a media laptop, or is not {}",
                t("person_name")
            ),
        )));
    }
    let level = n("level");
    if let Err(e) = authorize(Some(&person.roles), level) {
        return Ok(Err(("no_right", format!("{}: {e}", person.name))));
    }
    let levels = crate::feed::signoff::settings(conn)?.levels;
    if n("levels") != levels {
        return Ok(Err((
            "stale_levels",
            format!("made under {} levels; the hub has {levels}", n("levels")),
        )));
    }
    let post_id = t("post_id");
    let facts: Option<(String, i32, String)> = conn
        .prepare_cached("SELECT status, version, created_by FROM posts WHERE id = ?1")?
        .query_row([&post_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((status, version, created_by)) = facts else {
        return Ok(Err(("unknown_post", post_id)));
    };
    if status != "draft" {
        return Ok(Err((
            "bad_transition",
            format!("post {post_id} is {status}"),
        )));
    }
    let state = crate::feed::signoff::state(conn, &post_id)?;
    if level_for(&state, action, levels) != Ok(level) {
        return Ok(Err((
            "stale_step",
            format!("{} at level {level} does not follow here", action.as_str()),
        )));
    }
    let record = StepRecord {
        id: op.entity_id.clone(),
        action,
        level,
        levels: n("levels"),
        after: text(row, "after_step").map(str::to_string),
        post_version: n("post_version"),
        person_id,
        person_name: t("person_name"),
        hlc: op.hlc.clone(),
        at: t("at"),
        reason: t("reason"),
    };
    let fresh = match action {
        SignoffAction::Submit | SignoffAction::FastTrack => record.post_version == version,
        _ => true,
    };
    if !fresh {
        return Ok(Err((
            "stale_step",
            format!(
                "made on version {}; the post is at {version}",
                record.post_version
            ),
        )));
    }
    match advance(&state, &record, person_of_label(&created_by), version) {
        Ok(_) => Ok(Ok(())),
        Err(e) => Ok(Err(("stale_step", e.to_string()))),
    }
}

fn check_decision(
    conn: &Connection,
    entity_id: &str,
    payload: &Value,
) -> Result<std::result::Result<(), Refusal>> {
    use guanmo_domain::comments::{transition, CommentStatus, ModAction};
    let Some(stored) = crate::comments::mod_state(conn, entity_id)? else {
        return Ok(Err(("unknown_comment", entity_id.to_string())));
    };
    let d = match crate::comments::parse_decision(entity_id, payload) {
        Ok(d) => d,
        Err(e) => return Ok(Err(("bad_payload", e))),
    };
    let Some(action) = ModAction::parse_decision(&d.action) else {
        // 保留: only a shown comment's reports are closed, and it stays exactly as it is.
        if d.action == crate::comments::DISMISS_REPORTS
            && stored.status == CommentStatus::Approved
            && CommentStatus::parse(&d.status) == Some(stored.status)
            && d.pinned == stored.pinned
        {
            return Ok(Ok(()));
        }
        return Ok(Err((
            "bad_transition",
            format!("{} from {}", d.action, stored.status.as_str()),
        )));
    };
    match transition(stored, action) {
        Ok(next)
            if Some(next.status) == CommentStatus::parse(&d.status) && next.pinned == d.pinned =>
        {
            Ok(Ok(()))
        }
        Ok(next) => Ok(Err((
            "bad_transition",
            format!(
                "{} leaves {} (pinned {}), not {} (pinned {})",
                d.action,
                next.status.as_str(),
                next.pinned,
                d.status,
                d.pinned
            ),
        ))),
        Err(e) => Ok(Err((
            "bad_transition",
            format!("{} from {}: {e}", d.action, stored.status.as_str()),
        ))),
    }
}

/// 交办/回复 only of a suggestion this replica has, to a township of the roster.
fn check_handling(
    conn: &Connection,
    entity_id: &str,
    payload: &Value,
) -> Result<std::result::Result<(), Refusal>> {
    let h = match crate::comments::parse_handling(entity_id, payload) {
        Ok(h) => h,
        Err(e) => return Ok(Err(("bad_payload", e))),
    };
    if !crate::comments::exists(conn, entity_id)? {
        return Ok(Err(("unknown_comment", entity_id.to_string())));
    }
    if h.action == crate::comments::OFFICIAL_REPLY {
        // 官方回复: an approved comment that is not a suggestion (those are answered by their
        // township after 交办).
        let ok = crate::comments::mod_state(conn, entity_id)?
            .is_some_and(|m| m.status == guanmo_domain::comments::CommentStatus::Approved)
            && !crate::comments::is_suggestion(conn, entity_id)?;
        return Ok(if ok {
            Ok(())
        } else {
            Err((
                "bad_transition",
                "官方回复 of a comment that is not an approved ordinary comment".to_string(),
            ))
        });
    }
    if !crate::comments::is_suggestion(conn, entity_id)? {
        return Ok(Err((
            "bad_transition",
            format!("{} of a comment that is not a suggestion", h.action),
        )));
    }
    if !conn
        .prepare_cached("SELECT 1 FROM townships WHERE id = ?1")?
        .exists([&h.assigned_to])?
    {
        return Ok(Err(("unknown_township", h.assigned_to)));
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_send_only_their_kinds() {
        for kind in Kind::ALL {
            assert!(kind_allowed(kind, Role::Hub), "{kind:?} from the hub");
            assert_eq!(
                kind_allowed(kind, Role::Scorer),
                matches!(kind, Kind::Sheet | Kind::Photo) || kind.moderation()
            );
            assert_eq!(
                kind_allowed(kind, Role::Media),
                matches!(
                    kind,
                    Kind::Post | Kind::PostStep | Kind::Photo | Kind::Comment
                ) || kind.moderation()
                    || kind.resident()
            );
        }
    }

    #[test]
    fn only_a_site_host_sends_comments_and_a_decision_needs_a_live_grant() {
        assert!(
            !kind_allowed(Kind::Comment, Role::Scorer),
            "no site on a scorer's laptop"
        );
        assert!(
            !kind_allowed(Kind::Moderator, Role::Media),
            "grants are the hub's"
        );
        let (_dir, store) = store();
        let is = |id: &str| store.read(|c| is_moderator(c, id)).unwrap();
        let set = |id: &str, on: bool| {
            store
                .write_without_ops(chrono::Utc::now(), "organiser", |tx| {
                    set_moderator(tx, id, on)
                })
                .unwrap()
        };
        assert!(!is("lap"), "nobody holds 审核 until the hub grants it");
        assert!(set("lap", true));
        assert!(!set("lap", true), "unchanged");
        assert!(set("lap2", true), "more than one at a time");
        assert!(is("lap") && is("lap2"));
        assert!(set("lap", false));
        assert!(!is("lap") && is("lap2"));
        assert!(
            store.read(|c| granted_moderator(c, "lap2")).unwrap(),
            "a laptop reads its own grant"
        );
        assert!(set("gone", true));
        assert!(!is("gone"), "a revoked device holds nothing");
        let ops: Vec<String> = store
            .changes_since(0, 10)
            .unwrap()
            .into_iter()
            .map(|c| format!("{} {} {}", c.entity, c.entity_id, c.op))
            .collect();
        assert_eq!(
            ops,
            [
                "moderator lap grant",
                "moderator lap2 grant",
                "moderator lap revoke",
                "moderator gone grant"
            ]
        );
    }

    #[test]
    fn sizes_refuse_long_text_and_many_rows() {
        let long = "字".repeat(MAX_TEXT_CHARS + 1);
        let p = serde_json::json!({ "posts": [{ "body": long }] });
        assert_eq!(check_sizes(&p).unwrap_err().0, "too_long");
        let many: Vec<Value> = (0..=MAX_ROWS)
            .map(|i| serde_json::json!({ "i": i }))
            .collect();
        let p = serde_json::json!({ "marks": many });
        assert_eq!(check_sizes(&p).unwrap_err().0, "too_large");
        let ok = serde_json::json!({ "posts": [{ "body": "字".repeat(MAX_TEXT_CHARS) }] });
        assert!(check_sizes(&ok).is_ok());
    }

    #[test]
    fn photo_ranges() {
        let good = serde_json::json!({ "photos": [{ "width": 4000, "height": 3000,
            "original_bytes": 5_000_000, "file_name": "a.jpg", "gps_lat": 26.4, "gps_lon": 112.4 }] });
        assert!(check_photo(&good).is_ok());
        let bad = serde_json::json!({ "photos": [{ "width": 4000, "height": 3000,
            "original_bytes": 5, "file_name": "a.jpg", "gps_lat": 91.0 }] });
        assert_eq!(check_photo(&bad).unwrap_err().0, "out_of_range");
        let bad = serde_json::json!({ "photos": [{ "width": 0, "height": 3000,
            "original_bytes": 5, "file_name": "a.jpg" }] });
        assert_eq!(check_photo(&bad).unwrap_err().0, "out_of_range");
        let bad = serde_json::json!({ "photos": [{ "width": 4000, "height": 3000,
            "original_bytes": 5, "file_name": "a.jpg", "clock_offset_s": 172_801 }] });
        assert_eq!(check_photo(&bad).unwrap_err().0, "out_of_range");
        let ok = serde_json::json!({ "photos": [{ "width": 4000, "height": 3000,
            "original_bytes": 5, "file_name": "a.jpg", "clock_offset_s": -3600 }] });
        assert!(check_photo(&ok).is_ok());
    }

    // -----------------------------------------------------------------------------------
    // Rules that read the store: a temporary store with one township, one criterion (max 50),
    // one adjustment (limit 20), scorer s1 and scorer s3 who heads t1.

    const AT: &str = "2026-12-04T08:00:00.000Z";

    fn store() -> (tempfile::TempDir, crate::Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&dir.path().join("guanmo.sqlite3")).unwrap();
        store
            .write_without_ops(chrono::Utc::now(), "seed", |tx| {
                tx.conn().execute_batch(&format!(
                    "INSERT INTO townships (id, code, name, kind, enabled, position, created_at,
                                            updated_at)
                     VALUES ('t1', '430100000001', '一镇', 'town', 1, 1, '{AT}', '{AT}'),
                            ('t2', '430100000002', '二镇', 'town', 1, 2, '{AT}', '{AT}');
                     INSERT INTO rubric_categories (id, position, name, max_tenths)
                     VALUES ('c1', 1, '类', 100);
                     INSERT INTO rubric_criteria (id, category_id, position, name, max_tenths)
                     VALUES ('k1', 'c1', 1, '甲', 50);
                     INSERT INTO rubric_adjustments (id, position, name, kind, limit_tenths)
                     VALUES ('a1', 1, '加分', 'bonus', 20);
                     INSERT INTO scorers (id, name, grp, township_id, created_at, updated_at)
                     VALUES ('s1', '张', 'A', NULL, '{AT}', '{AT}'),
                            ('s3', '王', 'A', 't1', '{AT}', '{AT}');
                     INSERT INTO devices (id, name, role, public_key, paired_at, revoked_at)
                     VALUES ('lap', 'L', 'scorer', hex(zeroblob(32)), '{AT}', NULL),
                            ('lap2', 'L2', 'scorer', hex(zeroblob(32)), '{AT}', NULL),
                            ('gone', 'G', 'media', hex(zeroblob(32)), '{AT}', '{AT}');"
                ))?;
                Ok(())
            })
            .unwrap();
        (dir, store)
    }

    fn sheet(status: &str, submitted_at: Option<&str>, tenths: Value) -> Value {
        serde_json::json!({
            "sheets": [{ "id": "sh1", "scorer_id": "s1", "township_id": "t2", "status": status,
                "comment": "", "submitted_at": submitted_at, "version": 1 }],
            "marks": [{ "sheet_id": "sh1", "criterion_id": "k1", "tenths": tenths, "note": "" }],
            "adjustment_marks": [],
            "sheet_evidence": [],
        })
    }

    fn post(status: &str, pinned: i64) -> Value {
        serde_json::json!({
            "posts": [{ "id": "p1", "body": "正文", "credit": "", "status": status,
                "pinned": pinned }],
            "post_photos": [],
        })
    }

    /// The code `check_content` gives a laptop's payload (`None`: accepted).
    fn content(store: &crate::Store, kind: Kind, payload: &Value) -> Option<&'static str> {
        let id = match kind {
            Kind::Post => "p1",
            _ => "sh1",
        };
        store
            .read(|c| check_content(c, kind, id, payload, false))
            .unwrap()
            .err()
            .map(|r| r.0)
    }

    fn transition(store: &crate::Store, kind: Kind, payload: &Value) -> Option<&'static str> {
        let id = match kind {
            Kind::Post => "p1",
            _ => "sh1",
        };
        store
            .read(|c| check_transition(c, kind, id, payload))
            .unwrap()
            .err()
            .map(|r| r.0)
    }

    #[test]
    fn a_sheet_keeps_the_rules_of_a_local_write() {
        let (_dir, store) = store();
        assert_eq!(
            content(&store, Kind::Sheet, &sheet("draft", None, 50.into())),
            None
        );
        assert_eq!(
            content(
                &store,
                Kind::Sheet,
                &sheet("submitted", Some(AT), Value::Null)
            ),
            None
        );
        let cases: Vec<(Value, &str)> = vec![
            (sheet("draft", None, 51.into()), "out_of_range"),
            (sheet("draft", None, (-1).into()), "out_of_range"),
            (sheet("draft", None, serde_json::json!(0.5)), "bad_value"),
            (sheet("submitted", None, 1.into()), "bad_value"),
            (sheet("locked", None, 1.into()), "bad_value"),
            (serde_json::json!({ "sheets": [] }), "bad_payload"),
            (
                serde_json::json!({ "sheets": [{ "id": "sh1", "status": "draft" }] }),
                "bad_payload",
            ),
        ];
        for (payload, code) in cases {
            assert_eq!(
                content(&store, Kind::Sheet, &payload),
                Some(code),
                "{payload}"
            );
        }
        let mut p = sheet("draft", None, 1.into());
        p["sheets"][0]["comment"] = "评".repeat(MAX_NOTE_CHARS + 1).into();
        assert_eq!(content(&store, Kind::Sheet, &p), Some("too_long"));
        p["sheets"][0]["comment"] = "评".repeat(MAX_NOTE_CHARS).into();
        assert_eq!(content(&store, Kind::Sheet, &p), None);
        p["marks"][0]["note"] = "注".repeat(MAX_NOTE_CHARS + 1).into();
        assert_eq!(content(&store, Kind::Sheet, &p), Some("too_long"));
        let mut p = sheet("draft", None, 1.into());
        p["sheets"][0]["version"] = 0.into();
        assert_eq!(content(&store, Kind::Sheet, &p), Some("out_of_range"));
        let mut p = sheet("draft", None, 1.into());
        p["adjustment_marks"] = serde_json::json!([
            { "sheet_id": "sh1", "adjustment_id": "a1", "tenths": 20, "note": "" }
        ]);
        assert_eq!(content(&store, Kind::Sheet, &p), None);
        p["adjustment_marks"][0]["tenths"] = 21.into();
        assert_eq!(content(&store, Kind::Sheet, &p), Some("out_of_range"));
        p["adjustment_marks"][0]["adjustment_id"] = "a9".into();
        assert_eq!(content(&store, Kind::Sheet, &p), Some("unknown_adjustment"));
        // Recusal: s3 heads t1.
        let mut p = sheet("draft", None, 1.into());
        p["sheets"][0]["scorer_id"] = "s3".into();
        assert_eq!(content(&store, Kind::Sheet, &p), None, "s3 for t2");
        p["sheets"][0]["township_id"] = "t1".into();
        assert_eq!(content(&store, Kind::Sheet, &p), Some("recused"));
        // The hub's own operations went through its use cases: not checked again.
        let junk = serde_json::json!({ "sheets": [] });
        let from_hub = store
            .read(|c| check_content(c, Kind::Sheet, "sh1", &junk, true))
            .unwrap();
        assert_eq!(from_hub, Ok(()));
    }

    #[test]
    fn a_post_keeps_its_sizes_and_its_pin() {
        let (_dir, store) = store();
        assert_eq!(content(&store, Kind::Post, &post("draft", 0)), None);
        assert_eq!(
            content(&store, Kind::Post, &post("hidden", 0)),
            Some("bad_value")
        );
        assert_eq!(
            content(&store, Kind::Post, &post("published", 1)),
            Some("hub_only")
        );
        let mut p = post("draft", 0);
        p["posts"][0]["body"] = "字".repeat(5_001).into();
        assert_eq!(content(&store, Kind::Post, &p), Some("too_long"));
        let mut p = post("draft", 0);
        p["posts"][0]["credit"] = "名".repeat(41).into();
        assert_eq!(content(&store, Kind::Post, &p), Some("too_long"));
        let mut p = post("draft", 0);
        p["post_photos"] = (0..10)
            .map(|i| serde_json::json!({ "post_id": "p1", "position": i, "hash": "h" }))
            .collect();
        assert_eq!(content(&store, Kind::Post, &p), Some("too_large"));
        p["post_photos"].as_array_mut().unwrap().pop();
        assert_eq!(content(&store, Kind::Post, &p), None, "nine photos");
        assert_eq!(
            content(&store, Kind::Post, &serde_json::json!({ "posts": [] })),
            Some("bad_payload")
        );

        // Pinned by the hub: a laptop's operation must keep the pin, and may not drop it.
        store
            .write_without_ops(chrono::Utc::now(), "hub", |tx| {
                tx.conn().execute(
                    "INSERT INTO posts (id, body, status, pinned, created_at, created_by,
                                        published_at)
                     VALUES ('p1', '正文', 'published', 1, ?1, 'm', ?1)",
                    [AT],
                )?;
                Ok(())
            })
            .unwrap();
        assert_eq!(content(&store, Kind::Post, &post("published", 1)), None);
        assert_eq!(
            content(&store, Kind::Post, &post("published", 0)),
            Some("hub_only")
        );
    }

    #[test]
    fn the_state_machines_of_sheets_and_posts() {
        let (_dir, store) = store();
        let draft = sheet("draft", None, 1.into());
        assert_eq!(transition(&store, Kind::Sheet, &draft), None, "a new sheet");
        let set_sheet = |status: &str| {
            store
                .write_without_ops(chrono::Utc::now(), "t", |tx| {
                    tx.conn().execute(
                        "INSERT INTO sheets (id, scorer_id, township_id, status, created_at,
                                             updated_at)
                         VALUES ('sh1', 's1', 't2', ?1, ?2, ?2)
                         ON CONFLICT (id) DO UPDATE SET status = excluded.status",
                        [status, AT],
                    )?;
                    Ok(())
                })
                .unwrap()
        };
        set_sheet("draft");
        assert_eq!(transition(&store, Kind::Sheet, &draft), None);
        set_sheet("submitted");
        assert_eq!(
            transition(&store, Kind::Sheet, &draft),
            Some("sheet_locked")
        );
        let submitted = sheet("submitted", Some(AT), 1.into());
        assert_eq!(
            transition(&store, Kind::Sheet, &submitted),
            Some("sheet_locked")
        );

        let statuses = ["draft", "published", "retracted"];
        let allowed = [
            (None, "draft"),
            (None, "published"),
            (Some("draft"), "draft"),
            (Some("draft"), "published"),
            (Some("published"), "published"),
            (Some("published"), "retracted"),
        ];
        for stored in [None, Some("draft"), Some("published"), Some("retracted")] {
            store
                .write_without_ops(chrono::Utc::now(), "t", |tx| {
                    tx.conn().execute("DELETE FROM posts", [])?;
                    if let Some(s) = stored {
                        tx.conn().execute(
                            "INSERT INTO posts (id, body, status, created_at, created_by,
                                                published_at, retracted_at, retracted_by)
                             VALUES ('p1', '正文', ?1, ?2, 'm', ?2, ?2, 'm')",
                            [s, AT],
                        )?;
                    }
                    Ok(())
                })
                .unwrap();
            for after in statuses {
                let want = if allowed.contains(&(stored, after)) {
                    None
                } else {
                    Some("bad_transition")
                };
                assert_eq!(
                    transition(&store, Kind::Post, &post(after, 0)),
                    want,
                    "{stored:?} -> {after}"
                );
            }
        }
        // Other kinds have no state machine here.
        assert_eq!(
            transition(&store, Kind::Photo, &serde_json::json!({ "photos": [] })),
            None
        );
    }

    #[test]
    fn assignments_say_which_laptop_scores_for_whom() {
        let (_dir, store) = store();
        let assign = |device: Option<&str>| {
            store
                .write_without_ops(chrono::Utc::now(), "organiser", |tx| {
                    assign_scorer(tx, "s1", device)
                })
                .unwrap()
        };
        let device = |c: &Connection| scorer_device(c, "s1");
        assert_eq!(store.read(device).unwrap(), None);
        assert!(assign(Some("lap")));
        assert!(!assign(Some("lap")), "unchanged");
        assert_eq!(store.read(device).unwrap().as_deref(), Some("lap"));
        let list = store.read(scorer_assignments).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(
            (
                list[0].scorer_id.as_str(),
                list[0].device_id.as_str(),
                list[0].assigned_by.as_str()
            ),
            ("s1", "lap", "organiser")
        );
        let changes = store.changes_since(0, 10).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].entity, "scorer_device");
        assert_eq!(
            changes[0].payload,
            serde_json::json!({ "from": null, "to": "lap" })
        );

        let moved = store
            .write_without_ops(chrono::Utc::now(), "organiser", |tx| {
                move_assignments(tx, "lap", "lap2")
            })
            .unwrap();
        assert_eq!(moved, 1);
        assert_eq!(store.read(device).unwrap().as_deref(), Some("lap2"));
        assert!(assign(None));
        assert_eq!(store.read(device).unwrap(), None);
        assert!(!assign(None));

        // A revoked device has no role any more.
        assert_eq!(
            store.read(|c| device_role(c, "lap")).unwrap(),
            Some(Role::Scorer)
        );
        assert_eq!(store.read(|c| device_role(c, "gone")).unwrap(), None);
        assert_eq!(store.read(|c| device_role(c, "nobody")).unwrap(), None);
    }

    #[test]
    fn more_photo_ranges() {
        let ok = serde_json::json!({ "width": 1, "height": 100_000, "original_bytes": 0,
            "file_name": "a.jpg", "gps_lat": -90.0, "gps_lon": 180.0 });
        let check = |bend: &dyn Fn(&mut Value)| {
            let mut row = ok.clone();
            bend(&mut row);
            check_photo(&serde_json::json!({ "photos": [row] }))
                .err()
                .map(|r| r.0)
        };
        assert_eq!(check(&|_| {}), None);
        assert_eq!(
            check(&|r| r["width"] = 100_001.into()),
            Some("out_of_range")
        );
        assert_eq!(
            check(&|r| r["original_bytes"] = (-1).into()),
            Some("out_of_range")
        );
        assert_eq!(
            check(&|r| r["gps_lon"] = 180.5.into()),
            Some("out_of_range")
        );
        assert_eq!(check(&|r| r["gps_lat"] = "north".into()), Some("bad_value"));
        assert_eq!(check(&|r| r["height"] = Value::Null), Some("bad_value"));
        assert_eq!(
            check(&|r| r["file_name"] = "a".repeat(256).into()),
            Some("too_long")
        );
        assert_eq!(check(&|r| r["camera"] = 5.into()), Some("bad_value"));
        assert_eq!(
            check_photo(&serde_json::json!({ "photos": [] }))
                .unwrap_err()
                .0,
            "bad_payload"
        );
    }
}
