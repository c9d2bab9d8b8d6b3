//! Resident comments and their moderation: the comment rows, likes, reports, mutes, the
//! sensitive-word list, the comment-area switch and the moderation record. Every write
//! appends a change row; change payloads never carry a phone number. State rules are
//! checked by the caller (`guanmo_domain::comments::transition`) inside the same
//! transaction; the schema backs the invariants up (pinned ⇒ approved, rejected ⇒ a reason,
//! answered ⇒ a reply).
//!
//! Comments, moderators' decisions, reports, appeals and like counts replicate through the op
//! log (see the section "Replication" below): the device that runs the site keeps the
//! author's full number and the phone keys; every other device keeps a replica with the
//! number masked, no phone key, and of likes only each site's count.

use crate::phone_crypt::SealedPhone;
use crate::{meta, ChangeInput, Result, StoreError, WriteTx};
use guanmo_domain::comments::{
    is_masked_mobile, is_mobile, mask_mobile, masked_form, Comment, CommentInput, CommentKind,
    CommentStatus, Handling, ModAction, ModLogEntry, ModState, Mute, OwnComment, PublicComment,
    PublicReply, MAX_MUTE_DAYS, MAX_NICKNAME_CHARS, MAX_REASON_CHARS, MAX_TEXT_CHARS,
    MIN_TEXT_CHARS,
};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Entity name of comments in the change log.
pub const ENTITY: &str = "comment";
/// Longest author label a replicated record may carry: the device part (`scorer@` and a
/// UUID), then `|`, the person's UUID, `|` and a name of up to 40 characters.
const MAX_AUTHOR_CHARS: usize = 160;
/// Entity name of likes in the change log.
pub const LIKE_ENTITY: &str = "like";
/// Entity name of one report in the change log (what replicates it; the moderation queue
/// follows the comment's own `report` change).
pub const REPORT_ENTITY: &str = "comment_report";
/// Entity name of comment settings (area open or closed, words, mutes).
pub const SETTINGS_ENTITY: &str = "comment_settings";
/// Comment ops that change what residents see.
pub const PUBLIC_OPS: [&str; 7] = [
    "approve",
    "reject",
    "pin",
    "unpin",
    "reply",
    OFFICIAL_REPLY,
    "area",
];
/// The op (and moderation record action) of a 官方回复.
pub const OFFICIAL_REPLY: &str = "official_reply";

const AREA_CLOSED_KEY: &str = "comment_area_closed";

// Column 6 is the masked number (every row keeps it; the site host's full number is sealed).
const COLUMNS: &str = "id, target, nickname, kind, text, township_id,
    phone_masked, phone_verified,
    flagged_words, status, pinned, appealed, appeal_reason, reject_reason, decided_at,
    decided_by, handling, assigned_to, assigned_at, reply, replied_at, created_at, version,
    (SELECT count(*) FROM comment_reports r WHERE r.comment_id = comments.id
        AND r.resolved_at IS NULL), reply_department";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Comment> {
    let kind: String = r.get(3)?;
    let phone: String = r.get(6)?;
    let flagged: String = r.get(8)?;
    let status: String = r.get(9)?;
    let handling: Option<String> = r.get(16)?;
    Ok(Comment {
        id: r.get(0)?,
        target: r.get(1)?,
        nickname: r.get(2)?,
        // The schema's CHECKs allow only the listed words, so the fallbacks never apply.
        kind: CommentKind::parse(&kind).unwrap_or(CommentKind::Other),
        text: r.get(4)?,
        township_id: r.get(5)?,
        phone_masked: masked_form(&phone),
        phone_verified: r.get(7)?,
        flagged_words: serde_json::from_str(&flagged).unwrap_or_default(),
        status: CommentStatus::parse(&status).unwrap_or(CommentStatus::Pending),
        pinned: r.get(10)?,
        appealed: r.get(11)?,
        appeal_reason: r.get(12)?,
        reject_reason: r.get(13)?,
        decided_at: r.get(14)?,
        decided_by: r.get(15)?,
        handling: handling.as_deref().and_then(Handling::parse),
        assigned_to: r.get(17)?,
        assigned_at: r.get(18)?,
        reply: r.get(19)?,
        replied_at: r.get(20)?,
        created_at: r.get(21)?,
        version: r.get(22)?,
        open_reports: r.get(23)?,
        reply_department: r.get(24)?,
    })
}

fn not_found(id: &str) -> StoreError {
    StoreError::NotFound {
        entity: ENTITY,
        id: id.to_string(),
    }
}

/// One comment, whatever its status.
pub fn get(conn: &Connection, id: &str) -> Result<Comment> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM comments WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()?
    .ok_or_else(|| not_found(id))
}

/// The sealed number of a comment's author (see [`crate::phone_crypt`]), for the full export
/// only. Only the device that runs the site has it: on a replica it is not found.
pub fn phone_of(conn: &Connection, id: &str) -> Result<Vec<u8>> {
    conn.query_row("SELECT phone FROM comments WHERE id = ?1", [id], |r| {
        r.get::<_, Option<Vec<u8>>>(0)
    })
    .optional()?
    .flatten()
    .ok_or_else(|| StoreError::NotFound {
        entity: "comment_phone",
        id: id.to_string(),
    })
}

/// Which comments a moderator lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// 待审核, oldest first (appeals included).
    Pending,
    /// Shown comments with open reports (被举报), most reported first.
    Reported,
    /// 审核通过, newest first.
    Approved,
    /// 已驳回, newest first.
    Rejected,
    /// 意见建议 of any status, newest first.
    Suggestions,
}

/// Comments of one queue, at most `limit`.
pub fn list(conn: &Connection, queue: Queue, limit: u32) -> Result<Vec<Comment>> {
    let filter = match queue {
        Queue::Pending => "WHERE status = 'pending' ORDER BY created_at, id",
        Queue::Reported => {
            "WHERE status = 'approved' AND EXISTS (SELECT 1 FROM comment_reports r
                 WHERE r.comment_id = comments.id AND r.resolved_at IS NULL)
             ORDER BY 24 DESC, created_at"
        }
        Queue::Approved => "WHERE status = 'approved' ORDER BY pinned DESC, created_at DESC",
        Queue::Rejected => "WHERE status = 'rejected' ORDER BY decided_at DESC",
        Queue::Suggestions => "WHERE kind = 'suggestion' ORDER BY created_at DESC",
    };
    let mut st = conn.prepare(&format!("SELECT {COLUMNS} FROM comments {filter} LIMIT ?1"))?;
    let rows = st.query_map([limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Every comment, oldest first, with the number sealed where this device has it (the full
/// export opens it; a replica has only the masked number).
pub fn all(conn: &Connection) -> Result<Vec<(Comment, Option<Vec<u8>>)>> {
    let mut st = conn.prepare(&format!(
        "SELECT {COLUMNS}, phone FROM comments ORDER BY created_at, id"
    ))?;
    let rows = st.query_map([], |r| Ok((from_row(r)?, r.get(25)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Counts per queue: pending, reported, approved, rejected, suggestions not yet answered.
pub fn counts(conn: &Connection) -> Result<[u32; 5]> {
    Ok(conn.query_row(
        "SELECT
            (SELECT count(*) FROM comments WHERE status = 'pending'),
            (SELECT count(DISTINCT r.comment_id) FROM comment_reports r
                JOIN comments c ON c.id = r.comment_id
                WHERE r.resolved_at IS NULL AND c.status = 'approved'),
            (SELECT count(*) FROM comments WHERE status = 'approved'),
            (SELECT count(*) FROM comments WHERE status = 'rejected'),
            (SELECT count(*) FROM comments WHERE handling IN ('open', 'in_progress'))",
        [],
        |r| Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?]),
    )?)
}

/// A comment about to be stored: validated, normalized input plus where it came from.
#[derive(Debug, Clone)]
pub struct NewComment<'a> {
    /// Validated, normalized input.
    pub input: &'a CommentInput,
    /// The phone's cookie, hashed.
    pub client_key: &'a str,
    /// Peer address.
    pub peer: &'a str,
    /// Sensitive words hit.
    pub flagged: &'a [String],
    /// The number was verified by an SMS provider.
    pub verified: bool,
}

/// The INSERT of a new comment (the ingest's hottest statement; see migration 0009).
pub(crate) const INSERT_SQL: &str =
    "INSERT INTO comments (id, target, nickname, kind, text, township_id, phone,
        phone_verified, client_key, peer, flagged_words, handling, created_at, phone_hash,
        phone_masked)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";

/// Stores a new, pending comment and returns its id. The number is stored sealed, hashed and
/// masked, never as digits.
pub fn insert(tx: &WriteTx<'_>, c: &NewComment<'_>) -> Result<String> {
    let id = guanmo_domain::ids::new_id();
    let handling = (c.input.kind == CommentKind::Suggestion).then_some(Handling::Open.as_str());
    let phone = tx.phone_keys().protect(&c.input.phone)?;
    tx.conn().prepare_cached(INSERT_SQL)?.execute(params![
        id,
        c.input.target,
        c.input.nickname,
        c.input.kind.as_str(),
        c.input.text,
        c.input.township_id,
        phone.sealed,
        c.verified,
        c.client_key,
        c.peer,
        serde_json::to_string(c.flagged)?,
        handling,
        tx.at(),
        &phone.hash[..],
        phone.masked,
    ])?;
    tx.record(ChangeInput {
        entity: ENTITY,
        entity_id: id.clone(),
        op: "submit",
        payload: serde_json::json!({ "target": c.input.target, "kind": c.input.kind.as_str() }),
    })?;
    Ok(id)
}

/// The id and status of a comment with the same text from the same phone since `since`
/// (RFC 3339), if there is one: repeated identical text is collapsed into it.
pub fn recent_duplicate(
    conn: &Connection,
    client_key: &str,
    target: &str,
    text: &str,
    since: &str,
) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT id FROM comments WHERE client_key = ?1 AND created_at >= ?2
                AND target = ?3 AND text = ?4 LIMIT 1",
        )?
        .query_row(params![client_key, since, target, text], |r| r.get(0))
        .optional()?)
}

/// Appends a line to the moderation record; `phone`, the number it is about, as stored
/// (sealed, with its masked form).
pub fn log(
    tx: &WriteTx<'_>,
    action: &str,
    comment_id: Option<&str>,
    phone: Option<&SealedPhone>,
    reason: Option<&str>,
    detail: Option<&str>,
) -> Result<()> {
    tx.conn()
        .prepare_cached(
            "INSERT INTO moderation_log (id, at, actor, action, comment_id, phone, phone_masked,
                reason, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            guanmo_domain::ids::new_id(),
            tx.at(),
            tx.actor(),
            action,
            comment_id,
            phone.map(|p| &p.sealed),
            phone.map(|p| &p.masked),
            reason,
            detail
        ])?;
    Ok(())
}

