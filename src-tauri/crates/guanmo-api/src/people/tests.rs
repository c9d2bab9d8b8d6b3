#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::scoring;
use crate::tally;
use guanmo_domain::scoring::Scorer;
use guanmo_domain::scoring::ScorerInput;
use guanmo_domain::FixedClock;
use std::sync::Arc;

struct Fx {
    _dir: tempfile::TempDir,
    ctx: Ctx,
    clock: Arc<FixedClock>,
}

fn fx() -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-12-07T01:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
    ));
    let ctx = Ctx::open(dir.path(), clock.clone()).unwrap();
    Fx {
        _dir: dir,
        ctx,
        clock,
    }
}

fn person(ctx: &Ctx, name: &str, roles: Vec<PersonRole>, scorer_id: Option<&str>) -> Person {
    save_person(
        ctx,
        None,
        0,
        PersonInput {
            name: name.into(),
            work_unit: "市委办公室".into(),
            title: String::new(),
            roles,
            scorer_id: scorer_id.map(str::to_string),
            active: true,
        },
    )
    .unwrap()
}

fn scorer(ctx: &Ctx, name: &str) -> Scorer {
    scoring::register_scorer(
        ctx,
        ScorerInput {
            name: name.into(),
            group: "市领导".into(),
            township_id: None,
            active: true,
            work_unit: String::new(),
        },
    )
    .unwrap()
}

fn draft() -> guanmo_domain::feed::PostInput {
    guanmo_domain::feed::PostInput {
        body: "草稿".into(),
        ..Default::default()
    }
}

fn code_of(e: &ApiError) -> ErrorCode {
    e.code
}

#[test]
fn no_one_is_asked_until_someone_can_sign_in_and_the_cli_never_is() {
    let f = fx();
    // The CLI and the hub's server: never asked, even with people and PINs.
    let boss = person(&f.ctx, "周主任", vec![PersonRole::Organiser], None);
    set_pin(&f.ctx, &boss.id, "205817").unwrap();
    assert!(!sign_in_required(&f.ctx).unwrap());
    // The desktop asks once a person has a PIN here.
    let f = fx();
    ask_who_is_working(&f.ctx).unwrap();
    assert!(!sign_in_required(&f.ctx).unwrap());
    let boss = person(&f.ctx, "周主任", vec![PersonRole::Organiser], None);
    assert!(!sign_in_required(&f.ctx).unwrap(), "no PIN yet");
    set_pin(&f.ctx, &boss.id, "205817").unwrap();
    assert!(sign_in_required(&f.ctx).unwrap());
    let e = crate::feed::create_draft(&f.ctx, draft()).unwrap_err();
    assert_eq!(code_of(&e), ErrorCode::SignInRequired);
    // Nothing was written by the refused write.
    assert!(crate::feed::list_posts(&f.ctx).unwrap().is_empty());
}

#[test]
fn every_write_names_the_person_and_the_score_audit_shows_their_name() {
    let f = fx();
    ask_who_is_working(&f.ctx).unwrap();
    let s = scorer(&f.ctx, "张三");
    let boss = person(&f.ctx, "周主任", vec![PersonRole::Organiser], None);
    let zhang = person(&f.ctx, "张三", vec![PersonRole::Scorer], Some(&s.id));
    set_pin(&f.ctx, &boss.id, "205817").unwrap();
    // From the first PIN on, the organiser signs in before setting others'.
    assert_eq!(
        set_pin(&f.ctx, &zhang.id, "730164").unwrap_err().code,
        ErrorCode::SignInRequired
    );
    sign_in(&f.ctx, &boss.id, "205817").unwrap();
    set_pin(&f.ctx, &zhang.id, "730164").unwrap();
    let t = crate::roster::list_townships(&f.ctx).unwrap()[0].clone();
    scoring::set_scoring_open(&f.ctx, &t.id, true).unwrap();
    let last = f.ctx.store.changes_since(0, u32::MAX).unwrap();
    let actor = &last.last().unwrap().actor;
    assert_eq!(actor, &format!("organiser|{}|周主任", boss.id));

    sign_out(&f.ctx, false).unwrap();
    sign_in(&f.ctx, &zhang.id, "730164").unwrap();
    let sheet = scoring::open_sheet(&f.ctx, &s.id, &t.id).unwrap();
    let criterion = crate::rubric::get_rubric(&f.ctx).unwrap().categories[0].criteria[0]
        .id
        .clone()
        .unwrap();
    scoring::record_mark(&f.ctx, &sheet.id, &criterion, Some(1.0), String::new()).unwrap();
    let audit = scoring::audit_log(&f.ctx, Some(sheet.id.clone())).unwrap();
    let entry = audit.last().unwrap();
    assert_eq!(entry.person_id, zhang.id);
    assert_eq!(entry.person_name, "张三");
}

