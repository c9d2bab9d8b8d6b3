use super::*;
use crate::comments::{
    appeal, decide, like, liked_by, mute_author, report, submit, Decision, Submission,
};
use guanmo_domain::comments::{CommentInput, CommentKind, EVENT_TARGET};
use guanmo_domain::schedule::TourSettings;
use guanmo_domain::FixedClock;
use std::collections::BTreeMap;
use std::sync::Arc;

const TABLES: [&str; 9] = [
    "comments",
    "comment_reports",
    "report_closings",
    "moderation_log",
    "mutes",
    "mute_keys",
    "mute_replicas",
    "comment_likes",
    "ops",
];

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// A hub whose tour is on 2026-12-04 (and 12-05 if a township is planned on day 2), at
/// `2026-12-04T02:00Z`.
fn hub() -> (tempfile::TempDir, Ctx, Arc<FixedClock>) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(at("2026-12-04T02:00:00Z")));
    let ctx = Ctx::open(dir.path(), clock.clone()).unwrap();
    ctx.store
        .write_without_ops(ctx.now(), "system", |tx| {
            guanmo_store::meta::set(tx, crate::DEVICE_ROLE, "hub")
        })
        .unwrap();
    crate::schedule::set_tour_settings(
        &ctx,
        TourSettings {
            first_day: Some("2026-12-04".into()),
        },
    )
    .unwrap();
    (dir, ctx, clock)
}

fn sub(kind: CommentKind, text: &str, phone: &str, client: &str) -> Submission {
    Submission {
        input: CommentInput {
            target: EVENT_TARGET.into(),
            nickname: "宜阳居民".into(),
            kind,
            text: text.into(),
            township_id: None,
            phone: phone.into(),
        },
        client_key: client.into(),
        peer: "192.168.1.20".into(),
        phone_verified: false,
    }
}

fn raw(dir: &tempfile::TempDir) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.path().join(crate::ctx::DB_FILE)).unwrap()
}

fn counts(dir: &tempfile::TempDir) -> BTreeMap<&'static str, i64> {
    let c = raw(dir);
    TABLES
        .iter()
        .map(|t| {
            let n = c
                .query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
                .unwrap();
            (*t, n)
        })
        .collect()
}

fn scalar(dir: &tempfile::TempDir, sql: &str) -> i64 {
    raw(dir).query_row(sql, [], |r| r.get(0)).unwrap()
}

fn exports(dir: &tempfile::TempDir) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir.path().join(EXPORT_DIR)) else {
        return Vec::new();
    };
    let mut names: Vec<String> = rd
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The event's records: on tour day one, an approved comment that was reported and liked, a
/// rejected one that was appealed, one whose author was muted for a day, and a suggestion.
struct Old {
    reported: String,
    appealed: String,
    muted: String,
    suggestion: String,
}

fn old_records(ctx: &Ctx) -> Old {
    let reported = submit(
        ctx,
        sub(CommentKind::Praise, "为美丽宜阳点赞!", "13800000001", "k1"),
    )
    .unwrap()
    .id;
    let appealed = submit(
        ctx,
        sub(CommentKind::Other, "这条说得不对吧", "13800000002", "k2"),
    )
    .unwrap()
    .id;
    let muted = submit(
        ctx,
        sub(CommentKind::Other, "刷屏刷屏刷屏", "13800000003", "k3"),
    )
    .unwrap()
    .id;
    let suggestion = submit(
        ctx,
        sub(
            CommentKind::Suggestion,
            "建议增加停车位",
            "13800000004",
            "k4",
        ),
    )
    .unwrap()
    .id;
    decide(ctx, std::slice::from_ref(&reported), Decision::Approve).unwrap();
    decide(
        ctx,
        std::slice::from_ref(&appealed),
        Decision::Reject {
            reason: "与主题无关".into(),
        },
    )
    .unwrap();
    report(ctx, &reported, "k5", "广告").unwrap();
    appeal(ctx, &appealed, "k2", "我说的是实话").unwrap();
    mute_author(ctx, &muted, 1, "刷屏").unwrap();
    like(ctx, EVENT_TARGET, "k1").unwrap();
    like(ctx, EVENT_TARGET, "k6").unwrap();
    Old {
        reported,
        appealed,
        muted,
        suggestion,
    }
}

