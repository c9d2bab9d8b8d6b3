//! Live-feed use cases (图文直播): media staff write drafts, publish, edit, retract and pin
//! posts here (only through the desktop app); the resident site reads only the public view
//! built here ([`PublicFeed`], [`PublicPost`], [`FeedEvent`]), which never holds a draft, a
//! retracted post or who did what. State rules are checked inside the write transaction, so
//! two windows cannot race a post into a state the rules forbid.

use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use chrono::{DateTime, SecondsFormat};
use guanmo_domain::feed::signoff::SignoffError;
use guanmo_domain::feed::{
    beijing_stamp, beijing_update_stamp, paragraphs, stop_label_for, transition, Post, PostAction,
    PostInput, TransitionError,
};
use guanmo_domain::problem::{has_errors, Problem, ProblemCode};
use guanmo_store::feed::signoff as signoff_store;
use guanmo_store::feed::{self as store, Cursor};
use guanmo_store::{Result as StoreResult, WriteTx};
use serde::{Deserialize, Serialize};
use specta::Type;

/// Default page size of the public feed.
pub const DEFAULT_PAGE: u32 = 20;
/// Largest page size of the public feed.
pub const MAX_PAGE: u32 = 50;

/// A post as residents see it: only what is shown on the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct PublicPost {
    /// Post id (stable; used as the element id on the page).
    pub id: String,
    /// Stop label such as 【第7站·水口山镇】.
    pub stop_label: Option<String>,
    /// The body's paragraphs, plain text.
    pub paragraphs: Vec<String>,
    /// Photo content hashes in grid order (`/media/<hash>/320.jpg` and `/1600.jpg`).
    pub photos: Vec<String>,
    /// Credit line.
    pub credit: String,
    /// Shown first (置顶).
    pub pinned: bool,
    /// When it was published, RFC 3339 UTC.
    pub published_at: String,
    /// Publication time as residents read it, e.g. `12月4日 09:05` (Beijing time).
    pub time: String,
    /// When its content was last edited after publishing, RFC 3339 UTC.
    pub updated_at: Option<String>,
    /// That edit as shown after 已更新: HH:MM, with the day when it came on a later day.
    pub updated_time: Option<String>,
    /// 责任编辑 printed under the post, when the organiser has names printed (审核流程).
    pub editor: Option<String>,
    /// 审核 printed under the post, likewise.
    pub approver: Option<String>,
}

impl PublicPost {
    /// The public view of a published post; `None` for drafts and retracted posts.
    pub fn from_post(p: &Post) -> Option<PublicPost> {
        if p.status != guanmo_domain::feed::PostStatus::Published {
            return None;
        }
        let published_at = p.published_at.clone()?;
        Some(PublicPost {
            id: p.id.clone(),
            stop_label: p.stop_label.clone(),
            paragraphs: paragraphs(&p.body)
                .into_iter()
                .map(str::to_string)
                .collect(),
            photos: p.photos.clone(),
            credit: p.credit.clone(),
            pinned: p.pinned,
            time: beijing_stamp(&published_at).unwrap_or_default(),
            updated_time: p
                .updated_at
                .as_deref()
                .and_then(|u| beijing_update_stamp(&published_at, u)),
            published_at,
            updated_at: p.updated_at.clone(),
            editor: p.signoff.editor.clone().filter(|_| p.signoff.print_footer),
            approver: p
                .signoff
                .approver
                .clone()
                .filter(|_| p.signoff.print_footer),
        })
    }

    /// The cursor that continues the listing after this post.
    pub fn cursor(&self) -> String {
        let millis = DateTime::parse_from_rfc3339(&self.published_at)
            .map(|t| t.timestamp_millis())
            .unwrap_or_default();
        format!("{millis}.{}", self.id)
    }
}

/// One page of the public feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct PublicFeed {
    /// The pinned post, on the first page only (not counted in the page size).
    pub pinned: Option<PublicPost>,
    /// Published posts, newest first.
    pub posts: Vec<PublicPost>,
    /// Pass as `cursor` to get the next (older) page; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// What residents' pages are told about a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedEventKind {
    /// A post was published.
    New,
    /// A published post was edited, pinned or unpinned.
    Updated,
    /// A post must disappear.
    Retracted,
}

