//! Retention of residents' comment data: which records are past the period, and their purge in
//! batches, each batch one transaction (all of it or none), so a purge killed midway leaves
//! every comment either whole (with its reports, moderation lines and mutes) or gone, and the
//! next run continues with what is left. The period, the event's end and the export written
//! before a purge are the caller's (`guanmo_api::comments::retention`).
//!
//! A comment is due when its last activity is before the cutoff: its submission, decision,
//! 交办 and reply, every moderation line and report about it, and the end of any mute made
//! from it. With it go its reports, their closings, its moderation lines (which hold the
//! number of a mute), the mute made from it (number and phone keys) and its replica mute; its
//! sync operations become stand-ins (origin, number and clock only), so the hub never sends
//! the purged record again and sequence numbers stay without gaps. Then the loose ends: mutes
//! and moderation lines that name a number but no comment, and the phone keys of likes (each
//! like still counts, anonymously, so every site's like count and every replica's stay put).

use crate::comments::{ENTITY, SETTINGS_ENTITY};
use crate::{meta, ChangeInput, Result, WriteTx};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

/// Change-log id of a purge batch (under the comment settings, so the residents' page version
/// moves and the desktop's moderation views refresh); it replicates nothing.
pub const PURGE_OP: &str = "purge";
/// Prefix of the phone key a purged like keeps: unique, random, nobody's.
pub const PURGED_LIKE_PREFIX: &str = "purged:";
/// Meta key of the hub's acknowledgement of this laptop's own operations (kept by sync).
const HUB_ACKED: &str = "hub_acked_seq";

/// Rows a purge removed (or would remove), per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// `comments` (with their appeals and numbers).
    pub comments: u32,
    /// `comment_reports`.
    pub reports: u32,
    /// `report_closings`.
    pub report_closings: u32,
    /// `moderation_log` lines.
    pub log_lines: u32,
    /// `mutes` (the site host's, by number).
    pub mutes: u32,
    /// `mute_keys`.
    pub mute_keys: u32,
    /// `mute_replicas`.
    pub mute_replicas: u32,
    /// `comment_likes` whose phone key was dropped.
    pub likes: u32,
    /// `ops` turned into stand-ins.
    pub ops: u32,
}

impl Counts {
    /// Adds `other` to these.
    pub fn add(&mut self, o: &Counts) {
        self.comments += o.comments;
        self.reports += o.reports;
        self.report_closings += o.report_closings;
        self.log_lines += o.log_lines;
        self.mutes += o.mutes;
        self.mute_keys += o.mute_keys;
        self.mute_replicas += o.mute_replicas;
        self.likes += o.likes;
        self.ops += o.ops;
    }

    /// Nothing at all.
    pub fn is_empty(&self) -> bool {
        *self == Counts::default()
    }
}

/// One purge run as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purge {
    /// Its id.
    pub id: String,
    /// When it started (RFC 3339, UTC).
    pub started_at: String,
    /// When its last batch committed; `None` while running or when it was interrupted.
    pub finished_at: Option<String>,
    /// Who (the author label, or `auto`).
    pub actor: String,
    /// `manual` or `auto`.
    pub trigger: String,
    /// Records whose last activity is before this were purged.
    pub cutoff: String,
    /// The export written first, relative to the data folder.
    pub export_file: String,
    /// Batches committed.
    pub batches: u32,
    /// Rows removed.
    pub counts: Counts,
}

/// The comments due at cutoff `?1`, oldest first. `?2` limits them.
const DUE_SQL: &str = "SELECT c.id FROM comments c
    WHERE c.created_at < ?1
      AND COALESCE(c.decided_at, '') < ?1 AND COALESCE(c.assigned_at, '') < ?1
      AND COALESCE(c.replied_at, '') < ?1
      AND NOT EXISTS (SELECT 1 FROM moderation_log l WHERE l.comment_id = c.id AND l.at >= ?1)
      AND NOT EXISTS (SELECT 1 FROM comment_reports r WHERE r.comment_id = c.id AND r.at >= ?1)
      AND NOT EXISTS (SELECT 1 FROM mutes m WHERE m.comment_id = c.id
          AND (m.until >= ?1 OR m.at >= ?1))
      AND NOT EXISTS (SELECT 1 FROM mute_replicas m WHERE m.comment_id = c.id
          AND (m.until >= ?1 OR m.at >= ?1))
    ORDER BY c.created_at, c.id LIMIT ?2";

