//! Scoring use cases: registering scorers, opening and closing scoring per township, filling
//! and submitting sheets (autosaved mark by mark), unlocking with a reason, and the explained
//! ranking. Each mark is checked against the rubric here, whatever the UI already checked.

use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use guanmo_domain::aggregation::{
    self, AggregationRule, CategoryTenths, SheetScore, Standings, TownshipExpectation,
};
use guanmo_domain::points::Points;
use guanmo_domain::problem::{has_errors, Problem, ProblemCode};
use guanmo_domain::roster::Township;
use guanmo_domain::schedule::{self, ManualState, Window};
use guanmo_domain::scoring::{
    check_points, check_reason, AuditEntry, Scorer, ScorerInput, ScoringState, Sheet, SheetStatus,
    MAX_NOTE_CHARS, MIN_REASON_CHARS,
};
use guanmo_store::scoring::{self as store, MarkTarget};
use guanmo_store::{meta, ChangeInput};
use serde::Serialize;
use specta::Type;
use std::collections::HashMap;

const DEVICE_SCORER: &str = "device_scorer_id";
const RULE: &str = "aggregation_rule";

/// A township's row on the scoring board.
#[derive(Debug, Clone, Serialize, Type)]
pub struct TownshipScoring {
    /// Township.
    pub township_id: String,
    /// Name.
    pub name: String,
    /// Visit order.
    pub position: i32,
    /// Not open / open / closed, now on this device: the organiser's manual state, else
    /// the schedule's.
    pub state: ScoringState,
    /// True when no manual state is set (按日程): the state follows the schedule.
    pub by_schedule: bool,
    /// Scheduled arrival, when the tour date and the township's day and arrival are set:
    /// RFC 3339 in Beijing time (`+08:00`).
    pub opens_at: Option<String>,
    /// Sheets expected (active scorers, less the township's own heads).
    pub expected: i32,
    /// Sheets submitted.
    pub submitted: i32,
    /// Expected scorers who have not submitted a sheet here, in registration order.
    pub missing_scorer_ids: Vec<String>,
    /// Why scoring was closed although sheets were missing (while it stays closed).
    pub close_reason: Option<String>,
}

/// Where one scorer's sheet for one township stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum SheetProgress {
    /// 未评: no sheet started.
    NotStarted,
    /// 草稿: started, not submitted.
    Draft,
    /// 已提交.
    Submitted,
    /// 回避: the scorer heads this township and does not score it.
    Recused,
}

/// One cell of the scorer × township grid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct SheetCell {
    /// Township.
    pub township_id: String,
    /// Where the sheet stands.
    pub state: SheetProgress,
    /// The sheet, once started.
    pub sheet_id: Option<String>,
    /// 逾期: submitted after the township's scheduled slot (arrival + slot length).
    pub late: bool,
}

/// A scorer's row on the progress board.
#[derive(Debug, Clone, Serialize, Type)]
pub struct ScorerProgress {
    /// Scorer.
    pub scorer_id: String,
    /// Name.
    pub name: String,
    /// Group.
    pub group: String,
    /// Work unit (单位); blank when not given.
    pub work_unit: String,
    /// Sheets expected from them.
    pub expected: i32,
    /// Sheets they submitted.
    pub submitted: i32,
    /// Their sheet for every enabled township, in route order (as `townships`).
    pub sheets: Vec<SheetCell>,
}

/// The scoring board: where the tour is and who has submitted what.
#[derive(Debug, Clone, Serialize, Type)]
pub struct ScoringBoard {
    /// Enabled townships in route order.
    pub townships: Vec<TownshipScoring>,
    /// The open township arrived at last by the schedule, else the first open one on the
    /// route: what a scorer sees first.
    pub current_township_id: Option<String>,
    /// Every active scorer.
    pub scorers: Vec<ScorerProgress>,
}

fn refuse(code: ErrorCode, location: &str, message: String) -> ApiError {
    ApiError::with_problems(
        code,
        message.clone(),
        vec![Problem::error(ProblemCode::Invalid, location, message)],
    )
}

/// A value the domain refused, as a validation error with its typed problem at `location`.
fn refused_at(location: &str, r: guanmo_domain::scoring::Refused) -> ApiError {
    ApiError::with_problems(
        ErrorCode::Validation,
        r.message.clone(),
        vec![r.at(location)],
    )
}

