//! Sync across devices in one process: a hub and three laptops (two scorers, one media)
//! exchange over an in-memory transport that drops, duplicates, reorders and cuts
//! messages. Every replica converges to the same replicated state; no score a scorer saw
//! saved is lost; ownership breaches are refused; a real concurrent edit of a shared record
//! is flagged on every replica.

use chrono::{Duration, TimeZone, Utc};
use guanmo_api::{scoring, Ctx};
use guanmo_domain::scoring::{Scorer, ScorerInput};
use guanmo_domain::FixedClock;
use guanmo_media::MediaStore;
use guanmo_store::oplog;
use guanmo_sync::memory::{Faults, MemoryTransport};
use guanmo_sync::{HubService, Role, Transport};
use std::collections::BTreeSet;
use std::sync::Arc;

pub struct Device {
    pub ctx: Ctx,
    pub media: MediaStore,
    pub clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
}

impl Device {
    pub fn new(role: Role, name: &str) -> Device {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(
            Utc.with_ymd_and_hms(2026, 12, 4, 0, 30, 0).unwrap(),
        ));
        let data = dir.path().join("data");
        let ctx = Ctx::open(&data, clock.clone()).unwrap();
        let media = MediaStore::new(&data).unwrap();
        guanmo_sync::set_role(&ctx, role, name).unwrap();
        Device {
            ctx,
            media,
            clock,
            _dir: dir,
        }
    }

    pub fn clock_now(&self) -> chrono::DateTime<Utc> {
        guanmo_domain::Clock::now(self.clock.as_ref())
    }

    pub fn dump(&self) -> String {
        self.ctx.store().read(oplog::canonical_dump).unwrap()
    }

    pub fn sync(
        &self,
        t: &dyn Transport,
    ) -> Result<guanmo_sync::SyncReport, guanmo_sync::SyncError> {
        guanmo_sync::sync_once(&self.ctx, &self.media, t, &|_| {})
    }
}

pub struct Cluster {
    pub hub: Device,
    pub laptops: Vec<(Device, MemoryTransport)>,
    pub scorers: Vec<Scorer>,
}

impl Cluster {
    /// A hub with two scorers registered and every township open, two scorer laptops and
    /// one media laptop paired (over a clean link), and everyone synced once.
    pub fn new(faults: Faults, seed: u64) -> Cluster {
        let hub = Device::new(Role::Hub, "组织方主机");
        let mut scorers = Vec::new();
        for name in ["张三", "李四"] {
            scorers.push(
                scoring::register_scorer(
                    &hub.ctx,
                    ScorerInput {
                        name: name.into(),
                        group: "市领导".into(),
                        township_id: None,
                        active: true,
                        work_unit: String::new(),
                    },
                )
                .unwrap(),
            );
        }
        for t in guanmo_api::roster::list_townships(&hub.ctx).unwrap() {
            if t.enabled {
                scoring::set_scoring_open(&hub.ctx, &t.id, true).unwrap();
            }
        }
        let service = HubService::new(hub.ctx.clone(), hub.media.clone());
        let mut laptops = Vec::new();
        for (i, (role, name)) in [
            (Role::Scorer, "评分电脑一"),
            (Role::Scorer, "评分电脑二"),
            (Role::Media, "直播电脑"),
        ]
        .into_iter()
        .enumerate()
        {
            let dev = Device::new(role, name);
            let clean = MemoryTransport::new(service.clone(), Faults::default(), 1);
            let code = guanmo_sync::new_pairing_code(&hub.ctx).unwrap();
            guanmo_sync::pair_with_hub(&dev.ctx, &clean, "memory://hub", &code.code).unwrap();
            dev.sync(&clean).unwrap();
            let t =
                MemoryTransport::new(service.clone(), faults, seed.wrapping_add(i as u64 * 7919));
            t.set_token(&token_of(&dev.ctx));
            if i < 2 {
                // The organiser assigns the scorer to the laptop; the laptop remembers who
                // uses it.
                guanmo_sync::assign_scorer(
                    &hub.ctx,
                    &scorers[i].id,
                    Some(dev.ctx.store().device_id()),
                )
                .unwrap();
                scoring::set_device_scorer(&dev.ctx, Some(scorers[i].id.clone())).unwrap();
            }
            laptops.push((dev, t));
        }
        Cluster {
            hub,
            laptops,
            scorers,
        }
    }

    /// Syncs every laptop until a full round moves nothing and no run fails: the links'
    /// faults make single runs fail; retries (as the app's backoff does) get through.
    pub fn settle(&self) {
        for _round in 0..200 {
            let mut quiet = true;
            for (dev, t) in &self.laptops {
                match dev.sync(t) {
                    Ok(r) => {
                        if r.pushed + r.applied + r.photos_sent + r.photos_received > 0 {
                            quiet = false;
                        }
                    }
                    Err(_) => quiet = false,
                }
            }
            if quiet && self.converged() {
                return;
            }
        }
        panic!("did not settle in 200 rounds");
    }

