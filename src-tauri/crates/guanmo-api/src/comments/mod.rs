//! Resident comments, moderated first (先审后发). Residents submit, like, report and appeal
//! through the resident site ([`submit`], [`Ingest`], [`like`], [`report`], [`appeal`],
//! [`own_comments`], [`public_comments`]); moderators decide in the desktop app ([`queue`],
//! [`decide`], [`pin`], [`mute_author`], [`set_area_open`], the word list, and the
//! suggestion follow-up). Invariants: nothing is public until a moderator approved it, and
//! [`public_comments`] is the only way comments reach residents; a word hit only flags; every
//! decision is recorded with who, when and why.

mod export;
mod ingest;
pub mod retention;
mod sms;
mod word_import;

pub use export::{export_records_xlsx, export_suggestions_xlsx};
pub use ingest::{Ingest, Reply};
pub use sms::{
    get_sms_settings, set_sms_settings, sms_provider, sms_test_target, SmsProvider, SmsSettings,
    SmsSettingsInput, SmsVendor,
};
pub use word_import::{
    import_word_bytes, import_word_list, parse_word_file, plan_word_import, CategoryCount,
    DuplicateWord, ImportedWord, RefusedLine, WordImportOptions, WordImportReport, WordLine,
    WordWarning, MAX_CATEGORY_CHARS,
};

use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use guanmo_domain::comments::{
    clean_reason, clean_text, transition, Comment, CommentInput, ModAction, ModError, ModLogEntry,
    Mute, OwnComment, PublicComment, EVENT_TARGET, MAX_REPLY_CHARS, REJECT_REASONS,
};
use guanmo_domain::problem::{has_errors, Problem, ProblemCode};
use guanmo_domain::words::{fold_word, TextPart, WordList, MAX_WORDS};
use guanmo_store::comments::{self as store, NewComment, Queue};
use guanmo_store::WriteTx;
use serde::{Deserialize, Serialize};
use specta::Type;
use std::sync::Arc;

/// Repeated identical text from one phone within this many minutes is collapsed.
pub const DUPLICATE_WINDOW_MINUTES: i64 = 10;
/// Most comments listed per queue.
pub const QUEUE_LIMIT: u32 = 500;
/// Most comments in one public list.
pub const PUBLIC_LIMIT: u32 = 200;
/// Longest mute, in days.
pub use guanmo_domain::comments::MAX_MUTE_DAYS;

/// A submission as the resident site hands it over: the input and where it came from.
#[derive(Debug, Clone)]
pub struct Submission {
    /// What the resident entered.
    pub input: CommentInput,
    /// The phone's cookie, hashed by the site.
    pub client_key: String,
    /// Peer address.
    pub peer: String,
    /// The resident entered the code the SMS provider sent to the number.
    pub phone_verified: bool,
}

/// What the resident is told after submitting: 已提交,审核通过后显示.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Receipt {
    /// The comment's id (also for an appeal later).
    pub id: String,
    /// The same text from the same phone was already submitted; nothing new was stored.
    pub duplicate: bool,
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn refuse(code: ErrorCode, location: &str, message: impl Into<String>) -> ApiError {
    let message = message.into();
    ApiError::with_problems(
        code,
        message.clone(),
        vec![Problem::error(ProblemCode::Invalid, location, message)],
    )
}

/// The compiled word list, rebuilt only when the list changed.
/// Words that arrive by sync change the settings version, so the hub flags the next comment
/// with a word a moderator's laptop added.
pub(crate) fn word_list(ctx: &Ctx) -> ApiResult<Arc<WordList>> {
    let version = ctx.store.read(store::settings_version)?;
    if let Some((v, w)) = ctx.words.read().unwrap_or_else(|e| e.into_inner()).clone() {
        if v == version {
            return Ok(w);
        }
    }
    let (version, words) = ctx
        .store
        .read(|c| Ok((store::settings_version(c)?, store::words(c)?)))?;
    let list = Arc::new(WordList::new(words));
    *ctx.words.write().unwrap_or_else(|e| e.into_inner()) = Some((version, list.clone()));
    Ok(list)
}

