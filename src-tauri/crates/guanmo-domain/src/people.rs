//! People (人员): who takes part in the tour and in which roles, and the rules for their sign-in
//! PINs. A person is not a device: several people share the hub, and a scorer's laptop may
//! carry the sheets of more than one scorer. Every write names the person at the keyboard.

use crate::problem::{Problem, ProblemCode};
use serde::{Deserialize, Serialize};
use specta::Type;

/// The person every record made before people were kept (or made with no one signed in) is
/// assigned to: 未指定. Fixed, so every replica agrees.
pub const UNASSIGNED_ID: &str = "00000000-0000-0000-0000-000000000000";
/// Name of [`UNASSIGNED_ID`].
pub const UNASSIGNED_NAME: &str = "未指定";

/// Wrong PINs in a row before a person's sign-in locks.
pub const MAX_PIN_FAILURES: i64 = 5;
/// How long a sign-in stays locked after [`MAX_PIN_FAILURES`] wrong PINs.
pub const PIN_LOCK_MINUTES: i64 = 5;
/// Idle minutes before the app locks, unless the organiser set another value.
pub const DEFAULT_IDLE_MINUTES: i64 = 10;
/// Longest name, work unit or title, in characters.
pub const MAX_TEXT_CHARS: usize = 40;

/// What a person does at the tour.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Type,
)]
#[serde(rename_all = "snake_case")]
pub enum PersonRole {
    /// 组织方: keeps the roster, rubric and people; sees the live ranking; reveals.
    Organiser,
    /// 评分人: scores townships; sees only their own sheets.
    Scorer,
    /// 监票人: watches the count; sees progress, the sealed digest, and the tally once revealed.
    Monitor,
    /// 计票人: counts; sees the live ranking.
    Counter,
    /// 编辑: writes the live feed.
    Editor,
    /// 审核员: moderates comments.
    Moderator,
    /// 乡镇联络员: a township's contact; answers suggestions handed over.
    Liaison,
    /// 计分员: enters paper score sheets (双人录入: two 计分员 enter each sheet).
    Clerk,
    /// 签发人: signs off live-feed posts at the last level of 三审 (审核, named in the footer).
    Approver,
}

impl PersonRole {
    /// Every role, in the order the UI lists them.
    pub const ALL: [PersonRole; 9] = [
        PersonRole::Organiser,
        PersonRole::Scorer,
        PersonRole::Monitor,
        PersonRole::Counter,
        PersonRole::Editor,
        PersonRole::Moderator,
        PersonRole::Liaison,
        PersonRole::Clerk,
        PersonRole::Approver,
    ];

    /// Name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            PersonRole::Organiser => "organiser",
            PersonRole::Scorer => "scorer",
            PersonRole::Monitor => "monitor",
            PersonRole::Counter => "counter",
            PersonRole::Editor => "editor",
            PersonRole::Moderator => "moderator",
            PersonRole::Liaison => "liaison",
            PersonRole::Clerk => "clerk",
            PersonRole::Approver => "approver",
        }
    }

    /// The Chinese word, as the UI and the roster files use it.
    pub fn label(self) -> &'static str {
        match self {
            PersonRole::Organiser => "组织方",
            PersonRole::Scorer => "评分人",
            PersonRole::Monitor => "监票人",
            PersonRole::Counter => "计票人",
            PersonRole::Editor => "编辑",
            PersonRole::Moderator => "审核员",
            PersonRole::Liaison => "乡镇联络员",
            PersonRole::Clerk => "计分员",
            PersonRole::Approver => "签发人",
        }
    }

    /// Parses a stored name or a Chinese label (as a roster file writes it).
    pub fn parse(s: &str) -> Option<PersonRole> {
        let s = s.trim();
        PersonRole::ALL
            .into_iter()
            .find(|r| r.as_str() == s || r.label() == s)
    }

    /// Sees the live ranking before the reveal (组织方, 计票人).
    pub fn sees_live_ranking(self) -> bool {
        matches!(self, PersonRole::Organiser | PersonRole::Counter)
    }
}

