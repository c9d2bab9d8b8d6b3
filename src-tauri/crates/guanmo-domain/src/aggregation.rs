//! Ranking (排名): turns the submitted score sheets of every township into one standing per
//! township under an `AggregationRule` (trimmed mean, optional weighted blend of scorer groups,
//! 加减分项, tie-breaks, embargo, optional per-scorer z-scores shown beside the raw result).
//! Invariant: every listed township appears exactly once, the output depends only on the
//! inputs (never on their order), and what is ranked is the result rounded to two decimals,
//! computed with exact integer arithmetic so a half is never lost to floating point.

use crate::problem::{Problem, ProblemCode};
use serde::{Deserialize, Serialize};
use specta::Type;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

/// Name of the single group used when the rule lists no group weights.
pub const POOLED_GROUP: &str = "全部";

/// How a township's result is computed; configurable per tour; printed on every export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(deny_unknown_fields)]
pub struct AggregationRule {
    /// How many highest and how many lowest base marks are dropped (去掉最高分、最低分);
    /// 0 is the plain mean. Applied inside each group when groups are weighted.
    pub trim_k: i32,
    /// Empty: every sheet is pooled. Otherwise the base result is the weighted blend of the
    /// listed groups' trimmed means; sheets of groups not listed are not counted at all.
    pub group_weights: Vec<GroupWeight>,
    /// Also compute the result on per-scorer z-scores, shown beside the raw result and never
    /// replacing it.
    pub normalize: bool,
    /// Compared in order when rounded results are equal (higher wins); still tied means a
    /// shared rank.
    pub tie_breaks: Vec<TieBreak>,
    /// Hide a township's result until all its expected sheets are submitted.
    pub embargo: bool,
}

impl Default for AggregationRule {
    /// The usual rule: drop one highest and one lowest mark, pool everyone, no tie-breaks.
    fn default() -> Self {
        Self {
            trim_k: 1,
            group_weights: Vec::new(),
            normalize: false,
            tie_breaks: Vec::new(),
            embargo: false,
        }
    }
}

/// The weight of one scorer group (such as 市领导 or 乡镇互评) in a weighted blend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(deny_unknown_fields)]
pub struct GroupWeight {
    /// The group name, matched exactly against `SheetScore::group`.
    pub group: String,
    /// Percent, positive, at most two decimals; the weights of a rule sum to 100.
    // Exported to TypeScript as `number`, not `number | null`: always finite.
    #[specta(type = i32)]
    pub weight_percent: f64,
}

/// One way to separate townships whose rounded results are equal; the higher value wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TieBreak {
    /// The mean subtotal of one category (such as 基层党建) over the counted sheets.
    CategorySubtotal {
        /// The rubric category id, matched against `CategoryTenths::category_id`.
        category_id: String,
        /// The category name, used in descriptions and notes.
        category_name: String,
    },
    /// The plain mean of base plus adjustment over the counted sheets, nothing dropped.
    UntrimmedMean,
}

impl TieBreak {
    /// The name of the compared value, in Chinese.
    pub fn label(&self) -> String {
        match self {
            TieBreak::CategorySubtotal { category_name, .. } => format!("{category_name}小计"),
            TieBreak::UntrimmedMean => "未去分平均分".to_string(),
        }
    }
}

/// One submitted sheet reduced to what ranking needs (only submitted sheets are passed in).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct SheetScore {
    /// The sheet id.
    pub sheet_id: String,
    /// Who scored.
    pub scorer_id: String,
    /// The scorer's name, for display.
    pub scorer_name: String,
    /// The scorer's group (such as 市领导); ignored when the rule pools everyone.
    pub group: String,
    /// The township scored.
    pub township_id: String,
    /// Sum of criterion marks, in tenths of a point.
    pub base_tenths: i32,
    /// Bonus minus penalty (加减分项), in tenths of a point.
    pub adjustment_tenths: i32,
    /// Per-category subtotals, in tenths of a point.
    pub category_tenths: Vec<CategoryTenths>,
}

/// The subtotal of one category on one sheet.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Type)]
pub struct CategoryTenths {
    /// The rubric category id.
    pub category_id: String,
    /// The subtotal, in tenths of a point.
    pub tenths: i32,
}

/// A township to rank and how many sheets it should receive; passed in route order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct TownshipExpectation {
    /// The township id.
    pub township_id: String,
    /// How many sheets are expected (scorers minus those who abstain, 回避).
    pub expected_sheets: i32,
}

/// The ranking of a whole tour under one rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Standings {
    /// `AggregationRule::describe()` of the rule used, printed with every export.
    pub rule_summary: String,
    /// Ranked townships by rank (equal ranks in route order), then the unranked in route order.
    pub rows: Vec<Standing>,
}

/// One township's place in the standings and how it was computed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Standing {
    /// The township id.
    pub township_id: String,
    /// Ranked, or why not.
    pub status: StandingStatus,
    /// Competition rank (1, 2, 2, 4) when ranked.
    pub rank: Option<i32>,
    /// True when another township has the same rank.
    pub shared_rank: bool,
    /// The ranked value: base aggregate plus mean adjustment, rounded half away from zero to
    /// two decimals (Excel's ROUND).
    pub result: Option<f64>,
    /// Trimmed (and, with weights, blended) mean of base totals, unrounded.
    pub base_aggregate: Option<f64>,
    /// Mean adjustment over all counted sheets; 加减分项 are never trimmed.
    pub adjustment_mean: Option<f64>,
    /// Plain mean of base plus adjustment over all counted sheets (sheets of groups the rule
    /// does not list are excluded here too).
    pub untrimmed_mean: Option<f64>,
    /// The same trimming and blending applied to per-scorer z-scores of the base totals, no
    /// adjustment, rounded to three decimals; only when the rule asks for it.
    pub normalized: Option<f64>,
    /// Competition rank of `normalized` among the townships that have one (no tie-breaks).
    pub normalized_rank: Option<i32>,
    /// Sheets submitted for this township, whatever their group.
    pub submitted: i32,
    /// Sheets expected.
    pub expected: i32,
    /// One entry per weighted group in rule order, or one pooled `全部` entry; empty while
    /// embargoed.
    pub groups: Vec<GroupResult>,
    /// Every submitted sheet, high to low; empty while embargoed so nothing gives the result
    /// away.
    pub marks: Vec<MarkUse>,
    /// How an equal rounded result was settled, such as
    /// `与第4名得分同为85.33,按基层党建小计(18.5 比 17.0)决出先后` or `并列第3名`.
    pub tie_note: Option<String>,
}

/// Whether a township is ranked, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StandingStatus {
    /// Has a result and a rank.
    Ranked,
    /// No sheet submitted yet.
    NoSheets,
    /// A group (or the pool, `group: None`) has fewer sheets than trimming needs (2k+1).
    TooFewSheets {
        /// Sheets in that group.
        have: i32,
        /// Sheets needed.
        need: i32,
        /// The group, or `None` when everyone is pooled.
        group: Option<String>,
    },
    /// The rule embargoes results and some expected sheets are missing.
    Embargoed {
        /// Sheets submitted.
        submitted: i32,
        /// Sheets expected.
        expected: i32,
    },
}

impl StandingStatus {
    /// The status in words, in Chinese, for the standings table.
    pub fn message(&self) -> String {
        match self {
            StandingStatus::Ranked => "已排名".to_string(),
            StandingStatus::NoSheets => "尚无已提交的评分表".to_string(),
            StandingStatus::TooFewSheets { have, need, group } => {
                let who = match group {
                    Some(g) => format!("「{g}」组"),
                    None => String::new(),
                };
                format!("{who}仅有{have}份评分表,去掉最高分和最低分至少需要{need}份,暂不计算得分")
            }
            StandingStatus::Embargoed {
                submitted,
                expected,
            } => format!("已提交{submitted}份,共{expected}份;全部提交后公布得分"),
        }
    }
}

/// One group's share of a township's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct GroupResult {
    /// The group name (`全部` when pooled).
    pub group: String,
    /// Its weight in percent (100 when pooled).
    // Exported to TypeScript as `number`, not `number | null`: always finite.
    #[specta(type = i32)]
    pub weight_percent: f64,
    /// Sheets of this group for the township, trimmed ones included.
    pub counted: i32,
    /// How many of those had their base mark dropped (2k once there are enough).
    pub trimmed: i32,
    /// Mean of the remaining base marks, when there are enough sheets.
    pub mean: Option<f64>,
}

