//! Result documents: the results workbook (one 评分表 per scorer, the 汇总表 the vote
//! supervisors sign, the 排名通报 and the 审计记录 of submissions and unlocks) and the raw
//! marks as CSV. Invariant: every figure comes from the submitted sheets, the standings and the
//! grouped results the app itself shows (`scoring::get_standings`, `results::get_results`),
//! nothing in a file is a formula, and a file is written whole or not at all
//! (`files::write_atomically`).

mod marks_csv;
mod workbook;

use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use guanmo_domain::aggregation::{StandingStatus, Standings};
use guanmo_domain::points::Points;
use guanmo_domain::results::{GroupedResults, ResultRow};
use guanmo_domain::roster::Township;
use guanmo_domain::rubric::{Adjustment, AdjustmentKind, Category, Criterion, Rubric};
use guanmo_domain::scoring::{AuditEntry, Scorer, Sheet, SheetStatus};
use std::path::Path;

/// Writes the results workbook to `path`.
pub fn export_results_xlsx(ctx: &Ctx, path: &Path) -> ApiResult<()> {
    let results = Results::gather(ctx)?;
    let bytes = workbook::build(&results).map_err(|e| {
        ApiError::new(
            ErrorCode::Internal,
            format!("building the results workbook failed: {e}"),
        )
    })?;
    crate::files::write_atomically(path, &bytes)
}

/// Writes every submitted mark to `path` as CSV.
pub fn export_marks_csv(ctx: &Ctx, path: &Path) -> ApiResult<()> {
    let results = Results::gather(ctx)?;
    let bytes = marks_csv::build(&results).map_err(|e| {
        ApiError::new(
            ErrorCode::Internal,
            format!("writing the marks CSV failed: {e}"),
        )
    })?;
    crate::files::write_atomically(path, &bytes)
}

/// Everything the documents print, read once.
struct Results {
    /// The shared rubric (its title names the event).
    rubric: Rubric,
    /// Every rubric: the shared one first, then the groups' own (本组评分标准).
    rubrics: Vec<Rubric>,
    /// Which of `rubrics` scores each township, by township id.
    rubric_index: std::collections::HashMap<String, usize>,
    /// Every township, in route order.
    townships: Vec<Township>,
    /// Every scorer, in registration order.
    scorers: Vec<Scorer>,
    /// Submitted sheets only, in route order then scorer order.
    submitted: Vec<Sheet>,
    /// The submitted sheets that came in after their township's scheduled slot (逾期), by id.
    late: std::collections::HashSet<String>,
    standings: Standings,
    /// The ranking per 评比组 with organiser adjustments, blend and bands.
    grouped: GroupedResults,
    audit: Vec<AuditEntry>,
    /// The sealed tally's SHA-256, once revealed and still what was sealed (揭晓).
    digest: Option<String>,
    /// Who exported, as the 汇总表 prints it: the person signed in (未指定 if none).
    exported_by: String,
    /// When, RFC 3339.
    exported_at: String,
}

impl Results {
    fn gather(ctx: &Ctx) -> ApiResult<Results> {
        let mut townships = crate::roster::list_townships(ctx)?;
        townships.sort_by_key(|t| t.position);
        let rubrics = crate::rubric::list_rubrics(ctx)?;
        let rubric_index = crate::rubric::rubrics_by_township(ctx)?
            .into_iter()
            .filter_map(|(t, r)| {
                let i = rubrics.iter().position(|x| x.eval_group == r.eval_group)?;
                Some((t, i))
            })
            .collect();
        let submitted: Vec<Sheet> = crate::scoring::list_sheets(ctx)?
            .into_iter()
            .filter(|s| s.status == SheetStatus::Submitted)
            .collect();
        let windows = crate::schedule::windows(ctx, &townships)?;
        let late = submitted
            .iter()
            .filter(|s| {
                crate::schedule::late(s.submitted_at.as_deref(), windows.get(&s.township_id))
            })
            .map(|s| s.id.clone())
            .collect();
        Ok(Results {
            rubric: crate::rubric::get_rubric(ctx)?,
            rubrics,
            rubric_index,
            townships,
            scorers: crate::scoring::list_scorers(ctx)?,
            submitted,
            late,
            standings: crate::scoring::get_standings(ctx)?,
            // Asked after `get_standings`, which checks who looks.
            grouped: crate::results::results_unchecked(ctx)?,
            audit: crate::scoring::audit_log(ctx, None)?,
            digest: crate::tally::printed_digest(ctx)?,
            exported_by: crate::people::signed_in(ctx)?.map_or_else(
                || guanmo_domain::people::UNASSIGNED_NAME.to_string(),
                |p| p.name,
            ),
            exported_at: ctx.now().to_rfc3339(),
        })
    }

    fn township(&self, id: &str) -> Option<&Township> {
        self.townships.iter().find(|t| t.id == id)
    }

    fn township_name(&self, id: &str) -> String {
        self.township(id)
            .map_or_else(|| format!("(未知乡镇 {id})"), |t| t.name.clone())
    }

