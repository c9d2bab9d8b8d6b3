#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::people::{ask_who_is_working, save_person, set_pin, sign_in, sign_out};
use crate::scoring;
use guanmo_domain::paper::{PaperItemKind, PaperValue};
use guanmo_domain::people::PersonInput;
use guanmo_domain::scoring::{AuditKind, Scorer, ScorerInput};
use guanmo_domain::FixedClock;
use std::sync::Arc;

struct Fx {
    _dir: tempfile::TempDir,
    ctx: Ctx,
    scorer: Scorer,
    township: String,
    boss: Person,
    a: Person,
    b: Person,
}

const PIN_BOSS: &str = "205817";
const PIN_A: &str = "730164";
const PIN_B: &str = "730165";

fn person(ctx: &Ctx, name: &str, roles: Vec<PersonRole>) -> Person {
    save_person(
        ctx,
        None,
        0,
        PersonInput {
            name: name.into(),
            work_unit: String::new(),
            title: String::new(),
            roles,
            scorer_id: None,
            active: true,
        },
    )
    .unwrap()
}

fn fx() -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-12-07T12:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
    ));
    let ctx = Ctx::open(dir.path(), clock).unwrap();
    ask_who_is_working(&ctx).unwrap();
    let scorer = scoring::register_scorer(
        &ctx,
        ScorerInput {
            name: "王局长".into(),
            group: "市领导".into(),
            township_id: None,
            active: true,
            work_unit: String::new(),
        },
    )
    .unwrap();
    let boss = person(&ctx, "周主任", vec![PersonRole::Organiser]);
    let a = person(&ctx, "张三", vec![PersonRole::Clerk]);
    let b = person(&ctx, "李四", vec![PersonRole::Clerk]);
    set_pin(&ctx, &boss.id, PIN_BOSS).unwrap();
    sign_in(&ctx, &boss.id, PIN_BOSS).unwrap();
    for (p, pin) in [(&a, PIN_A), (&b, PIN_B)] {
        set_pin(&ctx, &p.id, pin).unwrap();
    }
    let township = crate::roster::list_townships(&ctx).unwrap()[0].id.clone();
    Fx {
        _dir: dir,
        ctx,
        scorer,
        township,
        boss,
        a,
        b,
    }
}

fn as_person(f: &Fx, p: &Person) {
    let pin = if p.id == f.a.id {
        PIN_A
    } else if p.id == f.b.id {
        PIN_B
    } else {
        PIN_BOSS
    };
    sign_out(&f.ctx, false).unwrap();
    sign_in(&f.ctx, &p.id, pin).unwrap();
}

/// The criteria of the default rubric in order, with their maxima.
fn criteria(ctx: &Ctx) -> Vec<(String, f64)> {
    crate::rubric::get_rubric(ctx)
        .unwrap()
        .categories
        .into_iter()
        .flat_map(|c| c.criteria)
        .map(|k| (k.id.unwrap(), k.max_points))
        .collect()
}

/// Every criterion at half its maximum (rounded to one decimal), with `change` applied.
fn sheet_input(ctx: &Ctx, change: Option<(usize, f64)>) -> PaperInput {
    let marks = criteria(ctx)
        .into_iter()
        .enumerate()
        .map(|(i, (id, max))| PaperValue {
            item_id: id,
            points: Some(match change {
                Some((j, v)) if j == i => v,
                _ => (max * 5.0).round() / 10.0,
            }),
        })
        .collect();
    PaperInput {
        marks,
        adjustments: vec![],
        comment: "亮点突出".into(),
    }
}

fn enter(f: &Fx, round: i32, input: PaperInput) -> ApiResult<PaperSheetStatus> {
    enter_paper_sheet(&f.ctx, &f.scorer.id, &f.township, round, input)
}

fn submitted(f: &Fx) -> Vec<guanmo_domain::scoring::Sheet> {
    as_person(f, &f.boss);
    scoring::list_sheets(&f.ctx)
        .unwrap()
        .into_iter()
        .filter(|s| s.status == SheetStatus::Submitted)
        .collect()
}

