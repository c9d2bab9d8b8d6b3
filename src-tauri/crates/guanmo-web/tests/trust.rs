//! The security review's findings against the hub, each reproduced through the real peer
//! listener over HTTP on 127.0.0.1 (the laptops' own HTTP transport, or raw HTTP/1.1 where a
//! header matters) and shown fixed: ownership comes from the hub's rows, every applied
//! operation keeps the domain rules, pairing cannot take over a device, roles are checked on
//! push, photo metadata is set once, peers' clocks and numbers are bounded, and the listener
//! refuses other host names and floods of pairing requests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{TimeZone, Utc};
use guanmo_api::feed::{self as feed_api};
use guanmo_api::{photos, scoring, Ctx};
use guanmo_domain::feed::PostInput;
use guanmo_domain::scoring::{Scorer, ScorerInput};
use guanmo_domain::{Clock, FixedClock};
use guanmo_media::{Limits, MediaStore};
use guanmo_store::meta;
use guanmo_store::oplog::{self, Op};
use guanmo_sync::http::HttpTransport;
use guanmo_sync::protocol::{PairRequest, PullRequest, PushRequest};
use guanmo_sync::{HubService, Role, SyncErrorCode, Transport};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;

struct Node {
    ctx: Ctx,
    media: MediaStore,
    clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
}

fn node(role: Role, name: &str) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 12, 4, 0, 30, 0).unwrap(),
    ));
    let data = dir.path().join("data");
    let ctx = Ctx::open(&data, clock.clone()).unwrap();
    let media = MediaStore::new(&data).unwrap();
    guanmo_sync::set_role(&ctx, role, name).unwrap();
    Node {
        ctx,
        media,
        clock,
        _dir: dir,
    }
}

impl Node {
    fn id(&self) -> String {
        self.ctx.store().device_id().to_string()
    }
}

/// The hub serving its peer listener on a free port of 127.0.0.1 (stopped on drop).
struct Hub {
    node: Node,
    addr: SocketAddr,
    scorers: Vec<Scorer>,
    towns: Vec<String>,
    criteria: Vec<(String, f64)>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn hub_with_hosts(extra_hosts: &[&str]) -> Hub {
    let node = node(Role::Hub, "组织方主机");
    if !extra_hosts.is_empty() {
        let mut s = guanmo_api::site::get_site_settings(&node.ctx).unwrap();
        s.extra_hosts = extra_hosts.iter().map(|h| h.to_string()).collect();
        guanmo_api::site::set_site_settings(&node.ctx, s).unwrap();
    }
    let scorers: Vec<Scorer> = ["张三", "李四", "王五"]
        .iter()
        .map(|n| {
            scoring::register_scorer(
                &node.ctx,
                ScorerInput {
                    name: (*n).into(),
                    group: "市领导".into(),
                    township_id: None,
                    active: true,
                    work_unit: String::new(),
                },
            )
            .unwrap()
        })
        .collect();
    let towns: Vec<String> = guanmo_api::roster::list_townships(&node.ctx)
        .unwrap()
        .into_iter()
        .filter(|t| t.enabled)
        .take(3)
        .map(|t| t.id)
        .collect();
    for t in &towns {
        scoring::set_scoring_open(&node.ctx, t, true).unwrap();
    }
    let criteria = guanmo_api::rubric::get_rubric(&node.ctx)
        .unwrap()
        .categories
        .iter()
        .flat_map(|c| c.criteria.iter())
        .map(|k| (k.id.clone().unwrap(), k.max_points))
        .collect();
    let router = guanmo_web::peer_router(HubService::new(node.ctx.clone(), node.media.clone()));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            guanmo_web::serve(listener, router, async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
    });
    Hub {
        node,
        addr,
        scorers,
        towns,
        criteria,
        stop: Some(stop),
        thread: Some(thread),
    }
}

fn hub() -> Hub {
    hub_with_hosts(&[])
}

struct Laptop {
    node: Node,
    t: HttpTransport,
}