/// All scorers.
pub fn list_scorers(ctx: &Ctx) -> ApiResult<Vec<Scorer>> {
    Ok(ctx.store.read(store::list_scorers)?)
}

fn check_scorer(ctx: &Ctx, input: &ScorerInput) -> ApiResult<()> {
    let mut problems = input.validate();
    if let Some(t) = &input.township_id {
        if ctx.store.read(|c| guanmo_store::roster::get(c, t)).is_err() {
            problems.push(Problem::error(
                ProblemCode::Invalid,
                "所属乡镇",
                "所属乡镇(街道)不存在",
            ));
        }
    }
    if has_errors(&problems) {
        return Err(ApiError::with_problems(
            ErrorCode::Validation,
            "scorer refused",
            problems,
        ));
    }
    Ok(())
}

/// Registers a scorer.
pub fn register_scorer(ctx: &Ctx, input: ScorerInput) -> ApiResult<Scorer> {
    ctx.ensure_organiser()?;
    let input = input.normalized();
    check_scorer(ctx, &input)?;
    Ok(ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        store::insert_scorer(tx, &input)
    })?)
}

/// Edits a scorer.
pub fn update_scorer(
    ctx: &Ctx,
    id: &str,
    expected_version: i32,
    input: ScorerInput,
) -> ApiResult<Scorer> {
    ctx.ensure_organiser()?;
    let input = input.normalized();
    check_scorer(ctx, &input)?;
    Ok(ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        store::update_scorer(tx, id, expected_version, &input)
    })?)
}

/// The scorer this laptop was set to, if any.
pub fn get_device_scorer(ctx: &Ctx) -> ApiResult<Option<Scorer>> {
    let id = ctx.store.read(|c| meta::get(c, DEVICE_SCORER))?;
    match id.filter(|i| !i.is_empty()) {
        Some(id) => Ok(ctx.store.read(|c| store::get_scorer(c, &id)).ok()),
        None => Ok(None),
    }
}

/// Remembers who uses this laptop (or forgets, with `None`).
pub fn set_device_scorer(ctx: &Ctx, scorer_id: Option<String>) -> ApiResult<Option<Scorer>> {
    if let Some(id) = &scorer_id {
        ctx.store.read(|c| store::get_scorer(c, id))?;
    }
    let value = scorer_id.clone().unwrap_or_default();
    ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        meta::set(tx, DEVICE_SCORER, &value)?;
        tx.record(ChangeInput {
            entity: "device_setting",
            entity_id: DEVICE_SCORER.into(),
            op: "set",
            payload: serde_json::json!({ "scorer_id": scorer_id }),
        })
    })?;
    get_device_scorer(ctx)
}

pub(crate) fn enabled_townships(ctx: &Ctx) -> ApiResult<Vec<Township>> {
    Ok(crate::roster::list_townships(ctx)?
        .into_iter()
        .filter(|t| t.enabled)
        .collect())
}

/// Sheets expected per township: every active scorer except the township's own heads.
pub(crate) fn expected_for(scorers: &[Scorer], township_id: &str) -> i32 {
    scorers
        .iter()
        .filter(|s| s.active && s.township_id.as_deref() != Some(township_id))
        .count() as i32
}

/// One scorer's sheet for one township, from the sheets that exist.
fn cell(
    scorer: &Scorer,
    township_id: &str,
    sheets: &HashMap<(&str, &str), &store::SheetStatusRow>,
    windows: &HashMap<String, Window>,
) -> SheetCell {
    let sheet = sheets.get(&(scorer.id.as_str(), township_id));
    let state = match sheet.map(|s| s.status) {
        Some(SheetStatus::Submitted) => SheetProgress::Submitted,
        // A head's own township is 回避 even if a sheet was somehow started there.
        _ if scorer.township_id.as_deref() == Some(township_id) => SheetProgress::Recused,
        Some(SheetStatus::Draft) => SheetProgress::Draft,
        None => SheetProgress::NotStarted,
    };
    let late = state == SheetProgress::Submitted
        && crate::schedule::late(
            sheet.and_then(|s| s.submitted_at.as_deref()),
            windows.get(township_id),
        );
    SheetCell {
        township_id: township_id.to_string(),
        state,
        sheet_id: sheet.map(|s| s.sheet_id.clone()),
        late,
    }
}

