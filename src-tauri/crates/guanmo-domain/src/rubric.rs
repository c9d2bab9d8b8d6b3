//! The scoring rubric (评分细则): categories of criteria, each with a maximum (分值) and
//! guidance (评分要点), plus bonus/penalty items (加减分项) with their own limits.
//! Invariant of a valid rubric: the criteria of each category sum to the category's maximum,
//! and the categories sum to the rubric's stated total; every maximum is positive with at
//! most one decimal. Validation says exactly where a sum breaks.

use crate::points::{Points, PointsError};
use crate::problem::{Problem, ProblemCode};
use serde::{Deserialize, Serialize};
use specta::Type;
use std::collections::{BTreeMap, HashSet};

/// Longest name of a category, criterion or adjustment, in characters.
pub const MAX_NAME_CHARS: usize = 60;
/// Longest guidance text, in characters.
pub const MAX_GUIDANCE_CHARS: usize = 2000;

/// A whole rubric. Items carry an id once saved; new items have `None` and the backend
/// assigns one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(deny_unknown_fields)]
pub struct Rubric {
    /// Title printed on score sheets.
    pub title: String,
    /// The stated total (usually 100).
    // Exported to TypeScript as `number`, not `number | null`: points are always finite.
    #[specta(type = i32)]
    pub total_points: f64,
    /// Categories in display order.
    pub categories: Vec<Category>,
    /// Bonus and penalty items, outside the total.
    pub adjustments: Vec<Adjustment>,
    /// Version of the saved rubric, counting from 1 (0 before a save). Set by the backend;
    /// ignored on save, where every save makes the next version.
    #[serde(default)]
    pub version: i32,
    /// Why this version was made (修订原因). Required once scoring has begun (see `frozen`);
    /// empty for versions saved before.
    #[serde(default)]
    pub change_reason: String,
    /// Whether score sheets exist (评分已开始): a save then needs a `change_reason` and reopens
    /// the submitted sheets whose items it changes. Set by the backend; ignored on save.
    #[serde(default)]
    pub frozen: bool,
    /// The 评比组 this rubric is for; empty for the shared rubric (共用评分标准), which every
    /// group without its own uses. Set on save to choose which rubric is saved.
    #[serde(default)]
    pub eval_group: String,
}

/// A category such as 基层党建.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Set once saved.
    pub id: Option<String>,
    /// Name.
    pub name: String,
    /// Stated maximum of the category.
    // Exported to TypeScript as `number`, not `number | null`: points are always finite.
    #[specta(type = i32)]
    pub max_points: f64,
    /// Criteria in display order.
    pub criteria: Vec<Criterion>,
}

/// One criterion a scorer marks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    /// Set once saved.
    pub id: Option<String>,
    /// Name.
    pub name: String,
    /// Maximum points (分值).
    // Exported to TypeScript as `number`, not `number | null`: points are always finite.
    #[specta(type = i32)]
    pub max_points: f64,
    /// What earns the points (评分要点).
    pub guidance: String,
}

/// Whether an adjustment adds or subtracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentKind {
    /// 加分
    Bonus,
    /// 减分
    Penalty,
}

impl AdjustmentKind {
    /// The Chinese label used in files and on screen.
    pub fn label(self) -> &'static str {
        match self {
            AdjustmentKind::Bonus => "加分",
            AdjustmentKind::Penalty => "减分",
        }
    }

    /// Parses `加分`/`减分`/`扣分` or the wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "加分" | "bonus" => Some(AdjustmentKind::Bonus),
            "减分" | "扣分" | "penalty" => Some(AdjustmentKind::Penalty),
            _ => None,
        }
    }
}

/// A bonus or penalty item (加减分项).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(deny_unknown_fields)]
pub struct Adjustment {
    /// Set once saved.
    pub id: Option<String>,
    /// Name.
    pub name: String,
    /// Bonus or penalty.
    pub kind: AdjustmentKind,
    /// The most this item can add or subtract (a positive number).
    // Exported to TypeScript as `number`, not `number | null`: points are always finite.
    #[specta(type = i32)]
    pub limit_points: f64,
    /// When it applies.
    pub guidance: String,
}

fn points_problem(location: &str, what: &str, v: f64, e: PointsError) -> Problem {
    Problem::error(ProblemCode::Invalid, location, format!("{what}「{v}」{e}"))
}

