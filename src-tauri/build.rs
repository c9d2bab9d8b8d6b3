//! Declares the app's commands so Tauri generates an `allow-<command>` permission for each;
//! only the capabilities in `capabilities/` grant them to a window.

/// Every command the shell exposes. Keep in step with `commands.rs` (a test checks it).
const COMMANDS: &[&str] = &[
    "get_app_info",
    "open_data_dir",
    "list_townships",
    "add_township",
    "update_township",
    "reorder_townships",
    "import_roster",
    "export_roster",
    "get_rubric",
    "validate_rubric",
    "save_rubric",
    "import_rubric",
    "export_rubric",
];

fn main() {
    let attrs = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attrs) {
        panic!("tauri-build failed: {e:#}");
    }
}