/// The moderation record, newest first; of one comment when `comment_id` is given.
pub fn log_entries(
    conn: &Connection,
    comment_id: Option<&str>,
    limit: u32,
) -> Result<Vec<ModLogEntry>> {
    let mut st = conn.prepare(
        "SELECT id, at, actor, action, comment_id, phone_masked, reason, detail
         FROM moderation_log
         WHERE ?1 IS NULL OR comment_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
    )?;
    let rows = st.query_map(params![comment_id, limit], |r| {
        Ok(ModLogEntry {
            id: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            comment_id: r.get(4)?,
            phone_masked: r.get(5)?,
            reason: r.get(6)?,
            detail: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The full moderation record, oldest first, with each line's number sealed (the full export
/// opens them).
pub fn log_full(conn: &Connection) -> Result<Vec<(ModLogEntry, Option<Vec<u8>>)>> {
    let mut st = conn.prepare(
        "SELECT id, at, actor, action, comment_id, phone_masked, reason, detail, phone
         FROM moderation_log ORDER BY at, id",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            ModLogEntry {
                id: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                action: r.get(3)?,
                comment_id: r.get(4)?,
                phone_masked: r.get(5)?,
                reason: r.get(6)?,
                detail: r.get(7)?,
            },
            r.get(8)?,
        ))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Writes a new moderation state (checked by the caller) and records it: change row with
/// `op`, a line in the moderation record, open reports resolved by the decision.
pub fn set_state(
    tx: &WriteTx<'_>,
    current: &Comment,
    next: ModState,
    op: &'static str,
    reason: Option<&str>,
) -> Result<Comment> {
    let decided = matches!(op, "approve" | "reject");
    let n = tx.conn().execute(
        "UPDATE comments SET status = ?2, pinned = ?3, appealed = ?4,
            reject_reason = CASE WHEN ?2 = 'rejected' THEN ?5 ELSE reject_reason END,
            appeal_reason = CASE WHEN ?6 = 'appeal' THEN ?5 ELSE appeal_reason END,
            decided_at = CASE WHEN ?7 THEN ?8 ELSE decided_at END,
            decided_by = CASE WHEN ?7 THEN ?9 ELSE decided_by END,
            version = version + 1
         WHERE id = ?1 AND version = ?10",
        params![
            current.id,
            next.status.as_str(),
            next.pinned,
            next.appealed,
            reason,
            op,
            decided,
            tx.at(),
            tx.actor(),
            current.version,
        ],
    )?;
    if n == 0 {
        return Err(StoreError::VersionConflict {
            entity: ENTITY,
            id: current.id.clone(),
            expected: current.version,
            current: get(tx.conn(), &current.id)?.version,
        });
    }
    if decided {
        tx.conn().execute(
            "UPDATE comment_reports SET resolved_at = ?2, resolved_by = ?3
             WHERE comment_id = ?1 AND resolved_at IS NULL",
            params![current.id, tx.at(), tx.actor()],
        )?;
    }
    log(tx, op, Some(&current.id), None, reason, None)?;
    tx.record(ChangeInput {
        entity: ENTITY,
        entity_id: current.id.clone(),
        op,
        payload: serde_json::json!({ "target": current.target, "status": next.status.as_str(),
            "pinned": next.pinned }),
    })?;
    get(tx.conn(), &current.id)
}

/// Keeps the report open: the moderator looked and the comment stays (驳回举报).
pub fn dismiss_reports(tx: &WriteTx<'_>, current: &Comment) -> Result<u32> {
    let n = tx.conn().execute(
        "UPDATE comment_reports SET resolved_at = ?2, resolved_by = ?3
         WHERE comment_id = ?1 AND resolved_at IS NULL",
        params![current.id, tx.at(), tx.actor()],
    )?;
    log(tx, "dismiss_reports", Some(&current.id), None, None, None)?;
    tx.record(ChangeInput {
        entity: ENTITY,
        entity_id: current.id.clone(),
        op: DISMISS_REPORTS,
        payload: serde_json::json!({}),
    })?;
    Ok(n as u32)
}

/// Hands a suggestion to a township (交办): 办理中.
pub fn assign(tx: &WriteTx<'_>, current: &Comment, township_id: &str) -> Result<Comment> {
    tx.conn().execute(
        "UPDATE comments SET assigned_to = ?2, assigned_at = ?3, assigned_by = ?4,
            handling = CASE WHEN handling = 'answered' THEN 'answered' ELSE 'in_progress' END,
            version = version + 1
         WHERE id = ?1",
        params![current.id, township_id, tx.at(), tx.actor()],
    )?;
    log(
        tx,
        "assign",
        Some(&current.id),
        None,
        None,
        Some(township_id),
    )?;
    tx.record(ChangeInput {
        entity: ENTITY,
        entity_id: current.id.clone(),
        op: "assign",
        payload: serde_json::json!({ "township_id": township_id }),
    })?;
    get(tx.conn(), &current.id)
}

/// Records the township's reply (已回复).
pub fn answer(tx: &WriteTx<'_>, current: &Comment, reply: &str) -> Result<Comment> {
    tx.conn().execute(
        "UPDATE comments SET reply = ?2, replied_at = ?3, replied_by = ?4,
            handling = 'answered', version = version + 1
         WHERE id = ?1",
        params![current.id, reply, tx.at(), tx.actor()],
    )?;
    log(tx, "reply", Some(&current.id), None, Some(reply), None)?;
    tx.record(ChangeInput {
        entity: ENTITY,
        entity_id: current.id.clone(),
        op: "reply",
        payload: serde_json::json!({ "target": current.target }),
    })?;
    get(tx.conn(), &current.id)
}

/// Records a 官方回复 under an approved ordinary comment, in `department`'s name (a later
/// one replaces it).
pub fn official_reply(
    tx: &WriteTx<'_>,
    current: &Comment,
    reply: &str,
    department: &str,
) -> Result<Comment> {
    tx.conn().execute(
        "UPDATE comments SET reply = ?2, replied_at = ?3, replied_by = ?4,
            reply_department = ?5, version = version + 1
         WHERE id = ?1",
        params![current.id, reply, tx.at(), tx.actor(), department],
    )?;
    log(
        tx,
        OFFICIAL_REPLY,
        Some(&current.id),
        None,
        Some(reply),
        Some(department),
    )?;
    tx.record(ChangeInput {
        entity: ENTITY,
        entity_id: current.id.clone(),
        op: OFFICIAL_REPLY,
        payload: serde_json::json!({ "target": current.target }),
    })?;
    get(tx.conn(), &current.id)
}

/// Records a like; false when this phone already liked the target.
pub fn like(tx: &WriteTx<'_>, target: &str, client_key: &str) -> Result<bool> {
    let n = tx
        .conn()
        .prepare_cached(
            "INSERT INTO comment_likes (target, client_key, at) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![target, client_key, tx.at()])?;
    if n > 0 {
        tx.record(ChangeInput {
            entity: LIKE_ENTITY,
            entity_id: target.to_string(),
            op: "like",
            payload: serde_json::json!({}),
        })?;
    }
    Ok(n > 0)
}

/// Likes of one target: the phones this site counted plus every other site's count as it
/// last arrived (see "Likes" under "Replication").
pub fn like_count(conn: &Connection, target: &str) -> Result<u32> {
    Ok(conn
        .prepare_cached(
            "SELECT (SELECT count(*) FROM comment_likes WHERE target = ?1)
                + (SELECT COALESCE(sum(count), 0) FROM like_site_counts WHERE target = ?1)",
        )?
        .query_row([target], |r| r.get(0))?)
}

/// Likes per target, summed over this site and the others (as [`like_count`]), by target.
pub fn like_counts(conn: &Connection) -> Result<Vec<(String, u32)>> {
    let mut st = conn.prepare(
        "SELECT target, sum(n) FROM (
            SELECT target, count(*) AS n FROM comment_likes GROUP BY target
            UNION ALL
            SELECT target, count AS n FROM like_site_counts)
         GROUP BY target ORDER BY target",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Targets this phone liked.
pub fn liked_by(conn: &Connection, client_key: &str) -> Result<Vec<String>> {
    let mut st = conn.prepare("SELECT target FROM comment_likes WHERE client_key = ?1")?;
    let rows = st.query_map([client_key], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Records a report (举报); false when this phone already reported the comment. A new report
/// is also announced under [`REPORT_ENTITY`] by its own id: what replicates it (see
/// "Replication" below).
pub fn report(tx: &WriteTx<'_>, comment_id: &str, client_key: &str, reason: &str) -> Result<bool> {
    let id = guanmo_domain::ids::new_id();
    let n = tx.conn().execute(
        "INSERT INTO comment_reports (id, comment_id, client_key, reason, at)
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        params![id, comment_id, client_key, reason, tx.at()],
    )?;
    if n > 0 {
        log(tx, "report", Some(comment_id), None, Some(reason), None)?;
        tx.record(ChangeInput {
            entity: ENTITY,
            entity_id: comment_id.to_string(),
            op: "report",
            payload: serde_json::json!({}),
        })?;
        tx.record(ChangeInput {
            entity: REPORT_ENTITY,
            entity_id: id,
            op: "report",
            payload: serde_json::json!({ "comment_id": comment_id }),
        })?;
    }
    Ok(n > 0)
}

/// What a mute holds besides its number.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MuteScope<'a> {
    /// Phone keys (hashed cookies) the author wrote from: their comments are refused too,
    /// whatever number they name.
    pub client_keys: &'a [String],
    /// Hide the author's approved comments from residents while the mute lasts.
    pub hide_comments: bool,
}

/// Phone keys that ever submitted a comment naming the number whose keyed hash is
/// `phone_hash` (for a mute to hold them too).
pub fn client_keys_of_phone(conn: &Connection, phone_hash: &[u8]) -> Result<Vec<String>> {
    let mut st = conn.prepare("SELECT DISTINCT client_key FROM comments WHERE phone_hash = ?1")?;
    let rows = st.query_map([phone_hash], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Mutes (禁言) the author of comment `comment_id` until `until` (RFC 3339) and returns the
/// mute as listed. Where the comment's full number is kept (the site host), the mute holds the
/// number and every phone key that wrote a comment naming it (see [`MuteScope`]); muting the
/// author again replaces its end, reason and hiding, and adds keys. On a device that has only
/// a replica of the comment, the mute is kept with the masked number (`mute_replicas`) and
/// reaches the hub as a `comment_mute` record, where it takes hold the same way.
pub fn mute_author(
    tx: &WriteTx<'_>,
    comment_id: &str,
    until: &str,
    reason: &str,
    hide_comments: bool,
) -> Result<Mute> {
    let conn = tx.conn();
    let author = author_of(conn, comment_id)?.ok_or_else(|| not_found(comment_id))?;
    let detail = mute_detail(until, hide_comments);
    let key = match &author {
        Author::Site { hash, phone } => {
            let keys = client_keys_of_phone(conn, hash)?;
            let stored = mute_number(
                conn,
                hash,
                phone,
                comment_id,
                [until, reason, tx.at(), tx.actor()],
                MuteScope {
                    client_keys: &keys,
                    hide_comments,
                },
            )?;
            // The line is the record's: under the comment the author's mute is keyed by.
            log(
                tx,
                "mute",
                Some(&stored),
                Some(phone),
                Some(reason),
                Some(&detail),
            )?;
            stored
        }
        Author::Replica { phone_masked } => {
            mute_replica(
                conn,
                comment_id,
                phone_masked,
                [until, reason, tx.at(), tx.actor()],
                hide_comments,
            )?;
            log(
                tx,
                "mute",
                Some(comment_id),
                None,
                Some(reason),
                Some(&detail),
            )?;
            comment_id.to_string()
        }
    };
    // One record per author on the hub: a second mute of the same number made from another
    // of its comments is announced under the comment the mute was first made from.
    tx.record(ChangeInput {
        entity: SETTINGS_ENTITY,
        entity_id: key.clone(),
        op: "mute",
        payload: serde_json::json!({ "until": until }),
    })?;
    mute_by_key(conn, &key)?.ok_or_else(|| not_found(&key))
}

fn mute_detail(until: &str, hide_comments: bool) -> String {
    if hide_comments {
        format!("{until} hide")
    } else {
        until.to_string()
    }
}

/// Whose a comment is, as this device knows it.
enum Author {
    /// The site host's row: the number's keyed hash and the number sealed (the phone keys are
    /// found by the hash).
    Site { hash: Vec<u8>, phone: SealedPhone },
    /// A replica: the masked number only.
    Replica { phone_masked: String },
}

/// A comment's `phone_hash`, `phone` (sealed) and `phone_masked`.
type AuthorRow = (Option<Vec<u8>>, Option<Vec<u8>>, String);

fn author_of(conn: &Connection, comment_id: &str) -> Result<Option<Author>> {
    let row: Option<AuthorRow> = conn
        .prepare_cached("SELECT phone_hash, phone, phone_masked FROM comments WHERE id = ?1")?
        .query_row([comment_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    Ok(row.map(|(hash, sealed, masked)| match (hash, sealed) {
        (Some(hash), Some(sealed)) => Author::Site {
            hash,
            phone: SealedPhone { sealed, masked },
        },
        _ => Author::Replica {
            phone_masked: masked,
        },
    }))
}

/// Writes the site host's mute of the number hashed `hash` (sealed: `phone`; until, reason,
/// at, by) with the phone keys of `scope`; returns the mute's key: the comment it was first
/// made from.
fn mute_number(
    conn: &Connection,
    hash: &[u8],
    phone: &SealedPhone,
    comment_id: &str,
    [until, reason, at, by]: [&str; 4],
    scope: MuteScope<'_>,
) -> Result<String> {
    let key: String = conn
        .prepare_cached(
            "INSERT INTO mutes (phone_hash, phone, phone_masked, until, reason, at, by,
                hide_comments, comment_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT (phone_hash) DO UPDATE SET until = excluded.until,
                reason = excluded.reason, at = excluded.at, by = excluded.by,
                hide_comments = excluded.hide_comments,
                comment_id = COALESCE(mutes.comment_id, excluded.comment_id)
             RETURNING comment_id",
        )?
        .query_row(
            params![
                hash,
                phone.sealed,
                phone.masked,
                until,
                reason,
                at,
                by,
                scope.hide_comments,
                comment_id
            ],
            |r| r.get(0),
        )?;
    let mut st = conn.prepare_cached(
        "INSERT INTO mute_keys (client_key, phone_hash) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )?;
    for k in scope.client_keys {
        st.execute(params![k, hash])?;
    }
    Ok(key)
}

/// Writes a replica's mute of the author of `comment_id`, known by the masked number only.
fn mute_replica(
    conn: &Connection,
    comment_id: &str,
    phone_masked: &str,
    [until, reason, at, by]: [&str; 4],
    hide_comments: bool,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO mute_replicas (comment_id, phone_masked, until, reason, hide_comments, at, by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (comment_id) DO UPDATE SET until = excluded.until,
            reason = excluded.reason, hide_comments = excluded.hide_comments,
            at = excluded.at, by = excluded.by",
    )?
    .execute(params![
        comment_id,
        phone_masked,
        until,
        reason,
        hide_comments,
        at,
        by
    ])?;
    Ok(())
}

/// Both kinds of mute as listed: the site host's (key: the comment it was made from, or the
/// row for a mute from before mutes replicated) and a replica's (key: the comment).
const MUTES_SQL: &str = "SELECT key, phone_masked, until, reason, at, by, hide_comments FROM (
        SELECT COALESCE(comment_id, CAST(rowid AS TEXT)) AS key, phone_masked, until, reason, at,
            by, hide_comments FROM mutes
        UNION ALL
        SELECT comment_id, phone_masked, until, reason, at, by, hide_comments
        FROM mute_replicas)";

fn mute_by_key(conn: &Connection, key: &str) -> Result<Option<Mute>> {
    Ok(conn
        .prepare_cached(&format!("{MUTES_SQL} WHERE key = ?1 LIMIT 1"))?
        .query_row([key], mute_from_row)
        .optional()?)
}

fn mute_from_row(r: &Row<'_>) -> rusqlite::Result<Mute> {
    let phone: String = r.get(1)?;
    Ok(Mute {
        key: r.get(0)?,
        phone_masked: masked_form(&phone),
        until: r.get(2)?,
        reason: r.get(3)?,
        at: r.get(4)?,
        by: r.get(5)?,
        hide_comments: r.get::<_, i64>(6)? == 1,
    })
}

/// Lifts a mute by its key (as listed); false when there was none. A mute made from a comment
/// is lifted everywhere: the change travels as that comment's `comment_mute` record.
pub fn unmute(tx: &WriteTx<'_>, key: &str) -> Result<bool> {
    let conn = tx.conn();
    let site: Option<(Vec<u8>, SealedPhone, Option<String>)> = conn
        .prepare_cached(
            "SELECT phone_hash, phone, phone_masked, comment_id FROM mutes
             WHERE comment_id = ?1 OR rowid = ?1 LIMIT 1",
        )?
        .query_row([key], |r| {
            Ok((
                r.get(0)?,
                SealedPhone {
                    sealed: r.get(1)?,
                    masked: r.get(2)?,
                },
                r.get(3)?,
            ))
        })
        .optional()?;
    let entity_id = if let Some((hash, phone, comment_id)) = site {
        unmute_number(conn, &hash)?;
        log(
            tx,
            "unmute",
            comment_id.as_deref(),
            Some(&phone),
            None,
            None,
        )?;
        comment_id.unwrap_or_else(|| "mutes".to_string())
    } else if conn
        .prepare_cached("DELETE FROM mute_replicas WHERE comment_id = ?1")?
        .execute([key])?
        > 0
    {
        log(tx, "unmute", Some(key), None, None, None)?;
        key.to_string()
    } else {
        return Ok(false);
    };
    tx.record(ChangeInput {
        entity: SETTINGS_ENTITY,
        entity_id,
        op: "unmute",
        payload: serde_json::json!({}),
    })?;
    Ok(true)
}

fn unmute_number(conn: &Connection, hash: &[u8]) -> Result<()> {
    conn.prepare_cached("DELETE FROM mute_keys WHERE phone_hash = ?1")?
        .execute([hash])?;
    conn.prepare_cached("DELETE FROM mutes WHERE phone_hash = ?1")?
        .execute([hash])?;
    Ok(())
}

/// Until when a comment naming the number whose keyed hash is `phone_hash`
/// ([`crate::phone_crypt::PhoneKeys::hash`]) from the phone key `client_key` is refused, if a
/// mute of the number or of the key is in force at `now` (RFC 3339).
pub fn muted_until(
    conn: &Connection,
    phone_hash: &[u8],
    client_key: &str,
    now: &str,
) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT max(until) FROM mutes WHERE until > ?3 AND (phone_hash = ?1
                OR phone_hash IN (SELECT k.phone_hash FROM mute_keys k WHERE k.client_key = ?2))",
        )?
        .query_row(params![phone_hash, client_key, now], |r| r.get(0))?)
}

/// Mutes still in force at `now`, newest first: the site host's and, on a device that has
/// only replicas of the comments, those it knows by the masked number.
pub fn mutes(conn: &Connection, now: &str) -> Result<Vec<Mute>> {
    let mut st = conn.prepare(&format!("{MUTES_SQL} WHERE until > ?1 ORDER BY at DESC"))?;
    let rows = st.query_map([now], mute_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// True while the comment area is open (the default).
pub fn area_open(conn: &Connection) -> Result<bool> {
    let closed: Option<String> = conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([AREA_CLOSED_KEY], |r| r.get(0))
        .optional()?;
    Ok(closed.is_none_or(|v| v != "1"))
}

/// Opens or closes the whole comment area (一键关闭评论区).
pub fn set_area_open(tx: &WriteTx<'_>, open: bool, reason: Option<&str>) -> Result<()> {
    meta::set(tx, AREA_CLOSED_KEY, if open { "0" } else { "1" })?;
    log(
        tx,
        if open { "reopen" } else { "close" },
        None,
        None,
        reason,
        None,
    )?;
    tx.record(ChangeInput {
        entity: ENTITY,
        entity_id: "area".into(),
        op: "area",
        payload: serde_json::json!({ "open": open }),
    })
}

/// The sensitive-word list, folded, sorted.
pub fn words(conn: &Connection) -> Result<Vec<String>> {
    let mut st = conn.prepare("SELECT word FROM sensitive_words ORDER BY word")?;
    let rows = st.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Adds folded words; returns how many were new.
pub fn add_words(tx: &WriteTx<'_>, words: &[String]) -> Result<u32> {
    let mut st = tx.conn().prepare(
        "INSERT INTO sensitive_words (word, added_at, added_by) VALUES (?1, ?2, ?3)
         ON CONFLICT DO NOTHING",
    )?;
    let mut added = 0;
    for w in words {
        let n = st.execute(params![w, tx.at(), tx.actor()])?;
        if n > 0 {
            record_word(tx, w)?;
        }
        added += n as u32;
    }
    log_words(tx, &format!("+{added}"))?;
    Ok(added)
}

/// Removes folded words; returns how many were there.
pub fn remove_words(tx: &WriteTx<'_>, words: &[String]) -> Result<u32> {
    let mut st = tx
        .conn()
        .prepare("DELETE FROM sensitive_words WHERE word = ?1")?;
    let mut removed = 0;
    for w in words {
        let n = st.execute([w])?;
        if n > 0 {
            record_word(tx, w)?;
        }
        removed += n as u32;
    }
    log_words(tx, &format!("-{removed}"))?;
    Ok(removed)
}

/// One word's change row (op `word`, entity id the word): what replicates the word.
fn record_word(tx: &WriteTx<'_>, word: &str) -> Result<()> {
    tx.record(ChangeInput {
        entity: SETTINGS_ENTITY,
        entity_id: word.to_string(),
        op: "word",
        payload: serde_json::json!({}),
    })
}

fn log_words(tx: &WriteTx<'_>, detail: &str) -> Result<()> {
    log(tx, "words", None, None, None, Some(detail))?;
    tx.record(ChangeInput {
        entity: SETTINGS_ENTITY,
        entity_id: "words".into(),
        op: "words",
        payload: serde_json::json!({ "detail": detail }),
    })
}

fn public_from_row(r: &Row<'_>) -> rusqlite::Result<PublicComment> {
    let kind: String = r.get(3)?;
    let reply: Option<String> = r.get(8)?;
    let replied_at: Option<String> = r.get(9)?;
    Ok(PublicComment {
        id: r.get(0)?,
        target: r.get(1)?,
        nickname: r.get(2)?,
        kind: CommentKind::parse(&kind).unwrap_or(CommentKind::Other),
        text: r.get(4)?,
        township: r.get(5)?,
        created_at: r.get(6)?,
        pinned: r.get(7)?,
        reply: public_reply(reply, replied_at, r.get(11)?, r.get(10)?),
    })
}

/// The reply residents see: a 官方回复 in its department's name, else a suggestion's with
/// its township.
fn public_reply(
    text: Option<String>,
    at: Option<String>,
    department: Option<String>,
    township: Option<String>,
) -> Option<PublicReply> {
    let (text, at) = (text?, at?);
    Some(PublicReply {
        official: department.is_some(),
        township: department.or(township),
        text,
        at,
    })
}

/// Approved comments of `target` (or of every target), pinned first, then newest first,
/// at most `limit`; empty while the area is closed. Comments on a post that is no longer
/// published (retracted) are left out, and so are those of an author under a mute that hides
/// comments at `now` (RFC 3339). The only way comments leave the store for residents.
pub fn public(
    conn: &Connection,
    target: Option<&str>,
    limit: u32,
    now: &str,
) -> Result<Vec<PublicComment>> {
    if !area_open(conn)? {
        return Ok(Vec::new());
    }
    let mut st = conn.prepare_cached(
        "SELECT c.id, c.target, c.nickname, c.kind, c.text, t.name, c.created_at, c.pinned,
            c.reply, c.replied_at, a.name, c.reply_department
         FROM comments c
         LEFT JOIN townships t ON t.id = c.township_id
         LEFT JOIN townships a ON a.id = c.assigned_to
         WHERE c.status = 'approved' AND (?1 IS NULL OR c.target = ?1)
            AND (c.target = 'event' OR EXISTS (SELECT 1 FROM posts p
                WHERE p.id = c.target AND p.status = 'published'))
            AND NOT EXISTS (SELECT 1 FROM mutes m
                WHERE m.hide_comments = 1 AND m.until > ?3 AND (m.phone_hash = c.phone_hash
                    OR EXISTS (SELECT 1 FROM mute_keys k
                        WHERE k.client_key = c.client_key AND k.phone_hash = m.phone_hash)))
         ORDER BY c.pinned DESC, c.created_at DESC, c.id DESC LIMIT ?2",
    )?;
    let rows = st.query_map(params![target, limit, now], public_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Newest sequence number of a change residents could see in the comments (approvals,
/// takedowns, pins, replies, the area switch, likes, and comment settings, which hold the
/// mutes that may hide comments): the comments' version for ETags. A hiding mute that runs
/// out moves nothing: until the next change, phones may keep its comments hidden.
pub fn public_seq(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached(PUBLIC_SEQ_SQL)?
        .query_row([], |r| r.get(0))?)
}

/// Both halves read one index entry: the partial index `changes_public_comment` (migration
/// 0009, whose WHERE this must repeat; `INDEXED BY` makes SQLite refuse the query rather than
/// silently scan if the two ever differ) and `changes_by_entity_seq`.
const PUBLIC_SEQ_SQL: &str = "SELECT max(
    (SELECT COALESCE(MAX(seq), 0) FROM changes INDEXED BY changes_public_comment
        WHERE entity = 'comment' AND (op = 'approve' OR op = 'reject' OR op = 'pin'
            OR op = 'unpin' OR op = 'reply' OR op = 'official_reply' OR op = 'area')),
    (SELECT COALESCE(MAX(seq), 0) FROM changes WHERE entity = 'like'),
    (SELECT COALESCE(MAX(seq), 0) FROM changes WHERE entity = 'comment_settings'))";

/// A phone's own comments, newest first.
pub fn own(conn: &Connection, client_key: &str, limit: u32) -> Result<Vec<OwnComment>> {
    let mut st = conn.prepare(
        "SELECT c.id, c.target, c.text, c.status, c.reject_reason, c.appealed, c.created_at,
            c.reply, c.replied_at, c.reply_department, a.name
         FROM comments c LEFT JOIN townships a ON a.id = c.assigned_to
         WHERE c.client_key = ?1 ORDER BY c.created_at DESC LIMIT ?2",
    )?;
    let rows = st.query_map(params![client_key, limit], |r| {
        let status: String = r.get(3)?;
        let status = CommentStatus::parse(&status).unwrap_or(CommentStatus::Pending);
        Ok(OwnComment {
            id: r.get(0)?,
            target: r.get(1)?,
            text: r.get(2)?,
            status,
            reject_reason: r.get(4)?,
            appealed: r.get(5)?,
            created_at: r.get(6)?,
            // Shown once the comment is public, as under it on the page.
            reply: if status == CommentStatus::Approved {
                public_reply(r.get(7)?, r.get(8)?, r.get(9)?, r.get(10)?)
            } else {
                None
            },
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The client key a comment was submitted with (to check an appeal comes from its phone).
/// A replica has none: not found, like a missing comment.
pub fn client_key_of(conn: &Connection, id: &str) -> Result<String> {
    conn.query_row("SELECT client_key FROM comments WHERE id = ?1", [id], |r| {
        r.get::<_, Option<String>>(0)
    })
    .optional()?
    .flatten()
    .ok_or_else(|| not_found(id))
}

// ---------------------------------------------------------------------------------------
// Replication: the op log's `comment` and `comment_decision` records (see `crate::oplog`).
//
// A `comment` record is a new comment as moderators need it, written once where the resident
// site took it: the number masked, never the phone key or the peer address. A
// `comment_decision` record is a moderator's 通过/不通过/置顶/取消置顶: the comment's
// moderation state after it plus the line it adds to the moderation record, applied alike on
// every replica. 交办/回复, the area switch, the word list, mutes, reports, appeals and like
// counts replicate too (below).

/// The payload table of a `comment` record: `{"comments": [CommentRecord]}`.
pub const RECORD_TABLE: &str = "comments";
/// The payload table of a `comment_decision` record: `{"comment_decisions": [DecisionRecord]}`.
pub const DECISION_TABLE: &str = "comment_decisions";

/// A comment as it replicates: what moderators need, the number masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommentRecord {
    /// Comment id.
    pub id: String,
    /// A post id or `event`.
    pub target: String,
    /// The resident's nickname.
    pub nickname: String,
    /// `praise`, `suggestion` or `other`.
    pub kind: String,
    /// The text.
    pub text: String,
    /// The township it is about, if any.
    pub township_id: Option<String>,
    /// The number, masked: `138****5678`.
    pub phone_masked: String,
    /// The number was verified by SMS.
    pub phone_verified: bool,
    /// Sensitive words hit at submission.
    pub flagged_words: Vec<String>,
    /// Always `pending`: a new comment waits for a moderator (先审后发).
    pub status: String,
    /// When the site took it.
    pub created_at: String,
}

/// A moderator's decision as it replicates: the comment's moderation state after it and the
/// moderation record's line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRecord {
    /// The comment.
    pub comment_id: String,
    /// `approve`, `reject`, `pin` or `unpin`.
    pub action: String,
    /// Status after the decision.
    pub status: String,
    /// Pinned after the decision.
    pub pinned: bool,
    /// The reason of the latest rejection, if any (kept after a later approval, as here).
    pub reject_reason: Option<String>,
    /// When the status was last decided.
    pub decided_at: Option<String>,
    /// Who last decided the status.
    pub decided_by: Option<String>,
    /// The moderation record line's id (the same on every replica).
    pub log_id: String,
    /// When the moderator decided.
    pub log_at: String,
    /// Who decided.
    pub actor: String,
    /// The reason given with this decision.
    pub reason: Option<String>,
}

fn one_row<T: for<'de> Deserialize<'de>>(
    payload: &Value,
    table: &str,
) -> std::result::Result<T, String> {
    let obj = payload.as_object().ok_or("payload is not an object")?;
    if let Some(other) = obj.keys().find(|k| *k != table) {
        return Err(format!("table {other:?} is not part of this record"));
    }
    let rows = obj
        .get(table)
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{table} missing"))?;
    let [row] = rows.as_slice() else {
        return Err(format!("{table} must hold one row"));
    };
    serde_json::from_value(row.clone()).map_err(|e| format!("{table}: {e}"))
}

fn chars_within(what: &str, s: &str, lo: usize, hi: usize) -> std::result::Result<(), String> {
    let n = s.chars().count();
    if (lo..=hi).contains(&n) {
        Ok(())
    } else {
        Err(format!("{what} has {n} characters, not {lo}..={hi}"))
    }
}

/// A mute's end after the moment it was decided and at most [`MAX_MUTE_DAYS`] (and a day's
/// slack for clocks) later: a laptop cannot sync a mute the app would not let anyone choose.
fn mute_span_within(log_at: &str, until: &str) -> std::result::Result<(), String> {
    let parse = |s: &str| chrono::DateTime::parse_from_rfc3339(s).ok();
    let (Some(from), Some(to)) = (parse(log_at), parse(until)) else {
        return Err("a mute's times are not times".into());
    };
    let longest = chrono::Duration::days(i64::from(MAX_MUTE_DAYS) + 1);
    if to <= from || to - from > longest {
        return Err(format!(
            "a mute must end within {MAX_MUTE_DAYS} days of being decided"
        ));
    }
    Ok(())
}

fn time_text(what: &str, s: &str) -> std::result::Result<(), String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|_| ())
        .map_err(|_| format!("{what} is not a time"))
}

/// Reads and checks a `comment` record's payload for comment `entity_id`: one row, only the
/// record's fields, the lengths a local comment keeps, a masked number (a full number is
/// refused: it never leaves the site host), a new comment's status.
pub fn parse_record(
    entity_id: &str,
    payload: &Value,
) -> std::result::Result<CommentRecord, String> {
    let r: CommentRecord = one_row(payload, RECORD_TABLE)?;
    if r.id != entity_id {
        return Err(format!("comment {} outside {entity_id}", r.id));
    }
    chars_within("id", &r.id, 1, 64)?;
    chars_within("target", &r.target, 1, 36)?;
    chars_within("nickname", &r.nickname, 1, MAX_NICKNAME_CHARS)?;
    chars_within("text", &r.text, MIN_TEXT_CHARS, MAX_TEXT_CHARS)?;
    if CommentKind::parse(&r.kind).is_none() {
        return Err(format!("kind {:?}", r.kind));
    }
    if let Some(t) = &r.township_id {
        chars_within("township_id", t, 1, 64)?;
    }
    if is_mobile(&r.phone_masked) || !is_masked_mobile(&r.phone_masked) {
        return Err("phone_masked is not a masked number".into());
    }
    if r.flagged_words.len() > 100 {
        return Err("too many flagged words".into());
    }
    for w in &r.flagged_words {
        chars_within("flagged word", w, 1, 50)?;
    }
    if r.status != CommentStatus::Pending.as_str() {
        return Err(format!("a new comment is pending, not {:?}", r.status));
    }
    time_text("created_at", &r.created_at)?;
    Ok(r)
}

/// Reads and checks a `comment_decision` record's payload for comment `entity_id`: one row,
/// a decision, a state that decision leaves (approved after 通过 or 置顶, rejected and
/// unpinned with a reason after 不通过), reasons within their length.
pub fn parse_decision(
    entity_id: &str,
    payload: &Value,
) -> std::result::Result<DecisionRecord, String> {
    let d: DecisionRecord = one_row(payload, DECISION_TABLE)?;
    if d.comment_id != entity_id {
        return Err(format!("decision on {} outside {entity_id}", d.comment_id));
    }
    let action = ModAction::parse_decision(&d.action);
    if action.is_none() && d.action != DISMISS_REPORTS {
        return Err(format!("action {:?}", d.action));
    }
    let status = CommentStatus::parse(&d.status).ok_or_else(|| format!("status {:?}", d.status))?;
    let consistent = match action {
        Some(ModAction::Approve | ModAction::Unpin) => {
            status == CommentStatus::Approved && !d.pinned
        }
        Some(ModAction::Pin) => status == CommentStatus::Approved && d.pinned,
        Some(ModAction::Reject) => status == CommentStatus::Rejected && !d.pinned,
        Some(ModAction::Appeal) => false,
        // 保留: the reports of a shown comment are closed; it stays as it is.
        None => status == CommentStatus::Approved,
    };
    if !consistent {
        return Err(format!(
            "{} does not leave {} (pinned {})",
            d.action, d.status, d.pinned
        ));
    }
    match (&d.reject_reason, status) {
        (None, CommentStatus::Rejected) => return Err("rejected without a reason".into()),
        (Some(r), _) => chars_within("reject_reason", r, 1, MAX_REASON_CHARS)?,
        (None, _) => {}
    }
    if action == Some(ModAction::Reject) && d.reason.is_none() {
        return Err("不通过 without a reason".into());
    }
    if let Some(r) = &d.reason {
        chars_within("reason", r, 1, MAX_REASON_CHARS)?;
    }
    chars_within("log_id", &d.log_id, 1, 64)?;
    chars_within("actor", &d.actor, 1, MAX_AUTHOR_CHARS)?;
    time_text("log_at", &d.log_at)?;
    if let Some(t) = &d.decided_at {
        time_text("decided_at", t)?;
    }
    if let Some(by) = &d.decided_by {
        chars_within("decided_by", by, 1, MAX_AUTHOR_CHARS)?;
    }
    Ok(d)
}

/// A comment's `comment` record, as the op log carries it.
pub fn record_payload(conn: &Connection, id: &str) -> Result<Value> {
    let r = conn
        .prepare_cached(
            "SELECT id, target, nickname, kind, text, township_id, phone_masked,
                phone_verified, flagged_words, status, created_at
             FROM comments WHERE id = ?1",
        )?
        .query_row([id], |r| {
            let phone: String = r.get(6)?;
            let flagged: String = r.get(8)?;
            Ok(CommentRecord {
                id: r.get(0)?,
                target: r.get(1)?,
                nickname: r.get(2)?,
                kind: r.get(3)?,
                text: r.get(4)?,
                township_id: r.get(5)?,
                phone_masked: masked_form(&phone),
                phone_verified: r.get(7)?,
                flagged_words: serde_json::from_str(&flagged).unwrap_or_default(),
                status: r.get(9)?,
                created_at: r.get(10)?,
            })
        })
        .optional()?
        .ok_or_else(|| not_found(id))?;
    Ok(serde_json::json!({ (RECORD_TABLE): [r] }))
}

/// A comment's moderation state with the newest decision's line in the moderation record:
/// the `comment_decision` record the op log carries after a decision.
pub fn decision_payload(conn: &Connection, id: &str) -> Result<Value> {
    let state = conn
        .prepare_cached(
            "SELECT status, pinned, reject_reason, decided_at, decided_by FROM comments
             WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .optional()?
        .ok_or_else(|| not_found(id))?;
    let line = conn
        .prepare_cached(
            "SELECT id, at, actor, action, reason FROM moderation_log
             WHERE comment_id = ?1 AND (action = 'approve' OR action = 'reject'
                OR action = 'pin' OR action = 'unpin' OR action = 'dismiss_reports')
             ORDER BY rowid DESC LIMIT 1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
            ))
        })
        .optional()?
        .ok_or_else(|| StoreError::Corrupt(format!("comment {id}: a decision without a record")))?;
    let d = DecisionRecord {
        comment_id: id.to_string(),
        action: line.3,
        status: state.0,
        pinned: state.1,
        reject_reason: state.2,
        decided_at: state.3,
        decided_by: state.4,
        log_id: line.0,
        log_at: line.1,
        actor: line.2,
        reason: line.4,
    };
    Ok(serde_json::json!({ (DECISION_TABLE): [d] }))
}

/// The moderation state of a comment, if this device has it.
pub fn mod_state(conn: &Connection, id: &str) -> Result<Option<ModState>> {
    Ok(conn
        .prepare_cached("SELECT status, pinned, appealed FROM comments WHERE id = ?1")?
        .query_row([id], |r| {
            let status: String = r.get(0)?;
            Ok(ModState {
                status: CommentStatus::parse(&status).unwrap_or(CommentStatus::Pending),
                pinned: r.get(1)?,
                appealed: r.get(2)?,
            })
        })
        .optional()?)
}

/// True when this device has the comment.
pub fn exists(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM comments WHERE id = ?1")?
        .exists([id])?)
}

/// Stores a replica of a comment made on another device (checked by [`parse_record`]): the
/// masked number, no phone key or peer address, pending. A comment already here stays as it
/// is (a comment never changes once made; decisions change its state).
pub fn apply_record(conn: &Connection, r: &CommentRecord) -> Result<()> {
    let handling = (r.kind == CommentKind::Suggestion.as_str()).then_some(Handling::Open.as_str());
    conn.prepare_cached(
        "INSERT INTO comments (id, target, nickname, kind, text, township_id, phone_masked,
            phone_verified, flagged_words, status, handling, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'pending', ?10, ?11)
         ON CONFLICT (id) DO NOTHING",
    )?
    .execute(params![
        r.id,
        r.target,
        r.nickname,
        r.kind,
        r.text,
        r.township_id,
        r.phone_masked,
        r.phone_verified,
        serde_json::to_string(&r.flagged_words)?,
        handling,
        r.created_at,
    ])?;
    Ok(())
}

/// Applies a moderator's decision made on another device (checked by [`parse_decision`]):
/// the comment's moderation state and the moderation record's line (the op log then closes
/// the reports made before it: [`close_reports`]). Returns false when this device
/// does not have the comment.
pub fn apply_decision(conn: &Connection, d: &DecisionRecord) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE comments SET status = ?2, pinned = ?3, reject_reason = ?4, decided_at = ?5,
                decided_by = ?6, version = version + 1
             WHERE id = ?1",
        )?
        .execute(params![
            d.comment_id,
            d.status,
            d.pinned,
            d.reject_reason,
            d.decided_at,
            d.decided_by
        ])?;
    if n == 0 {
        return Ok(false);
    }
    // Its reports are closed by the op log, by hybrid clock (see [`close_reports`]).
    conn.prepare_cached(
        "INSERT INTO moderation_log (id, at, actor, action, comment_id, reason)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
    )?
    .execute(params![
        d.log_id,
        d.log_at,
        d.actor,
        d.action,
        d.comment_id,
        d.reason
    ])?;
    Ok(true)
}

// ---- 交办/回复, the area switch and the word list (issue 17) ----
//
// A `comment_handling` record is a suggestion's follow-up after 交办 or 回复: its handling
// state, township and reply, with the moderation record's line. A `comment_area` record is the
// comment area's switch (entity id `area`) with its line. A `comment_word` record is one word of
// the sensitive-word list (entity id: the folded word), present or not: adding and removing are
// set operations, so the same edit twice changes nothing. 保留 (dismissing reports) travels as
// a `comment_decision` whose action is [`DISMISS_REPORTS`].

/// The decision action of 保留: the reports are closed and the comment stays shown.
pub const DISMISS_REPORTS: &str = "dismiss_reports";
/// The payload table of a `comment_handling` record.
pub const HANDLING_TABLE: &str = "comment_handling";
/// The payload table of a `comment_area` record.
pub const AREA_TABLE: &str = "comment_area";
/// The entity id of the `comment_area` record.
pub const AREA_ID: &str = "area";
/// The payload table of a `comment_word` record.
pub const WORD_TABLE: &str = "sensitive_words";

/// A suggestion's follow-up as it replicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandlingRecord {
    /// The comment (a suggestion).
    pub comment_id: String,
    /// `assign` (交办) or `reply` (回复).
    pub action: String,
    /// `in_progress` or `answered` after it.
    pub handling: String,
    /// The township it is handed to.
    pub assigned_to: String,
    /// When it was handed over.
    pub assigned_at: Option<String>,
    /// Who handed it over.
    pub assigned_by: Option<String>,
    /// The township's reply, once 已回复.
    pub reply: Option<String>,
    /// When the reply was recorded.
    pub replied_at: Option<String>,
    /// Who recorded it.
    pub replied_by: Option<String>,
    /// The department of a 官方回复 (action `official_reply`, on an ordinary comment whose
    /// `handling` is empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// The moderation record line's id.
    pub log_id: String,
    /// When.
    pub log_at: String,
    /// Who.
    pub actor: String,
}

/// The comment area's switch as it replicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaRecord {
    /// Open (true) or closed.
    pub open: bool,
    /// Why, if given.
    pub reason: Option<String>,
    /// The moderation record line's id.
    pub log_id: String,
    /// When.
    pub log_at: String,
    /// Who.
    pub actor: String,
}

/// One word of the sensitive-word list as it replicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WordRecord {
    /// The folded word.
    pub word: String,
    /// In the list (true) or removed.
    pub present: bool,
    /// When it was added (present only).
    pub added_at: Option<String>,
    /// Who added it (present only).
    pub added_by: Option<String>,
}

fn line_fields(log_id: &str, log_at: &str, actor: &str) -> std::result::Result<(), String> {
    chars_within("log_id", log_id, 1, 64)?;
    chars_within("actor", actor, 1, MAX_AUTHOR_CHARS)?;
    time_text("log_at", log_at)
}

/// Refuses text that holds a full mobile number: replicas never carry one.
fn no_full_number(what: &str, s: &str) -> std::result::Result<(), String> {
    let mut run = 0;
    for c in s.chars() {
        run = if c.is_ascii_digit() { run + 1 } else { 0 };
        if run >= 11 {
            return Err(format!("{what} holds a phone number"));
        }
    }
    Ok(())
}

/// Reads and checks a `comment_handling` payload for comment `entity_id`.
pub fn parse_handling(
    entity_id: &str,
    payload: &Value,
) -> std::result::Result<HandlingRecord, String> {
    let h: HandlingRecord = one_row(payload, HANDLING_TABLE)?;
    if h.comment_id != entity_id {
        return Err(format!("follow-up of {} outside {entity_id}", h.comment_id));
    }
    if h.action == OFFICIAL_REPLY {
        return parse_official_reply(h);
    }
    if h.department.is_some() {
        return Err("a department only with a 官方回复".into());
    }
    let handling =
        Handling::parse(&h.handling).ok_or_else(|| format!("handling {:?}", h.handling))?;
    let ok = match h.action.as_str() {
        "assign" => matches!(handling, Handling::InProgress | Handling::Answered),
        "reply" => handling == Handling::Answered,
        other => return Err(format!("action {other:?}")),
    };
    if !ok {
        return Err(format!("{} does not leave {}", h.action, h.handling));
    }
    if (handling == Handling::Answered) != h.reply.is_some() {
        return Err("a reply exactly when answered".into());
    }
    chars_within("assigned_to", &h.assigned_to, 1, 64)?;
    if let Some(r) = &h.reply {
        chars_within("reply", r, 1, guanmo_domain::comments::MAX_REPLY_CHARS)?;
    }
    for (what, t) in [
        ("assigned_at", &h.assigned_at),
        ("replied_at", &h.replied_at),
    ] {
        if let Some(t) = t {
            time_text(what, t)?;
        }
    }
    for (what, by) in [
        ("assigned_by", &h.assigned_by),
        ("replied_by", &h.replied_by),
    ] {
        if let Some(by) = by {
            chars_within(what, by, 1, 100)?;
        }
    }
    line_fields(&h.log_id, &h.log_at, &h.actor)?;
    Ok(h)
}

/// Checks a 官方回复 record: no handling, a reply, its time and author, a department.
fn parse_official_reply(h: HandlingRecord) -> std::result::Result<HandlingRecord, String> {
    if !h.handling.is_empty() || !h.assigned_to.is_empty() {
        return Err("a 官方回复 is not a suggestion's follow-up".into());
    }
    let (Some(reply), Some(at), Some(by), Some(department)) =
        (&h.reply, &h.replied_at, &h.replied_by, &h.department)
    else {
        return Err("a 官方回复 needs its reply, time, author and department".into());
    };
    chars_within("reply", reply, 1, guanmo_domain::comments::MAX_REPLY_CHARS)?;
    no_full_number("reply", reply)?;
    time_text("replied_at", at)?;
    chars_within("replied_by", by, 1, 100)?;
    chars_within(
        "department",
        department,
        1,
        guanmo_domain::comments::MAX_DEPARTMENT_CHARS,
    )?;
    line_fields(&h.log_id, &h.log_at, &h.actor)?;
    Ok(h)
}

/// Reads and checks a `comment_area` payload.
pub fn parse_area(entity_id: &str, payload: &Value) -> std::result::Result<AreaRecord, String> {
    if entity_id != AREA_ID {
        return Err(format!("the area record is {AREA_ID:?}, not {entity_id:?}"));
    }
    let a: AreaRecord = one_row(payload, AREA_TABLE)?;
    if let Some(r) = &a.reason {
        chars_within("reason", r, 1, MAX_REASON_CHARS)?;
        no_full_number("reason", r)?;
    }
    line_fields(&a.log_id, &a.log_at, &a.actor)?;
    Ok(a)
}

/// Reads and checks a `comment_word` payload for the word `entity_id` (folded as the list
/// keeps it).
pub fn parse_word(entity_id: &str, payload: &Value) -> std::result::Result<WordRecord, String> {
    let w: WordRecord = one_row(payload, WORD_TABLE)?;
    if w.word != entity_id {
        return Err(format!("word {:?} outside {entity_id:?}", w.word));
    }
    if guanmo_domain::words::fold_word(&w.word).as_deref() != Some(w.word.as_str()) {
        return Err(format!("{:?} is not a folded word", w.word));
    }
    no_full_number("word", &w.word)?;
    match (&w.added_at, &w.added_by, w.present) {
        (Some(at), Some(by), true) => {
            time_text("added_at", at)?;
            chars_within("added_by", by, 1, MAX_AUTHOR_CHARS)?;
        }
        (None, None, false) => {}
        _ => return Err("added_at and added_by exactly when present".into()),
    }
    Ok(w)
}

/// A moderation record line: id, at, actor, action, reason.
type LogLine = (String, String, String, String, Option<String>);

fn latest_line(
    conn: &Connection,
    comment_id: Option<&str>,
    actions: [&str; 2],
) -> Result<Option<LogLine>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, at, actor, action, reason FROM moderation_log
             WHERE comment_id IS ?1 AND (action = ?2 OR action = ?3)
             ORDER BY rowid DESC LIMIT 1",
        )?
        .query_row(params![comment_id, actions[0], actions[1]], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?)
}

/// A suggestion's `comment_handling` record after its newest 交办 or 回复.
pub fn handling_payload(conn: &Connection, id: &str) -> Result<Value> {
    let row = conn
        .prepare_cached(
            "SELECT handling, assigned_to, assigned_at, assigned_by, reply, replied_at, replied_by,
                reply_department
             FROM comments WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<String>>(7)?,
            ))
        })
        .optional()?
        .ok_or_else(|| not_found(id))?;
    let actions = if row.0.is_some() {
        ["assign", "reply"]
    } else {
        [OFFICIAL_REPLY, OFFICIAL_REPLY]
    };
    let line = latest_line(conn, Some(id), actions)?.ok_or_else(|| {
        StoreError::Corrupt(format!("comment {id}: a follow-up without a record"))
    })?;
    let h = HandlingRecord {
        comment_id: id.to_string(),
        action: line.3,
        handling: row.0.unwrap_or_default(),
        assigned_to: row.1.unwrap_or_default(),
        assigned_at: row.2,
        assigned_by: row.3,
        reply: row.4,
        replied_at: row.5,
        replied_by: row.6,
        department: row.7,
        log_id: line.0,
        log_at: line.1,
        actor: line.2,
    };
    Ok(serde_json::json!({ (HANDLING_TABLE): [h] }))
}

