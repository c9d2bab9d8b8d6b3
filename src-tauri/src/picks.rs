//! Files the person picked. The window never names a file the shell did not show to the
//! person first: the shell opens the native open, save and folder dialogs itself (never the
//! page's script), remembers what was chosen for a while, and the import and export commands
//! accept only those paths (a file to read once, a file to write once, a folder for its
//! photos). A script that got into the window therefore cannot read or write anywhere by
//! naming a path, e.g. write the full phone-number export where it likes. Files dropped on the
//! window count as picked for reading.
//!
//! For the desktop E2E tests (debug builds only), `GUANMO_TEST_PICKS` names a file whose
//! lines answer the dialogs in turn instead of showing them: a line holds the chosen paths
//! separated by `|`, an empty line is a cancelled dialog.

use guanmo_api::{ApiError, ErrorCode};
use serde::{Deserialize, Serialize};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a pick stays usable: the person picks, then the command runs at once.
const VALID: Duration = Duration::from_secs(30 * 60);
/// Picks remembered at most (the oldest go first).
const MAX_GRANTS: usize = 64;

/// What a pick allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read this file once.
    Read,
    /// Write this file once.
    Write,
    /// Read the photos in this folder (and its subfolders), and write an export into it.
    Folder,
}

#[derive(Debug)]
struct Grant {
    path: PathBuf,
    access: Access,
    at: Instant,
}

/// The picks of this window.
#[derive(Debug, Default)]
pub struct Picks(Mutex<Vec<Grant>>);

/// A filter of a file dialog, e.g. 名单文件(CSV / Excel) with `csv`, `xlsx`.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct FileFilter {
    /// What the person reads.
    pub name: String,
    /// Extensions without the dot.
    pub extensions: Vec<String>,
}

fn not_picked(path: &str) -> ApiError {
    ApiError::new(
        ErrorCode::NotPicked,
        format!("{path} was not chosen in a file dialog"),
    )
}

/// A path as the dialogs give them: absolute, without `..`.
fn plain(path: &Path) -> bool {
    path.is_absolute() && !path.components().any(|c| c == Component::ParentDir)
}

impl Picks {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Grant>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The picks still usable (older ones are dropped).
    fn live(&self) -> std::sync::MutexGuard<'_, Vec<Grant>> {
        let mut g = self.lock();
        g.retain(|x| x.at.elapsed() < VALID);
        g
    }

    /// Remembers that the person picked `path` for `access`.
    pub fn grant(&self, path: PathBuf, access: Access) {
        let mut g = self.live();
        if g.len() >= MAX_GRANTS {
            g.remove(0);
        }
        g.push(Grant {
            path,
            access,
            at: Instant::now(),
        });
    }

    fn take(&self, path: &str, access: Access) -> Result<PathBuf, ApiError> {
        let wanted = PathBuf::from(path);
        let mut g = self.live();
        let at = g
            .iter()
            .position(|x| x.access == access && x.path == wanted)
            .ok_or_else(|| not_picked(path))?;
        Ok(g.remove(at).path)
    }

    /// A file the person picked to open (or dropped on the window); used up.
    pub fn take_read(&self, path: &str) -> Result<PathBuf, ApiError> {
        self.take(path, Access::Read)
    }

    /// A photo to import: a file picked or dropped (used up), or a regular file inside a
    /// folder the person picked (an SD card). The folder covers only what really lies in it:
    /// both paths are resolved (links and `..` followed) before they are compared, so a link
    /// inside the card cannot reach out of it, and only `import_photos` may use a folder.
    pub fn take_photo(&self, path: &str) -> Result<PathBuf, ApiError> {
        if let Ok(p) = self.take(path, Access::Read) {
            return Ok(p);
        }
        let wanted = PathBuf::from(path);
        let real = plain(&wanted)
            .then(|| std::fs::canonicalize(&wanted).ok())
            .flatten()
            .filter(|r| r.is_file());
        let inside = real.as_ref().is_some_and(|real| {
            self.live().iter().any(|x| {
                x.access == Access::Folder
                    && std::fs::canonicalize(&x.path).is_ok_and(|dir| real.starts_with(dir))
            })
        });
        if inside {
            Ok(wanted)
        } else {
            Err(not_picked(path))
        }
    }

    /// A file the person chose in the save dialog; used up.
    pub fn take_write(&self, path: &str) -> Result<PathBuf, ApiError> {
        self.take(path, Access::Write)
    }

    /// A folder the person picked (kept for the listing and the import that follows).
    pub fn folder(&self, path: &str) -> Result<PathBuf, ApiError> {
        let wanted = PathBuf::from(path);
        self.live()
            .iter()
            .find(|x| x.access == Access::Folder && x.path == wanted)
            .map(|x| x.path.clone())
            .ok_or_else(|| not_picked(path))
    }
}

/// What kind of dialog.
#[derive(Debug, Clone, Copy)]
pub enum Dialog {
    /// One file to open.
    Open,
    /// Several files to open.
    OpenMany,
    /// A file to save, with a suggested name.
    Save,
    /// A folder.
    Folder,
}

/// The answer the E2E test prepared, when it did (debug builds only).
fn test_answer() -> Option<Vec<PathBuf>> {
    if !cfg!(debug_assertions) {
        return None;
    }
    let file = std::env::var_os("GUANMO_TEST_PICKS")?;
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let mut lines = text.lines();
    let first = lines.next()?.to_string();
    let rest: Vec<&str> = lines.collect();
    let _ = std::fs::write(&file, rest.join("\n"));
    Some(
        first
            .split('|')
            .filter(|p| !p.trim().is_empty())
            .map(|p| PathBuf::from(p.trim()))
            .collect(),
    )
}

