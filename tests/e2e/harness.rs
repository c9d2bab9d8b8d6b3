//! Starts Xvfb and tauri-driver for the E2E test and stops them with SIGTERM (SIGKILL
//! would leave X lock files, and tauri-driver only stops WebKitWebDriver on SIGTERM).
//! The app runs on a temp data folder with `XDG_DATA_HOME` in the same temp dir, so the
//! test never touches the real app-data dir.

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn app_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("GUANMO_APP_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"));
    target.join("debug").join("guanmo-app")
}

/// The `ok` value of an [`Session::invoke`] answer; fails the test with the error otherwise.
pub fn ok(r: serde_json::Value, what: &str) -> serde_json::Value {
    assert!(r.get("ok").is_some(), "{what} failed: {r}");
    r["ok"].clone()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn term(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// One desktop at a time: two WebKit windows building pages at once on a 2-core machine
/// only make each test slower and flakier.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Xvfb + tauri-driver + a temp data folder, for one test.
pub struct Desktop {
    /// Held by the first desktop of a test; a second one (`beside`) runs within its turn.
    _turn: Option<std::sync::MutexGuard<'static, ()>>,
    xvfb: Child,
    driver: Child,
    port: u16,
    app: PathBuf,
    pub shots: PathBuf,
    pub tmp: tempfile::TempDir,
    /// Answers to the app's file dialogs, one line each (see [`Desktop::answer_dialog`]).
    picks: PathBuf,
}

impl Desktop {
    pub fn start() -> Desktop {
        Desktop::start_with_env(&[])
    }

    /// The app's data folder (its database and `objects/`).
    pub fn data_dir(&self) -> PathBuf {
        self.tmp.path().join("data")
    }

    /// Like `start`, with extra environment for the app (e.g. `GUANMO_PEER_PORT`).
    pub fn start_with_env(env: &[(&str, String)]) -> Desktop {
        let turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        Desktop::launch(Some(turn), env)
    }

    /// A second desktop beside `_first`, with its own display, driver and data folder: for
    /// tests of two app instances (a hub and a laptop) on one machine.
    pub fn beside(_first: &Desktop, env: &[(&str, String)]) -> Desktop {
        Desktop::launch(None, env)
    }

    fn launch(turn: Option<std::sync::MutexGuard<'static, ()>>, env: &[(&str, String)]) -> Desktop {
        let app = app_binary();
        assert!(
            app.exists(),
            "app binary {} missing: run `npx tauri build --debug --no-bundle` first",
            app.display()
        );
        let tmp = tempfile::tempdir().unwrap();
        let display = (90..200)
            .find(|n| !Path::new(&format!("/tmp/.X{n}-lock")).exists())
            .unwrap();
        let display = format!(":{display}");
        let xvfb = Command::new("Xvfb")
            .args([&display, "-screen", "0", "1366x768x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb must be installed (apt xvfb)");
        let lock = format!("/tmp/.X{}-lock", &display[1..]);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !Path::new(&lock).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(300));

        let port = free_port();
        let native = free_port();
        let data = tmp.path().join("data");
        let picks = tmp.path().join("dialog-answers.txt");
        std::fs::write(&picks, "").unwrap();
        let xdg = tmp.path().join("xdg");
        std::fs::create_dir_all(&xdg).unwrap();
        let driver = Command::new(tauri_driver())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("DISPLAY", &display)
            .env("GUANMO_DATA_DIR", &data)
            // Native dialogs cannot be driven over WebDriver: the debug build reads the
            // person's choice from this file instead of showing the dialog.
            .env("GUANMO_TEST_PICKS", &picks)
            .env("XDG_DATA_HOME", &xdg)
            .env("XDG_CONFIG_HOME", tmp.path().join("config"))
            .env("XDG_CACHE_HOME", tmp.path().join("cache"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("tauri-driver must be installed (cargo install tauri-driver --version 2.1.0)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tauri-driver did not listen");
            std::thread::sleep(Duration::from_millis(100));
        }
        let shots = workspace_root().join("test-output").join("e2e");
        std::fs::create_dir_all(&shots).unwrap();
        Desktop {
            _turn: turn,
            xvfb,
            driver,
            port,
            app,
            shots,
            tmp,
            picks,
        }
    }

    /// The next file dialog the app opens is answered with `paths` (as if the person picked
    /// them), instead of being shown.
    pub fn answer_dialog(&self, paths: &[&Path]) {
        let line: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        let mut text = std::fs::read_to_string(&self.picks).unwrap_or_default();
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&line.join("|"));
        std::fs::write(&self.picks, text).unwrap();
    }

    /// Starts the app and connects to its window.
    pub async fn session(&self) -> Session {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), "wry".into());
        caps.insert(
            "tauri:options".into(),
            serde_json::json!({ "application": self.app }),
        );
        // tauri-driver now and then drops the first request of a new session (seen right after
        // an app restart on a busy machine: `IncompleteMessage`); a session is asked for
        // again, three times at most, before the test fails.
        let url = format!("http://127.0.0.1:{}", self.port);
        let mut tries = 0;
        let client = loop {
            tries += 1;
            match ClientBuilder::native()
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if tries < 3 => {
                    eprintln!("WebDriver session refused ({e}); asking again");
                    std::thread::sleep(Duration::from_secs(2));
                }
                Err(e) => panic!("a WebDriver session with the app: {e:?}"),
            }
        };
        Session {
            client,
            shots: self.shots.clone(),
        }
    }
}

