//! Posts of the live image-and-text feed (图文直播): what a post holds, the limits on its
//! input, and its state machine. A post is a draft until published, may be edited while
//! published (residents then see 已更新 HH:MM) and, once retracted (撤回), never changes
//! again and is never shown. At most one published post is pinned (置顶) at a time.

use crate::problem::{Problem, ProblemCode};
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use specta::Type;

#[path = "feed_signoff.rs"]
pub mod signoff;

/// Longest body, in characters.
pub const MAX_BODY_CHARS: usize = 5000;
/// Most photos in one post (a 3 × 3 grid).
pub const MAX_PHOTOS: usize = 9;
/// Longest credit line (记者 XXX 摄), in characters.
pub const MAX_CREDIT_CHARS: usize = 40;
/// Longest stop label (【第7站·水口山镇】), in characters.
pub const MAX_STOP_LABEL_CHARS: usize = 40;
/// Length of a photo's content hash: BLAKE3-256 in lowercase hex, as the photo store names it.
pub const PHOTO_HASH_LEN: usize = 64;

/// Beijing time (UTC+8, no daylight saving): the clock residents read times in.
pub const BEIJING: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    // Evaluated at compile time: 8 h is a valid offset, so this never builds.
    None => panic!("UTC+8 is a valid offset"),
};

/// Where a post is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum PostStatus {
    /// Being written; only the desktop app sees it (草稿).
    Draft,
    /// Submitted for sign-off (待审); stored as a draft, its stage comes from its steps (see
    /// [`signoff`]). Only the desktop app sees it, and its content is locked.
    Pending,
    /// Shown to residents (已发布).
    Published,
    /// Taken down (已撤回); kept internally with who and when, never shown again.
    Retracted,
}

impl PostStatus {
    /// The word stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            PostStatus::Draft => "draft",
            PostStatus::Pending => "pending",
            PostStatus::Published => "published",
            PostStatus::Retracted => "retracted",
        }
    }

    /// Parses the stored word.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "draft" => Some(PostStatus::Draft),
            "pending" => Some(PostStatus::Pending),
            "published" => Some(PostStatus::Published),
            "retracted" => Some(PostStatus::Retracted),
            _ => None,
        }
    }

    /// The Chinese label shown in the app.
    pub fn label(self) -> &'static str {
        match self {
            PostStatus::Draft => "草稿",
            PostStatus::Pending => "待审",
            PostStatus::Published => "已发布",
            PostStatus::Retracted => "已撤回",
        }
    }
}

/// A post of the live feed, as the desktop app sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Post {
    /// UUIDv7.
    pub id: String,
    /// Stop label such as 【第7站·水口山镇】.
    pub stop_label: Option<String>,
    /// The township the post is about, if any.
    pub township_id: Option<String>,
    /// Plain text; paragraphs are separated by line breaks.
    pub body: String,
    /// Content hashes of the photos, in grid order.
    pub photos: Vec<String>,
    /// Credit line, e.g. 记者 李明 摄.
    pub credit: String,
    /// Draft, published or retracted.
    pub status: PostStatus,
    /// Shown first (置顶).
    pub pinned: bool,
    /// When the draft was started, RFC 3339.
    pub created_at: String,
    /// When it was first published, RFC 3339.
    pub published_at: Option<String>,
    /// When its content was last edited after publishing, RFC 3339 (residents see 已更新).
    pub updated_at: Option<String>,
    /// When it was retracted, RFC 3339.
    pub retracted_at: Option<String>,
    /// Who retracted it.
    pub retracted_by: Option<String>,
    /// Increments on every change.
    pub version: i32,
    /// Where it is in its sign-off (审核流程) and who signed it off.
    pub signoff: PostSignoff,
}

/// A post's sign-off as the app and the resident page show it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, Type)]
pub struct PostSignoff {
    /// Levels approved in this round (0 for a draft, 1 once submitted).
    pub levels_done: i32,
    /// 责任编辑: who approved 二审.
    pub editor: Option<String>,
    /// 审核: who approved 三审.
    pub approver: Option<String>,
    /// Why it was sent back (退回), while it is a draft again.
    pub returned_reason: Option<String>,
    /// Whether the organiser has 责任编辑 and 审核 printed under posts (审核流程 setting).
    pub print_footer: bool,
}

