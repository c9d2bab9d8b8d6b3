//! Paper score sheets entered twice (双人录入): two 计分员 type the same paper sheet on their
//! own, and the sheet counts only when both entries agree exactly. This module checks one
//! entry against the rubric (every criterion 0..=分值 with one decimal, 加减分 within its
//! limit, 总体评价 within its length) and compares two entries item by item, in rubric order.
//! Invariant: [`compare`] says [`Comparison::Agree`] only for identical entries, and lists each
//! differing item exactly once.

use crate::points::Points;
use crate::problem::{Problem, ProblemCode};
use crate::rubric::Rubric;
use crate::scoring::{check_points, MAX_NOTE_CHARS};
use serde::{Deserialize, Serialize};
use specta::Type;
use std::collections::{BTreeMap, HashSet};

/// Location (and name in a mismatch list) of the overall comment.
pub const COMMENT_NAME: &str = "总体评价";
/// How an empty mark shows in a mismatch list.
pub const BLANK: &str = "未填";

/// One number as typed from the paper.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct PaperValue {
    /// The criterion or bonus/penalty item.
    pub item_id: String,
    /// The points written on the paper; `None` when left blank (only a 加减分项 may be).
    pub points: Option<f64>,
}

/// What a 计分员 types for one paper sheet.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Type)]
pub struct PaperInput {
    /// 得分 of every criterion.
    pub marks: Vec<PaperValue>,
    /// 加减分 written on the sheet (blank ones may be left out).
    pub adjustments: Vec<PaperValue>,
    /// 总体评价, if the scorer wrote one.
    #[serde(default)]
    pub comment: String,
}

/// What a mismatch is about.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Type,
)]
#[serde(rename_all = "snake_case")]
pub enum PaperItemKind {
    /// A criterion's 得分.
    Criterion,
    /// A bonus/penalty item.
    Adjustment,
    /// The overall comment (总体评价).
    Comment,
}

/// One entry checked against the rubric: points in tenths by item id; a blank 加减分项 is absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaperEntry {
    /// Criterion id → points.
    pub marks: BTreeMap<String, Points>,
    /// Bonus/penalty id → points (a magnitude; the item's kind gives the sign).
    pub adjustments: BTreeMap<String, Points>,
    /// 总体评价 with its whitespace folded (runs of spaces and line breaks count as one space).
    pub comment: String,
}

impl PaperEntry {
    /// The entry as the form would send it again.
    pub fn to_input(&self) -> PaperInput {
        let values = |m: &BTreeMap<String, Points>| {
            m.iter()
                .map(|(id, p)| PaperValue {
                    item_id: id.clone(),
                    points: Some(p.as_f64()),
                })
                .collect()
        };
        PaperInput {
            marks: values(&self.marks),
            adjustments: values(&self.adjustments),
            comment: self.comment.clone(),
        }
    }
}

/// One item on which the two entries differ.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Difference {
    /// Criterion, bonus/penalty item or comment.
    pub kind: PaperItemKind,
    /// The criterion's or item's id; `None` for the comment.
    pub item_id: Option<String>,
    /// Where it is on the sheet: 「基层党建 › 组织体系建设」, 「加减分项 › 省级表彰」 or 总体评价.
    pub name: String,
    /// 一录, as shown to people ([`BLANK`] when empty).
    pub first: String,
    /// 二录.
    pub second: String,
}

/// What comparing two entries found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// Identical: the sheet may count.
    Agree,
    /// The items that differ, in rubric order (criteria, then 加减分项, then 总体评价).
    Mismatch(Vec<Difference>),
}

/// A value re-entered while settling a mismatch against the paper (核对).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct PaperCorrection {
    /// What is corrected.
    pub kind: PaperItemKind,
    /// The criterion or item; `None` for the comment.
    pub item_id: Option<String>,
    /// The points as on the paper (criterion or 加减分项; `None`: blank 加减分项).
    pub points: Option<f64>,
    /// The comment as on the paper (comment only).
    #[serde(default)]
    pub comment: String,
}

