//! 审核流程 (三审) of live-feed posts: one thin command per IPC call; the rules live in
//! `guanmo_api::feed` (sign-off) and `guanmo_domain::feed::signoff`.

use crate::commands::{blocking, Res};
use guanmo_api::feed::{PostStepView, SignoffOverview};
use guanmo_domain::feed::signoff::{SignoffAction, SignoffSettings};
use guanmo_domain::feed::Post;

/// The 审核流程 setting.
#[tauri::command]
#[specta::specta]
pub async fn get_signoff_settings(app: tauri::AppHandle) -> Res<SignoffSettings> {
    blocking(app, move |s| guanmo_api::feed::get_signoff_settings(&s.ctx)).await
}

/// Sets the 审核流程 setting (组织方, on the hub).
#[tauri::command]
#[specta::specta]
pub async fn set_signoff_settings(
    app: tauri::AppHandle,
    settings: SignoffSettings,
) -> Res<SignoffSettings> {
    blocking(app, move |s| {
        guanmo_api::feed::set_signoff_settings(&s.ctx, settings)
    })
    .await
}

/// 提交审核, 通过, 退回 (with a reason) or 紧急发布 on a post still at `expected_version`.
#[tauri::command]
#[specta::specta]
pub async fn signoff_post(
    app: tauri::AppHandle,
    id: String,
    action: SignoffAction,
    expected_version: i32,
    reason: String,
) -> Res<Post> {
    blocking(app, move |s| {
        guanmo_api::feed::signoff_post(&s.ctx, &id, action, expected_version, reason)
    })
    .await
}

/// A post's sign-off history.
#[tauri::command]
#[specta::specta]
pub async fn post_history(app: tauri::AppHandle, id: String) -> Res<Vec<PostStepView>> {
    blocking(app, move |s| guanmo_api::feed::post_history(&s.ctx, &id)).await
}

/// The setting, the signed-in person's rights and their 审核队列.
#[tauri::command]
#[specta::specta]
pub async fn signoff_overview(app: tauri::AppHandle) -> Res<SignoffOverview> {
    blocking(app, move |s| guanmo_api::feed::signoff_overview(&s.ctx)).await
}