/// Where the tour is and who has submitted what: per township, per scorer, and the grid of
/// every active scorer's sheet for every enabled township.
pub fn scoring_board(ctx: &Ctx) -> ApiResult<ScoringBoard> {
    let townships = enabled_townships(ctx)?;
    let scorers = list_scorers(ctx)?;
    let manual: HashMap<String, ManualState> =
        ctx.store.read(store::manual_states)?.into_iter().collect();
    let windows = crate::schedule::windows(ctx, &townships)?;
    let now = ctx.now();
    let reasons = ctx.store.read(store::close_reasons)?;
    let statuses = ctx.store.read(store::sheet_statuses)?;
    let by_pair: HashMap<(&str, &str), &store::SheetStatusRow> = statuses
        .iter()
        .map(|s| ((s.scorer_id.as_str(), s.township_id.as_str()), s))
        .collect();
    let active: Vec<&Scorer> = scorers.iter().filter(|s| s.active).collect();
    let grid: Vec<ScorerProgress> = active
        .iter()
        .map(|s| {
            let sheets: Vec<SheetCell> = townships
                .iter()
                .map(|t| cell(s, &t.id, &by_pair, &windows))
                .collect();
            let count = |p: SheetProgress| sheets.iter().filter(|c| c.state == p).count() as i32;
            ScorerProgress {
                scorer_id: s.id.clone(),
                name: s.name.clone(),
                group: s.group.clone(),
                work_unit: s.work_unit.clone(),
                expected: sheets.len() as i32 - count(SheetProgress::Recused),
                submitted: count(SheetProgress::Submitted),
                sheets,
            }
        })
        .collect();
    let rows: Vec<TownshipScoring> = townships
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let manual = manual.get(&t.id).copied().unwrap_or(ManualState::Auto);
            let window = windows.get(&t.id);
            let state = schedule::effective_state(manual, window, now);
            let cells = grid.iter().filter_map(|g| Some((g, g.sheets.get(i)?)));
            TownshipScoring {
                township_id: t.id.clone(),
                name: t.name.clone(),
                position: t.position,
                state,
                by_schedule: manual == ManualState::Auto,
                opens_at: window.map(|w| crate::schedule::beijing_text(w.opens)),
                expected: expected_for(&scorers, &t.id),
                // Every submitted sheet counts, an inactive scorer's too (as the ranking does).
                submitted: statuses
                    .iter()
                    .filter(|s| s.township_id == t.id && s.status == SheetStatus::Submitted)
                    .count() as i32,
                missing_scorer_ids: cells
                    .filter(|(_, c)| {
                        matches!(c.state, SheetProgress::NotStarted | SheetProgress::Draft)
                    })
                    .map(|(g, _)| g.scorer_id.clone())
                    .collect(),
                close_reason: if state == ScoringState::Closed {
                    reasons.get(&t.id).cloned()
                } else {
                    None
                },
            }
        })
        .collect();
    // Day 1's townships all stay open until midnight: the one being visited is the open one
    // arrived at last; without a schedule, the first open one on the route.
    let arrived = |r: &TownshipScoring| windows.get(&r.township_id).map(|w| w.opens);
    let current = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.state == ScoringState::Open)
        .max_by_key(|(i, r)| (arrived(r), std::cmp::Reverse(*i)))
        .map(|(_, r)| r.township_id.clone());
    Ok(ScoringBoard {
        townships: rows,
        current_township_id: current,
        scorers: grid,
    })
}

/// Opens or closes scoring of a township. Closing goes through [`close_scoring`] without a
/// reason, so it is refused while expected sheets are missing.
pub fn set_scoring_open(ctx: &Ctx, township_id: &str, open: bool) -> ApiResult<ScoringBoard> {
    if !open {
        return close_scoring(ctx, township_id, None);
    }
    ctx.ensure_organiser()?;
    let t = enabled_township(ctx, township_id)?;
    ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        store::set_state(tx, &t.id, true)
    })?;
    scoring_board(ctx)
}

fn enabled_township(ctx: &Ctx, township_id: &str) -> ApiResult<Township> {
    let t = ctx
        .store
        .read(|c| guanmo_store::roster::get(c, township_id))?;
    if !t.enabled {
        return Err(refuse(
            ErrorCode::Validation,
            "乡镇",
            format!("「{}」已停用,不能评分", t.name),
        ));
    }
    Ok(t)
}

/// Location of the refusal when 结束评分 lacks a reason (the UI points at its reason field).
pub const CLOSE_REASON_LOCATION: &str = "结束评分原因";