/// The `comment_area` record: the switch and its newest line.
pub fn area_payload(conn: &Connection) -> Result<Value> {
    let open = area_open(conn)?;
    let line = latest_line(conn, None, ["close", "reopen"])?
        .ok_or_else(|| StoreError::Corrupt("the comment area: a switch without a record".into()))?;
    let a = AreaRecord {
        open,
        reason: line.4,
        log_id: line.0,
        log_at: line.1,
        actor: line.2,
    };
    Ok(serde_json::json!({ (AREA_TABLE): [a] }))
}

/// One word's `comment_word` record.
pub fn word_payload(conn: &Connection, word: &str) -> Result<Value> {
    let row: Option<(String, String)> = conn
        .prepare_cached("SELECT added_at, added_by FROM sensitive_words WHERE word = ?1")?
        .query_row([word], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let w = WordRecord {
        word: word.to_string(),
        present: row.is_some(),
        added_at: row.as_ref().map(|r| r.0.clone()),
        added_by: row.map(|r| r.1),
    };
    Ok(serde_json::json!({ (WORD_TABLE): [w] }))
}

/// Whether this device's follow-up of `id` already is what `h` says.
pub fn handling_is(conn: &Connection, h: &HandlingRecord) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM comments WHERE id = ?1 AND coalesce(handling, '') IS ?2
                AND coalesce(assigned_to, '') IS ?3 AND reply IS ?4 AND reply_department IS ?5",
        )?
        .exists(params![
            h.comment_id,
            h.handling,
            h.assigned_to,
            h.reply,
            h.department
        ])?)
}

