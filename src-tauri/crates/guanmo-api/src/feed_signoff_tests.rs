#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::feed::{create_draft, public_post, publish_post, update_post};
use crate::people::{ask_who_is_working, save_person, set_pin, sign_in};
use guanmo_domain::feed::PostInput;
use guanmo_domain::people::PersonInput;
use guanmo_domain::FixedClock;
use std::sync::Arc;

struct Fx {
    _dir: tempfile::TempDir,
    ctx: Ctx,
    clock: Arc<FixedClock>,
    author: String,
    editor: String,
    editor2: String,
    approver: String,
}

const PIN: &str = "205817";

/// A hub with 王记者 (编辑, the author), 张编辑 and 赵编辑 (编辑) and 李签发 (签发人), each with
/// a PIN, and the 审核流程 set to `levels` with names printed.
fn fx(levels: i32) -> Fx {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(
        chrono::DateTime::parse_from_rfc3339("2026-12-04T01:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc),
    ));
    let ctx = Ctx::open(dir.path(), clock.clone()).unwrap();
    set_signoff_settings(
        &ctx,
        SignoffSettings {
            levels,
            print_footer: true,
        },
    )
    .unwrap();
    let add = |name: &str, role: PersonRole| {
        let id = save_person(
            &ctx,
            None,
            0,
            PersonInput {
                name: name.into(),
                work_unit: "市融媒体中心".into(),
                title: String::new(),
                roles: vec![role],
                scorer_id: None,
                active: true,
            },
        )
        .unwrap()
        .id;
        set_pin(&ctx, &id, PIN).unwrap();
        id
    };
    let author = add("王记者", PersonRole::Editor);
    let editor = add("张编辑", PersonRole::Editor);
    let editor2 = add("赵编辑", PersonRole::Editor);
    let approver = add("李签发", PersonRole::Approver);
    ask_who_is_working(&ctx).unwrap();
    Fx {
        _dir: dir,
        ctx,
        clock,
        author,
        editor,
        editor2,
        approver,
    }
}

impl Fx {
    fn as_(&self, id: &str) -> &Ctx {
        sign_in(&self.ctx, id, PIN).unwrap();
        self.clock.advance(chrono::Duration::minutes(1));
        &self.ctx
    }

    fn draft(&self) -> Post {
        create_draft(
            self.as_(&self.author),
            PostInput {
                body: "观摩团来到水口山镇。".into(),
                credit: "记者 王记者 摄".into(),
                ..PostInput::default()
            },
        )
        .unwrap()
    }

    fn step(&self, who: &str, post: &Post, action: SignoffAction) -> ApiResult<Post> {
        let ctx = self.as_(who);
        let current = crate::feed::get_post(ctx, &post.id).unwrap();
        signoff_post(ctx, &post.id, action, current.version, "配图不清晰".into())
    }
}

