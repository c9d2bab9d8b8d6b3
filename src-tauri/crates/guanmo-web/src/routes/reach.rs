//! `POST /api/seen`: the page says it was opened and which posts it showed (传播数据). Always
//! `204`, never a cookie: a report over the phone's or address's budget, or one that does not
//! parse, is simply not counted, so counting can never break the page.

use crate::limits::client_ip;
use crate::state::WebState;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Extension;
use serde::Deserialize;
use std::net::SocketAddr;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Seen {
    /// The page was opened (first report of a load).
    #[serde(default)]
    page: bool,
    /// Posts shown since the last report.
    #[serde(default)]
    posts: Vec<String>,
}

pub(crate) async fn post_seen(
    State(state): State<WebState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    // sendBeacon sends text/plain: the body is read as JSON whatever its type says.
    let Ok(seen) = serde_json::from_slice::<Seen>(&body) else {
        return StatusCode::NO_CONTENT;
    };
    let visitor = state.comments.cookies.known_key(&headers);
    let ip = client_ip(
        peer.map(|Extension(ConnectInfo(a))| a),
        &headers,
        &state.comments.trusted,
    );
    if state.reach.limiter.check(visitor.as_deref(), ip).is_err() {
        return StatusCode::NO_CONTENT;
    }
    let posts: Vec<String> = seen
        .posts
        .into_iter()
        .filter(|id| guanmo_domain::ids::is_id(id))
        .take(crate::reach::MAX_POSTS)
        .collect();
    state.reach.seen(visitor.as_deref(), seen.page, &posts);
    StatusCode::NO_CONTENT
}
