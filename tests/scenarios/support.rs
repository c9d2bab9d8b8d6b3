//! A fresh data folder per test, with a fixed clock; and this test binary re-run as a child
//! process for the kill -9 tests.

use chrono::{TimeZone, Utc};
use guanmo_api::Ctx;
use guanmo_domain::FixedClock;
use std::path::PathBuf;
use std::sync::Arc;

pub struct Env {
    pub ctx: Ctx,
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(
            Utc.with_ymd_and_hms(2026, 12, 4, 0, 30, 0).unwrap(),
        ));
        let ctx = Ctx::open(&dir.path().join("data"), clock).unwrap();
        Env { ctx, dir }
    }

    /// Reopens the same data folder, as a restart would.
    pub fn reopen(&self) -> Ctx {
        Ctx::open(
            &self.dir.path().join("data"),
            Arc::new(guanmo_domain::SystemClock),
        )
        .unwrap()
    }

    pub fn file(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// Every row of the roster and rubric plus the change-log length: equal snapshots mean
    /// nothing changed.
    pub fn snapshot(&self) -> String {
        let t = guanmo_api::roster::list_townships(&self.ctx).unwrap();
        let r = guanmo_api::rubric::get_rubric(&self.ctx).unwrap();
        let n = self.ctx.store().changes_since(0, 100_000).unwrap().len();
        format!(
            "{}\n{}\n{n}",
            serde_json::to_string(&t).unwrap(),
            serde_json::to_string(&r).unwrap()
        )
    }
}

/// Re-runs this test binary as a child that runs only the ignored test `test` (a child entry
/// point), with `env` set to `dir` and its stdout piped back.
pub fn spawn_test_child(test: &str, env: &str, dir: &std::path::Path) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            test,
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(env, dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// Every (sheet, criterion) a writing child process marks — the sheets of the first scorer for
/// the first `townships` enabled townships — with the criterion's max in tenths.
pub fn mark_keys(ctx: &Ctx, townships: usize) -> Vec<(String, String, i32)> {
    let scorer = guanmo_api::scoring::list_scorers(ctx).unwrap().remove(0);
    let rubric = guanmo_api::rubric::get_rubric(ctx).unwrap();
    let mut out = Vec::new();
    for t in guanmo_api::roster::list_townships(ctx)
        .unwrap()
        .iter()
        .filter(|t| t.enabled)
        .take(townships)
    {
        let sheet = guanmo_api::scoring::open_sheet(ctx, &scorer.id, &t.id).unwrap();
        for c in rubric.categories.iter().flat_map(|c| &c.criteria) {
            out.push((
                sheet.id.clone(),
                c.id.clone().unwrap(),
                (c.max_points * 10.0) as i32,
            ));
        }
    }
    out
}

/// The mark a sheet holds for a criterion, in tenths.
pub fn mark_tenths(ctx: &Ctx, sheet: &str, crit: &str) -> Option<i32> {
    guanmo_api::scoring::get_sheet(ctx, sheet)
        .unwrap()
        .marks
        .iter()
        .find(|m| m.criterion_id == crit)
        .and_then(|m| m.points)
        .map(|p| (p * 10.0).round() as i32)
}