#[test]
fn two_agreeing_entries_submit_the_sheet_with_both_clerks_in_the_audit() {
    let f = fx();
    as_person(&f, &f.a);
    let s = enter(&f, 1, sheet_input(&f.ctx, None)).unwrap();
    assert_eq!(s.state, PaperState::OneEntered);
    assert_eq!(s.first.as_ref().unwrap().clerk_name, "张三");
    assert!(submitted(&f).is_empty(), "one entry counts for nothing");

    as_person(&f, &f.b);
    let s = enter(&f, 2, sheet_input(&f.ctx, None)).unwrap();
    assert_eq!(s.state, PaperState::Counted);
    let sheets = submitted(&f);
    assert_eq!(sheets.len(), 1);
    let sheet = &sheets[0];
    assert_eq!(s.sheet_id.as_deref(), Some(sheet.id.as_str()));
    assert_eq!(sheet.comment, "亮点突出");
    assert_eq!(sheet.marks.len(), criteria(&f.ctx).len());
    assert_eq!(
        sheet.unlock_reason, None,
        "the sheet keeps no unlock reason"
    );

    let audit = scoring::audit_log(&f.ctx, Some(sheet.id.clone())).unwrap();
    assert!(audit.iter().any(|e| e.kind == AuditKind::Submit));
    assert!(
        audit
            .iter()
            .all(|e| e.reason.as_deref() == Some("双人录入:张三、李四")),
        "every audit row names both clerks: {audit:?}"
    );
    assert!(audit.iter().all(|e| e.person_name == "李四"));
    // The ranking uses it.
    let standings = scoring::get_standings(&f.ctx).unwrap();
    let json = serde_json::to_string(&standings).unwrap();
    assert!(json.contains(&sheet.id), "the ranking counts the sheet");

    // Counted: no more entries.
    as_person(&f, &f.a);
    let e = enter(&f, 1, sheet_input(&f.ctx, None)).unwrap_err();
    assert_eq!(e.code, ErrorCode::SheetLocked);
}

#[test]
fn disagreeing_entries_submit_nothing_and_list_exactly_the_differences() {
    let f = fx();
    let crit = criteria(&f.ctx);
    as_person(&f, &f.a);
    enter(&f, 1, sheet_input(&f.ctx, None)).unwrap();
    let e = paper_mismatches(&f.ctx, &f.scorer.id, &f.township).unwrap_err();
    assert_eq!(
        e.code,
        ErrorCode::Validation,
        "no mismatches before round 2"
    );

    as_person(&f, &f.b);
    let s = enter(&f, 2, sheet_input(&f.ctx, Some((2, 0.5)))).unwrap();
    assert_eq!((s.state, s.mismatch_count), (PaperState::Mismatch, 1));
    assert!(submitted(&f).is_empty());

    as_person(&f, &f.a);
    let m = paper_mismatches(&f.ctx, &f.scorer.id, &f.township).unwrap();
    assert_eq!(m.differences.len(), 1);
    let d = &m.differences[0];
    assert_eq!(d.kind, PaperItemKind::Criterion);
    assert_eq!(d.item_id.as_deref(), Some(crit[2].0.as_str()));
    assert_eq!(d.second, "0.5");
    assert_eq!(
        d.first,
        guanmo_domain::Points::from_f64((crit[2].1 * 5.0).round() / 10.0)
            .unwrap()
            .to_string()
    );
}

#[test]
fn one_person_cannot_enter_both_rounds_and_no_one_signed_in_cannot_enter() {
    let f = fx();
    // No one signed in on a hub that asks: refused.
    sign_out(&f.ctx, false).unwrap();
    assert!(enter(&f, 1, sheet_input(&f.ctx, None)).is_err());

    as_person(&f, &f.a);
    enter(&f, 1, sheet_input(&f.ctx, None)).unwrap();
    let e = enter(&f, 2, sheet_input(&f.ctx, None)).unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(e.problems[0].message.contains("另一位计分员"), "{e:?}");
    as_person(&f, &f.b);
    let e = enter(&f, 1, sheet_input(&f.ctx, None)).unwrap_err();
    assert!(e.problems[0].message.contains("已由张三录入"), "{e:?}");
    assert!(submitted(&f).is_empty());

    // Neither a clerk nor the organiser: refused.
    as_person(&f, &f.boss);
    let scorer_person = person(&f.ctx, "赵六", vec![PersonRole::Monitor]);
    set_pin(&f.ctx, &scorer_person.id, "730199").unwrap();
    sign_out(&f.ctx, false).unwrap();
    sign_in(&f.ctx, &scorer_person.id, "730199").unwrap();
    assert_eq!(
        list_paper_sheets(&f.ctx).unwrap_err().code,
        ErrorCode::Forbidden
    );
}

