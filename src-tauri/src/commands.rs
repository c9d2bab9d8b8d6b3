//! Tauri commands: each converts its arguments, calls one `guanmo-api` function and returns
//! its result. They run off the main thread (`async`) so the window never blocks on SQLite.

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

type Res<T> = Result<T, ApiError>;

/// Versions, data folder and device id for 设置.
#[tauri::command(async)]
#[specta::specta]
pub fn get_app_info(app: tauri::AppHandle, state: State<'_, AppState>) -> AppInfo {
    guanmo_api::info::app_info(&state.ctx, &app.package_info().version.to_string())
}

/// Opens the data folder in the system file manager.
#[tauri::command(async)]
#[specta::specta]
pub fn open_data_dir(app: tauri::AppHandle, state: State<'_, AppState>) -> Res<()> {
    let dir = state.ctx.data_dir().display().to_string();
    app.opener()
        .open_path(dir, None::<&str>)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))
}

/// All townships in visit order.
#[tauri::command(async)]
#[specta::specta]
pub fn list_townships(state: State<'_, AppState>) -> Res<Vec<Township>> {
    guanmo_api::roster::list_townships(&state.ctx)
}

/// Adds a township at the end of the route.
#[tauri::command(async)]
#[specta::specta]
pub fn add_township(state: State<'_, AppState>, input: TownshipInput) -> Res<Township> {
    guanmo_api::roster::add_township(&state.ctx, input)
}

/// Edits a township still at `expected_version`.
#[tauri::command(async)]
#[specta::specta]
pub fn update_township(
    state: State<'_, AppState>,
    id: String,
    expected_version: i32,
    input: TownshipInput,
) -> Res<Township> {
    guanmo_api::roster::update_township(&state.ctx, &id, expected_version, input)
}

/// Sets the visit order (every id once).
#[tauri::command(async)]
#[specta::specta]
pub fn reorder_townships(state: State<'_, AppState>, ids: Vec<String>) -> Res<Vec<Township>> {
    guanmo_api::roster::reorder_townships(&state.ctx, ids)
}

/// Imports a roster file chosen in the file dialog.
#[tauri::command(async)]
#[specta::specta]
pub fn import_roster(state: State<'_, AppState>, path: String) -> Res<ImportReport> {
    let path = state.picks.take_read(&path)?;
    guanmo_api::roster::import_roster(&state.ctx, &path)
}

/// Exports the roster to a file chosen in the save dialog.
#[tauri::command(async)]
#[specta::specta]
pub fn export_roster(state: State<'_, AppState>, path: String, format: FileFormat) -> Res<()> {
    let path = state.picks.take_write(&path)?;
    guanmo_api::roster::export_roster(&state.ctx, &path, format)
}

/// The current rubric.
#[tauri::command(async)]
#[specta::specta]
pub fn get_rubric(state: State<'_, AppState>) -> Res<Rubric> {
    guanmo_api::rubric::get_rubric(&state.ctx)
}

/// Problems with a rubric being edited.
#[tauri::command(async)]
#[specta::specta]
pub fn validate_rubric(rubric: Rubric) -> Vec<Problem> {
    guanmo_api::rubric::validate_rubric(rubric)
}

/// Saves a valid rubric.
#[tauri::command(async)]
#[specta::specta]
pub fn save_rubric(state: State<'_, AppState>, rubric: Rubric) -> Res<Rubric> {
    guanmo_api::rubric::save_rubric(&state.ctx, rubric)
}

/// Imports a rubric file (JSON or XLSX) and saves it if valid.
#[tauri::command(async)]
#[specta::specta]
pub fn import_rubric(state: State<'_, AppState>, path: String) -> Res<Rubric> {
    let path = state.picks.take_read(&path)?;
    guanmo_api::rubric::import_rubric(&state.ctx, &path)
}

/// Exports the rubric as JSON or XLSX.
#[tauri::command(async)]
#[specta::specta]
pub fn export_rubric(state: State<'_, AppState>, path: String, format: FileFormat) -> Res<()> {
    let path = state.picks.take_write(&path)?;
    guanmo_api::rubric::export_rubric(&state.ctx, &path, format)
}

