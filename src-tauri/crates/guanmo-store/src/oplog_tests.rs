//! Unit tests of the op log's rules, in-process on a temporary store: the payload shape
//! (`check_payload`), who may send what (roles, scorer assignments, first writer), the domain
//! rules (`trust::check_content`, `trust::check_transition`), sequencing (gaps, the backlog,
//! far numbers, duplicates), clocks, and a laptop following the hub's verdicts. Operations
//! are built by hand, the way a hostile or confused peer could send them.

use super::*;
use crate::{ChangeInput, Store};
use chrono::{DateTime, Utc};
use serde_json::json;

const NOW: &str = "2026-12-04T08:00:00.000Z";
const HOUR_MS: i64 = 60 * 60 * 1000;
/// The hub a laptop fixture follows.
const LAPTOP_HUB: &str = "hub-device";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .with_timezone(&Utc)
}

fn now_ms() -> i64 {
    now().timestamp_millis()
}

fn hlc_at(ms: i64, counter: i64) -> String {
    format!("{ms:015}-{counter:06}")
}

/// Townships t1, t2; criteria k1 (max 50) and k2 (max 30), adjustment a1 (limit 20); scorers
/// s1, s2, s4 without a township and s3 heading t1; paired laptops scorer-a/-b/-c, media-a/-b
/// and a revoked one; s1 and s3 scored on scorer-a, s2 on scorer-b, s4 unassigned.
const SEED: &str = "
    INSERT INTO townships (id, code, name, kind, enabled, position, created_at, updated_at)
    VALUES ('t1', '430100000001', '一镇', 'town', 1, 1, '2026-12-04T08:00:00.000Z', '2026-12-04T08:00:00.000Z'),
           ('t2', '430100000002', '二镇', 'town', 1, 2, '2026-12-04T08:00:00.000Z', '2026-12-04T08:00:00.000Z');
    INSERT INTO rubric (id, title, total_tenths, version, updated_at)
    VALUES (1, '评分', 1000, 1, '2026-12-04T08:00:00.000Z');
    INSERT INTO rubric_categories (id, position, name, max_tenths) VALUES ('c1', 1, '类', 100);
    INSERT INTO rubric_criteria (id, category_id, position, name, max_tenths)
    VALUES ('k1', 'c1', 1, '甲', 50), ('k2', 'c1', 2, '乙', 30);
    INSERT INTO rubric_adjustments (id, position, name, kind, limit_tenths)
    VALUES ('a1', 1, '加分', 'bonus', 20);
    INSERT INTO scorers (id, name, grp, township_id, created_at, updated_at)
    VALUES ('s1', '张', 'A', NULL, '2026-12-04T08:00:00.000Z', '2026-12-04T08:00:00.000Z'),
           ('s2', '李', 'A', NULL, '2026-12-04T08:00:00.000Z', '2026-12-04T08:00:00.000Z'),
           ('s3', '王', 'A', 't1', '2026-12-04T08:00:00.000Z', '2026-12-04T08:00:00.000Z'),
           ('s4', '赵', 'A', NULL, '2026-12-04T08:00:00.000Z', '2026-12-04T08:00:00.000Z');
";

const HUB_DEVICES: &str = "
    INSERT INTO devices (id, name, role, public_key, paired_at, revoked_at)
    VALUES ('scorer-a', 'A', 'scorer', hex(zeroblob(32)), '2026-12-04T08:00:00.000Z', NULL),
           ('scorer-b', 'B', 'scorer', hex(zeroblob(32)), '2026-12-04T08:00:00.000Z', NULL),
           ('scorer-c', 'C', 'scorer', hex(zeroblob(32)), '2026-12-04T08:00:00.000Z', NULL),
           ('media-a', 'M', 'media', hex(zeroblob(32)), '2026-12-04T08:00:00.000Z', NULL),
           ('media-b', 'N', 'media', hex(zeroblob(32)), '2026-12-04T08:00:00.000Z', NULL),
           ('revoked', 'R', 'scorer', hex(zeroblob(32)), '2026-12-04T08:00:00.000Z',
            '2026-12-04T07:00:00.000Z');
    INSERT INTO scorer_devices (scorer_id, device_id, assigned_at, assigned_by)
    VALUES ('s1', 'scorer-a', '2026-12-04T08:00:00.000Z', 'organiser'),
           ('s2', 'scorer-b', '2026-12-04T08:00:00.000Z', 'organiser'),
           ('s3', 'scorer-a', '2026-12-04T08:00:00.000Z', 'organiser');
";

const LAPTOP_DEVICES: &str = "
    INSERT INTO devices (id, name, role, public_key, paired_at)
    VALUES ('hub-device', 'Hub', 'hub', hex(zeroblob(32)), '2026-12-04T08:00:00.000Z');
";

struct Fx {
    _dir: tempfile::TempDir,
    store: Store,
    rules: Rules,
}

