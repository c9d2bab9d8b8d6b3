//! Guanmo's resident web server: the read-only live feed (图文直播) that residents open on
//! their phones. It owns the public router (page, feed JSON, SSE, photos, static files), its
//! security guard (Host allowlist, CSP and friends) and the static export. Invariant: nothing
//! on this router writes; posts change only through the desktop app's IPC, and every response
//! is built from `guanmo_api::feed`'s public views, which never hold a draft, a retracted post
//! or who did what.

mod cache;
mod error;
mod export;
mod guard;
mod live;
mod page;
mod routes;
mod state;

pub use error::WebError;
pub use export::{export_static, ExportReport};
pub use guard::host_allowed;
pub use state::{MediaSource, WebConfig, WebState};

use axum::Router;
use std::future::Future;

/// The resident-facing router: `GET /`, `/api/feed`, `/live`, `/media/{hash}/{size}` and
/// `/static/{file}`, behind the Host allowlist, security headers and compression.
pub fn public_router(state: WebState) -> Router {
    routes::router(state)
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting, ends the
/// open live streams and waits for in-flight responses.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (tx, rx) = tokio::sync::watch::channel(false);
    let router = router.layer(axum::Extension(live::Shutdown(rx)));
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            shutdown.await;
            // Live streams never end on their own; this tells them to.
            let _ = tx.send(true);
        })
        .await
}
