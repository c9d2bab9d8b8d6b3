//! Residents' numbers at rest (issue 21): the database file never holds one as digits, the
//! site keeps working on the keyed hash, and only the role-checked, logged 评论记录 export
//! shows them.

use super::*;
use crate::people::{ask_who_is_working, save_person, set_pin, sign_in, sign_out};
use calamine::{open_workbook, Data, Reader, Xlsx};
use guanmo_domain::comments::CommentKind;
use guanmo_domain::people::{PersonInput, PersonRole};
use guanmo_domain::FixedClock;
use std::path::Path;

const NUMBERS: [&str; 3] = ["13812345678", "13900001111", "15077778888"];

fn setup() -> (tempfile::TempDir, Ctx) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(
        DateTime::parse_from_rfc3339("2024-12-04T01:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
    ));
    let ctx = Ctx::open(dir.path(), clock).unwrap();
    (dir, ctx)
}

fn sub(text: &str, phone: &str, client: &str) -> Submission {
    Submission {
        input: CommentInput {
            target: EVENT_TARGET.into(),
            nickname: "宜阳居民".into(),
            kind: CommentKind::Praise,
            text: text.into(),
            township_id: None,
            phone: phone.into(),
        },
        client_key: client.into(),
        peer: "192.168.1.20".into(),
        phone_verified: false,
    }
}

/// Three comments (one per number), approved; the first two authors muted, the first
/// lifted again. Returns the comments' ids.
fn comments_and_mutes(ctx: &Ctx) -> Vec<String> {
    let ids: Vec<String> = NUMBERS
        .iter()
        .enumerate()
        .map(|(i, n)| {
            submit(ctx, sub(&format!("第{i}条评论,点赞"), n, &format!("k{i}")))
                .unwrap()
                .id
        })
        .collect();
    decide(ctx, &ids, Decision::Approve).unwrap();
    mute_author(ctx, &ids[0], 7, "广告").unwrap();
    mute_author_with(
        ctx,
        &ids[1],
        7,
        "辱骂",
        MuteOptions {
            hide_comments: true,
        },
    )
    .unwrap();
    unmute(ctx, &ids[0]).unwrap();
    ids
}

/// The database file and its WAL, as bytes.
fn raw(dir: &Path) -> Vec<u8> {
    let db = dir.join(crate::ctx::DB_FILE);
    let mut bytes = std::fs::read(&db).unwrap();
    if let Ok(wal) = std::fs::read(dir.join(format!("{}-wal", crate::ctx::DB_FILE))) {
        bytes.extend(wal);
    }
    bytes
}

fn assert_no_number(dir: &Path) {
    let bytes = raw(dir);
    for n in NUMBERS {
        // The number, and its first eight digits (what a masked form never shows).
        for needle in [n, &n[..8]] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle} is in the database file"
            );
        }
    }
}

#[test]
fn the_database_file_holds_no_plain_number_and_the_site_works_on_the_hash() {
    let (dir, ctx) = setup();
    let ids = comments_and_mutes(&ctx);
    // The mute holds: the number is refused whatever phone key it comes from, the other
    // number is not; the hiding mute takes its author's comment off the public list.
    let e = submit(&ctx, sub("我还要再说一次", NUMBERS[1], "new-key")).unwrap_err();
    assert_eq!(e.code, ErrorCode::Muted);
    assert!(submit(&ctx, sub("解除后再说一次", NUMBERS[0], "k0")).is_ok());
    let shown: Vec<String> = public_comments(&ctx, None)
        .unwrap()
        .comments
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert!(!shown.contains(&ids[1]) && shown.contains(&ids[2]));
    // 我的评论 by the phone key; repeated text collapsed.
    assert_eq!(own_comments(&ctx, "k2").unwrap().len(), 1);
    assert!(
        submit(&ctx, sub("第2条评论,点赞", NUMBERS[2], "k2"))
            .unwrap()
            .duplicate
    );
    // Shown masked everywhere a moderator looks.
    let mutes = list_mutes(&ctx).unwrap();
    assert_eq!(mutes.len(), 1);
    assert_eq!(mutes[0].phone_masked, "139****1111");
    let log = moderation_log(&ctx, None).unwrap();
    assert!(log
        .iter()
        .any(|l| l.action == "mute" && l.phone_masked.as_deref() == Some("139****1111")));
    assert_no_number(dir.path());
    drop(ctx);
    assert_no_number(dir.path());
}