/// Runs of whitespace folded to one space, ends trimmed: what a comment compares by.
pub fn fold_comment(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A rubric item as the paper form lists it: kind, id, location, maximum.
#[derive(Debug, Clone, PartialEq)]
pub struct FormItem {
    /// Criterion or bonus/penalty item.
    pub kind: PaperItemKind,
    /// Its id.
    pub id: String,
    /// 「类别 › 细则」 or 「加减分项 › 名称」.
    pub name: String,
    /// 分值 or 上限.
    pub max: Points,
    /// 得分 or 加分/减分, for messages.
    pub what: &'static str,
}

/// The saved items of a rubric in paper-sheet order: criteria by category, then 加减分项.
pub fn form_items(rubric: &Rubric) -> Vec<FormItem> {
    let crit = rubric.categories.iter().flat_map(|c| {
        c.criteria.iter().filter_map(move |k| {
            Some(FormItem {
                kind: PaperItemKind::Criterion,
                id: k.id.clone()?,
                name: format!("{} › {}", c.name, k.name),
                max: Points::from_f64(k.max_points).unwrap_or(Points::ZERO),
                what: "得分",
            })
        })
    });
    let adj = rubric.adjustments.iter().filter_map(|a| {
        Some(FormItem {
            kind: PaperItemKind::Adjustment,
            id: a.id.clone()?,
            name: format!("加减分项 › {}", a.name),
            max: Points::from_f64(a.limit_points).unwrap_or(Points::ZERO),
            what: a.kind.label(),
        })
    });
    crit.chain(adj).collect()
}

/// Checks one entry against the rubric: every criterion needs its 得分 (0..=分值, one
/// decimal), a 加减分项 may be blank or within its limit, no unknown or repeated item, the
/// comment at most [`MAX_NOTE_CHARS`]. Every problem is reported, located by item.
pub fn validate_entry(rubric: &Rubric, input: &PaperInput) -> Result<PaperEntry, Vec<Problem>> {
    let items = form_items(rubric);
    let mut problems = Vec::new();
    let mut entry = PaperEntry::default();
    for (kind, values) in [
        (PaperItemKind::Criterion, &input.marks),
        (PaperItemKind::Adjustment, &input.adjustments),
    ] {
        let mut seen = HashSet::new();
        for v in values {
            let Some(item) = items.iter().find(|i| i.kind == kind && i.id == v.item_id) else {
                problems.push(Problem::error(
                    ProblemCode::Invalid,
                    &v.item_id,
                    "评分细则中没有这一项(评分细则可能已修订,请刷新后重新录入)",
                ));
                continue;
            };
            if !seen.insert(v.item_id.as_str()) {
                problems.push(Problem::error(
                    ProblemCode::Duplicate,
                    &item.name,
                    format!("「{}」录入了两次", item.name),
                ));
                continue;
            }
            let Some(points) = v.points else { continue };
            match check_points(points, item.max, item.what) {
                Ok(p) => {
                    let map = match kind {
                        PaperItemKind::Criterion => &mut entry.marks,
                        _ => &mut entry.adjustments,
                    };
                    map.insert(item.id.clone(), p);
                }
                Err(r) => problems.push(r.at(&item.name)),
            }
        }
    }
    // A criterion left blank (or not sent) is missing, unless it was already refused.
    for item in items.iter().filter(|i| i.kind == PaperItemKind::Criterion) {
        let refused = problems.iter().any(|p| p.location == item.name);
        if !entry.marks.contains_key(&item.id) && !refused {
            problems.push(Problem::error(
                ProblemCode::Required,
                &item.name,
                format!("「{}」未填写得分", item.name),
            ));
        }
    }
    let comment = fold_comment(&input.comment);
    if comment.chars().count() > MAX_NOTE_CHARS {
        problems.push(Problem::error(
            ProblemCode::OutOfRange,
            COMMENT_NAME,
            format!("{COMMENT_NAME}不能超过{MAX_NOTE_CHARS}个字"),
        ));
    }
    entry.comment = comment;
    if problems.is_empty() {
        Ok(entry)
    } else {
        Err(problems)
    }
}

fn shown(p: Option<&Points>) -> String {
    p.map_or_else(|| BLANK.to_string(), Points::to_string)
}

/// Compares two entries item by item: the rubric's items in order, then any item an entry
/// holds that the rubric no longer lists (by id), then the comment.
pub fn compare(rubric: &Rubric, first: &PaperEntry, second: &PaperEntry) -> Comparison {
    let items = form_items(rubric);
    let mut out = Vec::new();
    for (kind, a, b) in [
        (PaperItemKind::Criterion, &first.marks, &second.marks),
        (
            PaperItemKind::Adjustment,
            &first.adjustments,
            &second.adjustments,
        ),
    ] {
        let listed: Vec<(&str, String)> = items
            .iter()
            .filter(|i| i.kind == kind)
            .map(|i| (i.id.as_str(), i.name.clone()))
            .collect();
        let known: HashSet<&str> = listed.iter().map(|(id, _)| *id).collect();
        let mut extra: Vec<&str> = a
            .keys()
            .chain(b.keys())
            .map(String::as_str)
            .filter(|id| !known.contains(id))
            .collect();
        extra.sort_unstable();
        extra.dedup();
        let every = listed
            .into_iter()
            .chain(extra.into_iter().map(|id| (id, id.to_string())));
        for (id, name) in every {
            let (x, y) = (a.get(id), b.get(id));
            if x != y {
                out.push(Difference {
                    kind,
                    item_id: Some(id.to_string()),
                    name,
                    first: shown(x),
                    second: shown(y),
                });
            }
        }
    }
    if first.comment != second.comment {
        out.push(Difference {
            kind: PaperItemKind::Comment,
            item_id: None,
            name: COMMENT_NAME.to_string(),
            first: first.comment.clone(),
            second: second.comment.clone(),
        });
    }
    if out.is_empty() {
        Comparison::Agree
    } else {
        Comparison::Mismatch(out)
    }
}

/// Settles one entry against the paper: applies `corrections`, each of which must name an
/// item in `mismatches` (only what differs is re-entered), and checks the result as a whole.
pub fn settle(
    rubric: &Rubric,
    entry: &PaperEntry,
    mismatches: &[Difference],
    corrections: &[PaperCorrection],
) -> Result<PaperEntry, Vec<Problem>> {
    let mut input = entry.to_input();
    let mut problems = Vec::new();
    for c in corrections {
        let listed = mismatches
            .iter()
            .any(|d| d.kind == c.kind && d.item_id == c.item_id);
        if !listed {
            problems.push(Problem::error(
                ProblemCode::Invalid,
                c.item_id.as_deref().unwrap_or(COMMENT_NAME),
                "只能修改两次录入不一致的项目",
            ));
            continue;
        }
        let values = match c.kind {
            PaperItemKind::Comment => {
                input.comment = c.comment.clone();
                continue;
            }
            PaperItemKind::Criterion => &mut input.marks,
            PaperItemKind::Adjustment => &mut input.adjustments,
        };
        let id = c.item_id.clone().unwrap_or_default();
        values.retain(|v| v.item_id != id);
        values.push(PaperValue {
            item_id: id,
            points: c.points,
        });
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    validate_entry(rubric, &input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rubric::{Adjustment, AdjustmentKind, Category, Criterion};
    use proptest::prelude::*;

    fn rubric() -> Rubric {
        let crit = |id: &str, name: &str, max: f64| Criterion {
            id: Some(id.into()),
            name: name.into(),
            max_points: max,
            guidance: String::new(),
        };
        Rubric {
            title: "评分表".into(),
            total_points: 100.0,
            categories: vec![
                Category {
                    id: Some("cat-a".into()),
                    name: "基层党建".into(),
                    max_points: 50.0,
                    criteria: vec![crit("k1", "组织体系", 20.0), crit("k2", "党员教育", 30.0)],
                },
                Category {
                    id: Some("cat-b".into()),
                    name: "乡村治理".into(),
                    max_points: 50.0,
                    criteria: vec![crit("k3", "平安建设", 25.0), crit("k4", "矛盾调解", 25.0)],
                },
            ],
            adjustments: vec![Adjustment {
                id: Some("adj".into()),
                name: "省级表彰".into(),
                kind: AdjustmentKind::Bonus,
                limit_points: 3.0,
                guidance: String::new(),
            }],
            version: 1,
            change_reason: String::new(),
            frozen: true,
            eval_group: String::new(),
        }
    }

    fn input(marks: &[(&str, f64)]) -> PaperInput {
        PaperInput {
            marks: marks
                .iter()
                .map(|(id, p)| PaperValue {
                    item_id: (*id).into(),
                    points: Some(*p),
                })
                .collect(),
            adjustments: vec![],
            comment: String::new(),
        }
    }

    fn full() -> PaperInput {
        input(&[("k1", 18.0), ("k2", 27.5), ("k3", 20.0), ("k4", 22.0)])
    }

    #[test]
    fn a_complete_entry_within_the_maxima_is_accepted_in_tenths() {
        let mut i = full();
        i.adjustments.push(PaperValue {
            item_id: "adj".into(),
            points: Some(2.0),
        });
        i.adjustments.push(PaperValue {
            item_id: "adj-blank".into(),
            points: None,
        });
        i.comment = "  亮点 突出\n 值得推广 ".into();
        // An unknown item is refused even when blank.
        assert!(validate_entry(&rubric(), &i).is_err());
        i.adjustments.pop();
        let e = validate_entry(&rubric(), &i).unwrap();
        assert_eq!(e.marks["k2"], Points(275));
        assert_eq!(e.adjustments["adj"], Points(20));
        assert_eq!(e.comment, "亮点 突出 值得推广");
        assert_eq!(validate_entry(&rubric(), &e.to_input()).unwrap(), e);
    }

    #[test]
    fn an_entry_is_refused_item_by_item_with_the_reason() {
        let mut i = input(&[("k1", 21.0), ("k2", 7.55), ("k3", -1.0), ("zz", 1.0)]);
        i.adjustments.push(PaperValue {
            item_id: "adj".into(),
            points: Some(3.5),
        });
        let p = validate_entry(&rubric(), &i).unwrap_err();
        let at = |loc: &str| {
            p.iter()
                .find(|p| p.location == loc)
                .unwrap()
                .message
                .clone()
        };
        assert!(at("基层党建 › 组织体系").contains("超过分值20分"));
        assert!(at("基层党建 › 党员教育").contains("一位小数"));
        assert!(at("乡村治理 › 平安建设").contains("负数"));
        assert!(at("乡村治理 › 矛盾调解").contains("未填写"));
        assert!(at("加减分项 › 省级表彰").contains("超过分值3分"));
        assert!(at("zz").contains("没有这一项"));
        assert_eq!(p.len(), 6, "{p:?}");

        let mut blank = full();
        blank.marks[0].points = None;
        let p = validate_entry(&rubric(), &blank).unwrap_err();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].code, ProblemCode::Required);

        let mut twice = full();
        twice.marks.push(twice.marks[0].clone());
        let p = validate_entry(&rubric(), &twice).unwrap_err();
        assert_eq!(p[0].code, ProblemCode::Duplicate);

        let mut long = full();
        long.comment = "评".repeat(MAX_NOTE_CHARS + 1);
        assert_eq!(
            validate_entry(&rubric(), &long).unwrap_err()[0].location,
            COMMENT_NAME
        );
    }

    #[test]
    fn mismatches_are_listed_in_rubric_order_with_both_values() {
        let r = rubric();
        let a = validate_entry(&r, &full()).unwrap();
        let mut bi = input(&[("k1", 18.0), ("k2", 27.0), ("k3", 20.0), ("k4", 12.0)]);
        bi.adjustments.push(PaperValue {
            item_id: "adj".into(),
            points: Some(1.0),
        });
        bi.comment = "好".into();
        let b = validate_entry(&r, &bi).unwrap();
        let Comparison::Mismatch(d) = compare(&r, &a, &b) else {
            panic!("they differ")
        };
        let rows: Vec<(&str, &str, &str)> = d
            .iter()
            .map(|d| (d.name.as_str(), d.first.as_str(), d.second.as_str()))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("基层党建 › 党员教育", "27.5", "27"),
                ("乡村治理 › 矛盾调解", "22", "12"),
                ("加减分项 › 省级表彰", BLANK, "1"),
                (COMMENT_NAME, "", "好"),
            ]
        );
        assert_eq!(compare(&r, &a, &a.clone()), Comparison::Agree);
    }

    #[test]
    fn settling_changes_only_mismatched_items_and_can_lead_to_agreement() {
        let r = rubric();
        let a = validate_entry(&r, &full()).unwrap();
        let b = validate_entry(
            &r,
            &input(&[("k1", 18.0), ("k2", 27.5), ("k3", 2.0), ("k4", 22.0)]),
        )
        .unwrap();
        let Comparison::Mismatch(d) = compare(&r, &a, &b) else {
            panic!()
        };
        let fix = |id: &str, p: f64| PaperCorrection {
            kind: PaperItemKind::Criterion,
            item_id: Some(id.into()),
            points: Some(p),
            comment: String::new(),
        };
        let p = settle(&r, &b, &d, &[fix("k1", 1.0)]).unwrap_err();
        assert!(p[0].message.contains("不一致"), "{p:?}");
        let p = settle(&r, &b, &d, &[fix("k3", 26.0)]).unwrap_err();
        assert!(p[0].message.contains("超过分值25分"));
        let b2 = settle(&r, &b, &d, &[fix("k3", 20.0)]).unwrap();
        assert_eq!(compare(&r, &a, &b2), Comparison::Agree);
    }

    fn entry_strategy() -> impl Strategy<Value = PaperEntry> {
        // Tenths within each maximum (20, 30, 25, 25; adjustment up to 3 or blank).
        (
            0..=200i32,
            0..=300i32,
            0..=250i32,
            0..=250i32,
            proptest::option::of(0..=30i32),
            proptest::sample::select(vec!["", "好", "很好"]),
        )
            .prop_map(|(a, b, c, d, adj, comment)| PaperEntry {
                marks: [("k1", a), ("k2", b), ("k3", c), ("k4", d)]
                    .into_iter()
                    .map(|(k, t)| (k.to_string(), Points(t)))
                    .collect(),
                adjustments: adj
                    .map(|t| ("adj".to_string(), Points(t)))
                    .into_iter()
                    .collect(),
                comment: comment.to_string(),
            })
    }

    proptest! {
        #[test]
        fn double_entry_agrees_only_on_identical_entries(a in entry_strategy(), b in entry_strategy()) {
            let r = rubric();
            // Every generated entry is a valid one.
            prop_assert_eq!(validate_entry(&r, &a.to_input()), Ok(a.clone()));
            prop_assert_eq!(compare(&r, &a, &a.clone()), Comparison::Agree);
            match compare(&r, &a, &b) {
                Comparison::Agree => prop_assert_eq!(&a, &b),
                Comparison::Mismatch(d) => {
                    prop_assert!(a != b);
                    let ids: HashSet<_> = d.iter().map(|d| (d.kind, d.item_id.clone())).collect();
                    prop_assert_eq!(ids.len(), d.len(), "each item once");
                }
            }
        }

        #[test]
        fn a_single_changed_criterion_is_reported_as_exactly_that_criterion(
            a in entry_strategy(),
            which in 0usize..4,
            delta in 1i32..=10,
        ) {
            let r = rubric();
            let id = ["k1", "k2", "k3", "k4"][which];
            let mut b = a.clone();
            let old = a.marks[id].tenths();
            // Up if it fits under every maximum (≥ 200 tenths), down otherwise.
            let new = if old + delta <= 200 { old + delta } else { old - delta };
            b.marks.insert(id.to_string(), Points(new));
            let Comparison::Mismatch(d) = compare(&r, &a, &b) else {
                return Err(TestCaseError::fail("a difference must be found"));
            };
            prop_assert_eq!(d.len(), 1);
            prop_assert_eq!(d[0].kind, PaperItemKind::Criterion);
            prop_assert_eq!(d[0].item_id.as_deref(), Some(id));
            prop_assert_eq!(&d[0].first, &Points(old).to_string());
            prop_assert_eq!(&d[0].second, &Points(new).to_string());
            // And it is the same seen from the other side.
            let Comparison::Mismatch(back) = compare(&r, &b, &a) else {
                return Err(TestCaseError::fail("symmetric"));
            };
            prop_assert_eq!(back.len(), 1);
            prop_assert_eq!(&back[0].first, &d[0].second);
        }
    }
}
