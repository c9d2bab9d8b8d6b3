//! The `guanmo` binary from the outside, on temp data folders: a pairing code, `serve` on a
//! free port with the resident site beside it (on the stored site settings), a laptop pairing and syncing over HTTP, the
//! device listed and revoked while the server runs, SIGTERM ending it with exit code 0, a
//! laptop's data folder refused, and the site settings printed and changed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use guanmo_api::Ctx;
use guanmo_domain::SystemClock;
use guanmo_media::MediaStore;
use guanmo_store::oplog::canonical_dump;
use guanmo_sync::http::HttpTransport;
use guanmo_sync::{Role, SyncErrorCode};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn guanmo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_guanmo"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

/// `guanmo site-settings --data-dir hub --set file`.
fn set_site_settings(hub: &str, file: &std::path::Path) -> Output {
    guanmo(&[
        "site-settings",
        "--data-dir",
        hub,
        "--set",
        file.to_str().unwrap(),
    ])
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `guanmo serve` as a child process; killed if the test fails before stopping it.
struct Server(Option<Child>);

impl Server {
    fn start(data: &Path, peer: SocketAddr, site: SocketAddr) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_guanmo"))
            .args(["serve", "--data-dir"])
            .arg(data)
            .args(["--peer", &peer.to_string(), "--site", &site.to_string()])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let server = Server(Some(child));
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(peer).is_err() || TcpStream::connect(site).is_err() {
            assert!(Instant::now() < deadline, "serve did not listen in 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// Sends SIGTERM (by process id) and waits for the exit; returns its status and log.
    fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let mut child = self.0.take().unwrap();
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("serve did not stop within 30 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut log = String::new();
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut log)
            .unwrap();
        (status, log)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A bare HTTP/1.1 GET; returns the status line.
fn http_get(addr: SocketAddr, host: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_string()
}

fn laptop(dir: &Path) -> (Ctx, MediaStore) {
    let ctx = Ctx::open(dir, Arc::new(SystemClock)).unwrap();
    let media = MediaStore::new(dir).unwrap();
    guanmo_sync::set_role(&ctx, Role::Scorer, "评分电脑一").unwrap();
    (ctx, media)
}

#[test]
fn serve_pairs_and_syncs_a_laptop_lists_and_revokes_it_and_stops_on_sigterm() {
    let hub_dir = tempfile::tempdir().unwrap();
    let data = hub_dir.path();
    let hub = data.to_str().unwrap();

    let out = guanmo(&["pairing-code", "--data-dir", hub]);
    assert!(out.status.success(), "{}", stderr(&out));
    let code = stdout(&out).lines().next().unwrap().to_string();
    assert!(
        code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code:?}"
    );

    // 直播网站设置 stored in the hub's folder are what the site serves with.
    let changes = data.join("site.json");
    std::fs::write(&changes, r#"{"extraHosts": ["live.example.cn"]}"#).unwrap();
    let out = set_site_settings(hub, &changes);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("live.example.cn"), "{}", stdout(&out));

    let peer: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let site: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let server = Server::start(data, peer, site);

    // A laptop pairs with the code over HTTP and gets the hub's roster and rubric.
    let laptop_dir = tempfile::tempdir().unwrap();
    let (ctx, media) = laptop(laptop_dir.path());
    let url = format!("http://{peer}");
    let paired =
        guanmo_sync::pair_with_hub(&ctx, &HttpTransport::new(&url, None).unwrap(), &url, &code)
            .unwrap();
    let t = HttpTransport::new(&url, Some(paired.token)).unwrap();
    let report = guanmo_sync::sync_once(&ctx, &media, &t, &|_| {}).unwrap();
    assert!(report.applied > 0, "{report:?}");
    let hub_dump = Ctx::open(data, Arc::new(SystemClock))
        .unwrap()
        .store()
        .read(canonical_dump)
        .unwrap();
    assert_eq!(
        ctx.store().read(canonical_dump).unwrap(),
        hub_dump,
        "the laptop has the hub's replicated state"
    );

    // The resident site runs beside it, without any sync route.
    let host = site.to_string();
    assert!(http_get(site, &host, "/").contains(" 200 "));
    assert!(http_get(site, &host, "/peer/v1/pair").contains(" 404 "));
    assert!(http_get(peer, &host, "/").contains(" 404 "));
    assert!(
        http_get(site, "live.example.cn", "/").contains(" 200 "),
        "the stored extra host is allowed"
    );
    assert!(http_get(site, "other.example.cn", "/").contains(" 421 "));

    // The device is listed while the server runs, then revoked: its next sync is refused.
    let id = ctx.store().device_id().to_string();
    let out = guanmo(&["devices", "--data-dir", hub]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = stdout(&out);
    assert!(
        listed.contains(&id) && listed.contains("scorer") && listed.contains("评分电脑一"),
        "{listed}"
    );
    let out = guanmo(&["revoke", "--data-dir", hub, &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    let e = guanmo_sync::sync_once(&ctx, &media, &t, &|_| {}).unwrap_err();
    assert_eq!(e.code, SyncErrorCode::Unauthorized, "{e}");
    let out = guanmo(&["revoke", "--data-dir", hub, &id]);
    assert!(!out.status.success(), "revoking twice is an error");
    assert!(stdout(&guanmo(&["devices", "--data-dir", hub])).contains("revoked"));

    let (status, log) = server.terminate();
    assert!(status.success(), "exit {status:?}\n{log}");
    assert!(log.contains("SIGTERM"), "{log}");
    assert!(
        TcpStream::connect(peer).is_err(),
        "the peer listener is closed"
    );
}

#[test]
fn a_laptops_data_folder_is_refused_and_a_missing_one_too() {
    let dir = tempfile::tempdir().unwrap();
    drop(laptop(dir.path()));
    let folder = dir.path().to_str().unwrap();
    for args in [
        vec!["serve", "--data-dir", folder, "--peer", "127.0.0.1:0"],
        vec!["pairing-code", "--data-dir", folder],
    ] {
        let out = guanmo(&args);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr(&out).contains("laptop"), "{}", stderr(&out));
    }
    let out = guanmo(&[
        "pairing-code",
        "--data-dir",
        dir.path().join("nope").to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no data folder"), "{}", stderr(&out));
    assert!(!dir.path().join("nope").exists(), "nothing was created");
}

#[test]
fn site_settings_are_printed_and_refused_changes_say_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let hub = dir.path().to_str().unwrap();
    let out = guanmo(&["site-settings", "--data-dir", hub]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains(r#""pollSeconds": 15"#),
        "{}",
        stdout(&out)
    );

    let changes = dir.path().join("site.json");
    std::fs::write(
        &changes,
        r#"{"pollSeconds": 1, "trustedProxies": ["10.0.0.0/8"]}"#,
    )
    .unwrap();
    let out = set_site_settings(hub, &changes);
    assert!(!out.status.success());
    let said = stderr(&out);
    assert!(
        said.contains("刷新间隔") && said.contains("不支持网段"),
        "{said}"
    );
    let out = guanmo(&["site-settings", "--data-dir", hub]);
    assert!(
        stdout(&out).contains(r#""pollSeconds": 15"#),
        "nothing was stored"
    );
}