    /// Every laptop holds the hub's replicated state, except that scoring is 背靠背: a
    /// laptop holds exactly the sheets of the scorers the hub assigned to it (a media laptop
    /// none), and of the photos those the hub lets it hold (see [`photos_as_the_hub_allows`]).
    pub fn converged(&self) -> bool {
        let d = without_sheets(&self.hub.dump());
        let assigned = guanmo_sync::scorer_assignments(&self.hub.ctx).unwrap();
        self.laptops.iter().all(|(l, _)| {
            let id = l.ctx.store().device_id();
            let mine: BTreeSet<String> = assigned
                .iter()
                .filter(|a| a.device_id == id)
                .map(|a| a.scorer_id.clone())
                .collect();
            without_sheets(&l.dump()) == d
                && sheets_of(&l.ctx, None) == sheets_of(&self.hub.ctx, Some(&mine))
                && photos_as_the_hub_allows(&self.hub.ctx, &l.ctx)
        })
    }
}

/// The hashes a query of `ctx`'s store lists.
pub fn hashes(ctx: &Ctx, sql: &str) -> BTreeSet<String> {
    ctx.store()
        .read(|c| {
            let mut st = c.prepare(sql)?;
            let rows = st.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
        .unwrap()
}

/// Whether the laptop `l` holds the records of exactly the photos the hub may give it
/// (背靠背: another scorer's evidence stays on the hub).
pub fn photos_as_the_hub_allows(hub: &Ctx, l: &Ctx) -> bool {
    let id = l.store().device_id().to_string();
    let may: BTreeSet<String> = hashes(hub, "SELECT hash FROM photos")
        .into_iter()
        .filter(|h| {
            hub.store()
                .read(|c| guanmo_store::trust::may_fetch_photo(c, &id, h))
                .unwrap()
        })
        .collect();
    hashes(l, "SELECT hash FROM photos") == may
}

/// A canonical dump without the score sheets' tables and the photos (which a laptop holds
/// as its role allows: compare them with [`photos_as_the_hub_allows`]).
pub fn without_sheets(dump: &str) -> String {
    let mut out = String::new();
    let mut skip = false;
    for line in dump.lines() {
        if !line.starts_with('[') {
            skip = matches!(
                line,
                "sheets" | "marks" | "adjustment_marks" | "sheet_evidence" | "photos"
            );
        }
        if !skip {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// The sheets (all, or those of `scorers`) with their marks, comparable across replicas.
pub fn sheets_of(ctx: &Ctx, scorers: Option<&BTreeSet<String>>) -> Vec<String> {
    let mut v: Vec<String> = scoring::list_sheets(ctx)
        .unwrap()
        .into_iter()
        .filter(|s| scorers.is_none_or(|set| set.contains(&s.scorer_id)))
        .map(|s| format!("{s:?}"))
        .collect();
    v.sort();
    v
}

fn token_of(ctx: &Ctx) -> String {
    ctx.store()
        .read(|c| guanmo_store::meta::get(c, "hub_token"))
        .unwrap()
        .unwrap()
}

fn enabled(ctx: &Ctx) -> Vec<guanmo_domain::roster::Township> {
    guanmo_api::roster::list_townships(ctx)
        .unwrap()
        .into_iter()
        .filter(|t| t.enabled)
        .collect()
}

fn criteria(ctx: &Ctx) -> Vec<(String, f64)> {
    guanmo_api::rubric::get_rubric(ctx)
        .unwrap()
        .categories
        .iter()
        .flat_map(|c| c.criteria.iter())
        .map(|k| (k.id.clone().unwrap(), k.max_points))
        .collect()
}

#[test]
fn pairing_gives_laptops_the_hubs_roster_rubric_and_scorers() {
    let c = Cluster::new(Faults::default(), 1);
    assert!(
        c.converged(),
        "after pairing and one sync every replica is the hub's"
    );
    let (l, _) = &c.laptops[0];
    assert_eq!(enabled(&l.ctx).len(), 22);
    assert_eq!(scoring::list_scorers(&l.ctx).unwrap().len(), 2);
}

#[test]
fn a_score_made_offline_reaches_the_hubs_ranking() {
    let c = Cluster::new(Faults::default(), 2);
    let (l, t) = &c.laptops[0];
    t.set_cut(true);
    let town = &enabled(&l.ctx)[3];
    let sheet = scoring::open_sheet(&l.ctx, &c.scorers[0].id, &town.id).unwrap();
    let mut last = sheet;
    for (id, max) in criteria(&l.ctx) {
        last = scoring::record_mark(&l.ctx, &last.id, &id, Some(max - 0.5), String::new()).unwrap();
    }
    let submitted = scoring::submit_sheet(&l.ctx, &last.id, last.version).unwrap();
    assert!(l.sync(t).is_err(), "offline: nothing goes out");
    t.set_cut(false);
    let report = l.sync(t).unwrap();
    assert!(report.pushed > 0);
    let hub_sheet = scoring::get_sheet(&c.hub.ctx, &submitted.id).unwrap();
    assert_eq!(hub_sheet.status, submitted.status);
    assert_eq!(
        serde_json::to_value(&hub_sheet.marks).unwrap(),
        serde_json::to_value(&submitted.marks).unwrap()
    );
    let standings = scoring::get_standings(&c.hub.ctx).unwrap();
    let row = serde_json::to_string(&standings).unwrap();
    assert!(
        row.contains(&town.id),
        "the township appears in the hub's ranking"
    );
    c.settle();
}

#[test]
fn a_laptop_cannot_write_what_the_hub_owns_or_another_scorers_sheet() {
    let c = Cluster::new(Faults::default(), 3);
    let (l1, t1) = &c.laptops[0];
    // The app refuses a laptop's edit of what the hub owns right away…
    let town = enabled(&l1.ctx)[0].clone();
    let mut input: guanmo_domain::roster::TownshipInput =
        serde_json::from_value(serde_json::to_value(&town).unwrap()).unwrap();
    input.note = "laptop edit".into();
    let err = guanmo_api::roster::update_township(&l1.ctx, &town.id, town.version, input.clone())
        .unwrap_err();
    assert_eq!(err.code, guanmo_api::ErrorCode::HubOnly);
    // …and the hub refuses one that got into a laptop's op log anyway (an old or tampered
    // client writing straight to its store).
    l1.ctx
        .store()
        .write(l1.clock_now(), "tampered", |tx| {
            guanmo_store::roster::update(tx, &town.id, town.version, &input)
        })
        .unwrap();
    let r = l1.sync(t1).unwrap();
    assert_eq!(r.refused_by_hub, 1, "{r:?}");
    let issues = guanmo_sync::overview(&c.hub.ctx, &c.hub.media)
        .unwrap()
        .issues;
    assert!(issues.iter().any(|i| i.code == "hub_only"), "{issues:?}");
    assert_eq!(enabled(&c.hub.ctx)[0].note, town.note, "nothing applied");
    let mine = guanmo_sync::overview(&l1.ctx, &l1.media).unwrap().issues;
    assert!(
        mine.iter().any(|i| i.code == "hub_only"),
        "the laptop shows that the hub refused its write: {mine:?}"
    );
    // The other laptops learn the hub's verdict and do not apply it either.
    let (l3, t3) = &c.laptops[2];
    l3.sync(t3).unwrap();
    assert_eq!(enabled(&l3.ctx)[0].note, town.note);

    // Laptop 2 scores as scorer 1 (whose sheets laptop 1 already wrote): refused at the hub.
    let t0 = enabled(&l1.ctx)[5].id.clone();
    scoring::open_sheet(&l1.ctx, &c.scorers[0].id, &t0).unwrap();
    l1.sync(t1).unwrap();
    let (l2, t2) = &c.laptops[1];
    let t1id = enabled(&l2.ctx)[6].id.clone();
    scoring::open_sheet(&l2.ctx, &c.scorers[0].id, &t1id).unwrap();
    let r = l2.sync(t2).unwrap();
    assert_eq!(r.refused_by_hub, 1, "{r:?}");
    let issues = guanmo_sync::overview(&c.hub.ctx, &c.hub.media)
        .unwrap()
        .issues;
    assert!(issues.iter().any(|i| i.code == "not_owner"), "{issues:?}");
}

#[test]
fn the_same_exchange_survives_dropped_duplicated_reordered_and_cut_messages() {
    let faults = Faults {
        drop_request: 0.2,
        drop_response: 0.2,
        duplicate: 0.2,
        replay_stale: 0.2,
        mangle_pull: 0.3,
    };
    let c = Cluster::new(faults, 42);
    let towns = enabled(&c.hub.ctx);
    let crit = criteria(&c.hub.ctx);
    let mut saved = Vec::new();
    for (i, (l, _)) in c.laptops.iter().take(2).enumerate() {
        for (k, town) in towns.iter().enumerate().skip(i).step_by(3).take(4) {
            let sheet = scoring::open_sheet(&l.ctx, &c.scorers[i].id, &town.id).unwrap();
            let mut last = sheet;
            for (id, max) in crit.iter().take(5 + k % 3) {
                last = scoring::record_mark(&l.ctx, &last.id, id, Some(max / 2.0), String::new())
                    .unwrap();
            }
            saved.push((last.id.clone(), serde_json::to_value(&last.marks).unwrap()));
        }
        l.clock.advance(Duration::minutes(3));
    }
    c.settle();
    for (id, marks) in saved {
        let at_hub = scoring::get_sheet(&c.hub.ctx, &id).unwrap();
        assert_eq!(
            serde_json::to_value(&at_hub.marks).unwrap(),
            marks,
            "sheet {id}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Schedules: random offline work on every device, random syncs over a faulty link, then a
// full sync.

use guanmo_domain::feed::PostInput;
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Action {
    /// A scorer laptop saves a mark (autosave), opening the sheet first if needed.
    Mark {
        laptop: usize,
        town: usize,
        crit: usize,
        tenths_of_max: u8,
    },
    /// A scorer laptop submits (locks) a sheet.
    Submit { laptop: usize, town: usize },
    /// The hub unlocks a submitted sheet it has.
    Unlock { laptop: usize, town: usize },
    /// The media laptop writes a new post and publishes it.
    NewPost,
    /// The media laptop edits one of its posts.
    EditPost { post: usize },
    /// The hub retracts (撤回) a published post it has.
    HubRetract { post: usize },
    /// A laptop syncs (over its faulty link; failures are fine).
    Sync { laptop: usize },
    /// A laptop's link goes down or up.
    Link { laptop: usize, up: bool },
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        6 => (0..2usize, 0..4usize, 0..6usize, 0..=10u8).prop_map(|(laptop, town, crit, tenths_of_max)| Action::Mark { laptop, town, crit, tenths_of_max }),
        1 => (0..2usize, 0..4usize).prop_map(|(laptop, town)| Action::Submit { laptop, town }),
        1 => (0..2usize, 0..4usize).prop_map(|(laptop, town)| Action::Unlock { laptop, town }),
        1 => Just(Action::NewPost),
        2 => (0..4usize).prop_map(|post| Action::EditPost { post }),
        1 => (0..4usize).prop_map(|post| Action::HubRetract { post }),
        3 => (0..3usize).prop_map(|laptop| Action::Sync { laptop }),
        1 => (0..3usize, any::<bool>()).prop_map(|(laptop, up)| Action::Link { laptop, up }),
    ]
}

fn post_input(body: &str) -> PostInput {
    PostInput {
        stop_label: None,
        township_id: None,
        body: body.into(),
        photos: Vec::new(),
        credit: "记者 王五 摄".into(),
    }
}

/// What each scorer laptop last saw saved, per (sheet, criterion): the value the hub must end
/// with.
type Saved = BTreeMap<(String, String), Option<f64>>;

fn run_schedule(c: &Cluster, actions: &[Action], start: usize) -> Saved {
    let towns = enabled(&c.hub.ctx);
    let crit = criteria(&c.hub.ctx);
    let mut saved = Saved::new();
    let media = &c.laptops[2].0;
    // The media laptop's posts in the order they were written (ids are time-ordered).
    let posts = || {
        let mut ids: Vec<String> = guanmo_api::feed::list_posts(&media.ctx)
            .unwrap()
            .into_iter()
            .map(|p| p.id)
            .collect();
        ids.sort();
        ids
    };
    for (n, a) in actions.iter().enumerate().map(|(i, a)| (i + start, a)) {
        match a {
            Action::Mark {
                laptop,
                town,
                crit: k,
                tenths_of_max,
            } => {
                let l = &c.laptops[*laptop].0;
                let Ok(sheet) =
                    scoring::open_sheet(&l.ctx, &c.scorers[*laptop].id, &towns[*town].id)
                else {
                    continue;
                };
                let (cid, max) = &crit[*k];
                let v = (max * f64::from(*tenths_of_max) / 10.0 * 2.0).round() / 2.0;
                if scoring::record_mark(&l.ctx, &sheet.id, cid, Some(v), String::new()).is_ok() {
                    saved.insert((sheet.id.clone(), cid.clone()), Some(v));
                }
            }
            Action::Submit { laptop, town } => {
                let l = &c.laptops[*laptop].0;
                if let Ok(sheet) =
                    scoring::open_sheet(&l.ctx, &c.scorers[*laptop].id, &towns[*town].id)
                {
                    let _ = scoring::submit_sheet(&l.ctx, &sheet.id, sheet.version);
                }
            }
            Action::Unlock { laptop, town } => {
                let sheets = scoring::list_sheets(&c.hub.ctx).unwrap();
                if let Some(s) = sheets.iter().find(|s| {
                    s.scorer_id == c.scorers[*laptop].id && s.township_id == towns[*town].id
                }) {
                    let _ = scoring::unlock_sheet(&c.hub.ctx, &s.id, "核对分数".into());
                }
            }
            Action::NewPost => {
                let p =
                    guanmo_api::feed::create_draft(&media.ctx, post_input(&format!("第{n}条图文")))
                        .unwrap();
                guanmo_api::feed::publish_post(&media.ctx, &p.id, p.version).unwrap();
            }
            Action::EditPost { post } => {
                if let Some(id) = posts().get(*post) {
                    let p = guanmo_api::feed::get_post(&media.ctx, id).unwrap();
                    let _ = guanmo_api::feed::update_post(
                        &media.ctx,
                        id,
                        p.version,
                        post_input(&format!("第{n}次修改")),
                    );
                }
            }
            Action::HubRetract { post } => {
                if let Some(id) = posts().get(*post) {
                    let _ = guanmo_api::feed::retract_post(&c.hub.ctx, id);
                }
            }
            Action::Sync { laptop } => {
                let (l, t) = &c.laptops[*laptop];
                let _ = l.sync(t);
            }
            Action::Link { laptop, up } => c.laptops[*laptop].1.set_cut(!up),
        }
    }
    for (_, t) in &c.laptops {
        t.set_cut(false);
    }
    saved
}

fn check_outcome(c: &Cluster, saved: &Saved) {
    assert!(c.converged(), "every replica has the same replicated state");
    for ((sheet, crit), v) in saved {
        let at_hub = scoring::get_sheet(&c.hub.ctx, sheet).unwrap();
        let mark = at_hub
            .marks
            .iter()
            .find(|m| &m.criterion_id == crit)
            .map(|m| m.points);
        assert_eq!(
            mark,
            Some(*v),
            "sheet {sheet} criterion {crit}: a saved score was lost"
        );
    }
    for (dev, name) in [(&c.hub, "hub")]
        .into_iter()
        .chain(c.laptops.iter().map(|(l, _)| (l, "laptop")))
    {
        for issue in guanmo_sync::overview(&dev.ctx, &dev.media).unwrap().issues {
            assert_eq!(
                issue.entity_kind, "post",
                "{name}: only posts are edited by two devices: {issue:?}"
            );
            assert_eq!(
                issue.kind, "conflict",
                "{name}: nothing in a schedule breaks ownership: {issue:?}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_offline_work_then_full_sync_converges_and_loses_no_score(
        actions in proptest::collection::vec(action(), 10..60),
        seed in any::<u64>(),
    ) {
        let faults = Faults { drop_request: 0.15, drop_response: 0.15, duplicate: 0.1, replay_stale: 0.1, mangle_pull: 0.2 };
        let c = Cluster::new(faults, seed);
        let saved = run_schedule(&c, &actions, 0);
        c.settle();
        check_outcome(&c, &saved);
    }
}

#[test]
fn a_hub_edit_made_without_seeing_the_laptops_edit_is_flagged_everywhere_and_the_hub_version_stands(
) {
    let c = Cluster::new(Faults::default(), 5);
    let (media, mt) = &c.laptops[2];
    let p = guanmo_api::feed::create_draft(&media.ctx, post_input("水口山镇观摩开始")).unwrap();
    let p = guanmo_api::feed::publish_post(&media.ctx, &p.id, p.version).unwrap();
    media.sync(mt).unwrap();
    c.settle();
    // Sequential: the hub retracts after seeing everything, the media laptop then syncs: no conflict.
    let p2 = guanmo_api::feed::create_draft(&media.ctx, post_input("第二条")).unwrap();
    let p2 = guanmo_api::feed::publish_post(&media.ctx, &p2.id, p2.version).unwrap();
    media.sync(mt).unwrap();
    guanmo_api::feed::retract_post(&c.hub.ctx, &p2.id).unwrap();
    c.settle();
    assert!(guanmo_sync::overview(&c.hub.ctx, &c.hub.media)
        .unwrap()
        .issues
        .is_empty());

    // Concurrent: the media laptop edits offline while the hub retracts.
    mt.set_cut(true);
    let cur = guanmo_api::feed::get_post(&media.ctx, &p.id).unwrap();
    guanmo_api::feed::update_post(
        &media.ctx,
        &p.id,
        cur.version,
        post_input("水口山镇观摩开始(更正)"),
    )
    .unwrap();
    guanmo_api::feed::retract_post(&c.hub.ctx, &p.id).unwrap();
    mt.set_cut(false);
    c.settle();
    for dev in [&c.hub, media, &c.laptops[0].0] {
        let issues = guanmo_sync::overview(&dev.ctx, &dev.media).unwrap().issues;
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].code, "concurrent_edit");
        assert_eq!(issues[0].entity_id, p.id);
        let post = guanmo_api::feed::get_post(&dev.ctx, &p.id).unwrap();
        assert_eq!(
            serde_json::to_value(post.status).unwrap(),
            "retracted",
            "the hub's version stands"
        );
    }
}

/// The business state without the devices' timestamps and random ids: what a skewed clock
/// must not change.
fn business_state(ctx: &Ctx) -> String {
    let towns: BTreeMap<String, String> = guanmo_api::roster::list_townships(ctx)
        .unwrap()
        .into_iter()
        .map(|t| (t.id, t.code))
        .collect();
    let scorers: BTreeMap<String, String> = scoring::list_scorers(ctx)
        .unwrap()
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect();
    let mut sheets: Vec<String> = scoring::list_sheets(ctx)
        .unwrap()
        .into_iter()
        .map(|s| {
            let marks: Vec<_> = s.marks.iter().map(|m| m.points).collect();
            format!(
                "{} {} {:?} {:?}",
                scorers[&s.scorer_id], towns[&s.township_id], s.status, marks
            )
        })
        .collect();
    sheets.sort();
    let mut posts: Vec<String> = guanmo_api::feed::list_posts(ctx)
        .unwrap()
        .into_iter()
        .map(|p| format!("{} {:?} {}", p.body, p.status, p.pinned))
        .collect();
    posts.sort();
    format!("{sheets:#?}\n{posts:#?}")
}

fn skew_schedule() -> Vec<Action> {
    let mut v = Vec::new();
    for i in 0..24 {
        v.push(Action::Mark {
            laptop: i % 2,
            town: i % 4,
            crit: i % 6,
            tenths_of_max: (i % 11) as u8,
        });
        if i % 5 == 0 {
            v.push(Action::NewPost);
        }
        if i % 7 == 3 {
            v.push(Action::EditPost { post: i % 3 });
            v.push(Action::Sync { laptop: 2 });
        }
        if i % 6 == 5 {
            v.push(Action::Sync { laptop: i % 2 });
        }
    }
    v.push(Action::Submit { laptop: 0, town: 0 });
    v.push(Action::Sync { laptop: 0 });
    v.push(Action::Unlock { laptop: 0, town: 0 });
    v.push(Action::Mark {
        laptop: 1,
        town: 2,
        crit: 1,
        tenths_of_max: 9,
    });
    v
}

#[test]
fn clock_skew_changes_nothing_in_the_converged_result_and_is_warned_about() {
    let plain = Cluster::new(Faults::default(), 9);
    let saved = run_schedule(&plain, &skew_schedule(), 0);
    plain.settle();
    check_outcome(&plain, &saved);

    let skewed = Cluster::new(Faults::default(), 9);
    skewed.laptops[0].0.clock.advance(Duration::days(-1));
    skewed.laptops[1].0.clock.advance(Duration::hours(3));
    let actions = skew_schedule();
    let (first, rest) = actions.split_at(actions.len() / 2);
    let saved1 = run_schedule(&skewed, first, 0);
    // A backwards jump mid-session on the media laptop.
    skewed.laptops[2].0.clock.advance(Duration::hours(-5));
    let mut saved = saved1;
    saved.extend(run_schedule(&skewed, rest, first.len()));
    skewed.settle();
    check_outcome(&skewed, &saved);

    assert_eq!(
        business_state(&plain.hub.ctx),
        business_state(&skewed.hub.ctx)
    );
    let warn = |i: usize| {
        guanmo_sync::overview(&skewed.laptops[i].0.ctx, &skewed.laptops[i].0.media)
            .unwrap()
            .clock_warning
    };
    assert!(warn(0) && warn(1) && warn(2), "every skewed laptop warns");
    assert!(
        !guanmo_sync::overview(&plain.laptops[0].0.ctx, &plain.laptops[0].0.media)
            .unwrap()
            .clock_warning
    );
}

/// A PNG of noise, `w`×`h`: compresses badly, so it is several chunks long.
fn noise_png(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let mut x = seed | 1;
    let img = image::RgbImage::from_fn(w, h, |_, _| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        image::Rgb([x as u8, (x >> 8) as u8, (x >> 16) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

#[test]
fn photos_travel_by_hash_once_each_way_and_an_interrupted_transfer_resumes() {
    let c = Cluster::new(Faults::default(), 11);
    let (l, t) = &c.laptops[0];
    let bytes = noise_png(1400, 1000, 7);
    assert!(bytes.len() > 3 << 20, "several chunks: {}", bytes.len());
    let imported = l
        .media
        .import_bytes("现场.png", &bytes, &guanmo_media::Limits::default())
        .unwrap();
    guanmo_api::photos::record_imported(&l.ctx, "现场.png", &imported).unwrap();
    let town = &enabled(&l.ctx)[2];
    let sheet = scoring::open_sheet(&l.ctx, &c.scorers[0].id, &town.id).unwrap();
    let (crit, _) = &criteria(&l.ctx)[0];
    guanmo_api::photos::attach_evidence(&l.ctx, &sheet.id, crit, &imported.hash).unwrap();

    // The run pushes and pulls (2 calls), sends the evidence photo's 1600 px copy (2 calls:
    // which are missing, the copy), asks which originals the hub lacks (1), then sends the
    // original in chunks: the cable is pulled after the first three chunks went out.
    t.cut_after(8);
    assert!(l.sync(t).is_err());
    t.set_cut(false);
    let q = guanmo_sync::protocol::BlobQuery {
        hashes: vec![imported.hash.clone()],
    };
    let partial = t.blobs_missing(&q).unwrap().missing;
    assert_eq!(partial.len(), 1);
    assert!(
        partial[0].received > 0 && partial[0].received < bytes.len() as u64,
        "the hub kept the part that arrived: {partial:?}"
    );
    let r = l.sync(t).unwrap();
    assert_eq!(r.photos_sent, 1);
    assert!(
        r.bytes < bytes.len() as u64,
        "resumed: only the rest was sent ({} of {})",
        r.bytes,
        bytes.len()
    );
    let at_hub = c
        .hub
        .media
        .path(&imported.hash, guanmo_media::Size::Original)
        .unwrap();
    assert_eq!(
        std::fs::read(at_hub).unwrap(),
        bytes,
        "the hub has the same bytes"
    );

    // Scoring is 背靠背: the media laptop and the other scorer's laptop get neither the
    // photo's record nor its bytes.
    for i in [1, 2] {
        let (other, ot) = &c.laptops[i];
        let r = other.sync(ot).unwrap();
        assert_eq!(r.photos_received, 0, "laptop {i}");
        assert!(
            !guanmo_store_has_photo(&other.ctx, &imported.hash),
            "laptop {i}"
        );
        assert!(!other
            .media
            .has(&imported.hash, guanmo_media::Size::Original));
        let refused = ot.get_blob(&imported.hash, 0, 1024).unwrap_err();
        assert_eq!(
            refused.code,
            guanmo_sync::SyncErrorCode::BadRequest,
            "laptop {i}"
        );
    }
    // The organiser moves the scorer to the second laptop (转交): it receives the sheet with
    // its evidence, fetches the photo from the hub, and a second run moves nothing.
    let second = c.laptops[1].0.ctx.store().device_id().to_string();
    guanmo_sync::assign_scorer(&c.hub.ctx, &c.scorers[0].id, Some(&second)).unwrap();
    let (l2, t2) = &c.laptops[1];
    let mut received = 0;
    for _ in 0..3 {
        received += l2.sync(t2).unwrap().photos_received;
    }
    assert_eq!(received, 1);
    assert!(guanmo_store_has_photo(&l2.ctx, &imported.hash));
    let moved = scoring::get_sheet(&l2.ctx, &sheet.id).unwrap();
    assert_eq!(moved.evidence.len(), 1, "the sheet arrived with its photo");
    let r = l2.sync(t2).unwrap();
    assert_eq!((r.photos_received, r.photos_sent, r.bytes), (0, 0, 0));
    for (other, ot) in &c.laptops[1..] {
        other.sync(ot).unwrap();
        assert!(crate::sync::photos_as_the_hub_allows(
            &c.hub.ctx, &other.ctx
        ));
    }
}

fn guanmo_store_has_photo(ctx: &Ctx, hash: &str) -> bool {
    ctx.store()
        .read(|c| guanmo_store::photos::exists(c, hash))
        .unwrap()
}

#[test]
fn a_post_published_on_the_media_laptop_reaches_the_hubs_resident_feed_and_stream() {
    let c = Cluster::new(Faults::default(), 13);
    let (media, mt) = &c.laptops[2];
    let start = guanmo_api::feed::latest_seq(&c.hub.ctx).unwrap();
    let etag_before = guanmo_api::feed::feed_seq(&c.hub.ctx).unwrap();
    let p = guanmo_api::feed::create_draft(&media.ctx, post_input("【第1站·宜阳街道】观摩开始"))
        .unwrap();
    media.sync(mt).unwrap();
    assert!(
        guanmo_api::feed::public_feed(&c.hub.ctx, None, 20)
            .unwrap()
            .posts
            .is_empty(),
        "a draft stays off the resident page"
    );
    let p = guanmo_api::feed::publish_post(&media.ctx, &p.id, p.version).unwrap();
    media.sync(mt).unwrap();
    let feed = guanmo_api::feed::public_feed(&c.hub.ctx, None, 20).unwrap();
    assert_eq!(feed.posts.len(), 1);
    assert!(
        guanmo_api::feed::feed_seq(&c.hub.ctx).unwrap() > etag_before,
        "the feed's ETag moves"
    );
    let events = guanmo_api::feed::feed_events_since(&c.hub.ctx, start, 100).unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, guanmo_api::feed::FeedEventKind::New);

    let cur = guanmo_api::feed::get_post(&media.ctx, &p.id).unwrap();
    guanmo_api::feed::update_post(
        &media.ctx,
        &p.id,
        cur.version,
        post_input("【第1站·宜阳街道】观摩开始(更新)"),
    )
    .unwrap();
    media.sync(mt).unwrap();
    guanmo_api::feed::retract_post(&media.ctx, &p.id).unwrap();
    media.sync(mt).unwrap();
    let kinds: Vec<_> = guanmo_api::feed::feed_events_since(&c.hub.ctx, start, 100)
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    use guanmo_api::feed::FeedEventKind as K;
    assert_eq!(
        kinds,
        vec![K::Retracted, K::Retracted, K::Retracted],
        "each event carries the post as it is now: gone"
    );
    assert!(guanmo_api::feed::public_feed(&c.hub.ctx, None, 20)
        .unwrap()
        .posts
        .is_empty());
}

#[test]
fn the_organiser_resolves_a_conflict_for_the_laptops_version_and_every_replica_follows() {
    let c = Cluster::new(Faults::default(), 17);
    let (media, mt) = &c.laptops[2];
    let p = guanmo_api::feed::create_draft(&media.ctx, post_input("初稿")).unwrap();
    let p = guanmo_api::feed::publish_post(&media.ctx, &p.id, p.version).unwrap();
    c.settle();
    mt.set_cut(true);
    guanmo_api::feed::update_post(&media.ctx, &p.id, p.version, post_input("更正稿")).unwrap();
    guanmo_api::feed::retract_post(&c.hub.ctx, &p.id).unwrap();
    mt.set_cut(false);
    c.settle();
    let issue = guanmo_sync::overview(&c.hub.ctx, &c.hub.media)
        .unwrap()
        .issues
        .remove(0);
    assert_eq!(issue.code, "concurrent_edit");
    let start = guanmo_api::feed::latest_seq(&c.hub.ctx).unwrap();
    assert!(guanmo_sync::adopt_other_version(&c.hub.ctx, &issue.id).unwrap());
    assert!(
        !guanmo_sync::adopt_other_version(&c.hub.ctx, &issue.id).unwrap(),
        "a handled conflict is not adopted twice"
    );
    c.settle();
    for dev in [&c.hub, media, &c.laptops[1].0] {
        let post = guanmo_api::feed::get_post(&dev.ctx, &p.id).unwrap();
        assert_eq!(post.body, "更正稿");
        assert_eq!(serde_json::to_value(post.status).unwrap(), "published");
    }
    let events = guanmo_api::feed::feed_events_since(&c.hub.ctx, start, 10).unwrap();
    assert_eq!(
        events.len(),
        1,
        "residents see the post come back: {events:?}"
    );
    let laptop = guanmo_sync::overview(&media.ctx, &media.media).unwrap();
    assert!(
        guanmo_sync::adopt_other_version(&media.ctx, &laptop.issues[0].id).is_err(),
        "only the hub resolves"
    );
}

#[test]
fn a_replaced_laptop_hands_its_scorer_to_a_new_one_and_nothing_is_lost() {
    let c = Cluster::new(Faults::default(), 19);
    let (old, ot) = &c.laptops[0];
    let town = &enabled(&old.ctx)[4];
    let crit = criteria(&old.ctx);
    let sheet = scoring::open_sheet(&old.ctx, &c.scorers[0].id, &town.id).unwrap();
    scoring::record_mark(&old.ctx, &sheet.id, &crit[0].0, Some(1.0), String::new()).unwrap();
    old.sync(ot).unwrap();
    let old_id = old.ctx.store().device_id().to_string();
    assert!(guanmo_sync::revoke_device(&c.hub.ctx, &old_id).unwrap());

    // A spare laptop pairs and scores for the same scorer.
    let service = HubService::new(c.hub.ctx.clone(), c.hub.media.clone());
    let spare = Device::new(Role::Scorer, "备用评分电脑");
    let st = MemoryTransport::new(service, Faults::default(), 3);
    let code = guanmo_sync::new_pairing_code(&c.hub.ctx).unwrap();
    guanmo_sync::pair_with_hub(&spare.ctx, &st, "memory://hub", &code.code).unwrap();
    spare.sync(&st).unwrap();
    assert!(
        scoring::list_sheets(&spare.ctx).unwrap().is_empty(),
        "before the hand-over the spare is sent no sheet of the scorer (背靠背)"
    );

    let spare_id = spare.ctx.store().device_id().to_string();
    assert!(
        guanmo_sync::transfer_device(&c.laptops[1].0.ctx, &old_id, &spare_id).is_err(),
        "only the hub"
    );
    assert_eq!(
        guanmo_sync::transfer_device(&c.hub.ctx, &old_id, &spare_id).unwrap(),
        1
    );
    // The hand-over sends the spare the sheets it was not sent before.
    spare.sync(&st).unwrap();
    let mine = scoring::open_sheet(&spare.ctx, &c.scorers[0].id, &town.id).unwrap();
    assert_eq!(mine.id, sheet.id, "the spare has the old laptop's sheet");
    scoring::record_mark(&spare.ctx, &mine.id, &crit[1].0, Some(2.0), String::new()).unwrap();
    let s = scoring::get_sheet(&spare.ctx, &mine.id).unwrap();
    scoring::record_mark(&spare.ctx, &s.id, &crit[2].0, Some(3.0), String::new()).unwrap();
    let r = spare.sync(&st).unwrap();
    assert_eq!(r.refused_by_hub, 0, "{r:?}");
    let at_hub = scoring::get_sheet(&c.hub.ctx, &sheet.id).unwrap();
    let points: Vec<_> = at_hub.marks.iter().map(|m| m.points).collect();
    assert_eq!(
        points,
        vec![Some(1.0), Some(2.0), Some(3.0)],
        "the old mark, and both of the spare's"
    );
}

#[test]
fn laptops_learn_the_hubs_public_site_address_and_forget_it_when_the_hub_does() {
    let c = Cluster::new(Faults::default(), 41);
    let (media, t) = &c.laptops[2];
    assert_eq!(guanmo_api::site::public_site_url(&media.ctx).unwrap(), None);
    let mut s = guanmo_api::site::get_site_settings(&c.hub.ctx).unwrap();
    s.public_url = "live.example.cn".into();
    guanmo_api::site::set_site_settings(&c.hub.ctx, s.clone()).unwrap();
    media.sync(t).unwrap();
    assert_eq!(
        guanmo_api::site::public_site_url(&media.ctx)
            .unwrap()
            .as_deref(),
        Some("https://live.example.cn/"),
        "the 直播电脑 shows where residents on 4G open the site"
    );
    s.public_url = String::new();
    guanmo_api::site::set_site_settings(&c.hub.ctx, s).unwrap();
    media.sync(t).unwrap();
    assert_eq!(guanmo_api::site::public_site_url(&media.ctx).unwrap(), None);
}