#[test]
fn nothing_is_due_before_the_period_after_the_event_is_over() {
    let (dir, ctx, clock) = hub();
    old_records(&ctx);
    let s = retention_status(&ctx).unwrap();
    assert_eq!(s.days, 180);
    assert_eq!(s.event_end_source, EventEndSource::Tour);
    // One tour day (no township is planned on day 2 by default): it ends at midnight after it.
    assert_eq!(s.event_end.as_deref(), Some("2026-12-05T00:00:00+08:00"));
    assert_eq!(s.due_from.as_deref(), Some("2027-06-03T00:00:00+08:00"));
    assert!(!s.due_now);
    clock.advance(Duration::days(179));
    let before = counts(&dir);
    let out = purge_now(&ctx).unwrap();
    assert!(
        out.purge.is_none(),
        "179 days after the event nothing is due"
    );
    assert_eq!(counts(&dir), before);
    assert!(exports(&dir).is_empty(), "no purge, no export");
    assert!(out.status.would_purge.comments == 0);
}

#[test]
fn data_past_the_period_is_purged_after_the_export_and_nothing_younger_is_touched() {
    let (dir, ctx, clock) = hub();
    let old = old_records(&ctx);
    // Half a year on, a resident writes again, and the old suggestion is answered.
    clock.advance(Duration::days(185));
    let young = submit(
        &ctx,
        sub(CommentKind::Praise, "半年后再来点赞", "13900000009", "k9"),
    )
    .unwrap()
    .id;
    decide(&ctx, std::slice::from_ref(&young), Decision::Approve).unwrap();
    report(&ctx, &young, "k8", "广告").unwrap();
    like(&ctx, EVENT_TARGET, "k9").unwrap();
    let township = crate::roster::list_townships(&ctx).unwrap()[0].id.clone();
    crate::comments::assign(&ctx, &old.suggestion, &township).unwrap();
    crate::comments::answer(&ctx, &old.suggestion, "已安排增设停车位").unwrap();
    clock.advance(Duration::hours(1));

    let before = counts(&dir);
    let purged_ids = [&old.reported, &old.appealed, &old.muted];
    let id_list = purged_ids
        .iter()
        .map(|i| format!("'{i}'"))
        .collect::<Vec<_>>()
        .join(",");
    let their_ops = scalar(
        &dir,
        &format!(
            "SELECT count(*) FROM ops WHERE entity_id IN ({id_list})
                OR (kind = 'comment_report' AND entity_id IN
                    (SELECT id FROM comment_reports WHERE comment_id IN ({id_list})))"
        ),
    );
    assert!(
        their_ops >= 6,
        "submit, decisions, report, appeal, mute replicate"
    );
    let their_lines = scalar(
        &dir,
        &format!("SELECT count(*) FROM moderation_log WHERE comment_id IN ({id_list})"),
    );
    let their_closings = scalar(
        &dir,
        &format!("SELECT count(*) FROM report_closings WHERE comment_id IN ({id_list})"),
    );
    assert_eq!(their_closings, 2, "the approval and the rejection");

    let s = retention_status(&ctx).unwrap();
    assert!(s.due_now);
    let expect = PurgeCounts {
        comments: 3,
        reports: 1,
        report_closings: 2,
        log_lines: u32::try_from(their_lines).unwrap(),
        mutes: 1,
        mute_keys: 1,
        mute_replicas: 0,
        likes: 2,
        ops: u32::try_from(their_ops).unwrap(),
    };
    assert_eq!(
        s.would_purge, expect,
        "the preview counts what the purge removes"
    );

    // Every number the export opens: the comments' and the moderation lines'.
    let sealed = scalar(
        &dir,
        "SELECT (SELECT count(*) FROM comments WHERE phone IS NOT NULL)
            + (SELECT count(*) FROM moderation_log WHERE phone IS NOT NULL)",
    );
    assert!(sealed >= 4, "{sealed}");
    let out = purge_now(&ctx).unwrap();
    let run = out.purge.expect("a purge ran");
    assert_eq!(run.counts, expect);
    assert_eq!(run.trigger, "manual");
    assert_eq!(run.actor, "organiser");
    assert!(run.finished_at.is_some());
    // The export was written first and kept, in the data folder.
    let files = exports(&dir);
    assert_eq!(files.len(), 1);
    assert_eq!(run.export_file, format!("{EXPORT_DIR}/{}", files[0]));
    assert!(files[0].starts_with("评论记录-") && files[0].ends_with(".xlsx"));
    let bytes = std::fs::read(dir.path().join(&run.export_file)).unwrap();
    assert!(bytes.starts_with(b"PK"), "an xlsx (zip) file");

    let after = counts(&dir);
    let removed = |t: &str| before[t] - after[t];
    assert_eq!(removed("comments"), 3);
    assert_eq!(removed("comment_reports"), 1);
    assert_eq!(removed("report_closings"), their_closings);
    // The export's own line (who opened how many numbers) stays, as every settings line.
    assert_eq!(removed("moderation_log"), their_lines - 1);
    let line: String = raw(&dir)
        .query_row(
            "SELECT actor || ' ' || detail FROM moderation_log WHERE action = 'export_records'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(line, format!("organiser 解密手机号 {sealed} 个"));
    assert_eq!(removed("mutes"), 1);
    assert_eq!(removed("mute_keys"), 1);
    assert_eq!(removed("comment_likes"), 0, "likes still count");
    assert_eq!(removed("ops"), 0, "operations stay numbered, as stand-ins");
    // What is younger is all there: the new comment with its report and like, the answered
    // suggestion with its lines.
    assert_eq!(
        scalar(
            &dir,
            &format!(
                "SELECT count(*) FROM comments WHERE id IN ('{young}', '{}')",
                old.suggestion
            )
        ),
        2
    );
    assert_eq!(
        scalar(
            &dir,
            &format!("SELECT count(*) FROM comment_reports WHERE comment_id = '{young}'")
        ),
        1
    );
    assert_eq!(
        liked_by(&ctx, "k9").unwrap(),
        vec![EVENT_TARGET.to_string()]
    );
    assert!(
        liked_by(&ctx, "k1").unwrap().is_empty(),
        "who liked is gone"
    );
    assert_eq!(
        crate::comments::public_comments(&ctx, None).unwrap().likes,
        vec![(EVENT_TARGET.to_string(), 3)],
        "the count stays"
    );
    // No old number is stored anywhere any more: none is found by its keyed hash, and no
    // sealed number left opens to it.
    let keys = ctx.store().phone_keys();
    let sealed_left: Vec<Vec<u8>> = {
        let c = raw(&dir);
        let mut st = c
            .prepare(
                "SELECT phone FROM comments WHERE phone IS NOT NULL
                 UNION ALL SELECT phone FROM moderation_log WHERE phone IS NOT NULL
                 UNION ALL SELECT phone FROM mutes",
            )
            .unwrap();
        let rows = st.query_map([], |r| r.get(0)).unwrap();
        rows.collect::<Result<_, _>>().unwrap()
    };
    let opened: Vec<String> = sealed_left.iter().map(|s| keys.open(s).unwrap()).collect();
    for n in ["13800000001", "13800000002", "13800000003"] {
        let hash = keys.hash(n);
        let left: i64 = raw(&dir)
            .query_row(
                "SELECT (SELECT count(*) FROM comments WHERE phone_hash = ?1)
                      + (SELECT count(*) FROM mutes WHERE phone_hash = ?1)
                      + (SELECT count(*) FROM mute_keys WHERE phone_hash = ?1)",
                [&hash[..]],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0, "{n} is gone");
        assert!(!opened.iter().any(|o| o == n), "{n} is gone");
    }
    // The hub never sends a purged record again: its operations are stand-ins.
    let sent = ctx
        .store
        .read(|c| guanmo_store::oplog::ops_after(c, &BTreeMap::new(), u32::MAX))
        .unwrap();
    for op in &sent {
        for id in purged_ids {
            assert_ne!(&op.entity_id, id, "{op:?}");
            assert!(!op.payload.to_string().contains(id.as_str()), "{op:?}");
        }
    }
    assert_eq!(
        sent.iter().filter(|o| o.kind == "withheld").count(),
        usize::try_from(their_ops).unwrap()
    );
    // The log lists the run; nothing more is due; a second run does nothing.
    let s = retention_status(&ctx).unwrap();
    assert_eq!(s.purges.len(), 1);
    assert_eq!(s.would_purge, PurgeCounts::default());
    assert!(purge_now(&ctx).unwrap().purge.is_none());
    assert_eq!(exports(&dir).len(), 1);
}

#[test]
fn the_period_is_at_least_180_days_and_a_longer_one_waits_longer() {
    let (_dir, ctx, clock) = hub();
    old_records(&ctx);
    for days in [0, 30, 179] {
        let e = set_retention_days(&ctx, days).unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation);
        assert_eq!(e.problems[0].location, "保存期限");
    }
    assert_eq!(
        retention_days(&ctx).unwrap(),
        180,
        "a refusal changes nothing"
    );
    assert!(set_retention_days(&ctx, MAX_DAYS + 1).is_err());
    let s = set_retention_days(&ctx, 365).unwrap();
    assert_eq!(s.days, 365);
    assert_eq!(s.due_from.as_deref(), Some("2027-12-05T00:00:00+08:00"));
    clock.advance(Duration::days(200));
    assert!(
        purge_now(&ctx).unwrap().purge.is_none(),
        "365 days not over"
    );
    let line = crate::comments::moderation_log(&ctx, None).unwrap();
    assert!(line
        .iter()
        .any(|l| l.action == "retention" && l.detail.as_deref() == Some("365")));
}

