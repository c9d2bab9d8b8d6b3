//! Residents' comments and their moderation across devices (issue 17): a comment taken by the
//! hub's resident site reaches a laptop the hub granted 审核 with the number masked; the
//! moderator decides offline, the decision waits as pending and reaches the public page once
//! the laptop syncs; of two moderators deciding one comment apart, the first decision to reach
//! the hub stands on every replica, in either order, and the conflict is listed; laptops
//! without the grant, or whose grant was revoked, are refused.

use crate::sync::Device;
use guanmo_api::comments::{self, Decision, QueueKind, Submission};
use guanmo_domain::comments::{transition, CommentInput, CommentKind, CommentStatus, ModAction};
use guanmo_sync::memory::{Faults, MemoryTransport};
use guanmo_sync::{HubService, Role};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const PHONE: &str = "13812345678";

/// A hub, two media laptops (moderators) and a scorer's laptop, paired and synced once.
struct Site {
    hub: Device,
    /// `(device, its link to the hub)`: 直播电脑一, 直播电脑二, 评分电脑.
    laptops: Vec<(Device, MemoryTransport)>,
}

impl Site {
    fn new() -> Site {
        let hub = Device::new(Role::Hub, "组织方主机");
        let service = HubService::new(hub.ctx.clone(), hub.media.clone());
        let mut laptops = Vec::new();
        for (i, (role, name)) in [
            (Role::Media, "直播电脑一"),
            (Role::Media, "直播电脑二"),
            (Role::Scorer, "评分电脑"),
        ]
        .into_iter()
        .enumerate()
        {
            let dev = Device::new(role, name);
            let link = MemoryTransport::new(service.clone(), Faults::default(), 11 + i as u64);
            let code = guanmo_sync::new_pairing_code(&hub.ctx).unwrap();
            guanmo_sync::pair_with_hub(&dev.ctx, &link, "memory://hub", &code.code).unwrap();
            dev.sync(&link).unwrap();
            laptops.push((dev, link));
        }
        Site { hub, laptops }
    }

    fn id(&self, i: usize) -> String {
        self.laptops[i].0.ctx.store().device_id().to_string()
    }

    fn laptop(&self, i: usize) -> &Device {
        &self.laptops[i].0
    }

    fn sync(&self, i: usize) -> guanmo_sync::SyncReport {
        let (d, t) = &self.laptops[i];
        d.sync(t).unwrap()
    }

    fn cut(&self, i: usize, cut: bool) {
        self.laptops[i].1.set_cut(cut);
    }

    /// Every laptop syncs twice, in turn: each then has what every other sent.
    fn settle(&self) {
        for _ in 0..2 {
            for i in 0..self.laptops.len() {
                self.sync(i);
            }
        }
    }

    /// A resident's comment through the hub's site (the use case the web route calls).
    fn comment(&self, text: &str) -> String {
        let r = comments::submit(
            &self.hub.ctx,
            Submission {
                input: CommentInput {
                    target: "event".into(),
                    nickname: "宜阳居民".into(),
                    kind: CommentKind::Suggestion,
                    text: text.into(),
                    township_id: None,
                    phone: PHONE.into(),
                },
                client_key: "phone-key-1".into(),
                peer: "203.0.113.9".into(),
                phone_verified: true,
            },
        )
        .unwrap();
        assert!(!r.duplicate);
        r.id
    }

    fn grant(&self, i: usize, on: bool) {
        assert!(guanmo_sync::grants::grant_moderator(&self.hub.ctx, &self.id(i), on).unwrap());
    }

    /// Each replica's comments as they replicate: equal on every device once synced.
    fn dumps(&self) -> Vec<String> {
        std::iter::once(&self.hub)
            .chain(self.laptops.iter().map(|(d, _)| d))
            .map(|d| {
                d.ctx
                    .store()
                    .read(guanmo_store::comments::replicated_dump)
                    .unwrap()
            })
            .collect()
    }

    fn assert_converged(&self) {
        let dumps = self.dumps();
        for (i, d) in dumps.iter().enumerate().skip(1) {
            assert_eq!(d, &dumps[0], "replica {i} differs from the hub");
        }
    }
}

fn status(d: &Device, id: &str) -> (CommentStatus, bool) {
    let c = d
        .ctx
        .store()
        .read(|c| guanmo_store::comments::get(c, id))
        .unwrap();
    (c.status, c.pinned)
}

fn public_ids(d: &Device) -> Vec<String> {
    comments::public_comments(&d.ctx, None)
        .unwrap()
        .comments
        .into_iter()
        .map(|c| c.id)
        .collect()
}