/// How one submitted sheet was used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct MarkUse {
    /// The sheet id.
    pub sheet_id: String,
    /// Who scored.
    pub scorer_id: String,
    /// The scorer's name.
    pub scorer_name: String,
    /// The scorer's group.
    pub group: String,
    /// Base total in points.
    // Exported to TypeScript as `number`, not `number | null`: always finite.
    #[specta(type = i32)]
    pub base: f64,
    /// Adjustment in points.
    // Exported to TypeScript as `number`, not `number | null`: always finite.
    #[specta(type = i32)]
    pub adjustment: f64,
    /// Set when the base mark was dropped as one of the k highest or lowest.
    pub trimmed: Option<TrimSide>,
    /// False when the sheet's group is not listed in the rule's weights.
    pub counted: bool,
    /// The scorer's z-score of this base total, when the rule normalizes.
    pub z: Option<f64>,
}

/// Which end a dropped mark came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum TrimSide {
    /// One of the k highest.
    High,
    /// One of the k lowest.
    Low,
}

impl AggregationRule {
    /// Every problem with the rule: a negative k, empty or repeated groups, weights that are
    /// not positive, have more than two decimals or do not sum to 100, incomplete tie-breaks.
    pub fn validate(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        if self.trim_k < 0 {
            problems.push(Problem::error(
                ProblemCode::OutOfRange,
                "去掉最高分和最低分的个数",
                format!("去掉最高分和最低分的个数不能为负数,现为{}", self.trim_k),
            ));
        }
        let mut seen = BTreeSet::new();
        let mut all_exact = true;
        let mut sum_basis_points: i64 = 0;
        for (i, gw) in self.group_weights.iter().enumerate() {
            let location = if gw.group.trim().is_empty() {
                format!("评分组权重 › 第{}个", i + 1)
            } else {
                format!("评分组权重 › {}", gw.group)
            };
            if gw.group.trim().is_empty() {
                problems.push(Problem::error(
                    ProblemCode::Required,
                    &location,
                    "评分组名称不能为空",
                ));
            } else if !seen.insert(gw.group.as_str()) {
                problems.push(Problem::error(
                    ProblemCode::Duplicate,
                    &location,
                    format!("评分组「{}」重复出现,每个组只能设置一次权重", gw.group),
                ));
            }
            if !gw.weight_percent.is_finite() || gw.weight_percent <= 0.0 {
                all_exact = false;
                problems.push(Problem::error(
                    ProblemCode::OutOfRange,
                    &location,
                    format!("权重应大于0,现为{}", gw.weight_percent),
                ));
            } else {
                match basis_points(gw.weight_percent) {
                    Some(bp) => sum_basis_points += bp,
                    None => {
                        all_exact = false;
                        problems.push(Problem::error(
                            ProblemCode::Invalid,
                            &location,
                            format!("权重最多保留两位小数,现为{}", gw.weight_percent),
                        ));
                    }
                }
            }
        }
        if all_exact && !self.group_weights.is_empty() && sum_basis_points != 10_000 {
            problems.push(Problem::error(
                ProblemCode::SumMismatch,
                "评分组权重",
                format!(
                    "各评分组权重合计应为100%,现为{}%",
                    show_basis_points(sum_basis_points)
                ),
            ));
        }
        let mut seen_breaks = BTreeSet::new();
        for (i, tb) in self.tie_breaks.iter().enumerate() {
            let location = format!("并列比较 › 第{}项", i + 1);
            if let TieBreak::CategorySubtotal { category_id, .. } = tb {
                if category_id.trim().is_empty() {
                    problems.push(Problem::error(
                        ProblemCode::Required,
                        &location,
                        "请选择用于比较的类别",
                    ));
                }
            }
            let key = match tb {
                TieBreak::CategorySubtotal { category_id, .. } => Some(category_id.as_str()),
                TieBreak::UntrimmedMean => None,
            };
            if !seen_breaks.insert(key) {
                problems.push(Problem::warning(
                    ProblemCode::Duplicate,
                    &location,
                    format!("「{}」已在前面比较过,此项不起作用", tb.label()),
                ));
            }
        }
        problems
    }

    /// The rule in one Chinese sentence, printed on every export, such as
    /// `去掉1个最高分和1个最低分后取平均分,再加上加减分项的平均值;得分保留两位小数;并列时依次比较:基层党建小计、未去分平均分;仍并列者名次相同`.
    pub fn describe(&self) -> String {
        let k = self.trim_k.max(0);
        let mean = if k == 0 {
            "取平均分".to_string()
        } else {
            format!("去掉{k}个最高分和{k}个最低分后取平均分")
        };
        let mut parts = Vec::new();
        if self.group_weights.is_empty() {
            if k == 0 {
                parts.push("取全部评分的平均分,再加上加减分项的平均值".to_string());
            } else {
                parts.push(format!("{mean},再加上加减分项的平均值"));
            }
        } else {
            let weights: Vec<String> = self
                .group_weights
                .iter()
                .map(|g| format!("{}占{}%", g.group, show_percent(g.weight_percent)))
                .collect();
            parts.push(format!(
                "按评分组加权({}),各组内{mean},未列出的评分组不计分,再加上加减分项的平均值",
                weights.join("、")
            ));
        }
        parts.push("得分保留两位小数".to_string());
        if self.tie_breaks.is_empty() {
            parts.push("得分相同者名次相同".to_string());
        } else {
            let labels: Vec<String> = self.tie_breaks.iter().map(TieBreak::label).collect();
            parts.push(format!("并列时依次比较:{}", labels.join("、")));
            parts.push("仍并列者名次相同".to_string());
        }
        if self.normalize {
            parts.push("另列按评委标准分(z分数)计算的结果,仅供参考,不替代原始得分".to_string());
        }
        if self.embargo {
            parts.push("乡镇的评分表全部提交前不公布其得分".to_string());
        }
        parts.join(";")
    }
}

/// Ranks every listed township under `rule`. Sheets of townships not listed are ignored;
/// a township listed twice is ranked once, at its first place in the route. A rule that
/// `validate` refuses still gives an answer (a negative k counts as 0, a weight that is not
/// finite as 0), so callers should validate first.
pub fn aggregate(
    townships: &[TownshipExpectation],
    sheets: &[SheetScore],
    rule: &AggregationRule,
) -> Standings {
    let k = usize::try_from(rule.trim_k).unwrap_or(0);
    let plan = GroupPlan::new(rule);

    // Route order, first occurrence wins.
    let mut route: Vec<&TownshipExpectation> = Vec::new();
    let mut index_of: BTreeMap<&str, usize> = BTreeMap::new();
    for t in townships {
        if !index_of.contains_key(t.township_id.as_str()) {
            index_of.insert(t.township_id.as_str(), route.len());
            route.push(t);
        }
    }

    // Sheets per township, in a canonical order so input order never matters.
    let mut buckets: Vec<Vec<&SheetScore>> = vec![Vec::new(); route.len()];
    for s in sheets {
        if let Some(&i) = index_of.get(s.township_id.as_str()) {
            buckets[i].push(s);
        }
    }
    for b in &mut buckets {
        b.sort_by(|a, b| sheet_order(a, b));
    }

    let z_scores = if rule.normalize {
        Some(ZScores::new(buckets.iter().flatten().copied()))
    } else {
        None
    };

    let mut evaluations: Vec<Evaluation> = route
        .iter()
        .zip(&buckets)
        .map(|(t, b)| evaluate(t, b, rule, k, &plan, z_scores.as_ref()))
        .collect();

    assign_ranks(&mut evaluations, rule);
    assign_normalized_ranks(&mut evaluations);

    let mut order: Vec<usize> = (0..evaluations.len()).collect();
    order.sort_by(|&a, &b| {
        let (ea, eb) = (&evaluations[a], &evaluations[b]);
        match (ea.standing.rank, eb.standing.rank) {
            (Some(ra), Some(rb)) => ra.cmp(&rb).then(a.cmp(&b)),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => a.cmp(&b),
        }
    });
    let mut slots: Vec<Option<Standing>> =
        evaluations.into_iter().map(|e| Some(e.standing)).collect();
    let rows = order.into_iter().filter_map(|i| slots[i].take()).collect();
    Standings {
        rule_summary: rule.describe(),
        rows,
    }
}

