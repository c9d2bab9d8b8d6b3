//! The hub's peer listener as a running thing: the peer router served on every address at the
//! hub's port exactly while this device is the organiser's hub, moved when the organiser picks
//! another port (更改端口). Invariant: a move opens the new port before the old one closes, so a
//! port that is taken or not allowed changes nothing; a listener that should run but cannot
//! keeps the reason, worded for the organiser, until it runs or should not.

use crate::addresses::lan_urls;
use crate::listener::{ListenError, Listener};
use guanmo_api::{ApiError, Ctx, ErrorCode};
use guanmo_domain::problem::{Problem, ProblemCode};
use guanmo_media::MediaStore;
use guanmo_sync::{HubService, Role};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use tokio::runtime::Handle;

/// The hub's peer listener.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct PeerStatus {
    /// True while laptops can reach this hub.
    pub running: bool,
    /// The port it listens on (all interfaces).
    pub port: i32,
    /// Addresses laptops enter as 主机地址, LAN first.
    pub urls: Vec<String>,
    /// Why it is not running, when it should.
    pub error: Option<String>,
}

/// The peer listener's runtime: one per app (or `guanmo serve`).
pub struct PeerListener {
    ctx: Ctx,
    media: MediaStore,
    listener: Listener,
    /// Why it is not running when it should; held across every change so two never interleave.
    error: Mutex<Option<String>>,
}

