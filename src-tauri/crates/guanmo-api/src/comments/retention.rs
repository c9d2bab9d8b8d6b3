//! Retention of residents' comment data (保存期限): the notice promises records are kept at
//! least [`MIN_DAYS`] days; after the period set here, counted from the event's end, comments,
//! reports, appeals, mutes, the phone keys of likes and every stored phone number are purged.
//! Invariant: nothing is deleted unless the 评论记录 export ([`super::export_records_xlsx`]) of
//! everything held at that moment was first written whole and fsynced under
//! `<data>/retention/`; every purge is logged (who, when, the file, counts per table).
//!
//! Rules:
//! - **Event end**: midnight (Beijing) after the last tour day — 观摩日期 plus the latest day a
//!   township is planned on, minus one. Without a tour date, the newest comment's time: the
//!   period then runs from the last thing a resident wrote. Nothing held: nothing is due.
//! - **Due**: from event end + period on. The cutoff is then now − period, so every record is
//!   also kept at least the period after its own last activity (a suggestion answered late,
//!   a mute that ran long, a report) — see `guanmo_store::retention`.
//! - **Kept**: like counts (a like's phone key is dropped, the like still counts), the settings'
//!   moderation lines (area switch, word list, SMS, this period), and the purge log.
//! - **Replicas**: the purge does not replicate. A purged record's sync operations become
//!   stand-ins, so the hub never sends it again (a laptop paired later never receives it); a
//!   laptop that already holds a replica (masked number only, no phone key) keeps it until its
//!   own 立即清理 under the same rules.
//!
//! The site host checks once at start and then once a day ([`spawn_daily_check`]); 立即清理
//! ([`purge_now`]) runs the same purge by hand. Batches of [`BATCH`] comments, each one
//! transaction: a purge killed midway leaves whole comments or none, and the next run
//! continues (under a new log row, after a new export).

use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use chrono::{DateTime, Duration, NaiveTime, SecondsFormat, TimeZone, Utc};
use guanmo_domain::people::PersonRole;
use guanmo_domain::problem::{Problem, ProblemCode};
use guanmo_domain::schedule::beijing;
use guanmo_store::retention as store;
use serde::{Deserialize, Serialize};
use specta::Type;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

/// The shortest period the notice allows (network-log rules: six months).
pub const MIN_DAYS: u32 = guanmo_domain::comments::RETENTION_DAYS;
/// The longest period that may be set (ten years).
pub const MAX_DAYS: u32 = 3650;
/// Comments (or loose ends) per transaction.
pub const BATCH: u32 = 500;
/// Folder of the exports written before a purge, inside the data folder.
pub const EXPORT_DIR: &str = "retention";
/// Who the daily check writes as.
pub const AUTO_ACTOR: &str = "auto";
/// Purge runs listed.
const LOG_LIMIT: u32 = 50;

/// Rows a purge removed or would remove, per table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct PurgeCounts {
    /// Comments (with their appeals and numbers).
    pub comments: u32,
    /// Reports (举报).
    pub reports: u32,
    /// Decisions kept to close reports.
    pub report_closings: u32,
    /// Moderation-record lines (they hold mutes' numbers).
    pub log_lines: u32,
    /// Mutes by number (禁言).
    pub mutes: u32,
    /// Phone keys held by mutes.
    pub mute_keys: u32,
    /// Mutes as a replica knows them.
    pub mute_replicas: u32,
    /// Likes whose phone key was dropped (each still counts).
    pub likes: u32,
    /// Sync operations turned into stand-ins.
    pub ops: u32,
}

impl From<store::Counts> for PurgeCounts {
    fn from(c: store::Counts) -> Self {
        PurgeCounts {
            comments: c.comments,
            reports: c.reports,
            report_closings: c.report_closings,
            log_lines: c.log_lines,
            mutes: c.mutes,
            mute_keys: c.mute_keys,
            mute_replicas: c.mute_replicas,
            likes: c.likes,
            ops: c.ops,
        }
    }
}

