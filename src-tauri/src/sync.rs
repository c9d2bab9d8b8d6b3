//! Sync in the desktop shell (同步). On a paired laptop one background thread exchanges with
//! the hub by itself: soon after start, about 2 s after local writes settle, every 15 s
//! otherwise, at once on 立即同步, and after a failure with exponential backoff (2 s → 60 s,
//! jittered so a room of laptops does not retry in step). Only that thread ever runs an
//! exchange, so two runs never overlap. On the hub the same thread keeps the peer listener
//! (`guanmo_web::peer`) running on `0.0.0.0:8787` while the role is hub, and tells the
//! window when laptops report in. Every state change reaches the window as `SyncChanged`.

use crate::AppState;
use guanmo_api::{ApiError, ErrorCode};
use guanmo_domain::problem::{Problem, ProblemCode};
use guanmo_sync::bundle::{BundleProgress, BundleReport};
use guanmo_sync::http::HttpTransport;
use guanmo_sync::{Progress, Role, SyncOverview, SyncReport};
use serde::{Deserialize, Serialize};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::path::Path;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tauri::Manager;
use tauri_specta::Event;

/// Port of the hub's peer listener unless `GUANMO_PEER_PORT` says otherwise.
pub const DEFAULT_PEER_PORT: u16 = 8787;
/// Environment variable overriding the peer port (tests use it so they never meet a real hub).
pub const PEER_PORT_ENV: &str = "GUANMO_PEER_PORT";

/// First exchange after the app starts.
const FIRST_RUN: Duration = Duration::from_secs(1);
/// Quiet time after a local write before it goes out.
const DEBOUNCE: Duration = Duration::from_secs(2);
/// Exchange (or refresh the hub's view) this often when nothing else happens.
const PERIOD: Duration = Duration::from_secs(15);
/// Backoff after the first failure, doubling up to `BACKOFF_MAX`.
const BACKOFF_MIN: Duration = Duration::from_secs(2);
const BACKOFF_MAX: Duration = Duration::from_secs(60);

/// Which part of a run is under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum SyncStep {
    /// Sending this laptop's operations.
    Pushing,
    /// Receiving other devices' operations.
    Pulling,
    /// Moving photos both ways.
    Photos,
}

/// Progress of the running exchange, for the 同步 view's bar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct SyncProgress {
    /// The step.
    pub step: SyncStep,
    /// Done so far (operations or photos).
    pub done: u32,
    /// Out of, when known (pulling does not know).
    pub total: Option<u32>,
    /// Photo bytes moved so far.
    pub bytes: f64,
}

impl From<Progress> for SyncProgress {
    fn from(p: Progress) -> Self {
        match p {
            Progress::Pushing { done, total } => SyncProgress {
                step: SyncStep::Pushing,
                done,
                total: Some(total),
                bytes: 0.0,
            },
            Progress::Pulling { done } => SyncProgress {
                step: SyncStep::Pulling,
                done,
                total: None,
                bytes: 0.0,
            },
            Progress::Photos { done, total, bytes } => SyncProgress {
                step: SyncStep::Photos,
                done,
                total: Some(total),
                bytes: bytes as f64,
            },
        }
    }
}

/// What the last successful exchange did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct SyncRun {
    /// When it finished (RFC 3339).
    pub at: String,
    /// Own operations the hub confirmed.
    pub pushed: u32,
    /// Operations received and applied here.
    pub applied: u32,
    /// Operations held back here, waiting for earlier ones.
    pub held: u32,
    /// Operations refused here.
    pub refused: u32,
    /// Concurrent edits found.
    pub conflicts: u32,
    /// Own operations the hub refused.
    pub refused_by_hub: u32,
    /// Photos sent to the hub.
    pub photos_sent: u32,
    /// Photos received from the hub.
    pub photos_received: u32,
    /// Photo bytes moved.
    pub bytes: f64,
}

impl SyncRun {
    fn of(at: String, r: &SyncReport) -> Self {
        SyncRun {
            at,
            pushed: r.pushed,
            applied: r.applied,
            held: r.held,
            refused: r.refused,
            conflicts: r.conflicts,
            refused_by_hub: r.refused_by_hub,
            photos_sent: r.photos_sent,
            photos_received: r.photos_received,
            bytes: r.bytes as f64,
        }
    }
}