fn forget_word_list(ctx: &Ctx) {
    *ctx.words.write().unwrap_or_else(|e| e.into_inner()) = None;
}

/// Checks the input outside any transaction (pure rules only).
fn check_input(input: CommentInput) -> ApiResult<CommentInput> {
    let input = input.normalized();
    let problems = input.validate();
    if has_errors(&problems) {
        return Err(ApiError::with_problems(
            ErrorCode::Validation,
            "comment refused",
            problems,
        ));
    }
    Ok(input)
}

/// What the checks of one submission found, before anything is written.
enum Checked {
    /// The same text from the same phone is already stored: this is its receipt.
    Repeat(Receipt),
    /// To be stored, with the sensitive words it hits (flagged, never refused for them).
    New(Vec<String>),
}

/// Everything a submission must pass, read inside `tx` (`area_open` read in the same
/// transaction), writing nothing: refuses when the area is closed, the number muted or the
/// target unknown; finds a repeat to collapse; collects word hits.
fn check_in(
    tx: &WriteTx<'_>,
    words: &WordList,
    now: DateTime<Utc>,
    area_open: bool,
    s: &Submission,
) -> ApiResult<Checked> {
    let c = tx.conn();
    if !area_open {
        return Err(ApiError::new(
            ErrorCode::CommentsClosed,
            "the comment area is closed",
        ));
    }
    let phone_hash = tx.phone_keys().hash(&s.input.phone);
    if let Some(until) = store::muted_until(c, &phone_hash, &s.client_key, &rfc3339(now))? {
        return Err(ApiError::new(
            ErrorCode::Muted,
            format!("muted until {until}"),
        ));
    }
    if s.input.target != EVENT_TARGET
        && guanmo_store::feed::published(c, &s.input.target)?.is_none()
    {
        return Err(refuse(
            ErrorCode::Validation,
            "评论对象",
            "评论的直播不存在或已撤回",
        ));
    }
    if let Some(t) = &s.input.township_id {
        if guanmo_store::roster::get(c, t).is_err() {
            return Err(refuse(ErrorCode::Validation, "乡镇", "所选乡镇不存在"));
        }
    }
    let since = rfc3339(now - Duration::minutes(DUPLICATE_WINDOW_MINUTES));
    if let Some(id) =
        store::recent_duplicate(c, &s.client_key, &s.input.target, &s.input.text, &since)?
    {
        return Ok(Checked::Repeat(Receipt {
            id,
            duplicate: true,
        }));
    }
    let mut flagged = words.hits(&s.input.text);
    for w in words.hits(&s.input.nickname) {
        if !flagged.contains(&w) {
            flagged.push(w);
        }
    }
    Ok(Checked::New(flagged))
}

/// Writes a checked, new submission: the comment row and its change-log line.
fn store_new(
    tx: &WriteTx<'_>,
    s: &Submission,
    flagged: &[String],
) -> guanmo_store::Result<Receipt> {
    let id = store::insert(
        tx,
        &NewComment {
            input: &s.input,
            client_key: &s.client_key,
            peer: &s.peer,
            flagged,
            verified: s.phone_verified,
        },
    )?;
    Ok(Receipt {
        id,
        duplicate: false,
    })
}

/// Stores one checked submission inside `tx` ([`check_in`], then [`store_new`]).
fn submit_in(
    tx: &WriteTx<'_>,
    words: &WordList,
    now: DateTime<Utc>,
    area_open: bool,
    s: &Submission,
) -> ApiResult<Receipt> {
    match check_in(tx, words, now, area_open, s)? {
        Checked::Repeat(receipt) => Ok(receipt),
        Checked::New(flagged) => Ok(store_new(tx, s, &flagged)?),
    }
}

/// Submits one comment in its own transaction (the resident site batches through
/// [`Ingest`] instead). It is pending until a moderator approves it.
pub fn submit(ctx: &Ctx, mut s: Submission) -> ApiResult<Receipt> {
    s.input = check_input(s.input)?;
    let words = word_list(ctx)?;
    let now = ctx.clock.now();
    ctx.store.write(now, "resident", |tx| {
        let open = store::area_open(tx.conn())?;
        Ok(submit_in(tx, &words, now, open, &s))
    })?
}