/// All scorers.
#[tauri::command(async)]
#[specta::specta]
pub fn list_scorers(state: State<'_, AppState>) -> Res<Vec<Scorer>> {
    scoring::list_scorers(&state.ctx)
}

/// Registers a scorer.
#[tauri::command(async)]
#[specta::specta]
pub fn register_scorer(state: State<'_, AppState>, input: ScorerInput) -> Res<Scorer> {
    scoring::register_scorer(&state.ctx, input)
}

/// Edits a scorer still at `expected_version`.
#[tauri::command(async)]
#[specta::specta]
pub fn update_scorer(
    state: State<'_, AppState>,
    id: String,
    expected_version: i32,
    input: ScorerInput,
) -> Res<Scorer> {
    scoring::update_scorer(&state.ctx, &id, expected_version, input)
}

/// The scorer this laptop remembers.
#[tauri::command(async)]
#[specta::specta]
pub fn get_device_scorer(state: State<'_, AppState>) -> Res<Option<Scorer>> {
    scoring::get_device_scorer(&state.ctx)
}

/// Sets (or clears) the scorer this laptop remembers.
#[tauri::command(async)]
#[specta::specta]
pub fn set_device_scorer(
    state: State<'_, AppState>,
    scorer_id: Option<String>,
) -> Res<Option<Scorer>> {
    scoring::set_device_scorer(&state.ctx, scorer_id)
}

/// Scoring state and progress per township and per scorer.
#[tauri::command(async)]
#[specta::specta]
pub fn get_scoring_board(state: State<'_, AppState>) -> Res<ScoringBoard> {
    scoring::scoring_board(&state.ctx)
}

/// Opens or closes scoring of a township.
#[tauri::command(async)]
#[specta::specta]
pub fn set_scoring_open(
    state: State<'_, AppState>,
    township_id: String,
    open: bool,
) -> Res<ScoringBoard> {
    scoring::set_scoring_open(&state.ctx, &township_id, open)
}

/// Closes scoring of a township (结束评分); while expected sheets are missing, `reason` must
/// say why (at least two characters), else it is refused.
#[tauri::command(async)]
#[specta::specta]
pub fn close_scoring(
    state: State<'_, AppState>,
    township_id: String,
    reason: Option<String>,
) -> Res<ScoringBoard> {
    scoring::close_scoring(&state.ctx, &township_id, reason)
}

/// What of this device's work the hub has not confirmed yet (已提交·待上传, N项待上传).
#[tauri::command(async)]
#[specta::specta]
pub fn get_delivery(state: State<'_, AppState>) -> Res<Delivery> {
    Ok(guanmo_sync::delivery(&state.ctx)?)
}

/// Opens (starting if needed) a scorer's sheet for a township.
#[tauri::command(async)]
#[specta::specta]
pub fn open_sheet(
    state: State<'_, AppState>,
    scorer_id: String,
    township_id: String,
) -> Res<Sheet> {
    scoring::open_sheet(&state.ctx, &scorer_id, &township_id)
}

/// One sheet.
#[tauri::command(async)]
#[specta::specta]
pub fn get_sheet(state: State<'_, AppState>, sheet_id: String) -> Res<Sheet> {
    scoring::get_sheet(&state.ctx, &sheet_id)
}

/// Autosaves one criterion's mark and note.
#[tauri::command(async)]
#[specta::specta]
pub fn record_mark(
    state: State<'_, AppState>,
    sheet_id: String,
    criterion_id: String,
    points: Option<f64>,
    note: String,
) -> Res<Sheet> {
    scoring::record_mark(&state.ctx, &sheet_id, &criterion_id, points, note)
}

/// Autosaves one bonus/penalty item.
#[tauri::command(async)]
#[specta::specta]
pub fn record_adjustment(
    state: State<'_, AppState>,
    sheet_id: String,
    adjustment_id: String,
    points: Option<f64>,
    note: String,
) -> Res<Sheet> {
    scoring::record_adjustment(&state.ctx, &sheet_id, &adjustment_id, points, note)
}