/// Whether `word` is in the list here.
pub fn has_word(conn: &Connection, word: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM sensitive_words WHERE word = ?1")?
        .exists([word])?)
}

/// Whether this device's comment `id` is a suggestion (may be handed over and answered).
pub fn is_suggestion(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM comments WHERE id = ?1 AND handling IS NOT NULL")?
        .exists([id])?)
}

/// Applies a follow-up made elsewhere (checked by [`parse_handling`]); false when this device
/// does not have the suggestion.
pub fn apply_handling(conn: &Connection, h: &HandlingRecord) -> Result<bool> {
    if h.action == OFFICIAL_REPLY {
        let n = conn
            .prepare_cached(
                "UPDATE comments SET reply = ?2, replied_at = ?3, replied_by = ?4,
                    reply_department = ?5, version = version + 1
                 WHERE id = ?1 AND handling IS NULL AND status = 'approved'",
            )?
            .execute(params![
                h.comment_id,
                h.reply,
                h.replied_at,
                h.replied_by,
                h.department
            ])?;
        if n == 0 {
            return Ok(false);
        }
        insert_line(
            conn,
            [&h.log_id, &h.log_at, &h.actor, &h.action],
            Some(&h.comment_id),
            h.reply.as_deref(),
            h.department.as_deref(),
        )?;
        return Ok(true);
    }
    let n = conn
        .prepare_cached(
            "UPDATE comments SET handling = ?2, assigned_to = ?3, assigned_at = ?4,
                assigned_by = ?5, reply = ?6, replied_at = ?7, replied_by = ?8,
                version = version + 1
             WHERE id = ?1 AND handling IS NOT NULL",
        )?
        .execute(params![
            h.comment_id,
            h.handling,
            h.assigned_to,
            h.assigned_at,
            h.assigned_by,
            h.reply,
            h.replied_at,
            h.replied_by
        ])?;
    if n == 0 {
        return Ok(false);
    }
    let (reason, detail) = if h.action == "reply" {
        (h.reply.as_deref(), None)
    } else {
        (None, Some(h.assigned_to.as_str()))
    };
    insert_line(
        conn,
        [&h.log_id, &h.log_at, &h.actor, &h.action],
        Some(&h.comment_id),
        reason,
        detail,
    )?;
    Ok(true)
}

