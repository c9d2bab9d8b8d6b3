//! Results as a city publishes them (成绩与排名通报): townships ranked inside their 评比组
//! (街道组 / 乡镇组 by default), the organiser's 加减分 added once per township, an optional
//! blend with the routine assessment (平时考核) and the bands the notice names (前三名 表扬,
//! 后三名 表态发言, 90分以上 先进). Layered on [`aggregation::aggregate`], which runs once per
//! group so trims and ranks stay inside the group. Invariant: every figure is computed in
//! exact integer hundredths and rounded half away from zero, a township's row depends only on
//! its group's townships, and every printed final follows from the row's `arithmetic` line.

use crate::aggregation::{self, AggregationRule, SheetScore, Standing, TownshipExpectation};
use crate::problem::{Problem, ProblemCode};
use crate::roster::TownshipKind;
use serde::{Deserialize, Serialize};
use specta::Type;
use std::collections::{BTreeMap, BTreeSet};

/// The default group of a 街道.
pub const SUBDISTRICT_GROUP: &str = "街道组";
/// The default group of every other kind (镇, 乡, 民族乡).
pub const TOWN_GROUP: &str = "乡镇组";
/// Longest group name or band label, in characters.
pub const MAX_LABEL_CHARS: usize = 20;
/// Longest 依据 of an organiser adjustment, in characters.
pub const MAX_BASIS_CHARS: usize = 200;
/// Largest organiser adjustment either way, in tenths (±100.0 points).
pub const MAX_ADJUSTMENT_TENTHS: i32 = 1000;

/// The group a township is ranked in: its assignment, or the default from its kind when blank.
pub fn group_of(kind: TownshipKind, eval_group: &str) -> String {
    let g = eval_group.trim();
    if !g.is_empty() {
        g.to_string()
    } else if kind == TownshipKind::Subdistrict {
        SUBDISTRICT_GROUP.to_string()
    } else {
        TOWN_GROUP.to_string()
    }
}

/// How results are grouped, blended and banded; one JSON object kept on the hub.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(deny_unknown_fields)]
pub struct ResultsSettings {
    /// The groups in print order, each with its bands. A group a township is assigned to but
    /// not listed here is printed after these, without bands.
    pub groups: Vec<GroupSettings>,
    /// The blend with the routine assessment; `None`: the final is the 观摩 score.
    pub blend: Option<Blend>,
}

impl Default for ResultsSettings {
    /// 乡镇组 then 街道组, no bands, no blend.
    fn default() -> Self {
        Self {
            groups: vec![
                GroupSettings {
                    name: TOWN_GROUP.to_string(),
                    bands: Vec::new(),
                },
                GroupSettings {
                    name: SUBDISTRICT_GROUP.to_string(),
                    bands: Vec::new(),
                },
            ],
            blend: None,
        }
    }
}

/// One 评比组 and the bands its notice names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(deny_unknown_fields)]
pub struct GroupSettings {
    /// Name such as 乡镇组.
    pub name: String,
    /// Bands in order; a township gets the first that applies.
    pub bands: Vec<Band>,
}

/// A label the notice gives to some ranked townships.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(deny_unknown_fields)]
pub struct Band {
    /// Such as 表扬, 表态发言, 先进.
    pub label: String,
    /// Who gets it.
    pub rule: BandRule,
}

/// Which ranked townships a band covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BandRule {
    /// Ranks `from..=to` from the top (前三名: 1–3).
    Top {
        /// First rank, ≥ 1.
        from: i32,
        /// Last rank, ≥ `from`.
        to: i32,
    },
    /// The last `count` counted from the bottom (后三名), ties at the edge included.
    Bottom {
        /// How many, ≥ 1.
        count: i32,
    },
    /// A final of at least `score` (≥ 90 先进).
    AtLeast {
        /// Threshold, 0–100, at most two decimals.
        // Exported to TypeScript as `number`, not `number | null`: always finite.
        #[specta(type = i32)]
        score: f64,
    },
}

impl BandRule {
    /// The rule in words, such as `第1–3名`, `倒数3名`, `90分及以上`.
    pub fn describe(&self) -> String {
        match self {
            BandRule::Top { from, to } if from == to => format!("第{from}名"),
            BandRule::Top { from, to } => format!("第{from}–{to}名"),
            BandRule::Bottom { count } => format!("倒数{count}名"),
            BandRule::AtLeast { score } => format!("{}分及以上", show_decimal(*score)),
        }
    }
}