/// Closes scoring of a township (结束评分). While an expected scorer (active, not recused) has
/// not submitted, the organiser must say why, in at least [`MIN_REASON_CHARS`] characters: the
/// refusal is `validation` with a `required` problem at [`CLOSE_REASON_LOCATION`] naming who is
/// missing. The reason and the missing scorers are kept in the change log and shown on the
/// board while scoring stays closed.
pub fn close_scoring(
    ctx: &Ctx,
    township_id: &str,
    reason: Option<String>,
) -> ApiResult<ScoringBoard> {
    ctx.ensure_organiser()?;
    let t = enabled_township(ctx, township_id)?;
    let board = scoring_board(ctx)?;
    let names: HashMap<&str, &str> = board
        .scorers
        .iter()
        .map(|s| (s.scorer_id.as_str(), s.name.as_str()))
        .collect();
    let missing: Vec<(String, String)> = board
        .townships
        .iter()
        .find(|r| r.township_id == t.id)
        .map(|r| r.missing_scorer_ids.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|id| {
            let name = names
                .get(id.as_str())
                .copied()
                .unwrap_or_default()
                .to_string();
            (id, name)
        })
        .collect();
    let reason = reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    if let Some(r) = &reason {
        if r.chars().count() > MAX_NOTE_CHARS {
            return Err(refuse(
                ErrorCode::Validation,
                CLOSE_REASON_LOCATION,
                format!("原因不能超过{MAX_NOTE_CHARS}个字"),
            ));
        }
    }
    let short = reason
        .as_ref()
        .is_none_or(|r| r.chars().count() < MIN_REASON_CHARS);
    if !missing.is_empty() && short {
        let who: Vec<&str> = missing.iter().map(|(_, n)| n.as_str()).collect();
        let message = format!(
            "「{}」还有{}位评分人未提交({}),结束评分须填写原因(至少{MIN_REASON_CHARS}个字)",
            t.name,
            missing.len(),
            who.join("、")
        );
        return Err(ApiError::with_problems(
            ErrorCode::Validation,
            "close_reason_required",
            vec![Problem::error(
                ProblemCode::Required,
                CLOSE_REASON_LOCATION,
                message,
            )],
        ));
    }
    ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        store::close_with_reason(tx, &t.id, reason.as_deref(), &missing)
    })?;
    scoring_board(ctx)
}

/// Opens the scorer's sheet for a township, starting an empty draft the first time.
pub fn open_sheet(ctx: &Ctx, scorer_id: &str, township_id: &str) -> ApiResult<Sheet> {
    crate::people::ensure_may_fill_sheet(ctx, scorer_id)?;
    let scorer = ctx.store.read(|c| store::get_scorer(c, scorer_id))?;
    let township = ctx
        .store
        .read(|c| guanmo_store::roster::get(c, township_id))?;
    if scorer.township_id.as_deref() == Some(township_id) {
        return Err(refuse(
            ErrorCode::Recused,
            "回避",
            format!(
                "{}是「{}」的负责人,按回避规定不能为本乡镇评分",
                scorer.name, township.name
            ),
        ));
    }
    if let Some(sheet) = ctx
        .store
        .read(|c| store::find_sheet(c, scorer_id, township_id))?
    {
        return Ok(sheet);
    }
    let state = crate::schedule::state_now(ctx, &township)?;
    if state != ScoringState::Open || !township.enabled {
        return Err(refuse(
            ErrorCode::ScoringClosed,
            "评分状态",
            format!("「{}」尚未开放评分", township.name),
        ));
    }
    Ok(ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        // Another window may have started it in the meantime.
        match store::find_sheet(tx.conn(), scorer_id, township_id)? {
            Some(s) => Ok(s),
            None => store::create_sheet(tx, scorer_id, township_id),
        }
    })?)
}

/// Whether a township is being scored now on this device: the organiser's manual state, else
/// the schedule's (see `guanmo_domain::schedule::effective_state`). Every check of "is
/// scoring open" goes through this.
pub fn scoring_state_now(ctx: &Ctx, township_id: &str) -> ApiResult<ScoringState> {
    let township = ctx
        .store
        .read(|c| guanmo_store::roster::get(c, township_id))?;
    crate::schedule::state_now(ctx, &township)
}

/// The sheet as stored (背靠背: a 评分人 sees only their own).
pub fn get_sheet(ctx: &Ctx, sheet_id: &str) -> ApiResult<Sheet> {
    let sheet = ctx.store.read(|c| store::get_sheet(c, sheet_id))?;
    crate::people::ensure_may_see_sheet(ctx, &sheet.scorer_id)?;
    Ok(sheet)
}