fn count(d: &Device, sql: &str) -> i64 {
    d.ctx
        .store()
        .read(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
        .unwrap()
}

fn reject(reason: &str) -> Decision {
    Decision::Reject {
        reason: reason.into(),
    }
}

#[test]
fn a_comment_reaches_a_granted_moderator_masked_and_an_offline_approval_goes_public() {
    let site = Site::new();
    site.grant(0, true);
    let id = site.comment("建议在观摩点增加停车位");

    // The moderator's laptop receives it, the number masked, and learns it holds 审核.
    site.sync(0);
    let m = site.laptop(0);
    assert!(guanmo_sync::grants::may_moderate(&m.ctx).unwrap());
    assert!(!guanmo_sync::grants::may_moderate(&site.laptop(2).ctx).unwrap());
    let queue = comments::queue(&m.ctx, QueueKind::Pending).unwrap();
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0].comment.id, id);
    assert_eq!(queue[0].comment.phone_masked, "138****5678");
    for (sql, what) in [
        (
            "SELECT count(*) FROM comments WHERE phone IS NOT NULL",
            "a full number",
        ),
        (
            "SELECT count(*) FROM comments WHERE client_key IS NOT NULL",
            "a phone key",
        ),
        (
            "SELECT count(*) FROM ops WHERE payload LIKE '%13812345678%'",
            "the number in the log",
        ),
        (
            "SELECT count(*) FROM ops WHERE payload LIKE '%phone-key-1%'",
            "the key in the log",
        ),
        (
            "SELECT count(*) FROM ops WHERE payload LIKE '%203.0.113.9%'",
            "the peer in the log",
        ),
    ] {
        assert_eq!(count(m, sql), 0, "{what} left the hub");
    }
    let overview = guanmo_sync::overview(&site.hub.ctx, &site.hub.media).unwrap();
    let granted: Vec<bool> = (0..3)
        .map(|i| {
            overview
                .devices
                .iter()
                .find(|d| d.id == site.id(i))
                .unwrap()
                .moderator
        })
        .collect();
    assert_eq!(
        granted,
        [true, false, false],
        "the 同步 view shows who holds 审核"
    );

    // Offline on the bus: the approval is queued and said to be pending.
    site.cut(0, true);
    let done = comments::decide(&m.ctx, std::slice::from_ref(&id), Decision::Approve).unwrap();
    assert_eq!(done.done.len(), 1);
    assert!(m.sync(&site.laptops[0].1).is_err(), "offline");
    let pending = guanmo_sync::delivery(&m.ctx).unwrap();
    assert_eq!(pending.pending_comment_ids, vec![id.clone()]);
    assert_eq!(pending.pending_records, 1);
    assert!(
        public_ids(&site.hub).is_empty(),
        "先审后发: not public before it reaches the hub"
    );

    // Online again: it reaches the hub, and the hub's public page shows it.
    site.cut(0, false);
    let before = comments::public_seq(&site.hub.ctx).unwrap();
    let r = site.sync(0);
    assert_eq!((r.pushed, r.refused_by_hub), (1, 0), "{r:?}");
    assert!(guanmo_sync::delivery(&m.ctx)
        .unwrap()
        .pending_comment_ids
        .is_empty());
    assert_eq!(public_ids(&site.hub), vec![id.clone()]);
    assert!(
        comments::public_seq(&site.hub.ctx).unwrap() > before,
        "the page's version moves, so phones refresh"
    );
    let log = comments::moderation_log(&site.hub.ctx, Some(&id)).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].action, "approve");

    // Every replica ends the same; the hub keeps the number, the others the masked form.
    site.settle();
    site.assert_converged();
    assert_eq!(
        status(site.laptop(2), &id),
        (CommentStatus::Approved, false)
    );
    // The hub's number is sealed at rest; it opens with the hub's own key.
    let numbers = |d: &Device| -> Vec<Option<String>> {
        d.ctx
            .store()
            .read(guanmo_store::comments::all)
            .unwrap()
            .into_iter()
            .map(|(_, sealed)| sealed.map(|s| d.ctx.store().phone_keys().open(&s).unwrap()))
            .collect()
    };
    assert_eq!(numbers(&site.hub), vec![Some(PHONE.to_string())]);
    assert_eq!(numbers(site.laptop(2)), vec![None]);
}

/// A decision written straight into `d`'s store, as an app without the grant check would.
fn hostile_decision(d: &Device, id: &str, action: ModAction, op: &'static str) {
    d.ctx
        .store()
        .write(d.clock_now(), "modified-app", |tx| {
            let current = guanmo_store::comments::get(tx.conn(), id)?;
            let next = transition(current.mod_state(), action).unwrap();
            guanmo_store::comments::set_state(tx, &current, next, op, None)
        })
        .unwrap();
}

#[test]
fn only_granted_moderators_decide_and_a_revoked_ones_later_decision_is_refused() {
    let site = Site::new();
    site.grant(0, true);
    let id = site.comment("为美丽宜阳点赞");
    site.settle();

    // The scorer's laptop has no grant: the app refuses its decision at once; one that skips
    // that check (a modified app) is refused at the hub, and nothing changes.
    let s = site.laptop(2);
    let e = comments::decide(&s.ctx, std::slice::from_ref(&id), Decision::Approve).unwrap_err();
    assert_eq!(e.code, guanmo_api::ErrorCode::HubOnly, "{e:?}");
    hostile_decision(s, &id, ModAction::Approve, "approve");
    let r = site.sync(2);
    assert_eq!(r.refused_by_hub, 1, "{r:?}");
    assert_eq!(status(&site.hub, &id), (CommentStatus::Pending, false));
    let mine = guanmo_sync::overview(&s.ctx, &s.media).unwrap().issues;
    assert!(mine.iter().any(|i| i.code == "not_moderator"), "{mine:?}");

    // The moderator approves; then the hub revokes 审核 and its next decision is refused.
    comments::decide(
        &site.laptop(0).ctx,
        std::slice::from_ref(&id),
        Decision::Approve,
    )
    .unwrap();
    site.sync(0);
    assert_eq!(status(&site.hub, &id), (CommentStatus::Approved, false));
    site.grant(0, false);
    site.sync(0);
    assert!(!guanmo_sync::grants::may_moderate(&site.laptop(0).ctx).unwrap());
    let e = comments::pin(&site.laptop(0).ctx, &id, true).unwrap_err();
    assert_eq!(e.code, guanmo_api::ErrorCode::HubOnly, "{e:?}");
    hostile_decision(site.laptop(0), &id, ModAction::Pin, "pin");
    let r = site.sync(0);
    assert_eq!(r.refused_by_hub, 1, "{r:?}");
    assert_eq!(
        status(&site.hub, &id),
        (CommentStatus::Approved, false),
        "not pinned"
    );
    let issues = guanmo_sync::overview(&site.hub.ctx, &site.hub.media)
        .unwrap()
        .issues;
    assert_eq!(
        issues.iter().filter(|i| i.code == "not_moderator").count(),
        2,
        "{issues:?}"
    );
    // Granting needs a paired laptop; only the hub grants.
    assert!(guanmo_sync::grants::grant_moderator(&site.hub.ctx, "nobody", true).is_err());
    assert!(guanmo_sync::grants::grant_moderator(&site.laptop(1).ctx, &site.id(1), true).is_err());
}

