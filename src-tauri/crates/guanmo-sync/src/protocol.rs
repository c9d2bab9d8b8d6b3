//! Messages of the peer protocol. The same types travel as JSON over HTTP and inside bundle
//! files; unknown fields are refused.

use crate::identity::Role;
use guanmo_store::oplog::{ApplyReport, Op, RefillPage};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Most operations in one push or pull.
pub const BATCH: u32 = 500;
/// Bytes of a photo per chunk.
pub const CHUNK: u32 = 1 << 20;

/// A laptop asks to pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairRequest {
    /// The code on the hub's screen.
    pub code: String,
    /// The laptop's device id.
    pub device_id: String,
    /// Its name.
    pub name: String,
    /// 评分电脑 or 直播电脑.
    pub role: Role,
    /// Its ed25519 public key, hex.
    pub public_key: String,
    /// Its ed25519 signature, hex, over [`pair_message`] with its key: a device the hub
    /// already knows pairs again only with the key it first paired with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// What a pairing request's signature covers.
pub fn pair_message(code: &str, device_id: &str, public_key: &str, role: Role) -> Vec<u8> {
    format!(
        "guanmo-pair-v1\n{}\n{device_id}\n{public_key}\n{}",
        code.trim(),
        role.as_str()
    )
    .into_bytes()
}

/// The hub's answer to a good code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairResponse {
    /// The hub's device id.
    pub hub_id: String,
    /// Its name.
    pub hub_name: String,
    /// Its public key, hex.
    pub hub_public_key: String,
    /// The laptop's device token (sent with every later request).
    pub token: String,
    /// The hub's clock, so the laptop can warn about skew.
    pub hub_time: String,
}

/// A laptop sends its own operations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// Operations, all of the sending device.
    pub ops: Vec<Op>,
}

/// What the hub did with them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushResponse {
    /// Per-operation outcome counts, refusals and conflicts.
    pub report: ApplyReport,
    /// Highest sequence number of the sender the hub now has without a gap.
    pub acked_seq: i64,
}

/// A laptop asks for what it lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullRequest {
    /// Its watermark per origin device.
    pub have: BTreeMap<String, i64>,
    /// Most operations wanted.
    pub limit: u32,
}

/// Operations the laptop lacks, oldest first by hybrid clock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullResponse {
    /// The operations.
    pub ops: Vec<Op>,
    /// More are waiting.
    pub more: bool,
    /// The hub's clock.
    pub hub_time: String,
    /// The live site's address on the internet (公网地址), when the hub has one: laptops show
    /// it in 直播网站. Absent from hubs that predate it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_url: Option<String>,
    /// When laptops send photo originals (the organiser's choice on the hub). Absent from
    /// hubs that predate it: [`OriginalsPolicy::Background`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originals: Option<OriginalsPolicy>,
    /// A page of the sheets sent again to a laptop the organiser just assigned a scorer
    /// (转交), among `ops`: the laptop confirms it in its next pull's watermarks, under
    /// [`guanmo_store::oplog::REFILL_ACK`]. Absent when there is none (and from hubs that
    /// predate it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refill: Option<RefillPage>,
}

/// When a laptop sends its photos' originals. A post always goes out with its 1600 px copies
/// first (what residents see); the originals (evidence, and the archive the organiser
/// exports) follow as the organiser sets on the hub.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum OriginalsPolicy {
    /// 后台上传: after everything else, whenever the laptop is online, giving way to new work.
    #[default]
    Background,
    /// 仅局域网: only while the hub is reached at a private or loopback address (the venue's
    /// or the organiser's own network), never over the internet (a 4G hotspot).
    LanOnly,
    /// 仅U盘: never over the network; originals travel in bundle files.
    UsbOnly,
}

impl OriginalsPolicy {
    /// Name in settings.
    pub fn as_str(self) -> &'static str {
        match self {
            OriginalsPolicy::Background => "background",
            OriginalsPolicy::LanOnly => "lan_only",
            OriginalsPolicy::UsbOnly => "usb_only",
        }
    }

    /// From its name; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "background" => Some(OriginalsPolicy::Background),
            "lan_only" => Some(OriginalsPolicy::LanOnly),
            "usb_only" => Some(OriginalsPolicy::UsbOnly),
            _ => None,
        }
    }

    /// Whether originals go over a link to a hub that is (`local`) or is not on this
    /// laptop's own network.
    pub fn sends_over(self, local: bool) -> bool {
        match self {
            OriginalsPolicy::Background => true,
            OriginalsPolicy::LanOnly => local,
            OriginalsPolicy::UsbOnly => false,
        }
    }
}

/// Which of these photos does the other side lack a copy of, in `size` (320 or 1600 px on the
/// long side; the original counts as having both)?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopyQuery {
    /// Content hashes of the originals.
    pub hashes: Vec<String>,
    /// [`THUMB`] or [`WEB`].
    #[serde(default = "web")]
    pub size: u32,
}

/// The 320 px thumbnail: what a post's photo grid shows.
pub const THUMB: u32 = 320;
/// The 1600 px copy: what a photo opened on a phone (or a post's only photo) shows.
pub const WEB: u32 = 1600;

pub(crate) fn web() -> u32 {
    WEB
}

/// The answer to a [`CopyQuery`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopyStatus {
    /// The photos it can show none of.
    pub missing: Vec<String>,
}

/// Largest 1600 px copy in one request.
pub const COPY_MAX: u64 = guanmo_media::MAX_WEB_COPY_BYTES;

/// Which of these photos does the other side lack?
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobQuery {
    /// Content hashes.
    pub hashes: Vec<String>,
}

/// A photo the other side lacks, and how much of it already arrived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobState {
    /// Content hash.
    pub hash: String,
    /// Bytes already received (resume from here).
    pub received: u64,
}

/// The answer to a [`BlobQuery`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobStatus {
    /// The photos lacking, with progress.
    pub missing: Vec<BlobState>,
}