/// Approved comments of `target` (a post id or `event`; every target when `None`) and the
/// like counts: everything residents may see of the comments. Empty while the area is closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct PublicComments {
    /// False while the comment area is closed (一键关闭评论区).
    pub open: bool,
    /// Approved comments, pinned first, newest first.
    pub comments: Vec<PublicComment>,
    /// Likes per target: `(target, count)`.
    pub likes: Vec<(String, u32)>,
}

/// The public view of the comments (see [`PublicComments`]): never a comment on a retracted
/// post, nor one whose author is under a mute that hides comments.
pub fn public_comments(ctx: &Ctx, target: Option<&str>) -> ApiResult<PublicComments> {
    let now = rfc3339(ctx.clock.now());
    Ok(ctx.store.read(|c| {
        Ok(PublicComments {
            open: store::area_open(c)?,
            comments: store::public(c, target, PUBLIC_LIMIT, &now)?,
            likes: store::like_counts(c)?,
        })
    })?)
}

/// Version of everything [`public_comments`] shows: the newest public comment change.
pub fn public_seq(ctx: &Ctx) -> ApiResult<i64> {
    Ok(ctx.store.read(store::public_seq)?)
}

/// A like (点赞): one per phone per target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct LikeResult {
    /// False when this phone had already liked it.
    pub new: bool,
    /// Likes of the target now.
    pub count: u32,
}

/// Likes `target` (a published post or `event`) for the phone `client_key`.
pub fn like(ctx: &Ctx, target: &str, client_key: &str) -> ApiResult<LikeResult> {
    ctx.store.write(ctx.clock.now(), "resident", |tx| {
        let c = tx.conn();
        if target != EVENT_TARGET && guanmo_store::feed::published(c, target)?.is_none() {
            return Ok(Err(ApiError::new(ErrorCode::NotFound, "no such post")));
        }
        let new = store::like(tx, target, client_key)?;
        let count = store::like_count(c, target)?;
        Ok(Ok(LikeResult { new, count }))
    })?
}

/// Targets the phone `client_key` has liked (so its page shows them as liked).
pub fn liked_by(ctx: &Ctx, client_key: &str) -> ApiResult<Vec<String>> {
    Ok(ctx.store.read(|c| store::liked_by(c, client_key))?)
}

/// Reports (举报) a shown comment; it goes to the moderators' 被举报 queue and stays shown
/// until a moderator takes it down. A second report from the same phone changes nothing.
pub fn report(ctx: &Ctx, comment_id: &str, client_key: &str, reason: &str) -> ApiResult<bool> {
    let reason = clean_reason(reason, "举报理由")
        .map_err(|p| ApiError::with_problems(ErrorCode::Validation, "report refused", vec![p]))?;
    ctx.store.write(ctx.clock.now(), "resident", |tx| {
        let c = tx.conn();
        let shown = store::area_open(c)?
            && store::get(c, comment_id)
                .map(|x| x.status == guanmo_domain::comments::CommentStatus::Approved)
                .unwrap_or(false);
        if !shown {
            return Ok(Err(ApiError::new(ErrorCode::NotFound, "no such comment")));
        }
        Ok(Ok(store::report(tx, comment_id, client_key, &reason)?))
    })?
}

/// Appeals (申诉) a rejected comment, once, from the phone that wrote it: it goes back to
/// the queue with the resident's reason.
pub fn appeal(ctx: &Ctx, comment_id: &str, client_key: &str, reason: &str) -> ApiResult<()> {
    let reason = clean_reason(reason, "申诉理由")
        .map_err(|p| ApiError::with_problems(ErrorCode::Validation, "appeal refused", vec![p]))?;
    ctx.store.write(ctx.clock.now(), "resident", |tx| {
        let c = tx.conn();
        // Another phone's comment is answered exactly like a missing one.
        match store::client_key_of(c, comment_id) {
            Ok(k) if k == client_key => {}
            _ => return Ok(Err(ApiError::new(ErrorCode::NotFound, "no such comment"))),
        }
        let current = store::get(c, comment_id)?;
        match transition(current.mod_state(), ModAction::Appeal) {
            Err(e) => Ok(Err(refuse(ErrorCode::Validation, "申诉", e.to_string()))),
            Ok(next) => {
                store::set_state(tx, &current, next, "appeal", Some(&reason))?;
                Ok(Ok(()))
            }
        }
    })?
}