/// A change of the public feed, derived from the change log. `post` is the post as it is
/// now (not as it was at `seq`), so an old event never brings back a retracted post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedEvent {
    /// Change-log sequence number (the SSE event id).
    pub seq: i64,
    /// What happened.
    pub kind: FeedEventKind,
    /// The post's id.
    pub id: String,
    /// The post's public view, for `new` and `updated`.
    pub post: Option<PublicPost>,
}

fn refuse(location: &str, message: impl Into<String>) -> ApiError {
    let message = message.into();
    ApiError::with_problems(
        ErrorCode::Validation,
        message.clone(),
        vec![Problem::error(ProblemCode::Invalid, location, message)],
    )
}

fn refused_transition(e: TransitionError) -> ApiError {
    refuse("状态", e.to_string())
}

fn check_input(ctx: &Ctx, input: PostInput) -> ApiResult<PostInput> {
    let input = input.normalized();
    let mut problems = input.validate();
    if let Some(t) = &input.township_id {
        if ctx.store.read(|c| guanmo_store::roster::get(c, t)).is_err() {
            problems.push(Problem::error(
                ProblemCode::Invalid,
                "乡镇",
                "所选乡镇(街道)不存在",
            ));
        }
    }
    if has_errors(&problems) {
        return Err(ApiError::with_problems(
            ErrorCode::Validation,
            "post refused",
            problems,
        ));
    }
    Ok(input)
}

/// Runs `f` on post `id` inside one write transaction, after checking that `action` is
/// allowed in the post's current state.
fn act(
    ctx: &Ctx,
    id: &str,
    action: PostAction,
    f: impl FnOnce(&WriteTx<'_>, &Post) -> StoreResult<Post>,
) -> ApiResult<Post> {
    let out = ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        let current = store::get(tx.conn(), id)?;
        match transition(current.status, current.pinned, action) {
            // Nothing was written: committing the empty transaction is harmless.
            Err(e) => Ok(Err(e)),
            Ok(_) => f(tx, &current).map(Ok),
        }
    })?;
    out.map_err(refused_transition)
}

/// Once people sign in, only 编辑 and 组织方 write the live feed.
fn ensure_editor(ctx: &Ctx) -> ApiResult<()> {
    crate::people::ensure_any_role(
        ctx,
        &[
            guanmo_domain::people::PersonRole::Editor,
            guanmo_domain::people::PersonRole::Organiser,
        ],
    )
}

/// Every post, for the desktop app: pinned first, then drafts, then newest first.
pub fn list_posts(ctx: &Ctx) -> ApiResult<Vec<Post>> {
    Ok(ctx.store.read(store::list_all)?)
}

/// One post, whatever its status.
pub fn get_post(ctx: &Ctx, id: &str) -> ApiResult<Post> {
    Ok(ctx.store.read(|c| store::get(c, id))?)
}

/// The stop label for a township from its place on the route: 【第7站·水口山镇】.
pub fn stop_label_for_township(ctx: &Ctx, township_id: &str) -> ApiResult<String> {
    let t = ctx
        .store
        .read(|c| guanmo_store::roster::get(c, township_id))?;
    Ok(stop_label_for(t.position, &t.name))
}

/// Starts a draft. Photos must already be imported (their hashes are checked for form only).
pub fn create_draft(ctx: &Ctx, input: PostInput) -> ApiResult<Post> {
    ensure_editor(ctx)?;
    let input = check_input(ctx, input)?;
    Ok(ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        store::insert_draft(tx, &input)
    })?)
}

/// Edits a draft or a published post still at `expected_version`; residents see an edited
/// published post as 已更新 HH:MM.
pub fn update_post(
    ctx: &Ctx,
    id: &str,
    expected_version: i32,
    input: PostInput,
) -> ApiResult<Post> {
    ensure_editor(ctx)?;
    let input = check_input(ctx, input)?;
    act(ctx, id, PostAction::Edit, |tx, current| {
        store::update_content(tx, current, expected_version, &input)
    })
}

