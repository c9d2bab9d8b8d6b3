//! A hostile paired device against the hub (issue: "the hub trusts nothing a laptop sends").
//! Two honest scorer laptops (each assigned its scorer by the organiser) and an honest media
//! laptop have scored, published and synced; a fourth paired device, a scorer's or a media
//! laptop, then pushes random mutations of the valid operations it pulled: other scorers'
//! sheets, other devices' posts and photos, out-of-range and non-integer marks, kinds its role
//! may not send, far clocks, gaps, replays, extra tables and huge payloads. Invariants: no
//! record that existed changes, the hub-owned tables do not change, nothing is pinned or
//! unpinned, the standings compute and stay the same, every refusal is listed at the hub with
//! its reason, and the honest laptops still converge with the hub.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, TimeZone, Utc};
use guanmo_api::feed::{self as feed_api};
use guanmo_api::{photos, scoring, Ctx};
use guanmo_domain::feed::PostInput;
use guanmo_domain::scoring::{Scorer, ScorerInput};
use guanmo_domain::{Clock, FixedClock};
use guanmo_media::{Limits, MediaStore};
use guanmo_store::meta;
use guanmo_store::oplog::{self, Kind, Op, OpRef};
use guanmo_sync::memory::{Faults, MemoryTransport};
use guanmo_sync::protocol::{PullRequest, PushRequest};
use guanmo_sync::{HubService, Role, SyncErrorCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

struct Device {
    ctx: Ctx,
    media: MediaStore,
    clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
}

impl Device {
    fn new(role: Role, name: &str) -> Device {
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

    fn id(&self) -> String {
        self.ctx.store().device_id().to_string()
    }

    fn dump(&self) -> String {
        self.ctx.store().read(oplog::canonical_dump).unwrap()
    }

    fn sync(&self, t: &MemoryTransport) {
        guanmo_sync::sync_once(&self.ctx, &self.media, t, &|_| {}).unwrap();
    }
}

fn jpeg(seed: u8) -> Vec<u8> {
    let (w, h) = (64usize, 48usize);
    let px: Vec<u8> = (0..w * h)
        .flat_map(|i| [(i % w * 3) as u8, (i / w * 5) as u8 ^ seed, seed])
        .collect();
    let image = turbojpeg::Image {
        pixels: px.as_slice(),
        width: w,
        pitch: w * 3,
        height: h,
        format: turbojpeg::PixelFormat::RGB,
    };
    turbojpeg::compress(image, 85, turbojpeg::Subsamp::Sub2x2)
        .unwrap()
        .to_vec()
}

struct World {
    hub: Device,
    service: HubService,
    /// Two scorer laptops and the media laptop, with their links.
    honest: Vec<(Device, MemoryTransport)>,
    scorers: Vec<Scorer>,
    hostile: Device,
    hostile_token: String,
}

fn world(hostile_role: Role) -> World {
    let hub = Device::new(Role::Hub, "组织方主机");
    let scorers: Vec<Scorer> = ["张三", "李四", "王五"]
        .iter()
        .map(|n| {
            scoring::register_scorer(
                &hub.ctx,
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
    let towns: Vec<_> = guanmo_api::roster::list_townships(&hub.ctx)
        .unwrap()
        .into_iter()
        .filter(|t| t.enabled)
        .take(3)
        .collect();
    for t in &towns {
        scoring::set_scoring_open(&hub.ctx, &t.id, true).unwrap();
    }
    let service = HubService::new(hub.ctx.clone(), hub.media.clone());
    let mut honest = Vec::new();
    for (i, (role, name)) in [
        (Role::Scorer, "评分电脑一"),
        (Role::Scorer, "评分电脑二"),
        (Role::Media, "直播电脑"),
    ]
    .into_iter()
    .enumerate()
    {
        let dev = Device::new(role, name);
        let t = MemoryTransport::new(service.clone(), Faults::default(), 1 + i as u64);
        let code = guanmo_sync::new_pairing_code(&hub.ctx).unwrap();
        guanmo_sync::pair_with_hub(&dev.ctx, &t, "memory://hub", &code.code).unwrap();
        if i < 2 {
            guanmo_sync::assign_scorer(&hub.ctx, &scorers[i].id, Some(&dev.id())).unwrap();
        }
        dev.sync(&t);
        honest.push((dev, t));
    }
    // Honest work: 张三 submits a full sheet with a photo as evidence, 李四 has a draft, the
    // media laptop publishes a post with a photo; the hub pins its own post.
    let criteria: Vec<(String, f64)> = guanmo_api::rubric::get_rubric(&hub.ctx)
        .unwrap()
        .categories
        .iter()
        .flat_map(|c| c.criteria.iter())
        .map(|k| (k.id.clone().unwrap(), k.max_points))
        .collect();
    {
        let (a, _) = &honest[0];
        scoring::set_device_scorer(&a.ctx, Some(scorers[0].id.clone())).unwrap();
        let mut sheet = scoring::open_sheet(&a.ctx, &scorers[0].id, &towns[0].id).unwrap();
        for (id, max) in &criteria {
            sheet =
                scoring::record_mark(&a.ctx, &sheet.id, id, Some(max - 1.0), "好".into()).unwrap();
        }
        let img = a
            .media
            .import_bytes("IMG_1.JPG", &jpeg(1), &Limits::default())
            .unwrap();
        photos::record_imported(&a.ctx, "IMG_1.JPG", &img).unwrap();
        let sheet = photos::attach_evidence(&a.ctx, &sheet.id, &criteria[0].0, &img.hash).unwrap();
        scoring::submit_sheet(&a.ctx, &sheet.id, sheet.version).unwrap();
    }
    {
        let (b, _) = &honest[1];
        scoring::set_device_scorer(&b.ctx, Some(scorers[1].id.clone())).unwrap();
        let sheet = scoring::open_sheet(&b.ctx, &scorers[1].id, &towns[1].id).unwrap();
        scoring::record_mark(&b.ctx, &sheet.id, &criteria[1].0, Some(1.5), String::new()).unwrap();
    }
    {
        let (m, _) = &honest[2];
        let img = m
            .media
            .import_bytes("IMG_2.JPG", &jpeg(2), &Limits::default())
            .unwrap();
        photos::record_imported(&m.ctx, "IMG_2.JPG", &img).unwrap();
        let post = feed_api::create_draft(
            &m.ctx,
            PostInput {
                body: "第一站:宜阳街道".into(),
                photos: vec![img.hash.clone()],
                credit: "记者 李明 摄".into(),
                ..PostInput::default()
            },
        )
        .unwrap();
        feed_api::publish_post(&m.ctx, &post.id, post.version).unwrap();
    }
    let own = feed_api::create_draft(
        &hub.ctx,
        PostInput {
            body: "观摩会开幕".into(),
            credit: "组织方".into(),
            ..PostInput::default()
        },
    )
    .unwrap();
    let own = feed_api::publish_post(&hub.ctx, &own.id, own.version).unwrap();
    feed_api::pin_post(&hub.ctx, &own.id).unwrap();
    for _ in 0..2 {
        for (d, t) in &honest {
            d.sync(t);
        }
    }

    let hostile = Device::new(hostile_role, "伪装的电脑");
    let t = MemoryTransport::new(service.clone(), Faults::default(), 99);
    let code = guanmo_sync::new_pairing_code(&hub.ctx).unwrap();
    guanmo_sync::pair_with_hub(&hostile.ctx, &t, "memory://hub", &code.code).unwrap();
    let hostile_token = hostile
        .ctx
        .store()
        .read(|c| meta::get(c, "hub_token"))
        .unwrap()
        .unwrap();
    World {
        hub,
        service,
        honest,
        scorers,
        hostile,
        hostile_token,
    }
}

/// How the hostile device bends a valid operation it pulled.
#[derive(Debug, Clone)]
enum Mutation {
    /// Re-sends the operation as its own, unchanged.
    Resend,
    /// A sheet for another scorer (its marks emptied), as in the security review.
    RetargetScorer(usize),
    /// One mark set to a value a local write refuses.
    BadMark(Value),
    /// Another kind's name.
    WrongKind(usize),
    /// A clock this far ahead (ms), or the review's `999999999999999`.
    FarClock(Option<i64>),
    /// A sequence number this far past the next one.
    Gap(i64),
    /// Pins (and publishes) a post.
    Pin,
    /// A post turned back into a draft.
    Unpublish,
    /// A copy under a new id (a new record).
    NewId,
    /// A text column made huge.
    Huge,
    /// Forged photo metadata.
    ForgePhoto,
    /// A table the kind does not have.
    ExtraTable,
    /// A sheet for the unassigned scorer.
    UnassignedSheet,
    /// An operation numbered like the previous one (a replay of a number).
    ReplaySeq,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::Resend),
        (0usize..3).prop_map(Mutation::RetargetScorer),
        prop_oneof![
            Just(json!(2_147_483_647_i64)),
            Just(json!(9_000_000_000_000_i64)),
            Just(json!(-5)),
            Just(json!(81)),
            Just(json!(3.5)),
            Just(json!("80")),
        ]
        .prop_map(Mutation::BadMark),
        (0usize..9).prop_map(Mutation::WrongKind),
        prop_oneof![
            Just(None),
            (2i64 * 86_400_000..400 * 86_400_000).prop_map(Some)
        ]
        .prop_map(Mutation::FarClock),
        prop_oneof![2i64..10, 2_000i64..1_000_000].prop_map(Mutation::Gap),
        Just(Mutation::Pin),
        Just(Mutation::Unpublish),
        Just(Mutation::NewId),
        Just(Mutation::Huge),
        Just(Mutation::ForgePhoto),
        Just(Mutation::ExtraTable),
        Just(Mutation::UnassignedSheet),
        Just(Mutation::ReplaySeq),
    ]
}

fn kinds_for(m: &Mutation) -> &'static [&'static str] {
    match m {
        Mutation::RetargetScorer(_) | Mutation::BadMark(_) | Mutation::UnassignedSheet => {
            &["sheet"]
        }
        Mutation::Pin | Mutation::Unpublish => &["post"],
        Mutation::ForgePhoto => &["photo"],
        _ => &[
            "sheet",
            "post",
            "photo",
            "roster",
            "rubric",
            "scorer",
            "scoring_state",
        ],
    }
}

fn head_row<'a>(op: &'a mut Op, table: &str) -> Option<&'a mut serde_json::Map<String, Value>> {
    op.payload
        .get_mut(table)
        .and_then(|r| r.get_mut(0))
        .and_then(Value::as_object_mut)
}

