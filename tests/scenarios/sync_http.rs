//! The sync scenario over real HTTP on 127.0.0.1: the hub's peer router served by
//! `guanmo_web::serve`, three laptops (two scorers, one media) pairing with a one-time code
//! and syncing through `HttpTransport`. Random offline work (marks, a photo as evidence, a
//! published post with a photo of more than one chunk), then full sync: every replica's
//! canonical dump is the same and every photo's original is on every device. A revoked
//! laptop is turned away.

use crate::sync::Device;
use guanmo_api::{feed, photos, scoring, ApiError, ErrorCode};
use guanmo_domain::feed::PostInput;
use guanmo_domain::scoring::{Scorer, ScorerInput};
use guanmo_media::{Limits, Size};
use guanmo_sync::http::HttpTransport;
use guanmo_sync::{HubService, Role, SyncErrorCode};
use std::net::SocketAddr;

/// The hub's peer listener on a free loopback port, served by its own runtime until dropped.
struct PeerListener {
    addr: SocketAddr,
    _rt: tokio::runtime::Runtime,
}

impl PeerListener {
    fn start(service: HubService) -> PeerListener {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let addr = std_listener.local_addr().unwrap();
        let router = guanmo_web::peer_router(service);
        rt.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            // Served until the runtime is dropped with the test.
            guanmo_web::serve(listener, router, std::future::pending())
                .await
                .unwrap();
        });
        PeerListener { addr, _rt: rt }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// A deterministic stream of choices for the offline work.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A PNG of `w`×`h` noise: incompressible, so its size is about `3·w·h` bytes.