/// Publishes a draft still at `expected_version` (so what is published is what was read).
/// With two or more sign-off levels a draft is submitted instead ([`signoff_post`]).
pub fn publish_post(ctx: &Ctx, id: &str, expected_version: i32) -> ApiResult<Post> {
    ensure_editor(ctx)?;
    let levels = ctx.store.read(signoff_store::settings)?.levels;
    if levels > 1 {
        return Err(refuse(
            "审核",
            SignoffError::NeedsSignoff(levels).to_string(),
        ));
    }
    act(ctx, id, PostAction::Publish, |tx, current| {
        store::publish(tx, current, expected_version)
    })
}

/// Retracts (撤回) a published post at once, whatever its version: it disappears from the
/// resident site and stays in the app with who retracted it and when.
pub fn retract_post(ctx: &Ctx, id: &str) -> ApiResult<Post> {
    ensure_editor(ctx)?;
    act(ctx, id, PostAction::Retract, store::retract)
}

/// Pins (置顶) a published post; the post pinned before is unpinned.
pub fn pin_post(ctx: &Ctx, id: &str) -> ApiResult<Post> {
    ensure_editor(ctx)?;
    act(ctx, id, PostAction::Pin, |tx, current| {
        store::set_pinned(tx, current, true)
    })
}

/// Unpins a pinned post.
pub fn unpin_post(ctx: &Ctx, id: &str) -> ApiResult<Post> {
    ensure_editor(ctx)?;
    act(ctx, id, PostAction::Unpin, |tx, current| {
        store::set_pinned(tx, current, false)
    })
}

fn parse_cursor(cursor: &str) -> Option<Cursor> {
    let (millis, id) = cursor.split_once('.')?;
    if millis.is_empty() || !millis.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !guanmo_domain::ids::is_id(id) || id.len() != 36 {
        return None;
    }
    let at = DateTime::from_timestamp_millis(millis.parse().ok()?)?;
    Some(Cursor {
        published_at: at.to_rfc3339_opts(SecondsFormat::Millis, true),
        id: id.to_string(),
    })
}

/// Checks a page request: `limit` in 1..=[`MAX_PAGE`], `cursor` as made by
/// [`PublicPost::cursor`].
pub(crate) fn check_page(cursor: Option<&str>, limit: u32) -> ApiResult<Option<Cursor>> {
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(refuse("limit", format!("每页条数应在1到{MAX_PAGE}之间")));
    }
    match cursor {
        None => Ok(None),
        Some(c) => parse_cursor(c)
            .map(Some)
            .ok_or_else(|| refuse("cursor", "翻页参数无效")),
    }
}

/// One page of the public feed: the pinned post first (first page only), then published
/// posts newest first, `limit` at a time after `cursor`. Bad paging input is a
/// `Validation` error.
pub fn public_feed(ctx: &Ctx, cursor: Option<&str>, limit: u32) -> ApiResult<PublicFeed> {
    let after = check_page(cursor, limit)?;
    let (pinned, (posts, more)) = ctx.store.read(|c| {
        let pinned = match after {
            None => store::pinned(c)?,
            Some(_) => None,
        };
        Ok((pinned, store::published_page(c, after.as_ref(), limit)?))
    })?;
    let posts: Vec<PublicPost> = posts.iter().filter_map(PublicPost::from_post).collect();
    let next_cursor = if more {
        posts.last().map(PublicPost::cursor)
    } else {
        None
    };
    Ok(PublicFeed {
        pinned: pinned.as_ref().and_then(PublicPost::from_post),
        posts,
        next_cursor,
    })
}

/// Every published post, pinned first then newest first (for the static export).
pub fn all_public_posts(ctx: &Ctx) -> ApiResult<Vec<PublicPost>> {
    Ok(ctx
        .store
        .read(store::all_published)?
        .iter()
        .filter_map(PublicPost::from_post)
        .collect())
}

