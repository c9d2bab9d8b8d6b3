//! `GET /live`: the SSE stream of feed events. A phone that reconnects (`Last-Event-ID`) or
//! arrives from the page (`?since=<seq>`) first gets what it missed from the change log, then
//! the live broadcast; a phone too slow for the broadcast catches up from the log too, so no
//! event is lost and none is sent twice. A `comments` event (no id, data: the comments'
//! version) tells the page that approved comments or likes changed, so it reloads them.
//! Streams end when the server shuts down.
//!
//! Each stream holds a connection and a task, so they are capped: [`Streams`] admits at most
//! `LiveCaps::total` over the site (`503` beyond) and `LiveCaps::per_address` from one
//! address (`429` beyond). A phone that arrives too far behind (more than `LiveCaps::replay`
//! feed events, e.g. `?since=0`) is not replayed the whole log: it gets a `reload` event (its
//! page is stale: load it again) and the stream goes on from where the feed stands.

use crate::error::HttpError;
use crate::limits::{address_key, client_ip, LiveCaps};
use crate::routes::blocking;
use crate::state::WebState;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use guanmo_api::feed::{self, FeedEvent};
use serde::Deserialize;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
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
}

fn to_event(e: &FeedEvent) -> Option<Event> {
    Event::default()
        .event("post")
        .id(e.seq.to_string())
        .json_data(e)
        .ok()
}

const CATCH_UP: u32 = 256;

/// The open live streams: how many over the site and per address.
#[derive(Debug)]
pub(crate) struct Streams {
    caps: LiveCaps,
    open: Mutex<(usize, HashMap<IpAddr, u32>)>,
}

/// One admitted stream; gives its place back when dropped (the phone went away, or the
/// server is shutting down).
#[derive(Debug)]
pub(crate) struct Ticket {
    streams: Arc<Streams>,
    ip: IpAddr,
}

impl Streams {
    pub(crate) fn new(caps: LiveCaps) -> Streams {
        Streams {
            caps,
            open: Mutex::default(),
        }
    }

    /// A place for one more stream from `ip`, if the caps allow it.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Ticket, HttpError> {
        let ip = address_key(ip);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.0 >= self.caps.total {
            return Err(HttpError::streams_full());
        }
        let mine = open.1.entry(ip).or_insert(0);
        if *mine >= self.caps.per_address {
            return Err(HttpError::too_many_streams());
        }
        *mine += 1;
        open.0 += 1;
        Ok(Ticket {
            streams: self.clone(),
            ip,
        })
    }

    /// Streams open now (over the site, from `ip`'s address).
    #[cfg(test)]
    pub(crate) fn count(&self, ip: IpAddr) -> (usize, u32) {
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        (open.0, open.1.get(&address_key(ip)).copied().unwrap_or(0))
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut open = self.streams.open.lock().unwrap_or_else(|e| e.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(n) = open.1.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.1.remove(&self.ip);
            }
        }
    }
}

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
    let peer = peer.map(|Extension(ConnectInfo(a))| a);
    let ticket = state
        .streams
        .admit(client_ip(peer, &headers, &state.comments.trusted))?;
    // Subscribe before reading where the feed stands, so nothing falls in between.
    let mut rx = state.live.subscribe();
    let mut comments = state.comments_seq.subscribe();
    comments.mark_unchanged();
    let ctx = state.ctx.clone();
    let head = blocking(move || feed::feed_seq(&ctx)).await?;
    // A `since` from the future would hold back every event up to it.
    let start = resume.map_or(head, |seq| seq.clamp(0, head));
    let retry = Duration::from_secs(u64::from(state.config.poll_seconds.max(1)));
    let keep_alive = Duration::from_secs(u64::from(state.config.keep_alive_seconds.max(1)));
    let ctx = state.ctx.clone();
    let signal = shutdown.map(|Extension(s)| s);
    let replay = state.streams.caps.replay;
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
                let events = tokio::task::spawn_blocking(move || {
                    feed::feed_events_since(&c, from, limit)
                })
                .await;
                let Ok(Ok(events)) = events else { break };
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
                    if let Some(ev) = to_event(&e) {
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
                        if let Some(ev) = to_event(&e) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_capped_per_address_and_over_the_site_and_give_back_their_place() {
        let streams = Arc::new(Streams::new(LiveCaps {
            total: 5,
            per_address: 2,
            replay: 256,
        }));
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let a2: IpAddr = "2001:db8:1:2::99".parse().unwrap();
        let t1 = streams.admit(a).unwrap();
        let _t2 = streams.admit(a2).unwrap();
        let e = streams.admit(a).unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::TOO_MANY_REQUESTS);
        drop(t1);
        assert_eq!(streams.count(a), (1, 1));
        let _t3 = streams.admit(a).unwrap();
        let others: Vec<_> = (1..=3)
            .map(|i| streams.admit(IpAddr::from([10, 0, 0, i])).unwrap())
            .collect();
        let e = streams.admit("10.0.0.9".parse().unwrap()).unwrap_err();
        assert_eq!(e.status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
        drop(others);
        assert_eq!(streams.count(a), (2, 2));
    }
}
