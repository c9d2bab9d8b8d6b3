//! Scoring end to end through the api: registering scorers, 回避, autosaved marks checked
//! against the rubric, submit and lock, unlock with a reason in the audit log, and the
//! ranking computed from submitted sheets only.

use crate::support::Env;
use guanmo_api::scoring::{self, ScoringBoard};
use guanmo_api::{Ctx, ErrorCode};
use guanmo_domain::aggregation::{AggregationRule, StandingStatus};
use guanmo_domain::roster::Township;
use guanmo_domain::scoring::{AuditKind, Scorer, ScorerInput, Sheet, SheetStatus};

fn scorer(ctx: &Ctx, name: &str, group: &str, township: Option<&Township>) -> Scorer {
    scoring::register_scorer(
        ctx,
        ScorerInput {
            name: name.into(),
            group: group.into(),
            township_id: township.map(|t| t.id.clone()),
            active: true,
            work_unit: String::new(),
        },
    )
    .unwrap()
}

fn townships(ctx: &Ctx) -> Vec<Township> {
    guanmo_api::roster::list_townships(ctx)
        .unwrap()
        .into_iter()
        .filter(|t| t.enabled)
        .collect()
}

/// Fills every criterion with `max - off` (at least 0) and submits.
fn fill_and_submit(ctx: &Ctx, s: &Scorer, t: &Township, off: f64) -> Sheet {
    let sheet = scoring::open_sheet(ctx, &s.id, &t.id).unwrap();
    let rubric = guanmo_api::rubric::get_rubric(ctx).unwrap();
    let mut last = sheet;
    for c in rubric.categories.iter().flat_map(|c| &c.criteria) {
        let v = (c.max_points - off).max(0.0);
        last = scoring::record_mark(
            ctx,
            &last.id,
            c.id.as_ref().unwrap(),
            Some(v),
            String::new(),
        )
        .unwrap();
    }
    scoring::submit_sheet(ctx, &last.id, last.version).unwrap()
}

#[test]
fn a_township_head_cannot_open_a_sheet_for_their_own_township() {
    let env = Env::new();
    let ts = townships(&env.ctx);
    let head = scorer(&env.ctx, "李四", "乡镇(街道)党政主要负责人", Some(&ts[1]));
    scoring::set_scoring_open(&env.ctx, &ts[1].id, true).unwrap();
    let err = scoring::open_sheet(&env.ctx, &head.id, &ts[1].id).unwrap_err();
    assert_eq!(err.code, ErrorCode::Recused);
    assert!(err.message.contains("回避"), "{}", err.message);
    let board: ScoringBoard = scoring::scoring_board(&env.ctx).unwrap();
    let p = board
        .scorers
        .iter()
        .find(|p| p.scorer_id == head.id)
        .unwrap();
    assert_eq!(
        p.expected, 21,
        "a head is expected on every township but their own"
    );
}

#[test]
fn a_sheet_cannot_be_opened_before_scoring_of_the_township_opens() {
    let env = Env::new();
    let ts = townships(&env.ctx);
    let s = scorer(&env.ctx, "张三", "市领导", None);
    let err = scoring::open_sheet(&env.ctx, &s.id, &ts[0].id).unwrap_err();
    assert_eq!(err.code, ErrorCode::ScoringClosed);
}

#[test]
fn marks_beyond_the_maximum_or_with_two_decimals_are_refused_and_nothing_changes() {
    let env = Env::new();
    let ts = townships(&env.ctx);
    let s = scorer(&env.ctx, "张三", "市领导", None);
    scoring::set_scoring_open(&env.ctx, &ts[0].id, true).unwrap();
    let sheet = scoring::open_sheet(&env.ctx, &s.id, &ts[0].id).unwrap();
    let rubric = guanmo_api::rubric::get_rubric(&env.ctx).unwrap();
    let c = &rubric.categories[0].criteria[0]; // 组织体系建设, max 8
    let id = c.id.as_ref().unwrap();
    let saved =
        scoring::record_mark(&env.ctx, &sheet.id, id, Some(7.5), "资料齐全".into()).unwrap();
    assert_eq!(saved.base_total, 7.5);
    for bad in [7.55, 9.0, -1.0] {
        let err =
            scoring::record_mark(&env.ctx, &sheet.id, id, Some(bad), String::new()).unwrap_err();
        assert_eq!(err.code, ErrorCode::Validation, "{bad}");
        assert_eq!(err.problems[0].location, "基层党建 › 组织体系建设");
    }
    let again = scoring::get_sheet(&env.ctx, &sheet.id).unwrap();
    assert_eq!(again.base_total, 7.5);
    assert_eq!(again.marks[0].note, "资料齐全");
}

#[test]
fn an_incomplete_sheet_cannot_be_submitted_and_names_the_missing_criteria() {
    let env = Env::new();
    let ts = townships(&env.ctx);
    let s = scorer(&env.ctx, "张三", "市领导", None);
    scoring::set_scoring_open(&env.ctx, &ts[0].id, true).unwrap();
    let sheet = scoring::open_sheet(&env.ctx, &s.id, &ts[0].id).unwrap();
    let err = scoring::submit_sheet(&env.ctx, &sheet.id, sheet.version).unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert_eq!(
        err.problems.len(),
        18,
        "all 18 default criteria are unmarked"
    );
}