/// Autosaves the overall comment.
#[tauri::command(async)]
#[specta::specta]
pub fn set_sheet_comment(
    state: State<'_, AppState>,
    sheet_id: String,
    comment: String,
) -> Res<Sheet> {
    scoring::set_sheet_comment(&state.ctx, &sheet_id, comment)
}

/// Submits (locks) a sheet confirmed at `expected_version`.
#[tauri::command(async)]
#[specta::specta]
pub fn submit_sheet(
    state: State<'_, AppState>,
    sheet_id: String,
    expected_version: i32,
) -> Res<Sheet> {
    scoring::submit_sheet(&state.ctx, &sheet_id, expected_version)
}

/// Unlocks a submitted sheet, with a reason.
#[tauri::command(async)]
#[specta::specta]
pub fn unlock_sheet(state: State<'_, AppState>, sheet_id: String, reason: String) -> Res<Sheet> {
    scoring::unlock_sheet(&state.ctx, &sheet_id, reason)
}

/// The score audit log (of one sheet, or all).
#[tauri::command(async)]
#[specta::specta]
pub fn list_audit(state: State<'_, AppState>, sheet_id: Option<String>) -> Res<Vec<AuditEntry>> {
    scoring::audit_log(&state.ctx, sheet_id)
}

/// The aggregation rule in force.
#[tauri::command(async)]
#[specta::specta]
pub fn get_aggregation_rule(state: State<'_, AppState>) -> Res<AggregationRule> {
    scoring::get_aggregation_rule(&state.ctx)
}

/// Sets the aggregation rule.
#[tauri::command(async)]
#[specta::specta]
pub fn set_aggregation_rule(
    state: State<'_, AppState>,
    rule: AggregationRule,
) -> Res<AggregationRule> {
    scoring::set_aggregation_rule(&state.ctx, rule)
}

/// The explained ranking.
#[tauri::command(async)]
#[specta::specta]
pub fn get_standings(state: State<'_, AppState>) -> Res<Standings> {
    scoring::get_standings(&state.ctx)
}

/// Exports the result workbook (评分表 per scorer, 汇总表, 排名通报, 审计记录).
#[tauri::command(async)]
#[specta::specta]
pub fn export_results(state: State<'_, AppState>, path: String) -> Res<()> {
    let path = state.picks.take_write(&path)?;
    guanmo_api::export::export_results_xlsx(&state.ctx, &path)
}

/// Exports every submitted mark as CSV.
#[tauri::command(async)]
#[specta::specta]
pub fn export_marks_csv(state: State<'_, AppState>, path: String) -> Res<()> {
    let path = state.picks.take_write(&path)?;
    guanmo_api::export::export_marks_csv(&state.ctx, &path)
}

/// Starts importing photos in the background; progress comes as events. Returns the batch id.
#[tauri::command(async)]
#[specta::specta]
pub fn import_photos(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    paths: Vec<String>,
) -> Res<String> {
    // Every path must have been picked (or dropped, or be inside a picked folder) before any
    // is imported.
    let paths = paths
        .iter()
        .map(|p| state.picks.take_photo(p))
        .collect::<Res<Vec<_>>>()?;
    Ok(crate::photos::start_batch(app, paths))
}

/// Cancels a running import (files already decoding finish).
#[tauri::command(async)]
#[specta::specta]
pub fn cancel_photo_import(state: State<'_, AppState>, batch_id: String) -> Res<()> {
    if state.batches.cancel(&batch_id) {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::NotFound, "no such import running"))
    }
}

/// The images in a folder (an SD card), without following symlinks out of it.
#[tauri::command(async)]
#[specta::specta]
pub fn list_folder_images(state: State<'_, AppState>, dir: String) -> Res<Vec<String>> {
    let dir = state.picks.folder(&dir)?;
    Ok(guanmo_media::list_folder(&dir)
        .into_iter()
        .map(|p| p.display().to_string())
        .collect())
}

/// Every imported photo, newest first.
#[tauri::command(async)]
#[specta::specta]
pub fn list_photos(state: State<'_, AppState>) -> Res<Vec<PhotoInfo>> {
    guanmo_api::photos::list_photos(&state.ctx)
}