/// Mutes (by number: the hex of its keyed hash) that name no comment still here, ended and
/// made before cutoff `?1`.
const LOOSE_MUTES_SQL: &str = "SELECT hex(phone_hash) FROM mutes m
    WHERE m.until < ?1 AND m.at < ?1
      AND (m.comment_id IS NULL OR NOT EXISTS (SELECT 1 FROM comments c WHERE c.id = m.comment_id))
    LIMIT ?2";

/// Replica mutes whose comment is gone, ended and made before cutoff `?1`.
const LOOSE_REPLICAS_SQL: &str = "SELECT comment_id FROM mute_replicas m
    WHERE m.until < ?1 AND m.at < ?1
      AND NOT EXISTS (SELECT 1 FROM comments c WHERE c.id = m.comment_id)
    LIMIT ?2";

/// Moderation lines before cutoff `?1` that hold a number but name no comment (mutes from
/// before mutes replicated).
const LOOSE_LINES_SQL: &str = "SELECT id FROM moderation_log
    WHERE at < ?1 AND phone IS NOT NULL AND comment_id IS NULL LIMIT ?2";

/// Likes taken before cutoff `?1` that still hold a phone key.
const LOOSE_LIKES_WHERE: &str = "at < ?1 AND client_key NOT GLOB 'purged:*'";

/// The newest comment's submission time, if there is any comment.
pub fn newest_comment(conn: &Connection) -> Result<Option<String>> {
    Ok(conn.query_row("SELECT max(created_at) FROM comments", [], |r| r.get(0))?)
}

/// The retention period in days as stored, if set.
pub fn days(conn: &Connection) -> Result<Option<u32>> {
    Ok(meta::get(conn, meta::COMMENT_RETENTION_DAYS)?.and_then(|v| v.parse().ok()))
}

/// Stores the retention period (checked by the caller) and writes the moderation line.
pub fn set_days(tx: &WriteTx<'_>, days: u32) -> Result<()> {
    meta::set(tx, meta::COMMENT_RETENTION_DAYS, &days.to_string())?;
    crate::comments::log(tx, "retention", None, None, None, Some(&format!("{days}")))?;
    tx.record(ChangeInput {
        entity: SETTINGS_ENTITY,
        entity_id: "retention".into(),
        op: "retention",
        payload: serde_json::json!({ "days": days }),
    })
}