/// One purge run as logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct PurgeRecord {
    /// Its id.
    pub id: String,
    /// When it started (RFC 3339, UTC).
    pub started_at: String,
    /// When it finished; `None`: interrupted (the next run continued it).
    pub finished_at: Option<String>,
    /// Who: an author label, or `auto` for the daily check.
    pub actor: String,
    /// `manual` (立即清理) or `auto`.
    pub trigger: String,
    /// Records whose last activity was before this were purged (RFC 3339, UTC).
    pub cutoff: String,
    /// The 评论记录 export written first, relative to the data folder.
    pub export_file: String,
    /// Batches committed.
    pub batches: u32,
    /// Rows removed.
    pub counts: PurgeCounts,
}

impl From<store::Purge> for PurgeRecord {
    fn from(p: store::Purge) -> Self {
        PurgeRecord {
            id: p.id,
            started_at: p.started_at,
            finished_at: p.finished_at,
            actor: p.actor,
            trigger: p.trigger,
            cutoff: p.cutoff,
            export_file: p.export_file,
            batches: p.batches,
            counts: p.counts.into(),
        }
    }
}

/// What the period is counted from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum EventEndSource {
    /// The last tour day (观摩日期 and the townships' days).
    Tour,
    /// No tour date is set: the newest comment.
    NewestComment,
    /// No tour date and no comment: nothing is due.
    None,
}

/// The retention setting and where it stands now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct RetentionStatus {
    /// The period in days.
    pub days: u32,
    /// The shortest period allowed.
    pub min_days: u32,
    /// The event's end the period counts from (RFC 3339, Beijing), if known.
    pub event_end: Option<String>,
    /// Where `event_end` comes from.
    pub event_end_source: EventEndSource,
    /// From when data becomes due (event end + period; RFC 3339, Beijing).
    pub due_from: Option<String>,
    /// The period is over: what is older than `cutoff` is purged.
    pub due_now: bool,
    /// Records whose last activity is before this are due now (RFC 3339, UTC).
    pub cutoff: Option<String>,
    /// What a purge now would remove.
    pub would_purge: PurgeCounts,
    /// Purge runs, newest first.
    pub purges: Vec<PurgeRecord>,
}

/// What 立即清理 (or the daily check) came to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct PurgeOutcome {
    /// The run, when one happened (nothing due: `None`).
    pub purge: Option<PurgeRecord>,
    /// The status afterwards.
    pub status: RetentionStatus,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The period in force (the default until set).
pub fn retention_days(ctx: &Ctx) -> ApiResult<u32> {
    Ok(ctx
        .store
        .read(store::days)?
        .unwrap_or(MIN_DAYS)
        .max(MIN_DAYS))
}

/// The event's end, and what it was taken from.
fn event_end(ctx: &Ctx) -> ApiResult<(Option<DateTime<Utc>>, EventEndSource)> {
    let tour = ctx.store.read(guanmo_store::scoring::tour_settings)?;
    if let Some(first) = tour.first_day_date() {
        let last_day = ctx
            .store
            .read(guanmo_store::roster::list)?
            .iter()
            .filter(|t| t.enabled)
            .filter_map(|t| t.day)
            .max()
            .unwrap_or(1)
            .max(1);
        let end = first
            .checked_add_signed(Duration::days(i64::from(last_day)))
            .and_then(|d| {
                beijing()
                    .from_local_datetime(&d.and_time(NaiveTime::MIN))
                    .single()
            })
            .map(|t| t.with_timezone(&Utc));
        return Ok((end, EventEndSource::Tour));
    }
    let newest = ctx.store.read(store::newest_comment)?;
    Ok(
        match newest.and_then(|t| DateTime::parse_from_rfc3339(&t).ok()) {
            Some(t) => (Some(t.with_timezone(&Utc)), EventEndSource::NewestComment),
            None => (None, EventEndSource::None),
        },
    )
}

/// The cutoff when data is due now, with the status fields it follows from.
struct Due {
    days: u32,
    end: Option<DateTime<Utc>>,
    source: EventEndSource,
    due_from: Option<DateTime<Utc>>,
    cutoff: Option<String>,
}

fn due(ctx: &Ctx) -> ApiResult<Due> {
    let days = retention_days(ctx)?;
    let (end, source) = event_end(ctx)?;
    let period = Duration::days(i64::from(days));
    let due_from = end.map(|e| e + period);
    let now = ctx.now();
    let cutoff = due_from
        .filter(|d| now >= *d)
        .map(|_| rfc3339(now - period));
    Ok(Due {
        days,
        end,
        source,
        due_from,
        cutoff,
    })
}

