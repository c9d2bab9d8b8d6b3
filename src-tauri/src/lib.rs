//! The desktop shell of Guanmo (观摩). It only wires Tauri to `guanmo-api`: resolves the data
//! folder, opens the context, registers the typed commands and plugins. No rules live here.

mod about;
mod backup;
mod commands;
mod paper;
mod people;
mod photos;
mod picks;
mod reach;
mod results;
mod retention;
mod schedule;
mod signoff;
mod site;
mod sync;
mod watermark;

use guanmo_api::Ctx;
use guanmo_domain::SystemClock;
use std::path::PathBuf;
use std::sync::Arc;
use tauri::Manager;

/// Environment variable that overrides the data folder (tests always set it).
pub const DATA_DIR_ENV: &str = "GUANMO_DATA_DIR";

/// The runtime the resident site and the peer listener serve on, apart from Tauri's (whose
/// workers run the window's async calls); made once, never dropped.
static NET: std::sync::OnceLock<std::io::Result<tokio::runtime::Runtime>> =
    std::sync::OnceLock::new();

/// What every command receives.
pub struct AppState {
    /// The api context.
    pub ctx: Ctx,
    /// Running photo imports.
    pub batches: photos::Batches,
    /// Files and folders the person picked in a dialog (the only paths commands accept).
    pub picks: picks::Picks,
    /// The resident site (stopped until 开始直播).
    pub site: Arc<guanmo_web::ResidentSite>,
    /// Sync with the hub (laptops) or the peer listener (hub).
    pub sync: sync::SyncRuntime,
}

/// The typed command set; also the source of `ui/src/ipc/bindings.gen.ts`.
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    commands::builder()
}

fn data_dir(app: &tauri::App) -> Result<PathBuf, Box<dyn std::error::Error>> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => Ok(app.path().app_data_dir()?),
    }
}

/// Forwards every committed write to the UI as a typed `DataChanged` event.
fn forward_changes(app: tauri::AppHandle, ctx: &Ctx) {
    use tauri_specta::Event;
    let rx = ctx.store().subscribe();
    std::thread::spawn(move || {
        for committed in rx {
            let event = commands::DataChanged {
                entities: committed.entities,
            };
            if let Err(e) = event.emit(&app) {
                tracing::warn!(error = %e, "could not tell the UI about a change");
            }
        }
    });
}