/// The hostile operation for `m` built on `template`.
fn bend(w: &World, template: &Op, m: &Mutation, next_seq: i64, last_seq: i64) -> Op {
    let mut op = template.clone();
    op.origin = w.hostile.id();
    op.seq = next_seq;
    op.verdict = None;
    op.base = Some(template.id());
    op.actor = "伪装".into();
    let now = w.hub.clock.now().timestamp_millis();
    op.hlc = format!("{now:015}-000000");
    match m {
        Mutation::Resend => {}
        Mutation::RetargetScorer(i) => {
            if let Some(row) = head_row(&mut op, "sheets") {
                row.insert("scorer_id".into(), json!(w.scorers[*i].id));
            }
            op.payload["marks"] = json!([]);
        }
        Mutation::BadMark(v) => {
            if let Some(first) = op
                .payload
                .get_mut("marks")
                .and_then(|r| r.get_mut(0))
                .and_then(Value::as_object_mut)
            {
                first.insert("tenths".into(), v.clone());
            }
        }
        Mutation::WrongKind(i) => {
            op.kind = Kind::ALL
                .get(*i)
                .map_or("bogus".to_string(), |k| k.as_str().to_string());
        }
        Mutation::FarClock(ahead) => {
            op.hlc = match ahead {
                Some(ms) => format!("{:015}-000000", now + ms),
                None => "999999999999999-000000".into(),
            };
        }
        Mutation::Gap(n) => op.seq = next_seq + n,
        Mutation::Pin => {
            if let Some(row) = head_row(&mut op, "posts") {
                row.insert("pinned".into(), json!(1));
                row.insert("status".into(), json!("published"));
                row.insert("published_at".into(), json!("2026-12-04T00:31:00.000Z"));
            }
        }
        Mutation::Unpublish => {
            if let Some(row) = head_row(&mut op, "posts") {
                row.insert("status".into(), json!("draft"));
                row.insert("pinned".into(), json!(0));
            }
        }
        Mutation::NewId => {
            let id = guanmo_domain::ids::new_id();
            op.entity_id = id.clone();
            let scope = match op.kind.as_str() {
                "sheet" => Some((
                    "sheets",
                    "sheet_id",
                    &["marks", "adjustment_marks", "sheet_evidence"][..],
                )),
                "post" => Some(("posts", "post_id", &["post_photos"][..])),
                _ => None,
            };
            if let Some((head, fk, children)) = scope {
                if let Some(row) = head_row(&mut op, head) {
                    row.insert("id".into(), json!(id));
                    row.insert("pinned".into(), json!(0));
                }
                for c in children {
                    if let Some(rows) = op.payload.get_mut(*c).and_then(Value::as_array_mut) {
                        for r in rows.iter_mut().filter_map(Value::as_object_mut) {
                            r.insert((*fk).into(), json!(id));
                        }
                    }
                }
            }
            if let Some(row) = head_row(&mut op, "posts") {
                row.remove("pinned");
                row.insert("pinned".into(), json!(0));
            }
        }
        Mutation::Huge => {
            let big = "长".repeat(30_000);
            for table in ["posts", "sheets", "photos", "scorers", "townships"] {
                if let Some(row) = head_row(&mut op, table) {
                    for col in ["body", "comment", "file_name", "name", "note"] {
                        if row.contains_key(col) {
                            row.insert(col.into(), json!(big));
                        }
                    }
                }
            }
        }
        Mutation::ForgePhoto => {
            if let Some(row) = head_row(&mut op, "photos") {
                row.insert("gps_lat".into(), json!(39.9));
                row.insert("gps_lon".into(), json!(116.4));
                row.insert("camera".into(), json!("伪造的相机"));
                row.insert("imported_at".into(), json!("2000-01-01T00:00:00.000Z"));
            }
        }
        Mutation::ExtraTable => {
            op.payload["devices"] = json!([{ "id": "x" }]);
        }
        Mutation::UnassignedSheet => {
            let id = guanmo_domain::ids::new_id();
            op.entity_id = id.clone();
            if let Some(row) = head_row(&mut op, "sheets") {
                row.insert("id".into(), json!(id));
                row.insert("scorer_id".into(), json!(w.scorers[2].id));
                row.insert("status".into(), json!("draft"));
            }
            for c in ["marks", "adjustment_marks", "sheet_evidence"] {
                if let Some(rows) = op.payload.get_mut(c).and_then(Value::as_array_mut) {
                    for r in rows.iter_mut().filter_map(Value::as_object_mut) {
                        r.insert("sheet_id".into(), json!(id));
                    }
                }
            }
        }
        Mutation::ReplaySeq => op.seq = last_seq.max(1),
    }
    op
}