impl Fx {
    fn open(devices: &str) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("guanmo.sqlite3")).unwrap();
        store
            .write_without_ops(now(), "seed", |tx| {
                tx.conn().execute_batch(SEED)?;
                tx.conn().execute_batch(devices)?;
                Ok(())
            })
            .unwrap();
        (dir, store)
    }

    /// The organiser's hub: it judges what laptops send.
    fn hub() -> Fx {
        let (dir, store) = Fx::open(HUB_DEVICES);
        let me = store.device_id().to_string();
        Fx {
            _dir: dir,
            store,
            rules: Rules {
                self_id: me.clone(),
                hub_id: Some(me),
            },
        }
    }

    /// A laptop paired with `LAPTOP_HUB`: it follows the hub's verdicts.
    fn laptop() -> Fx {
        let (dir, store) = Fx::open(LAPTOP_DEVICES);
        let me = store.device_id().to_string();
        Fx {
            _dir: dir,
            store,
            rules: Rules {
                self_id: me,
                hub_id: Some(LAPTOP_HUB.to_string()),
            },
        }
    }

    fn hub_id(&self) -> String {
        self.rules.hub_id.clone().unwrap()
    }

    fn apply(&self, ops: &[Op]) -> ApplyReport {
        self.apply_with(&self.rules, ops)
    }

    fn apply_with(&self, rules: &Rules, ops: &[Op]) -> ApplyReport {
        self.store
            .write_without_ops(now(), "sync", |tx| apply_remote(tx, rules, ops))
            .unwrap()
    }

    fn int(&self, sql: &str) -> i64 {
        self.store
            .read(|c| Ok(c.query_row(sql, [], |r| r.get(0))?))
            .unwrap()
    }

    fn text(&self, sql: &str) -> Option<String> {
        self.store
            .read(|c| Ok(c.query_row(sql, [], |r| r.get(0)).optional()?))
            .unwrap()
    }

    fn dump(&self) -> String {
        self.store.read(canonical_dump).unwrap()
    }

    fn outcome(&self, origin: &str, seq: i64) -> Option<String> {
        self.store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT outcome FROM ops WHERE origin = ?1 AND seq = ?2",
                    params![origin, seq],
                    |r| r.get(0),
                )
                .optional()?)
            })
            .unwrap()
    }

    fn watermark(&self, origin: &str) -> i64 {
        self.store.read(|c| watermark(c, origin)).unwrap()
    }

    fn backlog(&self) -> Vec<(String, i64, String)> {
        self.store
            .read(|c| {
                let mut st =
                    c.prepare("SELECT origin, seq, reason FROM sync_backlog ORDER BY origin, seq")?;
                let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .unwrap()
    }

    /// `(kind, code)` of the issue listed for an operation.
    fn issue_of(&self, origin: &str, seq: i64) -> Option<(String, String)> {
        self.store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT kind, code FROM sync_issues WHERE op_origin = ?1 AND op_seq = ?2",
                    params![origin, seq],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?)
            })
            .unwrap()
    }

    /// `(criterion, tenths)` of a sheet, by criterion.
    fn marks(&self, sheet: &str) -> Vec<(String, Option<i64>)> {
        self.store
            .read(|c| {
                let mut st = c.prepare(
                    "SELECT criterion_id, tenths FROM marks WHERE sheet_id = ?1
                     ORDER BY criterion_id",
                )?;
                let rows = st.query_map([sheet], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .unwrap()
    }

    fn head(&self, kind: Kind, entity_id: &str) -> Option<OpRef> {
        self.store.read(|c| head(c, kind, entity_id)).unwrap()
    }

    fn hlc_last(&self) -> Option<String> {
        self.store.read(|c| meta::get(c, HLC_LAST)).unwrap()
    }
}

/// Asserts that `report` refused `origin#seq` with `code` (and only that), that the refusal is
/// listed in `sync_issues`, and whether the operation was recorded in the log.
fn assert_refused(
    fx: &Fx,
    report: &ApplyReport,
    origin: &str,
    seq: i64,
    code: &str,
    recorded: bool,
) {
    let notes: Vec<(String, i64, String)> = report
        .refused
        .iter()
        .map(|n| (n.op.origin.clone(), n.op.seq, n.code.clone()))
        .collect();
    assert_eq!(notes, vec![(origin.to_string(), seq, code.to_string())]);
    assert_eq!(report.applied, 0, "{report:?}");
    assert_eq!(
        fx.issue_of(origin, seq),
        Some(("refused".to_string(), code.to_string())),
        "the refusal of {origin}#{seq} is listed"
    );
    assert_eq!(
        fx.outcome(origin, seq).as_deref(),
        recorded.then_some("refused"),
        "{origin}#{seq} in the log"
    );
}

fn detail(report: &ApplyReport) -> &str {
    &report.refused[0].detail
}

fn op(origin: &str, seq: i64, kind: Kind, entity_id: &str, payload: Value) -> Op {
    Op {
        origin: origin.to_string(),
        seq,
        hlc: hlc_at(now_ms() - 60_000, seq),
        kind: kind.as_str().to_string(),
        entity_id: entity_id.to_string(),
        base: None,
        at: NOW.to_string(),
        actor: "test".to_string(),
        payload,
        verdict: None,
    }
}

fn relayed(mut op: Op, verdict: &str) -> Op {
    op.verdict = Some(verdict.to_string());
    op
}

fn based_on(mut op: Op, base: OpRef) -> Op {
    op.base = Some(base);
    op
}

/// A sheet's whole state with marks `(criterion, tenths)`.
fn sheet(id: &str, scorer: &str, township: &str, status: &str, marks: &[(&str, Value)]) -> Value {
    let submitted = status == "submitted";
    json!({
        "sheets": [{
            "id": id, "scorer_id": scorer, "township_id": township, "status": status,
            "comment": "", "submitted_at": if submitted { Value::from(NOW) } else { Value::Null },
            "unlock_reason": null, "version": 1, "created_at": NOW, "updated_at": NOW,
        }],
        "marks": marks.iter().map(|(c, t)| json!({
            "sheet_id": id, "criterion_id": c, "tenths": t, "note": "", "updated_at": NOW,
        })).collect::<Vec<_>>(),
        "adjustment_marks": [],
        "sheet_evidence": [],
    })
}

/// Sheet `sh1` of scorer s1 (assigned to scorer-a) for t1, draft, with k1 = `k1`.
fn sheet1(k1: i64) -> Value {
    sheet("sh1", "s1", "t1", "draft", &[("k1", json!(k1))])
}

fn post(id: &str, status: &str, pinned: i64, body: &str) -> Value {
    let published = status != "draft";
    let retracted = status == "retracted";
    json!({
        "posts": [{
            "id": id, "stop_label": null, "township_id": null, "body": body, "credit": "",
            "status": status, "pinned": pinned, "created_at": NOW, "created_by": "记者",
            "published_at": if published { Value::from(NOW) } else { Value::Null },
            "updated_at": NOW,
            "retracted_at": if retracted { Value::from(NOW) } else { Value::Null },
            "retracted_by": if retracted { Value::from("记者") } else { Value::Null },
            "version": 1,
        }],
        "post_photos": [],
    })
}

fn hash() -> String {
    "ab".repeat(32)
}

fn photo(file_name: &str, format: &str) -> Value {
    json!({
        "photos": [{
            "hash": hash(), "file_name": file_name, "width": 4000, "height": 3000,
            "format": format, "taken_at": null, "camera": null, "gps_lat": 26.4,
            "gps_lon": 112.6, "original_bytes": 5_000_000, "imported_at": NOW,
        }],
    })
}

fn set(payload: &mut Value, table: &str, row: usize, col: &str, v: Value) {
    payload[table][row][col] = v;
}

// ---------------------------------------------------------------------------------------
// check_payload

#[test]
fn check_payload_refuses_malformed_sheets_and_writes_nothing() {
    let fx = Fx::hub();
    let before = fx.dump();
    type Bend = fn(&mut Value);
    let cases: Vec<(&str, Bend, &str)> = vec![
        (
            "a table outside the kind",
            |p| p["scorers"] = json!([{ "id": "s1", "name": "改名" }]),
            r#"table "scorers" is not part of sheet"#,
        ),
        (
            "a table of the kind left out",
            |p| {
                p.as_object_mut().unwrap().remove("marks");
            },
            "marks missing",
        ),
        (
            "an unknown column",
            |p| set(p, "sheets", 0, "owner_device", json!("scorer-b")),
            "sheets.owner_device is not a column",
        ),
        (
            "a missing key",
            |p| {
                p["marks"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("criterion_id");
            },
            "marks.criterion_id missing",
        ),
        (
            "a null key",
            |p| set(p, "marks", 0, "criterion_id", Value::Null),
            "marks.criterion_id missing",
        ),
        (
            "an object value",
            |p| set(p, "marks", 0, "note", json!({ "x": 1 })),
            "marks.note is not a scalar",
        ),
        (
            "an array value",
            |p| set(p, "marks", 0, "tenths", json!([40])),
            "marks.tenths is not a scalar",
        ),
        (
            "a boolean value",
            |p| set(p, "sheets", 0, "comment", json!(true)),
            "sheets.comment is not a scalar",
        ),
        (
            "a child row of another sheet",
            |p| set(p, "marks", 0, "sheet_id", json!("sh-other")),
            "marks row outside sh1",
        ),
        (
            "a head row of another sheet",
            |p| set(p, "sheets", 0, "id", json!("sh-other")),
            "sheets row outside sh1",
        ),
        (
            "no head row",
            |p| p["sheets"] = json!([]),
            "sheets must hold one row",
        ),
        (
            "two head rows",
            |p| {
                let row = p["sheets"][0].clone();
                p["sheets"].as_array_mut().unwrap().push(row);
            },
            "sheets must hold one row",
        ),
        (
            "a row that is not an object",
            |p| p["marks"] = json!([40]),
            "row is not an object",
        ),
        (
            "a payload that is not an object",
            |p| *p = json!([]),
            "payload is not an object",
        ),
    ];
    let mut seq = 0;
    for (what, bend, want) in cases {
        seq += 1;
        let mut payload = sheet1(40);
        bend(&mut payload);
        let r = fx.apply(&[op("scorer-a", seq, Kind::Sheet, "sh1", payload)]);
        assert_refused(&fx, &r, "scorer-a", seq, "bad_payload", true);
        assert_eq!(detail(&r), want, "{what}");
        assert_eq!(fx.dump(), before, "{what}: nothing written");
        assert_eq!(fx.watermark("scorer-a"), seq, "{what}: the origin moves on");
    }
    assert_eq!(fx.int("SELECT count(*) FROM sync_issues"), seq);

    // The same operation, well formed, applies: the refusals above were about shape only.
    seq += 1;
    let r = fx.apply(&[op("scorer-a", seq, Kind::Sheet, "sh1", sheet1(40))]);
    assert_eq!((r.applied, r.refused.len()), (1, 0), "{r:?}");
    assert_eq!(fx.marks("sh1"), vec![("k1".to_string(), Some(40))]);
    assert_eq!(
        fx.text(
            "SELECT scorer_id || '/' || township_id || '/' || status FROM sheets WHERE id = 'sh1'"
        ),
        Some("s1/t1/draft".to_string())
    );
    assert_eq!(fx.outcome("scorer-a", seq).as_deref(), Some("applied"));
    assert_eq!(
        fx.head(Kind::Sheet, "sh1"),
        Some(OpRef {
            origin: "scorer-a".into(),
            seq
        })
    );
}

#[test]
fn check_payload_per_kind() {
    let fx = Fx::hub();
    let check = |kind: Kind, id: &str, p: Value| {
        fx.store
            .read(|c| Ok(check_payload(c, kind, id, &p)))
            .unwrap()
    };
    // A whole-table aggregate has no head row: any number of rows, no scope.
    let roster = fx.store.read(|c| snapshot(c, Kind::Roster, "*")).unwrap();
    assert_eq!(roster["townships"].as_array().unwrap().len(), 2);
    assert_eq!(check(Kind::Roster, "*", roster), Ok(()));
    assert_eq!(check(Kind::Roster, "*", json!({ "townships": [] })), Ok(()));
    assert_eq!(
        check(
            Kind::Roster,
            "*",
            json!({ "townships": [{ "code": "430100000003" }] })
        ),
        Err("townships.id missing".to_string())
    );
    // Every table of the kind must be there, even empty.
    assert_eq!(
        check(Kind::Rubric, "1", json!({ "rubric": [] })),
        Err("rubric_categories missing".to_string())
    );
    // The aggregation rule is one meta row; other meta keys (the device id) are outside it.
    assert_eq!(
        check(
            Kind::AggregationRule,
            "aggregation_rule",
            json!({ "meta": [{ "key": "device_id", "value": "stolen" }] })
        ),
        Err("meta row outside aggregation_rule".to_string())
    );
    assert_eq!(
        check(
            Kind::AggregationRule,
            "aggregation_rule",
            json!({ "meta": [{ "key": "aggregation_rule", "value": "{}" }] })
        ),
        Ok(())
    );
    // A post's photos belong to the post.
    let mut p = post("p1", "draft", 0, "正文");
    p["post_photos"] = json!([{ "post_id": "p2", "position": 0, "hash": hash() }]);
    assert_eq!(
        check(Kind::Post, "p1", p),
        Err("post_photos row outside p1".to_string())
    );
    assert_eq!(check(Kind::Photo, &hash(), photo("a.jpg", "jpeg")), Ok(()));
    assert_eq!(
        check(Kind::Photo, "other", photo("a.jpg", "jpeg")),
        Err("photos row outside other".to_string())
    );
}

// ---------------------------------------------------------------------------------------
// Ownership and roles

#[test]
fn a_sheet_applies_only_from_the_laptop_assigned_to_its_scorer() {
    let fx = Fx::hub();
    let r = fx.apply(&[op("scorer-a", 1, Kind::Sheet, "sh1", sheet1(40))]);
    assert_eq!((r.applied, r.refused.len()), (1, 0), "{r:?}");
    assert_eq!(fx.marks("sh1"), vec![("k1".to_string(), Some(40))]);

    // Another scorer laptop may neither change that sheet nor start one for s1.
    let before = fx.dump();
    let r = fx.apply(&[op("scorer-b", 1, Kind::Sheet, "sh1", sheet1(0))]);
    assert_refused(&fx, &r, "scorer-b", 1, "not_owner", true);
    assert_eq!(detail(&r), "scorer s1 is scored on scorer-a");
    let r = fx.apply(&[op(
        "scorer-b",
        2,
        Kind::Sheet,
        "sh9",
        sheet("sh9", "s1", "t2", "draft", &[("k1", json!(1))]),
    )]);
    assert_refused(&fx, &r, "scorer-b", 2, "not_owner", true);
    assert_eq!(fx.dump(), before);
    assert_eq!(fx.marks("sh1"), vec![("k1".to_string(), Some(40))]);

    // Its own scorer's sheet applies.
    let r = fx.apply(&[op(
        "scorer-b",
        3,
        Kind::Sheet,
        "sh2",
        sheet("sh2", "s2", "t1", "draft", &[("k2", json!(30))]),
    )]);
    assert_eq!((r.applied, r.refused.len()), (1, 0), "{r:?}");
    assert_eq!(fx.marks("sh2"), vec![("k2".to_string(), Some(30))]);
}

#[test]
fn an_unassigned_scorers_sheet_waits_until_the_organiser_assigns_it() {
    let fx = Fx::hub();
    let s4 = || {
        op(
            "scorer-c",
            1,
            Kind::Sheet,
            "sh4",
            sheet("sh4", "s4", "t2", "draft", &[("k1", json!(12))]),
        )
    };
    let r = fx.apply(&[s4()]);
    assert_eq!((r.applied, r.held, r.refused.len()), (0, 1, 0), "{r:?}");
    assert_eq!(
        fx.backlog(),
        vec![("scorer-c".into(), 1, "unassigned".into())]
    );
    assert_eq!(fx.watermark("scorer-c"), 0);
    assert_eq!(fx.outcome("scorer-c", 1), None);
    assert_eq!(fx.int("SELECT count(*) FROM sheets WHERE id = 'sh4'"), 0);
    assert_eq!(
        fx.int("SELECT count(*) FROM sync_issues"),
        0,
        "holding is no refusal"
    );

    // Sent again while it waits: still one entry.
    let r = fx.apply(&[s4()]);
    assert_eq!((r.applied, r.held), (0, 1));
    assert_eq!(fx.backlog().len(), 1);

    let r = fx
        .store
        .write_without_ops(now(), "organiser", |tx| {
            assert!(trust::assign_scorer(tx, "s4", Some("scorer-c"))?);
            apply_remote(tx, &fx.rules, &[])
        })
        .unwrap();
    assert_eq!((r.released, r.applied, r.held), (1, 0, 0), "{r:?}");
    assert_eq!(fx.backlog(), vec![]);
    assert_eq!(fx.watermark("scorer-c"), 1);
    assert_eq!(fx.outcome("scorer-c", 1).as_deref(), Some("applied"));
    assert_eq!(fx.marks("sh4"), vec![("k1".to_string(), Some(12))]);
}

#[test]
fn each_role_sends_only_its_kinds() {
    let fx = Fx::hub();
    let before = fx.dump();

    let r = fx.apply(&[op("media-a", 1, Kind::Sheet, "sh1", sheet1(40))]);
    assert_refused(&fx, &r, "media-a", 1, "wrong_role", true);
    assert_eq!(detail(&r), "media may not send sheet");

    let r = fx.apply(&[op(
        "scorer-a",
        1,
        Kind::Post,
        "p1",
        post("p1", "draft", 0, "正文"),
    )]);
    assert_refused(&fx, &r, "scorer-a", 1, "wrong_role", true);
    assert_eq!(detail(&r), "scorer may not send post");

    let mut roster = fx.store.read(|c| snapshot(c, Kind::Roster, "*")).unwrap();
    set(&mut roster, "townships", 0, "name", json!("被改的镇"));
    let r = fx.apply(&[op("scorer-a", 2, Kind::Roster, "*", roster.clone())]);
    assert_refused(&fx, &r, "scorer-a", 2, "hub_only", true);
    assert_eq!(detail(&r), "scorer may not send roster");
    let r = fx.apply(&[op("media-a", 2, Kind::Roster, "*", roster)]);
    assert_refused(&fx, &r, "media-a", 2, "hub_only", true);

    let scorer = fx.store.read(|c| snapshot(c, Kind::Scorer, "s1")).unwrap();
    let r = fx.apply(&[op("scorer-a", 3, Kind::Scorer, "s1", scorer)]);
    assert_refused(&fx, &r, "scorer-a", 3, "hub_only", true);

    // Not paired, or revoked: nothing it sends is judged further.
    let r = fx.apply(&[op("stranger", 1, Kind::Sheet, "sh1", sheet1(40))]);
    assert_refused(&fx, &r, "stranger", 1, "unknown_device", true);
    let r = fx.apply(&[op("revoked", 1, Kind::Sheet, "sh1", sheet1(40))]);
    assert_refused(&fx, &r, "revoked", 1, "unknown_device", true);

    // An unknown kind from a paired device.
    let mut odd = op("scorer-a", 4, Kind::Sheet, "sh1", sheet1(40));
    odd.kind = "bogus_kind".into();
    let r = fx.apply(&[odd]);
    assert_refused(&fx, &r, "scorer-a", 4, "unknown_kind", true);

    assert_eq!(fx.dump(), before);
    assert_eq!(
        fx.int("SELECT count(*) FROM sync_issues WHERE kind = 'refused'"),
        8
    );
}

#[test]
fn a_post_belongs_to_the_device_that_wrote_it_first() {
    let fx = Fx::hub();
    let r = fx.apply(&[op(
        "media-a",
        1,
        Kind::Post,
        "p1",
        post("p1", "draft", 0, "初稿"),
    )]);
    assert_eq!(r.applied, 1, "{r:?}");
    assert_eq!(
        fx.text("SELECT device_id FROM sync_owners WHERE owner_key = 'post:p1'"),
        Some("media-a".into())
    );

    let r = fx.apply(&[op(
        "media-b",
        1,
        Kind::Post,
        "p1",
        post("p1", "published", 0, "抢发"),
    )]);
    assert_refused(&fx, &r, "media-b", 1, "not_owner", true);
    assert_eq!(detail(&r), "post:p1 belongs to media-a");
    assert_eq!(
        fx.text("SELECT status || '/' || body FROM posts WHERE id = 'p1'"),
        Some("draft/初稿".into())
    );

    let r = fx.apply(&[op(
        "media-a",
        2,
        Kind::Post,
        "p1",
        post("p1", "published", 0, "定稿"),
    )]);
    assert_eq!(r.applied, 1, "{r:?}");
    assert_eq!(
        fx.text("SELECT status || '/' || body FROM posts WHERE id = 'p1'"),
        Some("published/定稿".into())
    );
}

#[test]
fn a_photos_metadata_is_set_once_by_the_first_device() {
    let fx = Fx::hub();
    let h = hash();
    let r = fx.apply(&[op("scorer-a", 1, Kind::Photo, &h, photo("a.jpg", "jpeg"))]);
    assert_eq!(r.applied, 1, "{r:?}");

    let r = fx.apply(&[op("media-a", 1, Kind::Photo, &h, photo("b.jpg", "jpeg"))]);
    assert_eq!(
        (r.applied, r.superseded, r.refused.len()),
        (0, 1, 0),
        "{r:?}"
    );
    assert_eq!(fx.outcome("media-a", 1).as_deref(), Some("superseded"));
    assert_eq!(fx.watermark("media-a"), 1);
    assert_eq!(fx.issue_of("media-a", 1), None, "set once is no refusal");
    assert_eq!(
        fx.text("SELECT file_name FROM photos"),
        Some("a.jpg".into())
    );

    // The first device may correct its own metadata.
    let r = fx.apply(&[op("scorer-a", 2, Kind::Photo, &h, photo("c.jpg", "jpeg"))]);
    assert_eq!(r.applied, 1, "{r:?}");
    assert_eq!(
        fx.text("SELECT file_name FROM photos"),
        Some("c.jpg".into())
    );
}

#[test]
fn a_concurrent_edit_keeps_the_hubs_version() {
    let fx = Fx::hub();
    let hub = fx.hub_id();
    let r = fx.apply(&[op(
        "media-a",
        1,
        Kind::Post,
        "p1",
        post("p1", "published", 0, "记者稿"),
    )]);
    assert_eq!(r.applied, 1);

    // The organiser edits the post on the hub (a local write: it appends hub#1).
    fx.store
        .write(now(), "organiser", |tx| {
            tx.conn()
                .execute("UPDATE posts SET body = '主办方改' WHERE id = 'p1'", [])?;
            tx.record(ChangeInput {
                entity: "post",
                entity_id: "p1".into(),
                op: "update",
                payload: json!({}),
            })
        })
        .unwrap();
    let hub_op = fx.head(Kind::Post, "p1").unwrap();
    assert_eq!(hub_op.origin, hub);

    // The laptop edited without having seen it.
    let r = fx.apply(&[based_on(
        op(
            "media-a",
            2,
            Kind::Post,
            "p1",
            post("p1", "published", 0, "记者改"),
        ),
        OpRef {
            origin: "media-a".into(),
            seq: 1,
        },
    )]);
    assert_eq!((r.applied, r.superseded), (0, 1), "{r:?}");
    assert_eq!(r.conflicts.len(), 1);
    assert_eq!(r.conflicts[0].code, "conflict");
    assert_eq!(r.conflicts[0].op.origin, "media-a");
    assert_eq!(r.conflicts[0].op.seq, 2);
    assert_eq!(r.conflicts[0].detail, format!("kept {hub}#{}", hub_op.seq));
    assert_eq!(
        fx.issue_of("media-a", 2),
        Some(("conflict".into(), "concurrent_edit".into()))
    );
    assert_eq!(fx.outcome("media-a", 2).as_deref(), Some("superseded"));
    assert_eq!(
        fx.text("SELECT body FROM posts WHERE id = 'p1'"),
        Some("主办方改".into())
    );
    assert_eq!(fx.head(Kind::Post, "p1"), Some(hub_op.clone()));

    // An edit made after seeing the hub's applies.
    let r = fx.apply(&[based_on(
        op(
            "media-a",
            3,
            Kind::Post,
            "p1",
            post("p1", "published", 0, "记者再改"),
        ),
        hub_op,
    )]);
    assert_eq!((r.applied, r.conflicts.len()), (1, 0), "{r:?}");
    assert_eq!(
        fx.text("SELECT body FROM posts WHERE id = 'p1'"),
        Some("记者再改".into())
    );
}

// ---------------------------------------------------------------------------------------
// Domain rules

#[test]
fn marks_outside_the_rubric_are_refused_and_standings_stay() {
    let fx = Fx::hub();
    let r = fx.apply(&[op("scorer-a", 1, Kind::Sheet, "sh1", sheet1(40))]);
    assert_eq!(r.applied, 1);
    let before = fx.dump();

    let mut adj = sheet1(40);
    adj["adjustment_marks"] = json!([{ "sheet_id": "sh1", "adjustment_id": "a1", "tenths": 21,
        "note": "", "updated_at": NOW }]);
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            sheet1(51),
            "out_of_range",
            "criterion k1: tenths = 51 is outside 0..=50",
        ),
        (
            sheet1(-1),
            "out_of_range",
            "criterion k1: tenths = -1 is outside 0..=50",
        ),
        (
            sheet("sh1", "s1", "t1", "draft", &[("k1", json!(2.5))]),
            "bad_value",
            "criterion k1: tenths is not a whole number",
        ),
        (
            sheet("sh1", "s1", "t1", "draft", &[("k1", json!("40"))]),
            "bad_value",
            "criterion k1: tenths is missing or not a number",
        ),
        (
            sheet("sh1", "s1", "t1", "draft", &[("k9", json!(1))]),
            "unknown_criterion",
            "k9",
        ),
        (
            adj,
            "out_of_range",
            "adjustment a1: tenths = 21 is outside 0..=20",
        ),
        (
            sheet("sh1", "s1", "t1", "final", &[("k1", json!(40))]),
            "bad_value",
            "sheet status \"final\"",
        ),
    ];
    let mut seq = 1;
    for (payload, code, want) in cases {
        seq += 1;
        let r = fx.apply(&[op("scorer-a", seq, Kind::Sheet, "sh1", payload)]);
        assert_refused(&fx, &r, "scorer-a", seq, code, true);
        assert_eq!(detail(&r), want);
        assert_eq!(fx.dump(), before, "{want}: nothing written");
    }
    assert_eq!(fx.marks("sh1"), vec![("k1".to_string(), Some(40))]);

    // The bounds themselves are fine, and a mark may be cleared.
    seq += 1;
    let r = fx.apply(&[op(
        "scorer-a",
        seq,
        Kind::Sheet,
        "sh1",
        sheet(
            "sh1",
            "s1",
            "t1",
            "draft",
            &[("k1", json!(50)), ("k2", Value::Null)],
        ),
    )]);
    assert_eq!((r.applied, r.refused.len()), (1, 0), "{r:?}");
    assert_eq!(
        fx.marks("sh1"),
        vec![("k1".to_string(), Some(50)), ("k2".to_string(), None)]
    );
    seq += 1;
    let r = fx.apply(&[op(
        "scorer-a",
        seq,
        Kind::Sheet,
        "sh1",
        sheet("sh1", "s1", "t1", "draft", &[("k1", json!(0))]),
    )]);
    assert_eq!(r.applied, 1, "{r:?}");
    assert_eq!(fx.marks("sh1"), vec![("k1".to_string(), Some(0))]);
}

#[test]
fn a_scorer_does_not_score_the_township_they_head() {
    let fx = Fx::hub();
    let r = fx.apply(&[op(
        "scorer-a",
        1,
        Kind::Sheet,
        "sh3",
        sheet("sh3", "s3", "t1", "draft", &[("k1", json!(50))]),
    )]);
    assert_refused(&fx, &r, "scorer-a", 1, "recused", true);
    assert_eq!(detail(&r), "scorer s3 heads township t1");
    assert_eq!(fx.int("SELECT count(*) FROM sheets"), 0);

    let r = fx.apply(&[op(
        "scorer-a",
        2,
        Kind::Sheet,
        "sh3",
        sheet("sh3", "s3", "t2", "draft", &[("k1", json!(50))]),
    )]);
    assert_eq!(r.applied, 1, "{r:?}");

    // A scorer the hub does not know.
    let r = fx.apply(&[op(
        "scorer-a",
        3,
        Kind::Sheet,
        "sh5",
        sheet("sh5", "s5", "t2", "draft", &[]),
    )]);
    assert_refused(&fx, &r, "scorer-a", 3, "unknown_scorer", true);
}

#[test]
fn who_and_where_a_sheet_is_for_never_changes() {
    let fx = Fx::hub();
    assert_eq!(
        fx.apply(&[op("scorer-a", 1, Kind::Sheet, "sh1", sheet1(40))])
            .applied,
        1
    );
    let before = fx.dump();

    // s3 is also scored on scorer-a, so only the immutable scorer stops this.
    let r = fx.apply(&[op(
        "scorer-a",
        2,
        Kind::Sheet,
        "sh1",
        sheet("sh1", "s3", "t2", "draft", &[("k1", json!(40))]),
    )]);
    assert_refused(&fx, &r, "scorer-a", 2, "immutable_field", true);
    assert_eq!(detail(&r), "sheet sh1 is s1's for t1");

    let r = fx.apply(&[op(
        "scorer-a",
        3,
        Kind::Sheet,
        "sh1",
        sheet("sh1", "s1", "t2", "draft", &[("k1", json!(40))]),
    )]);
    assert_refused(&fx, &r, "scorer-a", 3, "immutable_field", true);
    assert_eq!(fx.dump(), before);
}

#[test]
fn a_submitted_sheet_changes_only_after_the_hub_unlocks_it() {
    let fx = Fx::hub();
    let submitted = sheet("sh1", "s1", "t1", "submitted", &[("k1", json!(40))]);
    let r = fx.apply(&[
        op("scorer-a", 1, Kind::Sheet, "sh1", sheet1(30)),
        op("scorer-a", 2, Kind::Sheet, "sh1", submitted),
    ]);
    assert_eq!(r.applied, 2, "{r:?}");
    assert_eq!(
        fx.text("SELECT status FROM sheets WHERE id = 'sh1'"),
        Some("submitted".into())
    );
    let before = fx.dump();

    let r = fx.apply(&[op("scorer-a", 3, Kind::Sheet, "sh1", sheet1(10))]);
    assert_refused(&fx, &r, "scorer-a", 3, "sheet_locked", true);
    assert_eq!(fx.dump(), before);

    // The organiser unlocks it on the hub (a local write: hub#1).
    fx.store
        .write(now(), "organiser", |tx| {
            tx.conn().execute(
                "UPDATE sheets SET status = 'draft', submitted_at = NULL, unlock_reason = '改错'
                 WHERE id = 'sh1'",
                [],
            )?;
            tx.record(ChangeInput {
                entity: "sheet",
                entity_id: "sh1".into(),
                op: "unlock",
                payload: json!({}),
            })
        })
        .unwrap();
    let unlock = fx.head(Kind::Sheet, "sh1").unwrap();
    assert_eq!(unlock.origin, fx.hub_id());

    // An edit made before the laptop saw the unlock: the hub's version stands.
    let r = fx.apply(&[op("scorer-a", 4, Kind::Sheet, "sh1", sheet1(10))]);
    assert_eq!(
        (r.applied, r.superseded, r.conflicts.len()),
        (0, 1, 1),
        "{r:?}"
    );
    assert_eq!(fx.marks("sh1"), vec![("k1".to_string(), Some(40))]);

    // After seeing the unlock it applies.
    let r = fx.apply(&[based_on(
        op("scorer-a", 5, Kind::Sheet, "sh1", sheet1(10)),
        unlock,
    )]);
    assert_eq!((r.applied, r.refused.len()), (1, 0), "{r:?}");
    assert_eq!(fx.marks("sh1"), vec![("k1".to_string(), Some(10))]);
}

#[test]
fn a_laptop_cannot_pin_a_post() {
    let fx = Fx::hub();
    let r = fx.apply(&[op(
        "media-a",
        1,
        Kind::Post,
        "p1",
        post("p1", "published", 1, "置顶?"),
    )]);
    assert_refused(&fx, &r, "media-a", 1, "hub_only", true);
    assert_eq!(detail(&r), "only the organiser's hub pins or unpins a post");
    assert_eq!(fx.int("SELECT count(*) FROM posts"), 0);

    let r = fx.apply(&[op(
        "media-a",
        2,
        Kind::Post,
        "p1",
        post("p1", "published", 0, "正文"),
    )]);
    assert_eq!(r.applied, 1);
    let r = fx.apply(&[op(
        "media-a",
        3,
        Kind::Post,
        "p1",
        post("p1", "published", 1, "正文"),
    )]);
    assert_refused(&fx, &r, "media-a", 3, "hub_only", true);
    assert_eq!(fx.int("SELECT pinned FROM posts WHERE id = 'p1'"), 0);
}

#[test]
fn a_post_moves_from_draft_to_published_to_retracted_only() {
    let fx = Fx::hub();
    let mut seq = 0;
    let mut send = |status: &str| {
        seq += 1;
        let r = fx.apply(&[op(
            "media-a",
            seq,
            Kind::Post,
            "p1",
            post("p1", status, 0, "正文"),
        )]);
        (seq, r)
    };
    let (_, r) = send("draft");
    assert_eq!(r.applied, 1);
    let (s, r) = send("retracted");
    assert_refused(&fx, &r, "media-a", s, "bad_transition", true);
    assert_eq!(detail(&r), "post draft -> retracted");
    let (_, r) = send("published");
    assert_eq!(r.applied, 1);
    let (s, r) = send("draft");
    assert_refused(&fx, &r, "media-a", s, "bad_transition", true);
    assert_eq!(detail(&r), "post published -> draft");
    let (_, r) = send("retracted");
    assert_eq!(r.applied, 1);
    let (s, r) = send("published");
    assert_refused(&fx, &r, "media-a", s, "bad_transition", true);
    assert_eq!(detail(&r), "post retracted -> published");
    assert_eq!(
        fx.text("SELECT status FROM posts WHERE id = 'p1'"),
        Some("retracted".into())
    );
}

// ---------------------------------------------------------------------------------------
// Sequencing

#[test]
fn a_gap_holds_later_ops_until_the_missing_one_arrives_then_applies_them_in_order() {
    let fx = Fx::hub();
    let r = fx.apply(&[
        op("scorer-a", 3, Kind::Sheet, "sh1", sheet1(30)),
        op("scorer-a", 2, Kind::Sheet, "sh1", sheet1(20)),
    ]);
    assert_eq!((r.applied, r.held), (0, 2), "{r:?}");
    assert_eq!(
        fx.backlog(),
        vec![
            ("scorer-a".into(), 2, "gap".into()),
            ("scorer-a".into(), 3, "gap".into())
        ]
    );
    assert_eq!(fx.watermark("scorer-a"), 0);
    assert_eq!(
        fx.int("SELECT count(*) FROM ops WHERE origin = 'scorer-a'"),
        0
    );
    assert_eq!(fx.int("SELECT count(*) FROM sheets"), 0);

    let r = fx.apply(&[op("scorer-a", 1, Kind::Sheet, "sh1", sheet1(10))]);
    assert_eq!((r.applied, r.released, r.held), (1, 2, 0), "{r:?}");
    assert_eq!(fx.backlog(), vec![]);
    assert_eq!(fx.watermark("scorer-a"), 3);
    // Applied in order: the last number's state is current.
    assert_eq!(fx.marks("sh1"), vec![("k1".to_string(), Some(30))]);
    assert_eq!(
        fx.head(Kind::Sheet, "sh1"),
        Some(OpRef {
            origin: "scorer-a".into(),
            seq: 3
        })
    );
    // The change log announces them in sequence order.
    let announced: Vec<String> = fx
        .store
        .changes_since(0, 100)
        .unwrap()
        .into_iter()
        .filter(|c| c.entity == "sheet")
        .map(|c| c.payload["seq"].to_string())
        .collect();
    assert_eq!(announced, vec!["1", "2", "3"]);
}

#[test]
fn one_apply_releases_a_whole_chain_of_held_ops_of_each_origin() {
    let fx = Fx::hub();
    let sh2 = |k2: i64| sheet("sh2", "s2", "t1", "draft", &[("k2", json!(k2))]);
    let r = fx.apply(&[
        op("scorer-a", 2, Kind::Sheet, "sh1", sheet1(20)),
        op("scorer-a", 3, Kind::Sheet, "sh1", sheet1(30)),
        op("scorer-a", 4, Kind::Sheet, "sh1", sheet1(44)),
        op("scorer-b", 3, Kind::Sheet, "sh2", sh2(3)),
    ]);
    assert_eq!(r.held, 4, "{r:?}");

    // Only scorer-a's missing #1 arrives: its three wait no longer; scorer-b's still does.
    let r = fx.apply(&[op("scorer-a", 1, Kind::Sheet, "sh1", sheet1(10))]);
    assert_eq!((r.applied, r.released, r.held), (1, 3, 0), "{r:?}");
    assert_eq!(fx.backlog(), vec![("scorer-b".into(), 3, "gap".into())]);
    assert_eq!(fx.watermark("scorer-a"), 4);
    assert_eq!(fx.watermark("scorer-b"), 0);
    assert_eq!(fx.marks("sh1"), vec![("k1".to_string(), Some(44))]);

    // scorer-b's #1 alone is not enough: #2 is still missing.
    let r = fx.apply(&[op("scorer-b", 1, Kind::Sheet, "sh2", sh2(1))]);
    assert_eq!((r.applied, r.released), (1, 0), "{r:?}");
    assert_eq!(fx.backlog(), vec![("scorer-b".into(), 3, "gap".into())]);
    let r = fx.apply(&[op("scorer-b", 2, Kind::Sheet, "sh2", sh2(2))]);
    assert_eq!((r.applied, r.released), (1, 1), "{r:?}");
    assert_eq!(fx.backlog(), vec![]);
    assert_eq!(fx.marks("sh2"), vec![("k2".to_string(), Some(3))]);
}

#[test]
fn an_op_already_here_changes_nothing() {
    let fx = Fx::hub();
    let first = op("scorer-a", 1, Kind::Sheet, "sh1", sheet1(40));
    assert_eq!(fx.apply(std::slice::from_ref(&first)).applied, 1);
    let before = fx.dump();
    let changes = fx.int("SELECT count(*) FROM changes");

    // The same number again, even with other content.
    let mut again = first.clone();
    again.payload = sheet1(0);
    let r = fx.apply(&[first, again]);
    assert_eq!((r.already, r.applied, r.refused.len()), (2, 0, 0), "{r:?}");
    assert_eq!(fx.dump(), before);
    assert_eq!(fx.int("SELECT count(*) FROM changes"), changes);
    assert_eq!(fx.int("SELECT count(*) FROM ops"), 1);

    // This device's own operation, coming back.
    let own = op(&fx.rules.self_id, 1, Kind::Sheet, "sh1", sheet1(0));
    let r = fx.apply(&[own]);
    assert_eq!((r.already, r.applied), (1, 0), "{r:?}");
    assert_eq!(fx.int("SELECT count(*) FROM ops"), 1);
    assert_eq!(fx.marks("sh1"), vec![("k1".to_string(), Some(40))]);
}

#[test]
fn a_number_too_far_ahead_is_refused_without_moving_the_watermark() {
    let fx = Fx::hub();
    let far = BACKLOG_CAP + 1;
    let r = fx.apply(&[op("scorer-a", far, Kind::Sheet, "sh1", sheet1(40))]);
    assert_refused(&fx, &r, "scorer-a", far, "seq_too_far", false);
    assert_eq!(detail(&r), format!("#{far} after #0"));
    assert_eq!(fx.watermark("scorer-a"), 0);
    assert_eq!(fx.backlog(), vec![]);
    assert_eq!(fx.int("SELECT count(*) FROM ops"), 0);

    // The last number within the cap is held.
    let r = fx.apply(&[op("scorer-a", BACKLOG_CAP, Kind::Sheet, "sh1", sheet1(40))]);
    assert_eq!((r.held, r.refused.len()), (1, 0), "{r:?}");
    assert_eq!(
        fx.backlog(),
        vec![("scorer-a".into(), BACKLOG_CAP, "gap".into())]
    );

    // Once #1 arrived, the far number is within reach and held like any other.
    let r = fx.apply(&[op("scorer-a", 1, Kind::Sheet, "sh1", sheet1(1))]);
    assert_eq!(r.applied, 1);
    let r = fx.apply(&[op("scorer-a", far, Kind::Sheet, "sh1", sheet1(40))]);
    assert_eq!((r.held, r.refused.len()), (1, 0), "{r:?}");
    assert_eq!(fx.backlog().len(), 2);
}

#[test]
fn a_full_backlog_refuses_new_held_ops_but_keeps_what_it_holds() {
    let fx = Fx::hub();
    // BACKLOG_CAP operations of scorer-a wait already (#3 ..= #2002; #1 and #2 are missing).
    fx.store
        .write_without_ops(now(), "test", |tx| {
            tx.conn().execute(
                "WITH RECURSIVE n(i) AS (SELECT 3 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 + 2)
                 INSERT INTO sync_backlog (origin, seq, op, reason, received_at)
                 SELECT 'scorer-a', i, '{}', 'gap', ?2 FROM n",
                params![BACKLOG_CAP, NOW],
            )?;
            Ok(())
        })
        .unwrap();
    assert_eq!(fx.int("SELECT count(*) FROM sync_backlog"), BACKLOG_CAP);

    let r = fx.apply(&[op("scorer-a", 2, Kind::Sheet, "sh1", sheet1(40))]);
    assert_refused(&fx, &r, "scorer-a", 2, "backlog_full", false);
    assert_eq!(
        detail(&r),
        format!("{BACKLOG_CAP} operations of this device wait already")
    );
    assert_eq!(fx.int("SELECT count(*) FROM sync_backlog"), BACKLOG_CAP);
    assert_eq!(fx.watermark("scorer-a"), 0);

    // One it holds already, sent again, is still held (not a new entry).
    let r = fx.apply(&[op("scorer-a", 5, Kind::Sheet, "sh1", sheet1(40))]);
    assert_eq!((r.held, r.refused.len()), (1, 0), "{r:?}");
    // Another origin is not affected.
    let r = fx.apply(&[op(
        "scorer-b",
        2,
        Kind::Sheet,
        "sh2",
        sheet("sh2", "s2", "t1", "draft", &[]),
    )]);
    assert_eq!((r.held, r.refused.len()), (1, 0), "{r:?}");
}

#[test]
fn an_op_waits_for_the_op_it_was_based_on() {
    let fx = Fx::hub();
    let base = OpRef {
        origin: "scorer-b".into(),
        seq: 1,
    };
    let r = fx.apply(&[based_on(
        op("scorer-a", 1, Kind::Sheet, "sh1", sheet1(40)),
        base,
    )]);
    assert_eq!(r.held, 1, "{r:?}");
    assert_eq!(
        fx.backlog(),
        vec![("scorer-a".into(), 1, "waiting_base".into())]
    );

    let r = fx.apply(&[op(
        "scorer-b",
        1,
        Kind::Sheet,
        "sh2",
        sheet("sh2", "s2", "t1", "draft", &[]),
    )]);
    assert_eq!((r.applied, r.released), (1, 1), "{r:?}");
    assert_eq!(fx.backlog(), vec![]);
    assert_eq!(fx.marks("sh1"), vec![("k1".to_string(), Some(40))]);
}

#[test]
fn nothing_remote_is_accepted_before_pairing() {
    let fx = Fx::hub();
    let unpaired = Rules {
        self_id: fx.rules.self_id.clone(),
        hub_id: None,
    };
    let r = fx.apply_with(
        &unpaired,
        &[op("scorer-a", 1, Kind::Sheet, "sh1", sheet1(40))],
    );
    assert_eq!((r.applied, r.held), (0, 1), "{r:?}");
    assert_eq!(
        fx.backlog(),
        vec![("scorer-a".into(), 1, "not_paired".into())]
    );
    // Paired, the next exchange applies it.
    let r = fx.apply(&[]);
    assert_eq!((r.applied, r.released), (0, 1), "{r:?}");
}

// ---------------------------------------------------------------------------------------
// Clocks

#[test]
fn an_op_stamped_days_ahead_is_refused_at_the_hub() {
    let fx = Fx::hub();
    let mut ahead = op("scorer-a", 1, Kind::Sheet, "sh1", sheet1(40));
    ahead.hlc = hlc_at(now_ms() + 48 * HOUR_MS, 0);
    let r = fx.apply(&[ahead]);
    assert_refused(&fx, &r, "scorer-a", 1, "clock_ahead", true);
    assert_eq!(fx.int("SELECT count(*) FROM sheets"), 0);
    assert_eq!(
        fx.hlc_last(),
        None,
        "a refused far clock does not move this one"
    );
    assert_eq!(fx.watermark("scorer-a"), 1);

    // Exactly the limit is still accepted, and moves this clock by the lead only.
    let mut edge = op("scorer-a", 2, Kind::Sheet, "sh1", sheet1(40));
    edge.hlc = hlc_at(now_ms() + MAX_CLOCK_AHEAD_MS, 0);
    let r = fx.apply(&[edge]);
    assert_eq!(r.applied, 1, "{r:?}");
    assert_eq!(fx.hlc_last(), Some(hlc_at(now_ms() + CLOCK_LEAD_MS, 1)));
}

#[test]
fn a_fast_clock_moves_this_clock_by_the_lead_at_most() {
    let fx = Fx::hub();
    let mut fast = op("scorer-a", 1, Kind::Sheet, "sh1", sheet1(40));
    fast.hlc = hlc_at(now_ms() + 3 * HOUR_MS, 7);
    let r = fx.apply(&[fast]);
    assert_eq!(r.applied, 1, "{r:?}");
    let last: Hlc = fx.hlc_last().unwrap().parse().unwrap();
    assert_eq!(
        last,
        Hlc {
            wall_ms: now_ms() + CLOCK_LEAD_MS,
            counter: 1
        }
    );
    assert!(last.wall_ms - now_ms() <= CLOCK_LEAD_MS);

    // Another device's clock a little ahead (within the lead) is followed as it is.
    let mut slight = op(
        "scorer-b",
        1,
        Kind::Sheet,
        "sh2",
        sheet("sh2", "s2", "t1", "draft", &[]),
    );
    slight.hlc = hlc_at(now_ms() + CLOCK_LEAD_MS, 9);
    assert_eq!(fx.apply(&[slight]).applied, 1);
    assert_eq!(fx.hlc_last(), Some(hlc_at(now_ms() + CLOCK_LEAD_MS, 10)));

    // The fast device's own clock never goes back: an operation stamped before its last one
    // is refused and never kept (it would reach laptops ahead of its predecessors).
    let mut back = op("scorer-a", 2, Kind::Sheet, "sh1", sheet1(41));
    back.hlc = hlc_at(now_ms(), 0);
    let r = fx.apply(&[back]);
    assert_refused(&fx, &r, "scorer-a", 2, "clock_backwards", false);
    assert_eq!(fx.watermark("scorer-a"), 1);
}

#[test]
fn a_malformed_clock_is_refused() {
    let fx = Fx::hub();
    let mut bad = op("scorer-a", 1, Kind::Sheet, "sh1", sheet1(40));
    bad.hlc = "yesterday".into();
    let r = fx.apply(&[bad]);
    assert_refused(&fx, &r, "scorer-a", 1, "bad_clock", true);
    assert_eq!(detail(&r), "hlc \"yesterday\"");
    assert_eq!(fx.int("SELECT count(*) FROM sheets"), 0);
}

// ---------------------------------------------------------------------------------------
// On a laptop: the hub's verdicts stand

#[test]
fn a_laptop_keeps_but_does_not_apply_what_the_hub_refused() {
    let fx = Fx::laptop();
    let r = fx.apply(&[relayed(
        op("scorer-b", 1, Kind::Sheet, "sh1", sheet1(40)),
        "refused",
    )]);
    assert_eq!((r.applied, r.refused_at_hub), (0, 1), "{r:?}");
    assert_eq!(
        r.refused,
        vec![],
        "the hub listed it; the laptop does not judge"
    );
    assert_eq!(fx.outcome("scorer-b", 1).as_deref(), Some("refused"));
    assert_eq!(fx.watermark("scorer-b"), 1);
    assert_eq!(fx.int("SELECT count(*) FROM sheets"), 0);
    assert_eq!(fx.int("SELECT count(*) FROM sync_issues"), 0);
}

#[test]
fn a_laptop_follows_the_hubs_photo_verdicts_in_any_order() {
    let fx = Fx::laptop();
    let h = hash();
    // The device whose metadata lost at the hub reaches this laptop first.
    let r = fx.apply(&[relayed(
        op("media-a", 1, Kind::Photo, &h, photo("b.jpg", "jpeg")),
        "superseded",
    )]);
    assert_eq!((r.applied, r.superseded), (0, 1), "{r:?}");
    assert_eq!(fx.outcome("media-a", 1).as_deref(), Some("superseded"));
    assert_eq!(fx.int("SELECT count(*) FROM photos"), 0);

    let r = fx.apply(&[relayed(
        op("scorer-a", 1, Kind::Photo, &h, photo("a.jpg", "jpeg")),
        "applied",
    )]);
    assert_eq!(r.applied, 1, "{r:?}");
    assert_eq!(
        fx.text("SELECT file_name FROM photos"),
        Some("a.jpg".into())
    );
}

#[test]
fn a_laptop_applies_what_the_hub_applied_without_judging_it_again() {
    let fx = Fx::laptop();
    // The laptop knows no scorer laptops and no assignments: the hub's verdict is enough, and
    // the hub's clock check is not repeated (but this clock still moves by the lead at most).
    let mut far = relayed(op("scorer-b", 1, Kind::Sheet, "sh1", sheet1(40)), "applied");
    far.hlc = hlc_at(now_ms() + 48 * HOUR_MS, 0);
    let r = fx.apply(&[far]);
    assert_eq!((r.applied, r.refused.len()), (1, 0), "{r:?}");
    assert_eq!(fx.marks("sh1"), vec![("k1".to_string(), Some(40))]);
    assert_eq!(fx.hlc_last(), Some(hlc_at(now_ms() + CLOCK_LEAD_MS, 1)));

    // The shape is still checked, even for the hub's own operations.
    let mut roster = fx.store.read(|c| snapshot(c, Kind::Roster, "*")).unwrap();
    set(&mut roster, "townships", 0, "secret", json!(1));
    let r = fx.apply(&[relayed(
        op(LAPTOP_HUB, 1, Kind::Roster, "*", roster),
        "applied",
    )]);
    assert_refused(&fx, &r, LAPTOP_HUB, 1, "bad_payload", true);
    assert_eq!(detail(&r), "townships.secret is not a column");
}

#[test]
fn the_hub_may_unlock_a_sheet_but_not_change_its_marks() {
    let fx = Fx::laptop();
    let submitted = sheet("sh1", "s1", "t1", "submitted", &[("k1", json!(40))]);
    assert_eq!(
        fx.apply(&[relayed(
            op("scorer-a", 1, Kind::Sheet, "sh1", submitted),
            "applied"
        )])
        .applied,
        1
    );
    let from_sheet = OpRef {
        origin: "scorer-a".into(),
        seq: 1,
    };
    // An operation of the hub's that did not pass through its verdicts (e.g. from a bundle).
    let r = fx.apply(&[based_on(
        op(LAPTOP_HUB, 1, Kind::Sheet, "sh1", sheet1(50)),
        from_sheet.clone(),
    )]);
    assert_refused(&fx, &r, LAPTOP_HUB, 1, "hub_changed_scores", true);
    assert_eq!(fx.marks("sh1"), vec![("k1".to_string(), Some(40))]);

    let mut unlock = sheet("sh1", "s1", "t1", "draft", &[("k1", json!(40))]);
    set(&mut unlock, "sheets", 0, "unlock_reason", json!("改错"));
    let r = fx.apply(&[based_on(
        op(LAPTOP_HUB, 2, Kind::Sheet, "sh1", unlock),
        from_sheet,
    )]);
    assert_eq!((r.applied, r.refused.len()), (1, 0), "{r:?}");
    assert_eq!(
        fx.text("SELECT status || '/' || unlock_reason FROM sheets WHERE id = 'sh1'"),
        Some("draft/改错".into())
    );
}

#[test]
fn a_sheet_for_a_township_not_yet_here_waits_for_the_roster() {
    let fx = Fx::laptop();
    let r = fx.apply(&[relayed(
        op(
            "scorer-a",
            1,
            Kind::Sheet,
            "sh9",
            sheet("sh9", "s1", "t9", "draft", &[("k1", json!(5))]),
        ),
        "applied",
    )]);
    assert_eq!((r.applied, r.held), (0, 1), "{r:?}");
    assert_eq!(
        fx.backlog(),
        vec![("scorer-a".into(), 1, "dependency".into())]
    );
    assert_eq!(fx.watermark("scorer-a"), 0);

    let mut roster = fx.store.read(|c| snapshot(c, Kind::Roster, "*")).unwrap();
    let mut t9 = roster["townships"][1].clone();
    t9["id"] = json!("t9");
    t9["code"] = json!("430100000009");
    t9["name"] = json!("九镇");
    roster["townships"].as_array_mut().unwrap().push(t9);
    let mut roster_op = relayed(op(LAPTOP_HUB, 1, Kind::Roster, "*", roster), "applied");
    roster_op.hlc = hlc_at(now_ms() - 30_000, 0);
    let r = fx.apply(&[roster_op]);
    assert_eq!((r.applied, r.released), (1, 1), "{r:?}");
    assert_eq!(fx.backlog(), vec![]);
    assert_eq!(fx.int("SELECT count(*) FROM townships"), 3);
    assert_eq!(fx.marks("sh9"), vec![("k1".to_string(), Some(5))]);
}

// ---------------------------------------------------------------------------------------
// Bugs found by these tests, fixed

#[test]
fn a_refused_photo_operation_does_not_claim_the_photo() {
    let fx = Fx::hub();
    let h = hash();
    let r = fx.apply(&[op("media-a", 1, Kind::Photo, &h, photo("x.gif", "gif"))]);
    assert_refused(&fx, &r, "media-a", 1, "not_applicable", true);
    let r = fx.apply(&[op("scorer-a", 1, Kind::Photo, &h, photo("a.jpg", "jpeg"))]);
    assert_eq!((r.applied, r.superseded), (1, 0), "{r:?}");
    assert_eq!(
        fx.text("SELECT file_name FROM photos"),
        Some("a.jpg".into())
    );
}

#[test]
fn an_operation_numbered_zero_is_refused_not_an_error() {
    let fx = Fx::hub();
    let r = fx
        .store
        .write_without_ops(now(), "sync", |tx| {
            apply_remote(
                tx,
                &fx.rules,
                &[
                    op("scorer-a", 0, Kind::Sheet, "sh1", sheet1(40)),
                    op(
                        "scorer-b",
                        1,
                        Kind::Sheet,
                        "sh2",
                        sheet("sh2", "s2", "t1", "draft", &[]),
                    ),
                ],
            )
        })
        .expect("a bad number is a refusal, not a failed batch");
    assert_eq!(r.applied, 1);
    assert_eq!(r.refused.len(), 1);
}

#[test]
fn a_refused_post_operation_does_not_claim_the_post() {
    let fx = Fx::hub();
    let r = fx.apply(&[op(
        "media-b",
        1,
        Kind::Post,
        "p1",
        post("p1", "retracted", 0, "抢占"),
    )]);
    assert_refused(&fx, &r, "media-b", 1, "bad_transition", true);
    let r = fx.apply(&[op(
        "media-a",
        1,
        Kind::Post,
        "p1",
        post("p1", "draft", 0, "作者稿"),
    )]);
    assert_eq!((r.applied, r.refused.len()), (1, 0), "{r:?}");
}

#[test]
fn a_device_whose_clock_runs_backwards_cannot_stall_everyone_elses_pull() {
    let hub = Fx::hub();
    let lap = Fx::laptop();
    let rules = Rules {
        self_id: lap.rules.self_id.clone(),
        hub_id: Some(hub.hub_id()),
    };
    let mut ops = vec![op(
        "scorer-b",
        1,
        Kind::Sheet,
        "sh2",
        sheet("sh2", "s2", "t1", "draft", &[("k2", json!(3))]),
    )];
    // scorer-a's #1 is stamped now, its #2..#4 long ago.
    let mut first = op("scorer-a", 1, Kind::Sheet, "sh1", sheet1(1));
    first.hlc = hlc_at(now_ms(), 0);
    ops.push(first);
    for seq in 2..=4 {
        let mut o = op("scorer-a", seq, Kind::Sheet, "sh1", sheet1(seq));
        o.hlc = hlc_at(1_000, seq);
        ops.push(o);
    }
    // #1 and the honest device's sheet apply; #2, stamped before #1, is refused and never
    // relayed (#3 and #4 wait behind it at the hub, within its cap).
    let r = hub.apply(&ops);
    assert_eq!((r.applied, r.refused.len()), (2, 1), "{r:?}");
    assert_eq!(r.refused[0].code, "clock_backwards");
    assert_eq!(
        (r.refused[0].op.origin.as_str(), r.refused[0].op.seq),
        ("scorer-a", 2)
    );

    // The laptop pulls pages of 3 until nothing moves, as the sync client does.
    for _ in 0..10 {
        let have = lap.store.read(watermarks).unwrap();
        let page = hub.store.read(|c| ops_after(c, &have, 3)).unwrap();
        if page.is_empty() {
            break;
        }
        let r = lap.apply_with(&rules, &page);
        if r.applied + r.released + r.superseded + r.refused_at_hub == 0 && r.refused.is_empty() {
            break;
        }
    }
    assert_eq!(
        lap.marks("sh2"),
        vec![("k2".to_string(), Some(3))],
        "the honest device's sheet reaches the laptop"
    );
}

// ---------------------------------------------------------------------------------------
// Comments and moderators' decisions

/// Comment `id` as the device that runs the site sends it: the number masked.
fn comment_record(id: &str) -> Value {
    json!({ "comments": [{
        "id": id, "target": "event", "nickname": "宜阳居民", "kind": "suggestion",
        "text": "建议增加停车位", "township_id": "t1", "phone_masked": "138****5678",
        "phone_verified": false, "flagged_words": ["停车"], "status": "pending",
        "created_at": NOW,
    }]})
}

/// A moderator's decision on `id`, with the state it leaves.
fn decision(id: &str, action: &str, log_id: &str) -> Value {
    let reason = "与观摩会内容无关";
    let (status, pinned, reject_reason, why) = match action {
        "reject" => ("rejected", false, json!(reason), json!(reason)),
        "pin" => ("approved", true, Value::Null, Value::Null),
        _ => ("approved", false, Value::Null, Value::Null),
    };
    json!({ "comment_decisions": [{
        "comment_id": id, "action": action, "status": status, "pinned": pinned,
        "reject_reason": reject_reason, "decided_at": NOW, "decided_by": "审核员",
        "log_id": log_id, "log_at": NOW, "actor": "审核员", "reason": why,
    }]})
}

impl Fx {
    fn grant(&self, device: &str, on: bool) {
        self.store
            .write_without_ops(now(), "organiser", |tx| {
                trust::set_moderator(tx, device, on)
            })
            .unwrap();
    }

    /// `(status, pinned)` of a comment.
    fn comment_state(&self, id: &str) -> Option<(String, i64)> {
        self.store
            .read(|c| {
                Ok(c.query_row(
                    "SELECT status, pinned FROM comments WHERE id = ?1",
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?)
            })
            .unwrap()
    }

    /// The hub with comment `c1` from the media laptop's site, and scorer-a and media-b
    /// granted 审核.
    fn hub_with_comment() -> Fx {
        let fx = Fx::hub();
        let r = fx.apply(&[op("media-a", 1, Kind::Comment, "c1", comment_record("c1"))]);
        assert_eq!(r.applied, 1, "{r:?}");
        fx.grant("scorer-a", true);
        fx.grant("media-b", true);
        fx
    }
}

#[test]
fn check_payload_refuses_malformed_comment_records_and_a_full_number_writing_nothing() {
    let fx = Fx::hub();
    let good = comment_record("c1");
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut bend = |what: &'static str, f: &dyn Fn(&mut Value)| {
        let mut p = good.clone();
        f(&mut p);
        cases.push((what, p));
    };
    bend("full number", &|p| {
        p["comments"][0]["phone_masked"] = json!("13812345678")
    });
    bend("half masked", &|p| {
        p["comments"][0]["phone_masked"] = json!("1381234****")
    });
    bend("the number beside", &|p| {
        p["comments"][0]["phone"] = json!("13812345678")
    });
    bend("the phone key", &|p| {
        p["comments"][0]["client_key"] = json!("k1")
    });
    bend("the peer", &|p| {
        p["comments"][0]["peer"] = json!("10.0.0.9")
    });
    bend("no nickname", &|p| {
        p["comments"][0].as_object_mut().unwrap().remove("nickname");
    });
    bend("two rows", &|p| {
        let row = p["comments"][0].clone();
        p["comments"].as_array_mut().unwrap().push(row);
    });
    bend("no rows", &|p| p["comments"] = json!([]));
    bend("another table", &|p| p["mutes"] = json!([]));
    bend("approved at birth", &|p| {
        p["comments"][0]["status"] = json!("approved")
    });
    bend("another id", &|p| p["comments"][0]["id"] = json!("c2"));
    bend("long text", &|p| {
        p["comments"][0]["text"] = json!("字".repeat(501))
    });
    bend("long nickname", &|p| {
        p["comments"][0]["nickname"] = json!("名".repeat(21))
    });
    bend("bad kind", &|p| p["comments"][0]["kind"] = json!("spam"));
    bend("bad time", &|p| {
        p["comments"][0]["created_at"] = json!("yesterday")
    });
    bend("words as text", &|p| {
        p["comments"][0]["flagged_words"] = json!("停车")
    });
    for (seq, (what, payload)) in (1..).zip(cases) {
        let r = fx.apply(&[op("media-a", seq, Kind::Comment, "c1", payload)]);
        assert_eq!(r.refused.len(), 1, "{what}: {r:?}");
        assert_eq!(r.refused[0].code, "bad_payload", "{what}");
        assert_eq!(fx.int("SELECT count(*) FROM comments"), 0, "{what}");
    }
    assert!(
        fx.int("SELECT count(*) FROM ops WHERE payload LIKE '%13812345678%'") > 0,
        "the refused operations are kept in the log for a person to see"
    );
}

#[test]
fn a_comment_comes_only_from_a_device_that_runs_the_site_and_is_kept_masked() {
    let fx = Fx::hub();
    let r = fx.apply(&[op("scorer-a", 1, Kind::Comment, "c1", comment_record("c1"))]);
    assert_refused(&fx, &r, "scorer-a", 1, "wrong_role", true);
    assert_eq!(detail(&r), "scorer may not send comment");
    assert_eq!(fx.int("SELECT count(*) FROM comments"), 0);

    let r = fx.apply(&[op("media-a", 1, Kind::Comment, "c1", comment_record("c1"))]);
    assert_eq!(r.applied, 1, "{r:?}");
    let row: (
        Option<String>,
        String,
        Option<String>,
        Option<String>,
        String,
        String,
    ) = fx
        .store
        .read(|c| {
            Ok(c.query_row(
                "SELECT phone, phone_masked, client_key, peer, status, handling FROM comments
                 WHERE id = 'c1'",
                [],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )?)
        })
        .unwrap();
    assert_eq!(
        row,
        (
            None,
            "138****5678".into(),
            None,
            None,
            "pending".into(),
            "open".into()
        )
    );
    let c = fx.store.read(|c| crate::comments::get(c, "c1")).unwrap();
    assert_eq!(c.phone_masked, "138****5678");
    assert!(
        fx.store
            .read(|c| crate::comments::phone_of(c, "c1"))
            .is_err(),
        "a replica has no number to mute or export"
    );
    // The moderation queue hears of it like a local comment.
    assert_eq!(
        fx.text("SELECT op FROM changes WHERE entity = 'comment' ORDER BY seq DESC LIMIT 1"),
        Some("submit".into())
    );
    // A comment never changes once made, whoever sends it again.
    let mut other = comment_record("c1");
    other["comments"][0]["text"] = json!("改过的内容");
    let r = fx.apply(&[op("media-b", 1, Kind::Comment, "c1", other)]);
    assert_refused(&fx, &r, "media-b", 1, "comment_exists", true);
    assert_eq!(
        fx.text("SELECT text FROM comments WHERE id = 'c1'"),
        Some("建议增加停车位".into())
    );
}

#[test]
fn a_decision_needs_the_hubs_grant_and_a_revoked_moderators_later_one_is_refused() {
    let fx = Fx::hub_with_comment();
    let r = fx.apply(&[op(
        "scorer-b",
        1,
        Kind::CommentDecision,
        "c1",
        decision("c1", "approve", "l1"),
    )]);
    assert_refused(&fx, &r, "scorer-b", 1, "not_moderator", true);
    let r = fx.apply(&[op(
        "media-a",
        2,
        Kind::CommentDecision,
        "c1",
        decision("c1", "approve", "l1"),
    )]);
    assert_refused(&fx, &r, "media-a", 2, "not_moderator", true);
    assert_eq!(fx.comment_state("c1"), Some(("pending".into(), 0)));
    assert_eq!(fx.int("SELECT count(*) FROM moderation_log"), 0);

    // Granted: applied, with the moderation record's line and the public change.
    let r = fx.apply(&[op(
        "scorer-a",
        1,
        Kind::CommentDecision,
        "c1",
        decision("c1", "approve", "l1"),
    )]);
    assert_eq!(r.applied, 1, "{r:?}");
    assert_eq!(fx.comment_state("c1"), Some(("approved".into(), 0)));
    assert_eq!(
        fx.text("SELECT action || ' ' || actor FROM moderation_log WHERE id = 'l1'"),
        Some("approve 审核员".into())
    );
    assert_eq!(
        fx.text("SELECT op FROM changes WHERE entity = 'comment' ORDER BY seq DESC LIMIT 1"),
        Some("approve".into()),
        "the resident page's version moves"
    );

    // Revoked: its next decision (which saw the first) is refused, nothing changes.
    fx.grant("scorer-a", false);
    let pin = based_on(
        op(
            "scorer-a",
            2,
            Kind::CommentDecision,
            "c1",
            decision("c1", "pin", "l2"),
        ),
        OpRef {
            origin: "scorer-a".into(),
            seq: 1,
        },
    );
    let r = fx.apply(&[pin]);
    assert_refused(&fx, &r, "scorer-a", 2, "not_moderator", true);
    assert_eq!(fx.comment_state("c1"), Some(("approved".into(), 0)));
    // A revoked device loses the role with its pairing too.
    fx.grant("revoked", true);
    assert!(!fx
        .store
        .read(|c| trust::is_moderator(c, "revoked"))
        .unwrap());
    assert_eq!(
        fx.store.read(trust::moderators).unwrap(),
        vec!["media-b".to_string(), "revoked".to_string()]
    );
}

#[test]
fn check_payload_refuses_malformed_decisions_and_the_state_machine_holds() {
    let fx = Fx::hub_with_comment();
    let good = decision("c1", "reject", "l1");
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut bend = |what: &'static str, f: &dyn Fn(&mut Value)| {
        let mut p = good.clone();
        f(&mut p);
        cases.push((what, p));
    };
    bend("no reason", &|p| {
        p["comment_decisions"][0]["reason"] = Value::Null
    });
    bend("no reject reason", &|p| {
        p["comment_decisions"][0]["reject_reason"] = Value::Null
    });
    bend("rejected yet approved", &|p| {
        p["comment_decisions"][0]["status"] = json!("approved")
    });
    bend("rejected and pinned", &|p| {
        p["comment_decisions"][0]["pinned"] = json!(true)
    });
    bend("an appeal", &|p| {
        p["comment_decisions"][0]["action"] = json!("appeal")
    });
    bend("a mute", &|p| {
        p["comment_decisions"][0]["action"] = json!("mute")
    });
    bend("another comment", &|p| {
        p["comment_decisions"][0]["comment_id"] = json!("c2")
    });
    bend("the number", &|p| {
        p["comment_decisions"][0]["phone"] = json!("13812345678")
    });
    bend("long reason", &|p| {
        p["comment_decisions"][0]["reason"] = json!("理".repeat(201))
    });
    bend("no log id", &|p| {
        p["comment_decisions"][0]["log_id"] = json!("")
    });
    bend("pinned as text", &|p| {
        p["comment_decisions"][0]["pinned"] = json!(0)
    });
    bend("another table", &|p| {
        p["comments"] = comment_record("c1")["comments"].clone()
    });
    for (seq, (what, payload)) in (1..).zip(cases) {
        let r = fx.apply(&[op("scorer-a", seq, Kind::CommentDecision, "c1", payload)]);
        assert_eq!(r.refused.len(), 1, "{what}: {r:?}");
        assert_eq!(r.refused[0].code, "bad_payload", "{what}");
        assert_eq!(
            fx.comment_state("c1"),
            Some(("pending".into(), 0)),
            "{what}"
        );
    }
    assert_eq!(fx.int("SELECT count(*) FROM moderation_log"), 0);

    // Well formed, but not what the state machine allows from here.
    let r = fx.apply(&[op(
        "scorer-a",
        13,
        Kind::CommentDecision,
        "c1",
        decision("c1", "pin", "l1"),
    )]);
    assert_refused(&fx, &r, "scorer-a", 13, "bad_transition", true);
    let r = fx.apply(&[op(
        "scorer-a",
        14,
        Kind::CommentDecision,
        "c9",
        decision("c9", "approve", "l1"),
    )]);
    assert_refused(&fx, &r, "scorer-a", 14, "unknown_comment", true);
    assert_eq!(fx.comment_state("c1"), Some(("pending".into(), 0)));
}

