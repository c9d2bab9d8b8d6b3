use super::*;
use guanmo_domain::comments::{CommentKind, CommentStatus, Handling};
use guanmo_domain::FixedClock;
use proptest::prelude::*;
use std::collections::HashSet;

fn setup() -> (tempfile::TempDir, Ctx, Arc<FixedClock>) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(
        DateTime::parse_from_rfc3339("2024-12-04T01:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
    ));
    let ctx = Ctx::open(dir.path(), clock.clone()).unwrap();
    (dir, ctx, clock)
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

fn public_ids(ctx: &Ctx) -> Vec<String> {
    public_comments(ctx, None)
        .unwrap()
        .comments
        .into_iter()
        .map(|c| c.id)
        .collect()
}

#[test]
fn a_comment_is_public_only_after_approval() {
    let (_d, ctx, _c) = setup();
    let r = submit(&ctx, sub("为美丽宜阳点赞!", "13812341234", "k1")).unwrap();
    assert!(!r.duplicate);
    assert!(public_ids(&ctx).is_empty(), "pending is never public");
    let q = queue(&ctx, QueueKind::Pending).unwrap();
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].comment.phone_masked, "138****1234");
    assert!(!q[0].comment.phone_verified);
    decide(&ctx, std::slice::from_ref(&r.id), Decision::Approve).unwrap();
    assert_eq!(public_ids(&ctx), vec![r.id.clone()]);
    let log = moderation_log(&ctx, Some(&r.id)).unwrap();
    assert_eq!(log[0].action, "approve");
    assert_eq!(log[0].actor, "organiser");
}

#[test]
fn rejecting_needs_a_reason_and_takes_a_shown_comment_down() {
    let (_d, ctx, _c) = setup();
    let r = submit(&ctx, sub("内容内容", "13812341234", "k1")).unwrap();
    decide(&ctx, std::slice::from_ref(&r.id), Decision::Approve).unwrap();
    let e = decide(
        &ctx,
        std::slice::from_ref(&r.id),
        Decision::Reject {
            reason: "  ".into(),
        },
    )
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert_eq!(
        public_ids(&ctx).len(),
        1,
        "a refused decision changes nothing"
    );
    decide(
        &ctx,
        std::slice::from_ref(&r.id),
        Decision::Reject {
            reason: REJECT_REASONS[1].into(),
        },
    )
    .unwrap();
    assert!(public_ids(&ctx).is_empty());
}

#[test]
fn bulk_decisions_go_through_and_report_what_was_refused() {
    let (_d, ctx, _c) = setup();
    let a = submit(&ctx, sub("第一条评论", "13812341234", "k1")).unwrap();
    let b = submit(&ctx, sub("第二条评论", "13912341234", "k2")).unwrap();
    decide(&ctx, std::slice::from_ref(&a.id), Decision::Approve).unwrap();
    let rep = decide(
        &ctx,
        &[a.id.clone(), b.id.clone(), "missing".into()],
        Decision::Approve,
    )
    .unwrap();
    assert_eq!(rep.done.len(), 1);
    assert_eq!(rep.refused.len(), 2);
    assert_eq!(public_ids(&ctx).len(), 2);
}

#[test]
fn repeated_text_from_one_phone_is_collapsed() {
    let (_d, ctx, clock) = setup();
    let a = submit(&ctx, sub("重复的内容", "13812341234", "k1")).unwrap();
    let b = submit(&ctx, sub("重复的内容", "13812341234", "k1")).unwrap();
    assert!(b.duplicate);
    assert_eq!(a.id, b.id);
    let other = submit(&ctx, sub("重复的内容", "13912341234", "k2")).unwrap();
    assert!(!other.duplicate, "another phone may say the same");
    clock.advance(Duration::minutes(DUPLICATE_WINDOW_MINUTES + 1));
    assert!(
        !submit(&ctx, sub("重复的内容", "13812341234", "k1"))
            .unwrap()
            .duplicate
    );
}

