//! Resident comments (评论/留言) under the live feed, moderated first (先审后发): what a
//! resident may submit, how a mobile number is checked and masked, the moderation state
//! machine, and the one rule everything else leans on: a comment is public only when it is
//! approved and the comment area is open. See DOMAIN.md, "Rules for public comments".

use crate::problem::{Problem, ProblemCode};
use serde::{Deserialize, Serialize};
use specta::Type;

/// Longest nickname, in characters.
pub const MAX_NICKNAME_CHARS: usize = 20;
/// Shortest comment text, in characters.
pub const MIN_TEXT_CHARS: usize = 2;
/// Longest comment text, in characters.
pub const MAX_TEXT_CHARS: usize = 500;
/// Longest rejection, report or appeal reason, in characters.
pub const MAX_REASON_CHARS: usize = 200;
/// Longest reply of a township to a suggestion, in characters.
pub const MAX_REPLY_CHARS: usize = 2000;
/// Longest department name under a 官方回复, in characters.
pub const MAX_DEPARTMENT_CHARS: usize = 30;
/// Longest mute (禁言), in days: what a moderator may choose, and all a synced mute may hold.
pub const MAX_MUTE_DAYS: u32 = 365;
/// Days comments, numbers and decisions are kept (network-log rules: at least six months).
pub const RETENTION_DAYS: u32 = 180;
/// The target of a comment or like about the event as a whole rather than one post.
pub const EVENT_TARGET: &str = "event";

/// What a resident says the comment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum CommentKind {
    /// 点赞家乡: praise.
    Praise,
    /// 意见建议: a suggestion, handed to a township and answered.
    Suggestion,
    /// 其他.
    Other,
}

impl CommentKind {
    /// The word stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CommentKind::Praise => "praise",
            CommentKind::Suggestion => "suggestion",
            CommentKind::Other => "other",
        }
    }

    /// Parses the stored word.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "praise" => Some(CommentKind::Praise),
            "suggestion" => Some(CommentKind::Suggestion),
            "other" => Some(CommentKind::Other),
            _ => None,
        }
    }

    /// The Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            CommentKind::Praise => "点赞家乡",
            CommentKind::Suggestion => "意见建议",
            CommentKind::Other => "其他",
        }
    }
}

/// Where a comment is in moderation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum CommentStatus {
    /// 待审核: every comment starts here; also after an appeal.
    Pending,
    /// 审核通过: shown while the comment area is open.
    Approved,
    /// 已驳回: never shown; the resident may appeal once.
    Rejected,
}

impl CommentStatus {
    /// The word stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CommentStatus::Pending => "pending",
            CommentStatus::Approved => "approved",
            CommentStatus::Rejected => "rejected",
        }
    }

    /// Parses the stored word.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(CommentStatus::Pending),
            "approved" => Some(CommentStatus::Approved),
            "rejected" => Some(CommentStatus::Rejected),
            _ => None,
        }
    }

    /// The Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            CommentStatus::Pending => "待审核",
            CommentStatus::Approved => "审核通过",
            CommentStatus::Rejected => "已驳回",
        }
    }
}

/// How far a suggestion has got with the township (交办 → 办理中 → 已回复).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum Handling {
    /// 待交办: not yet handed to a township.
    Open,
    /// 办理中: handed to a township (交办), no reply yet.
    InProgress,
    /// 已回复: the township's reply is recorded.
    Answered,
}

impl Handling {
    /// The word stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Handling::Open => "open",
            Handling::InProgress => "in_progress",
            Handling::Answered => "answered",
        }
    }

    /// Parses the stored word.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(Handling::Open),
            "in_progress" => Some(Handling::InProgress),
            "answered" => Some(Handling::Answered),
            _ => None,
        }
    }

    /// The Chinese label.
    pub fn label(self) -> &'static str {
        match self {
            Handling::Open => "待交办",
            Handling::InProgress => "办理中",
            Handling::Answered => "已回复",
        }
    }
}

