//! 关于: the app's version, the commit it was built from, the SQLite linked in and where the
//! data lives. The commit is read by `build.rs` (`git rev-parse --short HEAD`, or `unknown`).

use crate::AppState;
use guanmo_api::info::AboutInfo;
use tauri::State;

/// The commit the app was built from, or `unknown` when it was built outside a git checkout.
pub const COMMIT: &str = env!("GUANMO_COMMIT");

/// Version, commit, SQLite version and data folder for the 关于 box.
#[tauri::command(async)]
#[specta::specta]
pub fn get_about(state: State<'_, AppState>) -> AboutInfo {
    guanmo_api::info::about(&state.ctx, env!("CARGO_PKG_VERSION"), COMMIT)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_commit_is_one_word() {
        // A short hash from git, `unknown` without git, or what GUANMO_COMMIT said.
        let c = super::COMMIT;
        assert!(!c.is_empty() && !c.contains(char::is_whitespace), "{c:?}");
    }
}