/// The cells of one column of a sheet, below its header.
fn column(path: &Path, sheet: &str, col: u32) -> Vec<String> {
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    let range = wb.worksheet_range(sheet).unwrap();
    (1..range.height() as u32)
        .map(|r| match range.get_value((r, col)) {
            Some(Data::String(s)) => s.clone(),
            Some(Data::Empty) | None => String::new(),
            other => format!("{other:?}"),
        })
        .collect()
}

fn export_lines(ctx: &Ctx) -> Vec<ModLogEntry> {
    moderation_log(ctx, None)
        .unwrap()
        .into_iter()
        .filter(|l| l.action == export::EXPORT_ACTION)
        .collect()
}

#[test]
fn the_export_opens_the_numbers_for_an_organiser_and_logs_it() {
    let (dir, ctx) = setup();
    comments_and_mutes(&ctx);
    let out = dir.path().join("评论记录.xlsx");
    export_records_xlsx(&ctx, &out).unwrap();
    assert_eq!(column(&out, "评论", 5), NUMBERS);
    // 禁言 and 解除禁言 lines name the number.
    let numbers = column(&out, "审核记录", 4);
    assert_eq!(
        numbers.iter().filter(|n| !n.is_empty()).collect::<Vec<_>>(),
        [NUMBERS[0], NUMBERS[1], NUMBERS[0]]
    );
    let lines = export_lines(&ctx);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].actor, "organiser");
    // Three comments and three moderation lines with a number.
    assert_eq!(lines[0].detail.as_deref(), Some("解密手机号 6 个"));
    assert_eq!(lines[0].phone_masked, None);
    assert_eq!(export::action_label(&lines[0].action), "导出评论记录");
    // The suggestions file stays masked.
    let masked = dir.path().join("意见建议.xlsx");
    export_suggestions_xlsx(&ctx, &masked).unwrap();
    assert_eq!(
        export_lines(&ctx).len(),
        1,
        "nothing opened, nothing logged"
    );
}

#[test]
fn only_a_moderator_or_organiser_may_export_the_numbers() {
    let (dir, ctx) = setup();
    comments_and_mutes(&ctx);
    let add = |name: &str, role: PersonRole| {
        let id = save_person(
            &ctx,
            None,
            0,
            PersonInput {
                name: name.into(),
                work_unit: "县委网信办".into(),
                title: String::new(),
                roles: vec![role],
                scorer_id: None,
                active: true,
            },
        )
        .unwrap()
        .id;
        set_pin(&ctx, &id, "482915").unwrap();
        id
    };
    let editor = add("王编辑", PersonRole::Editor);
    let moderator = add("李审核", PersonRole::Moderator);
    ask_who_is_working(&ctx).unwrap();

    sign_in(&ctx, &editor, "482915").unwrap();
    let out = dir.path().join("评论记录.xlsx");
    let e = export_records_xlsx(&ctx, &out).unwrap_err();
    assert_eq!(e.code, ErrorCode::Forbidden);
    assert!(e.message.contains("审核员"), "{}", e.message);
    assert!(!out.exists(), "no file for a refused export");
    sign_out(&ctx, false).unwrap();

    sign_in(&ctx, &moderator, "482915").unwrap();
    export_records_xlsx(&ctx, &out).unwrap();
    assert_eq!(column(&out, "评论", 5), NUMBERS);
    let lines = export_lines(&ctx);
    assert_eq!(lines.len(), 1, "the refused export opened nothing");
    assert!(lines[0].actor.contains("李审核"), "{}", lines[0].actor);
}