#[test]
fn of_two_decisions_made_apart_the_first_to_reach_the_hub_stands() {
    let fx = Fx::hub_with_comment();
    let r = fx.apply(&[op(
        "scorer-a",
        1,
        Kind::CommentDecision,
        "c1",
        decision("c1", "approve", "la"),
    )]);
    assert_eq!(r.applied, 1, "{r:?}");
    // media-b rejected without having seen the approval: kept, not applied, listed, and
    // reported back to its sender as refused.
    let r = fx.apply(&[op(
        "media-b",
        1,
        Kind::CommentDecision,
        "c1",
        decision("c1", "reject", "lb"),
    )]);
    assert_eq!((r.applied, r.superseded), (0, 1), "{r:?}");
    assert_eq!(r.refused.len(), 1);
    assert_eq!(r.refused[0].code, "decision_conflict");
    assert_eq!(r.conflicts.len(), 1);
    assert_eq!(
        fx.comment_state("c1"),
        Some(("approved".into(), 0)),
        "never flips"
    );
    assert_eq!(fx.outcome("media-b", 1).as_deref(), Some("superseded"));
    assert_eq!(
        fx.issue_of("media-b", 1),
        Some(("conflict".into(), "decision_conflict".into()))
    );
    let other: (String, i64) = fx
        .store
        .read(|c| {
            Ok(c.query_row(
                "SELECT other_origin, other_seq FROM sync_issues WHERE op_origin = 'media-b'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .unwrap();
    assert_eq!(
        other,
        ("scorer-a".into(), 1),
        "names the decision that stands"
    );
    assert_eq!(
        fx.int("SELECT count(*) FROM moderation_log WHERE id = 'lb'"),
        0
    );
    assert_eq!(
        fx.head(Kind::CommentDecision, "c1"),
        Some(OpRef {
            origin: "scorer-a".into(),
            seq: 1
        })
    );
    // The same decision made apart changes nothing and is no conflict.
    let r = fx.apply(&[op(
        "media-b",
        2,
        Kind::CommentDecision,
        "c1",
        decision("c1", "approve", "lc"),
    )]);
    assert_eq!(
        (r.applied, r.superseded, r.refused.len()),
        (0, 1, 0),
        "{r:?}"
    );
    assert_eq!(fx.issue_of("media-b", 2), None);
    // A decision made after seeing the one that stands goes through.
    let pin = based_on(
        op(
            "media-b",
            3,
            Kind::CommentDecision,
            "c1",
            decision("c1", "pin", "ld"),
        ),
        OpRef {
            origin: "scorer-a".into(),
            seq: 1,
        },
    );
    let r = fx.apply(&[pin]);
    assert_eq!(r.applied, 1, "{r:?}");
    assert_eq!(fx.comment_state("c1"), Some(("approved".into(), 1)));
}

#[test]
fn a_laptop_stores_comments_masked_and_follows_the_hubs_verdicts_on_decisions() {
    let fx = Fx::laptop();
    let hub = fx.hub_id();
    let r = fx.apply(&[relayed(
        op(&hub, 1, Kind::Comment, "c1", comment_record("c1")),
        "applied",
    )]);
    assert_eq!(r.applied, 1, "{r:?}");
    assert_eq!(
        fx.text("SELECT phone_masked FROM comments"),
        Some("138****5678".into())
    );
    // Even from the hub, a full number is never taken in.
    let mut full = comment_record("c2");
    full["comments"][0]["phone_masked"] = json!("13812345678");
    let r = fx.apply(&[relayed(op(&hub, 2, Kind::Comment, "c2", full), "applied")]);
    assert_eq!(r.refused.len(), 1, "{r:?}");
    assert_eq!(fx.int("SELECT count(*) FROM comments"), 1);

    // The hub kept another decision: this one is not applied here either.
    let lost = relayed(
        op(
            "media-b",
            1,
            Kind::CommentDecision,
            "c1",
            decision("c1", "reject", "lb"),
        ),
        "superseded",
    );
    let won = relayed(
        op(
            "scorer-a",
            1,
            Kind::CommentDecision,
            "c1",
            decision("c1", "approve", "la"),
        ),
        "applied",
    );
    let r = fx.apply(&[lost, won]);
    assert_eq!((r.applied, r.superseded), (1, 1), "{r:?}");
    assert_eq!(fx.comment_state("c1"), Some(("approved".into(), 0)));
    assert_eq!(fx.int("SELECT count(*) FROM moderation_log"), 1);
    // A decision on a comment this laptop never received (one from before comments
    // replicated) does not hold up what comes after it.
    let r = fx.apply(&[relayed(
        op(
            &hub,
            3,
            Kind::CommentDecision,
            "c0",
            decision("c0", "approve", "l0"),
        ),
        "applied",
    )]);
    assert_eq!((r.held, r.superseded), (0, 1), "{r:?}");
    assert_eq!(fx.watermark(&hub), 3);
}

#[test]
fn a_comment_and_a_decision_written_here_append_their_records_masked() {
    use guanmo_domain::comments::{transition, CommentInput, CommentKind, ModAction};
    let fx = Fx::hub();
    let input = CommentInput {
        target: "event".into(),
        nickname: "宜阳居民".into(),
        kind: CommentKind::Praise,
        text: "为美丽宜阳点赞!".into(),
        township_id: None,
        phone: "13812345678".into(),
    };
    let id = fx
        .store
        .write(now(), "resident", |tx| {
            crate::comments::insert(
                tx,
                &crate::comments::NewComment {
                    input: &input,
                    client_key: "key-of-the-phone",
                    peer: "10.1.2.3",
                    flagged: &[],
                    verified: true,
                },
            )
        })
        .unwrap();
    let me = fx.store.device_id().to_string();
    let ops = fx.store.read(|c| own_ops_after(c, &me, 0, 10)).unwrap();
    assert_eq!(ops.len(), 1);
    assert_eq!(
        (ops[0].kind.as_str(), ops[0].entity_id.as_str()),
        ("comment", id.as_str())
    );
    let text = ops[0].payload.to_string();
    assert!(text.contains("138****5678"), "{text}");
    for secret in ["13812345678", "key-of-the-phone", "10.1.2.3"] {
        assert!(
            !text.contains(secret),
            "{secret} left the site host: {text}"
        );
    }
    assert!(crate::comments::parse_record(&id, &ops[0].payload).is_ok());
    assert_eq!(fx.head(Kind::Comment, &id), None, "a comment needs no head");

    let current = fx.store.read(|c| crate::comments::get(c, &id)).unwrap();
    let next = transition(current.mod_state(), ModAction::Reject).unwrap();
    fx.store
        .write(now(), "审核员", |tx| {
            crate::comments::set_state(tx, &current, next, "reject", Some("信息不实"))
        })
        .unwrap();
    let ops = fx.store.read(|c| own_ops_after(c, &me, 1, 10)).unwrap();
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].kind, "comment_decision");
    let d = crate::comments::parse_decision(&id, &ops[0].payload).unwrap();
    assert_eq!(
        (
            d.action.as_str(),
            d.status.as_str(),
            d.reason.as_deref(),
            d.actor.as_str()
        ),
        ("reject", "rejected", Some("信息不实"), "审核员")
    );
    // An appeal is the resident's, at the site host: it replicates as a step of the
    // comment's decision chain, built on the rejection, the reason's number masked.
    let current = fx.store.read(|c| crate::comments::get(c, &id)).unwrap();
    let next = transition(current.mod_state(), ModAction::Appeal).unwrap();
    fx.store
        .write(now(), "resident", |tx| {
            crate::comments::set_state(tx, &current, next, "appeal", Some("请再看看13812345678"))
        })
        .unwrap();
    let ops = fx.store.read(|c| own_ops_after(c, &me, 2, 10)).unwrap();
    assert_eq!(ops.len(), 1);
    assert_eq!(
        (ops[0].kind.as_str(), ops[0].base.as_ref().map(|b| b.seq)),
        ("comment_appeal", Some(2))
    );
    let a = crate::comments::parse_appeal(&id, &ops[0].payload).unwrap();
    assert_eq!(
        (a.reason.as_str(), a.actor.as_str()),
        ("请再看看138****5678", "resident")
    );
    assert_eq!(
        fx.head(Kind::CommentDecision, &id),
        Some(ops[0].id()),
        "the next decision builds on the appeal"
    );
}

fn handling_record(id: &str, action: &str, log_id: &str) -> Value {
    let (handling, reply) = match action {
        "reply" => ("answered", json!("已协调解决")),
        _ => ("in_progress", Value::Null),
    };
    json!({ "comment_handling": [{
        "comment_id": id, "action": action, "handling": handling, "assigned_to": "t1",
        "assigned_at": NOW, "assigned_by": "审核员", "reply": reply,
        "replied_at": if action == "reply" { json!(NOW) } else { Value::Null },
        "replied_by": if action == "reply" { json!("审核员") } else { Value::Null },
        "log_id": log_id, "log_at": NOW, "actor": "审核员",
    }]})
}

fn area_record(open: bool, log_id: &str) -> Value {
    json!({ "comment_area": [{
        "open": open, "reason": "活动结束", "log_id": log_id, "log_at": NOW, "actor": "审核员",
    }]})
}

fn word_record(word: &str, present: bool) -> Value {
    json!({ "sensitive_words": [{
        "word": word, "present": present,
        "added_at": if present { json!(NOW) } else { Value::Null },
        "added_by": if present { json!("审核员") } else { Value::Null },
    }]})
}

#[test]
fn malformed_follow_ups_area_switches_and_words_are_refused_writing_nothing() {
    let fx = Fx::hub_with_comment();
    let mut cases: Vec<(&str, Kind, &str, Value)> = Vec::new();
    let mut bend =
        |what: &'static str, kind: Kind, id: &'static str, good: Value, f: &dyn Fn(&mut Value)| {
            let mut p = good;
            f(&mut p);
            cases.push((what, kind, id, p));
        };
    let h = || handling_record("c1", "assign", "l1");
    let a = || area_record(false, "l1");
    let w = || word_record("停车", true);
    bend(
        "answered without a reply",
        Kind::CommentHandling,
        "c1",
        h(),
        &|p| p["comment_handling"][0]["handling"] = json!("answered"),
    );
    bend(
        "a reply that is not answered",
        Kind::CommentHandling,
        "c1",
        h(),
        &|p| p["comment_handling"][0]["reply"] = json!("好"),
    );
    bend("handed to nobody", Kind::CommentHandling, "c1", h(), &|p| {
        p["comment_handling"][0]["assigned_to"] = json!("")
    });
    bend(
        "a follow-up of another comment",
        Kind::CommentHandling,
        "c1",
        h(),
        &|p| p["comment_handling"][0]["comment_id"] = json!("c2"),
    );
    bend(
        "an unknown action",
        Kind::CommentHandling,
        "c1",
        h(),
        &|p| p["comment_handling"][0]["action"] = json!("mute"),
    );
    bend(
        "the number beside",
        Kind::CommentHandling,
        "c1",
        h(),
        &|p| p["comment_handling"][0]["phone"] = json!("13812345678"),
    );
    bend(
        "a long reply",
        Kind::CommentHandling,
        "c1",
        handling_record("c1", "reply", "l1"),
        &|p| p["comment_handling"][0]["reply"] = json!("复".repeat(2001)),
    );
    bend("the area as text", Kind::CommentArea, "area", a(), &|p| {
        p["comment_area"][0]["open"] = json!("no")
    });
    bend("another area", Kind::CommentArea, "area2", a(), &|_| {});
    bend(
        "a number in the reason",
        Kind::CommentArea,
        "area",
        a(),
        &|p| p["comment_area"][0]["reason"] = json!("禁言13812345678"),
    );
    bend("a phone key beside", Kind::CommentArea, "area", a(), &|p| {
        p["comment_area"][0]["client_key"] = json!("phone-key-1")
    });
    bend("two rows", Kind::CommentArea, "area", a(), &|p| {
        let row = p["comment_area"][0].clone();
        p["comment_area"].as_array_mut().unwrap().push(row);
    });
    bend("another word", Kind::CommentWord, "停车", w(), &|p| {
        p["sensitive_words"][0]["word"] = json!("收费")
    });
    bend(
        "not folded",
        Kind::CommentWord,
        "ＡＢ",
        word_record("ＡＢ", true),
        &|_| {},
    );
    bend(
        "a full number as a word",
        Kind::CommentWord,
        "13812345678",
        word_record("13812345678", true),
        &|_| {},
    );
    bend(
        "present without when",
        Kind::CommentWord,
        "停车",
        w(),
        &|p| p["sensitive_words"][0]["added_at"] = Value::Null,
    );
    bend("too long", Kind::CommentWord, "长", w(), &|p| {
        p["sensitive_words"][0]["word"] = json!("长".repeat(51))
    });
    for (seq, (what, kind, id, payload)) in (1..).zip(cases) {
        let r = fx.apply(&[op("scorer-a", seq, kind, id, payload)]);
        assert_eq!(r.refused.len(), 1, "{what}: {r:?}");
        assert_eq!(r.refused[0].code, "bad_payload", "{what}");
    }
    assert_eq!(fx.int("SELECT count(*) FROM moderation_log"), 0);
    assert_eq!(fx.int("SELECT count(*) FROM sensitive_words"), 0);
    assert_eq!(
        fx.int("SELECT count(*) FROM comments WHERE assigned_to IS NOT NULL"),
        0
    );
    assert!(fx.store.read(crate::comments::area_open).unwrap());
}

#[test]
fn follow_ups_the_area_and_words_need_the_grant_and_keep_their_rules() {
    let fx = Fx::hub_with_comment();
    // Without 审核 (media-a runs the site but holds no grant): refused.
    for (seq, (kind, id, payload)) in (1..).zip([
        (
            Kind::CommentHandling,
            "c1",
            handling_record("c1", "assign", "l1"),
        ),
        (Kind::CommentArea, "area", area_record(false, "l2")),
        (Kind::CommentWord, "停车", word_record("停车", true)),
    ]) {
        let r = fx.apply(&[op("media-a", seq + 1, kind, id, payload)]);
        assert_refused(&fx, &r, "media-a", seq + 1, "not_moderator", true);
    }
    // Granted: 交办 to a township that is not on the roster is refused; to one that is,
    // applied; the reply builds on it.
    let mut bad = handling_record("c1", "assign", "l0");
    bad["comment_handling"][0]["assigned_to"] = json!("t-nowhere");
    let r = fx.apply(&[op("scorer-a", 1, Kind::CommentHandling, "c1", bad)]);
    assert_refused(&fx, &r, "scorer-a", 1, "unknown_township", true);
    let r = fx.apply(&[op(
        "scorer-a",
        2,
        Kind::CommentHandling,
        "c1",
        handling_record("c1", "assign", "l1"),
    )]);
    assert_eq!(r.applied, 1, "{r:?}");
    let reply = based_on(
        op(
            "media-b",
            1,
            Kind::CommentHandling,
            "c1",
            handling_record("c1", "reply", "l2"),
        ),
        OpRef {
            origin: "scorer-a".into(),
            seq: 2,
        },
    );
    let r = fx.apply(&[reply]);
    assert_eq!(r.applied, 1, "{r:?}");
    assert_eq!(
        fx.text(
            "SELECT handling || ' ' || assigned_to || ' ' || reply FROM comments WHERE id = 'c1'"
        ),
        Some("answered t1 已协调解决".into())
    );
    assert_eq!(
        fx.text("SELECT op FROM changes WHERE entity = 'comment' ORDER BY seq DESC LIMIT 1"),
        Some("reply".into()),
        "the resident page's version moves"
    );
    // 保留 of a comment that is not shown: bad_transition.
    let mut keep = decision("c1", "approve", "l3");
    keep["comment_decisions"][0]["action"] = json!("dismiss_reports");
    let r = fx.apply(&[op("scorer-a", 3, Kind::CommentDecision, "c1", keep)]);
    assert_refused(&fx, &r, "scorer-a", 3, "bad_transition", true);

    // The area: closed by one moderator; the other's close made apart changes nothing and is
    // not listed; an open made apart is listed and refused.
    let r = fx.apply(&[op(
        "scorer-a",
        4,
        Kind::CommentArea,
        "area",
        area_record(false, "l4"),
    )]);
    assert_eq!(r.applied, 1, "{r:?}");
    assert!(!fx.store.read(crate::comments::area_open).unwrap());
    let r = fx.apply(&[op(
        "media-b",
        2,
        Kind::CommentArea,
        "area",
        area_record(false, "l5"),
    )]);
    assert_eq!((r.applied, r.refused.len()), (0, 0), "{r:?}");
    let r = fx.apply(&[op(
        "media-b",
        3,
        Kind::CommentArea,
        "area",
        area_record(true, "l6"),
    )]);
    assert_eq!(r.refused[0].code, "decision_conflict", "{r:?}");
    assert!(!fx.store.read(crate::comments::area_open).unwrap());

    // Words: set operations; the same word twice is one word.
    let r = fx.apply(&[op(
        "scorer-a",
        5,
        Kind::CommentWord,
        "停车",
        word_record("停车", true),
    )]);
    assert_eq!(r.applied, 1, "{r:?}");
    let again = based_on(
        op(
            "media-b",
            4,
            Kind::CommentWord,
            "停车",
            word_record("停车", true),
        ),
        OpRef {
            origin: "scorer-a".into(),
            seq: 5,
        },
    );
    assert_eq!(fx.apply(&[again]).applied, 1);
    assert_eq!(
        fx.int("SELECT count(*) FROM sensitive_words WHERE word = '停车'"),
        1
    );
    let gone = based_on(
        op(
            "scorer-a",
            6,
            Kind::CommentWord,
            "停车",
            word_record("停车", false),
        ),
        OpRef {
            origin: "media-b".into(),
            seq: 4,
        },
    );
    assert_eq!(fx.apply(&[gone]).applied, 1);
    assert_eq!(fx.int("SELECT count(*) FROM sensitive_words"), 0);
}

#[test]
fn follow_ups_the_area_and_words_written_here_append_their_records() {
    let fx = Fx::hub_with_comment();
    fx.store
        .write(now(), "审核员", |tx| {
            let c = crate::comments::get(tx.conn(), "c1")?;
            crate::comments::assign(tx, &c, "t1")?;
            crate::comments::set_area_open(tx, false, Some("活动结束"))?;
            crate::comments::add_words(tx, &["停车".to_string(), "收费".to_string()])?;
            crate::comments::add_words(tx, &["停车".to_string()])
        })
        .unwrap();
    let me = fx.store.device_id().to_string();
    let ops = fx.store.read(|c| own_ops_after(c, &me, 0, 10)).unwrap();
    let mut kinds: Vec<String> = ops
        .iter()
        .map(|o| format!("{}:{}", o.kind, o.entity_id))
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "comment_area:area",
            "comment_handling:c1",
            "comment_word:停车",
            "comment_word:收费"
        ],
        "the second add of a word changes nothing and sends nothing"
    );
    let payload = fx
        .store
        .read(|c| snapshot(c, Kind::CommentHandling, "c1"))
        .unwrap();
    let h = crate::comments::parse_handling("c1", &payload).unwrap();
    assert_eq!(
        (
            h.action.as_str(),
            h.handling.as_str(),
            h.assigned_to.as_str()
        ),
        ("assign", "in_progress", "t1")
    );
    let payload = fx
        .store
        .read(|c| snapshot(c, Kind::CommentArea, "area"))
        .unwrap();
    let a = crate::comments::parse_area("area", &payload).unwrap();
    assert_eq!((a.open, a.reason.as_deref()), (false, Some("活动结束")));
}