/// Shows the native dialog (off the main thread's queue, without blocking an async worker)
/// and remembers what the person chose. Returns the chosen paths (none when cancelled).
pub async fn pick(
    app: &tauri::AppHandle,
    kind: Dialog,
    title: &str,
    file_name: Option<&str>,
    filters: &[FileFilter],
) -> Result<Vec<String>, ApiError> {
    use tauri::Manager;
    use tauri_plugin_dialog::DialogExt;
    let chosen: Vec<PathBuf> = match test_answer() {
        Some(answer) => answer,
        None => {
            let mut b = app.dialog().file().set_title(title);
            for f in filters {
                let exts: Vec<&str> = f.extensions.iter().map(String::as_str).collect();
                b = b.add_filter(&f.name, &exts);
            }
            if let Some(name) = file_name {
                b = b.set_file_name(name);
            }
            if let Some(w) = app.get_webview_window("main") {
                b = b.set_parent(&w);
            }
            let (tx, rx) = tokio::sync::oneshot::channel();
            let to_paths = |v: Vec<tauri_plugin_dialog::FilePath>| -> Vec<PathBuf> {
                v.into_iter().filter_map(|p| p.into_path().ok()).collect()
            };
            match kind {
                Dialog::Open => b.pick_file(move |p| {
                    let _ = tx.send(to_paths(p.into_iter().collect()));
                }),
                Dialog::OpenMany => b.pick_files(move |p| {
                    let _ = tx.send(to_paths(p.unwrap_or_default()));
                }),
                Dialog::Save => b.save_file(move |p| {
                    let _ = tx.send(to_paths(p.into_iter().collect()));
                }),
                Dialog::Folder => b.pick_folder(move |p| {
                    let _ = tx.send(to_paths(p.into_iter().collect()));
                }),
            }
            rx.await.unwrap_or_default()
        }
    };
    let picks = &app.state::<crate::AppState>().picks;
    let access = match kind {
        Dialog::Open | Dialog::OpenMany => Access::Read,
        Dialog::Save => Access::Write,
        Dialog::Folder => Access::Folder,
    };
    let chosen: Vec<PathBuf> = chosen.into_iter().filter(|p| plain(p)).collect();
    for p in &chosen {
        picks.grant(p.clone(), access);
    }
    Ok(chosen.iter().map(|p| p.display().to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn abs(p: &str) -> String {
        std::env::temp_dir().join(p).display().to_string()
    }

    #[test]
    fn only_what_was_picked_is_accepted_and_a_file_pick_is_used_once() {
        let picks = Picks::default();
        let roster = abs("名单.xlsx");
        assert_eq!(
            picks.take_read(&roster).unwrap_err().code,
            ErrorCode::NotPicked
        );
        picks.grant(PathBuf::from(&roster), Access::Read);
        assert_eq!(
            picks.take_write(&roster).unwrap_err().code,
            ErrorCode::NotPicked,
            "picked to open is not picked to save"
        );
        assert_eq!(picks.take_read(&roster).unwrap(), PathBuf::from(&roster));
        assert_eq!(
            picks.take_read(&roster).unwrap_err().code,
            ErrorCode::NotPicked,
            "used up"
        );
        let out = abs("评论及审核记录.xlsx");
        picks.grant(PathBuf::from(&out), Access::Write);
        assert!(picks.take_read(&out).is_err());
        assert_eq!(picks.take_write(&out).unwrap(), PathBuf::from(&out));
    }

    #[test]
    fn a_picked_folder_covers_the_photos_inside_it_and_nothing_outside() {
        let tmp = tempfile::tempdir().unwrap();
        let sd = tmp.path().join("DCIM");
        let inside = sd.join("100CANON").join("IMG_0001.JPG");
        std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
        std::fs::write(&inside, b"jpeg").unwrap();
        let beside = tmp.path().join("DCIM2").join("a.jpg");
        std::fs::create_dir_all(beside.parent().unwrap()).unwrap();
        std::fs::write(&beside, b"jpeg").unwrap();
        let secret = tmp.path().join("secret.txt");
        std::fs::write(&secret, b"key").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(tmp.path(), sd.join("link")).unwrap();

        let picks = Picks::default();
        picks.grant(sd.clone(), Access::Folder);
        assert_eq!(picks.folder(&sd.display().to_string()).unwrap(), sd);
        let photo = inside.display().to_string();
        assert!(picks.take_photo(&photo).is_ok());
        assert!(
            picks.take_photo(&photo).is_ok(),
            "a folder is not used up by one photo"
        );
        assert_eq!(
            picks.take_read(&photo).unwrap_err().code,
            ErrorCode::NotPicked,
            "a folder is for photos only: no roster, word list or bundle is read from it"
        );
        let mut outside = vec![
            sd.join("..").join("secret.txt"),
            beside.clone(),
            PathBuf::from("DCIM/a.jpg"),
            sd.join("100CANON"),
        ];
        if cfg!(unix) {
            // A link on the card that points out of it.
            outside.push(sd.join("link").join("secret.txt"));
        }
        for outside in outside {
            let p = outside.display().to_string();
            assert_eq!(
                picks.take_photo(&p).unwrap_err().code,
                ErrorCode::NotPicked,
                "{p}"
            );
        }
        assert!(picks
            .take_write(&sd.join("x").display().to_string())
            .is_err());
    }
}
