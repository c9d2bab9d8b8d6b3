//! What an upgrade fixture holds, read through the api: the generator
//! (`upgrade/make_fixture.rs`) writes it into `expected.json` with the release that made the
//! data folder, and the upgrade scenario (`scenarios/upgrade.rs`) reads it again with the
//! current code and compares.
//!
//! Compiled into both, so it must build against every release that runs the generator from
//! now on. It only grows: keep every key an older `expected.json` holds (the scenario checks
//! that each expected key is still there; new keys are fine). Every list is sorted by a stable
//! key, so the order a screen shows things in may change without failing an upgrade.

use guanmo_api::comments::{self, QueueKind};
use guanmo_api::Ctx;
use guanmo_api::{feed, paper, people, photos, results, roster, rubric, schedule, scoring, tally};
use guanmo_media::Size;
use serde_json::{json, Map, Value};

/// Errors of the generator and the snapshot.
pub type BoxError = Box<dyn std::error::Error>;

/// 64-bit FNV-1a, hex: a checksum of a stored file that needs no extra dependency.
pub fn fnv1a(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// Any api value as JSON (a macro: the tests crate does not depend on serde itself).
macro_rules! to_json {
    ($v:expr) => {
        serde_json::to_value($v)?
    };
}

/// A list as JSON, sorted by the value at the JSON pointer `$key` of each item (then by the
/// whole text, so equal keys sort the same way every time).
macro_rules! sorted {
    ($items:expr, $key:expr) => {
        sort_by(serde_json::to_value($items)?, $key)
    };
}

fn sort_by(list: Value, key: &str) -> Value {
    match list {
        Value::Array(mut items) => {
            items.sort_by_key(|v| {
                let k = match v.pointer(key) {
                    Some(Value::String(s)) => s.clone(),
                    // Numbers right-aligned, so 10 sorts after 9.
                    Some(Value::Number(n)) => format!("{n:>24}"),
                    Some(other) => other.to_string(),
                    None => String::new(),
                };
                (k, v.to_string())
            });
            Value::Array(items)
        }
        other => other,
    }
}

/// Every user table of the database with its row count (read with SQL: the tests crate may).
pub fn table_counts(ctx: &Ctx) -> Result<Map<String, Value>, BoxError> {
    let counts = ctx.store().read(|c| {
        let mut st = c.prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
             ORDER BY name",
        )?;
        let names: Vec<String> = st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        let mut out = Map::new();
        for name in names {
            let n: i64 = c.query_row(&format!("SELECT count(*) FROM \"{name}\""), [], |r| {
                r.get(0)
            })?;
            out.insert(name, json!(n));
        }
        Ok(out)
    })?;
    Ok(counts)
}

/// The schema version (`PRAGMA user_version`, the number of migrations applied).
pub fn schema_version(ctx: &Ctx) -> Result<i64, BoxError> {
    Ok(ctx
        .store()
        .read(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?))?)
}