impl PeerListener {
    /// A stopped peer listener for the hub over `ctx` and its photos, serving on `rt`.
    pub fn new(rt: Handle, ctx: Ctx, media: MediaStore) -> PeerListener {
        PeerListener {
            ctx,
            media,
            listener: Listener::new(rt, "peer listener"),
            error: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<String>> {
        self.error.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs the peer listener exactly while this device is the hub (on
    /// [`guanmo_sync::effective_peer_port`]).
    /// Returns true when that changed anything, the reason it cannot run included.
    pub fn reconcile(&self) -> bool {
        let want = guanmo_sync::device_identity(&self.ctx)
            .ok()
            .and_then(|me| me.role)
            == Some(Role::Hub);
        let mut error = self.lock();
        match (want, self.listener.local_addr().is_some()) {
            (true, false) => match self.open(guanmo_sync::effective_peer_port(&self.ctx)) {
                Ok(_) => {
                    *error = None;
                    true
                }
                Err(e) => {
                    let msg = e.zh_peer();
                    let changed = error.as_deref() != Some(msg.as_str());
                    if changed {
                        tracing::warn!(%msg, "peer listener not started");
                    }
                    *error = Some(msg);
                    changed
                }
            },
            (false, true) => {
                self.listener.stop();
                *error = None;
                true
            }
            (false, false) if error.is_some() => {
                *error = None;
                true
            }
            _ => false,
        }
    }

    /// 更改端口: moves the listener to `port` (starts it there when it was not running) and
    /// stores the port for the next start. The new port is opened before the old one is let
    /// go, so a port that is taken or not allowed changes nothing and the refusal says why.
    /// Whether this device may choose a port, and the range, are the caller's to check.
    pub fn set_port(&self, port: u16) -> Result<PeerStatus, ApiError> {
        let mut error = self.lock();
        if self.listener.local_addr().map(|a| a.port()) != Some(port) {
            self.open(port).map_err(|e| {
                ApiError::with_problems(
                    ErrorCode::Validation,
                    format!("cannot listen on port {port}"),
                    vec![Problem::error(ProblemCode::Invalid, "端口", e.zh_peer())],
                )
            })?;
            *error = None;
        }
        guanmo_sync::set_peer_port(&self.ctx, port)?;
        drop(error);
        tracing::info!(port, "peer listener moved");
        Ok(self.status())
    }

    /// Whether laptops can reach this hub, where, or why not.
    pub fn status(&self) -> PeerStatus {
        let error = self.lock();
        match self.listener.local_addr() {
            Some(addr) => PeerStatus {
                running: true,
                port: i32::from(addr.port()),
                urls: lan_urls(addr.port()),
                error: None,
            },
            None => PeerStatus {
                running: false,
                port: i32::from(guanmo_sync::effective_peer_port(&self.ctx)),
                urls: Vec::new(),
                error: error.clone(),
            },
        }
    }

    /// Stops the listener (the app is closing).
    pub fn stop(&self) {
        let mut error = self.lock();
        self.listener.stop();
        *error = None;
    }

    /// Serves a fresh peer router on every address at `port`.
    fn open(&self, port: u16) -> Result<SocketAddr, ListenError> {
        let hub = HubService::new(self.ctx.clone(), self.media.clone());
        let router = crate::peer_router(hub);
        self.listener
            .start(SocketAddr::from(([0, 0, 0, 0], port)), router)
    }
}

/// Lives in the app's shared state, driven from commands and the sync thread.
const _: fn() = crate::listener::assert_send_sync::<PeerListener>;

#[cfg(test)]
mod tests {
    use super::*;
    use guanmo_domain::SystemClock;
    use std::io::{Read, Write};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// True once `port` answers HTTP on loopback.
    fn answers(port: u16) -> bool {
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            let reply = (|| -> std::io::Result<String> {
                let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
                s.set_read_timeout(Some(Duration::from_secs(5)))?;
                s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
                let mut out = String::new();
                s.read_to_string(&mut out)?;
                Ok(out)
            })();
            if reply.is_ok_and(|r| r.starts_with("HTTP/1.1 ")) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn refuses(port: u16) -> bool {
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            match std::net::TcpStream::connect(("127.0.0.1", port)) {
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return true,
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        false
    }

    #[test]
    fn the_peer_listener_runs_exactly_while_this_device_is_the_hub_and_moves_port_safely() {
        // The environment would fix the port; this test chooses ports itself.
        if std::env::var_os(guanmo_sync::PEER_PORT_ENV).is_some() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let ctx = Ctx::open(dir.path(), Arc::new(SystemClock)).unwrap();
        let media = MediaStore::new(dir.path()).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let peer = PeerListener::new(rt.handle().clone(), ctx.clone(), media);

        // No role yet: nothing runs, nothing changes.
        assert!(!peer.reconcile());
        assert_eq!(
            peer.status(),
            PeerStatus {
                running: false,
                port: i32::from(guanmo_sync::DEFAULT_PEER_PORT),
                urls: vec![],
                error: None
            }
        );

        // The hub, on the port the organiser chose.
        guanmo_sync::set_role(&ctx, Role::Hub, "组织方主机").unwrap();
        let first = free_port();
        guanmo_sync::set_peer_port(&ctx, first).unwrap();
        assert!(peer.reconcile(), "becoming the hub starts the listener");
        assert!(!peer.reconcile(), "and a second look changes nothing");
        let status = peer.status();
        assert!(status.running);
        assert_eq!(status.port, i32::from(first));
        assert_eq!(status.urls, lan_urls(first));
        assert_eq!(status.error, None);
        assert!(answers(first));

        // A taken port changes nothing, and says why.
        let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        let taken_port = taken.local_addr().unwrap().port();
        let e = peer.set_port(taken_port).unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation);
        assert_eq!(e.problems[0].location, "端口");
        assert_eq!(
            e.problems[0].message,
            format!("端口{taken_port}已被占用,评分电脑暂时无法连接本机")
        );
        assert_eq!(peer.status(), status);
        assert_eq!(guanmo_sync::peer_port(&ctx).unwrap(), Some(first));
        assert!(answers(first));

        // A free one: moved, remembered, the old port let go.
        let second = free_port();
        let moved = peer.set_port(second).unwrap();
        assert!(moved.running);
        assert_eq!(moved.port, i32::from(second));
        assert_eq!(guanmo_sync::peer_port(&ctx).unwrap(), Some(second));
        assert!(answers(second));
        assert!(refuses(first));

        // Stopped, then started again where it was by the next look.
        peer.stop();
        assert!(refuses(second));
        assert_eq!(peer.status().port, i32::from(second));
        assert!(peer.reconcile());
        assert!(answers(second));

        // No longer the hub: stopped.
        guanmo_sync::set_role(&ctx, Role::Media, "直播电脑").unwrap();
        assert!(peer.reconcile());
        assert!(!peer.status().running);
        assert!(refuses(second));
        assert!(!peer.reconcile());
    }

    #[test]
    fn a_hub_whose_port_is_taken_keeps_the_reason_until_it_need_not_run() {
        if std::env::var_os(guanmo_sync::PEER_PORT_ENV).is_some() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let ctx = Ctx::open(dir.path(), Arc::new(SystemClock)).unwrap();
        let media = MediaStore::new(dir.path()).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let peer = PeerListener::new(rt.handle().clone(), ctx.clone(), media);
        guanmo_sync::set_role(&ctx, Role::Hub, "组织方主机").unwrap();
        let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        guanmo_sync::set_peer_port(&ctx, port).unwrap();

        assert!(peer.reconcile(), "the reason is news");
        assert!(!peer.reconcile(), "the same reason again is not");
        let status = peer.status();
        assert!(!status.running);
        assert_eq!(status.port, i32::from(port));
        assert_eq!(
            status.error.as_deref(),
            Some(format!("端口{port}已被占用,评分电脑暂时无法连接本机").as_str())
        );

        // Freed: the next look starts it.
        drop(taken);
        assert!(peer.reconcile());
        assert!(peer.status().running);
        assert!(answers(port));
    }
}