/// The last failed exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct SyncFailure {
    /// When (RFC 3339).
    pub at: String,
    /// Why.
    pub error: ApiError,
}

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

/// Everything the 同步 view shows.
#[derive(Debug, Clone, Serialize, specta::Type)]
pub struct SyncStatus {
    /// This device, its hub or paired devices, waiting work, issues.
    pub overview: SyncOverview,
    /// This laptop exchanges with a hub by itself (role chosen and paired).
    pub auto_sync: bool,
    /// An exchange is running now.
    pub running: bool,
    /// Its progress, while running.
    pub progress: Option<SyncProgress>,
    /// The last successful exchange.
    pub last_run: Option<SyncRun>,
    /// The last failure, cleared by the next success.
    pub last_error: Option<SyncFailure>,
    /// Failed attempts in a row.
    pub failures: u32,
    /// When the next automatic attempt is due (RFC 3339), on a laptop.
    pub next_attempt_at: Option<String>,
    /// The peer listener, on the hub.
    pub peer: PeerStatus,
}

/// Sent whenever the 同步 view's content changes.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
pub struct SyncChanged(pub SyncStatus);

/// Which way a bundle goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum BundleDirection {
    /// 导出同步包.
    Export,
    /// 导入同步包.
    Import,
}

/// Progress of writing or reading a bundle file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct SyncBundleProgress {
    /// Export or import.
    pub direction: BundleDirection,
    /// Entries done.
    pub done: u32,
    /// Entries in all.
    pub total: u32,
}

/// What 导出同步包 wrote.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct BundleExport {
    /// The file written.
    pub path: String,
    /// Operations in it.
    pub ops: u32,
    /// Photos in it.
    pub photos: u32,
    /// Its size in bytes.
    pub bytes: f64,
    /// Photos the operations refer to that this laptop lacks too (not in the file).
    pub photos_absent: u32,
}

/// A pairing code to show on the hub, with where laptops reach it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct PairingInfo {
    /// Six digits.
    pub code: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
    /// Addresses of this hub, LAN first.
    pub urls: Vec<String>,
    /// QR code of `guanmo://pair?url=…&code=…` (first address), as SVG made here.
    pub qr_svg: Option<String>,
}

#[derive(Default)]
struct Wake {
    /// 立即同步 (or a role/pairing change): go now.
    now: bool,
    /// Time of the latest local write not yet followed by a run.
    dirty_since: Option<Instant>,
    /// The app is exiting.
    stop: bool,
}

#[derive(Default)]
struct Shared {
    running: bool,
    progress: Option<SyncProgress>,
    last_run: Option<SyncRun>,
    last_error: Option<SyncFailure>,
    failures: u32,
    next_attempt_at: Option<String>,
}

struct PeerRunning {
    port: u16,
    stop: tokio::sync::oneshot::Sender<()>,
}

#[derive(Default)]
struct Peer {
    running: Option<PeerRunning>,
    error: Option<String>,
}

