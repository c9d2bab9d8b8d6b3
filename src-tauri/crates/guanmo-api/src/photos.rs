//! Photo use cases: importing a batch of files and recording what the media pipeline stored
//! (evidence metadata stays inside the app), listing the gallery, and attaching photos to a
//! criterion of a draft sheet as evidence (拍照留证).

mod batch;
pub mod watermark;

pub use batch::{Batches, PhotoImportFinished, PhotoImportProgress, PhotoSkip};

use crate::{ApiError, ApiResult, Ctx, ErrorCode};
pub use guanmo_domain::photos::PhotoInfo;
use guanmo_media::Imported;
use guanmo_store::photos as store;

/// Records a photo the media pipeline stored; the same hash again keeps the first record.
pub fn record_imported(ctx: &Ctx, file_name: &str, imported: &Imported) -> ApiResult<PhotoInfo> {
    let row = PhotoInfo {
        hash: imported.hash.clone(),
        file_name: file_name.chars().take(255).collect(),
        width: i32::try_from(imported.width).unwrap_or(i32::MAX),
        height: i32::try_from(imported.height).unwrap_or(i32::MAX),
        format: imported.format.as_str().to_string(),
        taken_at: imported.meta.taken_at.clone(),
        camera: imported.meta.camera.clone(),
        gps_lat: imported.meta.gps.map(|g| g.0),
        gps_lon: imported.meta.gps.map(|g| g.1),
        original_bytes: i32::try_from(imported.original_bytes).unwrap_or(i32::MAX),
        imported_at: String::new(),
        clock_offset_s: 0,
    };
    Ok(ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        store::record(tx, &row)
    })?)
}

/// Every photo, newest first.
pub fn list_photos(ctx: &Ctx) -> ApiResult<Vec<PhotoInfo>> {
    Ok(ctx.store.read(store::list)?)
}

fn check_criterion(ctx: &Ctx, township_id: &str, criterion_id: &str) -> ApiResult<()> {
    let rubric = crate::rubric::get_rubric_for_township(ctx, township_id)?;
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
    check_criterion(ctx, &sheet.township_id, criterion_id)?;
    ctx.store.read(|c| store::get(c, hash))?;
    ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
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
    ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        store::detach(tx, &sheet.id, criterion_id, hash)
    })?;
    crate::scoring::get_sheet(ctx, sheet_id)
}
