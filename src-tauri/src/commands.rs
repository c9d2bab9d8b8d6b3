//! Tauri commands: each converts its arguments, calls one `guanmo-api` function and returns
//! its result. They run on Tauri's blocking pool (`blocking`), neither on the main thread (the
//! window never waits on SQLite) nor on an async worker (an fsync or a 50 MB export never holds
//! up the tasks that answer other calls).

use crate::picks::{pick, Dialog, FileFilter};
use crate::site::{LiveSiteStatus, NetInterface, SiteSettingsSaved, StaticExport};
use crate::sync::{BundleExport, PairingInfo, SyncStatus};
use crate::AppState;
use guanmo_api::comments::{
    self, DecideReport, Decision, ModerationOverview, QueueItem, QueueKind, SmsSettings,
    SmsSettingsInput, WordsReport,
};
use guanmo_api::exchange::FileFormat;
use guanmo_api::feed;
use guanmo_api::info::AppInfo;
use guanmo_api::photos::PhotoInfo;
use guanmo_api::roster::ImportReport;
use guanmo_api::scoring::{self, ScoringBoard};
use guanmo_api::site::SiteSettings;
use guanmo_api::{ApiError, ErrorCode};
use guanmo_domain::aggregation::{AggregationRule, Standings};
use guanmo_domain::comments::{Comment, ModLogEntry, Mute};
use guanmo_domain::feed::{Post, PostInput};
use guanmo_domain::problem::Problem;
use guanmo_domain::roster::{Township, TownshipInput};
use guanmo_domain::rubric::Rubric;
use guanmo_domain::scoring::{AuditEntry, Scorer, ScorerInput, Sheet};
use guanmo_sync::bundle::BundleReport;
use guanmo_sync::{Delivery, Role};
use tauri::{Manager, State};
use tauri_plugin_opener::OpenerExt;

pub(crate) type Res<T> = Result<T, ApiError>;

/// Runs `f` on Tauri's blocking pool, not on an async worker: SQLite writes fsync, exports
/// write files, and the async workers must stay free for the window's other calls.
async fn blocking_app<T: Send + 'static>(
    app: tauri::AppHandle,
    f: impl FnOnce(&tauri::AppHandle) -> Res<T> + Send + 'static,
) -> Res<T> {
    tauri::async_runtime::spawn_blocking(move || f(&app))
        .await
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("command failed: {e}")))?
}

/// [`blocking_app`] for a command that needs only the app's state.
pub(crate) async fn blocking<T: Send + 'static>(
    app: tauri::AppHandle,
    f: impl FnOnce(&AppState) -> Res<T> + Send + 'static,
) -> Res<T> {
    blocking_app(app, move |app| f(&app.state::<AppState>())).await
}

/// Versions, data folder and device id for 设置.
#[tauri::command(async)]
#[specta::specta]
pub fn get_app_info(app: tauri::AppHandle, state: State<'_, AppState>) -> AppInfo {
    guanmo_api::info::app_info(&state.ctx, &app.package_info().version.to_string())
}

/// Opens the data folder in the system file manager.
#[tauri::command]
#[specta::specta]
pub async fn open_data_dir(app: tauri::AppHandle) -> Res<()> {
    blocking_app(app, move |app| {
        let state = app.state::<AppState>();
        let dir = state.ctx.data_dir().display().to_string();
        app.opener()
            .open_path(dir, None::<&str>)
            .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))
    })
    .await
}

/// All townships in visit order.
#[tauri::command]
#[specta::specta]
pub async fn list_townships(app: tauri::AppHandle) -> Res<Vec<Township>> {
    blocking(app, move |state| {
        guanmo_api::roster::list_townships(&state.ctx)
    })
    .await
}

/// Adds a township at the end of the route.
#[tauri::command]
#[specta::specta]
pub async fn add_township(app: tauri::AppHandle, input: TownshipInput) -> Res<Township> {
    blocking(app, move |state| {
        guanmo_api::roster::add_township(&state.ctx, input)
    })
    .await
}

/// Edits a township still at `expected_version`.
#[tauri::command]
#[specta::specta]
pub async fn update_township(
    app: tauri::AppHandle,
    id: String,
    expected_version: i32,
    input: TownshipInput,
) -> Res<Township> {
    blocking(app, move |state| {
        guanmo_api::roster::update_township(&state.ctx, &id, expected_version, input)
    })
    .await
}

/// Sets the visit order (every id once).
#[tauri::command]
#[specta::specta]
pub async fn reorder_townships(app: tauri::AppHandle, ids: Vec<String>) -> Res<Vec<Township>> {
    blocking(app, move |state| {
        guanmo_api::roster::reorder_townships(&state.ctx, ids)
    })
    .await
}

/// Imports a roster file chosen in the file dialog.
#[tauri::command]
#[specta::specta]
pub async fn import_roster(app: tauri::AppHandle, path: String) -> Res<ImportReport> {
    blocking(app, move |state| {
        let path = state.picks.take_read(&path)?;
        guanmo_api::roster::import_roster(&state.ctx, &path)
    })
    .await
}

