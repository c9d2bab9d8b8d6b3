//! Sign-off steps of posts (审核流程) and the organiser's setting. A step is a row of
//! `post_steps`, made once and replicated (op kind `post_step`); each replica folds a post's
//! steps into `post_signoff` ([`refresh`]) and, when the fold says so, publishes the draft
//! itself (`posts.status`), stamping the publishing step's time: so the approver's laptop,
//! the author's and the hub publish the same post at the same time without anyone writing
//! the author's post record. A retracted post is never folded again (a retract wins), nor is
//! a published one (publication is not taken back by a late step), except on a laptop whose
//! own step the hub refused ([`void_step`]).

use crate::{ChangeInput, Result, WriteTx};
use guanmo_domain::feed::signoff::{
    fold, Signoff, SignoffAction, SignoffSettings, SignoffStage, StepRecord,
};
use guanmo_domain::people::person_of_label;
use rusqlite::{params, Connection, OptionalExtension};

/// Meta key of the 审核流程 setting, replicated from the hub as op kind `feed_settings`.
pub const SETTINGS_KEY: &str = "feed_signoff";
/// Change-log entity of the setting.
pub const SETTINGS_ENTITY: &str = "feed_settings";
/// Change-log entity of a step (replicated as op kind `post_step`).
pub const STEP_ENTITY: &str = "post_step";
/// Change-log op of a post whose sign-off moved (private; the app refreshes).
pub const SIGNOFF: &str = "signoff";
/// Change-log op of a post its last sign-off step published (public: residents see it).
pub const SIGNOFF_PUBLISH: &str = "signoff_publish";

/// The 审核流程 setting (one level until the organiser sets it).
pub fn settings(conn: &Connection) -> Result<SignoffSettings> {
    Ok(crate::meta::get(conn, SETTINGS_KEY)?
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default())
}

/// Saves the setting; the change row makes the op log replicate it (the hub's).
pub fn set_settings(tx: &WriteTx<'_>, s: &SignoffSettings) -> Result<()> {
    crate::meta::set(tx, SETTINGS_KEY, &serde_json::to_string(s)?)?;
    tx.record(ChangeInput {
        entity: SETTINGS_ENTITY,
        entity_id: SETTINGS_KEY.into(),
        op: "set",
        payload: serde_json::to_value(s)?,
    })
}

/// A step as stored, with what the fold does not need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredStep {
    /// The step.
    pub record: StepRecord,
    /// The post.
    pub post_id: String,
    /// Levels a 紧急发布 skipped.
    pub skipped: Vec<i32>,
    /// The device it was made on.
    pub device_id: String,
    /// Refused by the hub after this laptop made it: it does not count.
    pub void: bool,
}

const STEP_COLUMNS: &str = "s.id, s.action, s.level, s.levels, s.after_step, s.post_version,
    s.person_id, s.person_name, COALESCE(s.hlc, ''), s.at, s.reason, s.post_id, s.skipped,
    s.device_id, EXISTS (SELECT 1 FROM post_step_voids v WHERE v.step_id = s.id)";

fn step_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredStep> {
    let action: String = r.get(1)?;
    let skipped: String = r.get(12)?;
    Ok(StoredStep {
        record: StepRecord {
            id: r.get(0)?,
            // The schema's CHECK allows only the four words.
            action: SignoffAction::parse(&action).unwrap_or(SignoffAction::Return),
            level: r.get(2)?,
            levels: r.get(3)?,
            after: r.get(4)?,
            post_version: r.get(5)?,
            person_id: r.get(6)?,
            person_name: r.get(7)?,
            hlc: r.get(8)?,
            at: r.get(9)?,
            reason: r.get(10)?,
        },
        post_id: r.get(11)?,
        skipped: skipped
            .split(',')
            .filter_map(|x| x.trim().parse().ok())
            .collect(),
        device_id: r.get(13)?,
        void: r.get(14)?,
    })
}

