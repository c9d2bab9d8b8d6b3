//! Resident comment ingest under load, against a reference in the same run.
//!
//! - `POST /api/comments` of the real server (`public_router` behind `serve`, a fresh temp data
//!   folder, the group-commit `Ingest` of `guanmo_api`) and of a reference: a bare axum POST
//!   handler that parses the same JSON with `serde_json` and hands it to one writer thread,
//!   which inserts every waiting comment (up to 512) into one SQLite table in one transaction
//!   (WAL, `synchronous=FULL`, rusqlite) and answers `201 {"id":…}` after the commit.
//! - Load: `wrk -t1` with a Lua script (written to a temp file) that gives every request its own
//!   `gm_id` cookie (a phone) and its own text, so nothing is collapsed as a duplicate; c = 128
//!   (the target) and c = 16 (for information), 10 s each, real and reference interleaved,
//!   `ROUNDS` times. Acknowledged = 2xx responses; wrk's `Non-2xx or 3xx` is reported apart.
//! - Afterwards the real data folder is opened with `guanmo_api` and its comments counted: there
//!   must be at least as many as were acknowledged.
//!
//! Rate limits: every simulated phone sends one comment, so the per-phone quota (the default,
//! 3 at once) never binds; all of them come from 127.0.0.1, so the per-address quota is raised
//! (see `bench_limits`) — otherwise the site would answer `429` after 150 comments.
//!
//! Both servers run in child processes (this binary re-executed with `GUANMO_COMMENTS_CHILD`),
//! pinned to core 0 with `taskset`; `wrk -t1` and this process are pinned to core 1. Traffic
//! goes to 127.0.0.1 only. The temp folders are on the same file system as `$TMPDIR` (fsync is
//! real only when that is a disk, not tmpfs; the bench prints which). Needs `wrk` and `taskset`
//! (Debian: `apt-get install wrk util-linux`) and 2 cores.
//!
//! Run: `cargo bench -p guanmo-web --bench comments`
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/mod.rs"]
mod support;

use axum::body::Bytes;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use guanmo_api::Ctx;
use guanmo_domain::SystemClock;
use guanmo_web::{public_router, serve, Quotas, RateLimits, WebConfig, WebState};
use rusqlite::{params, Connection, TransactionBehavior};
use serde::Deserialize;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{sync_channel, Receiver, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{
    in_path, load_average, parse_wrk, pass, pin_self, runtime, ChildServer, NoPhotos, WrkResult,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Command;
use tokio::time::timeout;

/// Which server a child process runs: `real` or `reference`.
const CHILD_ENV: &str = "GUANMO_COMMENTS_CHILD";
/// The real server's data folder, or the reference's database file.
const DATA_ENV: &str = "GUANMO_COMMENTS_DATA";

const CONNECTIONS: [u32; 2] = [128, 16];
/// The connection count the target is stated for.
const TARGET_CONNECTIONS: u32 = 128;
const DURATION: &str = "10s";
/// Overrides `DURATION` for a quick smoke run (e.g. `1s`); the reported numbers use 10 s.
const DURATION_ENV: &str = "GUANMO_COMMENTS_DURATION";
/// Interleaved real/reference rounds.
const ROUNDS: usize = 2;
const SERVER_CORE: &str = "0";
const CLIENT_CORE: &str = "1";
/// The reference's batch cap and queue, as the real ingest's.
const REF_MAX_BATCH: usize = 512;
const REF_QUEUE: usize = 8192;

/// Longest wait for a server to go idle after a load run.
const SETTLE_MAX: Duration = Duration::from_secs(15);

/// Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`; 100 on Linux).
fn ticks_per_second() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// Calls of `public_seq` timed after the run.
const SEQ_CALLS: usize = 21;

/// Target from the issue: acknowledged comments per second at c = 128.
const MIN_RATE: f64 = 10_000.0;

fn main() -> ExitCode {
    match std::env::var(CHILD_ENV).as_deref() {
        Ok("real") => child_real(),
        Ok("reference") => child_reference(),
        _ => parent(),
    }
}

// ---------------------------------------------------------------------------------------
// Child processes: the servers.
// ---------------------------------------------------------------------------------------

/// The site's limits for this bench: the default per-phone quota (each simulated phone sends
/// one comment) and a per-address quota that 127.0.0.1 cannot reach in a run.
fn bench_limits() -> RateLimits {
    let defaults = RateLimits::default();
    RateLimits {
        comments: Quotas {
            ip_per_minute: 100_000_000,
            ip_burst: 10_000_000,
            ..defaults.comments
        },
        ..defaults
    }
}

/// Blocks until the parent closes stdin.
async fn until_stdin_closes() {
    tokio::task::spawn_blocking(
        || {
            for _ in std::io::stdin().lock().lines().map_while(Result::ok) {}
        },
    )
    .await
    .unwrap();
}

/// The real resident server over a fresh `GUANMO_COMMENTS_DATA`. Prints `LISTENING <port>`;
/// exits when stdin closes.
fn child_real() -> ExitCode {
    let dir = PathBuf::from(std::env::var(DATA_ENV).unwrap());
    let ctx = Ctx::open(&dir, Arc::new(SystemClock)).unwrap();
    runtime().block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let config = WebConfig {
            allowed_hosts: vec![format!("127.0.0.1:{port}")],
            title: "常宁市2024年度下半年乡镇(街道)工作现场观摩会".into(),
            limits: bench_limits(),
            ..WebConfig::default()
        };
        let state = WebState::new(ctx, Arc::new(NoPhotos), config).unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, public_router(state), async move {
            let _ = stop_rx.await;
        }));
        println!("LISTENING {port}");
        until_stdin_closes().await;
        let _ = stop_tx.send(());
        let _ = timeout(Duration::from_secs(10), server).await;
    });
    ExitCode::SUCCESS
}