impl Hub {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A laptop paired over HTTP and synced once.
    fn laptop(&self, role: Role, name: &str) -> Laptop {
        let node = node(role, name);
        let code = guanmo_sync::new_pairing_code(&self.node.ctx).unwrap();
        let t = HttpTransport::new(&self.url(), None).unwrap();
        guanmo_sync::pair_with_hub(&node.ctx, &t, &self.url(), &code.code).unwrap();
        guanmo_sync::sync_once(&node.ctx, &node.media, &t, &|_| {}).unwrap();
        Laptop { node, t }
    }

    /// The organiser assigns scorer `i` to `laptop`, which then scores as them.
    fn assign(&self, i: usize, laptop: &Laptop) {
        guanmo_sync::assign_scorer(&self.node.ctx, &self.scorers[i].id, Some(&laptop.node.id()))
            .unwrap();
        scoring::set_device_scorer(&laptop.node.ctx, Some(self.scorers[i].id.clone())).unwrap();
    }

    fn standings(&self) -> String {
        serde_json::to_string(&scoring::get_standings(&self.node.ctx).expect("standings compute"))
            .unwrap()
    }

    fn issue_codes(&self, origin: &str) -> Vec<String> {
        self.node
            .ctx
            .store()
            .read(|c| {
                let mut st =
                    c.prepare("SELECT code FROM sync_issues WHERE op_origin = ?1 ORDER BY op_seq")?;
                let rows = st.query_map([origin], |r| r.get(0))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .unwrap()
    }
}

impl Laptop {
    fn sync(&self) -> guanmo_sync::SyncReport {
        guanmo_sync::sync_once(&self.node.ctx, &self.node.media, &self.t, &|_| {}).unwrap()
    }

    /// Every operation the hub relays, as this laptop may pull them.
    fn hub_log(&self) -> Vec<Op> {
        self.t
            .pull(&PullRequest {
                have: BTreeMap::new(),
                limit: 500,
            })
            .unwrap()
            .ops
    }

    /// The hub's whole log, as an attacker who copied it some other way holds it.
    fn stolen_log(&self, hub: &Hub) -> Vec<Op> {
        hub.node
            .ctx
            .store()
            .read(|c| oplog::ops_after(c, &BTreeMap::new(), 500))
            .unwrap()
    }

    /// `template` sent as this laptop's next operation, bent by `f`.
    fn push_as_own(&self, hub: &Hub, template: &Op, f: impl FnOnce(&mut Op)) -> oplog::ApplyReport {
        let me = self.node.id();
        let next = hub
            .node
            .ctx
            .store()
            .read(|c| oplog::watermark(c, &me))
            .unwrap()
            + 1;
        let mut op = template.clone();
        op.origin = me;
        op.seq = next;
        op.verdict = None;
        op.base = Some(template.id());
        // After every stamp this laptop made at the same (fixed) time: a device's clock never
        // goes back, and the hub refuses an operation that does.
        op.hlc = format!(
            "{:015}-{:06}",
            hub.node.clock.now().timestamp_millis(),
            900_000 + next
        );
        f(&mut op);
        self.t.push(&PushRequest { ops: vec![op] }).unwrap().report
    }

    /// Scores township `town` fully (each criterion `max - 1`) and submits.
    fn score_and_submit(&self, hub: &Hub, scorer: usize, town: usize) -> String {
        let ctx = &self.node.ctx;
        let mut sheet =
            scoring::open_sheet(ctx, &hub.scorers[scorer].id, &hub.towns[town]).unwrap();
        for (id, max) in &hub.criteria {
            sheet =
                scoring::record_mark(ctx, &sheet.id, id, Some(max - 1.0), String::new()).unwrap();
        }
        scoring::submit_sheet(ctx, &sheet.id, sheet.version).unwrap();
        sheet.id
    }
}

fn head(op: &mut Op, table: &str) -> serde_json::Map<String, Value> {
    op.payload[table][0].as_object().cloned().unwrap()
}

fn set_head(op: &mut Op, table: &str, row: serde_json::Map<String, Value>) {
    op.payload[table][0] = Value::Object(row);
}

fn sheet_op<'a>(log: &'a [Op], sheet_id: &str) -> &'a Op {
    log.iter()
        .rev()
        .find(|o| o.kind == "sheet" && o.entity_id == sheet_id)
        .unwrap()
}