/// Weights of the 观摩 score and the routine assessment in the final.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(deny_unknown_fields)]
pub struct Blend {
    /// 观摩 percent, 0–100, at most two decimals.
    // Exported to TypeScript as `number`, not `number | null`: always finite.
    #[specta(type = i32)]
    pub inspection_percent: f64,
    /// 平时考核 percent; the two sum to 100.
    // Exported to TypeScript as `number`, not `number | null`: always finite.
    #[specta(type = i32)]
    pub routine_percent: f64,
}

/// `v` in hundredths when it has at most two decimals.
pub fn hundredths(v: f64) -> Option<i64> {
    if !v.is_finite() {
        return None;
    }
    let h = (v * 100.0).round();
    if (v * 100.0 - h).abs() > 1e-6 || h.abs() > 1e12 {
        return None;
    }
    Some(h as i64)
}

fn show_decimal(v: f64) -> String {
    let s = format!("{v:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn label_problem(location: &str, label: &str, what: &str) -> Option<Problem> {
    let n = label.trim().chars().count();
    if n == 0 {
        Some(Problem::error(
            ProblemCode::Required,
            location,
            format!("{what}不能为空"),
        ))
    } else if n > MAX_LABEL_CHARS {
        Some(Problem::error(
            ProblemCode::OutOfRange,
            location,
            format!("{what}最多{MAX_LABEL_CHARS}个字,现为{n}个字"),
        ))
    } else {
        None
    }
}

impl ResultsSettings {
    /// Every problem: blank, long or repeated group names and band labels, rank ranges that
    /// do not start at 1 or run backwards, thresholds outside 0–100 or with more than two
    /// decimals, and blend weights that are negative or do not sum to 100.
    pub fn validate(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut seen = BTreeSet::new();
        for (i, g) in self.groups.iter().enumerate() {
            let at = if g.name.trim().is_empty() {
                format!("评比组 › 第{}个", i + 1)
            } else {
                format!("评比组 › {}", g.name.trim())
            };
            problems.extend(label_problem(&at, &g.name, "评比组名称"));
            if !g.name.trim().is_empty() && !seen.insert(g.name.trim()) {
                problems.push(Problem::error(
                    ProblemCode::Duplicate,
                    &at,
                    format!("评比组「{}」重复", g.name.trim()),
                ));
            }
            for (j, b) in g.bands.iter().enumerate() {
                let at = format!("{at} › 第{}档", j + 1);
                problems.extend(label_problem(&at, &b.label, "档次名称"));
                match b.rule {
                    BandRule::Top { from, to } if from < 1 || to < from => {
                        problems.push(Problem::error(
                            ProblemCode::OutOfRange,
                            &at,
                            format!("名次范围应从第1名起且不倒置,现为第{from}–{to}名"),
                        ));
                    }
                    BandRule::Bottom { count } if count < 1 => problems.push(Problem::error(
                        ProblemCode::OutOfRange,
                        &at,
                        format!("倒数名次数应至少为1,现为{count}"),
                    )),
                    BandRule::AtLeast { score }
                        if !(0.0..=100.0).contains(&score) || hundredths(score).is_none() =>
                    {
                        problems.push(Problem::error(
                            ProblemCode::OutOfRange,
                            &at,
                            format!("分数线应在0–100之间、最多两位小数,现为{score}"),
                        ));
                    }
                    _ => {}
                }
            }
        }
        if let Some(b) = &self.blend {
            let (i, r) = (
                hundredths(b.inspection_percent),
                hundredths(b.routine_percent),
            );
            match (i, r) {
                (Some(i), Some(r)) if i >= 0 && r >= 0 => {
                    if i + r != 10_000 {
                        problems.push(Problem::error(
                            ProblemCode::SumMismatch,
                            "权重",
                            format!(
                                "观摩得分与平时考核的权重合计应为100%,现为{}%",
                                show_decimal((i + r) as f64 / 100.0)
                            ),
                        ));
                    }
                }
                _ => problems.push(Problem::error(
                    ProblemCode::OutOfRange,
                    "权重",
                    format!(
                        "权重应为0–100之间、最多两位小数的数,现为观摩{}%、平时{}%",
                        b.inspection_percent, b.routine_percent
                    ),
                )),
            }
        }
        problems
    }

    /// The blend weights in basis points (观摩, 平时), when the routine assessment counts.
    fn weights(&self) -> Option<(i64, i64)> {
        let b = self.blend.as_ref()?;
        let (i, r) = (
            hundredths(b.inspection_percent)?,
            hundredths(b.routine_percent)?,
        );
        (r > 0).then_some((i, r))
    }

    /// The settings in one Chinese paragraph, printed on the 排名通报.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        match self.weights() {
            Some((i, r)) => parts.push(format!(
                "最终得分 = 观摩得分 × {}% + 平时考核得分 × {}%,保留两位小数",
                show_decimal(i as f64 / 100.0),
                show_decimal(r as f64 / 100.0)
            )),
            None => parts.push("最终得分即观摩得分".to_string()),
        }
        parts.push("组织方加减分每个乡镇(街道)只计一次,计入观摩得分".to_string());
        parts.push("各评比组分别排名,最终得分相同者名次相同".to_string());
        for g in &self.groups {
            if !g.bands.is_empty() {
                let bands: Vec<String> = g
                    .bands
                    .iter()
                    .map(|b| format!("{} {}", b.rule.describe(), b.label))
                    .collect();
                parts.push(format!("{}:{}", g.name, bands.join("、")));
            }
        }
        parts.join(";")
    }
}

