//! Declares the app's commands so Tauri generates an `allow-<command>` permission for each;
//! only the capabilities in `capabilities/` grant them to a window.

/// Every command the shell exposes. Keep in step with `commands.rs` (a test checks it).
const COMMANDS: &[&str] = &[
    "list_people",
    "save_person",
    "set_person_pin",
    "issue_sign_in_code",
    "get_session",
    "sign_in",
    "sign_in_with_code",
    "sign_out",
    "keep_alive",
    "set_idle_minutes",
    "get_sign_in_log",
    "get_tally_status",
    "seal_tally",
    "reveal_tally",
    "import_people",
    "export_people",
    "list_paper_sheets",
    "enter_paper_sheet",
    "paper_mismatches",
    "settle_paper_sheet",
    "discard_paper_entry",
    "attach_paper_scan",
    "get_results",
    "get_results_settings",
    "set_results_settings",
    "set_township_group",
    "list_organiser_adjustments",
    "add_organiser_adjustment",
    "remove_organiser_adjustment",
    "import_routine_scores",
    "get_tour_settings",
    "set_tour_settings",
    "follow_schedule",
    "photos_by_stop",
    "flagged_evidence",
    "set_camera_offset",
    "get_stop_draft",
    "get_signoff_settings",
    "set_signoff_settings",
    "signoff_post",
    "post_history",
    "signoff_overview",
    "get_retention_status",
    "set_retention_days",
    "purge_comments_now",
    "get_watermark",
    "set_watermark_logo",
    "set_watermark_placement",
    "clear_watermark_logo",
    "get_reach_report",
    "export_reach",
    "get_app_info",
    "get_about",
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
    "list_rubrics",
    "get_rubric_for_township",
    "remove_group_rubric",
    "list_scorers",
    "register_scorer",
    "update_scorer",
    "get_device_scorer",
    "set_device_scorer",
    "get_scoring_board",
    "set_scoring_open",
    "close_scoring",
    "get_delivery",
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
    "get_site_settings",
    "set_site_settings",
    "get_moderation_overview",
    "list_comment_queue",
    "decide_comments",
    "pin_comment",
    "dismiss_comment_reports",
    "mute_comment_author",
    "unmute_number",
    "list_mutes",
    "set_comment_area_open",
    "get_moderation_log",
    "list_sensitive_words",
    "add_sensitive_words",
    "import_sensitive_words",
    "remove_sensitive_words",
    "assign_suggestion",
    "answer_suggestion",
    "official_reply",
    "export_suggestions",
    "export_comment_records",
    "get_sms_settings",
    "set_sms_settings",
    "send_test_sms",
    "get_sync_overview",
    "set_device_role",
    "new_pairing_code",
    "pair_with_hub",
    "revoke_device",
    "set_peer_port",
    "sync_now",
    "set_originals_policy",
    "export_sync_bundle",
    "import_sync_bundle",
    "resolve_sync_issue",
    "adopt_sync_version",
    "transfer_device",
    "assign_scorer_device",
    "set_moderator",
    "pick_file_to_open",
    "pick_files_to_open",
    "pick_file_to_save",
    "pick_folder",
    "backup_data",
    "stage_restore",
    "discard_staged_restore",
    "has_staged_restore",
    "cancel_backup",
    "restart_to_restore",
];

/// Tells the app which commit it is built from (`GUANMO_COMMIT`, shown in 关于): a set
/// `GUANMO_COMMIT` wins (a build from a source tarball), then `git rev-parse --short HEAD`, then
/// `unknown` (no git, or not a checkout). Reruns only when HEAD or the branch it names moves;
/// paths that do not exist are not watched, since cargo reruns a script on every build for those.
fn commit() -> String {
    println!("cargo:rerun-if-env-changed=GUANMO_COMMIT");
    if let Some(c) = std::env::var("GUANMO_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
    {
        return c.trim().to_string();
    }
    let here = std::path::PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let git = |args: &[&str]| -> Option<String> {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(&here)
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        (out.status.success() && !text.is_empty()).then_some(text)
    };
    let Some(hash) = git(&["rev-parse", "--short", "HEAD"]) else {
        return "unknown".to_string();
    };
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    watched.extend(git(&["symbolic-ref", "-q", "HEAD"]));
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--git-path", &name]) {
            let path = here.join(path);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
    hash
}

fn main() {
    println!("cargo:rustc-env=GUANMO_COMMIT={}", commit());
    let attrs = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attrs) {
        panic!("tauri-build failed: {e:#}");
    }
}
