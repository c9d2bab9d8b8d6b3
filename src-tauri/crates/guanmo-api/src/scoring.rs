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
use guanmo_domain::scoring::{
    check_points, check_reason, AuditEntry, Scorer, ScorerInput, ScoringState, Sheet, SheetStatus,
    MAX_NOTE_CHARS,
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
    /// Not open / open / closed.
    pub state: ScoringState,
    /// Sheets expected (active scorers, less the township's own heads).
    pub expected: i32,
    /// Sheets submitted.
    pub submitted: i32,
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
    /// Sheets expected from them.
    pub expected: i32,
    /// Sheets they submitted.
    pub submitted: i32,
}

/// The scoring board: where the tour is and who has submitted what.
#[derive(Debug, Clone, Serialize, Type)]
pub struct ScoringBoard {
    /// Enabled townships in route order.
    pub townships: Vec<TownshipScoring>,
    /// The first open township on the route: what a scorer sees first.
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
    Ok(ctx.store.write(ctx.clock.now(), ctx.actor(), |tx| {
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
    Ok(ctx.store.write(ctx.clock.now(), ctx.actor(), |tx| {
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
    ctx.store.write(ctx.clock.now(), ctx.actor(), |tx| {
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

fn enabled_townships(ctx: &Ctx) -> ApiResult<Vec<Township>> {
    Ok(crate::roster::list_townships(ctx)?
        .into_iter()
        .filter(|t| t.enabled)
        .collect())
}

/// Sheets expected per township: every active scorer except the township's own heads.
fn expected_for(scorers: &[Scorer], township_id: &str) -> i32 {
    scorers
        .iter()
        .filter(|s| s.active && s.township_id.as_deref() != Some(township_id))
        .count() as i32
}

/// Where the tour is and who has submitted what.
pub fn scoring_board(ctx: &Ctx) -> ApiResult<ScoringBoard> {
    let townships = enabled_townships(ctx)?;
    let scorers = list_scorers(ctx)?;
    let states: HashMap<String, ScoringState> =
        ctx.store.read(store::states)?.into_iter().collect();
    let statuses = ctx.store.read(store::sheet_statuses)?;
    let submitted = |pred: &dyn Fn(&str, &str) -> bool| {
        statuses
            .iter()
            .filter(|(s, t, st)| *st == SheetStatus::Submitted && pred(s, t))
            .count() as i32
    };
    let enabled: std::collections::HashSet<&str> =
        townships.iter().map(|t| t.id.as_str()).collect();
    let rows: Vec<TownshipScoring> = townships
        .iter()
        .map(|t| TownshipScoring {
            township_id: t.id.clone(),
            name: t.name.clone(),
            position: t.position,
            state: states.get(&t.id).copied().unwrap_or(ScoringState::NotOpen),
            expected: expected_for(&scorers, &t.id),
            submitted: submitted(&|_, tid| tid == t.id),
        })
        .collect();
    let current = rows
        .iter()
        .find(|r| r.state == ScoringState::Open)
        .map(|r| r.township_id.clone());
    let progress = scorers
        .iter()
        .filter(|s| s.active)
        .map(|s| ScorerProgress {
            scorer_id: s.id.clone(),
            name: s.name.clone(),
            group: s.group.clone(),
            expected: townships
                .iter()
                .filter(|t| s.township_id.as_deref() != Some(t.id.as_str()))
                .count() as i32,
            submitted: submitted(&|sid, tid| sid == s.id && enabled.contains(tid)),
        })
        .collect();
    Ok(ScoringBoard {
        townships: rows,
        current_township_id: current,
        scorers: progress,
    })
}

/// Opens or closes scoring of a township.
pub fn set_scoring_open(ctx: &Ctx, township_id: &str, open: bool) -> ApiResult<ScoringBoard> {
    ctx.ensure_organiser()?;
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
    ctx.store.write(ctx.clock.now(), ctx.actor(), |tx| {
        store::set_state(tx, township_id, open)
    })?;
    scoring_board(ctx)
}

/// Opens the scorer's sheet for a township, starting an empty draft the first time.
pub fn open_sheet(ctx: &Ctx, scorer_id: &str, township_id: &str) -> ApiResult<Sheet> {
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
    let state = ctx.store.read(|c| store::state(c, township_id))?;
    if state != ScoringState::Open || !township.enabled {
        return Err(refuse(
            ErrorCode::ScoringClosed,
            "评分状态",
            format!("「{}」尚未开放评分", township.name),
        ));
    }
    Ok(ctx.store.write(ctx.clock.now(), ctx.actor(), |tx| {
        // Another window may have started it in the meantime.
        match store::find_sheet(tx.conn(), scorer_id, township_id)? {
            Some(s) => Ok(s),
            None => store::create_sheet(tx, scorer_id, township_id),
        }
    })?)
}

/// The sheet as stored.
pub fn get_sheet(ctx: &Ctx, sheet_id: &str) -> ApiResult<Sheet> {
    Ok(ctx.store.read(|c| store::get_sheet(c, sheet_id))?)
}

/// A sheet that may change now: a draft of a township whose scoring is open.
pub(crate) fn editable(ctx: &Ctx, sheet_id: &str) -> ApiResult<Sheet> {
    let sheet = get_sheet(ctx, sheet_id)?;
    if sheet.status == SheetStatus::Submitted {
        return Err(refuse(
            ErrorCode::SheetLocked,
            "评分表",
            "评分表已提交锁定,如需修改请联系组织方解锁".into(),
        ));
    }
    if ctx.store.read(|c| store::state(c, &sheet.township_id))? != ScoringState::Open {
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
        .map_err(|m| refuse(ErrorCode::Validation, location, m))
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
    let rubric = crate::rubric::get_rubric(ctx)?;
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
    Ok(ctx.store.write(ctx.clock.now(), ctx.actor(), |tx| {
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
    let rubric = crate::rubric::get_rubric(ctx)?;
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
    Ok(ctx.store.write(ctx.clock.now(), ctx.actor(), |tx| {
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
    Ok(ctx.store.write(ctx.clock.now(), ctx.actor(), |tx| {
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
    let rubric = crate::rubric::get_rubric(ctx)?;
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
    Ok(ctx
        .store
        .write(ctx.clock.now(), ctx.actor(), |tx| store::submit(tx, &sheet))?)
}

/// Unlocks a submitted sheet; the organiser must give a reason, which the audit log and the
/// exports carry.
pub fn unlock_sheet(ctx: &Ctx, sheet_id: &str, reason: String) -> ApiResult<Sheet> {
    ctx.ensure_organiser()?;
    let sheet = get_sheet(ctx, sheet_id)?;
    let reason = check_reason(&reason).map_err(|m| refuse(ErrorCode::Validation, "解锁原因", m))?;
    if sheet.status != SheetStatus::Submitted {
        return Err(refuse(
            ErrorCode::Validation,
            "评分表",
            "评分表尚未提交,无需解锁".into(),
        ));
    }
    Ok(ctx.store.write(ctx.clock.now(), ctx.actor(), |tx| {
        store::unlock(tx, &sheet, &reason)
    })?)
}

/// The audit log, of one sheet or of all.
pub fn audit_log(ctx: &Ctx, sheet_id: Option<String>) -> ApiResult<Vec<AuditEntry>> {
    Ok(ctx
        .store
        .read(|c| store::audit_log(c, sheet_id.as_deref()))?)
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
    ctx.store.write(ctx.clock.now(), ctx.actor(), |tx| {
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

/// The explained ranking of every enabled township under the rule in force.
pub fn get_standings(ctx: &Ctx) -> ApiResult<Standings> {
    let rule = get_aggregation_rule(ctx)?;
    let townships = enabled_townships(ctx)?;
    let scorers = list_scorers(ctx)?;
    let by_id: HashMap<&str, &Scorer> = scorers.iter().map(|s| (s.id.as_str(), s)).collect();
    let expectations: Vec<TownshipExpectation> = townships
        .iter()
        .map(|t| TownshipExpectation {
            township_id: t.id.clone(),
            expected_sheets: expected_for(&scorers, &t.id),
        })
        .collect();
    let sheets: Vec<SheetScore> = ctx
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
        .collect();
    Ok(aggregation::aggregate(&expectations, &sheets, &rule))
}

/// Every sheet (drafts and submitted), by route order then scorer.
pub fn list_sheets(ctx: &Ctx) -> ApiResult<Vec<Sheet>> {
    Ok(ctx.store.read(store::list_sheets)?)
}