/// An enabled township as results need it, in route order.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultsTownship {
    /// Township id.
    pub township_id: String,
    /// Name.
    pub name: String,
    /// Its 评比组 (see [`group_of`]).
    pub group: String,
    /// Sheets expected.
    pub expected_sheets: i32,
}

/// The results of a whole tour, one ranking per group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct GroupedResults {
    /// The aggregation rule in words (the 观摩 score).
    pub rule_summary: String,
    /// [`ResultsSettings::describe`].
    pub settings_summary: String,
    /// Whether the routine assessment counts (the 平时 column applies).
    pub blended: bool,
    /// Groups in print order; only groups with townships.
    pub groups: Vec<GroupResults>,
}

/// One group's ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct GroupResults {
    /// Group name.
    pub name: String,
    /// Its bands, as configured.
    pub bands: Vec<Band>,
    /// Ranked rows by rank (equal ranks in route order), then the unranked in route order.
    pub rows: Vec<ResultRow>,
}

/// One township's line in its group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct ResultRow {
    /// Township id.
    pub township_id: String,
    /// Name.
    pub name: String,
    /// The 观摩 score: the aggregated result plus the organiser's adjustments.
    pub inspection: Option<f64>,
    /// Sum of the organiser's adjustments, in tenths.
    pub organiser_adjustment_tenths: i32,
    /// The routine assessment score, when imported.
    pub routine: Option<f64>,
    /// What is ranked.
    pub final_score: Option<f64>,
    /// Competition rank inside the group.
    pub rank: Option<i32>,
    /// Another township of the group has the same rank.
    pub shared_rank: bool,
    /// The first band that applies.
    pub band: Option<String>,
    /// Why the township is not ranked.
    pub unranked_reason: Option<String>,
    /// How the final follows from the printed figures, in one line.
    pub arithmetic: String,
    /// The standing within the group (marks, trims, tie note) for the explanation.
    pub standing: Standing,
}

/// An organiser adjustment (组织方加减分) as kept on the hub: added once to the township's 观摩
/// score, never averaged over scorers; removal keeps the record with who, when and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct OrganiserAdjustment {
    /// UUIDv7.
    pub id: String,
    /// Township.
    pub township_id: String,
    /// Signed tenths: a bonus is positive, a penalty negative, never zero.
    pub tenths: i32,
    /// 依据, such as 获省级表彰.
    pub basis: String,
    /// A photo (hash in the photo store) of the document, if attached.
    pub attachment_hash: Option<String>,
    /// When entered (RFC 3339).
    pub created_at: String,
    /// Who entered it.
    pub created_by: String,
    /// When removed; a removed adjustment no longer counts.
    pub removed_at: Option<String>,
    /// Who removed it.
    pub removed_by: Option<String>,
    /// Why.
    pub removed_reason: Option<String>,
}

/// One organiser adjustment as it counts.
#[derive(Debug, Clone, PartialEq)]
pub struct AdjustmentAmount {
    /// Township id.
    pub township_id: String,
    /// Signed tenths.
    pub tenths: i32,
}

/// Half away from zero of `num / den`, `den > 0`.
fn round_div(num: i128, den: i128) -> i128 {
    let q = (num.abs() * 2 + den) / (den * 2);
    if num < 0 {
        -q
    } else {
        q
    }
}

fn h2(h: i64) -> f64 {
    h as f64 / 100.0
}

fn show_h(h: i64) -> String {
    format!("{:.2}", h2(h))
}

fn show_tenths(t: i32) -> String {
    format!("{:.1}", f64::from(t) / 10.0)
}