/// Moderator `first` approves and moderator `second` rejects the same comment, both offline;
/// `first` reaches the hub first.
fn decide_apart(first: usize, second: usize) {
    let site = Site::new();
    site.grant(0, true);
    site.grant(1, true);
    let id = site.comment("建议增加公交班次");
    site.settle();
    site.cut(0, true);
    site.cut(1, true);
    let decisions = [Decision::Approve, reject("与观摩会内容无关")];
    for (i, d) in decisions.into_iter().enumerate() {
        comments::decide(&site.laptop(i).ctx, std::slice::from_ref(&id), d).unwrap();
    }
    site.cut(0, false);
    site.cut(1, false);
    let r = site.sync(first);
    assert_eq!(r.refused_by_hub, 0, "{r:?}");
    let r = site.sync(second);
    assert_eq!(r.refused_by_hub, 1, "the second moderator is told: {r:?}");
    site.settle();

    let stands = if first == 0 {
        (CommentStatus::Approved, false)
    } else {
        (CommentStatus::Rejected, false)
    };
    assert_eq!(
        status(&site.hub, &id),
        stands,
        "the first to reach the hub stands"
    );
    for i in 0..3 {
        assert_eq!(status(site.laptop(i), &id), stands, "laptop {i}");
    }
    site.assert_converged();
    assert_eq!(
        public_ids(&site.hub),
        if first == 0 {
            vec![id.clone()]
        } else {
            Vec::new()
        }
    );
    // Listed for the organiser, naming the decision that stands…
    let hub_issues = guanmo_sync::overview(&site.hub.ctx, &site.hub.media)
        .unwrap()
        .issues;
    let conflict: Vec<_> = hub_issues
        .iter()
        .filter(|i| i.kind == "conflict" && i.code == "decision_conflict")
        .collect();
    assert_eq!(conflict.len(), 1, "{hub_issues:?}");
    assert_eq!(conflict[0].origin, site.id(second));
    assert_eq!(
        conflict[0].other_origin.as_deref(),
        Some(site.id(first).as_str())
    );
    assert_eq!(conflict[0].entity_id, id);
    // …and shown to the second moderator as refused by the hub.
    let second_issues = guanmo_sync::overview(&site.laptop(second).ctx, &site.laptop(second).media)
        .unwrap()
        .issues;
    assert!(
        second_issues
            .iter()
            .any(|i| i.kind == "refused" && i.code == "decision_conflict" && i.entity_id == id),
        "{second_issues:?}"
    );
    // The hub's record holds the decision that stands only.
    let log = comments::moderation_log(&site.hub.ctx, Some(&id)).unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].action, if first == 0 { "approve" } else { "reject" });
}

#[test]
fn two_moderators_deciding_apart_end_the_same_everywhere_when_the_approval_arrives_first() {
    decide_apart(0, 1);
}

#[test]
fn two_moderators_deciding_apart_end_the_same_everywhere_when_the_rejection_arrives_first() {
    decide_apart(1, 0);
}

#[derive(Debug, Clone)]
enum Step {
    /// Moderator `0`/`1` approves, rejects, pins or unpins comment `2` (refused locally when the
    /// state does not allow it, as in the app).
    Decide(usize, u8, usize),
    /// Moderator `0`/`1` syncs.
    Sync(usize),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..2usize, 0..4u8, 0..2usize).prop_map(|(m, a, c)| Step::Decide(m, a, c)),
        2 => (0..2usize).prop_map(Step::Sync),
    ]
}

