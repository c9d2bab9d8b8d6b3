//! `GET /media/{hash}/{size}`: the public copies of a published post's photos, 320 px or
//! 1600 px on the long side. Invariant: only a photo that a public post shows is served, and
//! never its original. With 台标 on, the copy served is the watermarked one made under the
//! current setting's digest (never one made with an older setting); a link that names that
//! digest (`?w=<digest>`) is cached forever, any other is revalidated (`no-cache` + `ETag`), so
//! a phone never keeps a copy from before the setting changed. With 台标 off the files are
//! content-addressed and cached forever.

use crate::cache::FOREVER;
use crate::error::{blocking, HttpError, Plain};
use crate::state::WebState;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use guanmo_api::feed;
use guanmo_api::photos::watermark;
use guanmo_media::Size;

/// The long side for a derived-size file name; originals have no URL at all.
fn long_side(size: &str) -> Option<u32> {
    match size {
        "320.jpg" => Some(320),
        "1600.jpg" => Some(1600),
        _ => None,
    }
}

/// The `w` parameter of the query (the 台标 digest the link was made with), if any.
fn named_digest(query: Option<&str>) -> Option<&str> {
    query?.split('&').find_map(|pair| pair.strip_prefix("w="))
}

pub(super) async fn media(
    State(state): State<WebState>,
    Path((hash, size)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
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
    let (path, cache, size) = match state.media.derived_path(&hash, side) {
        Some(p) if side == 1600 => (p, FOREVER, Size::Web),
        Some(p) => (p, FOREVER, Size::Thumb),
        None if side == 1600 => (
            state
                .media
                .derived_path(&hash, 320)
                .ok_or_else(HttpError::not_found)?,
            "no-store",
            Size::Thumb,
        ),
        None => return Err(HttpError::not_found()),
    };
    // The copy residents see: the derived one, or (台标 on) its watermarked copy.
    let ctx = state.ctx.clone();
    let h = hash.clone();
    let (path, digest) =
        blocking(move || watermark::public_copy(&ctx, &h, size, &path).map_err(Plain)).await?;
    let mut etag = None;
    // Cached for good only when the link names what it gets now (no `w` while 台标 is off).
    let named = named_digest(query.as_deref());
    let cache = match digest.as_deref() {
        current if cache == FOREVER && named != current => {
            let tag = format!("\"w-{}\"", current.unwrap_or("none"));
            let seen = headers
                .get(header::IF_NONE_MATCH)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
            if seen {
                return Ok((
                    StatusCode::NOT_MODIFIED,
                    [
                        (header::ETAG, tag),
                        (header::CACHE_CONTROL, "no-cache".into()),
                    ],
                )
                    .into_response());
            }
            etag = Some(tag);
            "no-cache"
        }
        _ => cache,
    };
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| HttpError::not_found())?;
    let mut response = (
        [
            (header::CONTENT_TYPE, "image/jpeg"),
            (header::CACHE_CONTROL, cache),
        ],
        Body::from(bytes),
    )
        .into_response();
    if let Some(tag) = etag.and_then(|t| t.parse().ok()) {
        response.headers_mut().insert(header::ETAG, tag);
    }
    Ok(response)
}