#[test]
fn a_failed_export_purges_nothing() {
    let (dir, ctx, clock) = hub();
    old_records(&ctx);
    clock.advance(Duration::days(200));
    // The export folder cannot be made: a file stands in its place.
    std::fs::write(dir.path().join(EXPORT_DIR), b"not a folder").unwrap();
    let before = counts(&dir);
    let e = purge_now(&ctx).unwrap_err();
    assert_eq!(e.code, ErrorCode::FileUnreadable);
    assert_eq!(counts(&dir), before, "nothing deleted");
    assert!(
        retention_status(&ctx).unwrap().purges.is_empty(),
        "no run logged"
    );
    assert!(purge_if_due(&ctx).is_err());
    assert_eq!(counts(&dir), before);
    // Once the folder can be written, the purge goes ahead.
    std::fs::remove_file(dir.path().join(EXPORT_DIR)).unwrap();
    assert!(purge_if_due(&ctx).unwrap().is_some());
    assert_eq!(scalar(&dir, "SELECT count(*) FROM comments"), 0);
}

#[test]
fn without_a_tour_date_the_period_runs_from_the_newest_comment() {
    let (dir, ctx, clock) = hub();
    crate::schedule::set_tour_settings(&ctx, TourSettings::default()).unwrap();
    let s = retention_status(&ctx).unwrap();
    assert_eq!(s.event_end_source, EventEndSource::None);
    assert!(s.due_from.is_none() && !s.due_now);
    old_records(&ctx);
    clock.advance(Duration::days(100));
    submit(
        &ctx,
        sub(CommentKind::Praise, "一百天后的评论", "13900000009", "k9"),
    )
    .unwrap();
    clock.advance(Duration::days(100));
    let s = retention_status(&ctx).unwrap();
    assert_eq!(s.event_end_source, EventEndSource::NewestComment);
    assert!(!s.due_now, "180 days after the newest comment are not over");
    assert!(purge_if_due(&ctx).unwrap().is_none());
    clock.advance(Duration::days(81));
    let run = purge_if_due(&ctx).unwrap().expect("due");
    assert_eq!(run.trigger, "auto");
    assert_eq!(run.actor, AUTO_ACTOR);
    assert_eq!(scalar(&dir, "SELECT count(*) FROM comments"), 0);
}

#[test]
fn batches_each_commit_whole_and_the_log_counts_them() {
    let (dir, ctx, clock) = hub();
    for i in 0..25 {
        let id = submit(
            &ctx,
            sub(
                CommentKind::Praise,
                &format!("第{i}条评论"),
                &format!("138000001{i:02}"),
                &format!("k{i}"),
            ),
        )
        .unwrap()
        .id;
        if i % 2 == 0 {
            decide(&ctx, std::slice::from_ref(&id), Decision::Approve).unwrap();
            report(&ctx, &id, &format!("r{i}"), "广告").unwrap();
        }
    }
    clock.advance(Duration::days(200));
    let run = purge_as(&ctx, Trigger::Manual, "tester", 4)
        .unwrap()
        .expect("due");
    assert_eq!(run.counts.comments, 25);
    assert_eq!(run.counts.reports, 13);
    assert_eq!(run.batches, 7, "25 comments in batches of 4");
    assert_eq!(scalar(&dir, "SELECT count(*) FROM comments"), 0);
    assert_eq!(scalar(&dir, "SELECT count(*) FROM comment_reports"), 0);
}
