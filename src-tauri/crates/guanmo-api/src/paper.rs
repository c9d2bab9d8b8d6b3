//! Paper score sheets entered twice (双人录入) on the hub. A 计分员 (or the organiser) signed
//! in enters a scorer's paper sheet for a township (round 1); a different person enters it
//! again without seeing the first entry (round 2). Only when both agree exactly does the
//! scorer's sheet exist: created, marked and submitted in the same write transaction as the
//! entry that made them agree, with the audit naming both clerks. Otherwise the differences
//! are listed item by item for both to settle against the paper (核对).
//!
//! Invariants: nothing here returns an entry's values except [`paper_mismatches`] and
//! [`settle_paper_sheet`] once both rounds exist; one person never enters both rounds; the
//! sheet counts only from identical entries ([`guanmo_domain::paper::compare`]).
//!
//! The township's scoring state does not gate paper entry: the paper was filled during the
//! visit, and clerks type it in the evening, after the slot has closed.
//!
//! Double entry needs people: on a hub where no one signs in, the two entries could not be
//! told apart, so entering is refused until 计分员 have PINs and sign in (人员).

use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use guanmo_domain::paper::{
    self as rules, Comparison, Difference, PaperCorrection, PaperEntry, PaperInput,
};
use guanmo_domain::people::{Person, PersonRole};
use guanmo_domain::problem::{Problem, ProblemCode};
use guanmo_domain::rubric::Rubric;
use guanmo_domain::scoring::{SheetStatus, MAX_NOTE_CHARS, MIN_REASON_CHARS};
use guanmo_store::paper::{self as store, EntryRow, PaperSheetRow};
use guanmo_store::scoring as scoring_store;
use serde::{Deserialize, Serialize};
use specta::Type;
use std::collections::HashMap;

/// Where a paper sheet stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum PaperState {
    /// 未录入.
    NotEntered,
    /// 一录完成: one round entered (see `first` / `second` for which).
    OneEntered,
    /// 二录完成·待核对: both rounds agree but the sheet could not be counted (see `note`: the
    /// scorer's own sheet appeared meanwhile).
    AwaitingCheck,
    /// 不一致(N项).
    Mismatch,
    /// 已一致·已计入.
    Counted,
    /// 已在评分电脑填写: the scorer has a sheet from a laptop; no paper entry is taken.
    ScoredElsewhere,
}

/// One round as the status table shows it: who and when, never the values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct PaperRound {
    /// 1 or 2.
    pub round: i32,
    /// The entry.
    pub entry_id: String,
    /// The 计分员.
    pub clerk_person_id: String,
    /// Their name.
    pub clerk_name: String,
    /// When entered, RFC 3339.
    pub entered_at: String,
    /// Who settled items of it (核对), if anyone.
    pub settled_by: Option<String>,
}

/// A scorer × township on the paper entry table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct PaperSheetStatus {
    /// Scorer.
    pub scorer_id: String,
    /// Their name.
    pub scorer_name: String,
    /// Their group.
    pub group: String,
    /// Township.
    pub township_id: String,
    /// Its name.
    pub township_name: String,
    /// Where it stands.
    pub state: PaperState,
    /// Items that differ, when `state` is `mismatch`.
    pub mismatch_count: i32,
    /// Round 1, once entered.
    pub first: Option<PaperRound>,
    /// Round 2, once entered.
    pub second: Option<PaperRound>,
    /// The scan or photo of the paper sheet.
    pub scan_hash: Option<String>,
    /// The score sheet, once counted (or the laptop's sheet).
    pub sheet_id: Option<String>,
    /// Entries discarded so far.
    pub discarded: i32,
    /// Why agreed entries are not counted yet, or other advice.
    pub note: Option<String>,
}

/// The differences between the two rounds, for both clerks to settle against the paper.
#[derive(Debug, Clone, PartialEq, Serialize, Type)]
pub struct PaperMismatches {
    /// The sheet's status after the comparison.
    pub status: PaperSheetStatus,
    /// Item by item, in rubric order; empty once they agree.
    pub differences: Vec<Difference>,
}

/// Re-entered values per round while settling (only mismatched items).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Type)]
pub struct PaperSettlement {
    /// Corrections of round 1.
    pub first: Vec<PaperCorrection>,
    /// Corrections of round 2.
    pub second: Vec<PaperCorrection>,
}