#[test]
fn a_mute_holds_the_authors_phone_key_whatever_number_it_types_next() {
    let (_d, ctx, _clock) = setup();
    let a = submit(&ctx, sub("第一条评论", "13812341234", "k1")).unwrap();
    mute_author(&ctx, &a.id, 1, "刷屏").unwrap();
    let e = submit(&ctx, sub("换个号码再来", "13912345678", "k1")).unwrap_err();
    assert_eq!(
        e.code,
        ErrorCode::Muted,
        "the same phone key with another number"
    );
    let e = submit(&ctx, sub("换个手机再来", "13812341234", "k2")).unwrap_err();
    assert_eq!(
        e.code,
        ErrorCode::Muted,
        "the same number from another phone"
    );
    submit(&ctx, sub("别人的评论", "13712341234", "k3")).unwrap();
    let m = &list_mutes(&ctx).unwrap()[0];
    unmute(&ctx, &m.key).unwrap();
    submit(&ctx, sub("解除后再说", "13912345678", "k1")).unwrap();
}

#[test]
fn a_hiding_mute_takes_the_authors_approved_comments_off_the_public_list_until_lifted() {
    let (_d, ctx, clock) = setup();
    let a = submit(&ctx, sub("禁言前通过的评论", "13812341234", "k1")).unwrap();
    let b = submit(&ctx, sub("同一个人换了号码", "13912345678", "k1")).unwrap();
    let c = submit(&ctx, sub("别人的评论", "13712341234", "k3")).unwrap();
    decide(
        &ctx,
        &[a.id.clone(), b.id.clone(), c.id.clone()],
        Decision::Approve,
    )
    .unwrap();
    let before = public_seq(&ctx).unwrap();
    mute_author(&ctx, &a.id, 1, "刷屏").unwrap();
    assert_eq!(public_ids(&ctx).len(), 3, "a plain mute hides nothing");
    mute_author_with(
        &ctx,
        &a.id,
        1,
        "刷屏",
        MuteOptions {
            hide_comments: true,
        },
    )
    .unwrap();
    assert_eq!(
        public_ids(&ctx),
        vec![c.id.clone()],
        "number and phone key both hidden"
    );
    assert!(
        public_seq(&ctx).unwrap() > before,
        "phones are told to reload"
    );
    clock.advance(Duration::days(1) + Duration::seconds(1));
    assert_eq!(public_ids(&ctx).len(), 3, "back once the mute is over");
    let m = mute_author_with(
        &ctx,
        &a.id,
        1,
        "刷屏",
        MuteOptions {
            hide_comments: true,
        },
    )
    .unwrap();
    assert_eq!(public_ids(&ctx), vec![c.id.clone()]);
    unmute(&ctx, &m.key).unwrap();
    assert_eq!(public_ids(&ctx).len(), 3, "back once the mute is lifted");
}

