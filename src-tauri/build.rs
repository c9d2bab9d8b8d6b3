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
    "list_scorers",
    "register_scorer",
    "update_scorer",
    "get_device_scorer",
    "set_device_scorer",
    "get_scoring_board",
    "set_scoring_open",
    "open_sheet",
    "get_sheet",
    "record_mark",
    "record_adjustment",
    "set_sheet_comment",
    "submit_sheet",
    "unlock_sheet",
    "list_audit",
    "get_aggregation_rule",
    "set_aggregation_rule",
    "get_standings",
    "export_results",
    "export_marks_csv",
    "import_photos",
    "cancel_photo_import",
    "list_folder_images",
    "list_photos",
    "attach_evidence",
    "detach_evidence",
    "list_posts",
    "create_draft",
    "update_post",
    "publish_post",
    "retract_post",
    "pin_post",
    "unpin_post",
    "stop_label_for_township",
    "get_media_credit",
    "set_media_credit",
    "list_network_interfaces",
    "start_live_site",
    "stop_live_site",
    "get_live_site_status",
    "export_static_site",
];

fn main() {
    let attrs = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attrs) {
        panic!("tauri-build failed: {e:#}");
    }
}