/// A published post's public view; `None` for drafts, retracted and unknown posts.
pub fn public_post(ctx: &Ctx, id: &str) -> ApiResult<Option<PublicPost>> {
    Ok(ctx
        .store
        .read(|c| store::published(c, id))?
        .as_ref()
        .and_then(PublicPost::from_post))
}

/// The public feed's version: the sequence number of the newest change residents could see.
/// Read it before the page it labels, so a label is never newer than its content.
pub fn feed_seq(ctx: &Ctx) -> ApiResult<i64> {
    Ok(ctx.store.read(store::feed_seq)?)
}

/// The newest change-log sequence number of any kind (where a live stream starts).
pub fn latest_seq(ctx: &Ctx) -> ApiResult<i64> {
    Ok(ctx.store.read(store::latest_seq)?)
}

/// True when a published post shows photo `hash` (drafts' and retracted posts' photos are
/// not served).
pub fn photo_is_public(ctx: &Ctx, hash: &str) -> ApiResult<bool> {
    Ok(ctx.store.read(|c| store::photo_is_public(c, hash))?)
}

fn kind_of(op: &str) -> FeedEventKind {
    match op {
        "publish" | signoff_store::SIGNOFF_PUBLISH => FeedEventKind::New,
        "retract" => FeedEventKind::Retracted,
        _ => FeedEventKind::Updated,
    }
}

/// Feed events after `seq`, oldest first, at most `limit`. Each carries the post as it is
/// now: a post no longer published turns into a `retracted` event without content.
pub fn feed_events_since(ctx: &Ctx, seq: i64, limit: u32) -> ApiResult<Vec<FeedEvent>> {
    ctx.store
        .read(|c| {
            store::public_changes_since(c, seq, limit)?
                .into_iter()
                .map(|(seq, id, op)| {
                    let post = store::published(c, &id)?
                        .as_ref()
                        .and_then(PublicPost::from_post);
                    let kind = match (&post, kind_of(&op)) {
                        (None, _) => FeedEventKind::Retracted,
                        (Some(_), k) => k,
                    };
                    Ok(FeedEvent {
                        seq,
                        kind,
                        id,
                        post,
                    })
                })
                .collect()
        })
        .map_err(ApiError::from)
}

const MEDIA_CREDIT: &str = "media_credit";

/// The credit line (记者 XXX 摄) this laptop last used, or an empty string.
pub fn get_media_credit(ctx: &Ctx) -> ApiResult<String> {
    Ok(ctx
        .store
        .read(|c| guanmo_store::meta::get(c, MEDIA_CREDIT))?
        .unwrap_or_default())
}

/// Remembers the credit line for this laptop.
pub fn set_media_credit(ctx: &Ctx, credit: String) -> ApiResult<String> {
    ensure_editor(ctx)?;
    let credit = credit.trim().to_string();
    if credit.chars().count() > guanmo_domain::feed::MAX_CREDIT_CHARS {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!("署名不能超过{}个字", guanmo_domain::feed::MAX_CREDIT_CHARS),
        ));
    }
    ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        guanmo_store::meta::set(tx, MEDIA_CREDIT, &credit)?;
        tx.record(guanmo_store::ChangeInput {
            entity: "device_setting",
            entity_id: MEDIA_CREDIT.into(),
            op: "set",
            payload: serde_json::json!({ "credit": credit }),
        })
    })?;
    Ok(credit)
}

#[path = "feed_signoff.rs"]
mod signoff;
pub use signoff::{
    get_signoff_settings, post_history, set_signoff_settings, signoff_overview, signoff_post,
    PostStepView, SignoffOverview, SignoffQueueItem,
};

#[cfg(test)]
mod tests {
    use super::*;
    use guanmo_domain::feed::PostStatus;
    use guanmo_domain::FixedClock;
    use std::sync::Arc;