/// A mute (or its lifting) of the author of `id`, made on a moderator's laptop.
fn mute_record(id: &str, muted: bool, hide: bool, log_id: &str) -> Value {
    json!({ "comment_mutes": [{
        "comment_id": id, "muted": muted,
        "until": if muted { json!("2026-12-11T08:00:00.000Z") } else { Value::Null },
        "reason": if muted { json!("刷屏") } else { Value::Null },
        "hide_comments": hide, "phone_masked": "138****5678",
        "log_id": log_id, "log_at": NOW, "actor": "审核员",
    }]})
}

impl Fx {
    /// A comment taken by this device's own site from `phone` on the phone key `key`,
    /// approved.
    fn site_comment(&self, phone: &str, key: &str) -> String {
        let input = guanmo_domain::comments::CommentInput {
            target: "event".into(),
            nickname: "宜阳居民".into(),
            kind: guanmo_domain::comments::CommentKind::Praise,
            text: "家乡变化真大".into(),
            township_id: None,
            phone: phone.into(),
        };
        self.store
            .write(now(), "居民", |tx| {
                let id = crate::comments::insert(
                    tx,
                    &crate::comments::NewComment {
                        input: &input,
                        client_key: key,
                        peer: "10.0.0.9",
                        flagged: &[],
                        verified: false,
                    },
                )?;
                tx.conn().execute(
                    "UPDATE comments SET status = 'approved' WHERE id = ?1",
                    [&id],
                )?;
                Ok(id)
            })
            .unwrap()
    }