fn check_name(out: &mut Vec<Problem>, location: &str, what: &str, name: &str) {
    if name.trim().is_empty() {
        out.push(Problem::error(
            ProblemCode::Required,
            location,
            format!("{what}名称不能为空"),
        ));
    } else if name.chars().count() > MAX_NAME_CHARS {
        out.push(Problem::error(
            ProblemCode::OutOfRange,
            location,
            format!("{what}名称不能超过{MAX_NAME_CHARS}个字"),
        ));
    }
}

/// A positive maximum with at most one decimal, or a problem saying why not.
fn positive(out: &mut Vec<Problem>, location: &str, what: &str, v: f64) -> Option<Points> {
    match Points::from_f64(v) {
        Err(e) => {
            out.push(points_problem(location, what, v, e));
            None
        }
        Ok(p) if p.tenths() < 0 => {
            out.push(Problem::error(
                ProblemCode::OutOfRange,
                location,
                format!("{what}不能为负数({p})"),
            ));
            None
        }
        Ok(p) if p.tenths() == 0 => {
            out.push(Problem::error(
                ProblemCode::OutOfRange,
                location,
                format!("{what}必须大于0"),
            ));
            None
        }
        Ok(p) => Some(p),
    }
}

impl Rubric {
    /// Every problem with the rubric. Empty means it can be saved.
    pub fn validate(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if self.title.trim().is_empty() {
            out.push(Problem::error(
                ProblemCode::Required,
                "标题",
                "评分表标题不能为空",
            ));
        }
        let total = positive(&mut out, "总分", "总分", self.total_points);
        if self.categories.is_empty() {
            out.push(Problem::error(
                ProblemCode::Empty,
                "评分细则",
                "至少需要一个类别",
            ));
        }
        let mut names = HashSet::new();
        let mut cat_sum = Some(Points::ZERO);
        for cat in &self.categories {
            let loc = cat.name.trim().to_string();
            check_name(&mut out, &loc, "类别", &cat.name);
            if !cat.name.trim().is_empty() && !names.insert(cat.name.trim()) {
                out.push(Problem::error(
                    ProblemCode::Duplicate,
                    &loc,
                    format!("类别「{}」重复", cat.name.trim()),
                ));
            }
            let cmax = positive(&mut out, &loc, "类别分值", cat.max_points);
            cat_sum = cat_sum.zip(cmax).map(|(a, b)| a + b);
            if cat.criteria.is_empty() {
                out.push(Problem::error(
                    ProblemCode::Empty,
                    &loc,
                    format!("类别「{loc}」下没有评分细则"),
                ));
            }
            let mut crit_names = HashSet::new();
            let mut crit_sum = Some(Points::ZERO);
            for c in &cat.criteria {
                let cloc = format!("{loc} › {}", c.name.trim());
                check_name(&mut out, &cloc, "细则", &c.name);
                if !c.name.trim().is_empty() && !crit_names.insert(c.name.trim()) {
                    out.push(Problem::error(
                        ProblemCode::Duplicate,
                        &cloc,
                        format!("类别「{loc}」中细则「{}」重复", c.name.trim()),
                    ));
                }
                if c.guidance.chars().count() > MAX_GUIDANCE_CHARS {
                    out.push(Problem::error(
                        ProblemCode::OutOfRange,
                        &cloc,
                        format!("评分要点不能超过{MAX_GUIDANCE_CHARS}个字"),
                    ));
                }
                let m = positive(&mut out, &cloc, "细则分值", c.max_points);
                crit_sum = crit_sum.zip(m).map(|(a, b)| a + b);
            }
            if let (Some(s), Some(cm)) = (crit_sum, cmax) {
                if !cat.criteria.is_empty() && s != cm {
                    out.push(Problem::error(
                        ProblemCode::SumMismatch,
                        &loc,
                        format!(
                            "类别「{loc}」的细则分值合计{s}分,与类别分值{cm}分不符({})",
                            diff(s, cm)
                        ),
                    ));
                }
            }
        }
        if let (Some(s), Some(t)) = (cat_sum, total) {
            if !self.categories.is_empty() && s != t {
                out.push(Problem::error(
                    ProblemCode::SumMismatch,
                    "总分",
                    format!("各类别分值合计{s}分,与总分{t}分不符({})", diff(s, t)),
                ));
            }
        }
        let mut adj_names = HashSet::new();
        for a in &self.adjustments {
            let loc = format!("加减分项 › {}", a.name.trim());
            check_name(&mut out, &loc, "加减分项", &a.name);
            if !a.name.trim().is_empty() && !adj_names.insert(a.name.trim()) {
                out.push(Problem::error(
                    ProblemCode::Duplicate,
                    &loc,
                    format!("加减分项「{}」重复", a.name.trim()),
                ));
            }
            positive(&mut out, &loc, "上限", a.limit_points);
        }
        out
    }