/// Starts the app.
// `tauri::generate_context!` expands to Tauri's own `process::exit` call.
#[allow(clippy::disallowed_methods)]
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let builder = specta_builder();
    let result = tauri::Builder::default()
        .plugin(tauri_plugin_opener::init())
        .plugin(tauri_plugin_dialog::init())
        .invoke_handler(builder.invoke_handler())
        .register_asynchronous_uri_scheme_protocol("guanmo-media", photos::serve_uri)
        .setup(move |app| {
            builder.mount_events(app);
            let dir = data_dir(app)?;
            tracing::info!(data_dir = %dir.display(), "opening data folder");
            let clock: Arc<dyn guanmo_domain::Clock> = Arc::new(SystemClock);
            backup::apply_staged_restore(&dir, clock.as_ref());
            let ctx = match Ctx::open(&dir, clock.clone()) {
                Ok(ctx) => ctx,
                Err(e) => {
                    // Said in a dialog (a data folder from a newer version, say), never opened
                    // or changed; the app ends when it is closed.
                    tracing::error!(error = %e, "cannot open the data folder");
                    use tauri_plugin_dialog::{DialogExt, MessageDialogKind};
                    if let Some(w) = app.get_webview_window("main") {
                        w.hide()?; // nothing behind the dialog asks for data it cannot have
                    }
                    app.dialog()
                        .message(format!("{}\n\n数据文件夹:{}", e.message, dir.display()))
                        .title("观摩无法打开数据")
                        .kind(MessageDialogKind::Error)
                        .show(|_| std::process::exit(1));
                    return Ok(());
                }
            };
            // The desktop asks who is working; every write names the person.
            guanmo_api::people::ask_who_is_working(&ctx)
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error>)?;
            let media = ctx.media();
            forward_changes(app.handle().clone(), &ctx);
            let net = NET
                .get_or_init(guanmo_web::listener::server_runtime)
                .as_ref()
                .map_err(|e| {
                    tracing::error!(error = %e, "cannot start the network runtime");
                    Box::<dyn std::error::Error>::from(e.to_string())
                })?
                .handle()
                .clone();
            app.manage(AppState {
                site: Arc::new(guanmo_web::ResidentSite::new(
                    net.clone(),
                    ctx.clone(),
                    Arc::new(media.clone()),
                )),
                sync: sync::SyncRuntime::new(
                    guanmo_sync::auto::AutoSync::new(clock),
                    guanmo_web::PeerListener::new(net, ctx.clone(), media.clone()),
                ),
                ctx,
                batches: photos::Batches::default(),
                picks: picks::Picks::default(),
            });
            site::watch_address(app.handle().clone());
            sync::start(app.handle());
            Ok(())
        })
        .build(tauri::generate_context!());
    match result {
        Ok(app) => app.run(|handle, event| match event {
            tauri::RunEvent::Exit => sync::shutdown(handle),
            // Files dropped on the window were chosen by the person, like a dialog's.
            tauri::RunEvent::WindowEvent {
                event: tauri::WindowEvent::DragDrop(tauri::DragDropEvent::Drop { paths, .. }),
                ..
            } => {
                if let Some(state) = handle.try_state::<AppState>() {
                    for p in paths {
                        state.picks.grant(p, picks::Access::Read);
                    }
                }
            }
            _ => {}
        }),
        Err(e) => {
            tracing::error!(error = %e, "the app stopped with an error");
            eprintln!("观摩无法启动: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    const HEADER: &str = "// Generated by tauri-specta from the Rust command and type definitions.\n\
                          // Do not edit: run `UPDATE_BINDINGS=1 cargo test -p guanmo-app bindings`.\n";

    fn bindings_path() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/ipc/bindings.gen.ts")
    }

    /// The bindings as the Rust types give them now.
    fn fresh_bindings() -> String {
        let dir = tempfile::tempdir().unwrap();
        let fresh = dir.path().join("bindings.gen.ts");
        super::specta_builder()
            .export(
                specta_typescript::Typescript::default().header(HEADER),
                &fresh,
            )
            .unwrap();
        std::fs::read_to_string(&fresh).unwrap()
    }

    #[test]
    fn bindings_match_the_rust_types() {
        let fresh = fresh_bindings();
        let committed = std::fs::read_to_string(bindings_path()).unwrap_or_default();
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::write(bindings_path(), &fresh).unwrap();
        } else {
            assert!(
                committed == fresh,
                "ui/src/ipc/bindings.gen.ts is stale: run `UPDATE_BINDINGS=1 cargo test -p guanmo-app bindings` and commit it"
            );
        }
    }

    /// Every command in the invoke handler is declared in build.rs (so it gets a permission)
    /// and granted in the main window's capability; nothing else is granted.
    #[test]
    fn every_command_is_declared_and_granted() {
        let build_rs = include_str!("../build.rs");
        let capability: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/default.json")).unwrap();
        let granted: Vec<String> = capability["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p.as_str())
            .filter(|p| p.starts_with("allow-"))
            .map(|p| p.trim_start_matches("allow-").replace('-', "_"))
            .collect();
        let bindings = fresh_bindings();
        let mut commands: Vec<String> = bindings
            .match_indices("__TAURI_INVOKE")
            .filter_map(|(i, _)| {
                let rest = &bindings[i..];
                let open = rest.find("(\"")?;
                // Skip the import line; calls look like __TAURI_INVOKE<T>("name" or ("name".
                (open < 80 && !rest[..open].contains(' ')).then(|| {
                    let name = &rest[open + 2..];
                    name[..name.find('"').unwrap_or(0)].to_string()
                })
            })
            .collect();
        commands.sort();
        let mut granted_sorted = granted.clone();
        granted_sorted.sort();
        assert_eq!(
            commands, granted_sorted,
            "capabilities/default.json grants exactly the commands"
        );
        for c in &commands {
            assert!(
                build_rs.contains(&format!("\"{c}\"")),
                "{c} missing from build.rs COMMANDS"
            );
        }
    }
}