/// Attaches a photo to a criterion of a draft sheet (拍照留证).
#[tauri::command(async)]
#[specta::specta]
pub fn attach_evidence(
    state: State<'_, AppState>,
    sheet_id: String,
    criterion_id: String,
    hash: String,
) -> Res<Sheet> {
    guanmo_api::photos::attach_evidence(&state.ctx, &sheet_id, &criterion_id, &hash)
}

/// Detaches a photo from a criterion of a draft sheet.
#[tauri::command(async)]
#[specta::specta]
pub fn detach_evidence(
    state: State<'_, AppState>,
    sheet_id: String,
    criterion_id: String,
    hash: String,
) -> Res<Sheet> {
    guanmo_api::photos::detach_evidence(&state.ctx, &sheet_id, &criterion_id, &hash)
}

/// Every post, for the media staff.
#[tauri::command(async)]
#[specta::specta]
pub fn list_posts(state: State<'_, AppState>) -> Res<Vec<Post>> {
    feed::list_posts(&state.ctx)
}

/// Saves a new draft post.
#[tauri::command(async)]
#[specta::specta]
pub fn create_draft(state: State<'_, AppState>, input: PostInput) -> Res<Post> {
    feed::create_draft(&state.ctx, input)
}

/// Edits a post still at `expected_version` (a published one shows 已更新).
#[tauri::command(async)]
#[specta::specta]
pub fn update_post(
    state: State<'_, AppState>,
    id: String,
    expected_version: i32,
    input: PostInput,
) -> Res<Post> {
    feed::update_post(&state.ctx, &id, expected_version, input)
}

/// Publishes a draft.
#[tauri::command(async)]
#[specta::specta]
pub fn publish_post(state: State<'_, AppState>, id: String, expected_version: i32) -> Res<Post> {
    feed::publish_post(&state.ctx, &id, expected_version)
}

/// Retracts a published post (kept internally with who and when).
#[tauri::command(async)]
#[specta::specta]
pub fn retract_post(state: State<'_, AppState>, id: String) -> Res<Post> {
    feed::retract_post(&state.ctx, &id)
}

/// Pins a published post as the opening post.
#[tauri::command(async)]
#[specta::specta]
pub fn pin_post(state: State<'_, AppState>, id: String) -> Res<Post> {
    feed::pin_post(&state.ctx, &id)
}

/// Unpins a post.
#[tauri::command(async)]
#[specta::specta]
pub fn unpin_post(state: State<'_, AppState>, id: String) -> Res<Post> {
    feed::unpin_post(&state.ctx, &id)
}

/// The stop label of a township from the route, e.g. 【第7站·水口山镇】.
#[tauri::command(async)]
#[specta::specta]
pub fn stop_label_for_township(state: State<'_, AppState>, township_id: String) -> Res<String> {
    feed::stop_label_for_township(&state.ctx, &township_id)
}

/// The credit line this laptop remembers.
#[tauri::command(async)]
#[specta::specta]
pub fn get_media_credit(state: State<'_, AppState>) -> Res<String> {
    feed::get_media_credit(&state.ctx)
}

/// Remembers the credit line for this laptop.
#[tauri::command(async)]
#[specta::specta]
pub fn set_media_credit(state: State<'_, AppState>, credit: String) -> Res<String> {
    feed::set_media_credit(&state.ctx, credit)
}

/// The IPv4 interfaces the resident site can listen on.
#[tauri::command(async)]
#[specta::specta]
pub fn list_network_interfaces() -> Res<Vec<NetInterface>> {
    Ok(crate::site::interfaces())
}

/// Starts (or restarts) the resident site on `ip:port`.
#[tauri::command(async)]
#[specta::specta]
pub fn start_live_site(app: tauri::AppHandle, ip: String, port: i32) -> Res<LiveSiteStatus> {
    crate::site::start(&app, &ip, port)
}

/// Stops the resident site.
#[tauri::command(async)]
#[specta::specta]
pub fn stop_live_site(app: tauri::AppHandle) -> Res<LiveSiteStatus> {
    Ok(crate::site::stop(&app))
}

/// Whether the resident site runs, and its URL and QR code.
#[tauri::command(async)]
#[specta::specta]
pub fn get_live_site_status(app: tauri::AppHandle) -> Res<LiveSiteStatus> {
    Ok(crate::site::status(&app))
}

