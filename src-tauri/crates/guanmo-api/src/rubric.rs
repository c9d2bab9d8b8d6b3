//! Rubric use cases: read, validate, save, import and export. A rubric whose maxima do not
//! add up is never saved; the problems say where. Once a score sheet exists the rubric is
//! frozen (评分标准冻结): a save must give a reason (修订原因), becomes a new version, and
//! reopens every submitted sheet whose criteria or 加减分项 it changes, never the marks.

use crate::exchange::{self, FileFormat};
use crate::files::write_atomically;
use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use guanmo_domain::problem::{has_errors, Problem, ProblemCode};
use guanmo_domain::rubric::Rubric;
use guanmo_domain::scoring::{SheetStatus, MAX_NOTE_CHARS, MIN_REASON_CHARS};
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

/// Location of the refusal when a frozen rubric is saved without a reason (the editor points
/// at its reason field).
pub const CHANGE_REASON_LOCATION: &str = "修订原因";

fn reason_refused(message: String) -> ApiError {
    ApiError::with_problems(
        ErrorCode::Validation,
        "rubric_change_reason_required",
        vec![Problem::error(
            ProblemCode::Required,
            CHANGE_REASON_LOCATION,
            message,
        )],
    )
}

/// Saves `rubric` if it is valid, as the next version, and returns it with ids.
///
/// Once any score sheet exists the rubric is frozen: the save needs a `change_reason` of at
/// least [`MIN_REASON_CHARS`] characters, else it is refused (`validation`, a `required`
/// problem at [`CHANGE_REASON_LOCATION`]) and nothing changes. When the new version changes
/// what a sheet is scored on (see [`Rubric::rescores`]), every submitted sheet is unlocked
/// for its scorer with the reason `评分标准修订为第N版:…`, in the same transaction and
/// through the organiser's 解锁, so the score audit records it. Marks are never changed.
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
    if rubric.change_reason.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::with_problems(
            ErrorCode::Validation,
            "rubric refused",
            vec![Problem::error(
                ProblemCode::OutOfRange,
                CHANGE_REASON_LOCATION,
                format!("修订原因不能超过{MAX_NOTE_CHARS}个字"),
            )],
        ));
    }
    let short = rubric.change_reason.chars().count() < MIN_REASON_CHARS;
    let outcome = ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        // Checked inside the write, so a sheet started meanwhile cannot slip past the freeze.
        let frozen = guanmo_store::rubric::frozen(tx.conn())?;
        if frozen && short {
            return Ok(None);
        }
        let before = guanmo_store::rubric::load(tx.conn())?.map(|(r, _)| r);
        let saved = guanmo_store::rubric::save(tx, &rubric)?;
        let rescored = frozen && before.is_none_or(|b| b.rescores(&saved));
        let mut reopened = 0;
        if rescored {
            let unlock_reason = format!(
                "评分标准修订为第{}版:{}",
                saved.version, saved.change_reason
            );
            for row in guanmo_store::scoring::sheet_statuses(tx.conn())? {
                if row.status == SheetStatus::Submitted {
                    let sheet = guanmo_store::scoring::get_sheet(tx.conn(), &row.sheet_id)?;
                    guanmo_store::scoring::unlock(tx, &sheet, &unlock_reason)?;
                    reopened += 1;
                }
            }
        }
        Ok(Some((saved, rescored, reopened)))
    })?;
    let Some((saved, rescored, reopened)) = outcome else {
        return Err(reason_refused(format!(
            "评分已开始,修改评分标准须填写修订原因(至少{MIN_REASON_CHARS}个字)"
        )));
    };
    if saved.frozen {
        tracing::info!(
            version = saved.version,
            rescored,
            reopened,
            "frozen rubric revised; submitted sheets reopened for their scorers"
        );
    }
    Ok(saved)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::scoring::{
        audit_log, get_sheet, open_sheet, record_mark, register_scorer, set_scoring_open,
        submit_sheet,
    };
    use guanmo_domain::scoring::{AuditKind, Scorer, ScorerInput, Sheet};
    use guanmo_domain::FixedClock;
    use std::sync::Arc;

    fn setup() -> (tempfile::TempDir, Ctx, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(
            chrono::DateTime::parse_from_rfc3339("2024-12-04T01:00:00Z")
                .unwrap()
                .with_timezone(&chrono::Utc),
        ));
        let ctx = Ctx::open(dir.path(), clock).unwrap();
        let towns: Vec<String> = crate::roster::list_townships(&ctx)
            .unwrap()
            .into_iter()
            .filter(|t| t.enabled)
            .map(|t| t.id)
            .collect();
        for t in &towns[..2] {
            set_scoring_open(&ctx, t, true).unwrap();
        }
        (dir, ctx, towns)
    }

    fn scorer(ctx: &Ctx, name: &str) -> Scorer {
        register_scorer(
            ctx,
            ScorerInput {
                name: name.into(),
                group: "市领导".into(),
                township_id: None,
                active: true,
                work_unit: String::new(),
            },
        )
        .unwrap()
    }

    /// Marks every criterion and submits.
    fn submit_full(ctx: &Ctx, scorer: &Scorer, township_id: &str) -> Sheet {
        let mut sheet = open_sheet(ctx, &scorer.id, township_id).unwrap();
        for k in get_rubric(ctx)
            .unwrap()
            .categories
            .into_iter()
            .flat_map(|c| c.criteria)
        {
            sheet = record_mark(ctx, &sheet.id, &k.id.unwrap(), Some(1.0), String::new()).unwrap();
        }
        submit_sheet(ctx, &sheet.id, sheet.version).unwrap()
    }

    /// The rubric with one point moved between two criteria of the first category: the sums
    /// still hold, but what a sheet is scored on changed.
    fn with_a_point_moved(mut r: Rubric) -> Rubric {
        let crits = &mut r.categories[0].criteria;
        crits[0].max_points -= 1.0;
        crits[1].max_points += 1.0;
        r
    }

    #[test]
    fn before_any_sheet_the_rubric_is_not_frozen_and_saves_without_a_reason() {
        let (_d, ctx, _) = setup();
        let before = get_rubric(&ctx).unwrap();
        assert!(!before.frozen);
        let saved = save_rubric(&ctx, with_a_point_moved(before.clone())).unwrap();
        assert_eq!(saved.version, before.version + 1, "every save is a version");
        assert!(!saved.frozen);
        assert_eq!(saved.change_reason, "");
    }

    #[test]
    fn once_a_sheet_exists_a_save_without_a_reason_is_refused_and_changes_nothing() {
        let (_d, ctx, towns) = setup();
        let s = scorer(&ctx, "张三");
        let draft = open_sheet(&ctx, &s.id, &towns[0]).unwrap();
        let before = get_rubric(&ctx).unwrap();
        assert!(
            before.frozen,
            "a draft sheet is enough to freeze the rubric"
        );

        for reason in ["", " ", "改"] {
            let mut next = with_a_point_moved(before.clone());
            next.title = "改过的标题".into();
            next.change_reason = reason.into();
            let err = save_rubric(&ctx, next).unwrap_err();
            assert_eq!(err.code, ErrorCode::Validation);
            let p = &err.problems[0];
            assert_eq!(p.location, CHANGE_REASON_LOCATION);
            assert_eq!(p.code, ProblemCode::Required);
            assert!(
                p.message
                    .starts_with("评分已开始,修改评分标准须填写修订原因"),
                "{}",
                p.message
            );
        }
        assert_eq!(get_rubric(&ctx).unwrap(), before, "nothing changed");
        assert_eq!(get_sheet(&ctx, &draft.id).unwrap(), draft);
    }

    #[test]
    fn a_revision_with_a_reason_is_a_new_version_and_reopens_submitted_sheets_with_it() {
        let (_d, ctx, towns) = setup();
        let (zhang, li, wang) = (
            scorer(&ctx, "张三"),
            scorer(&ctx, "李四"),
            scorer(&ctx, "王五"),
        );
        let submitted = [
            submit_full(&ctx, &zhang, &towns[0]),
            submit_full(&ctx, &li, &towns[1]),
        ];
        let draft = open_sheet(&ctx, &wang.id, &towns[0]).unwrap();
        let draft = record_mark(
            &ctx,
            &draft.id,
            get_rubric(&ctx).unwrap().categories[0].criteria[0]
                .id
                .as_deref()
                .unwrap(),
            Some(2.0),
            String::new(),
        )
        .unwrap();
        let before = get_rubric(&ctx).unwrap();

        let mut next = with_a_point_moved(before.clone());
        next.change_reason = "  组织体系建设分值调整  ".into();
        let saved = save_rubric(&ctx, next).unwrap();

        assert_eq!(saved.version, before.version + 1);
        assert_eq!(saved.change_reason, "组织体系建设分值调整");
        assert!(saved.frozen);
        assert_eq!(
            get_rubric(&ctx).unwrap(),
            saved,
            "the new version is what is read"
        );
        let why = format!("评分标准修订为第{}版:组织体系建设分值调整", saved.version);
        for old in &submitted {
            let now = get_sheet(&ctx, &old.id).unwrap();
            assert_eq!(now.status, SheetStatus::Draft, "reopened for its scorer");
            assert_eq!(now.unlock_reason.as_deref(), Some(why.as_str()));
            assert_eq!(now.marks, old.marks, "marks are never changed");
            assert_eq!(now.adjustments, old.adjustments);
            let audit = audit_log(&ctx, Some(old.id.clone())).unwrap();
            let unlock = audit.last().unwrap();
            assert_eq!(unlock.kind, AuditKind::Unlock, "the score audit records it");
            assert_eq!(unlock.reason.as_deref(), Some(why.as_str()));
        }
        assert_eq!(
            get_sheet(&ctx, &draft.id).unwrap(),
            draft,
            "a draft is left as it was"
        );
    }

    #[test]
    fn a_rename_only_revision_is_a_new_version_but_reopens_nothing() {
        let (_d, ctx, towns) = setup();
        let sheet = submit_full(&ctx, &scorer(&ctx, "张三"), &towns[0]);
        let before = get_rubric(&ctx).unwrap();
        let mut next = before.clone();
        next.categories[0].criteria[0].name = "组织体系建设(含软弱涣散整顿)".into();
        next.categories[0].criteria[0].guidance = "另写的评分要点".into();
        next.change_reason = "细则名称更正".into();
        let saved = save_rubric(&ctx, next).unwrap();
        assert_eq!(saved.version, before.version + 1);
        assert_eq!(saved.change_reason, "细则名称更正");
        assert_eq!(
            get_sheet(&ctx, &sheet.id).unwrap(),
            sheet,
            "still submitted"
        );
        assert!(audit_log(&ctx, Some(sheet.id.clone()))
            .unwrap()
            .iter()
            .all(|e| e.kind != AuditKind::Unlock));
    }
}