    fn setup() -> (tempfile::TempDir, Ctx, Arc<FixedClock>) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(
            DateTime::parse_from_rfc3339("2024-12-04T01:00:00Z")
                .unwrap()
                .with_timezone(&chrono::Utc),
        ));
        let ctx = Ctx::open(dir.path(), clock.clone()).unwrap();
        (dir, ctx, clock)
    }

    fn input(body: &str) -> PostInput {
        PostInput {
            body: body.into(),
            credit: "记者 李明 摄".into(),
            ..PostInput::default()
        }
    }

    fn publish(ctx: &Ctx, clock: &FixedClock, body: &str) -> Post {
        clock.advance(chrono::Duration::minutes(1));
        let d = create_draft(ctx, input(body)).unwrap();
        publish_post(ctx, &d.id, d.version).unwrap()
    }

    #[test]
    fn a_draft_is_invisible_to_residents_until_published() {
        let (_d, ctx, clock) = setup();
        let d = create_draft(&ctx, input("观摩团抵达宜阳街道。")).unwrap();
        assert_eq!(d.status, PostStatus::Draft);
        let feed = public_feed(&ctx, None, DEFAULT_PAGE).unwrap();
        assert!(feed.posts.is_empty());
        assert_eq!(public_post(&ctx, &d.id).unwrap(), None);
        assert!(feed_events_since(&ctx, 0, 100).unwrap().is_empty());
        clock.advance(chrono::Duration::minutes(3));
        let p = publish_post(&ctx, &d.id, d.version).unwrap();
        let feed = public_feed(&ctx, None, DEFAULT_PAGE).unwrap();
        assert_eq!(feed.posts.len(), 1);
        assert_eq!(
            feed.posts[0].time, "12月4日 09:03",
            "Beijing time, with the day"
        );
        let ev = feed_events_since(&ctx, 0, 100).unwrap();
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].kind, FeedEventKind::New);
        assert_eq!(ev[0].id, p.id);
    }

    #[test]
    fn invalid_input_is_refused_with_every_problem() {
        let (_d, ctx, _c) = setup();
        let mut i = input("");
        i.photos = vec!["../../etc/passwd".into()];
        i.township_id = Some("no-such-township".into());
        let e = create_draft(&ctx, i).unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation);
        assert_eq!(e.problems.len(), 3, "{:?}", e.problems);
    }

    #[test]
    fn publishing_a_stale_version_or_twice_is_refused() {
        let (_d, ctx, _c) = setup();
        let d = create_draft(&ctx, input("一")).unwrap();
        update_post(&ctx, &d.id, d.version, input("二")).unwrap();
        let e = publish_post(&ctx, &d.id, d.version).unwrap_err();
        assert_eq!(e.code, ErrorCode::VersionConflict);
        let p = publish_post(&ctx, &d.id, d.version + 1).unwrap();
        let e = publish_post(&ctx, &p.id, p.version).unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation);
        assert_eq!(e.problems[0].message, "这条直播已经发布");
    }

    #[test]
    fn an_edit_after_publishing_shows_as_updated_and_is_announced() {
        let (_d, ctx, clock) = setup();
        let p = publish(&ctx, &clock, "初稿");
        let seq = latest_seq(&ctx).unwrap();
        clock.advance(chrono::Duration::minutes(10));
        update_post(&ctx, &p.id, p.version, input("更正后的正文\n第二段")).unwrap();
        let pp = public_post(&ctx, &p.id).unwrap().unwrap();
        assert_eq!(pp.updated_time.as_deref(), Some("09:11"));
        assert_eq!(pp.paragraphs, vec!["更正后的正文", "第二段"]);
        let ev = feed_events_since(&ctx, seq, 10).unwrap();
        assert_eq!(ev[0].kind, FeedEventKind::Updated);
    }

    #[test]
    fn a_retracted_post_disappears_and_cannot_be_edited_or_republished() {
        let (_d, ctx, clock) = setup();
        let p = publish(&ctx, &clock, "发错的一条");
        let r = retract_post(&ctx, &p.id).unwrap();
        assert_eq!(r.retracted_by.as_deref(), Some("organiser"));
        assert!(r.retracted_at.is_some());
        assert!(public_feed(&ctx, None, 10).unwrap().posts.is_empty());
        assert!(all_public_posts(&ctx).unwrap().is_empty());
        let e = update_post(&ctx, &p.id, r.version, input("再改")).unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation);
        assert!(publish_post(&ctx, &p.id, r.version).is_err());
        assert!(retract_post(&ctx, &p.id).is_err());
        let ev = feed_events_since(&ctx, 0, 10).unwrap();
        assert!(
            ev.iter()
                .all(|e| e.kind == FeedEventKind::Retracted && e.post.is_none()),
            "replaying the log never brings the content back: {ev:?}"
        );
        assert_eq!(
            list_posts(&ctx).unwrap()[0].status,
            PostStatus::Retracted,
            "the app still lists it"
        );
    }

    #[test]
    fn a_draft_cannot_be_retracted_or_pinned() {
        let (_d, ctx, _c) = setup();
        let d = create_draft(&ctx, input("草稿")).unwrap();
        assert_eq!(
            retract_post(&ctx, &d.id).unwrap_err().code,
            ErrorCode::Validation
        );
        assert_eq!(
            pin_post(&ctx, &d.id).unwrap_err().code,
            ErrorCode::Validation
        );
        assert_eq!(
            publish_post(&ctx, "missing", 1).unwrap_err().code,
            ErrorCode::NotFound
        );
    }

    #[test]
    fn pinning_one_post_unpins_the_other_and_the_pinned_post_leads_the_first_page() {
        let (_d, ctx, clock) = setup();
        let a = publish(&ctx, &clock, "开篇");
        let b = publish(&ctx, &clock, "第二条");
        let c = publish(&ctx, &clock, "第三条");
        pin_post(&ctx, &a.id).unwrap();
        let feed = public_feed(&ctx, None, 10).unwrap();
        assert_eq!(feed.pinned.as_ref().map(|p| &p.id), Some(&a.id));
        assert_eq!(
            feed.posts.iter().map(|p| &p.id).collect::<Vec<_>>(),
            vec![&c.id, &b.id]
        );
        pin_post(&ctx, &b.id).unwrap();
        let posts = list_posts(&ctx).unwrap();
        assert_eq!(posts.iter().filter(|p| p.pinned).count(), 1);
        assert!(posts.iter().find(|p| p.id == b.id).unwrap().pinned);
        unpin_post(&ctx, &b.id).unwrap();
        assert!(public_feed(&ctx, None, 10).unwrap().pinned.is_none());
        assert!(unpin_post(&ctx, &b.id).is_err(), "not pinned any more");
    }

    #[test]
    fn pages_chain_by_cursor_and_a_bad_cursor_or_limit_is_refused() {
        let (_d, ctx, clock) = setup();
        let ids: Vec<String> = (0..3)
            .map(|i| publish(&ctx, &clock, &format!("第{i}条")).id)
            .collect();
        let p1 = public_feed(&ctx, None, 1).unwrap();
        assert_eq!(p1.posts[0].id, ids[2]);
        let p2 = public_feed(&ctx, p1.next_cursor.as_deref(), 1).unwrap();
        assert_eq!(p2.posts[0].id, ids[1]);
        assert!(p2.pinned.is_none());
        let p3 = public_feed(&ctx, p2.next_cursor.as_deref(), 1).unwrap();
        assert_eq!(p3.posts[0].id, ids[0]);
        assert_eq!(p3.next_cursor, None, "the last page has no cursor");
        for bad in ["", "abc", "12.not-a-uuid", "-5.x", "1.2.3"] {
            let e = public_feed(&ctx, Some(bad), 10).unwrap_err();
            assert_eq!(e.code, ErrorCode::Validation, "{bad}");
        }
        assert!(public_feed(&ctx, None, 0).is_err());
        assert!(public_feed(&ctx, None, MAX_PAGE + 1).is_err());
    }

    #[test]
    fn the_stop_label_comes_from_the_route() {
        let (_d, ctx, _c) = setup();
        let t = crate::roster::list_townships(&ctx)
            .unwrap()
            .into_iter()
            .find(|t| t.name == "水口山镇")
            .unwrap();
        assert_eq!(
            stop_label_for_township(&ctx, &t.id).unwrap(),
            format!("【第{}站·水口山镇】", t.position)
        );
    }
}
