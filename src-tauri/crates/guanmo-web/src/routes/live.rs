//! `GET /live`: the SSE stream of feed events. A phone that reconnects (`Last-Event-ID`) or
//! arrives from the page (`?since=<seq>`) first gets what it missed from the change log, then
//! the live broadcast; a phone too slow for the broadcast catches up from the log too, so no
//! event is lost and none is sent twice. A `comments` event (no id, data: the comments'
//! version) tells the page that approved comments or likes changed, so it reloads them.
//! Streams end when the server shuts down.
//!
//! Each stream holds a connection and a task, so they are capped: `limits::Streams` admits at most
//! `LiveCaps::total` over the site (`503` beyond) and `LiveCaps::per_address` from one
//! address (`429` beyond). A phone that arrives too far behind (more than `LiveCaps::replay`
//! feed events, e.g. `?since=0`) is not replayed the whole log: it gets a `reload` event (its
//! page is stale: load it again) and the stream goes on from where the feed stands.
//!
//! A phone that follows one stop (`?stop=7`, as its page was opened) hears only of that stop's
//! posts: a new post of another stop is not sent, and an edit that moved a post to another
//! stop reaches it as a retraction. Which stop a post belongs to comes from the tour view kept
//! in memory (`stops::site_view`), so a thousand such streams cost one read per change.

use crate::error::{blocking, HttpError, Plain};
use crate::limits::client_ip;
use crate::state::WebState;
use crate::stops;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use guanmo_api::feed::{self, FeedEvent, FeedEventKind};
use serde::Deserialize;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;

/// Set by `serve` when the server shuts down.
#[derive(Clone)]
pub(crate) struct Shutdown(pub watch::Receiver<bool>);

