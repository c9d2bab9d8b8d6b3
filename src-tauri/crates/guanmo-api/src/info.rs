//! Facts shown in 设置: versions, where the data lives, this device's id.

use crate::Ctx;
use serde::Serialize;
use specta::Type;

/// What the settings view shows.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    /// Version of the app.
    pub app_version: String,
    /// Version of the SQLite library linked in.
    pub sqlite_version: String,
    /// The data folder.
    pub data_dir: String,
    /// The database file.
    pub db_path: String,
    /// This device's id.
    pub device_id: String,
}

/// Facts about this install; `app_version` comes from the shell that embeds the api.
pub fn app_info(ctx: &Ctx, app_version: &str) -> AppInfo {
    AppInfo {
        app_version: app_version.to_string(),
        sqlite_version: guanmo_store::Store::sqlite_version().to_string(),
        data_dir: ctx.data_dir().display().to_string(),
        db_path: ctx.store.path().display().to_string(),
        device_id: ctx.store.device_id().to_string(),
    }
}
