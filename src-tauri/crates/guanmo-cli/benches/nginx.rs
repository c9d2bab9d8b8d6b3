//! The live site through real nginx, with the shipped site file (`deploy/nginx/`).
//!
//! - Setup: the release `guanmo serve --site --peer` (`CARGO_BIN_EXE_guanmo`) over a fresh hub
//!   folder whose 直播网站设置 trust nginx (`127.0.0.2`, nginx's `proxy_bind`), allow the host
//!   name and raise the per-address comment quota (all load comes from one address), with the
//!   `--live-max-streams` of the shipped systemd unit (`deploy/systemd/guanmo.service`); nginx
//!   as this user with its own prefix in a temp folder, a generated top-level config (with the
//!   `worker_connections` that `guanmo.conf`'s header asks of nginx.conf) that includes the
//!   shipped `guanmo.conf` with only the per-server values replaced (as
//!   `tests/resident/nginx.test.mjs` does), a self-signed certificate made with `openssl`. A
//!   直播电脑 (in this process, `guanmo_sync`) pairs through nginx over HTTPS pinning the
//!   certificate and publishes posts, as in production.
//! - One change to the shipped snippets, said in the report: the per-address `limit_req_zone`
//!   (50 r/s) is keyed on an empty value, i.e. off, because every load generator here is one
//!   address (127.0.0.1), which in production would be thousands of phones.
//! - (1) Live readers: `READERS` TLS connections to nginx's `/live` (HTTP/1.1), from
//!   `127.0.1.x` (at most `PER_ADDRESS` each, under the app's per-address cap of open streams);
//!   the status of each is counted, the RSS of the app and of nginx taken at that load, then a
//!   post is published on the laptop and the time until each open stream shows it is measured
//!   from the moment publishing starts.
//! - (2) `GET /api/feed` with wrk: through nginx over TLS (micro-cache) vs the app alone
//!   (plain HTTP on its own port), interleaved, `ROUNDS` each; req/s ratio and p99.
//! - (3) `POST /api/comments` through nginx over TLS with wrk and a Lua script, and the app
//!   alone for reference; durable = 2xx (the site answers after the group commit). The site signs
//!   its cookies, and a made-up one counts as cookieless (a twentieth of the address quota, at
//!   most 5,000 at once through 直播网站设置), so the script cycles through `PHONES` cookies the
//!   site signed (fetched first with `GET /api/me`); the address quota is set to the most the
//!   settings accept and the app restarted before each run (see `COMMENT_QUOTA`). The hub
//!   folder's comments are counted afterwards.
//!
//! nginx and the app are pinned to core 0 with `taskset`, this process and wrk to core 1.
//! Needs `nginx`, `wrk`, `openssl`, `taskset`, `prlimit` and 2 cores; 127.0.0.1 only. The
//! open-files limit is raised (`prlimit`) to 65,536, or else to the hard limit: 5,000 readers
//! need about 5,100 here, 5,100 in the app and 10,100 in nginx's worker.
//!
//! Run: `cargo bench -p guanmo-cli --bench nginx`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use guanmo_api::feed;
use guanmo_api::Ctx;
use guanmo_domain::feed::PostInput;
use guanmo_domain::SystemClock;
use guanmo_sync::Role;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};
use tokio::time::timeout;

const HOST: &str = "live.example.cn";
/// The address nginx reaches the app from (`proxy_bind`), the app's only trusted proxy.
const PROXY_ADDR: &str = "127.0.0.2";
const SERVER_CORE: &str = "0";
const CLIENT_CORE: &str = "1";

/// Live readers asked for by the issue.
const READERS: usize = 5_000;
const READERS_ENV: &str = "GUANMO_NGINX_READERS";
/// Readers per source address (`127.0.1.x`, 40 addresses for 5,000 readers): the app admits
/// 200 streams per address (`LiveCaps::per_address`, not a setting), and nginx passes each
/// reader's own address (`X-Forwarded-For` from the trusted proxy), so no address reaches it.
const PER_ADDRESS: usize = 125;
/// nginx's connections per worker: what `deploy/nginx/guanmo.conf`'s header asks of
/// nginx.conf for 5,000 readers (two connections each).
const WORKER_CONNECTIONS: u32 = 16_384;
/// nginx's `worker_rlimit_nofile`: what `guanmo.conf`'s header asks, or less when the bench's
/// own (hard) open-files limit is lower.
const WORKER_RLIMIT_NOFILE: u64 = 32_768;
/// TLS handshakes in flight while the readers connect.
const CONNECTING: usize = 200;
/// A post must reach this share of the open streams …
const REACH_SHARE: f64 = 0.99;
/// … within this time.
const REACH_WITHIN: Duration = Duration::from_secs(2);

const WRK_DURATION: &str = "10s";
const DURATION_ENV: &str = "GUANMO_NGINX_DURATION";
const ROUNDS: usize = 2;
const FEED_CONNECTIONS: u32 = 64;
const COMMENT_CONNECTIONS: u32 = 128;
/// Posts in the feed before the feed runs.
const POSTS: usize = 20;
const FEED_RATIO_GOAL: f64 = 3.0;
const COMMENTS_GOAL: f64 = 5_000.0;
/// The comment quotas for the bench: the most 直播网站设置 accept (per minute and at once) per
/// address (and 1,000 per phone). The address bucket (all load is 127.0.0.1) then allows 100,000 at
/// once plus 1,667/s, about 11,700/s over a 10 s run; the app is restarted before each comment
/// run so every run starts with a full bucket.
const COMMENT_QUOTA: u32 = 100_000;
/// The most a phone may send (per minute and at once) that 直播网站设置 accept.
const PHONE_QUOTA: u32 = 1_000;
/// Signed cookies fetched (`GET /api/me`) before the comment runs; wrk cycles through them.
const PHONES: usize = 20_000;