fn beijing_text(t: DateTime<Utc>) -> String {
    t.with_timezone(&beijing()).to_rfc3339()
}

fn status_of(ctx: &Ctx, d: &Due) -> ApiResult<RetentionStatus> {
    let would_purge = match &d.cutoff {
        Some(c) => ctx.store.read(|conn| store::due(conn, c))?.into(),
        None => PurgeCounts::default(),
    };
    Ok(RetentionStatus {
        days: d.days,
        min_days: MIN_DAYS,
        event_end: d.end.map(beijing_text),
        event_end_source: d.source,
        due_from: d.due_from.map(beijing_text),
        due_now: d.cutoff.is_some(),
        cutoff: d.cutoff.clone(),
        would_purge,
        purges: ctx
            .store
            .read(|c| store::purges(c, LOG_LIMIT))?
            .into_iter()
            .map(Into::into)
            .collect(),
    })
}

fn ensure_may(ctx: &Ctx) -> ApiResult<()> {
    crate::people::ensure_any_role(ctx, &[PersonRole::Organiser, PersonRole::Moderator])
}

/// The setting, the date data becomes due, what a purge now would remove and the purge log
/// (组织方 or 审核员).
pub fn retention_status(ctx: &Ctx) -> ApiResult<RetentionStatus> {
    ensure_may(ctx)?;
    status_of(ctx, &due(ctx)?)
}

/// Sets the period in days (组织方 or 审核员, where the site runs): at least [`MIN_DAYS`], at
/// most [`MAX_DAYS`]. Logged in the moderation record.
pub fn set_retention_days(ctx: &Ctx, days: u32) -> ApiResult<RetentionStatus> {
    ctx.ensure_site_operator()?;
    ensure_may(ctx)?;
    if !(MIN_DAYS..=MAX_DAYS).contains(&days) {
        let message = if days < MIN_DAYS {
            format!("保存期限不能少于{MIN_DAYS}天(评论须知承诺至少保存{MIN_DAYS}天)")
        } else {
            format!("保存期限不能超过{MAX_DAYS}天")
        };
        return Err(ApiError::with_problems(
            ErrorCode::Validation,
            format!("retention of {days} days refused"),
            vec![Problem::error(ProblemCode::Invalid, "保存期限", message)],
        ));
    }
    ctx.store
        .write(ctx.now(), &ctx.author()?, |tx| store::set_days(tx, days))?;
    status_of(ctx, &due(ctx)?)
}

/// 立即清理 (组织方 or 审核员): purges what is due now, after writing the export; nothing when
/// the period is not over. Logged with who did it.
pub fn purge_now(ctx: &Ctx) -> ApiResult<PurgeOutcome> {
    ensure_may(ctx)?;
    let author = ctx.author()?;
    let purge = purge_as(ctx, Trigger::Manual, &author, BATCH)?;
    Ok(PurgeOutcome {
        purge,
        status: status_of(ctx, &due(ctx)?)?,
    })
}

/// What started a purge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// 立即清理, or `guanmo purge-comments`.
    Manual,
    /// The site host's daily check.
    Auto,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Auto => "auto",
        }
    }
}

/// What a purge now would remove, without role checks (the CLI's `--dry-run`; adapters that
/// act for the host itself).
pub fn preview(ctx: &Ctx) -> ApiResult<RetentionStatus> {
    status_of(ctx, &due(ctx)?)
}