/// Exports the roster to a file chosen in the save dialog.
#[tauri::command]
#[specta::specta]
pub async fn export_roster(app: tauri::AppHandle, path: String, format: FileFormat) -> Res<()> {
    blocking(app, move |state| {
        let path = state.picks.take_write(&path)?;
        guanmo_api::roster::export_roster(&state.ctx, &path, format)
    })
    .await
}

/// The current rubric.
#[tauri::command]
#[specta::specta]
pub async fn get_rubric(app: tauri::AppHandle) -> Res<Rubric> {
    blocking(app, move |state| guanmo_api::rubric::get_rubric(&state.ctx)).await
}

/// Problems with a rubric being edited.
#[tauri::command(async)]
#[specta::specta]
pub fn validate_rubric(rubric: Rubric) -> Vec<Problem> {
    guanmo_api::rubric::validate_rubric(rubric)
}

/// Saves a valid rubric.
#[tauri::command]
#[specta::specta]
pub async fn save_rubric(app: tauri::AppHandle, rubric: Rubric) -> Res<Rubric> {
    blocking(app, move |state| {
        guanmo_api::rubric::save_rubric(&state.ctx, rubric)
    })
    .await
}

/// Imports a rubric file (JSON or XLSX) as a group's rubric ("": the shared one), if valid.
#[tauri::command]
#[specta::specta]
pub async fn import_rubric(app: tauri::AppHandle, path: String, group: String) -> Res<Rubric> {
    blocking(app, move |state| {
        let path = state.picks.take_read(&path)?;
        guanmo_api::rubric::import_rubric(&state.ctx, &path, &group)
    })
    .await
}

/// Exports a group's rubric ("": the shared one) as JSON or XLSX.
#[tauri::command]
#[specta::specta]
pub async fn export_rubric(
    app: tauri::AppHandle,
    path: String,
    format: FileFormat,
    group: String,
) -> Res<()> {
    blocking(app, move |state| {
        let path = state.picks.take_write(&path)?;
        guanmo_api::rubric::export_rubric(&state.ctx, &path, format, &group)
    })
    .await
}

/// All scorers.
#[tauri::command]
#[specta::specta]
pub async fn list_scorers(app: tauri::AppHandle) -> Res<Vec<Scorer>> {
    blocking(app, move |state| scoring::list_scorers(&state.ctx)).await
}

/// Registers a scorer.
#[tauri::command]
#[specta::specta]
pub async fn register_scorer(app: tauri::AppHandle, input: ScorerInput) -> Res<Scorer> {
    blocking(app, move |state| {
        scoring::register_scorer(&state.ctx, input)
    })
    .await
}

/// Edits a scorer still at `expected_version`.
#[tauri::command]
#[specta::specta]
pub async fn update_scorer(
    app: tauri::AppHandle,
    id: String,
    expected_version: i32,
    input: ScorerInput,
) -> Res<Scorer> {
    blocking(app, move |state| {
        scoring::update_scorer(&state.ctx, &id, expected_version, input)
    })
    .await
}

/// The scorer this laptop remembers.
#[tauri::command]
#[specta::specta]
pub async fn get_device_scorer(app: tauri::AppHandle) -> Res<Option<Scorer>> {
    blocking(app, move |state| scoring::get_device_scorer(&state.ctx)).await
}

/// Sets (or clears) the scorer this laptop remembers.
#[tauri::command]
#[specta::specta]
pub async fn set_device_scorer(
    app: tauri::AppHandle,
    scorer_id: Option<String>,
) -> Res<Option<Scorer>> {
    blocking(app, move |state| {
        scoring::set_device_scorer(&state.ctx, scorer_id)
    })
    .await
}

/// Scoring state and progress per township and per scorer.
#[tauri::command]
#[specta::specta]
pub async fn get_scoring_board(app: tauri::AppHandle) -> Res<ScoringBoard> {
    blocking(app, move |state| scoring::scoring_board(&state.ctx)).await
}

/// Opens or closes scoring of a township.
#[tauri::command]
#[specta::specta]
pub async fn set_scoring_open(
    app: tauri::AppHandle,
    township_id: String,
    open: bool,
) -> Res<ScoringBoard> {
    blocking(app, move |state| {
        scoring::set_scoring_open(&state.ctx, &township_id, open)
    })
    .await
}

/// Closes scoring of a township (结束评分); with sheets missing, `reason` (≥ 2 chars) says why.
#[tauri::command]
#[specta::specta]
pub async fn close_scoring(
    app: tauri::AppHandle,
    township_id: String,
    reason: Option<String>,
) -> Res<ScoringBoard> {
    blocking(app, move |state| {
        scoring::close_scoring(&state.ctx, &township_id, reason)
    })
    .await
}

/// What of this device's work the hub has not confirmed yet (已提交·待上传, N项待上传).
#[tauri::command]
#[specta::specta]
pub async fn get_delivery(app: tauri::AppHandle) -> Res<Delivery> {
    blocking(app, move |state| Ok(guanmo_sync::delivery(&state.ctx)?)).await
}

/// Opens (starting if needed) a scorer's sheet for a township.
#[tauri::command]
#[specta::specta]
pub async fn open_sheet(
    app: tauri::AppHandle,
    scorer_id: String,
    township_id: String,
) -> Res<Sheet> {
    blocking(app, move |state| {
        scoring::open_sheet(&state.ctx, &scorer_id, &township_id)
    })
    .await
}