/// The wrk script: each request carries the next of the signed `gm_id` cookies in the file
/// `args[2]` (phones the site issued a cookie to; a made-up cookie counts as cookieless, and a
/// cookieless address gets a twentieth of the address quota, at most 5,000 at once through
/// 直播网站设置) and its own text; `args[1]` makes every run's texts differ from the others'.
const LUA: &str = r#"-- written by guanmo-cli/benches/nginx.rs
local run = 0
local n = 0
local cookies = {}
local kinds = { "praise", "suggestion", "other" }
local towns = { "宜阳街道", "培元街道", "泉峰街道", "水口山镇", "松柏镇", "柏坊镇", "烟洲镇", "荫田镇" }
init = function(args)
  run = tonumber(args[1]) or 0
  for line in io.lines(args[2]) do
    cookies[#cookies + 1] = line
  end
end
request = function()
  n = n + 1
  local town = towns[n % #towns + 1]
  local text = string.format(
    "第%d场第%d条:%s的产业园规划合理、带动就业效果明显,建议下一站提前安排停车和讲解,让大家看得更细。",
    run, n, town)
  local body = string.format(
    '{"target":"event","nickname":"%s居民%d","kind":"%s","text":"%s","phone":"138%08d"}',
    town, n % 1000, kinds[n % 3 + 1], text, n % 100000000)
  local headers = {
    ["Host"] = wrk.headers["Host"],
    ["Content-Type"] = "application/json",
    ["Cookie"] = "gm_id=" .. cookies[n % #cookies + 1],
  }
  return wrk.format("POST", "/api/comments", headers, body)
end
"#;

fn main() -> ExitCode {
    for tool in ["nginx", "wrk", "openssl", "taskset", "prlimit"] {
        if !in_path(tool) {
            eprintln!("nginx bench: `{tool}` is not on PATH; this bench does not install it");
            return ExitCode::FAILURE;
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 {
        eprintln!("nginx bench: needs 2 cores; found {cores}");
        return ExitCode::FAILURE;
    }
    let pid = std::process::id().to_string();
    // More descriptors for this process and what it starts (nginx, the app), if allowed.
    let raised = Command::new("prlimit")
        .args(["--pid", &pid, "--nofile=65536:65536"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        // Not permitted above the hard limit: the soft one up to it, then.
        || open_files(4).is_some_and(|hard| {
            Command::new("prlimit")
                .args(["--pid", &pid, &format!("--nofile={hard}:")])
                .status()
                .is_ok_and(|s| s.success())
        });
    let pinned = Command::new("taskset")
        .args(["-a", "-p", "-c", CLIENT_CORE, &pid])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !pinned {
        eprintln!("nginx bench: could not pin this process to core {CLIENT_CORE}");
        return ExitCode::FAILURE;
    }
    let nofile = open_files(3);
    let nofile_hard = open_files(4);
    eprintln!("open files limit: {nofile:?} (hard {nofile_hard:?}; raised: {raised})");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(nofile))
}

/// Word `i` of the "Max open files" line of `/proc/self/limits`: 3 the soft limit, 4 the hard.
fn open_files(i: usize) -> Option<u64> {
    std::fs::read_to_string("/proc/self/limits")
        .ok()?
        .lines()
        .find(|l| l.starts_with("Max open files"))?
        .split_whitespace()
        .nth(i)?
        .parse()
        .ok()
}

/// The `--live-max-streams` of the shipped systemd unit's `ExecStart`.
fn shipped_live_max_streams(unit: &Path) -> String {
    let text = std::fs::read_to_string(unit).unwrap();
    let exec = text
        .lines()
        .find(|l| l.starts_with("ExecStart="))
        .expect("the unit has an ExecStart");
    let mut words = exec.split_whitespace();
    words
        .find(|w| *w == "--live-max-streams")
        .and_then(|_| words.next())
        .expect("the unit's ExecStart sets --live-max-streams")
        .to_string()
}

fn in_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A size from `/proc/<pid>/status` (`VmRSS:`, `VmHWM:`) in MiB.
fn status_mib(pid: u32, key: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The children of `pid` (nginx's workers).
fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// The app's and nginx's (master + workers) resident sets, in MiB.
struct Rss {
    app: f64,
    nginx: f64,
}

fn rss(app: u32, nginx: u32) -> Rss {
    Rss {
        app: status_mib(app, "VmRSS:"),
        nginx: std::iter::once(nginx)
            .chain(children(nginx))
            .map(|p| status_mib(p, "VmRSS:"))
            .sum(),
    }
}

/// Stops what it started when dropped: nginx gracefully (`QUIT`), the app with `TERM`.
struct Procs {
    nginx: Option<Child>,
    serve: Option<Child>,
}

fn signal_and_wait(child: &mut Child, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        if Instant::now() > deadline {
            eprintln!("{} did not stop within 15 s; killing it", child.id());
            let _ = child.kill();
            let _ = child.wait();
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Procs {
    fn stop(&mut self) {
        if let Some(mut n) = self.nginx.take() {
            let workers = children(n.id());
            signal_and_wait(&mut n, "-QUIT");
            for w in workers {
                // A worker left behind (it should go with the master).
                if std::fs::metadata(format!("/proc/{w}")).is_ok() {
                    let _ = Command::new("kill")
                        .args(["-KILL", &w.to_string()])
                        .status();
                }
            }
        }
        if let Some(mut s) = self.serve.take() {
            signal_and_wait(&mut s, "-TERM");
        }
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The shipped site file with this run's values in place of the production ones.
fn site_file(deploy: &Path, p: &Ports, dir: &Path) -> String {
    let mut text = std::fs::read_to_string(deploy.join("guanmo.conf")).unwrap();
    let replacements = [
        (
            "listen 80;".to_string(),
            format!("listen 127.0.0.1:{};", p.http),
        ),
        ("listen [::]:80;".into(), String::new()),
        (
            "listen 443 ssl http2;".into(),
            format!("listen 127.0.0.1:{} ssl http2;", p.https),
        ),
        ("listen [::]:443 ssl http2;".into(), String::new()),
        (
            format!("/etc/letsencrypt/live/{HOST}/fullchain.pem"),
            dir.join("cert.pem").display().to_string(),
        ),
        (
            format!("/etc/letsencrypt/live/{HOST}/privkey.pem"),
            dir.join("key.pem").display().to_string(),
        ),
        (
            "server 127.0.0.1:8080;".into(),
            format!("server 127.0.0.1:{};", p.site),
        ),
        (
            "server 127.0.0.1:8787;".into(),
            format!("server 127.0.0.1:{};", p.peer),
        ),
        (
            "/var/cache/nginx/guanmo".into(),
            dir.join("nginx").join("cache").display().to_string(),
        ),
    ];
    for (from, to) in replacements {
        assert_eq!(
            text.matches(&from).count(),
            1,
            "guanmo.conf has {from} once"
        );
        text = text.replace(&from, &to);
    }
    text
}

/// The shipped http snippet with the per-address limit keyed on an empty value (off): every
/// load generator of this bench is one address.
fn http_snippet(deploy: &Path) -> String {
    let text = std::fs::read_to_string(deploy.join("snippets").join("guanmo-http.conf")).unwrap();
    let from = "limit_req_zone $binary_remote_addr ";
    assert_eq!(
        text.matches(from).count(),
        1,
        "guanmo-http.conf has {from} once"
    );
    text.replace(from, "limit_req_zone $guanmo_bench_no_limit ")
}

fn nginx_conf(prefix: &Path, rlimit_nofile: u64) -> String {
    let p = prefix.display();
    format!(
        "# Made by guanmo-cli/benches/nginx.rs around the shipped site file.
worker_processes 1;
worker_rlimit_nofile {rlimit_nofile};
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{ worker_connections {WORKER_CONNECTIONS}; }}
http {{
  access_log {p}/access.log combined buffer=64k flush=1s;
  client_body_temp_path {p}/body;
  proxy_temp_path {p}/proxy;
  fastcgi_temp_path {p}/fastcgi;
  uwsgi_temp_path {p}/uwsgi;
  scgi_temp_path {p}/scgi;
  # The bench's own lines: nginx reaches the app from {PROXY_ADDR}; the outer per-address
  # limit is off (its key is empty), as all load comes from 127.0.0.1.
  proxy_bind {PROXY_ADDR};
  map $remote_addr $guanmo_bench_no_limit {{ default \"\"; }}
  include sites-enabled/guanmo.conf;
}}
"
    )
}

/// `guanmo serve` on `hub` with `--live-max-streams live_max`, pinned to the server core, its
/// log appended to `log`; returns once both listeners answer.
async fn spawn_serve(
    guanmo: &Path,
    hub: &Path,
    ports: &Ports,
    live_max: &str,
    log: &Path,
) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let child = Command::new("taskset")
        .args(["-c", SERVER_CORE])
        .arg(guanmo)
        .args(["serve", "--data-dir"])
        .arg(hub)
        .args(["--peer", &format!("127.0.0.1:{}", ports.peer)])
        .args(["--site", &format!("127.0.0.1:{}", ports.site)])
        .args(["--site-host", HOST])
        .args(["--live-max-streams", live_max])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    wait_listening(ports.site).await;
    wait_listening(ports.peer).await;
    child
}

/// `n` cookies the site signed, from `GET /api/me` on the app (4 threads, keep-alive).
fn harvest_cookies(port: u16, n: usize) -> Vec<String> {
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                let config = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .proxy(None)
                    .build();
                let agent: ureq::Agent = config.into();
                let url = format!("http://127.0.0.1:{port}/api/me");
                let mut got = Vec::new();
                for _ in (t..n).step_by(4) {
                    let r = agent.get(&url).call().unwrap();
                    let cookie = r
                        .headers()
                        .get_all("set-cookie")
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .find_map(|v| v.strip_prefix("gm_id="))
                        .and_then(|v| v.split(';').next())
                        .map(str::to_string);
                    got.push(cookie.expect("GET /api/me issues a cookie"));
                }
                got
            })
        })
        .collect();
    threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect()
}

struct Ports {
    http: u16,
    https: u16,
    site: u16,
    peer: u16,
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// ---------------------------------------------------------------------------------------
// The 直播电脑: pairs through nginx and publishes, on its own thread (blocking calls).
// ---------------------------------------------------------------------------------------

struct Laptop {
    tx: std::sync::mpsc::Sender<(String, oneshot::Sender<Result<(), String>>)>,
}

impl Laptop {
    fn start(url: String, code: String, fingerprint: String) -> Laptop {
        let (tx, rx) = std::sync::mpsc::channel::<(String, oneshot::Sender<Result<(), String>>)>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let dir = tempfile::tempdir().unwrap();
            let ctx = Ctx::open(dir.path(), Arc::new(SystemClock)).unwrap();
            let media = ctx.media().clone();
            guanmo_sync::set_role(&ctx, Role::Media, "直播电脑").unwrap();
            let paired = guanmo_sync::pair_over_http(&ctx, &url, &code, Some(&fingerprint))
                .map(|_| ())
                .map_err(|e| e.message);
            ready_tx.send(paired).unwrap();
            for (text, reply) in rx {
                let result = (|| {
                    let draft = feed::create_draft(
                        &ctx,
                        PostInput {
                            stop_label: Some("【第1站·宜阳街道】".into()),
                            township_id: None,
                            body: text,
                            photos: vec![],
                            credit: "记者 测试 摄".into(),
                        },
                    )
                    .map_err(|e| e.message)?;
                    feed::publish_post(&ctx, &draft.id, draft.version).map_err(|e| e.message)?;
                    let report = guanmo_sync::auto::http_exchange(&ctx, &media, &|_| {})
                        .map_err(|e| e.message)?;
                    if report.pushed == 0 {
                        return Err("the hub confirmed nothing".to_string());
                    }
                    Ok(())
                })();
                let _ = reply.send(result);
            }
        });
        ready_rx
            .recv()
            .unwrap()
            .expect("the laptop pairs through nginx");
        Laptop { tx }
    }

    /// Publishes `text` and returns once the hub has confirmed it.
    async fn publish(&self, text: &str) {
        let (tx, rx) = oneshot::channel();
        self.tx.send((text.to_string(), tx)).unwrap();
        rx.await.unwrap().expect("publish");
    }
}

// ---------------------------------------------------------------------------------------
// Live readers (TLS to nginx, HTTP/1.1, one stream each).
// ---------------------------------------------------------------------------------------

/// The readers check no certificate: this bench made it.
#[derive(Debug)]
struct AnyCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn tls_connector() -> tokio_rustls::TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert(provider)))
        .with_no_client_auth();
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// How one reader's connection went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opened {
    Status(u16),
    Failed,
}

/// What every reader shares: how to connect, and the channels to the bench.
#[derive(Clone)]
struct ReaderLinks {
    connector: tokio_rustls::TlsConnector,
    port: u16,
    /// Handshakes in flight.
    gate: Arc<Semaphore>,
    /// How the connection went.
    opened: mpsc::UnboundedSender<Opened>,
    /// The bytes that mark the measured post.
    marker: watch::Receiver<Option<Vec<u8>>>,
    /// When the marker arrived.
    seen: mpsc::UnboundedSender<Instant>,
    stop: watch::Receiver<bool>,
}

/// One reader: connects from `local`, opens `/live`, reports the status; while open, reports
/// the first time the marker arrives; holds the stream until `stop` turns true.
async fn reader(links: ReaderLinks, local: Ipv4Addr) {
    let ReaderLinks {
        connector,
        port,
        gate,
        opened,
        mut marker,
        seen,
        mut stop,
    } = links;
    let permit = gate.acquire_owned().await.unwrap();
    let connect = async {
        let socket = TcpSocket::new_v4().ok()?;
        socket.bind(SocketAddr::from((local, 0))).ok()?;
        let tcp = socket
            .connect(SocketAddr::from(([127, 0, 0, 1], port)))
            .await
            .ok()?;
        let name = ServerName::try_from(HOST).ok()?;
        let mut tls = connector.connect(name, tcp).await.ok()?;
        let req = format!(
            "GET /live HTTP/1.1\r\nHost: {HOST}\r\nAccept: text/event-stream\r\n\
             User-Agent: guanmo-nginx-bench\r\n\r\n"
        );
        tls.write_all(req.as_bytes()).await.ok()?;
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tls.read(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let status: u16 = String::from_utf8_lossy(&head)
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Some((tls, status))
    };
    let result = timeout(Duration::from_secs(60), connect)
        .await
        .ok()
        .flatten();
    drop(permit);
    let Some((mut tls, status)) = result else {
        let _ = opened.send(Opened::Failed);
        return;
    };
    let _ = opened.send(Opened::Status(status));
    if status != 200 {
        return;
    }
    let mut window: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 8192];
    let mut reported = false;
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = marker.changed() => {}
            r = tls.read(&mut buf) => match r {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    window.extend_from_slice(&buf[..n]);
                    if window.len() > 65_536 {
                        window.drain(..window.len() - 4096);
                    }
                }
            },
        }
        if reported {
            continue;
        }
        let m = marker.borrow().clone();
        if let Some(m) = m {
            if window.windows(m.len()).any(|w| w == m.as_slice()) {
                reported = true;
                let _ = seen.send(Instant::now());
                window.clear();
            }
        } else {
            window.clear();
        }
    }
}

struct LiveResult {
    asked: usize,
    statuses: Vec<(String, usize)>,
    open: usize,
    connect_s: f64,
    rss_idle: Rss,
    rss_open: Rss,
    publish_ms: f64,
    reached: Vec<f64>,
    load: String,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

async fn live_readers(
    n: usize,
    port: u16,
    laptop: &Laptop,
    app_pid: u32,
    nginx_pid: u32,
) -> LiveResult {
    let rss_idle = rss(app_pid, nginx_pid);
    let connector = tls_connector();
    let gate = Arc::new(Semaphore::new(CONNECTING));
    let (opened_tx, mut opened_rx) = mpsc::unbounded_channel();
    let (seen_tx, mut seen_rx) = mpsc::unbounded_channel();
    let (marker_tx, marker_rx) = watch::channel::<Option<Vec<u8>>>(None);
    let (stop_tx, stop_rx) = watch::channel(false);
    let links = ReaderLinks {
        connector,
        port,
        gate,
        opened: opened_tx,
        marker: marker_rx,
        seen: seen_tx,
        stop: stop_rx,
    };
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let local = Ipv4Addr::new(127, 0, 1, 1 + (i / PER_ADDRESS) as u8);
        tasks.push(tokio::spawn(reader(links.clone(), local)));
    }
    drop(links);
    let mut statuses: std::collections::BTreeMap<String, usize> = Default::default();
    let mut open = 0;
    let mut done = 0;
    while let Some(o) = opened_rx.recv().await {
        let key = match o {
            Opened::Status(200) => {
                open += 1;
                "200".to_string()
            }
            Opened::Status(s) => s.to_string(),
            Opened::Failed => "connection failed".to_string(),
        };
        *statuses.entry(key).or_default() += 1;
        done += 1;
        if done == n {
            break;
        }
    }
    let connect_s = started.elapsed().as_secs_f64();
    eprintln!("live: {open} of {n} streams open after {connect_s:.1} s: {statuses:?}");
    // Let the streams settle (first keep-alive comment sent) before measuring.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_open = rss(app_pid, nginx_pid);
    let load = load_average();

    let tag = format!("nginx-bench-post-{}", std::process::id());
    marker_tx.send(Some(tag.clone().into_bytes())).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t0 = Instant::now();
    laptop
        .publish(&format!("{tag} 第3站:松柏镇化工园区安全生产与绿色转型。"))
        .await;
    let publish_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let mut reached = Vec::with_capacity(open);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while reached.len() < open {
        match tokio::time::timeout_at(deadline, seen_rx.recv()).await {
            Ok(Some(at)) => reached.push(at.saturating_duration_since(t0).as_secs_f64() * 1000.0),
            _ => break,
        }
    }
    reached.sort_by(f64::total_cmp);
    stop_tx.send(true).unwrap();
    for t in tasks {
        let _ = t.await;
    }
    LiveResult {
        asked: n,
        statuses: statuses.into_iter().collect(),
        open,
        connect_s,
        rss_idle,
        rss_open,
        publish_ms,
        reached,
        load,
    }
}

// ---------------------------------------------------------------------------------------
// wrk.
// ---------------------------------------------------------------------------------------

struct WrkResult {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
    non_2xx_3xx: u64,
    socket_errors: String,
}

impl WrkResult {
    /// 2xx responses per second (the site sends no 3xx on these routes).
    fn ok_rate(&self) -> f64 {
        self.requests.saturating_sub(self.non_2xx_3xx) as f64 / self.requests.max(1) as f64
            * self.rps
    }
}

fn to_ms(v: &str) -> f64 {
    let (num, mul) = if let Some(n) = v.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = v.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        (v, f64::NAN)
    };
    num.parse::<f64>().map_or(f64::NAN, |n| n * mul)
}

