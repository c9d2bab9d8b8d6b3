//! Rubric use cases: read, validate, save, import and export. A rubric whose maxima do not
//! add up is never saved; the problems say where. Once a score sheet exists the rubric is
//! frozen (评分标准冻结): a save must give a reason (修订原因), becomes a new version, and
//! reopens every submitted sheet whose criteria or 加减分项 it changes, never the marks.
//! A 评比组 may have its own rubric (本组评分标准); every other group uses the shared one.
//! Invariant: a sheet is scored on its township's rubric, so a group gets or gives up its own
//! rubric, and a township moves to a group with another rubric, only before it has sheets.

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

/// Every saved rubric: the shared one first, then each group's own.
pub fn list_rubrics(ctx: &Ctx) -> ApiResult<Vec<Rubric>> {
    Ok(ctx.store.read(guanmo_store::rubric::list)?)
}

/// The rubric `township_id` is scored on: its 评比组's own, else the shared one.
pub fn get_rubric_for_township(ctx: &Ctx, township_id: &str) -> ApiResult<Rubric> {
    ctx.store
        .read(|c| guanmo_store::rubric::load_for_township(c, township_id))?
        .map(|(r, _)| r)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no rubric saved"))
}

/// The rubric of every township, by township id (townships share the same few rubrics).
pub(crate) fn rubrics_by_township(
    ctx: &Ctx,
) -> ApiResult<std::collections::HashMap<String, std::sync::Arc<Rubric>>> {
    Ok(ctx.store.read(|c| {
        let mut loaded: std::collections::HashMap<i64, std::sync::Arc<Rubric>> =
            std::collections::HashMap::new();
        let mut out = std::collections::HashMap::new();
        for (township, id) in guanmo_store::rubric::rubric_of_townships(c)? {
            if let std::collections::hash_map::Entry::Vacant(slot) = loaded.entry(id) {
                if let Some((r, _)) = guanmo_store::rubric::load_id(c, id)? {
                    slot.insert(std::sync::Arc::new(r));
                }
            }
            if let Some(r) = loaded.get(&id) {
                out.insert(township, r.clone());
            }
        }
        Ok(out)
    })?)
}

/// Gives `group` back the shared rubric, retiring its own. Refused once any township of the
/// group has a score sheet (`conflict`), since those sheets are scored on the group's items.
pub fn remove_group_rubric(ctx: &Ctx, group: &str) -> ApiResult<()> {
    ctx.ensure_organiser()?;
    let group = group.trim().to_string();
    let outcome = ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        let scored = guanmo_store::rubric::scored_in_group(tx.conn(), &group)?;
        if !scored.is_empty() {
            return Ok(Err(scored));
        }
        Ok(Ok(guanmo_store::rubric::remove_own(tx, &group)?))
    })?;
    match outcome {
        Ok(true) => Ok(()),
        Ok(false) => Err(ApiError::new(
            ErrorCode::NotFound,
            format!("{group}没有本组评分标准"),
        )),
        Err(scored) => Err(ApiError::new(
            ErrorCode::Validation,
            format!(
                "{group}已有评分表({}),不能改回共用评分标准",
                scored.join("、")
            ),
        )),
    }
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

/// Why a save was refused inside its write.
enum Refusal {
    NoReason,
    /// The group's townships with sheets, by name.
    GroupScored(Vec<String>),
}