/// The phone's own comments with their status (待审核 / 审核通过 / 已驳回 and why).
pub fn own_comments(ctx: &Ctx, client_key: &str) -> ApiResult<Vec<OwnComment>> {
    Ok(ctx.store.read(|c| store::own(c, client_key, 50))?)
}

// ---- moderators, in the desktop app ----

/// Which list a moderator looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum QueueKind {
    /// 待审核 (appeals included), oldest first.
    Pending,
    /// Shown comments with open reports (被举报).
    Reported,
    /// 审核通过.
    Approved,
    /// 已驳回.
    Rejected,
    /// 意见建议, any status.
    Suggestions,
}

/// A comment in a moderator's list, its text and nickname split for highlighting hits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct QueueItem {
    /// The comment.
    pub comment: Comment,
    /// The text, with parts that hit a sensitive word marked.
    pub text_parts: Vec<TextPart>,
    /// The nickname, likewise.
    pub nickname_parts: Vec<TextPart>,
}

/// Where moderation stands: counts per list, whether the area is open, the word count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct ModerationOverview {
    /// 待审核.
    pub pending: u32,
    /// 被举报.
    pub reported: u32,
    /// 审核通过.
    pub approved: u32,
    /// 已驳回.
    pub rejected: u32,
    /// Suggestions not yet answered.
    pub suggestions_open: u32,
    /// False while the comment area is closed.
    pub area_open: bool,
    /// Words in the sensitive-word list.
    pub words: u32,
    /// Reasons to pick from when rejecting.
    pub reject_reasons: Vec<String>,
}

/// Counts and switches for the moderation view.
pub fn overview(ctx: &Ctx) -> ApiResult<ModerationOverview> {
    let words = word_list(ctx)?.len() as u32;
    Ok(ctx.store.read(|c| {
        let [pending, reported, approved, rejected, suggestions_open] = store::counts(c)?;
        Ok(ModerationOverview {
            pending,
            reported,
            approved,
            rejected,
            suggestions_open,
            area_open: store::area_open(c)?,
            words,
            reject_reasons: REJECT_REASONS.iter().map(|s| s.to_string()).collect(),
        })
    })?)
}

/// One list of comments with their word hits highlighted (against the current list, so a
/// word added later shows on old comments too).
pub fn queue(ctx: &Ctx, kind: QueueKind) -> ApiResult<Vec<QueueItem>> {
    let q = match kind {
        QueueKind::Pending => Queue::Pending,
        QueueKind::Reported => Queue::Reported,
        QueueKind::Approved => Queue::Approved,
        QueueKind::Rejected => Queue::Rejected,
        QueueKind::Suggestions => Queue::Suggestions,
    };
    let words = word_list(ctx)?;
    let comments = ctx.store.read(|c| store::list(c, q, QUEUE_LIMIT))?;
    Ok(comments
        .into_iter()
        .map(|comment| QueueItem {
            text_parts: words.highlight(&comment.text),
            nickname_parts: words.highlight(&comment.nickname),
            comment,
        })
        .collect())
}

/// A moderator's decision on one or many comments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Decision {
    /// 审核通过.
    Approve,
    /// 驳回, with a reason (from the list or free text); also takes a shown comment down.
    Reject {
        /// Why.
        reason: String,
    },
}

/// What a bulk decision did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct DecideReport {
    /// The comments as they are now.
    pub done: Vec<Comment>,
    /// Comments left as they were, with why.
    pub refused: Vec<Problem>,
}

