//! One served router's listening socket and its lifecycle, on a tokio runtime handed in (the
//! desktop app's or `guanmo serve`'s), over plain HTTP or, with a certificate, HTTPS. Invariant: a change never leaves a moment where the
//! address refuses connections that it accepted before — a restart on the same address serves
//! on the very same socket (a kept `try_clone` of it), and a move opens the new address before
//! the old one is let go, so a failed move leaves the old one serving.
//!
//! Known edge: the old server stops with `crate::serve`'s graceful shutdown, which also ends
//! connections it accepted an instant before but had not read a request from yet; such a
//! connection is closed unanswered (the browser shows a reset, a reload works). Closing that
//! gap needs `serve` to take a listener whose accepting can be paused before the shutdown.

use crate::tls::TlsIdentity;
use axum::Router;
use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use tokio::runtime::Handle;
use tokio::sync::{oneshot, watch};

/// Worker threads of [`server_runtime`]: two keep one stream's work from waiting on another's
/// on a 2-core laptop; the blocking pool (SQLite reads, comment writes) is separate.
pub const SERVER_WORKERS: usize = 2;

/// The tokio runtime the desktop app serves its listeners on (`guanmo-net-*` threads): its
/// own, so the window's commands (fsyncs, a 50 MB export, a bundle) never occupy a worker a
/// phone's request is waiting for. `guanmo serve` has only listeners and uses its own runtime.
pub fn server_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(SERVER_WORKERS)
        .thread_name("guanmo-net")
        .enable_all()
        .build()
}

