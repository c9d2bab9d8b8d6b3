//! The op log that sync exchanges. Every replicated write appends one operation per changed
//! aggregate in the same transaction as the write (see [`crate::WriteTx::record`]); the
//! operation carries the aggregate's whole state after the write, so applying it twice
//! changes nothing, and a device's operations apply in sequence order.
//!
//! Applying a remote operation checks, in order: already there → held back (a gap in the
//! origin's sequence, or the operation it was based on not yet here) → ownership (roster,
//! rubric, scorers and the scoring state only from the hub; a scorer's sheets only from the
//! scorer's device, where the hub may only unlock; a post only from its author's device or
//! the hub) → concurrent edits of the same record, which are flagged for a person.
//!
//! Residents' comments and moderators' decisions are records of their own shape (see
//! `crate::comments`, "Replication"): a comment is made once, by the device that runs the
//! site, with the number masked; a decision comes from the hub or a laptop the hub grants 审核,
//! and of two decisions on one comment made without seeing each other the first to reach the
//! hub stands: the other is kept unapplied, listed as a conflict and reported to its sender
//! as refused, so a published comment never flips silently. A resident's report, appeal
//! and a site's like count come only from a device that runs the resident site (an appeal
//! only from the one that took the comment), never with a phone key or a full number; an
//! appeal is a step of its comment's decision chain, and which decisions close a report is
//! decided by hybrid clock, so every replica agrees whatever the order (see
//! `crate::comments`, "举报, 申诉 and like counts").
//!
//! Scoring is 背靠背: the hub sends each device only what its role may hold
//! ([`ops_after_for`]: a scorer's laptop the sheets of the scorers assigned to it, a media
//! laptop none). A withheld operation travels as a [`stand_in`] (origin, number and clock
//! only), which a laptop logs without touching any table, so its sequence numbers stay
//! without gaps; the real operation replaces it when the laptop may hold it after all
//! (转交: [`next_refill`]).
//!
//! A concurrent edit never picks a winner by time or by value: the organiser's hub is the
//! authority, so where the hub and a laptop edited the same record without seeing each
//! other's edit the hub's version stands on every replica and the laptop's is kept in the
//! conflict record for a person to look at. Clocks only order the exchange.

use crate::{meta, trust, Result, StoreError, WriteTx};
use guanmo_domain::device::Role;
use guanmo_domain::hlc::Hlc;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

const HLC_LAST: &str = "hlc_last";

/// Operations held back per origin at most; further ones are refused until the backlog
/// drains, and an operation numbered further than this past what arrived is refused.
pub const BACKLOG_CAP: i64 = 2_000;
/// A remote clock at most this far ahead of this device's wall clock moves it.
pub const CLOCK_LEAD_MS: i64 = 10 * 60 * 1000;
/// An operation stamped further ahead than this is refused where it is judged (the hub): no
/// honest laptop's clock is a day fast, and a clock so far ahead would pin every replica's.
pub const MAX_CLOCK_AHEAD_MS: i64 = 24 * 60 * 60 * 1000;
/// Kind and verdict of a stand-in: an operation the hub withholds from a laptop (another
/// scorer's sheet, 背靠背) travels as its origin, number and clock only, so the laptop's
/// sequence stays without gaps. See [`stand_in`].
pub const WITHHELD: &str = "withheld";

/// Kinds of replicated aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The whole roster of townships (entity id `*`).
    Roster,
    /// The rubric with its categories, criteria and adjustments (entity id `1`).
    Rubric,
    /// The aggregation rule (entity id `aggregation_rule`).
    AggregationRule,
    /// One scorer.
    Scorer,
    /// Whether scoring of one township is open.
    ScoringState,
    /// A score sheet with its marks and evidence.
    Sheet,
    /// A photo's metadata (the bytes travel separately, by hash).
    Photo,
    /// A feed post with its photos.
    Post,
    /// A resident's comment as moderators need it, the number masked (made once, where the
    /// resident site took it).
    Comment,
    /// A moderator's decision on one comment (entity id: the comment's): 通过, 不通过, 置顶,
    /// 取消置顶.
    CommentDecision,
    /// The hub's 审核 (moderator) grant of one device (entity id: the device's).
    Moderator,
    /// A suggestion's follow-up after 交办 or 回复 (entity id: the comment's).
    CommentHandling,
    /// The comment area's switch (entity id `area`).
    CommentArea,
    /// One word of the sensitive-word list, in it or not (entity id: the folded word).
    CommentWord,
    /// A mute (禁言) of the author of one comment, or its lifting (entity id: the comment's).
    CommentMute,
    /// A resident's report (举报) of a shown comment (entity id: the report's), made once by
    /// the device whose site took it, without the phone key.
    CommentReport,
    /// A resident's appeal (申诉) of a rejection (entity id: the comment's), made only by the
    /// device whose site took the comment; a step of the comment's decision chain.
    CommentAppeal,
    /// One site's count of its own likes of one target (entity id: the target), never who
    /// liked.
    LikeCount,
    /// A person (人员) with their one-time sign-in code, if one is issued: the hub's. PINs
    /// never travel (they are per device).
    Person,
    /// The tour's settings (观摩日期; entity id `tour_settings`): the hub's.
    TourSettings,
    /// One sign-off step of a post (审核流程: 提交审核, 通过, 退回, 紧急发布; entity id: the
    /// step's), made once by a media laptop or the hub; the hub checks the person's right for
    /// the level and that the step follows the post's last one.
    PostStep,
    /// The 审核流程 setting (entity id `feed_signoff`): the hub's.
    FeedSettings,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 22] = [
        Kind::Roster,
        Kind::Rubric,
        Kind::AggregationRule,
        Kind::Scorer,
        Kind::ScoringState,
        Kind::Sheet,
        Kind::Photo,
        Kind::Post,
        Kind::Comment,
        Kind::CommentDecision,
        Kind::Moderator,
        Kind::CommentHandling,
        Kind::CommentArea,
        Kind::CommentWord,
        Kind::CommentMute,
        Kind::CommentReport,
        Kind::CommentAppeal,
        Kind::LikeCount,
        Kind::Person,
        Kind::TourSettings,
        Kind::PostStep,
        Kind::FeedSettings,
    ];

    /// Name in the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Roster => "roster",
            Kind::Rubric => "rubric",
            Kind::AggregationRule => "aggregation_rule",
            Kind::Scorer => "scorer",
            Kind::ScoringState => "scoring_state",
            Kind::Sheet => "sheet",
            Kind::Photo => "photo",
            Kind::Post => "post",
            Kind::Comment => "comment",
            Kind::CommentDecision => "comment_decision",
            Kind::Moderator => "moderator",
            Kind::CommentHandling => "comment_handling",
            Kind::CommentArea => "comment_area",
            Kind::CommentWord => "comment_word",
            Kind::CommentMute => "comment_mute",
            Kind::CommentReport => "comment_report",
            Kind::CommentAppeal => "comment_appeal",
            Kind::LikeCount => "like_count",
            Kind::Person => "person",
            Kind::TourSettings => "tour_settings",
            Kind::PostStep => "post_step",
            Kind::FeedSettings => "feed_settings",
        }
    }

    /// Parses a name from the log.
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The change-log entity a write of this kind announces (comments, decisions, reports
    /// and appeals announce `comment`, which the resident page and the moderation queue
    /// follow; like counts `like`, which the page's version follows).
    pub fn entity(self) -> &'static str {
        match self {
            Kind::Roster => "township",
            Kind::Comment
            | Kind::CommentDecision
            | Kind::CommentHandling
            | Kind::CommentArea
            | Kind::CommentReport
            | Kind::CommentAppeal => crate::comments::ENTITY,
            Kind::LikeCount => crate::comments::LIKE_ENTITY,
            Kind::CommentWord | Kind::CommentMute => crate::comments::SETTINGS_ENTITY,
            other => other.as_str(),
        }
    }

    /// Which aggregate a change-log row belongs to, if it is replicated. Of the comments'
    /// changes a new comment (`submit`), a moderator's decision (保留 included), a
    /// suggestion's 交办/回复, the area switch, each word of the list, each mute made from a
    /// comment, each report (by its own change, keyed by the report), an appeal and a site's
    /// like count of a target replicate; who liked stays where the like was taken.
    pub(crate) fn of_change(entity: &str, op: &str, entity_id: &str) -> Option<(Kind, String)> {
        Some(match entity {
            "township" => (Kind::Roster, "*".to_string()),
            "rubric" => (Kind::Rubric, "1".to_string()),
            "aggregation_rule" => (Kind::AggregationRule, "aggregation_rule".to_string()),
            "tour_settings" => (Kind::TourSettings, "tour_settings".to_string()),
            "scorer" => (Kind::Scorer, entity_id.to_string()),
            "person" => (Kind::Person, entity_id.to_string()),
            "scoring_state" => (Kind::ScoringState, entity_id.to_string()),
            "sheet" => (Kind::Sheet, entity_id.to_string()),
            "photo" => (Kind::Photo, entity_id.to_string()),
            // A post's sign-off moved: every replica folds the step itself.
            "post"
                if op == crate::feed::signoff::SIGNOFF
                    || op == crate::feed::signoff::SIGNOFF_PUBLISH =>
            {
                return None
            }
            "post" => (Kind::Post, entity_id.to_string()),
            "post_step" => (Kind::PostStep, entity_id.to_string()),
            "feed_settings" => (
                Kind::FeedSettings,
                crate::feed::signoff::SETTINGS_KEY.to_string(),
            ),
            "moderator" => (Kind::Moderator, entity_id.to_string()),
            crate::comments::ENTITY if op == "submit" => (Kind::Comment, entity_id.to_string()),
            crate::comments::ENTITY
                if guanmo_domain::comments::ModAction::parse_decision(op).is_some() =>
            {
                (Kind::CommentDecision, entity_id.to_string())
            }
            crate::comments::ENTITY if op == crate::comments::DISMISS_REPORTS => {
                (Kind::CommentDecision, entity_id.to_string())
            }
            crate::comments::ENTITY if op == "appeal" => {
                (Kind::CommentAppeal, entity_id.to_string())
            }
            crate::comments::REPORT_ENTITY if op == "report" => {
                (Kind::CommentReport, entity_id.to_string())
            }
            crate::comments::LIKE_ENTITY if op == "like" => {
                (Kind::LikeCount, entity_id.to_string())
            }
            crate::comments::ENTITY
                if op == "assign" || op == "reply" || op == crate::comments::OFFICIAL_REPLY =>
            {
                (Kind::CommentHandling, entity_id.to_string())
            }
            crate::comments::ENTITY if op == "area" => {
                (Kind::CommentArea, crate::comments::AREA_ID.to_string())
            }
            crate::comments::SETTINGS_ENTITY if op == "word" => {
                (Kind::CommentWord, entity_id.to_string())
            }
            // A mute from before mutes replicated names no comment (entity id `mutes`).
            crate::comments::SETTINGS_ENTITY
                if (op == "mute" || op == "unmute") && entity_id != "mutes" =>
            {
                (Kind::CommentMute, entity_id.to_string())
            }
            _ => return None,
        })
    }

    /// Written only by the organiser's hub.
    pub fn hub_only(self) -> bool {
        matches!(
            self,
            Kind::Roster
                | Kind::Rubric
                | Kind::AggregationRule
                | Kind::Scorer
                | Kind::ScoringState
                | Kind::Moderator
                | Kind::Person
                | Kind::TourSettings
                | Kind::FeedSettings
        )
    }

    /// Carried in a record shape of its own (`crate::comments`), not as table rows: the
    /// number is masked and the phone key left out on the way.
    fn custom_shape(self) -> bool {
        self == Kind::Comment || self.moderation() || self.resident()
    }

    /// A resident's record besides the comment itself (a report, an appeal, a like count):
    /// made only by a device that runs the resident site, no 审核 grant needed.
    pub fn resident(self) -> bool {
        matches!(
            self,
            Kind::CommentReport | Kind::CommentAppeal | Kind::LikeCount
        )
    }

    /// A step of a comment's decision chain, judged where decisions are judged: a moderator's
    /// record or a resident's appeal.
    fn decides(self) -> bool {
        self.moderation() || self == Kind::CommentAppeal
    }

    /// The record whose head an operation of this kind follows: an appeal is a step of its
    /// comment's decisions, so a decision made without seeing it is a conflict.
    fn head_kind(self) -> Kind {
        if self == Kind::CommentAppeal {
            Kind::CommentDecision
        } else {
            self
        }
    }

    /// A moderator's record: sent by the hub or a laptop it grants 审核, judged where
    /// decisions are judged (the hub): the first to reach the hub stands, one made without
    /// seeing it is listed and refused to its sender (see `judge_moderation`).
    pub fn moderation(self) -> bool {
        matches!(
            self,
            Kind::CommentDecision
                | Kind::CommentHandling
                | Kind::CommentArea
                | Kind::CommentWord
                | Kind::CommentMute
        )
    }

    /// Whether replicas track which operation a record currently shows. A comment is made
    /// once and never edited, so its operations need no head (nor the write one costs on
    /// every resident comment).
    fn tracks_head(self) -> bool {
        // A report is made once too; each site's like count has one writer, applied in its
        // sequence, and two sites' counts of one target are different records.
        // So is a sign-off step: the fold orders steps by what each followed.
        !matches!(
            self,
            Kind::Comment | Kind::CommentReport | Kind::LikeCount | Kind::PostStep
        )
    }

    fn tables(self) -> &'static [TableSpec] {
        macro_rules! t {
            ($name:literal, $key:expr, $scope:expr $(,)?) => {
                TableSpec {
                    name: $name,
                    key: $key,
                    scope: $scope,
                }
            };
        }
        match self {
            Kind::Roster => &[t!("townships", &["id"], None)],
            Kind::Rubric => &[
                t!("rubric", &["id"], None),
                t!("rubric_categories", &["id"], None),
                t!("rubric_criteria", &["id"], None),
                t!("rubric_adjustments", &["id"], None),
            ],
            Kind::AggregationRule | Kind::TourSettings | Kind::FeedSettings => {
                &[t!("meta", &["key"], Some("key"))]
            }
            Kind::PostStep => &[t!("post_steps", &["id"], Some("id"))],
            Kind::Scorer => &[t!("scorers", &["id"], Some("id"))],
            Kind::Person => &[
                t!("people", &["id"], Some("id")),
                t!("person_codes", &["person_id"], Some("person_id")),
            ],
            Kind::ScoringState => &[t!(
                "township_scoring",
                &["township_id"],
                Some("township_id")
            )],
            Kind::Sheet => &[
                t!("sheets", &["id"], Some("id")),
                t!("marks", &["sheet_id", "criterion_id"], Some("sheet_id")),
                t!(
                    "adjustment_marks",
                    &["sheet_id", "adjustment_id"],
                    Some("sheet_id"),
                ),
                t!(
                    "sheet_evidence",
                    &["sheet_id", "criterion_id", "hash"],
                    Some("sheet_id"),
                ),
            ],
            Kind::Photo => &[t!("photos", &["hash"], Some("hash"))],
            Kind::Post => &[
                t!("posts", &["id"], Some("id")),
                t!("post_photos", &["post_id", "position"], Some("post_id")),
            ],
            Kind::Moderator => &[t!("moderators", &["device_id"], Some("device_id"))],
            Kind::Comment
            | Kind::CommentDecision
            | Kind::CommentHandling
            | Kind::CommentArea
            | Kind::CommentWord
            | Kind::CommentMute
            | Kind::CommentReport
            | Kind::CommentAppeal
            | Kind::LikeCount => &[],
        }
    }
}