/// Writes the public feed as a static site into a folder (for a web server, CDN or S3).
#[tauri::command(async)]
#[specta::specta]
pub fn export_static_site(
    app: tauri::AppHandle,
    state: State<'_, AppState>,
    dir: String,
) -> Res<StaticExport> {
    let dir = state.picks.folder(&dir)?;
    crate::site::export_static(&app, &dir.display().to_string())
}

/// 直播网站设置: title, refresh interval, rate limits, trusted proxies, extra host names.
#[tauri::command(async)]
#[specta::specta]
pub fn get_site_settings(state: State<'_, AppState>) -> Res<SiteSettings> {
    guanmo_api::site::get_site_settings(&state.ctx)
}

/// Saves 直播网站设置; a running site restarts on them at once.
#[tauri::command(async)]
#[specta::specta]
pub fn set_site_settings(app: tauri::AppHandle, settings: SiteSettings) -> Res<SiteSettingsSaved> {
    crate::site::save_settings(&app, settings)
}

/// Told to the UI after every committed write: which kinds of record changed, so views
/// refresh from the change log instead of polling.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, specta::Type, tauri_specta::Event)]
pub struct DataChanged {
    /// Entity kinds, e.g. `sheet`, `township`.
    pub entities: Vec<String>,
}

/// Counts per moderation list, the comment-area switch and the word count (评论审核).
#[tauri::command(async)]
#[specta::specta]
pub fn get_moderation_overview(state: State<'_, AppState>) -> Res<ModerationOverview> {
    comments::overview(&state.ctx)
}

/// One moderation list, sensitive-word hits marked.
#[tauri::command(async)]
#[specta::specta]
pub fn list_comment_queue(state: State<'_, AppState>, kind: QueueKind) -> Res<Vec<QueueItem>> {
    comments::queue(&state.ctx, kind)
}

/// Approves or rejects one or many comments.
#[tauri::command(async)]
#[specta::specta]
pub fn decide_comments(
    state: State<'_, AppState>,
    ids: Vec<String>,
    decision: Decision,
) -> Res<DecideReport> {
    comments::decide(&state.ctx, &ids, decision)
}

/// Pins (置顶) or unpins an approved comment.
#[tauri::command(async)]
#[specta::specta]
pub fn pin_comment(state: State<'_, AppState>, id: String, pinned: bool) -> Res<Comment> {
    comments::pin(&state.ctx, &id, pinned)
}

/// Keeps a reported comment and closes its reports.
#[tauri::command(async)]
#[specta::specta]
pub fn dismiss_comment_reports(state: State<'_, AppState>, id: String) -> Res<Comment> {
    comments::dismiss_reports(&state.ctx, &id)
}

/// Mutes (禁言) the author of a comment for some days: its number and every phone that wrote
/// with it; with `hide_comments`, its approved comments are hidden from residents meanwhile.
#[tauri::command(async)]
#[specta::specta]
pub fn mute_comment_author(
    state: State<'_, AppState>,
    comment_id: String,
    days: u32,
    reason: String,
    hide_comments: bool,
) -> Res<Mute> {
    comments::mute_author_with(
        &state.ctx,
        &comment_id,
        days,
        &reason,
        comments::MuteOptions { hide_comments },
    )
}

/// Lifts a mute.
#[tauri::command(async)]
#[specta::specta]
pub fn unmute_number(state: State<'_, AppState>, key: String) -> Res<()> {
    comments::unmute(&state.ctx, &key)
}

/// Mutes in force.
#[tauri::command(async)]
#[specta::specta]
pub fn list_mutes(state: State<'_, AppState>) -> Res<Vec<Mute>> {
    comments::list_mutes(&state.ctx)
}

/// Opens or closes the whole comment area (一键关闭评论区).
#[tauri::command(async)]
#[specta::specta]
pub fn set_comment_area_open(
    state: State<'_, AppState>,
    open: bool,
    reason: Option<String>,
) -> Res<()> {
    comments::set_area_open(&state.ctx, open, reason)
}