/// The 观摩 part of the arithmetic line, from how the standing used each mark.
fn standing_arithmetic(s: &Standing) -> String {
    let kept = |group: Option<&str>| -> Vec<String> {
        s.marks
            .iter()
            .filter(|m| m.counted && m.trimmed.is_none())
            .filter(|m| group.is_none_or(|g| m.group == g))
            .map(|m| format!("{:.1}", m.base))
            .collect()
    };
    let mut out = if s.groups.len() <= 1 {
        let k = kept(None);
        format!(
            "({})/{} = {:.2}",
            k.join("+"),
            k.len(),
            s.base_aggregate.unwrap_or_default()
        )
    } else {
        let parts: Vec<String> = s
            .groups
            .iter()
            .map(|g| {
                let k = kept(Some(&g.group));
                format!(
                    "{} ({})/{} = {:.2} × {}%",
                    g.group,
                    k.join("+"),
                    k.len(),
                    g.mean.unwrap_or_default(),
                    show_decimal(g.weight_percent)
                )
            })
            .collect();
        format!(
            "{} = {:.2}",
            parts.join(" + "),
            s.base_aggregate.unwrap_or_default()
        )
    };
    if let Some(a) = s.adjustment_mean.filter(|a| *a != 0.0) {
        out.push_str(&format!(
            ";+ 评委加减分平均 {a:.2} = {:.2}",
            s.result.unwrap_or_default()
        ));
    }
    out
}

/// Ranks every township inside its group. `townships` are the enabled townships in route
/// order; sheets of other townships are ignored. `routine` maps township ids to hundredths.
pub fn compute(
    townships: &[ResultsTownship],
    sheets: &[SheetScore],
    rule: &AggregationRule,
    adjustments: &[AdjustmentAmount],
    routine: &BTreeMap<String, i32>,
    settings: &ResultsSettings,
) -> GroupedResults {
    // Group order: as configured, then groups first met on the route.
    let mut order: Vec<String> = Vec::new();
    for g in &settings.groups {
        if !order.contains(&g.name) {
            order.push(g.name.clone());
        }
    }
    for t in townships {
        if !order.contains(&t.group) {
            order.push(t.group.clone());
        }
    }
    let mut adj: BTreeMap<&str, i32> = BTreeMap::new();
    for a in adjustments {
        let e = adj.entry(a.township_id.as_str()).or_default();
        *e = e.saturating_add(a.tenths);
    }
    let weights = settings.weights();
    let groups = order
        .iter()
        .filter_map(|name| {
            let members: Vec<&ResultsTownship> =
                townships.iter().filter(|t| &t.group == name).collect();
            if members.is_empty() {
                return None;
            }
            let bands = settings
                .groups
                .iter()
                .find(|g| &g.name == name)
                .map(|g| g.bands.clone())
                .unwrap_or_default();
            let rows = group_rows(&members, sheets, rule, &adj, routine, weights, &bands);
            Some(GroupResults {
                name: name.clone(),
                bands,
                rows,
            })
        })
        .collect();
    GroupedResults {
        rule_summary: rule.describe(),
        settings_summary: settings.describe(),
        blended: weights.is_some(),
        groups,
    }
}

/// A row on its way: final in hundredths, the group-internal aggregate rank, route index.
struct Pending {
    row: ResultRow,
    final_h: Option<i64>,
    result_h: Option<i64>,
    agg_rank: i32,
    route: usize,
}