/// A sheet that may change now: a draft of a township whose scoring is open.
pub(crate) fn editable(ctx: &Ctx, sheet_id: &str) -> ApiResult<Sheet> {
    let sheet = get_sheet(ctx, sheet_id)?;
    crate::people::ensure_may_fill_sheet(ctx, &sheet.scorer_id)?;
    if sheet.status == SheetStatus::Submitted {
        return Err(refuse(
            ErrorCode::SheetLocked,
            "评分表",
            "评分表已提交锁定,如需修改请联系组织方解锁".into(),
        ));
    }
    if scoring_state_now(ctx, &sheet.township_id)? != ScoringState::Open {
        return Err(refuse(
            ErrorCode::ScoringClosed,
            "评分状态",
            "该乡镇的评分已结束或尚未开放".into(),
        ));
    }
    Ok(sheet)
}

fn check_note(note: &str) -> ApiResult<String> {
    let n = note.trim();
    if n.chars().count() > MAX_NOTE_CHARS {
        return Err(refuse(
            ErrorCode::Validation,
            "备注",
            format!("备注不能超过{MAX_NOTE_CHARS}个字"),
        ));
    }
    Ok(n.to_string())
}

/// A mark in tenths if it is within 0..=`max` with at most one decimal; `None` clears it.
fn tenths_within(
    points: Option<f64>,
    max: f64,
    what: &str,
    location: &str,
) -> ApiResult<Option<i32>> {
    let Some(v) = points else { return Ok(None) };
    let max = Points::from_f64(max).unwrap_or(Points::ZERO);
    check_points(v, max, what)
        .map(|p| Some(p.tenths()))
        .map_err(|r| refused_at(location, r))
}

/// Saves one criterion's mark and note (autosave); `None` clears the mark.
pub fn record_mark(
    ctx: &Ctx,
    sheet_id: &str,
    criterion_id: &str,
    points: Option<f64>,
    note: String,
) -> ApiResult<Sheet> {
    let sheet = editable(ctx, sheet_id)?;
    let rubric = crate::rubric::get_rubric_for_township(ctx, &sheet.township_id)?;
    let criterion = rubric
        .categories
        .iter()
        .flat_map(|c| c.criteria.iter().map(move |k| (c, k)))
        .find(|(_, k)| k.id.as_deref() == Some(criterion_id));
    let Some((cat, crit)) = criterion else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "criterion not in the rubric",
        ));
    };
    let location = format!("{} › {}", cat.name, crit.name);
    let tenths = tenths_within(points, crit.max_points, "得分", &location)?;
    let note = check_note(&note)?;
    Ok(ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        store::set_mark(
            tx,
            &sheet,
            MarkTarget::Criterion,
            criterion_id,
            tenths,
            &note,
        )
    })?)
}

/// Saves one bonus/penalty item (a magnitude within the item's limit).
pub fn record_adjustment(
    ctx: &Ctx,
    sheet_id: &str,
    adjustment_id: &str,
    points: Option<f64>,
    note: String,
) -> ApiResult<Sheet> {
    let sheet = editable(ctx, sheet_id)?;
    let rubric = crate::rubric::get_rubric_for_township(ctx, &sheet.township_id)?;
    let Some(adj) = rubric
        .adjustments
        .iter()
        .find(|a| a.id.as_deref() == Some(adjustment_id))
    else {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "adjustment not in the rubric",
        ));
    };
    let location = format!("加减分项 › {}", adj.name);
    let tenths = tenths_within(points, adj.limit_points, adj.kind.label(), &location)?;
    let note = check_note(&note)?;
    Ok(ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        store::set_mark(
            tx,
            &sheet,
            MarkTarget::Adjustment,
            adjustment_id,
            tenths,
            &note,
        )
    })?)
}

/// Saves the overall comment.
pub fn set_sheet_comment(ctx: &Ctx, sheet_id: &str, comment: String) -> ApiResult<Sheet> {
    let sheet = editable(ctx, sheet_id)?;
    let comment = check_note(&comment)?;
    Ok(ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        store::set_comment(tx, &sheet, &comment)
    })?)
}