fn parse_wrk(out: &str) -> WrkResult {
    let mut r = WrkResult {
        rps: f64::NAN,
        p50_ms: f64::NAN,
        p99_ms: f64::NAN,
        requests: 0,
        non_2xx_3xx: 0,
        socket_errors: "0".into(),
    };
    for line in out.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", v] => r.rps = v.parse().unwrap_or(f64::NAN),
            ["50%", v] => r.p50_ms = to_ms(v),
            ["99%", v] => r.p99_ms = to_ms(v),
            [n, "requests", "in", ..] => r.requests = n.parse().unwrap_or(0),
            ["Non-2xx", "or", "3xx", "responses:", n] => r.non_2xx_3xx = n.parse().unwrap_or(0),
            ["Socket", "errors:", rest @ ..] => r.socket_errors = rest.join(" "),
            _ => {}
        }
    }
    r
}

/// wrk's arguments (after `taskset -c 1`).
/// A command line as a shell would take it (arguments with spaces quoted).
fn shell_line(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            if a.contains(' ') {
                format!("'{a}'")
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn wrk_args(
    url: &str,
    host: &str,
    c: u32,
    duration: &str,
    script: Option<(&str, &str, &str)>,
) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "wrk".into(),
        "-t1".into(),
        format!("-c{c}"),
        format!("-d{duration}"),
        "--latency".into(),
        "--timeout".into(),
        "5s".into(),
        "-H".into(),
        format!("Host: {host}"),
        "-H".into(),
        "Accept-Encoding: gzip, deflate, br".into(),
    ];
    if let Some((path, _, _)) = script {
        a.push("-s".into());
        a.push(path.into());
    }
    a.push(url.into());
    if let Some((_, run, cookies)) = script {
        a.push("--".into());
        a.push(run.into());
        a.push(cookies.into());
    }
    a
}

