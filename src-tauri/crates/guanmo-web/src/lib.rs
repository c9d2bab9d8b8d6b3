//! Guanmo's resident web server: the live feed (图文直播) that residents open on their phones,
//! with likes and pre-moderated comments. It owns the public router (page, feed JSON, SSE,
//! photos, static files, the comment routes), its security guard (Host allowlist, CSP and
//! friends), rate limits, and the static export. Invariant: the only writes on this router are
//! a resident's own comment, like, report or appeal; posts and moderation change only through
//! the desktop app's IPC, and every response is built from `guanmo_api`'s public views, which
//! never hold a draft, a retracted post, an unapproved comment or who did what.

mod cache;
mod error;
mod export;
mod guard;
mod limits;
mod page;
mod page_meta;
mod phone;
mod reach;
mod routes;
pub mod sms;
mod state;
mod stops;
pub mod tls;
mod verify;

// The listeners' lifecycles, shared by the desktop app and `guanmo serve`.
pub mod addresses;
pub mod listener;
pub mod peer_runtime;
pub mod resident;
pub use listener::{ListenError, Listener};
pub use peer_runtime::{PeerListener, PeerStatus};
pub use resident::{site_allowlist, ResidentSite};

pub use error::WebError;
pub use export::{export_static, ExportReport};
pub use guard::host_allowed;
pub use limits::{LiveCaps, Quotas, RateLimits, SmsQuotas};
pub use peer::peer_router;
/// The hub's peer router (sync with paired laptops), at its old path.
pub use routes::peer;
pub use state::{MediaSource, WebConfig, WebState};
pub use tls::{TlsError, TlsIdentity};

use axum::Router;
use std::future::Future;

/// The resident-facing router: `GET /`, `/api/feed`, `/live`, `/media/{hash}/{size}` and
/// `/static/{file}`, behind the Host allowlist, security headers and compression. It never
/// holds a sync route: those are on [`peer::peer_router`], served on the separate peer
/// listener.
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
    serve_on(listener, router, shutdown).await
}

/// [`serve`] over TLS with `identity`'s certificate: the same router, graceful shutdown and
/// peer addresses, on connections whose handshake finished.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    identity: &TlsIdentity,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tls::TlsListener::new(listener, identity.acceptor())?;
    serve_on(listener, router, shutdown).await
}

/// Connections as they are (the peer address comes through `TapIo`'s `ConnectInfo`).
fn untouched<T>(_: &mut T) {}

async fn serve_on<L>(
    listener: L,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener<Addr = std::net::SocketAddr>,
{
    let listener = axum::serve::ListenerExt::tap_io(listener, untouched::<L::Io>);
    let (tx, rx) = tokio::sync::watch::channel(false);
    // Around the router rather than `Router::layer`, which would box it into every route.
    let service = tower::Layer::layer(&axum::Extension(routes::live::Shutdown(rx)), router);
    // The peer address is what rate limits key on (see `limits::client_ip`).
    axum::serve(
        listener,
        axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
            std::net::SocketAddr,
        >(service),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        // Live streams never end on their own; this tells them to.
        let _ = tx.send(true);
    })
    .await
}