async fn shutting_down(signal: Option<Shutdown>) {
    match signal {
        Some(Shutdown(mut rx)) => {
            while !*rx.borrow_and_update() {
                if rx.changed().await.is_err() {
                    return;
                }
            }
        }
        None => std::future::pending().await,
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct LiveQuery {
    since: Option<String>,
    /// The stop followed: its position or division code.
    stop: Option<String>,
}

fn to_event(e: &FeedEvent) -> Option<Event> {
    Event::default()
        .event("post")
        .id(e.seq.to_string())
        .json_data(e)
        .ok()
}

/// What a stream following the stop `township` sends of `e`: the event itself when the post
/// is of that stop (or is gone), a retraction when an edit moved it to another stop, nothing
/// for a new post of another stop.
async fn for_stop(state: &WebState, township: &str, e: &FeedEvent) -> Option<Event> {
    if e.post.is_none() || e.kind == FeedEventKind::Retracted {
        return to_event(e);
    }
    let view = stops::site_view(state).await.ok()?;
    if view.post_stop.get(&e.id).is_some_and(|t| t == township) {
        return to_event(e);
    }
    if e.kind == FeedEventKind::New {
        return None;
    }
    to_event(&FeedEvent {
        seq: e.seq,
        kind: FeedEventKind::Retracted,
        id: e.id.clone(),
        post: None,
    })
}

/// The event to send of `e`, on a stream that follows `stop` (a township id) or the whole feed.
async fn event_for(state: &WebState, stop: Option<&str>, e: &FeedEvent) -> Option<Event> {
    match stop {
        None => to_event(e),
        Some(t) => for_stop(state, t, e).await,
    }
}

const CATCH_UP: u32 = 256;

enum Next {
    Event(std::sync::Arc<FeedEvent>),
    Comments(i64),
    CatchUp,
    Stop,
}

pub(crate) async fn live(
    State(state): State<WebState>,
    shutdown: Option<Extension<Shutdown>>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    Query(q): Query<LiveQuery>,
    headers: HeaderMap,
) -> Result<Response, HttpError> {
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or(q.since);
    let resume = match resume {
        Some(s) => Some(
            s.trim()
                .parse::<i64>()
                .map_err(|_| HttpError::bad_request())?,
        ),
        None => None,
    };
    // A stop that does not exist is refused before a stream is admitted.
    let follow = match q.stop.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(key) => {
            let view = stops::site_view(&state).await?;
            let found = view.find(key).ok_or_else(HttpError::not_found)?;
            Some(found.township_id.clone())
        }
    };
    let peer = peer.map(|Extension(ConnectInfo(a))| a);
    let ticket = state
        .streams
        .admit(client_ip(peer, &headers, &state.comments.trusted))?;
    state.reach.live(state.streams.open_total());
    // Subscribe before reading where the feed stands, so nothing falls in between.
    let mut rx = state.live.subscribe();
    let mut comments = state.comments_seq.subscribe();
    comments.mark_unchanged();
    let ctx = state.ctx.clone();
    let head = blocking(move || feed::feed_seq(&ctx).map_err(Plain)).await?;
    // A `since` from the future would hold back every event up to it.
    let start = resume.map_or(head, |seq| seq.clamp(0, head));
    let retry = Duration::from_secs(u64::from(state.config.poll_seconds.max(1)));
    let keep_alive = Duration::from_secs(u64::from(state.config.keep_alive_seconds.max(1)));
    let ctx = state.ctx.clone();
    let signal = shutdown.map(|Extension(s)| s);
    let replay = state.streams.caps.replay;
    let site = state.clone();
    let stream = async_stream::stream! {
        // Held for as long as the stream lives.
        let _ticket = ticket;
        yield Ok::<Event, Infallible>(Event::default().retry(retry).comment("图文直播"));
        let mut seq = start;
        let mut catch_up = resume.is_some() && start < head;
        let mut resuming = catch_up;
        let stop = shutting_down(signal);
        tokio::pin!(stop);
        loop {
            if catch_up {
                let c = ctx.clone();
                let from = seq;
                // The first read looks one event past the replay cap, to know whether the
                // phone is too far behind to be replayed.
                let limit = if resuming { replay + 1 } else { CATCH_UP };
                let events =
                    blocking(move || feed::feed_events_since(&c, from, limit).map_err(Plain)).await;
                let Ok(events) = events else { break };
                if std::mem::take(&mut resuming) && events.len() > replay as usize {
                    // With the id, a reconnect resumes from here rather than from the stale
                    // `since` of the page's URL.
                    yield Ok(Event::default()
                        .event("reload")
                        .id(head.to_string())
                        .data(head.to_string()));
                    seq = head;
                    catch_up = false;
                    continue;
                }
                let n = events.len();
                for e in events {
                    seq = e.seq;
                    if let Some(ev) = event_for(&site, follow.as_deref(), &e).await {
                        yield Ok(ev);
                    }
                }
                catch_up = n >= CATCH_UP as usize;
                continue;
            }
            let next = tokio::select! {
                _ = &mut stop => Next::Stop,
                r = rx.recv() => match r {
                    Ok(e) => Next::Event(e),
                    Err(RecvError::Lagged(_)) => Next::CatchUp,
                    Err(RecvError::Closed) => Next::Stop,
                },
                r = comments.changed() => match r {
                    Ok(()) => Next::Comments(*comments.borrow_and_update()),
                    Err(_) => Next::Stop,
                },
            };
            match next {
                Next::Stop => break,
                Next::CatchUp => catch_up = true,
                Next::Comments(v) => yield Ok(Event::default().event("comments").data(v.to_string())),
                Next::Event(e) => {
                    if e.seq > seq {
                        seq = e.seq;
                        if let Some(ev) = event_for(&site, follow.as_deref(), &e).await {
                            yield Ok(ev);
                        }
                    }
                }
            }
        }
    };
    let mut resp = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(keep_alive))
        .into_response();
    let h = resp.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // nginx would otherwise buffer the stream.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(resp)
}