/// A table of an aggregate: its key columns, and the column that ties its rows to the
/// aggregate's id (`None`: the aggregate is the whole table).
#[derive(Debug)]
struct TableSpec {
    name: &'static str,
    key: &'static [&'static str],
    scope: Option<&'static str>,
}

/// Names an operation: its origin device and sequence number there.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OpRef {
    /// Device that made it.
    pub origin: String,
    /// Its number on that device, from 1 without gaps.
    pub seq: i64,
}

/// One operation: the state of one aggregate after a write on its origin device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Op {
    /// Device that made it.
    pub origin: String,
    /// Its number on that device, from 1 without gaps.
    pub seq: i64,
    /// Hybrid logical timestamp (orders the exchange only).
    pub hlc: String,
    /// Kind of aggregate.
    pub kind: String,
    /// Aggregate id.
    pub entity_id: String,
    /// The operation whose state the writer had in front of it, if any.
    pub base: Option<OpRef>,
    /// Wall time of the write on its device.
    pub at: String,
    /// Who wrote.
    pub actor: String,
    /// `{"table": [row, …], …}`: every row of the aggregate after the write.
    pub payload: Value,
    /// The hub's verdict on an operation it relays (`applied`, `superseded`, `refused`).
    /// Laptops follow it instead of judging ownership themselves, so every replica agrees
    /// even when operations reach them in another order than they reached the hub.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<String>,
}

impl Op {
    /// Its name.
    pub fn id(&self) -> OpRef {
        OpRef {
            origin: self.origin.clone(),
            seq: self.seq,
        }
    }
}

/// What happened to one remote operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Its state is now current.
    Applied,
    /// It was already here (or is this device's own).
    Already,
    /// Held back until what comes before it arrives.
    Held,
    /// Kept but not applied: a concurrent edit of the same record kept the other side.
    Superseded,
    /// Refused: it breaks ownership or the rules.
    Refused,
    /// A stand-in of an operation the hub withholds from this device: its number recorded.
    Withheld,
}

/// A refused operation or a concurrent edit, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueNote {
    /// The operation.
    pub op: OpRef,
    /// Kind of aggregate.
    pub kind: String,
    /// Aggregate id.
    pub entity_id: String,
    /// Stable code, e.g. `not_owner`, `hub_only`, `conflict`.
    pub code: String,
    /// Details for the log.
    pub detail: String,
}

/// What applying a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyReport {
    /// Operations whose state is now current.
    pub applied: u32,
    /// Operations already here.
    pub already: u32,
    /// Operations held back (gap or missing base).
    pub held: u32,
    /// Operations kept without applying, after a conflict.
    pub superseded: u32,
    /// Refusals, with reasons.
    pub refused: Vec<IssueNote>,
    /// Conflicts found, with the operations involved.
    pub conflicts: Vec<IssueNote>,
    /// Operations held back earlier that could now be applied.
    pub released: u32,
    /// Operations relayed by the hub that the hub had refused (kept, not applied).
    pub refused_at_hub: u32,
    /// Stand-ins of operations the hub withholds from this device (背靠背): their numbers
    /// are recorded, nothing else.
    #[serde(default)]
    pub withheld: u32,
}

/// Who this replica is and who the hub is: the ownership rules depend on both.
#[derive(Debug, Clone)]
pub struct Rules {
    /// This device.
    pub self_id: String,
    /// The organiser's hub (this device when it is the hub); `None` before pairing, when
    /// nothing remote is accepted.
    pub hub_id: Option<String>,
}

// ---------------------------------------------------------------------------------------
// Snapshots

fn value_of(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
    }
}

fn rows_of(conn: &Connection, spec: &TableSpec, entity_id: &str) -> Result<Vec<Value>> {
    let order = spec.key.join(", ");
    let sql = match spec.scope {
        Some(col) => format!(
            "SELECT * FROM {} WHERE {col} = ?1 ORDER BY {order}",
            spec.name
        ),
        None => format!("SELECT * FROM {} ORDER BY {order}", spec.name),
    };
    let mut st = conn.prepare_cached(&sql)?;
    let names: Vec<String> = st.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows = if spec.scope.is_some() {
        st.query([entity_id])?
    } else {
        st.query([])?
    };
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut obj = Map::new();
        for (i, n) in names.iter().enumerate() {
            obj.insert(n.clone(), value_of(r.get_ref(i)?));
        }
        out.push(Value::Object(obj));
    }
    Ok(out)
}

/// The whole state of an aggregate, as an operation carries it.
pub fn snapshot(conn: &Connection, kind: Kind, entity_id: &str) -> Result<Value> {
    match kind {
        Kind::Comment => return crate::comments::record_payload(conn, entity_id),
        Kind::CommentDecision => return crate::comments::decision_payload(conn, entity_id),
        Kind::CommentHandling => return crate::comments::handling_payload(conn, entity_id),
        Kind::CommentArea => return crate::comments::area_payload(conn),
        Kind::CommentWord => return crate::comments::word_payload(conn, entity_id),
        Kind::CommentMute => return crate::comments::mute_payload(conn, entity_id),
        Kind::CommentReport => return crate::comments::report_payload(conn, entity_id),
        Kind::CommentAppeal => return crate::comments::appeal_payload(conn, entity_id),
        Kind::LikeCount => return crate::comments::like_count_payload(conn, entity_id),
        _ => {}
    }
    let mut obj = Map::new();
    for spec in kind.tables() {
        obj.insert(
            spec.name.to_string(),
            Value::Array(rows_of(conn, spec, entity_id)?),
        );
    }
    Ok(Value::Object(obj))
}

// ---------------------------------------------------------------------------------------
// Local writes

fn hlc_last(conn: &Connection) -> Result<Hlc> {
    Ok(meta::get(conn, HLC_LAST)?
        .and_then(|s| s.parse().ok())
        .unwrap_or_default())
}

fn wall_ms(at: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(at).map_or(0, |t| t.timestamp_millis())
}

/// Highest sequence number received from `origin` without a gap.
pub fn watermark(conn: &Connection, origin: &str) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT seq FROM sync_watermarks WHERE origin = ?1")?
        .query_row([origin], |r| r.get(0))
        .optional()?
        .unwrap_or(0))
}

/// The hybrid timestamp of `origin`'s last operation kept here and not refused: the latest,
/// since every such operation was checked not to go back before the one before it. (A refused
/// operation's clock, e.g. one a day ahead, sets no floor for the device's next ones.)
fn latest_hlc(conn: &Connection, origin: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached(
            "SELECT hlc FROM ops WHERE origin = ?1 AND outcome <> 'refused'
             ORDER BY seq DESC LIMIT 1",
        )?
        .query_row([origin], |r| r.get(0))
        .optional()?)
}

/// Every origin's watermark.
pub fn watermarks(conn: &Connection) -> Result<BTreeMap<String, i64>> {
    let mut st = conn.prepare_cached("SELECT origin, seq FROM sync_watermarks")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn set_watermark(conn: &Connection, origin: &str, seq: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sync_watermarks (origin, seq) VALUES (?1, ?2)
         ON CONFLICT (origin) DO UPDATE SET seq = max(seq, excluded.seq)",
    )?
    .execute(params![origin, seq])?;
    Ok(())
}

fn head(conn: &Connection, kind: Kind, entity_id: &str) -> Result<Option<OpRef>> {
    Ok(conn
        .prepare_cached("SELECT origin, seq FROM sync_heads WHERE kind = ?1 AND entity_id = ?2")?
        .query_row(params![kind.as_str(), entity_id], |r| {
            Ok(OpRef {
                origin: r.get(0)?,
                seq: r.get(1)?,
            })
        })
        .optional()?)
}