// ---------------------------------------------------------------------------------------
// 1. Sheet ownership comes from the hub's rows, never from the payload.

#[test]
fn finding_1_no_laptop_rewrites_or_claims_a_scorers_sheets() {
    let hub = hub();
    let a = hub.laptop(Role::Scorer, "评分电脑一");
    hub.assign(0, &a);
    let sheet = a.score_and_submit(&hub, 0, 0);
    a.sync();
    let before = hub.standings();
    let marks_before = scoring::get_sheet(&hub.node.ctx, &sheet).unwrap().marks;
    assert!(marks_before.iter().all(|m| m.points.is_some()));

    // A media laptop re-sends 张三's submitted sheet as 李四's with no marks (the review's
    // probe): refused for its role, and 张三's marks stay.
    let m = hub.laptop(Role::Media, "直播电脑");
    // 背靠背: what the media laptop may pull holds no sheet; the attacker copied the log.
    let pulled = m.hub_log();
    assert!(pulled.iter().any(|o| o.kind == "withheld"));
    assert!(pulled.iter().all(|o| o.kind != "sheet"));
    let log = m.stolen_log(&hub);
    let r = m.push_as_own(&hub, sheet_op(&log, &sheet), |op| {
        let mut row = head(op, "sheets");
        row.insert("scorer_id".into(), json!(hub.scorers[1].id));
        set_head(op, "sheets", row);
        op.payload["marks"] = json!([]);
    });
    assert_eq!(r.applied, 0);
    assert_eq!(r.refused[0].code, "wrong_role");
    // A scorer's laptop doing the same: the sheet's scorer is the stored one.
    let x = hub.laptop(Role::Scorer, "来路不明的评分电脑");
    let r = x.push_as_own(&hub, sheet_op(&log, &sheet), |op| {
        let mut row = head(op, "sheets");
        row.insert("scorer_id".into(), json!(hub.scorers[1].id));
        set_head(op, "sheets", row);
        op.payload["marks"] = json!([]);
    });
    assert_eq!(r.refused[0].code, "immutable_field");
    let r = x.push_as_own(&hub, sheet_op(&log, &sheet), |op| {
        op.payload["marks"] = json!([])
    });
    assert_eq!(
        r.refused[0].code, "not_owner",
        "张三 is scored on 评分电脑一"
    );
    assert_eq!(
        scoring::get_sheet(&hub.node.ctx, &sheet).unwrap().marks,
        marks_before
    );
    assert_eq!(hub.standings(), before);

    // It "claims" 王五 first by writing a sheet for them: nothing is bound by a write; the
    // sheet waits for the organiser, who assigns 王五 to their real laptop.
    let claim = {
        let mut op = sheet_op(&log, &sheet).clone();
        let id = guanmo_domain::ids::new_id();
        op.entity_id = id.clone();
        let mut row = head(&mut op, "sheets");
        row.insert("id".into(), json!(id));
        row.insert("scorer_id".into(), json!(hub.scorers[2].id));
        row.insert("township_id".into(), json!(hub.towns[1]));
        row.insert("status".into(), json!("draft"));
        row.insert("submitted_at".into(), Value::Null);
        set_head(&mut op, "sheets", row);
        op.payload["marks"] = json!([]);
        op.payload["sheet_evidence"] = json!([]);
        op.payload["adjustment_marks"] = json!([]);
        op
    };
    let r = x.push_as_own(&hub, &claim, |op| op.base = None);
    assert_eq!((r.applied, r.held), (0, 1), "{r:?}");
    let c = hub.laptop(Role::Scorer, "评分电脑三");
    hub.assign(2, &c);
    let wang = c.score_and_submit(&hub, 2, 1);
    let r = c.sync();
    assert_eq!(r.refused_by_hub, 0, "{r:?}");
    let at_hub = scoring::get_sheet(&hub.node.ctx, &wang).unwrap();
    assert_eq!(at_hub.scorer_id, hub.scorers[2].id);
    assert!(at_hub.marks.iter().all(|m| m.points.is_some()));
    // The claim, released by the assignment, is refused: 王五 is scored on 评分电脑三.
    assert!(
        hub.issue_codes(&x.node.id())
            .contains(&"not_owner".to_string()),
        "{:?}",
        hub.issue_codes(&x.node.id())
    );
    assert_eq!(
        guanmo_sync::scorer_assignments(&hub.node.ctx)
            .unwrap()
            .iter()
            .map(|a| (a.scorer_id.clone(), a.device_id.clone()))
            .collect::<Vec<_>>()
            .len(),
        2
    );
}

