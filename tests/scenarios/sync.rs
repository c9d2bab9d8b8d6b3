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

    pub fn converged(&self) -> bool {
        let d = self.hub.dump();
        self.laptops.iter().all(|(l, _)| l.dump() == d)
    }
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
    // A laptop renames a township locally: the hub refuses the operation (roster is the hub's).
    let town = enabled(&l1.ctx)[0].clone();
    let mut input: guanmo_domain::roster::TownshipInput =
        serde_json::from_value(serde_json::to_value(&town).unwrap()).unwrap();
    input.note = "laptop edit".into();
    guanmo_api::roster::update_township(&l1.ctx, &town.id, town.version, input).unwrap();
    let r = l1.sync(t1).unwrap();
    assert_eq!(r.refused_by_hub, 1, "{r:?}");
    let issues = guanmo_sync::overview(&c.hub.ctx, &c.hub.media)
        .unwrap()
        .issues;
    assert!(issues.iter().any(|i| i.code == "hub_only"), "{issues:?}");
    assert_eq!(enabled(&c.hub.ctx)[0].note, town.note, "nothing applied");

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