fn insert_line(
    conn: &Connection,
    [id, at, actor, action]: [&str; 4],
    comment_id: Option<&str>,
    reason: Option<&str>,
    detail: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO moderation_log (id, at, actor, action, comment_id, reason, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING",
    )?
    .execute(params![id, at, actor, action, comment_id, reason, detail])?;
    Ok(())
}

/// Applies the area switch set elsewhere (checked by [`parse_area`]).
pub fn apply_area(conn: &Connection, a: &AreaRecord) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![AREA_CLOSED_KEY, if a.open { "0" } else { "1" }])?;
    let action = if a.open { "reopen" } else { "close" };
    insert_line(
        conn,
        [&a.log_id, &a.log_at, &a.actor, action],
        None,
        a.reason.as_deref(),
        None,
    )
}

/// Applies one word's presence set elsewhere (checked by [`parse_word`]).
pub fn apply_word(conn: &Connection, w: &WordRecord) -> Result<()> {
    match (&w.added_at, &w.added_by) {
        (Some(at), Some(by)) if w.present => {
            conn.prepare_cached(
                "INSERT INTO sensitive_words (word, added_at, added_by) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![w.word, at, by])?;
        }
        _ => {
            conn.prepare_cached("DELETE FROM sensitive_words WHERE word = ?1")?
                .execute([&w.word])?;
        }
    }
    Ok(())
}

// ---- 禁言 (issue 17) ----
//
// A `comment_mute` record is a mute of the author of one comment (entity id: the comment's),
// or its lifting: a moderator's laptop knows only the masked number and no phone key, so the
// record names the comment and carries the masked number alone. The hub, applying it, finds
// the author's full number and phone keys in its own comment row and mutes them as a mute
// made there would (the next comment of that author is refused at once; with
// `hide_comments` their approved comments leave the public list). A device with only a
// replica of the comment keeps the mute with the masked number (`mute_replicas`).

/// The payload table of a `comment_mute` record.
pub const MUTE_TABLE: &str = "comment_mutes";

/// A mute, or its lifting, as it replicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MuteRecord {
    /// The comment whose author is muted.
    pub comment_id: String,
    /// Muted (true) or lifted.
    pub muted: bool,
    /// Muted until (RFC 3339), when muted.
    pub until: Option<String>,
    /// Why, when muted.
    pub reason: Option<String>,
    /// The author's approved comments are hidden while the mute lasts.
    pub hide_comments: bool,
    /// The author's number, masked: `138****5678` (never the full number).
    pub phone_masked: String,
    /// The moderation record line's id.
    pub log_id: String,
    /// When.
    pub log_at: String,
    /// Who.
    pub actor: String,
}