#[test]
fn five_wrong_pins_lock_for_five_minutes_and_every_try_is_logged() {
    let f = fx();
    ask_who_is_working(&f.ctx).unwrap();
    let boss = person(&f.ctx, "周主任", vec![PersonRole::Organiser], None);
    set_pin(&f.ctx, &boss.id, "205817").unwrap();
    for i in 1..=4 {
        let e = sign_in(&f.ctx, &boss.id, "000000").unwrap_err();
        assert_eq!(e.code, ErrorCode::SignInRefused);
        assert!(
            e.problems[0]
                .message
                .contains(&format!("还可以再试 {} 次", 5 - i)),
            "{e:?}"
        );
    }
    let e = sign_in(&f.ctx, &boss.id, "000000").unwrap_err();
    assert!(e.problems[0].message.contains("已锁定 5 分钟"), "{e:?}");
    // The right PIN is refused while locked.
    let e = sign_in(&f.ctx, &boss.id, "205817").unwrap_err();
    assert!(e.problems[0].message.contains("已锁定"), "{e:?}");
    assert!(signed_in(&f.ctx).unwrap().is_none());
    f.clock.advance(Duration::minutes(5) + Duration::seconds(1));
    let s = sign_in(&f.ctx, &boss.id, "205817").unwrap();
    assert_eq!(s.person.unwrap().id, boss.id);
    // The organiser reads the log: newest first.
    let log: Vec<String> = sign_in_log(&f.ctx)
        .unwrap()
        .into_iter()
        .map(|l| l.event)
        .collect();
    assert_eq!(
        log,
        [
            "signed_in",
            "refused_locked",
            "locked",
            "wrong_pin",
            "wrong_pin",
            "wrong_pin",
            "wrong_pin",
            "pin_set"
        ]
    );
    // No PIN sits in plain text anywhere in the database.
    let raw = std::fs::read(f.ctx.data_dir().join(crate::ctx::DB_FILE)).unwrap();
    let wal = std::fs::read(
        f.ctx
            .data_dir()
            .join(format!("{}-wal", crate::ctx::DB_FILE)),
    )
    .unwrap_or_default();
    for bytes in [raw, wal] {
        assert!(
            !bytes.windows(6).any(|w| w == b"205817"),
            "PIN stored in the clear"
        );
    }
}

#[test]
fn the_app_locks_after_the_idle_time() {
    let f = fx();
    ask_who_is_working(&f.ctx).unwrap();
    let boss = person(&f.ctx, "周主任", vec![PersonRole::Organiser], None);
    set_pin(&f.ctx, &boss.id, "205817").unwrap();
    sign_in(&f.ctx, &boss.id, "205817").unwrap();
    set_idle_minutes(&f.ctx, 3).unwrap();
    f.clock.advance(Duration::minutes(2));
    assert!(keep_alive(&f.ctx).unwrap().person.is_some());
    f.clock.advance(Duration::minutes(2));
    assert!(
        signed_in(&f.ctx).unwrap().is_some(),
        "kept alive 2 minutes ago"
    );
    f.clock.advance(Duration::minutes(3) + Duration::seconds(1));
    assert!(keep_alive(&f.ctx).unwrap().person.is_none());
    let e = crate::feed::create_draft(&f.ctx, draft()).unwrap_err();
    assert_eq!(e.code, ErrorCode::SignInRequired);
    assert_eq!(sign_in_log_events(&f.ctx)[0], "idle_lock");
}

fn sign_in_log_events(ctx: &Ctx) -> Vec<String> {
    ctx.store
        .read(|c| store::sign_in_log(c, 50))
        .unwrap()
        .into_iter()
        .map(|l| l.event)
        .collect()
}