fn refused(code: ErrorCode, location: &str, message: impl Into<String>) -> ApiError {
    let message = message.into();
    ApiError::with_problems(
        code,
        message.clone(),
        vec![Problem::error(ProblemCode::Invalid, location, message)],
    )
}

fn invalid(problems: Vec<Problem>) -> ApiError {
    ApiError::with_problems(ErrorCode::Validation, "paper entry refused", problems)
}

/// The hub (or a laptop with no role), and a 计分员 or 组织方 when people sign in.
fn ensure_clerk_device(ctx: &Ctx) -> ApiResult<()> {
    if ctx.device_role()?.is_some_and(|r| r.is_laptop()) {
        return Err(refused(
            ErrorCode::HubOnly,
            "纸质录入",
            "纸质评分表只在组织方主机上录入",
        ));
    }
    crate::people::ensure_any_role(ctx, &[PersonRole::Clerk, PersonRole::Organiser])
}

/// The person entering: double entry needs someone signed in, or the rounds' clerks could not
/// be told apart.
fn clerk(ctx: &Ctx) -> ApiResult<(Person, String)> {
    ensure_clerk_device(ctx)?;
    let author = ctx.author()?;
    match crate::people::signed_in(ctx)? {
        Some(p) => Ok((p, author)),
        None => Err(refused(
            ErrorCode::Validation,
            "计分员",
            "双人录入须由两位计分员分别登录后录入:请先在「人员」中登记计分员并设置 PIN,再登录",
        )),
    }
}

fn check_round(round: i32) -> ApiResult<()> {
    if round == 1 || round == 2 {
        Ok(())
    } else {
        Err(refused(
            ErrorCode::Validation,
            "录入轮次",
            "录入轮次只能是一录或二录",
        ))
    }
}

fn round_of(e: &EntryRow) -> PaperRound {
    PaperRound {
        round: e.round,
        entry_id: e.id.clone(),
        clerk_person_id: e.clerk_person_id.clone(),
        clerk_name: e.clerk_name.clone(),
        entered_at: e.created_at.clone(),
        settled_by: e.settled_by.clone(),
    }
}

/// Why agreed entries cannot make the sheet now, if anything stands in the way.
fn commit_blocker(ctx: &Ctx, scorer_id: &str, township_id: &str) -> ApiResult<Option<String>> {
    if let Some(s) = ctx
        .store
        .read(|c| scoring_store::find_sheet(c, scorer_id, township_id))?
    {
        return Ok(Some(if s.status == SheetStatus::Submitted {
            "该评分人已提交此乡镇的评分表".into()
        } else {
            "该评分人已在评分电脑上开始填写此乡镇的评分表".into()
        }));
    }
    Ok(None)
}

struct Names {
    /// Each township's rubric.
    rubrics: HashMap<String, std::sync::Arc<Rubric>>,
    scorers: HashMap<String, (String, String)>,
    townships: HashMap<String, String>,
}

fn names(ctx: &Ctx) -> ApiResult<Names> {
    let scorers = ctx
        .store
        .read(scoring_store::list_scorers)?
        .into_iter()
        .map(|s| (s.id, (s.name, s.group)))
        .collect();
    let townships = crate::roster::list_townships(ctx)?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    Ok(Names {
        rubrics: crate::rubric::rubrics_by_township(ctx)?,
        scorers,
        townships,
    })
}