/// One sheet.
#[tauri::command]
#[specta::specta]
pub async fn get_sheet(app: tauri::AppHandle, sheet_id: String) -> Res<Sheet> {
    blocking(app, move |state| scoring::get_sheet(&state.ctx, &sheet_id)).await
}

/// Autosaves one criterion's mark and note.
#[tauri::command]
#[specta::specta]
pub async fn record_mark(
    app: tauri::AppHandle,
    sheet_id: String,
    criterion_id: String,
    points: Option<f64>,
    note: String,
) -> Res<Sheet> {
    blocking(app, move |state| {
        scoring::record_mark(&state.ctx, &sheet_id, &criterion_id, points, note)
    })
    .await
}

/// Autosaves one bonus/penalty item.
#[tauri::command]
#[specta::specta]
pub async fn record_adjustment(
    app: tauri::AppHandle,
    sheet_id: String,
    adjustment_id: String,
    points: Option<f64>,
    note: String,
) -> Res<Sheet> {
    blocking(app, move |state| {
        scoring::record_adjustment(&state.ctx, &sheet_id, &adjustment_id, points, note)
    })
    .await
}

/// Autosaves the overall comment.
#[tauri::command]
#[specta::specta]
pub async fn set_sheet_comment(
    app: tauri::AppHandle,
    sheet_id: String,
    comment: String,
) -> Res<Sheet> {
    blocking(app, move |state| {
        scoring::set_sheet_comment(&state.ctx, &sheet_id, comment)
    })
    .await
}

/// Submits (locks) a sheet confirmed at `expected_version`.
#[tauri::command]
#[specta::specta]
pub async fn submit_sheet(
    app: tauri::AppHandle,
    sheet_id: String,
    expected_version: i32,
) -> Res<Sheet> {
    blocking(app, move |state| {
        scoring::submit_sheet(&state.ctx, &sheet_id, expected_version)
    })
    .await
}

/// Unlocks a submitted sheet, with a reason.
#[tauri::command]
#[specta::specta]
pub async fn unlock_sheet(app: tauri::AppHandle, sheet_id: String, reason: String) -> Res<Sheet> {
    blocking(app, move |state| {
        scoring::unlock_sheet(&state.ctx, &sheet_id, reason)
    })
    .await
}

/// The score audit log (of one sheet, or all).
#[tauri::command]
#[specta::specta]
pub async fn list_audit(app: tauri::AppHandle, sheet_id: Option<String>) -> Res<Vec<AuditEntry>> {
    blocking(app, move |state| scoring::audit_log(&state.ctx, sheet_id)).await
}

/// The aggregation rule in force.
#[tauri::command]
#[specta::specta]
pub async fn get_aggregation_rule(app: tauri::AppHandle) -> Res<AggregationRule> {
    blocking(app, move |state| scoring::get_aggregation_rule(&state.ctx)).await
}

/// Sets the aggregation rule.
#[tauri::command]
#[specta::specta]
pub async fn set_aggregation_rule(
    app: tauri::AppHandle,
    rule: AggregationRule,
) -> Res<AggregationRule> {
    blocking(app, move |state| {
        scoring::set_aggregation_rule(&state.ctx, rule)
    })
    .await
}

/// The explained ranking.
#[tauri::command]
#[specta::specta]
pub async fn get_standings(app: tauri::AppHandle) -> Res<Standings> {
    blocking(app, move |state| scoring::get_standings(&state.ctx)).await
}

/// Exports the result workbook (评分表 per scorer, 汇总表, 排名通报, 审计记录).
#[tauri::command]
#[specta::specta]
pub async fn export_results(app: tauri::AppHandle, path: String) -> Res<()> {
    blocking(app, move |state| {
        let path = state.picks.take_write(&path)?;
        guanmo_api::export::export_results_xlsx(&state.ctx, &path)
    })
    .await
}

/// Exports every submitted mark as CSV.
#[tauri::command]
#[specta::specta]
pub async fn export_marks_csv(app: tauri::AppHandle, path: String) -> Res<()> {
    blocking(app, move |state| {
        let path = state.picks.take_write(&path)?;
        guanmo_api::export::export_marks_csv(&state.ctx, &path)
    })
    .await
}

/// Starts importing photos in the background; progress comes as events. Returns the batch id.
#[tauri::command]
#[specta::specta]
pub async fn import_photos(app: tauri::AppHandle, paths: Vec<String>) -> Res<String> {
    blocking_app(app, move |app| {
        let state = app.state::<AppState>();
        // Every path must have been picked (or dropped, or be inside a picked folder) before any
        // is imported.
        let paths = paths
            .iter()
            .map(|p| state.picks.take_photo(p))
            .collect::<Res<Vec<_>>>()?;
        Ok(crate::photos::start_batch(app.clone(), paths))
    })
    .await
}

/// Cancels a running import (files already decoding finish).
#[tauri::command]
#[specta::specta]
pub async fn cancel_photo_import(app: tauri::AppHandle, batch_id: String) -> Res<()> {
    blocking(app, move |state| {
        if state.batches.cancel(&batch_id) {
            Ok(())
        } else {
            Err(ApiError::new(ErrorCode::NotFound, "no such import running"))
        }
    })
    .await
}