// ---------------------------------------------------------------------------------------
// 2. Domain rules on synced writes; sums that cannot overflow the standings.

#[test]
fn finding_2_a_mark_past_the_criterion_maximum_is_refused_and_standings_compute() {
    let hub = hub();
    let a = hub.laptop(Role::Scorer, "评分电脑一");
    hub.assign(0, &a);
    let sheet = scoring::open_sheet(&a.node.ctx, &hub.scorers[0].id, &hub.towns[0]).unwrap();
    let (crit, max) = hub.criteria[0].clone();
    scoring::record_mark(&a.node.ctx, &sheet.id, &crit, Some(max), String::new()).unwrap();
    a.sync();
    let before = hub.standings();
    let log = a.stolen_log(&hub);
    let set_mark = |op: &mut Op, v: &Value| {
        for m in op.payload["marks"].as_array_mut().unwrap() {
            if m["criterion_id"] == json!(crit) {
                m["tenths"] = v.clone();
            }
        }
    };
    for bad in [
        json!(2_147_483_647_i64),
        json!(99_999_999_999_i64),
        json!(-1),
        json!(2.5),
    ] {
        let r = a.push_as_own(&hub, sheet_op(&log, &sheet.id), |op| set_mark(op, &bad));
        assert_eq!(r.applied, 0, "{bad}");
        let code = &r.refused[0].code;
        assert!(
            code == "out_of_range" || code == "bad_value",
            "{bad}: {code}"
        );
    }
    // One tenth past the maximum (8.0 → 81 tenths) is refused too.
    let r = a.push_as_own(&hub, sheet_op(&log, &sheet.id), |op| {
        set_mark(op, &json!((max * 10.0) as i64 + 1));
    });
    assert_eq!(r.refused[0].code, "out_of_range");
    assert_eq!(hub.standings(), before);
    let at_hub = scoring::get_sheet(&hub.node.ctx, &sheet.id).unwrap();
    let mark = at_hub
        .marks
        .iter()
        .find(|m| m.criterion_id == crit)
        .unwrap();
    assert_eq!(mark.points, Some(max));
}

// ---------------------------------------------------------------------------------------
// 3. Pairing cannot take over a device; a revoked device stays revoked.

