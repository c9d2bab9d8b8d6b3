//! Rubric use cases: read, validate, save, import and export. A rubric whose maxima do not
//! add up is never saved; the problems say where.

use crate::exchange::{self, FileFormat};
use crate::files::write_atomically;
use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use guanmo_domain::problem::{has_errors, Problem};
use guanmo_domain::rubric::Rubric;
use std::path::Path;

/// The current rubric.
pub fn get_rubric(ctx: &Ctx) -> ApiResult<Rubric> {
    ctx.store
        .read(guanmo_store::rubric::load)?
        .map(|(r, _)| r)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no rubric saved"))
}

/// Every problem with `rubric`, for live feedback in the editor.
pub fn validate_rubric(rubric: Rubric) -> Vec<Problem> {
    rubric.normalized().validate()
}

/// Saves `rubric` if it is valid and returns it with ids.
pub fn save_rubric(ctx: &Ctx, rubric: Rubric) -> ApiResult<Rubric> {
    ctx.ensure_organiser()?;
    let rubric = rubric.normalized();
    let problems = rubric.validate();
    if has_errors(&problems) {
        return Err(ApiError::with_problems(
            ErrorCode::Validation,
            "rubric refused",
            problems,
        ));
    }
    Ok(ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        guanmo_store::rubric::save(tx, &rubric)
    })?)
}

/// Imports a rubric from JSON or XLSX and saves it, replacing the current one, if valid.
pub fn import_rubric(ctx: &Ctx, path: &Path) -> ApiResult<Rubric> {
    ctx.ensure_organiser()?;
    let format = exchange::format_from_path(path)?;
    let bytes = exchange::read_file_limited(path)?;
    let rubric = exchange::read_rubric(&bytes, format)?.normalized();
    let problems = rubric.validate();
    if has_errors(&problems) {
        return Err(ApiError::with_problems(
            ErrorCode::ImportInvalid,
            "rubric import refused",
            problems,
        ));
    }
    save_rubric(ctx, rubric)
}

/// Writes the rubric to `path` as JSON or XLSX.
pub fn export_rubric(ctx: &Ctx, path: &Path, format: FileFormat) -> ApiResult<()> {
    let rubric = get_rubric(ctx)?;
    let bytes = match format {
        FileFormat::Json => exchange::write_rubric_json(&rubric),
        FileFormat::Xlsx => exchange::write_rubric_xlsx(&rubric)?,
        FileFormat::Csv => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedFormat,
                "rubric export is JSON or XLSX",
            ))
        }
    };
    write_atomically(path, &bytes)
}