/// The images in a folder (an SD card), without following symlinks out of it.
#[tauri::command]
#[specta::specta]
pub async fn list_folder_images(app: tauri::AppHandle, dir: String) -> Res<Vec<String>> {
    blocking(app, move |state| {
        let dir = state.picks.folder(&dir)?;
        Ok(guanmo_media::list_folder(&dir)
            .into_iter()
            .map(|p| p.display().to_string())
            .collect())
    })
    .await
}

/// Every imported photo, newest first.
#[tauri::command]
#[specta::specta]
pub async fn list_photos(app: tauri::AppHandle) -> Res<Vec<PhotoInfo>> {
    blocking(app, move |state| {
        guanmo_api::photos::list_photos(&state.ctx)
    })
    .await
}

/// Attaches a photo to a criterion of a draft sheet (拍照留证).
#[tauri::command]
#[specta::specta]
pub async fn attach_evidence(
    app: tauri::AppHandle,
    sheet_id: String,
    criterion_id: String,
    hash: String,
) -> Res<Sheet> {
    blocking(app, move |state| {
        guanmo_api::photos::attach_evidence(&state.ctx, &sheet_id, &criterion_id, &hash)
    })
    .await
}

/// Detaches a photo from a criterion of a draft sheet.
#[tauri::command]
#[specta::specta]
pub async fn detach_evidence(
    app: tauri::AppHandle,
    sheet_id: String,
    criterion_id: String,
    hash: String,
) -> Res<Sheet> {
    blocking(app, move |state| {
        guanmo_api::photos::detach_evidence(&state.ctx, &sheet_id, &criterion_id, &hash)
    })
    .await
}

/// Every post, for the media staff.
#[tauri::command]
#[specta::specta]
pub async fn list_posts(app: tauri::AppHandle) -> Res<Vec<Post>> {
    blocking(app, move |state| feed::list_posts(&state.ctx)).await
}

/// Saves a new draft post.
#[tauri::command]
#[specta::specta]
pub async fn create_draft(app: tauri::AppHandle, input: PostInput) -> Res<Post> {
    blocking(app, move |state| feed::create_draft(&state.ctx, input)).await
}

/// Edits a post still at `expected_version` (a published one shows 已更新).
#[tauri::command]
#[specta::specta]
pub async fn update_post(
    app: tauri::AppHandle,
    id: String,
    expected_version: i32,
    input: PostInput,
) -> Res<Post> {
    blocking(app, move |state| {
        feed::update_post(&state.ctx, &id, expected_version, input)
    })
    .await
}

/// Publishes a draft.
#[tauri::command]
#[specta::specta]
pub async fn publish_post(app: tauri::AppHandle, id: String, expected_version: i32) -> Res<Post> {
    blocking(app, move |state| {
        feed::publish_post(&state.ctx, &id, expected_version)
    })
    .await
}

/// Retracts a published post (kept internally with who and when).
#[tauri::command]
#[specta::specta]
pub async fn retract_post(app: tauri::AppHandle, id: String) -> Res<Post> {
    blocking(app, move |state| feed::retract_post(&state.ctx, &id)).await
}

/// Pins a published post as the opening post.
#[tauri::command]
#[specta::specta]
pub async fn pin_post(app: tauri::AppHandle, id: String) -> Res<Post> {
    blocking(app, move |state| feed::pin_post(&state.ctx, &id)).await
}

/// Unpins a post.
#[tauri::command]
#[specta::specta]
pub async fn unpin_post(app: tauri::AppHandle, id: String) -> Res<Post> {
    blocking(app, move |state| feed::unpin_post(&state.ctx, &id)).await
}

/// The stop label of a township from the route, e.g. 【第7站·水口山镇】.
#[tauri::command]
#[specta::specta]
pub async fn stop_label_for_township(app: tauri::AppHandle, township_id: String) -> Res<String> {
    blocking(app, move |state| {
        feed::stop_label_for_township(&state.ctx, &township_id)
    })
    .await
}

/// The credit line this laptop remembers.
#[tauri::command]
#[specta::specta]
pub async fn get_media_credit(app: tauri::AppHandle) -> Res<String> {
    blocking(app, move |state| feed::get_media_credit(&state.ctx)).await
}

/// Remembers the credit line for this laptop.
#[tauri::command]
#[specta::specta]
pub async fn set_media_credit(app: tauri::AppHandle, credit: String) -> Res<String> {
    blocking(app, move |state| feed::set_media_credit(&state.ctx, credit)).await
}

/// The IPv4 interfaces the resident site can listen on.
#[tauri::command(async)]
#[specta::specta]
pub fn list_network_interfaces() -> Res<Vec<NetInterface>> {
    Ok(crate::site::interfaces())
}

/// Starts (or restarts) the resident site on `ip:port`.
#[tauri::command]
#[specta::specta]
pub async fn start_live_site(app: tauri::AppHandle, ip: String, port: i32) -> Res<LiveSiteStatus> {
    blocking_app(app, move |app| crate::site::start(app, &ip, port)).await
}

/// Stops the resident site.
#[tauri::command]
#[specta::specta]
pub async fn stop_live_site(app: tauri::AppHandle) -> Res<LiveSiteStatus> {
    blocking_app(app, move |app| Ok(crate::site::stop(app))).await
}