fn set_head(conn: &Connection, kind: Kind, entity_id: &str, op: &OpRef) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sync_heads (kind, entity_id, origin, seq) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (kind, entity_id) DO UPDATE SET origin = excluded.origin, seq = excluded.seq",
    )?
    .execute(params![kind.as_str(), entity_id, op.origin, op.seq])?;
    Ok(())
}

/// Logs an operation. The only row it may replace is a stand-in of the same number (the hub
/// sends the real operation once this laptop may hold it).
fn insert_op(conn: &Connection, op: &Op, outcome: &str, received_at: &str) -> Result<()> {
    let n = conn
        .prepare_cached(
            "INSERT INTO ops (origin, seq, hlc, kind, entity_id, base_origin, base_seq, at, actor,
                          payload, outcome, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (origin, seq) DO UPDATE SET hlc = excluded.hlc, kind = excluded.kind,
             entity_id = excluded.entity_id, base_origin = excluded.base_origin,
             base_seq = excluded.base_seq, at = excluded.at, actor = excluded.actor,
             payload = excluded.payload, outcome = excluded.outcome,
             received_at = excluded.received_at
         WHERE ops.kind = 'withheld'",
        )?
        .execute(params![
            op.origin,
            op.seq,
            op.hlc,
            op.kind,
            op.entity_id,
            op.base.as_ref().map(|b| b.origin.as_str()),
            op.base.as_ref().map(|b| b.seq),
            op.at,
            op.actor,
            serde_json::to_string(&op.payload)?,
            outcome,
            received_at,
        ])?;
    if n != 1 {
        return Err(StoreError::Corrupt(format!(
            "operation {}#{} is logged already",
            op.origin, op.seq
        )));
    }
    Ok(())
}

/// Owner key of a record that belongs to the device that wrote it first: a post (its author's
/// laptop) and a photo's metadata (set once). A sheet belongs to the laptop the organiser
/// assigned to its scorer (`trust::scorer_device`), never to whoever wrote first.
fn owner_key(kind: Kind, entity_id: &str) -> Option<String> {
    match kind {
        Kind::Post => Some(format!("post:{entity_id}")),
        Kind::Photo => Some(format!("photo:{entity_id}")),
        _ => None,
    }
}

fn owner_of(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT device_id FROM sync_owners WHERE owner_key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

fn bind_owner(conn: &Connection, key: &str, device: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sync_owners (owner_key, device_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )?
    .execute(params![key, device])?;
    Ok(())
}

/// Appends this device's operations for the aggregates a transaction changed. Called by the
/// store right before it commits.
pub(crate) fn append_local(tx: &WriteTx<'_>, changed: &BTreeSet<(Kind, String)>) -> Result<()> {
    let conn = tx.conn();
    let me = tx.device_id();
    let mut seq = watermark(conn, me)?;
    let mut hlc = hlc_last(conn)?;
    let now = wall_ms(tx.at());
    for (kind, entity_id) in changed {
        seq += 1;
        hlc = Hlc::tick(hlc, now);
        let payload = snapshot(conn, *kind, entity_id)?;
        let op = Op {
            origin: me.to_string(),
            seq,
            hlc: hlc.to_string(),
            kind: kind.as_str().to_string(),
            entity_id: entity_id.clone(),
            base: if kind.tracks_head() {
                head(conn, kind.head_kind(), entity_id)?
            } else {
                None
            },
            at: tx.at().to_string(),
            actor: tx.actor().to_string(),
            payload,
            verdict: None,
        };
        if let Some(key) = owner_key(*kind, entity_id) {
            bind_owner(conn, &key, me)?;
        }
        insert_op(conn, &op, "applied", tx.at())?;
        if kind.tracks_head() {
            set_head(conn, kind.head_kind(), entity_id, &op.id())?;
        }
        stamp_local(tx, *kind, entity_id, &op)?;
    }
    set_watermark(conn, me, seq)?;
    meta::set(tx, HLC_LAST, &hlc.to_string())
}

/// What this device's own operation's hybrid clock settles: a report's stamp, and which
/// reports a decision closed (by clock, as every replica applying it will: see
/// `crate::comments::close_reports`).
fn stamp_local(tx: &WriteTx<'_>, kind: Kind, entity_id: &str, op: &Op) -> Result<()> {
    match kind {
        Kind::PostStep => crate::feed::signoff::stamp(tx.conn(), entity_id, &op.hlc).map(|_| ()),
        Kind::CommentReport => crate::comments::stamp_report(tx.conn(), entity_id, &op.hlc),
        Kind::CommentDecision => match crate::comments::parse_decision(entity_id, &op.payload) {
            Ok(d) if closes_reports(&d.action) => crate::comments::close_reports_here(
                tx.conn(),
                entity_id,
                [&op.hlc, &d.log_at, &d.actor],
            ),
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

/// Whether a decision with this action closes the comment's reports (通过, 不通过, 保留).
fn closes_reports(action: &str) -> bool {
    matches!(action, "approve" | "reject") || action == crate::comments::DISMISS_REPORTS
}

/// Appends operations carrying the current state of every hub-owned aggregate (roster,
/// rubric, aggregation rule, scorers, scoring states), so laptops that pair later receive
/// them. Called when a device becomes the hub.
pub fn append_hub_baseline(tx: &WriteTx<'_>) -> Result<u32> {
    let conn = tx.conn();
    let mut set = BTreeSet::new();
    set.insert((Kind::Roster, "*".to_string()));
    set.insert((Kind::Rubric, "1".to_string()));
    if meta::get(conn, "aggregation_rule")?.is_some() {
        set.insert((Kind::AggregationRule, "aggregation_rule".to_string()));
    }
    if meta::get(conn, "tour_settings")?.is_some() {
        set.insert((Kind::TourSettings, "tour_settings".to_string()));
    }
    if meta::get(conn, crate::feed::signoff::SETTINGS_KEY)?.is_some() {
        set.insert((
            Kind::FeedSettings,
            crate::feed::signoff::SETTINGS_KEY.to_string(),
        ));
    }
    for (kind, sql) in [
        (Kind::Scorer, "SELECT id FROM scorers"),
        (
            Kind::Person,
            "SELECT id FROM people WHERE id <> '00000000-0000-0000-0000-000000000000'",
        ),
        (
            Kind::ScoringState,
            "SELECT township_id FROM township_scoring",
        ),
    ] {
        let mut st = conn.prepare(sql)?;
        for id in st.query_map([], |r| r.get::<_, String>(0))? {
            set.insert((kind, id?));
        }
    }
    let n = u32::try_from(set.len()).unwrap_or(u32::MAX);
    append_local(tx, &set)?;
    Ok(n)
}

// ---------------------------------------------------------------------------------------
// Reading the log

fn op_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Op> {
    let base_origin: Option<String> = r.get(5)?;
    let base_seq: Option<i64> = r.get(6)?;
    let payload: String = r.get(9)?;
    Ok(Op {
        origin: r.get(0)?,
        seq: r.get(1)?,
        hlc: r.get(2)?,
        kind: r.get(3)?,
        entity_id: r.get(4)?,
        base: base_origin
            .zip(base_seq)
            .map(|(origin, seq)| OpRef { origin, seq }),
        at: r.get(7)?,
        actor: r.get(8)?,
        payload: serde_json::from_str(&payload).unwrap_or(Value::Null),
        verdict: None,
    })
}

const OP_COLUMNS: &str =
    "o.origin, o.seq, o.hlc, o.kind, o.entity_id, o.base_origin, o.base_seq, o.at, o.actor, o.payload";

fn relayed_op_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Op> {
    let op = op_from_row(r)?;
    if op.kind == WITHHELD {
        // Relayed as what it is (a replica that became the hub holds stand-ins).
        return Ok(stand_in(&op));
    }
    let mut op = op;
    op.verdict = Some(r.get(10)?);
    Ok(op)
}

/// The stand-in of an operation withheld from a laptop: its origin, number and clock (so the
/// laptop's watermarks and hybrid-clock order work) and nothing else — no kind, record,
/// author, base or state.
pub fn stand_in(op: &Op) -> Op {
    Op {
        origin: op.origin.clone(),
        seq: op.seq,
        hlc: op.hlc.clone(),
        kind: WITHHELD.to_string(),
        entity_id: String::new(),
        base: None,
        at: String::new(),
        actor: String::new(),
        payload: Value::Object(Map::new()),
        verdict: Some(WITHHELD.to_string()),
    }
}

/// Whether a device with `access` may receive `op` (背靠背: a sheet only for a scorer the
/// hub assigned to it; a photo a scorer's laptop took only where a sheet it is attached to
/// may go, see [`trust::may_hold_photo`]).
fn may_hold(
    conn: &Connection,
    device_id: &str,
    access: &trust::SheetAccess,
    op: &Op,
) -> Result<bool> {
    if op.kind == Kind::Sheet.as_str() {
        let scorer = trust::head_text(&op.payload, "sheets", "scorer_id").unwrap_or_default();
        return Ok(access.may_hold(scorer));
    }
    if op.kind != Kind::Photo.as_str() {
        return Ok(true);
    }
    // A photo not applied here (refused, or waiting) is judged by its sender.
    trust::photo_reaches(conn, device_id, access, &op.entity_id, Some(&op.origin))
}

/// The photos an operation refers to in `table` (`sheet_evidence` or `post_photos`).
fn photos_in<'a>(op: &'a Op, table: &str) -> impl Iterator<Item = &'a str> {
    let rows = op.payload.get(table).and_then(Value::as_array);
    rows.into_iter()
        .flatten()
        .filter_map(|row| row.get("hash").and_then(Value::as_str))
}

/// The photos of `ops` whose records `device_id` needs with them: every photo a sheet it
/// may hold attaches (a key refers to it), and those a post shows that reached it as
/// withheld evidence before the post made them public.
fn needed_photos(
    conn: &Connection,
    device_id: &str,
    access: &trust::SheetAccess,
    ops: &[Op],
) -> Result<BTreeSet<String>> {
    let mut needed = BTreeSet::new();
    let mut shown = BTreeSet::new();
    for op in ops {
        if op.kind == Kind::Sheet.as_str() {
            needed.extend(photos_in(op, "sheet_evidence").map(str::to_string));
        } else if op.kind == Kind::Post.as_str() {
            shown.extend(photos_in(op, "post_photos").map(str::to_string));
        }
    }
    for hash in shown {
        if needed.contains(&hash) {
            continue;
        }
        let evidence = match trust::photo_owner(conn, &hash)? {
            None => false,
            Some((owner, _)) if owner == device_id => false,
            Some((_, from_scorer)) => !trust::may_hold_evidence(conn, access, &hash, from_scorer)?,
        };
        if evidence {
            needed.insert(hash);
        }
    }
    Ok(needed)
}

/// Completes `ops`, which go to `device_id`, with the photos they need (see
/// [`needed_photos`]): a laptop can apply a sheet only with its evidence photos' records (a
/// key refers to them), and the hub may have withheld those before the laptop scored for
/// the sheet's scorer (转交), or since the sheet let go of a photo an older operation of it
/// still attaches; a post that shows a photo withheld as evidence before makes it public.
///
/// A photo's operation in `ops` itself is sent as it is instead of as a stand-in; one the
/// laptop passed already (numbered at most its watermark `have`) is added, real, so that
/// the photo's record arrives before the sheet's (the laptop applies a batch in hybrid-clock
/// order, and a photo is always recorded before a sheet attaches it). One it has not reached
/// yet comes, in that order, in this page or a later one.
fn with_evidence(
    conn: &Connection,
    device_id: &str,
    access: &trust::SheetAccess,
    have: &BTreeMap<String, i64>,
    ops: &mut Vec<Op>,
    withheld: &[Op],
) -> Result<()> {
    let needed = needed_photos(conn, device_id, access, ops)?;
    if needed.is_empty() {
        return Ok(());
    }
    for real in withheld {
        if real.kind == Kind::Photo.as_str() && needed.contains(&real.entity_id) {
            if let Some(slot) = ops
                .iter_mut()
                .find(|o| o.kind == WITHHELD && o.origin == real.origin && o.seq == real.seq)
            {
                *slot = real.clone();
            }
        }
    }
    let mut st = conn.prepare_cached(&format!(
        "SELECT {OP_COLUMNS}, o.outcome FROM ops o
         WHERE o.kind = 'photo' AND o.entity_id = ?1 AND o.origin <> ?2 AND o.outcome = 'applied'
         ORDER BY o.hlc, o.origin, o.seq"
    ))?;
    for hash in &needed {
        let earlier: Vec<Op> = st
            .query_map(params![hash, device_id], relayed_op_from_row)?
            .collect::<rusqlite::Result<_>>()?;
        for op in earlier {
            let passed = op.seq <= have.get(&op.origin).copied().unwrap_or(0);
            let present = ops.iter().any(|o| o.origin == op.origin && o.seq == op.seq);
            if passed && !present {
                ops.push(op);
            }
        }
    }
    ops.sort_by(|a, b| (&a.hlc, &a.origin, a.seq).cmp(&(&b.hlc, &b.origin, b.seq)));
    Ok(())
}

/// The key under which a [`Page`] counts the operations the hub refused, which travel as
/// stand-ins to every laptop.
pub const REFUSED_KEY: &str = "(refused)";

/// A page of the log for one device, as the hub sends it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Page {
    /// The operations, each withheld one replaced by its [`stand_in`].
    pub ops: Vec<Op>,
    /// How many were withheld, per kind (those the hub refused under [`REFUSED_KEY`]).
    pub withheld: BTreeMap<String, u32>,
    /// More wait after these.
    pub more: bool,
}

/// [`ops_after`] for `device_id`, enforcing what its role may hold (see
/// [`trust::sheet_access`]): the operations it lacks in order, at most `limit`, those it may
/// not hold and those the hub refused as stand-ins, and the evidence photos of the sheets it
/// may hold (see [`with_evidence`]).
pub fn ops_after_for(
    conn: &Connection,
    device_id: &str,
    have: &BTreeMap<String, i64>,
    limit: u32,
) -> Result<Page> {
    let access = trust::sheet_access(conn, device_id)?;
    let mut ops = ops_after(conn, have, limit.saturating_add(1))?;
    let more = ops.len() > limit as usize;
    ops.truncate(limit as usize);
    let mut page = Page {
        more,
        ..Page::default()
    };
    let mut withheld = Vec::new();
    for op in ops {
        if op.verdict.as_deref() == Some("refused") {
            // What the hub refused changes nothing anywhere: its number goes on, its content
            // (a hostile laptop's, perhaps) stays here.
            *page.withheld.entry(REFUSED_KEY.to_string()).or_default() += 1;
            page.ops.push(stand_in(&op));
        } else if may_hold(conn, device_id, &access, &op)? {
            page.ops.push(op);
        } else {
            page.ops.push(stand_in(&op));
            withheld.push(op);
        }
    }
    if !matches!(access, trust::SheetAccess::All) {
        with_evidence(conn, device_id, &access, have, &mut page.ops, &withheld)?;
    }
    for op in &withheld {
        if page
            .ops
            .iter()
            .any(|o| o.kind == WITHHELD && o.origin == op.origin && o.seq == op.seq)
        {
            *page.withheld.entry(op.kind.clone()).or_default() += 1;
        }
    }
    Ok(page)
}

/// Prefix of the key under which a laptop confirms, in its pull's watermarks, the last page
/// of a resend it applied: `~refill/<token>` → the page's number. No device id starts so,
/// and a hub that predates resends ignores it (no operation has that origin).
pub const REFILL_ACK: &str = "~refill/";

/// One page of a resend (see [`next_refill`]), as the hub announces it with the operations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefillPage {
    /// The resend.
    pub token: String,
    /// The page's number, from 1.
    pub page: i64,
    /// Operations of the page (the laptop confirms it only when it got them all).
    pub count: u32,
    /// It is the last page.
    pub last: bool,
}

