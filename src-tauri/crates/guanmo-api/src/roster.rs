//! Roster use cases: list, add, edit, reorder, import and export townships. Every input is
//! normalised and validated here (the UI's checks are only a convenience), and an import is
//! applied whole or not at all.

use crate::exchange::{self, FileFormat, RosterRow};
use crate::files::write_atomically;
use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use guanmo_domain::problem::{has_errors, Problem, ProblemCode, Severity};
use guanmo_domain::roster::{validate_roster, Township, TownshipInput};
use serde::Serialize;
use specta::Type;
use std::collections::HashSet;
use std::path::Path;

/// What an import did, with the warnings the organiser should read.
#[derive(Debug, Clone, Serialize, Type)]
pub struct ImportReport {
    /// New townships.
    pub added: i32,
    /// Existing townships (matched by code) updated.
    pub updated: i32,
    /// Townships absent from the file, now disabled.
    pub disabled: i32,
    /// Warnings only: errors refuse the import.
    pub problems: Vec<Problem>,
}

/// All townships in visit order.
pub fn list_townships(ctx: &Ctx) -> ApiResult<Vec<Township>> {
    Ok(ctx.store.read(guanmo_store::roster::list)?)
}

fn refuse(problems: Vec<Problem>) -> ApiError {
    ApiError::with_problems(ErrorCode::Validation, "township input refused", problems)
}

/// Codes and names must stay unique; say so in words rather than as a SQL constraint.
fn clashes(existing: &[Township], input: &TownshipInput, except_id: Option<&str>) -> Vec<Problem> {
    let mut out = Vec::new();
    for t in existing.iter().filter(|t| Some(t.id.as_str()) != except_id) {
        if t.code == input.code {
            out.push(Problem::error(
                ProblemCode::Duplicate,
                "区划代码",
                format!("区划代码「{}」已被「{}」使用", input.code, t.name),
            ));
        }
        if t.name == input.name {
            out.push(Problem::error(
                ProblemCode::Duplicate,
                "名称",
                format!("名称「{}」已存在(区划代码 {})", input.name, t.code),
            ));
        }
    }
    out
}

/// Adds a township at the end of the route.
pub fn add_township(ctx: &Ctx, input: TownshipInput) -> ApiResult<Township> {
    ctx.ensure_organiser()?;
    let input = input.normalized();
    let mut problems = input.validate();
    let existing = list_townships(ctx)?;
    problems.extend(clashes(&existing, &input, None));
    if has_errors(&problems) {
        return Err(refuse(problems));
    }
    Ok(ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        guanmo_store::roster::insert(tx, &input)
    })?)
}

/// Edits a township; refused with `version_conflict` if it changed since `expected_version`.
pub fn update_township(
    ctx: &Ctx,
    id: &str,
    expected_version: i32,
    input: TownshipInput,
) -> ApiResult<Township> {
    ctx.ensure_organiser()?;
    let input = input.normalized();
    let mut problems = input.validate();
    let existing = list_townships(ctx)?;
    problems.extend(clashes(&existing, &input, Some(id)));
    if has_errors(&problems) {
        return Err(refuse(problems));
    }
    Ok(ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        guanmo_store::roster::update(tx, id, expected_version, &input)
    })?)
}

/// Sets the visit order. `ids` must list every township exactly once.
pub fn reorder_townships(ctx: &Ctx, ids: Vec<String>) -> ApiResult<Vec<Township>> {
    ctx.ensure_organiser()?;
    let existing = list_townships(ctx)?;
    let want: HashSet<&str> = existing.iter().map(|t| t.id.as_str()).collect();
    let got: HashSet<&str> = ids.iter().map(String::as_str).collect();
    if got.len() != ids.len() || got != want {
        return Err(ApiError::new(
            ErrorCode::VersionConflict,
            "the order does not list every township exactly once; reload and try again",
        ));
    }
    ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        guanmo_store::roster::reorder(tx, &ids)
    })?;
    list_townships(ctx)
}

/// Rows in visit order: by the file's 顺序 column where given, else by file order.
fn in_visit_order(mut rows: Vec<RosterRow>) -> Vec<RosterRow> {
    rows.sort_by_key(|r| (r.position.unwrap_or(i32::MAX), r.row));
    rows
}

/// Imports a roster file (CSV in UTF-8/UTF-16/GBK, or XLSX). All rows are checked first;
/// any error refuses the whole file and nothing changes.
pub fn import_roster(ctx: &Ctx, path: &Path) -> ApiResult<ImportReport> {
    let format = exchange::format_from_path(path)?;
    let bytes = exchange::read_file_limited(path)?;
    import_roster_bytes(ctx, &bytes, format)
}

/// [`import_roster`] on bytes already read.
pub fn import_roster_bytes(ctx: &Ctx, bytes: &[u8], format: FileFormat) -> ApiResult<ImportReport> {
    ctx.ensure_organiser()?;
    let parsed = exchange::read_roster(bytes, format)?;
    let rows = in_visit_order(parsed.rows);
    let inputs: Vec<TownshipInput> = rows.iter().map(|r| r.input.clone()).collect();
    let file_rows: Vec<u32> = rows.iter().map(|r| r.row).collect();
    let mut problems = parsed.warnings;
    problems.extend(validate_roster(&inputs, Some(&file_rows)));

    // A name in the file may not belong to a township that stays outside the file.
    let existing = list_townships(ctx)?;
    let codes: HashSet<&str> = inputs.iter().map(|i| i.code.as_str()).collect();
    for (r, input) in rows.iter().zip(&inputs) {
        if let Some(t) = existing
            .iter()
            .find(|t| t.name == input.name && !codes.contains(t.code.as_str()))
        {
            problems.push(
                Problem::error(
                    ProblemCode::Duplicate,
                    "名称",
                    format!(
                        "第{}行:名称「{}」已被区划代码 {} 的乡镇使用,而该代码不在文件中",
                        r.row, input.name, t.code
                    ),
                )
                .at_row(r.row),
            );
        }
    }
    let remaining_enabled = existing
        .iter()
        .filter(|t| !codes.contains(t.code.as_str()))
        .count();
    if remaining_enabled > 0 {
        problems.push(Problem::warning(
            ProblemCode::NotInFile,
            "名单",
            format!("名单中有{remaining_enabled}个乡镇(街道)不在文件中,将被停用(不会删除)"),
        ));
    }
    if has_errors(&problems) {
        problems.sort_by_key(|p| (p.severity != Severity::Error, p.row.unwrap_or(0)));
        return Err(ApiError::with_problems(
            ErrorCode::ImportInvalid,
            "roster import refused",
            problems,
        ));
    }
    let counts = ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        guanmo_store::roster::apply_import(tx, &inputs)
    })?;
    Ok(ImportReport {
        added: counts.added,
        updated: counts.updated,
        disabled: counts.disabled,
        problems,
    })
}

/// Writes the roster to `path` as CSV (UTF-8 with BOM, for Excel) or XLSX.
pub fn export_roster(ctx: &Ctx, path: &Path, format: FileFormat) -> ApiResult<()> {
    let townships = list_townships(ctx)?;
    let bytes = match format {
        FileFormat::Csv => exchange::write_roster_csv(&townships),
        FileFormat::Xlsx => exchange::write_roster_xlsx(&townships)?,
        FileFormat::Json => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedFormat,
                "roster export is CSV or XLSX",
            ))
        }
    };
    write_atomically(path, &bytes)
}