/// The comment as the reference parses it (the same fields the real form takes).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefComment {
    target: String,
    nickname: String,
    kind: String,
    text: String,
    phone: String,
}

struct RefJob {
    comment: RefComment,
    cookie: String,
    reply: tokio::sync::oneshot::Sender<Result<String, String>>,
}

/// The reference's writer: takes every waiting comment (up to `REF_MAX_BATCH`), inserts them
/// in one transaction, and answers each after the commit.
fn ref_writer(mut conn: Connection, rx: Receiver<RefJob>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < REF_MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let result = (|| -> rusqlite::Result<Vec<String>> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut ids = Vec::with_capacity(batch.len());
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO comments (id, target, nickname, kind, text, phone, client_key,
                        created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?;
                for job in &batch {
                    let id = uuid::Uuid::now_v7().to_string();
                    let c = &job.comment;
                    stmt.execute(params![
                        id, c.target, c.nickname, c.kind, c.text, c.phone, job.cookie, now
                    ])?;
                    ids.push(id);
                }
            }
            tx.commit()?;
            Ok(ids)
        })();
        match result {
            Ok(ids) => {
                for (job, id) in batch.into_iter().zip(ids) {
                    let _ = job.reply.send(Ok(id));
                }
            }
            Err(e) => {
                for job in batch {
                    let _ = job.reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

fn open_reference_db(path: &Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS comments (
            id TEXT PRIMARY KEY, target TEXT NOT NULL, nickname TEXT NOT NULL,
            kind TEXT NOT NULL, text TEXT NOT NULL, phone TEXT NOT NULL,
            client_key TEXT NOT NULL, created_at TEXT NOT NULL
        ) STRICT;",
    )
    .unwrap();
    conn
}

fn ref_json(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The reference: bare group-commit inserts into `GUANMO_COMMENTS_DATA` (a database file).
/// Prints `LISTENING <port>`; exits when stdin closes.
fn child_reference() -> ExitCode {
    let conn = open_reference_db(Path::new(&std::env::var(DATA_ENV).unwrap()));
    let (queue, rx) = sync_channel::<RefJob>(REF_QUEUE);
    std::thread::spawn(move || ref_writer(conn, rx));
    runtime().block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = Router::new().route(
            "/api/comments",
            post(move |headers: HeaderMap, body: Bytes| {
                let queue = queue.clone();
                async move {
                    let comment: RefComment = match serde_json::from_slice(&body) {
                        Ok(c) => c,
                        Err(_) => return ref_json(StatusCode::BAD_REQUEST, "{}".into()),
                    };
                    let cookie = headers
                        .get(header::COOKIE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    let job = RefJob {
                        comment,
                        cookie,
                        reply: tx,
                    };
                    if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
                        queue.try_send(job)
                    {
                        return ref_json(StatusCode::TOO_MANY_REQUESTS, "{}".into());
                    }
                    match rx.await {
                        Ok(Ok(id)) => ref_json(StatusCode::CREATED, format!("{{\"id\":\"{id}\"}}")),
                        _ => ref_json(StatusCode::INTERNAL_SERVER_ERROR, "{}".into()),
                    }
                }
            }),
        );
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop_rx.await;
                })
                .await
        });
        println!("LISTENING {port}");
        until_stdin_closes().await;
        let _ = stop_tx.send(());
        let _ = timeout(Duration::from_secs(10), server).await;
    });
    ExitCode::SUCCESS
}

