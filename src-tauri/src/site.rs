//! The resident site's listener, started and stopped from the app (开始直播 / 停止). Off by
//! default; bound to the interface media staff pick; the URL and its QR code are shown to
//! print or share. A watcher notices when the laptop's address on that interface changes
//! (Wi-Fi roaming) and restarts the site on the new address, telling the window.

use crate::AppState;
use guanmo_api::{ApiError, ErrorCode};
use guanmo_domain::problem::{Problem, ProblemCode};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tauri::Manager;
use tauri_specta::Event;

/// A network interface with an IPv4 address.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct NetInterface {
    /// Interface name, e.g. wlan0.
    pub name: String,
    /// Its address.
    pub ip: String,
}

/// Whether the site runs, and where.
#[derive(Debug, Clone, Default, Serialize, Deserialize, specta::Type)]
pub struct LiveSiteStatus {
    /// True while serving.
    pub running: bool,
    /// Bound address.
    pub ip: Option<String>,
    /// Bound port.
    pub port: Option<i32>,
    /// The address residents open.
    pub url: Option<String>,
    /// QR code of `url`, as SVG markup made here.
    pub qr_svg: Option<String>,
    /// Something the staff should know (address changed, site stopped).
    pub message: Option<String>,
}

/// Sent when the site starts, stops or moves to a new address.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct LiveSiteChanged(pub LiveSiteStatus);

struct Running {
    interface: String,
    ip: String,
    port: u16,
    /// The listening socket, kept so a restart on the same address serves on it without a
    /// moment where phones are refused (the old server lets go of its copy on `stop`).
    listener: std::net::TcpListener,
    stop: tokio::sync::oneshot::Sender<()>,
}

/// The one running site, if any.
#[derive(Default)]
pub struct Site(Mutex<Option<Running>>);

/// IPv4 interfaces, real ones first, loopback last.
pub fn interfaces() -> Vec<NetInterface> {
    let mut out: Vec<(bool, NetInterface)> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| match i.ip() {
            IpAddr::V4(v4) => Some((
                v4.is_loopback(),
                NetInterface {
                    name: i.name.clone(),
                    ip: v4.to_string(),
                },
            )),
            IpAddr::V6(_) => None,
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.name.cmp(&b.1.name)));
    out.into_iter().map(|(_, i)| i).collect()
}

fn refuse(message: String) -> ApiError {
    ApiError::with_problems(
        ErrorCode::Validation,
        message.clone(),
        vec![Problem::error(ProblemCode::Invalid, "直播网站", message)],
    )
}

fn status_of(running: Option<&Running>, message: Option<String>) -> LiveSiteStatus {
    match running {
        None => LiveSiteStatus {
            message,
            ..LiveSiteStatus::default()
        },
        Some(r) => {
            let url = format!("http://{}:{}/", r.ip, r.port);
            let qr_svg = qrcode::QrCode::new(url.as_bytes()).ok().map(|code| {
                code.render::<qrcode::render::svg::Color<'_>>()
                    .min_dimensions(220, 220)
                    .build()
            });
            LiveSiteStatus {
                running: true,
                ip: Some(r.ip.clone()),
                port: Some(i32::from(r.port)),
                url: Some(url),
                qr_svg,
                message,
            }
        }
    }
}

/// The current status.
pub fn status(app: &tauri::AppHandle) -> LiveSiteStatus {
    let site = app.state::<AppState>();
    let guard = site.site.0.lock().unwrap_or_else(|e| e.into_inner());
    status_of(guard.as_ref(), None)
}