/// Approves or rejects each of `ids` in one transaction; a comment whose state does not
/// allow it (already decided, gone) is reported and left alone, the rest go through.
pub fn decide(ctx: &Ctx, ids: &[String], decision: Decision) -> ApiResult<DecideReport> {
    ctx.ensure_moderator()?;
    let (action, op, reason) = match &decision {
        Decision::Approve => (ModAction::Approve, "approve", None),
        Decision::Reject { reason } => {
            let r = clean_reason(reason, "驳回理由").map_err(|p| {
                ApiError::with_problems(ErrorCode::Validation, "reason refused", vec![p])
            })?;
            (ModAction::Reject, "reject", Some(r))
        }
    };
    if ids.is_empty() {
        return Err(refuse(ErrorCode::Validation, "评论", "请先选择评论"));
    }
    Ok(ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        let mut report = DecideReport {
            done: Vec::new(),
            refused: Vec::new(),
        };
        for id in ids {
            let current = match store::get(tx.conn(), id) {
                Ok(c) => c,
                Err(guanmo_store::StoreError::NotFound { .. }) => {
                    report.refused.push(Problem::error(
                        ProblemCode::Invalid,
                        id.as_str(),
                        "评论不存在",
                    ));
                    continue;
                }
                Err(e) => return Err(e),
            };
            match transition(current.mod_state(), action) {
                Ok(next) => {
                    report
                        .done
                        .push(store::set_state(tx, &current, next, op, reason.as_deref())?)
                }
                Err(e) => report.refused.push(Problem::error(
                    ProblemCode::Invalid,
                    current.nickname.as_str(),
                    e.to_string(),
                )),
            }
        }
        Ok(report)
    })?)
}

fn act(ctx: &Ctx, id: &str, action: ModAction, op: &'static str) -> ApiResult<Comment> {
    ctx.ensure_moderator()?;
    let out = ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        let current = store::get(tx.conn(), id)?;
        match transition(current.mod_state(), action) {
            Err(e) => Ok(Err(e)),
            Ok(next) => store::set_state(tx, &current, next, op, None).map(Ok),
        }
    })?;
    out.map_err(|e: ModError| refuse(ErrorCode::Validation, "状态", e.to_string()))
}

/// Pins (置顶) or unpins an approved comment.
pub fn pin(ctx: &Ctx, id: &str, pinned: bool) -> ApiResult<Comment> {
    if pinned {
        act(ctx, id, ModAction::Pin, "pin")
    } else {
        act(ctx, id, ModAction::Unpin, "unpin")
    }
}

/// Keeps a reported comment shown and closes its reports (举报不成立).
pub fn dismiss_reports(ctx: &Ctx, id: &str) -> ApiResult<Comment> {
    ctx.ensure_moderator()?;
    Ok(ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        let current = store::get(tx.conn(), id)?;
        store::dismiss_reports(tx, &current)?;
        store::get(tx.conn(), id)
    })?)
}

/// How far a mute reaches beyond refusing the author's new comments.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct MuteOptions {
    /// Also hide the author's already-approved comments from residents while the mute lasts
    /// (they come back when it is lifted). Off by default.
    #[serde(default)]
    pub hide_comments: bool,
}

/// Mutes (禁言) the author of `comment_id` for `days` days; its new comments are refused until
/// then. Returns the mute. The same as [`mute_author_with`] with the default options.
pub fn mute_author(ctx: &Ctx, comment_id: &str, days: u32, reason: &str) -> ApiResult<Mute> {
    mute_author_with(ctx, comment_id, days, reason, MuteOptions::default())
}

/// Mutes (禁言) the author of `comment_id` for `days` days: the number the comment names, and
/// every phone key (the resident site's signed cookie, hashed) that wrote a comment naming
/// that number, so typing another number does not get round it. With
/// [`MuteOptions::hide_comments`] the author's approved comments are hidden from residents
/// while the mute lasts. Returns the mute. On a moderator's laptop (granted 审核 by the hub)
/// the mute is kept with the masked number and takes hold on the hub, which knows the
/// number and phone keys, when it syncs.
pub fn mute_author_with(
    ctx: &Ctx,
    comment_id: &str,
    days: u32,
    reason: &str,
    options: MuteOptions,
) -> ApiResult<Mute> {
    ctx.ensure_moderator()?;
    if days == 0 || days > MAX_MUTE_DAYS {
        return Err(refuse(
            ErrorCode::Validation,
            "禁言天数",
            format!("禁言天数应在1到{MAX_MUTE_DAYS}天之间"),
        ));
    }
    let reason = clean_reason(reason, "禁言理由")
        .map_err(|p| ApiError::with_problems(ErrorCode::Validation, "mute refused", vec![p]))?;
    let now = ctx.clock.now();
    let until = rfc3339(now + Duration::days(i64::from(days)));
    Ok(ctx.store.write(now, &ctx.author()?, |tx| {
        store::mute_author(tx, comment_id, &until, &reason, options.hide_comments)
    })?)
}

