//! Scorers (评分人) and score sheets (评分表). A sheet belongs to one scorer and one township;
//! marks are 0..=max with at most one decimal; a submitted sheet is locked until the organiser
//! unlocks it with a written reason. A township head never scores their own township (回避).

use crate::points::{Points, PointsError};
use crate::problem::{Problem, ProblemCode};
use serde::{Deserialize, Serialize};
use specta::Type;

/// The group of city leaders.
pub const GROUP_CITY_LEADERS: &str = "市领导";
/// The group of township party and government heads (互评).
pub const GROUP_TOWNSHIP_HEADS: &str = "乡镇(街道)党政主要负责人";
/// Longest scorer name or group name, in characters.
pub const MAX_NAME_CHARS: usize = 20;
/// Longest work unit (单位) of a scorer, in characters.
pub const MAX_WORK_UNIT_CHARS: usize = 40;
/// Longest note or comment, in characters.
pub const MAX_NOTE_CHARS: usize = 1000;
/// Shortest unlock reason, in characters.
pub const MIN_REASON_CHARS: usize = 2;

/// A registered scorer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Scorer {
    /// UUIDv7.
    pub id: String,
    /// Name as printed on the sheet.
    pub name: String,
    /// Group, e.g. 市领导.
    pub group: String,
    /// For a township head: the township they lead (they never score it).
    pub township_id: Option<String>,
    /// Inactive scorers are not expected to submit.
    pub active: bool,
    /// Increments on every edit.
    pub version: i32,
    /// Work unit (单位), e.g. 市委办公室: tells two scorers of one name apart; may be blank.
    pub work_unit: String,
}

/// What the organiser enters for a scorer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct ScorerInput {
    /// Name.
    pub name: String,
    /// Group.
    pub group: String,
    /// The township they lead, if any.
    pub township_id: Option<String>,
    /// Expected to score.
    pub active: bool,
    /// Work unit (单位); blank when not given.
    #[serde(default)]
    pub work_unit: String,
}

impl ScorerInput {
    /// Trims text; blank township becomes `None`.
    pub fn normalized(mut self) -> Self {
        self.name = self.name.trim().to_string();
        self.group = self.group.trim().to_string();
        self.work_unit = self.work_unit.trim().to_string();
        self.township_id = self.township_id.filter(|t| !t.trim().is_empty());
        self
    }

    /// Problems with the input, located by field.
    pub fn validate(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        for (field, value) in [("姓名", &self.name), ("分组", &self.group)] {
            if value.is_empty() {
                out.push(Problem::error(
                    ProblemCode::Required,
                    field,
                    format!("{field}不能为空"),
                ));
            } else if value.chars().count() > MAX_NAME_CHARS {
                out.push(Problem::error(
                    ProblemCode::OutOfRange,
                    field,
                    format!("{field}不能超过{MAX_NAME_CHARS}个字"),
                ));
            }
        }
        if self.work_unit.chars().count() > MAX_WORK_UNIT_CHARS {
            out.push(Problem::error(
                ProblemCode::OutOfRange,
                "单位",
                format!("单位不能超过{MAX_WORK_UNIT_CHARS}个字"),
            ));
        }
        // A township head never scores their own township (回避): the rule needs to know it.
        if self.group == GROUP_TOWNSHIP_HEADS && self.township_id.is_none() {
            out.push(Problem::error(
                ProblemCode::Required,
                "所属乡镇",
                format!("{GROUP_TOWNSHIP_HEADS}须选择所属乡镇(街道),以便回避本乡镇评分"),
            ));
        }
        out
    }
}

/// Whether a sheet can still change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum SheetStatus {
    /// Being filled; autosaved.
    Draft,
    /// Submitted and locked (提交/锁定).
    Submitted,
}

/// Whether a township is being scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ScoringState {
    /// Not opened yet (未开始).
    NotOpen,
    /// Scorers may fill and submit (评分中).
    Open,
    /// Closed by the organiser (已结束).
    Closed,
}

/// One criterion's mark on a sheet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Mark {
    /// The criterion.
    pub criterion_id: String,
    /// Awarded points, once entered.
    pub points: Option<f64>,
    /// The scorer's note.
    pub note: String,
}

