//! The roster: the townships (乡镇(街道)) of the tour and their visit order. A township is
//! identified by its 12-digit statistical division code; names and codes are unique.
//! The usual tour has 22 enabled townships; another count is a warning, never a refusal.

use crate::problem::{Problem, ProblemCode};
use serde::{Deserialize, Serialize};
use specta::Type;
use std::collections::HashMap;

/// The number of enabled townships an organiser normally expects (常宁市: 22).
pub const EXPECTED_ENABLED: usize = 22;
/// Longest township name, in characters.
pub const MAX_NAME_CHARS: usize = 30;
/// Longest note, in characters.
pub const MAX_NOTE_CHARS: usize = 500;
/// Shortest and longest slot, in minutes.
pub const SLOT_MINUTES: std::ops::RangeInclusive<i32> = 5..=480;

/// The administrative kind of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum TownshipKind {
    /// 街道
    Subdistrict,
    /// 镇
    Town,
    /// 乡
    Township,
    /// 民族乡
    EthnicTownship,
}

impl TownshipKind {
    /// Every kind, in display order.
    pub const ALL: [TownshipKind; 4] = [
        TownshipKind::Subdistrict,
        TownshipKind::Town,
        TownshipKind::Township,
        TownshipKind::EthnicTownship,
    ];

    /// The Chinese label used in files and on screen.
    pub fn label(self) -> &'static str {
        match self {
            TownshipKind::Subdistrict => "街道",
            TownshipKind::Town => "镇",
            TownshipKind::Township => "乡",
            TownshipKind::EthnicTownship => "民族乡",
        }
    }

    /// Parses a Chinese label or the English wire name.
    pub fn parse(s: &str) -> Option<Self> {
        let t = s.trim();
        Self::ALL.into_iter().find(|k| {
            k.label() == t
                || serde_json::to_value(k)
                    .ok()
                    .and_then(|v| v.as_str().map(|w| w.eq_ignore_ascii_case(t)))
                    .unwrap_or(false)
        })
    }

    /// The kind a name's suffix suggests (塔山瑶族乡 → 民族乡).
    pub fn from_name(name: &str) -> Option<Self> {
        if name.ends_with("族乡") {
            Some(TownshipKind::EthnicTownship)
        } else if name.ends_with("街道") {
            Some(TownshipKind::Subdistrict)
        } else if name.ends_with('镇') {
            Some(TownshipKind::Town)
        } else if name.ends_with('乡') {
            Some(TownshipKind::Township)
        } else {
            None
        }
    }
}

/// A township as stored: identity, schedule and note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Township {
    /// UUIDv7 made on the device.
    pub id: String,
    /// 12-digit statistical division code, kept as text (leading zeros matter).
    pub code: String,
    /// Name such as 水口山镇.
    pub name: String,
    /// 街道 / 镇 / 乡 / 民族乡.
    pub kind: TownshipKind,
    /// Disabled townships stay in the roster but are not visited or scored.
    pub enabled: bool,
    /// 1-based visit order among all townships.
    pub position: i32,
    /// Day of the tour (1 or 2), once planned.
    pub day: Option<i32>,
    /// Planned arrival, `HH:MM`.
    pub arrival: Option<String>,
    /// Length of the slot in minutes.
    pub slot_minutes: Option<i32>,
    /// Stops (观摩点) and other notes.
    pub note: String,
    /// 评比组 the township is ranked in; blank: the default from its kind (街道组 / 乡镇组,
    /// see `results::group_of`).
    #[serde(default)]
    #[specta(optional)]
    pub eval_group: String,
    /// Increments on every change; edits must name the version they started from.
    pub version: i32,
}

/// What an organiser enters for a township (no id, no position: the backend owns those).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct TownshipInput {
    /// 12-digit code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: TownshipKind,
    /// Enabled for the tour.
    pub enabled: bool,
    /// 1 or 2.
    pub day: Option<i32>,
    /// `HH:MM`.
    pub arrival: Option<String>,
    /// Minutes.
    pub slot_minutes: Option<i32>,
    /// Free text.
    pub note: String,
}

impl TownshipInput {
    /// Trims text fields and turns blank optional text into `None`.
    pub fn normalized(mut self) -> Self {
        self.code = self.code.trim().to_string();
        self.name = self.name.trim().to_string();
        self.note = self.note.trim().to_string();
        self.arrival = self
            .arrival
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty())
            .map(|a| normalize_time(&a).unwrap_or(a));
        self
    }

    /// Every problem with this one township, located by field name.
    pub fn validate(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        if self.code.is_empty() {
            out.push(Problem::error(
                ProblemCode::Required,
                "区划代码",
                "区划代码不能为空",
            ));
        } else if !is_division_code(&self.code) {
            out.push(Problem::error(
                ProblemCode::Invalid,
                "区划代码",
                format!("区划代码「{}」应为12位数字", self.code),
            ));
        }
        if self.name.is_empty() {
            out.push(Problem::error(
                ProblemCode::Required,
                "名称",
                "名称不能为空",
            ));
        } else if self.name.chars().count() > MAX_NAME_CHARS {
            out.push(Problem::error(
                ProblemCode::OutOfRange,
                "名称",
                format!("名称不能超过{MAX_NAME_CHARS}个字"),
            ));
        } else if self.name.chars().any(char::is_control) {
            out.push(Problem::error(
                ProblemCode::Invalid,
                "名称",
                "名称含有控制字符",
            ));
        }
        if let Some(d) = self.day {
            if !(1..=2).contains(&d) {
                out.push(Problem::error(
                    ProblemCode::OutOfRange,
                    "观摩日",
                    format!("观摩日应为第1天或第2天,不能是{d}"),
                ));
            }
        }
        if let Some(a) = &self.arrival {
            if normalize_time(a).as_deref() != Some(a.as_str()) {
                out.push(Problem::error(
                    ProblemCode::Invalid,
                    "到达时间",
                    format!("到达时间「{a}」应为 HH:MM,例如 09:30"),
                ));
            }
        }
        if let Some(m) = self.slot_minutes {
            if !SLOT_MINUTES.contains(&m) {
                out.push(Problem::error(
                    ProblemCode::OutOfRange,
                    "时长",
                    format!(
                        "时长应在{}到{}分钟之间",
                        SLOT_MINUTES.start(),
                        SLOT_MINUTES.end()
                    ),
                ));
            }
        }
        if self.note.chars().count() > MAX_NOTE_CHARS {
            out.push(Problem::error(
                ProblemCode::OutOfRange,
                "备注",
                format!("备注不能超过{MAX_NOTE_CHARS}个字"),
            ));
        }
        out
    }
}

