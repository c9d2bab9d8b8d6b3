//! Sign-off of live-feed posts (审核流程, 三审): with one level an editor publishes directly (as
//! before); with two or three, a post goes 草稿 → 待审 (一审 done: the author submitted it) →
//! 待二审/待三审 → 已发布, each level by a person holding the role for it, never twice by the
//! same person in one round and never by the post's author above 一审. 退回 sends a pending
//! post back to draft with a reason; 紧急发布 lets a person of the final level publish from
//! draft or any pending level, recording the levels it skipped.
//!
//! Steps are records made once, each naming the step it followed (`after`). A post's state is
//! [`fold`]ed from its steps: starting from no step, the next step is, among the steps that
//! follow the current one and are valid from the state so far, the first by hybrid clock; so
//! every replica holding the same steps reaches the same state whatever order they came in.
//! Two approvals of one level made without seeing each other: the first counts, the other
//! changes nothing. Nothing here knows about retraction: a retracted post is never folded.

use crate::people::{PersonRole, UNASSIGNED_ID};
use crate::problem::{Problem, ProblemCode};
use serde::{Deserialize, Serialize};
use specta::Type;

/// Most levels of sign-off (三审).
pub const MAX_LEVELS: i32 = 3;
/// Longest reason of a 退回, in characters.
pub const MAX_REASON_CHARS: usize = 200;

/// The organiser's 审核流程 setting (the hub's, replicated to every laptop).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct SignoffSettings {
    /// Levels of sign-off, 1 to 3 (1: an editor publishes directly).
    pub levels: i32,
    /// Print 责任编辑 and 审核 under each signed-off post on the resident page.
    pub print_footer: bool,
}

impl Default for SignoffSettings {
    fn default() -> Self {
        SignoffSettings {
            levels: 1,
            print_footer: false,
        }
    }
}

impl SignoffSettings {
    /// Problems with the setting; empty when it may be saved.
    pub fn validate(&self) -> Vec<Problem> {
        if (1..=MAX_LEVELS).contains(&self.levels) {
            Vec::new()
        } else {
            vec![Problem::error(
                ProblemCode::OutOfRange,
                "审核流程",
                format!("审核级数应为1到{MAX_LEVELS}级"),
            )]
        }
    }
}

/// What a person does to a post under sign-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum SignoffAction {
    /// 提交审核: the author hands a draft to review (一审 done).
    Submit,
    /// 通过: the next level approves; the final level publishes.
    Approve,
    /// 退回: back to draft, with a reason.
    Return,
    /// 紧急发布 (or 签发 when no level is left): a final-level person publishes at once.
    FastTrack,
}

impl SignoffAction {
    /// Every action.
    pub const ALL: [SignoffAction; 4] = [
        SignoffAction::Submit,
        SignoffAction::Approve,
        SignoffAction::Return,
        SignoffAction::FastTrack,
    ];

    /// The word stored.
    pub fn as_str(self) -> &'static str {
        match self {
            SignoffAction::Submit => "submit",
            SignoffAction::Approve => "approve",
            SignoffAction::Return => "return",
            SignoffAction::FastTrack => "fast_track",
        }
    }

    /// Parses the stored word.
    pub fn parse(s: &str) -> Option<SignoffAction> {
        SignoffAction::ALL.into_iter().find(|a| a.as_str() == s)
    }

    /// The Chinese word the app shows.
    pub fn label(self) -> &'static str {
        match self {
            SignoffAction::Submit => "提交审核",
            SignoffAction::Approve => "通过",
            SignoffAction::Return => "退回",
            SignoffAction::FastTrack => "紧急发布",
        }
    }
}

/// 一审, 二审, 三审.
pub fn level_name(level: i32) -> &'static str {
    match level {
        1 => "一审",
        2 => "二审",
        _ => "三审",
    }
}

/// Whether a person with `roles` may act at `level`: 一审 any 编辑 (or 组织方, who writes the
/// feed as before), 二审 (责任编辑) a 编辑 or a 签发人, 三审 (审核/签发) a 签发人 only.
pub fn may_act_at(roles: &[PersonRole], level: i32) -> bool {
    let has = |r: PersonRole| roles.contains(&r);
    match level {
        1 => has(PersonRole::Editor) || has(PersonRole::Organiser) || has(PersonRole::Approver),
        2 => has(PersonRole::Editor) || has(PersonRole::Approver),
        3 => has(PersonRole::Approver),
        _ => false,
    }
}

/// Where a post is in its sign-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum SignoffStage {
    /// 草稿 (also after 退回).
    #[default]
    Draft,
    /// 待审 at some level.
    Pending,
    /// 已发布 by its last step.
    Published,
}