#[test]
fn a_laptop_signs_in_the_first_time_with_the_hubs_one_time_code() {
    let f = fx();
    let s = scorer(&f.ctx, "张三");
    let zhang = person(&f.ctx, "张三", vec![PersonRole::Scorer], Some(&s.id));
    let editor = person(&f.ctx, "王编辑", vec![PersonRole::Editor], None);
    let issued = issue_sign_in_code(&f.ctx, &zhang.id).unwrap();
    assert_eq!(issued.code.len(), 8);
    // The same database now acts as a scorer's laptop that received the person and the code.
    f.ctx
        .store
        .write_without_ops(f.ctx.now(), "system", |tx| {
            meta::set(tx, crate::ctx::DEVICE_ROLE, "scorer")
        })
        .unwrap();
    ask_who_is_working(&f.ctx).unwrap();
    let view = session(&f.ctx).unwrap();
    assert!(view.required);
    let names: Vec<_> = view.choices.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["张三"], "a scorer's laptop lists only 评分人");
    assert!(!view.choices[0].has_pin);
    assert_eq!(
        sign_in(&f.ctx, &editor.id, "205817").unwrap_err().code,
        ErrorCode::Forbidden
    );
    assert_eq!(
        sign_in(&f.ctx, &zhang.id, "205817").unwrap_err().code,
        ErrorCode::SignInRefused,
        "no PIN here yet"
    );
    let e = sign_in_with_code(&f.ctx, &zhang.id, "AAAAAAAA", "730164").unwrap_err();
    assert_eq!(e.code, ErrorCode::SignInRefused);
    let v = sign_in_with_code(&f.ctx, &zhang.id, &issued.code.to_lowercase(), "730164").unwrap();
    assert_eq!(v.person.unwrap().id, zhang.id);
    // Signing in set the laptop's scorer.
    assert_eq!(
        scoring::get_device_scorer(&f.ctx).unwrap().unwrap().id,
        s.id
    );
    sign_out(&f.ctx, false).unwrap();
    // The code is good once on this device; the PIN works from now on.
    let e = sign_in_with_code(&f.ctx, &zhang.id, &issued.code, "730165").unwrap_err();
    assert_eq!(e.code, ErrorCode::SignInRefused);
    sign_in(&f.ctx, &zhang.id, "730164").unwrap();
    // An expired code is refused.
    let f2 = fx();
    let s2 = scorer(&f2.ctx, "李四");
    let li = person(&f2.ctx, "李四", vec![PersonRole::Scorer], Some(&s2.id));
    let c = issue_sign_in_code(&f2.ctx, &li.id).unwrap();
    f2.clock.advance(Duration::hours(25));
    assert_eq!(
        sign_in_with_code(&f2.ctx, &li.id, &c.code, "730164")
            .unwrap_err()
            .code,
        ErrorCode::SignInRefused
    );
}

/// Two scorers, an organiser, a 计票人 and a 监票人 on one hub, every sheet of one township in.
struct Tour {
    f: Fx,
    a: Scorer,
    b: Scorer,
    pa: Person,
    pb: Person,
    boss: Person,
    counter: Person,
    monitor: Person,
    township: String,
}