/// Submits (locks) a sheet the scorer confirmed at `expected_version`; every criterion must
/// have a mark.
pub fn submit_sheet(ctx: &Ctx, sheet_id: &str, expected_version: i32) -> ApiResult<Sheet> {
    let sheet = editable(ctx, sheet_id)?;
    if sheet.version != expected_version {
        return Err(ApiError::new(
            ErrorCode::VersionConflict,
            "the sheet changed since it was confirmed",
        ));
    }
    let rubric = crate::rubric::get_rubric_for_township(ctx, &sheet.township_id)?;
    let marked: std::collections::HashSet<&str> = sheet
        .marks
        .iter()
        .filter(|m| m.points.is_some())
        .map(|m| m.criterion_id.as_str())
        .collect();
    let missing: Vec<Problem> = rubric
        .categories
        .iter()
        .flat_map(|c| c.criteria.iter().map(move |k| (c, k)))
        .filter(|(_, k)| !k.id.as_deref().is_some_and(|id| marked.contains(id)))
        .map(|(c, k)| {
            let loc = format!("{} › {}", c.name, k.name);
            Problem::error(ProblemCode::Required, &loc, format!("「{loc}」尚未打分"))
        })
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::with_problems(
            ErrorCode::Validation,
            "sheet incomplete",
            missing,
        ));
    }
    Ok(ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        store::submit(tx, &sheet)
    })?)
}

/// Unlocks a submitted sheet; the organiser must give a reason, which the audit log and the
/// exports carry.
pub fn unlock_sheet(ctx: &Ctx, sheet_id: &str, reason: String) -> ApiResult<Sheet> {
    ctx.ensure_organiser()?;
    let sheet = get_sheet(ctx, sheet_id)?;
    let reason = check_reason(&reason).map_err(|r| refused_at("解锁原因", r))?;
    if sheet.status != SheetStatus::Submitted {
        return Err(refuse(
            ErrorCode::Validation,
            "评分表",
            "评分表尚未提交,无需解锁".into(),
        ));
    }
    Ok(ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        store::unlock(tx, &sheet, &reason)
    })?)
}

/// The audit log, of one sheet or of all.
/// One sheet's needs sight of that sheet; the whole log is for whoever sees the results, and
/// a 评分人 gets only the entries of their own sheets.
pub fn audit_log(ctx: &Ctx, sheet_id: Option<String>) -> ApiResult<Vec<AuditEntry>> {
    if let Some(id) = &sheet_id {
        get_sheet(ctx, id)?;
    }
    let entries = ctx
        .store
        .read(|c| store::audit_log(c, sheet_id.as_deref()))?;
    match crate::people::own_scorer_only(ctx)? {
        Some(own) if sheet_id.is_none() => {
            Ok(entries.into_iter().filter(|e| e.scorer_id == own).collect())
        }
        _ => Ok(entries),
    }
}

/// The aggregation rule in force.
pub fn get_aggregation_rule(ctx: &Ctx) -> ApiResult<AggregationRule> {
    let stored = ctx.store.read(|c| meta::get(c, RULE))?;
    Ok(stored
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default())
}

/// Sets the aggregation rule, if valid.
pub fn set_aggregation_rule(ctx: &Ctx, rule: AggregationRule) -> ApiResult<AggregationRule> {
    ctx.ensure_organiser()?;
    let problems = rule.validate();
    if has_errors(&problems) {
        return Err(ApiError::with_problems(
            ErrorCode::Validation,
            "aggregation rule refused",
            problems,
        ));
    }
    let json = serde_json::to_string(&rule)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        meta::set(tx, RULE, &json)?;
        tx.record(ChangeInput {
            entity: "aggregation_rule",
            entity_id: RULE.into(),
            op: "set",
            payload: serde_json::to_value(&rule)?,
        })
    })?;
    Ok(rule)
}

/// The explained ranking of every enabled township under the rule in force: on the hub, for
/// 组织方 and 计票人, and for the 监票人 once revealed (背靠背).
pub fn get_standings(ctx: &Ctx) -> ApiResult<Standings> {
    crate::people::ensure_sees_results(ctx)?;
    standings_unchecked(ctx)
}

/// The ranking without asking who looks (the sealed tally is computed from it).
pub(crate) fn standings_unchecked(ctx: &Ctx) -> ApiResult<Standings> {
    let rule = get_aggregation_rule(ctx)?;
    let townships = enabled_townships(ctx)?;
    let scorers = list_scorers(ctx)?;
    let expectations: Vec<TownshipExpectation> = townships
        .iter()
        .map(|t| TownshipExpectation {
            township_id: t.id.clone(),
            expected_sheets: expected_for(&scorers, &t.id),
        })
        .collect();
    let sheets = sheet_scores(ctx, &scorers)?;
    Ok(aggregation::aggregate(&expectations, &sheets, &rule))
}