/// The moderation record, of one comment or all.
#[tauri::command(async)]
#[specta::specta]
pub fn get_moderation_log(
    state: State<'_, AppState>,
    comment_id: Option<String>,
) -> Res<Vec<ModLogEntry>> {
    comments::moderation_log(&state.ctx, comment_id.as_deref())
}

/// The sensitive-word list (敏感词库).
#[tauri::command(async)]
#[specta::specta]
pub fn list_sensitive_words(state: State<'_, AppState>) -> Res<Vec<String>> {
    comments::list_words(&state.ctx)
}

/// Adds words, one per line.
#[tauri::command(async)]
#[specta::specta]
pub fn add_sensitive_words(state: State<'_, AppState>, text: String) -> Res<WordsReport> {
    comments::add_words(&state.ctx, &text)
}

/// Imports words from a text file (UTF-8 or GBK), one a line.
#[tauri::command(async)]
#[specta::specta]
pub fn import_sensitive_words(state: State<'_, AppState>, path: String) -> Res<WordsReport> {
    let path = state.picks.take_read(&path)?;
    comments::import_words(&state.ctx, &path)
}

/// Removes words.
#[tauri::command(async)]
#[specta::specta]
pub fn remove_sensitive_words(state: State<'_, AppState>, words: Vec<String>) -> Res<WordsReport> {
    comments::remove_words(&state.ctx, &words)
}

/// Hands a suggestion to a township (交办).
#[tauri::command(async)]
#[specta::specta]
pub fn assign_suggestion(
    state: State<'_, AppState>,
    id: String,
    township_id: String,
) -> Res<Comment> {
    comments::assign(&state.ctx, &id, &township_id)
}

/// Records the township's reply to a suggestion (已回复).
#[tauri::command(async)]
#[specta::specta]
pub fn answer_suggestion(state: State<'_, AppState>, id: String, reply: String) -> Res<Comment> {
    comments::answer(&state.ctx, &id, &reply)
}

/// Writes every suggestion with its handling to an XLSX file.
#[tauri::command(async)]
#[specta::specta]
pub fn export_suggestions(state: State<'_, AppState>, path: String) -> Res<()> {
    let path = state.picks.take_write(&path)?;
    comments::export_suggestions_xlsx(&state.ctx, &path)
}

/// Writes the full comment and moderation record to an XLSX file.
#[tauri::command(async)]
#[specta::specta]
pub fn export_comment_records(state: State<'_, AppState>, path: String) -> Res<()> {
    let path = state.picks.take_write(&path)?;
    comments::export_records_xlsx(&state.ctx, &path)
}

/// The SMS provider that verifies residents' numbers (key never included), if any.
#[tauri::command(async)]
#[specta::specta]
pub fn get_sms_settings(state: State<'_, AppState>) -> Res<Option<SmsSettings>> {
    comments::get_sms_settings(&state.ctx)
}

/// Sets the SMS provider; `null` turns verification off.
#[tauri::command(async)]
#[specta::specta]
pub fn set_sms_settings(
    state: State<'_, AppState>,
    input: Option<SmsSettingsInput>,
) -> Res<Option<SmsSettings>> {
    comments::set_sms_settings(&state.ctx, input)
}

/// The 同步 view: this device, its hub or paired devices, waiting work, issues, the last run.
#[tauri::command(async)]
#[specta::specta]
pub fn get_sync_overview(app: tauri::AppHandle) -> Res<SyncStatus> {
    crate::sync::status(&app)
}

/// Chooses what this install is for (组织方主机 / 评分电脑 / 直播电脑) and its name.
#[tauri::command(async)]
#[specta::specta]
pub fn set_device_role(app: tauri::AppHandle, role: Role, name: String) -> Res<SyncStatus> {
    crate::sync::set_role(&app, role, &name)
}

/// A one-time pairing code (hub only), with the hub's addresses and a QR code.
#[tauri::command(async)]
#[specta::specta]
pub fn new_pairing_code(app: tauri::AppHandle) -> Res<PairingInfo> {
    crate::sync::pairing_code(&app)
}

