//! Result documents: XLSX (per-scorer sheets, the tally, the ranking notice, the audit of
//! unlocks) and CSV of the raw marks. Being written.

use crate::{ApiResult, Ctx};
use std::path::Path;

/// Writes the results workbook to `path`.
pub fn export_results_xlsx(ctx: &Ctx, path: &Path) -> ApiResult<()> {
    let _ = (ctx, path);
    todo!("export helper")
}

/// Writes every submitted mark to `path` as CSV.
pub fn export_marks_csv(ctx: &Ctx, path: &Path) -> ApiResult<()> {
    let _ = (ctx, path);
    todo!("export helper")
}