#[test]
fn comments_on_a_retracted_post_leave_the_public_list() {
    let (_d, ctx, _clock) = setup();
    let draft = crate::feed::create_draft(
        &ctx,
        guanmo_domain::feed::PostInput {
            body: "观摩团来到宜阳街道。".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let post = crate::feed::publish_post(&ctx, &draft.id, draft.version).unwrap();
    let mut on_post = sub("关于这条直播的评论", "13812341234", "k1");
    on_post.input.target = post.id.clone();
    let a = submit(&ctx, on_post).unwrap();
    let e = submit(&ctx, sub("关于整个活动的评论", "13912341234", "k2")).unwrap();
    decide(&ctx, &[a.id.clone(), e.id.clone()], Decision::Approve).unwrap();
    assert_eq!(public_ids(&ctx).len(), 2);
    crate::feed::retract_post(&ctx, &post.id).unwrap();
    assert_eq!(public_ids(&ctx), vec![e.id.clone()]);
    assert!(public_comments(&ctx, Some(&post.id))
        .unwrap()
        .comments
        .is_empty());
}

#[test]
fn a_muted_number_and_a_closed_area_are_refused() {
    let (_d, ctx, clock) = setup();
    let a = submit(&ctx, sub("第一条评论", "13812341234", "k1")).unwrap();
    decide(&ctx, std::slice::from_ref(&a.id), Decision::Approve).unwrap();
    let m = mute_author(&ctx, &a.id, 1, "刷屏").unwrap();
    assert_eq!(m.phone_masked, "138****1234");
    let e = submit(&ctx, sub("第二条评论", "13812341234", "k9")).unwrap_err();
    assert_eq!(e.code, ErrorCode::Muted);
    clock.advance(Duration::days(1) + Duration::seconds(1));
    submit(&ctx, sub("禁言已过期", "13812341234", "k9")).unwrap();

    set_area_open(&ctx, false, Some("会议结束".into())).unwrap();
    assert!(public_ids(&ctx).is_empty(), "closed shows nothing");
    assert!(!public_comments(&ctx, None).unwrap().open);
    let e = submit(&ctx, sub("关闭后评论", "13712341234", "k3")).unwrap_err();
    assert_eq!(e.code, ErrorCode::CommentsClosed);
    set_area_open(&ctx, true, None).unwrap();
    assert_eq!(public_ids(&ctx), vec![a.id]);
}

#[test]
fn sensitive_words_flag_but_never_decide() {
    let (_d, ctx, _c) = setup();
    let rep = add_words(&ctx, "赌博\n\n# 注释\nＳＰＡＭ\n").unwrap();
    assert_eq!((rep.changed, rep.total), (2, 2));
    let r = submit(&ctx, sub("这里有赌\u{200B}博和spam", "13812341234", "k1")).unwrap();
    let q = queue(&ctx, QueueKind::Pending).unwrap();
    assert_eq!(q[0].comment.id, r.id);
    assert_eq!(q[0].comment.flagged_words, vec!["赌博", "spam"]);
    assert!(q[0].text_parts.iter().any(|p| p.word.is_some()));
    assert_eq!(q[0].comment.status, CommentStatus::Pending);
    remove_words(&ctx, &["赌博".into()]).unwrap();
    assert_eq!(list_words(&ctx).unwrap(), vec!["spam"]);
}

#[test]
fn the_word_list_imports_gbk_files() {
    let (d, ctx, _c) = setup();
    let (bytes, _, _) = encoding_rs::GBK.encode("敏感词甲\r\n敏感词乙\r\n");
    let path = d.path().join("words.txt");
    std::fs::write(&path, &bytes).unwrap();
    let rep = import_word_list(&ctx, &path, WordImportOptions::default()).unwrap();
    assert_eq!(rep.total, 2);
    assert_eq!(list_words(&ctx).unwrap(), vec!["敏感词乙", "敏感词甲"]);
}

#[test]
fn reports_appeals_and_pins_follow_the_rules() {
    let (_d, ctx, _c) = setup();
    let a = submit(&ctx, sub("第一条评论", "13812341234", "k1")).unwrap();
    assert_eq!(
        report(&ctx, &a.id, "k2", "广告").unwrap_err().code,
        ErrorCode::NotFound,
        "a pending comment cannot be reported"
    );
    decide(&ctx, std::slice::from_ref(&a.id), Decision::Approve).unwrap();
    assert!(report(&ctx, &a.id, "k2", "广告").unwrap());
    assert!(
        !report(&ctx, &a.id, "k2", "广告").unwrap(),
        "one report per phone"
    );
    assert_eq!(queue(&ctx, QueueKind::Reported).unwrap().len(), 1);
    assert_eq!(
        public_ids(&ctx).len(),
        1,
        "a report alone takes nothing down"
    );
    pin(&ctx, &a.id, true).unwrap();
    decide(
        &ctx,
        std::slice::from_ref(&a.id),
        Decision::Reject {
            reason: "广告".into(),
        },
    )
    .unwrap();
    assert!(queue(&ctx, QueueKind::Reported).unwrap().is_empty());
    assert_eq!(
        appeal(&ctx, &a.id, "someone-else", "我没有发广告")
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
    appeal(&ctx, &a.id, "k1", "我没有发广告").unwrap();
    let q = queue(&ctx, QueueKind::Pending).unwrap();
    assert!(q[0].comment.appealed && !q[0].comment.pinned);
    assert_eq!(q[0].comment.appeal_reason.as_deref(), Some("我没有发广告"));
    assert_eq!(
        own_comments(&ctx, "k1").unwrap()[0].status,
        CommentStatus::Pending
    );
}

#[test]
fn a_suggestion_is_handed_over_answered_and_the_reply_shown() {
    let (d, ctx, _c) = setup();
    let t = crate::roster::list_townships(&ctx).unwrap()[5].clone();
    let mut s = sub("建议在水口山镇增设公交站", "13812341234", "k1");
    s.input.kind = CommentKind::Suggestion;
    s.input.township_id = Some(t.id.clone());
    let r = submit(&ctx, s).unwrap();
    let e = answer(&ctx, &r.id, "已增设").unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation, "answer before hand-over");
    let c = assign(&ctx, &r.id, &t.id).unwrap();
    assert_eq!(c.handling, Some(Handling::InProgress));
    let c = answer(&ctx, &r.id, "已在镇政府门口增设公交站。").unwrap();
    assert_eq!(c.handling, Some(Handling::Answered));
    assert!(
        public_ids(&ctx).is_empty(),
        "the reply does not publish the comment"
    );
    decide(&ctx, std::slice::from_ref(&r.id), Decision::Approve).unwrap();
    let p = public_comments(&ctx, None).unwrap().comments;
    let reply = p[0].reply.as_ref().unwrap();
    assert_eq!(reply.text, "已在镇政府门口增设公交站。");
    assert_eq!(reply.township.as_deref(), Some(t.name.as_str()));

    let out = d.path().join("意见建议.xlsx");
    export_suggestions_xlsx(&ctx, &out).unwrap();
    let records = d.path().join("评论记录.xlsx");
    export_records_xlsx(&ctx, &records).unwrap();
    assert!(std::fs::metadata(&out).unwrap().len() > 1000);
    assert!(std::fs::metadata(&records).unwrap().len() > 1000);
}

#[test]
fn likes_count_one_per_phone() {
    let (_d, ctx, _c) = setup();
    assert!(like(&ctx, EVENT_TARGET, "k1").unwrap().new);
    assert!(!like(&ctx, EVENT_TARGET, "k1").unwrap().new);
    assert_eq!(like(&ctx, EVENT_TARGET, "k2").unwrap().count, 2);
    assert_eq!(
        like(&ctx, "0190aaaa-0000-7000-8000-000000000000", "k1")
            .unwrap_err()
            .code,
        ErrorCode::NotFound
    );
    assert_eq!(liked_by(&ctx, "k1").unwrap(), vec![EVENT_TARGET]);
}

#[test]
fn the_ingest_thread_commits_groups_and_answers_each() {
    let (_d, ctx, _c) = setup();
    let ingest = Ingest::start(ctx.clone(), 1024).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..300 {
        let tx = tx.clone();
        let phone = if i == 7 { "123" } else { "13812341234" };
        ingest.submit(
            sub(&format!("第{i}条评论"), phone, &format!("k{i}")),
            Box::new(move |r| {
                let _ = tx.send((i, r));
            }),
        );
    }
    drop(tx);
    let results: Vec<_> = rx.iter().collect();
    assert_eq!(results.len(), 300);
    let ok: HashSet<String> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().map(|r| r.id.clone()))
        .collect();
    assert_eq!(ok.len(), 299, "one bad number is refused, the rest stored");
    let stored = queue(&ctx, QueueKind::Pending).unwrap();
    assert_eq!(stored.len(), 299);
    assert!(stored.iter().all(|c| ok.contains(&c.comment.id)));
}

#[test]
fn a_write_that_fails_refuses_only_its_own_comment() {
    let (dir, ctx, _c) = setup();
    // Make one comment's write fail after its checks have passed.
    let raw = rusqlite::Connection::open(dir.path().join(crate::ctx::DB_FILE)).unwrap();
    raw.execute_batch(
        "CREATE TRIGGER fail_one BEFORE INSERT ON comments WHEN NEW.text = '写入会失败'
         BEGIN SELECT RAISE(ABORT, 'disk trouble'); END;",
    )
    .unwrap();
    drop(raw);
    let (tx, rx) = std::sync::mpsc::channel();
    let texts = ["第一条评论", "写入会失败", "第三条评论", "第一条评论"];
    let batch = texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let tx = tx.clone();
            ingest::Job {
                submission: sub(text, "13812341234", &format!("k{}", i % 3)),
                reply: Box::new(move |r| {
                    let _ = tx.send((i, r));
                }),
            }
        })
        .collect();
    ingest::commit(&ctx, batch);
    drop(tx);
    let mut results: Vec<_> = rx.iter().collect();
    results.sort_by_key(|(i, _)| *i);
    assert_eq!(results.len(), 4);
    let first = results[0].1.as_ref().unwrap();
    assert!(!first.duplicate);
    assert_eq!(results[1].1.as_ref().unwrap_err().code, ErrorCode::Storage);
    assert!(!results[2].1.as_ref().unwrap().duplicate);
    // The repeat of the first (same phone key) is still collapsed on the isolated retry.
    let repeat = results[3].1.as_ref().unwrap();
    assert!(repeat.duplicate);
    assert_eq!(repeat.id, first.id);
    let stored: Vec<String> = queue(&ctx, QueueKind::Pending)
        .unwrap()
        .into_iter()
        .map(|c| c.comment.text)
        .collect();
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(!stored.iter().any(|t| t == "写入会失败"));
}