/// What a resident submits. Unknown fields are refused where this is parsed from JSON, so
/// nobody can send `"approved": true`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(deny_unknown_fields)]
pub struct CommentInput {
    /// A post id, or [`EVENT_TARGET`] for the event as a whole.
    pub target: String,
    /// Shown publicly; 1–20 characters.
    pub nickname: String,
    /// 点赞家乡 / 意见建议 / 其他.
    pub kind: CommentKind,
    /// 2–500 characters.
    pub text: String,
    /// The township the comment concerns, if the resident picked one.
    #[serde(default)]
    pub township_id: Option<String>,
    /// Mainland mobile number (后台实名); never shown publicly.
    pub phone: String,
}

/// A comment as moderators see it in the desktop app: the number masked, everything about
/// its moderation and, for a suggestion, its handling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Comment {
    /// UUIDv7.
    pub id: String,
    /// A post id or [`EVENT_TARGET`].
    pub target: String,
    /// Nickname shown publicly.
    pub nickname: String,
    /// 点赞家乡 / 意见建议 / 其他.
    pub kind: CommentKind,
    /// The cleaned text.
    pub text: String,
    /// The township the resident picked.
    pub township_id: Option<String>,
    /// 138****1234.
    pub phone_masked: String,
    /// False (未验证) when no SMS provider checked the number.
    pub phone_verified: bool,
    /// Sensitive words hit when it was submitted.
    pub flagged_words: Vec<String>,
    /// 待审核 / 审核通过 / 已驳回.
    pub status: CommentStatus,
    /// 置顶.
    pub pinned: bool,
    /// The resident appealed a rejection (申诉).
    pub appealed: bool,
    /// What the resident wrote in the appeal.
    pub appeal_reason: Option<String>,
    /// Why it was rejected.
    pub reject_reason: Option<String>,
    /// When it was last decided, RFC 3339.
    pub decided_at: Option<String>,
    /// Who decided.
    pub decided_by: Option<String>,
    /// Reports (举报) not yet looked at.
    pub open_reports: u32,
    /// For suggestions: 待交办 / 办理中 / 已回复.
    pub handling: Option<Handling>,
    /// The township it was handed to (交办).
    pub assigned_to: Option<String>,
    /// When it was handed over, RFC 3339.
    pub assigned_at: Option<String>,
    /// The township's reply.
    pub reply: Option<String>,
    /// When the reply was recorded, RFC 3339.
    pub replied_at: Option<String>,
    /// The department that gave a 官方回复 (an ordinary comment's reply); `None` for a
    /// suggestion's, which its township gives.
    pub reply_department: Option<String>,
    /// When it was submitted, RFC 3339.
    pub created_at: String,
    /// Increments on every change.
    pub version: i32,
}

impl Comment {
    /// Its moderation state.
    pub fn mod_state(&self) -> ModState {
        ModState {
            status: self.status,
            pinned: self.pinned,
            appealed: self.appealed,
        }
    }
}

/// A comment as residents see it: nickname, time, text and, for a suggestion, the reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct PublicComment {
    /// UUIDv7.
    pub id: String,
    /// A post id or [`EVENT_TARGET`].
    pub target: String,
    /// Nickname.
    pub nickname: String,
    /// 点赞家乡 / 意见建议 / 其他.
    pub kind: CommentKind,
    /// The cleaned text.
    pub text: String,
    /// Name of the township it concerns.
    pub township: Option<String>,
    /// When it was submitted, RFC 3339.
    pub created_at: String,
    /// 置顶.
    pub pinned: bool,
    /// The township's reply to a suggestion, once there is one.
    pub reply: Option<PublicReply>,
}

/// A reply under a comment: a township's to a suggestion handed over, or a 官方回复.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct PublicReply {
    /// Who answered: the township, or the department of a 官方回复.
    pub township: Option<String>,
    /// A 官方回复 (a moderator's answer in a department's name).
    pub official: bool,
    /// The reply.
    pub text: String,
    /// When, RFC 3339.
    pub at: String,
}