/// One bonus/penalty item on a sheet; `points` is the magnitude (the item's kind gives the sign).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct AdjustmentMark {
    /// The item.
    pub adjustment_id: String,
    /// Points added or taken off, as a positive number.
    pub points: Option<f64>,
    /// Why.
    pub note: String,
}

/// A score sheet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Sheet {
    /// UUIDv7.
    pub id: String,
    /// Whose.
    pub scorer_id: String,
    /// For which township.
    pub township_id: String,
    /// Draft or submitted.
    pub status: SheetStatus,
    /// Marks entered so far (criteria without a row have no mark yet).
    pub marks: Vec<Mark>,
    /// Bonus/penalty entered so far.
    pub adjustments: Vec<AdjustmentMark>,
    /// Photos attached as evidence (拍照留证), per criterion.
    pub evidence: Vec<Evidence>,
    /// Overall comment.
    pub comment: String,
    /// Criteria total in points.
    // Exported to TypeScript as `number`, not `number | null`: always finite.
    #[specta(type = i32)]
    pub base_total: f64,
    /// Bonus minus penalty, in points.
    // Exported to TypeScript as `number`, not `number | null`: always finite.
    #[specta(type = i32)]
    pub adjustment_total: f64,
    /// When it was (last) submitted, RFC 3339.
    pub submitted_at: Option<String>,
    /// The reason given at the last unlock, if it was ever unlocked.
    pub unlock_reason: Option<String>,
    /// Increments on every change.
    pub version: i32,
}

/// A photo attached to a criterion as evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Evidence {
    /// The criterion.
    pub criterion_id: String,
    /// Content hash of the photo.
    pub hash: String,
    /// When it was taken against the township's scheduled time (flagged outside it, never
    /// refused); worked out where the sheet is read, never stored.
    #[serde(default)]
    pub timing: crate::tour_photos::PhotoTiming,
}

/// Why a value was refused: a stable problem code and the sentence for a person. The caller
/// knows where the value was (its location) and makes the [`Problem`] with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refused {
    /// What kind of problem.
    pub code: ProblemCode,
    /// For a person, in Chinese.
    pub message: String,
}

impl Refused {
    fn new(code: ProblemCode, message: String) -> Self {
        Self { code, message }
    }

    /// The problem at `location`.
    pub fn at(self, location: &str) -> Problem {
        Problem::error(self.code, location, self.message)
    }
}

/// Checks a mark against its maximum: 0..=max with at most one decimal.
pub fn check_points(value: f64, max: Points, what: &str) -> Result<Points, Refused> {
    let p = Points::from_f64(value).map_err(|e| match e {
        PointsError::TooPrecise => Refused::new(
            ProblemCode::Invalid,
            format!("{what}「{value}」最多保留一位小数"),
        ),
        other => Refused::new(ProblemCode::Invalid, format!("{what}「{value}」{other}")),
    })?;
    if p.tenths() < 0 {
        return Err(Refused::new(
            ProblemCode::OutOfRange,
            format!("{what}不能为负数"),
        ));
    }
    if p > max {
        return Err(Refused::new(
            ProblemCode::OutOfRange,
            format!("{what}「{p}」超过分值{max}分"),
        ));
    }
    Ok(p)
}