/// The next page (at most `limit`) of the resend `device_id` waits for (see [`trust::Refill`]):
/// the operations of the sheets of the scorers it was assigned, from other devices, that it
/// passed as stand-ins (numbered at most its watermark; later ones come in order), oldest
/// first, with the photos they attach (see [`with_evidence`]). `have` carries the last page
/// the laptop confirmed (under [`REFILL_ACK`]): the page after it is sent, the same one again
/// when its answer was lost; the resend ends once the laptop confirms the last page.
pub fn next_refill(
    tx: &WriteTx<'_>,
    device_id: &str,
    have: &BTreeMap<String, i64>,
    limit: u32,
) -> Result<(Vec<Op>, Option<RefillPage>)> {
    let conn = tx.conn();
    let Some(mut refill) = trust::refill(conn, device_id)? else {
        return Ok((Vec::new(), None));
    };
    let stored = refill.clone();
    let confirmed = have
        .get(&format!("{REFILL_ACK}{}", refill.token))
        .copied()
        .unwrap_or(0)
        .clamp(0, i64::try_from(refill.ends.len()).unwrap_or(i64::MAX));
    if refill.last.is_some_and(|last| confirmed >= last) {
        trust::set_refill(tx, device_id, None)?;
        return Ok((Vec::new(), None));
    }
    let done = usize::try_from(confirmed).unwrap_or(0);
    refill.ends.truncate(done);
    refill.last = None;
    let access = trust::sheet_access(conn, device_id)?;
    let scorers: Vec<&String> = refill
        .scorers
        .iter()
        .filter(|s| access.may_hold(s))
        .collect();
    let (a_hlc, a_origin, a_seq) = refill.ends.last().cloned().unwrap_or_default();
    let mut st = conn.prepare_cached(&format!(
        "SELECT {OP_COLUMNS}, o.outcome FROM ops o
         JOIN sheets s ON s.id = o.entity_id
         JOIN json_each(?1) sc ON sc.value = s.scorer_id
         LEFT JOIN (SELECT key AS origin, value AS seq FROM json_each(?2)) w ON w.origin = o.origin
         WHERE o.kind = 'sheet' AND o.origin <> ?3 AND o.seq <= COALESCE(w.seq, 0)
           AND (o.hlc, o.origin, o.seq) > (?4, ?5, ?6)
         ORDER BY o.hlc, o.origin, o.seq LIMIT ?7"
    ))?;
    let rows = st.query_map(
        params![
            serde_json::to_string(&scorers)?,
            serde_json::to_string(have)?,
            device_id,
            a_hlc,
            a_origin,
            a_seq,
            limit.saturating_add(1)
        ],
        relayed_op_from_row,
    )?;
    let mut ops: Vec<Op> = rows.collect::<rusqlite::Result<_>>()?;
    let more = ops.len() > limit as usize;
    ops.truncate(limit as usize);
    let end = ops
        .last()
        .map(|o| (o.hlc.clone(), o.origin.clone(), o.seq))
        .unwrap_or((a_hlc, a_origin, a_seq));
    // The sheets' evidence photos, which the laptop passed as stand-ins too.
    with_evidence(conn, device_id, &access, have, &mut ops, &[])?;
    refill.ends.push(end);
    let page = i64::try_from(refill.ends.len()).unwrap_or(i64::MAX);
    if !more {
        refill.last = Some(page);
    }
    // A page sent again (the laptop has not confirmed it yet) changes nothing: no write on
    // every pull.
    if refill != stored {
        trust::set_refill(tx, device_id, Some(&refill))?;
    }
    let page = RefillPage {
        token: refill.token,
        page,
        count: u32::try_from(ops.len()).unwrap_or(u32::MAX),
        last: !more,
    };
    Ok((ops, Some(page)))
}

/// Operations the other side lacks, given its watermarks: oldest first by hybrid clock
/// (so what an operation depends on comes before it), at most `limit`, each with this
/// replica's verdict (the hub relays its verdicts).
pub fn ops_after(conn: &Connection, have: &BTreeMap<String, i64>, limit: u32) -> Result<Vec<Op>> {
    let have = serde_json::to_string(have)?;
    let mut st = conn.prepare_cached(&format!(
        "SELECT {OP_COLUMNS}, o.outcome FROM ops o
         LEFT JOIN (SELECT key AS origin, value AS seq FROM json_each(?1)) w ON w.origin = o.origin
         WHERE o.seq > COALESCE(w.seq, 0)
         ORDER BY o.hlc, o.origin, o.seq LIMIT ?2"
    ))?;
    let rows = st.query_map(params![have, limit], relayed_op_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// This device's own operations after `seq`, oldest first, at most `limit`.
pub fn own_ops_after(conn: &Connection, origin: &str, seq: i64, limit: u32) -> Result<Vec<Op>> {
    let mut st = conn.prepare_cached(&format!(
        "SELECT {OP_COLUMNS} FROM ops o WHERE o.origin = ?1 AND o.seq > ?2 ORDER BY o.seq LIMIT ?3"
    ))?;
    let rows = st.query_map(params![origin, seq, limit], op_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn op_by_ref(conn: &Connection, r: &OpRef) -> Result<Option<Op>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {OP_COLUMNS} FROM ops o WHERE o.origin = ?1 AND o.seq = ?2"
        ))?
        .query_row(params![r.origin, r.seq], op_from_row)
        .optional()?)
}

