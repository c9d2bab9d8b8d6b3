//! `GET /media/{hash}/{size}`: the web copies of a published post's photos, 320 px or
//! 1600 px on the long side. Invariant: only a photo that a public post shows is served, and
//! never its original; the files are content-addressed, so they are cached forever.

use crate::cache::FOREVER;
use crate::error::{blocking, HttpError, Plain};
use crate::state::WebState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use guanmo_api::feed;

/// The long side for a derived-size file name; originals have no URL at all.
fn long_side(size: &str) -> Option<u32> {
    match size {
        "320.jpg" => Some(320),
        "1600.jpg" => Some(1600),
        _ => None,
    }
}

pub(super) async fn media(
    State(state): State<WebState>,
    Path((hash, size)): Path<(String, String)>,
) -> Result<Response, HttpError> {
    let side = long_side(&size).ok_or_else(HttpError::not_found)?;
    if !guanmo_domain::feed::is_photo_hash(&hash) {
        return Err(HttpError::not_found());
    }
    let ctx = state.ctx.clone();
    let h = hash.clone();
    if !blocking(move || feed::photo_is_public(&ctx, &h).map_err(Plain)).await? {
        return Err(HttpError::not_found());
    }
    // A post from a laptop on 4G goes public with its thumbnails; its 1600 px copies follow
    // seconds later. Until one is here the thumbnail stands in, never cached.
    let (path, cache) = match state.media.derived_path(&hash, side) {
        Some(p) => (p, FOREVER),
        None if side == 1600 => (
            state
                .media
                .derived_path(&hash, 320)
                .ok_or_else(HttpError::not_found)?,
            "no-store",
        ),
        None => return Err(HttpError::not_found()),
    };
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| HttpError::not_found())?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, cache),
        ],
        Body::from(bytes),
    )
        .into_response())
}
