//! First-start defaults: the 22 townships of 常宁市 (plus 天堂山街道, disabled) and the
//! five-area rubric with 现场汇报, read from `assets/defaults/` through the same importers an
//! organiser uses, so the defaults obey every import rule. Seeded once, in one transaction.

use crate::exchange::{self, FileFormat};
use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use guanmo_store::meta;

/// The default roster file, as shipped.
pub const DEFAULT_ROSTER_CSV: &str = include_str!("../../../../assets/defaults/roster.csv");
/// The default rubric file, as shipped.
pub const DEFAULT_RUBRIC_JSON: &str = include_str!("../../../../assets/defaults/rubric.json");

pub(crate) fn seed_defaults_once(ctx: &Ctx) -> ApiResult<()> {
    let already = ctx.store.read(|c| meta::get(c, meta::SEEDED))?;
    if already.is_some() {
        return Ok(());
    }
    let broken = |what: &str, e: String| {
        ApiError::new(
            ErrorCode::Internal,
            format!("default {what} is invalid: {e}"),
        )
    };
    let roster = exchange::read_roster(DEFAULT_ROSTER_CSV.as_bytes(), FileFormat::Csv)
        .map_err(|e| broken("roster", format!("{e:?}")))?;
    let rubric = exchange::read_rubric(DEFAULT_RUBRIC_JSON.as_bytes(), FileFormat::Json)
        .map_err(|e| broken("rubric", format!("{e:?}")))?
        .normalized();
    let problems = rubric.validate();
    if !problems.is_empty() {
        return Err(broken("rubric", format!("{problems:?}")));
    }
    let rows: Vec<_> = roster.rows.into_iter().map(|r| r.input).collect();
    ctx.store
        .write_without_ops(ctx.clock.now(), "system", |tx| {
            guanmo_store::roster::apply_import(tx, &rows)?;
            guanmo_store::rubric::save(tx, &rubric)?;
            meta::set(tx, meta::SEEDED, tx.at())
        })?;
    Ok(())
}
