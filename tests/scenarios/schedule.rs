//! Scoring by the schedule, offline: the hub sets the tour date (观摩日期) and each
//! township's day and arrival; a scorer's laptop syncs once and then loses contact. On its
//! own clock it opens a township at the scheduled arrival and scores it with no further sync,
//! refuses it before; the organiser's manual close (once synced) wins over the schedule; a
//! sheet submitted after the township's slot shows as 逾期 on the hub's board.

use crate::sync::Device;
use chrono::Duration;
use guanmo_api::scoring::{self, ScoringBoard, SheetCell, TownshipScoring};
use guanmo_api::{schedule, Ctx, ErrorCode};
use guanmo_domain::roster::{Township, TownshipInput};
use guanmo_domain::schedule::TourSettings;
use guanmo_domain::scoring::{Scorer, ScorerInput, ScoringState, Sheet};
use guanmo_sync::memory::{Faults, MemoryTransport};
use guanmo_sync::{HubService, Role};

fn enabled(ctx: &Ctx) -> Vec<Township> {
    guanmo_api::roster::list_townships(ctx)
        .unwrap()
        .into_iter()
        .filter(|t| t.enabled)
        .collect()
}

/// Plans `t` on `day` at `arrival` for `slot` minutes.
fn plan(hub: &Ctx, t: &Township, day: i32, arrival: &str, slot: i32) {
    guanmo_api::roster::update_township(
        hub,
        &t.id,
        t.version,
        TownshipInput {
            code: t.code.clone(),
            name: t.name.clone(),
            kind: t.kind,
            enabled: t.enabled,
            day: Some(day),
            arrival: Some(arrival.into()),
            slot_minutes: Some(slot),
            note: t.note.clone(),
        },
    )
    .unwrap();
}

fn fill_and_submit(ctx: &Ctx, s: &Scorer, t: &Township) -> Sheet {
    let mut sheet = scoring::open_sheet(ctx, &s.id, &t.id).unwrap();
    for c in guanmo_api::rubric::get_rubric(ctx).unwrap().categories {
        for k in c.criteria {
            sheet = scoring::record_mark(ctx, &sheet.id, &k.id.unwrap(), Some(1.0), String::new())
                .unwrap();
        }
    }
    scoring::submit_sheet(ctx, &sheet.id, sheet.version).unwrap()
}

fn row<'a>(board: &'a ScoringBoard, t: &Township) -> &'a TownshipScoring {
    board
        .townships
        .iter()
        .find(|r| r.township_id == t.id)
        .unwrap()
}

fn cell<'a>(board: &'a ScoringBoard, s: &Scorer, t: &Township) -> &'a SheetCell {
    board
        .scorers
        .iter()
        .find(|p| p.scorer_id == s.id)
        .unwrap()
        .sheets
        .iter()
        .find(|c| c.township_id == t.id)
        .unwrap()
}

