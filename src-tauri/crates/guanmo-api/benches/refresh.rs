//! How long after a sheet is submitted on this laptop the ranking can be redrawn: from the
//! call to `submit_sheet` until a change-log subscriber (what the desktop shell forwards to
//! the UI as `DataChanged`) has heard of it and `get_standings` has recomputed the whole
//! board. 22 townships × 60 scorers, every sheet submitted, default rubric (18 criteria).
//!
//! Run: `cargo bench -p guanmo-api --bench refresh`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Utc;
use guanmo_api::{scoring, Ctx};
use guanmo_domain::scoring::ScorerInput;
use guanmo_domain::SystemClock;
use std::sync::Arc;
use std::time::{Duration, Instant};

const SCORERS: usize = 60;
const ROUNDS: usize = 50;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Ctx::open(dir.path(), Arc::new(SystemClock)).unwrap();
    let townships: Vec<_> = guanmo_api::roster::list_townships(&ctx)
        .unwrap()
        .into_iter()
        .filter(|t| t.enabled)
        .collect();
    let rubric = guanmo_api::rubric::get_rubric(&ctx).unwrap();
    let criteria: Vec<(String, i32)> = rubric
        .categories
        .iter()
        .flat_map(|c| &c.criteria)
        .map(|c| (c.id.clone().unwrap(), (c.max_points * 10.0) as i32))
        .collect();
    let scorers: Vec<_> = (0..SCORERS)
        .map(|i| {
            scoring::register_scorer(
                &ctx,
                ScorerInput {
                    name: format!("评委{i:02}"),
                    // Two groups, every scorer scoring every township (a township head would be
                    // recused from their own).
                    group: if i < 40 { "市领导" } else { "市直部门" }.into(),
                    township_id: None,
                    active: true,
                    work_unit: String::new(),
                },
            )
            .unwrap()
        })
        .collect();
    for t in &townships {
        scoring::set_scoring_open(&ctx, &t.id, true).unwrap();
    }
    // Seed the marks in one transaction per sheet through the store (the api would take one
    // fsync per mark); sheets are then submitted through the api.
    let t0 = Instant::now();
    let mut sheets = Vec::new();
    for (ti, t) in townships.iter().enumerate() {
        for (si, s) in scorers.iter().enumerate() {
            let sheet = scoring::open_sheet(&ctx, &s.id, &t.id).unwrap();
            ctx.store()
                .write(Utc::now(), "bench", |tx| {
                    for (ci, (cid, max)) in criteria.iter().enumerate() {
                        let v = (max - ((ti * 7 + si * 3 + ci) % 20) as i32).max(0);
                        tx.conn().execute(
                            "INSERT INTO marks (sheet_id, criterion_id, tenths, note, updated_at)
                             VALUES (?1, ?2, ?3, '', ?4)",
                            rusqlite::params![sheet.id, cid, v, tx.at()],
                        )?;
                    }
                    Ok(())
                })
                .unwrap();
            let sheet = scoring::get_sheet(&ctx, &sheet.id).unwrap();
            sheets.push(scoring::submit_sheet(&ctx, &sheet.id, sheet.version).unwrap());
        }
    }
    eprintln!(
        "seeded {} submitted sheets in {:.1} s",
        sheets.len(),
        t0.elapsed().as_secs_f64()
    );

    let rx = ctx.store().subscribe();
    let mut samples = Vec::with_capacity(ROUNDS);
    let mut recompute = Vec::with_capacity(ROUNDS);
    for i in 0..ROUNDS {
        let sheet = &sheets[(i * 97) % sheets.len()];
        let unlocked = scoring::unlock_sheet(&ctx, &sheet.id, "基准测试".into()).unwrap();
        while rx.try_recv().is_ok() {}
        let start = Instant::now();
        scoring::submit_sheet(&ctx, &sheet.id, unlocked.version).unwrap();
        let committed = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        assert!(committed.entities.iter().any(|e| e == "sheet"));
        let r0 = Instant::now();
        let standings = scoring::get_standings(&ctx).unwrap();
        recompute.push(r0.elapsed());
        assert_eq!(standings.rows.len(), townships.len());
        samples.push(start.elapsed());
    }
    let report = |name: &str, v: &mut Vec<Duration>| {
        v.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{name}: median {:.2} ms, p95 {:.2} ms, max {:.2} ms ({} rounds)",
            ms(v[v.len() / 2]),
            ms(v[v.len() * 95 / 100]),
            ms(v[v.len() - 1]),
            v.len()
        );
    };
    report("submit → change heard → standings recomputed", &mut samples);
    report(
        "get_standings alone (read sheets + aggregate)",
        &mut recompute,
    );
}