/// The shell's sync state; one per app.
#[derive(Default)]
pub struct SyncRuntime {
    wake: Mutex<Wake>,
    bell: Condvar,
    shared: Mutex<Shared>,
    peer: Mutex<Peer>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn rfc_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn rfc_in(d: Duration) -> String {
    let later = chrono::Utc::now() + chrono::Duration::from_std(d).unwrap_or_default();
    later.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Why the background thread woke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wakeup {
    Stop,
    Now,
    Write,
    Timer,
}

impl SyncRuntime {
    /// Asks the background thread to run now.
    fn ring(&self) {
        lock(&self.wake).now = true;
        self.bell.notify_all();
    }

    /// A write was committed here.
    fn wrote(&self) {
        if lock(&self.shared).running {
            // Mostly the exchange's own writes (operations applied from the hub): no news.
            // A person's write meanwhile shows as new own operations after the run.
            return;
        }
        self.note_write();
    }

    fn note_write(&self) {
        lock(&self.wake).dirty_since = Some(Instant::now());
        self.bell.notify_all();
    }

    fn stop(&self) {
        lock(&self.wake).stop = true;
        self.bell.notify_all();
    }

    /// Waits until stopped, rung, a local write has settled (unless `writes_count` is false,
    /// during backoff) or `due` passes.
    fn wait(&self, due: Instant, writes_count: bool) -> Wakeup {
        let mut w = lock(&self.wake);
        loop {
            if w.stop {
                return Wakeup::Stop;
            }
            if w.now {
                w.now = false;
                w.dirty_since = None;
                return Wakeup::Now;
            }
            let now = Instant::now();
            let settled = w.dirty_since.filter(|_| writes_count).map(|t| t + DEBOUNCE);
            if settled.is_some_and(|t| t <= now) {
                w.dirty_since = None;
                return Wakeup::Write;
            }
            if due <= now {
                w.dirty_since = None;
                return Wakeup::Timer;
            }
            let until = settled.map_or(due, |t| t.min(due));
            w = self
                .bell
                .wait_timeout(w, until - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// Delay before retry number `failures` (1 = first retry): 2 s doubling to 60 s, then drawn
/// uniformly from its upper half by `unit` (in 0..1) so laptops spread out.
pub(crate) fn backoff(failures: u32, unit: f64) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    let base = BACKOFF_MIN
        .saturating_mul(1u32 << exp)
        .min(BACKOFF_MAX)
        .as_secs_f64();
    Duration::from_secs_f64(base * (0.5 + 0.5 * unit.clamp(0.0, 1.0)))
}

/// A number in 0..1 from the process's random hasher keys (no extra dependency needed).
fn random_unit() -> f64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos().into())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// A usable hub address from what a person typed: trims, adds `http://` (and the usual port
/// to a bare address), drops a trailing `/`.
pub(crate) fn normalize_hub_url(raw: &str) -> Result<String, ApiError> {
    let t = raw.trim();
    let (scheme, rest) = match (t.strip_prefix("http://"), t.strip_prefix("https://")) {
        (Some(rest), _) => ("http", rest),
        (_, Some(rest)) => ("https", rest),
        _ => ("http", t),
    };
    let host = rest.trim_end_matches('/');
    let ok = !host.is_empty()
        && !host.contains('/')
        && !host.contains(char::is_whitespace)
        && !host.starts_with(':');
    // A bare LAN address means the hub's usual port.
    let with_scheme = if scheme == "http" && !host.contains(':') {
        format!("http://{host}:{DEFAULT_PEER_PORT}")
    } else {
        format!("{scheme}://{host}")
    };
    if ok {
        Ok(with_scheme)
    } else {
        Err(ApiError::with_problems(
            ErrorCode::Validation,
            format!("not a hub address: {raw}"),
            vec![Problem::error(
                ProblemCode::Invalid,
                "主机地址",
                "请填写组织方主机上显示的地址,如 http://192.168.1.20:8787",
            )],
        ))
    }
}

/// The port of the hub's peer listener: `GUANMO_PEER_PORT` when set (tests), else the one
/// the organiser chose (同步 › 更改端口), else 8787.
fn peer_port(state: &AppState) -> u16 {
    std::env::var(PEER_PORT_ENV)
        .ok()
        .and_then(|p| p.trim().parse::<u16>().ok())
        .filter(|p| *p > 0)
        .or_else(|| guanmo_sync::peer_port(&state.ctx).ok().flatten())
        .unwrap_or(DEFAULT_PEER_PORT)
}

/// Addresses laptops can use to reach this machine on `port`: LAN addresses first; the
/// loopback address only when there is nothing else.
fn peer_urls(port: u16) -> Vec<String> {
    let all = crate::site::interfaces();
    let lan: Vec<_> = all.iter().filter(|i| !i.ip.starts_with("127.")).collect();
    let chosen = if lan.is_empty() {
        all.iter().collect()
    } else {
        lan
    };
    chosen
        .into_iter()
        .map(|i| format!("http://{}:{port}", i.ip))
        .collect()
}

fn qr_svg(text: &str) -> Option<String> {
    qrcode::QrCode::new(text.as_bytes()).ok().map(|code| {
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(160, 160)
            .build()
    })
}

/// Percent-encodes a query value (ASCII letters, digits and `-._~` stay).
fn query_value(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn role_of(state: &AppState) -> Option<Role> {
    guanmo_sync::device_identity(&state.ctx)
        .ok()
        .and_then(|me| me.role)
}

/// True on a laptop (评分电脑 or 直播电脑) that is paired with a hub.
fn syncs_out(state: &AppState) -> bool {
    let Ok(me) = guanmo_sync::device_identity(&state.ctx) else {
        return false;
    };
    matches!(me.role, Some(Role::Scorer | Role::Media))
        && me.hub_id.is_some()
        && guanmo_sync::hub_link(&state.ctx).ok().flatten().is_some()
}

fn peer_status(state: &AppState) -> PeerStatus {
    let peer = lock(&state.sync.peer);
    match &peer.running {
        Some(r) => PeerStatus {
            running: true,
            port: i32::from(r.port),
            urls: peer_urls(r.port),
            error: None,
        },
        None => PeerStatus {
            running: false,
            port: i32::from(peer_port(state)),
            urls: Vec::new(),
            error: peer.error.clone(),
        },
    }
}

/// The current status.
pub fn status(app: &tauri::AppHandle) -> Result<SyncStatus, ApiError> {
    let state = app.state::<AppState>();
    let overview = guanmo_sync::overview(&state.ctx, &state.media)?;
    let auto_sync = syncs_out(&state);
    let rt = &state.sync;
    let peer = peer_status(&state);
    let shared = lock(&rt.shared);
    Ok(SyncStatus {
        overview,
        auto_sync,
        running: shared.running,
        progress: shared.progress.clone(),
        last_run: shared.last_run.clone(),
        last_error: shared.last_error.clone(),
        failures: shared.failures,
        next_attempt_at: shared.next_attempt_at.clone(),
        peer,
    })
}

fn announce(app: &tauri::AppHandle, status: &SyncStatus) {
    if let Err(e) = SyncChanged(status.clone()).emit(app) {
        tracing::warn!(error = %e, "could not tell the window about sync");
    }
}

/// The status, also sent to the window.
fn status_announced(app: &tauri::AppHandle) -> Result<SyncStatus, ApiError> {
    let s = status(app)?;
    announce(app, &s);
    Ok(s)
}

// ---- the hub's peer listener ----

fn start_peer(app: &tauri::AppHandle, port: u16) -> Result<PeerRunning, String> {
    let listener = std::net::TcpListener::bind(("0.0.0.0", port)).map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => format!("端口{port}已被占用,评分电脑暂时无法连接本机"),
        std::io::ErrorKind::PermissionDenied => format!("没有权限使用端口{port}"),
        _ => format!("无法在端口{port}上等待评分电脑连接:{e}"),
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("无法启动同步服务:{e}"))?;
    let state = app.state::<AppState>();
    let hub = guanmo_sync::HubService::new(state.ctx.clone(), state.media.clone());
    let router = guanmo_web::peer::peer_router(hub);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tauri::async_runtime::spawn(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "peer listener");
                return;
            }
        };
        let shutdown = async move {
            let _ = stopped.await;
        };
        if let Err(e) = guanmo_web::serve(listener, router, shutdown).await {
            tracing::error!(error = %e, "peer listener stopped with an error");
        }
    });
    tracing::info!(port, "peer listener started");
    Ok(PeerRunning { port, stop })
}