/// A listening socket on `ip:port`, ready for tokio.
fn bind(ip: &str, port: u16) -> Result<std::net::TcpListener, ApiError> {
    let addr: IpAddr = ip
        .parse()
        .map_err(|_| refuse(format!("「{ip}」不是有效的网络地址")))?;
    let listener = std::net::TcpListener::bind((addr, port)).map_err(|e| {
        refuse(match e.kind() {
            std::io::ErrorKind::AddrInUse => format!("端口{port}已被占用,请换一个端口"),
            std::io::ErrorKind::PermissionDenied => {
                format!("没有权限使用端口{port},请使用1024以上的端口")
            }
            _ => format!("无法在{ip}:{port}上启动直播网站:{e}"),
        })
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| refuse(format!("无法启动直播网站:{e}")))?;
    Ok(listener)
}

/// Serves the site on `listener` (bound to `ip:port`) with the stored 直播网站设置.
fn launch(
    app: &tauri::AppHandle,
    interface: &str,
    ip: &str,
    port: u16,
    listener: std::net::TcpListener,
) -> Result<Running, ApiError> {
    let state = app.state::<AppState>();
    let settings = guanmo_api::site::get_site_settings(&state.ctx)?;
    let config = guanmo_web::WebConfig::from_settings(
        &settings,
        vec![
            format!("{ip}:{port}"),
            ip.to_string(),
            "localhost".into(),
            "127.0.0.1".into(),
        ],
    );
    let web = guanmo_web::WebState::new(state.ctx.clone(), Arc::new(state.media.clone()), config)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let router = guanmo_web::public_router(web);
    let kept = listener
        .try_clone()
        .map_err(|e| refuse(format!("无法启动直播网站:{e}")))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tauri::async_runtime::spawn(async move {
        let listener = match tokio::net::TcpListener::from_std(listener) {
            Ok(l) => l,
            Err(e) => {
                tracing::error!(error = %e, "resident site listener");
                return;
            }
        };
        let shutdown = async move {
            let _ = stopped.await;
        };
        if let Err(e) = guanmo_web::serve(listener, router, shutdown).await {
            tracing::error!(error = %e, "resident site stopped with an error");
        }
    });
    tracing::info!(%ip, port, "resident site started");
    Ok(Running {
        interface: interface.to_string(),
        ip: ip.to_string(),
        port,
        listener: kept,
        stop,
    })
}

fn announce(app: &tauri::AppHandle, status: &LiveSiteStatus) {
    if let Err(e) = LiveSiteChanged(status.clone()).emit(app) {
        tracing::warn!(error = %e, "could not tell the window about the site");
    }
}

/// Starts (or restarts) the site on `ip:port`.
pub fn start(app: &tauri::AppHandle, ip: &str, port: i32) -> Result<LiveSiteStatus, ApiError> {
    let port = u16::try_from(port)
        .ok()
        .filter(|p| *p >= 1024)
        .ok_or_else(|| refuse(format!("端口应在1024到65535之间,不能是{port}")))?;
    let interface = interfaces()
        .into_iter()
        .find(|i| i.ip == ip)
        .map(|i| i.name)
        .ok_or_else(|| refuse(format!("本机没有地址为{ip}的网络接口")))?;
    let site = app.state::<AppState>();
    let mut guard = site.site.0.lock().unwrap_or_else(|e| e.into_inner());
    let listener = match guard.take() {
        // Restarting where it already listens: keep the socket rather than race the old
        // server to release it.
        Some(old) if old.ip == ip && old.port == port => {
            let _ = old.stop.send(());
            old.listener
        }
        Some(old) => {
            let _ = old.stop.send(());
            drop(old.listener);
            bind(ip, port)?
        }
        None => bind(ip, port)?,
    };
    let running = launch(app, &interface, ip, port, listener)?;
    *guard = Some(running);
    let status = status_of(guard.as_ref(), None);
    drop(guard);
    announce(app, &status);
    Ok(status)
}

/// What saving 直播网站设置 came to.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct SiteSettingsSaved {
    /// The settings as stored.
    pub settings: guanmo_api::site::SiteSettings,
    /// The running site was restarted to take them up (false: it was not running).
    pub restarted: bool,
}

/// Stores the settings and, when the site runs, restarts it on the same address and socket so
/// they take effect (phones reconnect by themselves; a comment being sent may need a retry).
pub fn save_settings(
    app: &tauri::AppHandle,
    input: guanmo_api::site::SiteSettings,
) -> Result<SiteSettingsSaved, ApiError> {
    let state = app.state::<AppState>();
    // Held across the save, so a start in between cannot run on the old settings.
    let mut guard = state.site.0.lock().unwrap_or_else(|e| e.into_inner());
    let settings = guanmo_api::site::set_site_settings(&state.ctx, input)?;
    let Some(old) = guard.take() else {
        return Ok(SiteSettingsSaved {
            settings,
            restarted: false,
        });
    };
    let _ = old.stop.send(());
    // The settings panel says 已保存,直播网站已按新设置重新启动; the site card hears only of a failure.
    let (message, result) = match launch(app, &old.interface, &old.ip, old.port, old.listener) {
        Ok(r) => {
            *guard = Some(r);
            let saved = SiteSettingsSaved {
                settings,
                restarted: true,
            };
            (None, Ok(saved))
        }
        Err(mut e) => {
            e.message = format!("设置已保存,但直播网站重新启动失败,已停止:{}", e.message);
            (Some(e.message.clone()), Err(e))
        }
    };
    let status = status_of(guard.as_ref(), message);
    drop(guard);
    announce(app, &status);
    result
}

/// Stops the site.
pub fn stop(app: &tauri::AppHandle) -> LiveSiteStatus {
    let site = app.state::<AppState>();
    let mut guard = site.site.0.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(old) = guard.take() {
        let _ = old.stop.send(());
        tracing::info!("resident site stopped");
    }
    drop(guard);
    let status = status_of(None, None);
    announce(app, &status);
    status
}

