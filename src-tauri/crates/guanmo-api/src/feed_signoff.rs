//! Sign-off of live-feed posts (审核流程, 三审): the organiser's setting, the steps people take
//! (提交审核, 通过, 退回, 紧急发布), each post's history and the 审核队列 of the person at the
//! keyboard. Rules are `guanmo_domain::feed::signoff`'s; each step is checked and recorded in
//! one write transaction against the post's steps as they are then, and the hub checks it
//! again when it arrives from a laptop (`guanmo_store::trust`).

use super::Post;
use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use guanmo_domain::device::Role;
use guanmo_domain::feed::signoff::{
    advance, authorize, level_for, level_name, may_act_at, pending_word, skipped_levels,
    SignoffAction, SignoffError, SignoffSettings, SignoffStage, StepRecord,
};
use guanmo_domain::feed::PostStatus;
use guanmo_domain::people::{person_of_label, PersonRole, UNASSIGNED_ID};
use guanmo_domain::problem::{has_errors, Problem, ProblemCode};
use guanmo_store::feed::{self as store, signoff as signoff_store};
use serde::{Deserialize, Serialize};
use specta::Type;

/// Who signs off on a device where no one signs in (the organiser's, as before people).
const NO_PERSON_NAME: &str = "组织方";

/// One step of a post's history, as the app shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct PostStepView {
    /// Step id.
    pub id: String,
    /// What was done.
    pub action: SignoffAction,
    /// 提交审核, 通过, 退回, 紧急发布 (签发 when it skipped no level).
    pub label: String,
    /// Level it was done at.
    pub level: i32,
    /// 一审, 二审, 三审.
    pub level_name: String,
    /// Who.
    pub person_name: String,
    /// When, RFC 3339.
    pub at: String,
    /// 退回's reason.
    pub reason: String,
    /// Levels a 紧急发布 skipped.
    pub skipped: Vec<i32>,
    /// The hub refused it (someone acted first): it does not count.
    pub void: bool,
}

/// A post waiting in the signed-in person's 审核队列.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct SignoffQueueItem {
    /// The post.
    pub post: Post,
    /// The level that acts next (the final level when none is left: 签发).
    pub next_level: i32,
    /// 待二审, 待三审, 待签发…
    pub word: String,
    /// Who submitted it (一审).
    pub submitted_by: String,
}

/// The 审核流程 setting, what the person at the keyboard may do, and their queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct SignoffOverview {
    /// The organiser's setting.
    pub settings: SignoffSettings,
    /// Levels the person may act at (all of them on a device where no one signs in).
    pub my_levels: Vec<i32>,
    /// They hold the final level: 紧急发布 and 签发 are theirs.
    pub final_level: bool,
    /// Pending posts they may act on now.
    pub queue: Vec<SignoffQueueItem>,
}

/// The 审核流程 setting (one level until the organiser sets it).
pub fn get_signoff_settings(ctx: &Ctx) -> ApiResult<SignoffSettings> {
    Ok(ctx.store.read(signoff_store::settings)?)
}

/// Sets the 审核流程 setting (组织方, on the hub). Pending posts stay as they are: lowering
/// the levels publishes nothing by itself.
pub fn set_signoff_settings(ctx: &Ctx, settings: SignoffSettings) -> ApiResult<SignoffSettings> {
    ctx.ensure_organiser()?;
    let problems = settings.validate();
    if has_errors(&problems) {
        return Err(ApiError::with_problems(
            ErrorCode::Validation,
            "sign-off settings refused",
            problems,
        ));
    }
    ctx.store.write(ctx.now(), &ctx.author()?, |tx| {
        signoff_store::set_settings(tx, &settings)
    })?;
    get_signoff_settings(ctx)
}

/// The person at the keyboard as sign-off needs them: `(id, name, roles)`, roles `None` on a
/// device where no one signs in. A laptop's steps always name a person (the hub checks it).
fn signer(ctx: &Ctx) -> ApiResult<(String, String, Option<Vec<PersonRole>>)> {
    crate::people::ensure_signed_in(ctx)?;
    match crate::people::signed_in(ctx)? {
        Some(p) => Ok((p.id, p.name, Some(p.roles))),
        None if ctx.device_role()?.is_some_and(Role::is_laptop) => Err(ApiError::with_problems(
            ErrorCode::SignInRequired,
            "sign-off on a laptop names its person",
            vec![Problem::error(
                ProblemCode::Required,
                "谁在操作",
                "审核需要署名:请组织方在人员名单中登记编辑和签发人,并在本机登录",
            )],
        )),
        None => Ok((UNASSIGNED_ID.to_string(), NO_PERSON_NAME.to_string(), None)),
    }
}

fn refused_signoff(e: SignoffError) -> ApiError {
    let code = match e {
        SignoffError::NoRight(_) | SignoffError::OwnPost => ErrorCode::Forbidden,
        _ => ErrorCode::Validation,
    };
    ApiError::with_problems(
        code,
        e.to_string(),
        vec![Problem::error(ProblemCode::Invalid, "审核", e.to_string())],
    )
}