/// Whether the resident site runs, and its URL and QR code.
#[tauri::command]
#[specta::specta]
pub async fn get_live_site_status(app: tauri::AppHandle) -> Res<LiveSiteStatus> {
    blocking_app(app, move |app| Ok(crate::site::status(app))).await
}

/// Writes the public feed as a static site into a folder (for a web server, CDN or S3).
#[tauri::command]
#[specta::specta]
pub async fn export_static_site(app: tauri::AppHandle, dir: String) -> Res<StaticExport> {
    blocking_app(app, move |app| {
        let state = app.state::<AppState>();
        let dir = state.picks.folder(&dir)?;
        crate::site::export_static(app, &dir.display().to_string())
    })
    .await
}

/// 直播网站设置: title, refresh interval, rate limits, trusted proxies, extra host names.
#[tauri::command]
#[specta::specta]
pub async fn get_site_settings(app: tauri::AppHandle) -> Res<SiteSettings> {
    blocking(app, move |state| {
        guanmo_api::site::get_site_settings(&state.ctx)
    })
    .await
}

/// Saves 直播网站设置; a running site restarts on them at once.
#[tauri::command]
#[specta::specta]
pub async fn set_site_settings(
    app: tauri::AppHandle,
    settings: SiteSettings,
) -> Res<SiteSettingsSaved> {
    blocking_app(app, move |app| crate::site::save_settings(app, settings)).await
}

/// Told to the UI after every committed write: which kinds of record changed, so views
/// refresh from the change log instead of polling.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, specta::Type, tauri_specta::Event)]
pub struct DataChanged {
    /// Entity kinds, e.g. `sheet`, `township`.
    pub entities: Vec<String>,
}

/// Counts per moderation list, the comment-area switch and the word count (评论审核).
#[tauri::command]
#[specta::specta]
pub async fn get_moderation_overview(app: tauri::AppHandle) -> Res<ModerationOverview> {
    blocking(app, move |state| comments::overview(&state.ctx)).await
}

/// One moderation list, sensitive-word hits marked.
#[tauri::command]
#[specta::specta]
pub async fn list_comment_queue(app: tauri::AppHandle, kind: QueueKind) -> Res<Vec<QueueItem>> {
    blocking(app, move |state| comments::queue(&state.ctx, kind)).await
}

/// Approves or rejects one or many comments.
#[tauri::command]
#[specta::specta]
pub async fn decide_comments(
    app: tauri::AppHandle,
    ids: Vec<String>,
    decision: Decision,
) -> Res<DecideReport> {
    blocking(app, move |state| {
        comments::decide(&state.ctx, &ids, decision)
    })
    .await
}

/// Pins (置顶) or unpins an approved comment.
#[tauri::command]
#[specta::specta]
pub async fn pin_comment(app: tauri::AppHandle, id: String, pinned: bool) -> Res<Comment> {
    blocking(app, move |state| comments::pin(&state.ctx, &id, pinned)).await
}

/// Keeps a reported comment and closes its reports.
#[tauri::command]
#[specta::specta]
pub async fn dismiss_comment_reports(app: tauri::AppHandle, id: String) -> Res<Comment> {
    blocking(app, move |state| comments::dismiss_reports(&state.ctx, &id)).await
}

/// Mutes (禁言) the author of a comment for some days: its number and every phone that wrote
/// with it; with `hide_comments`, its approved comments are hidden from residents meanwhile.
#[tauri::command]
#[specta::specta]
pub async fn mute_comment_author(
    app: tauri::AppHandle,
    comment_id: String,
    days: u32,
    reason: String,
    hide_comments: bool,
) -> Res<Mute> {
    blocking(app, move |state| {
        comments::mute_author_with(
            &state.ctx,
            &comment_id,
            days,
            &reason,
            comments::MuteOptions { hide_comments },
        )
    })
    .await
}

/// Lifts a mute.
#[tauri::command]
#[specta::specta]
pub async fn unmute_number(app: tauri::AppHandle, key: String) -> Res<()> {
    blocking(app, move |state| comments::unmute(&state.ctx, &key)).await
}

/// Mutes in force.
#[tauri::command]
#[specta::specta]
pub async fn list_mutes(app: tauri::AppHandle) -> Res<Vec<Mute>> {
    blocking(app, move |state| comments::list_mutes(&state.ctx)).await
}

/// Opens or closes the whole comment area (一键关闭评论区).
#[tauri::command]
#[specta::specta]
pub async fn set_comment_area_open(
    app: tauri::AppHandle,
    open: bool,
    reason: Option<String>,
) -> Res<()> {
    blocking(app, move |state| {
        comments::set_area_open(&state.ctx, open, reason)
    })
    .await
}

/// The moderation record, of one comment or all.
#[tauri::command]
#[specta::specta]
pub async fn get_moderation_log(
    app: tauri::AppHandle,
    comment_id: Option<String>,
) -> Res<Vec<ModLogEntry>> {
    blocking(app, move |state| {
        comments::moderation_log(&state.ctx, comment_id.as_deref())
    })
    .await
}

