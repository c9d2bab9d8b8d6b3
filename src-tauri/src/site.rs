//! The resident site in the desktop app (开始直播 / 停止): binds `guanmo_web`'s
//! [`ResidentSite`] to the app's state and tells the window of every change as
//! `LiveSiteChanged`. Off by default; bound to the interface media staff pick; a watcher
//! follows that interface to a new address (Wi-Fi roaming). The rules live in `guanmo-web`.

use crate::AppState;
use guanmo_api::ApiError;
use guanmo_web::resident::{spawn_address_watcher, ResidentSite};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tauri::Manager;
use tauri_specta::Event;

pub use guanmo_web::addresses::{interfaces, NetInterface};
pub use guanmo_web::resident::{LiveSiteStatus, SiteSettingsSaved, StaticExport};

/// How often the watcher looks at the picked interface's address.
const WATCH_EVERY: Duration = Duration::from_secs(10);

/// Sent when the site starts, stops or moves to a new address.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct LiveSiteChanged(pub LiveSiteStatus);

/// The resident site of `app` (serving on the app's network runtime).
fn resident(app: &tauri::AppHandle) -> Arc<ResidentSite> {
    app.state::<AppState>().site.clone()
}

fn announce(app: &tauri::AppHandle, status: &LiveSiteStatus) {
    if let Err(e) = LiveSiteChanged(status.clone()).emit(app) {
        tracing::warn!(error = %e, "could not tell the window about the site");
    }
}

/// The current status.
pub fn status(app: &tauri::AppHandle) -> LiveSiteStatus {
    resident(app).status()
}

/// Starts (or restarts) the site on `ip:port`.
pub fn start(app: &tauri::AppHandle, ip: &str, port: i32) -> Result<LiveSiteStatus, ApiError> {
    let status = resident(app).start(ip, port)?;
    announce(app, &status);
    Ok(status)
}

/// Stores the settings and, when the site runs, restarts it on the same address and socket so
/// they take effect (phones reconnect by themselves; a comment being sent may need a retry).
pub fn save_settings(
    app: &tauri::AppHandle,
    input: guanmo_api::site::SiteSettings,
) -> Result<SiteSettingsSaved, ApiError> {
    let site = resident(app);
    let was_running = site.status().running;
    match site.save_settings(input) {
        // The settings panel says 已保存,直播网站已按新设置重新启动; the site card hears of it.
        Ok((saved, status)) => {
            if saved.restarted {
                announce(app, &status);
            }
            Ok(saved)
        }
        Err(e) => {
            // The restart failed and the site stopped: the site card says why.
            let mut now = site.status();
            if was_running && !now.running {
                now.message = Some(e.message.clone());
                announce(app, &now);
            }
            Err(e)
        }
    }
}

/// Stops the site.
pub fn stop(app: &tauri::AppHandle) -> LiveSiteStatus {
    let status = resident(app).stop();
    announce(app, &status);
    status
}

/// Every 10 s: if the chosen interface now has another address, the site moves there and the
/// window hears of it.
pub fn watch_address(app: tauri::AppHandle) {
    let site = resident(&app);
    spawn_address_watcher(site, WATCH_EVERY, move |status| announce(&app, &status));
}

/// Writes the current public feed as a static site into `dir`, for any web server, CDN or
/// S3-compatible bucket (the way to reach more residents than one laptop can serve).
pub fn export_static(app: &tauri::AppHandle, dir: &str) -> Result<StaticExport, ApiError> {
    resident(app).export_static(std::path::Path::new(dir))
}

/// 发送测试短信: texts a test code through the configured provider; a refusal comes back with
/// the vendor's code and what to fix, in Chinese.
#[tauri::command]
#[specta::specta]
pub async fn send_test_sms(app: tauri::AppHandle, phone: String) -> crate::commands::Res<()> {
    crate::commands::blocking(app, move |s| {
        let (provider, number) = guanmo_api::comments::sms_test_target(&s.ctx, &phone)?;
        guanmo_web::sms::send(&provider, &number, "123456").map_err(|e| {
            tracing::warn!(code = %e.code, "test sms refused");
            ApiError::new(guanmo_api::ErrorCode::Validation, e.to_string())
        })
    })
    .await
}