/// True for exactly 12 ASCII digits.
pub fn is_division_code(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// `9:5`, `9:05` and `09:05` all become `09:05`; anything else is `None`.
pub fn normalize_time(s: &str) -> Option<String> {
    let (h, m) = s.trim().split_once([':', ':'])?;
    if h.is_empty() || m.len() != 2 || h.len() > 2 {
        return None;
    }
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    (h < 24 && m < 60).then(|| format!("{h:02}:{m:02}"))
}

/// Problems across a whole roster: duplicate codes and names (errors, naming every row
/// involved) and an unusual number of enabled townships (a warning). `rows[i]` is the
/// file row of `items[i]`, when the roster comes from a file.
pub fn validate_roster(items: &[TownshipInput], rows: Option<&[u32]>) -> Vec<Problem> {
    let row_of = |i: usize| rows.and_then(|r| r.get(i).copied());
    let mut out = Vec::new();
    for (field, key) in [("区划代码", 0usize), ("名称", 1)] {
        let mut seen: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, t) in items.iter().enumerate() {
            let k = if key == 0 {
                t.code.as_str()
            } else {
                t.name.as_str()
            };
            if !k.is_empty() {
                seen.entry(k).or_default().push(i);
            }
        }
        let mut dups: Vec<_> = seen.into_iter().filter(|(_, v)| v.len() > 1).collect();
        dups.sort_by_key(|(_, v)| v[0]);
        for (k, idx) in dups {
            let where_: Vec<String> = idx
                .iter()
                .map(|&i| match row_of(i) {
                    Some(r) => format!("第{r}行"),
                    None => format!("第{}个", i + 1),
                })
                .collect();
            let mut p = Problem::error(
                ProblemCode::Duplicate,
                field,
                format!("{field}「{k}」重复出现在{}", where_.join("、")),
            );
            p.row = row_of(idx[1]);
            out.push(p);
        }
    }
    let enabled = items.iter().filter(|t| t.enabled).count();
    if enabled != EXPECTED_ENABLED {
        out.push(Problem::warning(
            ProblemCode::UnusualCount,
            "启用",
            format!("启用的乡镇(街道)共{enabled}个,通常为{EXPECTED_ENABLED}个,请确认"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(code: &str, name: &str) -> TownshipInput {
        TownshipInput {
            code: code.into(),
            name: name.into(),
            kind: TownshipKind::Town,
            enabled: true,
            day: None,
            arrival: None,
            slot_minutes: None,
            note: String::new(),
        }
    }

    #[test]
    fn a_code_must_be_twelve_digits_and_keeps_leading_zeros() {
        assert!(is_division_code("430482001000"));
        assert!(is_division_code("030482001000"));
        assert!(!is_division_code("43048200100"));
        assert!(!is_division_code("43048200100X"));
        assert!(!input("4304820010001", "宜阳街道").validate().is_empty());
    }

    #[test]
    fn times_are_normalised_to_two_digit_hours() {
        assert_eq!(normalize_time("9:05").as_deref(), Some("09:05"));
        assert_eq!(normalize_time("09:30").as_deref(), Some("09:30"));
        assert_eq!(normalize_time("24:00"), None);
        assert_eq!(normalize_time("9:5"), None);
        assert_eq!(normalize_time("0930"), None);
    }

    #[test]
    fn kind_is_read_from_labels_and_name_suffixes() {
        assert_eq!(
            TownshipKind::parse("民族乡"),
            Some(TownshipKind::EthnicTownship)
        );
        assert_eq!(TownshipKind::parse("town"), Some(TownshipKind::Town));
        assert_eq!(
            TownshipKind::from_name("塔山瑶族乡"),
            Some(TownshipKind::EthnicTownship)
        );
        assert_eq!(
            TownshipKind::from_name("宜阳街道"),
            Some(TownshipKind::Subdistrict)
        );
    }

    #[test]
    fn duplicate_codes_name_every_row_involved() {
        let items = vec![input("430482001000", "甲镇"), input("430482001000", "乙镇")];
        let p = validate_roster(&items, Some(&[2, 5]));
        let dup = p.iter().find(|p| p.code == ProblemCode::Duplicate).unwrap();
        assert!(
            dup.message.contains("第2行") && dup.message.contains("第5行"),
            "{}",
            dup.message
        );
    }

    #[test]
    fn an_unusual_count_is_a_warning_not_an_error() {
        let items: Vec<_> = (0..21)
            .map(|i| input(&format!("4304821{i:02}000"), &format!("{i}镇")))
            .collect();
        let p = validate_roster(&items, None);
        assert!(p.iter().all(|p| !p.is_error()));
        assert!(p.iter().any(|p| p.code == ProblemCode::UnusualCount));
    }
}
