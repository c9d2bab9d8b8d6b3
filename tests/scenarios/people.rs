//! People across devices: the organiser keeps the list on the hub; it reaches the laptops
//! with each person's one-time sign-in code as a hash only; a scorer signs in on their laptop
//! the first time with that code and chooses a PIN that never leaves the laptop; what they
//! write reaches the hub naming them.

use super::sync::Cluster;
use guanmo_api::{people, scoring, ErrorCode};
use guanmo_domain::people::{PersonInput, PersonRole};
use guanmo_sync::memory::Faults;

fn person(
    ctx: &guanmo_api::Ctx,
    name: &str,
    roles: Vec<PersonRole>,
    scorer: Option<&str>,
) -> String {
    people::save_person(
        ctx,
        None,
        0,
        PersonInput {
            name: name.into(),
            work_unit: "市委办公室".into(),
            title: "副主任".into(),
            roles,
            scorer_id: scorer.map(str::to_string),
            active: true,
        },
    )
    .unwrap()
    .id
}

#[test]
fn a_scorer_signs_in_on_their_laptop_with_the_hubs_code_and_the_hub_sees_their_name() {
    let c = Cluster::new(Faults::default(), 11);
    let hub = &c.hub.ctx;
    let zhang = person(
        hub,
        "张三",
        vec![PersonRole::Scorer],
        Some(&c.scorers[0].id),
    );
    let li = person(
        hub,
        "李四",
        vec![PersonRole::Scorer],
        Some(&c.scorers[1].id),
    );
    let editor = person(hub, "王编辑", vec![PersonRole::Editor], None);
    let code = people::issue_sign_in_code(hub, &zhang).unwrap();
    c.settle();

    let (laptop, _) = &c.laptops[0];
    let l = &laptop.ctx;
    people::ask_who_is_working(l).unwrap();
    let view = people::session(l).unwrap();
    assert!(
        view.required,
        "the list reached the laptop: it asks who is working"
    );
    let names: Vec<&str> = view.choices.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        ["张三", "李四"],
        "a scorer's laptop lists 评分人 only"
    );
    // Nothing is written before someone signs in.
    let town = guanmo_api::roster::list_townships(l).unwrap()[0].id.clone();
    let e = scoring::open_sheet(l, &c.scorers[0].id, &town).unwrap_err();
    assert_eq!(e.code, ErrorCode::SignInRequired);
    // 李四 has no code; 张三's code reached the laptop as a hash and works once.
    assert_eq!(
        people::sign_in_with_code(l, &li, &code.code, "730164")
            .unwrap_err()
            .code,
        ErrorCode::SignInRefused
    );
    people::sign_in_with_code(l, &zhang, &code.code, "730164").unwrap();
    let sheet = scoring::open_sheet(l, &c.scorers[0].id, &town).unwrap();
    assert_eq!(
        scoring::open_sheet(l, &c.scorers[1].id, &town)
            .unwrap_err()
            .code,
        ErrorCode::Forbidden,
        "背靠背: 张三 cannot start 李四's sheet"
    );
    let criterion = guanmo_api::rubric::get_rubric(l).unwrap().categories[0].criteria[0]
        .id
        .clone()
        .unwrap();
    scoring::record_mark(l, &sheet.id, &criterion, Some(2.0), String::new()).unwrap();
    c.settle();

    // The hub received the sheet naming 张三 (and the laptop), never the PIN.
    let actor: String = hub
        .store()
        .read(|conn| {
            Ok(conn.query_row(
                "SELECT actor FROM ops WHERE kind = 'sheet' AND entity_id = ?1
                 ORDER BY seq DESC LIMIT 1",
                [&sheet.id],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(
        actor,
        format!("scorer@{}|{zhang}|张三", l.store().device_id())
    );
    let pins_at_hub: i64 = hub
        .store()
        .read(|conn| Ok(conn.query_row("SELECT count(*) FROM person_pins", [], |r| r.get(0))?))
        .unwrap();
    let pins_on_laptop: i64 = l
        .store()
        .read(|conn| Ok(conn.query_row("SELECT count(*) FROM person_pins", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(
        (pins_on_laptop, pins_at_hub),
        (1, 0),
        "a PIN stays on the device it was set on"
    );
    // The media laptop lists the editor only, and holds the people but no PIN.
    let (media, _) = &c.laptops[2];
    people::ask_who_is_working(&media.ctx).unwrap();
    let names: Vec<String> = people::session(&media.ctx)
        .unwrap()
        .choices
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(names, [editor]);
}
