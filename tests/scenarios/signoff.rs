//! 审核流程 across devices: the author writes and submits on the media laptop, the approver
//! signs off on the hub, and after a sync both hold the post published at the same time with
//! the approver named. An approval made on the laptop under levels the hub has since raised is
//! refused at the hub and taken back on the laptop, so the two agree again.

use super::sync::Cluster;
use guanmo_api::{feed, people, ErrorCode};
use guanmo_domain::feed::signoff::{SignoffAction, SignoffSettings};
use guanmo_domain::feed::{PostInput, PostStatus};
use guanmo_domain::people::{PersonInput, PersonRole};
use guanmo_sync::memory::Faults;

const PIN: &str = "205817";

fn person(ctx: &guanmo_api::Ctx, name: &str, roles: Vec<PersonRole>) -> String {
    people::save_person(
        ctx,
        None,
        0,
        PersonInput {
            name: name.into(),
            work_unit: "市融媒体中心".into(),
            title: String::new(),
            roles,
            scorer_id: None,
            active: true,
        },
    )
    .unwrap()
    .id
}

fn draft(ctx: &guanmo_api::Ctx, body: &str) -> guanmo_domain::feed::Post {
    feed::create_draft(
        ctx,
        PostInput {
            body: body.into(),
            credit: "记者 王记者 摄".into(),
            ..PostInput::default()
        },
    )
    .unwrap()
}

fn levels(n: i32) -> SignoffSettings {
    SignoffSettings {
        levels: n,
        print_footer: true,
    }
}

#[test]
fn the_author_submits_on_the_media_laptop_and_the_approver_signs_off_on_the_hub() {
    let c = Cluster::new(Faults::default(), 29);
    let hub = &c.hub.ctx;
    feed::set_signoff_settings(hub, levels(2)).unwrap();
    let wang = person(hub, "王记者", vec![PersonRole::Editor]);
    let zhang = person(hub, "张编辑", vec![PersonRole::Editor]);
    let li = person(hub, "李签发", vec![PersonRole::Approver]);
    let qian = person(hub, "钱组织", vec![PersonRole::Organiser]);
    let code_wang = people::issue_sign_in_code(hub, &wang).unwrap();
    let code_zhang = people::issue_sign_in_code(hub, &zhang).unwrap();
    people::set_pin(hub, &li, PIN).unwrap();
    people::set_pin(hub, &qian, PIN).unwrap();
    c.settle();

    // The media laptop: 王记者 writes and submits; he cannot publish directly.
    let (media, _) = &c.laptops[2];
    let m = &media.ctx;
    people::ask_who_is_working(m).unwrap();
    people::sign_in_with_code(m, &wang, &code_wang.code, "730164").unwrap();
    let d = draft(m, "观摩团抵达荫田镇。");
    assert_eq!(
        feed::publish_post(m, &d.id, d.version).unwrap_err().code,
        ErrorCode::Validation
    );
    let p = feed::signoff_post(m, &d.id, SignoffAction::Submit, d.version, String::new()).unwrap();
    assert_eq!(p.status, PostStatus::Pending);
    c.settle();

    // The hub: 李签发's queue holds it; his 通过 (二审, the last level) publishes it. (The
    // organiser's 钱组织 stays signed in between: the cluster's checks read every sheet.)
    people::ask_who_is_working(hub).unwrap();
    people::sign_in(hub, &li, PIN).unwrap();
    let q = feed::signoff_overview(hub).unwrap();
    assert_eq!(q.queue.len(), 1);
    assert_eq!(q.queue[0].word, "待二审");
    assert_eq!(q.queue[0].submitted_by, "王记者");
    let hp = feed::signoff_post(
        hub,
        &p.id,
        SignoffAction::Approve,
        q.queue[0].post.version,
        String::new(),
    )
    .unwrap();
    assert_eq!(hp.status, PostStatus::Published);
    people::sign_in(hub, &qian, PIN).unwrap();
    c.settle();

    let mp = feed::get_post(m, &p.id).unwrap();
    assert_eq!(
        mp.status,
        PostStatus::Published,
        "the laptop folds the step too"
    );
    assert_eq!(
        mp.published_at, hp.published_at,
        "published at the same time"
    );
    let public = feed::public_post(m, &p.id).unwrap().unwrap();
    assert_eq!(public.editor.as_deref(), Some("李签发"));
    let names: Vec<(String, String)> = feed::post_history(m, &p.id)
        .unwrap()
        .into_iter()
        .map(|s| (s.label, s.person_name))
        .collect();
    assert_eq!(
        names,
        [
            ("提交审核".to_string(), "王记者".to_string()),
            ("通过".to_string(), "李签发".to_string())
        ]
    );

    // Offline: the organiser raises the levels to 3 while 张编辑 approves a second post on the
    // laptop under the 2 levels it still knows. The laptop shows it published until the hub
    // refuses the step; then it is pending again there, as on the hub.
    let d2 = draft(m, "荫田镇村集体经济展示。");
    let p2 =
        feed::signoff_post(m, &d2.id, SignoffAction::Submit, d2.version, String::new()).unwrap();
    c.settle();
    feed::set_signoff_settings(hub, levels(3)).unwrap();
    people::sign_in_with_code(m, &zhang, &code_zhang.code, "730165").unwrap();
    let early =
        feed::signoff_post(m, &p2.id, SignoffAction::Approve, p2.version, String::new()).unwrap();
    assert_eq!(
        early.status,
        PostStatus::Published,
        "as far as the laptop knows"
    );
    c.settle();
    let back = feed::get_post(m, &p2.id).unwrap();
    assert_eq!(
        back.status,
        PostStatus::Pending,
        "the hub refused it: taken back"
    );
    assert_eq!(back.signoff.levels_done, 1);
    assert_eq!(
        feed::get_post(hub, &p2.id).unwrap().status,
        PostStatus::Pending
    );
    assert!(feed::public_post(m, &p2.id).unwrap().is_none());
    let history = feed::post_history(m, &p2.id).unwrap();
    assert!(
        history.last().unwrap().void,
        "the refused step is kept, marked"
    );
    // 张编辑 tries again under the 3 levels now known: 二审 does not publish.
    let again = feed::signoff_post(
        m,
        &p2.id,
        SignoffAction::Approve,
        back.version,
        String::new(),
    )
    .unwrap();
    assert_eq!(again.status, PostStatus::Pending);
    assert_eq!(again.signoff.levels_done, 2);
    c.settle();
    people::sign_in(hub, &li, PIN).unwrap();
    let q = feed::signoff_overview(hub).unwrap();
    assert_eq!(q.queue.len(), 1);
    assert_eq!(q.queue[0].word, "待三审");
}
