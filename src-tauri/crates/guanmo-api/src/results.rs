//! Results as the city publishes them: the 评比组 of each township, the organiser's 加减分
//! (once per township, with its 依据), the imported 平时考核 and the blended, banded ranking
//! per group (`guanmo_domain::results`). Invariant: the ranking and its inputs stay on the hub
//! and are shown only to whoever may see the live ranking (`people::ensure_sees_results`);
//! only the group assignment replicates, as a roster edit.

use crate::exchange::routine_file::{read_routine, RoutineRow};
use crate::exchange::{self, FileFormat};
use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use guanmo_domain::people::PersonRole;
use guanmo_domain::points::Points;
use guanmo_domain::problem::{has_errors, Problem, ProblemCode};
use guanmo_domain::results::{
    self as domain, AdjustmentAmount, GroupedResults, OrganiserAdjustment, ResultsSettings,
    ResultsTownship, MAX_ADJUSTMENT_TENTHS, MAX_BASIS_CHARS, MAX_LABEL_CHARS,
};
use guanmo_domain::roster::Township;
use guanmo_store::results as store;
use guanmo_store::{meta, ChangeInput};
use serde::{Deserialize, Serialize};
use specta::Type;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The meta key of the settings (hub-local: `results_settings` is no replicated entity).
const SETTINGS: &str = "results_settings";

fn refuse(location: &str, message: impl Into<String>) -> ApiError {
    let message = message.into();
    ApiError::with_problems(
        ErrorCode::Validation,
        message.clone(),
        vec![Problem::error(ProblemCode::Invalid, location, message)],
    )
}

/// Organiser adjustments are entered on the hub by 组织方 or 计票人 (a laptop holds no results).
fn ensure_adjuster(ctx: &Ctx) -> ApiResult<()> {
    crate::people::ensure_any_role(ctx, &[PersonRole::Organiser, PersonRole::Counter])?;
    match ctx.device_role()? {
        Some(role) if role.is_laptop() => Err(ApiError::with_problems(
            ErrorCode::HubOnly,
            "only the organiser's hub keeps organiser adjustments",
            vec![Problem::error(
                ProblemCode::Invalid,
                "组织方加减分",
                "组织方加减分只在组织方主机上录入",
            )],
        )),
        _ => Ok(()),
    }
}

/// The results settings in force (the default: 乡镇组 then 街道组, no bands, no blend).
pub fn get_results_settings(ctx: &Ctx) -> ApiResult<ResultsSettings> {
    let stored = ctx.store.read(|c| meta::get(c, SETTINGS))?;
    Ok(stored
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or_default())
}

/// Sets the groups' order and bands and the blend weights, if valid.
pub fn set_results_settings(ctx: &Ctx, settings: ResultsSettings) -> ApiResult<ResultsSettings> {
    ctx.ensure_organiser()?;
    let mut settings = settings;
    for g in &mut settings.groups {
        g.name = g.name.trim().to_string();
        for b in &mut g.bands {
            b.label = b.label.trim().to_string();
        }
    }
    let problems = settings.validate();
    if has_errors(&problems) {
        return Err(ApiError::with_problems(
            ErrorCode::Validation,
            "results settings refused",
            problems,
        ));
    }
    let json = serde_json::to_string(&settings)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        meta::set(tx, SETTINGS, &json)?;
        tx.record(ChangeInput {
            entity: "results_settings",
            entity_id: SETTINGS.into(),
            op: "set",
            payload: serde_json::to_value(&settings)?,
        })
    })?;
    Ok(settings)
}