/// Every record that existed, as the hub holds it, and the hub-owned tables.
fn protected(hub: &Device, records: &[(Kind, String)]) -> BTreeMap<String, Value> {
    hub.ctx
        .store()
        .read(|c| {
            let mut out = BTreeMap::new();
            for (kind, id) in records {
                out.insert(
                    format!("{}/{id}", kind.as_str()),
                    oplog::snapshot(c, *kind, id)?,
                );
            }
            // The hub-owned tables come first in the canonical dump, up to the sheets.
            let dump = oplog::canonical_dump(c)?;
            let hub_owned = dump.split("\nsheets\n").next().unwrap_or_default();
            out.insert("hub_owned".into(), json!(hub_owned));
            let pins: Vec<String> = c
                .prepare("SELECT id FROM posts WHERE pinned = 1")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            out.insert("pinned".into(), json!(pins));
            Ok(out)
        })
        .unwrap()
}

fn records(hub: &Device) -> Vec<(Kind, String)> {
    hub.ctx
        .store()
        .read(|c| {
            let mut out = Vec::new();
            for (kind, sql) in [
                (Kind::Sheet, "SELECT id FROM sheets"),
                (Kind::Post, "SELECT id FROM posts"),
                (Kind::Photo, "SELECT hash FROM photos"),
            ] {
                let ids: Vec<String> = c
                    .prepare(sql)?
                    .query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<_>>()?;
                out.extend(ids.into_iter().map(|i| (kind, i)));
            }
            Ok(out)
        })
        .unwrap()
}