/// Every submitted sheet of a known scorer as the aggregation reads it (the ranking and the
/// grouped results share it).
pub(crate) fn sheet_scores(ctx: &Ctx, scorers: &[Scorer]) -> ApiResult<Vec<SheetScore>> {
    let by_id: HashMap<&str, &Scorer> = scorers.iter().map(|s| (s.id.as_str(), s)).collect();
    Ok(ctx
        .store
        .read(store::submitted_sheets)?
        .into_iter()
        .filter_map(|s| {
            let scorer = by_id.get(s.scorer_id.as_str())?;
            Some(SheetScore {
                sheet_id: s.sheet_id,
                scorer_id: s.scorer_id,
                scorer_name: scorer.name.clone(),
                group: scorer.group.clone(),
                township_id: s.township_id,
                base_tenths: s.base_tenths,
                adjustment_tenths: s.adjustment_tenths,
                category_tenths: s
                    .category_tenths
                    .into_iter()
                    .map(|(category_id, tenths)| CategoryTenths {
                        category_id,
                        tenths,
                    })
                    .collect(),
            })
        })
        .collect())
}

/// Every sheet (drafts and submitted), by route order then scorer.
pub fn list_sheets(ctx: &Ctx) -> ApiResult<Vec<Sheet>> {
    let sheets = ctx.store.read(store::list_sheets)?;
    match crate::people::own_scorer_only(ctx)? {
        Some(own) => Ok(sheets.into_iter().filter(|s| s.scorer_id == own).collect()),
        None => Ok(sheets),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guanmo_domain::FixedClock;
    use std::sync::Arc;

    fn setup() -> (tempfile::TempDir, Ctx, Vec<Township>) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(
            chrono::DateTime::parse_from_rfc3339("2024-12-04T01:00:00Z")
                .unwrap()
                .with_timezone(&chrono::Utc),
        ));
        let ctx = Ctx::open(dir.path(), clock).unwrap();
        let towns = enabled_townships(&ctx).unwrap();
        (dir, ctx, towns)
    }

    fn scorer(ctx: &Ctx, name: &str, township_id: Option<&str>, active: bool) -> Scorer {
        let group = if township_id.is_some() {
            "乡镇(街道)党政主要负责人"
        } else {
            "市领导"
        };
        register_scorer(
            ctx,
            ScorerInput {
                name: name.into(),
                group: group.into(),
                township_id: township_id.map(str::to_string),
                active,
                work_unit: String::new(),
            },
        )
        .unwrap()
    }

    /// Marks every criterion and submits.
    fn submit_full(ctx: &Ctx, scorer: &Scorer, township_id: &str) -> Sheet {
        let mut sheet = open_sheet(ctx, &scorer.id, township_id).unwrap();
        for c in crate::rubric::get_rubric(ctx).unwrap().categories {
            for k in c.criteria {
                let id = k.id.unwrap();
                sheet = record_mark(ctx, &sheet.id, &id, Some(1.0), String::new()).unwrap();
            }
        }
        submit_sheet(ctx, &sheet.id, sheet.version).unwrap()
    }

    fn row<'a>(board: &'a ScoringBoard, township_id: &str) -> &'a TownshipScoring {
        board
            .townships
            .iter()
            .find(|t| t.township_id == township_id)
            .unwrap()
    }

    fn cell_of<'a>(board: &'a ScoringBoard, scorer_id: &str, township_id: &str) -> &'a SheetCell {
        board
            .scorers
            .iter()
            .find(|s| s.scorer_id == scorer_id)
            .unwrap()
            .sheets
            .iter()
            .find(|c| c.township_id == township_id)
            .unwrap()
    }

    #[test]
    fn the_board_grid_shows_every_active_scorers_sheet_per_township_and_who_is_missing() {
        let (_d, ctx, towns) = setup();
        let (t0, t1) = (&towns[0].id, &towns[1].id);
        let done = scorer(&ctx, "张三", None, true);
        let drafting = scorer(&ctx, "李四", None, true);
        let head = scorer(&ctx, "王五", Some(t0), true);
        let retired = scorer(&ctx, "赵六", None, false);
        set_scoring_open(&ctx, t0, true).unwrap();
        submit_full(&ctx, &done, t0);
        open_sheet(&ctx, &drafting.id, t0).unwrap();

        let board = scoring_board(&ctx).unwrap();
        assert_eq!(
            board
                .scorers
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>(),
            ["张三", "李四", "王五"],
            "only active scorers have a row, in registration order"
        );
        for s in &board.scorers {
            let order: Vec<&str> = s.sheets.iter().map(|c| c.township_id.as_str()).collect();
            let route: Vec<&str> = towns.iter().map(|t| t.id.as_str()).collect();
            assert_eq!(order, route, "one cell per enabled township in route order");
        }
        assert_eq!(
            cell_of(&board, &done.id, t0).state,
            SheetProgress::Submitted
        );
        assert!(cell_of(&board, &done.id, t0).sheet_id.is_some());
        assert_eq!(
            cell_of(&board, &drafting.id, t0).state,
            SheetProgress::Draft
        );
        assert_eq!(cell_of(&board, &head.id, t0).state, SheetProgress::Recused);
        assert_eq!(
            cell_of(&board, &head.id, t1).state,
            SheetProgress::NotStarted
        );
        assert_eq!(cell_of(&board, &head.id, t1).sheet_id, None);
        assert!(board.scorers.iter().all(|s| s.scorer_id != retired.id));

        let r0 = row(&board, t0);
        assert_eq!((r0.submitted, r0.expected), (1, 2), "the head is recused");
        assert_eq!(
            r0.missing_scorer_ids,
            vec![drafting.id.clone()],
            "a draft is not submitted; the head is not expected"
        );
        assert_eq!(
            row(&board, t1).missing_scorer_ids,
            vec![done.id.clone(), drafting.id.clone(), head.id.clone()]
        );
        let head_row = board
            .scorers
            .iter()
            .find(|s| s.scorer_id == head.id)
            .unwrap();
        assert_eq!(
            head_row.expected,
            towns.len() as i32 - 1,
            "a head is not expected at home"
        );
    }

    #[test]
    fn closing_while_sheets_are_missing_needs_a_reason_which_the_board_and_change_log_keep() {
        let (_d, ctx, towns) = setup();
        let t0 = &towns[0].id;
        let a = scorer(&ctx, "张三", None, true);
        let b = scorer(&ctx, "李四", None, true);
        set_scoring_open(&ctx, t0, true).unwrap();
        submit_full(&ctx, &a, t0);

        for reason in [None, Some("".to_string()), Some(" 好 ".to_string())] {
            let err = close_scoring(&ctx, t0, reason.clone()).unwrap_err();
            assert_eq!(err.code, ErrorCode::Validation, "{reason:?}");
            assert_eq!(err.message, "close_reason_required");
            let p = &err.problems[0];
            assert_eq!(p.code, ProblemCode::Required);
            assert_eq!(p.location, CLOSE_REASON_LOCATION);
            assert!(
                p.message.contains("李四") && !p.message.contains("张三"),
                "names who is missing: {}",
                p.message
            );
        }
        assert!(
            set_scoring_open(&ctx, t0, false).is_err(),
            "the old close path keeps the rule too"
        );
        assert_eq!(
            ctx.store.read(|c| store::manual_state(c, t0)).unwrap(),
            ManualState::Open,
            "a refused close changes nothing"
        );

        let board = close_scoring(&ctx, t0, Some("  李四临时离团  ".into())).unwrap();
        let r = row(&board, t0);
        assert_eq!(r.state, ScoringState::Closed);
        assert_eq!(r.close_reason.as_deref(), Some("李四临时离团"));
        let change = ctx
            .store
            .changes_since(0, 10_000)
            .unwrap()
            .into_iter()
            .rfind(|c| c.entity == "scoring_state")
            .unwrap();
        assert_eq!(change.op, "close");
        assert_eq!(change.payload["reason"], "李四临时离团");
        assert_eq!(change.payload["missing"][0]["name"], "李四");
        assert_eq!(change.payload["missing"][0]["scorer_id"], b.id.as_str());

        let reopened = set_scoring_open(&ctx, t0, true).unwrap();
        assert_eq!(row(&reopened, t0).close_reason, None);
        submit_full(&ctx, &b, t0);
        let closed = close_scoring(&ctx, t0, None).unwrap();
        let r = row(&closed, t0);
        assert_eq!(
            (r.state, r.close_reason.clone()),
            (ScoringState::Closed, None),
            "with every sheet in, no reason is needed"
        );
    }
}
