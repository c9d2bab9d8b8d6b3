//! Makes an upgrade fixture: a data folder as a release leaves it after a tour, written through
//! the api the desktop uses (never SQL), and `expected.json` with everything the api shows of
//! it. The upgrade scenario (`scenarios/upgrade.rs`) opens the folder with the current code
//! and checks every record is still there.
//!
//! Run it with the release's own code, not the working tree's (see
//! `tests/fixtures/upgrade/README.md`; `tests/upgrade/make_fixture.sh` does it all):
//!
//! ```text
//! cargo run -p guanmo-tests --example make_upgrade_fixture -- <empty folder> <label>
//! ```
//!
//! It writes `<folder>/data/` (the data folder: `guanmo.sqlite3` and `objects/`, as the app
//! lays it out) and `<folder>/expected.json`. The database is closed cleanly, so no `-wal` or
//! `-shm` file is left beside it.
//!
//! The organiser's hub after a tour: the default roster and rubric, a schedule, scorers and
//! people with roles and PINs, submitted, unlocked-and-resubmitted and draft score sheets with
//! marks, notes, bonus/penalty items and evidence photos, paper sheets entered twice, organiser
//! adjustments (one withdrawn) with a photo of their basis, routine scores, results settings,
//! posts with photos (published and pinned, retracted, draft), resident comments (approved and
//! pinned, reported, rejected, pending and flagged, a suggestion handed over and answered),
//! likes, a mute, the word list, and a sealed and revealed tally.

mod records;

use chrono::{DateTime, Duration, Utc};
use guanmo_api::comments::{self, Decision, Submission};
use guanmo_api::exchange::FileFormat;
use guanmo_api::results::AdjustmentInput;
use guanmo_api::{feed, paper, people, photos, results, roster, schedule, scoring, tally, Ctx};
use guanmo_domain::aggregation::AggregationRule;
use guanmo_domain::comments::{CommentInput, CommentKind};
use guanmo_domain::feed::PostInput;
use guanmo_domain::paper::{PaperInput, PaperValue};
use guanmo_domain::people::{PersonInput, PersonRole};
use guanmo_domain::results::{Band, BandRule, Blend, GroupSettings, ResultsSettings};
use guanmo_domain::roster::{Township, TownshipInput, TownshipKind};
use guanmo_domain::schedule::TourSettings;
use guanmo_domain::scoring::{Scorer, ScorerInput, Sheet};
use guanmo_domain::FixedClock;
use guanmo_media::Limits;
use records::BoxError;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Version of `expected.json`'s layout.
const FORMAT: i64 = 1;
/// The data folder inside the fixture folder.
const DATA_DIR: &str = "data";
/// The database file inside the data folder (`guanmo_api`'s `DB_FILE`).
const DB_FILE: &str = "guanmo.sqlite3";
/// 2026-12-04 08:30 Beijing time, day 1 of the tour.
const START: &str = "2026-12-04T00:30:00Z";

const PIN_ORGANISER: &str = "205817";
const PIN_SCORER: &str = "730164";
const PIN_EDITOR: &str = "581320";
const PIN_MODERATOR: &str = "469027";
const PIN_LIAISON: &str = "318546";
const PIN_CLERK_A: &str = "730165";
const PIN_CLERK_B: &str = "730166";

