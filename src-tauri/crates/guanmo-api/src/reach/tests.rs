use super::*;
use crate::comments::{self, Decision, Submission};
use crate::feed;
use chrono::{DateTime, Utc};
use guanmo_domain::comments::{CommentInput, CommentKind};
use guanmo_domain::feed::PostInput;
use guanmo_domain::FixedClock;
use std::sync::Arc;

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

/// A published post about the township at tour position `pos`.
fn post(ctx: &Ctx, pos: i32, body: &str) -> String {
    let t = crate::roster::list_townships(ctx)
        .unwrap()
        .into_iter()
        .find(|t| t.position == pos)
        .unwrap();
    let d = feed::create_draft(
        ctx,
        PostInput {
            township_id: Some(t.id.clone()),
            stop_label: Some(guanmo_domain::feed::stop_label_for(pos, &t.name)),
            body: body.into(),
            credit: "记者 李明 摄".into(),
            ..PostInput::default()
        },
    )
    .unwrap();
    feed::publish_post(ctx, &d.id, d.version).unwrap().id
}

fn keys(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i:08}")).collect()
}

fn counted(day: &str, post: Option<&str>, views: u64, peak: u32, v: Vec<String>) -> Counted {
    Counted {
        day: day.into(),
        post_id: post.map(str::to_string),
        views,
        peak_live: peak,
        visitors: v,
    }
}

fn within(estimate: u32, truth: u32) -> bool {
    // Four standard errors: a flaky estimate would be a broken sketch, not bad luck.
    (f64::from(estimate) - f64::from(truth)).abs() <= 4.0 * VISITOR_ERROR * f64::from(truth) + 2.0
}

#[test]
fn views_add_up_exactly_and_visitors_are_counted_once_across_batches_and_days() {
    let (_d, ctx) = setup();
    let a = post(&ctx, 1, "宜阳街道观摩现场");
    let b = post(&ctx, 1, "宜阳街道第二条");
    let c = post(&ctx, 5, "柏坊镇观摩现场");
    let day1 = keys("day1-", 3000);
    // Day 2: 1000 of day 1's phones come back, 2000 are new.
    let mut day2 = day1[..1000].to_vec();
    day2.extend(keys("day2-", 2000));
    // Three batches on day 1 (the same phones seen again in later batches).
    for part in day1.chunks(1000) {
        record(
            &ctx,
            &[
                counted("2024-12-04", None, 1500, 120, part.to_vec()),
                counted("2024-12-04", Some(&a), 1000, 0, part.to_vec()),
            ],
        )
        .unwrap();
    }
    record(
        &ctx,
        &[counted("2024-12-04", None, 10, 90, day1[..500].to_vec())],
    )
    .unwrap();
    record(
        &ctx,
        &[
            counted("2024-12-05", None, 4000, 300, day2.clone()),
            counted("2024-12-05", Some(&b), 700, 0, day2[..700].to_vec()),
            counted("2024-12-05", Some(&c), 900, 0, day2[1000..1900].to_vec()),
        ],
    )
    .unwrap();

    let r = report(&ctx).unwrap();
    assert_eq!(r.days.len(), 2);
    assert_eq!(r.days[0].day, "2024-12-04");
    assert_eq!(r.days[0].figures.views, 4510, "views are exact");
    assert_eq!(
        r.days[0].figures.peak_live, 120,
        "the peak keeps the larger"
    );
    assert!(within(r.days[0].figures.visitors, 3000), "{:?}", r.days[0]);
    assert_eq!(r.days[1].figures.views, 4000);
    assert!(within(r.days[1].figures.visitors, 3000), "{:?}", r.days[1]);
    assert_eq!(r.total.views, 8510);
    assert_eq!(r.total.peak_live, 300);
    // 3000 + 2000 new on day 2: a returning phone is one visitor, not two.
    assert!(within(r.total.visitors, 5000), "{:?}", r.total);

    // Stop 1 has two posts: day-1 phones saw a, day2[..700] (of which 700 are day-1 phones)
    // saw b: 3000 phones in all.
    let s1 = r
        .stops
        .iter()
        .find(|s| s.label.starts_with("第1站"))
        .unwrap();
    assert_eq!(s1.posts, 2);
    assert_eq!(s1.figures.views, 3700);
    assert!(within(s1.figures.visitors, 3000), "{s1:?}");
    let s5 = r
        .stops
        .iter()
        .find(|s| s.label.starts_with("第5站"))
        .unwrap();
    assert_eq!(s5.figures.views, 900);
    assert!(within(s5.figures.visitors, 900), "{s5:?}");
    let pa = r.posts.iter().find(|p| p.post_id == a).unwrap();
    assert_eq!(pa.figures.views, 3000);
    assert!(within(pa.figures.visitors, 3000));
    assert_eq!(pa.stop_label.as_deref(), Some("【第1站·宜阳街道】"));
}