#[test]
fn without_people_double_entry_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Ctx::open(dir.path(), Arc::new(guanmo_domain::SystemClock)).unwrap();
    let s = scoring::register_scorer(
        &ctx,
        ScorerInput {
            name: "王局长".into(),
            group: "市领导".into(),
            township_id: None,
            active: true,
            work_unit: String::new(),
        },
    )
    .unwrap();
    let t = crate::roster::list_townships(&ctx).unwrap()[0].id.clone();
    let e = enter_paper_sheet(&ctx, &s.id, &t, 1, sheet_input(&ctx, None)).unwrap_err();
    assert_eq!(e.problems[0].location, "计分员");
    assert!(e.problems[0].message.contains("登录"));
}

#[test]
fn a_round_two_entry_never_shows_round_ones_values() {
    let f = fx();
    as_person(&f, &f.a);
    enter(&f, 1, sheet_input(&f.ctx, Some((0, 1.5)))).unwrap();
    as_person(&f, &f.b);
    let rows = list_paper_sheets(&f.ctx).unwrap();
    let json = serde_json::to_string(&rows).unwrap();
    assert!(!json.contains("1.5") && !json.contains("亮点"), "{json}");
    assert!(paper_mismatches(&f.ctx, &f.scorer.id, &f.township).is_err());
    // The change log the window reads holds no values either.
    let changes = f.ctx.store.changes_since(0, 100_000).unwrap();
    for c in changes.iter().filter(|c| c.entity == store::ENTITY) {
        let p = c.payload.to_string();
        assert!(!p.contains("亮点") && !p.contains("marks"), "{p}");
    }
}

#[test]
fn settling_the_mismatch_against_the_paper_counts_the_sheet() {
    let f = fx();
    let crit = criteria(&f.ctx);
    as_person(&f, &f.a);
    enter(&f, 1, sheet_input(&f.ctx, None)).unwrap();
    as_person(&f, &f.b);
    let mut second = sheet_input(&f.ctx, Some((1, 0.0)));
    second.comment = "亮点 突出".into();
    let s = enter(&f, 2, second).unwrap();
    assert_eq!(s.mismatch_count, 2, "the mark and the comment");

    let fix_second = |points: f64| PaperSettlement {
        first: vec![],
        second: vec![
            PaperCorrection {
                kind: PaperItemKind::Criterion,
                item_id: Some(crit[1].0.clone()),
                points: Some(points),
                comment: String::new(),
            },
            PaperCorrection {
                kind: PaperItemKind::Comment,
                item_id: None,
                points: None,
                comment: "亮点突出".into(),
            },
        ],
    };
    // Only mismatched items may be re-entered.
    let bad = PaperSettlement {
        first: vec![PaperCorrection {
            kind: PaperItemKind::Criterion,
            item_id: Some(crit[0].0.clone()),
            points: Some(0.0),
            comment: String::new(),
        }],
        second: vec![],
    };
    assert!(settle_paper_sheet(&f.ctx, &f.scorer.id, &f.township, bad).is_err());

    // A wrong correction leaves one mismatch.
    let m = settle_paper_sheet(&f.ctx, &f.scorer.id, &f.township, fix_second(0.1)).unwrap();
    assert_eq!(m.differences.len(), 1);
    assert_eq!(m.status.state, PaperState::Mismatch);
    assert!(submitted(&f).is_empty());

    as_person(&f, &f.a);
    let right = (crit[1].1 * 5.0).round() / 10.0;
    let mut only_mark = fix_second(right);
    only_mark.second.pop();
    let m = settle_paper_sheet(&f.ctx, &f.scorer.id, &f.township, only_mark).unwrap();
    assert!(m.differences.is_empty());
    assert_eq!(m.status.state, PaperState::Counted);
    assert_eq!(
        m.status.second.as_ref().unwrap().settled_by.as_deref(),
        Some("李四、张三")
    );
    let sheets = submitted(&f);
    assert_eq!(sheets.len(), 1);
    let audit = scoring::audit_log(&f.ctx, Some(sheets[0].id.clone())).unwrap();
    assert_eq!(
        audit[0].reason.as_deref(),
        Some("双人录入:张三、李四;核对:张三、李四")
    );
}