/// Puts a township in a 评比组; a blank group returns it to the default from its kind.
pub fn set_township_group(ctx: &Ctx, township_id: &str, group: String) -> ApiResult<Township> {
    ctx.ensure_organiser()?;
    let group = group.trim().to_string();
    let n = group.chars().count();
    if n > MAX_LABEL_CHARS {
        return Err(refuse(
            "评比组",
            format!("评比组名称最多{MAX_LABEL_CHARS}个字,现为{n}个字"),
        ));
    }
    let township = ctx
        .store
        .read(|c| guanmo_store::roster::get(c, township_id))?;
    // The default is stored as blank, so a later change of kind moves the township along.
    let group = if group == domain::group_of(township.kind, "") {
        String::new()
    } else {
        group
    };
    let outcome = ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        // A sheet is scored on its township's rubric: with sheets, the township may move only
        // to a group scored on the same rubric.
        let c = tx.conn();
        let from = guanmo_store::rubric::rubric_id_of_township(c, township_id)?;
        let to = guanmo_store::rubric::id_of_group(c, &domain::group_of(township.kind, &group))?
            .unwrap_or(guanmo_store::rubric::SHARED);
        if from != to && guanmo_store::scoring::township_has_sheets(c, township_id)? {
            return Ok(None);
        }
        guanmo_store::roster::set_eval_group(tx, township_id, &group).map(Some)
    })?;
    outcome.ok_or_else(|| {
        ApiError::new(
            ErrorCode::Validation,
            format!(
                "{}已有评分表,不能改到使用另一套评分标准的评比组",
                township.name
            ),
        )
    })
}

/// What an organiser or 计票人 enters as a 组织方加减分.
#[derive(Debug, Clone, Serialize, Deserialize, Type)]
pub struct AdjustmentInput {
    /// Township.
    pub township_id: String,
    /// Signed points, one decimal: a bonus is positive, a penalty negative.
    // Exported to TypeScript as `number`, not `number | null`: always finite.
    #[specta(type = i32)]
    pub points: f64,
    /// 依据 (required, at most 200 characters).
    pub basis: String,
    /// A photo of the document already imported into the photo store, by hash.
    pub attachment_hash: Option<String>,
}

/// Every organiser adjustment, removed ones too (they show struck through with the reason).
pub fn list_organiser_adjustments(ctx: &Ctx) -> ApiResult<Vec<OrganiserAdjustment>> {
    crate::people::ensure_sees_results(ctx)?;
    Ok(ctx.store.read(store::list_adjustments)?)
}

/// Enters an organiser adjustment, added once to the township's 观摩 score.
pub fn add_organiser_adjustment(
    ctx: &Ctx,
    input: AdjustmentInput,
) -> ApiResult<OrganiserAdjustment> {
    ensure_adjuster(ctx)?;
    let mut problems = Vec::new();
    let tenths = match Points::from_f64(input.points) {
        Ok(p) if p.tenths() == 0 => {
            problems.push(Problem::error(
                ProblemCode::OutOfRange,
                "分值",
                "加减分不能为0:加分填正数,减分填负数",
            ));
            0
        }
        Ok(p) if p.tenths().abs() > MAX_ADJUSTMENT_TENTHS => {
            problems.push(Problem::error(
                ProblemCode::OutOfRange,
                "分值",
                format!("加减分应在−100至100分之间,现为{p}"),
            ));
            0
        }
        Ok(p) => p.tenths(),
        Err(_) => {
            problems.push(Problem::error(
                ProblemCode::Invalid,
                "分值",
                format!("分值最多保留一位小数,现为{}", input.points),
            ));
            0
        }
    };
    let basis = input.basis.trim().to_string();
    let n = basis.chars().count();
    if n == 0 {
        problems.push(Problem::error(
            ProblemCode::Required,
            "依据",
            "请填写加减分的依据",
        ));
    } else if n > MAX_BASIS_CHARS {
        problems.push(Problem::error(
            ProblemCode::OutOfRange,
            "依据",
            format!("依据最多{MAX_BASIS_CHARS}个字,现为{n}个字"),
        ));
    }
    match ctx
        .store
        .read(|c| guanmo_store::roster::get(c, &input.township_id))
    {
        Ok(t) if t.enabled => {}
        _ => problems.push(Problem::error(
            ProblemCode::Invalid,
            "乡镇(街道)",
            "乡镇(街道)不存在或未参加本次观摩",
        )),
    }
    let attachment = input
        .attachment_hash
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty());
    if let Some(h) = &attachment {
        if ctx.store.read(|c| guanmo_store::photos::get(c, h)).is_err() {
            problems.push(Problem::error(
                ProblemCode::Invalid,
                "附件",
                "附件照片不在照片库中,请先导入照片",
            ));
        }
    }
    if has_errors(&problems) {
        return Err(ApiError::with_problems(
            ErrorCode::Validation,
            "organiser adjustment refused",
            problems,
        ));
    }
    Ok(ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        store::insert_adjustment(
            tx,
            &input.township_id,
            tenths,
            &basis,
            attachment.as_deref(),
        )
    })?)
}