/// Random interleavings of two moderators' decisions on two comments and their syncs: once
/// everyone has synced, every replica shows the same state, the hub's; no decision's state is
/// lost at the hub except by a listed conflict.
#[test]
fn any_interleaving_of_decisions_and_syncs_converges() {
    let mut runner = TestRunner::new(Config {
        cases: 12,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&prop::collection::vec(step(), 1..14), |steps| {
            let site = Site::new();
            site.grant(0, true);
            site.grant(1, true);
            let ids = [
                site.comment("第一条建议内容"),
                site.comment("第二条建议内容"),
            ];
            site.settle();
            for s in &steps {
                match s {
                    Step::Decide(m, a, c) => {
                        let ctx = &site.laptop(*m).ctx;
                        let id = &ids[*c];
                        let _ = match a {
                            0 => comments::decide(ctx, std::slice::from_ref(id), Decision::Approve)
                                .map(|_| ()),
                            1 => {
                                comments::decide(ctx, std::slice::from_ref(id), reject("重复内容"))
                                    .map(|_| ())
                            }
                            2 => comments::pin(ctx, id, true).map(|_| ()),
                            _ => comments::pin(ctx, id, false).map(|_| ()),
                        };
                    }
                    Step::Sync(m) => {
                        site.sync(*m);
                    }
                }
            }
            site.settle();
            let dumps = site.dumps();
            for d in &dumps[1..] {
                prop_assert_eq!(d, &dumps[0]);
            }
            for m in 0..2 {
                let d = guanmo_sync::delivery(&site.laptop(m).ctx).unwrap();
                prop_assert!(d.pending_comment_ids.is_empty(), "all delivered: {:?}", d);
            }
            Ok(())
        })
        .unwrap();
}

/// A resident's comment of `kind` through the hub's site from `phone` (a suggestion by default
/// in [`Site::comment`]); the receipt's id, or the site's refusal.
fn submit_from(
    site: &Site,
    phone: &str,
    key: &str,
    text: &str,
) -> Result<String, guanmo_api::ApiError> {
    comments::submit(
        &site.hub.ctx,
        Submission {
            input: CommentInput {
                target: "event".into(),
                nickname: "宜阳居民".into(),
                kind: CommentKind::Praise,
                text: text.into(),
                township_id: None,
                phone: phone.into(),
            },
            client_key: key.into(),
            peer: "203.0.113.10".into(),
            phone_verified: false,
        },
    )
    .map(|r| r.id)
}

fn handling(d: &Device, id: &str) -> (Option<String>, Option<String>, Option<String>) {
    let c = d
        .ctx
        .store()
        .read(|c| guanmo_store::comments::get(c, id))
        .unwrap();
    (
        c.handling.map(|h| h.as_str().to_string()),
        c.assigned_to,
        c.reply,
    )
}

#[test]
fn a_laptops_hand_over_and_the_hubs_reply_reach_every_replica() {
    let site = Site::new();
    site.grant(0, true);
    let id = site.comment("建议在观摩点增加停车位");
    site.settle();
    let town = guanmo_api::roster::list_townships(&site.hub.ctx).unwrap()[0]
        .id
        .clone();

    // 交办 on the moderator's laptop, offline; it waits, then reaches the hub.
    site.cut(0, true);
    let m = site.laptop(0);
    let c = comments::assign(&m.ctx, &id, &town).unwrap();
    assert_eq!(c.assigned_to.as_deref(), Some(town.as_str()));
    site.cut(0, false);
    let r = site.sync(0);
    assert_eq!((r.pushed, r.refused_by_hub), (1, 0), "{r:?}");
    assert_eq!(
        handling(&site.hub, &id),
        (Some("in_progress".into()), Some(town.clone()), None)
    );

    // The hub records the township's reply; approved, it shows under the comment.
    comments::answer(&site.hub.ctx, &id, "已协调增设临时停车场").unwrap();
    comments::decide(&site.hub.ctx, std::slice::from_ref(&id), Decision::Approve).unwrap();
    site.settle();
    let done = (
        Some("answered".to_string()),
        Some(town.clone()),
        Some("已协调增设临时停车场".to_string()),
    );
    assert_eq!(handling(&site.hub, &id), done);
    for i in 0..3 {
        assert_eq!(handling(site.laptop(i), &id), done, "laptop {i}");
    }
    site.assert_converged();
    let public = comments::public_comments(&site.hub.ctx, None).unwrap();
    assert_eq!(
        public.comments[0].reply.as_ref().map(|r| r.text.as_str()),
        Some("已协调增设临时停车场")
    );
    let actions: Vec<String> = comments::moderation_log(&site.hub.ctx, Some(&id))
        .unwrap()
        .into_iter()
        .map(|l| l.action)
        .collect();
    assert_eq!(actions, ["approve", "reply", "assign"]);

    // A laptop without 审核 is refused at once; the scorer's laptop too.
    let e = comments::assign(&site.laptop(1).ctx, &id, &town).unwrap_err();
    assert_eq!(e.code, guanmo_api::ErrorCode::HubOnly);
}

#[test]
fn a_hand_over_of_what_is_not_a_suggestion_is_refused_at_the_hub() {
    let site = Site::new();
    site.grant(0, true);
    let id = submit_from(&site, "13900001111", "phone-key-2", "为美丽宜阳点赞").unwrap();
    site.settle();
    let town = guanmo_api::roster::list_townships(&site.hub.ctx).unwrap()[0]
        .id
        .clone();
    // A modified app writes a follow-up on a praise: the hub refuses it (bad_transition).
    let m = site.laptop(0);
    m.ctx
        .store()
        .write(m.clock_now(), "modified-app", |tx| {
            tx.conn().execute(
                "UPDATE comments SET handling = 'in_progress', kind = 'suggestion',
                    assigned_to = ?2 WHERE id = ?1",
                [&id, &town],
            )?;
            let current = guanmo_store::comments::get(tx.conn(), &id)?;
            guanmo_store::comments::assign(tx, &current, &town)
        })
        .unwrap();
    let r = site.sync(0);
    assert_eq!(r.refused_by_hub, 1, "{r:?}");
    assert_eq!(handling(&site.hub, &id), (None, None, None));
    let issues = guanmo_sync::overview(&site.hub.ctx, &site.hub.media)
        .unwrap()
        .issues;
    assert!(
        issues.iter().any(|i| i.code == "bad_transition"),
        "{issues:?}"
    );
}

#[test]
fn keeping_a_reported_comment_on_a_laptop_closes_its_reports_at_the_hub() {
    let site = Site::new();
    site.grant(0, true);
    let id = site.comment("建议在观摩点增加停车位");
    comments::decide(&site.hub.ctx, std::slice::from_ref(&id), Decision::Approve).unwrap();
    assert!(comments::report(&site.hub.ctx, &id, "phone-key-9", "不实信息").unwrap());
    assert_eq!(
        comments::queue(&site.hub.ctx, QueueKind::Reported)
            .unwrap()
            .len(),
        1
    );
    site.settle();
    comments::dismiss_reports(&site.laptop(0).ctx, &id).unwrap();
    let r = site.sync(0);
    assert_eq!((r.pushed, r.refused_by_hub), (1, 0), "{r:?}");
    assert!(comments::queue(&site.hub.ctx, QueueKind::Reported)
        .unwrap()
        .is_empty());
    assert_eq!(public_ids(&site.hub), vec![id.clone()], "it stays shown");
    let log = comments::moderation_log(&site.hub.ctx, Some(&id)).unwrap();
    assert_eq!(log[0].action, "dismiss_reports");
    site.settle();
    site.assert_converged();
}

#[test]
fn a_word_added_on_a_laptop_flags_the_next_comment_at_the_hub() {
    let site = Site::new();
    site.grant(0, true);
    site.settle();
    // The hub's compiled list is built (and cached) before the word arrives.
    assert_eq!(
        comments::overview(&site.hub.ctx).unwrap().words,
        0,
        "no words yet"
    );
    let m = site.laptop(0);
    site.cut(0, true);
    let r = comments::add_words(&m.ctx, "停车难\n# 注释\n收费").unwrap();
    assert_eq!((r.changed, r.total), (2, 2));
    site.cut(0, false);
    let r = site.sync(0);
    assert_eq!(
        (r.pushed, r.refused_by_hub),
        (2, 0),
        "one record per word: {r:?}"
    );
    assert_eq!(
        comments::list_words(&site.hub.ctx).unwrap(),
        ["停车难", "收费"]
    );
    let id = submit_from(&site, "13900002222", "phone-key-3", "观摩点停车难怎么办").unwrap();
    let c = site
        .hub
        .ctx
        .store()
        .read(|c| guanmo_store::comments::get(c, &id))
        .unwrap();
    assert_eq!(c.flagged_words, ["停车难"]);

    // Adding it again changes nothing; removing it on the hub reaches the laptop.
    assert_eq!(comments::add_words(&m.ctx, "停车难").unwrap().changed, 0);
    comments::remove_words(&site.hub.ctx, &["收费".to_string()]).unwrap();
    site.settle();
    assert_eq!(comments::list_words(&m.ctx).unwrap(), ["停车难"]);
    site.assert_converged();
    // Without 审核 the word list is refused on a laptop.
    let e = comments::add_words(&site.laptop(1).ctx, "测试").unwrap_err();
    assert_eq!(e.code, guanmo_api::ErrorCode::HubOnly);
}

#[test]
fn the_area_closed_on_a_laptop_closes_the_hubs_comment_area() {
    let site = Site::new();
    site.grant(0, true);
    let id = site.comment("建议在观摩点增加停车位");
    comments::decide(&site.hub.ctx, std::slice::from_ref(&id), Decision::Approve).unwrap();
    site.settle();
    let m = site.laptop(0);
    comments::set_area_open(&m.ctx, false, Some("活动结束".into())).unwrap();
    let before = comments::public_seq(&site.hub.ctx).unwrap();
    let r = site.sync(0);
    assert_eq!((r.pushed, r.refused_by_hub), (1, 0), "{r:?}");
    let public = comments::public_comments(&site.hub.ctx, None).unwrap();
    assert!(!public.open);
    assert!(public.comments.is_empty());
    assert!(comments::public_seq(&site.hub.ctx).unwrap() > before);
    let e = submit_from(&site, "13900003333", "phone-key-4", "还能评论吗").unwrap_err();
    assert_eq!(e.code, guanmo_api::ErrorCode::CommentsClosed);
    // Reopened on the hub: every replica follows.
    comments::set_area_open(&site.hub.ctx, true, None).unwrap();
    site.settle();
    assert!(comments::overview(&m.ctx).unwrap().area_open);
    site.assert_converged();
    assert_eq!(public_ids(&site.hub), vec![id]);

    // Two moderators closing and opening it apart: the first to reach the hub stands, the
    // other is listed.
    site.grant(1, true);
    site.settle();
    comments::set_area_open(&site.laptop(0).ctx, false, None).unwrap();
    comments::set_area_open(&site.laptop(1).ctx, false, None).unwrap();
    comments::set_area_open(&site.laptop(1).ctx, true, None).unwrap();
    site.sync(0);
    let r = site.sync(1);
    assert_eq!(r.refused_by_hub, 1, "{r:?}");
    site.settle();
    assert!(!comments::overview(&site.hub.ctx).unwrap().area_open);
    site.assert_converged();
}

#[test]
fn a_mute_from_a_laptop_refuses_the_authors_next_comment_and_hides_theirs_until_lifted() {
    let site = Site::new();
    site.grant(0, true);
    let id = site.comment("建议在观摩点增加停车位");
    let other = submit_from(&site, "13900004444", "phone-key-5", "为美丽宜阳点赞").unwrap();
    comments::decide(
        &site.hub.ctx,
        &[id.clone(), other.clone()],
        Decision::Approve,
    )
    .unwrap();
    site.settle();
    assert_eq!(public_ids(&site.hub).len(), 2);

    // 禁言 with the author's comments hidden, on the moderator's laptop, offline.
    let m = site.laptop(0);
    site.cut(0, true);
    let mute = comments::mute_author_with(
        &m.ctx,
        &id,
        7,
        "刷屏",
        comments::MuteOptions {
            hide_comments: true,
        },
    )
    .unwrap();
    assert_eq!(mute.phone_masked, "138****5678");
    assert_eq!(comments::list_mutes(&m.ctx).unwrap(), vec![mute.clone()]);
    assert!(sync_fails(&site, 0));
    site.cut(0, false);
    let r = site.sync(0);
    assert_eq!((r.pushed, r.refused_by_hub), (1, 0), "{r:?}");

    // The hub refuses the author's next comment (same phone, another number too) and hides
    // their approved one; the other resident is untouched.
    let e = submit_from(&site, PHONE, "phone-key-1", "我还要再说一次").unwrap_err();
    assert_eq!(e.code, guanmo_api::ErrorCode::Muted);
    let e = submit_from(&site, "13700007777", "phone-key-1", "换个号码再说").unwrap_err();
    assert_eq!(e.code, guanmo_api::ErrorCode::Muted);
    assert_eq!(public_ids(&site.hub), vec![other.clone()]);
    let hub_mutes = comments::list_mutes(&site.hub.ctx).unwrap();
    assert_eq!(hub_mutes.len(), 1);
    assert_eq!(
        (
            hub_mutes[0].key.as_str(),
            hub_mutes[0].phone_masked.as_str()
        ),
        (id.as_str(), "138****5678")
    );
    assert!(hub_mutes[0].hide_comments);

    // Another laptop learns of it, masked; a laptop without 审核 may not lift it.
    site.settle();
    assert_eq!(comments::list_mutes(&site.laptop(1).ctx).unwrap().len(), 1);
    let e = comments::unmute(&site.laptop(1).ctx, &mute.key).unwrap_err();
    assert_eq!(e.code, guanmo_api::ErrorCode::HubOnly);

    // 解除禁言 on the laptop lifts both at the hub.
    comments::unmute(&m.ctx, &mute.key).unwrap();
    assert!(comments::list_mutes(&m.ctx).unwrap().is_empty());
    let r = site.sync(0);
    assert_eq!((r.pushed, r.refused_by_hub), (1, 0), "{r:?}");
    assert!(comments::list_mutes(&site.hub.ctx).unwrap().is_empty());
    assert_eq!(public_ids(&site.hub).len(), 2);
    submit_from(&site, PHONE, "phone-key-1", "谢谢解除禁言").unwrap();
    site.settle();
    site.assert_converged();
    for i in 0..3 {
        assert!(comments::list_mutes(&site.laptop(i).ctx)
            .unwrap()
            .is_empty());
    }

    // No laptop ever held the full number or a phone key.
    for i in 0..3 {
        let d = site.laptop(i);
        for (sql, what) in [
            ("SELECT count(*) FROM mutes", "a mute by number"),
            ("SELECT count(*) FROM mute_keys", "a mute by phone key"),
            (
                "SELECT count(*) FROM moderation_log WHERE phone IS NOT NULL",
                "a number in the record",
            ),
            (
                "SELECT count(*) FROM ops WHERE payload LIKE '%13812345678%'",
                "the number in the log",
            ),
            (
                "SELECT count(*) FROM ops WHERE payload LIKE '%phone-key-1%'",
                "the key in the log",
            ),
        ] {
            assert_eq!(count(d, sql), 0, "laptop {i}: {what}");
        }
    }
}

/// True when the laptop's link is down (its sync fails).
fn sync_fails(site: &Site, i: usize) -> bool {
    let (d, t) = &site.laptops[i];
    d.sync(t).is_err()
}

// ---- 举报, 申诉 and likes across devices ----

/// `(id, open reports)` of the 被举报 queue on `d`.
fn reported(d: &Device) -> Vec<(String, u32)> {
    comments::queue(&d.ctx, QueueKind::Reported)
        .unwrap()
        .into_iter()
        .map(|q| (q.comment.id, q.comment.open_reports))
        .collect()
}

fn likes(d: &Device) -> Vec<(String, u32)> {
    comments::public_comments(&d.ctx, None).unwrap().likes
}

/// Codes of the refusals `d` lists.
fn refusals(d: &Device) -> Vec<String> {
    guanmo_sync::overview(&d.ctx, &d.media)
        .unwrap()
        .issues
        .into_iter()
        .filter(|i| i.kind == "refused")
        .map(|i| i.code)
        .collect()
}

#[test]
fn a_report_on_the_hub_reaches_a_moderators_reported_queue_and_its_decision_resolves_it() {
    let site = Site::new();
    site.grant(0, true);
    let id = site.comment("建议在观摩点增加停车位");
    comments::decide(&site.hub.ctx, std::slice::from_ref(&id), Decision::Approve).unwrap();
    assert!(comments::report(&site.hub.ctx, &id, "reporter-key-1", "不实信息").unwrap());
    assert!(
        !comments::report(&site.hub.ctx, &id, "reporter-key-1", "不实信息").unwrap(),
        "one report per phone"
    );
    site.sync(0);

    // The moderator's laptop shows the hub's 被举报 queue, without the reporter's phone key.
    let m = site.laptop(0);
    assert_eq!(reported(m), vec![(id.clone(), 1)]);
    assert_eq!(comments::overview(&m.ctx).unwrap().reported, 1);
    for (sql, what) in [
        (
            "SELECT count(*) FROM comment_reports WHERE client_key IS NOT NULL",
            "a phone key",
        ),
        (
            "SELECT count(*) FROM ops WHERE payload LIKE '%reporter-key-1%'",
            "the key in the log",
        ),
    ] {
        assert_eq!(count(m, sql), 0, "{what} left the hub");
    }

    // 不通过 on the laptop, offline, then synced: the hub's report is resolved and the comment
    // leaves the public page.
    site.cut(0, true);
    comments::decide(&m.ctx, std::slice::from_ref(&id), reject("不实信息")).unwrap();
    assert!(reported(m).is_empty());
    site.cut(0, false);
    let r = site.sync(0);
    assert_eq!((r.pushed, r.refused_by_hub), (1, 0), "{r:?}");
    assert!(reported(&site.hub).is_empty(), "resolved at the hub");
    assert_eq!(
        count(
            &site.hub,
            "SELECT count(*) FROM comment_reports WHERE resolved_at IS NULL"
        ),
        0
    );
    assert!(public_ids(&site.hub).is_empty());
    site.settle();
    site.assert_converged();
}

#[test]
fn a_report_on_a_media_laptops_site_reaches_the_hub_and_a_keep_elsewhere_closes_it() {
    let site = Site::new();
    site.grant(1, true);
    let id = site.comment("建议在观摩点增加停车位");
    comments::decide(&site.hub.ctx, std::slice::from_ref(&id), Decision::Approve).unwrap();
    site.settle();

    // A resident reports it on 直播电脑一's LAN site.
    let lan = site.laptop(0);
    assert!(comments::report(&lan.ctx, &id, "lan-reporter-key", "广告").unwrap());
    assert_eq!(reported(lan), vec![(id.clone(), 1)]);
    let r = site.sync(0);
    assert_eq!((r.pushed, r.refused_by_hub), (1, 0), "{r:?}");
    assert_eq!(reported(&site.hub), vec![(id.clone(), 1)]);
    assert_eq!(
        count(
            &site.hub,
            "SELECT count(*) FROM ops WHERE payload LIKE '%lan-reporter-key%'"
        ),
        0,
        "the phone key stays on the site that took the report"
    );

    // Another moderator's laptop keeps the comment (保留): closed on every replica.
    let m = site.laptop(1);
    site.sync(1);
    assert_eq!(reported(m), vec![(id.clone(), 1)]);
    comments::dismiss_reports(&m.ctx, &id).unwrap();
    let r = site.sync(1);
    assert_eq!((r.pushed, r.refused_by_hub), (1, 0), "{r:?}");
    assert!(reported(&site.hub).is_empty());
    assert_eq!(public_ids(&site.hub), vec![id.clone()], "it stays shown");
    site.settle();
    assert!(
        reported(lan).is_empty(),
        "closed on the site that took it too"
    );
    site.assert_converged();

    // A new report after the 保留 is open again everywhere.
    assert!(comments::report(&site.hub.ctx, &id, "reporter-key-2", "低俗").unwrap());
    site.settle();
    for i in 0..3 {
        assert_eq!(
            reported(site.laptop(i)),
            vec![(id.clone(), 1)],
            "laptop {i}"
        );
    }
    site.assert_converged();
}

#[test]
fn an_appeal_on_the_hub_reaches_a_moderator_as_pending_with_its_reason() {
    let site = Site::new();
    site.grant(0, true);
    let id = site.comment("建议在观摩点增加停车位");
    site.sync(0);
    let m = site.laptop(0);
    comments::decide(
        &m.ctx,
        std::slice::from_ref(&id),
        reject("与观摩会内容无关"),
    )
    .unwrap();
    site.sync(0);
    assert_eq!(status(&site.hub, &id), (CommentStatus::Rejected, false));

    // The resident appeals from the phone that wrote it, on the hub's site.
    comments::appeal(&site.hub.ctx, &id, "phone-key-1", "停车确实困难,请再审").unwrap();
    let r = site.sync(0);
    assert_eq!(r.refused_by_hub, 0, "{r:?}");
    let pending = comments::queue(&m.ctx, QueueKind::Pending).unwrap();
    assert_eq!(pending.len(), 1);
    let c = &pending[0].comment;
    assert_eq!(
        (c.id.as_str(), c.appealed, c.appeal_reason.as_deref()),
        (id.as_str(), true, Some("停车确实困难,请再审"))
    );

    // The moderator decides it again: it reaches the hub and goes public.
    comments::decide(&m.ctx, std::slice::from_ref(&id), Decision::Approve).unwrap();
    let r = site.sync(0);
    assert_eq!((r.pushed, r.refused_by_hub), (1, 0), "{r:?}");
    assert_eq!(status(&site.hub, &id), (CommentStatus::Approved, false));
    assert_eq!(public_ids(&site.hub), vec![id.clone()]);
    let actions: Vec<String> = comments::moderation_log(&site.hub.ctx, Some(&id))
        .unwrap()
        .into_iter()
        .map(|l| l.action)
        .collect();
    assert_eq!(actions, ["approve", "appeal", "reject"]);
    site.settle();
    site.assert_converged();
}

#[test]
fn an_appeal_on_a_media_laptops_site_reaches_the_hub_and_a_decision_that_missed_it_is_listed() {
    let site = Site::new();
    site.grant(1, true);
    // A resident comments on 直播电脑一's LAN site; the hub rejects it.
    let lan = site.laptop(0);
    let id = comments::submit(
        &lan.ctx,
        Submission {
            input: CommentInput {
                target: "event".into(),
                nickname: "柏坊居民".into(),
                kind: CommentKind::Praise,
                text: "为美丽柏坊点赞".into(),
                township_id: None,
                phone: "13900005555".into(),
            },
            client_key: "lan-phone-key".into(),
            peer: "192.168.1.20".into(),
            phone_verified: false,
        },
    )
    .unwrap()
    .id;
    site.sync(0);
    comments::decide(&site.hub.ctx, std::slice::from_ref(&id), reject("重复内容")).unwrap();
    site.settle();

    // The moderator on 直播电脑二 approves it before hearing of the appeal made meanwhile.
    site.cut(1, true);
    comments::appeal(&lan.ctx, &id, "lan-phone-key", "并非重复").unwrap();
    let r = site.sync(0);
    assert_eq!((r.pushed, r.refused_by_hub), (1, 0), "{r:?}");
    assert_eq!(status(&site.hub, &id), (CommentStatus::Pending, false));
    comments::decide(
        &site.laptop(1).ctx,
        std::slice::from_ref(&id),
        Decision::Approve,
    )
    .unwrap();
    site.cut(1, false);
    let r = site.sync(1);
    assert_eq!(
        r.refused_by_hub, 1,
        "the appeal reached the hub first: {r:?}"
    );
    assert_eq!(status(&site.hub, &id), (CommentStatus::Pending, false));
    assert!(refusals(site.laptop(1)).contains(&"decision_conflict".to_string()));
    site.settle();
    site.assert_converged();
    let c = comments::queue(&site.laptop(1).ctx, QueueKind::Pending).unwrap();
    assert_eq!(c[0].comment.appeal_reason.as_deref(), Some("并非重复"));
    assert_eq!(
        count(
            &site.hub,
            "SELECT count(*) FROM ops WHERE payload LIKE '%13900005555%'
                OR payload LIKE '%lan-phone-key%'"
        ),
        0
    );
}

#[test]
fn likes_on_the_hub_and_on_a_media_laptops_site_sum_on_the_hubs_public_list() {
    let site = Site::new();
    site.settle();
    let like = |d: &Device, key: &str| comments::like(&d.ctx, "event", key).unwrap();
    let hub = &site.hub;
    assert!(like(hub, "hub-phone-a").new);
    assert!(!like(hub, "hub-phone-a").new, "the same phone counts once");
    assert_eq!(like(hub, "hub-phone-b").count, 2);
    let lan = site.laptop(0);
    for key in ["lan-phone-c", "lan-phone-c", "lan-phone-d", "lan-phone-e"] {
        like(lan, key);
    }
    assert_eq!(
        likes(lan),
        vec![("event".to_string(), 3)],
        "its phones, once each"
    );

    let before = comments::public_seq(&hub.ctx).unwrap();
    let r = site.sync(0);
    assert_eq!(r.refused_by_hub, 0, "{r:?}");
    assert_eq!(likes(hub), vec![("event".to_string(), 5)]);
    assert_eq!(
        likes(lan),
        vec![("event".to_string(), 5)],
        "its own plus the hub's"
    );
    assert!(
        comments::public_seq(&hub.ctx).unwrap() > before,
        "the page's version moves, so phones refresh"
    );
    // Syncing again changes nothing; a phone that liked on the LAN site liking again there
    // changes nothing either.
    site.sync(0);
    assert!(!like(lan, "lan-phone-d").new);
    site.sync(0);
    assert_eq!(likes(hub), vec![("event".to_string(), 5)]);
    assert_eq!(like(hub, "hub-phone-f").count, 6);

    site.settle();
    site.assert_converged();
    for i in 0..3 {
        assert_eq!(
            likes(site.laptop(i)),
            vec![("event".to_string(), 6)],
            "laptop {i}"
        );
    }
    for d in std::iter::once(hub).chain((0..3).map(|i| site.laptop(i))) {
        assert_eq!(
            count(d, "SELECT count(*) FROM ops WHERE payload LIKE '%-phone-%'"),
            0,
            "no phone key in any log"
        );
    }
}

#[test]
fn a_hostile_laptop_making_a_report_appeal_or_like_record_is_refused_and_nothing_changes() {
    let site = Site::new();
    // The scorer's laptop holds 审核, but no laptop but the site that took it speaks for a
    // resident.
    site.grant(0, true);
    site.grant(2, true);
    let shown = site.comment("建议在观摩点增加停车位");
    let rejected = site.comment("建议增加公交班次");
    comments::decide(
        &site.hub.ctx,
        std::slice::from_ref(&shown),
        Decision::Approve,
    )
    .unwrap();
    comments::decide(
        &site.hub.ctx,
        std::slice::from_ref(&rejected),
        reject("重复内容"),
    )
    .unwrap();
    site.settle();
    let before = site.dumps()[0].clone();

    // A modified app on the scorer's laptop writes a report and a like straight into its store.
    let s = site.laptop(2);
    s.ctx
        .store()
        .write(s.clock_now(), "modified-app", |tx| {
            guanmo_store::comments::report(tx, &shown, "forged-key", "刷举报")?;
            guanmo_store::comments::like(tx, "event", "forged-key")
        })
        .unwrap();
    let r = site.sync(2);
    assert_eq!(r.refused_by_hub, 2, "{r:?}");
    // The moderator's media laptop appeals the hub's comment it did not take.
    let m = site.laptop(0);
    m.ctx
        .store()
        .write(m.clock_now(), "modified-app", |tx| {
            let current = guanmo_store::comments::get(tx.conn(), &rejected)?;
            let next = transition(current.mod_state(), ModAction::Appeal).unwrap();
            guanmo_store::comments::set_state(tx, &current, next, "appeal", Some("冒充申诉"))
        })
        .unwrap();
    let r = site.sync(0);
    assert_eq!(r.refused_by_hub, 1, "{r:?}");

    let hub = &site.hub;
    assert_eq!(site.dumps()[0], before, "nothing applied at the hub");
    assert!(reported(hub).is_empty());
    assert!(likes(hub).is_empty());
    assert_eq!(status(hub, &rejected), (CommentStatus::Rejected, false));
    let mut codes = refusals(hub);
    codes.sort();
    assert_eq!(codes, ["not_site_host", "wrong_role", "wrong_role"]);
    assert!(refusals(s).contains(&"wrong_role".to_string()));
    assert!(refusals(m).contains(&"not_site_host".to_string()));
    // The honest laptop never sees them.
    site.settle();
    let honest = site.laptop(1);
    assert!(reported(honest).is_empty());
    assert!(likes(honest).is_empty());
    assert_eq!(status(honest, &rejected), (CommentStatus::Rejected, false));
}

#[test]
fn a_laptops_official_reply_reaches_the_hubs_page_and_every_replica() {
    let site = Site::new();
    site.grant(0, true);
    let id = submit_from(&site, "13900001111", "phone-key-2", "为美丽宜阳点赞").unwrap();
    let pending = submit_from(&site, "13900002222", "phone-key-3", "等待审核的评论").unwrap();
    comments::decide(&site.hub.ctx, std::slice::from_ref(&id), Decision::Approve).unwrap();
    site.settle();

    // 官方回复 on the moderator's laptop, offline; it waits, then reaches the hub's page.
    site.cut(0, true);
    let m = site.laptop(0);
    comments::official_reply(&m.ctx, &id, "感谢点赞,欢迎常来宜阳!", "常宁市委宣传部").unwrap();
    site.cut(0, false);
    let r = site.sync(0);
    assert_eq!((r.pushed, r.refused_by_hub), (1, 0), "{r:?}");
    let shown = comments::public_comments(&site.hub.ctx, None)
        .unwrap()
        .comments
        .into_iter()
        .find(|c| c.id == id)
        .unwrap()
        .reply
        .unwrap();
    assert!(shown.official);
    assert_eq!(shown.township.as_deref(), Some("常宁市委宣传部"));
    assert_eq!(shown.text, "感谢点赞,欢迎常来宜阳!");
    // The commenter's phone sees it in 我的评论.
    let mine = comments::own_comments(&site.hub.ctx, "phone-key-2").unwrap();
    assert_eq!(mine[0].reply.as_ref().unwrap().text, shown.text);

    site.settle();
    for i in 0..3 {
        let c = site
            .laptop(i)
            .ctx
            .store()
            .read(|c| guanmo_store::comments::get(c, &id))
            .unwrap();
        assert_eq!(
            (c.reply.as_deref(), c.reply_department.as_deref()),
            (Some("感谢点赞,欢迎常来宜阳!"), Some("常宁市委宣传部")),
            "laptop {i}"
        );
    }
    site.assert_converged();

    // A modified app answers a comment still waiting for review: the hub refuses it.
    m.ctx
        .store()
        .write(m.clock_now(), "modified-app", |tx| {
            let current = guanmo_store::comments::get(tx.conn(), &pending)?;
            guanmo_store::comments::official_reply(tx, &current, "抢先回复", "某部门")
        })
        .unwrap();
    let r = site.sync(0);
    assert_eq!(r.refused_by_hub, 1, "{r:?}");
    let hub_copy = site
        .hub
        .ctx
        .store()
        .read(|c| guanmo_store::comments::get(c, &pending))
        .unwrap();
    assert_eq!(hub_copy.reply, None);
}