/// Checks an unlock reason.
pub fn check_reason(reason: &str) -> Result<String, Refused> {
    let r = reason.trim();
    if r.chars().count() < MIN_REASON_CHARS {
        return Err(Refused::new(
            ProblemCode::Required,
            format!("解锁原因至少{MIN_REASON_CHARS}个字"),
        ));
    }
    if r.chars().count() > MAX_NOTE_CHARS {
        return Err(Refused::new(
            ProblemCode::OutOfRange,
            format!("解锁原因不能超过{MAX_NOTE_CHARS}个字"),
        ));
    }
    Ok(r.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mark_above_the_maximum_or_with_two_decimals_is_refused_with_the_reason() {
        assert_eq!(check_points(7.5, Points(100), "得分"), Ok(Points(75)));
        assert_eq!(check_points(10.0, Points(100), "得分"), Ok(Points(100)));
        let e = check_points(7.55, Points(100), "得分").unwrap_err();
        assert_eq!(e.code, ProblemCode::Invalid);
        assert!(e.message.contains("一位小数"), "{e}");
        let e = check_points(11.0, Points(100), "得分").unwrap_err();
        assert_eq!(e.code, ProblemCode::OutOfRange);
        assert!(e.message.contains("超过分值10分"), "{e}");
        let e = check_points(-1.0, Points(100), "得分").unwrap_err();
        assert_eq!(e.code, ProblemCode::OutOfRange);
        assert!(e.message.contains("负数"));
        let p = e.at("基层党建 › 组织体系建设");
        assert_eq!(p.location, "基层党建 › 组织体系建设");
        assert_eq!(p.code, ProblemCode::OutOfRange);
    }

    #[test]
    fn an_unlock_needs_a_written_reason() {
        assert_eq!(check_reason(" ").unwrap_err().code, ProblemCode::Required);
        assert_eq!(check_reason("误").unwrap_err().code, ProblemCode::Required);
        let long = "误".repeat(MAX_NOTE_CHARS + 1);
        assert_eq!(
            check_reason(&long).unwrap_err().code,
            ProblemCode::OutOfRange
        );
        assert_eq!(check_reason(" 误填分数 ").unwrap(), "误填分数");
    }

    #[test]
    fn a_scorer_needs_a_name_and_group() {
        let s = ScorerInput {
            name: " ".into(),
            group: String::new(),
            township_id: Some(" ".into()),
            active: true,
            work_unit: String::new(),
        }
        .normalized();
        assert_eq!(s.township_id, None);
        assert_eq!(s.validate().len(), 2);
    }

    #[test]
    fn a_work_unit_is_trimmed_optional_and_at_most_forty_characters() {
        let input = |u: &str| {
            ScorerInput {
                name: "张三".into(),
                group: "市领导".into(),
                township_id: None,
                active: true,
                work_unit: u.into(),
            }
            .normalized()
        };
        assert_eq!(input("  市委办公室 ").work_unit, "市委办公室");
        assert!(input("").validate().is_empty());
        assert!(input(&"单".repeat(MAX_WORK_UNIT_CHARS))
            .validate()
            .is_empty());
        let p = input(&"单".repeat(MAX_WORK_UNIT_CHARS + 1)).validate();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].location, "单位");
    }

    #[test]
    fn a_township_head_needs_their_township() {
        let head = |t: Option<&str>| ScorerInput {
            name: "王五".into(),
            group: GROUP_TOWNSHIP_HEADS.into(),
            township_id: t.map(Into::into),
            active: true,
            work_unit: String::new(),
        };
        let p = head(None).validate();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].location, "所属乡镇");
        assert!(p[0].message.contains("回避"), "{}", p[0].message);
        assert!(head(Some("t-yy")).validate().is_empty());
        let leader = ScorerInput {
            group: "市领导".into(),
            ..head(None)
        };
        assert!(leader.validate().is_empty(), "a city leader needs none");
    }
}

/// What an audit entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A criterion's mark or note.
    Criterion,
    /// A bonus/penalty item.
    Adjustment,
    /// The overall comment.
    Comment,
    /// The sheet was submitted (locked).
    Submit,
    /// The organiser unlocked the sheet.
    Unlock,
}

/// One line of the score audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct AuditEntry {
    /// Order of the entry on this device.
    pub seq: i32,
    /// RFC 3339 time.
    pub at: String,
    /// Device that made the change.
    pub device_id: String,
    /// Scorer whose sheet it is.
    pub scorer_id: String,
    /// Sheet.
    pub sheet_id: String,
    /// Township.
    pub township_id: String,
    /// What changed.
    pub kind: AuditKind,
    /// Criterion or adjustment id.
    pub item_id: Option<String>,
    /// Value before, as shown to people.
    pub old_value: Option<String>,
    /// Value after.
    pub new_value: Option<String>,
    /// The unlock reason in force when the change was made.
    pub reason: Option<String>,
    /// The person signed in when the change was made ([`crate::people::UNASSIGNED_ID`] for
    /// 未指定).
    pub person_id: String,
    /// Their name (未指定 when no one was signed in).
    pub person_name: String,
}