/// The status of one pair from what is stored (no values leave here).
fn status_of(
    names: &Names,
    scorer_id: &str,
    township_id: &str,
    paper: Option<&PaperSheetRow>,
    entries: &[&EntryRow],
    laptop_sheet: Option<&str>,
) -> ApiResult<PaperSheetStatus> {
    let first = entries.iter().find(|e| e.round == 1);
    let second = entries.iter().find(|e| e.round == 2);
    let (scorer_name, group) = names.scorers.get(scorer_id).cloned().unwrap_or_default();
    let mut status = PaperSheetStatus {
        scorer_id: scorer_id.to_string(),
        scorer_name,
        group,
        township_id: township_id.to_string(),
        township_name: names
            .townships
            .get(township_id)
            .cloned()
            .unwrap_or_default(),
        state: PaperState::NotEntered,
        mismatch_count: 0,
        first: first.map(|e| round_of(e)),
        second: second.map(|e| round_of(e)),
        scan_hash: paper.and_then(|p| p.scan_hash.clone()),
        sheet_id: paper.and_then(|p| p.sheet_id.clone()),
        discarded: paper.map_or(0, |p| p.discarded),
        note: None,
    };
    if status.sheet_id.is_some() {
        status.state = PaperState::Counted;
        return Ok(status);
    }
    if let Some(id) = laptop_sheet {
        status.state = PaperState::ScoredElsewhere;
        status.sheet_id = Some(id.to_string());
        status.note = Some("该评分人已在评分电脑上填写,无需录入纸质表".into());
        return Ok(status);
    }
    let Some(rubric) = names.rubrics.get(township_id) else {
        return Err(ApiError::new(ErrorCode::NotFound, "no rubric saved"));
    };
    status.state = match (first, second) {
        (Some(a), Some(b)) => match rules::compare(rubric, &a.entry, &b.entry) {
            // An existing sheet already returned above as 已在评分电脑填写.
            Comparison::Agree => PaperState::AwaitingCheck,
            Comparison::Mismatch(d) => {
                status.mismatch_count = d.len() as i32;
                PaperState::Mismatch
            }
        },
        (None, None) => PaperState::NotEntered,
        _ => PaperState::OneEntered,
    };
    Ok(status)
}

fn one_status(ctx: &Ctx, scorer_id: &str, township_id: &str) -> ApiResult<PaperSheetStatus> {
    let names = names(ctx)?;
    let paper = ctx
        .store
        .read(|c| store::find_paper_sheet(c, scorer_id, township_id))?;
    let entries = ctx
        .store
        .read(|c| store::entries_of(c, scorer_id, township_id))?;
    let laptop = if paper.as_ref().is_some_and(|p| p.sheet_id.is_some()) {
        None
    } else {
        ctx.store
            .read(|c| scoring_store::find_sheet(c, scorer_id, township_id))?
            .map(|s| s.id)
    };
    let refs: Vec<&EntryRow> = entries.iter().collect();
    status_of(
        &names,
        scorer_id,
        township_id,
        paper.as_ref(),
        &refs,
        laptop.as_deref(),
    )
}

/// Every active scorer × enabled township (less a head's own township, 回避), in route order
/// then scorer registration order, with where its paper sheet stands. Never an entry's values.
pub fn list_paper_sheets(ctx: &Ctx) -> ApiResult<Vec<PaperSheetStatus>> {
    ensure_clerk_device(ctx)?;
    let names = names(ctx)?;
    let scorers = ctx.store.read(scoring_store::list_scorers)?;
    let townships = crate::scoring::enabled_townships(ctx)?;
    let papers: HashMap<(String, String), PaperSheetRow> = ctx
        .store
        .read(store::list_paper_sheets)?
        .into_iter()
        .map(|p| ((p.scorer_id.clone(), p.township_id.clone()), p))
        .collect();
    let entries = ctx.store.read(store::live_entries)?;
    let mut by_pair: HashMap<(&str, &str), Vec<&EntryRow>> = HashMap::new();
    for e in &entries {
        by_pair
            .entry((e.scorer_id.as_str(), e.township_id.as_str()))
            .or_default()
            .push(e);
    }
    let sheets = ctx.store.read(scoring_store::sheet_statuses)?;
    let sheet_of: HashMap<(&str, &str), &str> = sheets
        .iter()
        .map(|s| {
            (
                (s.scorer_id.as_str(), s.township_id.as_str()),
                s.sheet_id.as_str(),
            )
        })
        .collect();
    let mut out = Vec::new();
    for t in &townships {
        for s in scorers.iter().filter(|s| s.active) {
            if s.township_id.as_deref() == Some(t.id.as_str()) {
                continue;
            }
            let key = (s.id.clone(), t.id.clone());
            let paper = papers.get(&key);
            let pair = (s.id.as_str(), t.id.as_str());
            let list = by_pair.get(&pair).cloned().unwrap_or_default();
            let laptop = if paper.is_some_and(|p| p.sheet_id.is_some()) {
                None
            } else {
                sheet_of.get(&pair).copied()
            };
            out.push(status_of(&names, &s.id, &t.id, paper, &list, laptop)?);
        }
    }
    Ok(out)
}