/// Runs the peer listener exactly while this device is the hub. Returns true when that
/// changed anything.
fn reconcile_peer(app: &tauri::AppHandle) -> bool {
    let state = app.state::<AppState>();
    let want = role_of(&state) == Some(Role::Hub);
    let mut peer = lock(&state.sync.peer);
    match (want, peer.running.is_some()) {
        (true, false) => {
            let before = peer.error.clone();
            match start_peer(app, peer_port(&state)) {
                Ok(r) => {
                    peer.running = Some(r);
                    peer.error = None;
                    true
                }
                Err(msg) => {
                    let changed = before.as_deref() != Some(msg.as_str());
                    if changed {
                        tracing::warn!(%msg, "peer listener not started");
                    }
                    peer.error = Some(msg);
                    changed
                }
            }
        }
        (false, true) => {
            if let Some(r) = peer.running.take() {
                let _ = r.stop.send(());
                tracing::info!("peer listener stopped");
            }
            peer.error = None;
            true
        }
        (false, false) if peer.error.is_some() => {
            peer.error = None;
            true
        }
        _ => false,
    }
}

/// 更改端口 on the hub: moves the peer listener to `port` and remembers it. The new port is
/// opened before the old one is let go, so a port that is taken or not allowed changes
/// nothing (the listener stays where it was and the refusal says why).
pub fn set_peer_port(app: &tauri::AppHandle, port: i32) -> Result<SyncStatus, ApiError> {
    let state = app.state::<AppState>();
    let port = u16::try_from(port)
        .ok()
        .filter(|p| *p >= guanmo_sync::MIN_PEER_PORT)
        .ok_or_else(|| {
            ApiError::with_problems(
                ErrorCode::Validation,
                format!("port {port} out of range"),
                vec![Problem::error(
                    ProblemCode::OutOfRange,
                    "端口",
                    format!("端口应在1024到65535之间,不能是{port}"),
                )],
            )
        })?;
    if role_of(&state) != Some(Role::Hub) {
        return Err(ApiError::new(
            ErrorCode::HubOnly,
            "only the organiser's hub listens for laptops",
        ));
    }
    if std::env::var_os(PEER_PORT_ENV).is_some() {
        return Err(ApiError::with_problems(
            ErrorCode::Validation,
            "the port is fixed by the environment",
            vec![Problem::error(
                ProblemCode::Invalid,
                "端口",
                format!("端口由环境变量 {PEER_PORT_ENV} 指定,不能在这里更改"),
            )],
        ));
    }
    let mut peer = lock(&state.sync.peer);
    if peer.running.as_ref().map(|r| r.port) != Some(port) {
        let moved = start_peer(app, port).map_err(|msg| {
            ApiError::with_problems(
                ErrorCode::Validation,
                format!("cannot listen on port {port}"),
                vec![Problem::error(ProblemCode::Invalid, "端口", msg)],
            )
        })?;
        if let Some(old) = peer.running.replace(moved) {
            let _ = old.stop.send(());
        }
        peer.error = None;
    }
    drop(peer);
    guanmo_sync::set_peer_port(&state.ctx, port)?;
    tracing::info!(port, "peer listener moved");
    status_announced(app)
}