/// The sensitive-word list (敏感词库).
#[tauri::command]
#[specta::specta]
pub async fn list_sensitive_words(app: tauri::AppHandle) -> Res<Vec<String>> {
    blocking(app, move |state| comments::list_words(&state.ctx)).await
}

/// Adds words, one per line.
#[tauri::command]
#[specta::specta]
pub async fn add_sensitive_words(app: tauri::AppHandle, text: String) -> Res<WordsReport> {
    blocking(app, move |state| comments::add_words(&state.ctx, &text)).await
}

/// Imports a word list file (UTF-8 or GBK; a word a line, `#` comments, `word,category`);
/// one-character words are refused.
#[tauri::command]
#[specta::specta]
pub async fn import_sensitive_words(
    app: tauri::AppHandle,
    path: String,
) -> Res<comments::WordImportReport> {
    blocking(app, move |state| {
        let path = state.picks.take_read(&path)?;
        comments::import_word_list(&state.ctx, &path, Default::default())
    })
    .await
}

/// Removes words.
#[tauri::command]
#[specta::specta]
pub async fn remove_sensitive_words(app: tauri::AppHandle, words: Vec<String>) -> Res<WordsReport> {
    blocking(app, move |state| comments::remove_words(&state.ctx, &words)).await
}

/// Hands a suggestion to a township (交办).
#[tauri::command]
#[specta::specta]
pub async fn assign_suggestion(
    app: tauri::AppHandle,
    id: String,
    township_id: String,
) -> Res<Comment> {
    blocking(app, move |state| {
        comments::assign(&state.ctx, &id, &township_id)
    })
    .await
}

/// Records the township's reply to a suggestion (已回复).
#[tauri::command]
#[specta::specta]
pub async fn answer_suggestion(app: tauri::AppHandle, id: String, reply: String) -> Res<Comment> {
    blocking(app, move |state| comments::answer(&state.ctx, &id, &reply)).await
}

/// 官方回复 under an approved comment, in a department's name.
#[tauri::command]
#[specta::specta]
pub async fn official_reply(
    app: tauri::AppHandle,
    id: String,
    reply: String,
    department: String,
) -> Res<Comment> {
    blocking(app, move |s| {
        comments::official_reply(&s.ctx, &id, &reply, &department)
    })
    .await
}

/// Writes every suggestion with its handling to an XLSX file.
#[tauri::command]
#[specta::specta]
pub async fn export_suggestions(app: tauri::AppHandle, path: String) -> Res<()> {
    blocking(app, move |state| {
        let path = state.picks.take_write(&path)?;
        comments::export_suggestions_xlsx(&state.ctx, &path)
    })
    .await
}

/// Writes the full comment and moderation record to an XLSX file.
#[tauri::command]
#[specta::specta]
pub async fn export_comment_records(app: tauri::AppHandle, path: String) -> Res<()> {
    blocking(app, move |state| {
        let path = state.picks.take_write(&path)?;
        comments::export_records_xlsx(&state.ctx, &path)
    })
    .await
}

/// The SMS provider that verifies residents' numbers (key never included), if any.
#[tauri::command]
#[specta::specta]
pub async fn get_sms_settings(app: tauri::AppHandle) -> Res<Option<SmsSettings>> {
    blocking(app, move |state| comments::get_sms_settings(&state.ctx)).await
}

/// Sets the SMS provider; `null` turns verification off.
#[tauri::command]
#[specta::specta]
pub async fn set_sms_settings(
    app: tauri::AppHandle,
    input: Option<SmsSettingsInput>,
) -> Res<Option<SmsSettings>> {
    blocking(app, move |state| {
        comments::set_sms_settings(&state.ctx, input)
    })
    .await
}

/// The 同步 view: this device, its hub or paired devices, waiting work, issues, the last run.
#[tauri::command]
#[specta::specta]
pub async fn get_sync_overview(app: tauri::AppHandle) -> Res<SyncStatus> {
    blocking_app(app, crate::sync::status).await
}

/// Chooses what this install is for (组织方主机 / 评分电脑 / 直播电脑) and its name.
#[tauri::command]
#[specta::specta]
pub async fn set_device_role(app: tauri::AppHandle, role: Role, name: String) -> Res<SyncStatus> {
    blocking_app(app, move |app| crate::sync::set_role(app, role, &name)).await
}

/// A one-time pairing code (hub only), with the hub's addresses and a QR code.
#[tauri::command]
#[specta::specta]
pub async fn new_pairing_code(app: tauri::AppHandle) -> Res<PairingInfo> {
    blocking_app(app, crate::sync::pairing_code).await
}

/// Pairs this laptop with the hub at `url` using the code shown there; `fingerprint` (证书指纹,
/// optional) pins the certificate of a hub serving its own `https://`.
#[tauri::command]
#[specta::specta]
pub async fn pair_with_hub(
    app: tauri::AppHandle,
    url: String,
    code: String,
    fingerprint: Option<String>,
) -> Res<SyncStatus> {
    crate::sync::pair(app, url, code, fingerprint).await
}

/// The hub revokes a paired device: its token and bundles stop working.
#[tauri::command]
#[specta::specta]
pub async fn revoke_device(app: tauri::AppHandle, device_id: String) -> Res<SyncStatus> {
    blocking_app(app, move |app| crate::sync::revoke(app, &device_id)).await
}