/// Every step of a post, oldest first (by clock), the void ones too (the history shows them).
pub fn steps(conn: &Connection, post_id: &str) -> Result<Vec<StoredStep>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {STEP_COLUMNS} FROM post_steps s WHERE s.post_id = ?1
         ORDER BY COALESCE(s.hlc, '~'), s.at, s.id"
    ))?;
    let rows = st.query_map([post_id], step_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One step.
pub fn step(conn: &Connection, id: &str) -> Result<Option<StoredStep>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {STEP_COLUMNS} FROM post_steps s WHERE s.id = ?1"
        ))?
        .query_row([id], step_from_row)
        .optional()?)
}

/// The post's status, version and author person as stored.
fn post_facts(conn: &Connection, post_id: &str) -> Result<Option<(String, i32, String)>> {
    Ok(conn
        .prepare_cached("SELECT status, version, created_by FROM posts WHERE id = ?1")?
        .query_row([post_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?)
}

/// A post's sign-off folded from its steps that count (see `guanmo_domain`'s `fold`).
pub fn state(conn: &Connection, post_id: &str) -> Result<Signoff> {
    let Some((_, version, created_by)) = post_facts(conn, post_id)? else {
        return Ok(Signoff::default());
    };
    let records: Vec<StepRecord> = steps(conn, post_id)?
        .into_iter()
        .filter(|s| !s.void)
        .map(|s| s.record)
        .collect();
    Ok(fold(&records, person_of_label(&created_by), version))
}

/// What [`refresh`] did to the post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refreshed {
    /// The post's status stayed (its sign-off may have moved).
    Same,
    /// Its last step published it.
    Published,
    /// A voided step had published it here; it is a draft again.
    Unpublished,
}

/// Folds the post's steps again and stores the result; publishes the draft when the fold
/// says so. A retracted post is left as it is, and a published one too unless `void`
/// (a laptop's own publishing step the hub refused).
pub fn refresh(conn: &Connection, post_id: &str, void: bool) -> Result<Refreshed> {
    let Some((status, _, _)) = post_facts(conn, post_id)? else {
        return Ok(Refreshed::Same);
    };
    let stored_stage: Option<String> = conn
        .prepare_cached("SELECT stage FROM post_signoff WHERE post_id = ?1")?
        .query_row([post_id], |r| r.get(0))
        .optional()?;
    let by_steps = stored_stage.as_deref() == Some(SignoffStage::Published.as_str());
    match status.as_str() {
        "draft" => {}
        "published" if void && by_steps => {}
        _ => return Ok(Refreshed::Same),
    }
    let st = state(conn, post_id)?;
    conn.prepare_cached(
        "INSERT INTO post_signoff (post_id, stage, levels_done, head, editor_name,
                                   approver_name, returned_reason, published_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (post_id) DO UPDATE SET stage = excluded.stage,
             levels_done = excluded.levels_done, head = excluded.head,
             editor_name = excluded.editor_name, approver_name = excluded.approver_name,
             returned_reason = excluded.returned_reason, published_by = excluded.published_by",
    )?
    .execute(params![
        post_id,
        st.stage.as_str(),
        st.levels_done,
        st.head,
        st.editor,
        st.approver,
        st.returned_reason,
        st.published_by
    ])?;
    Ok(match (status.as_str(), st.stage) {
        ("draft", SignoffStage::Published) => {
            conn.prepare_cached(
                "UPDATE posts SET status = 'published', published_at = ?2 WHERE id = ?1",
            )?
            .execute(params![post_id, st.published_at])?;
            Refreshed::Published
        }
        ("published", SignoffStage::Draft | SignoffStage::Pending) => {
            conn.prepare_cached(
                "UPDATE posts SET status = 'draft', published_at = NULL, pinned = 0
                 WHERE id = ?1",
            )?
            .execute([post_id])?;
            Refreshed::Unpublished
        }
        _ => Refreshed::Same,
    })
}

/// The change-log op announcing what a refresh did to a post.
pub fn announced_op(r: Refreshed) -> &'static str {
    match r {
        Refreshed::Published => SIGNOFF_PUBLISH,
        // A post residents no longer see: the public stream drops it.
        Refreshed::Unpublished => "retract",
        Refreshed::Same => SIGNOFF,
    }
}