fn main() -> Result<(), BoxError> {
    let mut args = std::env::args_os().skip(1);
    let usage = "usage: make_upgrade_fixture <empty output folder> <release label>";
    let out = PathBuf::from(args.next().ok_or(usage)?);
    let label = args
        .next()
        .ok_or(usage)?
        .into_string()
        .map_err(|_| "the label must be UTF-8")?;
    if out.exists() && std::fs::read_dir(&out)?.next().is_some() {
        return Err(format!("{} is not empty", out.display()).into());
    }
    let data = out.join(DATA_DIR);
    let start: DateTime<Utc> = DateTime::parse_from_rfc3339(START)?.with_timezone(&Utc);
    let clock = Arc::new(FixedClock::new(start));

    let mut expected = {
        let ctx = Ctx::open(&data, clock.clone())?;
        let mut t = Tour {
            ctx: &ctx,
            clock: &clock,
            pins: Map::new(),
            keys: Map::new(),
        };
        t.run()?;
        let end = guanmo_domain::Clock::now(clock.as_ref());
        json!({
            "format": FORMAT,
            "release": label,
            "data_dir": DATA_DIR,
            "db_file": DB_FILE,
            "schema_version": records::schema_version(&ctx)?,
            "clock": end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "pins": t.pins,
            "key_values": t.keys,
            "table_counts": records::table_counts(&ctx)?,
            "snapshot": records::snapshot(&ctx)?,
        })
        // The Ctx (its writer and every reader) closes here.
    };
    // The store's read-only connections close after its writer and cannot checkpoint, so the
    // WAL stays as the app leaves it. One read-write connection, the last to close, moves the
    // WAL into the database and removes the -wal and -shm files.
    {
        let db = rusqlite::Connection::open(data.join(DB_FILE))?;
        db.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    }
    for suffix in ["-wal", "-shm", "-journal"] {
        let side = data.join(format!("{DB_FILE}{suffix}"));
        if side.exists() {
            return Err(format!("{} was left behind", side.display()).into());
        }
    }
    let size = folder_size(&data)?;
    expected["data_bytes"] = json!(size);
    std::fs::write(
        out.join("expected.json"),
        serde_json::to_string_pretty(&expected)? + "\n",
    )?;
    println!(
        "fixture written to {} ({size} bytes of data)",
        out.display()
    );
    Ok(())
}