/// Removes an organiser adjustment with a reason; the record stays, struck through.
pub fn remove_organiser_adjustment(
    ctx: &Ctx,
    id: &str,
    reason: String,
) -> ApiResult<OrganiserAdjustment> {
    ensure_adjuster(ctx)?;
    let reason = reason.trim().to_string();
    let n = reason.chars().count();
    if n == 0 || n > MAX_BASIS_CHARS {
        return Err(refuse(
            "撤销原因",
            format!("请填写撤销原因(1–{MAX_BASIS_CHARS}个字)"),
        ));
    }
    let current = ctx.store.read(|c| store::get_adjustment(c, id))?;
    if current.removed_at.is_some() {
        return Err(refuse("组织方加减分", "该加减分已撤销"));
    }
    Ok(ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        store::remove_adjustment(tx, id, &reason)
    })?)
}

/// What a routine assessment import did.
#[derive(Debug, Clone, Serialize, Type)]
pub struct RoutineImportReport {
    /// Townships whose score was stored (every enabled one).
    pub imported: i32,
    /// Advisory problems, such as ignored columns.
    pub warnings: Vec<Problem>,
}

/// Imports the 平时考核 scores from a CSV or XLSX file (see [`import_routine_scores_bytes`]).
pub fn import_routine_scores(ctx: &Ctx, path: &Path) -> ApiResult<RoutineImportReport> {
    let format = exchange::format_from_path(path)?;
    let bytes = exchange::read_file_limited(path)?;
    import_routine_scores_bytes(ctx, &bytes, format)
}

/// Imports the 平时考核 scores: every enabled township exactly once, matched by code or name,
/// or the whole file is refused with every row-numbered problem. Replaces earlier scores.
pub fn import_routine_scores_bytes(
    ctx: &Ctx,
    bytes: &[u8],
    format: FileFormat,
) -> ApiResult<RoutineImportReport> {
    ctx.ensure_organiser()?;
    let parsed = read_routine(bytes, format)?;
    let townships: Vec<Township> = crate::scoring::enabled_townships(ctx)?;
    let mut problems = Vec::new();
    let mut first_row: HashMap<&str, u32> = HashMap::new();
    let mut scores: Vec<(String, i32)> = Vec::new();
    for RoutineRow {
        row,
        name,
        code,
        hundredths,
    } in &parsed.rows
    {
        let found = townships.iter().find(|t| {
            (!code.is_empty() && t.code == *code) || (code.is_empty() && t.name == *name)
        });
        let Some(t) = found else {
            let what = if code.is_empty() {
                format!("「{name}」")
            } else {
                format!("代码「{code}」")
            };
            problems.push(crate::exchange::table::row_problem(
                *row,
                ProblemCode::NotInFile,
                "乡镇(街道)",
                &format!("{what}不是本次观摩的乡镇(街道)"),
            ));
            continue;
        };
        if !code.is_empty() && !name.is_empty() && t.name != *name {
            problems.push(crate::exchange::table::row_problem(
                *row,
                ProblemCode::Invalid,
                "乡镇(街道)",
                &format!("代码「{code}」对应{},与名称「{name}」不符", t.name),
            ));
            continue;
        }
        if let Some(first) = first_row.insert(t.id.as_str(), *row) {
            problems.push(crate::exchange::table::row_problem(
                *row,
                ProblemCode::Duplicate,
                "乡镇(街道)",
                &format!("{}重复出现(第{first}行已有)", t.name),
            ));
            continue;
        }
        scores.push((t.id.clone(), *hundredths));
    }
    let missing: Vec<&str> = townships
        .iter()
        .filter(|t| !first_row.contains_key(t.id.as_str()))
        .map(|t| t.name.as_str())
        .collect();
    if !missing.is_empty() {
        problems.push(Problem::error(
            ProblemCode::Required,
            "乡镇(街道)",
            format!(
                "缺少{}个乡镇(街道)的平时考核得分:{}",
                missing.len(),
                missing.join("、")
            ),
        ));
    }
    if has_errors(&problems) {
        problems.extend(parsed.warnings);
        return Err(ApiError::with_problems(
            ErrorCode::ImportInvalid,
            "routine scores refused",
            problems,
        ));
    }
    ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        store::replace_routine(tx, &scores)
    })?;
    Ok(RoutineImportReport {
        imported: i32::try_from(scores.len()).unwrap_or(i32::MAX),
        warnings: parsed.warnings,
    })
}