    /// The sum of all criterion maxima, when every maximum is a valid number of points.
    pub fn criteria_total(&self) -> Option<Points> {
        self.categories
            .iter()
            .flat_map(|c| &c.criteria)
            .map(|c| Points::from_f64(c.max_points).ok())
            .sum()
    }

    /// Whether sheets marked under `self` must be looked at again under `next`: a criterion
    /// or adjustment was added or retired, or a maximum, limit or kind changed. Renames,
    /// guidance, order and moving a criterion to another category are not: the marks mean the
    /// same. Items are matched by id, so an item of `next` without one is new.
    pub fn rescores(&self, next: &Rubric) -> bool {
        match (scored_on(self), scored_on(next)) {
            (Some(before), Some(after)) => before != after,
            _ => true,
        }
    }

    /// Trims every name and guidance text, and the change reason.
    pub fn normalized(mut self) -> Self {
        self.title = self.title.trim().to_string();
        self.change_reason = self.change_reason.trim().to_string();
        self.eval_group = self.eval_group.trim().to_string();
        for c in &mut self.categories {
            c.name = c.name.trim().to_string();
            for k in &mut c.criteria {
                k.name = k.name.trim().to_string();
                k.guidance = k.guidance.trim().to_string();
            }
        }
        for a in &mut self.adjustments {
            a.name = a.name.trim().to_string();
            a.guidance = a.guidance.trim().to_string();
        }
        self
    }
}

/// What a sheet is scored on, by item id: each criterion's maximum and each adjustment's kind
/// and limit, in tenths. `None` when an item has no id yet (a new item always differs).
type ScoredOn = (
    BTreeMap<String, Option<i32>>,
    BTreeMap<String, (AdjustmentKind, Option<i32>)>,
);

fn scored_on(r: &Rubric) -> Option<ScoredOn> {
    let tenths = |v: f64| Points::from_f64(v).ok().map(Points::tenths);
    let mut criteria = BTreeMap::new();
    for k in r.categories.iter().flat_map(|c| &c.criteria) {
        criteria.insert(k.id.clone()?, tenths(k.max_points));
    }
    let mut adjustments = BTreeMap::new();
    for a in &r.adjustments {
        adjustments.insert(a.id.clone()?, (a.kind, tenths(a.limit_points)));
    }
    Some((criteria, adjustments))
}