/// A resident's own comment, as their phone sees it: its status, and why it was rejected,
/// so they can appeal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct OwnComment {
    /// UUIDv7.
    pub id: String,
    /// A post id or [`EVENT_TARGET`].
    pub target: String,
    /// The text.
    pub text: String,
    /// 待审核 / 审核通过 / 已驳回.
    pub status: CommentStatus,
    /// Why it was rejected.
    pub reject_reason: Option<String>,
    /// The one appeal is used.
    pub appealed: bool,
    /// When it was submitted, RFC 3339.
    pub created_at: String,
    /// The reply under it, once there is one (官方回复 or a township's).
    pub reply: Option<PublicReply>,
}

/// One line of the moderation record: who did what, when and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct ModLogEntry {
    /// UUIDv7.
    pub id: String,
    /// RFC 3339.
    pub at: String,
    /// Who.
    pub actor: String,
    /// approve, reject, pin, unpin, appeal, report, mute, unmute, close, reopen, assign,
    /// reply, words.
    pub action: String,
    /// The comment, if the action was about one.
    pub comment_id: Option<String>,
    /// The number concerned, masked.
    pub phone_masked: Option<String>,
    /// The reason given.
    pub reason: Option<String>,
    /// Anything else (e.g. muted until when).
    pub detail: Option<String>,
}

/// A muted number (禁言).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Mute {
    /// Opaque key to lift the mute with.
    pub key: String,
    /// 138****1234.
    pub phone_masked: String,
    /// Muted until, RFC 3339.
    pub until: String,
    /// Why.
    pub reason: String,
    /// When it was set, RFC 3339.
    pub at: String,
    /// By whom.
    pub by: String,
    /// The author's approved comments are hidden from residents while the mute lasts.
    pub hide_comments: bool,
}

/// Characters that change how text is displayed without being seen: bidirectional
/// overrides and isolates, zero-width spaces and joiners, the BOM, soft hyphen.
pub fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// Removes invisible and control characters (line breaks in `text` survive, at most two in
/// a row), unifies line breaks and trims. What is stored and shown is this cleaned text, so
/// a right-to-left override can never flip a nickname on the page.
pub fn clean_text(s: &str, keep_newlines: bool) -> String {
    let unified = s.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(unified.len());
    let mut newlines = 0;
    for c in unified.chars() {
        if c == '\n' {
            if keep_newlines {
                newlines += 1;
                if newlines <= 2 {
                    out.push('\n');
                }
            } else if !out.ends_with(' ') {
                out.push(' ');
            }
            continue;
        }
        if is_invisible(c) || c.is_control() {
            continue;
        }
        newlines = 0;
        out.push(c);
    }
    out.trim().to_string()
}

/// True for a mainland China mobile number: 11 digits starting 13–19.
pub fn is_mobile(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 11
        && b.iter().all(u8::is_ascii_digit)
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
}

/// Accepts `+86`, spaces and dashes around a mobile number and returns its 11 digits.
pub fn normalize_mobile(s: &str) -> Option<String> {
    let digits: String = s
        .trim()
        .trim_start_matches("+86")
        .chars()
        .filter(|c| !matches!(c, ' ' | '-'))
        .collect();
    is_mobile(&digits).then_some(digits)
}

/// The number as moderators see it: 138****1234.
pub fn mask_mobile(s: &str) -> String {
    if is_mobile(s) {
        format!("{}****{}", &s[..3], &s[7..])
    } else {
        "***".to_string()
    }
}

/// True for a number in the masked form [`mask_mobile`] gives (three digits, `****`, four
/// digits): what a comment's replica on another device holds instead of the number.
pub fn is_masked_mobile(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 11
        && b[..3].iter().all(u8::is_ascii_digit)
        && &b[3..7] == b"****"
        && b[7..].iter().all(u8::is_ascii_digit)
}

/// The masked form of a stored number, full (the site host's row) or already masked (a
/// replica's): never the full number.
pub fn masked_form(s: &str) -> String {
    if is_masked_mobile(s) {
        s.to_string()
    } else {
        mask_mobile(s)
    }
}

