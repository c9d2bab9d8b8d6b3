//! The `guanmo` binary from the outside, on temp data folders: a pairing code, `serve` on a
//! free port with the resident site beside it (on the stored site settings), a laptop pairing
//! and syncing over HTTP, the device listed, granted 审核 and revoked while the server runs,
//! SIGTERM ending it with exit code 0, a laptop's data folder refused, and the site settings
//! printed and changed; `--live-max-streams` capping the site's open live streams. Over HTTPS
//! (`--tls-cert`, certificates made here): pairing with the pinned fingerprint and syncing,
//! and the refusals — a wrong or changed certificate, an expired one, plain `http://` to a
//! public address, a token replayed from another device.
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
    /// Started with `--peer` and `--site`, and more arguments (e.g. `--site-host`,
    /// `--tls-cert`, `--tls-key`).
    fn start_with(data: &Path, peer: SocketAddr, site: SocketAddr, more: &[&Path]) -> Server {
        let child = Command::new(env!("CARGO_BIN_EXE_guanmo"))
            .args(["serve", "--data-dir"])
            .arg(data)
            .args(["--peer", &peer.to_string(), "--site", &site.to_string()])
            .args(more)
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
    let server = Server::start_with(
        data,
        peer,
        site,
        &[Path::new("--site-host"), Path::new("hub.example.cn")],
    );

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
    // Laptops behind nginx reach the peer listener by the site's names too: `--site-host`
    // and the stored ones (a 404 from the peer router, not a 421 refusal of the name).
    for name in ["hub.example.cn", "live.example.cn"] {
        let line = http_get(peer, name, "/peer/v1/none");
        assert!(line.contains(" 404 "), "{name}: {line}");
    }
    assert!(http_get(peer, "other.example.cn", "/peer/v1/none").contains(" 421 "));

    // The device is listed while the server runs, then revoked: its next sync is refused.
    let id = ctx.store().device_id().to_string();
    let out = guanmo(&["devices", "--data-dir", hub]);
    assert!(out.status.success(), "{}", stderr(&out));
    let listed = stdout(&out);
    assert!(
        listed.contains(&id) && listed.contains("scorer") && listed.contains("评分电脑一"),
        "{listed}"
    );

    // 审核 from the command line while the server runs: an unknown device is refused, the
    // paired laptop granted (listed so), and the running server hands the grant over at the
    // laptop's next sync; --revoke takes it back the same way.
    let out = guanmo(&["moderator", "--data-dir", hub, "no-such-device"]);
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("no paired, unrevoked laptop no-such-device"),
        "{}",
        stderr(&out)
    );
    let listed_line = |id: &str| {
        stdout(&guanmo(&["devices", "--data-dir", hub]))
            .lines()
            .find(|l| l.starts_with(id))
            .unwrap()
            .to_string()
    };
    assert!(!listed_line(&id).contains("审核"));
    let out = guanmo(&["moderator", "--data-dir", hub, &id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("now holds 审核"), "{}", stdout(&out));
    assert!(
        listed_line(&id).contains("paired, 审核"),
        "{}",
        listed_line(&id)
    );
    let out = guanmo(&["moderator", "--data-dir", hub, &id]);
    assert!(
        stdout(&out).contains("already holds 审核"),
        "{}",
        stdout(&out)
    );
    assert!(!guanmo_sync::grants::may_moderate(&ctx).unwrap());
    guanmo_sync::sync_once(&ctx, &media, &t, &|_| {}).unwrap();
    assert!(
        guanmo_sync::grants::may_moderate(&ctx).unwrap(),
        "the grant arrived"
    );
    let out = guanmo(&["moderator", "--data-dir", hub, &id, "--revoke"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("no longer holds 审核"),
        "{}",
        stdout(&out)
    );
    assert!(!listed_line(&id).contains("审核"));
    guanmo_sync::sync_once(&ctx, &media, &t, &|_| {}).unwrap();
    assert!(
        !guanmo_sync::grants::may_moderate(&ctx).unwrap(),
        "and went"
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

#[test]
fn the_watermark_is_set_on_a_headless_hub_and_bad_input_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let hub = dir.path().join("hub");
    std::fs::create_dir(&hub).unwrap();
    let hub = hub.to_str().unwrap();
    let json = |o: &Output| -> serde_json::Value {
        assert!(o.status.success(), "{}", stderr(o));
        serde_json::from_str(&stdout(o)).unwrap()
    };
    let now = json(&guanmo(&["watermark", "--data-dir", hub]));
    assert_eq!(now["placement"]["enabled"], false, "{now}");
    assert!(now["digest"].is_null(), "{now}");

    // A logo that is no PNG (a JPEG's first bytes named .png) is refused, and nothing is
    // stored.
    let flat = dir.path().join("flat.png");
    std::fs::write(&flat, b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00\x01\x01\x00").unwrap();
    let out = guanmo(&[
        "watermark",
        "--data-dir",
        hub,
        "--logo",
        flat.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(!stderr(&out).trim().is_empty());
    assert!(json(&guanmo(&["watermark", "--data-dir", hub]))["digest"].is_null());

    // A real logo, placed top left at 12 %.
    let logo = dir.path().join("台标.png");
    image::RgbaImage::from_fn(200, 80, |x, _| {
        image::Rgba([200, 16, 26, if x < 100 { 255 } else { 0 }])
    })
    .save(&logo)
    .unwrap();
    let on = json(&guanmo(&[
        "watermark",
        "--data-dir",
        hub,
        "--logo",
        logo.to_str().unwrap(),
        "--corner",
        "左上",
        "--size",
        "12",
    ]));
    assert_eq!(on["placement"]["enabled"], true, "{on}");
    assert_eq!(on["placement"]["corner"], "top_left", "{on}");
    assert_eq!(on["placement"]["sizePct"], 12, "{on}");
    let digest = on["digest"].as_str().unwrap().to_string();

    // Out of range: refused with what to fix; the setting stays.
    let out = guanmo(&["watermark", "--data-dir", hub, "--size", "50"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("8"), "{}", stderr(&out));
    let out = guanmo(&["watermark", "--data-dir", hub, "--corner", "middle"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("bottom-right"), "{}", stderr(&out));
    let same = json(&guanmo(&["watermark", "--data-dir", hub]));
    assert_eq!(same["digest"].as_str(), Some(digest.as_str()));

    // Off.
    let off = json(&guanmo(&["watermark", "--data-dir", hub, "--off"]));
    assert_eq!(off["placement"]["enabled"], false, "{off}");
    assert!(off["digest"].is_null(), "{off}");
}

/// `GET /live` held open: the stream and its status line.
fn open_live(site: SocketAddr) -> (TcpStream, String) {
    let mut s = TcpStream::connect(site).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /live HTTP/1.1\r\nHost: {site}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            other => panic!("no answer head: {other:?} after {head:?}"),
        }
    }
    let status = String::from_utf8_lossy(&head)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    (s, status)
}

#[test]
fn live_max_streams_caps_the_sites_open_streams_and_refuses_nonsense() {
    let dir = tempfile::tempdir().unwrap();
    let peer: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let site: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let server = Server::start_with(
        dir.path(),
        peer,
        site,
        &[Path::new("--live-max-streams"), Path::new("3")],
    );
    // Three phones hold the live page open (one address: under its own cap of 200) …
    let held: Vec<_> = (0..3).map(|_| open_live(site)).collect();
    for (_, status) in &held {
        assert!(status.contains(" 200 "), "{status}");
    }
    // … and the fourth is told the site is full, not left hanging.
    let (_, status) = open_live(site);
    assert!(status.contains(" 503 "), "{status}");
    // The rest of the site still answers.
    assert!(http_get(site, &site.to_string(), "/api/feed").contains(" 200 "));
    drop(held);
    let (status, log) = server.terminate();
    assert!(status.success(), "{log}");
    assert!(log.contains("live streams capped"), "{log}");

    // Nonsense is refused before anything starts, saying what is allowed.
    let folder = dir.path().to_str().unwrap();
    for (n, says) in [
        ("0", "0 would refuse every phone's live page"),
        ("1000000", "at most 50000"),
        ("lots", "not a whole number"),
    ] {
        let out = guanmo(&["serve", "--data-dir", folder, "--live-max-streams", n]);
        assert!(!out.status.success(), "{n}");
        assert!(stderr(&out).contains(says), "{n}: {}", stderr(&out));
    }
}

/// A certificate for 127.0.0.1 and localhost: its PEM, its key's PEM and its DER.
struct Cert {
    pem: String,
    key: String,
    der: rustls_pki_types::CertificateDer<'static>,
}

fn params() -> rcgen::CertificateParams {
    rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap()
}

fn self_signed() -> Cert {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params().self_signed(&key).unwrap();
    Cert {
        pem: cert.pem(),
        key: key.serialize_pem(),
        der: cert.der().clone(),
    }
}

/// Writes `cert` into `dir` as cert.pem and key.pem; returns `--tls-cert c --tls-key k`.
fn tls_args(dir: &Path, cert: &Cert) -> Vec<std::path::PathBuf> {
    std::fs::write(dir.join("cert.pem"), &cert.pem).unwrap();
    std::fs::write(dir.join("key.pem"), &cert.key).unwrap();
    vec![
        "--tls-cert".into(),
        dir.join("cert.pem"),
        "--tls-key".into(),
        dir.join("key.pem"),
    ]
}

/// `guanmo pairing-code --url url`: the code, the fingerprint line's value, the link.
fn pairing_code(hub: &str, url: &str) -> (String, Option<String>, String) {
    let out = guanmo(&["pairing-code", "--data-dir", hub, "--url", url]);
    assert!(out.status.success(), "{}", stderr(&out));
    let said = stdout(&out);
    let code = said.lines().next().unwrap().to_string();
    let fp = said
        .lines()
        .find_map(|l| l.strip_prefix("certificate SHA-256 (证书指纹) "))
        .map(str::to_string);
    let link = said
        .lines()
        .find(|l| l.starts_with("guanmo://pair?"))
        .unwrap()
        .to_string();
    (code, fp, link)
}

fn media_laptop(dir: &Path) -> (Ctx, MediaStore) {
    let ctx = Ctx::open(dir, Arc::new(SystemClock)).unwrap();
    let media = MediaStore::new(dir).unwrap();
    guanmo_sync::set_role(&ctx, Role::Media, "直播电脑一").unwrap();
    (ctx, media)
}

/// A post published on `ctx`; its id.
fn publish(ctx: &Ctx, body: &str) -> String {
    let draft = guanmo_api::feed::create_draft(
        ctx,
        guanmo_domain::feed::PostInput {
            stop_label: None,
            township_id: None,
            body: body.into(),
            photos: vec![],
            credit: "记者 李明".into(),
        },
    )
    .unwrap();
    guanmo_api::feed::publish_post(ctx, &draft.id, draft.version)
        .unwrap()
        .id
}

fn hub_has_post(data: &Path, id: &str) -> bool {
    let hub = Ctx::open(data, Arc::new(SystemClock)).unwrap();
    guanmo_api::feed::get_post(&hub, id).is_ok()
}

#[test]
fn over_https_a_laptop_pins_the_hubs_certificate_and_a_changed_one_is_refused_until_it_pairs_again()
{
    let hub_dir = tempfile::tempdir().unwrap();
    let data = hub_dir.path();
    let hub = data.to_str().unwrap();
    let certs = tempfile::tempdir().unwrap();
    let first = self_signed();
    let peer: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let site: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let args = tls_args(certs.path(), &first);
    let args: Vec<&Path> = args.iter().map(|p| p.as_path()).collect();
    let server = Server::start_with(data, peer, site, &args);
    let url = format!("https://{peer}");

    // The pairing code comes with the certificate's fingerprint and a link carrying it.
    let (code, fp, link) = pairing_code(hub, &url);
    let fp = fp.expect("the fingerprint is printed beside the code");
    let pin = guanmo_sync::Fingerprint::parse(&fp).unwrap();
    assert_eq!(pin, guanmo_sync::Fingerprint::of_der(&first.der));
    assert_eq!(fp, pin.to_string(), "printed as colon-separated hex");
    assert!(link.ends_with(&format!("&fp={}", pin.hex())), "{link}");

    let laptop_dir = tempfile::tempdir().unwrap();
    let (ctx, media) = media_laptop(laptop_dir.path());

    // Plain http:// to a public address is refused before any connection.
    let e = guanmo_sync::pair_over_http(&ctx, "http://203.0.113.7:8787", &code, None).unwrap_err();
    assert_eq!(e.code, guanmo_api::ErrorCode::InsecureHubAddress, "{e:?}");
    assert_eq!(e.problems[0].location, "主机地址");

    // Without the fingerprint the system's roots decide: a self-signed hub is not trusted.
    let e = guanmo_sync::pair_over_http(&ctx, &url, &code, None).unwrap_err();
    assert_eq!(e.code, guanmo_api::ErrorCode::CertUntrusted, "{e:?}");

    // A wrong fingerprint: refused by the handshake, the code never sent, nothing stored.
    let wrong = guanmo_sync::Fingerprint::of_der(b"another certificate");
    let e = guanmo_sync::pair_over_http(&ctx, &url, &code, Some(&wrong.hex())).unwrap_err();
    assert_eq!(e.code, guanmo_api::ErrorCode::CertChanged, "{e:?}");
    assert_eq!(e.problems[0].location, "证书指纹");
    assert!(
        guanmo_sync::hub_link(&ctx).unwrap().is_none(),
        "no token stored"
    );

    // The right one, typed in lower case with colons: paired, and the pin kept.
    guanmo_sync::pair_over_http(&ctx, &url, &code, Some(&fp.to_lowercase())).unwrap();
    let link = guanmo_sync::hub_link(&ctx).unwrap().unwrap();
    assert_eq!(
        (link.url.as_str(), link.fingerprint),
        (url.as_str(), Some(pin))
    );

    // A post made on the laptop reaches the hub over HTTPS.
    let post = publish(&ctx, "观摩团来到第一站。");
    let report = guanmo_sync::sync_once(&ctx, &media, &link.transport().unwrap(), &|_| {}).unwrap();
    assert!(report.pushed > 0, "{report:?}");
    assert!(hub_has_post(data, &post), "the post is at the hub");

    // The resident site is served over HTTPS too.
    let roots = ureq::tls::RootCerts::new_with_certs(&[ureq::tls::Certificate::from_der(
        first.der.as_ref(),
    )
    .to_owned()]);
    let browser: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
        .http_status_as_error(false)
        .build()
        .into();
    let page = browser.get(format!("https://{site}/")).call().unwrap();
    assert_eq!(page.status(), 200);

    // A token replayed from another device: its own operations are refused, nothing applied.
    let thief_dir = tempfile::tempdir().unwrap();
    let (thief, _) = media_laptop(thief_dir.path());
    let forged = publish(&thief, "冒充的帖子");
    let stolen =
        guanmo_sync::http::HttpTransport::with_trust(&url, Some(link.token.clone()), link.trust())
            .unwrap();
    let ops = thief
        .store()
        .read(|c| guanmo_store::oplog::own_ops_after(c, thief.store().device_id(), 0, 100))
        .unwrap();
    assert!(!ops.is_empty());
    let e = guanmo_sync::Transport::push(&stolen, &guanmo_sync::protocol::PushRequest { ops })
        .unwrap_err();
    assert_eq!(e.code, SyncErrorCode::BadRequest, "{e}");
    assert!(
        !hub_has_post(data, &forged),
        "nothing of the thief's was applied"
    );

    // The hub comes back with another certificate (or someone poses as it): refused, nothing
    // sent, the post made meanwhile stays on the laptop.
    let (status, log) = server.terminate();
    assert!(status.success(), "{log}");
    assert!(log.contains(&fp), "serve logs the fingerprint: {log}");
    let second = self_signed();
    let args = tls_args(certs.path(), &second);
    let args: Vec<&Path> = args.iter().map(|p| p.as_path()).collect();
    let server = Server::start_with(data, peer, site, &args);
    let waiting = publish(&ctx, "观摩团来到第二站。");
    let e = guanmo_sync::sync_once(&ctx, &media, &link.transport().unwrap(), &|_| {}).unwrap_err();
    assert_eq!(e.code, SyncErrorCode::CertChanged, "{e}");
    assert_eq!(
        guanmo_api::ApiError::from(e).code,
        guanmo_api::ErrorCode::CertChanged
    );
    assert!(!hub_has_post(data, &waiting), "nothing was sent");
    // The scheduler's path says the same.
    let e = guanmo_sync::auto::http_exchange(&ctx, &media, &|_| {}).unwrap_err();
    assert_eq!(e.code, guanmo_api::ErrorCode::CertChanged);

    // A new code with the new fingerprint re-pins (the laptop re-pairs with its own key).
    let (code, fp2, _) = pairing_code(hub, &url);
    let fp2 = fp2.unwrap();
    assert_ne!(fp2, fp);
    guanmo_sync::pair_over_http(&ctx, &url, &code, Some(&fp2.replace(':', ""))).unwrap();
    let link = guanmo_sync::hub_link(&ctx).unwrap().unwrap();
    assert_eq!(link.fingerprint, guanmo_sync::Fingerprint::parse(&fp2));
    guanmo_sync::auto::http_exchange(&ctx, &media, &|_| {}).unwrap();
    assert!(hub_has_post(data, &waiting), "the waiting post went out");

    let (status, log) = server.terminate();
    assert!(status.success(), "{log}");
}

#[test]
fn an_expired_certificate_is_refused_where_the_same_ca_s_valid_one_is_trusted() {
    // A hub served the way `guanmo serve --tls-cert` serves it, in this process.
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = Ctx::open(hub_dir.path(), Arc::new(SystemClock)).unwrap();
    guanmo_sync::set_role(&hub, Role::Hub, "主机").unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();

    let mut ca_params = params();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
        .unwrap();
    let roots = guanmo_sync::HubTrust::Roots(Arc::new(vec![ca.der().clone()]));

    let issue = |expired: bool| {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = params();
        if expired {
            p.not_before = rcgen::date_time_ymd(2020, 1, 1);
            p.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let cert = p.signed_by(&key, &ca).unwrap();
        let chain = vec![cert.der().clone(), ca.der().clone()];
        let key = rustls_pki_types::PrivateKeyDer::try_from(key.serialize_der()).unwrap();
        guanmo_web::TlsIdentity::new(chain, key).unwrap()
    };

    for (expired, want) in [(true, Some(SyncErrorCode::CertUntrusted)), (false, None)] {
        let listener = guanmo_web::Listener::with_tls(
            rt.handle().clone(),
            "peer listener",
            Some(issue(expired)),
        );
        let router = guanmo_web::peer_router(guanmo_sync::HubService::new(
            hub.clone(),
            hub.media().clone(),
        ));
        let addr = listener
            .start("127.0.0.1:0".parse().unwrap(), router)
            .unwrap();
        let url = format!("https://{addr}");
        let laptop_dir = tempfile::tempdir().unwrap();
        let (ctx, _) = laptop(laptop_dir.path());
        let code = guanmo_sync::new_pairing_code(&hub).unwrap();
        let t = guanmo_sync::http::HttpTransport::with_trust(&url, None, roots.clone()).unwrap();
        let got = guanmo_sync::pair_with_hub(&ctx, &t, &url, &code.code);
        assert_eq!(got.as_ref().err().map(|e| e.code), want, "{got:?}");
        assert_eq!(
            guanmo_sync::hub_link(&ctx).unwrap().is_some(),
            !expired,
            "a token is stored only past a trusted certificate"
        );
        rt.block_on(listener.shutdown());
    }
}