fn raw_pair(hub: &Hub, device_id: &str, role: &str) -> (u16, Value) {
    let code = guanmo_sync::new_pairing_code(&hub.node.ctx).unwrap().code;
    let body = json!({
        "code": code,
        "device_id": device_id,
        "name": "冒名的电脑",
        "role": role,
        "public_key": "cd".repeat(32),
    });
    let (status, body) = raw(
        hub.addr,
        "POST",
        "/peer/v1/pair",
        &hub.addr.to_string(),
        Some(&body),
    );
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[test]
fn finding_3_pairing_never_takes_over_a_known_or_revoked_device() {
    let hub = hub();
    let a = hub.laptop(Role::Scorer, "评分电脑一");
    let b = hub.laptop(Role::Scorer, "评分电脑二");
    // Someone with a code claims 评分电脑一's id with their own key.
    let (status, body) = raw_pair(&hub, &a.node.id(), "media");
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["code"], "pairing_refused");
    // 评分电脑一 still syncs with its token; its key and role are unchanged.
    a.sync();
    let (role, key): (String, String) = hub
        .node
        .ctx
        .store()
        .read(|c| {
            Ok(c.query_row(
                "SELECT role, public_key FROM devices WHERE id = ?1",
                [a.node.id()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .unwrap();
    assert_eq!(role, "scorer");
    assert_eq!(
        key,
        guanmo_sync::device_identity(&a.node.ctx)
            .unwrap()
            .public_key_hex()
    );
    // 评分电脑一 itself pairs again (e.g. after the port changed): its request is signed with
    // the key it paired with.
    let code = guanmo_sync::new_pairing_code(&hub.node.ctx).unwrap();
    let fresh = HttpTransport::new(&hub.url(), None).unwrap();
    guanmo_sync::pair_with_hub(&a.node.ctx, &fresh, &hub.url(), &code.code).unwrap();
    // A revoked device stays revoked, whoever asks.
    assert!(guanmo_sync::revoke_device(&hub.node.ctx, &b.node.id()).unwrap());
    let (status, _) = raw_pair(&hub, &b.node.id(), "scorer");
    assert_eq!(status, 403);
    let code = guanmo_sync::new_pairing_code(&hub.node.ctx).unwrap();
    let e = guanmo_sync::pair_with_hub(
        &b.node.ctx,
        &HttpTransport::new(&hub.url(), None).unwrap(),
        &hub.url(),
        &code.code,
    )
    .unwrap_err();
    assert_eq!(e.code, SyncErrorCode::PairingRefused, "{e}");
    let revoked: Option<String> = hub
        .node
        .ctx
        .store()
        .read(|c| {
            Ok(c.query_row(
                "SELECT revoked_at FROM devices WHERE id = ?1",
                [b.node.id()],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert!(revoked.is_some());
    // The organiser may let a known device pair once with a new key.
    assert!(guanmo_sync::allow_repair(&hub.node.ctx, &a.node.id()).unwrap());
    let (status, body) = raw_pair(&hub, &a.node.id(), "scorer");
    assert_eq!(status, 200, "{body}");
    let (status, _) = raw_pair(&hub, &a.node.id(), "scorer");
    assert_eq!(status, 403, "once");
}

// ---------------------------------------------------------------------------------------
// 4. Roles on push: a scorer's laptop never publishes, no laptop pins.

#[test]
fn finding_4_a_scorers_laptop_cannot_publish_and_no_laptop_pins() {
    let hub = hub();
    let own = feed_api::create_draft(
        &hub.node.ctx,
        PostInput {
            body: "观摩会开幕".into(),
            credit: "组织方".into(),
            ..PostInput::default()
        },
    )
    .unwrap();
    let own = feed_api::publish_post(&hub.node.ctx, &own.id, own.version).unwrap();
    feed_api::pin_post(&hub.node.ctx, &own.id).unwrap();
    let m = hub.laptop(Role::Media, "直播电脑");
    let post = feed_api::create_draft(
        &m.node.ctx,
        PostInput {
            body: "第一站".into(),
            credit: "记者".into(),
            ..PostInput::default()
        },
    )
    .unwrap();
    feed_api::publish_post(&m.node.ctx, &post.id, post.version).unwrap();
    m.sync();
    let s = hub.laptop(Role::Scorer, "评分电脑一");
    let log = s.stolen_log(&hub);
    let template = log
        .iter()
        .rev()
        .find(|o| o.kind == "post" && o.entity_id == post.id)
        .unwrap()
        .clone();
    let pinned_new = |op: &mut Op| {
        let id = guanmo_domain::ids::new_id();
        op.entity_id = id.clone();
        let mut row = head(op, "posts");
        row.insert("id".into(), json!(id));
        row.insert("pinned".into(), json!(1));
        set_head(op, "posts", row);
        op.base = None;
    };
    let r = s.push_as_own(&hub, &template, pinned_new);
    assert_eq!(r.refused[0].code, "wrong_role");
    let r = m.push_as_own(&hub, &template, pinned_new);
    assert_eq!(r.refused[0].code, "hub_only", "only the hub pins");
    // Its own post, pinned by the media laptop: refused as well.
    let r = m.push_as_own(&hub, &template, |op| {
        let mut row = head(op, "posts");
        row.insert("pinned".into(), json!(1));
        set_head(op, "posts", row);
    });
    assert_eq!(r.refused[0].code, "hub_only");
    let feed = feed_api::public_feed(&hub.node.ctx, None, 20).unwrap();
    assert_eq!(feed.pinned.map(|p| p.id), Some(own.id.clone()));
    assert!(
        feed.posts.iter().all(|p| p.id == post.id || p.id == own.id),
        "no post of the scorer's laptop"
    );
}

// ---------------------------------------------------------------------------------------
// 5. Photo metadata is set once.

fn jpeg(seed: u8) -> Vec<u8> {
    let (w, h) = (64usize, 48usize);
    let px: Vec<u8> = (0..w * h)
        .flat_map(|i| [(i % w * 3) as u8, (i / w * 5) as u8 ^ seed, seed])
        .collect();
    let img = image::RgbImage::from_raw(w as u32, h as u32, px).unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

#[test]
fn finding_5_a_second_laptop_cannot_replace_a_photos_metadata() {
    let hub = hub();
    let a = hub.laptop(Role::Scorer, "评分电脑一");
    let img = a
        .node
        .media
        .import_bytes("IMG_0001.PNG", &jpeg(3), &Limits::default())
        .unwrap();
    photos::record_imported(&a.node.ctx, "IMG_0001.PNG", &img).unwrap();
    a.sync();
    let before: Value = hub
        .node
        .ctx
        .store()
        .read(|c| oplog::snapshot(c, oplog::Kind::Photo, &img.hash))
        .unwrap();
    let m = hub.laptop(Role::Media, "直播电脑");
    let log = m.stolen_log(&hub);
    let template = log.iter().find(|o| o.kind == "photo").unwrap();
    let r = m.push_as_own(&hub, template, |op| {
        let mut row = head(op, "photos");
        row.insert("gps_lat".into(), json!(39.9));
        row.insert("gps_lon".into(), json!(116.4));
        row.insert("camera".into(), json!("伪造"));
        row.insert("imported_at".into(), json!("2000-01-01T00:00:00.000Z"));
        set_head(op, "photos", row);
    });
    assert_eq!((r.applied, r.superseded), (0, 1), "{r:?}");
    let after: Value = hub
        .node
        .ctx
        .store()
        .read(|c| oplog::snapshot(c, oplog::Kind::Photo, &img.hash))
        .unwrap();
    assert_eq!(after, before);
    // The other laptops follow the hub: 评分电脑一 keeps its own metadata after a pull.
    a.sync();
    let on_a: Value = a
        .node
        .ctx
        .store()
        .read(|c| oplog::snapshot(c, oplog::Kind::Photo, &img.hash))
        .unwrap();
    assert_eq!(on_a, before);
}

// ---------------------------------------------------------------------------------------
// 7. Bounded inputs: clocks, numbers, pairing attempts, Host.

#[test]
fn finding_7_far_clocks_and_far_numbers_are_refused_and_listed() {
    let hub = hub();
    let a = hub.laptop(Role::Scorer, "评分电脑一");
    hub.assign(0, &a);
    let sheet = scoring::open_sheet(&a.node.ctx, &hub.scorers[0].id, &hub.towns[0]).unwrap();
    scoring::record_mark(
        &a.node.ctx,
        &sheet.id,
        &hub.criteria[0].0,
        Some(1.0),
        String::new(),
    )
    .unwrap();
    a.sync();
    let log = a.stolen_log(&hub);
    let r = a.push_as_own(&hub, sheet_op(&log, &sheet.id), |op| {
        op.hlc = "999999999999999-000000".into();
    });
    assert_eq!(r.refused[0].code, "clock_ahead");
    let hlc = hub
        .node
        .ctx
        .store()
        .read(|c| meta::get(c, "hlc_last"))
        .unwrap()
        .unwrap();
    assert!(
        hlc.as_str() < "002000000000000",
        "the hub's clock was not pinned: {hlc}"
    );
    let r = a.push_as_own(&hub, sheet_op(&log, &sheet.id), |op| op.seq += 1_000_000);
    assert_eq!(r.refused[0].code, "seq_too_far");
    assert_eq!(
        hub.issue_codes(&a.node.id()),
        vec!["clock_ahead".to_string(), "seq_too_far".to_string()]
    );
}

/// A bare HTTP/1.1 request with this `Host`; the status and the body.
fn raw(
    addr: SocketAddr,
    method: &str,
    path: &str,
    host: &str,
    body: Option<&Value>,
) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn finding_7_the_listener_answers_only_to_its_own_names() {
    let hub = hub_with_hosts(&["live.example.cn"]);
    let port = hub.addr.port();
    let pull = json!({ "have": {}, "limit": 1 });
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
        format!("live.example.cn:{port}"),
        "192.168.1.20".to_string(),
    ] {
        let (status, body) = raw(hub.addr, "POST", "/peer/v1/pull", &host, Some(&pull));
        assert_eq!(status, 401, "{host}: reaches the routes (no token): {body}");
    }
    for host in [
        format!("evil.example.com:{port}"),
        "attacker.test".to_string(),
    ] {
        let (status, body) = raw(hub.addr, "POST", "/peer/v1/pull", &host, Some(&pull));
        assert_eq!(status, 421, "{host}: {body}");
        let (status, _) = raw(hub.addr, "POST", "/peer/v1/pair", &host, Some(&json!({})));
        assert_eq!(status, 421, "{host}: pairing too");
    }
}

#[test]
fn finding_7_wrong_codes_from_one_address_do_not_spoil_the_code_for_others() {
    let hub = hub();
    let service = HubService::new(hub.node.ctx.clone(), hub.node.media.clone());
    let code = guanmo_sync::new_pairing_code(&hub.node.ctx).unwrap().code;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let req = |code: &str, id: &str| PairRequest {
        code: code.into(),
        device_id: id.into(),
        name: "评分电脑".into(),
        role: Role::Scorer,
        public_key: "ab".repeat(32),
        signature: None,
    };
    for _ in 0..guanmo_sync::PAIRING_TRIES {
        let e = service
            .pair(&req(wrong, &guanmo_domain::ids::new_id()), "203.0.113.7")
            .unwrap_err();
        assert_eq!(e.code, SyncErrorCode::PairingRefused);
    }
    // That address is done with this code …
    let e = service
        .pair(&req(&code, &guanmo_domain::ids::new_id()), "203.0.113.7")
        .unwrap_err();
    assert!(e.to_string().contains("from this address"), "{e}");
    // … the laptop at another address pairs with it.
    service
        .pair(&req(&code, &guanmo_domain::ids::new_id()), "192.168.1.31")
        .unwrap();
    // Over HTTP, one address may not flood the pairing route.
    let mut statuses = Vec::new();
    for _ in 0..12 {
        let body = json!({
            "code": wrong, "device_id": guanmo_domain::ids::new_id(), "name": "x",
            "role": "scorer", "public_key": "ab".repeat(32),
        });
        statuses.push(
            raw(
                hub.addr,
                "POST",
                "/peer/v1/pair",
                &hub.addr.to_string(),
                Some(&body),
            )
            .0,
        );
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        2,
        "{statuses:?}"
    );
}