impl CommentInput {
    /// Cleans the text fields (see [`clean_text`]) and the number.
    pub fn normalized(mut self) -> Self {
        self.target = self.target.trim().to_string();
        self.nickname = clean_text(&self.nickname, false);
        self.text = clean_text(&self.text, true);
        self.township_id = self
            .township_id
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty());
        if let Some(p) = normalize_mobile(&self.phone) {
            self.phone = p;
        }
        self
    }

    /// Problems with the (normalized) input; lengths count characters, not bytes.
    pub fn validate(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let nick = self.nickname.chars().count();
        if nick == 0 {
            out.push(Problem::error(ProblemCode::Required, "昵称", "请填写昵称"));
        } else if nick > MAX_NICKNAME_CHARS {
            out.push(Problem::error(
                ProblemCode::OutOfRange,
                "昵称",
                format!("昵称最多{MAX_NICKNAME_CHARS}个字,现在{nick}个字"),
            ));
        }
        let text = self.text.chars().count();
        if text < MIN_TEXT_CHARS {
            out.push(Problem::error(
                ProblemCode::Required,
                "内容",
                format!("内容至少{MIN_TEXT_CHARS}个字"),
            ));
        } else if text > MAX_TEXT_CHARS {
            out.push(Problem::error(
                ProblemCode::OutOfRange,
                "内容",
                format!("内容最多{MAX_TEXT_CHARS}个字,现在{text}个字"),
            ));
        }
        if !is_mobile(&self.phone) {
            out.push(Problem::error(
                ProblemCode::Invalid,
                "手机号",
                "请填写11位手机号码",
            ));
        }
        if self.target != EVENT_TARGET && !crate::ids::is_id(&self.target) {
            out.push(Problem::error(
                ProblemCode::Invalid,
                "评论对象",
                "评论的直播不存在",
            ));
        }
        if let Some(t) = &self.township_id {
            if !crate::ids::is_id(t) {
                out.push(Problem::error(ProblemCode::Invalid, "乡镇", "乡镇不存在"));
            }
        }
        out
    }
}

/// Checks a free-text reason (rejection, report, appeal): cleaned, 1–200 characters.
pub fn clean_reason(reason: &str, field: &str) -> Result<String, Problem> {
    let r = clean_text(reason, false);
    let n = r.chars().count();
    if n == 0 {
        Err(Problem::error(
            ProblemCode::Required,
            field,
            format!("请填写{field}"),
        ))
    } else if n > MAX_REASON_CHARS {
        Err(Problem::error(
            ProblemCode::OutOfRange,
            field,
            format!("{field}最多{MAX_REASON_CHARS}个字"),
        ))
    } else {
        Ok(r)
    }
}

/// Reasons a moderator picks from when rejecting; free text is allowed too.
pub const REJECT_REASONS: [&str; 6] = [
    "含敏感词或不文明用语",
    "与观摩会内容无关",
    "含广告或联系方式",
    "涉及他人隐私",
    "重复内容",
    "信息不实",
];

/// What a moderator or resident does to a comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModAction {
    /// 审核通过.
    Approve,
    /// 驳回 (also takes an approved comment down).
    Reject,
    /// 置顶, approved comments only.
    Pin,
    /// 取消置顶.
    Unpin,
    /// 申诉: the resident asks for a rejected comment to be looked at again (once).
    Appeal,
}

impl ModAction {
    /// The moderator's decisions that replicate between devices, by the name the change log
    /// and the op log use for them.
    pub const DECISIONS: [ModAction; 4] = [
        ModAction::Approve,
        ModAction::Reject,
        ModAction::Pin,
        ModAction::Unpin,
    ];

    /// Name in the change log and the moderation record.
    pub fn as_str(self) -> &'static str {
        match self {
            ModAction::Approve => "approve",
            ModAction::Reject => "reject",
            ModAction::Pin => "pin",
            ModAction::Unpin => "unpin",
            ModAction::Appeal => "appeal",
        }
    }

    /// A moderator's decision by its name (`appeal` is a resident's, not a decision).
    pub fn parse_decision(s: &str) -> Option<ModAction> {
        ModAction::DECISIONS.into_iter().find(|a| a.as_str() == s)
    }
}