#[test]
fn a_laptop_offline_opens_townships_by_the_schedule_and_the_organisers_close_still_wins() {
    // Both clocks stand at 2026-12-04 08:30 Beijing time (00:30 UTC).
    let hub = Device::new(Role::Hub, "组织方主机");
    let zhang = scoring::register_scorer(
        &hub.ctx,
        ScorerInput {
            name: "张三".into(),
            group: "市领导".into(),
            township_id: None,
            active: true,
            work_unit: String::new(),
        },
    )
    .unwrap();
    schedule::set_tour_settings(
        &hub.ctx,
        TourSettings {
            first_day: Some("2026-12-04".into()),
        },
    )
    .unwrap();
    let ts = enabled(&hub.ctx);
    plan(&hub.ctx, &ts[0], 1, "10:00", 60);
    plan(&hub.ctx, &ts[1], 1, "10:15", 15);
    plan(&hub.ctx, &ts[2], 1, "09:00", 60);
    plan(&hub.ctx, &ts[3], 2, "09:00", 60);

    let service = HubService::new(hub.ctx.clone(), hub.media.clone());
    let laptop = Device::new(Role::Scorer, "评分电脑一");
    let link = MemoryTransport::new(service, Faults::default(), 1);
    let code = guanmo_sync::new_pairing_code(&hub.ctx).unwrap();
    guanmo_sync::pair_with_hub(&laptop.ctx, &link, "memory://hub", &code.code).unwrap();
    guanmo_sync::assign_scorer(&hub.ctx, &zhang.id, Some(laptop.ctx.store().device_id())).unwrap();
    laptop.sync(&link).unwrap();
    scoring::set_device_scorer(&laptop.ctx, Some(zhang.id.clone())).unwrap();
    assert_eq!(
        schedule::get_tour_settings(&laptop.ctx)
            .unwrap()
            .first_day
            .as_deref(),
        Some("2026-12-04"),
        "the tour date reached the laptop"
    );
    assert_eq!(
        schedule::set_tour_settings(&laptop.ctx, TourSettings::default())
            .unwrap_err()
            .code,
        ErrorCode::HubOnly,
        "only the hub sets the tour date"
    );

    // From here the laptop is offline: it never syncs until the organiser closes a township.
    let board = scoring::scoring_board(&laptop.ctx).unwrap();
    let r0 = row(&board, &ts[0]);
    assert_eq!(
        (r0.state, r0.by_schedule, r0.opens_at.as_deref()),
        (
            ScoringState::NotOpen,
            true,
            Some("2026-12-04T10:00:00+08:00")
        )
    );
    assert_eq!(
        scoring::open_sheet(&laptop.ctx, &zhang.id, &ts[0].id)
            .unwrap_err()
            .code,
        ErrorCode::ScoringClosed,
        "before the scheduled arrival the township is refused"
    );

    // 10:30: ts[0], ts[1] and ts[2] are open by the schedule, ts[3] (day 2) is not.
    laptop.clock.advance(Duration::hours(2));
    let board = scoring::scoring_board(&laptop.ctx).unwrap();
    assert_eq!(row(&board, &ts[0]).state, ScoringState::Open);
    assert_eq!(
        board.current_township_id.as_deref(),
        Some(ts[1].id.as_str()),
        "of the townships open by the schedule, the one arrived at last comes first"
    );
    assert_eq!(row(&board, &ts[3]).state, ScoringState::NotOpen);
    fill_and_submit(&laptop.ctx, &zhang, &ts[0]);
    // 10:45: within ts[0]'s slot (until 11:00), after ts[1]'s (10:15 to 10:30).
    laptop.clock.advance(Duration::minutes(15));
    fill_and_submit(&laptop.ctx, &zhang, &ts[1]);
    let draft = scoring::open_sheet(&laptop.ctx, &zhang.id, &ts[2].id).unwrap();

    // The organiser closes ts[2] by hand; the laptop hears of it at its next sync.
    scoring::close_scoring(&hub.ctx, &ts[2].id, Some("改期另行评分".into())).unwrap();
    laptop.sync(&link).unwrap();
    let board = scoring::scoring_board(&laptop.ctx).unwrap();
    let r2 = row(&board, &ts[2]);
    assert_eq!(
        (r2.state, r2.by_schedule),
        (ScoringState::Closed, false),
        "the manual close wins over the schedule"
    );
    assert_eq!(
        scoring::record_mark(&laptop.ctx, &draft.id, "x", Some(1.0), String::new())
            .unwrap_err()
            .code,
        ErrorCode::ScoringClosed
    );

    // On the hub, the sheet submitted after its slot is late; the one within is not.
    let board = scoring::scoring_board(&hub.ctx).unwrap();
    assert!(
        !cell(&board, &zhang, &ts[0]).late,
        "submitted within the slot"
    );
    assert!(
        cell(&board, &zhang, &ts[1]).late,
        "submitted after the slot"
    );
    assert_eq!(row(&board, &ts[1]).submitted, 1);
    // The exports say so too: the marks CSV's 状态 and the scorer's 评分表 提交时间.
    let out = tempfile::tempdir().unwrap();
    let csv_path = out.path().join("marks.csv");
    guanmo_api::export::export_marks_csv(&hub.ctx, &csv_path).unwrap();
    let csv = String::from_utf8(std::fs::read(&csv_path).unwrap()).unwrap();
    let rows_of = |t: &Township| -> Vec<String> {
        csv.lines()
            .filter(|l| l.starts_with(&t.name))
            .map(str::to_string)
            .collect()
    };
    assert!(!rows_of(&ts[1]).is_empty());
    assert!(rows_of(&ts[1]).iter().all(|l| l.contains(",已提交(逾期),")));
    assert!(!rows_of(&ts[0]).is_empty());
    assert!(rows_of(&ts[0]).iter().all(|l| !l.contains("逾期")));

    // 按日程: the organiser hands ts[2] back to the schedule; once synced it is open again.
    let board = schedule::follow_schedule(&hub.ctx, &ts[2].id).unwrap();
    assert!(row(&board, &ts[2]).by_schedule);
    assert_eq!(
        row(&board, &ts[2]).close_reason,
        None,
        "the reason went with the close"
    );
    laptop.sync(&link).unwrap();
    assert_eq!(
        row(&scoring::scoring_board(&laptop.ctx).unwrap(), &ts[2]).state,
        ScoringState::Open
    );
    assert_eq!(
        laptop.dump(),
        hub.dump(),
        "hub and laptop hold the same replicated state"
    );

    // After midnight day 1's townships close by themselves; day 2's opens at its arrival.
    laptop
        .clock
        .advance(Duration::hours(13) + Duration::minutes(15)); // 12-05 00:00
    let board = scoring::scoring_board(&laptop.ctx).unwrap();
    assert_eq!(row(&board, &ts[2]).state, ScoringState::Closed);
    assert_eq!(row(&board, &ts[3]).state, ScoringState::NotOpen);
    laptop.clock.advance(Duration::hours(9));
    let board = scoring::scoring_board(&laptop.ctx).unwrap();
    assert_eq!(row(&board, &ts[3]).state, ScoringState::Open);
}