impl SignoffStage {
    /// The word stored.
    pub fn as_str(self) -> &'static str {
        match self {
            SignoffStage::Draft => "draft",
            SignoffStage::Pending => "pending",
            SignoffStage::Published => "published",
        }
    }

    /// Parses the stored word.
    pub fn parse(s: &str) -> Option<SignoffStage> {
        [
            SignoffStage::Draft,
            SignoffStage::Pending,
            SignoffStage::Published,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// The word shown for a pending post: 待审 right after submitting, 待二审/待三审 at the next
/// level, 待签发 when no configured level is left (the levels were lowered meanwhile).
pub fn pending_word(levels_done: i32, levels: i32) -> &'static str {
    if levels_done >= levels {
        "待签发"
    } else {
        match levels_done + 1 {
            2 => "待二审",
            3 => "待三审",
            _ => "待审",
        }
    }
}

/// One step as recorded (what [`fold`] reads).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// UUIDv7.
    pub id: String,
    /// What was done.
    pub action: SignoffAction,
    /// The level it was done at (退回: the level that would have approved next).
    pub level: i32,
    /// The 审核流程 levels in force where and when it was done.
    pub levels: i32,
    /// The step it followed (`None`: the post's first).
    pub after: Option<String>,
    /// The post's version the person had in front of them.
    pub post_version: i32,
    /// Who did it (person id; [`UNASSIGNED_ID`] on a device where no one signs in).
    pub person_id: String,
    /// Their name as recorded.
    pub person_name: String,
    /// Hybrid clock of its operation (orders steps made without seeing each other).
    pub hlc: String,
    /// Wall time, RFC 3339 (a publishing step's is the post's publication time).
    pub at: String,
    /// 退回's reason.
    pub reason: String,
}

/// A post's sign-off state, as folded from its steps.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Signoff {
    /// Draft, pending or published.
    pub stage: SignoffStage,
    /// Levels approved in this round (1 once submitted).
    pub levels_done: i32,
    /// The post's version submitted in this round: what every level approves.
    pub round_version: i32,
    /// The last step that counts.
    pub head: Option<String>,
    /// Who acted in this round (no one acts twice).
    pub round_people: Vec<String>,
    /// 责任编辑: who approved 二审 (or published at level 2).
    pub editor: Option<String>,
    /// 审核: who approved 三审 (or published at level 3).
    pub approver: Option<String>,
    /// The reason of the last 退回, while the post is back in draft.
    pub returned_reason: Option<String>,
    /// The step that published the post.
    pub published_by: Option<String>,
    /// When it was published (that step's time).
    pub published_at: Option<String>,
}

/// Why a step is refused; the message is for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignoffError {
    /// With one level there is nothing to submit: publish directly.
    #[error("审核流程为一级,编辑可直接发布")]
    SingleLevel,
    /// With two or more levels an editor may not publish directly.
    #[error("审核流程为{0}级,请提交审核")]
    NeedsSignoff(i32),
    /// Published already.
    #[error("这条直播已经发布")]
    Published,
    /// Only a draft is submitted.
    #[error("只有草稿可以提交审核")]
    NotDraft,
    /// Approve or return something not pending.
    #[error("这条直播不在审核中")]
    NotPending,
    /// No configured level is left: a final-level person publishes it explicitly (签发).
    #[error("审核级数已调低,这条直播等待签发")]
    NoLevelLeft,
    /// The person lacks the role for the level.
    #[error("您没有{0}的权限")]
    NoRight(&'static str),
    /// The post's author above 一审, or a person acting twice in one round.
    #[error("不能审核本人撰写或已审过的稿件")]
    OwnPost,
    /// The content is not the version submitted (or was edited meanwhile).
    #[error("稿件已修改,请重新提交审核")]
    StaleVersion,
    /// Someone acted on the post meanwhile.
    #[error("这条直播刚被他人处理,请刷新后再试")]
    Stale,
    /// 退回 needs a reason.
    #[error("请填写退回理由(不超过{MAX_REASON_CHARS}字)")]
    Reason,
}

fn same_person(a: &str, b: &str) -> bool {
    a == b && a != UNASSIGNED_ID
}