// ---------------------------------------------------------------------------------------
// The parent: drives the children and wrk.
// ---------------------------------------------------------------------------------------

/// The file system type `path` is on (from `/proc/mounts`, longest mount point prefix).
fn fs_type(path: &Path) -> String {
    let Ok(mounts) = std::fs::read_to_string("/proc/mounts") else {
        return "?".into();
    };
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3).then(|| (f[1].to_string(), f[0].to_string(), f[2].to_string()))
        })
        .filter(|(mp, _, _)| path.starts_with(mp))
        .max_by_key(|(mp, _, _)| mp.len())
        .map_or_else(
            || "?".into(),
            |(mp, dev, ty)| format!("{ty} ({dev} on {mp})"),
        )
}

fn parent() -> ExitCode {
    for tool in ["wrk", "taskset"] {
        if !in_path(tool) {
            eprintln!(
                "comments bench: `{tool}` is not on PATH. Install it first \
                 (Debian: `apt-get install -y wrk util-linux`); this bench does not install it."
            );
            return ExitCode::FAILURE;
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 {
        eprintln!(
            "comments bench: needs 2 cores (server on core 0, generator on core 1); found {cores}"
        );
        return ExitCode::FAILURE;
    }
    if !pin_self(CLIENT_CORE) {
        eprintln!("comments bench: could not pin this process to core {CLIENT_CORE} with taskset");
        return ExitCode::FAILURE;
    }
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(run())
}

type Server = ChildServer;

impl ChildServer {
    /// The `real` or `reference` server over `data`.
    async fn spawn(kind: &str, data: &Path) -> Server {
        ChildServer::start(
            SERVER_CORE,
            &[(CHILD_ENV, OsStr::new(kind)), (DATA_ENV, data.as_os_str())],
        )
        .await
    }

    /// VmHWM (peak resident set) in MiB.
    fn peak_rss(&self) -> f64 {
        self.status_mib("VmHWM:")
    }

    /// CPU time used so far (user + system), in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        // The fields after the command name, which is in parentheses.
        let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
        let f: Vec<&str> = rest.split_whitespace().collect();
        let get = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        // utime and stime are fields 14 and 15 of stat, 12 and 13 after the name.
        get(11) + get(12)
    }

    /// Waits until the server is idle (under 5 % of a core over a second), at most
    /// `SETTLE_MAX`; how long it stayed busy after the load ended.
    async fn settle(&self) -> Duration {
        let t = Instant::now();
        loop {
            let before = self.cpu_ticks();
            tokio::time::sleep(Duration::from_secs(1)).await;
            let used = self.cpu_ticks() - before;
            if used * 100 < 5 * ticks_per_second() {
                return t.elapsed().saturating_sub(Duration::from_secs(1));
            }
            if t.elapsed() >= SETTLE_MAX {
                return SETTLE_MAX;
            }
        }
    }
}

/// One comment over a fresh connection (`Connection: close`): status and body.
/// Posts one comment as the phone with `cookie`; returns the status, the body and the cookie
/// the site set, if any (it replaces one it did not sign).
async fn post_once(port: u16, cookie: &str, text: &str) -> (u16, String, Option<String>) {
    let body = serde_json::json!({
        "target": "event",
        "nickname": "宜阳居民",
        "kind": "praise",
        "text": text,
        "phone": "13812341234",
    })
    .to_string();
    let req = format!(
        "POST /api/comments HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nCookie: gm_id={cookie}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    timeout(Duration::from_secs(30), s.read_to_end(&mut raw))
        .await
        .expect("response within 30 s")
        .unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let set = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("set-cookie"))
        .and_then(|(_, v)| v.trim().strip_prefix("gm_id="))
        .and_then(|v| v.split(';').next())
        .map(str::to_string);
    (status, body.to_string(), set)
}

/// The wrk script: each request is a new phone (`gm_id`) with its own text. `args[1]` makes
/// the texts and cookies of one wrk run differ from every other run's. Cookies are shaped as
/// the site issues them: the issue time first (here the second the request is made, in ms),
/// then digits that differ per phone.
const LUA: &str = r#"-- written by guanmo-web/benches/comments.rs
local run = 0
local n = 0
local kinds = { "praise", "suggestion", "other" }
local towns = { "宜阳街道", "培元街道", "泉峰街道", "水口山镇", "松柏镇", "柏坊镇", "烟洲镇", "荫田镇" }
init = function(args)
  run = tonumber(args[1]) or 0
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
    ["Cookie"] = string.format("gm_id=%012x%08x%012d", os.time() * 1000, run, n),
  }
  return wrk.format("POST", "/api/comments", headers, body)