/// A step to record (already checked by the caller against the fold and the person's rights).
#[derive(Debug, Clone)]
pub struct NewStep<'a> {
    /// The post.
    pub post_id: &'a str,
    /// The step (its `hlc` is stamped when its operation is made).
    pub record: StepRecord,
    /// Levels a 紧急发布 skips.
    pub skipped: Vec<i32>,
}

/// Records a step made on this device, folds the post again and announces it: the step as
/// entity `post_step` (replicated), the post as `signoff` or `signoff_publish` (not
/// replicated: every replica folds the step itself).
pub fn insert_step(tx: &WriteTx<'_>, s: &NewStep<'_>) -> Result<Refreshed> {
    let r = &s.record;
    let skipped = s
        .skipped
        .iter()
        .map(i32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    tx.conn().execute(
        "INSERT INTO post_steps (id, post_id, action, level, levels, after_step, post_version,
                                 person_id, person_name, device_id, at, reason, skipped)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            r.id,
            s.post_id,
            r.action.as_str(),
            r.level,
            r.levels,
            r.after,
            r.post_version,
            r.person_id,
            r.person_name,
            tx.device_id(),
            r.at,
            r.reason,
            skipped
        ],
    )?;
    tx.record(ChangeInput {
        entity: STEP_ENTITY,
        entity_id: r.id.clone(),
        op: "step",
        payload: serde_json::json!({ "post": s.post_id, "action": r.action.as_str() }),
    })?;
    let done = refresh(tx.conn(), s.post_id, false)?;
    tx.record(ChangeInput {
        entity: super::ENTITY,
        entity_id: s.post_id.to_string(),
        op: announced_op(done),
        payload: serde_json::json!({ "step": r.id }),
    })?;
    Ok(done)
}

/// Stamps a step with its operation's hybrid clock (made here or applied from another
/// device) and folds its post again; returns the post and what the fold did.
pub(crate) fn stamp(conn: &Connection, step_id: &str, hlc: &str) -> Result<(String, Refreshed)> {
    conn.prepare_cached("UPDATE post_steps SET hlc = ?2 WHERE id = ?1")?
        .execute(params![step_id, hlc])?;
    let post_id: String = conn
        .prepare_cached("SELECT post_id FROM post_steps WHERE id = ?1")?
        .query_row([step_id], |r| r.get(0))?;
    let done = refresh(conn, &post_id, false)?;
    Ok((post_id, done))
}

/// Leaves out one of this laptop's own steps the hub refused (someone acted on the post
/// first), so this laptop folds what the hub folded; a post only that step published is
/// taken down here again. Returns the post, if the step is known.
pub(crate) fn void_step(tx: &WriteTx<'_>, step_id: &str) -> Result<Option<String>> {
    let Some(s) = step(tx.conn(), step_id)? else {
        return Ok(None);
    };
    tx.conn()
        .prepare_cached(
            "INSERT INTO post_step_voids (step_id, at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        )?
        .execute(params![step_id, tx.at()])?;
    let done = refresh(tx.conn(), &s.post_id, true)?;
    tx.record(ChangeInput {
        entity: super::ENTITY,
        entity_id: s.post_id.clone(),
        op: announced_op(done),
        payload: serde_json::json!({ "void": step_id }),
    })?;
    Ok(Some(s.post_id))
}

/// Whether the post is under review here (待审): a laptop may not change it meanwhile.
pub fn is_pending(conn: &Connection, post_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT stage = 'pending' FROM post_signoff WHERE post_id = ?1")?
        .query_row([post_id], |r| r.get(0))
        .optional()?
        .unwrap_or(false))
}

/// The author label of the post (who started the draft), for the rule that an author does
/// not approve their own post above 一审.
pub fn author_of(conn: &Connection, post_id: &str) -> Result<String> {
    Ok(post_facts(conn, post_id)?
        .map(|(_, _, by)| by)
        .unwrap_or_default())
}