fn tauri_driver() -> PathBuf {
    let home_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|c| c.join("bin").join("tauri-driver"));
    match home_bin {
        Some(p) if p.exists() => p,
        _ => PathBuf::from("tauri-driver"),
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        term(&mut self.driver);
        term(&mut self.xvfb);
    }
}

/// One run of the app.
pub struct Session {
    pub client: Client,
    shots: PathBuf,
}

impl Session {
    pub async fn wait_for(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
    }

    pub async fn wait_for_text(&self, css: &str, want: &str) {
        let deadline = Instant::now() + WAIT;
        let mut last = String::new();
        while Instant::now() < deadline {
            match self.client.find(Locator::Css(css)).await {
                Ok(e) => match e.text().await {
                    Ok(t) if t.contains(want) => return,
                    Ok(t) => last = t,
                    Err(err) => last = format!("<error reading text: {err}>"),
                },
                Err(err) => last = format!("<not found: {err}>"),
            }
            self.pause_ms(100).await;
        }
        panic!("{css} should contain {want:?}, shows {last:?}");
    }

    pub async fn click(&self, css: &str) {
        self.wait_for(css).await.click().await.unwrap();
    }

    pub async fn pause_ms(&self, ms: u64) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    /// Saves a PNG after two animation frames, since screenshots can lag the DOM.
    pub async fn screenshot(&self, name: &str) {
        self.client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                vec![],
            )
            .await
            .unwrap();
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    pub async fn close(self) {
        self.client.close().await.unwrap();
        // Give the app a moment to exit before the next session starts it again.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

impl Session {
    /// Sets an input's or select's value the way typing or choosing would, firing the
    /// `input` and `change` events the UI listens to.
    pub async fn set_value(&self, css: &str, value: &str) {
        self.wait_for(css).await;
        self.client
            .execute(
                "const el = document.querySelector(arguments[0]);
                 el.value = arguments[1];
                 el.dispatchEvent(new Event('input', { bubbles: true }));
                 el.dispatchEvent(new Event('change', { bubbles: true }));",
                vec![css.into(), value.into()],
            )
            .await
            .unwrap();
    }

    /// Chooses the option of a `<select>` whose text contains `text`, waiting for the option
    /// to appear (options often load after the select is shown).
    pub async fn select_by_text(&self, css: &str, text: &str) {
        self.wait_for(css).await;
        let deadline = Instant::now() + WAIT;
        loop {
            let found = self
                .client
                .execute(
                    "const el = document.querySelector(arguments[0]);
                     if (!el) return false;
                     const opt = [...el.options].find(o => o.textContent.includes(arguments[1]));
                     if (!opt) return false;
                     el.value = opt.value;
                     el.dispatchEvent(new Event('input', { bubbles: true }));
                     el.dispatchEvent(new Event('change', { bubbles: true }));
                     return true;",
                    vec![css.into(), text.into()],
                )
                .await
                .unwrap();
            if found == serde_json::Value::Bool(true) {
                return;
            }
            assert!(Instant::now() < deadline, "{css} has no option {text:?}");
            self.pause_ms(100).await;
        }
    }

    /// Calls an app command through the page's own IPC, as the UI does. Used only where a
    /// native dialog stands in the way (file paths) or to set up a rule in one step.
    /// Waits until no element matches `css`.
    pub async fn wait_for_gone(&self, css: &str) {
        let deadline = Instant::now() + WAIT;
        while self.client.find(Locator::Css(css)).await.is_ok() {
            assert!(Instant::now() < deadline, "{css} is still there");
            self.pause_ms(100).await;
        }
    }

    /// Waits until the DOM text of `css` contains `want` (the strip under the page, which
    /// WebKit's WebDriver reads as empty although it is on screen: see the screenshots).
    pub async fn wait_for_content(&self, css: &str, want: &str) {
        let deadline = Instant::now() + WAIT;
        let mut last = String::new();
        while Instant::now() < deadline {
            last = self.text_content(css).await;
            if last.contains(want) {
                return;
            }
            self.pause_ms(200).await;
        }
        panic!("{css} should contain {want:?}, has {last:?}");
    }

    /// The text of the first `css`, shown or not (e.g. the error code behind 详情).
    pub async fn text_content(&self, css: &str) -> String {
        self.wait_for(css).await;
        let v = self
            .client
            .execute(
                "const el = document.querySelector(arguments[0]); return el ? el.textContent : '';",
                vec![css.into()],
            )
            .await
            .unwrap();
        v.as_str().unwrap_or_default().to_string()
    }

    pub async fn invoke(&self, cmd: &str, args: serde_json::Value) -> serde_json::Value {
        self.client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])
                   .then(v => done({ ok: v === undefined ? null : v }), e => done({ err: e }));",
                vec![cmd.into(), args],
            )
            .await
            .unwrap()
    }

    // ---- 同步 steps the sync scenarios share ----

    /// 同步 › 本机角色: chooses what this install is for, and its name.
    pub async fn choose_role(&self, role: &str, name: &str) {
        self.click("[data-testid='nav-sync']").await;
        self.click(&format!("[data-testid='role-{role}']")).await;
        self.set_value("[data-testid='device-name']", name).await;
        self.click("[data-testid='role-save']").await;
    }

    /// On the hub's 同步 view: 生成配对码, and the six digits it shows.
    pub async fn new_pairing_code(&self) -> String {
        self.click("[data-testid='pairing-new']").await;
        let code: String = self
            .text_content("[data-testid='pairing-code']")
            .await
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        assert_eq!(code.len(), 6, "the hub shows a six-digit code");
        code
    }

    /// On a laptop's 同步 view: pairs with the hub on 127.0.0.1:`peer_port` using `code`, and
    /// waits for the first exchange.
    pub async fn pair_with_hub(&self, peer_port: &str, code: &str) {
        self.set_value(
            "[data-testid='pair-url']",
            &format!("http://127.0.0.1:{peer_port}"),
        )
        .await;
        self.set_value("[data-testid='pair-code']", code).await;
        self.click("[data-testid='pair-submit']").await;
        self.wait_for_text("[data-testid='sync-state']", "已同步")
            .await;
    }

    // ---- 人员 and 谁在操作 steps the people, paper and sync scenarios share ----

    /// Adds a person by command (人员 is tested in the window in `people.rs`); their id.
    pub async fn add_person(&self, name: &str, roles: &[&str], scorer_id: Option<&str>) -> String {
        let r = self
            .invoke(
                "save_person",
                serde_json::json!({ "id": null, "expectedVersion": 0, "input": {
                    "name": name, "work_unit": "市委办公室", "title": "", "roles": roles,
                    "scorer_id": scorer_id, "active": true } }),
            )
            .await;
        assert!(r.get("ok").is_some(), "save_person failed: {r}");
        r["ok"]["id"].as_str().unwrap().to_string()
    }

    /// Signs `person_id` in with `pin` on the 谁在操作 screen, first pressing 切换用户 when
    /// someone is signed in (waits for whichever of the two the window shows).
    pub async fn sign_in_as(&self, person_id: &str, pin: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let state = self
                .client
                .execute(
                    "if (document.querySelector(\"[data-testid='signin-screen']\")) return 'screen';
                     if (document.querySelector(\"[data-testid='switch-user']\")) return 'signed-in';
                     return '';",
                    vec![],
                )
                .await
                .unwrap();
            match state.as_str() {
                Some("screen") => break,
                Some("signed-in") => {
                    self.click("[data-testid='switch-user']").await;
                    self.wait_for("[data-testid='signin-screen']").await;
                    break;
                }
                _ if Instant::now() > deadline => {
                    panic!("neither the 谁在操作 screen nor 切换用户 appeared")
                }
                _ => self.pause_ms(100).await,
            }
        }
        self.click(&format!("[data-testid='signin-person-{person_id}']"))
            .await;
        self.set_value("[data-testid='signin-pin']", pin).await;
        self.click("[data-testid='signin-submit']").await;
        self.wait_for_gone("[data-testid='signin-screen']").await;
    }

    /// Registers a scorer of 市领导 by command; their id.
    pub async fn register_scorer(&self, name: &str) -> String {
        let r = self
            .invoke(
                "register_scorer",
                serde_json::json!({ "input": { "name": name, "group": "市领导",
                    "township_id": null, "active": true, "work_unit": "" } }),
            )
            .await;
        ok(r, "register_scorer")["id"].as_str().unwrap().to_string()
    }

    /// The id of the township with this 12-digit code.
    pub async fn township_id(&self, code: &str) -> String {
        let towns = ok(
            self.invoke("list_townships", serde_json::json!({})).await,
            "list_townships",
        );
        towns
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["code"] == code)
            .unwrap_or_else(|| panic!("no township {code}"))["id"]
            .as_str()
            .unwrap()
            .to_string()
    }
}