fn noise_png(w: u32, h: u32, seed: u64) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    let img = image::RgbImage::from_fn(w, h, |_, _| {
        let v = rng.next();
        image::Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

fn import_photo(dev: &Device, name: &str, bytes: &[u8]) -> String {
    let imported = dev
        .media
        .import_bytes(name, bytes, &Limits::default())
        .unwrap();
    photos::record_imported(&dev.ctx, name, &imported)
        .unwrap()
        .hash
}

fn enabled_townships(dev: &Device) -> Vec<String> {
    guanmo_api::roster::list_townships(&dev.ctx)
        .unwrap()
        .into_iter()
        .filter(|t| t.enabled)
        .map(|t| t.id)
        .collect()
}

fn criteria(dev: &Device) -> Vec<(String, f64)> {
    guanmo_api::rubric::get_rubric(&dev.ctx)
        .unwrap()
        .categories
        .iter()
        .flat_map(|c| c.criteria.iter())
        .map(|k| (k.id.clone().unwrap(), k.max_points))
        .collect()
}

struct HttpCluster {
    hub: Device,
    listener: PeerListener,
    laptops: Vec<(Device, HttpTransport)>,
    scorers: Vec<Scorer>,
}

impl HttpCluster {
    /// A hub with two scorers and every township open, serving its peer listener; two scorer
    /// laptops and a media laptop that pair over HTTP with a code each and sync once.
    fn new() -> HttpCluster {
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
        for t in enabled_townships(&hub) {
            scoring::set_scoring_open(&hub.ctx, &t, true).unwrap();
        }
        let listener = PeerListener::start(HubService::new(hub.ctx.clone(), hub.media.clone()));
        let url = listener.url();
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
            let code = guanmo_sync::new_pairing_code(&hub.ctx).unwrap();
            // The transport keeps the token pairing returns, as the in-memory one does.
            let t = HttpTransport::new(&url, None).unwrap();
            guanmo_sync::pair_with_hub(&dev.ctx, &t, &url, &code.code).unwrap();
            dev.sync(&t).unwrap();
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
        HttpCluster {
            hub,
            listener,
            laptops,
            scorers,
        }
    }

    /// Syncs every laptop in turn until a whole round moves nothing (the link is clean: a
    /// failed run fails the test).
    fn settle(&self) {
        for _round in 0..10 {
            let mut quiet = true;
            for (dev, t) in &self.laptops {
                let r = dev.sync(t).unwrap();
                if r.pushed + r.applied + r.photos_sent + r.photos_received > 0 {
                    quiet = false;
                }
            }
            if quiet {
                return;
            }
        }
        panic!("did not settle in 10 rounds");
    }

    fn devices(&self) -> impl Iterator<Item = &Device> {
        std::iter::once(&self.hub).chain(self.laptops.iter().map(|(d, _)| d))
    }
}

#[test]
fn three_laptops_converge_with_the_hub_over_http_and_a_revoked_one_is_turned_away() {
    let c = HttpCluster::new();
    let towns = enabled_townships(&c.hub);
    let crit = criteria(&c.hub);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    // Offline work on each scorer laptop: marks on a few random townships' sheets.
    let mut saved = Vec::new();
    for (i, (l, _)) in c.laptops.iter().take(2).enumerate() {
        let mut picked: Vec<&String> = Vec::new();
        while picked.len() < 3 {
            let t = &towns[rng.below(towns.len())];
            if !picked.contains(&t) {
                picked.push(t);
            }
        }
        for town in picked {
            let mut sheet = scoring::open_sheet(&l.ctx, &c.scorers[i].id, town).unwrap();
            for _ in 0..(3 + rng.below(6)) {
                let (id, max) = &crit[rng.below(crit.len())];
                let value = (*max * rng.below(5) as f64 / 4.0 * 2.0).round() / 2.0;
                sheet = scoring::record_mark(&l.ctx, &sheet.id, id, Some(value), String::new())
                    .unwrap();
            }
            l.clock.advance(chrono::Duration::minutes(2));
            saved.push(sheet.id.clone());
        }
    }
    // A photo taken as evidence (拍照留证) on the first scorer's laptop.
    let (l1, _) = &c.laptops[0];
    let evidence = import_photo(l1, "现场台账.png", &noise_png(320, 240, 7));
    let sheet = &saved[0];
    let with = photos::attach_evidence(&l1.ctx, sheet, &crit[0].0, &evidence).unwrap();
    assert_eq!(with.evidence.len(), 1);

    // A published post with a photo of more than one chunk on the media laptop.
    let (m, _) = &c.laptops[2];
    let big = noise_png(800, 600, 11);
    assert!(big.len() > (1 << 20), "the post's photo spans two chunks");
    let shot = import_photo(m, "观摩现场.png", &big);
    let draft = feed::create_draft(
        &m.ctx,
        PostInput {
            stop_label: Some("【第1站】".into()),
            township_id: Some(towns[0].clone()),
            body: "观摩团来到第一站,现场查看项目建设情况。".into(),
            photos: vec![shot.clone()],
            credit: "记者 李明 摄".into(),
        },
    )
    .unwrap();
    let post = feed::publish_post(&m.ctx, &draft.id, draft.version).unwrap();

    c.settle();

    // Scoring is 背靠背: each laptop has the hub's replicated state but for the sheets, and
    // exactly the sheets of the scorers the hub assigned to it.
    let hub_dump = crate::sync::without_sheets(&c.hub.dump());
    let assigned = guanmo_sync::scorer_assignments(&c.hub.ctx).unwrap();
    for (i, (l, _)) in c.laptops.iter().enumerate() {
        assert!(
            crate::sync::without_sheets(&l.dump()) == hub_dump,
            "laptop {i} has the hub's replicated state"
        );
        assert!(
            crate::sync::photos_as_the_hub_allows(&c.hub.ctx, &l.ctx),
            "laptop {i} holds the photos the hub lets it hold"
        );
        let evidence_held =
            crate::sync::hashes(&l.ctx, "SELECT hash FROM photos").contains(&evidence);
        assert_eq!(evidence_held, i == 0, "laptop {i} and the evidence photo");
        let mine: std::collections::BTreeSet<String> = assigned
            .iter()
            .filter(|a| a.device_id == l.ctx.store().device_id())
            .map(|a| a.scorer_id.clone())
            .collect();
        assert_eq!(
            crate::sync::sheets_of(&l.ctx, None),
            crate::sync::sheets_of(&c.hub.ctx, Some(&mine)),
            "laptop {i} holds its scorers' sheets, and only those"
        );
    }
    for id in &saved {
        let at_hub = scoring::get_sheet(&c.hub.ctx, id).unwrap();
        let mine = c
            .laptops
            .iter()
            .find_map(|(l, _)| scoring::get_sheet(&l.ctx, id).ok())
            .unwrap();
        assert_eq!(
            serde_json::to_value(&at_hub.marks).unwrap(),
            serde_json::to_value(&mine.marks).unwrap(),
            "sheet {id}"
        );
    }
    let at_hub = feed::get_post(&c.hub.ctx, &post.id).unwrap();
    assert_eq!(at_hub.photos, vec![shot.clone()]);
    // The post's photo reaches every device; the evidence only the hub (背靠背: not the
    // other scorer's laptop, not the media laptop).
    let l1_id = l1.ctx.store().device_id().to_string();
    let hub_id = c.hub.ctx.store().device_id().to_string();
    for (hash, source) in [(&evidence, l1), (&shot, m)] {
        let made = std::fs::read(source.media.path(hash, Size::Original).unwrap()).unwrap();
        for dev in c.devices() {
            let id = dev.ctx.store().device_id().to_string();
            let holds = hash == &shot || id == l1_id || id == hub_id;
            assert_eq!(
                dev.media.has(hash, Size::Original),
                holds,
                "{id} holds the original of {hash}"
            );
            if holds {
                let original = dev.media.path(hash, Size::Original).unwrap();
                assert!(
                    std::fs::read(original).unwrap() == made,
                    "the original of {hash} arrived whole"
                );
            }
        }
    }

    // The hub revokes the second scorer's laptop: its next sync is turned away with 401.
    let (l2, t2) = &c.laptops[1];
    let id = l2.ctx.store().device_id().to_string();
    assert!(guanmo_sync::revoke_device(&c.hub.ctx, &id).unwrap());
    let e = l2.sync(t2).unwrap_err();
    assert_eq!(e.code, SyncErrorCode::Unauthorized, "{e}");
    assert_eq!(ApiError::from(e).code, ErrorCode::NotPaired);
    // The others go on.
    let (l1, t1) = &c.laptops[0];
    l1.sync(t1).unwrap();
    // A made-up token is refused the same way.
    let forged = HttpTransport::new(&c.listener.url(), Some("0".repeat(64))).unwrap();
    let e = l1.sync(&forged).unwrap_err();
    assert_eq!(e.code, SyncErrorCode::Unauthorized, "{e}");
}

#[test]
fn a_hub_that_is_not_there_is_unreachable() {
    let l = Device::new(Role::Scorer, "评分电脑一");
    // Bind and drop: the port is free, nothing listens.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let t = HttpTransport::new(&format!("http://{addr}"), None).unwrap();
    let e =
        guanmo_sync::pair_with_hub(&l.ctx, &t, &format!("http://{addr}"), "123456").unwrap_err();
    assert_eq!(e.code, SyncErrorCode::Unreachable, "{e}");
}