/// Every record the api shows, as the organiser on the hub sees it with no one signed in.
/// Reads only.
pub fn snapshot(ctx: &Ctx) -> Result<Value, BoxError> {
    let mut s = Map::new();
    s.insert(
        "device".into(),
        json!({
            "device_id": ctx.store().device_id(),
            "role": to_json!(&ctx.device_role()?),
            "idle_minutes": people::idle_minutes(ctx)?,
        }),
    );
    s.insert(
        "townships".into(),
        sorted!(&roster::list_townships(ctx)?, "/id"),
    );
    s.insert("rubric".into(), to_json!(&rubric::get_rubric(ctx)?));
    s.insert(
        "scorers".into(),
        sorted!(&scoring::list_scorers(ctx)?, "/id"),
    );
    s.insert(
        "people".into(),
        sorted!(&people::list_people(ctx)?, "/person/id"),
    );
    s.insert("sheets".into(), sorted!(&scoring::list_sheets(ctx)?, "/id"));
    s.insert(
        "audit".into(),
        sorted!(&scoring::audit_log(ctx, None)?, "/seq"),
    );
    s.insert(
        "aggregation_rule".into(),
        to_json!(&scoring::get_aggregation_rule(ctx)?),
    );
    let mut standings = to_json!(&scoring::get_standings(ctx)?);
    if let Some(rows) = standings.get_mut("rows").and_then(Value::as_array_mut) {
        rows.sort_by_key(|r| r["township_id"].to_string());
    }
    s.insert("standings".into(), standings);
    let mut board = to_json!(&scoring::scoring_board(ctx)?);
    for list in ["townships", "scorers"] {
        if let Some(rows) = board.get_mut(list).and_then(Value::as_array_mut) {
            rows.sort_by_key(|r| {
                r.get("township_id")
                    .or_else(|| r.get("scorer_id"))
                    .map(|v| v.to_string())
                    .unwrap_or_default()
            });
        }
    }
    s.insert("board".into(), board);
    s.insert("results".into(), to_json!(&results::get_results(ctx)?));
    s.insert(
        "results_settings".into(),
        to_json!(&results::get_results_settings(ctx)?),
    );
    s.insert(
        "organiser_adjustments".into(),
        sorted!(&results::list_organiser_adjustments(ctx)?, "/id"),
    );
    s.insert("tour".into(), to_json!(&schedule::get_tour_settings(ctx)?));
    let paper_sheets = paper::list_paper_sheets(ctx)?;
    let touched: Vec<_> = paper_sheets
        .iter()
        .filter(|p| p.first.is_some() || p.second.is_some() || p.scan_hash.is_some())
        .collect();
    s.insert("paper".into(), sorted!(&touched, "/scorer_id"));
    s.insert("paper_pairs".into(), json!(paper_sheets.len()));
    s.insert("posts".into(), sorted!(&feed::list_posts(ctx)?, "/id"));
    s.insert(
        "public_posts".into(),
        sorted!(&feed::all_public_posts(ctx)?, "/id"),
    );
    s.insert("media_credit".into(), json!(feed::get_media_credit(ctx)?));
    let mut photo_rows = Vec::new();
    for p in photos::list_photos(ctx)? {
        let mut files = Map::new();
        for (name, size) in [
            ("original", Size::Original),
            ("thumb", Size::Thumb),
            ("web", Size::Web),
        ] {
            let bytes = std::fs::read(ctx.media().path(&p.hash, size)?)?;
            files.insert(
                name.into(),
                json!({ "bytes": bytes.len(), "fnv1a": fnv1a(&bytes) }),
            );
        }
        photo_rows.push(json!({ "info": to_json!(&p), "files": files }));
    }
    photo_rows.sort_by_key(|p| p["info"]["hash"].to_string());
    s.insert("photos".into(), Value::Array(photo_rows));
    let mut queues = Map::new();
    for (name, kind) in [
        ("pending", QueueKind::Pending),
        ("reported", QueueKind::Reported),
        ("approved", QueueKind::Approved),
        ("rejected", QueueKind::Rejected),
        ("suggestions", QueueKind::Suggestions),
    ] {
        let items: Vec<_> = comments::queue(ctx, kind)?
            .into_iter()
            .map(|i| i.comment)
            .collect();
        queues.insert(name.into(), sorted!(&items, "/id"));
    }
    s.insert("comment_queues".into(), Value::Object(queues));
    s.insert(
        "comment_overview".into(),
        to_json!(&comments::overview(ctx)?),
    );
    let public = comments::public_comments(ctx, None)?;
    s.insert(
        "public_comments".into(),
        json!({
            "open": public.open,
            "comments": sorted!(&public.comments, "/id"),
            "likes": sorted!(&public.likes, "/0"),
        }),
    );
    s.insert(
        "moderation_log".into(),
        sorted!(&comments::moderation_log(ctx, None)?, "/id"),
    );
    s.insert("mutes".into(), sorted!(&comments::list_mutes(ctx)?, "/key"));
    s.insert("words".into(), json!(comments::list_words(ctx)?));
    s.insert("tally".into(), to_json!(&tally::tally_status(ctx)?));
    s.insert("sealed_tally".into(), json!(tally::sealed_tally_text(ctx)?));
    s.insert(
        "sign_in_log".into(),
        sorted!(&people::sign_in_log(ctx)?, "/at"),
    );
    Ok(Value::Object(s))
}
