//! Upgrades keep data: the data folder each earlier release left behind
//! (`tests/fixtures/upgrade/<release>/`, made by that release's code with
//! `tests/upgrade/make_fixture.sh`) opens with the current code, migrates to the current
//! schema, and every record the api showed at that release is still there and readable the
//! same way: the townships, rubric, people with their PINs, score sheets with their marks and
//! evidence, the ranking and the results, paper sheets, posts, comments, photos byte for byte,
//! the sealed tally. A second open changes nothing.
//!
//! What is compared is `expected.json`'s `snapshot` (see `tests/upgrade/records.rs`): every
//! key it holds must still be there with the same value; keys the current code adds are fine.

#[path = "../upgrade/records.rs"]
mod records;

use guanmo_api::{comments, people, results, roster, scoring, tally, Ctx};
use guanmo_domain::FixedClock;
use guanmo_media::{Limits, MediaStore, Size};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The database file in a data folder (as `guanmo_api` names it).
const DB_FILE: &str = "guanmo.sqlite3";

/// Keys whose values are wording made for a screen or a printout from the data (not data):
/// only their presence is checked, so rewording one does not fail an upgrade.
const PRESENTATION: &[&str] = &[
    "arithmetic",
    "rule_summary",
    "settings_summary",
    "unranked_reason",
    "reject_reasons",
    "time",
    "updated_time",
];

/// Tables a migration removed on purpose, as `(table, migration)`; a fixture's rows in them
/// are not looked for. Empty so far.
const RETIRED_TABLES: &[(&str, &str)] = &[];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every release's fixture folder, oldest label first.
fn fixtures() -> Vec<PathBuf> {
    let root = manifest_dir().join("fixtures/upgrade");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.json").is_file())
        .collect();
    out.sort();
    out
}

/// The number of migrations the current code has (`migrations/NNNN-name/up.sql`).
fn migration_count() -> i64 {
    let dir = manifest_dir().join("../src-tauri/crates/guanmo-store/migrations");
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("up.sql").is_file())
        .count() as i64
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// File names in the data folder, but the WAL and shared-memory files an open database has.
fn files_beside_db(data: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(data)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with("-wal") && !n.ends_with("-shm"))
        .collect();
    names.sort();
    names
}

/// The residents' numbers a fixture's database keeps as digits (none from 0024 on), read from
/// a copy in `scratch` (opening the fixture itself could leave files beside it).
fn plain_numbers(db: &Path, scratch: &Path) -> Vec<String> {
    let copy = scratch.join("numbers.sqlite3");
    std::fs::copy(db, &copy).unwrap();
    let c = rusqlite::Connection::open(&copy).unwrap();
    let mut st = c
        .prepare(
            "SELECT phone FROM comments WHERE typeof(phone) = 'text'
             UNION SELECT phone FROM mutes WHERE typeof(phone) = 'text'
             UNION SELECT phone FROM moderation_log WHERE typeof(phone) = 'text'",
        )
        .unwrap();
    let rows = st.query_map([], |r| r.get(0)).unwrap();
    rows.collect::<Result<_, _>>().unwrap()
}

/// Backups of the database taken before migrating it from `version`: `<db>.pre-v<N>-*.bak`.
fn backups(data: &Path, version: i64) -> Vec<PathBuf> {
    let prefix = format!("{DB_FILE}.pre-v{version}-");
    files_beside_db(data)
        .into_iter()
        .filter(|n| n.starts_with(&prefix) && n.ends_with(".bak"))
        .map(|n| data.join(n))
        .collect()
}

/// Collects where `actual` differs from `expected`: every key of an expected object must be
/// in the actual one (extra keys are fine), lists must have the same length, numbers agree to
/// 1e-6.
fn compare(expected: &Value, actual: &Value, at: &str, diffs: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let here = format!("{at}/{k}");
                match a.get(k) {
                    None => diffs.push(format!("{here}: missing (expected {ev})")),
                    Some(_) if PRESENTATION.contains(&k.as_str()) => {}
                    Some(av) => compare(ev, av, &here, diffs),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                diffs.push(format!(
                    "{at}: {} items, expected {}\n  expected: {}\n  actual:   {}",
                    a.len(),
                    e.len(),
                    expected,
                    actual
                ));
                return;
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                compare(ev, av, &format!("{at}/{i}"), diffs);
            }
        }
        (Value::Number(e), Value::Number(a)) => {
            let (e, a) = (e.as_f64().unwrap(), a.as_f64().unwrap());
            if (e - a).abs() > 1e-6 {
                diffs.push(format!("{at}: {a}, expected {e}"));
            }
        }
        (e, a) if e == a => {}
        (e, a) => diffs.push(format!("{at}: {a}, expected {e}")),
    }
}