    fn public_count(&self) -> usize {
        self.store
            .read(|c| crate::comments::public(c, None, 50, NOW))
            .unwrap()
            .len()
    }
}

#[test]
fn malformed_mutes_and_a_full_number_are_refused_writing_nothing() {
    let fx = Fx::hub_with_comment();
    let good = || mute_record("c1", true, true, "l1");
    let mut cases: Vec<(&str, &str, Value)> = Vec::new();
    let mut bend = |what: &'static str, id: &'static str, good: Value, f: &dyn Fn(&mut Value)| {
        let mut p = good;
        f(&mut p);
        cases.push((what, id, p));
    };
    bend("the full number", "c1", good(), &|p| {
        p["comment_mutes"][0]["phone_masked"] = json!("13812345678")
    });
    bend("the number beside", "c1", good(), &|p| {
        p["comment_mutes"][0]["phone"] = json!("13812345678")
    });
    bend("a phone key beside", "c1", good(), &|p| {
        p["comment_mutes"][0]["client_keys"] = json!(["k1"])
    });
    bend("a number in the reason", "c1", good(), &|p| {
        p["comment_mutes"][0]["reason"] = json!("13812345678刷屏")
    });
    bend("a number as the actor", "c1", good(), &|p| {
        p["comment_mutes"][0]["actor"] = json!("13812345678")
    });
    bend("half masked", "c1", good(), &|p| {
        p["comment_mutes"][0]["phone_masked"] = json!("1381234****")
    });
    bend("muted without an end", "c1", good(), &|p| {
        p["comment_mutes"][0]["until"] = Value::Null
    });
    bend("an end that is not a time", "c1", good(), &|p| {
        p["comment_mutes"][0]["until"] = json!("next week")
    });
    bend("an end years away", "c1", good(), &|p| {
        p["comment_mutes"][0]["until"] = json!("9999-12-31T00:00:00.000Z")
    });
    bend("an end before it was decided", "c1", good(), &|p| {
        p["comment_mutes"][0]["until"] = json!("2026-12-01T08:00:00.000Z")
    });
    bend(
        "lifted with a reason",
        "c1",
        mute_record("c1", false, false, "l1"),
        &|p| p["comment_mutes"][0]["reason"] = json!("刷屏"),
    );
    bend(
        "lifted yet hiding",
        "c1",
        mute_record("c1", false, false, "l1"),
        &|p| p["comment_mutes"][0]["hide_comments"] = json!(true),
    );
    bend("of another comment", "c1", good(), &|p| {
        p["comment_mutes"][0]["comment_id"] = json!("c2")
    });
    bend("muted as text", "c1", good(), &|p| {
        p["comment_mutes"][0]["muted"] = json!("yes")
    });
    bend("two rows", "c1", good(), &|p| {
        let row = p["comment_mutes"][0].clone();
        p["comment_mutes"].as_array_mut().unwrap().push(row);
    });
    bend("another table", "c1", good(), &|p| {
        p["mutes"] = json!([]);
    });
    bend("a long reason", "c1", good(), &|p| {
        p["comment_mutes"][0]["reason"] = json!("长".repeat(201))
    });
    for (seq, (what, id, payload)) in (1..).zip(cases) {
        let r = fx.apply(&[op("scorer-a", seq, Kind::CommentMute, id, payload)]);
        assert_eq!(r.refused.len(), 1, "{what}: {r:?}");
        assert_eq!(r.refused[0].code, "bad_payload", "{what}");
    }
    assert_eq!(fx.int("SELECT count(*) FROM moderation_log"), 0);
    assert_eq!(fx.int("SELECT count(*) FROM mutes"), 0);
    assert_eq!(fx.int("SELECT count(*) FROM mute_replicas"), 0);
}