/// Number of operations held back, per origin.
pub fn backlog_counts(conn: &Connection) -> Result<BTreeMap<String, i64>> {
    let mut st =
        conn.prepare_cached("SELECT origin, count(*) FROM sync_backlog GROUP BY origin")?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A refusal or a conflict as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncIssue {
    /// Id.
    pub id: String,
    /// `refused` or `conflict`.
    pub kind: String,
    /// Stable code.
    pub code: String,
    /// The operation.
    pub op: OpRef,
    /// Kind of aggregate.
    pub entity_kind: String,
    /// Aggregate id.
    pub entity_id: String,
    /// The other operation of a conflict.
    pub other: Option<OpRef>,
    /// Details.
    pub detail: String,
    /// When it was found.
    pub at: String,
    /// When a person marked it handled.
    pub resolved_at: Option<String>,
}

/// Refusals and conflicts, newest first.
pub fn issues(conn: &Connection) -> Result<Vec<SyncIssue>> {
    let mut st = conn.prepare_cached(
        "SELECT id, kind, code, op_origin, op_seq, entity_kind, entity_id, other_origin,
                other_seq, detail, at, resolved_at
         FROM sync_issues ORDER BY at DESC, id DESC",
    )?;
    let rows = st.query_map([], |r| {
        let oo: Option<String> = r.get(7)?;
        let os: Option<i64> = r.get(8)?;
        Ok(SyncIssue {
            id: r.get(0)?,
            kind: r.get(1)?,
            code: r.get(2)?,
            op: OpRef {
                origin: r.get(3)?,
                seq: r.get(4)?,
            },
            entity_kind: r.get(5)?,
            entity_id: r.get(6)?,
            other: oo.zip(os).map(|(origin, seq)| OpRef { origin, seq }),
            detail: r.get(9)?,
            at: r.get(10)?,
            resolved_at: r.get(11)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Records on a laptop that the hub refused one of its own operations (from the push
/// answer), so the 同步 view can say which record and why.
pub fn note_refused_by_hub(tx: &WriteTx<'_>, note: &IssueNote) -> Result<()> {
    tx.conn()
        .prepare_cached(
            "INSERT INTO sync_issues (id, kind, code, op_origin, op_seq, entity_kind, entity_id,
                                      detail, at)
             VALUES (?1, 'refused', ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            guanmo_domain::ids::new_id(),
            note.code,
            note.op.origin,
            note.op.seq,
            note.kind,
            note.entity_id,
            note.detail,
            tx.at()
        ])?;
    if note.kind == Kind::PostStep.as_str() {
        crate::feed::signoff::void_step(tx, &note.entity_id)?;
    }
    Ok(())
}

/// Marks an issue as looked at by `who`.
pub fn resolve_issue(tx: &WriteTx<'_>, id: &str) -> Result<bool> {
    let n = tx.conn().execute(
        "UPDATE sync_issues SET resolved_at = ?2, resolved_by = ?3
         WHERE id = ?1 AND resolved_at IS NULL",
        params![id, tx.at(), tx.actor()],
    )?;
    Ok(n == 1)
}

/// Makes the state an operation carried current again, as a new write of this device (the
/// store appends the operation that carries it to every replica). This is how the organiser
/// resolves a conflict for the version that did not stand. Returns `false` when there is no
/// such operation or its kind cannot be adopted (photos merge by themselves).
pub fn adopt_version(tx: &WriteTx<'_>, version: &OpRef) -> Result<bool> {
    let conn = tx.conn();
    let Some(op) = op_by_ref(conn, version)? else {
        return Ok(false);
    };
    // Photos merge by themselves; comments are made once, and of two decisions the first to
    // reach the hub stands (the organiser decides again in the moderation view instead).
    let Some(kind) = Kind::parse(&op.kind).filter(|k| *k != Kind::Photo && !k.custom_shape())
    else {
        return Ok(false);
    };
    if check_payload(conn, kind, &op.entity_id, &op.payload).is_err() {
        return Ok(false);
    }
    let change_op = change_op(conn, kind, &op.entity_id, &op.payload)?;
    write_state(conn, kind, &op)?;
    tx.record(crate::ChangeInput {
        entity: kind.entity(),
        entity_id: op.entity_id.clone(),
        op: change_op,
        payload: serde_json::json!({ "adopted": { "origin": op.origin, "seq": op.seq } }),
    })?;
    Ok(true)
}

/// Hands everything `from` owns (a scorer's sheets, its posts) to `to`: for a laptop that
/// broke or was replaced mid-tour. Only the hub judges ownership, so only the hub calls this.
/// Returns how many owner keys moved.
pub fn transfer_owned(tx: &WriteTx<'_>, from: &str, to: &str) -> Result<u32> {
    let n = tx.conn().execute(
        "UPDATE sync_owners SET device_id = ?2 WHERE device_id = ?1",
        params![from, to],
    )? + trust::move_assignments(tx, from, to)?;
    tx.record(crate::ChangeInput {
        entity: "device",
        entity_id: from.to_string(),
        op: "transfer",
        payload: serde_json::json!({ "to": to, "owner_keys": n }),
    })?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// The issue with this id.
pub fn issue(conn: &Connection, id: &str) -> Result<Option<SyncIssue>> {
    Ok(issues(conn)?.into_iter().find(|i| i.id == id))
}

/// Tables that make up the replicated state, in the order of the canonical dump. (Comments
/// differ between the site host, which has the numbers, and replicas: compare them with
/// `crate::comments::replicated_dump`.)
pub const REPLICATED_TABLES: [&str; 17] = [
    "townships",
    "rubric",
    "rubric_categories",
    "rubric_criteria",
    "rubric_adjustments",
    "scorers",
    "township_scoring",
    "sheets",
    "marks",
    "adjustment_marks",
    "sheet_evidence",
    "photos",
    "posts",
    "post_photos",
    "moderators",
    "post_steps",
    "post_signoff",
];

/// The replicated state as text, identical on every replica that has the same data: each
/// table's rows sorted, one JSON array per line, plus the aggregation rule.
pub fn canonical_dump(conn: &Connection) -> Result<String> {
    let mut out = String::new();
    for table in REPLICATED_TABLES {
        // A laptop's own sign-off step the hub refused is kept there, marked, but is no part
        // of the replicated state.
        let filter = if table == "post_steps" {
            " WHERE id NOT IN (SELECT step_id FROM post_step_voids)"
        } else {
            ""
        };
        let mut st = conn.prepare(&format!("SELECT * FROM {table}{filter}"))?;
        let n = st.column_count();
        let mut rows: Vec<String> = st
            .query_map([], |r| {
                let vals: Vec<Value> = (0..n)
                    .map(|i| r.get_ref(i).map(value_of))
                    .collect::<rusqlite::Result<_>>()?;
                Ok(Value::Array(vals).to_string())
            })?
            .collect::<rusqlite::Result<_>>()?;
        rows.sort();
        out.push_str(table);
        out.push('\n');
        for row in rows {
            out.push_str(&row);
            out.push('\n');
        }
    }
    out.push_str("aggregation_rule\n");
    out.push_str(&meta::get(conn, "aggregation_rule")?.unwrap_or_default());
    out.push('\n');
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Applying remote operations

enum Step {
    Done(Outcome),
    Hold(&'static str),
}

/// Applies remote operations inside `tx` (which must not capture its own operations), in
/// hybrid-clock order, then retries whatever was held back earlier. Idempotent.
pub fn apply_remote(tx: &WriteTx<'_>, rules: &Rules, ops: &[Op]) -> Result<ApplyReport> {
    let mut report = ApplyReport::default();
    let mut sorted: Vec<&Op> = ops.iter().collect();
    sorted.sort_by(|a, b| (&a.hlc, &a.origin, a.seq).cmp(&(&b.hlc, &b.origin, b.seq)));
    for op in sorted {
        match apply_one(tx, rules, op, &mut report)? {
            Step::Done(o) => count(&mut report, o),
            Step::Hold(reason) => {
                if backlog_full(tx.conn(), op)? {
                    refuse_unrecorded(
                        tx,
                        op,
                        "backlog_full",
                        format!("{BACKLOG_CAP} operations of this device wait already"),
                        &mut report,
                    )?;
                    continue;
                }
                tx.conn()
                    .prepare_cached(
                        "INSERT INTO sync_backlog (origin, seq, op, reason, received_at)
                         VALUES (?1, ?2, ?3, ?4, ?5)
                         ON CONFLICT (origin, seq) DO UPDATE SET reason = excluded.reason",
                    )?
                    .execute(params![
                        op.origin,
                        op.seq,
                        serde_json::to_string(op)?,
                        reason,
                        tx.at()
                    ])?;
                report.held += 1;
            }
        }
    }
    release_backlog(tx, rules, &mut report)?;
    Ok(report)
}

fn count(report: &mut ApplyReport, o: Outcome) {
    match o {
        Outcome::Applied => report.applied += 1,
        Outcome::Already => report.already += 1,
        Outcome::Superseded => report.superseded += 1,
        Outcome::Held => report.held += 1,
        Outcome::Withheld => report.withheld += 1,
        Outcome::Refused => {}
    }
}

/// True when `op` would be a new backlog entry of an origin whose backlog is full.
fn backlog_full(conn: &Connection, op: &Op) -> Result<bool> {
    let (held, this): (i64, i64) = conn
        .prepare_cached(
            "SELECT count(*), count(*) FILTER (WHERE seq = ?2) FROM sync_backlog
             WHERE origin = ?1",
        )?
        .query_row(params![op.origin, op.seq], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(this == 0 && held >= BACKLOG_CAP)
}

/// Applies held-back operations that no longer wait for anything, until none moves. Only
/// each origin's next operation can move (the rest wait behind it), so each round reads at
/// most one operation per origin, not the whole backlog.
fn release_backlog(tx: &WriteTx<'_>, rules: &Rules, report: &mut ApplyReport) -> Result<()> {
    loop {
        let held: Vec<String> = {
            let mut st = tx.conn().prepare_cached(
                "SELECT b.op FROM sync_backlog b
                 LEFT JOIN sync_watermarks w ON w.origin = b.origin
                 WHERE b.seq <= COALESCE(w.seq, 0) + 1
                 ORDER BY b.origin, b.seq",
            )?;
            let rows = st.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut moved = false;
        for text in held {
            let op: Op = match serde_json::from_str(&text) {
                Ok(op) => op,
                Err(e) => return Err(StoreError::Corrupt(format!("sync_backlog: {e}"))),
            };
            if let Step::Done(o) = apply_one(tx, rules, &op, report)? {
                tx.conn()
                    .prepare_cached("DELETE FROM sync_backlog WHERE origin = ?1 AND seq = ?2")?
                    .execute(params![op.origin, op.seq])?;
                if o != Outcome::Already {
                    report.released += 1;
                }
                moved = true;
            }
        }
        if !moved {
            return Ok(());
        }
    }
}

/// Refuses an operation without recording it in the log or moving its origin's watermark
/// (it is out of order or over a cap): listed for a person, and the sender may send it
/// again in order. [`refuse`] records it as well.
fn refuse_unrecorded(
    tx: &WriteTx<'_>,
    op: &Op,
    code: &str,
    detail: String,
    report: &mut ApplyReport,
) -> Result<Step> {
    list_refusal(tx, op, code, &detail)?;
    report.refused.push(IssueNote {
        op: op.id(),
        kind: op.kind.clone(),
        entity_id: op.entity_id.clone(),
        code: code.to_string(),
        detail,
    });
    Ok(Step::Done(Outcome::Refused))
}

fn list_refusal(tx: &WriteTx<'_>, op: &Op, code: &str, detail: &str) -> Result<()> {
    tx.conn()
        .prepare_cached(
            "INSERT INTO sync_issues (id, kind, code, op_origin, op_seq, entity_kind, entity_id,
                                      detail, at)
             VALUES (?1, 'refused', ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            guanmo_domain::ids::new_id(),
            code,
            op.origin,
            op.seq,
            truncate(&op.kind, 40),
            truncate(&op.entity_id, 200),
            truncate(detail, 500),
            tx.at()
        ])?;
    Ok(())
}

/// At most `max` characters of a text that came from a peer, for the issue list.
fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn refuse(
    tx: &WriteTx<'_>,
    op: &Op,
    code: &str,
    detail: String,
    report: &mut ApplyReport,
) -> Result<Step> {
    insert_op(tx.conn(), op, "refused", tx.at())?;
    set_watermark(tx.conn(), &op.origin, op.seq)?;
    refuse_unrecorded(tx, op, code, detail, report)
}

/// True when the writer of `from` had seen `target`: some operation on `from`'s chain of
/// bases is `target`'s origin at or after `target`'s number (a device's own operations are
/// sequential).
fn saw(conn: &Connection, from: &Op, target: &OpRef) -> Result<bool> {
    let mut cur = Some(from.clone());
    for _ in 0..256 {
        let Some(c) = cur else { return Ok(false) };
        if c.origin == target.origin && c.seq >= target.seq {
            return Ok(true);
        }
        cur = match &c.base {
            Some(b) => op_by_ref(conn, b)?,
            None => None,
        };
    }
    Ok(false)
}

/// The role whose rules an operation from `origin` is judged by: `hub` for the hub, else
/// the role the hub recorded when the device paired (`None`: not a paired, unrevoked device).
fn sender_role(conn: &Connection, hub: &str, origin: &str) -> Result<Option<Role>> {
    if origin == hub {
        return Ok(Some(Role::Hub));
    }
    trust::device_role(conn, origin)
}

/// Whether `r` is logged here as a stand-in.
fn is_stand_in(conn: &Connection, r: &OpRef) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT kind = 'withheld' FROM ops WHERE origin = ?1 AND seq = ?2")?
        .query_row(params![r.origin, r.seq], |r| r.get(0))
        .optional()?
        .unwrap_or(false))
}

fn apply_one(tx: &WriteTx<'_>, rules: &Rules, op: &Op, report: &mut ApplyReport) -> Result<Step> {
    let conn = tx.conn();
    if op.origin == rules.self_id {
        return Ok(Step::Done(Outcome::Already));
    }
    let Some(hub) = rules.hub_id.as_deref() else {
        return Ok(Step::Hold("not_paired"));
    };
    // A stand-in is only taken from the hub (a laptop follows its verdicts); the real
    // operation replaces it later, when the hub sends it (the laptop now scores for the
    // sheet's scorer).
    let from_hub_relay = rules.self_id != hub && op.verdict.is_some();
    if op_by_ref(conn, &op.id())?.is_some()
        && !(from_hub_relay && op.kind != WITHHELD && is_stand_in(conn, &op.id())?)
    {
        return Ok(Step::Done(Outcome::Already));
    }
    if op.seq < 1 {
        return refuse_unrecorded(tx, op, "bad_seq", format!("#{}", op.seq), report);
    }
    let watermark = watermark(conn, &op.origin)?;
    if op.seq > watermark + BACKLOG_CAP {
        // Nothing honest runs this far ahead of what arrived; holding it would only fill the
        // backlog. The sender still has it and may send it again in order.
        return refuse_unrecorded(
            tx,
            op,
            "seq_too_far",
            format!("#{} after #{watermark}", op.seq),
            report,
        );
    }
    if op.seq > watermark + 1 {
        return Ok(Step::Hold("gap"));
    }
    if op.kind == WITHHELD || op.verdict.as_deref() == Some(WITHHELD) {
        if !from_hub_relay || op.kind != WITHHELD || op.verdict.as_deref() != Some(WITHHELD) {
            return refuse_unrecorded(
                tx,
                op,
                "bad_stand_in",
                "only the hub withholds operations".into(),
                report,
            );
        }
        // Its number only: no table changes, nothing announced, never pushed (not this
        // device's), relayed only as a stand-in.
        insert_op(conn, &stand_in(op), "superseded", tx.at())?;
        set_watermark(conn, &op.origin, op.seq)?;
        return Ok(Step::Done(Outcome::Withheld));
    }
    if let Some(base) = &op.base {
        if base.origin != op.origin && op_by_ref(conn, base)?.is_none() {
            return Ok(Step::Hold("waiting_base"));
        }
    }
    // On a laptop, the hub's verdict stands: it judged ownership in the order operations
    // reached it, and every laptop must agree with it. Elsewhere this replica judges.
    let judged_by_hub = rules.self_id != hub && op.verdict.is_some();
    let Ok(remote) = op.hlc.parse::<Hlc>() else {
        return refuse(tx, op, "bad_clock", format!("hlc {:?}", op.hlc), report);
    };
    let now_ms = wall_ms(tx.at());
    if !judged_by_hub && remote.wall_ms > now_ms + MAX_CLOCK_AHEAD_MS {
        return refuse(
            tx,
            op,
            "clock_ahead",
            format!("hlc {} is more than a day ahead of this clock", op.hlc),
            report,
        );
    }
    // A device's hybrid clock never goes backwards, and replicas page the log by it: an
    // operation stamped before one its device already sent would reach laptops ahead of its
    // predecessors and stall them. Refused, not kept, so it is never relayed.
    if !judged_by_hub {
        if let Some(latest) = latest_hlc(conn, &op.origin)? {
            if op.hlc < latest {
                return refuse_unrecorded(
                    tx,
                    op,
                    "clock_backwards",
                    format!("hlc {} is before this device's {latest}", op.hlc),
                    report,
                );
            }
        }
    }
    // Every operation moves the clock past it, whatever becomes of it, but never more than
    // CLOCK_LEAD_MS past this device's wall clock: one peer's fast clock cannot pin everyone's.
    let bounded = if remote.wall_ms > now_ms + CLOCK_LEAD_MS {
        Hlc {
            wall_ms: now_ms + CLOCK_LEAD_MS,
            counter: 0,
        }
    } else {
        remote
    };
    let next = Hlc::receive(hlc_last(conn)?, bounded, now_ms);
    meta::set(tx, HLC_LAST, &next.to_string())?;
    if judged_by_hub && op.verdict.as_deref() == Some("refused") {
        insert_op(conn, op, "refused", tx.at())?;
        set_watermark(conn, &op.origin, op.seq)?;
        report.refused_at_hub += 1;
        return Ok(Step::Done(Outcome::Refused));
    }
    if judged_by_hub
        && op.verdict.as_deref() == Some("superseded")
        && (op.kind == Kind::Photo.as_str() || Kind::parse(&op.kind).is_some_and(Kind::decides))
    {
        // The hub kept another device's metadata for this photo, or another moderator's
        // decision (or an appeal) on this comment: follow it.
        insert_op(conn, op, "superseded", tx.at())?;
        set_watermark(conn, &op.origin, op.seq)?;
        return Ok(Step::Done(Outcome::Superseded));
    }
    let Some(kind) = Kind::parse(&op.kind) else {
        return refuse(tx, op, "unknown_kind", op.kind.clone(), report);
    };
    let from_hub = op.origin == hub;
    if !judged_by_hub {
        // Who may send this kind, by the sender's role as this replica recorded it.
        match sender_role(conn, hub, &op.origin)? {
            None => return refuse(tx, op, "unknown_device", String::new(), report),
            Some(role) if !trust::kind_allowed(kind, role) => {
                let code = if kind.hub_only() {
                    "hub_only"
                } else {
                    "wrong_role"
                };
                return refuse(
                    tx,
                    op,
                    code,
                    format!("{} may not send {}", role.as_str(), op.kind),
                    report,
                );
            }
            Some(_) => {}
        }
        // A decision on a comment needs the hub's 审核 grant, now (a revoked moderator's
        // later decisions are refused).
        if kind.moderation() && !from_hub && !trust::is_moderator(conn, &op.origin)? {
            return refuse(
                tx,
                op,
                "not_moderator",
                format!("{} does not hold 审核", op.origin),
                report,
            );
        }
    }
    if let Err(detail) = check_payload(conn, kind, &op.entity_id, &op.payload) {
        return refuse(tx, op, "bad_payload", detail, report);
    }
    if kind == Kind::PostStep {
        // The post it signs off comes first (from its author's device).
        let post = trust::head_text(&op.payload, "post_steps", "post_id").unwrap_or_default();
        if !conn
            .prepare_cached("SELECT 1 FROM posts WHERE id = ?1")?
            .exists([post])?
        {
            return Ok(Step::Hold("dependency"));
        }
        if conn
            .prepare_cached("SELECT 1 FROM post_steps WHERE id = ?1")?
            .exists([&op.entity_id])?
        {
            return refuse(tx, op, "step_exists", op.entity_id.clone(), report);
        }
        // …and so does the step it follows (from whichever device made it).
        if let Some(after) = trust::head_text(&op.payload, "post_steps", "after_step") {
            if !conn
                .prepare_cached("SELECT 1 FROM post_steps WHERE id = ?1")?
                .exists([after])?
            {
                return Ok(Step::Hold("waiting_base"));
            }
        }
        if !judged_by_hub && !from_hub {
            if let Err((code, detail)) = trust::check_post_step(conn, op)? {
                return refuse(tx, op, code, detail, report);
            }
        }
    }
    if !judged_by_hub {
        if let Err((code, detail)) =
            trust::check_content(conn, kind, &op.entity_id, &op.payload, from_hub)?
        {
            return refuse(tx, op, code, detail, report);
        }
    }
    if !judged_by_hub && !from_hub && kind.resident() {
        if let Err((code, detail)) = check_resident(conn, kind, op)? {
            return refuse(tx, op, code, detail, report);
        }
    }
    let owner_key = owner_key(kind, &op.entity_id);
    if !judged_by_hub && kind == Kind::Sheet {
        // The laptop that scores for the sheet's scorer, as the organiser assigned it; the
        // scorer is the stored sheet's (checked unchanged above).
        let scorer = trust::head_text(&op.payload, "sheets", "scorer_id").unwrap_or_default();
        match trust::scorer_device(conn, scorer)? {
            _ if from_hub => {
                // The hub may unlock a scorer's sheet, never change its marks.
                if conn
                    .prepare_cached("SELECT 1 FROM sheets WHERE id = ?1")?
                    .exists([&op.entity_id])?
                    && !same_children(conn, kind, &op.entity_id, &op.payload)?
                {
                    return refuse(tx, op, "hub_changed_scores", String::new(), report);
                }
            }
            Some(device) if device == op.origin => {}
            Some(device) => {
                return refuse(
                    tx,
                    op,
                    "not_owner",
                    format!("scorer {scorer} is scored on {device}"),
                    report,
                )
            }
            // Honest laptops may score before the organiser assigned them: the sheet waits,
            // listed, until the organiser does (or the origin's backlog fills up).
            None => return Ok(Step::Hold("unassigned")),
        }
    }
    // A new record belongs to its first writer only once that writer's operation is applied.
    let mut claim: Option<&String> = None;
    if let (false, Some(key)) = (judged_by_hub, &owner_key) {
        match owner_of(conn, key)? {
            Some(owner) if owner != op.origin && kind == Kind::Photo => {
                // Set once, by the device whose metadata reached the hub first.
                insert_op(conn, op, "superseded", tx.at())?;
                set_watermark(conn, &op.origin, op.seq)?;
                return Ok(Step::Done(Outcome::Superseded));
            }
            Some(owner) if owner != op.origin && !from_hub => {
                return refuse(
                    tx,
                    op,
                    "not_owner",
                    format!("{key} belongs to {owner}"),
                    report,
                )
            }
            Some(_) => {}
            None => claim = Some(key),
        }
    }

    if judged_by_hub && kind == Kind::CommentReport {
        let comment = crate::comments::parse_report(&op.entity_id, &op.payload)
            .map(|r| r.comment_id)
            .unwrap_or_default();
        if !crate::comments::exists(conn, &comment)? {
            // A report of a comment from before comments replicated, which only the hub has:
            // kept unapplied, never held (it would stall everything after it).
            insert_op(conn, op, "superseded", tx.at())?;
            set_watermark(conn, &op.origin, op.seq)?;
            return Ok(Step::Done(Outcome::Superseded));
        }
    }
    if kind.decides() {
        let on_comment = matches!(
            kind,
            Kind::CommentDecision | Kind::CommentHandling | Kind::CommentMute | Kind::CommentAppeal
        );
        if judged_by_hub {
            if on_comment && !crate::comments::exists(conn, &op.entity_id)? {
                // A comment from before comments replicated: nothing here to decide on.
                insert_op(conn, op, "superseded", tx.at())?;
                set_watermark(conn, &op.origin, op.seq)?;
                return Ok(Step::Done(Outcome::Superseded));
            }
        } else if let Some(step) = judge_moderation(tx, kind, op, report)? {
            return Ok(step);
        }
    }
    // Concurrent edits: the writer had not seen the record's current state.
    // A photo's metadata is set once (above): never a conflict. Decisions were judged above.
    let current = if kind == Kind::Photo || !kind.tracks_head() || kind.decides() {
        None
    } else {
        head(conn, kind, &op.entity_id)?
    };
    let mut keep_current = false;
    if let Some(cur) = &current {
        if saw(conn, op, cur)? {
            // the usual case: it builds on what is here
        } else if let Some(cur_op) = op_by_ref(conn, cur)? {
            if saw(conn, &cur_op, &op.id())? {
                // already incorporated in what is here: an old operation arriving late
                insert_op(conn, op, "superseded", tx.at())?;
                set_watermark(conn, &op.origin, op.seq)?;
                return Ok(Step::Done(Outcome::Superseded));
            }
            let cur_from_hub = cur.origin == hub;
            keep_current = cur_from_hub
                || !from_hub
                    && owner_device(conn, kind, owner_key.as_ref(), op)?
                        == Some(cur.origin.clone());
            let (winner, loser) = if keep_current {
                (cur.clone(), op.id())
            } else {
                (op.id(), cur.clone())
            };
            record_conflict(tx, "concurrent_edit", kind, &op.entity_id, &winner, &loser)?;
            report.conflicts.push(IssueNote {
                op: loser,
                kind: kind.as_str().to_string(),
                entity_id: op.entity_id.clone(),
                code: "conflict".into(),
                detail: format!("kept {}#{}", winner.origin, winner.seq),
            });
        }
    }
    if keep_current {
        insert_op(conn, op, "superseded", tx.at())?;
        set_watermark(conn, &op.origin, op.seq)?;
        return Ok(Step::Done(Outcome::Superseded));
    }
    if !judged_by_hub && !from_hub {
        if let Err((code, detail)) =
            trust::check_transition(conn, kind, &op.entity_id, &op.payload)?
        {
            return refuse(tx, op, code, detail, report);
        }
        // An appeal only of a rejected comment, once (as on the site that took it).
        if kind == Kind::CommentAppeal && !crate::comments::may_appeal(conn, &op.entity_id)? {
            return refuse(
                tx,
                op,
                "bad_transition",
                format!("comment {} is not rejected, or was appealed", op.entity_id),
                report,
            );
        }
    }

    let change_op = change_op(conn, kind, &op.entity_id, &op.payload)?;
    conn.execute_batch("SAVEPOINT apply_op")?;
    match write_state(conn, kind, op) {
        Ok(()) => conn.execute_batch("RELEASE apply_op")?,
        Err(e) => {
            conn.execute_batch("ROLLBACK TO apply_op; RELEASE apply_op")?;
            let fk = matches!(&e, StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _))
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY);
            if fk && !kind.hub_only() {
                return Ok(Step::Hold("dependency"));
            }
            return refuse(tx, op, "not_applicable", e.to_string(), report);
        }
    }
    if let Some(key) = claim {
        bind_owner(conn, key, &op.origin)?;
    }
    insert_op(conn, op, "applied", tx.at())?;
    set_watermark(conn, &op.origin, op.seq)?;
    if kind.tracks_head() {
        set_head(conn, kind.head_kind(), &op.entity_id, &op.id())?;
    }
    // A sign-off step is announced under its post, as the fold left it.
    if kind == Kind::PostStep {
        let (post, done) = crate::feed::signoff::stamp(conn, &op.entity_id, &op.hlc)?;
        tx.record(crate::ChangeInput {
            entity: crate::feed::ENTITY,
            entity_id: post,
            op: crate::feed::signoff::announced_op(done),
            payload: serde_json::json!({ "origin": op.origin, "seq": op.seq }),
        })?;
        return Ok(Step::Done(Outcome::Applied));
    }
    // A report is announced under its comment, as a local report is (the 被举报 queue).
    let announced = match kind {
        Kind::CommentReport => crate::comments::parse_report(&op.entity_id, &op.payload)
            .map_or_else(|_| op.entity_id.clone(), |r| r.comment_id),
        _ => op.entity_id.clone(),
    };
    tx.record(crate::ChangeInput {
        entity: kind.entity(),
        entity_id: announced,
        op: change_op,
        payload: serde_json::json!({ "origin": op.origin, "seq": op.seq }),
    })?;
    Ok(Step::Done(Outcome::Applied))
}

/// Who may make a resident's record besides the comment, where operations are judged (the
/// hub; the sender's role was checked already: only a device that runs a site). A report is
/// made once, of a comment this replica has; an appeal only by the site that took the
/// comment (`not_site_host`: only that site knows the phone that wrote it); a like count of
/// the event or a post this replica has, and never lower than the site's last.
fn check_resident(
    conn: &Connection,
    kind: Kind,
    op: &Op,
) -> Result<std::result::Result<(), trust::Refusal>> {
    let unknown = |id: &str| Ok(Err(("unknown_comment", id.to_string())));
    match kind {
        Kind::CommentReport => {
            let Ok(r) = crate::comments::parse_report(&op.entity_id, &op.payload) else {
                return Ok(Ok(())); // checked with the payload
            };
            if crate::comments::report_exists(conn, &r.id)? {
                return Ok(Err((
                    "report_exists",
                    format!("report {} is here already; it never changes", r.id),
                )));
            }
            if !crate::comments::exists(conn, &r.comment_id)? {
                return unknown(&r.comment_id);
            }
        }
        Kind::CommentAppeal => {
            if !crate::comments::exists(conn, &op.entity_id)? {
                return unknown(&op.entity_id);
            }
            let site = crate::comments::site_of(conn, &op.entity_id)?;
            if site.as_deref() != Some(op.origin.as_str()) {
                return Ok(Err((
                    "not_site_host",
                    format!(
                        "comment {} was taken by {}, not {}",
                        op.entity_id,
                        site.as_deref().unwrap_or("no replicated site"),
                        op.origin
                    ),
                )));
            }
        }
        Kind::LikeCount => {
            let Ok(l) = crate::comments::parse_like_count(&op.entity_id, &op.payload) else {
                return Ok(Ok(()));
            };
            if l.target != guanmo_domain::comments::EVENT_TARGET
                && !conn
                    .prepare_cached("SELECT 1 FROM posts WHERE id = ?1")?
                    .exists([&l.target])?
            {
                return Ok(Err(("unknown_target", l.target)));
            }
            if let Some(had) = crate::comments::site_like_count(conn, &op.origin, &l.target)? {
                if l.count < had {
                    return Ok(Err((
                        "count_went_back",
                        format!("{} likes after {had}", l.count),
                    )));
                }
            }
        }
        _ => {}
    }
    Ok(Ok(()))
}

/// The change-log op an applied operation is announced as. A post that becomes, stays or
/// stops being public is announced with the feed's public ops (see
/// [`crate::feed::PUBLIC_OPS`]), so the resident page, its live stream and its ETag follow
/// posts that arrive by sync exactly like posts written here; likewise a comment arrives as
/// `submit` and a decision as its own name (see [`crate::comments::PUBLIC_OPS`]).
fn change_op(
    conn: &Connection,
    kind: Kind,
    entity_id: &str,
    payload: &Value,
) -> Result<&'static str> {
    match kind {
        Kind::Comment => return Ok("submit"),
        Kind::CommentDecision => {
            return Ok(crate::comments::parse_decision(entity_id, payload)
                .ok()
                .and_then(|d| guanmo_domain::comments::ModAction::parse_decision(&d.action))
                .map_or(
                    crate::comments::DISMISS_REPORTS,
                    guanmo_domain::comments::ModAction::as_str,
                ))
        }
        Kind::CommentHandling => {
            let action = crate::comments::parse_handling(entity_id, payload)
                .map(|h| h.action)
                .unwrap_or_default();
            return Ok(match action.as_str() {
                "reply" => "reply",
                crate::comments::OFFICIAL_REPLY => crate::comments::OFFICIAL_REPLY,
                _ => "assign",
            });
        }
        Kind::CommentArea => return Ok("area"),
        Kind::CommentWord => return Ok("word"),
        Kind::CommentReport => return Ok("report"),
        Kind::CommentAppeal => return Ok("appeal"),
        Kind::LikeCount => return Ok("like"),
        Kind::CommentMute => {
            let muted = crate::comments::parse_mute(entity_id, payload).is_ok_and(|m| m.muted);
            return Ok(if muted { "mute" } else { "unmute" });
        }
        Kind::Post => {}
        _ => return Ok("sync"),
    }
    let before: Option<String> = conn
        .prepare_cached("SELECT status FROM posts WHERE id = ?1")?
        .query_row([entity_id], |r| r.get(0))
        .optional()?;
    let after = trust::head_text(payload, "posts", "status");
    Ok(match (before.as_deref(), after) {
        (Some("published"), Some("published")) => "update",
        (_, Some("published")) => "publish",
        (Some("published"), Some("retracted")) => "retract",
        _ => "sync",
    })
}

/// The device that owns the record an operation writes: for a sheet the laptop assigned to
/// its scorer, for a post or photo the device bound to it.
fn owner_device(
    conn: &Connection,
    kind: Kind,
    key: Option<&String>,
    op: &Op,
) -> Result<Option<String>> {
    if kind == Kind::Sheet {
        let scorer = trust::head_text(&op.payload, "sheets", "scorer_id").unwrap_or_default();
        return trust::scorer_device(conn, scorer);
    }
    match key {
        Some(k) => owner_of(conn, k),
        None => Ok(None),
    }
}

fn record_conflict(
    tx: &WriteTx<'_>,
    code: &str,
    kind: Kind,
    entity_id: &str,
    winner: &OpRef,
    loser: &OpRef,
) -> Result<()> {
    tx.conn()
        .prepare_cached(
            "INSERT INTO sync_issues (id, kind, code, op_origin, op_seq, entity_kind, entity_id,
                                      other_origin, other_seq, detail, at)
             VALUES (?1, 'conflict', ?9, ?2, ?3, ?4, ?5, ?6, ?7, '', ?8)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            guanmo_domain::ids::new_id(),
            loser.origin,
            loser.seq,
            kind.as_str(),
            entity_id,
            winner.origin,
            winner.seq,
            tx.at(),
            code
        ])?;
    Ok(())
}

/// Judges a moderator's decision where decisions are judged (the hub): one that saw the
/// comment's current decision (or the first one) goes on to the usual checks (`None`). One
/// made without seeing the decision that stands here is kept unapplied: silently when it
/// would leave the comment as it is, else listed as a `decision_conflict` (the standing one
/// named) and reported to its sender as refused. The first decision to reach the hub stands.
fn judge_moderation(
    tx: &WriteTx<'_>,
    kind: Kind,
    op: &Op,
    report: &mut ApplyReport,
) -> Result<Option<Step>> {
    let conn = tx.conn();
    let Some(cur) = head(conn, kind.head_kind(), &op.entity_id)? else {
        return Ok(None);
    };
    if saw(conn, op, &cur)? {
        return Ok(None);
    }
    let late = match op_by_ref(conn, &cur)? {
        Some(cur_op) => saw(conn, &cur_op, &op.id())?,
        None => false,
    };
    let same = match kind {
        Kind::CommentDecision => {
            let Some(stored) = crate::comments::mod_state(conn, &op.entity_id)? else {
                return Ok(None); // no comment: the transition check refuses it
            };
            crate::comments::parse_decision(&op.entity_id, &op.payload)
                .ok()
                .is_some_and(|d| d.status == stored.status.as_str() && d.pinned == stored.pinned)
        }
        Kind::CommentHandling => {
            match crate::comments::parse_handling(&op.entity_id, &op.payload) {
                Ok(h) => crate::comments::handling_is(conn, &h)?,
                Err(_) => false,
            }
        }
        Kind::CommentArea => match crate::comments::parse_area(&op.entity_id, &op.payload) {
            Ok(a) => crate::comments::area_open(conn)? == a.open,
            Err(_) => false,
        },
        Kind::CommentWord => match crate::comments::parse_word(&op.entity_id, &op.payload) {
            Ok(w) => crate::comments::has_word(conn, &w.word)? == w.present,
            Err(_) => false,
        },
        Kind::CommentMute => match crate::comments::parse_mute(&op.entity_id, &op.payload) {
            Ok(m) => crate::comments::mute_is(conn, &m)?,
            Err(_) => false,
        },
        _ => false,
    };
    insert_op(conn, op, "superseded", tx.at())?;
    set_watermark(conn, &op.origin, op.seq)?;
    if !late && !same {
        record_conflict(tx, "decision_conflict", kind, &op.entity_id, &cur, &op.id())?;
        let note = IssueNote {
            op: op.id(),
            kind: op.kind.clone(),
            entity_id: op.entity_id.clone(),
            code: "decision_conflict".into(),
            detail: format!(
                "another moderator's decision stands: {}#{}",
                cur.origin, cur.seq
            ),
        };
        report.conflicts.push(note.clone());
        report.refused.push(note);
    }
    Ok(Some(Step::Done(Outcome::Superseded)))
}

/// Column names of a table, from SQLite itself: the whitelist a payload is checked against.
fn columns(conn: &Connection, table: &str) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached("SELECT name FROM pragma_table_info(?1)")?;
    let rows = st.query_map([table], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Checks a payload's shape before anything is written: only the aggregate's tables, only
/// their columns, every key present, scalar values, every row inside the aggregate.
fn check_payload(
    conn: &Connection,
    kind: Kind,
    entity_id: &str,
    payload: &Value,
) -> std::result::Result<(), String> {
    match kind {
        Kind::Comment => return crate::comments::parse_record(entity_id, payload).map(|_| ()),
        Kind::CommentDecision => {
            return crate::comments::parse_decision(entity_id, payload).map(|_| ())
        }
        Kind::CommentHandling => {
            return crate::comments::parse_handling(entity_id, payload).map(|_| ())
        }
        Kind::CommentArea => return crate::comments::parse_area(entity_id, payload).map(|_| ()),
        Kind::CommentWord => return crate::comments::parse_word(entity_id, payload).map(|_| ()),
        Kind::CommentMute => return crate::comments::parse_mute(entity_id, payload).map(|_| ()),
        Kind::CommentReport => {
            return crate::comments::parse_report(entity_id, payload).map(|_| ())
        }
        Kind::CommentAppeal => {
            return crate::comments::parse_appeal(entity_id, payload).map(|_| ())
        }
        Kind::LikeCount => {
            return crate::comments::parse_like_count(entity_id, payload).map(|_| ())
        }
        _ => {}
    }
    let obj = payload.as_object().ok_or("payload is not an object")?;
    let specs = kind.tables();
    for name in obj.keys() {
        if !specs.iter().any(|s| s.name == name) {
            return Err(format!("table {name:?} is not part of {}", kind.as_str()));
        }
    }
    for (i, spec) in specs.iter().enumerate() {
        let rows = obj
            .get(spec.name)
            .and_then(Value::as_array)
            .ok_or_else(|| format!("{} missing", spec.name))?;
        let cols = columns(conn, spec.name).map_err(|e| e.to_string())?;
        for row in rows {
            let row = row.as_object().ok_or("row is not an object")?;
            for (k, v) in row {
                if !cols.iter().any(|c| c == k) {
                    return Err(format!("{}.{k} is not a column", spec.name));
                }
                if v.is_array() || v.is_object() || v.is_boolean() {
                    return Err(format!("{}.{k} is not a scalar", spec.name));
                }
            }
            for k in spec.key {
                if row.get(*k).is_none_or(Value::is_null) {
                    return Err(format!("{}.{k} missing", spec.name));
                }
            }
            if let Some(scope) = spec.scope {
                if row.get(scope).and_then(Value::as_str) != Some(entity_id) {
                    return Err(format!("{} row outside {entity_id}", spec.name));
                }
            }
        }
        // An owned aggregate's first table is its head row: exactly one.
        if i == 0 && spec.scope.is_some() && rows.len() != 1 {
            return Err(format!("{} must hold one row", spec.name));
        }
    }
    Ok(())
}

/// True when the payload's child rows equal what is stored (used for the hub's edits of a
/// scorer's sheet: it may change the sheet's status, not its marks).
fn same_children(conn: &Connection, kind: Kind, entity_id: &str, payload: &Value) -> Result<bool> {
    for spec in kind.tables().iter().skip(1) {
        let mut here = rows_of(conn, spec, entity_id)?;
        let mut there = payload
            .get(spec.name)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let key = |v: &Value| v.to_string();
        here.sort_by_key(key);
        there.sort_by_key(key);
        // `updated_at` of a mark is the scorer's; compare everything.
        if here != there {
            return Ok(false);
        }
    }
    Ok(true)
}

fn sql_value(v: &Value) -> rusqlite::types::Value {
    use rusqlite::types::Value as V;
    match v {
        Value::Null => V::Null,
        Value::Number(n) => n
            .as_i64()
            .map(V::Integer)
            .or_else(|| n.as_f64().map(V::Real))
            .unwrap_or(V::Null),
        Value::String(s) => V::Text(s.clone()),
        other => V::Text(other.to_string()),
    }
}

/// Replaces the stored state of an aggregate with the payload of `op` (already checked).
fn write_state(conn: &Connection, kind: Kind, op: &Op) -> Result<()> {
    let (entity_id, payload) = (op.entity_id.as_str(), &op.payload);
    let unreadable = |e: String| StoreError::Corrupt(format!("{} {entity_id}: {e}", kind.as_str()));
    // A decision, follow-up or mute on a comment this device does not have.
    let found = |applied: bool| {
        if applied {
            Ok(())
        } else {
            Err(StoreError::NotFound {
                entity: crate::comments::ENTITY,
                id: entity_id.to_string(),
            })
        }
    };
    match kind {
        Kind::Comment => {
            let r = crate::comments::parse_record(entity_id, payload).map_err(unreadable)?;
            return crate::comments::apply_record(conn, &r);
        }
        Kind::CommentDecision => {
            let d = crate::comments::parse_decision(entity_id, payload).map_err(unreadable)?;
            if !crate::comments::apply_decision(conn, &d)? {
                return found(false);
            }
            if closes_reports(&d.action) {
                crate::comments::close_reports(conn, entity_id, [&op.hlc, &d.log_at, &d.actor])?;
            }
            return Ok(());
        }
        Kind::CommentHandling => {
            let h = crate::comments::parse_handling(entity_id, payload).map_err(unreadable)?;
            return found(crate::comments::apply_handling(conn, &h)?);
        }
        Kind::CommentArea => {
            let a = crate::comments::parse_area(entity_id, payload).map_err(unreadable)?;
            return crate::comments::apply_area(conn, &a);
        }
        Kind::CommentWord => {
            let w = crate::comments::parse_word(entity_id, payload).map_err(unreadable)?;
            return crate::comments::apply_word(conn, &w);
        }
        Kind::CommentMute => {
            let m = crate::comments::parse_mute(entity_id, payload).map_err(unreadable)?;
            return found(crate::comments::apply_mute(conn, &m)?);
        }
        Kind::CommentReport => {
            let r = crate::comments::parse_report(entity_id, payload).map_err(unreadable)?;
            return crate::comments::apply_report(conn, &r, &op.hlc);
        }
        Kind::CommentAppeal => {
            let a = crate::comments::parse_appeal(entity_id, payload).map_err(unreadable)?;
            return found(crate::comments::apply_appeal(conn, &a)?);
        }
        Kind::LikeCount => {
            let l = crate::comments::parse_like_count(entity_id, payload).map_err(unreadable)?;
            return crate::comments::apply_like_count(conn, &op.origin, &l, &op.at);
        }
        _ => {}
    }
    let specs = kind.tables();
    let empty = Vec::new();
    let rows_for = |spec: &TableSpec| {
        payload
            .get(spec.name)
            .and_then(Value::as_array)
            .unwrap_or(&empty)
    };
    if kind == Kind::Post {
        let pinned = rows_for(&specs[0])
            .first()
            .and_then(|r| r.get("pinned"))
            .and_then(Value::as_i64)
            == Some(1);
        if pinned {
            conn.execute(
                "UPDATE posts SET pinned = 0 WHERE pinned = 1 AND id <> ?1",
                [entity_id],
            )?;
        }
    }
    // Rows gone from an aggregate go first (children before parents), so a renamed roster
    // does not trip over its own unique names.
    for (i, spec) in specs.iter().enumerate().rev() {
        if i == 0 && spec.scope.is_some() {
            continue; // the head row itself is replaced, never deleted
        }
        let keep: Vec<String> = rows_for(spec).iter().map(|r| key_text(spec, r)).collect();
        let key_expr = spec
            .key
            .iter()
            .map(|k| format!("quote({k})"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        let filter = match spec.scope {
            Some(col) => format!("WHERE {col} = ?1"),
            None => "WHERE ?1 IS NOT NULL".to_string(),
        };
        let sql = format!(
            "DELETE FROM {t} {filter} AND ({key_expr}) NOT IN (SELECT value FROM json_each(?2))",
            t = spec.name
        );
        conn.prepare_cached(&sql)?
            .execute(params![entity_id, serde_json::to_string(&keep)?])?;
    }
    for spec in specs {
        for row in rows_for(spec) {
            upsert(conn, spec, row)?;
        }
    }
    Ok(())
}

/// The text `quote(k1) || '|' || quote(k2)` gives for a row, so deletions can compare keys.
fn key_text(spec: &TableSpec, row: &Value) -> String {
    spec.key
        .iter()
        .map(|k| match row.get(*k) {
            Some(Value::String(s)) => format!("'{}'", s.replace('\'', "''")),
            Some(Value::Number(n)) => n.to_string(),
            _ => "NULL".to_string(),
        })
        .collect::<Vec<_>>()
        .join("|")
}

fn upsert(conn: &Connection, spec: &TableSpec, row: &Value) -> Result<()> {
    let Some(obj) = row.as_object() else {
        return Ok(());
    };
    let names: Vec<&String> = obj.keys().collect();
    let cols = names
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let marks = (1..=names.len())
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let set = names
        .iter()
        .filter(|n| !spec.key.contains(&n.as_str()))
        .map(|n| format!("\"{n}\" = excluded.\"{n}\""))
        .collect::<Vec<_>>();
    let conflict = spec.key.join(", ");
    // A photo's metadata is set once, by the device whose operation the hub applied first
    // (see `apply_one`); a laptop takes what the hub applied.
    let tail = if set.is_empty() {
        "DO NOTHING".to_string()
    } else {
        format!("DO UPDATE SET {}", set.join(", "))
    };
    let sql = format!(
        "INSERT INTO {} ({cols}) VALUES ({marks}) ON CONFLICT ({conflict}) {tail}",
        spec.name
    );
    let values: Vec<rusqlite::types::Value> = obj.values().map(sql_value).collect();
    conn.prepare_cached(&sql)?
        .execute(rusqlite::params_from_iter(values))?;
    Ok(())
}

#[cfg(test)]
#[path = "oplog_tests.rs"]
mod tests;