/// Reads and checks a `comment_mute` payload for comment `entity_id`: one row, only the
/// record's fields, a masked number (a full number is refused here as in the reason and the
/// actor: it never leaves the hub), an end and a reason exactly when muted.
pub fn parse_mute(entity_id: &str, payload: &Value) -> std::result::Result<MuteRecord, String> {
    let m: MuteRecord = one_row(payload, MUTE_TABLE)?;
    if m.comment_id != entity_id {
        return Err(format!("mute from {} outside {entity_id}", m.comment_id));
    }
    chars_within("comment_id", &m.comment_id, 1, 64)?;
    if is_mobile(&m.phone_masked) || !is_masked_mobile(&m.phone_masked) {
        return Err("phone_masked is not a masked number".into());
    }
    match (&m.until, &m.reason, m.muted) {
        (Some(until), Some(reason), true) => {
            time_text("until", until)?;
            mute_span_within(&m.log_at, until)?;
            chars_within("reason", reason, 1, MAX_REASON_CHARS)?;
            no_full_number("reason", reason)?;
        }
        (None, None, false) if !m.hide_comments => {}
        _ => return Err("an end and a reason exactly when muted, hiding only then".into()),
    }
    no_full_number("actor", &m.actor)?;
    line_fields(&m.log_id, &m.log_at, &m.actor)?;
    Ok(m)
}