/// A person as the organiser keeps them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Person {
    /// UUIDv7 ([`UNASSIGNED_ID`] for 未指定).
    pub id: String,
    /// 姓名.
    pub name: String,
    /// 单位.
    pub work_unit: String,
    /// 职务.
    pub title: String,
    /// Roles, in [`PersonRole::ALL`] order, no repeats.
    pub roles: Vec<PersonRole>,
    /// For a 评分人: the scorer whose sheets they fill (the scoring identity).
    pub scorer_id: Option<String>,
    /// Inactive people are kept (records name them) but cannot sign in.
    pub active: bool,
    /// Increments on every edit.
    pub version: i32,
}

impl Person {
    /// Holds `role`.
    pub fn has(&self, role: PersonRole) -> bool {
        self.roles.contains(&role)
    }

    /// 未指定.
    pub fn is_unassigned(&self) -> bool {
        self.id == UNASSIGNED_ID
    }
}

/// What the organiser enters for a person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct PersonInput {
    /// 姓名.
    pub name: String,
    /// 单位.
    pub work_unit: String,
    /// 职务.
    pub title: String,
    /// Roles.
    pub roles: Vec<PersonRole>,
    /// For a 评分人: the scorer they score as.
    pub scorer_id: Option<String>,
    /// Whether they may sign in.
    pub active: bool,
}

fn check_text(field: &str, value: &str, required: bool, problems: &mut Vec<Problem>) {
    let v = value.trim();
    if required && v.is_empty() {
        problems.push(Problem::error(
            ProblemCode::Required,
            field,
            format!("{field}不能为空"),
        ));
    }
    if v.chars().count() > MAX_TEXT_CHARS {
        problems.push(Problem::error(
            ProblemCode::OutOfRange,
            field,
            format!("{field}最多 {MAX_TEXT_CHARS} 个字"),
        ));
    }
    // `|` separates the parts of an author label (see the store's change log).
    if v.chars().any(|c| c == '|' || c.is_control()) {
        problems.push(Problem::error(
            ProblemCode::Invalid,
            field,
            format!("{field}含有不能使用的字符"),
        ));
    }
}

/// Checks a person's input; sorts and de-duplicates the roles in place.
pub fn validate_person(input: &mut PersonInput) -> Vec<Problem> {
    let mut problems = Vec::new();
    check_text("姓名", &input.name, true, &mut problems);
    check_text("单位", &input.work_unit, false, &mut problems);
    check_text("职务", &input.title, false, &mut problems);
    input.name = input.name.trim().to_string();
    input.work_unit = input.work_unit.trim().to_string();
    input.title = input.title.trim().to_string();
    input.roles.sort();
    input.roles.dedup();
    if input.roles.is_empty() {
        problems.push(Problem::error(
            ProblemCode::Required,
            "角色",
            "请至少选择一个角色",
        ));
    }
    if input.name == UNASSIGNED_NAME {
        problems.push(Problem::error(
            ProblemCode::Invalid,
            "姓名",
            "“未指定”是系统保留的名字",
        ));
    }
    if input.roles.contains(&PersonRole::Scorer) {
        if input.scorer_id.as_deref().is_none_or(str::is_empty) {
            problems.push(Problem::error(
                ProblemCode::Required,
                "对应评分人",
                "评分人须对应一名已登记的评分人员(评分 › 评分人员)",
            ));
        }
    } else {
        input.scorer_id = None;
    }
    problems
}

/// Checks a new PIN: exactly six digits, not all one digit, not a run such as 123456.
pub fn validate_pin(pin: &str) -> Result<(), Problem> {
    let bad = |m: &str| Err(Problem::error(ProblemCode::Invalid, "PIN", m));
    if pin.len() != 6 || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return bad("PIN 须为 6 位数字");
    }
    let d: Vec<i32> = pin.bytes().map(|b| i32::from(b - b'0')).collect();
    if d.iter().all(|x| *x == d[0]) {
        return bad("PIN 不能是 6 个相同数字");
    }
    let steps: Vec<i32> = d.windows(2).map(|w| w[1] - w[0]).collect();
    if steps.iter().all(|s| *s == 1) || steps.iter().all(|s| *s == -1) {
        return bad("PIN 不能是连续数字");
    }
    Ok(())
}