fn folder_size(dir: &Path) -> Result<u64, BoxError> {
    let mut total = 0;
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let meta = e.metadata()?;
        total += if meta.is_dir() {
            folder_size(&e.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// A small JPEG with a gradient seeded by `seed`, optionally with a camera's EXIF.
fn jpeg(seed: u8, exif: bool) -> Result<Vec<u8>, BoxError> {
    let (w, h) = (96usize, 64usize);
    let mut px = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            px.extend_from_slice(&[
                (x * 255 / w) as u8 ^ seed,
                (y * 255 / h) as u8,
                ((x + y) as u8).wrapping_mul(3).wrapping_add(seed),
            ]);
        }
    }
    let image = turbojpeg::Image {
        pixels: px.as_slice(),
        width: w,
        pitch: w * 3,
        height: h,
        format: turbojpeg::PixelFormat::RGB,
    };
    let bytes = turbojpeg::compress(image, 80, turbojpeg::Subsamp::Sub2x2)?.to_vec();
    if !exif {
        return Ok(bytes);
    }
    let payload = exif_payload();
    let len = u16::try_from(payload.len() + 2)?;
    let mut out = bytes[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&payload);
    out.extend_from_slice(&bytes[2..]);
    Ok(out)
}

/// One little-endian IFD entry's value.
enum V {
    Ascii(&'static str),
    Long(u32),
    Rational(Vec<(u32, u32)>),
}

impl V {
    fn encode(&self) -> (u16, u32, Vec<u8>) {
        match self {
            V::Ascii(s) => {
                let mut b = s.as_bytes().to_vec();
                b.push(0);
                (2, b.len() as u32, b)
            }
            V::Long(v) => (4, 1, v.to_le_bytes().to_vec()),
            V::Rational(r) => (
                5,
                r.len() as u32,
                r.iter()
                    .flat_map(|(n, d)| [n.to_le_bytes(), d.to_le_bytes()].concat())
                    .collect(),
            ),
        }
    }
}

fn ifd_len(entries: &[(u16, V)]) -> u32 {
    let data: u32 = entries
        .iter()
        .map(|(_, v)| v.encode().2.len() as u32)
        .filter(|l| *l > 4)
        .map(|l| l + l % 2)
        .sum();
    2 + 12 * entries.len() as u32 + 4 + data
}

fn ifd(entries: &[(u16, V)], start: u32) -> Vec<u8> {
    let mut head = (entries.len() as u16).to_le_bytes().to_vec();
    let mut data = Vec::new();
    let data_start = start + 2 + 12 * entries.len() as u32 + 4;
    for (tag, v) in entries {
        let (ty, count, bytes) = v.encode();
        head.extend_from_slice(&tag.to_le_bytes());
        head.extend_from_slice(&ty.to_le_bytes());
        head.extend_from_slice(&count.to_le_bytes());
        if bytes.len() <= 4 {
            let mut inline = bytes.clone();
            inline.resize(4, 0);
            head.extend_from_slice(&inline);
        } else {
            head.extend_from_slice(&(data_start + data.len() as u32).to_le_bytes());
            data.extend_from_slice(&bytes);
            if data.len() % 2 == 1 {
                data.push(0);
            }
        }
    }
    head.extend_from_slice(&0u32.to_le_bytes());
    head.extend_from_slice(&data);
    head
}

/// "Exif\0\0" with the camera (make, model), when it was taken and where (常宁市).
fn exif_payload() -> Vec<u8> {
    let exif = [(0x9003, V::Ascii("2026:12:04 09:41:07"))];
    let gps = [
        (0x0001, V::Ascii("N")),
        (0x0002, V::Rational(vec![(26, 1), (24, 1), (3000, 100)])),
        (0x0003, V::Ascii("E")),
        (0x0004, V::Rational(vec![(112, 1), (23, 1), (1200, 100)])),
    ];
    let mut ifd0 = [
        (0x010F, V::Ascii("Canon")),
        (0x0110, V::Ascii("Canon EOS R6")),
        (0x8769, V::Long(0)),
        (0x8825, V::Long(0)),
    ];
    let ifd0_off = 8;
    let exif_off = ifd0_off + ifd_len(&ifd0);
    let gps_off = exif_off + ifd_len(&exif);
    ifd0[2].1 = V::Long(exif_off);
    ifd0[3].1 = V::Long(gps_off);
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend(ifd(&ifd0, ifd0_off));
    tiff.extend(ifd(&exif, exif_off));
    tiff.extend(ifd(&gps, gps_off));
    [b"Exif\0\0".as_slice(), &tiff].concat()
}

/// The tour, step by step, on the organiser's hub.
struct Tour<'a> {
    ctx: &'a Ctx,
    clock: &'a FixedClock,
    /// Person id → PIN, so the scenario can sign each in.
    pins: Map<String, Value>,
    /// A few values the scenario names in its own assertions.
    keys: Map<String, Value>,
}

impl Tour<'_> {
    /// Moves the clock on, so every step has its own time and lists sort the same way.
    fn tick(&self, minutes: i64) {
        self.clock.advance(Duration::minutes(minutes));
    }

    fn key(&mut self, name: &str, value: Value) {
        self.keys.insert(name.into(), value);
    }

    fn sign_in_as(&self, person_id: &str) -> Result<(), BoxError> {
        people::sign_out(self.ctx, false)?;
        let pin = self.pins[person_id].as_str().ok_or("no PIN")?;
        people::sign_in(self.ctx, person_id, pin)?;
        Ok(())
    }

    fn person(
        &mut self,
        name: &str,
        roles: Vec<PersonRole>,
        scorer: Option<&Scorer>,
        pin: Option<&str>,
    ) -> Result<String, BoxError> {
        let p = people::save_person(
            self.ctx,
            None,
            0,
            PersonInput {
                name: name.into(),
                work_unit: "常宁市委办公室".into(),
                title: "干部".into(),
                roles,
                scorer_id: scorer.map(|s| s.id.clone()),
                active: true,
            },
        )?;
        if let Some(pin) = pin {
            self.pins.insert(p.id.clone(), json!(pin));
        }
        self.tick(1);
        Ok(p.id)
    }

    fn scorer(
        &self,
        name: &str,
        group: &str,
        leads: Option<&Township>,
    ) -> Result<Scorer, BoxError> {
        let s = scoring::register_scorer(
            self.ctx,
            ScorerInput {
                name: name.into(),
                group: group.into(),
                township_id: leads.map(|t| t.id.clone()),
                active: true,
                work_unit: format!("{group}办公室"),
            },
        )?;
        self.tick(1);
        Ok(s)
    }

    fn photo(&self, name: &str, seed: u8, exif: bool) -> Result<String, BoxError> {
        let imported =
            self.ctx
                .media()
                .import_bytes(name, &jpeg(seed, exif)?, &Limits::default())?;
        let info = photos::record_imported(self.ctx, name, &imported)?;
        self.tick(1);
        Ok(info.hash)
    }

    fn plan(&self, t: &Township, day: i32, arrival: &str, slot: i32) -> Result<(), BoxError> {
        roster::update_township(
            self.ctx,
            &t.id,
            t.version,
            TownshipInput {
                code: t.code.clone(),
                name: t.name.clone(),
                kind: t.kind,
                enabled: t.enabled,
                day: Some(day),
                arrival: Some(arrival.into()),
                slot_minutes: Some(slot),
                note: format!("第{day}天 {arrival} 到达"),
            },
        )?;
        Ok(())
    }

    /// Marks every criterion: its maximum less a tenth per `off` steps from the first on, a
    /// note on the first.
    fn fill(&self, sheet: &Sheet, off: u32) -> Result<Sheet, BoxError> {
        let rubric = guanmo_api::rubric::get_rubric(self.ctx)?;
        let mut sheet = sheet.clone();
        for (i, k) in rubric
            .categories
            .iter()
            .flat_map(|c| &c.criteria)
            .enumerate()
        {
            let take = f64::from(off.saturating_sub(i as u32).min(5)) / 10.0;
            let points = ((k.max_points - take) * 10.0).round() / 10.0;
            let note = if i == 0 {
                "台账齐全,亮点突出"
            } else {
                ""
            };
            sheet = scoring::record_mark(
                self.ctx,
                &sheet.id,
                k.id.as_deref().ok_or("criterion without id")?,
                Some(points),
                note.into(),
            )?;
        }
        Ok(sheet)
    }

    fn comment(
        &self,
        kind: CommentKind,
        target: &str,
        text: &str,
        township: Option<&Township>,
        phone: &str,
        key: &str,
    ) -> Result<String, BoxError> {
        let r = comments::submit(
            self.ctx,
            Submission {
                input: CommentInput {
                    target: target.into(),
                    nickname: "常宁居民".into(),
                    kind,
                    text: text.into(),
                    township_id: township.map(|t| t.id.clone()),
                    phone: phone.into(),
                },
                client_key: key.into(),
                peer: "203.0.113.7".into(),
                phone_verified: key.ends_with('1'),
            },
        )?;
        self.tick(1);
        Ok(r.id)
    }

    fn run(&mut self) -> Result<(), BoxError> {
        let ctx = self.ctx;
        guanmo_sync::set_role(ctx, guanmo_sync::Role::Hub, "组织方主机")?;
        // As the desktop: once someone has a PIN here, every write names a person.
        people::ask_who_is_working(ctx)?;
        self.tick(1);

        // The roster as shipped (22 townships and 天堂山街道, disabled); the route's first
        // townships planned on the tour's two days.
        let towns: Vec<Township> = roster::list_townships(ctx)?
            .into_iter()
            .filter(|t| t.enabled)
            .collect();
        let streets: Vec<&Township> = towns
            .iter()
            .filter(|t| t.kind == TownshipKind::Subdistrict)
            .collect();
        let rural: Vec<&Township> = towns
            .iter()
            .filter(|t| t.kind != TownshipKind::Subdistrict)
            .collect();
        let (a, b, c, d) = (
            streets[0].clone(),
            streets[1].clone(),
            rural[0].clone(),
            rural[1].clone(),
        );
        let led = rural[2].clone();

        // Scorers: two city leaders and a department head who leads a township (回避).
        let wang = self.scorer("王建国", "市领导", None)?;
        let li = self.scorer("李红梅", "市领导", None)?;
        let chen = self.scorer("陈志强", "市直部门", Some(&led))?;

        // People: the organiser first, with a PIN; then sign-in is required here.
        let organiser = self.person(
            "周主任",
            vec![PersonRole::Organiser, PersonRole::Counter],
            None,
            Some(PIN_ORGANISER),
        )?;
        people::set_pin(ctx, &organiser, PIN_ORGANISER)?;
        self.sign_in_as(&organiser)?;
        let scorer_person = self.person(
            "王建国",
            vec![PersonRole::Scorer],
            Some(&wang),
            Some(PIN_SCORER),
        )?;
        self.person("李红梅", vec![PersonRole::Scorer], Some(&li), None)?;
        let editor = self.person("李编辑", vec![PersonRole::Editor], None, Some(PIN_EDITOR))?;
        let moderator = self.person(
            "孙审核",
            vec![PersonRole::Moderator],
            None,
            Some(PIN_MODERATOR),
        )?;
        let liaison = self.person(
            "宜阳联络员",
            vec![PersonRole::Liaison],
            None,
            Some(PIN_LIAISON),
        )?;
        let clerk_a = self.person("张三", vec![PersonRole::Clerk], None, Some(PIN_CLERK_A))?;
        let clerk_b = self.person("李四", vec![PersonRole::Clerk], None, Some(PIN_CLERK_B))?;
        let monitor = self.person("刘监督", vec![PersonRole::Monitor], None, None)?;
        for (id, pin) in self.pins.clone() {
            if id != organiser {
                people::set_pin(ctx, &id, pin.as_str().ok_or("pin")?)?;
            }
        }
        let code = people::issue_sign_in_code(ctx, &monitor)?;
        self.key(
            "person",
            json!({ "id": scorer_person, "name": "王建国", "scorer_id": wang.id }),
        );
        self.key(
            "monitor_code_expires_at",
            json!({ "id": monitor, "expires_at": code.expires_at }),
        );
        self.tick(1);

        // The schedule: day 1 is today; four townships planned; A goes to another group.
        schedule::set_tour_settings(
            ctx,
            TourSettings {
                first_day: Some("2026-12-04".into()),
            },
        )?;
        self.plan(&a, 1, "09:00", 60)?;
        self.plan(&b, 1, "10:15", 45)?;
        self.plan(&c, 1, "14:00", 60)?;
        self.plan(&d, 2, "09:00", 60)?;
        results::set_township_group(ctx, &d.id, "重点乡镇组".into())?;
        self.tick(5);

        // Photos: evidence (with the camera's EXIF), the basis of an adjustment, a paper
        // sheet's scan and two for the feed.
        let evidence = self.photo("现场台账.jpg", 11, true)?;
        let basis = self.photo("表彰文件.jpg", 23, false)?;
        let scan = self.photo("纸质评分表.jpg", 37, false)?;
        let feed1 = self.photo("观摩现场一.jpg", 41, false)?;
        let feed2 = self.photo("观摩现场二.jpg", 59, false)?;
        self.key("evidence_photo", json!(evidence));

        // Scoring: A, B and C opened by hand (the organiser's state wins over the schedule).
        for t in [&a, &b, &c] {
            scoring::set_scoring_open(ctx, &t.id, true)?;
        }
        let rubric = guanmo_api::rubric::get_rubric(ctx)?;
        let first_criterion = rubric.categories[0].criteria[0]
            .id
            .clone()
            .ok_or("criterion without id")?;
        let bonus = rubric
            .adjustments
            .iter()
            .find(|x| x.kind == guanmo_domain::rubric::AdjustmentKind::Bonus)
            .and_then(|x| x.id.clone())
            .ok_or("no bonus item")?;
        let penalty = rubric
            .adjustments
            .iter()
            .find(|x| x.kind == guanmo_domain::rubric::AdjustmentKind::Penalty)
            .and_then(|x| x.id.clone())
            .ok_or("no penalty item")?;

        // 王建国 scores A himself: marks, a bonus, evidence, a comment; submitted.
        self.sign_in_as(&scorer_person)?;
        let sheet = scoring::open_sheet(ctx, &wang.id, &a.id)?;
        let sheet = self.fill(&sheet, 3)?;
        scoring::record_adjustment(ctx, &sheet.id, &bonus, Some(1.0), "获省级表彰".into())?;
        photos::attach_evidence(ctx, &sheet.id, &first_criterion, &evidence)?;
        let sheet = scoring::set_sheet_comment(ctx, &sheet.id, "基层党建扎实,特色鲜明".into())?;
        let wang_a = scoring::submit_sheet(ctx, &sheet.id, sheet.version)?;
        let mark = wang_a
            .marks
            .iter()
            .find(|m| m.criterion_id == first_criterion)
            .ok_or("no mark")?;
        self.key(
            "township_mark",
            json!({
                "sheet_id": wang_a.id,
                "township_id": a.id,
                "township_name": a.name,
                "criterion_id": first_criterion,
                "points": mark.points,
                "note": mark.note,
                "base_total": wang_a.base_total,
                "adjustment_total": wang_a.adjustment_total,
            }),
        );
        self.tick(10);

        // The rest, entered at the hub by the organiser.
        self.sign_in_as(&organiser)?;
        for (s, t, off) in [(&li, &a, 7), (&chen, &a, 12), (&wang, &b, 4), (&li, &b, 9)] {
            let sheet = scoring::open_sheet(ctx, &s.id, &t.id)?;
            let sheet = self.fill(&sheet, off)?;
            scoring::submit_sheet(ctx, &sheet.id, sheet.version)?;
            self.tick(3);
        }
        // 李红梅's sheet for B had a penalty missed: unlocked with a reason, fixed, resubmitted.
        let li_b = scoring::open_sheet(ctx, &li.id, &b.id)?;
        scoring::unlock_sheet(ctx, &li_b.id, "漏录负面问题扣分,经本人确认后补录".into())?;
        let fixed =
            scoring::record_adjustment(ctx, &li_b.id, &penalty, Some(0.5), "现场安全隐患".into())?;
        let li_b = scoring::submit_sheet(ctx, &fixed.id, fixed.version)?;
        self.key(
            "unlocked_sheet",
            json!({ "id": li_b.id, "unlock_reason": li_b.unlock_reason }),
        );
        // Drafts: 陈志强 half done on B with evidence and a note; 李红梅 just started on C.
        let draft = scoring::open_sheet(ctx, &chen.id, &b.id)?;
        for k in rubric.categories[0].criteria.iter() {
            let id = k.id.as_deref().ok_or("criterion without id")?;
            scoring::record_mark(
                ctx,
                &draft.id,
                id,
                Some(k.max_points - 0.5),
                "待核实".into(),
            )?;
        }
        photos::attach_evidence(ctx, &draft.id, &first_criterion, &evidence)?;
        let draft = scoring::set_sheet_comment(ctx, &draft.id, "尚未看完".into())?;
        self.key(
            "draft_sheet",
            json!({ "id": draft.id, "marks": draft.marks.len(), "comment": draft.comment }),
        );
        let started = scoring::open_sheet(ctx, &li.id, &c.id)?;
        scoring::record_mark(ctx, &started.id, &first_criterion, Some(2.0), String::new())?;
        self.tick(10);

        // Paper sheets entered twice: 陈志强's for C agrees and counts, with its scan; 王建国's
        // for C entered once so far.
        let paper_input = |off: f64| -> PaperInput {
            PaperInput {
                marks: rubric
                    .categories
                    .iter()
                    .flat_map(|c| &c.criteria)
                    .map(|k| PaperValue {
                        item_id: k.id.clone().unwrap_or_default(),
                        points: Some(((k.max_points - off) * 10.0).round() / 10.0),
                    })
                    .collect(),
                adjustments: vec![PaperValue {
                    item_id: bonus.clone(),
                    points: Some(0.5),
                }],
                comment: "纸质评分,字迹清楚".into(),
            }
        };
        self.sign_in_as(&clerk_a)?;
        paper::enter_paper_sheet(ctx, &chen.id, &c.id, 1, paper_input(0.3))?;
        paper::enter_paper_sheet(ctx, &wang.id, &c.id, 1, paper_input(0.2))?;
        self.tick(2);
        self.sign_in_as(&clerk_b)?;
        let counted = paper::enter_paper_sheet(ctx, &chen.id, &c.id, 2, paper_input(0.3))?;
        paper::attach_paper_scan(ctx, &chen.id, &c.id, &scan)?;
        self.key(
            "paper_sheet",
            json!({ "scorer_id": chen.id, "township_id": c.id, "sheet_id": counted.sheet_id }),
        );
        self.tick(5);

        // Results: organiser adjustments (one withdrawn), routine scores, groups, bands, blend.
        self.sign_in_as(&organiser)?;
        let adj = results::add_organiser_adjustment(
            ctx,
            AdjustmentInput {
                township_id: a.id.clone(),
                points: 1.0,
                basis: "获省级文明街道表彰".into(),
                attachment_hash: Some(basis.clone()),
            },
        )?;
        let wrong = results::add_organiser_adjustment(
            ctx,
            AdjustmentInput {
                township_id: b.id.clone(),
                points: -0.5,
                basis: "发生安全事故".into(),
                attachment_hash: None,
            },
        )?;
        results::remove_organiser_adjustment(ctx, &wrong.id, "经核实不属实".into())?;
        self.key(
            "organiser_adjustment",
            json!({ "id": adj.id, "township_id": a.id, "tenths": adj.tenths, "basis": adj.basis }),
        );
        let mut csv = String::from("乡镇(街道),平时考核得分\r\n");
        for (i, t) in towns.iter().enumerate() {
            csv.push_str(&format!("{},{}\r\n", t.name, 70 + (i * 7) % 29));
        }
        let (gbk, _, _) = encoding_rs::GBK.encode(&csv);
        results::import_routine_scores_bytes(ctx, &gbk, FileFormat::Csv)?;
        results::set_results_settings(
            ctx,
            ResultsSettings {
                groups: vec![
                    GroupSettings {
                        name: "街道组".into(),
                        bands: vec![Band {
                            label: "先进".into(),
                            rule: BandRule::AtLeast { score: 85.0 },
                        }],
                    },
                    GroupSettings {
                        name: "乡镇组".into(),
                        bands: vec![
                            Band {
                                label: "表扬".into(),
                                rule: BandRule::Top { from: 1, to: 1 },
                            },
                            Band {
                                label: "表态发言".into(),
                                rule: BandRule::Bottom { count: 1 },
                            },
                        ],
                    },
                ],
                blend: Some(Blend {
                    inspection_percent: 60.0,
                    routine_percent: 40.0,
                }),
            },
        )?;
        scoring::set_aggregation_rule(
            ctx,
            AggregationRule {
                normalize: true,
                ..AggregationRule::default()
            },
        )?;
        self.tick(5);

        // The live feed, as the editor: a published and pinned post with two photos, a
        // retracted one, a draft; the credit line.
        self.sign_in_as(&editor)?;
        feed::set_media_credit(ctx, "常宁市融媒体中心".into())?;
        let post = feed::create_draft(
            ctx,
            PostInput {
                stop_label: Some(feed::stop_label_for_township(ctx, &a.id)?),
                township_id: Some(a.id.clone()),
                body: "观摩组走进宜阳街道。\n党建引领基层治理,亮点纷呈。".into(),
                photos: vec![feed1.clone(), feed2.clone()],
                credit: "记者 李明 摄".into(),
            },
        )?;
        let post = feed::publish_post(ctx, &post.id, post.version)?;
        feed::pin_post(ctx, &post.id)?;
        self.tick(1);
        let gone = feed::create_draft(
            ctx,
            PostInput {
                body: "误发的一条。".into(),
                ..Default::default()
            },
        )?;
        let gone = feed::publish_post(ctx, &gone.id, gone.version)?;
        feed::retract_post(ctx, &gone.id)?;
        feed::create_draft(
            ctx,
            PostInput {
                stop_label: Some(feed::stop_label_for_township(ctx, &b.id)?),
                township_id: Some(b.id.clone()),
                body: "下一站:泉峰街道(草稿)".into(),
                photos: vec![feed2.clone()],
                credit: String::new(),
            },
        )?;
        self.key("post", json!({ "id": post.id, "photos": [feed1, feed2] }));
        self.tick(5);

        // Residents comment; the moderator decides; the liaison answers the suggestion.
        self.sign_in_as(&moderator)?;
        comments::add_words(ctx, "刷票\n代写材料")?;
        let praise = self.comment(
            CommentKind::Praise,
            "event",
            "家乡变化真大,点赞宜阳!",
            Some(&a),
            "13800000001",
            "key-1",
        )?;
        let on_post = self.comment(
            CommentKind::Other,
            &post.id,
            "加微信领红包 abc123",
            None,
            "13800000002",
            "key-2",
        )?;
        let suggestion = self.comment(
            CommentKind::Suggestion,
            "event",
            "建议在宜阳街道增设停车位",
            Some(&a),
            "13800000003",
            "key-3",
        )?;
        let flagged = self.comment(
            CommentKind::Praise,
            &post.id,
            "有人在群里刷票吗",
            None,
            "13800000004",
            "key-4",
        )?;
        comments::decide(
            ctx,
            &[praise.clone(), suggestion.clone()],
            Decision::Approve,
        )?;
        comments::decide(
            ctx,
            std::slice::from_ref(&on_post),
            Decision::Reject {
                reason: "含广告或联系方式".into(),
            },
        )?;
        comments::pin(ctx, &praise, true)?;
        comments::mute_author(ctx, &on_post, 3, "发布广告")?;
        comments::assign(ctx, &suggestion, &a.id)?;
        self.tick(1);
        comments::like(ctx, "event", "key-5")?;
        comments::like(ctx, "event", "key-6")?;
        comments::like(ctx, &post.id, "key-5")?;
        comments::report(ctx, &praise, "key-6", "与观摩会内容无关")?;
        self.tick(1);
        self.sign_in_as(&liaison)?;
        let reply = "已安排在街道办东侧新增车位30个,月底前完工。";
        comments::answer(ctx, &suggestion, reply)?;
        self.key(
            "comments",
            json!({
                "approved": { "id": praise, "text": "家乡变化真大,点赞宜阳!" },
                "rejected": { "id": on_post, "reason": "含广告或联系方式" },
                "answered": { "id": suggestion, "reply": reply, "assigned_to": a.id },
                "pending_flagged": { "id": flagged, "word": "刷票" },
            }),
        );
        self.tick(5);

        // The count: sealed with a reason (not every sheet is in) and revealed.
        self.sign_in_as(&organiser)?;
        let (_, digest) = tally::canonical_tally(ctx)?;
        tally::seal_tally(ctx, Some("部分乡镇未安排观摩,经组织方研究结束评分".into()))?;
        let status = tally::reveal_tally(ctx)?;
        self.key(
            "tally",
            json!({ "digest": digest, "revealed": status.revealed }),
        );
        let results = results::get_results(ctx)?;
        let row = results
            .groups
            .iter()
            .flat_map(|g| &g.rows)
            .find(|r| r.township_id == a.id)
            .ok_or("no result row")?;
        self.key(
            "result",
            json!({
                "township_id": a.id,
                "final_score": row.final_score,
                "rank": row.rank,
                "inspection": row.inspection,
                "routine": row.routine,
            }),
        );
        self.tick(1);
        people::sign_out(ctx, false)?;
        Ok(())
    }
}