/// Lifts a mute (by its key as [`list_mutes`] gives it); on a moderator's laptop the lifting
/// reaches the hub with the next sync.
pub fn unmute(ctx: &Ctx, key: &str) -> ApiResult<()> {
    ctx.ensure_moderator()?;
    let found = ctx
        .store
        .write(ctx.clock.now(), &ctx.author()?, |tx| store::unmute(tx, key))?;
    if found {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::NotFound, "no such mute"))
    }
}

/// Mutes in force now, numbers masked (on a laptop: those it knows of, made there or
/// received from the hub).
pub fn list_mutes(ctx: &Ctx) -> ApiResult<Vec<Mute>> {
    let now = rfc3339(ctx.clock.now());
    Ok(ctx.store.read(|c| store::mutes(c, &now))?)
}

/// Opens or closes the whole comment area at once (一键关闭评论区). While closed no comment
/// is shown and none is accepted; reopening shows the approved ones again.
pub fn set_area_open(ctx: &Ctx, open: bool, reason: Option<String>) -> ApiResult<()> {
    ctx.ensure_moderator()?;
    let reason = reason
        .map(|r| clean_text(&r, false))
        .filter(|r| !r.is_empty());
    Ok(ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        store::set_area_open(tx, open, reason.as_deref())
    })?)
}

/// The moderation record (who, when, what, why), newest first; of one comment if given.
pub fn moderation_log(ctx: &Ctx, comment_id: Option<&str>) -> ApiResult<Vec<ModLogEntry>> {
    Ok(ctx
        .store
        .read(|c| store::log_entries(c, comment_id, 1000))?)
}

// ---- the sensitive-word list ----

/// What a change to the word list did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct WordsReport {
    /// Words added (or removed).
    pub changed: u32,
    /// Lines that held no usable word (blank, or longer than 50 characters).
    pub skipped: u32,
    /// Words in the list now.
    pub total: u32,
}

/// The word list, folded, sorted.
pub fn list_words(ctx: &Ctx) -> ApiResult<Vec<String>> {
    Ok(ctx.store.read(store::words)?)
}

fn fold_lines(text: &str) -> (Vec<String>, u32) {
    let mut words = Vec::new();
    let mut skipped = 0;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match fold_word(line) {
            Some(w) => words.push(w),
            None => skipped += 1,
        }
    }
    (words, skipped)
}

/// Adds words, one per line (blank lines and `#` comments ignored).
pub fn add_words(ctx: &Ctx, text: &str) -> ApiResult<WordsReport> {
    ctx.ensure_moderator()?;
    let (words, skipped) = fold_lines(text);
    let existing = ctx.store.read(store::words)?.len();
    if existing + words.len() > MAX_WORDS {
        return Err(refuse(
            ErrorCode::Validation,
            "敏感词",
            format!("词库最多{MAX_WORDS}个词"),
        ));
    }
    let changed = ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        store::add_words(tx, &words)
    })?;
    forget_word_list(ctx);
    Ok(WordsReport {
        changed,
        skipped,
        total: word_list(ctx)?.len() as u32,
    })
}

/// Removes words (as listed by [`list_words`]).
pub fn remove_words(ctx: &Ctx, words: &[String]) -> ApiResult<WordsReport> {
    ctx.ensure_moderator()?;
    let folded: Vec<String> = words.iter().filter_map(|w| fold_word(w)).collect();
    let changed = ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        store::remove_words(tx, &folded)
    })?;
    forget_word_list(ctx);
    Ok(WordsReport {
        changed,
        skipped: (words.len() - folded.len()) as u32,
        total: word_list(ctx)?.len() as u32,
    })
}