/// The ranking per 评比组 with the organiser's adjustments, the blend and the bands: on the
/// hub, for 组织方 and 计票人, and for the 监票人 once revealed (as `scoring::get_standings`).
pub fn get_results(ctx: &Ctx) -> ApiResult<GroupedResults> {
    crate::people::ensure_sees_results(ctx)?;
    results_unchecked(ctx)
}

/// The results without asking who looks (the export asks first).
pub(crate) fn results_unchecked(ctx: &Ctx) -> ApiResult<GroupedResults> {
    let rule = crate::scoring::get_aggregation_rule(ctx)?;
    let settings = get_results_settings(ctx)?;
    let scorers = crate::scoring::list_scorers(ctx)?;
    let townships: Vec<ResultsTownship> = crate::scoring::enabled_townships(ctx)?
        .into_iter()
        .map(|t| ResultsTownship {
            expected_sheets: crate::scoring::expected_for(&scorers, &t.id),
            group: domain::group_of(t.kind, &t.eval_group),
            township_id: t.id,
            name: t.name,
        })
        .collect();
    let sheets = crate::scoring::sheet_scores(ctx, &scorers)?;
    let adjustments: Vec<AdjustmentAmount> = ctx
        .store
        .read(store::list_adjustments)?
        .into_iter()
        .filter(|a| a.removed_at.is_none())
        .map(|a| AdjustmentAmount {
            township_id: a.township_id,
            tenths: a.tenths,
        })
        .collect();
    let routine: BTreeMap<String, i32> = ctx
        .store
        .read(store::list_routine)?
        .into_iter()
        .map(|r| (r.township_id, r.hundredths))
        .collect();
    Ok(domain::compute(
        &townships,
        &sheets,
        &rule,
        &adjustments,
        &routine,
        &settings,
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use guanmo_domain::results::{Blend, GroupSettings};
    use std::sync::Arc;

    fn setup() -> (tempfile::TempDir, Ctx, Vec<Township>) {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Ctx::open(dir.path(), Arc::new(guanmo_domain::SystemClock)).unwrap();
        let towns = crate::roster::list_townships(&ctx).unwrap();
        (dir, ctx, towns)
    }

    #[test]
    fn subdistricts_and_towns_are_ranked_in_separate_groups_and_a_group_can_be_reassigned() {
        let (_d, ctx, towns) = setup();
        let r = get_results(&ctx).unwrap();
        let names: Vec<&str> = r.groups.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, vec!["乡镇组", "街道组"]);
        let town = towns
            .iter()
            .find(|t| t.enabled && t.kind != guanmo_domain::roster::TownshipKind::Subdistrict)
            .unwrap();
        let moved = set_township_group(&ctx, &town.id, "街道组".into()).unwrap();
        assert_eq!(moved.eval_group, "街道组");
        assert_eq!(moved.version, town.version + 1);
        let r = get_results(&ctx).unwrap();
        let street = r.groups.iter().find(|g| g.name == "街道组").unwrap();
        assert!(street.rows.iter().any(|x| x.township_id == town.id));
        // Back to the default: stored blank.
        let back = set_township_group(&ctx, &town.id, " 乡镇组 ".into()).unwrap();
        assert_eq!(back.eval_group, "");
    }

    #[test]
    fn an_adjustment_needs_a_basis_and_nonzero_points_and_removal_keeps_it_with_a_reason() {
        let (_d, ctx, towns) = setup();
        let t = &towns[0];
        let bad = add_organiser_adjustment(
            &ctx,
            AdjustmentInput {
                township_id: t.id.clone(),
                points: 0.0,
                basis: " ".into(),
                attachment_hash: None,
            },
        )
        .unwrap_err();
        assert_eq!(bad.problems.len(), 2, "{:?}", bad.problems);
        let bad = add_organiser_adjustment(
            &ctx,
            AdjustmentInput {
                township_id: t.id.clone(),
                points: 1.25,
                basis: "省级表彰".into(),
                attachment_hash: Some("abc".into()),
            },
        )
        .unwrap_err();
        assert_eq!(bad.problems.len(), 2, "{:?}", bad.problems);
        let a = add_organiser_adjustment(
            &ctx,
            AdjustmentInput {
                township_id: t.id.clone(),
                points: -2.5,
                basis: "发生安全事故".into(),
                attachment_hash: None,
            },
        )
        .unwrap();
        assert_eq!(a.tenths, -25);
        assert!(remove_organiser_adjustment(&ctx, &a.id, " ".into()).is_err());
        let removed = remove_organiser_adjustment(&ctx, &a.id, "录入错误".into()).unwrap();
        assert_eq!(removed.removed_reason.as_deref(), Some("录入错误"));
        assert!(remove_organiser_adjustment(&ctx, &a.id, "再次".into()).is_err());
        assert_eq!(list_organiser_adjustments(&ctx).unwrap().len(), 1);
    }

    #[test]
    fn settings_with_weights_not_summing_to_100_are_refused_and_valid_ones_kept() {
        let (_d, ctx, _) = setup();
        let mut s = ResultsSettings {
            groups: vec![GroupSettings {
                name: "乡镇组".into(),
                bands: vec![],
            }],
            blend: Some(Blend {
                inspection_percent: 60.0,
                routine_percent: 30.0,
            }),
        };
        assert!(set_results_settings(&ctx, s.clone()).is_err());
        s.blend = Some(Blend {
            inspection_percent: 60.0,
            routine_percent: 40.0,
        });
        set_results_settings(&ctx, s.clone()).unwrap();
        assert_eq!(get_results_settings(&ctx).unwrap(), s);
    }

    #[test]
    fn a_routine_file_must_name_every_enabled_township_once() {
        let (_d, ctx, towns) = setup();
        let enabled: Vec<&Township> = towns.iter().filter(|t| t.enabled).collect();
        let mut csv = String::from("乡镇(街道),平时考核得分\n");
        for t in &enabled[..enabled.len() - 1] {
            csv.push_str(&format!("{},90\n", t.name));
        }
        csv.push_str(&format!("{},80\n", enabled[0].name));
        csv.push_str("不存在镇,80\n");
        let err = import_routine_scores_bytes(&ctx, csv.as_bytes(), FileFormat::Csv).unwrap_err();
        let msgs: Vec<String> = err.problems.iter().map(|p| p.message.clone()).collect();
        assert_eq!(msgs.len(), 3, "{msgs:?}");
        assert!(msgs[0].contains("重复出现"), "{msgs:?}");
        assert!(msgs[1].contains("不存在镇"), "{msgs:?}");
        assert!(
            msgs[2].contains(&enabled[enabled.len() - 1].name),
            "{msgs:?}"
        );

        let mut csv = String::from("代码,平时考核得分\n");
        for t in &enabled {
            csv.push_str(&format!("{},88.5\n", t.code));
        }
        let report = import_routine_scores_bytes(&ctx, csv.as_bytes(), FileFormat::Csv).unwrap();
        assert_eq!(report.imported as usize, enabled.len());
        let r = get_results(&ctx).unwrap();
        assert!(r
            .groups
            .iter()
            .flat_map(|g| &g.rows)
            .all(|x| x.routine == Some(88.5)));
    }
}