#[test]
fn three_levels_publish_with_the_editor_and_approver_named_in_the_footer() {
    let f = fx(3);
    let d = f.draft();
    let e = publish_post(&f.ctx, &d.id, d.version).unwrap_err();
    assert_eq!(e.message, "审核流程为3级,请提交审核");
    let p = f.step(&f.author, &d, SignoffAction::Submit).unwrap();
    assert_eq!(p.status, PostStatus::Pending);
    assert_eq!(p.signoff.levels_done, 1);
    assert_eq!(
        update_post(f.as_(&f.author), &p.id, p.version, PostInput::default())
            .unwrap_err()
            .code,
        ErrorCode::Validation,
        "a post under review is locked"
    );
    // The author never approves their own post; an editor never does 三审.
    assert_eq!(
        f.step(&f.author, &p, SignoffAction::Approve)
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    let q = signoff_overview(f.as_(&f.editor)).unwrap();
    assert_eq!(q.queue.len(), 1);
    assert_eq!(q.queue[0].word, "待二审");
    assert_eq!(q.queue[0].submitted_by, "王记者");
    assert!(!q.final_level);
    let p = f.step(&f.editor, &p, SignoffAction::Approve).unwrap();
    assert_eq!(p.signoff.editor.as_deref(), Some("张编辑"));
    assert!(
        signoff_overview(f.as_(&f.editor2))
            .unwrap()
            .queue
            .is_empty(),
        "三审 is not an editor's"
    );
    assert_eq!(
        f.step(&f.editor2, &p, SignoffAction::Approve)
            .unwrap_err()
            .code,
        ErrorCode::Forbidden
    );
    assert_eq!(public_post(&f.ctx, &p.id).unwrap(), None, "not public yet");
    let q = signoff_overview(f.as_(&f.approver)).unwrap();
    assert_eq!(q.queue[0].word, "待三审");
    assert!(q.final_level);
    let p = f.step(&f.approver, &p, SignoffAction::Approve).unwrap();
    assert_eq!(p.status, PostStatus::Published);
    let public = public_post(&f.ctx, &p.id).unwrap().unwrap();
    assert_eq!(public.editor.as_deref(), Some("张编辑"));
    assert_eq!(public.approver.as_deref(), Some("李签发"));
    let history: Vec<(String, String, String)> = post_history(&f.ctx, &p.id)
        .unwrap()
        .into_iter()
        .map(|s| (s.label, s.level_name, s.person_name))
        .collect();
    assert_eq!(
        history,
        [
            ("提交审核".into(), "一审".into(), "王记者".into()),
            ("通过".into(), "二审".into(), "张编辑".into()),
            ("通过".into(), "三审".into(), "李签发".into()),
        ]
    );
    // Names are printed only while the organiser wants them.
    sign_in(&f.ctx, &f.approver, PIN).unwrap();
    let ev = crate::feed::feed_events_since(&f.ctx, 0, 100).unwrap();
    assert_eq!(
        ev.len(),
        1,
        "residents hear of the post once, when published"
    );
    assert_eq!(ev[0].kind, crate::feed::FeedEventKind::New);
}

#[test]
fn a_return_needs_a_reason_and_sends_the_post_back_to_its_author() {
    let f = fx(2);
    let d = f.draft();
    let p = f.step(&f.author, &d, SignoffAction::Submit).unwrap();
    let ctx = f.as_(&f.editor);
    let e = signoff_post(ctx, &p.id, SignoffAction::Return, p.version, " ".into()).unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    let r = f.step(&f.editor, &p, SignoffAction::Return).unwrap();
    assert_eq!(r.status, PostStatus::Draft);
    assert_eq!(r.signoff.returned_reason.as_deref(), Some("配图不清晰"));
    // The author edits and submits again; 二审 is the last level and publishes it.
    let ctx = f.as_(&f.author);
    let edited = update_post(
        ctx,
        &r.id,
        r.version,
        PostInput {
            body: "换了配图。".into(),
            ..PostInput::default()
        },
    )
    .unwrap();
    let p = f.step(&f.author, &edited, SignoffAction::Submit).unwrap();
    let p = f.step(&f.editor2, &p, SignoffAction::Approve).unwrap();
    assert_eq!(p.status, PostStatus::Published);
    assert_eq!(p.body, "换了配图。");
    assert_eq!(
        public_post(&f.ctx, &p.id)
            .unwrap()
            .unwrap()
            .editor
            .as_deref(),
        Some("赵编辑")
    );
}

#[test]
fn a_fast_track_is_the_final_levels_and_is_logged_with_the_levels_it_skipped() {
    let f = fx(3);
    let d = f.draft();
    assert_eq!(
        f.step(&f.editor, &d, SignoffAction::FastTrack)
            .unwrap_err()
            .code,
        ErrorCode::Forbidden,
        "an editor does not hold 三审"
    );
    let p = f.step(&f.approver, &d, SignoffAction::FastTrack).unwrap();
    assert_eq!(p.status, PostStatus::Published);
    let h = post_history(&f.ctx, &p.id).unwrap();
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].label, "紧急发布");
    assert_eq!(h[0].person_name, "李签发");
    assert_eq!(h[0].skipped, vec![1, 2]);
    assert!(public_post(&f.ctx, &p.id).unwrap().is_some());
}

#[test]
fn lowering_the_levels_publishes_nothing_the_post_waits_for_an_explicit_sign_off() {
    let f = fx(3);
    let d = f.draft();
    let p = f.step(&f.author, &d, SignoffAction::Submit).unwrap();
    let p = f.step(&f.editor, &p, SignoffAction::Approve).unwrap();
    // The organiser lowers the levels to 2 (the hub's setting, as sync would bring it).
    f.ctx
        .store
        .write(f.ctx.now(), "organiser", |tx| {
            signoff_store::set_settings(
                tx,
                &SignoffSettings {
                    levels: 2,
                    print_footer: true,
                },
            )
        })
        .unwrap();
    let still = crate::feed::get_post(&f.ctx, &p.id).unwrap();
    assert_eq!(
        still.status,
        PostStatus::Pending,
        "nothing published by itself"
    );
    let q = signoff_overview(f.as_(&f.editor2)).unwrap();
    assert_eq!(q.queue[0].word, "待签发");
    assert_eq!(
        f.step(&f.editor2, &p, SignoffAction::Approve)
            .unwrap_err()
            .message,
        "审核级数已调低,这条直播等待签发"
    );
    let p = f.step(&f.editor2, &p, SignoffAction::FastTrack).unwrap();
    assert_eq!(p.status, PostStatus::Published);
    let h = post_history(&f.ctx, &p.id).unwrap();
    assert_eq!(h.last().unwrap().label, "签发", "no level was skipped");
}

#[test]
fn with_one_level_an_editor_publishes_directly_and_nothing_is_submitted() {
    let f = fx(1);
    let d = f.draft();
    assert_eq!(
        f.step(&f.author, &d, SignoffAction::Submit)
            .unwrap_err()
            .message,
        "审核流程为一级,编辑可直接发布"
    );
    let p = publish_post(f.as_(&f.author), &d.id, d.version).unwrap();
    assert_eq!(p.status, PostStatus::Published);
    let public = public_post(&f.ctx, &p.id).unwrap().unwrap();
    assert_eq!((public.editor, public.approver), (None, None));
    assert!(signoff_overview(&f.ctx).unwrap().queue.is_empty());
}