/// Saves `rubric` if it is valid, as the next version of the rubric of `rubric.eval_group`
/// (empty: the shared one; a group without its own gets one), and returns it with ids.
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
    let group = rubric.eval_group.clone();
    if group.chars().count() > guanmo_domain::results::MAX_LABEL_CHARS {
        return Err(ApiError::new(
            ErrorCode::Validation,
            format!(
                "评比组名称不能超过{}个字",
                guanmo_domain::results::MAX_LABEL_CHARS
            ),
        ));
    }
    let short = rubric.change_reason.chars().count() < MIN_REASON_CHARS;
    let outcome = ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        let c = tx.conn();
        let own = guanmo_store::rubric::id_of_group(c, &group)?;
        if !group.is_empty() && own.is_none() {
            // A group's first own rubric: its townships' sheets would lose their items.
            let scored = guanmo_store::rubric::scored_in_group(c, &group)?;
            if !scored.is_empty() {
                return Ok(Err(Refusal::GroupScored(scored)));
            }
        }
        // Checked inside the write, so a sheet started meanwhile cannot slip past the freeze.
        let frozen = match own {
            Some(id) => guanmo_store::rubric::frozen_id(c, id)?,
            None => false,
        };
        if frozen && short {
            return Ok(Err(Refusal::NoReason));
        }
        let before = own
            .map(|id| guanmo_store::rubric::load_id(c, id))
            .transpose()?
            .flatten()
            .map(|(r, _)| r);
        let saved = guanmo_store::rubric::save(tx, &rubric)?;
        let rescored = frozen && before.is_none_or(|b| b.rescores(&saved));
        let mut reopened = 0;
        if rescored {
            let unlock_reason = format!(
                "评分标准修订为第{}版:{}",
                saved.version, saved.change_reason
            );
            let rid = guanmo_store::rubric::id_of_group(tx.conn(), &group)?;
            let scored_on_it: Vec<String> = guanmo_store::rubric::rubric_of_townships(tx.conn())?
                .into_iter()
                .filter(|(_, r)| Some(*r) == rid)
                .map(|(t, _)| t)
                .collect();
            for row in guanmo_store::scoring::sheet_statuses(tx.conn())? {
                if row.status == SheetStatus::Submitted && scored_on_it.contains(&row.township_id) {
                    let sheet = guanmo_store::scoring::get_sheet(tx.conn(), &row.sheet_id)?;
                    guanmo_store::scoring::unlock(tx, &sheet, &unlock_reason)?;
                    reopened += 1;
                }
            }
        }
        Ok(Ok((saved, rescored, reopened)))
    })?;
    let (saved, rescored, reopened) = match outcome {
        Ok(done) => done,
        Err(Refusal::NoReason) => {
            return Err(reason_refused(format!(
                "评分已开始,修改评分标准须填写修订原因(至少{MIN_REASON_CHARS}个字)"
            )))
        }
        Err(Refusal::GroupScored(scored)) => {
            return Err(ApiError::new(
                ErrorCode::Validation,
                format!(
                    "{group}已有评分表({}),不能再另设本组评分标准",
                    scored.join("、")
                ),
            ))
        }
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

/// Imports a rubric from JSON or XLSX and saves it as `eval_group`'s (empty: the shared
/// one), replacing the current one, if valid.
pub fn import_rubric(ctx: &Ctx, path: &Path, eval_group: &str) -> ApiResult<Rubric> {
    ctx.ensure_organiser()?;
    let format = exchange::format_from_path(path)?;
    let bytes = exchange::read_file_limited(path)?;
    let mut rubric = exchange::read_rubric(&bytes, format)?.normalized();
    rubric.eval_group = eval_group.trim().to_string();
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

/// Writes `eval_group`'s rubric (empty: the shared one) to `path` as JSON or XLSX.
pub fn export_rubric(
    ctx: &Ctx,
    path: &Path,
    format: FileFormat,
    eval_group: &str,
) -> ApiResult<()> {
    let rubric = ctx
        .store
        .read(|c| guanmo_store::rubric::load_own(c, eval_group))?
        .map(|(r, _)| r)
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no rubric saved"))?;
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

    /// The shared rubric re-cut for 街道组: 巩固乡村振兴 (the last category) replaced by
    /// 城市管理 of the same maximum, so the sums still hold.
    fn street_rubric(ctx: &Ctx) -> Rubric {
        let mut r = get_rubric(ctx).unwrap();
        r.eval_group = "街道组".into();
        r.title = "街道组评分表".into();
        let last = r.categories.last_mut().unwrap();
        last.id = None;
        last.name = "城市管理".into();
        for (i, k) in last.criteria.iter_mut().enumerate() {
            k.id = None;
            k.name = format!("城市管理细则{}", i + 1);
        }
        r
    }

    fn by_kind(ctx: &Ctx, street: bool) -> String {
        crate::roster::list_townships(ctx)
            .unwrap()
            .into_iter()
            .find(|t| {
                t.enabled && (t.kind == guanmo_domain::roster::TownshipKind::Subdistrict) == street
            })
            .unwrap()
            .id
    }

    fn criterion_ids(r: &Rubric) -> Vec<String> {
        r.categories
            .iter()
            .flat_map(|c| &c.criteria)
            .filter_map(|k| k.id.clone())
            .collect()
    }

    #[test]
    fn a_group_with_its_own_rubric_is_scored_on_it_and_the_others_on_the_shared_one() {
        let (_d, ctx, _) = setup();
        let (street, town) = (by_kind(&ctx, true), by_kind(&ctx, false));
        set_scoring_open(&ctx, &street, true).unwrap();
        set_scoring_open(&ctx, &town, true).unwrap();
        let shared = get_rubric(&ctx).unwrap();
        let own = save_rubric(&ctx, street_rubric(&ctx)).unwrap();
        assert_eq!(own.eval_group, "街道组");
        assert_eq!(own.version, 1, "a group's rubric counts its own versions");
        assert_eq!(
            get_rubric(&ctx).unwrap(),
            shared,
            "the shared rubric is untouched"
        );
        assert_eq!(get_rubric_for_township(&ctx, &street).unwrap(), own);
        assert_eq!(get_rubric_for_township(&ctx, &town).unwrap(), shared);
        let listed = list_rubrics(&ctx).unwrap();
        assert_eq!(
            listed
                .iter()
                .map(|r| r.eval_group.as_str())
                .collect::<Vec<_>>(),
            ["", "街道组"]
        );
        // The copied categories got ids of their own: the two rubrics share no item.
        let (own_ids, shared_ids) = (criterion_ids(&own), criterion_ids(&shared));
        assert!(own_ids.iter().all(|k| !shared_ids.contains(k)));

        // A street sheet takes the group's criteria and refuses the shared ones.
        let s = scorer(&ctx, "张三");
        let sheet = open_sheet(&ctx, &s.id, &street).unwrap();
        let err =
            record_mark(&ctx, &sheet.id, &shared_ids[0], Some(1.0), String::new()).unwrap_err();
        assert_eq!(err.code, ErrorCode::NotFound);
        record_mark(&ctx, &sheet.id, &own_ids[0], Some(1.0), String::new()).unwrap();
        // And a town sheet the other way round.
        let sheet = open_sheet(&ctx, &s.id, &town).unwrap();
        let err = record_mark(&ctx, &sheet.id, &own_ids[0], Some(1.0), String::new()).unwrap_err();
        assert_eq!(err.code, ErrorCode::NotFound);
        record_mark(&ctx, &sheet.id, &shared_ids[0], Some(1.0), String::new()).unwrap();

        // Only the group's sheets freeze its rubric, and a revision reopens only them.
        let street_sheet = submit_full_on(&ctx, &s, &street);
        let town_sheet = submit_full_on(&ctx, &scorer(&ctx, "李四"), &town);
        let mut next = with_a_point_moved(get_rubric_for_township(&ctx, &street).unwrap());
        next.change_reason = "街道组细则分值调整".into();
        let saved = save_rubric(&ctx, next).unwrap();
        assert_eq!(saved.version, 2);
        assert_eq!(
            get_sheet(&ctx, &street_sheet.id).unwrap().status,
            SheetStatus::Draft,
            "the group's sheet is reopened"
        );
        assert_eq!(
            get_sheet(&ctx, &town_sheet.id).unwrap(),
            town_sheet,
            "the other group's sheet is not"
        );
    }

    /// Marks every criterion of the township's rubric and submits.
    fn submit_full_on(ctx: &Ctx, scorer: &Scorer, township_id: &str) -> Sheet {
        let mut sheet = open_sheet(ctx, &scorer.id, township_id).unwrap();
        for k in criterion_ids(&get_rubric_for_township(ctx, township_id).unwrap()) {
            sheet = record_mark(ctx, &sheet.id, &k, Some(1.0), String::new()).unwrap();
        }
        submit_sheet(ctx, &sheet.id, sheet.version).unwrap()
    }

    #[test]
    fn a_group_gets_or_gives_up_its_own_rubric_and_a_township_changes_rubric_only_before_sheets() {
        let (_d, ctx, _) = setup();
        let (street, town) = (by_kind(&ctx, true), by_kind(&ctx, false));
        set_scoring_open(&ctx, &street, true).unwrap();
        let s = scorer(&ctx, "张三");

        // Before any sheet: a group's rubric comes and goes freely.
        save_rubric(&ctx, street_rubric(&ctx)).unwrap();
        remove_group_rubric(&ctx, "街道组").unwrap();
        assert_eq!(list_rubrics(&ctx).unwrap().len(), 1);
        assert_eq!(
            remove_group_rubric(&ctx, "街道组").unwrap_err().code,
            ErrorCode::NotFound
        );

        // A street sheet on the shared rubric: 街道组 may no longer get its own.
        open_sheet(&ctx, &s.id, &street).unwrap();
        let err = save_rubric(&ctx, street_rubric(&ctx)).unwrap_err();
        assert_eq!(err.code, ErrorCode::Validation);
        assert!(err.message.contains("已有评分表"), "{}", err.message);
        assert_eq!(list_rubrics(&ctx).unwrap().len(), 1, "nothing saved");

        // 乡镇组 (no sheets yet) may; then the scored street cannot move into it, the
        // unscored town can move out of it.
        let mut town_rubric = street_rubric(&ctx);
        town_rubric.eval_group = "乡镇组".into();
        save_rubric(&ctx, town_rubric).unwrap();
        let err = crate::results::set_township_group(&ctx, &street, "乡镇组".into()).unwrap_err();
        assert!(err.message.contains("已有评分表"), "{}", err.message);
        let moved = crate::results::set_township_group(&ctx, &town, "街道组".into()).unwrap();
        assert_eq!(moved.eval_group, "街道组");
        assert_eq!(
            get_rubric_for_township(&ctx, &town).unwrap().eval_group,
            "",
            "街道组 uses the shared rubric"
        );
        // Once 乡镇组 has a sheet its rubric stays.
        let other_town = crate::roster::list_townships(&ctx)
            .unwrap()
            .into_iter()
            .find(|t| {
                t.enabled
                    && t.kind != guanmo_domain::roster::TownshipKind::Subdistrict
                    && t.id != town
            })
            .unwrap()
            .id;
        set_scoring_open(&ctx, &other_town, true).unwrap();
        open_sheet(&ctx, &s.id, &other_town).unwrap();
        let err = remove_group_rubric(&ctx, "乡镇组").unwrap_err();
        assert_eq!(err.code, ErrorCode::Validation);
        assert_eq!(list_rubrics(&ctx).unwrap().len(), 2);
    }
}