/// The purge itself, for adapters that act as the host (the daily check, the CLI) and tests:
/// no person's role is checked; `actor` is recorded. Nothing due (the period is not over, or
/// nothing is past the cutoff): `None`, no file written. Otherwise writes the export, then
/// purges in batches of `batch`, each one transaction, and returns the logged run.
pub fn purge_as(
    ctx: &Ctx,
    trigger: Trigger,
    actor: &str,
    batch: u32,
) -> ApiResult<Option<PurgeRecord>> {
    let Some(cutoff) = due(ctx)?.cutoff else {
        return Ok(None);
    };
    if ctx.store.read(|c| store::due(c, &cutoff))?.is_empty() {
        return Ok(None);
    }
    let file = write_export(ctx, actor)?;
    let name = file
        .strip_prefix(ctx.data_dir())
        .unwrap_or(&file)
        .to_string_lossy()
        .replace('\\', "/");
    let run = ctx.store.write(ctx.now(), actor, |tx| {
        store::start(tx, trigger.as_str(), &cutoff, &name)
    })?;
    tracing::info!(run = %run, cutoff = %cutoff, export = %name, "retention purge started");
    let batch = batch.max(1);
    loop {
        let done = ctx.store.write(ctx.now(), actor, |tx| {
            let c = store::purge_batch(tx, &run, &cutoff, batch)?;
            if c.is_empty() {
                store::finish(tx, &run)?;
            }
            Ok(c)
        })?;
        if done.is_empty() {
            break;
        }
    }
    let record = ctx
        .store
        .read(|c| store::purge(c, &run))?
        .map(PurgeRecord::from);
    if let Some(r) = &record {
        tracing::info!(run = %run, counts = ?r.counts, "retention purge finished");
    }
    Ok(record)
}

/// The daily check's step: purges what is due, as [`AUTO_ACTOR`].
pub fn purge_if_due(ctx: &Ctx) -> ApiResult<Option<PurgeRecord>> {
    purge_as(ctx, Trigger::Auto, AUTO_ACTOR, BATCH)
}

/// Writes the 评论记录 export of everything held now to `<data>/retention/评论记录-<time>.xlsx`
/// (whole or not at all, the file and its folder fsynced), logged as `actor`'s, and returns its
/// path. Any failure
/// stops the purge before anything is deleted.
pub fn write_export(ctx: &Ctx, actor: &str) -> ApiResult<PathBuf> {
    let dir = ctx.data_dir().join(EXPORT_DIR);
    let io = |e: std::io::Error| {
        ApiError::new(
            ErrorCode::FileUnreadable,
            format!(
                "the export before a purge could not be written in {}: {e}",
                dir.display()
            ),
        )
    };
    std::fs::create_dir_all(&dir).map_err(io)?;
    let stamp = ctx.now().with_timezone(&beijing()).format("%Y%m%d-%H%M%S");
    let mut path = dir.join(format!("评论记录-{stamp}.xlsx"));
    let mut n = 1;
    while path.exists() {
        n += 1;
        path = dir.join(format!("评论记录-{stamp}-{n}.xlsx"));
    }
    super::export::write_records_xlsx(ctx, &path, actor)?;
    sync_dir(&dir).map_err(io)?;
    let len = std::fs::metadata(&path).map_err(io)?.len();
    if len == 0 {
        return Err(ApiError::new(
            ErrorCode::Internal,
            format!("the export {} is empty", path.display()),
        ));
    }
    Ok(path)
}

/// Makes the export's name in its folder durable (the file itself is fsynced as written).
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// The site host's retention check, running while this is held: once now, then once a day.
/// Dropping it ends the thread.
#[derive(Debug)]
pub struct RetentionWatch {
    _stop: mpsc::Sender<()>,
}

/// Starts the daily retention check on its own thread (see [`RetentionWatch`]).
pub fn spawn_daily_check(ctx: Ctx) -> RetentionWatch {
    spawn_check_every(ctx, std::time::Duration::from_secs(24 * 60 * 60))
}

/// [`spawn_daily_check`] with another period (tests).
pub fn spawn_check_every(ctx: Ctx, every: std::time::Duration) -> RetentionWatch {
    let (stop, stopped) = mpsc::channel::<()>();
    let spawned = std::thread::Builder::new()
        .name("guanmo-retention".into())
        .spawn(move || loop {
            match purge_if_due(&ctx) {
                Ok(Some(r)) => tracing::info!(export = %r.export_file, "retention purge done"),
                Ok(None) => tracing::debug!("retention: nothing due"),
                Err(e) => tracing::error!(error = %e, "retention purge failed; retried tomorrow"),
            }
            match stopped.recv_timeout(every) {
                Err(mpsc::RecvTimeoutError::Timeout) => continue,
                _ => return,
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot start the retention check");
    }
    RetentionWatch { _stop: stop }
}

#[cfg(test)]
#[path = "retention_tests.rs"]
mod tests;