/// Moves the hub's peer listener to another port and remembers it (更改端口; hub only).
#[tauri::command]
#[specta::specta]
pub async fn set_peer_port(app: tauri::AppHandle, port: i32) -> Res<SyncStatus> {
    blocking_app(app, move |app| crate::sync::set_peer_port(app, port)).await
}

/// Syncs with the hub now (立即同步); progress and the outcome come as events.
#[tauri::command]
#[specta::specta]
pub async fn sync_now(app: tauri::AppHandle) -> Res<SyncStatus> {
    blocking_app(app, crate::sync::sync_now).await
}

/// Writes everything the hub has not confirmed to a bundle file (导出同步包).
#[tauri::command]
#[specta::specta]
pub async fn export_sync_bundle(app: tauri::AppHandle, path: String) -> Res<BundleExport> {
    blocking_app(app, move |app| {
        let path = app.state::<AppState>().picks.take_write(&path)?;
        crate::sync::export_bundle(app, &path)
    })
    .await
}

/// Checks and applies a bundle file at the hub, all or nothing (导入同步包).
#[tauri::command]
#[specta::specta]
pub async fn import_sync_bundle(app: tauri::AppHandle, path: String) -> Res<BundleReport> {
    blocking_app(app, move |app| {
        let path = app.state::<AppState>().picks.take_read(&path)?;
        crate::sync::import_bundle(app, &path)
    })
    .await
}

/// Marks a refusal or conflict as handled (标记已处理).
#[tauri::command]
#[specta::specta]
pub async fn resolve_sync_issue(app: tauri::AppHandle, id: String) -> Res<SyncStatus> {
    blocking_app(app, move |app| crate::sync::resolve(app, &id)).await
}

/// Resolves a conflict for the version that did not stand (改用另一版本; hub only).
#[tauri::command]
#[specta::specta]
pub async fn adopt_sync_version(app: tauri::AppHandle, id: String) -> Res<SyncStatus> {
    blocking_app(app, move |app| crate::sync::adopt(app, &id)).await
}

/// Hands a replaced laptop's scorer sheets and posts to another paired laptop (转交; hub only).
#[tauri::command]
#[specta::specta]
pub async fn transfer_device(app: tauri::AppHandle, from: String, to: String) -> Res<SyncStatus> {
    blocking_app(app, move |app| crate::sync::transfer(app, &from, &to)).await
}

/// Assigns a scorer to the paired 评分电脑 that scores for them (分配评分人; hub only); `None`
/// clears the assignment. Only that laptop's sheets for the scorer are accepted.
#[tauri::command]
#[specta::specta]
pub async fn assign_scorer_device(
    app: tauri::AppHandle,
    scorer_id: String,
    device_id: Option<String>,
) -> Res<SyncStatus> {
    blocking_app(app, move |app| {
        crate::sync::assign(app, &scorer_id, device_id.as_deref())
    })
    .await
}

/// Grants (授予审核) or revokes (撤销审核) a paired laptop's 审核 of residents' comments (hub only).
#[tauri::command]
#[specta::specta]
pub async fn set_moderator(app: tauri::AppHandle, device_id: String, on: bool) -> Res<SyncStatus> {
    blocking_app(app, move |app| crate::sync::moderator(app, &device_id, on)).await
}

/// 原图上传: when laptops send photo originals (hub only; laptops hear it on their next pull).
#[tauri::command]
#[specta::specta]
pub async fn set_originals_policy(
    app: tauri::AppHandle,
    policy: guanmo_sync::protocol::OriginalsPolicy,
) -> Res<SyncStatus> {
    blocking_app(app, move |app| crate::sync::originals(app, policy)).await
}

/// The native "open file" dialog; the path chosen (none if cancelled) may be imported once.
#[tauri::command]
#[specta::specta]
pub async fn pick_file_to_open(
    app: tauri::AppHandle,
    title: String,
    filters: Vec<FileFilter>,
) -> Res<Option<String>> {
    Ok(pick(&app, Dialog::Open, &title, None, &filters)
        .await?
        .into_iter()
        .next())
}

/// The native "open files" dialog (several files, e.g. photos).
#[tauri::command]
#[specta::specta]
pub async fn pick_files_to_open(
    app: tauri::AppHandle,
    title: String,
    filters: Vec<FileFilter>,
) -> Res<Vec<String>> {
    pick(&app, Dialog::OpenMany, &title, None, &filters).await
}

/// The native "save as" dialog with a suggested file name; the path chosen may be written once.
#[tauri::command]
#[specta::specta]
pub async fn pick_file_to_save(
    app: tauri::AppHandle,
    title: String,
    file_name: String,
    filters: Vec<FileFilter>,
) -> Res<Option<String>> {
    Ok(pick(&app, Dialog::Save, &title, Some(&file_name), &filters)
        .await?
        .into_iter()
        .next())
}

/// The native "choose folder" dialog (an SD card, or where to write the static site).
#[tauri::command]
#[specta::specta]
pub async fn pick_folder(app: tauri::AppHandle, title: String) -> Res<Option<String>> {
    Ok(pick(&app, Dialog::Folder, &title, None, &[])
        .await?
        .into_iter()
        .next())
}