/// What media staff enter for a post.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, Type)]
pub struct PostInput {
    /// Stop label; blank means none.
    pub stop_label: Option<String>,
    /// The township the post is about; blank means none.
    pub township_id: Option<String>,
    /// Plain paragraphs.
    pub body: String,
    /// Content hashes of already imported photos, in grid order.
    pub photos: Vec<String>,
    /// Credit line.
    pub credit: String,
}

impl PostInput {
    /// Trims text, unifies line breaks, and turns blank optional fields into `None`.
    pub fn normalized(mut self) -> Self {
        self.body = self.body.replace("\r\n", "\n").replace('\r', "\n");
        self.body = self.body.trim().to_string();
        self.credit = self.credit.trim().to_string();
        self.stop_label = self
            .stop_label
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        self.township_id = self
            .township_id
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        self.photos = self
            .photos
            .into_iter()
            .map(|p| p.trim().to_string())
            .collect();
        self
    }

    /// Problems with the input, located by field; empty when it may be saved.
    pub fn validate(&self) -> Vec<Problem> {
        let mut out = Vec::new();
        let body_chars = self.body.chars().count();
        if body_chars == 0 {
            out.push(Problem::error(
                ProblemCode::Required,
                "正文",
                "正文不能为空",
            ));
        } else if body_chars > MAX_BODY_CHARS {
            out.push(Problem::error(
                ProblemCode::OutOfRange,
                "正文",
                format!("正文不能超过{MAX_BODY_CHARS}个字(现有{body_chars}个字)"),
            ));
        }
        if self.photos.len() > MAX_PHOTOS {
            out.push(Problem::error(
                ProblemCode::OutOfRange,
                "图片",
                format!("每条直播最多{MAX_PHOTOS}张图片"),
            ));
        }
        for (i, hash) in self.photos.iter().enumerate() {
            if !is_photo_hash(hash) {
                out.push(Problem::error(
                    ProblemCode::Invalid,
                    format!("图片 {}", i + 1),
                    "图片标识无效,请重新选择图片",
                ));
            } else if self.photos[..i].contains(hash) {
                out.push(Problem::error(
                    ProblemCode::Duplicate,
                    format!("图片 {}", i + 1),
                    "同一张图片添加了两次",
                ));
            }
        }
        if self.credit.chars().count() > MAX_CREDIT_CHARS {
            out.push(Problem::error(
                ProblemCode::OutOfRange,
                "署名",
                format!("署名不能超过{MAX_CREDIT_CHARS}个字"),
            ));
        }
        if let Some(label) = &self.stop_label {
            if label.chars().count() > MAX_STOP_LABEL_CHARS {
                out.push(Problem::error(
                    ProblemCode::OutOfRange,
                    "站点标签",
                    format!("站点标签不能超过{MAX_STOP_LABEL_CHARS}个字"),
                ));
            }
        }
        out
    }
}

/// True when `s` looks like a photo content hash: exactly [`PHOTO_HASH_LEN`] lowercase hex
/// digits. This is also what keeps a hash from ever naming a path (`..`, `/`).
pub fn is_photo_hash(s: &str) -> bool {
    s.len() == PHOTO_HASH_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The stop label of a township at `position` on the route: 【第7站·水口山镇】.
pub fn stop_label_for(position: i32, name: &str) -> String {
    format!("【第{position}站·{}】", name.trim())
}

/// The paragraphs of a body: its non-blank lines, trimmed.
pub fn paragraphs(body: &str) -> Vec<&str> {
    body.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

/// An RFC 3339 instant as HH:MM in Beijing time; `None` when it does not parse.
pub fn beijing_hhmm(rfc3339: &str) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(rfc3339).ok()?;
    Some(t.with_timezone(&BEIJING).format("%H:%M").to_string())
}

/// An RFC 3339 instant as residents read a post's time, e.g. `12月4日 09:05` (Beijing time):
/// the tour runs over two days, so the day is always shown.
pub fn beijing_stamp(rfc3339: &str) -> Option<String> {
    let t = DateTime::parse_from_rfc3339(rfc3339).ok()?;
    Some(
        t.with_timezone(&BEIJING)
            .format("%-m月%-d日 %H:%M")
            .to_string(),
    )
}

/// When a published post was edited, as shown after 已更新: `HH:MM` on the day it was
/// published, with the day (`12月5日 08:10`) when the edit came on a later day.
pub fn beijing_update_stamp(published: &str, updated: &str) -> Option<String> {
    let p = DateTime::parse_from_rfc3339(published)
        .ok()?
        .with_timezone(&BEIJING);
    let u = DateTime::parse_from_rfc3339(updated)
        .ok()?
        .with_timezone(&BEIJING);
    if p.date_naive() == u.date_naive() {
        beijing_hhmm(updated)
    } else {
        beijing_stamp(updated)
    }
}

/// Something media staff do to a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostAction {
    /// Change the content.
    Edit,
    /// Show it to residents.
    Publish,
    /// Take it down.
    Retract,
    /// Show it first.
    Pin,
    /// Stop showing it first.
    Unpin,
}