async fn wrk(args: &[String]) -> WrkResult {
    let out = tokio::process::Command::new("taskset")
        .args(["-c", CLIENT_CORE])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_wrk(&text)
}

struct WrkRow {
    round: usize,
    what: &'static str,
    r: WrkResult,
    rss: Rss,
    cpu: Cpu,
    load: String,
}

/// CPU time (user + system) of `pid`, in clock ticks (100 a second on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    get(11) + get(12)
}

/// Busy and total ticks of each core (`/proc/stat`).
fn core_ticks() -> Vec<(u64, u64)> {
    std::fs::read_to_string("/proc/stat")
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
        .map(|l| {
            let v: Vec<u64> = l
                .split_whitespace()
                .skip(1)
                .filter_map(|x| x.parse().ok())
                .collect();
            let total: u64 = v.iter().take(8).sum();
            // idle and iowait
            let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
            (total - idle, total)
        })
        .collect()
}

/// CPU use over one wrk run, in % of one core.
struct Cpu {
    app: f64,
    nginx: f64,
    core0: f64,
    core1: f64,
}

struct CpuMark {
    at: Instant,
    app: u64,
    nginx: u64,
    cores: Vec<(u64, u64)>,
}

impl CpuMark {
    fn new(app: u32, nginx: u32) -> CpuMark {
        CpuMark {
            at: Instant::now(),
            app: cpu_ticks(app),
            nginx: std::iter::once(nginx)
                .chain(children(nginx))
                .map(cpu_ticks)
                .sum(),
            cores: core_ticks(),
        }
    }