// ---- the background thread ----

/// Runs one exchange with the hub, reporting progress to the window.
fn exchange(app: &tauri::AppHandle) -> Result<SyncReport, ApiError> {
    let state = app.state::<AppState>();
    let link = guanmo_sync::hub_link(&state.ctx)?
        .ok_or_else(|| ApiError::new(ErrorCode::NotPaired, "not paired with a hub"))?;
    let transport = HttpTransport::new(&link.url, Some(link.token))?;
    let progress = |p: Progress| {
        let p = SyncProgress::from(p);
        lock(&state.sync.shared).progress = Some(p.clone());
        if let Err(e) = p.emit(app) {
            tracing::warn!(error = %e, "could not report sync progress");
        }
    };
    Ok(guanmo_sync::sync_once(
        &state.ctx,
        &state.media,
        &transport,
        &progress,
    )?)
}

/// One attempt; returns the delay until the next automatic one, and how many operations
/// this device had made when it started.
fn attempt(app: &tauri::AppHandle) -> (Duration, Option<u32>) {
    let state = app.state::<AppState>();
    {
        let mut s = lock(&state.sync.shared);
        s.running = true;
        s.progress = None;
        s.next_attempt_at = None;
    }
    let own_before = status(app).ok().map(|st| {
        announce(app, &st);
        st.overview.own_ops
    });
    let result = exchange(app);
    let mut s = lock(&state.sync.shared);
    s.running = false;
    s.progress = None;
    let delay = match result {
        Ok(report) => {
            s.failures = 0;
            s.last_error = None;
            s.last_run = Some(SyncRun::of(rfc_now(), &report));
            PERIOD
        }
        Err(error) => {
            s.failures = s.failures.saturating_add(1);
            tracing::info!(code = ?error.code, message = %error.message, failures = s.failures, "sync failed");
            s.last_error = Some(SyncFailure {
                at: rfc_now(),
                error,
            });
            backoff(s.failures, random_unit())
        }
    };
    s.next_attempt_at = Some(rfc_in(delay));
    (delay, own_before)
}