#[derive(Debug, Clone)]
enum Step {
    Submit(u8),
    Approve(u8),
    Reject(u8),
    Mute(u8),
    Close,
    Reopen,
    Appeal(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0u8..6).prop_map(Step::Submit),
        3 => any::<u8>().prop_map(Step::Approve),
        2 => any::<u8>().prop_map(Step::Reject),
        1 => any::<u8>().prop_map(Step::Mute),
        1 => Just(Step::Close),
        1 => Just(Step::Reopen),
        1 => any::<u8>().prop_map(Step::Appeal),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Over random sequences of submit / approve / reject / mute / close / reopen / appeal,
    /// the public list holds exactly the approved comments while the area is open, and
    /// nothing while it is closed.
    #[test]
    fn the_public_list_never_shows_an_unapproved_comment(steps in proptest::collection::vec(step(), 1..30)) {
        let (_d, ctx, clock) = setup();
        let mut ids: Vec<(String, String)> = Vec::new();
        for (n, s) in steps.into_iter().enumerate() {
            clock.advance(Duration::seconds(1));
            let pick = |i: u8| ids.get(i as usize % ids.len().max(1)).cloned();
            match s {
                Step::Submit(p) => {
                    let client = format!("k{p}");
                    if let Ok(r) = submit(&ctx, sub(&format!("评论{n}"), &format!("1381234000{p}"), &client)) {
                        ids.push((r.id, client));
                    }
                }
                Step::Approve(i) => if let Some((id, _)) = pick(i) { let _ = decide(&ctx, &[id], Decision::Approve); },
                Step::Reject(i) => if let Some((id, _)) = pick(i) {
                    let _ = decide(&ctx, &[id], Decision::Reject { reason: "无关".into() });
                },
                Step::Mute(i) => if let Some((id, _)) = pick(i) { let _ = mute_author(&ctx, &id, 1, "刷屏"); },
                Step::Close => set_area_open(&ctx, false, None).unwrap(),
                Step::Reopen => set_area_open(&ctx, true, None).unwrap(),
                Step::Appeal(i) => if let Some((id, client)) = pick(i) { let _ = appeal(&ctx, &id, &client, "请复核"); },
            }
            let open = overview(&ctx).unwrap().area_open;
            let shown: HashSet<String> = public_ids(&ctx).into_iter().collect();
            let approved: HashSet<String> = queue(&ctx, QueueKind::Approved).unwrap()
                .into_iter().map(|q| q.comment.id).collect();
            if open {
                prop_assert_eq!(&shown, &approved);
            } else {
                prop_assert!(shown.is_empty());
            }
        }
    }
}