/// The reason the audit carries: 双人录入:张三、李四, and who settled, if anyone.
fn commit_reason(first: &EntryRow, second: &EntryRow) -> String {
    let mut settled: Vec<&str> = [&first.settled_by, &second.settled_by]
        .into_iter()
        .flatten()
        .flat_map(|s| s.split('、'))
        .collect();
    settled.sort_unstable();
    settled.dedup();
    let mut r = format!("双人录入:{}、{}", first.clerk_name, second.clerk_name);
    if !settled.is_empty() {
        r.push_str(&format!(";核对:{}", settled.join("、")));
    }
    r
}

/// Enters one round of a scorer's paper sheet for a township as the person signed in. Round 2
/// by the person who entered round 1 is refused, as is a round already entered (the organiser
/// discards it first). When both rounds then agree, the sheet is made and submitted in the
/// same transaction. Returns the status, never the other round's values.
pub fn enter_paper_sheet(
    ctx: &Ctx,
    scorer_id: &str,
    township_id: &str,
    round: i32,
    input: PaperInput,
) -> ApiResult<PaperSheetStatus> {
    let (person, author) = clerk(ctx)?;
    check_round(round)?;
    let scorer = ctx
        .store
        .read(|c| scoring_store::get_scorer(c, scorer_id))?;
    let township = ctx
        .store
        .read(|c| guanmo_store::roster::get(c, township_id))?;
    if scorer.township_id.as_deref() == Some(township_id) {
        return Err(refused(
            ErrorCode::Recused,
            "回避",
            format!(
                "{}是「{}」的负责人,按回避规定不为本乡镇评分",
                scorer.name, township.name
            ),
        ));
    }
    if !township.enabled {
        return Err(refused(
            ErrorCode::Validation,
            "乡镇",
            format!("「{}」已停用,不能评分", township.name),
        ));
    }
    ensure_not_counted(ctx, scorer_id, township_id)?;
    if let Some(why) = commit_blocker(ctx, scorer_id, township_id)? {
        return Err(refused(ErrorCode::Validation, "评分表", why));
    }
    let rubric = crate::rubric::get_rubric_for_township(ctx, township_id)?;
    let entry = rules::validate_entry(&rubric, &input).map_err(invalid)?;
    let entries = ctx
        .store
        .read(|c| store::entries_of(c, scorer_id, township_id))?;
    if let Some(e) = entries.iter().find(|e| e.round == round) {
        return Err(refused(
            ErrorCode::Validation,
            "录入轮次",
            format!(
                "{}已由{}录入;如需重录,请组织方先作废该次录入",
                round_label(round),
                e.clerk_name
            ),
        ));
    }
    if let Some(e) = entries.iter().find(|e| e.clerk_person_id == person.id) {
        return Err(refused(
            ErrorCode::Validation,
            "计分员",
            format!(
                "{}已由您录入:双人录入须由另一位计分员录入{}",
                round_label(e.round),
                round_label(round)
            ),
        ));
    }
    let other = entries.into_iter().find(|e| e.round != round);
    if let Some(o) = &other {
        stale_round(o, &rubric)?;
    }
    ctx.store.write(ctx.now(), &author, |tx| {
        let mine = store::insert_entry(
            tx,
            scorer_id,
            township_id,
            round,
            &person.id,
            &entry,
            rubric.version,
        )?;
        if let Some(other) = &other {
            let (a, b) = if round == 1 {
                (&mine, other)
            } else {
                (other, &mine)
            };
            if rules::compare(&rubric, &a.entry, &b.entry) == Comparison::Agree {
                store::commit_sheet(tx, scorer_id, township_id, &a.entry, &commit_reason(a, b))?;
            }
        }
        Ok(())
    })?;
    one_status(ctx, scorer_id, township_id)
}

/// Refuses to change a paper sheet whose two entries already agreed and were counted.
fn ensure_not_counted(ctx: &Ctx, scorer_id: &str, township_id: &str) -> ApiResult<()> {
    let paper = ctx
        .store
        .read(|c| store::find_paper_sheet(c, scorer_id, township_id))?;
    if paper.is_some_and(|p| p.sheet_id.is_some()) {
        return Err(refused(
            ErrorCode::SheetLocked,
            "评分表",
            "这张纸质评分表已核对一致并计入",
        ));
    }
    Ok(())
}

