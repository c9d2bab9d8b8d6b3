//! Photo use cases: recording what the media pipeline imported (evidence metadata stays
//! inside the app), listing the gallery, and attaching photos to a criterion of a draft sheet
//! as evidence (拍照留证).

use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use guanmo_media::Imported;
use guanmo_store::photos::{self as store, PhotoRow};
use serde::{Deserialize, Serialize};
use specta::Type;

/// A photo as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct PhotoInfo {
    /// Content hash (BLAKE3), the photo's address.
    pub hash: String,
    /// File name at first import.
    pub file_name: String,
    /// Width as displayed.
    pub width: i32,
    /// Height as displayed.
    pub height: i32,
    /// jpeg, png or webp.
    pub format: String,
    /// Capture time as the camera wrote it.
    pub taken_at: Option<String>,
    /// Camera make and model.
    pub camera: Option<String>,
    /// Latitude.
    pub gps_lat: Option<f64>,
    /// Longitude.
    pub gps_lon: Option<f64>,
    /// When it was first imported.
    pub imported_at: String,
    /// Size of the original in bytes (at most 50 MB).
    pub original_bytes: i32,
}

impl From<PhotoRow> for PhotoInfo {
    fn from(p: PhotoRow) -> Self {
        PhotoInfo {
            hash: p.hash,
            file_name: p.file_name,
            width: p.width,
            height: p.height,
            format: p.format,
            taken_at: p.taken_at,
            camera: p.camera,
            gps_lat: p.gps_lat,
            gps_lon: p.gps_lon,
            imported_at: p.imported_at,
            original_bytes: i32::try_from(p.original_bytes).unwrap_or(i32::MAX),
        }
    }
}

/// Records a photo the media pipeline stored; the same hash again keeps the first record.
pub fn record_imported(ctx: &Ctx, file_name: &str, imported: &Imported) -> ApiResult<PhotoInfo> {
    let row = PhotoRow {
        hash: imported.hash.clone(),
        file_name: file_name.chars().take(255).collect(),
        width: i32::try_from(imported.width).unwrap_or(i32::MAX),
        height: i32::try_from(imported.height).unwrap_or(i32::MAX),
        format: imported.format.as_str().to_string(),
        taken_at: imported.meta.taken_at.clone(),
        camera: imported.meta.camera.clone(),
        gps_lat: imported.meta.gps.map(|g| g.0),
        gps_lon: imported.meta.gps.map(|g| g.1),
        original_bytes: i64::try_from(imported.original_bytes).unwrap_or(i64::MAX),
        imported_at: String::new(),
    };
    let saved = ctx
        .store
        .write(ctx.clock.now(), ctx.actor(), |tx| store::record(tx, &row))?;
    Ok(saved.into())
}

/// Every photo, newest first.
pub fn list_photos(ctx: &Ctx) -> ApiResult<Vec<PhotoInfo>> {
    Ok(ctx
        .store
        .read(store::list)?
        .into_iter()
        .map(PhotoInfo::from)
        .collect())
}

fn check_criterion(ctx: &Ctx, criterion_id: &str) -> ApiResult<()> {
    let rubric = crate::rubric::get_rubric(ctx)?;
    let known = rubric
        .categories
        .iter()
        .flat_map(|c| &c.criteria)
        .any(|k| k.id.as_deref() == Some(criterion_id));
    if known {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::NotFound,
            "criterion not in the rubric",
        ))
    }
}

/// Attaches an imported photo to a criterion of a draft sheet.
pub fn attach_evidence(
    ctx: &Ctx,
    sheet_id: &str,
    criterion_id: &str,
    hash: &str,
) -> ApiResult<guanmo_domain::scoring::Sheet> {
    let sheet = crate::scoring::editable(ctx, sheet_id)?;
    check_criterion(ctx, criterion_id)?;
    ctx.store.read(|c| store::get(c, hash))?;
    ctx.store.write(ctx.clock.now(), ctx.actor(), |tx| {
        store::attach(tx, &sheet.id, criterion_id, hash)
    })?;
    crate::scoring::get_sheet(ctx, sheet_id)
}

/// Detaches a photo from a criterion of a draft sheet.
pub fn detach_evidence(
    ctx: &Ctx,
    sheet_id: &str,
    criterion_id: &str,
    hash: &str,
) -> ApiResult<guanmo_domain::scoring::Sheet> {
    let sheet = crate::scoring::editable(ctx, sheet_id)?;
    ctx.store.write(ctx.clock.now(), ctx.actor(), |tx| {
        store::detach(tx, &sheet.id, criterion_id, hash)
    })?;
    crate::scoring::get_sheet(ctx, sheet_id)
}