/// Why a listener could not open its address.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// Another program (or another listener) holds the address.
    #[error("port {} is in use: {source}", addr.port())]
    InUse {
        /// The address asked for.
        addr: SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
    /// The system refuses this port to this user (below 1024 without rights).
    #[error("no permission to listen on port {}: {source}", addr.port())]
    Denied {
        /// The address asked for.
        addr: SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
    /// Anything else (no such address on this machine, no file descriptors left…).
    #[error("cannot listen on {addr}: {source}")]
    Other {
        /// The address asked for.
        addr: SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
}

impl ListenError {
    fn new(addr: SocketAddr, source: std::io::Error) -> ListenError {
        match source.kind() {
            std::io::ErrorKind::AddrInUse => ListenError::InUse { addr, source },
            std::io::ErrorKind::PermissionDenied => ListenError::Denied { addr, source },
            _ => ListenError::Other { addr, source },
        }
    }

    /// The address that could not be opened.
    pub fn addr(&self) -> SocketAddr {
        match self {
            ListenError::InUse { addr, .. }
            | ListenError::Denied { addr, .. }
            | ListenError::Other { addr, .. } => *addr,
        }
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.addr().port()
    }

    /// What the system said.
    pub fn io(&self) -> &std::io::Error {
        match self {
            ListenError::InUse { source, .. }
            | ListenError::Denied { source, .. }
            | ListenError::Other { source, .. } => source,
        }
    }

    /// The refusal as media staff read it on the 直播网站 card.
    pub fn zh_site(&self) -> String {
        let port = self.port();
        match self {
            ListenError::InUse { .. } => format!("端口{port}已被占用,请换一个端口"),
            ListenError::Denied { .. } => {
                format!("没有权限使用端口{port},请使用1024以上的端口")
            }
            ListenError::Other { addr, source } => {
                format!("无法在{}:{port}上启动直播网站:{source}", addr.ip())
            }
        }
    }

    /// The refusal as the organiser reads it in 同步 (the hub's peer listener).
    pub fn zh_peer(&self) -> String {
        let port = self.port();
        match self {
            ListenError::InUse { .. } => {
                format!("端口{port}已被占用,评分电脑暂时无法连接本机")
            }
            ListenError::Denied { .. } => format!("没有权限使用端口{port}"),
            ListenError::Other { source, .. } => {
                format!("无法在端口{port}上等待评分电脑连接:{source}")
            }
        }
    }
}

/// A server running on the socket.
struct Serving {
    /// Where it listens (the bound address: port 0 became a real port).
    addr: SocketAddr,
    /// A copy of the listening socket, kept so a restart serves on it with no gap.
    socket: std::net::TcpListener,
    /// Dropping or sending stops the server (graceful: requests in flight finish).
    stop: oneshot::Sender<()>,
    /// Turns true when the server has finished, for whatever reason.
    ended: watch::Receiver<bool>,
}

/// The listener of one router (the resident site, the peer listener): at most one server at a
/// time, started, restarted, moved and stopped from any thread. Cheap to share (`Send + Sync`);
/// dropping it stops the server.
pub struct Listener {
    rt: Handle,
    /// For the log: "resident site", "peer listener".
    name: &'static str,
    /// Serve HTTPS with this certificate (`guanmo serve --tls-cert`); plain HTTP without.
    tls: Option<TlsIdentity>,
    serving: Mutex<Option<Serving>>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener")
            .field("name", &self.name)
            .field("tls", &self.tls)
            .field("addr", &self.local_addr())
            .finish()
    }
}

impl Listener {
    /// A stopped listener whose servers will run on `rt`; `name` is what the log calls it.
    pub fn new(rt: Handle, name: &'static str) -> Listener {
        Listener::with_tls(rt, name, None)
    }

    /// [`Listener::new`] whose servers speak HTTPS with `tls`'s certificate when given (every
    /// start, restart and move keeps it).
    pub fn with_tls(rt: Handle, name: &'static str, tls: Option<TlsIdentity>) -> Listener {
        Listener {
            rt,
            name,
            tls,
            serving: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Serving>> {
        self.serving.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Serves `router` on `addr`, returning the bound address. Already serving on `addr`: the
    /// new router takes over on the same socket (see [`Listener::restart`]). Serving elsewhere:
    /// `addr` is opened first, and only when that worked is the old address let go.
    pub fn start(&self, addr: SocketAddr, router: Router) -> Result<SocketAddr, ListenError> {
        let mut serving = self.lock();
        if let Some(old) = serving.as_ref().filter(|s| s.addr == addr) {
            let socket = old
                .socket
                .try_clone()
                .map_err(|e| ListenError::new(addr, e))?;
            return self.replace(&mut serving, socket, router);
        }
        let socket = bind(addr)?;
        self.replace(&mut serving, socket, router)
    }

    /// Serves `router` instead of the current one on the same socket: connections that arrive
    /// meanwhile wait in the socket's queue rather than being refused. `Ok(None)` when nothing
    /// was running (then nothing starts).
    pub fn restart(&self, router: Router) -> Result<Option<SocketAddr>, ListenError> {
        let mut serving = self.lock();
        let Some(old) = serving.as_ref() else {
            return Ok(None);
        };
        let socket = old
            .socket
            .try_clone()
            .map_err(|e| ListenError::new(old.addr, e))?;
        self.replace(&mut serving, socket, router).map(Some)
    }

    /// Moves to `addr` with `router`: the new address is opened before the old one closes; when
    /// it cannot be, the old one keeps serving and the error says why.
    pub fn move_to(&self, addr: SocketAddr, router: Router) -> Result<SocketAddr, ListenError> {
        let mut serving = self.lock();
        let socket = bind(addr)?;
        self.replace(&mut serving, socket, router)
    }

    /// Stops serving: no new connections (the port is freed once requests in flight finish).
    pub fn stop(&self) {
        let old = self.lock().take();
        if let Some(old) = old {
            let _ = old.stop.send(());
            tracing::info!(listener = self.name, addr = %old.addr, "stopped");
        }
    }

    /// Stops serving, like [`Listener::stop`]; the future resolves once the server has finished
    /// (requests in flight answered, live streams ended). For a host that is about to exit.
    pub fn shutdown(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let old = self.lock().take();
        let name = self.name;
        async move {
            if let Some(old) = old {
                let _ = old.stop.send(());
                let mut ended = old.ended;
                let _ = ended.wait_for(|e| *e).await;
                tracing::info!(listener = name, addr = %old.addr, "stopped");
            }
        }
    }

    /// Resolves when the server running now ends by itself (it failed, or its runtime shut
    /// down) or is stopped; at once when none runs. A host that serves until told to stop
    /// watches this to notice a listener that died.
    pub fn ended(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let ended = self.lock().as_ref().map(|s| s.ended.clone());
        async move {
            if let Some(mut ended) = ended {
                let _ = ended.wait_for(|e| *e).await;
            }
        }
    }

    /// The address served on, while serving.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.lock().as_ref().map(|s| s.addr)
    }

    /// Starts a server for `router` on `socket`, then stops the one it replaces (if any).
    fn replace(
        &self,
        serving: &mut Option<Serving>,
        socket: std::net::TcpListener,
        router: Router,
    ) -> Result<SocketAddr, ListenError> {
        let next = self.spawn(socket, router)?;
        let addr = next.addr;
        if let Some(old) = serving.replace(next) {
            let _ = old.stop.send(());
            if old.addr == addr {
                tracing::info!(listener = self.name, %addr, "restarted on the same socket");
            } else {
                tracing::info!(listener = self.name, from = %old.addr, to = %addr, "moved");
            }
        } else {
            tracing::info!(listener = self.name, %addr, "started");
        }
        Ok(addr)
    }

    /// A server for `router` on (a copy of) `socket`, which is kept.
    fn spawn(&self, socket: std::net::TcpListener, router: Router) -> Result<Serving, ListenError> {
        let addr = socket
            .local_addr()
            .map_err(|e| ListenError::new(unspecified(), e))?;
        let copy = socket.try_clone().map_err(|e| ListenError::new(addr, e))?;
        let listener = {
            // Registers the socket with this runtime's reactor.
            let _entered = self.rt.enter();
            tokio::net::TcpListener::from_std(copy).map_err(|e| ListenError::new(addr, e))?
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let (done, ended) = watch::channel(false);
        let name = self.name;
        let tls = self.tls.clone();
        self.rt.spawn(async move {
            let shutdown = async move {
                // Sent or dropped: either way, stop.
                let _ = stopped.await;
            };
            let served = match &tls {
                Some(tls) => crate::serve_tls(listener, tls, router, shutdown).await,
                None => crate::serve(listener, router, shutdown).await,
            };
            if let Err(e) = served {
                tracing::error!(listener = name, %addr, error = %e, "stopped with an error");
            }
            done.send_replace(true);
        });
        Ok(Serving {
            addr,
            socket,
            stop,
            ended,
        })
    }
}

/// Listeners live in shared state and are driven from several threads (commands, watchers).
const _: fn() = assert_send_sync::<Listener>;

/// Compiles only for `T: Send + Sync`.
pub(crate) fn assert_send_sync<T: Send + Sync>() {}

fn unspecified() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 0))
}

/// A listening socket on `addr`, ready for tokio.
fn bind(addr: SocketAddr) -> Result<std::net::TcpListener, ListenError> {
    let socket = std::net::TcpListener::bind(addr).map_err(|e| ListenError::new(addr, e))?;
    socket
        .set_nonblocking(true)
        .map_err(|e| ListenError::new(addr, e))?;
    Ok(socket)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    /// A router answering `GET /` with `body`.
    fn saying(body: &'static str) -> Router {
        Router::new().route("/", axum::routing::get(move || async move { body }))
    }

    fn local() -> SocketAddr {
        "127.0.0.1:0".parse().unwrap()
    }

    /// `GET /` on `addr`: the body, or the error of connecting / talking.
    fn get(addr: SocketAddr) -> std::io::Result<String> {
        let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        match out.split_once("\r\n\r\n") {
            Some((head, body)) if head.starts_with("HTTP/1.1 200") => Ok(body.to_string()),
            _ => Err(std::io::Error::other(format!("unexpected answer: {out:?}"))),
        }
    }

    /// Retries `get` until it says `want` (a new server may take a moment to be scheduled).
    fn answers(addr: SocketAddr, want: &str) -> bool {
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if get(addr).ok().as_deref() == Some(want) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// True once connecting to `addr` is refused.
    fn refuses(addr: SocketAddr) -> bool {
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return true,
                _ => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        false
    }

    #[test]
    fn a_restart_on_the_same_socket_refuses_no_connection_and_the_new_router_answers() {
        let rt = runtime();
        let listener = Listener::new(rt.handle().clone(), "test");
        let addr = listener.start(local(), saying("old")).unwrap();
        assert!(answers(addr, "old"));

        let done = Arc::new(AtomicBool::new(false));
        let client = {
            let done = done.clone();
            std::thread::spawn(move || {
                let (mut refused, mut tries) = (0, 0);
                while !done.load(Ordering::Relaxed) {
                    tries += 1;
                    // A connection the old server accepted just as it was told to stop may be
                    // closed unanswered (see the module doc); a refusal never happens.
                    if let Err(e) = get(addr) {
                        if e.kind() == std::io::ErrorKind::ConnectionRefused {
                            refused += 1;
                        }
                    }
                }
                (refused, tries)
            })
        };
        for i in 0..20 {
            let body = if i % 2 == 0 { "new" } else { "old" };
            assert_eq!(listener.restart(saying(body)).unwrap(), Some(addr));
            // Through `start` on the same address too: also the same socket.
            assert_eq!(listener.start(addr, saying(body)).unwrap(), addr);
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(listener.restart(saying("new")).unwrap(), Some(addr));
        std::thread::sleep(Duration::from_millis(50));
        done.store(true, Ordering::Relaxed);
        let (refused, tries) = client.join().unwrap();
        assert_eq!(
            refused, 0,
            "{refused} of {tries} connections were refused during the restarts"
        );
        assert!(
            answers(addr, "new"),
            "the new router serves after the restart"
        );
        assert_eq!(listener.local_addr(), Some(addr));
    }

    #[test]
    fn a_move_to_a_taken_port_fails_in_use_and_the_old_port_keeps_answering() {
        let rt = runtime();
        let listener = Listener::new(rt.handle().clone(), "test");
        let addr = listener.start(local(), saying("old")).unwrap();
        let taken = std::net::TcpListener::bind(local()).unwrap();
        let taken_addr = taken.local_addr().unwrap();

        let err = listener.move_to(taken_addr, saying("new")).unwrap_err();
        assert!(matches!(err, ListenError::InUse { .. }), "{err:?}");
        assert_eq!(err.port(), taken_addr.port());
        assert_eq!(
            err.zh_site(),
            format!("端口{}已被占用,请换一个端口", taken_addr.port())
        );
        assert_eq!(
            err.zh_peer(),
            format!("端口{}已被占用,评分电脑暂时无法连接本机", taken_addr.port())
        );
        assert_eq!(listener.local_addr(), Some(addr));
        assert!(
            answers(addr, "old"),
            "the old port still serves the old router"
        );

        // `start` elsewhere follows the same rule.
        let err = listener.start(taken_addr, saying("new")).unwrap_err();
        assert!(matches!(err, ListenError::InUse { .. }), "{err:?}");
        assert!(answers(addr, "old"));
    }

    #[test]
    fn a_stopped_listener_frees_its_port() {
        let rt = runtime();
        let listener = Listener::new(rt.handle().clone(), "test");
        let addr = listener.start(local(), saying("up")).unwrap();
        assert!(answers(addr, "up"));
        listener.stop();
        assert_eq!(listener.local_addr(), None);
        assert!(refuses(addr), "nothing listens after stop");
        // Freed: it can be bound again, here or by anyone.
        assert_eq!(listener.start(addr, saying("again")).unwrap(), addr);
        assert!(answers(addr, "again"));
        assert_eq!(listener.restart(saying("x")).unwrap(), Some(addr));
        listener.stop();
        assert_eq!(
            listener.restart(saying("y")).unwrap(),
            None,
            "nothing to restart"
        );
        assert!(refuses(addr));
    }

    #[test]
    fn starting_on_another_address_closes_the_old_one() {
        let rt = runtime();
        let listener = Listener::new(rt.handle().clone(), "test");
        let first = listener.start(local(), saying("first")).unwrap();
        let second = listener.start(local(), saying("second")).unwrap();
        assert_ne!(first, second);
        assert_eq!(listener.local_addr(), Some(second));
        assert!(answers(second, "second"));
        assert!(refuses(first), "the old address is let go");

        let third = listener.move_to(local(), saying("third")).unwrap();
        assert!(answers(third, "third"));
        assert!(refuses(second));
    }

    #[test]
    fn a_shutdown_resolves_once_the_server_has_finished() {
        let rt = runtime();
        let listener = Listener::new(rt.handle().clone(), "test");
        let addr = listener.start(local(), saying("up")).unwrap();
        assert!(answers(addr, "up"));
        let ended = listener.ended();
        rt.block_on(async {
            let soon = tokio::time::timeout(Duration::from_millis(100), listener.ended()).await;
            assert!(soon.is_err(), "a running server has not ended");
            tokio::time::timeout(Duration::from_secs(5), listener.shutdown())
                .await
                .expect("the server finishes");
            tokio::time::timeout(Duration::from_secs(5), ended)
                .await
                .expect("and says it ended");
        });
        assert_eq!(listener.local_addr(), None);
        // Finished means the socket is closed: refused at once, no retry needed.
        assert_eq!(
            std::net::TcpStream::connect(addr)
                .map_err(|e| e.kind())
                .err(),
            Some(std::io::ErrorKind::ConnectionRefused)
        );
    }

    #[test]
    fn dropping_the_listener_stops_its_server() {
        let rt = runtime();
        let listener = Listener::new(rt.handle().clone(), "test");
        let addr = listener.start(local(), saying("up")).unwrap();
        assert!(answers(addr, "up"));
        drop(listener);
        assert!(refuses(addr));
    }

    #[test]
    fn refusals_are_worded_as_today() {
        let addr: SocketAddr = "192.168.1.20:80".parse().unwrap();
        let denied = ListenError::new(
            addr,
            std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert_eq!(denied.zh_site(), "没有权限使用端口80,请使用1024以上的端口");
        assert_eq!(denied.zh_peer(), "没有权限使用端口80");
        let other = ListenError::new(addr, std::io::Error::other("boom"));
        assert!(matches!(other, ListenError::Other { .. }));
        assert_eq!(other.zh_site(), "无法在192.168.1.20:80上启动直播网站:boom");
        assert_eq!(other.zh_peer(), "无法在端口80上等待评分电脑连接:boom");
    }
}