    /// A township's row in its group, with the group name.
    fn result_row(&self, id: &str) -> Option<(&str, &ResultRow)> {
        self.grouped.groups.iter().find_map(|g| {
            g.rows
                .iter()
                .find(|r| r.township_id == id)
                .map(|r| (g.name.as_str(), r))
        })
    }

    fn scorer(&self, id: &str) -> Option<&Scorer> {
        self.scorers.iter().find(|s| s.id == id)
    }

    fn scorer_name(&self, id: &str) -> String {
        self.scorer(id)
            .map_or_else(|| format!("(未知评委 {id})"), |s| s.name.clone())
    }

    /// The position in `rubrics` of the rubric `township_id` is scored on.
    fn rubric_index_of(&self, township_id: &str) -> usize {
        self.rubric_index.get(township_id).copied().unwrap_or(0)
    }

    /// The rubric `township_id` is scored on.
    fn rubric_of(&self, township_id: &str) -> &Rubric {
        self.rubrics
            .get(self.rubric_index_of(township_id))
            .unwrap_or(&self.rubric)
    }

    /// The line naming every rubric in force and its version, as each document prints it.
    fn rubric_lines(&self) -> String {
        if self.rubrics.len() <= 1 {
            return workbook::rubric_line(&self.rubric);
        }
        self.rubrics
            .iter()
            .map(|r| {
                if r.eval_group.is_empty() {
                    format!("共用{}", workbook::rubric_line(r))
                } else {
                    format!("{}{}", r.eval_group, workbook::rubric_line(r))
                }
            })
            .collect::<Vec<_>>()
            .join(";")
    }

    /// The criteria of every rubric in print order, with their category (ids are unique
    /// across rubrics).
    fn criteria(&self) -> impl Iterator<Item = (&Category, &Criterion)> {
        self.rubrics
            .iter()
            .flat_map(|r| &r.categories)
            .flat_map(|c| c.criteria.iter().map(move |k| (c, k)))
    }

    fn adjustment(&self, id: &str) -> Option<&Adjustment> {
        self.rubrics
            .iter()
            .flat_map(|r| &r.adjustments)
            .find(|a| a.id.as_deref() == Some(id))
    }

    /// The title without a trailing 评分表, so derived titles read 「…观摩会排名通报」.
    fn event_title(&self) -> &str {
        let t = self.rubric.title.trim();
        t.strip_suffix("评分表").unwrap_or(t)
    }
}

/// The points a criterion awarded on a sheet, if entered.
fn mark_points(sheet: &Sheet, criterion_id: &str) -> Option<f64> {
    sheet
        .marks
        .iter()
        .find(|m| m.criterion_id == criterion_id)
        .and_then(|m| m.points)
}

/// An adjustment as it counts: a bonus adds, a penalty takes off.
fn signed(kind: AdjustmentKind, magnitude: f64) -> f64 {
    match kind {
        AdjustmentKind::Bonus => magnitude,
        AdjustmentKind::Penalty => -magnitude,
    }
}

/// Sum of two point values, exact in tenths (0.1 + 0.2 is 0.3).
fn add_points(a: f64, b: f64) -> f64 {
    match (Points::from_f64(a), Points::from_f64(b)) {
        (Ok(x), Ok(y)) => (x + y).as_f64(),
        _ => a + b,
    }
}

/// Points as people write them: `8`, `7.5`, `-2`.
fn points_text(v: f64) -> String {
    Points::from_f64(v).map_or_else(|_| v.to_string(), |p| p.to_string())
}

/// The short status of an unranked township, as the ranking notice prints it.
fn status_text(status: &StandingStatus) -> &'static str {
    match status {
        StandingStatus::Ranked => "",
        StandingStatus::NoSheets => "暂无评分",
        StandingStatus::TooFewSheets { .. } => "评分不足",
        StandingStatus::Embargoed { .. } => "封存中",
    }
}

/// A stored RFC 3339 time as Beijing time (UTC+8, no daylight saving), the time every
/// printed document of the tour uses; text that does not parse is printed as it is.
fn beijing_time(rfc3339: &str) -> String {
    let Some(offset) = chrono::FixedOffset::east_opt(8 * 3600) else {
        return rfc3339.to_string();
    };
    chrono::DateTime::parse_from_rfc3339(rfc3339).map_or_else(
        |_| rfc3339.to_string(),
        |t| {
            t.with_timezone(&offset)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string()
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_utc_times_print_as_beijing_time_and_garbage_prints_as_is() {
        assert_eq!(
            beijing_time("2026-12-04T00:30:00+00:00"),
            "2026-12-04 08:30:00"
        );
        assert_eq!(beijing_time("2026-12-04T23:59:59Z"), "2026-12-05 07:59:59");
        assert_eq!(beijing_time("昨天"), "昨天");
    }

    #[test]
    fn point_sums_are_exact_in_tenths_and_print_without_trailing_zeros() {
        assert_eq!(add_points(0.1, 0.2), 0.3);
        assert_eq!(add_points(86.5, -1.0), 85.5);
        assert_eq!(points_text(8.0), "8");
        assert_eq!(points_text(-2.5), "-2.5");
        assert_eq!(signed(AdjustmentKind::Penalty, 2.0), -2.0);
    }
}