#[test]
fn a_full_ingest_queue_refuses_at_once_with_busy() {
    let (_d, ctx, _c) = setup();
    let ingest = Ingest::start(ctx.clone(), 1).unwrap();
    // Hold the one writer so the ingest thread stalls on its first batch.
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = {
        let ctx = ctx.clone();
        std::thread::spawn(move || {
            ctx.store()
                .write(Utc::now(), "test", |_| {
                    held_tx.send(()).unwrap();
                    release_rx.recv().unwrap();
                    Ok(())
                })
                .unwrap();
        })
    };
    held_rx.recv().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let send = |i: u32| {
        let tx = tx.clone();
        ingest.submit(
            sub(&format!("排队的评论{i}"), "13812341234", &format!("k{i}")),
            Box::new(move |r| tx.send((i, r.map(|_| ()).map_err(|e| e.code))).unwrap()),
        );
    };
    send(0);
    // The thread takes job 0 and waits on the writer; give it the moment to do so.
    std::thread::sleep(std::time::Duration::from_millis(200));
    send(1); // fills the queue of one
    send(2); // finds it full
    assert_eq!(rx.recv().unwrap(), (2, Err(ErrorCode::Busy)));
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    let mut rest: Vec<_> = (0..2).map(|_| rx.recv().unwrap()).collect();
    rest.sort_by_key(|(i, _)| *i);
    assert_eq!(rest, vec![(0, Ok(())), (1, Ok(()))]);
}

