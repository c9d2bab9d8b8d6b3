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

/// What the 关于 box shows.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AboutInfo {
    /// Version of the app (its Cargo package version).
    pub version: String,
    /// Short hash of the commit the app was built from, or `unknown`.
    pub commit: String,
    /// Version of the SQLite library linked in.
    pub sqlite_version: String,
    /// The data folder.
    pub data_dir: String,
}

/// Facts for 关于; `version` and `commit` come from the shell's build.
pub fn about(ctx: &Ctx, version: &str, commit: &str) -> AboutInfo {
    AboutInfo {
        version: version.to_string(),
        commit: commit.to_string(),
        sqlite_version: guanmo_store::Store::sqlite_version().to_string(),
        data_dir: ctx.data_dir().display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn about_names_the_build_the_linked_sqlite_and_the_data_folder() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Ctx::open(dir.path(), Arc::new(guanmo_domain::SystemClock)).unwrap();
        let about = about(&ctx, "1.2.3", "abc1234");
        assert_eq!(
            (about.version.as_str(), about.commit.as_str()),
            ("1.2.3", "abc1234")
        );
        assert!(
            about.sqlite_version.starts_with("3."),
            "{}",
            about.sqlite_version
        );
        assert_eq!(about.data_dir, ctx.data_dir().display().to_string());
    }
}