#[test]
fn the_organiser_discards_an_entry_with_a_reason_and_the_round_is_entered_again() {
    let f = fx();
    as_person(&f, &f.a);
    enter(&f, 1, sheet_input(&f.ctx, Some((0, 0.0)))).unwrap();
    let e = discard_paper_entry(&f.ctx, &f.scorer.id, &f.township, 1, "录错表".into()).unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden, "a clerk does not discard");

    as_person(&f, &f.boss);
    let e = discard_paper_entry(&f.ctx, &f.scorer.id, &f.township, 1, " ".into()).unwrap_err();
    assert_eq!(e.problems[0].location, "作废原因");
    let s = discard_paper_entry(&f.ctx, &f.scorer.id, &f.township, 1, "录错表".into()).unwrap();
    assert_eq!((s.state, s.discarded), (PaperState::NotEntered, 1));

    // The same clerk may enter round 1 again; another enters round 2; they agree.
    as_person(&f, &f.a);
    enter(&f, 1, sheet_input(&f.ctx, None)).unwrap();
    as_person(&f, &f.b);
    let s = enter(&f, 2, sheet_input(&f.ctx, None)).unwrap();
    assert_eq!(s.state, PaperState::Counted);
}

#[test]
fn a_scan_of_the_paper_is_kept_with_the_pair() {
    let f = fx();
    as_person(&f, &f.a);
    let hash = "a".repeat(64);
    let e = attach_paper_scan(&f.ctx, &f.scorer.id, &f.township, &hash).unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound, "only an imported photo");
    f.ctx
        .store
        .write(f.ctx.now(), "t", |tx| {
            guanmo_store::photos::record(
                tx,
                &guanmo_domain::photos::PhotoInfo {
                    hash: hash.clone(),
                    file_name: "sheet.jpg".into(),
                    width: 10,
                    height: 10,
                    format: "jpeg".into(),
                    taken_at: None,
                    camera: None,
                    gps_lat: None,
                    gps_lon: None,
                    original_bytes: 1,
                    imported_at: String::new(),
                    clock_offset_s: 0,
                },
            )
        })
        .unwrap();
    let s = attach_paper_scan(&f.ctx, &f.scorer.id, &f.township, &hash).unwrap();
    assert_eq!(s.scan_hash.as_deref(), Some(hash.as_str()));
    assert_eq!(s.state, PaperState::NotEntered);
    let row = list_paper_sheets(&f.ctx)
        .unwrap()
        .into_iter()
        .find(|r| r.scorer_id == f.scorer.id && r.township_id == f.township)
        .unwrap();
    assert_eq!(row.scan_hash, Some(hash));
}

#[test]
fn a_scorers_own_laptop_sheet_stops_paper_entry() {
    let f = fx();
    as_person(&f, &f.boss);
    scoring::set_scoring_open(&f.ctx, &f.township, true).unwrap();
    // The scorer starts their own sheet (on their laptop; here on the hub, signed in).
    let wang = save_person(
        &f.ctx,
        None,
        0,
        PersonInput {
            name: "王局长".into(),
            work_unit: String::new(),
            title: String::new(),
            roles: vec![PersonRole::Scorer],
            scorer_id: Some(f.scorer.id.clone()),
            active: true,
        },
    )
    .unwrap();
    set_pin(&f.ctx, &wang.id, "730166").unwrap();
    sign_out(&f.ctx, false).unwrap();
    sign_in(&f.ctx, &wang.id, "730166").unwrap();
    scoring::open_sheet(&f.ctx, &f.scorer.id, &f.township).unwrap();
    as_person(&f, &f.a);
    let e = enter(&f, 1, sheet_input(&f.ctx, None)).unwrap_err();
    assert!(e.message.contains("评分电脑"), "{e:?}");
    let row = list_paper_sheets(&f.ctx)
        .unwrap()
        .into_iter()
        .find(|r| r.scorer_id == f.scorer.id && r.township_id == f.township)
        .unwrap();
    assert_eq!(row.state, PaperState::ScoredElsewhere);
}