/// The groups a rule counts: either the single pool or the listed groups (first listing wins).
struct GroupPlan {
    pooled: bool,
    /// Name, weight in percent as given, weight in basis points when it has at most two decimals.
    groups: Vec<(String, f64, Option<i64>)>,
}

impl GroupPlan {
    fn new(rule: &AggregationRule) -> Self {
        if rule.group_weights.is_empty() {
            return Self {
                pooled: true,
                groups: vec![(POOLED_GROUP.to_string(), 100.0, Some(10_000))],
            };
        }
        let mut seen = BTreeSet::new();
        let groups = rule
            .group_weights
            .iter()
            .filter(|g| seen.insert(g.group.as_str()))
            .map(|g| {
                let w = if g.weight_percent.is_finite() {
                    g.weight_percent
                } else {
                    0.0
                };
                (g.group.clone(), w, basis_points(w))
            })
            .collect();
        Self {
            pooled: false,
            groups,
        }
    }

    /// Which planned group a sheet belongs to, if it counts at all.
    fn group_of(&self, sheet: &SheetScore) -> Option<usize> {
        if self.pooled {
            Some(0)
        } else {
            self.groups.iter().position(|(g, _, _)| *g == sheet.group)
        }
    }
}

/// Per-scorer mean and spread of base totals, over every sheet of that scorer.
struct ZScores {
    /// scorer id → (n, Σx, Σx²) in tenths.
    stats: BTreeMap<String, (i128, i128, i128)>,
}

impl ZScores {
    fn new<'a>(sheets: impl Iterator<Item = &'a SheetScore>) -> Self {
        let mut stats: BTreeMap<String, (i128, i128, i128)> = BTreeMap::new();
        for s in sheets {
            let x = i128::from(s.base_tenths);
            let e = stats.entry(s.scorer_id.clone()).or_insert((0, 0, 0));
            e.0 += 1;
            e.1 += x;
            e.2 += x * x;
        }
        Self { stats }
    }

    /// z = (x − mean) / sd with the population sd, written as (n·x − Σx) / √(n·Σx² − (Σx)²) so
    /// that "sd = 0" is an exact integer test. Fewer than two sheets or no spread → 0.
    fn z(&self, sheet: &SheetScore) -> f64 {
        let Some(&(n, sum, sum_sq)) = self.stats.get(&sheet.scorer_id) else {
            return 0.0;
        };
        let spread = n * sum_sq - sum * sum;
        if n < 2 || spread <= 0 {
            return 0.0;
        }
        let x = i128::from(sheet.base_tenths);
        (n * x - sum) as f64 / (spread as f64).sqrt()
    }
}

/// An exact fraction with a positive denominator.
#[derive(Debug, Clone, Copy)]
struct Frac {
    num: i128,
    den: i128,
}

impl Frac {
    fn new(num: i128, den: i128) -> Option<Self> {
        if den == 0 {
            return None;
        }
        let (num, den) = if den < 0 { (-num, -den) } else { (num, den) };
        let g = gcd(num.unsigned_abs(), den.unsigned_abs());
        let g = i128::try_from(g).ok()?.max(1);
        Some(Self {
            num: num / g,
            den: den / g,
        })
    }

    fn checked_add(self, other: Frac) -> Option<Frac> {
        let num = self
            .num
            .checked_mul(other.den)?
            .checked_add(other.num.checked_mul(self.den)?)?;
        Frac::new(num, self.den.checked_mul(other.den)?)
    }

    /// Rounded half away from zero to an integer.
    fn round_half_away(self) -> Option<i64> {
        let twice = self.num.checked_mul(2)?;
        let two_den = self.den.checked_mul(2)?;
        let r = if twice >= 0 {
            twice.checked_add(self.den)?.div_euclid(two_den)
        } else {
            -((-twice).checked_add(self.den)?.div_euclid(two_den))
        };
        i64::try_from(r).ok()
    }