#[test]
fn a_sketch_has_4096_registers() {
    let s = new_sketch(7);
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["p"], 12);
    assert_eq!(json["M"].as_array().unwrap().len(), 4096);
}

#[test]
fn an_unknown_post_is_not_counted_and_no_phone_key_is_stored() {
    let (dir, ctx) = setup();
    let a = post(&ctx, 2, "泉峰街道");
    let secret = "0195f1a2b3c4d5e6f7a8b9c0d1e2f3a4";
    record(
        &ctx,
        &[
            counted("2024-12-04", Some("not-a-post"), 5, 0, vec![secret.into()]),
            counted("2024-12-04", Some(&a), 2, 0, vec![secret.into()]),
            counted("2024-12-04", None, 2, 1, vec![secret.into()]),
        ],
    )
    .unwrap();
    let r = report(&ctx).unwrap();
    assert_eq!(r.posts.iter().map(|p| p.figures.views).sum::<u32>(), 2);
    assert_eq!(r.total.visitors, 1);
    drop(ctx);
    let mut raw = std::fs::read(dir.path().join(crate::ctx::DB_FILE)).unwrap();
    if let Ok(wal) = std::fs::read(dir.path().join(format!("{}-wal", crate::ctx::DB_FILE))) {
        raw.extend(wal);
    }
    assert!(
        !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the sketch keeps registers, never a key"
    );
}

#[test]
fn likes_and_approved_comments_count_per_post_and_per_day() {
    let (_d, ctx) = setup();
    let a = post(&ctx, 3, "松柏镇");
    for i in 0..3 {
        comments::like(&ctx, &a, &format!("phone{i}")).unwrap();
    }
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = comments::submit(
            &ctx,
            Submission {
                input: CommentInput {
                    target: a.clone(),
                    nickname: "松柏居民".into(),
                    kind: CommentKind::Praise,
                    text: format!("松柏镇变化真大第{i}次来"),
                    township_id: None,
                    phone: format!("1381234123{i}"),
                },
                client_key: format!("phone{i}"),
                peer: "192.168.1.20".into(),
                phone_verified: false,
            },
        )
        .unwrap();
        ids.push(r.id);
    }
    // Two approved, one left waiting: only approved comments count.
    comments::decide(&ctx, &ids[..2], Decision::Approve).unwrap();
    let r = report(&ctx).unwrap();
    let p = r.posts.iter().find(|p| p.post_id == a).unwrap();
    assert_eq!((p.figures.likes, p.figures.comments), (3, 2));
    assert_eq!(r.days.len(), 1);
    assert_eq!(r.days[0].day, "2024-12-04");
    assert_eq!((r.total.likes, r.total.comments), (3, 2));
}

#[test]
fn the_workbook_has_a_sheet_per_view_with_numbers() {
    use calamine::{open_workbook, Data, Reader, Xlsx};
    let (dir, ctx) = setup();
    let a = post(&ctx, 4, "第四站");
    record(
        &ctx,
        &[
            counted("2024-12-04", None, 12, 3, keys("k", 5)),
            counted("2024-12-04", Some(&a), 9, 0, keys("k", 4)),
        ],
    )
    .unwrap();
    let path = dir.path().join("传播数据.xlsx");
    export_xlsx(&ctx, &path).unwrap();
    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    assert_eq!(wb.sheet_names(), ["按日", "按站", "按条", "说明"]);
    let days = wb.worksheet_range("按日").unwrap();
    assert_eq!(days.get((1, 0)), Some(&Data::String("2024-12-04".into())));
    assert_eq!(days.get((1, 1)), Some(&Data::Float(12.0)));
    assert_eq!(days.get((1, 2)), Some(&Data::Float(5.0)));
    assert_eq!(days.get((1, 3)), Some(&Data::Float(3.0)));
    assert_eq!(days.get((2, 0)), Some(&Data::String("合计".into())));
    let stops = wb.worksheet_range("按站").unwrap();
    let name = crate::roster::list_townships(&ctx)
        .unwrap()
        .into_iter()
        .find(|t| t.position == 4)
        .unwrap()
        .name;
    assert_eq!(
        stops.get((1, 0)),
        Some(&Data::String(format!("第4站·{name}")))
    );
    assert_eq!(stops.get((1, 2)), Some(&Data::Float(9.0)));
    assert_eq!(stops.get((1, 3)), Some(&Data::Float(4.0)));
}