/// Why an action is refused in the post's current state; the message is for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// A retracted post never changes again.
    #[error("这条直播已撤回,不能再修改")]
    Retracted,
    /// Publishing twice.
    #[error("这条直播已经发布")]
    AlreadyPublished,
    /// Retracting or pinning a post residents never saw.
    #[error("草稿尚未发布,不能撤回或置顶")]
    NotPublished,
    /// Unpinning a post that is not pinned.
    #[error("这条直播没有置顶")]
    NotPinned,
    /// Editing or publishing a post while it is under review (待审).
    #[error("这条直播正在审核中,退回后才能修改")]
    UnderReview,
}

/// The status after `action`, or why `action` is refused. Pinning is only for published
/// posts; retracting also unpins (the caller clears the flag).
pub fn transition(
    status: PostStatus,
    pinned: bool,
    action: PostAction,
) -> Result<PostStatus, TransitionError> {
    use PostAction as A;
    use PostStatus as S;
    match (status, action) {
        (S::Retracted, _) => Err(TransitionError::Retracted),
        (S::Draft, A::Edit) => Ok(S::Draft),
        (S::Draft, A::Publish) => Ok(S::Published),
        (S::Draft, A::Retract | A::Pin) => Err(TransitionError::NotPublished),
        (S::Draft, A::Unpin) => Err(TransitionError::NotPinned),
        (S::Pending, A::Edit | A::Publish) => Err(TransitionError::UnderReview),
        (S::Pending, A::Retract | A::Pin) => Err(TransitionError::NotPublished),
        (S::Pending, A::Unpin) => Err(TransitionError::NotPinned),
        (S::Published, A::Edit | A::Pin) => Ok(S::Published),
        (S::Published, A::Publish) => Err(TransitionError::AlreadyPublished),
        (S::Published, A::Retract) => Ok(S::Retracted),
        (S::Published, A::Unpin) if pinned => Ok(S::Published),
        (S::Published, A::Unpin) => Err(TransitionError::NotPinned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(c: char) -> String {
        std::iter::repeat_n(c, PHOTO_HASH_LEN).collect()
    }

    fn input(body: &str) -> PostInput {
        PostInput {
            body: body.into(),
            credit: "记者 李明 摄".into(),
            ..PostInput::default()
        }
    }

    #[test]
    fn the_stop_label_names_the_position_and_township() {
        assert_eq!(stop_label_for(7, "水口山镇"), "【第7站·水口山镇】");
        assert_eq!(stop_label_for(22, " 塔山瑶族乡 "), "【第22站·塔山瑶族乡】");
    }

    #[test]
    fn a_valid_post_has_no_problems() {
        let mut i = input("今天上午,观摩团来到水口山镇。");
        i.photos = vec![hash('a'), hash('1')];
        i.stop_label = Some(stop_label_for(6, "水口山镇"));
        assert!(i.validate().is_empty(), "{:?}", i.validate());
    }

    #[test]
    fn an_empty_or_too_long_body_is_refused() {
        let p = input("   ").normalized().validate();
        assert_eq!(p[0].code, ProblemCode::Required);
        let long: String = std::iter::repeat_n('字', MAX_BODY_CHARS + 1).collect();
        let p = input(&long).validate();
        assert_eq!(p[0].code, ProblemCode::OutOfRange);
        let exact: String = std::iter::repeat_n('字', MAX_BODY_CHARS).collect();
        assert!(
            input(&exact).validate().is_empty(),
            "5000 characters are allowed"
        );
    }

    #[test]
    fn ten_photos_a_bad_hash_or_a_repeated_photo_are_refused() {
        let mut i = input("正文");
        i.photos = "0123456789".chars().map(hash).collect();
        assert!(i.validate().iter().any(|p| p.location == "图片"));
        for bad in ["../etc/passwd", "ABCDEF", &hash('g'), &hash('a')[1..]] {
            i.photos = vec![bad.to_string()];
            assert_eq!(i.validate()[0].code, ProblemCode::Invalid, "{bad}");
        }
        i.photos = vec![hash('b'), hash('b')];
        assert_eq!(i.validate()[0].code, ProblemCode::Duplicate);
    }

    #[test]
    fn a_long_credit_or_stop_label_is_refused() {
        let mut i = input("正文");
        i.credit = std::iter::repeat_n('名', MAX_CREDIT_CHARS + 1).collect();
        i.stop_label = Some(std::iter::repeat_n('站', MAX_STOP_LABEL_CHARS + 1).collect());
        let p = i.validate();
        assert!(p.iter().any(|p| p.location == "署名"));
        assert!(p.iter().any(|p| p.location == "站点标签"));
    }

    #[test]
    fn normalizing_trims_and_drops_blank_optional_fields() {
        let i = PostInput {
            stop_label: Some("  ".into()),
            township_id: Some("".into()),
            body: "\r\n第一段\r\n\r\n第二段\r\n".into(),
            photos: vec![],
            credit: " 记者 李明 摄 ".into(),
        }
        .normalized();
        assert_eq!(i.stop_label, None);
        assert_eq!(i.township_id, None);
        assert_eq!(i.body, "第一段\n\n第二段");
        assert_eq!(i.credit, "记者 李明 摄");
        assert_eq!(paragraphs(&i.body), vec!["第一段", "第二段"]);
    }

    #[test]
    fn times_are_shown_in_beijing_time() {
        assert_eq!(
            beijing_hhmm("2024-12-04T01:05:00.000Z").as_deref(),
            Some("09:05")
        );
        assert_eq!(
            beijing_hhmm("2024-12-04T16:30:00Z").as_deref(),
            Some("00:30"),
            "past midnight UTC+8 is the next day"
        );
        assert_eq!(beijing_hhmm("not a time"), None);
        assert_eq!(
            beijing_stamp("2026-12-04T01:05:00Z").as_deref(),
            Some("12月4日 09:05")
        );
        assert_eq!(
            beijing_update_stamp("2026-12-04T01:05:00Z", "2026-12-04T08:00:00Z").as_deref(),
            Some("16:00"),
            "an edit the same day shows the time only"
        );
        assert_eq!(
            beijing_update_stamp("2026-12-04T01:05:00Z", "2026-12-04T16:10:00Z").as_deref(),
            Some("12月5日 00:10"),
            "an edit on day 2 shows its day"
        );
    }

    #[test]
    fn a_draft_is_published_then_retracted_and_never_changes_again() {
        use PostAction as A;
        use PostStatus as S;
        assert_eq!(transition(S::Draft, false, A::Edit), Ok(S::Draft));
        assert_eq!(transition(S::Draft, false, A::Publish), Ok(S::Published));
        assert_eq!(transition(S::Published, false, A::Edit), Ok(S::Published));
        assert_eq!(transition(S::Published, true, A::Retract), Ok(S::Retracted));
        for a in [A::Edit, A::Publish, A::Retract, A::Pin, A::Unpin] {
            assert_eq!(
                transition(S::Retracted, false, a),
                Err(TransitionError::Retracted),
                "{a:?} on a retracted post"
            );
        }
    }

    #[test]
    fn only_published_posts_can_be_pinned_retracted_or_published_again_is_refused() {
        use PostAction as A;
        use PostStatus as S;
        assert_eq!(
            transition(S::Draft, false, A::Pin),
            Err(TransitionError::NotPublished)
        );
        assert_eq!(
            transition(S::Draft, false, A::Retract),
            Err(TransitionError::NotPublished)
        );
        assert_eq!(
            transition(S::Published, false, A::Publish),
            Err(TransitionError::AlreadyPublished)
        );
        assert_eq!(transition(S::Published, false, A::Pin), Ok(S::Published));
        assert_eq!(
            transition(S::Published, false, A::Unpin),
            Err(TransitionError::NotPinned)
        );
        assert_eq!(transition(S::Published, true, A::Unpin), Ok(S::Published));
    }

    #[test]
    fn status_words_round_trip() {
        for s in [
            PostStatus::Draft,
            PostStatus::Pending,
            PostStatus::Published,
            PostStatus::Retracted,
        ] {
            assert_eq!(PostStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(PostStatus::parse("deleted"), None);
    }
}