/// Row counts per table and the change log's length, device id and schema version: equal
/// between two opens means the second open changed nothing.
fn state(ctx: &Ctx) -> String {
    let changes = ctx.store().changes_since(0, u32::MAX).unwrap().len();
    format!(
        "{} {} {changes} {}",
        records::schema_version(ctx).unwrap(),
        ctx.store().device_id(),
        Value::Object(records::table_counts(ctx).unwrap())
    )
}

fn open(data: &Path, at: &str) -> Ctx {
    let at = chrono::DateTime::parse_from_rfc3339(at)
        .unwrap()
        .with_timezone(&chrono::Utc);
    Ctx::open(data, Arc::new(FixedClock::new(at)))
        .unwrap_or_else(|e| panic!("the data folder does not open: {e}"))
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("expected.json has no {pointer}"))
}

#[test]
fn every_earlier_release_opens_migrates_and_keeps_every_record() {
    let fixtures = fixtures();
    assert!(
        !fixtures.is_empty(),
        "no fixture under tests/fixtures/upgrade"
    );
    for fixture in fixtures {
        check_release(&fixture);
    }
}

fn check_release(fixture: &Path) {
    let release = fixture.file_name().unwrap().to_string_lossy().into_owned();
    let expected: Value =
        serde_json::from_slice(&std::fs::read(fixture.join("expected.json")).unwrap()).unwrap();
    assert_eq!(
        expected["format"], 1,
        "{release}: unknown expected.json format"
    );
    let from = expected["schema_version"].as_i64().unwrap();
    let current = migration_count();
    assert!(current >= from, "{release}: newer than this code");
    let data_name = str_at(&expected, "/data_dir");
    assert_eq!(str_at(&expected, "/db_file"), DB_FILE);
    let source = fixture.join(data_name);
    for side in ["-wal", "-shm", "-journal"] {
        assert!(
            !source.join(format!("{DB_FILE}{side}")).exists(),
            "{release}: the fixture must be closed cleanly (no {side})"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_dir(&source, &data);
    let before = files_beside_db(&data);
    let clock = str_at(&expected, "/clock");

    // Opening migrates to the current schema.
    let ctx = open(&data, clock);
    assert_eq!(
        records::schema_version(&ctx).unwrap(),
        current,
        "{release}: migrated from {from} to every current migration"
    );

    // A backup of the database before it was migrated (`<db>.pre-v<N>-*.bak`): only when a
    // migration ran, a database at the release's version with every row.
    let taken = backups(&data, from);
    if current == from {
        assert!(
            taken.is_empty(),
            "{release}: nothing migrated, nothing to back up"
        );
    } else {
        let backup = taken.first().unwrap_or_else(|| {
            panic!("{release}: migrated {from} → {current} without a pre-migration backup")
        });
        assert_eq!(taken.len(), 1, "{release}: one backup per upgrade");
        let copy = dir.path().join("backup.sqlite3");
        std::fs::copy(backup, &copy).unwrap();
        let db = rusqlite::Connection::open(&copy).unwrap();
        let version: i64 = db
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            version, from,
            "{release}: the backup is the database as it was"
        );
        for (table, n) in expected["table_counts"].as_object().unwrap() {
            let rows: i64 = db
                .query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(rows, n.as_i64().unwrap(), "{release}: backup of {table}");
        }
    }
    assert_eq!(
        files_beside_db(&data)
            .into_iter()
            // The key residents' numbers are sealed with (migration 0024) is made on open.
            .filter(|n| n != "phone.key")
            .filter(|n| !before.contains(n) && !taken.iter().any(|b| b.ends_with(n)))
            .collect::<Vec<_>>(),
        Vec::<String>::new(),
        "{release}: opening leaves no other new file in the data folder"
    );

    // Residents' numbers are sealed (0024): none is left as digits in the file or its WAL.
    let numbers = plain_numbers(&source.join(DB_FILE), dir.path());
    let mut bytes = std::fs::read(data.join(DB_FILE)).unwrap();
    bytes.extend(std::fs::read(data.join(format!("{DB_FILE}-wal"))).unwrap_or_default());
    for n in &numbers {
        assert!(
            !bytes.windows(n.len()).any(|w| w == n.as_bytes()),
            "{release}: {n} is left as digits in the migrated database"
        );
    }

    // Every table still holds at least its rows (a migration may add, never lose).
    let counts = records::table_counts(&ctx).unwrap();
    for (table, n) in expected["table_counts"].as_object().unwrap() {
        if RETIRED_TABLES.iter().any(|(t, _)| t == table) {
            continue;
        }
        let now = counts
            .get(table)
            .and_then(Value::as_i64)
            .unwrap_or_else(|| panic!("{release}: table {table} is gone"));
        assert!(
            now >= n.as_i64().unwrap(),
            "{release}: {table} holds {now} rows, had {n}"
        );
    }

    // Everything the api showed at the release, it shows now.
    let snapshot = records::snapshot(&ctx).unwrap();
    let mut diffs = Vec::new();
    compare(&expected["snapshot"], &snapshot, "", &mut diffs);
    assert!(
        diffs.is_empty(),
        "{release}: {} differences after the upgrade:\n{}",
        diffs.len(),
        diffs
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );

    check_key_values(&release, &ctx, &expected);
    check_photos(&release, &ctx, &expected);

    // Everyone with a PIN signs in with it (argon2 hashes read back).
    for (person, pin) in expected["pins"].as_object().unwrap() {
        people::sign_in(&ctx, person, pin.as_str().unwrap())
            .unwrap_or_else(|e| panic!("{release}: {person} cannot sign in: {e}"));
        people::sign_out(&ctx, false).unwrap();
    }

    // A second open is a no-op: no migration, no new file, the same rows and records.
    let first = state(&ctx);
    let first_snapshot = records::snapshot(&ctx).unwrap();
    let files = files_beside_db(&data);
    drop(ctx);
    let ctx = open(&data, clock);
    assert_eq!(
        state(&ctx),
        first,
        "{release}: the second open changed the database"
    );
    assert_eq!(
        records::snapshot(&ctx).unwrap(),
        first_snapshot,
        "{release}: the second open changed a record"
    );
    assert_eq!(
        files_beside_db(&data),
        files,
        "{release}: a file appeared on the second open"
    );
}

/// The values the generator named, read through the api one by one.
fn check_key_values(release: &str, ctx: &Ctx, expected: &Value) {
    let k = &expected["key_values"];

    // A township's mark, with its note, on the sheet that carries it.
    let sheet = scoring::get_sheet(ctx, str_at(k, "/township_mark/sheet_id")).unwrap();
    let mark = sheet
        .marks
        .iter()
        .find(|m| m.criterion_id == str_at(k, "/township_mark/criterion_id"))
        .unwrap_or_else(|| panic!("{release}: the mark is gone"));
    assert_eq!(
        mark.points,
        k.pointer("/township_mark/points").and_then(Value::as_f64)
    );
    assert_eq!(mark.note, str_at(k, "/township_mark/note"));
    assert_eq!(sheet.township_id, str_at(k, "/township_mark/township_id"));
    let base = k
        .pointer("/township_mark/base_total")
        .unwrap()
        .as_f64()
        .unwrap();
    assert!((sheet.base_total - base).abs() < 1e-9);
    let township = roster::list_townships(ctx)
        .unwrap()
        .into_iter()
        .find(|t| t.id == sheet.township_id)
        .unwrap();
    assert_eq!(township.name, str_at(k, "/township_mark/township_name"));

    // The unlocked sheet keeps its reason; the draft its marks and comment.
    let unlocked = scoring::get_sheet(ctx, str_at(k, "/unlocked_sheet/id")).unwrap();
    assert_eq!(
        unlocked.unlock_reason.as_deref(),
        Some(str_at(k, "/unlocked_sheet/unlock_reason"))
    );
    let draft = scoring::get_sheet(ctx, str_at(k, "/draft_sheet/id")).unwrap();
    assert_eq!(draft.comment, str_at(k, "/draft_sheet/comment"));
    assert_eq!(
        draft.marks.len() as u64,
        k.pointer("/draft_sheet/marks").unwrap().as_u64().unwrap()
    );
    assert!(draft
        .evidence
        .iter()
        .any(|e| e.hash == str_at(k, "/evidence_photo")));

    // A person, by name, still tied to their scorer.
    let person = people::list_people(ctx)
        .unwrap()
        .into_iter()
        .find(|p| p.person.id == str_at(k, "/person/id"))
        .unwrap_or_else(|| panic!("{release}: the person is gone"));
    assert_eq!(person.person.name, str_at(k, "/person/name"));
    assert_eq!(
        person.person.scorer_id.as_deref(),
        Some(str_at(k, "/person/scorer_id"))
    );
    assert!(person.has_pin_here);

    // Comments: the approved one shows with its text, the rejected keeps its reason, the
    // suggestion its township and reply.
    let public = comments::public_comments(ctx, None).unwrap();
    let shown = public
        .comments
        .iter()
        .find(|c| c.id == str_at(k, "/comments/approved/id"))
        .unwrap_or_else(|| panic!("{release}: the approved comment is not shown"));
    assert_eq!(shown.text, str_at(k, "/comments/approved/text"));
    let rejected = comments::queue(ctx, comments::QueueKind::Rejected).unwrap();
    let rejected = rejected
        .iter()
        .find(|c| c.comment.id == str_at(k, "/comments/rejected/id"))
        .unwrap();
    assert_eq!(
        rejected.comment.reject_reason.as_deref(),
        Some(str_at(k, "/comments/rejected/reason"))
    );
    let suggestions = comments::queue(ctx, comments::QueueKind::Suggestions).unwrap();
    let answered = suggestions
        .iter()
        .find(|c| c.comment.id == str_at(k, "/comments/answered/id"))
        .unwrap();
    assert_eq!(
        answered.comment.reply.as_deref(),
        Some(str_at(k, "/comments/answered/reply"))
    );
    assert_eq!(
        answered.comment.assigned_to.as_deref(),
        Some(str_at(k, "/comments/answered/assigned_to"))
    );
    let pending = comments::queue(ctx, comments::QueueKind::Pending).unwrap();
    let flagged = pending
        .iter()
        .find(|c| c.comment.id == str_at(k, "/comments/pending_flagged/id"))
        .unwrap();
    assert!(flagged
        .comment
        .flagged_words
        .iter()
        .any(|w| w == str_at(k, "/comments/pending_flagged/word")));

    // The ranking computes, and gives the same result.
    let r = results::get_results(ctx).unwrap();
    let row = r
        .groups
        .iter()
        .flat_map(|g| &g.rows)
        .find(|row| row.township_id == str_at(k, "/result/township_id"))
        .unwrap();
    let want = k.pointer("/result/final_score").unwrap().as_f64().unwrap();
    assert!(
        row.final_score.is_some_and(|s| (s - want).abs() < 1e-9),
        "{release}: final score {:?}, expected {want}",
        row.final_score
    );
    assert_eq!(
        row.rank.map(i64::from),
        k.pointer("/result/rank").unwrap().as_i64()
    );
    let standings = scoring::get_standings(ctx).unwrap();
    assert!(standings.rows.iter().any(|s| s.rank == Some(1)));

    // The sealed tally is the same tally, still valid and revealed.
    let status = tally::tally_status(ctx).unwrap();
    let seal = status.seal.unwrap();
    assert_eq!(seal.digest, str_at(k, "/tally/digest"));
    assert!(
        seal.still_valid,
        "{release}: the upgrade voided the sealed tally"
    );
    assert!(status.revealed);
}

/// Every photo's original hashes to its name (BLAKE3, by importing it into a scratch store),
/// and every stored file is byte for byte what the release stored.
fn check_photos(release: &str, ctx: &Ctx, expected: &Value) {
    let scratch = tempfile::tempdir().unwrap();
    let media = MediaStore::new(scratch.path()).unwrap();
    let photos = expected
        .pointer("/snapshot/photos")
        .unwrap()
        .as_array()
        .unwrap();
    assert!(!photos.is_empty());
    for p in photos {
        let hash = str_at(p, "/info/hash");
        let original = std::fs::read(ctx.media().path(hash, Size::Original).unwrap()).unwrap();
        let again = media
            .import_bytes("fixture", &original, &Limits::default())
            .unwrap();
        assert_eq!(again.hash, hash, "{release}: photo {hash} changed");
        for (name, size) in [
            ("original", Size::Original),
            ("thumb", Size::Thumb),
            ("web", Size::Web),
        ] {
            let bytes = std::fs::read(ctx.media().path(hash, size).unwrap()).unwrap();
            assert_eq!(
                records::fnv1a(&bytes),
                str_at(p, &format!("/files/{name}/fnv1a")),
                "{release}: the {name} file of {hash}"
            );
        }
    }
}
