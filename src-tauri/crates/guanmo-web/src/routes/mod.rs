//! The routes of the two listeners. The public router is assembled here from the feed
//! (page, feed JSON, static files), the live stream, photos and the comment routes, behind the
//! guard; the peer router (sync with paired laptops) lives apart in [`peer`], so neither
//! listener holds a route of the other. Route modules depend on the shared leaf modules
//! (`state`, `error`, `guard`, `limits`, …), never the other way round.

mod comments;
mod feed;
pub(crate) mod live;
mod media;
pub mod peer;
mod reach;

use crate::error::HttpError;
use crate::guard;
use crate::state::WebState;
use axum::routing::{get, post};
use axum::Router;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::limit::RequestBodyLimitLayer;

/// Largest request body accepted (the comment routes' JSON).
const BODY_LIMIT: usize = 16 * 1024;

/// The resident-facing router (see [`crate::public_router`]).
pub(crate) fn router(state: WebState) -> Router {
    let guard = guard::GuardLayer::new(
        state.config.allowed_hosts.clone(),
        state.config.limits.trusted_proxies.clone(),
    );
    // Each router gets its layers in a single `layer` call: axum boxes (and clones per
    // request) every layer added with its own call. The guard is outermost, so that every response, the
    // body limit's 413 included, carries the security headers.
    // `/` and `/api/feed` serve compressed copies kept with the cached body and take no
    // body, so they stay out of the compression layer (which would wrap every response and
    // compress again) and out of the body limit (which wraps every response body too): on
    // the hottest route the guard is the only layer.
    let compressed = Router::new()
        .route("/live", get(live::live))
        .route("/media/{hash}/{size}", get(media::media))
        .route("/static/{file}", get(feed::static_file))
        .route("/favicon.ico", get(feed::favicon))
        .route("/robots.txt", get(feed::robots))
        .route(
            "/api/comments",
            get(comments::get_comments).post(comments::post_comment),
        )
        .route("/api/comments/{id}/report", post(comments::post_report))
        .route("/api/comments/{id}/appeal", post(comments::post_appeal))
        .route("/api/likes", post(comments::post_like))
        .route("/api/verify", post(comments::post_verify))
        .route("/api/me", get(comments::get_me))
        .route("/api/townships", get(comments::get_townships))
        .route("/api/seen", post(reach::post_seen))
        .layer(
            ServiceBuilder::new()
                .layer(CompressionLayer::new())
                .layer(RequestBodyLimitLayer::new(BODY_LIMIT)),
        );
    Router::new()
        .route("/", get(feed::index))
        .route("/api/feed", get(feed::api_feed))
        .merge(compressed)
        .fallback(not_found)
        .with_state(state)
        .layer(guard)
}

async fn not_found() -> HttpError {
    HttpError::not_found()
}