fn round_label(round: i32) -> &'static str {
    if round == 1 {
        "一录"
    } else {
        "二录"
    }
}

/// Refuses to compare with a round entered against another version of the rubric (it was
/// revised in between: the items or maxima may differ); the organiser discards that round and
/// it is entered again.
fn stale_round(e: &EntryRow, rubric: &Rubric) -> ApiResult<()> {
    if e.rubric_version == rubric.version {
        return Ok(());
    }
    Err(refused(
        ErrorCode::Validation,
        "评分标准",
        format!(
            "{}按第{}版评分标准录入,现行为第{}版;请组织方作废{}后按现行标准重新录入",
            round_label(e.round),
            e.rubric_version,
            rubric.version,
            round_label(e.round)
        ),
    ))
}

fn both_rounds(ctx: &Ctx, scorer_id: &str, township_id: &str) -> ApiResult<(EntryRow, EntryRow)> {
    let entries = ctx
        .store
        .read(|c| store::entries_of(c, scorer_id, township_id))?;
    let mut first = None;
    let mut second = None;
    for e in entries {
        if e.round == 1 {
            first = Some(e);
        } else {
            second = Some(e);
        }
    }
    match (first, second) {
        (Some(a), Some(b)) => Ok((a, b)),
        _ => Err(refused(
            ErrorCode::Validation,
            "核对",
            "一录和二录都完成后才能核对",
        )),
    }
}

fn mismatches_of(
    ctx: &Ctx,
    rubric: &Rubric,
    scorer_id: &str,
    township_id: &str,
    first: &EntryRow,
    second: &EntryRow,
) -> ApiResult<PaperMismatches> {
    let differences = match rules::compare(rubric, &first.entry, &second.entry) {
        Comparison::Agree => Vec::new(),
        Comparison::Mismatch(d) => d,
    };
    Ok(PaperMismatches {
        status: one_status(ctx, scorer_id, township_id)?,
        differences,
    })
}

/// The differences between round 1 and round 2, item by item (criterion, 一录, 二录): only
/// once both rounds exist.
pub fn paper_mismatches(
    ctx: &Ctx,
    scorer_id: &str,
    township_id: &str,
) -> ApiResult<PaperMismatches> {
    ensure_clerk_device(ctx)?;
    let (first, second) = both_rounds(ctx, scorer_id, township_id)?;
    let rubric = crate::rubric::get_rubric_for_township(ctx, township_id)?;
    mismatches_of(ctx, &rubric, scorer_id, township_id, &first, &second)
}

/// Settles the mismatches against the paper (核对): re-enters only mismatched items of round 1,
/// round 2 or both, then compares again; when they now agree (and the sheet may be made) the
/// sheet is made and submitted in the same transaction. An empty settlement only compares
/// again (after scoring was reopened, say).
pub fn settle_paper_sheet(
    ctx: &Ctx,
    scorer_id: &str,
    township_id: &str,
    settlement: PaperSettlement,
) -> ApiResult<PaperMismatches> {
    let (person, author) = clerk(ctx)?;
    let (first, second) = both_rounds(ctx, scorer_id, township_id)?;
    ensure_not_counted(ctx, scorer_id, township_id)?;
    let rubric = crate::rubric::get_rubric_for_township(ctx, township_id)?;
    stale_round(&first, &rubric)?;
    stale_round(&second, &rubric)?;
    let differences = match rules::compare(&rubric, &first.entry, &second.entry) {
        Comparison::Agree => Vec::new(),
        Comparison::Mismatch(d) => d,
    };
    let fix = |e: &EntryRow, c: &[PaperCorrection]| -> ApiResult<Option<PaperEntry>> {
        if c.is_empty() {
            return Ok(None);
        }
        rules::settle(&rubric, &e.entry, &differences, c)
            .map(Some)
            .map_err(invalid)
    };
    let new_first = fix(&first, &settlement.first)?;
    let new_second = fix(&second, &settlement.second)?;
    let a = new_first.clone().unwrap_or_else(|| first.entry.clone());
    let b = new_second.clone().unwrap_or_else(|| second.entry.clone());
    let agree = rules::compare(&rubric, &a, &b) == Comparison::Agree;
    let blocker = if agree {
        commit_blocker(ctx, scorer_id, township_id)?
    } else {
        None
    };
    let items = |c: &[PaperCorrection]| -> Vec<String> {
        c.iter()
            .map(|c| {
                c.item_id
                    .clone()
                    .unwrap_or_else(|| rules::COMMENT_NAME.to_string())
            })
            .collect()
    };
    let (first, second) = ctx.store.write(ctx.now(), &author, |tx| {
        let mut f = first.clone();
        let mut s = second.clone();
        if let Some(e) = &new_first {
            f = store::settle_entry(tx, &first.id, e, &items(&settlement.first), &person.name)?;
        }
        if let Some(e) = &new_second {
            s = store::settle_entry(tx, &second.id, e, &items(&settlement.second), &person.name)?;
        }
        if agree && blocker.is_none() {
            store::commit_sheet(tx, scorer_id, township_id, &f.entry, &commit_reason(&f, &s))?;
        }
        Ok((f, s))
    })?;
    mismatches_of(ctx, &rubric, scorer_id, township_id, &first, &second)
}