/// Why a moderation action is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModError {
    /// Approving what is already approved, and similar no-ops.
    #[error("这条评论已是该状态")]
    Unchanged,
    /// Pinning a comment that is not shown.
    #[error("只有审核通过的评论才能置顶")]
    NotApproved,
    /// Appealing a comment that was not rejected, or a second time.
    #[error("只有被驳回的评论可以申诉,且只能申诉一次")]
    NoAppeal,
}

/// The moderation state of one comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ModState {
    /// Status.
    pub status: CommentStatus,
    /// Pinned (置顶); only while approved.
    pub pinned: bool,
    /// The resident has used their one appeal.
    pub appealed: bool,
}

impl ModState {
    /// A new comment: pending, not pinned, no appeal.
    pub const NEW: ModState = ModState {
        status: CommentStatus::Pending,
        pinned: false,
        appealed: false,
    };
}

/// The state after `action`, or why it is refused. Rejecting unpins; an appeal puts a
/// rejected comment back in the queue (pending) once.
pub fn transition(s: ModState, action: ModAction) -> Result<ModState, ModError> {
    use CommentStatus as S;
    use ModAction as A;
    match (s.status, action) {
        (S::Approved, A::Approve) | (S::Rejected, A::Reject) => Err(ModError::Unchanged),
        (S::Pending | S::Rejected, A::Approve) => Ok(ModState {
            status: S::Approved,
            ..s
        }),
        (S::Pending | S::Approved, A::Reject) => Ok(ModState {
            status: S::Rejected,
            pinned: false,
            ..s
        }),
        (S::Approved, A::Pin) if !s.pinned => Ok(ModState { pinned: true, ..s }),
        (S::Approved, A::Unpin) if s.pinned => Ok(ModState { pinned: false, ..s }),
        (S::Approved, A::Pin | A::Unpin) => Err(ModError::Unchanged),
        (S::Pending | S::Rejected, A::Pin | A::Unpin) => Err(ModError::NotApproved),
        (S::Rejected, A::Appeal) if !s.appealed => Ok(ModState {
            status: S::Pending,
            pinned: false,
            appealed: true,
        }),
        (_, A::Appeal) => Err(ModError::NoAppeal),
    }
}

