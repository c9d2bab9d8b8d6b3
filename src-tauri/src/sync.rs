//! Sync in the desktop shell (同步): the commands, and the thread that runs
//! `guanmo_sync::auto` with this app's driver. When a laptop exchanges with its hub (soon after
//! start, ~2 s after local writes settle, every 15 s, at once on 立即同步, with backoff after a
//! failure) is decided there, against the injected clock; the hub's peer listener is
//! `guanmo_web::peer_runtime`. The shell only forwards their news to the window: every state
//! change as `SyncChanged`, a run's progress as `SyncProgress`.

use crate::AppState;
use guanmo_api::{ApiError, ErrorCode};
use guanmo_sync::auto::{AutoDriver, AutoSync, SyncFailure, SyncProgress, SyncRun};
use guanmo_sync::bundle::{BundleProgress, BundleReport};
use guanmo_sync::{Progress, Role, SyncOverview, SyncReport};
use guanmo_web::addresses::{pairing_link, qr_svg};
use guanmo_web::peer_runtime::{PeerListener, PeerStatus};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Mutex;
use tauri::Manager;
use tauri_specta::Event;

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
    /// This device decides on residents' comments: the hub, a laptop it granted 审核.
    pub may_moderate: bool,
}

/// Sent whenever the 同步 view's content changes.
#[derive(Debug, Clone, Serialize, specta::Type, tauri_specta::Event)]
pub struct SyncChanged(pub SyncStatus);

/// Progress of the running exchange, for the 同步 view's bar (the event carrying
/// `guanmo_sync::auto::SyncProgress` as it is).
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
#[serde(transparent)]
#[specta(transparent)]
#[tauri_specta(event_name = "sync-progress")]
pub struct SyncProgressEvent(pub SyncProgress);

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

/// The app's sync runtimes: the scheduler (laptops) and the peer listener (hub).
pub struct SyncRuntime {
    /// When to exchange with the hub, and how the last runs went.
    pub auto: AutoSync,
    /// The hub's peer listener.
    pub peer: PeerListener,
    /// The status last sent to the window, so an unchanged one is not sent again.
    last_sent: Mutex<String>,
}

impl SyncRuntime {
    /// The runtimes over the app's context; nothing runs until [`start`].
    pub fn new(auto: AutoSync, peer: PeerListener) -> Self {
        Self {
            auto,
            peer,
            last_sent: Mutex::default(),
        }
    }
}

/// The current status.
pub fn status(app: &tauri::AppHandle) -> Result<SyncStatus, ApiError> {
    let state = app.state::<AppState>();
    let overview = guanmo_sync::overview(&state.ctx, state.ctx.media())?;
    let auto = state.sync.auto.status();
    Ok(SyncStatus {
        overview,
        auto_sync: guanmo_sync::auto::syncs_out(&state.ctx),
        running: auto.running,
        progress: auto.progress,
        last_run: auto.last_run,
        last_error: auto.last_error,
        failures: auto.failures,
        next_attempt_at: auto.next_attempt_at,
        peer: state.sync.peer.status(),
        may_moderate: guanmo_sync::grants::may_moderate(&state.ctx)?,
    })
}

/// Sends `status` to the window unless `only_if_new` and it is what was sent last.
fn announce(app: &tauri::AppHandle, status: &SyncStatus, only_if_new: bool) {
    let state = app.state::<AppState>();
    let text = serde_json::to_string(status).unwrap_or_default();
    {
        let mut last = state
            .sync
            .last_sent
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if only_if_new && *last == text {
            return;
        }
        *last = text;
    }
    if let Err(e) = SyncChanged(status.clone()).emit(app) {
        tracing::warn!(error = %e, "could not tell the window about sync");
    }
}

/// The status, also sent to the window.
fn status_announced(app: &tauri::AppHandle) -> Result<SyncStatus, ApiError> {
    let s = status(app)?;
    announce(app, &s, false);
    Ok(s)
}

/// The app's side of `guanmo_sync::auto`: its context, its peer listener, its window.
struct Driver(tauri::AppHandle);

impl AutoDriver for Driver {
    fn tick(&self) -> bool {
        self.0.state::<AppState>().sync.peer.reconcile()
    }

    fn syncs_out(&self) -> bool {
        guanmo_sync::auto::syncs_out(&self.0.state::<AppState>().ctx)
    }

    fn own_ops(&self) -> Option<u32> {
        guanmo_sync::auto::own_ops(&self.0.state::<AppState>().ctx)
    }

    fn exchange(&self, progress: &dyn Fn(Progress)) -> Result<SyncReport, ApiError> {
        let state = self.0.state::<AppState>();
        guanmo_sync::auto::http_exchange(&state.ctx, state.ctx.media(), progress)
    }

    fn progress(&self, progress: &SyncProgress) {
        if let Err(e) = SyncProgressEvent(progress.clone()).emit(&self.0) {
            tracing::warn!(error = %e, "could not report sync progress");
        }
    }

    fn announce(&self, force: bool) {
        match status(&self.0) {
            Ok(st) => announce(&self.0, &st, !force),
            Err(e) => tracing::warn!(error = %e, "sync status"),
        }
    }
}