/// The author label of a write: the device part (`organiser`, `scorer@<device>`…) and, when
/// a person is signed in, `|<person id>|<name>` after it, so any replica can show who it was.
pub fn author_label(device_part: &str, person: Option<(&str, &str)>) -> String {
    match person {
        Some((id, name)) => format!("{device_part}|{id}|{name}"),
        None => device_part.to_string(),
    }
}

/// The person id in an author label, [`UNASSIGNED_ID`] when it names none.
pub fn person_of_label(label: &str) -> &str {
    label.split('|').nth(1).unwrap_or(UNASSIGNED_ID)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str, roles: Vec<PersonRole>) -> PersonInput {
        PersonInput {
            name: name.into(),
            work_unit: "市委办公室".into(),
            title: "副主任".into(),
            roles,
            scorer_id: None,
            active: true,
        }
    }

    #[test]
    fn roles_read_back_by_name_and_by_chinese_label() {
        for r in PersonRole::ALL {
            assert_eq!(PersonRole::parse(r.as_str()), Some(r));
            assert_eq!(PersonRole::parse(r.label()), Some(r));
        }
        assert_eq!(PersonRole::parse(" 监票人 "), Some(PersonRole::Monitor));
        assert_eq!(PersonRole::parse("领导"), None);
        let live: Vec<_> = PersonRole::ALL
            .into_iter()
            .filter(|r| r.sees_live_ranking())
            .collect();
        assert_eq!(live, vec![PersonRole::Organiser, PersonRole::Counter]);
    }

    #[test]
    fn a_person_needs_a_name_a_role_and_for_a_scorer_the_scorer_they_score_as() {
        let mut ok = input(
            " 张三 ",
            vec![
                PersonRole::Monitor,
                PersonRole::Counter,
                PersonRole::Monitor,
            ],
        );
        assert!(validate_person(&mut ok).is_empty());
        assert_eq!(ok.name, "张三");
        assert_eq!(ok.roles, vec![PersonRole::Monitor, PersonRole::Counter]);

        let mut none = input("", vec![]);
        let p = validate_person(&mut none);
        assert_eq!(
            p.iter().map(|p| p.location.as_str()).collect::<Vec<_>>(),
            vec!["姓名", "角色"]
        );

        let mut scorer = input("李四", vec![PersonRole::Scorer]);
        assert_eq!(validate_person(&mut scorer)[0].location, "对应评分人");
        scorer.scorer_id = Some("s1".into());
        assert!(validate_person(&mut scorer).is_empty());

        let mut editor = input("王五", vec![PersonRole::Editor]);
        editor.scorer_id = Some("s1".into());
        assert!(validate_person(&mut editor).is_empty());
        assert_eq!(editor.scorer_id, None, "only a 评分人 is tied to a scorer");

        for bad in ["未指定", "a|b", &"长".repeat(41)] {
            assert!(
                !validate_person(&mut input(bad, vec![PersonRole::Editor])).is_empty(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_pin_is_six_digits_that_are_not_trivial() {
        for ok in ["205817", "000100", "135790"] {
            assert!(validate_pin(ok).is_ok(), "{ok}");
        }
        for bad in [
            "12345",
            "1234567",
            "12a456",
            "111111",
            "123456",
            "987654",
            "１２３４５６",
        ] {
            assert!(validate_pin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_author_label_carries_the_person_and_reads_back() {
        let l = author_label("scorer@dev-1", Some(("p-1", "张三")));
        assert_eq!(l, "scorer@dev-1|p-1|张三");
        assert_eq!(person_of_label(&l), "p-1");
        assert_eq!(author_label("organiser", None), "organiser");
        assert_eq!(person_of_label("organiser"), UNASSIGNED_ID);
    }
}