#[test]
fn an_official_reply_shows_under_an_approved_comment_in_its_departments_name() {
    let (_d, ctx, _c) = setup();
    let a = submit(&ctx, sub("宜阳街道的变化真大", "13812341234", "k1")).unwrap();
    // Only approved comments are answered, and not with a blank reply or department.
    let e = official_reply(&ctx, &a.id, "感谢关注", "观摩会组委会").unwrap_err();
    assert!(e.message.contains("只能回复已通过审核"), "{}", e.message);
    decide(&ctx, std::slice::from_ref(&a.id), Decision::Approve).unwrap();
    for (reply, dept, place) in [(" ", "组委会", "回复"), ("感谢", " ", "回复单位")] {
        let e = official_reply(&ctx, &a.id, reply, dept).unwrap_err();
        assert_eq!(e.problems[0].location, place);
    }
    let long = "部".repeat(guanmo_domain::comments::MAX_DEPARTMENT_CHARS + 1);
    assert!(official_reply(&ctx, &a.id, "感谢", &long).is_err());

    let c = official_reply(
        &ctx,
        &a.id,
        " 感谢您的关注,我们会继续努力。 ",
        "观摩会组委会",
    )
    .unwrap();
    assert_eq!(c.reply.as_deref(), Some("感谢您的关注,我们会继续努力。"));
    assert_eq!(c.reply_department.as_deref(), Some("观摩会组委会"));
    let public = public_comments(&ctx, None).unwrap().comments;
    let shown = public[0].reply.clone().unwrap();
    assert!(shown.official);
    assert_eq!(shown.township.as_deref(), Some("观摩会组委会"));
    assert_eq!(shown.text, "感谢您的关注,我们会继续努力。");
    // The commenter sees it in 我的评论; another phone's list does not hold it.
    let mine = own_comments(&ctx, "k1").unwrap();
    assert_eq!(mine[0].reply.as_ref().unwrap().text, shown.text);
    assert!(own_comments(&ctx, "k2").unwrap().is_empty());
    // The moderation record keeps it with the department.
    let log = moderation_log(&ctx, Some(&a.id)).unwrap();
    let line = log.iter().find(|l| l.action == "official_reply").unwrap();
    assert_eq!(
        line.reason.as_deref(),
        Some("感谢您的关注,我们会继续努力。")
    );
}

#[test]
fn a_suggestion_is_answered_by_its_township_not_by_an_official_reply() {
    let (_d, ctx, _c) = setup();
    let mut s = sub("建议增加停车位", "13812341234", "k1");
    s.input.kind = CommentKind::Suggestion;
    let a = submit(&ctx, s).unwrap();
    decide(&ctx, std::slice::from_ref(&a.id), Decision::Approve).unwrap();
    let e = official_reply(&ctx, &a.id, "已转交", "组委会").unwrap_err();
    assert!(e.message.contains("交办给乡镇"), "{}", e.message);
    let public = public_comments(&ctx, None).unwrap().comments;
    assert!(public[0].reply.is_none());
}