#[test]
fn a_mute_from_a_granted_laptop_takes_hold_on_the_hub_with_the_authors_number_and_keys() {
    let fx = Fx::hub_with_comment();
    // The author wrote twice from two phones; another resident once.
    let a = fx.site_comment("13812345678", "key-a1");
    let a2 = fx.site_comment("13812345678", "key-a2");
    let _other = fx.site_comment("13900001111", "key-b");
    assert_eq!(fx.public_count(), 3);
    let mut payload = mute_record(&a, true, true, "l1");
    payload["comment_mutes"][0]["comment_id"] = json!(a);

    // Without 审核 (media-a runs a site but holds no grant): refused, nothing muted.
    let r = fx.apply(&[op("media-a", 2, Kind::CommentMute, &a, payload.clone())]);
    assert_refused(&fx, &r, "media-a", 2, "not_moderator", true);
    assert_eq!(fx.int("SELECT count(*) FROM mutes"), 0);
    // Of a comment the hub does not have: refused.
    let mut unknown = mute_record("c-none", true, false, "l0");
    unknown["comment_mutes"][0]["comment_id"] = json!("c-none");
    let r = fx.apply(&[op("scorer-a", 1, Kind::CommentMute, "c-none", unknown)]);
    assert_refused(&fx, &r, "scorer-a", 1, "unknown_comment", true);

    // Granted: the hub finds the number and every phone key that wrote with it.
    let r = fx.apply(&[op("scorer-a", 2, Kind::CommentMute, &a, payload)]);
    assert_eq!(r.applied, 1, "{r:?}");
    assert_eq!(
        fx.text("SELECT phone_masked || ' ' || comment_id || ' ' || by FROM mutes"),
        Some(format!("138****5678 {a} 审核员"))
    );
    let sealed: Vec<u8> = fx
        .store
        .read(|c| Ok(c.query_row("SELECT phone FROM mutes", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(
        fx.store.phone_keys().open(&sealed).unwrap(),
        "13812345678",
        "the mute holds the number, sealed"
    );
    assert_eq!(
        fx.text("SELECT group_concat(client_key, ',') FROM (SELECT client_key FROM mute_keys ORDER BY 1)"),
        Some("key-a1,key-a2".into())
    );
    let refused_until = |phone: &str, key: &str| {
        fx.store
            .read(|c| crate::comments::muted_until(c, &fx.store.phone_keys().hash(phone), key, NOW))
            .unwrap()
    };
    assert!(refused_until("13812345678", "key-new").is_some());
    assert!(
        refused_until("13700000000", "key-a2").is_some(),
        "another number, same phone"
    );
    assert!(refused_until("13900001111", "key-b").is_none());
    assert_eq!(
        fx.public_count(),
        1,
        "the author's approved comments are hidden"
    );
    let line: (Vec<u8>, String) = fx
        .store
        .read(|c| {
            Ok(c.query_row(
                "SELECT phone, phone_masked FROM moderation_log WHERE id = 'l1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .unwrap();
    assert_eq!(
        (
            fx.store.phone_keys().open(&line.0).unwrap(),
            line.1.as_str()
        ),
        ("13812345678".to_string(), "138****5678"),
        "the hub's record names the number, sealed"
    );
    // Listed masked, keyed by the comment.
    let listed = fx.store.read(|c| crate::comments::mutes(c, NOW)).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].key.as_str(), listed[0].phone_masked.as_str()),
        (a.as_str(), "138****5678")
    );
    // The record the hub sends on carries the masked number only.
    let snap = fx
        .store
        .read(|c| snapshot(c, Kind::CommentMute, &a))
        .unwrap();
    assert!(!snap.to_string().contains("13812345678"), "{snap}");
    assert!(crate::comments::parse_mute(&a, &snap).unwrap().muted);

    // Another moderator's lifting made without seeing the mute is listed and refused.
    let mut lift = mute_record(&a, false, false, "l2");
    lift["comment_mutes"][0]["comment_id"] = json!(a);
    let r = fx.apply(&[op("media-b", 1, Kind::CommentMute, &a, lift.clone())]);
    assert_eq!(r.refused[0].code, "decision_conflict", "{r:?}");
    assert_eq!(fx.int("SELECT count(*) FROM mutes"), 1);
    // Made after seeing it, the lifting stands: the author writes and shows again.
    let lift = based_on(
        op("media-b", 2, Kind::CommentMute, &a, lift),
        OpRef {
            origin: "scorer-a".into(),
            seq: 2,
        },
    );
    assert_eq!(fx.apply(&[lift]).applied, 1);
    assert_eq!(fx.int("SELECT count(*) FROM mutes"), 0);
    assert_eq!(fx.int("SELECT count(*) FROM mute_keys"), 0);
    assert!(refused_until("13812345678", "key-a1").is_none());
    assert_eq!(fx.public_count(), 3);
    let _ = a2;
}

#[test]
fn a_laptop_keeps_mutes_masked_and_sends_them_keyed_by_the_comment() {
    let fx = Fx::laptop();
    let hub = fx.hub_id();
    let r = fx.apply(&[relayed(
        op(&hub, 1, Kind::Comment, "c1", comment_record("c1")),
        "applied",
    )]);
    assert_eq!(r.applied, 1, "{r:?}");
    // A mute written here: kept with the masked number, sent as a comment_mute record.
    let m = fx
        .store
        .write(now(), "审核员", |tx| {
            crate::comments::mute_author(tx, "c1", "2026-12-11T08:00:00.000Z", "刷屏", true)
        })
        .unwrap();
    assert_eq!(
        (m.key.as_str(), m.phone_masked.as_str(), m.hide_comments),
        ("c1", "138****5678", true)
    );
    assert_eq!(fx.int("SELECT count(*) FROM mutes"), 0, "no number here");
    let me = fx.store.device_id().to_string();
    let ops = fx.store.read(|c| own_ops_after(c, &me, 0, 10)).unwrap();
    let mutes: Vec<&Op> = ops.iter().filter(|o| o.kind == "comment_mute").collect();
    assert_eq!(mutes.len(), 1, "{ops:?}");
    let rec = crate::comments::parse_mute("c1", &mutes[0].payload).unwrap();
    assert!(rec.muted && rec.hide_comments);
    assert_eq!(rec.phone_masked, "138****5678");
    // Lifted here: the lifting is sent too.
    assert!(fx
        .store
        .write(now(), "审核员", |tx| crate::comments::unmute(tx, "c1"))
        .unwrap());
    assert!(fx
        .store
        .read(|c| crate::comments::mutes(c, NOW))
        .unwrap()
        .is_empty());
    let ops = fx.store.read(|c| own_ops_after(c, &me, 0, 10)).unwrap();
    let last = ops.iter().rfind(|o| o.kind == "comment_mute").unwrap();
    assert!(
        !crate::comments::parse_mute("c1", &last.payload)
            .unwrap()
            .muted
    );

    // The hub's mute arrives masked and is listed; a full number is never taken in.
    let r = fx.apply(&[relayed(
        op(
            &hub,
            2,
            Kind::CommentMute,
            "c1",
            mute_record("c1", true, false, "h1"),
        ),
        "applied",
    )]);
    assert_eq!(r.applied, 1, "{r:?}");
    let listed = fx.store.read(|c| crate::comments::mutes(c, NOW)).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].phone_masked, "138****5678");
    let mut full = mute_record("c1", true, false, "h2");
    full["comment_mutes"][0]["phone_masked"] = json!("13812345678");
    let r = fx.apply(&[relayed(
        op(&hub, 3, Kind::CommentMute, "c1", full),
        "applied",
    )]);
    assert_eq!(r.refused.len(), 1, "{r:?}");
    assert_eq!(
        fx.int("SELECT count(*) FROM moderation_log WHERE phone IS NOT NULL"),
        0
    );
    assert_eq!(fx.int("SELECT count(*) FROM mute_replicas"), 1);
}

// ---------------------------------------------------------------------------------------
// Reports, appeals and like counts

/// Report `id` of comment `comment`, as the site that took it sends it.
fn report_record(id: &str, comment: &str) -> Value {
    json!({ "comment_reports": [{
        "id": id, "comment_id": comment, "reason": "广告信息", "at": NOW,
    }]})
}

/// The appeal of comment `id`, as the site that took the comment sends it.
fn appeal_record(id: &str, log_id: &str) -> Value {
    json!({ "comment_appeals": [{
        "comment_id": id, "reason": "我说的是实情", "reject_reason": "与观摩会内容无关",
        "decided_at": NOW, "decided_by": "审核员", "log_id": log_id, "log_at": NOW,
        "actor": "resident",
    }]})
}

/// One site's count of its likes of `target`.
fn like_record(target: &str, count: u32) -> Value {
    json!({ "like_counts": [{ "target": target, "count": count }] })
}

fn stamped(mut op: Op, ms_after_now: i64) -> Op {
    op.hlc = hlc_at(now_ms() + ms_after_now, 0);
    op
}

impl Fx {
    /// `(open, closed)` reports of a comment.
    fn reports(&self, comment: &str) -> (i64, i64) {
        (
            self.int(&format!(
                "SELECT count(*) FROM comment_reports WHERE comment_id = '{comment}'
                    AND resolved_at IS NULL"
            )),
            self.int(&format!(
                "SELECT count(*) FROM comment_reports WHERE comment_id = '{comment}'
                    AND resolved_at IS NOT NULL"
            )),
        )
    }

    fn likes(&self, target: &str) -> u32 {
        self.store
            .read(|c| crate::comments::like_count(c, target))
            .unwrap()
    }
}

#[test]
fn a_report_comes_only_from_a_site_once_of_a_comment_here_and_never_with_a_phone_key() {
    let fx = Fx::hub_with_comment();
    // A scorer's laptop runs no site, whatever grant it holds.
    let r = fx.apply(&[op(
        "scorer-a",
        1,
        Kind::CommentReport,
        "r1",
        report_record("r1", "c1"),
    )]);
    assert_refused(&fx, &r, "scorer-a", 1, "wrong_role", true);
    assert_eq!(detail(&r), "scorer may not send comment_report");
    let mut seq = 0;
    let mut next = || {
        seq += 1;
        seq
    };
    for (what, id, payload, code) in [
        (
            "the phone key",
            "r1",
            {
                let mut p = report_record("r1", "c1");
                p["comment_reports"][0]["client_key"] = json!("k1");
                p
            },
            "bad_payload",
        ),
        (
            "a number in the reason",
            "r1",
            {
                let mut p = report_record("r1", "c1");
                p["comment_reports"][0]["reason"] = json!("联系13812345678");
                p
            },
            "bad_payload",
        ),
        ("another id", "r2", report_record("r1", "c1"), "bad_payload"),
        (
            "no comment",
            "r1",
            report_record("r1", "c9"),
            "unknown_comment",
        ),
    ] {
        let s = next();
        let r = fx.apply(&[op("media-b", s, Kind::CommentReport, id, payload)]);
        assert_refused(&fx, &r, "media-b", s, code, true);
        assert_eq!(fx.int("SELECT count(*) FROM comment_reports"), 0, "{what}");
    }

    let s = next();
    let good = op(
        "media-b",
        s,
        Kind::CommentReport,
        "r1",
        report_record("r1", "c1"),
    );
    let r = fx.apply(std::slice::from_ref(&good));
    assert_eq!(r.applied, 1, "{r:?}");
    let row: (Option<String>, Option<String>) = fx
        .store
        .read(|c| {
            Ok(c.query_row(
                "SELECT client_key, hlc FROM comment_reports WHERE id = 'r1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .unwrap();
    assert_eq!(
        row,
        (None, Some(good.hlc.clone())),
        "no key, the report's clock"
    );
    assert_eq!(fx.reports("c1"), (1, 0));
    assert_eq!(
        fx.text("SELECT op FROM changes WHERE entity = 'comment' ORDER BY seq DESC LIMIT 1"),
        Some("report".into()),
        "the 被举报 queue hears of it under the comment"
    );
    // The same operation twice changes nothing; another one naming the report is refused.
    let r = fx.apply(&[good]);
    assert_eq!(r.already, 1, "{r:?}");
    let mut other = report_record("r1", "c1");
    other["comment_reports"][0]["reason"] = json!("改过的理由");
    let r = fx.apply(&[op("media-a", 2, Kind::CommentReport, "r1", other)]);
    assert_refused(&fx, &r, "media-a", 2, "report_exists", true);
    assert_eq!(
        fx.text("SELECT reason FROM comment_reports WHERE id = 'r1'"),
        Some("广告信息".into())
    );
}

#[test]
fn a_report_is_closed_by_the_first_decision_stamped_after_it_whatever_the_order() {
    let hub = LAPTOP_HUB;
    let comment = relayed(
        op("media-a", 1, Kind::Comment, "c1", comment_record("c1")),
        "applied",
    );
    let early = relayed(
        stamped(
            op(
                "media-a",
                2,
                Kind::CommentReport,
                "r1",
                report_record("r1", "c1"),
            ),
            1_000,
        ),
        "applied",
    );
    let approve = relayed(
        stamped(
            op(
                hub,
                1,
                Kind::CommentDecision,
                "c1",
                decision("c1", "approve", "l1"),
            ),
            2_000,
        ),
        "applied",
    );
    let late = relayed(
        stamped(
            op(
                "media-b",
                1,
                Kind::CommentReport,
                "r2",
                report_record("r2", "c1"),
            ),
            3_000,
        ),
        "applied",
    );
    let mut dismiss = decision("c1", "dismiss_reports", "l2");
    dismiss["comment_decisions"][0]["actor"] = json!("另一位审核员");
    let dismiss = relayed(
        stamped(
            based_on(
                op(hub, 2, Kind::CommentDecision, "c1", dismiss),
                approve.id(),
            ),
            4_000,
        ),
        "applied",
    );
    let orders: [&[&Op]; 4] = [
        &[&early, &approve, &late, &dismiss],
        &[&late, &dismiss, &early, &approve],
        &[&approve, &dismiss, &late, &early],
        &[&dismiss, &late, &approve, &early],
    ];
    let mut seen = Vec::new();
    for order in orders {
        let fx = Fx::laptop();
        fx.apply(std::slice::from_ref(&comment));
        for o in order {
            // One at a time, as separate pulls would bring them (a gap waits, then moves).
            fx.apply(&[(*o).clone()]);
        }
        assert_eq!(fx.int("SELECT count(*) FROM sync_backlog"), 0);
        let closers: Vec<(String, String)> = fx
            .store
            .read(|c| {
                let mut st =
                    c.prepare("SELECT id, resolved_by FROM comment_reports ORDER BY id")?;
                let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<rusqlite::Result<_>>()?)
            })
            .unwrap();
        seen.push(closers);
    }
    assert_eq!(
        seen[0],
        vec![
            ("r1".to_string(), "审核员".to_string()),
            ("r2".to_string(), "另一位审核员".to_string())
        ],
        "the approval closes the report before it, 保留 the one after"
    );
    for s in &seen[1..] {
        assert_eq!(s, &seen[0], "every order ends the same");
    }

    // A report of a comment this laptop never had (from before comments replicated) is kept
    // unapplied, and what follows it is not held up.
    let fx = Fx::laptop();
    let r = fx.apply(&[
        relayed(
            op(
                hub,
                1,
                Kind::CommentReport,
                "r9",
                report_record("r9", "old"),
            ),
            "applied",
        ),
        relayed(
            op(hub, 2, Kind::LikeCount, "event", like_record("event", 1)),
            "applied",
        ),
    ]);
    assert_eq!((r.superseded, r.applied, r.held), (1, 1, 0), "{r:?}");
    assert_eq!(fx.int("SELECT count(*) FROM comment_reports"), 0);

    // A report stamped after every decision stays open, in the 被举报 queue.
    let fx = Fx::laptop();
    fx.apply(&[comment, approve]);
    fx.apply(&[late]);
    assert_eq!(fx.reports("c1"), (1, 0));
    assert_eq!(
        fx.store
            .read(|c| crate::comments::list(c, crate::comments::Queue::Reported, 10))
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn an_appeal_comes_only_from_the_site_that_took_the_comment_and_joins_its_decisions() {
    let fx = Fx::hub_with_comment();
    let reject = op(
        "media-b",
        1,
        Kind::CommentDecision,
        "c1",
        decision("c1", "reject", "l1"),
    );
    let r = fx.apply(std::slice::from_ref(&reject));
    assert_eq!(r.applied, 1, "{r:?}");
    // Another site, even a granted moderator's, and a scorer's laptop may not appeal.
    let r = fx.apply(&[based_on(
        op(
            "media-b",
            2,
            Kind::CommentAppeal,
            "c1",
            appeal_record("c1", "a0"),
        ),
        reject.id(),
    )]);
    assert_refused(&fx, &r, "media-b", 2, "not_site_host", true);
    let r = fx.apply(&[op(
        "scorer-a",
        1,
        Kind::CommentAppeal,
        "c1",
        appeal_record("c1", "a0"),
    )]);
    assert_refused(&fx, &r, "scorer-a", 1, "wrong_role", true);
    let mut numbered = appeal_record("c1", "a0");
    numbered["comment_appeals"][0]["reason"] = json!("打13812345678问问");
    let r = fx.apply(&[op("media-a", 2, Kind::CommentAppeal, "c1", numbered)]);
    assert_refused(&fx, &r, "media-a", 2, "bad_payload", true);
    assert_eq!(fx.comment_state("c1"), Some(("rejected".into(), 0)));

    // The site that took it, having seen the rejection: back to 待审核 with the reason.
    let appeal = based_on(
        op(
            "media-a",
            3,
            Kind::CommentAppeal,
            "c1",
            appeal_record("c1", "a1"),
        ),
        reject.id(),
    );
    let r = fx.apply(std::slice::from_ref(&appeal));
    assert_eq!(r.applied, 1, "{r:?}");
    assert_eq!(fx.comment_state("c1"), Some(("pending".into(), 0)));
    assert_eq!(
        fx.text("SELECT appeal_reason FROM comments WHERE id = 'c1' AND appealed = 1"),
        Some("我说的是实情".into())
    );
    assert_eq!(fx.head(Kind::CommentDecision, "c1"), Some(appeal.id()));
    assert_eq!(
        fx.apply(std::slice::from_ref(&appeal)).already,
        1,
        "idempotent"
    );
    // Only once.
    let r = fx.apply(&[based_on(
        op(
            "media-a",
            4,
            Kind::CommentAppeal,
            "c1",
            appeal_record("c1", "a2"),
        ),
        appeal.id(),
    )]);
    assert_refused(&fx, &r, "media-a", 4, "bad_transition", true);

    // A moderator's decision made without seeing the appeal is a conflict: the appeal stands.
    let r = fx.apply(&[based_on(
        op(
            "media-b",
            3,
            Kind::CommentDecision,
            "c1",
            decision("c1", "approve", "l2"),
        ),
        reject.id(),
    )]);
    assert_eq!(r.refused.len(), 1, "{r:?}");
    assert_eq!(r.refused[0].code, "decision_conflict");
    assert_eq!(fx.comment_state("c1"), Some(("pending".into(), 0)));
    // One made after it goes through.
    let r = fx.apply(&[based_on(
        op(
            "media-b",
            4,
            Kind::CommentDecision,
            "c1",
            decision("c1", "approve", "l3"),
        ),
        appeal.id(),
    )]);
    assert_eq!(r.applied, 1, "{r:?}");
    assert_eq!(fx.comment_state("c1"), Some(("approved".into(), 0)));
}

#[test]
fn like_counts_come_only_from_a_site_sum_per_site_and_never_go_back() {
    let fx = Fx::hub();
    // Two phones like the event here, one of them twice.
    for key in ["k1", "k1", "k2"] {
        fx.store
            .write(now(), "resident", |tx| {
                crate::comments::like(tx, "event", key)
            })
            .unwrap();
    }
    assert_eq!(fx.likes("event"), 2);
    let me = fx.store.device_id().to_string();
    let own = fx.store.read(|c| own_ops_after(c, &me, 0, 10)).unwrap();
    assert_eq!(own.len(), 2, "one record per new like");
    assert_eq!(own[1].kind, "like_count");
    assert_eq!(own[1].payload, like_record("event", 2));
    assert!(
        !own[1].payload.to_string().contains("k1"),
        "never who liked"
    );

    let r = fx.apply(&[op(
        "scorer-a",
        1,
        Kind::LikeCount,
        "event",
        like_record("event", 5),
    )]);
    assert_refused(&fx, &r, "scorer-a", 1, "wrong_role", true);
    let r = fx.apply(&[op(
        "media-a",
        1,
        Kind::LikeCount,
        "p9",
        like_record("p9", 5),
    )]);
    assert_refused(&fx, &r, "media-a", 1, "unknown_target", true);
    let mut keyed = like_record("event", 5);
    keyed["like_counts"][0]["client_key"] = json!("k3");
    let r = fx.apply(&[op("media-a", 2, Kind::LikeCount, "event", keyed)]);
    assert_refused(&fx, &r, "media-a", 2, "bad_payload", true);
    assert_eq!(fx.likes("event"), 2);

    let three = op(
        "media-a",
        3,
        Kind::LikeCount,
        "event",
        like_record("event", 3),
    );
    let r = fx.apply(std::slice::from_ref(&three));
    assert_eq!(r.applied, 1, "{r:?}");
    assert_eq!(
        fx.likes("event"),
        5,
        "this site's phones plus the other site's count"
    );
    assert_eq!(fx.apply(&[three]).already, 1);
    assert_eq!(fx.likes("event"), 5, "the same record twice counts once");
    let r = fx.apply(&[op(
        "media-a",
        4,
        Kind::LikeCount,
        "event",
        like_record("event", 2),
    )]);
    assert_refused(&fx, &r, "media-a", 4, "count_went_back", true);
    let r = fx.apply(&[
        op(
            "media-a",
            5,
            Kind::LikeCount,
            "event",
            like_record("event", 4),
        ),
        op(
            "media-b",
            1,
            Kind::LikeCount,
            "event",
            like_record("event", 1),
        ),
    ]);
    assert_eq!(r.applied, 2, "{r:?}");
    assert_eq!(fx.likes("event"), 7);
    assert_eq!(
        fx.store.read(crate::comments::like_counts).unwrap(),
        vec![("event".to_string(), 7)]
    );
    assert_eq!(
        fx.text("SELECT op FROM changes WHERE entity = 'like' ORDER BY seq DESC LIMIT 1"),
        Some("like".into()),
        "the public page's version moves"
    );

    // A laptop following the hub keeps the higher count whatever order they come in.
    let lap = Fx::laptop();
    lap.apply(&[relayed(
        op(
            "media-a",
            2,
            Kind::LikeCount,
            "event",
            like_record("event", 4),
        ),
        "applied",
    )]);
    lap.apply(&[relayed(
        op(
            "media-a",
            1,
            Kind::LikeCount,
            "event",
            like_record("event", 3),
        ),
        "applied",
    )]);
    assert_eq!(lap.likes("event"), 4);
}

#[test]
fn mask_numbers_masks_what_could_be_a_phone_number_only() {
    use crate::comments::mask_numbers;
    assert_eq!(mask_numbers("打13812345678"), "打138****5678");
    assert_eq!(mask_numbers("138123456789"), "************");
    assert_eq!(mask_numbers("第7站 2026年"), "第7站 2026年");
    assert_eq!(mask_numbers(""), "");
}

// ---------------------------------------------------------------------------------------
// 背靠背: what the hub withholds, stand-ins, and the resend after 转交

fn row_count(fx: &Fx, table: &str) -> i64 {
    fx.int(&format!("SELECT count(*) FROM {table}"))
}

#[test]
fn a_stand_in_advances_the_watermark_and_writes_no_row() {
    let lap = Fx::laptop();
    let before = lap.dump();
    let changes = row_count(&lap, "changes");
    let real = relayed(op("scorer-a", 1, Kind::Sheet, "sh1", sheet1(10)), "applied");
    let r = lap.apply(&[stand_in(&real)]);
    assert_eq!((r.withheld, r.applied, r.already), (1, 0, 0), "{r:?}");
    assert!(r.refused.is_empty() && r.conflicts.is_empty());
    assert_eq!(lap.watermark("scorer-a"), 1, "the number is recorded");
    assert_eq!(lap.dump(), before, "no replicated table changes");
    assert_eq!(row_count(&lap, "changes"), changes, "nothing is announced");
    assert_eq!(
        row_count(&lap, "sync_issues"),
        0,
        "neither a refusal nor a conflict"
    );
    assert_eq!(
        lap.text("SELECT kind || '|' || entity_id || '|' || payload || '|' || actor FROM ops"),
        Some("withheld||{}|".to_string()),
        "the log keeps the number only"
    );
    // Never pushed: not this device's; relayed only as a stand-in.
    let me = lap.rules.self_id.clone();
    assert!(lap
        .store
        .read(|c| own_ops_after(c, &me, 0, 100))
        .unwrap()
        .is_empty());
    let relayed_again = lap
        .store
        .read(|c| ops_after(c, &BTreeMap::new(), 100))
        .unwrap();
    assert_eq!(relayed_again, vec![stand_in(&real)]);
    // The next operation of that device follows without a gap.
    let next = relayed(
        op(
            "scorer-a",
            2,
            Kind::Sheet,
            "sh9",
            sheet("sh9", "s2", "t2", "draft", &[]),
        ),
        "applied",
    );
    let r = lap.apply(&[next]);
    assert_eq!((r.applied, r.held), (1, 0), "{r:?}");
    assert_eq!(lap.watermark("scorer-a"), 2);
}

#[test]
fn a_stand_in_past_a_gap_waits_like_any_operation() {
    let lap = Fx::laptop();
    let second = relayed(op("scorer-a", 2, Kind::Sheet, "sh1", sheet1(10)), "applied");
    let r = lap.apply(&[stand_in(&second)]);
    assert_eq!((r.held, r.withheld), (1, 0));
    let first = relayed(op("scorer-a", 1, Kind::Sheet, "sh1", sheet1(5)), "applied");
    let r = lap.apply(&[stand_in(&first)]);
    assert_eq!((r.withheld, r.released), (1, 1), "{r:?}");
    assert_eq!(lap.watermark("scorer-a"), 2);
    assert!(lap.backlog().is_empty());
    assert_eq!(row_count(&lap, "sheets"), 0);
}

#[test]
fn a_real_operation_from_the_hub_replaces_its_stand_in() {
    let lap = Fx::laptop();
    let real = relayed(op("scorer-a", 1, Kind::Sheet, "sh1", sheet1(10)), "applied");
    lap.apply(&[stand_in(&real)]);
    let r = lap.apply(std::slice::from_ref(&real));
    assert_eq!(r.applied, 1, "{r:?}");
    assert_eq!(lap.marks("sh1"), vec![("k1".to_string(), Some(10))]);
    assert_eq!(lap.outcome("scorer-a", 1).as_deref(), Some("applied"));
    assert_eq!(lap.text("SELECT kind FROM ops").as_deref(), Some("sheet"));
    assert_eq!(
        lap.watermark("scorer-a"),
        1,
        "the watermark never goes back"
    );
    assert_eq!(lap.head(Kind::Sheet, "sh1"), Some(real.id()));
    // Sent once more: already here.
    let r = lap.apply(&[real]);
    assert_eq!((r.applied, r.already), (0, 1));
    // A stand-in never replaces a real operation.
    let r = lap.apply(&[stand_in(&relayed(
        op("scorer-a", 1, Kind::Sheet, "sh1", sheet1(10)),
        "applied",
    ))]);
    assert_eq!((r.already, r.withheld), (1, 0));
    assert_eq!(lap.marks("sh1"), vec![("k1".to_string(), Some(10))]);
}

#[test]
fn only_the_hub_sends_stand_ins() {
    let hub = Fx::hub();
    let mut fake = stand_in(&op("scorer-a", 1, Kind::Sheet, "sh1", sheet1(10)));
    fake.verdict = None;
    let r = hub.apply(&[fake]);
    assert_refused(&hub, &r, "scorer-a", 1, "bad_stand_in", false);
    assert_eq!(hub.watermark("scorer-a"), 0);
}

#[test]
fn the_hub_sends_each_laptop_only_the_sheets_its_role_may_hold() {
    let hub = Fx::hub();
    let r = hub.apply(&[
        op("scorer-a", 1, Kind::Sheet, "sh1", sheet1(10)),
        op(
            "scorer-b",
            1,
            Kind::Sheet,
            "sh2",
            sheet("sh2", "s2", "t1", "draft", &[("k1", json!(7))]),
        ),
        op(
            "media-a",
            1,
            Kind::Post,
            "p1",
            post("p1", "draft", 0, "正文"),
        ),
    ]);
    assert_eq!(r.applied, 3, "{r:?}");
    let page = |device: &str| {
        hub.store
            .read(|c| ops_after_for(c, device, &BTreeMap::new(), 100))
            .unwrap()
    };
    let kinds = |p: &Page| -> Vec<(String, String)> {
        p.ops
            .iter()
            .filter(|o| o.origin != hub.rules.self_id)
            .map(|o| (o.origin.clone(), o.kind.clone()))
            .collect()
    };
    let b = page("scorer-b");
    assert_eq!(
        kinds(&b),
        vec![
            ("media-a".into(), "post".into()),
            ("scorer-a".into(), "withheld".into()),
            ("scorer-b".into(), "sheet".into()),
        ]
    );
    assert_eq!(b.withheld, BTreeMap::from([("sheet".to_string(), 1)]));
    let withheld = b.ops.iter().find(|o| o.kind == WITHHELD).unwrap();
    assert_eq!(withheld.payload, json!({}));
    assert!(withheld.entity_id.is_empty() && withheld.actor.is_empty() && withheld.base.is_none());
    let m = page("media-a");
    assert_eq!(m.withheld, BTreeMap::from([("sheet".to_string(), 2)]));
    assert!(m.ops.iter().all(|o| o.kind != "sheet"));
    let hub_id = hub.rules.self_id.clone();
    assert!(
        page(&hub_id).withheld.is_empty(),
        "the hub's own role holds everything"
    );
}

/// The hub's next resend page for `device`, given the laptop's watermarks.
fn refill_page(
    hub: &Fx,
    device: &str,
    have: &BTreeMap<String, i64>,
    limit: u32,
) -> (Vec<Op>, Option<RefillPage>) {
    hub.store
        .write_without_ops(now(), "sync", |tx| next_refill(tx, device, have, limit))
        .unwrap()
}

/// `have` confirming `page`, as the laptop sends it.
fn confirming(have: &BTreeMap<String, i64>, page: &RefillPage) -> BTreeMap<String, i64> {
    let mut have = have.clone();
    have.insert(format!("{REFILL_ACK}{}", page.token), page.page);
    have
}

#[test]
fn a_laptop_assigned_a_scorer_receives_the_sheets_it_passed_as_stand_ins() {
    let hub = Fx::hub();
    hub.apply(&[op("scorer-a", 1, Kind::Sheet, "sh1", sheet1(10))]);
    let have = BTreeMap::from([("scorer-a".to_string(), 1)]);
    // Nothing to send again before the organiser moves anyone.
    assert_eq!(refill_page(&hub, "scorer-c", &have, 10), (vec![], None));
    hub.store
        .write_without_ops(now(), "organiser", |tx| {
            trust::assign_scorer(tx, "s1", Some("scorer-c"))
        })
        .unwrap();
    let (ops, page) = refill_page(&hub, "scorer-c", &have, 10);
    let page = page.unwrap();
    assert_eq!((page.page, page.count, page.last), (1, 1, true));
    assert_eq!(
        (ops[0].kind.as_str(), ops[0].verdict.as_deref()),
        ("sheet", Some("applied"))
    );
    // The answer was lost: the laptop confirms nothing, and gets the page again.
    let (again, same) = refill_page(&hub, "scorer-c", &have, 10);
    assert_eq!((again, same.as_ref()), (ops.clone(), Some(&page)));
    // Confirmed: the resend is over.
    assert_eq!(
        refill_page(&hub, "scorer-c", &confirming(&have, &page), 10),
        (vec![], None)
    );
    assert_eq!(
        hub.store.read(|c| trust::refill(c, "scorer-c")).unwrap(),
        None
    );
    // And the laptop replaces its stand-in with it.
    let lap = Fx::laptop();
    lap.apply(&[stand_in(&ops[0])]);
    let r = lap.apply(&ops);
    assert_eq!(r.applied, 1, "{r:?}");
    assert_eq!(lap.marks("sh1"), vec![("k1".to_string(), Some(10))]);
}

#[test]
fn a_resend_goes_in_pages_each_until_the_laptop_confirms_it() {
    let hub = Fx::hub();
    let ops: Vec<Op> = (1..=5)
        .map(|seq| {
            let o = op("scorer-a", seq, Kind::Sheet, "sh1", sheet1(seq));
            if seq > 1 {
                based_on(
                    o,
                    OpRef {
                        origin: "scorer-a".into(),
                        seq: seq - 1,
                    },
                )
            } else {
                o
            }
        })
        .collect();
    let r = hub.apply(&ops);
    assert_eq!(r.applied, 5, "{r:?}");
    // s2's sheet is not the new laptop's: never sent again.
    hub.apply(&[op(
        "scorer-b",
        1,
        Kind::Sheet,
        "sh2",
        sheet("sh2", "s2", "t1", "draft", &[]),
    )]);
    hub.store
        .write_without_ops(now(), "organiser", |tx| {
            trust::assign_scorer(tx, "s1", Some("scorer-c"))
        })
        .unwrap();
    let have = BTreeMap::from([("scorer-a".to_string(), 5), ("scorer-b".to_string(), 1)]);
    let mut got = Vec::new();
    let mut req = have.clone();
    let mut lost_once = false;
    for _ in 0..10 {
        let (page_ops, page) = refill_page(&hub, "scorer-c", &req, 2);
        let Some(page) = page else { break };
        if page.page == 2 && !lost_once {
            lost_once = true; // this answer never arrives
            continue;
        }
        got.extend(page_ops.iter().map(|o| (o.origin.clone(), o.seq)));
        req = confirming(&have, &page);
    }
    assert_eq!(
        got,
        (1..=5)
            .map(|s| ("scorer-a".to_string(), s))
            .collect::<Vec<_>>(),
        "every page once, the lost one again"
    );
    assert_eq!(
        hub.store.read(|c| trust::refill(c, "scorer-c")).unwrap(),
        None
    );
}

// ---------------------------------------------------------------------------------------
// Sign-off steps (审核流程)

/// People on the hub: 王 (编辑, the author of p1), 张 (编辑), 李 (签发人), 钱 (组织方), and the
/// 审核流程 at `levels`; post p1 is 王's draft from media-a.
fn signoff_hub(levels: i32) -> Fx {
    let fx = Fx::hub();
    fx.store
        .write_without_ops(now(), "seed", |tx| {
            tx.conn().execute_batch(
                "INSERT INTO people (id, name, roles, active, created_at, updated_at)
                 VALUES ('wang', '王', '[\"editor\"]', 1, '2026', '2026'),
                        ('zhang', '张', '[\"editor\"]', 1, '2026', '2026'),
                        ('li', '李', '[\"approver\"]', 1, '2026', '2026'),
                        ('qian', '钱', '[\"organiser\"]', 1, '2026', '2026');",
            )?;
            crate::feed::signoff::set_settings(
                tx,
                &guanmo_domain::feed::signoff::SignoffSettings {
                    levels,
                    print_footer: true,
                },
            )
        })
        .unwrap();
    let mut p = post("p1", "draft", 0, "正文");
    set(
        &mut p,
        "posts",
        0,
        "created_by",
        json!("media@media-a|wang|王"),
    );
    assert_eq!(
        fx.apply(&[op("media-a", 1, Kind::Post, "p1", p)]).applied,
        1
    );
    fx
}

/// A step of p1 sent by `origin` as its `seq`, by `person` (`id|name`), following `after`.
#[allow(clippy::too_many_arguments)]
fn signoff_step(
    origin: &str,
    seq: i64,
    id: &str,
    action: &str,
    level: i64,
    levels: i64,
    after: Option<&str>,
    person: (&str, &str),
) -> Op {
    let mut o = op(
        origin,
        seq,
        Kind::PostStep,
        id,
        json!({ "post_steps": [{
            "id": id, "post_id": "p1", "action": action, "level": level, "levels": levels,
            "after_step": after, "post_version": 1, "person_id": person.0,
            "person_name": person.1, "device_id": origin, "at": NOW, "reason": "",
            "skipped": "", "hlc": null,
        }]}),
    );
    o.actor = format!("media@{origin}|{}|{}", person.0, person.1);
    o
}

fn p1_status(fx: &Fx) -> (Option<String>, Option<String>) {
    (
        fx.text("SELECT status FROM posts WHERE id = 'p1'"),
        fx.text("SELECT stage FROM post_signoff WHERE post_id = 'p1'"),
    )
}

#[test]
fn a_post_is_published_where_its_last_step_applies_and_a_laptop_folds_the_same() {
    let fx = signoff_hub(2);
    let submit = signoff_step("media-a", 2, "st1", "submit", 1, 2, None, ("wang", "王"));
    let approve = signoff_step(
        "media-b",
        1,
        "st2",
        "approve",
        2,
        2,
        Some("st1"),
        ("zhang", "张"),
    );
    let r = fx.apply(std::slice::from_ref(&submit));
    assert_eq!(r.applied, 1, "{r:?}");
    assert_eq!(
        p1_status(&fx),
        (Some("draft".into()), Some("pending".into()))
    );
    let r = fx.apply(std::slice::from_ref(&approve));
    assert_eq!(r.applied, 1, "{r:?}");
    assert_eq!(
        p1_status(&fx),
        (Some("published".into()), Some("published".into()))
    );
    assert_eq!(
        fx.text("SELECT editor_name FROM post_signoff WHERE post_id = 'p1'"),
        Some("张".into())
    );
    let ops: Vec<String> = fx
        .store
        .changes_since(0, 100)
        .unwrap()
        .into_iter()
        .filter(|c| c.entity == "post")
        .map(|c| c.op)
        .collect();
    assert_eq!(ops.last().map(String::as_str), Some("signoff_publish"));
    assert!(
        fx.store.read(crate::feed::feed_seq).unwrap() > 0,
        "residents' feed moves"
    );
    // A laptop receiving the hub's verdicts (the approval first, held until the post and
    // the submit are there) ends in the same state.
    let lap = Fx::laptop();
    let mut p = post("p1", "draft", 0, "正文");
    set(
        &mut p,
        "posts",
        0,
        "created_by",
        json!("media@media-a|wang|王"),
    );
    let r = lap.apply(&[
        relayed(approve, "applied"),
        relayed(submit, "applied"),
        relayed(op("media-a", 1, Kind::Post, "p1", p), "applied"),
    ]);
    assert_eq!(r.applied + r.released, 3, "{r:?}");
    assert_eq!(p1_status(&lap), p1_status(&fx));
    assert_eq!(
        lap.text("SELECT published_at FROM posts WHERE id = 'p1'"),
        fx.text("SELECT published_at FROM posts WHERE id = 'p1'"),
        "the same publication time everywhere"
    );
}

#[test]
fn a_hostile_laptop_cannot_approve_for_someone_without_the_right_or_as_someone_else() {
    let fx = signoff_hub(3);
    let submit = signoff_step("media-a", 2, "st1", "submit", 1, 3, None, ("wang", "王"));
    assert_eq!(fx.apply(&[submit]).applied, 1);
    // An editor at 三审 (skipping 二审), an editor fast-tracking, an organiser at 二审.
    for (seq, (action, level, after, who, code)) in [
        ("approve", 3, Some("st1"), ("zhang", "张"), "no_right"),
        ("fast_track", 3, Some("st1"), ("zhang", "张"), "no_right"),
        ("approve", 2, Some("st1"), ("qian", "钱"), "no_right"),
        ("approve", 2, Some("st1"), ("wang", "王"), "stale_step"),
        ("approve", 2, Some("st1"), ("ghost", "鬼"), "unknown_person"),
        ("approve", 2, Some("st1"), ("zhang", "张三"), "wrong_person"),
    ]
    .into_iter()
    .enumerate()
    {
        let seq = seq as i64 + 1;
        let id = format!("bad{seq}");
        let o = signoff_step("media-b", seq, &id, action, level, 3, after, who);
        let r = fx.apply(&[o]);
        assert_refused(&fx, &r, "media-b", seq, code, true);
    }
    // A label naming another device, and a step claiming to come from another device.
    let mut o = signoff_step(
        "media-b",
        7,
        "bad7",
        "approve",
        2,
        3,
        Some("st1"),
        ("zhang", "张"),
    );
    o.actor = "media@media-a|zhang|张".into();
    let r = fx.apply(&[o]);
    assert_refused(&fx, &r, "media-b", 7, "wrong_person", true);
    let mut o = signoff_step(
        "media-b",
        8,
        "bad8",
        "approve",
        2,
        3,
        Some("st1"),
        ("zhang", "张"),
    );
    set(
        &mut o.payload,
        "post_steps",
        0,
        "device_id",
        json!("media-a"),
    );
    let r = fx.apply(&[o]);
    assert_refused(&fx, &r, "media-b", 8, "wrong_device", true);
    // A scorer's laptop sends no step at all; a step under old levels is refused.
    let r = fx.apply(&[signoff_step(
        "scorer-a",
        1,
        "bad9",
        "approve",
        2,
        3,
        Some("st1"),
        ("zhang", "张"),
    )]);
    assert_refused(&fx, &r, "scorer-a", 1, "wrong_role", true);
    let r = fx.apply(&[signoff_step(
        "media-b",
        9,
        "bad10",
        "approve",
        2,
        2,
        Some("st1"),
        ("zhang", "张"),
    )]);
    assert_refused(&fx, &r, "media-b", 9, "stale_levels", true);
    assert_eq!(
        p1_status(&fx),
        (Some("draft".into()), Some("pending".into()))
    );
    // Neither may the author's laptop publish the draft itself or change it under review.
    let r = fx.apply(&[op(
        "media-a",
        3,
        Kind::Post,
        "p1",
        post("p1", "published", 0, "正文"),
    )]);
    assert_refused(&fx, &r, "media-a", 3, "under_review", true);
}

#[test]
fn two_approvals_of_one_level_count_once_and_the_loser_leaves_it_out_when_told() {
    let fx = signoff_hub(3);
    assert_eq!(
        fx.apply(&[signoff_step(
            "media-a",
            2,
            "st1",
            "submit",
            1,
            3,
            None,
            ("wang", "王")
        )])
        .applied,
        1
    );
    let first = signoff_step(
        "media-b",
        1,
        "a1",
        "approve",
        2,
        3,
        Some("st1"),
        ("zhang", "张"),
    );
    let second = signoff_step(
        "media-a",
        3,
        "a2",
        "approve",
        2,
        3,
        Some("st1"),
        ("li", "李"),
    );
    assert_eq!(fx.apply(&[first]).applied, 1);
    let r = fx.apply(&[second]);
    assert_refused(&fx, &r, "media-a", 3, "stale_step", true);
    assert_eq!(
        fx.text("SELECT editor_name FROM post_signoff WHERE post_id = 'p1'"),
        Some("张".into())
    );
    assert_eq!(
        fx.int("SELECT levels_done FROM post_signoff WHERE post_id = 'p1'"),
        2
    );
}

#[test]
fn a_retract_wins_over_a_later_approval() {
    let fx = signoff_hub(2);
    let submit = signoff_step("media-a", 2, "st1", "submit", 1, 2, None, ("wang", "王"));
    let approve = signoff_step(
        "media-b",
        1,
        "st2",
        "approve",
        2,
        2,
        Some("st1"),
        ("zhang", "张"),
    );
    // The approval first: it waits for the step it follows.
    let r = fx.apply(&[approve, submit]);
    assert_eq!((r.applied, r.held, r.released), (1, 1, 1), "{r:?}");
    let mut retracted = post("p1", "retracted", 0, "正文");
    set(
        &mut retracted,
        "posts",
        0,
        "created_by",
        json!("media@media-a|wang|王"),
    );
    assert_eq!(
        fx.apply(&[op("media-a", 3, Kind::Post, "p1", retracted)])
            .applied,
        1
    );
    let again = signoff_step(
        "media-b",
        2,
        "st3",
        "fast_track",
        2,
        2,
        Some("st2"),
        ("zhang", "张"),
    );
    let r = fx.apply(&[again]);
    assert_refused(&fx, &r, "media-b", 2, "bad_transition", true);
    // Even a step the hub applied before the retract changes nothing where the retract is
    // already there: the fold never runs on a retracted post.
    assert_eq!(
        fx.store
            .read(|c| crate::feed::signoff::refresh(c, "p1", true))
            .unwrap(),
        crate::feed::signoff::Refreshed::Same
    );
    assert_eq!(p1_status(&fx).0, Some("retracted".into()));
}

// ---------- 背靠背 for evidence photos ----------

/// A photo's record with hash `h`.
fn photo_of(h: &str) -> Value {
    let mut p = photo("IMG_0001.JPG", "jpeg");
    set(&mut p, "photos", 0, "hash", json!(h));
    p
}

/// Sheet `sh1` (scorer s1, t1) with k1 = 10 and `hashes` attached to k1 as evidence.
fn sheet1_with(hashes: &[&str]) -> Value {
    let mut s = sheet1(10);
    s["sheet_evidence"] = hashes
        .iter()
        .map(|h| json!({"sheet_id": "sh1", "criterion_id": "k1", "hash": h, "attached_at": NOW}))
        .collect();
    s
}

/// What `device` is sent of the hub's log, given its watermarks: `(origin, seq, kind)` of
/// every operation that is not its own.
fn sent_to(hub: &Fx, device: &str, have: &BTreeMap<String, i64>) -> Vec<(String, i64, String)> {
    let page = hub
        .store
        .read(|c| ops_after_for(c, device, have, 100))
        .unwrap();
    page.ops
        .iter()
        .filter(|o| o.origin != device && o.origin != hub.rules.self_id)
        .map(|o| (o.origin.clone(), o.seq, o.kind.clone()))
        .collect()
}

fn may_fetch(hub: &Fx, device: &str, h: &str) -> bool {
    hub.store
        .read(|c| trust::may_fetch_photo(c, device, h))
        .unwrap()
}

#[test]
fn a_scorers_evidence_photo_goes_only_where_its_sheet_may_go() {
    let hub = Fx::hub();
    let (evidence, loose, press) = ("a1".repeat(32), "b2".repeat(32), "c3".repeat(32));
    let r = hub.apply(&[
        op("scorer-a", 1, Kind::Photo, &evidence, photo_of(&evidence)),
        op("scorer-a", 2, Kind::Sheet, "sh1", sheet1_with(&[&evidence])),
        // Taken on a scorer's laptop and not attached yet: evidence all the same.
        op("scorer-b", 1, Kind::Photo, &loose, photo_of(&loose)),
        op("media-a", 1, Kind::Photo, &press, photo_of(&press)),
    ]);
    assert_eq!(r.applied, 4, "{r:?}");
    let none = BTreeMap::new();
    let photo = |origin: &str, seq: i64, kind: &str| (origin.to_string(), seq, kind.to_string());
    // Another scorer's laptop and a media laptop get neither scorer's photo nor the sheet.
    assert_eq!(
        sent_to(&hub, "scorer-c", &none),
        vec![
            photo("media-a", 1, "photo"),
            photo("scorer-a", 1, "withheld"),
            photo("scorer-b", 1, "withheld"),
            photo("scorer-a", 2, "withheld"),
        ]
    );
    assert_eq!(
        sent_to(&hub, "media-a", &none),
        vec![
            photo("scorer-a", 1, "withheld"),
            photo("scorer-b", 1, "withheld"),
            photo("scorer-a", 2, "withheld"),
        ]
    );
    let counted = hub
        .store
        .read(|c| ops_after_for(c, "scorer-b", &none, 100))
        .unwrap()
        .withheld;
    assert_eq!(
        counted,
        BTreeMap::from([("photo".to_string(), 1), ("sheet".to_string(), 1)])
    );
    // The bytes likewise: only the hub's own role, the laptop that took a photo, and where
    // a photo is no evidence.
    assert!(!may_fetch(&hub, "scorer-b", &evidence));
    assert!(!may_fetch(&hub, "media-a", &evidence));
    assert!(!may_fetch(&hub, "scorer-a", &loose));
    assert!(may_fetch(&hub, "scorer-a", &evidence));
    assert!(may_fetch(&hub, "scorer-b", &loose));
    assert!(may_fetch(&hub, "scorer-b", &press));
    assert!(may_fetch(&hub, &hub.rules.self_id.clone(), &evidence));

    // A post that shows a photo makes it public: every laptop may hold it.
    let mut shown = post("p1", "published", 0, "现场");
    shown["post_photos"] = json!([{"post_id": "p1", "position": 0, "hash": evidence}]);
    let r = hub.apply(&[op("media-a", 2, Kind::Post, "p1", shown)]);
    assert_eq!(r.applied, 1, "{r:?}");
    assert!(sent_to(&hub, "scorer-c", &none).contains(&photo("scorer-a", 1, "photo")));
    assert!(may_fetch(&hub, "media-a", &evidence));
    // A laptop that passed the photo as a stand-in gets it with the post, before it.
    let passed = BTreeMap::from([
        ("scorer-a".to_string(), 2),
        ("scorer-b".to_string(), 1),
        ("media-a".to_string(), 1),
    ]);
    assert_eq!(
        sent_to(&hub, "scorer-c", &passed),
        vec![photo("scorer-a", 1, "photo"), photo("media-a", 2, "post")]
    );
    // The laptop that took the photo is sent the post alone.
    assert_eq!(
        sent_to(&hub, "scorer-a", &passed),
        vec![photo("media-a", 2, "post")]
    );
}

#[test]
fn a_laptop_assigned_a_scorer_receives_the_evidence_photos_with_the_sheets() {
    let hub = Fx::hub();
    let (kept, dropped) = ("d4".repeat(32), "e5".repeat(32));
    let ops = [
        op("scorer-a", 1, Kind::Photo, &kept, photo_of(&kept)),
        op("scorer-a", 2, Kind::Photo, &dropped, photo_of(&dropped)),
        op(
            "scorer-a",
            3,
            Kind::Sheet,
            "sh1",
            sheet1_with(&[&kept, &dropped]),
        ),
        // The scorer let one photo go: the older sheet operation still attaches it.
        based_on(
            op("scorer-a", 4, Kind::Sheet, "sh1", sheet1_with(&[&kept])),
            OpRef {
                origin: "scorer-a".into(),
                seq: 3,
            },
        ),
    ];
    let ops: Vec<Op> = ops
        .into_iter()
        .enumerate()
        .map(|(i, mut o)| {
            o.hlc = hlc_at(now_ms() - 60_000 + i as i64, 0);
            o
        })
        .collect();
    assert_eq!(hub.apply(&ops).applied, 4);
    // scorer-c passed all four as stand-ins before it was assigned s1.
    let have = BTreeMap::from([("scorer-a".to_string(), 4)]);
    let lap = Fx::laptop();
    let page = hub
        .store
        .read(|c| ops_after_for(c, "scorer-c", &BTreeMap::new(), 100))
        .unwrap();
    let stand_ins: Vec<Op> = page
        .ops
        .iter()
        .filter(|o| o.origin == "scorer-a")
        .cloned()
        .collect();
    assert!(
        stand_ins.iter().all(|o| o.kind == WITHHELD),
        "{stand_ins:?}"
    );
    assert_eq!(lap.apply(&stand_ins).withheld, 4);

    hub.store
        .write_without_ops(now(), "organiser", |tx| {
            trust::assign_scorer(tx, "s1", Some("scorer-c"))
        })
        .unwrap();
    let (resent, page) = refill_page(&hub, "scorer-c", &have, 10);
    let page = page.unwrap();
    let sent: Vec<(i64, String)> = resent.iter().map(|o| (o.seq, o.kind.clone())).collect();
    assert_eq!(
        sent,
        vec![
            (1, "photo".to_string()),
            (2, "photo".to_string()),
            (3, "sheet".to_string()),
            (4, "sheet".to_string()),
        ],
        "both photos, before the sheets that attach them"
    );
    assert_eq!((page.count, page.last), (4, true));
    // The laptop applies the resend: the photos' records are there before the sheets'.
    let r = lap.apply(&resent);
    assert_eq!((r.applied, r.refused.len()), (4, 0), "{r:?}");
    assert_eq!(
        lap.int("SELECT count(*) FROM sheet_evidence WHERE sheet_id = 'sh1'"),
        1
    );
    assert_eq!(lap.int("SELECT count(*) FROM photos"), 2);
    assert!(may_fetch(&hub, "scorer-c", &kept));
    // It no longer scores for s1 on scorer-a: its photo attached to s1 stays with s1.
    assert!(!may_fetch(&hub, "scorer-b", &kept));

    // A laptop assigned s1 before it saw anything gets the photos in order, not withheld.
    let fresh = sent_to(&hub, "scorer-c", &BTreeMap::new());
    assert_eq!(
        fresh
            .iter()
            .map(|(_, seq, kind)| (*seq, kind.as_str()))
            .collect::<Vec<_>>(),
        vec![(1, "photo"), (2, "photo"), (3, "sheet"), (4, "sheet")]
    );
}

#[test]
fn what_the_hub_refused_reaches_laptops_as_stand_ins_only() {
    let hub = Fx::hub();
    let mut roster = hub.store.read(|c| snapshot(c, Kind::Roster, "*")).unwrap();
    set(&mut roster, "townships", 0, "name", json!("被改的镇"));
    let r = hub.apply(&[
        op("scorer-a", 1, Kind::Roster, "*", roster),
        op(
            "media-a",
            1,
            Kind::Post,
            "p1",
            post("p1", "draft", 0, "正文"),
        ),
    ]);
    assert_eq!((r.applied, r.refused.len()), (1, 1), "{r:?}");
    for device in ["scorer-b", "media-b"] {
        let page = hub
            .store
            .read(|c| ops_after_for(c, device, &BTreeMap::new(), 100))
            .unwrap();
        let refused = page.ops.iter().find(|o| o.origin == "scorer-a").unwrap();
        assert_eq!(
            refused,
            &stand_in(refused),
            "{device}: nothing but its number"
        );
        assert_eq!(refused.seq, 1);
        assert_eq!(
            page.withheld,
            BTreeMap::from([(REFUSED_KEY.to_string(), 1)]),
            "{device}"
        );
        assert!(page
            .ops
            .iter()
            .any(|o| o.origin == "media-a" && o.kind == "post"));
    }
    // A laptop takes the stand-in and goes on past it.
    let lap = Fx::laptop();
    let page = hub
        .store
        .read(|c| ops_after_for(c, "scorer-b", &BTreeMap::new(), 100))
        .unwrap();
    let from_laptops: Vec<Op> = page
        .ops
        .into_iter()
        .filter(|o| o.origin != hub.rules.self_id)
        .collect();
    let r = lap.apply(&from_laptops);
    assert_eq!(
        (r.withheld, r.applied, r.refused_at_hub),
        (1, 1, 0),
        "{r:?}"
    );
    assert_eq!(lap.watermark("scorer-a"), 1);
    assert_eq!(
        lap.text("SELECT name FROM townships WHERE id = 't1'")
            .as_deref(),
        Some("一镇")
    );
}