    fn since(&self, app: u32, nginx: u32) -> Cpu {
        let now = CpuMark::new(app, nginx);
        let secs = now.at.duration_since(self.at).as_secs_f64().max(0.001);
        let core = |i: usize| match (self.cores.get(i), now.cores.get(i)) {
            (Some(a), Some(b)) if b.1 > a.1 => (b.0 - a.0) as f64 / (b.1 - a.1) as f64 * 100.0,
            _ => f64::NAN,
        };
        Cpu {
            app: now.app.saturating_sub(self.app) as f64 / secs,
            nginx: now.nginx.saturating_sub(self.nginx) as f64 / secs,
            core0: core(0),
            core1: core(1),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The run.
// ---------------------------------------------------------------------------------------

async fn run(nofile: Option<u64>) -> ExitCode {
    let load_start = load_average();
    let uptime_start = run_ok(&mut Command::new("uptime")).trim().to_string();
    let guanmo = PathBuf::from(env!("CARGO_BIN_EXE_guanmo"));
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join("nginx");
    let live_max = shipped_live_max_streams(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("deploy")
            .join("systemd")
            .join("guanmo.service"),
    );
    // Below the bench's own limit, which nginx inherits (it may raise only up to the hard one).
    let rlimit_nofile = nofile.map_or(WORKER_RLIMIT_NOFILE, |n| n.min(WORKER_RLIMIT_NOFILE));
    let duration = std::env::var(DURATION_ENV).unwrap_or_else(|_| WRK_DURATION.to_string());
    let readers: usize = std::env::var(READERS_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(READERS);

    let tmp = tempfile::Builder::new()
        .prefix("guanmo-nginx-bench-")
        .tempdir()
        .unwrap();
    let dir = tmp.path().to_path_buf();
    // nginx started by root runs its workers as nobody: they must reach the folders.
    run_ok(Command::new("chmod").arg("755").arg(&dir));
    let ports = Ports {
        http: free_port(),
        https: free_port(),
        site: free_port(),
        peer: free_port(),
    };

    // The certificate, and its fingerprint as the organiser reads it off.
    run_ok(
        Command::new("openssl")
            .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
            .args([
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &dir.join("key.pem").display().to_string(),
                "-out",
                &dir.join("cert.pem").display().to_string(),
                "-days",
                "2",
                "-subj",
                &format!("/CN={HOST}"),
                "-addext",
                &format!("subjectAltName=DNS:{HOST}"),
            ]),
    );
    let printed = run_ok(
        Command::new("openssl")
            .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
            .arg(dir.join("cert.pem")),
    );
    let fingerprint = printed.trim().split('=').nth(1).unwrap().to_string();

    // The hub, with 直播网站设置 for the bench.
    let hub = dir.join("hub");
    std::fs::create_dir_all(&hub).unwrap();
    let settings = serde_json::json!({
        "trustedProxies": [PROXY_ADDR],
        "extraHosts": [HOST],
        "comments": {
            "phonePerMinute": PHONE_QUOTA,
            "phoneBurst": PHONE_QUOTA,
            "ipPerMinute": COMMENT_QUOTA,
            "ipBurst": COMMENT_QUOTA,
        },
    });
    std::fs::write(dir.join("site.json"), settings.to_string()).unwrap();
    run_ok(
        Command::new(&guanmo)
            .args(["site-settings", "--data-dir"])
            .arg(&hub)
            .arg("--set")
            .arg(dir.join("site.json")),
    );
    let code = run_ok(
        Command::new(&guanmo)
            .args(["pairing-code", "--data-dir"])
            .arg(&hub),
    )
    .lines()
    .next()
    .unwrap()
    .trim()
    .to_string();

    let mut procs = Procs {
        nginx: None,
        serve: None,
    };
    let serve_log = dir.join("serve.log");
    procs.serve = Some(spawn_serve(&guanmo, &hub, &ports, &live_max, &serve_log).await);
    let mut app_pid = procs.serve.as_ref().unwrap().id();

    let prefix = dir.join("nginx");
    std::fs::create_dir_all(prefix.join("sites-enabled")).unwrap();
    std::fs::create_dir_all(prefix.join("snippets")).unwrap();
    run_ok(Command::new("chmod").arg("755").arg(&prefix));
    std::os::unix::fs::symlink(
        deploy.join("snippets").join("guanmo-site.conf"),
        prefix.join("snippets").join("guanmo-site.conf"),
    )
    .unwrap();
    std::fs::write(
        prefix.join("snippets").join("guanmo-http.conf"),
        http_snippet(&deploy),
    )
    .unwrap();
    std::fs::write(
        prefix.join("sites-enabled").join("guanmo.conf"),
        site_file(&deploy, &ports, &dir),
    )
    .unwrap();
    std::fs::write(
        prefix.join("nginx.conf"),
        nginx_conf(&prefix, rlimit_nofile),
    )
    .unwrap();
    let conf = prefix.join("nginx.conf");
    run_ok(
        Command::new("nginx")
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(&conf)
            .arg("-t")
            .stderr(Stdio::null()),
    );
    procs.nginx = Some(
        Command::new("taskset")
            .args(["-c", SERVER_CORE])
            .arg("nginx")
            .arg("-p")
            .arg(&prefix)
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // taskset execs nginx: the child's pid is nginx's master.
    let nginx_pid = procs.nginx.as_ref().unwrap().id();
    wait_listening(ports.https).await;

    eprintln!("pairing the laptop through nginx…");
    let laptop = Laptop::start(
        format!("https://127.0.0.1:{}", ports.https),
        code,
        fingerprint,
    );

    // (1) Live readers.
    eprintln!("opening {readers} live streams through nginx…");
    let live = live_readers(readers, ports.https, &laptop, app_pid, nginx_pid).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    // (2) The feed.
    eprintln!("publishing {POSTS} posts…");
    for i in 0..POSTS {
        laptop
            .publish(&format!(
                "第{}站:观摩团走进乡镇,产业项目、民生实事和基层治理一一展示,现场气氛热烈。",
                i + 4
            ))
            .await;
    }
    let nginx_feed = format!("https://127.0.0.1:{}/api/feed", ports.https);
    let app_feed = format!("http://127.0.0.1:{}/api/feed", ports.site);
    let app_host = format!("127.0.0.1:{}", ports.site);
    // The micro-cache answers (X-Cache-Status).
    let cache_status = run_ok(Command::new("curl").args([
        "-sk",
        "-o",
        "/dev/null",
        "-o",
        "/dev/null",
        "-D",
        "-",
        "-H",
        &format!("Host: {HOST}"),
        "-H",
        "Accept-Encoding: gzip, deflate, br",
        &nginx_feed,
        &nginx_feed,
    ]));
    let cache_lines: Vec<String> = cache_status
        .lines()
        .filter(|l| l.to_ascii_lowercase().starts_with("x-cache-status") || l.starts_with("HTTP/"))
        .map(|l| l.trim().to_string())
        .collect();
    eprintln!("feed through nginx: {cache_lines:?}");
    eprintln!("warming up the feed (3 s each)…");
    wrk(&wrk_args(&nginx_feed, HOST, FEED_CONNECTIONS, "3s", None)).await;
    wrk(&wrk_args(
        &app_feed,
        &app_host,
        FEED_CONNECTIONS,
        "3s",
        None,
    ))
    .await;
    let mut feed_rows = Vec::new();
    for round in 1..=ROUNDS {
        for (what, url, host) in [
            ("nginx + micro-cache (TLS)", &nginx_feed, HOST),
            ("app alone (plain HTTP)", &app_feed, app_host.as_str()),
        ] {
            eprintln!("feed round {round}: {what}");
            let mark = CpuMark::new(app_pid, nginx_pid);
            let r = wrk(&wrk_args(url, host, FEED_CONNECTIONS, &duration, None)).await;
            feed_rows.push(WrkRow {
                round,
                what,
                r,
                cpu: mark.since(app_pid, nginx_pid),
                rss: rss(app_pid, nginx_pid),
                load: load_average(),
            });
        }
    }

    // (3) Comments.
    eprintln!("fetching {PHONES} signed cookies…");
    let cookies = harvest_cookies(ports.site, PHONES);
    let cookie_file = dir.join("cookies.txt");
    std::fs::write(&cookie_file, cookies.join("\n") + "\n").unwrap();
    let cookies = cookie_file.display().to_string();
    let script = dir.join("comments.lua");
    std::fs::write(&script, LUA).unwrap();
    let script = script.display().to_string();
    let nginx_comments = format!("https://127.0.0.1:{}/api/comments", ports.https);
    let app_comments = format!("http://127.0.0.1:{}/api/comments", ports.site);
    let mut run_no = 0;
    let mut acked: u64 = 0;
    eprintln!("warming up comments (3 s)…");
    run_no += 1;
    let w = wrk(&wrk_args(
        &nginx_comments,
        HOST,
        16,
        "3s",
        Some((&script, &run_no.to_string(), &cookies)),
    ))
    .await;
    acked += w.requests.saturating_sub(w.non_2xx_3xx);
    let mut comment_rows = Vec::new();
    for round in 1..=ROUNDS {
        for (what, url, host) in [
            ("nginx (TLS)", &nginx_comments, HOST),
            ("app alone (plain HTTP)", &app_comments, app_host.as_str()),
        ] {
            // A fresh app over the same folder: the address bucket starts full.
            if let Some(mut old) = procs.serve.take() {
                signal_and_wait(&mut old, "-TERM");
            }
            procs.serve = Some(spawn_serve(&guanmo, &hub, &ports, &live_max, &serve_log).await);
            app_pid = procs.serve.as_ref().unwrap().id();
            eprintln!("comments round {round}: {what}");
            run_no += 1;
            let mark = CpuMark::new(app_pid, nginx_pid);
            let r = wrk(&wrk_args(
                url,
                host,
                COMMENT_CONNECTIONS,
                &duration,
                Some((&script, &run_no.to_string(), &cookies)),
            ))
            .await;
            acked += r.requests.saturating_sub(r.non_2xx_3xx);
            comment_rows.push(WrkRow {
                round,
                what,
                r,
                cpu: mark.since(app_pid, nginx_pid),
                rss: rss(app_pid, nginx_pid),
                load: load_average(),
            });
            // Let the group commit drain before the next run.
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    drop(laptop);
    procs.stop();
    let ctx = Ctx::open(&hub, Arc::new(SystemClock)).unwrap();
    let stored = u64::from(guanmo_api::comments::overview(&ctx).unwrap().pending);
    drop(ctx);
    let nginx_errors = std::fs::read_to_string(prefix.join("error.log")).unwrap_or_default();
    let nginx_error_list: Vec<&str> = nginx_errors
        .lines()
        .filter(|l| l.contains("[error]") || l.contains("[crit]") || l.contains("[alert]"))
        .collect();
    let nginx_error_lines = nginx_error_list.len();
    let load_end = load_average();
    let uptime_end = run_ok(&mut Command::new("uptime")).trim().to_string();

    // ----- The report -----
    let mut out = String::new();
    let _ = writeln!(out, "\n### Run\n");
    let _ = writeln!(out, "- `uptime` before: `{uptime_start}`");
    let _ = writeln!(out, "- `uptime` after: `{uptime_end}`");
    let _ = writeln!(
        out,
        "- load average at start / end: {load_start} / {load_end}"
    );
    let _ = writeln!(
        out,
        "- open-files limit of the bench (and of nginx and the app it starts): {}; nginx \
         `worker_connections {WORKER_CONNECTIONS}`, `worker_rlimit_nofile {rlimit_nofile}`, \
         1 worker; the app `--live-max-streams {live_max}` (from the shipped systemd unit)",
        nofile.map_or("?".to_string(), |n| n.to_string())
    );
    let _ = writeln!(
        out,
        "- nginx `[error]`/`[crit]`/`[alert]` lines in its error log: {nginx_error_lines}"
    );
    for l in nginx_error_list.iter().take(5) {
        // The part after the pid/connection numbers.
        let msg = l.split_once(": ").map_or(*l, |(_, m)| m);
        let _ = writeln!(out, "  - `{}`", msg.chars().take(200).collect::<String>());
    }
    let _ = writeln!(
        out,
        "- feed through nginx, two requests: {}",
        cache_lines.join(" · ")
    );

    let _ = writeln!(out, "\n### (1) Live readers through nginx (TLS, `/live`)\n");
    let _ = writeln!(out, "| streams asked | answers | open | connect time (s) | app RSS idle → open (MiB) | nginx RSS idle → open (MiB) | publish → hub confirmed (ms) | reached | p50 (ms) | p99 (ms) | max (ms) | within {} s | load avg |", REACH_WITHIN.as_secs());
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let within = live
        .reached
        .iter()
        .filter(|&&ms| ms <= REACH_WITHIN.as_secs_f64() * 1000.0)
        .count();
    let share = within as f64 / live.open.max(1) as f64;
    let _ = writeln!(
        out,
        "| {} | {} | {} | {:.1} | {:.1} → {:.1} | {:.1} → {:.1} | {:.0} | {} | {:.0} | {:.0} | {:.0} | {} ({:.2} %) | {} |",
        live.asked,
        live.statuses.iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", "),
        live.open,
        live.connect_s,
        live.rss_idle.app,
        live.rss_open.app,
        live.rss_idle.nginx,
        live.rss_open.nginx,
        live.publish_ms,
        live.reached.len(),
        percentile(&live.reached, 0.5),
        percentile(&live.reached, 0.99),
        live.reached.last().copied().unwrap_or(f64::NAN),
        within,
        share * 100.0,
        live.load,
    );
    let per_stream = |idle: f64, open: f64| (open - idle) * 1024.0 / live.open.max(1) as f64;
    let _ = writeln!(
        out,
        "\nMemory a stream costs (RSS open − idle, over the open streams): app {:.1} KiB, nginx \
         {:.1} KiB (master + worker summed).",
        per_stream(live.rss_idle.app, live.rss_open.app),
        per_stream(live.rss_idle.nginx, live.rss_open.nginx),
    );

    let table = |out: &mut String, rows: &[WrkRow], ok_col: &str| {
        let _ = writeln!(out, "| round | path | {ok_col} | p50 (ms) | p99 (ms) | responses | non-2xx | socket errors | app CPU (% of a core) | nginx CPU (% of a core) | core 0 / core 1 busy (%) | app RSS (MiB) | nginx RSS (MiB) | load avg after |");
        let _ = writeln!(
            out,
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
        );
        for row in rows {
            let _ = writeln!(
                out,
                "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} | {:.0} | {:.0} | {:.0} / {:.0} | {:.1} | {:.1} | {} |",
                row.round,
                row.what,
                row.r.ok_rate(),
                row.r.p50_ms,
                row.r.p99_ms,
                row.r.requests,
                row.r.non_2xx_3xx,
                row.r.socket_errors,
                row.cpu.app,
                row.cpu.nginx,
                row.cpu.core0,
                row.cpu.core1,
                row.rss.app,
                row.rss.nginx,
                row.load
            );
        }
    };
    let _ = writeln!(
        out,
        "\n### (2) `GET /api/feed`: nginx with the micro-cache vs the app alone\n"
    );
    let _ = writeln!(
        out,
        "wrk: `taskset -c {CLIENT_CORE} {}` (and the same against `http://127.0.0.1:<site>/api/feed`)\n",
        shell_line(&wrk_args("https://127.0.0.1:<https>/api/feed", HOST, FEED_CONNECTIONS, &duration, None))
    );
    table(&mut out, &feed_rows, "2xx req/s");
    let mean = |rows: &[WrkRow], prefix: &str| {
        let v: Vec<f64> = rows
            .iter()
            .filter(|r| r.what.starts_with(prefix))
            .map(|r| r.r.ok_rate())
            .collect();
        v.iter().sum::<f64>() / v.len().max(1) as f64
    };
    let worst_p99 = |rows: &[WrkRow], prefix: &str| {
        rows.iter()
            .filter(|r| r.what.starts_with(prefix))
            .map(|r| r.r.p99_ms)
            .fold(f64::NAN, f64::max)
    };
    let feed_nginx = mean(&feed_rows, "nginx");
    let feed_app = mean(&feed_rows, "app");
    let ratio = feed_nginx / feed_app;

    let _ = writeln!(out, "\n### (3) Durable comments through nginx over TLS\n");
    let _ = writeln!(
        out,
        "wrk: `taskset -c {CLIENT_CORE} {}` (and the same against `http://127.0.0.1:<site>/api/comments`)\n",
        shell_line(&wrk_args("https://127.0.0.1:<https>/api/comments", HOST, COMMENT_CONNECTIONS, &duration, Some(("comments.lua", "<run>", "cookies.txt"))))
    );
    table(&mut out, &comment_rows, "comments/s (2xx)");
    let comments_nginx = mean(&comment_rows, "nginx");
    let comments_app = mean(&comment_rows, "app");
    let _ = writeln!(
        out,
        "\nComments in the hub folder afterwards (pending): {stored}; acknowledged (2xx) over all runs: {acked}{}.",
        if stored >= acked { " — every acknowledged comment is stored" } else { " — **fewer stored than acknowledged**" }
    );

    let _ = writeln!(out, "\n### Verdicts\n");
    let _ = writeln!(out, "| target | measured | verdict |");
    let _ = writeln!(out, "|---|---|---|");
    let live_ok = live.open >= READERS && share >= REACH_SHARE;
    let _ = writeln!(
        out,
        "| {READERS} live readers through nginx, a post reaches 99 % within 2 s | {} streams open of {} asked; {:.2} % reached within 2 s (p99 {:.0} ms) | {} |",
        live.open,
        live.asked,
        share * 100.0,
        percentile(&live.reached, 0.99),
        if live_ok { "met" } else if share >= REACH_SHARE { "delivery met at the open streams; the count **not reached**" } else { "**not met**" }
    );
    let _ = writeln!(
        out,
        "| `/api/feed` nginx vs app alone ≥ {FEED_RATIO_GOAL}× | {feed_nginx:.0} vs {feed_app:.0} req/s = {ratio:.2}×; worst p99 {:.2} vs {:.2} ms | {} |",
        worst_p99(&feed_rows, "nginx"),
        worst_p99(&feed_rows, "app"),
        if ratio >= FEED_RATIO_GOAL { "met" } else { "**not met**" }
    );
    let _ = writeln!(
        out,
        "| durable comments through nginx over TLS ≥ {COMMENTS_GOAL:.0}/s | {comments_nginx:.0}/s (app alone {comments_app:.0}/s) | {} |",
        if comments_nginx >= COMMENTS_GOAL { "met" } else { "**not met**" }
    );
    println!("{out}");
    ExitCode::SUCCESS
}