/// Pairs this laptop with the hub at `url` using the code shown there.
#[tauri::command]
#[specta::specta]
pub async fn pair_with_hub(app: tauri::AppHandle, url: String, code: String) -> Res<SyncStatus> {
    crate::sync::pair(app, url, code).await
}

/// The hub revokes a paired device: its token and bundles stop working.
#[tauri::command(async)]
#[specta::specta]
pub fn revoke_device(app: tauri::AppHandle, device_id: String) -> Res<SyncStatus> {
    crate::sync::revoke(&app, &device_id)
}

/// Moves the hub's peer listener to another port and remembers it (更改端口; hub only).
#[tauri::command(async)]
#[specta::specta]
pub fn set_peer_port(app: tauri::AppHandle, port: i32) -> Res<SyncStatus> {
    crate::sync::set_peer_port(&app, port)
}

/// Syncs with the hub now (立即同步); progress and the outcome come as events.
#[tauri::command(async)]
#[specta::specta]
pub fn sync_now(app: tauri::AppHandle) -> Res<SyncStatus> {
    crate::sync::sync_now(&app)
}

/// Writes everything the hub has not confirmed to a bundle file (导出同步包).
#[tauri::command]
#[specta::specta]
pub async fn export_sync_bundle(app: tauri::AppHandle, path: String) -> Res<BundleExport> {
    let path = app.state::<AppState>().picks.take_write(&path)?;
    crate::sync::export_bundle(app, path.display().to_string()).await
}

/// Checks and applies a bundle file at the hub, all or nothing (导入同步包).
#[tauri::command]
#[specta::specta]
pub async fn import_sync_bundle(app: tauri::AppHandle, path: String) -> Res<BundleReport> {
    let path = app.state::<AppState>().picks.take_read(&path)?;
    crate::sync::import_bundle(app, path.display().to_string()).await
}

/// Marks a refusal or conflict as handled (标记已处理).
#[tauri::command(async)]
#[specta::specta]
pub fn resolve_sync_issue(app: tauri::AppHandle, id: String) -> Res<SyncStatus> {
    crate::sync::resolve(&app, &id)
}

/// Resolves a conflict for the version that did not stand (改用另一版本; hub only).
#[tauri::command(async)]
#[specta::specta]
pub fn adopt_sync_version(app: tauri::AppHandle, id: String) -> Res<SyncStatus> {
    crate::sync::adopt(&app, &id)
}

/// Hands a replaced laptop's scorer sheets and posts to another paired laptop (转交; hub only).
#[tauri::command(async)]
#[specta::specta]
pub fn transfer_device(app: tauri::AppHandle, from: String, to: String) -> Res<SyncStatus> {
    crate::sync::transfer(&app, &from, &to)
}

/// Assigns a scorer to the paired 评分电脑 that scores for them (分配评分人; hub only); `None`
/// clears the assignment. Only that laptop's sheets for the scorer are accepted.
#[tauri::command(async)]
#[specta::specta]
pub fn assign_scorer_device(
    app: tauri::AppHandle,
    scorer_id: String,
    device_id: Option<String>,
) -> Res<SyncStatus> {
    crate::sync::assign(&app, &scorer_id, device_id.as_deref())
}

/// The native "open file" dialog, shown by the shell; the path chosen (none when cancelled)
/// may then be imported once.
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

/// The native "save as" dialog with a suggested file name; the path chosen may then be
/// written once.
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
            get_app_info,
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
            export_suggestions,
            export_comment_records,
            get_sms_settings,
            set_sms_settings,
            get_sync_overview,
            set_device_role,
            new_pairing_code,
            pair_with_hub,
            revoke_device,
            set_peer_port,
            sync_now,
            export_sync_bundle,
            import_sync_bundle,
            resolve_sync_issue,
            adopt_sync_version,
            transfer_device,
            assign_scorer_device,
            pick_file_to_open,
            pick_files_to_open,
            pick_file_to_save,
            pick_folder,
        ])
        .events(tauri_specta::collect_events![
            DataChanged,
            crate::photos::PhotoImportProgress,
            crate::photos::PhotoImportFinished,
            crate::site::LiveSiteChanged,
            crate::sync::SyncChanged,
            crate::sync::SyncProgress,
            crate::sync::SyncBundleProgress
        ])
}