    fn to_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    /// Exact comparison; inputs here are sums of i32 over fewer than 2³¹ sheets, so the
    /// cross products fit in i128.
    fn cmp_exact(&self, other: &Frac) -> Ordering {
        match (
            self.num.checked_mul(other.den),
            other.num.checked_mul(self.den),
        ) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => self.to_f64().total_cmp(&other.to_f64()),
        }
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// A weight in percent as an integer number of basis points (1/100 of a percent), when it
/// has at most two decimals.
fn basis_points(percent: f64) -> Option<i64> {
    if !percent.is_finite() || percent.abs() > 1e9 {
        return None;
    }
    let scaled = percent * 100.0;
    let rounded = scaled.round();
    ((scaled - rounded).abs() <= 1e-6).then_some(rounded as i64)
}

fn show_basis_points(bp: i64) -> String {
    show_percent(bp as f64 / 100.0)
}

/// A percent without trailing zeros: 70, 33.5, 33.33.
fn show_percent(p: f64) -> String {
    let s = format!("{p:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// A total order on sheets: base, then sheet id, then everything else, so duplicates in the
/// input still sort the same way whatever order they arrive in.
fn sheet_order(a: &SheetScore, b: &SheetScore) -> Ordering {
    a.base_tenths
        .cmp(&b.base_tenths)
        .then_with(|| a.sheet_id.cmp(&b.sheet_id))
        .then_with(|| a.scorer_id.cmp(&b.scorer_id))
        .then_with(|| a.scorer_name.cmp(&b.scorer_name))
        .then_with(|| a.group.cmp(&b.group))
        .then_with(|| a.adjustment_tenths.cmp(&b.adjustment_tenths))
        .then_with(|| a.category_tenths.cmp(&b.category_tenths))
        .then_with(|| a.township_id.cmp(&b.township_id))
}

fn count_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn tenths_to_points(t: i32) -> f64 {
    f64::from(t) / 10.0
}

/// A township's standing plus what ranking compares.
struct Evaluation {
    standing: Standing,
    /// The rounded result in hundredths.
    hundredths: Option<i64>,
    /// One value per tie-break, in rule order.
    tie_values: Vec<Frac>,
    /// The normalized result in thousandths.
    normalized_thousandths: Option<i64>,
}

/// One planned group's trimmed mean for one township.
struct GroupCalc {
    counted: usize,
    trimmed: usize,
    kept_sum: i64,
    z_mean: Option<f64>,
    enough: bool,
}

fn evaluate(
    township: &TownshipExpectation,
    sheets: &[&SheetScore],
    rule: &AggregationRule,
    k: usize,
    plan: &GroupPlan,
    z_scores: Option<&ZScores>,
) -> Evaluation {
    let submitted = count_i32(sheets.len());
    let expected = township.expected_sheets;
    let mut standing = Standing {
        township_id: township.township_id.clone(),
        status: StandingStatus::Ranked,
        rank: None,
        shared_rank: false,
        result: None,
        base_aggregate: None,
        adjustment_mean: None,
        untrimmed_mean: None,
        normalized: None,
        normalized_rank: None,
        submitted,
        expected,
        groups: Vec::new(),
        marks: Vec::new(),
        tie_note: None,
    };
    let unranked = |standing: Standing| Evaluation {
        standing,
        hundredths: None,
        tie_values: Vec::new(),
        normalized_thousandths: None,
    };

    if rule.embargo && submitted < expected && !sheets.is_empty() {
        standing.status = StandingStatus::Embargoed {
            submitted,
            expected,
        };
        return unranked(standing);
    }

    // `sheets` is sorted ascending by `sheet_order`, so within each group the first k are
    // the lowest and the last k the highest, ties settled by sheet id.
    let mut trimmed: Vec<Option<TrimSide>> = vec![None; sheets.len()];
    let membership: Vec<Option<usize>> = sheets.iter().map(|s| plan.group_of(s)).collect();
    let z: Vec<Option<f64>> = sheets.iter().map(|s| z_scores.map(|zs| zs.z(s))).collect();
    let need = 2 * k + 1;
    let mut calcs = Vec::with_capacity(plan.groups.len());
    for g in 0..plan.groups.len() {
        let members: Vec<usize> = (0..sheets.len())
            .filter(|&i| membership[i] == Some(g))
            .collect();
        let n = members.len();
        let enough = n >= need;
        let mut calc = GroupCalc {
            counted: n,
            trimmed: 0,
            kept_sum: 0,
            z_mean: None,
            enough,
        };
        if enough {
            for (pos, &i) in members.iter().enumerate() {
                if pos < k {
                    trimmed[i] = Some(TrimSide::Low);
                } else if pos >= n - k {
                    trimmed[i] = Some(TrimSide::High);
                } else {
                    calc.kept_sum += i64::from(sheets[i].base_tenths);
                }
            }
            calc.trimmed = 2 * k;
            if z_scores.is_some() {
                let mut zs: Vec<(f64, usize)> =
                    members.iter().map(|&i| (z[i].unwrap_or(0.0), i)).collect();
                zs.sort_by(|a, b| {
                    a.0.total_cmp(&b.0)
                        .then_with(|| sheet_order(sheets[a.1], sheets[b.1]))
                });
                let kept = &zs[k..n - k];
                let total: f64 = kept.iter().map(|(v, _)| v).sum();
                calc.z_mean = Some(total / kept.len() as f64);
            }
        }
        calcs.push(calc);
    }

    standing.groups = plan
        .groups
        .iter()
        .zip(&calcs)
        .map(|((name, weight, _), c)| GroupResult {
            group: name.clone(),
            weight_percent: *weight,
            counted: count_i32(c.counted),
            trimmed: count_i32(c.trimmed),
            mean: c
                .enough
                .then(|| kept_mean(c.kept_sum, c.counted - c.trimmed)),
        })
        .collect();

    let mut marks: Vec<MarkUse> = sheets
        .iter()
        .enumerate()
        .map(|(i, s)| MarkUse {
            sheet_id: s.sheet_id.clone(),
            scorer_id: s.scorer_id.clone(),
            scorer_name: s.scorer_name.clone(),
            group: s.group.clone(),
            base: tenths_to_points(s.base_tenths),
            adjustment: tenths_to_points(s.adjustment_tenths),
            trimmed: trimmed[i],
            counted: membership[i].is_some(),
            z: z[i],
        })
        .collect();
    // Ascending order reversed: high to low, equal marks by descending sheet id.
    marks.reverse();
    standing.marks = marks;

    let counted: Vec<&SheetScore> = sheets
        .iter()
        .zip(&membership)
        .filter(|(_, m)| m.is_some())
        .map(|(s, _)| *s)
        .collect();
    let m = counted.len() as i128;
    let adjustment_sum: i128 = counted
        .iter()
        .map(|s| i128::from(s.adjustment_tenths))
        .sum();
    let untrimmed_sum: i128 = counted
        .iter()
        .map(|s| i128::from(s.base_tenths) + i128::from(s.adjustment_tenths))
        .sum();
    let adjustment = Frac::new(adjustment_sum, 10 * m);
    let untrimmed = Frac::new(untrimmed_sum, 10 * m);
    standing.adjustment_mean = adjustment.map(Frac::to_f64);
    standing.untrimmed_mean = untrimmed.map(Frac::to_f64);

    if sheets.is_empty() {
        standing.status = StandingStatus::NoSheets;
        return unranked(standing);
    }
    if let Some((g, c)) = plan.groups.iter().zip(&calcs).find(|(_, c)| !c.enough) {
        standing.status = StandingStatus::TooFewSheets {
            have: count_i32(c.counted),
            need: count_i32(need),
            group: (!plan.pooled).then(|| g.0.clone()),
        };
        return unranked(standing);
    }
    let (Some(adjustment), Some(untrimmed)) = (adjustment, untrimmed) else {
        // Unreachable: every group has at least one sheet here.
        standing.status = StandingStatus::NoSheets;
        return unranked(standing);
    };

    let base_aggregate: f64 = plan
        .groups
        .iter()
        .zip(&calcs)
        .map(|((_, w, _), c)| w * kept_mean(c.kept_sum, c.counted - c.trimmed))
        .sum::<f64>()
        / 100.0;
    let hundredths = exact_hundredths(plan, &calcs, adjustment)
        .unwrap_or_else(|| ((base_aggregate + adjustment.to_f64()) * 100.0).round() as i64);
    standing.base_aggregate = Some(base_aggregate);
    standing.result = Some(hundredths as f64 / 100.0);

    let normalized_thousandths = if z_scores.is_some() {
        let blended: f64 = plan
            .groups
            .iter()
            .zip(&calcs)
            .map(|((_, w, _), c)| w * c.z_mean.unwrap_or(0.0))
            .sum::<f64>()
            / 100.0;
        let t = (blended * 1000.0).round() as i64;
        standing.normalized = Some(t as f64 / 1000.0);
        Some(t)
    } else {
        None
    };

    let tie_values = rule
        .tie_breaks
        .iter()
        .map(|tb| match tb {
            TieBreak::CategorySubtotal { category_id, .. } => {
                let sum: i128 = counted
                    .iter()
                    .flat_map(|s| &s.category_tenths)
                    .filter(|c| c.category_id == *category_id)
                    .map(|c| i128::from(c.tenths))
                    .sum();
                Frac::new(sum, 10 * m).unwrap_or(untrimmed)
            }
            TieBreak::UntrimmedMean => untrimmed,
        })
        .collect();

    Evaluation {
        standing,
        hundredths: Some(hundredths),
        tie_values,
        normalized_thousandths,
    }
}

/// Mean of kept base marks in points.
fn kept_mean(kept_sum: i64, kept: usize) -> f64 {
    if kept == 0 {
        return 0.0;
    }
    kept_sum as f64 / (10.0 * kept as f64)
}

/// result × 100 = Σ W·S / (1000·n) + 10·A / m exactly, with W in basis points, S the kept
/// base sum in tenths over n kept sheets and A the adjustment sum over m counted sheets.
/// `None` when a weight has more than two decimals or the fraction would overflow.
fn exact_hundredths(plan: &GroupPlan, calcs: &[GroupCalc], adjustment: Frac) -> Option<i64> {
    let mut total = Frac::new(
        adjustment.num.checked_mul(100)?,
        adjustment.den, // adjustment is in points; ×100 for hundredths
    )?;
    for ((_, _, bp), c) in plan.groups.iter().zip(calcs) {
        let bp = i128::from((*bp)?);
        let kept = i128::try_from(c.counted - c.trimmed).ok()?;
        if kept == 0 {
            continue;
        }
        let term = Frac::new(
            bp.checked_mul(i128::from(c.kept_sum))?,
            kept.checked_mul(1000)?,
        )?;
        total = total.checked_add(term)?;
    }
    total.round_half_away()
}

/// Ordering of two ranked evaluations: better first.
fn rank_order(a: &Evaluation, b: &Evaluation) -> Ordering {
    b.hundredths.cmp(&a.hundredths).then_with(|| {
        a.tie_values
            .iter()
            .zip(&b.tie_values)
            .map(|(x, y)| y.cmp_exact(x))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    })
}

fn assign_ranks(evaluations: &mut [Evaluation], rule: &AggregationRule) {
    let mut ranked: Vec<usize> = (0..evaluations.len())
        .filter(|&i| evaluations[i].hundredths.is_some())
        .collect();
    ranked.sort_by(|&a, &b| rank_order(&evaluations[a], &evaluations[b]).then(a.cmp(&b)));

    let mut ranks = vec![0i32; ranked.len()];
    for pos in 0..ranked.len() {
        ranks[pos] = if pos > 0
            && rank_order(&evaluations[ranked[pos - 1]], &evaluations[ranked[pos]]).is_eq()
        {
            ranks[pos - 1]
        } else {
            count_i32(pos + 1)
        };
    }
    for (pos, &i) in ranked.iter().enumerate() {
        let shared = (pos > 0 && ranks[pos - 1] == ranks[pos])
            || (pos + 1 < ranks.len() && ranks[pos + 1] == ranks[pos]);
        evaluations[i].standing.rank = Some(ranks[pos]);
        evaluations[i].standing.shared_rank = shared;
    }

    // Tie notes: within each run of equal rounded results, sub-runs of equal rank.
    let mut start = 0;
    while start < ranked.len() {
        let mut end = start + 1;
        while end < ranked.len()
            && evaluations[ranked[end]].hundredths == evaluations[ranked[start]].hundredths
        {
            end += 1;
        }
        if end - start > 1 {
            note_ties(evaluations, &ranked[start..end], &ranks[start..end], rule);
        }
        start = end;
    }
}

/// Writes the tie note of every township in one run of equal rounded results.
fn note_ties(evaluations: &mut [Evaluation], run: &[usize], ranks: &[i32], rule: &AggregationRule) {
    // Sub-runs: (first position, one-past-last position) of equal rank.
    let mut subs: Vec<(usize, usize)> = Vec::new();
    for pos in 0..run.len() {
        match subs.last_mut() {
            Some(last) if ranks[last.0] == ranks[pos] => last.1 = pos + 1,
            _ => subs.push((pos, pos + 1)),
        }
    }
    let shown = evaluations[run[0]]
        .standing
        .result
        .map(|r| format!("{r:.2}"))
        .unwrap_or_default();
    for (j, &(from, to)) in subs.iter().enumerate() {
        let mut parts = Vec::new();
        let here = run[from];
        if to - from > 1 {
            let mut text = format!("并列第{}名", ranks[from]);
            if !rule.tie_breaks.is_empty() {
                let labels: Vec<String> = rule.tie_breaks.iter().map(TieBreak::label).collect();
                text.push_str(&format!("({}也相同)", labels.join("、")));
            }
            parts.push(text);
        }
        let neighbours = [j.checked_sub(1).and_then(|p| subs.get(p)), subs.get(j + 1)];
        for &(other_from, _) in neighbours.into_iter().flatten() {
            let other = run[other_from];
            if let Some(text) = decided_by(
                &evaluations[here],
                &evaluations[other],
                ranks[other_from],
                &shown,
                rule,
            ) {
                parts.push(text);
            }
        }
        let note = (!parts.is_empty()).then(|| parts.join(";"));
        for &i in &run[from..to] {
            evaluations[i].standing.tie_note = note.clone();
        }
    }
}

/// `与第4名得分同为85.33,按基层党建小计(18.5 比 17.0)决出先后`: the first tie-break that
/// separates `here` from `other`, with this township's value first.
fn decided_by(
    here: &Evaluation,
    other: &Evaluation,
    other_rank: i32,
    shown: &str,
    rule: &AggregationRule,
) -> Option<String> {
    let (tb, (a, b)) = rule
        .tie_breaks
        .iter()
        .zip(here.tie_values.iter().zip(&other.tie_values))
        .find(|(_, (a, b))| a.cmp_exact(b).is_ne())?;
    let (a, b) = show_distinct(*a, *b);
    Some(format!(
        "与第{other_rank}名得分同为{shown},按{}({a} 比 {b})决出先后",
        tb.label()
    ))
}

/// Two different values with the fewest decimals (at least one) that tell them apart.
fn show_distinct(a: Frac, b: Frac) -> (String, String) {
    let (x, y) = (a.to_f64(), b.to_f64());
    for d in 1..=6 {
        let (sa, sb) = (format!("{x:.d$}"), format!("{y:.d$}"));
        if sa != sb || d == 6 {
            return (sa, sb);
        }
    }
    (x.to_string(), y.to_string())
}

fn assign_normalized_ranks(evaluations: &mut [Evaluation]) {
    let values: Vec<i64> = evaluations
        .iter()
        .filter_map(|e| e.normalized_thousandths)
        .collect();
    for e in evaluations.iter_mut() {
        if let Some(v) = e.normalized_thousandths {
            let better = values.iter().filter(|&&w| w > v).count();
            e.standing.normalized_rank = Some(count_i32(better + 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const CAT: &str = "cat-dangjian";

    fn sheet(
        id: &str,
        scorer: &str,
        group: &str,
        township: &str,
        base: i32,
        adj: i32,
    ) -> SheetScore {
        SheetScore {
            sheet_id: id.to_string(),
            scorer_id: scorer.to_string(),
            scorer_name: format!("评委{scorer}"),
            group: group.to_string(),
            township_id: township.to_string(),
            base_tenths: base,
            adjustment_tenths: adj,
            category_tenths: Vec::new(),
        }
    }

    fn with_category(mut s: SheetScore, tenths: i32) -> SheetScore {
        s.category_tenths = vec![CategoryTenths {
            category_id: CAT.to_string(),
            tenths,
        }];
        s
    }

    /// Sheets for one township from a list of (base, adjustment), scorers s0, s1, ….
    fn sheets_for(township: &str, marks: &[(i32, i32)]) -> Vec<SheetScore> {
        marks
            .iter()
            .enumerate()
            .map(|(i, &(b, a))| {
                sheet(
                    &format!("{township}-{i}"),
                    &format!("s{i}"),
                    "评委",
                    township,
                    b,
                    a,
                )
            })
            .collect()
    }

    fn route(ids: &[(&str, i32)]) -> Vec<TownshipExpectation> {
        ids.iter()
            .map(|&(id, expected)| TownshipExpectation {
                township_id: id.to_string(),
                expected_sheets: expected,
            })
            .collect()
    }

    fn row<'a>(standings: &'a Standings, id: &str) -> &'a Standing {
        standings
            .rows
            .iter()
            .find(|r| r.township_id == id)
            .unwrap_or_else(|| panic!("{id} is missing from the standings"))
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    fn category_rule() -> AggregationRule {
        AggregationRule {
            tie_breaks: vec![
                TieBreak::CategorySubtotal {
                    category_id: CAT.to_string(),
                    category_name: "基层党建".to_string(),
                },
                TieBreak::UntrimmedMean,
            ],
            ..AggregationRule::default()
        }
    }

    #[test]
    fn one_highest_and_one_lowest_mark_are_dropped_before_averaging() {
        // By hand: drop 92.0 and 70.0, keep 80.0, 85.5, 90.0 → 255.5 / 3 = 85.1666…;
        // adjustments (+1.0, 0, 0, 0, −0.5) over all five sheets → +0.1; 85.2666… → 85.27.
        let sheets = sheets_for("a", &[(800, 10), (855, 0), (900, 0), (920, 0), (700, -5)]);
        let s = aggregate(&route(&[("a", 5)]), &sheets, &AggregationRule::default());
        let a = row(&s, "a");
        assert_eq!(a.status, StandingStatus::Ranked);
        assert!(
            close(a.base_aggregate, 255.5 / 3.0),
            "{:?}",
            a.base_aggregate
        );
        assert!(close(a.adjustment_mean, 0.1), "{:?}", a.adjustment_mean);
        assert_eq!(a.result, Some(85.27));
        assert_eq!(a.rank, Some(1));
        assert!(close(a.untrimmed_mean, (4175.0 + 5.0) / 50.0));
        let used: Vec<(f64, Option<TrimSide>)> =
            a.marks.iter().map(|m| (m.base, m.trimmed)).collect();
        assert_eq!(
            used,
            vec![
                (92.0, Some(TrimSide::High)),
                (90.0, None),
                (85.5, None),
                (80.0, None),
                (70.0, Some(TrimSide::Low)),
            ],
            "marks are listed high to low with the dropped ones flagged"
        );
        assert_eq!(
            a.groups,
            vec![GroupResult {
                group: POOLED_GROUP.to_string(),
                weight_percent: 100.0,
                counted: 5,
                trimmed: 2,
                mean: Some(255.5 / 3.0),
            }]
        );
    }

    #[test]
    fn equal_highest_marks_drop_exactly_k_chosen_by_sheet_id() {
        let sheets = vec![
            sheet("b", "s1", "评委", "a", 900, 0),
            sheet("a", "s2", "评委", "a", 900, 0),
            sheet("c", "s3", "评委", "a", 800, 0),
            sheet("d", "s4", "评委", "a", 700, 0),
            sheet("e", "s5", "评委", "a", 700, 0),
        ];
        let s = aggregate(&route(&[("a", 5)]), &sheets, &AggregationRule::default());
        let a = row(&s, "a");
        let trimmed: Vec<(&str, Option<TrimSide>)> = a
            .marks
            .iter()
            .map(|m| (m.sheet_id.as_str(), m.trimmed))
            .collect();
        assert_eq!(
            trimmed,
            vec![
                ("b", Some(TrimSide::High)),
                ("a", None),
                ("c", None),
                ("e", None),
                ("d", Some(TrimSide::Low)),
            ],
            "one of each tied pair is dropped: the larger id at the top, the smaller at the bottom"
        );
        assert_eq!(a.result, Some(80.0));
    }

    #[test]
    fn too_few_sheets_are_refused_with_a_clear_message() {
        let sheets = sheets_for("a", &[(800, 0), (900, 0)]);
        let s = aggregate(&route(&[("a", 9)]), &sheets, &AggregationRule::default());
        let a = row(&s, "a");
        let expected = StandingStatus::TooFewSheets {
            have: 2,
            need: 3,
            group: None,
        };
        assert_eq!(a.status, expected);
        assert_eq!(
            (a.result, a.rank),
            (None, None),
            "no result without enough sheets"
        );
        assert_eq!(
            a.status.message(),
            "仅有2份评分表,去掉最高分和最低分至少需要3份,暂不计算得分"
        );
        assert_eq!(a.marks.len(), 2, "the sheets that are in are still listed");
    }

    #[test]
    fn a_half_hundredth_rounds_up_even_where_floating_point_would_not() {
        // 3009 tenths over 4 sheets is exactly 75.225; in f64, 75.225 × 100 is 7522.4999….
        let plain = AggregationRule {
            trim_k: 0,
            ..AggregationRule::default()
        };
        let sheets = sheets_for("a", &[(752, 0), (752, 0), (752, 0), (753, 0)]);
        let s = aggregate(&route(&[("a", 4)]), &sheets, &plain);
        assert_eq!(row(&s, "a").result, Some(75.23));
    }

    #[test]
    fn equal_rounded_results_share_a_rank_and_the_next_rank_is_skipped() {
        let plain = AggregationRule {
            trim_k: 0,
            ..AggregationRule::default()
        };
        let mut sheets = sheets_for("w", &[(800, 0)]);
        // 2560 / 30 = 85.333… and 3413 / 40 = 85.325: both show 85.33, so they tie.
        sheets.extend(sheets_for("x", &[(853, 0), (853, 0), (854, 0)]));
        sheets.extend(sheets_for("y", &[(900, 0)]));
        sheets.extend(sheets_for("z", &[(853, 0), (853, 0), (853, 0), (854, 0)]));
        let s = aggregate(
            &route(&[("w", 1), ("x", 3), ("y", 1), ("z", 4)]),
            &sheets,
            &plain,
        );
        let order: Vec<(&str, Option<i32>, bool)> = s
            .rows
            .iter()
            .map(|r| (r.township_id.as_str(), r.rank, r.shared_rank))
            .collect();
        assert_eq!(
            order,
            vec![
                ("y", Some(1), false),
                ("x", Some(2), true),
                ("z", Some(2), true),
                ("w", Some(4), false),
            ]
        );
        assert_eq!(row(&s, "x").result, Some(85.33));
        assert_eq!(row(&s, "z").result, Some(85.33));
        assert_eq!(row(&s, "x").tie_note.as_deref(), Some("并列第2名"));
    }

    #[test]
    fn tie_breaks_compare_category_subtotals_then_the_untrimmed_mean() {
        let mut sheets = Vec::new();
        // All four have a trimmed mean of 80.00.
        for (t, marks, cat) in [
            ("a", [800, 800, 800], 185),
            ("b", [800, 800, 800], 170),
            ("c", [790, 800, 820], 170),
            ("d", [800, 800, 800], 170),
        ] {
            for (i, m) in marks.into_iter().enumerate() {
                let id = format!("{t}{i}");
                sheets.push(with_category(
                    sheet(&id, &format!("s{i}"), "评委", t, m, 0),
                    cat,
                ));
            }
        }
        let s = aggregate(
            &route(&[("a", 3), ("b", 3), ("c", 3), ("d", 3)]),
            &sheets,
            &category_rule(),
        );
        let order: Vec<(&str, Option<i32>)> = s
            .rows
            .iter()
            .map(|r| (r.township_id.as_str(), r.rank))
            .collect();
        assert_eq!(
            order,
            vec![
                ("a", Some(1)),
                ("c", Some(2)),
                ("b", Some(3)),
                ("d", Some(3))
            ],
            "a wins on 基层党建; c beats b and d on the untrimmed mean; b and d stay tied"
        );
        assert_eq!(
            row(&s, "a").tie_note.as_deref(),
            Some("与第2名得分同为80.00,按基层党建小计(18.5 比 17.0)决出先后")
        );
        assert_eq!(
            row(&s, "c").tie_note.as_deref(),
            Some(
                "与第1名得分同为80.00,按基层党建小计(17.0 比 18.5)决出先后;\
                 与第3名得分同为80.00,按未去分平均分(80.3 比 80.0)决出先后"
            )
        );
        assert_eq!(
            row(&s, "b").tie_note.as_deref(),
            Some(
                "并列第3名(基层党建小计、未去分平均分也相同);\
                 与第2名得分同为80.00,按未去分平均分(80.0 比 80.3)决出先后"
            )
        );
        assert!(row(&s, "b").shared_rank && row(&s, "d").shared_rank);
    }

    #[test]
    fn an_embargoed_township_shows_nothing_until_all_its_sheets_are_in() {
        let mut sheets = sheets_for("a", &[(800, 0), (850, 0), (900, 0), (950, 0)]);
        sheets.extend(sheets_for("b", &[(700, 0), (750, 0), (800, 0)]));
        let towns = route(&[("a", 5), ("b", 3), ("c", 3)]);
        let embargo = AggregationRule {
            embargo: true,
            ..AggregationRule::default()
        };
        let s = aggregate(&towns, &sheets, &embargo);
        let a = row(&s, "a");
        assert_eq!(
            a.status,
            StandingStatus::Embargoed {
                submitted: 4,
                expected: 5
            }
        );
        assert_eq!((a.result, a.rank, a.untrimmed_mean), (None, None, None));
        assert!(
            a.marks.is_empty() && a.groups.is_empty(),
            "no mark gives the result away"
        );
        assert_eq!(row(&s, "b").rank, Some(1));
        assert_eq!(row(&s, "c").status, StandingStatus::NoSheets);
        let ids: Vec<&str> = s.rows.iter().map(|r| r.township_id.as_str()).collect();
        assert_eq!(
            ids,
            vec!["b", "a", "c"],
            "ranked first, then the rest in route order"
        );

        let open = aggregate(&towns, &sheets, &AggregationRule::default());
        assert_eq!(
            row(&open, "a").rank,
            Some(1),
            "without embargo 4 of 5 sheets are enough"
        );
        assert_eq!(row(&open, "a").result, Some(87.5));
    }

    #[test]
    fn a_weighted_blend_trims_inside_each_group_and_ignores_unlisted_groups() {
        let rule = AggregationRule {
            group_weights: vec![
                GroupWeight {
                    group: "市领导".to_string(),
                    weight_percent: 70.0,
                },
                GroupWeight {
                    group: "乡镇互评".to_string(),
                    weight_percent: 30.0,
                },
            ],
            ..AggregationRule::default()
        };
        let mut sheets = Vec::new();
        for (i, b) in [900, 800, 700].into_iter().enumerate() {
            sheets.push(sheet(
                &format!("L{i}"),
                &format!("l{i}"),
                "市领导",
                "a",
                b,
                0,
            ));
        }
        for (i, b) in [600, 650, 700, 750, 1000].into_iter().enumerate() {
            sheets.push(sheet(
                &format!("P{i}"),
                &format!("p{i}"),
                "乡镇互评",
                "a",
                b,
                10,
            ));
        }
        sheets.push(sheet("X0", "x0", "其他", "a", 1000, 50));
        let s = aggregate(&route(&[("a", 9)]), &sheets, &rule);
        let a = row(&s, "a");
        // 市领导: drop 90 and 70 → 80. 乡镇互评: drop 100 and 60 → (65+70+75)/3 = 70.
        // 0.7 × 80 + 0.3 × 70 = 77; adjustments 5 × 1.0 over 8 counted sheets = 0.625.
        assert!(close(a.base_aggregate, 77.0), "{:?}", a.base_aggregate);
        assert!(close(a.adjustment_mean, 0.625), "{:?}", a.adjustment_mean);
        assert_eq!(a.result, Some(77.63), "77.625 rounds half up");
        assert!(
            close(a.untrimmed_mean, (2400.0 + 3700.0 + 50.0) / 80.0),
            "the 其他 sheet is left out of the untrimmed mean too: {:?}",
            a.untrimmed_mean
        );
        assert_eq!(a.submitted, 9);
        let groups: Vec<(&str, i32, i32, Option<f64>)> = a
            .groups
            .iter()
            .map(|g| (g.group.as_str(), g.counted, g.trimmed, g.mean))
            .collect();
        assert_eq!(
            groups,
            vec![("市领导", 3, 2, Some(80.0)), ("乡镇互评", 5, 2, Some(70.0))]
        );
        let other = a.marks.iter().find(|m| m.sheet_id == "X0");
        assert_eq!(other.map(|m| (m.counted, m.trimmed)), Some((false, None)));

        let short: Vec<SheetScore> = sheets.into_iter().filter(|s| s.sheet_id != "L2").collect();
        let s = aggregate(&route(&[("a", 9)]), &short, &rule);
        assert_eq!(
            row(&s, "a").status,
            StandingStatus::TooFewSheets {
                have: 2,
                need: 3,
                group: Some("市领导".to_string())
            }
        );
        assert!(row(&s, "a")
            .status
            .message()
            .starts_with("「市领导」组仅有2份"));
    }

    #[test]
    fn validate_refuses_weights_summing_to_90_duplicate_groups_and_a_negative_k() {
        let weight = |g: &str, w: f64| GroupWeight {
            group: g.to_string(),
            weight_percent: w,
        };
        let rule = AggregationRule {
            trim_k: -1,
            group_weights: vec![weight("市领导", 60.0), weight("乡镇互评", 30.0)],
            ..AggregationRule::default()
        };
        let codes: Vec<ProblemCode> = rule.validate().iter().map(|p| p.code).collect();
        assert_eq!(
            codes,
            vec![ProblemCode::OutOfRange, ProblemCode::SumMismatch]
        );
        assert!(rule.validate()[1].message.contains("现为90%"));

        let dup = AggregationRule {
            group_weights: vec![weight("市领导", 50.0), weight("市领导", 50.0)],
            ..AggregationRule::default()
        };
        let problems = dup.validate();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].code, ProblemCode::Duplicate);

        let odd = AggregationRule {
            group_weights: vec![
                weight("甲", 0.0),
                weight("乙", 33.333),
                weight("丙", f64::NAN),
            ],
            ..AggregationRule::default()
        };
        let codes: Vec<ProblemCode> = odd.validate().iter().map(|p| p.code).collect();
        assert_eq!(
            codes,
            vec![
                ProblemCode::OutOfRange,
                ProblemCode::Invalid,
                ProblemCode::OutOfRange
            ]
        );

        assert!(AggregationRule::default().validate().is_empty());
        let fine = AggregationRule {
            group_weights: vec![
                weight("甲", 33.33),
                weight("乙", 33.33),
                weight("丙", 33.34),
            ],
            ..category_rule()
        };
        assert!(fine.validate().is_empty(), "{:?}", fine.validate());
    }

    #[test]
    fn describe_prints_the_rule_in_one_chinese_sentence() {
        assert_eq!(
            category_rule().describe(),
            "去掉1个最高分和1个最低分后取平均分,再加上加减分项的平均值;得分保留两位小数;\
             并列时依次比较:基层党建小计、未去分平均分;仍并列者名次相同"
        );
        let weighted = AggregationRule {
            trim_k: 0,
            group_weights: vec![
                GroupWeight {
                    group: "市领导".to_string(),
                    weight_percent: 70.0,
                },
                GroupWeight {
                    group: "乡镇互评".to_string(),
                    weight_percent: 30.0,
                },
            ],
            embargo: true,
            ..AggregationRule::default()
        };
        assert_eq!(
            weighted.describe(),
            "按评分组加权(市领导占70%、乡镇互评占30%),各组内取平均分,未列出的评分组不计分,\
             再加上加减分项的平均值;得分保留两位小数;得分相同者名次相同;\
             乡镇的评分表全部提交前不公布其得分"
        );
        let s = aggregate(&[], &[], &weighted);
        assert_eq!(s.rule_summary, weighted.describe());
    }

    #[test]
    fn a_scorer_without_spread_gets_z_zero_and_others_get_population_z() {
        let rule = AggregationRule {
            trim_k: 0,
            normalize: true,
            ..AggregationRule::default()
        };
        let sheets = vec![
            // s1 marks everyone 80: sd = 0 → z = 0.
            sheet("1a", "s1", "评委", "a", 800, 0),
            sheet("1b", "s1", "评委", "b", 800, 0),
            // s2 marks 70 and 90: mean 80, population sd 10 → z = −1 and +1.
            sheet("2a", "s2", "评委", "a", 700, 0),
            sheet("2b", "s2", "评委", "b", 900, 0),
            // s3 and s4 have a single sheet each → z = 0.
            sheet("3a", "s3", "评委", "a", 990, 0),
            sheet("4a", "s4", "评委", "a", 1000, 0),
        ];
        let s = aggregate(&route(&[("a", 3), ("b", 2)]), &sheets, &rule);
        let z_of = |t: &str, id: &str| {
            row(&s, t)
                .marks
                .iter()
                .find(|m| m.sheet_id == id)
                .and_then(|m| m.z)
        };
        assert_eq!(z_of("a", "1a"), Some(0.0));
        assert_eq!(z_of("a", "2a"), Some(-1.0));
        assert_eq!(z_of("b", "2b"), Some(1.0));
        assert_eq!(z_of("a", "3a"), Some(0.0));
        assert_eq!(row(&s, "a").normalized, Some(-0.25), "(0 − 1 + 0 + 0) / 4");
        assert_eq!(row(&s, "b").normalized, Some(0.5));
        assert_eq!(row(&s, "b").normalized_rank, Some(1));
        assert_eq!(row(&s, "a").normalized_rank, Some(2));
        assert_eq!(
            row(&s, "a").rank,
            Some(1),
            "the raw result still decides the rank"
        );
        assert_eq!(row(&s, "a").result, Some(87.25));
    }

    #[test]
    fn the_standing_serializes_with_a_kind_tag_for_the_ui() {
        let status = StandingStatus::TooFewSheets {
            have: 1,
            need: 3,
            group: None,
        };
        let json = serde_json::to_value(&status).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({"kind": "too_few_sheets", "have": 1, "need": 3, "group": null})
        );
        let tb = serde_json::to_value(TieBreak::UntrimmedMean).unwrap_or_default();
        assert_eq!(tb, serde_json::json!({"kind": "untrimmed_mean"}));
        let back: AggregationRule =
            serde_json::from_value(serde_json::to_value(category_rule()).unwrap_or_default())
                .unwrap_or_default();
        assert_eq!(back, category_rule());
    }

    /// 22 townships × 9 scorers, k = 1, tie-break by the untrimmed mean.
    ///
    /// The expected numbers below were NOT produced by the code under test. They are the
    /// output of this independent Python 3 script, which uses exact fractions:
    ///
    /// ```python
    /// from fractions import Fraction as F
    /// T, S, K = 22, 9, 1
    /// rows = []
    /// for t in range(T):
    ///     marks = [(600 + (t*37 + s*53) % 350, (t*3 + s) % 15 - 7) for s in range(S)]
    ///     bases = sorted(b for b, _ in marks)
    ///     kept = bases[K:S-K]
    ///     x = (F(sum(kept), 10*len(kept)) + F(sum(a for _, a in marks), 10*S)) * 100
    ///     h = (2*x.numerator + x.denominator) // (2*x.denominator)  # half up; x > 0 here
    ///     u = F(sum(b + a for b, a in marks), 10*S)                  # untrimmed mean
    ///     rows.append((t, h, u))
    /// for t, h, u in rows:
    ///     rank = 1 + sum(1 for o in rows if (o[1], o[2]) > (h, u))
    ///     shared = sum(1 for o in rows if (o[1], o[2]) == (h, u)) > 1
    ///     print(f"({t}, {h // 100}.{h % 100:02}, {rank}, {str(shared).lower()}),")
    /// ```
    #[test]
    fn a_worked_tour_of_22_townships_and_9_scorers_matches_an_independent_calculation() {
        // (township, result, rank, shared): pasted output of the script above.
        let expected: [(usize, f64, i32, bool); 22] = [
            (0, 72.41, 22, false),
            (1, 72.63, 20, true),
            (2, 76.63, 13, true),
            (3, 76.64, 12, false),
            (4, 76.66, 11, false),
            (5, 80.16, 4, false),
            (6, 80.67, 3, false),
            (7, 80.89, 2, false),
            (8, 80.14, 5, false),
            (9, 75.16, 15, false),
            (10, 74.41, 18, false),
            (11, 74.63, 17, false),
            (12, 75.14, 16, false),
            (13, 78.64, 8, false),
            (14, 78.66, 7, false),
            (15, 78.67, 6, false),
            (16, 82.67, 1, false),
            (17, 78.64, 9, false),
            (18, 77.90, 10, false),
            (19, 72.91, 19, false),
            (20, 72.63, 20, true),
            (21, 76.63, 13, true),
        ];
        let id = |t: usize| format!("t{t:02}");
        let towns: Vec<TownshipExpectation> = (0..22)
            .map(|t| TownshipExpectation {
                township_id: id(t),
                expected_sheets: 9,
            })
            .collect();
        let mut sheets = Vec::new();
        for t in 0..22i32 {
            for s in 0..9i32 {
                let base = 600 + (t * 37 + s * 53) % 350;
                let adj = (t * 3 + s) % 15 - 7;
                let township = id(t as usize);
                sheets.push(sheet(
                    &format!("{township}-s{s}"),
                    &format!("s{s}"),
                    "评委",
                    &township,
                    base,
                    adj,
                ));
            }
        }
        let rule = AggregationRule {
            tie_breaks: vec![TieBreak::UntrimmedMean],
            ..AggregationRule::default()
        };
        let s = aggregate(&towns, &sheets, &rule);
        assert_eq!(s.rows.len(), 22);
        for (t, result, rank, shared) in expected {
            let r = row(&s, &id(t));
            assert_eq!(r.result, Some(result), "result of township {t}");
            assert_eq!(r.rank, Some(rank), "rank of township {t}");
            assert_eq!(r.shared_rank, shared, "shared rank of township {t}");
        }
        assert!(
            row(&s, "t13")
                .tie_note
                .as_deref()
                .is_some_and(|n| n.contains("按未去分平均分")),
            "t13 and t17 both show 78.64 and are separated by the untrimmed mean"
        );
    }

    // ---- properties ----

    /// A small tour: townships 0..t, scorers 0..s, each pair possibly a sheet.
    fn tour() -> impl Strategy<Value = (Vec<TownshipExpectation>, Vec<SheetScore>)> {
        (1usize..6, 1usize..7).prop_flat_map(|(nt, ns)| {
            let sheet_strategy = proptest::option::weighted(
                0.8,
                (0i32..1000, -20i32..20, 0i32..200, prop::bool::ANY),
            );
            (
                proptest::collection::vec(0i32..8, nt),
                proptest::collection::vec(sheet_strategy, nt * ns),
            )
                .prop_map(move |(expected, cells)| {
                    let towns = expected
                        .iter()
                        .enumerate()
                        .map(|(t, &e)| TownshipExpectation {
                            township_id: format!("t{t}"),
                            expected_sheets: e,
                        })
                        .collect();
                    let sheets = cells
                        .iter()
                        .enumerate()
                        .filter_map(|(i, c)| c.map(|c| (i, c)))
                        .map(|(i, (base, adj, cat, group))| {
                            let (t, s) = (i / ns, i % ns);
                            let g = if group { "甲" } else { "乙" };
                            let sh = sheet(
                                &format!("sh{t}-{s}"),
                                &format!("s{s}"),
                                g,
                                &format!("t{t}"),
                                base,
                                adj,
                            );
                            with_category(sh, cat)
                        })
                        .collect();
                    (towns, sheets)
                })
        })
    }

    fn any_rule() -> impl Strategy<Value = AggregationRule> {
        (
            0i32..3,
            prop::bool::ANY,
            prop::bool::ANY,
            prop::bool::ANY,
            prop::bool::ANY,
        )
            .prop_map(|(k, weighted, normalize, ties, embargo)| AggregationRule {
                trim_k: k,
                group_weights: if weighted {
                    vec![
                        GroupWeight {
                            group: "甲".to_string(),
                            weight_percent: 60.0,
                        },
                        GroupWeight {
                            group: "乙".to_string(),
                            weight_percent: 40.0,
                        },
                    ]
                } else {
                    Vec::new()
                },
                normalize,
                tie_breaks: if ties {
                    category_rule().tie_breaks
                } else {
                    Vec::new()
                },
                embargo,
            })
    }

    /// Half away from zero of num / den, den > 0, written out again for the check.
    fn round_div(num: i64, den: i64) -> i64 {
        let q = (num.abs() * 2 + den) / (den * 2);
        if num < 0 {
            -q
        } else {
            q
        }
    }

    proptest! {
        #[test]
        fn the_order_of_sheets_does_not_matter(
            (towns, sheets) in tour(),
            rule in any_rule(),
            seed in any::<u64>(),
        ) {
            let mut shuffled = sheets.clone();
            // A deterministic Fisher–Yates from the seed (no RNG dependency).
            let mut x = seed | 1;
            for i in (1..shuffled.len()).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                shuffled.swap(i, (x % (i as u64 + 1)) as usize);
            }
            prop_assert_eq!(aggregate(&towns, &sheets, &rule), aggregate(&towns, &shuffled, &rule));
        }

        #[test]
        fn k_zero_is_the_plain_mean((towns, sheets) in tour()) {
            let rule = AggregationRule { trim_k: 0, ..AggregationRule::default() };
            let s = aggregate(&towns, &sheets, &rule);
            for r in &s.rows {
                let mine: Vec<&SheetScore> =
                    sheets.iter().filter(|x| x.township_id == r.township_id).collect();
                let n = mine.len() as i64;
                if n == 0 {
                    prop_assert_eq!(&r.status, &StandingStatus::NoSheets);
                    continue;
                }
                let base: i64 = mine.iter().map(|x| i64::from(x.base_tenths)).sum();
                let adj: i64 = mine.iter().map(|x| i64::from(x.adjustment_tenths)).sum();
                prop_assert!(close(r.base_aggregate, base as f64 / (10.0 * n as f64)));
                let hundredths = round_div(10 * (base + adj), n);
                prop_assert_eq!(r.result, Some(hundredths as f64 / 100.0));
            }
        }

        #[test]
        fn raising_one_mark_never_lowers_that_townships_result(
            (towns, sheets) in tour(),
            rule in any_rule(),
            pick in any::<prop::sample::Index>(),
            raise in 1i32..200,
        ) {
            prop_assume!(!sheets.is_empty());
            let i = pick.index(sheets.len());
            let mut raised = sheets.clone();
            raised[i].base_tenths += raise;
            let before = aggregate(&towns, &sheets, &rule);
            let after = aggregate(&towns, &raised, &rule);
            let (b, a) = (row(&before, &sheets[i].township_id), row(&after, &sheets[i].township_id));
            prop_assert_eq!(&b.status, &a.status);
            if let (Some(x), Some(y)) = (b.base_aggregate, a.base_aggregate) {
                prop_assert!(y >= x, "base {} fell to {}", x, y);
            }
            if let (Some(x), Some(y)) = (b.result, a.result) {
                prop_assert!(y >= x, "result {} fell to {}", x, y);
            }
        }

        #[test]
        fn the_same_input_gives_the_same_standings((towns, sheets) in tour(), rule in any_rule()) {
            prop_assert_eq!(aggregate(&towns, &sheets, &rule), aggregate(&towns, &sheets, &rule));
        }

        #[test]
        fn every_township_is_listed_once_and_ranks_are_a_competition_ranking(
            (towns, sheets) in tour(),
            rule in any_rule(),
        ) {
            let s = aggregate(&towns, &sheets, &rule);
            let mut listed: Vec<&str> = s.rows.iter().map(|r| r.township_id.as_str()).collect();
            listed.sort_unstable();
            let mut wanted: Vec<&str> = towns.iter().map(|t| t.township_id.as_str()).collect();
            wanted.sort_unstable();
            prop_assert_eq!(listed, wanted);

            let ranked: Vec<&Standing> = s.rows.iter().take_while(|r| r.rank.is_some()).collect();
            prop_assert!(s.rows[ranked.len()..].iter().all(|r| r.rank.is_none() && r.result.is_none()));
            for (pos, r) in ranked.iter().enumerate() {
                prop_assert_eq!(r.status.clone(), StandingStatus::Ranked);
                let rank = r.rank.unwrap_or(0);
                if pos > 0 && ranked[pos - 1].rank == r.rank {
                    prop_assert!(r.shared_rank && ranked[pos - 1].shared_rank);
                } else {
                    prop_assert_eq!(rank, pos as i32 + 1, "a new rank equals its position");
                }
                if pos > 0 {
                    prop_assert!(ranked[pos - 1].result >= r.result, "a better rank never has a lower result");
                }
                let others = ranked.iter().filter(|o| o.rank == r.rank).count();
                prop_assert_eq!(r.shared_rank, others > 1);
            }
        }
    }
}