/// The address the site should move to, if `interface` no longer has `ip` but has another:
/// `None` while `ip` is still one of its addresses (an interface may have several) and while
/// the interface is gone (Wi-Fi dropped: the site stays where it was until it comes back).
fn moved_to(interface: &str, ip: &str, now: &[NetInterface]) -> Option<String> {
    let mut addresses = now
        .iter()
        .filter(|i| i.name == interface)
        .map(|i| i.ip.as_str());
    let first = addresses.next()?;
    if first == ip || addresses.any(|a| a == ip) {
        return None;
    }
    Some(first.to_string())
}

/// Every 10 s: if the chosen interface now has another address, restart the site there.
pub fn watch_address(app: tauri::AppHandle) {
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(10));
        let site = app.state::<AppState>();
        let mut guard = site.site.0.lock().unwrap_or_else(|e| e.into_inner());
        let Some(running) = guard.as_ref() else {
            continue;
        };
        let Some(new_ip) = moved_to(&running.interface, &running.ip, &interfaces()) else {
            continue;
        };
        let (interface, port) = (running.interface.clone(), running.port);
        if let Some(old) = guard.take() {
            let _ = old.stop.send(());
        }
        let message;
        match bind(&new_ip, port).and_then(|l| launch(&app, &interface, &new_ip, port, l)) {
            Ok(r) => {
                message = format!("网络地址已变化,直播网站已改用新地址 http://{new_ip}:{port}/");
                *guard = Some(r);
            }
            Err(e) => message = format!("网络地址已变化,直播网站已停止:{}", e.message),
        }
        let status = status_of(guard.as_ref(), Some(message));
        drop(guard);
        announce(&app, &status);
    });
}

/// What a static export wrote.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct StaticExport {
    /// The folder written.
    pub dir: String,
    /// Posts in it.
    pub posts: i32,
    /// Photo files copied.
    pub media_files: i32,
    /// Photos that could not be copied (`<hash>/<size>.jpg`).
    pub missing_media: Vec<String>,
}

/// Writes the current public feed as a static site into `dir`, for any web server, CDN or
/// S3-compatible bucket (the way to reach more residents than one laptop can serve).
pub fn export_static(app: &tauri::AppHandle, dir: &str) -> Result<StaticExport, ApiError> {
    let state = app.state::<AppState>();
    // The title and poll interval of 直播网站设置; hosts and limits do not apply to files.
    let settings = guanmo_api::site::get_site_settings(&state.ctx)?;
    let web = guanmo_web::WebState::new(
        state.ctx.clone(),
        Arc::new(state.media.clone()),
        guanmo_web::WebConfig::from_settings(&settings, Vec::new()),
    )
    .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    let report = guanmo_web::export_static(&web, std::path::Path::new(dir))
        .map_err(|e| refuse(format!("无法导出静态网站到{dir}:{e}")))?;
    Ok(StaticExport {
        dir: dir.to_string(),
        posts: i32::try_from(report.posts).unwrap_or(i32::MAX),
        media_files: i32::try_from(report.media_files).unwrap_or(i32::MAX),
        missing_media: report.missing_media,
    })
}

#[cfg(test)]
mod tests {
    use super::{moved_to, NetInterface};

    fn nic(name: &str, ip: &str) -> NetInterface {
        NetInterface {
            name: name.into(),
            ip: ip.into(),
        }
    }

    #[test]
    fn the_site_moves_only_when_its_interface_has_lost_its_address() {
        let wlan = |ip: &str| nic("wlan0", ip);
        let lo = nic("lo", "127.0.0.1");
        // Unchanged.
        assert_eq!(
            moved_to("wlan0", "192.168.1.20", &[wlan("192.168.1.20"), lo.clone()]),
            None
        );
        // Roamed to another access point: a new address.
        assert_eq!(
            moved_to("wlan0", "192.168.1.20", &[lo.clone(), wlan("10.0.8.31")]),
            Some("10.0.8.31".to_string())
        );
        // A second address appeared beside the one in use: stay.
        assert_eq!(
            moved_to(
                "wlan0",
                "192.168.1.20",
                &[wlan("10.0.8.31"), wlan("192.168.1.20")]
            ),
            None
        );
        // Wi-Fi dropped: the interface is gone, wait for it.
        assert_eq!(
            moved_to("wlan0", "192.168.1.20", std::slice::from_ref(&lo)),
            None
        );
        assert_eq!(moved_to("wlan0", "192.168.1.20", &[]), None);
        // Another interface's address is not ours to take.
        assert_eq!(
            moved_to("wlan0", "192.168.1.20", &[nic("eth0", "10.1.1.1")]),
            None
        );
    }
}