fn group_rows(
    members: &[&ResultsTownship],
    sheets: &[SheetScore],
    rule: &AggregationRule,
    adj: &BTreeMap<&str, i32>,
    routine: &BTreeMap<String, i32>,
    weights: Option<(i64, i64)>,
    bands: &[Band],
) -> Vec<ResultRow> {
    let expectations: Vec<TownshipExpectation> = members
        .iter()
        .map(|t| TownshipExpectation {
            township_id: t.township_id.clone(),
            expected_sheets: t.expected_sheets,
        })
        .collect();
    let ids: BTreeSet<&str> = members.iter().map(|t| t.township_id.as_str()).collect();
    let own: Vec<SheetScore> = sheets
        .iter()
        .filter(|s| ids.contains(s.township_id.as_str()))
        .cloned()
        .collect();
    let standings = aggregation::aggregate(&expectations, &own, rule);
    let mut pending: Vec<Pending> = Vec::new();
    let mut seen = BTreeSet::new();
    for (route, t) in members.iter().enumerate() {
        if !seen.insert(t.township_id.as_str()) {
            continue;
        }
        let Some(standing) = standings
            .rows
            .iter()
            .find(|s| s.township_id == t.township_id)
        else {
            continue;
        };
        let org = adj.get(t.township_id.as_str()).copied().unwrap_or(0);
        let routine_h = routine.get(&t.township_id).map(|&h| i64::from(h));
        let result_h = standing.result.and_then(hundredths);
        let inspection_h = result_h.map(|r| r + i64::from(org) * 10);
        let mut reason =
            (standing.rank.is_none() || result_h.is_none()).then(|| standing.status.message());
        let mut arithmetic = String::new();
        let final_h = match (inspection_h, weights) {
            (None, _) => None,
            (Some(i), None) => Some(i),
            (Some(i), Some((wi, wr))) => match routine_h {
                Some(r) => Some(round_div(
                    i128::from(i) * i128::from(wi) + i128::from(r) * i128::from(wr),
                    10_000,
                ) as i64),
                None => {
                    reason = Some("缺少平时考核得分,暂不计算最终得分".to_string());
                    None
                }
            },
        };
        if let Some(i) = inspection_h {
            arithmetic = standing_arithmetic(standing);
            if org != 0 {
                arithmetic.push_str(&format!(
                    ";{} 组织方加减分 {} = {}",
                    if org > 0 { "+" } else { "−" },
                    show_tenths(org.abs()),
                    show_h(i)
                ));
            }
            if let (Some((wi, wr)), Some(r), Some(f)) = (weights, routine_h, final_h) {
                arithmetic.push_str(&format!(
                    ";× {}% + 平时 {} × {}% = {}",
                    show_decimal(wi as f64 / 100.0),
                    show_h(r),
                    show_decimal(wr as f64 / 100.0),
                    show_h(f)
                ));
            }
        } else if let Some(r) = &reason {
            arithmetic = r.clone();
        }
        pending.push(Pending {
            row: ResultRow {
                township_id: t.township_id.clone(),
                name: t.name.clone(),
                inspection: inspection_h.map(h2),
                organiser_adjustment_tenths: org,
                routine: routine_h.map(h2),
                final_score: final_h.map(h2),
                rank: None,
                shared_rank: false,
                band: None,
                unranked_reason: if final_h.is_some() { None } else { reason },
                arithmetic,
                standing: standing.clone(),
            },
            final_h,
            result_h,
            agg_rank: standing.rank.unwrap_or(i32::MAX),
            route,
        });
    }
    rank(&mut pending);
    apply_bands(&mut pending, bands);
    pending.sort_by(|a, b| match (a.row.rank, b.row.rank) {
        (Some(x), Some(y)) => x.cmp(&y).then(a.route.cmp(&b.route)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.route.cmp(&b.route),
    });
    pending.into_iter().map(|p| p.row).collect()
}

/// Competition ranks on the final. Equal finals share a rank, except when they also have the
/// same 观摩 result: then the rule's own tie-breaks (the aggregate's order) decide.
fn rank(pending: &mut [Pending]) {
    let mut ranked: Vec<usize> = (0..pending.len())
        .filter(|&i| pending[i].final_h.is_some())
        .collect();
    ranked.sort_by(|&a, &b| {
        pending[b]
            .final_h
            .cmp(&pending[a].final_h)
            .then(pending[a].agg_rank.cmp(&pending[b].agg_rank))
            .then(pending[a].route.cmp(&pending[b].route))
    });
    let mut start = 0;
    while start < ranked.len() {
        let f = pending[ranked[start]].final_h;
        let end = start
            + ranked[start..]
                .iter()
                .take_while(|&&i| pending[i].final_h == f)
                .count();
        let run = &ranked[start..end];
        let same_result = run
            .iter()
            .all(|&i| pending[i].result_h == pending[run[0]].result_h);
        for &i in run {
            let r = if same_result {
                let better = run
                    .iter()
                    .filter(|&&j| pending[j].agg_rank < pending[i].agg_rank)
                    .count();
                start + better + 1
            } else {
                start + 1
            };
            pending[i].row.rank = Some(i32::try_from(r).unwrap_or(i32::MAX));
        }
        start = end;
    }
    for &i in &ranked {
        let r = pending[i].row.rank;
        pending[i].row.shared_rank = ranked.iter().any(|&j| j != i && pending[j].row.rank == r);
    }
}

fn apply_bands(pending: &mut [Pending], bands: &[Band]) {
    let ranks: Vec<i32> = pending.iter().filter_map(|p| p.row.rank).collect();
    for p in pending.iter_mut() {
        let Some(r) = p.row.rank else { continue };
        // The competition rank counted from the bottom: 1 + how many are ranked below.
        let from_bottom = 1 + ranks.iter().filter(|&&o| o > r).count() as i32;
        p.row.band = bands
            .iter()
            .find(|b| match b.rule {
                BandRule::Top { from, to } => (from..=to).contains(&r),
                BandRule::Bottom { count } => from_bottom <= count,
                BandRule::AtLeast { score } => match (hundredths(score), p.final_h) {
                    (Some(s), Some(f)) => f >= s,
                    _ => false,
                },
            })
            .map(|b| b.label.clone());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use proptest::prelude::*;

    fn sheet(township: &str, scorer: usize, base: i32, adj: i32) -> SheetScore {
        SheetScore {
            sheet_id: format!("{township}-{scorer}"),
            scorer_id: format!("s{scorer}"),
            scorer_name: format!("评委{scorer}"),
            group: "评委".to_string(),
            township_id: township.to_string(),
            base_tenths: base,
            adjustment_tenths: adj,
            category_tenths: Vec::new(),
        }
    }

    fn town(id: &str, group: &str, expected: i32) -> ResultsTownship {
        ResultsTownship {
            township_id: id.to_string(),
            name: format!("{id}镇"),
            group: group.to_string(),
            expected_sheets: expected,
        }
    }

    fn row<'a>(r: &'a GroupedResults, id: &str) -> &'a ResultRow {
        r.groups
            .iter()
            .flat_map(|g| &g.rows)
            .find(|x| x.township_id == id)
            .unwrap()
    }

    #[test]
    fn defaults_put_subdistricts_in_their_own_group_and_an_assignment_wins() {
        assert_eq!(group_of(TownshipKind::Subdistrict, ""), "街道组");
        assert_eq!(group_of(TownshipKind::EthnicTownship, " "), "乡镇组");
        assert_eq!(group_of(TownshipKind::Town, "示范组"), "示范组");
    }

    #[test]
    fn a_worked_blend_adds_the_organiser_adjustment_once_and_bands_by_rank_and_score() {
        // By hand, trim 1 of 3 marks each, so the middle mark is the 观摩 result:
        // a: 86.1 85.0 84.0 → 85.00; +1.0 organiser → 86.00; ×60% + 90.00×40% = 51.6+36 = 87.60
        // b: 80.0 82.0 81.0 → 81.00; ×60% + 95.00×40% = 48.6+38 = 86.60
        // c: 70.0 72.0 71.0 → 71.00; −2.0 → 69.00; ×60% + 80.00×40% = 41.4+32 = 73.40
        let towns = [
            town("a", "乡镇组", 3),
            town("b", "乡镇组", 3),
            town("c", "乡镇组", 3),
        ];
        let mut sheets = Vec::new();
        for (t, marks) in [
            ("a", [861, 850, 840]),
            ("b", [800, 820, 810]),
            ("c", [700, 720, 710]),
        ] {
            for (i, m) in marks.into_iter().enumerate() {
                sheets.push(sheet(t, i, m, 0));
            }
        }
        let adjustments = [
            AdjustmentAmount {
                township_id: "a".into(),
                tenths: 10,
            },
            AdjustmentAmount {
                township_id: "c".into(),
                tenths: -20,
            },
        ];
        let routine: BTreeMap<String, i32> = [
            ("a".to_string(), 9000),
            ("b".to_string(), 9500),
            ("c".to_string(), 8000),
        ]
        .into();
        let settings = ResultsSettings {
            groups: vec![GroupSettings {
                name: "乡镇组".into(),
                bands: vec![
                    Band {
                        label: "表扬".into(),
                        rule: BandRule::Top { from: 1, to: 1 },
                    },
                    Band {
                        label: "表态发言".into(),
                        rule: BandRule::Bottom { count: 1 },
                    },
                    Band {
                        label: "良好".into(),
                        rule: BandRule::AtLeast { score: 80.0 },
                    },
                ],
            }],
            blend: Some(Blend {
                inspection_percent: 60.0,
                routine_percent: 40.0,
            }),
        };
        let r = compute(
            &towns,
            &sheets,
            &AggregationRule::default(),
            &adjustments,
            &routine,
            &settings,
        );
        assert_eq!(r.groups.len(), 1);
        let a = row(&r, "a");
        assert_eq!(
            (a.inspection, a.final_score, a.rank),
            (Some(86.0), Some(87.6), Some(1))
        );
        assert_eq!(a.band.as_deref(), Some("表扬"));
        assert_eq!(
            a.arithmetic,
            "(85.0)/1 = 85.00;+ 组织方加减分 1.0 = 86.00;× 60% + 平时 90.00 × 40% = 87.60"
        );
        let b = row(&r, "b");
        assert_eq!(
            (b.final_score, b.rank, b.band.as_deref()),
            (Some(86.6), Some(2), Some("良好"))
        );
        let c = row(&r, "c");
        assert_eq!(
            (c.inspection, c.final_score, c.rank),
            (Some(69.0), Some(73.4), Some(3))
        );
        assert_eq!(c.band.as_deref(), Some("表态发言"));
        assert!(
            c.arithmetic.contains("− 组织方加减分 2.0 = 69.00"),
            "{}",
            c.arithmetic
        );
        assert!(r.settings_summary.contains("60%"), "{}", r.settings_summary);
    }

    #[test]
    fn a_missing_routine_score_leaves_the_township_unranked_with_its_reason() {
        let towns = [town("a", "乡镇组", 1), town("b", "乡镇组", 0)];
        let sheets = [sheet("a", 0, 800, 0)];
        let settings = ResultsSettings {
            blend: Some(Blend {
                inspection_percent: 50.0,
                routine_percent: 50.0,
            }),
            ..ResultsSettings::default()
        };
        let rule = AggregationRule {
            trim_k: 0,
            ..AggregationRule::default()
        };
        let r = compute(&towns, &sheets, &rule, &[], &BTreeMap::new(), &settings);
        let a = row(&r, "a");
        assert_eq!(a.rank, None);
        assert_eq!(a.inspection, Some(80.0));
        assert!(a.unranked_reason.as_deref().unwrap().contains("平时考核"));
        let b = row(&r, "b");
        assert!(b.unranked_reason.as_deref().unwrap().contains("尚无"));
    }

    #[test]
    fn equal_finals_share_a_rank_and_bottom_bands_include_ties_at_the_edge() {
        let towns = [
            town("a", "g", 1),
            town("b", "g", 1),
            town("c", "g", 1),
            town("d", "g", 1),
        ];
        let sheets = [
            sheet("a", 0, 900, 0),
            sheet("b", 0, 800, 0),
            sheet("c", 0, 800, 0),
            sheet("d", 0, 700, 0),
        ];
        let settings = ResultsSettings {
            groups: vec![GroupSettings {
                name: "g".into(),
                bands: vec![Band {
                    label: "后二".into(),
                    rule: BandRule::Bottom { count: 2 },
                }],
            }],
            blend: None,
        };
        let rule = AggregationRule {
            trim_k: 0,
            ..AggregationRule::default()
        };
        let r = compute(&towns, &sheets, &rule, &[], &BTreeMap::new(), &settings);
        let ranks: Vec<_> = r.groups[0]
            .rows
            .iter()
            .map(|x| (x.township_id.as_str(), x.rank, x.band.clone()))
            .collect();
        assert_eq!(
            ranks,
            vec![
                ("a", Some(1), None),
                ("b", Some(2), Some("后二".to_string())),
                ("c", Some(2), Some("后二".to_string())),
                ("d", Some(4), Some("后二".to_string())),
            ]
        );
        assert!(row(&r, "b").shared_rank);
    }

    #[test]
    fn settings_refuse_weights_not_summing_to_100_and_bad_bands() {
        let s = ResultsSettings {
            groups: vec![
                GroupSettings {
                    name: "乡镇组".into(),
                    bands: vec![
                        Band {
                            label: "".into(),
                            rule: BandRule::Top { from: 0, to: 3 },
                        },
                        Band {
                            label: "先进".into(),
                            rule: BandRule::AtLeast { score: 90.123 },
                        },
                    ],
                },
                GroupSettings {
                    name: "乡镇组".into(),
                    bands: vec![],
                },
            ],
            blend: Some(Blend {
                inspection_percent: 60.0,
                routine_percent: 30.0,
            }),
        };
        let codes: Vec<ProblemCode> = s.validate().into_iter().map(|p| p.code).collect();
        assert!(codes.contains(&ProblemCode::SumMismatch));
        assert!(codes.contains(&ProblemCode::Duplicate));
        assert!(codes.contains(&ProblemCode::Required));
        assert_eq!(
            codes
                .iter()
                .filter(|c| **c == ProblemCode::OutOfRange)
                .count(),
            2
        );
        assert!(ResultsSettings::default().validate().is_empty());
    }

    // ---- properties ----

    /// Townships t0..n with 3–5 sheets each and a group among 甲/乙/丙.
    fn tour() -> impl Strategy<Value = (Vec<ResultsTownship>, Vec<SheetScore>)> {
        (2usize..8).prop_flat_map(|n| {
            (
                proptest::collection::vec(0usize..3, n),
                proptest::collection::vec(
                    proptest::collection::vec((500i32..1000, -10i32..10), 3..6),
                    n,
                ),
            )
                .prop_map(move |(groups, marks)| {
                    let names = ["甲", "乙", "丙"];
                    let towns: Vec<ResultsTownship> = (0..n)
                        .map(|i| town(&format!("t{i}"), names[groups[i]], marks[i].len() as i32))
                        .collect();
                    let sheets = marks
                        .iter()
                        .enumerate()
                        .flat_map(|(i, ms)| {
                            ms.iter()
                                .enumerate()
                                .map(move |(s, &(b, a))| sheet(&format!("t{i}"), s, b, a))
                        })
                        .collect();
                    (towns, sheets)
                })
        })
    }

    fn ranking(r: &GroupedResults, group: &str) -> Vec<(String, Option<i32>, Option<f64>)> {
        r.groups
            .iter()
            .find(|g| g.name == group)
            .map(|g| {
                g.rows
                    .iter()
                    .map(|x| (x.township_id.clone(), x.rank, x.final_score))
                    .collect()
            })
            .unwrap_or_default()
    }

    proptest! {
        #[test]
        fn moving_a_township_changes_only_the_two_groups_involved(
            (towns, sheets) in tour(),
            pick in 0usize..8,
            to in 0usize..3,
            adj in -30i32..30,
        ) {
            let names = ["甲", "乙", "丙"];
            let pick = pick % towns.len();
            let mut moved = towns.clone();
            let from = moved[pick].group.clone();
            moved[pick].group = names[to].to_string();
            let adjustments = [AdjustmentAmount { township_id: towns[0].township_id.clone(), tenths: adj.max(1) }];
            let routine: BTreeMap<String, i32> = towns.iter().enumerate().map(|(i, t)| (t.township_id.clone(), 5000 + i as i32 * 37)).collect();
            let settings = ResultsSettings {
                groups: names.iter().map(|n| GroupSettings { name: n.to_string(), bands: vec![] }).collect(),
                blend: Some(Blend { inspection_percent: 70.0, routine_percent: 30.0 }),
            };
            let rule = AggregationRule::default();
            let before = compute(&towns, &sheets, &rule, &adjustments, &routine, &settings);
            let after = compute(&moved, &sheets, &rule, &adjustments, &routine, &settings);
            for g in names {
                if g != from && g != names[to] {
                    prop_assert_eq!(ranking(&before, g), ranking(&after, g));
                }
            }
            // The township's own final does not depend on its group.
            let id = &towns[pick].township_id;
            prop_assert_eq!(row(&before, id).final_score, row(&after, id).final_score);
        }

        #[test]
        fn an_organiser_adjustment_counts_once_whatever_the_number_of_scorers(
            base in 500i32..1000,
            sheet_adj in -10i32..10,
            scorers in 3usize..6,
            extra in 0usize..5,
            org in prop_oneof![-50i32..-1, 1i32..50],
        ) {
            let settings = ResultsSettings::default();
            let adjustments = [AdjustmentAmount { township_id: "a".into(), tenths: org }];
            let run = |n: usize| {
                let sheets: Vec<SheetScore> = (0..n).map(|s| sheet("a", s, base, sheet_adj)).collect();
                compute(&[town("a", "乡镇组", n as i32)], &sheets, &AggregationRule::default(), &adjustments, &BTreeMap::new(), &settings)
            };
            let few = row(&run(scorers), "a").final_score;
            let many = row(&run(scorers + extra), "a").final_score;
            prop_assert_eq!(few, many);
            let expected = f64::from(base + sheet_adj + org) / 10.0;
            prop_assert!((few.unwrap() - expected).abs() < 1e-9, "{:?} vs {}", few, expected);
        }

        #[test]
        fn blend_weights_100_0_give_the_inspection_score((towns, sheets) in tour(), adj in -30i32..30) {
            let adjustments = [AdjustmentAmount { township_id: towns[0].township_id.clone(), tenths: adj }];
            let routine: BTreeMap<String, i32> = towns.iter().map(|t| (t.township_id.clone(), 1234)).collect();
            let settings = ResultsSettings {
                blend: Some(Blend { inspection_percent: 100.0, routine_percent: 0.0 }),
                ..ResultsSettings::default()
            };
            let r = compute(&towns, &sheets, &AggregationRule::default(), &adjustments, &routine, &settings);
            prop_assert!(!r.blended);
            for g in &r.groups {
                for x in &g.rows {
                    prop_assert_eq!(x.final_score, x.inspection);
                }
            }
        }

        #[test]
        fn ranks_in_every_group_are_a_competition_ranking((towns, sheets) in tour()) {
            let r = compute(&towns, &sheets, &AggregationRule::default(), &[], &BTreeMap::new(), &ResultsSettings::default());
            for g in &r.groups {
                let ranked: Vec<(i32, f64)> = g.rows.iter().filter_map(|x| Some((x.rank?, x.final_score?))).collect();
                for (i, (rank, score)) in ranked.iter().enumerate() {
                    let higher = ranked.iter().filter(|(_, s)| s > score).count() as i32;
                    prop_assert!(*rank > higher && *rank as usize <= i + 1, "{ranked:?}");
                }
            }
        }
    }
}