fn tour() -> Tour {
    let f = fx();
    ask_who_is_working(&f.ctx).unwrap();
    let a = scorer(&f.ctx, "张三");
    let b = scorer(&f.ctx, "李四");
    let boss = person(&f.ctx, "周主任", vec![PersonRole::Organiser], None);
    let pa = person(&f.ctx, "张三", vec![PersonRole::Scorer], Some(&a.id));
    let pb = person(&f.ctx, "李四", vec![PersonRole::Scorer], Some(&b.id));
    let counter = person(&f.ctx, "钱计票", vec![PersonRole::Counter], None);
    let monitor = person(&f.ctx, "孙监票", vec![PersonRole::Monitor], None);
    set_pin(&f.ctx, &boss.id, "205817").unwrap();
    sign_in(&f.ctx, &boss.id, "205817").unwrap();
    for (p, pin) in [
        (&pa, "730164"),
        (&pb, "730165"),
        (&counter, "730166"),
        (&monitor, "730167"),
    ] {
        set_pin(&f.ctx, &p.id, pin).unwrap();
    }
    sign_in(&f.ctx, &boss.id, "205817").unwrap();
    // One township only, so every expected sheet can be in.
    let towns = crate::roster::list_townships(&f.ctx).unwrap();
    for t in &towns[1..] {
        let input = guanmo_domain::roster::TownshipInput {
            code: t.code.clone(),
            name: t.name.clone(),
            kind: t.kind,
            enabled: false,
            day: t.day,
            arrival: t.arrival.clone(),
            slot_minutes: t.slot_minutes,
            note: t.note.clone(),
        };
        crate::roster::update_township(&f.ctx, &t.id, t.version, input).unwrap();
    }
    let township = towns[0].id.clone();
    scoring::set_scoring_open(&f.ctx, &township, true).unwrap();
    Tour {
        f,
        a,
        b,
        pa,
        pb,
        boss,
        counter,
        monitor,
        township,
    }
}

fn as_person(t: &Tour, p: &Person, pin: &str) {
    sign_out(&t.f.ctx, false).unwrap();
    sign_in(&t.f.ctx, &p.id, pin).unwrap();
}

fn fill(t: &Tour, s: &Scorer, points: f64) -> guanmo_domain::scoring::Sheet {
    let ctx = &t.f.ctx;
    let mut sheet = scoring::open_sheet(ctx, &s.id, &t.township).unwrap();
    for c in crate::rubric::get_rubric(ctx).unwrap().categories {
        for k in c.criteria {
            sheet =
                scoring::record_mark(ctx, &sheet.id, &k.id.unwrap(), Some(points), String::new())
                    .unwrap();
        }
    }
    scoring::submit_sheet(ctx, &sheet.id, sheet.version).unwrap()
}