fn diff(a: Points, b: Points) -> String {
    let d = Points(a.tenths() - b.tenths());
    if d.tenths() > 0 {
        format!("多{d}分")
    } else {
        format!("少{}分", Points(-d.tenths()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn crit(name: &str, max: f64) -> Criterion {
        Criterion {
            id: None,
            name: name.into(),
            max_points: max,
            guidance: String::new(),
        }
    }

    fn rubric(maxes: &[f64], total: f64) -> Rubric {
        Rubric {
            title: "评分表".into(),
            total_points: total,
            categories: maxes
                .iter()
                .enumerate()
                .map(|(i, &m)| Category {
                    id: None,
                    name: format!("类别{i}"),
                    max_points: m,
                    criteria: vec![crit("细则", m)],
                })
                .collect(),
            adjustments: vec![],
            version: 0,
            change_reason: String::new(),
            frozen: false,
            eval_group: String::new(),
        }
    }

    /// A saved-looking rubric: every item has an id.
    fn saved() -> Rubric {
        let mut r = rubric(&[60.0, 40.0], 100.0);
        for (i, c) in r.categories.iter_mut().enumerate() {
            c.id = Some(format!("c{i}"));
            c.criteria[0].id = Some(format!("k{i}"));
        }
        r.adjustments.push(Adjustment {
            id: Some("a".into()),
            name: "安全事故".into(),
            kind: AdjustmentKind::Penalty,
            limit_points: 5.0,
            guidance: String::new(),
        });
        r
    }

    #[test]
    fn renaming_rewording_and_giving_a_reason_do_not_rescore_sheets() {
        let before = saved();
        let mut after = before.clone();
        after.title = "新标题".into();
        after.categories[0].name = "改名".into();
        after.categories[0].criteria[0].name = "改名细则".into();
        after.categories[0].criteria[0].guidance = "新的评分要点".into();
        after.adjustments[0].name = "重大安全事故".into();
        after.change_reason = "修改措辞".into();
        after.version = 7;
        after.categories.swap(0, 1);
        assert!(!before.rescores(&after));
    }

    #[test]
    fn changing_a_maximum_limit_or_kind_or_adding_or_retiring_an_item_rescores_sheets() {
        let before = saved();
        let mut max = before.clone();
        max.categories[0].max_points = 50.0;
        max.categories[0].criteria[0].max_points = 50.0;
        max.categories[1].max_points = 50.0;
        max.categories[1].criteria[0].max_points = 50.0;
        assert!(before.rescores(&max), "a criterion maximum changed");
        let mut limit = before.clone();
        limit.adjustments[0].limit_points = 5.5;
        assert!(before.rescores(&limit), "an adjustment limit changed");
        let mut kind = before.clone();
        kind.adjustments[0].kind = AdjustmentKind::Bonus;
        assert!(before.rescores(&kind), "a penalty became a bonus");
        let mut added = before.clone();
        added.categories[1].criteria.push(crit("新细则", 1.0));
        assert!(before.rescores(&added), "a criterion without an id is new");
        let mut retired = before.clone();
        retired.adjustments.clear();
        assert!(before.rescores(&retired), "an adjustment was retired");
    }

    #[test]
    fn maxima_summing_to_99_or_101_are_refused_and_say_by_how_much() {
        for (first, word) in [(49.0, "少1分"), (51.0, "多1分")] {
            let r = rubric(&[first, 50.0], 100.0);
            let p = r.validate();
            let m = p
                .iter()
                .find(|p| p.code == ProblemCode::SumMismatch)
                .unwrap();
            assert!(m.message.contains(word), "{}", m.message);
            assert_eq!(m.location, "总分");
        }
        assert!(rubric(&[50.0, 50.0], 100.0).validate().is_empty());
    }

    #[test]
    fn a_category_whose_criteria_do_not_add_up_is_named() {
        let mut r = rubric(&[50.0, 50.0], 100.0);
        r.categories[1].criteria.push(crit("另一项", 1.0));
        let p = r.validate();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].location, "类别1");
        assert!(p[0].message.contains("51"), "{}", p[0].message);
    }

    #[test]
    fn zero_and_negative_maxima_are_refused() {
        let mut r = rubric(&[50.0, 50.0], 100.0);
        r.categories[0].criteria = vec![crit("甲", 50.0), crit("乙", 0.0)];
        r.categories[1].criteria = vec![crit("丙", 60.0), crit("丁", -10.0)];
        let p = r.validate();
        assert!(p
            .iter()
            .any(|p| p.location == "类别0 › 乙" && p.message.contains("大于0")));
        assert!(p
            .iter()
            .any(|p| p.location == "类别1 › 丁" && p.message.contains("负数")));
    }

    #[test]
    fn more_than_one_decimal_is_refused() {
        let r = rubric(&[49.95, 50.05], 100.0);
        assert!(r.validate().iter().any(|p| p.message.contains("一位小数")));
    }

    proptest! {
        #[test]
        fn any_split_of_the_total_into_tenths_validates(parts in proptest::collection::vec(1i32..300, 1..12)) {
            let total: i32 = parts.iter().sum();
            let maxes: Vec<f64> = parts.iter().map(|&t| Points(t).as_f64()).collect();
            let r = rubric(&maxes, Points(total).as_f64());
            prop_assert!(r.validate().is_empty());
        }

        #[test]
        fn changing_one_maximum_always_breaks_the_total(parts in proptest::collection::vec(1i32..300, 1..12), bump in 1i32..50) {
            let total: i32 = parts.iter().sum();
            let mut maxes: Vec<f64> = parts.iter().map(|&t| Points(t).as_f64()).collect();
            maxes[0] = Points(parts[0] + bump).as_f64();
            let r = rubric(&maxes, Points(total).as_f64());
            prop_assert!(r.validate().iter().any(|p| p.code == ProblemCode::SumMismatch && p.location == "总分"));
        }
    }
}