/// The command set, for the invoke handler and the bindings export.
pub fn builder() -> tauri_specta::Builder<tauri::Wry> {
    // One TypeScript type per Rust type: our types serialize and deserialize alike.
    tauri_specta::Builder::<tauri::Wry>::new()
        .disable_serde_phases()
        .commands(tauri_specta::collect_commands![
            crate::people::list_people,
            crate::people::save_person,
            crate::people::set_person_pin,
            crate::people::issue_sign_in_code,
            crate::people::get_session,
            crate::people::sign_in,
            crate::people::sign_in_with_code,
            crate::people::sign_out,
            crate::people::keep_alive,
            crate::people::set_idle_minutes,
            crate::people::get_sign_in_log,
            crate::people::get_tally_status,
            crate::people::seal_tally,
            crate::people::reveal_tally,
            crate::people::import_people,
            crate::people::export_people,
            crate::paper::list_paper_sheets,
            crate::paper::enter_paper_sheet,
            crate::paper::paper_mismatches,
            crate::paper::settle_paper_sheet,
            crate::paper::discard_paper_entry,
            crate::paper::attach_paper_scan,
            crate::results::get_results,
            crate::results::get_results_settings,
            crate::results::set_results_settings,
            crate::results::set_township_group,
            crate::results::list_rubrics,
            crate::results::get_rubric_for_township,
            crate::results::remove_group_rubric,
            crate::results::list_organiser_adjustments,
            crate::results::add_organiser_adjustment,
            crate::results::remove_organiser_adjustment,
            crate::results::import_routine_scores,
            crate::schedule::get_tour_settings,
            crate::schedule::set_tour_settings,
            crate::schedule::follow_schedule,
            crate::schedule::photos_by_stop,
            crate::schedule::flagged_evidence,
            crate::schedule::set_camera_offset,
            crate::schedule::get_stop_draft,
            crate::signoff::get_signoff_settings,
            crate::signoff::set_signoff_settings,
            crate::signoff::signoff_post,
            crate::signoff::post_history,
            crate::signoff::signoff_overview,
            crate::retention::get_retention_status,
            crate::retention::set_retention_days,
            crate::retention::purge_comments_now,
            crate::watermark::get_watermark,
            crate::watermark::set_watermark_logo,
            crate::watermark::set_watermark_placement,
            crate::watermark::clear_watermark_logo,
            crate::reach::get_reach_report,
            crate::reach::export_reach,
            get_app_info,
            crate::about::get_about,
            open_data_dir,
            list_townships,
            add_township,
            update_township,
            reorder_townships,
            import_roster,
            export_roster,
            get_rubric,
            validate_rubric,
            save_rubric,
            import_rubric,
            export_rubric,
            list_scorers,
            register_scorer,
            update_scorer,
            get_device_scorer,
            set_device_scorer,
            get_scoring_board,
            set_scoring_open,
            close_scoring,
            get_delivery,
            open_sheet,
            get_sheet,
            record_mark,
            record_adjustment,
            set_sheet_comment,
            submit_sheet,
            unlock_sheet,
            list_audit,
            get_aggregation_rule,
            set_aggregation_rule,
            get_standings,
            export_results,
            export_marks_csv,
            import_photos,
            cancel_photo_import,
            list_folder_images,
            list_photos,
            attach_evidence,
            detach_evidence,
            list_posts,
            create_draft,
            update_post,
            publish_post,
            retract_post,
            pin_post,
            unpin_post,
            stop_label_for_township,
            get_media_credit,
            set_media_credit,
            list_network_interfaces,
            start_live_site,
            stop_live_site,
            get_live_site_status,
            export_static_site,
            get_site_settings,
            set_site_settings,
            get_moderation_overview,
            list_comment_queue,
            decide_comments,
            pin_comment,
            dismiss_comment_reports,
            mute_comment_author,
            unmute_number,
            list_mutes,
            set_comment_area_open,
            get_moderation_log,
            list_sensitive_words,
            add_sensitive_words,
            import_sensitive_words,
            remove_sensitive_words,
            assign_suggestion,
            answer_suggestion,
            official_reply,
            export_suggestions,
            export_comment_records,
            get_sms_settings,
            set_sms_settings,
            crate::site::send_test_sms,
            get_sync_overview,
            set_device_role,
            new_pairing_code,
            pair_with_hub,
            revoke_device,
            set_peer_port,
            sync_now,
            set_originals_policy,
            export_sync_bundle,
            import_sync_bundle,
            resolve_sync_issue,
            adopt_sync_version,
            transfer_device,
            assign_scorer_device,
            set_moderator,
            pick_file_to_open,
            pick_files_to_open,
            pick_file_to_save,
            pick_folder,
            crate::backup::backup_data,
            crate::backup::stage_restore,
            crate::backup::discard_staged_restore,
            crate::backup::has_staged_restore,
            crate::backup::cancel_backup,
            crate::backup::restart_to_restore,
        ])
        .events(tauri_specta::collect_events![
            DataChanged,
            crate::photos::PhotoImportProgress,
            crate::photos::PhotoImportFinished,
            crate::site::LiveSiteChanged,
            crate::sync::SyncChanged,
            crate::sync::SyncProgressEvent,
            crate::sync::SyncBundleProgress,
            crate::backup::BackupProgress
        ])
}