// ---- suggestions: 交办 → 办理中 → 已回复 ----

fn suggestion(tx: &WriteTx<'_>, id: &str) -> guanmo_store::Result<Result<Comment, ApiError>> {
    let current = store::get(tx.conn(), id)?;
    if current.handling.is_none() {
        return Ok(Err(refuse(
            ErrorCode::Validation,
            "类型",
            "只有意见建议可以交办和回复",
        )));
    }
    Ok(Ok(current))
}

/// Hands a suggestion to a township (交办); it is then 办理中.
pub fn assign(ctx: &Ctx, id: &str, township_id: &str) -> ApiResult<Comment> {
    ctx.ensure_moderator()?;
    ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        if guanmo_store::roster::get(tx.conn(), township_id).is_err() {
            return Ok(Err(refuse(ErrorCode::Validation, "乡镇", "所选乡镇不存在")));
        }
        match suggestion(tx, id)? {
            Err(e) => Ok(Err(e)),
            Ok(current) => store::assign(tx, &current, township_id).map(Ok),
        }
    })?
}

/// Records the township's reply (已回复); it shows under the comment once approved.
pub fn answer(ctx: &Ctx, id: &str, reply: &str) -> ApiResult<Comment> {
    // The township's 乡镇联络员 answers what was handed over, as a 审核员 may.
    crate::people::ensure_any_role(
        ctx,
        &[
            guanmo_domain::people::PersonRole::Moderator,
            guanmo_domain::people::PersonRole::Organiser,
            guanmo_domain::people::PersonRole::Liaison,
        ],
    )?;
    ctx.ensure_moderator_device()?;
    let reply = clean_text(reply, true);
    let n = reply.chars().count();
    if n == 0 || n > MAX_REPLY_CHARS {
        return Err(refuse(
            ErrorCode::Validation,
            "回复",
            format!("回复应为1到{MAX_REPLY_CHARS}个字"),
        ));
    }
    ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        match suggestion(tx, id)? {
            Err(e) => Ok(Err(e)),
            Ok(current) if current.assigned_to.is_none() => Ok(Err(refuse(
                ErrorCode::Validation,
                "交办",
                "请先交办给乡镇,再登记回复",
            ))),
            Ok(current) => store::answer(tx, &current, &reply).map(Ok),
        }
    })?
}

/// 官方回复: a moderator answers an approved comment in a department's name (市委宣传部, say);
/// the reply shows under it on the public page marked 官方回复, and in the commenter's
/// 我的评论. A later reply replaces it (recorded in the moderation log). Suggestions are
/// answered by their township after 交办 ([`answer`]), not here.
pub fn official_reply(ctx: &Ctx, id: &str, reply: &str, department: &str) -> ApiResult<Comment> {
    ctx.ensure_moderator()?;
    let reply = clean_text(reply, true);
    let n = reply.chars().count();
    if n == 0 || n > MAX_REPLY_CHARS {
        return Err(refuse(
            ErrorCode::Validation,
            "回复",
            format!("回复应为1到{MAX_REPLY_CHARS}个字"),
        ));
    }
    let department = clean_text(department, false);
    let d = department.chars().count();
    if d == 0 || d > guanmo_domain::comments::MAX_DEPARTMENT_CHARS {
        return Err(refuse(
            ErrorCode::Validation,
            "回复单位",
            format!(
                "请填写回复单位(1到{}个字),如 观摩会组委会",
                guanmo_domain::comments::MAX_DEPARTMENT_CHARS
            ),
        ));
    }
    ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        let current = store::get(tx.conn(), id)?;
        if current.handling.is_some() {
            return Ok(Err(refuse(
                ErrorCode::Validation,
                "类型",
                "意见建议请交办给乡镇,由乡镇回复",
            )));
        }
        if current.status != guanmo_domain::comments::CommentStatus::Approved {
            return Ok(Err(refuse(
                ErrorCode::Validation,
                "状态",
                "只能回复已通过审核、公开显示的评论",
            )));
        }
        store::official_reply(tx, &current, &reply, &department).map(Ok)
    })?
}

#[cfg(test)]
mod phone_tests;
#[cfg(test)]
mod tests;