/// The one visibility rule: shown publicly only when approved and the area is open.
pub fn is_public(status: CommentStatus, area_open: bool) -> bool {
    area_open && status == CommentStatus::Approved
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn input() -> CommentInput {
        CommentInput {
            target: EVENT_TARGET.into(),
            nickname: "宜阳居民".into(),
            kind: CommentKind::Praise,
            text: "为美丽宜阳点赞!".into(),
            township_id: None,
            phone: "13812341234".into(),
        }
    }

    #[test]
    fn a_masked_number_is_recognised_and_a_full_one_is_never_passed_on() {
        assert!(is_masked_mobile("138****5678"));
        assert!(!is_masked_mobile("13812345678"));
        assert!(!is_masked_mobile("138***45678"));
        assert!(!is_masked_mobile("138****567"));
        assert!(!is_masked_mobile("abc****5678"));
        assert_eq!(masked_form("13812345678"), "138****5678");
        assert_eq!(masked_form("138****5678"), "138****5678");
        assert_eq!(masked_form("garbage"), "***");
    }

    #[test]
    fn decisions_read_back_their_names_and_an_appeal_is_not_one() {
        for a in ModAction::DECISIONS {
            assert_eq!(ModAction::parse_decision(a.as_str()), Some(a));
        }
        assert_eq!(ModAction::parse_decision("appeal"), None);
        assert_eq!(ModAction::parse_decision("mute"), None);
    }

    #[test]
    fn a_valid_comment_has_no_problems() {
        assert!(input().normalized().validate().is_empty());
    }

    #[test]
    fn lengths_count_characters_not_bytes() {
        let mut i = input();
        i.nickname = "一二三四五六七八九十一二三四五六七八九十".into();
        i.text = "字".repeat(MAX_TEXT_CHARS);
        assert!(i.clone().normalized().validate().is_empty());
        i.nickname.push('多');
        i.text.push('多');
        let p = i.normalized().validate();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p.iter().all(|p| p.code == ProblemCode::OutOfRange));
        let mut i = input();
        i.text = "好".into();
        assert_eq!(i.validate()[0].location, "内容");
    }

    #[test]
    fn invisible_and_override_characters_are_removed() {
        let mut i = input();
        i.nickname = "\u{202E}abc\u{200B}d\u{2066}".into();
        i.text = " 第一段\r\n\r\n\r\n\r\n第二段\u{0007} ".into();
        let n = i.normalized();
        assert_eq!(n.nickname, "abcd");
        assert_eq!(n.text, "第一段\n\n第二段");
    }

    #[test]
    fn mobile_numbers_are_checked_normalized_and_masked() {
        assert_eq!(
            normalize_mobile("+86 138-1234-1234").as_deref(),
            Some("13812341234")
        );
        for bad in [
            "",
            "12812341234",
            "1381234123",
            "138123412345",
            "1381234123x",
        ] {
            assert!(normalize_mobile(bad).is_none(), "{bad}");
        }
        assert_eq!(mask_mobile("13812341234"), "138****1234");
        assert_eq!(mask_mobile("garbage"), "***");
        let mut i = input();
        i.phone = "12345".into();
        assert_eq!(i.normalized().validate()[0].location, "手机号");
    }

    #[test]
    fn a_bad_target_is_refused() {
        let mut i = input();
        i.target = "../posts".into();
        assert_eq!(i.validate()[0].location, "评论对象");
    }

    #[test]
    fn unknown_fields_such_as_approved_are_refused() {
        let json = r#"{"target":"event","nickname":"a","kind":"praise","text":"很好很好",
            "phone":"13812341234","approved":true}"#;
        assert!(serde_json::from_str::<CommentInput>(json).is_err());
        let dup = r#"{"target":"event","nickname":"a","nickname":"b","kind":"praise",
            "text":"很好很好","phone":"13812341234"}"#;
        assert!(serde_json::from_str::<CommentInput>(dup).is_err());
    }

    #[test]
    fn the_state_machine_refuses_what_makes_no_sense() {
        let s = ModState::NEW;
        assert_eq!(transition(s, ModAction::Pin), Err(ModError::NotApproved));
        let a = transition(s, ModAction::Approve).unwrap();
        let p = transition(a, ModAction::Pin).unwrap();
        assert!(p.pinned);
        let r = transition(p, ModAction::Reject).unwrap();
        assert!(!r.pinned && r.status == CommentStatus::Rejected);
        let back = transition(r, ModAction::Appeal).unwrap();
        assert_eq!(back.status, CommentStatus::Pending);
        let again = transition(back, ModAction::Reject).unwrap();
        assert_eq!(
            transition(again, ModAction::Appeal),
            Err(ModError::NoAppeal)
        );
        assert_eq!(transition(a, ModAction::Appeal), Err(ModError::NoAppeal));
    }

    fn action() -> impl Strategy<Value = ModAction> {
        prop_oneof![
            Just(ModAction::Approve),
            Just(ModAction::Reject),
            Just(ModAction::Pin),
            Just(ModAction::Unpin),
            Just(ModAction::Appeal),
        ]
    }

    proptest! {
        /// Whatever happens, a pinned comment is approved, and only an approve action makes
        /// a comment approved.
        #[test]
        fn pinned_implies_approved(actions in proptest::collection::vec(action(), 0..40)) {
            let mut s = ModState::NEW;
            for a in actions {
                let before = s;
                if let Ok(next) = transition(s, a) {
                    s = next;
                }
                prop_assert!(!s.pinned || s.status == CommentStatus::Approved);
                if s.status == CommentStatus::Approved && before.status != CommentStatus::Approved {
                    prop_assert_eq!(a, ModAction::Approve);
                }
            }
        }

        /// Cleaning never leaves an invisible character and never grows the text.
        #[test]
        fn cleaning_removes_every_invisible(s in "\\PC{0,60}[\u{200B}\u{202E}\u{2066}\u{FEFF}]{0,3}\\PC{0,20}") {
            let c = clean_text(&s, true);
            prop_assert!(!c.chars().any(is_invisible));
            prop_assert!(c.chars().count() <= s.chars().count());
        }
    }
}