#[test]
fn back_to_back_a_scorer_sees_only_their_own_sheet_and_no_ranking() {
    let t = tour();
    let ctx = &t.f.ctx;
    as_person(&t, &t.pa, "730164");
    let sa = fill(&t, &t.a, 1.0);
    // A cannot start or fill B's sheet.
    assert_eq!(
        scoring::open_sheet(ctx, &t.b.id, &t.township)
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    as_person(&t, &t.pb, "730165");
    let sb = fill(&t, &t.b, 2.0);
    assert_eq!(
        scoring::get_sheet(ctx, &sa.id).unwrap_err().code,
        ErrorCode::Forbidden
    );
    assert_eq!(
        scoring::audit_log(ctx, Some(sa.id.clone()))
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    let listed: Vec<_> = scoring::list_sheets(ctx)
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    assert_eq!(listed, vec![sb.id.clone()]);
    assert!(scoring::audit_log(ctx, None)
        .unwrap()
        .iter()
        .all(|e| e.scorer_id == t.b.id));
    assert_eq!(
        scoring::get_standings(ctx).unwrap_err().code,
        ErrorCode::Forbidden
    );
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        crate::export::export_results_xlsx(ctx, &dir.path().join("r.xlsx"))
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    // The 计票人 sees the live ranking; the 监票人 does not, before the reveal.
    as_person(&t, &t.counter, "730166");
    assert!(scoring::get_standings(ctx).is_ok());
    as_person(&t, &t.monitor, "730167");
    assert_eq!(
        scoring::get_standings(ctx).unwrap_err().code,
        ErrorCode::Forbidden
    );
    // The 监票人 may not seal.
    assert_eq!(
        tally::seal_tally(ctx, None).unwrap_err().code,
        ErrorCode::Forbidden
    );
}

#[test]
fn the_monitors_digest_is_the_one_revealed_and_a_later_change_voids_the_seal() {
    let t = tour();
    let ctx = &t.f.ctx;
    as_person(&t, &t.pa, "730164");
    let sa = fill(&t, &t.a, 1.0);
    as_person(&t, &t.boss, "205817");
    // Not every sheet is in: sealing needs a reason.
    let e = tally::seal_tally(ctx, None).unwrap_err();
    assert_eq!(e.problems[0].location, "结束原因");
    assert_eq!(
        tally::reveal_tally(ctx).unwrap_err().code,
        ErrorCode::Validation
    );
    as_person(&t, &t.pb, "730165");
    fill(&t, &t.b, 2.0);
    as_person(&t, &t.boss, "205817");
    let sealed = tally::seal_tally(ctx, None).unwrap();
    assert!(sealed.complete);
    let seal = sealed.seal.unwrap();
    assert_eq!(seal.digest.len(), 64);
    // The 监票人 sees the digest and progress, but not the tally yet.
    as_person(&t, &t.monitor, "730167");
    let watched = tally::tally_status(ctx).unwrap();
    assert_eq!(watched.seal.as_ref().unwrap().digest, seal.digest);
    assert_eq!((watched.submitted, watched.expected), (2, 2));
    assert!(!watched.revealed);
    assert!(tally::sealed_tally_text(ctx).unwrap().is_none());
    // A change after sealing voids the seal: the organiser must seal again.
    as_person(&t, &t.boss, "205817");
    scoring::unlock_sheet(ctx, &sa.id, "录入有误".into()).unwrap();
    as_person(&t, &t.pa, "730164");
    let criterion = crate::rubric::get_rubric(ctx).unwrap().categories[0].criteria[0]
        .id
        .clone()
        .unwrap();
    let sheet = scoring::record_mark(ctx, &sa.id, &criterion, Some(0.5), String::new()).unwrap();
    scoring::submit_sheet(ctx, &sheet.id, sheet.version).unwrap();
    as_person(&t, &t.boss, "205817");
    let status = tally::tally_status(ctx).unwrap();
    assert!(!status.seal.as_ref().unwrap().still_valid);
    let e = tally::reveal_tally(ctx).unwrap_err();
    assert!(e.problems[0].message.contains("重新封存"), "{e:?}");
    let resealed = tally::seal_tally(ctx, None).unwrap().seal.unwrap();
    assert_ne!(resealed.digest, seal.digest);
    let revealed = tally::reveal_tally(ctx).unwrap();
    assert!(revealed.revealed);
    let digest = revealed.seal.unwrap().digest;
    // Anyone can recompute the digest from the sealed text.
    as_person(&t, &t.monitor, "730167");
    let text = tally::sealed_tally_text(ctx).unwrap().unwrap();
    let recomputed: String = Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(recomputed, digest);
    assert_eq!(
        tally::printed_digest(ctx).unwrap().as_deref(),
        Some(digest.as_str())
    );
    assert!(text.starts_with("{\"format\":\"guanmo-tally-1\""));
    // The 汇总表 prints the digest the 监票人 checked, and who exported it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("results.xlsx");
    crate::export::export_results_xlsx(ctx, &path).unwrap();
    let tally_sheet = xlsx_text(&path, "汇总表");
    assert!(
        tally_sheet.contains(&format!("封存校验码(SHA-256,揭晓时由监票人核对):{digest}")),
        "{tally_sheet}"
    );
    assert!(tally_sheet.contains("导出:孙监票"), "{tally_sheet}");
    // After the reveal the 监票人 sees the full tally and every sheet, read-only.
    assert!(scoring::get_standings(ctx).is_ok());
    assert_eq!(scoring::list_sheets(ctx).unwrap().len(), 2);
    assert_eq!(
        scoring::unlock_sheet(ctx, &sa.id, "想改".into())
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
}

use sha2::{Digest, Sha256};

/// Every cell's text of one worksheet, a line per row.
fn xlsx_text(path: &std::path::Path, sheet: &str) -> String {
    use calamine::{open_workbook, Reader, Xlsx};
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    let range = wb.worksheet_range(sheet).unwrap();
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_feed_is_for_editors_and_moderation_for_moderators() {
    let t = tour();
    let ctx = &t.f.ctx;
    // A 监票人 neither writes the feed nor moderates.
    as_person(&t, &t.monitor, "730167");
    assert_eq!(
        crate::feed::create_draft(ctx, draft()).unwrap_err().code,
        ErrorCode::Forbidden
    );
    let e = crate::comments::add_words(ctx, "测试词").unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    assert!(e.problems[0].message.contains("审核员"), "{e:?}");
    // The organiser does both; the post names them.
    as_person(&t, &t.boss, "205817");
    let post = crate::feed::create_draft(ctx, draft()).unwrap();
    let created_by: String = ctx
        .store
        .read(|c| {
            Ok(c.query_row(
                "SELECT created_by FROM posts WHERE id = ?1",
                [&post.id],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(created_by, format!("organiser|{}|周主任", t.boss.id));
    crate::comments::add_words(ctx, "测试词").unwrap();
    let last = ctx.store.changes_since(0, u32::MAX).unwrap();
    assert!(last.last().unwrap().actor.contains(&t.boss.id));
}

#[test]
fn only_the_scorers_own_person_fills_their_sheet_and_a_locked_hub_shows_nothing() {
    let t = tour();
    let ctx = &t.f.ctx;
    as_person(&t, &t.pa, "730164");
    let started = scoring::open_sheet(ctx, &t.a.id, &t.township).unwrap();
    // 组织方 and 计票人 see every sheet but write in none (背靠背): not start, not mark, not
    // submit; the 监票人 neither.
    let criterion = crate::rubric::get_rubric(ctx).unwrap().categories[0].criteria[0]
        .id
        .clone()
        .unwrap();
    for (p, pin) in [
        (&t.boss, "205817"),
        (&t.counter, "730166"),
        (&t.monitor, "730167"),
    ] {
        as_person(&t, p, pin);
        let e = scoring::open_sheet(ctx, &t.b.id, &t.township).unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden, "{} starts B's sheet", p.name);
        let e = scoring::record_mark(ctx, &started.id, &criterion, Some(1.0), String::new())
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden, "{} marks A's sheet", p.name);
        let e = scoring::submit_sheet(ctx, &started.id, started.version).unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden, "{} submits A's sheet", p.name);
    }
    // The organiser still sees it.
    as_person(&t, &t.boss, "205817");
    assert_eq!(scoring::get_sheet(ctx, &started.id).unwrap(), started);
    // Nothing was written by them.
    as_person(&t, &t.pa, "730164");
    assert_eq!(scoring::get_sheet(ctx, &started.id).unwrap(), started);
    fill(&t, &t.a, 1.0);

    // Locked (no one signed in on a hub that asks): reads are refused too, not answered as
    // the organiser's.
    sign_out(ctx, false).unwrap();
    for code in [
        scoring::get_standings(ctx).unwrap_err().code,
        scoring::get_sheet(ctx, &started.id).unwrap_err().code,
        scoring::list_sheets(ctx).unwrap_err().code,
        crate::results::get_results(ctx).unwrap_err().code,
    ] {
        assert_eq!(code, ErrorCode::SignInRequired);
    }
}

#[test]
fn the_organiser_signed_in_cannot_drop_their_own_organiser_role_but_another_organiser_may() {
    let t = tour();
    let ctx = &t.f.ctx;
    let input = |p: &Person, roles: Vec<PersonRole>, active: bool| PersonInput {
        name: p.name.clone(),
        work_unit: p.work_unit.clone(),
        title: p.title.clone(),
        roles,
        scorer_id: p.scorer_id.clone(),
        active,
    };
    as_person(&t, &t.boss, "205817");
    let me = store_person(ctx, &t.boss.id);
    for (roles, active) in [
        (vec![PersonRole::Counter], true),
        (vec![PersonRole::Organiser], false),
    ] {
        let e = save_person(
            ctx,
            Some(me.id.clone()),
            me.version,
            input(&me, roles, active),
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation);
        assert!(
            e.message.contains("不能取消本人的组织方角色"),
            "{}",
            e.message
        );
    }
    assert_eq!(store_person(ctx, &t.boss.id), me, "nothing changed");
    // A second organiser may change the first.
    let deputy = person(ctx, "吴副主任", vec![PersonRole::Organiser], None);
    set_pin(ctx, &deputy.id, "730168").unwrap();
    as_person(&t, &deputy, "730168");
    let changed = save_person(
        ctx,
        Some(me.id.clone()),
        me.version,
        input(&me, vec![PersonRole::Counter], true),
    )
    .unwrap();
    assert_eq!(changed.roles, vec![PersonRole::Counter]);
}

fn store_person(ctx: &Ctx, id: &str) -> Person {
    ctx.store.read(|c| store::get_person(c, id)).unwrap()
}
