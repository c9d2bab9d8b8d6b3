//! People (人员), who is at the keyboard (谁在操作) and the sealed tally (封存/揭晓): one thin
//! command per IPC call; the rules live in `guanmo_api::people` and `guanmo_api::tally`.

use crate::commands::{blocking, Res};
use guanmo_api::people::{IssuedCode, PersonView, SessionView, SignInLogLine};
use guanmo_api::tally::TallyStatus;
use guanmo_domain::people::{Person, PersonInput};

/// Everyone on the 人员 list.
#[tauri::command]
#[specta::specta]
pub async fn list_people(app: tauri::AppHandle) -> Res<Vec<PersonView>> {
    blocking(app, move |s| guanmo_api::people::list_people(&s.ctx)).await
}

/// Adds a person (`id` null) or edits one at the version read.
#[tauri::command]
#[specta::specta]
pub async fn save_person(
    app: tauri::AppHandle,
    id: Option<String>,
    expected_version: i32,
    input: PersonInput,
) -> Res<Person> {
    blocking(app, move |s| {
        guanmo_api::people::save_person(&s.ctx, id, expected_version, input)
    })
    .await
}

/// Sets a person's PIN on this computer (typed by the person).
#[tauri::command]
#[specta::specta]
pub async fn set_person_pin(
    app: tauri::AppHandle,
    person_id: String,
    pin: String,
) -> Res<PersonView> {
    blocking(app, move |s| {
        guanmo_api::people::set_pin(&s.ctx, &person_id, &pin)
    })
    .await
}

/// Issues a one-time sign-in code for a laptop (shown once).
#[tauri::command]
#[specta::specta]
pub async fn issue_sign_in_code(app: tauri::AppHandle, person_id: String) -> Res<IssuedCode> {
    blocking(app, move |s| {
        guanmo_api::people::issue_sign_in_code(&s.ctx, &person_id)
    })
    .await
}

/// Who may sign in here, and who is signed in.
#[tauri::command]
#[specta::specta]
pub async fn get_session(app: tauri::AppHandle) -> Res<SessionView> {
    blocking(app, move |s| guanmo_api::people::session(&s.ctx)).await
}

/// Signs in with a PIN.
#[tauri::command]
#[specta::specta]
pub async fn sign_in(app: tauri::AppHandle, person_id: String, pin: String) -> Res<SessionView> {
    blocking(app, move |s| {
        guanmo_api::people::sign_in(&s.ctx, &person_id, &pin)
    })
    .await
}

/// First sign-in on this computer: the hub's one-time code and a new PIN.
#[tauri::command]
#[specta::specta]
pub async fn sign_in_with_code(
    app: tauri::AppHandle,
    person_id: String,
    code: String,
    new_pin: String,
) -> Res<SessionView> {
    blocking(app, move |s| {
        guanmo_api::people::sign_in_with_code(&s.ctx, &person_id, &code, &new_pin)
    })
    .await
}

/// 切换用户 (or the idle lock, `idle` true).
#[tauri::command]
#[specta::specta]
pub async fn sign_out(app: tauri::AppHandle, idle: bool) -> Res<SessionView> {
    blocking(app, move |s| guanmo_api::people::sign_out(&s.ctx, idle)).await
}

/// The person used the app: the idle time starts again.
#[tauri::command]
#[specta::specta]
pub async fn keep_alive(app: tauri::AppHandle) -> Res<SessionView> {
    blocking(app, move |s| guanmo_api::people::keep_alive(&s.ctx)).await
}

/// Minutes without use before the app locks (this computer).
#[tauri::command]
#[specta::specta]
pub async fn set_idle_minutes(app: tauri::AppHandle, minutes: i32) -> Res<SessionView> {
    blocking(app, move |s| {
        guanmo_api::people::set_idle_minutes(&s.ctx, i64::from(minutes))
    })
    .await
}

/// This computer's sign-in log.
#[tauri::command]
#[specta::specta]
pub async fn get_sign_in_log(app: tauri::AppHandle) -> Res<Vec<SignInLogLine>> {
    blocking(app, move |s| guanmo_api::people::sign_in_log(&s.ctx)).await
}

/// Where the count stands (组织方, 计票人, 监票人).
#[tauri::command]
#[specta::specta]
pub async fn get_tally_status(app: tauri::AppHandle) -> Res<TallyStatus> {
    blocking(app, move |s| guanmo_api::tally::tally_status(&s.ctx)).await
}

/// Seals the tally (封存), with a reason when sheets are missing.
#[tauri::command]
#[specta::specta]
pub async fn seal_tally(app: tauri::AppHandle, close_reason: Option<String>) -> Res<TallyStatus> {
    blocking(app, move |s| {
        guanmo_api::tally::seal_tally(&s.ctx, close_reason)
    })
    .await
}

/// Reveals the sealed tally (揭晓).
#[tauri::command]
#[specta::specta]
pub async fn reveal_tally(app: tauri::AppHandle) -> Res<TallyStatus> {
    blocking(app, move |s| guanmo_api::tally::reveal_tally(&s.ctx)).await
}

/// Imports people from a CSV/XLSX file picked in the open dialog (GBK too).
#[tauri::command]
#[specta::specta]
pub async fn import_people(
    app: tauri::AppHandle,
    path: String,
) -> Res<guanmo_api::people_import::PeopleImportReport> {
    blocking(app, move |s| {
        let path = s.picks.take_read(&path)?;
        guanmo_api::people_import::import_people(&s.ctx, &path)
    })
    .await
}

/// Exports the people list to a file picked in the save dialog.
#[tauri::command]
#[specta::specta]
pub async fn export_people(
    app: tauri::AppHandle,
    path: String,
    format: guanmo_api::exchange::FileFormat,
) -> Res<()> {
    blocking(app, move |s| {
        let path = s.picks.take_write(&path)?;
        guanmo_api::people_import::export_people(&s.ctx, &path, format)
    })
    .await
}