/// Starts the peer listener (on the hub) and the scheduler's thread; called once at setup.
pub fn start(app: &tauri::AppHandle) {
    let state = app.state::<AppState>();
    state.sync.peer.reconcile();
    let rx = state.ctx.store().subscribe();
    let notes = app.clone();
    std::thread::spawn(move || {
        for _ in rx {
            notes.state::<AppState>().sync.auto.wrote();
        }
    });
    let handle = app.clone();
    std::thread::spawn(move || {
        let driver = Driver(handle.clone());
        handle.state::<AppState>().sync.auto.run(&driver);
    });
}

/// Stops the scheduler and the peer listener; called when the app exits.
pub fn shutdown(app: &tauri::AppHandle) {
    let state = app.state::<AppState>();
    state.sync.auto.stop();
    state.sync.peer.stop();
}

// ---- what the commands call ----

/// 更改端口 on the hub: moves the peer listener to `port` (opened before the old one is let
/// go) and remembers it; a port that is taken or not allowed changes nothing.
pub fn set_peer_port(app: &tauri::AppHandle, port: i32) -> Result<SyncStatus, ApiError> {
    let state = app.state::<AppState>();
    let port = guanmo_sync::peer_port_change(&state.ctx, port)?;
    // Moves the listener, then remembers the port.
    state.sync.peer.set_port(port)?;
    status_announced(app)
}

/// Sets this device's role and name; starts or stops the peer listener to match.
pub fn set_role(app: &tauri::AppHandle, role: Role, name: &str) -> Result<SyncStatus, ApiError> {
    let state = app.state::<AppState>();
    guanmo_sync::set_role_explained(&state.ctx, role, name)?;
    state.sync.peer.reconcile();
    state.sync.auto.ring();
    status_announced(app)
}

/// A new pairing code, with this hub's addresses and a QR code.
pub fn pairing_code(app: &tauri::AppHandle) -> Result<PairingInfo, ApiError> {
    let state = app.state::<AppState>();
    let code = guanmo_sync::new_pairing_code(&state.ctx)?;
    let urls = state.sync.peer.status().urls;
    let qr_svg = urls
        .first()
        .and_then(|url| qr_svg(&pairing_link(url, &code.code, None), 160));
    Ok(PairingInfo {
        code: code.code,
        expires_at: code.expires_at,
        urls,
        qr_svg,
    })
}

/// Pairs this laptop with the hub at `url`, pinning the hub's certificate when `fingerprint`
/// is given (off the async runtime: it waits on the network).
pub async fn pair(
    app: tauri::AppHandle,
    url: String,
    code: String,
    fingerprint: Option<String>,
) -> Result<SyncStatus, ApiError> {
    let handle = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let state = handle.state::<AppState>();
        guanmo_sync::pair_over_http(&state.ctx, &url, &code, fingerprint.as_deref())
    })
    .await
    .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))??;
    let state = app.state::<AppState>();
    state.sync.auto.reset_failures();
    state.sync.auto.ring();
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

/// Grants or revokes a paired laptop's 审核 (hub only); the laptop learns it at its next exchange.
pub fn moderator(app: &tauri::AppHandle, id: &str, on: bool) -> Result<SyncStatus, ApiError> {
    guanmo_sync::grants::grant_moderator(&app.state::<AppState>().ctx, id, on)?;
    status_announced(app)
}

/// 原图上传 on the hub.
pub fn originals(
    app: &tauri::AppHandle,
    policy: guanmo_sync::protocol::OriginalsPolicy,
) -> Result<SyncStatus, ApiError> {
    guanmo_sync::originals::set_policy(&app.state::<AppState>().ctx, policy)?;
    status_announced(app)
}

/// 立即同步: wakes the scheduler; progress and the outcome come as events.
pub fn sync_now(app: &tauri::AppHandle) -> Result<SyncStatus, ApiError> {
    let state = app.state::<AppState>();
    if !guanmo_sync::auto::syncs_out(&state.ctx) {
        return Err(ApiError::new(
            ErrorCode::NotPaired,
            "this laptop is not paired with a hub",
        ));
    }
    state.sync.auto.ring();
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

/// 导出同步包 to `path` (the commands run this on the blocking pool).
pub fn export_bundle(app: &tauri::AppHandle, path: &Path) -> Result<BundleExport, ApiError> {
    let state = app.state::<AppState>();
    let progress = bundle_progress(app, BundleDirection::Export);
    let summary =
        guanmo_sync::bundle::export_bundle(&state.ctx, state.ctx.media(), path, &progress)?;
    let _ = status_announced(app);
    Ok(BundleExport {
        path: path.display().to_string(),
        ops: summary.ops,
        photos: summary.photos,
        bytes: summary.bytes as f64,
        photos_absent: summary.photos_absent,
    })
}

/// 导入同步包 from `path` at the hub (the commands run this on the blocking pool).
pub fn import_bundle(app: &tauri::AppHandle, path: &Path) -> Result<BundleReport, ApiError> {
    let state = app.state::<AppState>();
    let progress = bundle_progress(app, BundleDirection::Import);
    let report =
        guanmo_sync::bundle::import_bundle(&state.ctx, state.ctx.media(), path, &progress)?;
    let _ = status_announced(app);
    Ok(report)
}