fn background(app: tauri::AppHandle) {
    let mut due = Instant::now() + FIRST_RUN;
    let mut last_sent = String::new();
    loop {
        let state = app.state::<AppState>();
        let failing = lock(&state.sync.shared).failures > 0;
        let woke = state.sync.wait(due, !failing);
        if woke == Wakeup::Stop {
            break;
        }
        let mut changed = reconcile_peer(&app);
        let mut own_before = None;
        if syncs_out(&state) {
            let (delay, own) = attempt(&app);
            due = Instant::now() + delay;
            own_before = own;
            changed = true;
        } else {
            let mut s = lock(&state.sync.shared);
            changed |= s.next_attempt_at.take().is_some() || s.failures > 0;
            s.failures = 0;
            drop(s);
            due = Instant::now() + PERIOD;
        }
        // The hub's view changes as laptops report in; send it only when it did change.
        match status(&app) {
            Ok(st) => {
                if own_before.is_some_and(|n| st.overview.own_ops > n) {
                    // Written here while the exchange ran (and so not noted): send it soon.
                    state.sync.note_write();
                }
                let text = serde_json::to_string(&st).unwrap_or_default();
                if changed || text != last_sent || woke == Wakeup::Now {
                    announce(&app, &st);
                    last_sent = text;
                }
            }
            Err(e) => tracing::warn!(error = %e, "sync status"),
        }
    }
}

/// Starts the listener (on the hub) and the background thread; called once at setup.
pub fn start(app: &tauri::AppHandle) {
    reconcile_peer(app);
    let state = app.state::<AppState>();
    let rx = state.ctx.store().subscribe();
    let notes = app.clone();
    std::thread::spawn(move || {
        for _ in rx {
            notes.state::<AppState>().sync.wrote();
        }
    });
    let handle = app.clone();
    std::thread::spawn(move || background(handle));
}

/// Stops the background thread and the peer listener; called when the app exits.
pub fn shutdown(app: &tauri::AppHandle) {
    let state = app.state::<AppState>();
    state.sync.stop();
    let running = lock(&state.sync.peer).running.take();
    if let Some(r) = running {
        let _ = r.stop.send(());
    }
}

// ---- what the commands call ----

/// A refusal the person can act on, worded for them; the code and detail stay as sent.
fn refused(e: guanmo_sync::SyncError, field: &str, words: &str) -> ApiError {
    let api = ApiError::from(e);
    ApiError::with_problems(
        api.code,
        api.message,
        vec![Problem::error(ProblemCode::Invalid, field, words)],
    )
}

/// Why `guanmo_sync::set_role` refused, in words (it refuses; this only explains).
fn role_refusal(state: &AppState, role: Role, name: &str, e: guanmo_sync::SyncError) -> ApiError {
    if e.code != guanmo_sync::SyncErrorCode::BadRequest {
        return e.into();
    }
    let n = name.trim().chars().count();
    if n == 0 || n > 40 {
        return refused(e, "设备名称", "设备名称应为1到40个字");
    }
    let me = guanmo_sync::device_identity(&state.ctx).ok();
    let was_hub = me.as_ref().and_then(|m| m.role) == Some(Role::Hub);
    if role == Role::Hub && !was_hub {
        refused(
            e,
            "本机角色",
            "本机已与组织方主机配对过,不能再改为组织方主机(全场只能有一台主机)",
        )
    } else {
        refused(
            e,
            "本机角色",
            "还有电脑与本机配对。请先在“已配对的电脑”中撤销它们,再改为其他角色",
        )
    }
}

/// Sets this device's role and name; starts or stops the peer listener to match.
pub fn set_role(app: &tauri::AppHandle, role: Role, name: &str) -> Result<SyncStatus, ApiError> {
    let state = app.state::<AppState>();
    guanmo_sync::set_role(&state.ctx, role, name)
        .map_err(|e| role_refusal(&state, role, name, e))?;
    reconcile_peer(app);
    state.sync.ring();
    status_announced(app)
}