#[test]
fn a_round_entered_on_an_older_rubric_version_is_never_compared_and_is_entered_again() {
    let f = fx();
    as_person(&f, &f.a);
    enter(&f, 1, sheet_input(&f.ctx, None)).unwrap();
    // The organiser revises the rubric between the rounds (a rename: nothing to reopen).
    as_person(&f, &f.boss);
    let mut next = crate::rubric::get_rubric(&f.ctx).unwrap();
    next.categories[0].criteria[0].name = "组织体系建设(更正)".into();
    let saved = crate::rubric::save_rubric(&f.ctx, next).unwrap();
    as_person(&f, &f.b);
    let e = enter(&f, 2, sheet_input(&f.ctx, None)).unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert_eq!(
        e.message,
        format!(
            "一录按第{}版评分标准录入,现行为第{}版;请组织方作废一录后按现行标准重新录入",
            saved.version - 1,
            saved.version
        )
    );
    assert!(submitted(&f).is_empty(), "nothing counted");
    as_person(&f, &f.boss);
    discard_paper_entry(
        &f.ctx,
        &f.scorer.id,
        &f.township,
        1,
        "评分标准已修订".into(),
    )
    .unwrap();
    as_person(&f, &f.a);
    enter(&f, 1, sheet_input(&f.ctx, None)).unwrap();
    as_person(&f, &f.b);
    let s = enter(&f, 2, sheet_input(&f.ctx, None)).unwrap();
    assert_eq!(s.state, PaperState::Counted);
}

#[test]
fn once_counted_the_scan_is_added_if_missing_but_never_swapped() {
    let f = fx();
    let photo = |hash: &str| guanmo_domain::photos::PhotoInfo {
        hash: hash.to_string(),
        file_name: "sheet.jpg".into(),
        width: 10,
        height: 10,
        format: "jpeg".into(),
        taken_at: None,
        camera: None,
        gps_lat: None,
        gps_lon: None,
        original_bytes: 1,
        imported_at: String::new(),
        clock_offset_s: 0,
    };
    let (one, two) = ("a".repeat(64), "b".repeat(64));
    f.ctx
        .store
        .write(f.ctx.now(), "t", |tx| {
            guanmo_store::photos::record(tx, &photo(&one))?;
            guanmo_store::photos::record(tx, &photo(&two))
        })
        .unwrap();
    as_person(&f, &f.a);
    enter(&f, 1, sheet_input(&f.ctx, None)).unwrap();
    as_person(&f, &f.b);
    assert_eq!(
        enter(&f, 2, sheet_input(&f.ctx, None)).unwrap().state,
        PaperState::Counted
    );
    // Counted without a scan: it may still be added.
    let s = attach_paper_scan(&f.ctx, &f.scorer.id, &f.township, &one).unwrap();
    assert_eq!(s.scan_hash.as_deref(), Some(one.as_str()));
    let e = attach_paper_scan(&f.ctx, &f.scorer.id, &f.township, &two).unwrap_err();
    assert_eq!(e.code, ErrorCode::SheetLocked);
    assert_eq!(e.message, "已计入的评分表不能更换纸质表扫描件");
    let row = list_paper_sheets(&f.ctx)
        .unwrap()
        .into_iter()
        .find(|r| r.scorer_id == f.scorer.id && r.township_id == f.township)
        .unwrap();
    assert_eq!(row.scan_hash, Some(one), "the first scan stays");
}