/// Takes a sign-off step on post `id`, still at `expected_version` (what was reviewed is what
/// is approved): 提交审核 (the author, a draft), 通过 (the next level), 退回 (with a reason),
/// 紧急发布 (a final-level person, from draft or any pending level; logged with the levels it
/// skipped). The final level's 通过 and 紧急发布 publish the post.
pub fn signoff_post(
    ctx: &Ctx,
    id: &str,
    action: SignoffAction,
    expected_version: i32,
    reason: String,
) -> ApiResult<Post> {
    crate::people::ensure_any_role(
        ctx,
        &[
            PersonRole::Editor,
            PersonRole::Organiser,
            PersonRole::Approver,
        ],
    )?;
    let author = ctx.author()?;
    let (person_id, person_name, roles) = signer(ctx)?;
    let out = ctx.store.write(ctx.now(), &author, |tx| {
        let conn = tx.conn();
        let current = store::get(conn, id)?;
        let rule = (|| {
            match current.status {
                PostStatus::Published => return Err(SignoffError::Published),
                PostStatus::Retracted => return Err(SignoffError::NotPending),
                PostStatus::Draft | PostStatus::Pending => {}
            }
            if current.version != expected_version {
                return Err(SignoffError::StaleVersion);
            }
            let levels = signoff_store::settings(conn)
                .map_err(|_| SignoffError::Stale)?
                .levels;
            let state = signoff_store::state(conn, id).map_err(|_| SignoffError::Stale)?;
            let level = level_for(&state, action, levels)?;
            authorize(roles.as_deref(), level)?;
            let record = StepRecord {
                id: guanmo_domain::ids::new_id(),
                action,
                level,
                levels,
                after: state.head.clone(),
                post_version: current.version,
                person_id: person_id.clone(),
                person_name: person_name.clone(),
                hlc: String::new(),
                at: tx.at().to_string(),
                reason: reason.trim().to_string(),
            };
            let author_id = signoff_store::author_of(conn, id).map_err(|_| SignoffError::Stale)?;
            advance(
                &state,
                &record,
                person_of_label(&author_id),
                current.version,
            )?;
            let skipped = if action == SignoffAction::FastTrack {
                skipped_levels(&state, levels)
            } else {
                Vec::new()
            };
            Ok((record, skipped))
        })();
        match rule {
            Err(e) => Ok(Err(e)),
            Ok((record, skipped)) => {
                signoff_store::insert_step(
                    tx,
                    &signoff_store::NewStep {
                        post_id: id,
                        record,
                        skipped,
                    },
                )?;
                Ok(Ok(store::get(conn, id)?))
            }
        }
    })?;
    out.map_err(refused_signoff)
}

/// A post's sign-off history, oldest first: who did what at which level and when, 紧急发布
/// with the levels it skipped, and steps that did not count.
pub fn post_history(ctx: &Ctx, id: &str) -> ApiResult<Vec<PostStepView>> {
    let steps = ctx.store.read(|c| {
        store::get(c, id)?;
        signoff_store::steps(c, id)
    })?;
    Ok(steps
        .into_iter()
        .map(|s| {
            let r = s.record;
            let label = match r.action {
                SignoffAction::FastTrack if s.skipped.is_empty() => "签发".to_string(),
                a => a.label().to_string(),
            };
            PostStepView {
                id: r.id,
                action: r.action,
                label,
                level: r.level,
                level_name: level_name(r.level).to_string(),
                person_name: r.person_name,
                at: r.at,
                reason: r.reason,
                skipped: s.skipped,
                void: s.void,
            }
        })
        .collect())
}

/// The setting, what the person at the keyboard may do and the pending posts waiting for
/// them: each at the level that acts next, never their own post nor one they acted on in
/// this round (a post whose levels were lowered away waits for 签发 by a final-level person).
pub fn signoff_overview(ctx: &Ctx) -> ApiResult<SignoffOverview> {
    let settings = get_signoff_settings(ctx)?;
    let person = crate::people::signed_in(ctx)?;
    let roles = person.as_ref().map(|p| p.roles.clone());
    let may = |level: i32| roles.as_deref().is_none_or(|r| may_act_at(r, level));
    let my_levels: Vec<i32> = (1..=settings.levels).filter(|l| may(*l)).collect();
    let me = person.as_ref().map(|p| p.id.clone());
    let mut queue = Vec::new();
    if settings.levels > 1 {
        let posts = ctx.store.read(store::list_all)?;
        for post in posts
            .into_iter()
            .filter(|p| p.status == PostStatus::Pending)
        {
            let (state, steps, author) = ctx.store.read(|c| {
                Ok((
                    signoff_store::state(c, &post.id)?,
                    signoff_store::steps(c, &post.id)?,
                    signoff_store::author_of(c, &post.id)?,
                ))
            })?;
            if state.stage != SignoffStage::Pending {
                continue;
            }
            let next = (state.levels_done + 1).min(settings.levels);
            let mine = me.as_deref().is_some_and(|m| {
                person_of_label(&author) == m || state.round_people.iter().any(|p| p == m)
            });
            if !may(next) || mine {
                continue;
            }
            let submitted_by = steps
                .iter()
                .rev()
                .find(|s| !s.void && s.record.action == SignoffAction::Submit)
                .map(|s| s.record.person_name.clone())
                .unwrap_or_default();
            queue.push(SignoffQueueItem {
                word: pending_word(state.levels_done, settings.levels).to_string(),
                next_level: next,
                submitted_by,
                post,
            });
        }
    }
    Ok(SignoffOverview {
        final_level: settings.levels > 1 && may(settings.levels),
        settings,
        my_levels,
        queue,
    })
}

#[cfg(test)]
#[path = "feed_signoff_tests.rs"]
mod tests;
