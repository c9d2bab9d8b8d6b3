//! Rubric: the default, saving, and refusing rubrics whose maxima do not add up.

use crate::support::Env;
use guanmo_api::exchange::FileFormat;
use guanmo_api::rubric;
use guanmo_api::ErrorCode;
use guanmo_domain::problem::ProblemCode;

#[test]
fn the_default_rubric_has_the_five_areas_and_the_on_site_report_totalling_100() {
    let env = Env::new();
    let r = rubric::get_rubric(&env.ctx).unwrap();
    let names: Vec<&str> = r.categories.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "基层党建",
            "巩固乡村振兴",
            "村集体经济发展",
            "乡村治理",
            "人居环境整治",
            "现场汇报"
        ]
    );
    assert_eq!(r.total_points, 100.0);
    assert_eq!(r.criteria_total().unwrap().as_f64(), 100.0);
    assert!(r.validate().is_empty());
    assert!(r
        .categories
        .iter()
        .flat_map(|c| &c.criteria)
        .all(|c| c.id.is_some()));
    assert_eq!(r.adjustments.len(), 2);
}

#[test]
fn a_rubric_summing_to_99_or_101_is_refused_and_nothing_changes() {
    for delta in [-1.0, 1.0] {
        let env = Env::new();
        let before = env.snapshot();
        let mut r = rubric::get_rubric(&env.ctx).unwrap();
        r.categories[0].criteria[0].max_points += delta;
        let err = rubric::save_rubric(&env.ctx, r).unwrap_err();
        assert_eq!(err.code, ErrorCode::Validation);
        let p = err
            .problems
            .iter()
            .find(|p| p.code == ProblemCode::SumMismatch)
            .unwrap();
        assert_eq!(
            p.location, "基层党建",
            "the problem names the category: {p:?}"
        );
        assert_eq!(env.snapshot(), before);
    }
}

#[test]
fn saving_keeps_ids_of_kept_items_and_retires_removed_ones() {
    let env = Env::new();
    let mut r = rubric::get_rubric(&env.ctx).unwrap();
    let kept = r.categories[0].criteria[0].id.clone();
    let removed = r.categories[0].criteria.pop().unwrap();
    r.categories[0].criteria[0].max_points += removed.max_points;
    r.categories[0].criteria[0].guidance = "新的评分要点".into();
    let saved = rubric::save_rubric(&env.ctx, r).unwrap();
    assert_eq!(saved.categories[0].criteria[0].id, kept);
    assert_eq!(saved.categories[0].criteria.len(), 2);
    assert_eq!(saved.categories[0].criteria[0].guidance, "新的评分要点");
    let reloaded = rubric::get_rubric(&env.reopen()).unwrap();
    assert_eq!(reloaded, saved);
}

#[test]
fn json_and_xlsx_exports_import_back_to_the_same_rubric() {
    for (name, format) in [
        ("细则.json", FileFormat::Json),
        ("细则.xlsx", FileFormat::Xlsx),
    ] {
        let env = Env::new();
        let out = env.dir.path().join(name);
        rubric::export_rubric(&env.ctx, &out, format, "").unwrap();
        let env2 = Env::new();
        let imported = rubric::import_rubric(&env2.ctx, &out, "").unwrap();
        let strip = |r: &guanmo_domain::rubric::Rubric| {
            let mut r = r.clone();
            for c in &mut r.categories {
                c.id = None;
                for k in &mut c.criteria {
                    k.id = None;
                }
            }
            for a in &mut r.adjustments {
                a.id = None;
            }
            // Each database counts its own versions: the import is the second save there.
            r.version = 0;
            r
        };
        assert_eq!(
            strip(&imported),
            strip(&rubric::get_rubric(&env.ctx).unwrap()),
            "{name}"
        );
    }
}

#[test]
fn an_imported_rubric_with_zero_or_negative_maxima_is_refused() {
    let env = Env::new();
    let before = env.snapshot();
    let json = r#"{"title":"评分表","total_points":100,"categories":[
        {"name":"甲","max_points":100,"criteria":[
            {"name":"一","max_points":110,"guidance":""},
            {"name":"二","max_points":0,"guidance":""},
            {"name":"三","max_points":-10,"guidance":""}]}],"adjustments":[]}"#;
    let err =
        rubric::import_rubric(&env.ctx, &env.file("r.json", json.as_bytes()), "").unwrap_err();
    assert_eq!(err.code, ErrorCode::ImportInvalid);
    assert!(err.problems.iter().any(|p| p.location == "甲 › 二"));
    assert!(err
        .problems
        .iter()
        .any(|p| p.location == "甲 › 三" && p.message.contains("负数")));
    assert_eq!(env.snapshot(), before);
}

#[test]
fn a_rubric_json_with_an_unknown_field_is_refused() {
    let env = Env::new();
    let json = r#"{"title":"t","total_points":100,"categories":[],"approved":true}"#;
    let err =
        rubric::import_rubric(&env.ctx, &env.file("r.json", json.as_bytes()), "").unwrap_err();
    assert_eq!(err.code, ErrorCode::ImportInvalid);
}
