//! Sync between the organiser's hub and the laptops (评分电脑, 直播电脑).
//!
//! Every replicated write appends an operation to the op log in the same transaction
//! (`guanmo_store::oplog`). A laptop pushes its own operations to the hub and pulls every
//! other device's from it; photos travel by hash, only those the other side lacks, in
//! resumable chunks. Without a network the same operations and photos travel in a signed
//! bundle file on a USB stick ([`bundle`]). Nothing here depends on Tauri or on HTTP: the
//! exchange runs over a [`Transport`], which is HTTP on the LAN or HTTPS over the internet
//! ([`http`], certificates checked as [`tls`] says) or, in tests, an
//! in-memory transport that drops, duplicates, reorders and cuts messages ([`memory`]). When
//! a laptop exchanges by itself is decided by [`auto`], against an injected clock.

pub mod auto;
mod blobs;
pub mod bundle;
mod client;
mod error;
pub mod grants;
pub mod http;
mod hub;
pub mod hub_url;
mod identity;
pub mod memory;
pub mod originals;
mod pairing;
pub mod protocol;
pub mod reach;
mod status;
pub mod tls;
mod transfer;

pub use client::{sync_in_background, sync_once, Progress, SyncReport, Transport};
pub use error::{SyncError, SyncErrorCode};
pub use hub::HubService;
pub use hub_url::{
    checked_peer_port, effective_peer_port, normalize_hub_url, peer_port_change,
    plain_http_allowed, require_safe_scheme, DEFAULT_PEER_PORT, PEER_PORT_ENV,
};
pub use identity::{
    device_identity, hub_link, peer_port, served_fingerprint, set_peer_port, set_role,
    set_role_explained, set_served_fingerprint, DeviceIdentity, HubLink, Role, MIN_PEER_PORT,
};
pub use pairing::{
    allow_repair, assign_scorer, new_pairing_code, pair_over_http, pair_with_hub,
    pair_with_hub_explained, revoke_device, scorer_assignments, transfer_device, PairingCode,
    PAIRING_TRIES, PAIRING_TRIES_TOTAL,
};
pub use status::{
    adopt_other_version, delivery, overview, resolve_issue, Delivery, DeviceStatus, IssueView,
    SyncOverview, SKEW_WARN_MS,
};
pub use tls::{parse_fingerprint, Fingerprint, HubTrust};

/// Result of sync operations.
pub type SyncResult<T> = Result<T, SyncError>;