/// The `comment_mute` record of the author of comment `id`: muted or not as this device
/// holds it, with the newest 禁言/解除禁言 line made from that comment.
pub fn mute_payload(conn: &Connection, id: &str) -> Result<Value> {
    let author = author_of(conn, id)?.ok_or_else(|| not_found(id))?;
    let (phone_masked, state): (String, Option<(String, String, bool)>) = match &author {
        Author::Site { hash, phone } => (
            phone.masked.clone(),
            conn.prepare_cached(
                "SELECT until, reason, hide_comments FROM mutes WHERE phone_hash = ?1",
            )?
            .query_row([hash], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?,
        ),
        Author::Replica { phone_masked } => (
            phone_masked.clone(),
            conn.prepare_cached(
                "SELECT until, reason, hide_comments FROM mute_replicas WHERE comment_id = ?1",
            )?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?,
        ),
    };
    let line = latest_line(conn, Some(id), ["mute", "unmute"])?
        .ok_or_else(|| StoreError::Corrupt(format!("comment {id}: a mute without a record")))?;
    let m = MuteRecord {
        comment_id: id.to_string(),
        muted: state.is_some(),
        until: state.as_ref().map(|s| s.0.clone()),
        reason: state.as_ref().map(|s| s.1.clone()),
        hide_comments: state.is_some_and(|s| s.2),
        phone_masked,
        log_id: line.0,
        log_at: line.1,
        actor: line.2,
    };
    Ok(serde_json::json!({ (MUTE_TABLE): [m] }))
}

/// Whether the author of `m`'s comment already is muted (or not) as `m` says, here.
pub fn mute_is(conn: &Connection, m: &MuteRecord) -> Result<bool> {
    let muted = match author_of(conn, &m.comment_id)? {
        Some(Author::Site { hash, .. }) => conn
            .prepare_cached("SELECT 1 FROM mutes WHERE phone_hash = ?1")?
            .exists([&hash])?,
        Some(Author::Replica { .. }) => conn
            .prepare_cached("SELECT 1 FROM mute_replicas WHERE comment_id = ?1")?
            .exists([&m.comment_id])?,
        None => return Ok(false),
    };
    Ok(muted == m.muted)
}

/// Applies a mute, or its lifting, made elsewhere (checked by [`parse_mute`]); false when
/// this device does not have the comment. The site host resolves the author's full number
/// and phone keys from its comment row; a replica keeps the masked number only.
pub fn apply_mute(conn: &Connection, m: &MuteRecord) -> Result<bool> {
    let Some(author) = author_of(conn, &m.comment_id)? else {
        return Ok(false);
    };
    let (action, detail) = match (&m.until, &m.reason) {
        (Some(until), Some(reason)) if m.muted => (
            "mute",
            Some((reason.as_str(), mute_detail(until, m.hide_comments))),
        ),
        _ => ("unmute", None),
    };
    let phone = match author {
        Author::Site { hash, phone } => {
            match (&m.until, &detail) {
                (Some(until), Some((reason, _))) => {
                    let keys = client_keys_of_phone(conn, &hash)?;
                    mute_number(
                        conn,
                        &hash,
                        &phone,
                        &m.comment_id,
                        [until, reason, &m.log_at, &m.actor],
                        MuteScope {
                            client_keys: &keys,
                            hide_comments: m.hide_comments,
                        },
                    )?;
                }
                _ => unmute_number(conn, &hash)?,
            }
            Some(phone)
        }
        Author::Replica { phone_masked } => {
            match (&m.until, &detail) {
                (Some(until), Some((reason, _))) => mute_replica(
                    conn,
                    &m.comment_id,
                    &phone_masked,
                    [until, reason, &m.log_at, &m.actor],
                    m.hide_comments,
                )?,
                _ => {
                    conn.prepare_cached("DELETE FROM mute_replicas WHERE comment_id = ?1")?
                        .execute([&m.comment_id])?;
                }
            }
            None
        }
    };
    conn.prepare_cached(
        "INSERT INTO moderation_log (id, at, actor, action, comment_id, phone, phone_masked,
            reason, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (id) DO NOTHING",
    )?
    .execute(params![
        m.log_id,
        m.log_at,
        m.actor,
        action,
        m.comment_id,
        phone.as_ref().map(|p| &p.sealed),
        phone.as_ref().map(|p| &p.masked),
        detail.as_ref().map(|d| d.0),
        detail.as_ref().map(|d| d.1.as_str()),
    ])?;
    Ok(true)
}

// ---- 举报, 申诉 and like counts (issue 17) ----
//
// Only the device whose resident site took them makes these records (the hub, or a media
// laptop's LAN site), and none carries a phone key or a full number.
//
// A `comment_report` record is one report (entity id: the report's): the comment, the reason
// (digit runs that could be a number masked) and when. Which decisions close it is decided by
// hybrid clock, so every replica agrees whatever order the records reach it in: the earliest
// applied decision on its comment that closes reports (通过, 不通过, 保留) and is stamped after
// the report closes it ([`close_reports`], [`apply_report`]); a report made after the last such
// decision stays open, in the 被举报 queue.
//
// A `comment_appeal` record is a resident's 申诉 of a rejection (entity id: the comment's),
// made only where the comment was taken (only that site knows the phone that wrote it). It
// is a step of the comment's decision chain: a moderator's decision made without seeing it is
// listed as a conflict at the hub, like two moderators' decisions.
//
// A `like_count` record is one site's count of its own likes of one target (entity id: the
// target), the count after each new like. Likes stay per phone on the site that took them
// (`comment_likes`, one per phone key per target); other sites keep the count only
// (`like_site_counts`), so the total is this site's phones plus each other site's count.

/// The payload table of a `comment_report` record.
pub const REPORT_TABLE: &str = "comment_reports";
/// The payload table of a `comment_appeal` record.
pub const APPEAL_TABLE: &str = "comment_appeals";
/// The payload table of a `like_count` record.
pub const LIKE_COUNT_TABLE: &str = "like_counts";
/// Most likes one site may count for one target (a sanity bound on a peer's record).
pub const MAX_SITE_LIKES: u32 = 100_000_000;

/// A report (举报) as it replicates: no phone key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportRecord {
    /// The report's id.
    pub id: String,
    /// The reported comment.
    pub comment_id: String,
    /// Why, digit runs that could be a number masked.
    pub reason: String,
    /// When the site took it.
    pub at: String,
}

/// An appeal (申诉) of a rejection as it replicates: the comment goes back to 待审核.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppealRecord {
    /// The appealed comment.
    pub comment_id: String,
    /// The resident's reason, digit runs that could be a number masked.
    pub reason: String,
    /// The rejection's reason, kept (as a local appeal keeps it).
    pub reject_reason: String,
    /// When the rejection was decided.
    pub decided_at: Option<String>,
    /// Who decided it.
    pub decided_by: Option<String>,
    /// The moderation record line's id.
    pub log_id: String,
    /// When.
    pub log_at: String,
    /// Who wrote it down (the site: `resident`).
    pub actor: String,
}

/// One site's count of its own likes of one target, as it replicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LikeCountRecord {
    /// A post id or `event`.
    pub target: String,
    /// The phones that liked it on the sending site.
    pub count: u32,
}

/// `s` with every run of 11 or more ASCII digits masked (an 11-digit run as a number is
/// masked, `138****5678`; a longer one all stars): free text a resident typed may hold their
/// number, which never leaves the site that took it. Lengths are kept.
pub fn mask_numbers(s: &str) -> String {
    fn flush(out: &mut String, run: &mut String) {
        let n = run.chars().count();
        if n == 11 {
            out.push_str(&mask_mobile(run));
        } else if n > 11 {
            out.push_str(&"*".repeat(n));
        } else {
            out.push_str(run);
        }
        run.clear();
    }
    let mut out = String::with_capacity(s.len());
    let mut run = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut out, &mut run);
            out.push(c);
        }
    }
    flush(&mut out, &mut run);
    out
}

/// Reads and checks a `comment_report` payload for the report `entity_id`.
pub fn parse_report(entity_id: &str, payload: &Value) -> std::result::Result<ReportRecord, String> {
    let r: ReportRecord = one_row(payload, REPORT_TABLE)?;
    if r.id != entity_id {
        return Err(format!("report {} outside {entity_id}", r.id));
    }
    chars_within("id", &r.id, 1, 64)?;
    chars_within("comment_id", &r.comment_id, 1, 64)?;
    chars_within("reason", &r.reason, 1, MAX_REASON_CHARS)?;
    no_full_number("reason", &r.reason)?;
    time_text("at", &r.at)?;
    Ok(r)
}

/// Reads and checks a `comment_appeal` payload for comment `entity_id`.
pub fn parse_appeal(entity_id: &str, payload: &Value) -> std::result::Result<AppealRecord, String> {
    let a: AppealRecord = one_row(payload, APPEAL_TABLE)?;
    if a.comment_id != entity_id {
        return Err(format!("appeal of {} outside {entity_id}", a.comment_id));
    }
    chars_within("comment_id", &a.comment_id, 1, 64)?;
    chars_within("reason", &a.reason, 1, MAX_REASON_CHARS)?;
    no_full_number("reason", &a.reason)?;
    chars_within("reject_reason", &a.reject_reason, 1, MAX_REASON_CHARS)?;
    if let Some(t) = &a.decided_at {
        time_text("decided_at", t)?;
    }
    if let Some(by) = &a.decided_by {
        chars_within("decided_by", by, 1, MAX_AUTHOR_CHARS)?;
    }
    no_full_number("actor", &a.actor)?;
    line_fields(&a.log_id, &a.log_at, &a.actor)?;
    Ok(a)
}

/// Reads and checks a `like_count` payload for the target `entity_id`.
pub fn parse_like_count(
    entity_id: &str,
    payload: &Value,
) -> std::result::Result<LikeCountRecord, String> {
    let l: LikeCountRecord = one_row(payload, LIKE_COUNT_TABLE)?;
    if l.target != entity_id {
        return Err(format!("likes of {} outside {entity_id}", l.target));
    }
    chars_within("target", &l.target, 1, 36)?;
    if l.count > MAX_SITE_LIKES {
        return Err(format!("{} likes is more than one site counts", l.count));
    }
    Ok(l)
}