/// A new pairing code, with this hub's addresses and a QR code.
pub fn pairing_code(app: &tauri::AppHandle) -> Result<PairingInfo, ApiError> {
    let state = app.state::<AppState>();
    let code = guanmo_sync::new_pairing_code(&state.ctx)?;
    let urls = peer_status(&state).urls;
    let qr = urls.first().and_then(|url| {
        qr_svg(&format!(
            "guanmo://pair?url={}&code={}",
            query_value(url),
            code.code
        ))
    });
    Ok(PairingInfo {
        code: code.code,
        expires_at: code.expires_at,
        urls,
        qr_svg: qr,
    })
}

/// Pairs this laptop with the hub at `url` (off the async runtime: it waits on the network).
pub async fn pair(
    app: tauri::AppHandle,
    url: String,
    code: String,
) -> Result<SyncStatus, ApiError> {
    let url = normalize_hub_url(&url)?;
    let handle = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let state = handle.state::<AppState>();
        let transport = HttpTransport::new(&url, None)?;
        guanmo_sync::pair_with_hub(&state.ctx, &transport, &url, code.trim()).map_err(|e| {
            if e.code == guanmo_sync::SyncErrorCode::BadRequest {
                refused(
                    e,
                    "主机地址",
                    "本机已与另一台组织方主机同步过,不能改配到这台主机",
                )
            } else {
                e.into()
            }
        })?;
        Ok::<_, ApiError>(())
    })
    .await
    .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))??;
    let state = app.state::<AppState>();
    {
        let mut s = lock(&state.sync.shared);
        s.failures = 0;
        s.last_error = None;
    }
    state.sync.ring();
    status_announced(&app)
}

/// The hub revokes a device.
pub fn revoke(app: &tauri::AppHandle, device_id: &str) -> Result<SyncStatus, ApiError> {
    let state = app.state::<AppState>();
    if !guanmo_sync::revoke_device(&state.ctx, device_id)? {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "no such paired device (or already revoked)",
        ));
    }
    status_announced(app)
}

/// Hands a replaced laptop's scorers and posts to another paired laptop (hub only).
pub fn transfer(app: &tauri::AppHandle, from: &str, to: &str) -> Result<SyncStatus, ApiError> {
    let state = app.state::<AppState>();
    guanmo_sync::transfer_device(&state.ctx, from, to)?;
    status_announced(app)
}

/// Assigns a scorer to the paired 评分电脑 that scores for them, or clears it (hub only).
pub fn assign(
    app: &tauri::AppHandle,
    scorer_id: &str,
    device_id: Option<&str>,
) -> Result<SyncStatus, ApiError> {
    let state = app.state::<AppState>();
    guanmo_sync::assign_scorer(&state.ctx, scorer_id, device_id)?;
    status_announced(app)
}

/// 立即同步: wakes the background thread; progress and the outcome come as events.
pub fn sync_now(app: &tauri::AppHandle) -> Result<SyncStatus, ApiError> {
    let state = app.state::<AppState>();
    if !syncs_out(&state) {
        return Err(ApiError::new(
            ErrorCode::NotPaired,
            "this laptop is not paired with a hub",
        ));
    }
    state.sync.ring();
    status(app)
}

/// Marks a refusal or conflict as handled.
pub fn resolve(app: &tauri::AppHandle, issue_id: &str) -> Result<SyncStatus, ApiError> {
    let state = app.state::<AppState>();
    if !guanmo_sync::resolve_issue(&state.ctx, issue_id)? {
        return Err(ApiError::new(ErrorCode::NotFound, "no such open issue"));
    }
    status_announced(app)
}

/// Resolves a conflict at the hub for the version that did not stand (改用另一版本).
pub fn adopt(app: &tauri::AppHandle, issue_id: &str) -> Result<SyncStatus, ApiError> {
    let state = app.state::<AppState>();
    if !guanmo_sync::adopt_other_version(&state.ctx, issue_id)? {
        return Err(ApiError::new(ErrorCode::NotFound, "no such open conflict"));
    }
    status_announced(app)
}

fn bundle_progress(
    app: &tauri::AppHandle,
    direction: BundleDirection,
) -> impl Fn(BundleProgress) + '_ {
    move |p: BundleProgress| {
        let event = SyncBundleProgress {
            direction,
            done: p.done,
            total: p.total,
        };
        if let Err(e) = event.emit(app) {
            tracing::warn!(error = %e, "could not report bundle progress");
        }
    }
}