end
"#;

impl WrkResult {
    /// Acknowledged comments: responses that were not `Non-2xx or 3xx` (the site sends no 3xx).
    fn acked(&self) -> u64 {
        self.requests.saturating_sub(self.non_2xx_3xx)
    }
}

/// The wrk command line (after `taskset -c 1`).
fn wrk_args(url: &str, script: &str, connections: u32, duration: &str, run: &str) -> Vec<String> {
    vec![
        "wrk".to_string(),
        "-t1".into(),
        format!("-c{connections}"),
        format!("-d{duration}"),
        "--latency".into(),
        "--timeout".into(),
        "5s".into(),
        "-s".into(),
        script.into(),
        url.into(),
        "--".into(),
        run.into(),
    ]
}

async fn wrk(url: &str, script: &str, connections: u32, duration: &str, run: u32) -> WrkResult {
    let args = wrk_args(url, script, connections, duration, &run.to_string());
    let out = timeout(
        Duration::from_secs(120),
        Command::new("taskset")
            .args(["-c", CLIENT_CORE])
            .args(&args)
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("wrk did not finish within 120 s")
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "wrk failed: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = parse_wrk(&text);
    assert!(r.rps.is_finite(), "could not parse wrk's output:\n{text}");
    r
}

struct Row {
    round: String,
    what: &'static str,
    connections: u32,
    r: WrkResult,
    /// The server's VmHWM after this run (MiB; peak since the server started).
    peak_rss: f64,
    /// How long the server kept a core busy after wrk ended.
    busy_after: Duration,
    /// Comments the real server had acknowledged in this folder before the run.
    before: Option<u64>,
    load: String,
}

async fn run() -> ExitCode {
    let started = Instant::now();
    let load_start = load_average();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let ref_db = dir.path().join("reference.sqlite3");
    let script = dir.path().join("comments.lua");
    std::fs::write(&script, LUA).unwrap();
    let script = script.to_string_lossy().into_owned();
    let fs = fs_type(dir.path());

    eprintln!("checking both servers…");
    let real = Server::spawn("real", &data).await;
    let reference = Server::spawn("reference", &ref_db).await;
    // Both answer 201 with an id to a well-formed comment, and the real one collapses a repeat.
    // The first post's made-up cookie is replaced by one the site signs; the repeat carries it.
    let (status, body, signed) = post_once(real.port, &"ab".repeat(16), "测速前的检查评论").await;
    assert_eq!(status, 201, "real server: {body}");
    let signed = signed.expect("the site signs a cookie for a new phone");
    let (status, body, _) = post_once(real.port, &signed, "测速前的检查评论").await;
    assert_eq!(status, 200, "real server, repeat: {body}");
    let (status, body, _) = post_once(reference.port, &"ab".repeat(16), "测速前的检查评论").await;
    assert_eq!(status, 201, "reference: {body}");
    assert!(body.contains("\"id\""), "reference: {body}");
    let mut acked_real: u64 = 1;
    // Each wrk run gets its own number, so no text/cookie repeats across runs.
    let mut run_no: u32 = 0;
    eprintln!("warming up (3 s each)…");
    for server in [&real, &reference] {
        run_no += 1;
        let url = format!("http://127.0.0.1:{}/api/comments", server.port);
        let w = wrk(&url, &script, 16, "3s", run_no).await;
        if server.pid == real.pid {
            acked_real += w.acked();
        }
    }
    real.stop().await;
    reference.stop().await;

    let duration = std::env::var(DURATION_ENV).unwrap_or_else(|_| DURATION.to_string());
    let mut rows: Vec<Row> = Vec::new();
    for round in 1..=ROUNDS {
        for c in CONNECTIONS {
            for (what, path) in [("real", &data), ("reference", &ref_db)] {
                // A fresh process per run, over the same folder: nothing left over from the
                // previous run shares core 0 with this one.
                let server = Server::spawn(what, path).await;
                let url = format!("http://127.0.0.1:{}/api/comments", server.port);
                let before = acked_real;
                run_no += 1;
                let r = wrk(&url, &script, c, &duration, run_no).await;
                if what == "real" {
                    acked_real += r.acked();
                }
                let load = load_average();
                let peak_rss = server.peak_rss();
                let busy_after = server.settle().await;
                server.stop().await;
                eprintln!(
                    "round {round}: {what} c={c} ({duration}): {:.0} comments/s, p50 {:.2} ms, \
                     p99 {:.2} ms, non-2xx {}, socket errors {}; load {load}; server busy \
                     {:.0} s after the load",
                    r.acked() as f64 / r.requests.max(1) as f64 * r.rps,
                    r.p50_ms,
                    r.p99_ms,
                    r.non_2xx_3xx,
                    r.socket_errors,
                    busy_after.as_secs_f64()
                );
                rows.push(Row {
                    round: round.to_string(),
                    what,
                    connections: c,
                    r,
                    peak_rss,
                    busy_after,
                    before: if what == "real" { Some(before) } else { None },
                    load,
                });
            }
        }
    }
    let load_end = load_average();

    // What the real server committed, read back through the api.
    let ctx = Ctx::open(&data, Arc::new(SystemClock)).unwrap();
    let stored = u64::from(guanmo_api::comments::overview(&ctx).unwrap().pending);
    // What the live bridge runs after every comment commit (and `GET /api/comments` per
    // request): `comments::public_seq`, timed here at the run's final size.
    let mut seq_ms: Vec<f64> = (0..SEQ_CALLS)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(guanmo_api::comments::public_seq(&ctx).unwrap());
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    seq_ms.sort_by(f64::total_cmp);
    let seq_median = seq_ms[seq_ms.len() / 2];
    drop(ctx);
    let ref_stored: i64 = Connection::open(&ref_db)
        .unwrap()
        .query_row("SELECT count(*) FROM comments", [], |r| r.get(0))
        .unwrap();

    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n### Comment ingest ({:.0} s)\n",
        started.elapsed().as_secs_f64()
    );
    let _ = writeln!(
        out,
        "Load average (1/5/15 min): start {load_start}; end {load_end}. Temp folders on {fs}.\n"
    );
    let l = bench_limits().comments;
    let _ = writeln!(
        out,
        "Rate limits of the real server: per phone {}/min, burst {} (the default; each simulated \
         phone sends one comment); per address raised to {}/min, burst {} so that 127.0.0.1 is \
         not throttled.\n",
        l.phone_per_minute, l.phone_burst, l.ip_per_minute, l.ip_burst
    );
    let _ = writeln!(
        out,
        "wrk: `taskset -c {CLIENT_CORE} {}` (servers: `taskset -c {SERVER_CORE}`)\n",
        wrk_args(
            "http://127.0.0.1:<port>/api/comments",
            "comments.lua",
            128,
            &duration,
            "<run>"
        )
        .join(" ")
    );
    let _ = writeln!(
        out,
        "| round | server | c | comments/s (2xx) | p50 (ms) | p99 (ms) | responses | non-2xx | socket errors | server peak RSS (MiB) | server busy after the load (s) | comments in the folder before | load avg after |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let rate = |r: &WrkResult| r.acked() as f64 / r.requests.max(1) as f64 * r.rps;
    for row in &rows {
        let _ =
            writeln!(
            out,
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} | {:.1} | {}{:.0} | {} | {} |",
            row.round,
            row.what,
            row.connections,
            rate(&row.r),
            row.r.p50_ms,
            row.r.p99_ms,
            row.r.requests,
            row.r.non_2xx_3xx,
            row.r.socket_errors,
            row.peak_rss,
            if row.busy_after >= SETTLE_MAX { "≥ " } else { "" },
            row.busy_after.as_secs_f64(),
            row.before.map_or_else(|| "–".to_string(), |n| n.to_string()),
            row.load
        );
    }
    let _ = writeln!(
        out,
        "\nEach run has its own server process (the real one over the same, growing data folder). \
         Peak RSS is that process's `VmHWM`. \"Busy after the load\": how long it kept using \
         more than 5 % of its core once wrk had ended (watched for at most {} s, then stopped).",
        SETTLE_MAX.as_secs()
    );
    let _ = writeln!(
        out,
        "\n| round | c | real comments/s | real ÷ reference | ≥ {MIN_RATE:.0}/s (c = {TARGET_CONNECTIONS}) |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|");
    let mut target_ok = true;
    for round in 1..=ROUNDS {
        for c in CONNECTIONS {
            let find = |what: &str| {
                rows.iter()
                    .find(|r| r.round == round.to_string() && r.connections == c && r.what == what)
                    .map(|r| &r.r)
                    .unwrap()
            };
            let (real, reference) = (find("real"), find("reference"));
            let verdict = if c == TARGET_CONNECTIONS {
                let ok = rate(real) >= MIN_RATE && real.non_2xx_3xx == 0;
                target_ok &= ok;
                pass(ok)
            } else {
                "(info)"
            };
            let _ = writeln!(
                out,
                "| {round} | {c} | {:.0} | **{:.2}** | {verdict} |",
                rate(real),
                rate(real) / rate(reference)
            );
        }
    }
    let durable_ok = stored >= acked_real;
    let _ = writeln!(
        out,
        "\nAfter the run: the real data folder holds **{stored}** comments (read through \
         `guanmo_api::comments::overview`); the real server acknowledged {acked_real} (2xx, \
         warm-up and the first check included; the check's collapsed repeat, answered `200`, not \
         counted): {}. The reference's \
         table holds {ref_stored} rows.",
        if durable_ok {
            "every acknowledged comment is there"
        } else {
            "**FEWER than acknowledged**"
        }
    );
    let _ = writeln!(
        out,
        "\n`guanmo_api::comments::public_seq` over that folder (what the live bridge thread runs \
         after every comment commit), in this process on core {CLIENT_CORE}: median \
         **{seq_median:.2} ms** of {SEQ_CALLS} calls at {stored} comments."
    );
    let _ = writeln!(
        out,
        "\nVerdict: ≥ {MIN_RATE:.0} acknowledged comments/s at c = {TARGET_CONNECTIONS} {}; \
         stored ≥ acknowledged {}.",
        pass(target_ok),
        pass(durable_ok)
    );
    println!("{out}");
    if durable_ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
