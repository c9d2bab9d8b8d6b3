//! Sync bundle files (导出同步包 / 导入同步包): everything the hub has not confirmed, in one
//! signed file for a USB stick.

use crate::{SyncError, SyncErrorCode, SyncResult};
use guanmo_api::Ctx;
use guanmo_media::MediaStore;
use serde::Serialize;
use specta::Type;
use std::path::Path;

/// Progress of writing or reading a bundle.
#[derive(Debug, Clone, Serialize, Type)]
pub struct BundleProgress {
    /// Entries done.
    pub done: u32,
    /// Entries in all.
    pub total: u32,
}

/// What an export wrote.
#[derive(Debug, Clone, Default, Serialize, Type)]
pub struct BundleSummary {
    /// Operations in the file.
    pub ops: u32,
    /// Photos in the file.
    pub photos: u32,
    /// Size of the file.
    pub bytes: u64,
}

/// One refused operation in an import report.
#[derive(Debug, Clone, Serialize, Type)]
pub struct RefusedOp {
    /// Device that made it.
    pub origin: String,
    /// Its number there.
    pub seq: u32,
    /// Stable code.
    pub code: String,
    /// Details.
    pub detail: String,
}

/// What an import did (导入同步包 report).
#[derive(Debug, Clone, Default, Serialize, Type)]
pub struct BundleReport {
    /// Device that wrote the file.
    pub device_id: String,
    /// Its name, as paired.
    pub device_name: String,
    /// Operations applied.
    pub applied: u32,
    /// Operations already here.
    pub already: u32,
    /// Operations refused, with reasons.
    pub refused: Vec<RefusedOp>,
    /// Operations held back because earlier ones are still missing.
    pub still_missing: u32,
    /// Photos added.
    pub photos_added: u32,
    /// Photos already here.
    pub photos_already: u32,
}

/// Writes everything the hub has not confirmed from this laptop to `path`.
pub fn export_bundle(
    _ctx: &Ctx,
    _media: &MediaStore,
    _path: &Path,
    _progress: &dyn Fn(BundleProgress),
) -> SyncResult<BundleSummary> {
    Err(SyncError::new(
        SyncErrorCode::BundleInvalid,
        "not built yet",
    ))
}

/// Checks and applies a bundle file at the hub, all or nothing.
pub fn import_bundle(
    _ctx: &Ctx,
    _media: &MediaStore,
    _path: &Path,
    _progress: &dyn Fn(BundleProgress),
) -> SyncResult<BundleReport> {
    Err(SyncError::new(
        SyncErrorCode::BundleInvalid,
        "not built yet",
    ))
}