fn ids(conn: &Connection, sql: &str, cutoff: &str, limit: u32) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached(sql)?;
    let rows = st.query_map(params![cutoff, limit], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn count(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<u32> {
    Ok(conn.prepare_cached(sql)?.query_row(p, |r| r.get(0))?)
}

/// What a purge at `cutoff` would remove now (the same rules as [`purge_batch`]).
pub fn due(conn: &Connection, cutoff: &str) -> Result<Counts> {
    let comments = ids(conn, DUE_SQL, cutoff, u32::MAX)?;
    let list = serde_json::to_string(&comments)?;
    let of = |sql: &str| count(conn, sql, [&list]);
    let mut c = Counts {
        comments: u32::try_from(comments.len()).unwrap_or(u32::MAX),
        reports: of("SELECT count(*) FROM comment_reports
             WHERE comment_id IN (SELECT value FROM json_each(?1))")?,
        report_closings: of("SELECT count(*) FROM report_closings
             WHERE comment_id IN (SELECT value FROM json_each(?1))")?,
        log_lines: of("SELECT count(*) FROM moderation_log
             WHERE comment_id IN (SELECT value FROM json_each(?1))")?,
        mutes: of("SELECT count(*) FROM mutes
             WHERE comment_id IN (SELECT value FROM json_each(?1))")?,
        mute_keys: of(
            "SELECT count(*) FROM mute_keys WHERE phone_hash IN (SELECT phone_hash FROM mutes
             WHERE comment_id IN (SELECT value FROM json_each(?1)))",
        )?,
        mute_replicas: of("SELECT count(*) FROM mute_replicas
             WHERE comment_id IN (SELECT value FROM json_each(?1))")?,
        likes: count(
            conn,
            &format!("SELECT count(*) FROM comment_likes WHERE {LOOSE_LIKES_WHERE}"),
            [cutoff],
        )?,
        ops: 0,
    };
    let (own_all, acked) = own_ops_rule(conn)?;
    c.ops = count(
        conn,
        &format!(
            "SELECT count(*) FROM ops WHERE {OPS_WHERE}
               AND (origin <> ?3 OR ?4 OR seq <= ?5)"
        ),
        params![
            list,
            reports_of(conn, &list)?,
            meta_device(conn)?,
            own_all,
            acked
        ],
    )?;
    let loose_mutes = ids(conn, LOOSE_MUTES_SQL, cutoff, u32::MAX)?;
    c.mutes += u32::try_from(loose_mutes.len()).unwrap_or(u32::MAX);
    c.mute_keys += count(
        conn,
        "SELECT count(*) FROM mute_keys
         WHERE phone_hash IN (SELECT unhex(value) FROM json_each(?1))",
        [serde_json::to_string(&loose_mutes)?],
    )?;
    c.mute_replicas +=
        u32::try_from(ids(conn, LOOSE_REPLICAS_SQL, cutoff, u32::MAX)?.len()).unwrap_or(u32::MAX);
    c.log_lines +=
        u32::try_from(ids(conn, LOOSE_LINES_SQL, cutoff, u32::MAX)?.len()).unwrap_or(u32::MAX);
    Ok(c)
}

/// The sync operations of comments `?1` and reports `?2` (JSON arrays): every kind whose
/// entity id is a comment's, and the reports'.
const OPS_WHERE: &str = "kind <> 'withheld' AND (
    (kind IN ('comment', 'comment_decision', 'comment_handling', 'comment_appeal', 'comment_mute')
        AND entity_id IN (SELECT value FROM json_each(?1)))
    OR (kind = 'comment_report' AND entity_id IN (SELECT value FROM json_each(?2))))";

fn meta_device(conn: &Connection) -> Result<String> {
    Ok(meta::get(conn, meta::DEVICE_ID)?.unwrap_or_default())
}

/// Which of this device's own operations may become stand-ins: all of them on the hub (it
/// pushes to no one); on any other device only those the hub confirmed, since a stand-in
/// pushed to the hub would be refused and stop the laptop's sync. (A laptop's unconfirmed
/// operation of a purged comment still reaches the hub at its next sync; the hub's own
/// purge removes it again, the comment being as old there.)
fn own_ops_rule(conn: &Connection) -> Result<(bool, i64)> {
    let hub = meta::get(conn, "device_role")?.as_deref() == Some("hub");
    let acked = meta::get(conn, HUB_ACKED)?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok((hub, acked))
}

fn reports_of(conn: &Connection, comments: &str) -> Result<String> {
    let mut st = conn.prepare_cached(
        "SELECT id FROM comment_reports WHERE comment_id IN (SELECT value FROM json_each(?1))",
    )?;
    let rows: Vec<String> = st
        .query_map([comments], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(serde_json::to_string(&rows)?)
}

/// Starts a purge run (its log row) whose export was written to `export_file`.
pub fn start(tx: &WriteTx<'_>, trigger: &str, cutoff: &str, export_file: &str) -> Result<String> {
    let id = guanmo_domain::ids::new_id();
    tx.conn().execute(
        "INSERT INTO retention_purges (id, started_at, actor, trigger, cutoff, export_file)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![id, tx.at(), tx.actor(), trigger, cutoff, export_file],
    )?;
    Ok(id)
}

/// Marks purge `id` finished.
pub fn finish(tx: &WriteTx<'_>, id: &str) -> Result<()> {
    tx.conn().execute(
        "UPDATE retention_purges SET finished_at = ?2 WHERE id = ?1",
        params![id, tx.at()],
    )?;
    Ok(())
}

/// Purges at most `limit` due comments at `cutoff` with everything that goes with them or,
/// when none is left, at most `limit` of the loose ends; adds what it removed to run `run`.
/// Returns the counts: all zero once nothing is left. Call it in one write transaction per
/// batch: a batch is all done or not at all.
pub fn purge_batch(tx: &WriteTx<'_>, run: &str, cutoff: &str, limit: u32) -> Result<Counts> {
    let conn = tx.conn();
    let comments = ids(conn, DUE_SQL, cutoff, limit)?;
    let c = if comments.is_empty() {
        loose_ends(conn, cutoff, limit)?
    } else {
        purge_comments(conn, &comments)?
    };
    if c.is_empty() {
        return Ok(c);
    }
    conn.execute(
        "UPDATE retention_purges SET batches = batches + 1,
            comments = comments + ?2, reports = reports + ?3,
            report_closings = report_closings + ?4, log_lines = log_lines + ?5,
            mutes = mutes + ?6, mute_keys = mute_keys + ?7, mute_replicas = mute_replicas + ?8,
            likes = likes + ?9, ops = ops + ?10
         WHERE id = ?1",
        params![
            run,
            c.comments,
            c.reports,
            c.report_closings,
            c.log_lines,
            c.mutes,
            c.mute_keys,
            c.mute_replicas,
            c.likes,
            c.ops
        ],
    )?;
    let payload = serde_json::to_value(c)?;
    // The residents' page version and the desktop's comment views move; nothing replicates.
    tx.record(ChangeInput {
        entity: SETTINGS_ENTITY,
        entity_id: "retention".into(),
        op: PURGE_OP,
        payload: payload.clone(),
    })?;
    if c.comments > 0 {
        tx.record(ChangeInput {
            entity: ENTITY,
            entity_id: "retention".into(),
            op: PURGE_OP,
            payload,
        })?;
    }
    Ok(c)
}

fn exec(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<u32> {
    let n = conn.prepare_cached(sql)?.execute(p)?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

fn purge_comments(conn: &Connection, comments: &[String]) -> Result<Counts> {
    let list = serde_json::to_string(comments)?;
    let reports = reports_of(conn, &list)?;
    let (own_all, acked) = own_ops_rule(conn)?;
    let me = meta_device(conn)?;
    let ops = exec(
        conn,
        &format!(
            "UPDATE ops SET kind = 'withheld', entity_id = '', base_origin = NULL,
                base_seq = NULL, at = '', actor = '', payload = '{{}}'
             WHERE {OPS_WHERE} AND (origin <> ?3 OR ?4 OR seq <= ?5)"
        ),
        params![list, reports, me, own_all, acked],
    )?;
    let report_closings = exec(
        conn,
        "DELETE FROM report_closings WHERE comment_id IN (SELECT value FROM json_each(?1))",
        [&list],
    )?;
    let reports_n = exec(
        conn,
        "DELETE FROM comment_reports WHERE comment_id IN (SELECT value FROM json_each(?1))",
        [&list],
    )?;
    let log_lines = exec(
        conn,
        "DELETE FROM moderation_log WHERE comment_id IN (SELECT value FROM json_each(?1))",
        [&list],
    )?;
    let mute_keys = exec(
        conn,
        "DELETE FROM mute_keys WHERE phone_hash IN (SELECT phone_hash FROM mutes
             WHERE comment_id IN (SELECT value FROM json_each(?1)))",
        [&list],
    )?;
    let mutes = exec(
        conn,
        "DELETE FROM mutes WHERE comment_id IN (SELECT value FROM json_each(?1))",
        [&list],
    )?;
    let mute_replicas = exec(
        conn,
        "DELETE FROM mute_replicas WHERE comment_id IN (SELECT value FROM json_each(?1))",
        [&list],
    )?;
    let comments_n = exec(
        conn,
        "DELETE FROM comments WHERE id IN (SELECT value FROM json_each(?1))",
        [&list],
    )?;
    Ok(Counts {
        comments: comments_n,
        reports: reports_n,
        report_closings,
        log_lines,
        mutes,
        mute_keys,
        mute_replicas,
        likes: 0,
        ops,
    })
}

fn loose_ends(conn: &Connection, cutoff: &str, limit: u32) -> Result<Counts> {
    let mut c = Counts::default();
    let phones = serde_json::to_string(&ids(conn, LOOSE_MUTES_SQL, cutoff, limit)?)?;
    c.mute_keys = exec(
        conn,
        "DELETE FROM mute_keys WHERE phone_hash IN (SELECT unhex(value) FROM json_each(?1))",
        [&phones],
    )?;
    c.mutes = exec(
        conn,
        "DELETE FROM mutes WHERE phone_hash IN (SELECT unhex(value) FROM json_each(?1))",
        [&phones],
    )?;
    let replicas = serde_json::to_string(&ids(conn, LOOSE_REPLICAS_SQL, cutoff, limit)?)?;
    c.mute_replicas = exec(
        conn,
        "DELETE FROM mute_replicas WHERE comment_id IN (SELECT value FROM json_each(?1))",
        [&replicas],
    )?;
    let lines = serde_json::to_string(&ids(conn, LOOSE_LINES_SQL, cutoff, limit)?)?;
    c.log_lines = exec(
        conn,
        "DELETE FROM moderation_log WHERE id IN (SELECT value FROM json_each(?1))",
        [&lines],
    )?;
    c.likes = exec(
        conn,
        &format!(
            "UPDATE comment_likes SET client_key = '{PURGED_LIKE_PREFIX}' || lower(hex(randomblob(16)))
             WHERE (target, client_key) IN (SELECT target, client_key FROM comment_likes
                WHERE {LOOSE_LIKES_WHERE} LIMIT ?2)"
        ),
        params![cutoff, limit],
    )?;
    Ok(c)
}

const PURGE_COLUMNS: &str = "id, started_at, finished_at, actor, trigger, cutoff, export_file,
    batches, comments, reports, report_closings, log_lines, mutes, mute_keys, mute_replicas,
    likes, ops";

fn purge_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Purge> {
    Ok(Purge {
        id: r.get(0)?,
        started_at: r.get(1)?,
        finished_at: r.get(2)?,
        actor: r.get(3)?,
        trigger: r.get(4)?,
        cutoff: r.get(5)?,
        export_file: r.get(6)?,
        batches: r.get(7)?,
        counts: Counts {
            comments: r.get(8)?,
            reports: r.get(9)?,
            report_closings: r.get(10)?,
            log_lines: r.get(11)?,
            mutes: r.get(12)?,
            mute_keys: r.get(13)?,
            mute_replicas: r.get(14)?,
            likes: r.get(15)?,
            ops: r.get(16)?,
        },
    })
}

/// Purge runs, newest first, at most `limit`.
pub fn purges(conn: &Connection, limit: u32) -> Result<Vec<Purge>> {
    let mut st = conn.prepare(&format!(
        "SELECT {PURGE_COLUMNS} FROM retention_purges ORDER BY started_at DESC, id DESC LIMIT ?1"
    ))?;
    let rows = st.query_map([limit], purge_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One purge run.
pub fn purge(conn: &Connection, id: &str) -> Result<Option<Purge>> {
    Ok(conn
        .prepare(&format!(
            "SELECT {PURGE_COLUMNS} FROM retention_purges WHERE id = ?1"
        ))?
        .query_row([id], purge_from_row)
        .optional()?)
}