/// Discards one round's entry with a reason (组织方 only); that round may then be entered
/// again. A sheet already counted is corrected by unlocking it instead.
pub fn discard_paper_entry(
    ctx: &Ctx,
    scorer_id: &str,
    township_id: &str,
    round: i32,
    reason: String,
) -> ApiResult<PaperSheetStatus> {
    ensure_clerk_device(ctx)?;
    ctx.ensure_organiser()?;
    check_round(round)?;
    let reason = reason.trim().to_string();
    let n = reason.chars().count();
    if !(MIN_REASON_CHARS..=MAX_NOTE_CHARS).contains(&n) {
        return Err(refused(
            ErrorCode::Validation,
            "作废原因",
            format!("作废原因须为{MIN_REASON_CHARS}到{MAX_NOTE_CHARS}个字"),
        ));
    }
    let paper = ctx
        .store
        .read(|c| store::find_paper_sheet(c, scorer_id, township_id))?;
    if paper.as_ref().is_some_and(|p| p.sheet_id.is_some()) {
        return Err(refused(
            ErrorCode::SheetLocked,
            "评分表",
            "已计入的评分表不能作废录入;如需更正,请解锁评分表",
        ));
    }
    let entries = ctx
        .store
        .read(|c| store::entries_of(c, scorer_id, township_id))?;
    let Some(entry) = entries.into_iter().find(|e| e.round == round) else {
        return Err(refused(
            ErrorCode::NotFound,
            "录入轮次",
            format!("{}尚未录入", round_label(round)),
        ));
    };
    let by = crate::people::signed_in(ctx)?
        .map(|p| p.id)
        .unwrap_or_else(|| guanmo_domain::people::UNASSIGNED_ID.to_string());
    ctx.store.write(ctx.now(), &ctx.author()?, |tx| {
        store::discard_entry(tx, &entry.id, &by, &reason)
    })?;
    one_status(ctx, scorer_id, township_id)
}

/// Attaches the scan or photo of the paper sheet (a photo already imported), kept with the
/// entry pair and shown with it.
pub fn attach_paper_scan(
    ctx: &Ctx,
    scorer_id: &str,
    township_id: &str,
    hash: &str,
) -> ApiResult<PaperSheetStatus> {
    ensure_clerk_device(ctx)?;
    ctx.store
        .read(|c| scoring_store::get_scorer(c, scorer_id))?;
    ctx.store
        .read(|c| guanmo_store::roster::get(c, township_id))?;
    ctx.store.read(|c| guanmo_store::photos::get(c, hash))?;
    // Once counted, the scan is evidence of what was counted: added if missing, never swapped.
    let paper = ctx
        .store
        .read(|c| store::find_paper_sheet(c, scorer_id, township_id))?;
    if let Some(p) = paper.filter(|p| p.sheet_id.is_some()) {
        if p.scan_hash.as_deref().is_some_and(|h| h != hash) {
            return Err(refused(
                ErrorCode::SheetLocked,
                "扫描件",
                "已计入的评分表不能更换纸质表扫描件",
            ));
        }
    }
    ctx.store.write(ctx.now(), &ctx.author()?, |tx| {
        store::set_scan(tx, scorer_id, township_id, hash)
    })?;
    one_status(ctx, scorer_id, township_id)
}

#[cfg(test)]
mod tests;