#[test]
fn a_submitted_sheet_is_locked_until_unlocked_with_a_reason_and_the_audit_log_tells_all() {
    let env = Env::new();
    let ts = townships(&env.ctx);
    let s = scorer(&env.ctx, "张三", "市领导", None);
    scoring::set_scoring_open(&env.ctx, &ts[0].id, true).unwrap();
    let sheet = fill_and_submit(&env.ctx, &s, &ts[0], 1.0);
    assert_eq!(sheet.status, SheetStatus::Submitted);
    let crit = sheet.marks[0].criterion_id.clone();
    let err =
        scoring::record_mark(&env.ctx, &sheet.id, &crit, Some(1.0), String::new()).unwrap_err();
    assert_eq!(err.code, ErrorCode::SheetLocked);

    assert_eq!(
        scoring::unlock_sheet(&env.ctx, &sheet.id, " ".into())
            .unwrap_err()
            .code,
        ErrorCode::Validation,
        "an unlock needs a written reason"
    );
    let unlocked = scoring::unlock_sheet(&env.ctx, &sheet.id, "误填分数".into()).unwrap();
    assert_eq!(unlocked.status, SheetStatus::Draft);
    let changed =
        scoring::record_mark(&env.ctx, &sheet.id, &crit, Some(2.0), String::new()).unwrap();
    scoring::submit_sheet(&env.ctx, &sheet.id, changed.version).unwrap();

    let log = scoring::audit_log(&env.ctx, Some(sheet.id.clone())).unwrap();
    let kinds: Vec<AuditKind> = log.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == AuditKind::Criterion).count(),
        19
    );
    assert_eq!(kinds.iter().filter(|k| **k == AuditKind::Submit).count(), 2);
    let unlock = log.iter().find(|e| e.kind == AuditKind::Unlock).unwrap();
    assert_eq!(unlock.reason.as_deref(), Some("误填分数"));
    let after = log
        .iter()
        .rev()
        .find(|e| e.kind == AuditKind::Criterion)
        .unwrap();
    assert_eq!(after.old_value.as_deref(), Some("7"));
    assert_eq!(after.new_value.as_deref(), Some("2"));
    assert_eq!(
        after.reason.as_deref(),
        Some("误填分数"),
        "changes after an unlock carry its reason"
    );
    assert_eq!(after.device_id, env.ctx.store().device_id());
}

#[test]
fn the_ranking_trims_the_highest_and_lowest_of_submitted_sheets_only() {
    let env = Env::new();
    let ts = townships(&env.ctx);
    let scorers: Vec<Scorer> = (0..4)
        .map(|i| scorer(&env.ctx, &format!("评委{i}"), "市领导", None))
        .collect();
    for t in &ts[..2] {
        scoring::set_scoring_open(&env.ctx, &t.id, true).unwrap();
    }
    // Township 0: totals 100, 82, 64, 46 (18 criteria, each max − off) → trimmed mean of 82, 64 = 73.
    for (i, s) in scorers.iter().enumerate() {
        fill_and_submit(&env.ctx, s, &ts[0], i as f64);
    }
    // Township 1: only two sheets (91 each) → too few for k = 1.
    for s in &scorers[..2] {
        fill_and_submit(&env.ctx, s, &ts[1], 0.5);
    }
    // A draft on township 1 does not count.
    scoring::open_sheet(&env.ctx, &scorers[3].id, &ts[1].id).unwrap();

    let st = scoring::get_standings(&env.ctx).unwrap();
    let row0 = st.rows.iter().find(|r| r.township_id == ts[0].id).unwrap();
    assert_eq!(row0.rank, Some(1));
    assert_eq!(row0.result, Some(73.0));
    assert_eq!(row0.untrimmed_mean, Some(73.0));
    assert_eq!(row0.marks.iter().filter(|m| m.trimmed.is_some()).count(), 2);
    let row1 = st.rows.iter().find(|r| r.township_id == ts[1].id).unwrap();
    assert!(
        matches!(
            row1.status,
            StandingStatus::TooFewSheets {
                have: 2,
                need: 3,
                ..
            }
        ),
        "{:?}",
        row1.status
    );
    assert_eq!(row1.rank, None);
    assert!(st.rule_summary.contains("最高分"), "{}", st.rule_summary);
    assert_eq!(st.rows.len(), 22, "every township is listed once");

    let mut rule = AggregationRule {
        trim_k: 0,
        ..AggregationRule::default()
    };
    rule.embargo = false;
    scoring::set_aggregation_rule(&env.ctx, rule).unwrap();
    let st = scoring::get_standings(&env.ctx).unwrap();
    let row1 = st.rows.iter().find(|r| r.township_id == ts[1].id).unwrap();
    assert_eq!(
        row1.result,
        Some(91.0),
        "k = 0 is the plain mean of 91 and 91"
    );
}