fn standings(hub: &Device) -> String {
    serde_json::to_string(&scoring::get_standings(&hub.ctx).expect("standings compute")).unwrap()
}

/// A canonical dump without the score sheets' tables.
fn without_sheets(dump: &str) -> String {
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

/// The hub's whole log, with its verdicts (what the hub relayed before scoring was 背靠背).
fn hub_log(w: &World) -> Vec<Op> {
    w.hub
        .ctx
        .store()
        .read(|c| oplog::ops_after(c, &BTreeMap::new(), 500))
        .unwrap()
}

fn run_case(role: Role, attack: &[(Mutation, usize)]) -> Result<(), TestCaseError> {
    let w = world(role);
    let before_records = records(&w.hub);
    let before = protected(&w.hub, &before_records);
    let before_standings = standings(&w.hub);
    // The hub withholds other scorers' sheets from a paired laptop (背靠背), so the attacker
    // works from the hub's whole log, as if it had copied it some other way.
    let pulled = w
        .service
        .pull(
            &w.hostile_token,
            &PullRequest {
                have: BTreeMap::new(),
                limit: 500,
            },
        )
        .unwrap()
        .ops;
    prop_assert!(
        !pulled.iter().any(|o| o.kind == "sheet"),
        "the hostile device is sent no sheet of a scorer it was not assigned"
    );
    let templates = hub_log(&w);
    prop_assert!(templates.len() > 20, "the hub's log");
    let me = w.hostile.id();
    let mut last_seq = 0;
    for (m, pick) in attack {
        let choices: Vec<&Op> = templates
            .iter()
            .filter(|o| kinds_for(m).contains(&o.kind.as_str()))
            .collect();
        let template = choices[pick % choices.len()];
        let next = w
            .hub
            .ctx
            .store()
            .read(|c| oplog::watermark(c, &me))
            .unwrap()
            + 1;
        let op = bend(&w, template, m, next, last_seq);
        last_seq = op.seq;
        let pushed = w.service.push(
            &w.hostile_token,
            &PushRequest {
                ops: vec![op.clone()],
            },
        );
        let report = match pushed {
            Ok(r) => r.report,
            Err(e) => {
                prop_assert_eq!(e.code, SyncErrorCode::BadRequest, "{:?}: {}", m, e);
                continue;
            }
        };
        // Every refusal is listed at the hub with its reason.
        for note in &report.refused {
            prop_assert!(!note.code.is_empty());
            let listed = w
                .hub
                .ctx
                .store()
                .read(|c| {
                    Ok(c.query_row(
                        "SELECT count(*) FROM sync_issues
                         WHERE op_origin = ?1 AND op_seq = ?2 AND code = ?3",
                        rusqlite::params![note.op.origin, note.op.seq, note.code],
                        |r| r.get::<_, i64>(0),
                    )?)
                })
                .unwrap();
            prop_assert_eq!(listed, 1, "refusal {:?} is listed", note);
        }
        // The clock never runs off: a day at most past the hub's wall clock (+ 10 minutes).
        let hlc: String = w
            .hub
            .ctx
            .store()
            .read(|c| meta::get(c, "hlc_last"))
            .unwrap()
            .unwrap_or_default();
        let wall = w.hub.clock.now().timestamp_millis();
        let bound = format!("{:015}", wall + 11 * 60 * 1000);
        prop_assert!(hlc.as_str() < bound.as_str(), "hub clock pinned at {}", hlc);
        prop_assert_eq!(
            &protected(&w.hub, &before_records),
            &before,
            "after {:?}",
            m
        );
        prop_assert_eq!(standings(&w.hub), before_standings.clone(), "after {:?}", m);
        // Whatever the hub accepted is the hostile device's own new record, within the rules.
        if report.applied > 0 {
            let (kind, id) = (op.kind.as_str(), op.entity_id.as_str());
            prop_assert!(
                kind == "photo" || (kind == "post" && role == Role::Media),
                "applied {:?} {} from a {:?} laptop",
                m,
                kind,
                role
            );
            prop_assert!(!before_records.iter().any(|(_, r)| r == id) || kind == "photo");
        }
    }
    // The honest laptops go on and still converge with the hub.
    let (b, bt) = &w.honest[1];
    let sheet = scoring::list_sheets(&b.ctx)
        .unwrap()
        .into_iter()
        .find(|s| s.scorer_id == w.scorers[1].id)
        .unwrap();
    scoring::set_sheet_comment(&b.ctx, &sheet.id, "总体不错".into()).unwrap();
    b.sync(bt);
    for _ in 0..3 {
        for (d, t) in &w.honest {
            d.sync(t);
        }
    }
    // Scoring is 背靠背: every laptop equals the hub but for the sheets and the evidence
    // photos, and a scorer's laptop holds exactly its own scorer's sheets as the hub has
    // them, with their photos.
    let hub_dump = without_sheets(&w.hub.dump());
    let hashes = |ctx: &Ctx, sql: &str| -> BTreeSet<String> {
        ctx.store()
            .read(|c| {
                let mut st = c.prepare(sql)?;
                let rows = st.query_map([], |r| r.get(0))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .unwrap()
    };
    let evidence = hashes(&w.hub.ctx, "SELECT hash FROM sheet_evidence");
    let shown = hashes(&w.hub.ctx, "SELECT hash FROM post_photos");
    prop_assert!(!evidence.is_empty() && !shown.is_empty());
    for (i, (d, _)) in w.honest.iter().enumerate() {
        prop_assert!(
            without_sheets(&d.dump()) == hub_dump,
            "an honest laptop diverged"
        );
        let held = hashes(&d.ctx, "SELECT hash FROM photos");
        let may: BTreeSet<String> = hashes(&w.hub.ctx, "SELECT hash FROM photos")
            .into_iter()
            .filter(|h| {
                w.hub
                    .ctx
                    .store()
                    .read(|c| guanmo_store::trust::may_fetch_photo(c, &d.id(), h))
                    .unwrap()
            })
            .collect();
        prop_assert_eq!(&held, &may, "laptop {}'s photos", i);
        prop_assert!(shown.is_subset(&held), "laptop {} lacks a post's photo", i);
        if i == 0 {
            prop_assert!(evidence.is_subset(&held), "laptop 0 lacks its evidence");
        } else {
            prop_assert!(
                evidence.is_disjoint(&held),
                "laptop {} holds another scorer's evidence",
                i
            );
        }
        let of = |ctx: &Ctx, scorer: Option<&Scorer>| {
            let mut v: Vec<String> = scoring::list_sheets(ctx)
                .unwrap()
                .into_iter()
                .filter(|s| scorer.is_some_and(|x| x.id == s.scorer_id))
                .map(|s| format!("{s:?}"))
                .collect();
            v.sort();
            v
        };
        let mine = w.scorers.get(i).filter(|_| i < 2);
        prop_assert_eq!(
            of(&d.ctx, mine),
            of(&w.hub.ctx, mine),
            "laptop {}'s sheets",
            i
        );
        let others = scoring::list_sheets(&d.ctx)
            .unwrap()
            .into_iter()
            .filter(|s| mine.is_none_or(|m| m.id != s.scorer_id))
            .count();
        prop_assert_eq!(others, 0, "laptop {} holds another scorer's sheet", i);
    }
    let at_hub = scoring::get_sheet(&w.hub.ctx, &sheet.id).unwrap();
    prop_assert_eq!(at_hub.comment, "总体不错");
    Ok(())
}

#[test]
fn a_hostile_paired_device_changes_no_record_it_does_not_own() {
    let mut runner = TestRunner::new(Config {
        cases: 12,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        prop_oneof![Just(Role::Scorer), Just(Role::Media)],
        proptest::collection::vec((mutation(), 0usize..64), 1..10),
    );
    runner
        .run(&strategy, |(role, attack)| run_case(role, &attack))
        .unwrap();
}

/// Every mutation at least once, for both roles (the random cases above may miss some).
#[test]
fn each_kind_of_attack_is_refused_from_either_role() {
    let all = [
        Mutation::Resend,
        Mutation::RetargetScorer(0),
        Mutation::RetargetScorer(2),
        Mutation::BadMark(json!(2_147_483_647_i64)),
        Mutation::BadMark(json!(3.5)),
        Mutation::WrongKind(0),
        Mutation::FarClock(None),
        Mutation::FarClock(Some(3 * 86_400_000)),
        Mutation::Gap(5_000),
        Mutation::Pin,
        Mutation::Unpublish,
        Mutation::NewId,
        Mutation::Huge,
        Mutation::ForgePhoto,
        Mutation::ExtraTable,
        Mutation::UnassignedSheet,
        Mutation::ReplaySeq,
        Mutation::Gap(3),
    ];
    for role in [Role::Scorer, Role::Media] {
        let attack: Vec<(Mutation, usize)> = all
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, m)| (m, i * 7))
            .collect();
        run_case(role, &attack).unwrap();
    }
}

/// Holding back an origin is bounded: a device cannot grow the hub's backlog past the cap,
/// and operations far past what arrived are refused, listed, without moving its watermark.
#[test]
fn the_backlog_of_one_device_is_capped_and_far_numbers_are_refused() {
    let w = world(Role::Scorer);
    let me = w.hostile.id();
    let template = hub_log(&w).into_iter().find(|o| o.kind == "sheet").unwrap();
    // seq 1 is missing: everything from 2 on is held, up to the cap.
    let cap = oplog::BACKLOG_CAP;
    let mut held = 0;
    let mut refused = Vec::new();
    let mut seq = 2;
    while seq <= cap + 10 {
        let ops: Vec<Op> = (seq..(seq + 500).min(cap + 11))
            .map(|s| {
                let mut o = bend(&w, &template, &Mutation::Resend, s, 0);
                o.base = None::<OpRef>;
                o
            })
            .collect();
        seq += ops.len() as i64;
        let r = w
            .service
            .push(&w.hostile_token, &PushRequest { ops })
            .unwrap();
        held += r.report.held;
        refused.extend(r.report.refused.into_iter().map(|n| n.code));
    }
    // Numbers 2..=cap wait for #1; from cap + 1 on they are too far past what arrived.
    assert_eq!(i64::from(held), cap - 1, "held up to the cap");
    assert_eq!(refused.len(), 10);
    assert!(refused.iter().all(|c| c == "seq_too_far"), "{refused:?}");
    let (backlog, watermark) = w
        .hub
        .ctx
        .store()
        .read(|c| {
            Ok((
                c.query_row(
                    "SELECT count(*) FROM sync_backlog WHERE origin = ?1",
                    [&me],
                    |r| r.get::<_, i64>(0),
                )?,
                oplog::watermark(c, &me)?,
            ))
        })
        .unwrap();
    assert_eq!((backlog, watermark), (cap - 1, 0));
    // Far past what arrived: refused and listed, nothing held, the watermark unmoved.
    let mut far = bend(&w, &template, &Mutation::Resend, cap * 10, 0);
    far.base = None;
    let r = w
        .service
        .push(&w.hostile_token, &PushRequest { ops: vec![far] })
        .unwrap();
    assert_eq!(r.report.refused.len(), 1);
    assert_eq!(r.report.refused[0].code, "seq_too_far");
    assert_eq!(r.acked_seq, 0);
}

/// An honest laptop whose clock runs hours fast is still accepted (its clock only orders the
/// exchange), but the hub's own clock moves at most ten minutes past its wall clock.
#[test]
fn a_fast_laptop_clock_cannot_pin_the_hubs_clock() {
    let w = world(Role::Scorer);
    let (a, at) = &w.honest[1];
    a.clock.advance(Duration::hours(5));
    let sheet = scoring::list_sheets(&a.ctx)
        .unwrap()
        .into_iter()
        .find(|s| s.scorer_id == w.scorers[1].id)
        .unwrap();
    scoring::set_sheet_comment(&a.ctx, &sheet.id, "快了五小时".into()).unwrap();
    a.sync(at);
    let at_hub = scoring::get_sheet(&w.hub.ctx, &sheet.id).unwrap();
    assert_eq!(at_hub.comment, "快了五小时", "applied");
    let hlc: String = w
        .hub
        .ctx
        .store()
        .read(|c| meta::get(c, "hlc_last"))
        .unwrap()
        .unwrap();
    let wall = w.hub.clock.now().timestamp_millis();
    let lead: i64 = hlc[..15].parse::<i64>().unwrap() - wall;
    assert!(
        (0..=oplog::CLOCK_LEAD_MS).contains(&lead),
        "the hub's clock leads its wall clock by {lead} ms"
    );
}
