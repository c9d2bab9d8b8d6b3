//! `GET /media/{hash}/{size}`: the public copies of a published post's photos, 320, 800 or
//! 1600 px on the long side (the 800 px one made from the 1600 px one on first use).
//! Invariant: only a photo that a public post shows is served, and never its original. With
//! 台标 on, the copy served is the watermarked one made under the current setting's digest
//! (never one made with an older setting); a link that names that digest (`?w=<digest>`, as
//! the page's links do) is cached forever, any other is revalidated (`no-cache` + `ETag`), so
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
use guanmo_media::{MID_SIDE, THUMB_SIDE, WEB_SIDE};

/// The long side for a derived-size file name; originals have no URL at all.
fn long_side(size: &str) -> Option<u32> {
    match size {
        "320.jpg" => Some(THUMB_SIDE),
        "800.jpg" => Some(MID_SIDE),
        "1600.jpg" => Some(WEB_SIDE),
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
    let media = state.media.clone();
    let h = hash.clone();
    // Off the async threads: the 800 px copy and a 台标 copy are made on first use.
    let found = blocking(move || {
        if !feed::photo_is_public(&ctx, &h).map_err(Plain)? {
            return Ok::<_, Plain>(None);
        }
        // A post from a laptop on 4G goes public with its thumbnails; its 1600 px copies
        // (which the 800 px ones are made from) follow seconds later. Until one is here the
        // thumbnail stands in, never cached.
        let (path, cache, served) = match media.derived_path(&h, side) {
            Some(p) => (p, FOREVER, side),
            None if side != THUMB_SIDE => match media.derived_path(&h, THUMB_SIDE) {
                Some(p) => (p, "no-store", THUMB_SIDE),
                None => return Ok(None),
            },
            None => return Ok(None),
        };
        // The copy residents see: the derived one, or (台标 on) its watermarked copy.
        let (path, digest) = watermark::public_copy(&ctx, &h, served, &path).map_err(Plain)?;
        Ok::<_, Plain>(Some((path, cache, digest)))
    })
    .await?;
    let (path, cache, digest) = found.ok_or_else(HttpError::not_found)?;
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