/// The state after `step`, or why it cannot follow `state`. `author_id` is the person who
/// started the post; `current_version` the post's version now, which a publishing step must
/// have approved (a submit is checked against it where it is made, since later rounds
/// follow it).
pub fn advance(
    state: &Signoff,
    step: &StepRecord,
    author_id: &str,
    current_version: i32,
) -> Result<Signoff, SignoffError> {
    use SignoffAction as A;
    use SignoffStage as S;
    if step.after != state.head {
        return Err(SignoffError::Stale);
    }
    if state.stage == S::Published {
        return Err(SignoffError::Published);
    }
    let acted_before = state
        .round_people
        .iter()
        .any(|p| same_person(p, &step.person_id));
    let mut next = state.clone();
    next.head = Some(step.id.clone());
    match step.action {
        A::Submit => {
            if state.stage != S::Draft {
                return Err(SignoffError::NotDraft);
            }
            if step.levels < 2 {
                return Err(SignoffError::SingleLevel);
            }
            if step.level != 1 {
                return Err(SignoffError::Stale);
            }
            next.stage = S::Pending;
            next.levels_done = 1;
            next.round_version = step.post_version;
            next.round_people = vec![step.person_id.clone()];
            next.editor = None;
            next.approver = None;
            next.returned_reason = None;
        }
        A::Approve => {
            if state.stage != S::Pending {
                return Err(SignoffError::NotPending);
            }
            if state.levels_done >= step.levels {
                return Err(SignoffError::NoLevelLeft);
            }
            if step.level != state.levels_done + 1 || step.level < 2 {
                return Err(SignoffError::Stale);
            }
            if acted_before || same_person(author_id, &step.person_id) {
                return Err(SignoffError::OwnPost);
            }
            let last = step.level == step.levels;
            if step.post_version != state.round_version
                || (last && state.round_version != current_version)
            {
                return Err(SignoffError::StaleVersion);
            }
            next.levels_done = step.level;
            next.round_people.push(step.person_id.clone());
            name_level(&mut next, step.level, &step.person_name);
            if last {
                publish(&mut next, step);
            }
        }
        A::Return => {
            if state.stage != S::Pending {
                return Err(SignoffError::NotPending);
            }
            let reason = step.reason.trim();
            if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
                return Err(SignoffError::Reason);
            }
            next = Signoff {
                head: next.head,
                returned_reason: Some(reason.to_string()),
                ..Signoff::default()
            };
        }
        A::FastTrack => {
            if step.level != step.levels || step.levels < 2 {
                return Err(SignoffError::NoRight(level_name(step.level)));
            }
            if acted_before || same_person(author_id, &step.person_id) {
                return Err(SignoffError::OwnPost);
            }
            let version_ok = step.post_version == current_version
                && (state.stage == S::Draft || state.round_version == current_version);
            if !version_ok {
                return Err(SignoffError::StaleVersion);
            }
            name_level(&mut next, step.level, &step.person_name);
            next.levels_done = next.levels_done.max(step.level);
            next.round_people.push(step.person_id.clone());
            next.returned_reason = None;
            publish(&mut next, step);
        }
    }
    Ok(next)
}

fn name_level(state: &mut Signoff, level: i32, name: &str) {
    match level {
        2 => state.editor = Some(name.to_string()),
        3 => state.approver = Some(name.to_string()),
        _ => {}
    }
}

fn publish(state: &mut Signoff, step: &StepRecord) {
    state.stage = SignoffStage::Published;
    state.published_by = Some(step.id.clone());
    state.published_at = Some(step.at.clone());
}

/// The levels a 紧急发布 from `state` skips under `levels`: those not approved in this round.
pub fn skipped_levels(state: &Signoff, levels: i32) -> Vec<i32> {
    let done = if state.stage == SignoffStage::Pending {
        state.levels_done
    } else {
        0
    };
    ((done + 1)..levels).collect()
}

/// The level a new step of `action` is made at, under `levels`, from `state`.
pub fn level_for(state: &Signoff, action: SignoffAction, levels: i32) -> Result<i32, SignoffError> {
    use SignoffAction as A;
    match action {
        A::Submit => Ok(1),
        A::FastTrack => Ok(levels),
        _ if state.stage != SignoffStage::Pending => Err(SignoffError::NotPending),
        A::Approve if state.levels_done >= levels => Err(SignoffError::NoLevelLeft),
        A::Approve => Ok(state.levels_done + 1),
        A::Return => Ok((state.levels_done + 1).min(levels)),
    }
}

/// Whether a person with `roles` (`None`: a device where no one signs in, acting as the
/// organiser's) may make a step of `action` at `level`. 紧急发布 and 签发 need the final level,
/// which is the level they are made at.
pub fn authorize(roles: Option<&[PersonRole]>, level: i32) -> Result<(), SignoffError> {
    match roles {
        None => Ok(()),
        Some(r) if may_act_at(r, level) => Ok(()),
        Some(_) => Err(SignoffError::NoRight(level_name(level))),
    }
}

/// A post's state from its steps (see the module doc): order-independent, and every step that
/// does not follow validly is left out.
pub fn fold(steps: &[StepRecord], author_id: &str, current_version: i32) -> Signoff {
    let mut state = Signoff::default();
    let mut used = vec![false; steps.len()];
    loop {
        let next = steps
            .iter()
            .enumerate()
            .filter(|(i, s)| !used[*i] && s.after == state.head)
            .filter_map(|(i, s)| {
                advance(&state, s, author_id, current_version)
                    .ok()
                    .map(|n| (i, n))
            })
            .min_by(|(a, _), (b, _)| {
                (&steps[*a].hlc, &steps[*a].id).cmp(&(&steps[*b].hlc, &steps[*b].id))
            });
        match next {
            Some((i, n)) => {
                used[i] = true;
                state = n;
            }
            None => return state,
        }
    }
}

#[cfg(test)]
#[path = "feed_signoff_tests.rs"]
mod tests;