/// 导出同步包 to `path`, off the async runtime.
pub async fn export_bundle(app: tauri::AppHandle, path: String) -> Result<BundleExport, ApiError> {
    let handle = app.clone();
    let out = tauri::async_runtime::spawn_blocking(move || {
        let state = handle.state::<AppState>();
        let progress = bundle_progress(&handle, BundleDirection::Export);
        let summary = guanmo_sync::bundle::export_bundle(
            &state.ctx,
            &state.media,
            Path::new(&path),
            &progress,
        )?;
        Ok::<_, ApiError>(BundleExport {
            path,
            ops: summary.ops,
            photos: summary.photos,
            bytes: summary.bytes as f64,
            photos_absent: summary.photos_absent,
        })
    })
    .await
    .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))??;
    let _ = status_announced(&app);
    Ok(out)
}

/// 导入同步包 from `path` at the hub, off the async runtime.
pub async fn import_bundle(app: tauri::AppHandle, path: String) -> Result<BundleReport, ApiError> {
    let handle = app.clone();
    let report = tauri::async_runtime::spawn_blocking(move || {
        let state = handle.state::<AppState>();
        let progress = bundle_progress(&handle, BundleDirection::Import);
        Ok::<_, ApiError>(guanmo_sync::bundle::import_bundle(
            &state.ctx,
            &state.media,
            Path::new(&path),
            &progress,
        )?)
    })
    .await
    .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))??;
    let _ = status_announced(&app);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_two_seconds_and_stops_at_a_minute() {
        let top = |n| backoff(n, 1.0).as_secs_f64();
        assert_eq!(
            [top(1), top(2), top(3), top(4), top(5), top(6), top(7)],
            [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
        );
        assert_eq!(
            backoff(1000, 1.0),
            BACKOFF_MAX,
            "huge counts do not overflow"
        );
    }

    #[test]
    fn backoff_jitter_stays_in_the_upper_half() {
        assert_eq!(backoff(3, 0.0).as_secs_f64(), 4.0);
        for _ in 0..100 {
            let d = backoff(4, random_unit()).as_secs_f64();
            assert!((8.0..=16.0).contains(&d), "{d} outside 8..16 s");
        }
    }

    #[test]
    fn a_typed_hub_address_gets_a_scheme_and_loses_its_slash() {
        assert_eq!(
            normalize_hub_url(" 192.168.1.20:8787/ ").unwrap(),
            "http://192.168.1.20:8787"
        );
        assert_eq!(
            normalize_hub_url("http://hub.local:9000").unwrap(),
            "http://hub.local:9000"
        );
        assert_eq!(
            normalize_hub_url("192.168.1.20").unwrap(),
            "http://192.168.1.20:8787",
            "a bare address means the usual port"
        );
        assert_eq!(
            normalize_hub_url("https://hub.example.org/").unwrap(),
            "https://hub.example.org"
        );
        for bad in ["", "http://", "a b", "http://x/y", ":8787"] {
            assert!(normalize_hub_url(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn the_pairing_link_escapes_the_address() {
        assert_eq!(
            query_value("http://10.0.0.2:8787"),
            "http%3A%2F%2F10.0.0.2%3A8787"
        );
    }

    #[test]
    fn a_run_waits_for_local_writes_to_settle_and_a_ring_goes_at_once() {
        let rt = SyncRuntime::default();
        let far = Instant::now() + Duration::from_secs(600);
        rt.ring();
        assert_eq!(rt.wait(far, true), Wakeup::Now);
        let t0 = Instant::now();
        rt.wrote();
        assert_eq!(rt.wait(far, true), Wakeup::Write);
        assert!(
            t0.elapsed() >= DEBOUNCE,
            "a write waits ~2 s before going out"
        );
        rt.wrote();
        let soon = Instant::now() + Duration::from_millis(50);
        assert_eq!(
            rt.wait(soon, false),
            Wakeup::Timer,
            "during backoff writes do not cut the wait short"
        );
        rt.stop();
        assert_eq!(rt.wait(far, true), Wakeup::Stop);
    }
}