/// Report `id`'s `comment_report` record, the reason's digit runs masked.
pub fn report_payload(conn: &Connection, id: &str) -> Result<Value> {
    let r = conn
        .prepare_cached("SELECT id, comment_id, reason, at FROM comment_reports WHERE id = ?1")?
        .query_row([id], |r| {
            let reason: String = r.get(2)?;
            Ok(ReportRecord {
                id: r.get(0)?,
                comment_id: r.get(1)?,
                reason: mask_numbers(&reason),
                at: r.get(3)?,
            })
        })
        .optional()?
        .ok_or_else(|| StoreError::NotFound {
            entity: REPORT_ENTITY,
            id: id.to_string(),
        })?;
    Ok(serde_json::json!({ (REPORT_TABLE): [r] }))
}

/// Comment `id`'s `comment_appeal` record: its appeal reason with the 申诉 line.
pub fn appeal_payload(conn: &Connection, id: &str) -> Result<Value> {
    type Row = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT appeal_reason, reject_reason, decided_at, decided_by FROM comments
             WHERE id = ?1 AND appealed = 1",
        )?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    let line = latest_line(conn, Some(id), ["appeal", "appeal"])?;
    let (Some((Some(reason), Some(reject_reason), decided_at, decided_by)), Some(line)) =
        (row, line)
    else {
        return Err(StoreError::Corrupt(format!(
            "comment {id}: an appeal without its reason, rejection or record"
        )));
    };
    let a = AppealRecord {
        comment_id: id.to_string(),
        reason: mask_numbers(&reason),
        reject_reason,
        decided_at,
        decided_by,
        log_id: line.0,
        log_at: line.1,
        actor: line.2,
    };
    Ok(serde_json::json!({ (APPEAL_TABLE): [a] }))
}

/// This site's `like_count` record of `target`: the phones that liked it here.
pub fn like_count_payload(conn: &Connection, target: &str) -> Result<Value> {
    let count: u32 = conn
        .prepare_cached("SELECT count(*) FROM comment_likes WHERE target = ?1")?
        .query_row([target], |r| r.get(0))?;
    let l = LikeCountRecord {
        target: target.to_string(),
        count,
    };
    Ok(serde_json::json!({ (LIKE_COUNT_TABLE): [l] }))
}

/// True when report `id` is here.
pub fn report_exists(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM comment_reports WHERE id = ?1")?
        .exists([id])?)
}

/// The count `site` last sent for `target`, if any.
pub fn site_like_count(conn: &Connection, site: &str, target: &str) -> Result<Option<u32>> {
    Ok(conn
        .prepare_cached("SELECT count FROM like_site_counts WHERE site = ?1 AND target = ?2")?
        .query_row([site, target], |r| r.get(0))
        .optional()?)
}

/// Stores a report made on another site (checked by [`parse_report`]) with its operation's
/// hybrid clock `hlc`, closed at once when a decision stamped after it is here already.
pub fn apply_report(conn: &Connection, r: &ReportRecord, hlc: &str) -> Result<()> {
    let n = conn
        .prepare_cached(
            "INSERT INTO comment_reports (id, comment_id, reason, at, hlc)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![r.id, r.comment_id, r.reason, r.at, hlc])?;
    if n == 0 {
        return Ok(());
    }
    conn.prepare_cached(
        "UPDATE comment_reports SET (resolved_at, resolved_by, resolved_hlc) = (
            SELECT at, by, hlc FROM report_closings
            WHERE comment_id = ?2 AND hlc > ?3 ORDER BY hlc LIMIT 1)
         WHERE id = ?1 AND EXISTS (SELECT 1 FROM report_closings
            WHERE comment_id = ?2 AND hlc > ?3)",
    )?
    .execute(params![r.id, r.comment_id, hlc])?;
    insert_line(
        conn,
        [&r.id, &r.at, "resident", "report"],
        Some(&r.comment_id),
        Some(&r.reason),
        None,
    )
}

/// Closes the reports of comment `comment_id` made before the decision stamped `hlc` (decided
/// `at` by `by`), unless a decision stamped earlier (still after them) closed them already, and
/// keeps the decision for reports that arrive later. Called for every applied decision that
/// closes reports, local or remote: the outcome depends only on the clocks, never on the order.
pub fn close_reports(conn: &Connection, comment_id: &str, [hlc, at, by]: [&str; 3]) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO report_closings (comment_id, hlc, at, by) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![comment_id, hlc, at, by])?;
    conn.prepare_cached(
        "UPDATE comment_reports SET resolved_at = ?3, resolved_by = ?4, resolved_hlc = ?2
         WHERE comment_id = ?1 AND (hlc IS NULL OR hlc < ?2)
            AND (resolved_at IS NULL OR resolved_hlc > ?2
                OR (resolved_hlc IS NULL AND resolved_at = ?3 AND resolved_by = ?4))",
    )?
    .execute(params![comment_id, hlc, at, by])?;
    Ok(())
}

/// After this device's own decision stamped `hlc` (made `at` by `by`), which closed every open
/// report here: a report stamped after the decision (its site's clock ran ahead) is open
/// again, as every other replica will hold it; the rest are closed by the decision's clock.
pub fn close_reports_here(
    conn: &Connection,
    comment_id: &str,
    [hlc, at, by]: [&str; 3],
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE comment_reports SET resolved_at = NULL, resolved_by = NULL
         WHERE comment_id = ?1 AND hlc >= ?2 AND resolved_hlc IS NULL AND resolved_at = ?3
            AND resolved_by = ?4",
    )?
    .execute(params![comment_id, hlc, at, by])?;
    close_reports(conn, comment_id, [hlc, at, by])
}

/// Records the hybrid clock of this device's own report `id` (known once its operation is).
pub fn stamp_report(conn: &Connection, id: &str, hlc: &str) -> Result<()> {
    conn.prepare_cached("UPDATE comment_reports SET hlc = ?2 WHERE id = ?1 AND hlc IS NULL")?
        .execute(params![id, hlc])?;
    Ok(())
}

/// Whether the comment's state allows `a`'s appeal here: rejected, not yet appealed.
pub fn may_appeal(conn: &Connection, comment_id: &str) -> Result<bool> {
    Ok(mod_state(conn, comment_id)?
        .is_some_and(|s| guanmo_domain::comments::transition(s, ModAction::Appeal).is_ok()))
}

/// Applies an appeal made on the comment's site (checked by [`parse_appeal`]): back to
/// 待审核, unpinned, its one appeal used, with the reason, the rejection it answers (a laptop
/// whose own decision the hub refused takes the state back) and the record's line. False when
/// this device does not have the comment.
pub fn apply_appeal(conn: &Connection, a: &AppealRecord) -> Result<bool> {
    let n = conn
        .prepare_cached(
            "UPDATE comments SET status = 'pending', pinned = 0, appealed = 1,
                appeal_reason = ?2, reject_reason = ?3, decided_at = ?4, decided_by = ?5,
                version = version + 1
             WHERE id = ?1",
        )?
        .execute(params![
            a.comment_id,
            a.reason,
            a.reject_reason,
            a.decided_at,
            a.decided_by
        ])?;
    if n == 0 {
        return Ok(false);
    }
    insert_line(
        conn,
        [&a.log_id, &a.log_at, &a.actor, "appeal"],
        Some(&a.comment_id),
        Some(&a.reason),
        None,
    )?;
    Ok(true)
}

/// Keeps `site`'s count of its likes of a target (checked by [`parse_like_count`]); a count
/// never goes back, so an old record arriving late changes nothing.
pub fn apply_like_count(
    conn: &Connection,
    site: &str,
    l: &LikeCountRecord,
    at: &str,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO like_site_counts (site, target, count, at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (site, target) DO UPDATE SET count = excluded.count, at = excluded.at
            WHERE excluded.count > like_site_counts.count",
    )?
    .execute(params![site, l.target, l.count, at])?;
    Ok(())
}

/// The device whose site took comment `id`: the origin of its applied `comment` record, or
/// `None` when it never replicated (a comment from before, or not from a site).
pub fn site_of(conn: &Connection, id: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT origin FROM ops WHERE kind = 'comment' AND entity_id = ?1
                AND outcome = 'applied' LIMIT 1",
        )?
        .query_row([id], |r| r.get(0))
        .optional()?)
}

/// The newest change of the word list or the mutes (for a cached compiled list to notice
/// words that arrived by sync).
pub fn settings_version(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT COALESCE(max(seq), 0) FROM changes WHERE entity = ?1")?
        .query_row([SETTINGS_ENTITY], |r| r.get(0))?)
}

/// What replicates of the comments, as text identical on every replica that has the same
/// comments and decisions: each comment's record fields, moderation state, appeal (the
/// reason as it replicates), open reports and follow-up (交办 to, reply), sorted, then the area
/// switch, the word list and the like counts summed over every site. For
/// convergence checks. (The moderation record is left out: a moderator's laptop keeps the
/// line of its own decision that another moderator's, reaching the hub first, overruled.)
pub fn replicated_dump(conn: &Connection) -> Result<String> {
    let mut out = String::from("comments\n");
    let mut st = conn.prepare(
        "SELECT id, target, nickname, kind, text, township_id, phone_masked,
            phone_verified, flagged_words, status, pinned, reject_reason, decided_at,
            decided_by, handling, created_at, assigned_to, reply, appealed, appeal_reason,
            (SELECT count(*) FROM comment_reports r WHERE r.comment_id = comments.id
                AND r.resolved_at IS NULL)
         FROM comments ORDER BY id",
    )?;
    let rows = st.query_map([], |r| {
        let phone: String = r.get(6)?;
        Ok(serde_json::json!([
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, Option<String>>(5)?,
            masked_form(&phone),
            r.get::<_, bool>(7)?,
            r.get::<_, String>(8)?,
            r.get::<_, String>(9)?,
            r.get::<_, bool>(10)?,
            r.get::<_, Option<String>>(11)?,
            r.get::<_, Option<String>>(12)?,
            r.get::<_, Option<String>>(13)?,
            r.get::<_, Option<String>>(14)?,
            r.get::<_, String>(15)?,
            r.get::<_, Option<String>>(16)?,
            r.get::<_, Option<String>>(17)?,
            r.get::<_, bool>(18)?,
            r.get::<_, Option<String>>(19)?.as_deref().map(mask_numbers),
            r.get::<_, i64>(20)?,
        ])
        .to_string())
    })?;
    for row in rows {
        out.push_str(&row?);
        out.push('\n');
    }
    out.push_str(&format!("area open {}\nwords\n", area_open(conn)?));
    for w in words(conn)? {
        out.push_str(&w);
        out.push('\n');
    }
    out.push_str("likes\n");
    for (target, n) in like_counts(conn)? {
        out.push_str(&format!("{target} {n}\n"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_version_reads_an_index_not_the_whole_log() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::Store::open(&dir.path().join("g.sqlite3")).unwrap();
        let plan: Vec<String> = store
            .read(|c| {
                let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {PUBLIC_SEQ_SQL}"))?;
                let rows = st.query_map([], |r| r.get::<_, String>(3))?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            })
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("changes_public_comment"), "{plan}");
        assert!(plan.contains("changes_by_entity_seq"), "{plan}");
        assert!(!plan.contains("SCAN changes"), "{plan}");
        // The ops in the SQL are exactly the public ones.
        for op in PUBLIC_OPS {
            assert!(PUBLIC_SEQ_SQL.contains(&format!("'{op}'")), "{op}");
        }
        assert_eq!(PUBLIC_SEQ_SQL.matches("op = '").count(), PUBLIC_OPS.len());
        assert_eq!(ENTITY, "comment");
        assert_eq!(LIKE_ENTITY, "like");
        assert_eq!(SETTINGS_ENTITY, "comment_settings");
    }
}
