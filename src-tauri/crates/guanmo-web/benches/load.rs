//! The resident site under load, against a reference in the same run.
//!
//! - `GET /api/feed` (200 published text-only posts, default page) of the real server, and the
//!   same JSON bytes served from memory by a minimal axum server (the reference), under `wrk`
//!   at c = 16 and c = 128, 10 s each, interleaved, `ROUNDS` times. Also `GET /` and a `304`
//!   run (`If-None-Match` with the feed's ETag), and a second reference that also sends every
//!   header the real server sends (what the security headers cost), for information.
//! - Publish → a connected `/live` client: 50 publishes through `guanmo_api::feed`.
//! - 1,000 SSE clients held on a fresh server: its `VmRSS`/`VmHWM` while they are connected,
//!   then one publish and how many of them get it within 2 s.
//!
//! Both servers run in child processes (this binary re-executed with `GUANMO_LOAD_CHILD`),
//! pinned to core 0 with `taskset`; `wrk -t1`, this process and its SSE clients are pinned to
//! core 1. Traffic goes to 127.0.0.1 only. Needs `wrk` and `taskset` (Debian: `apt-get install
//! wrk util-linux`) and 2 cores.
//!
//! Run: `cargo bench -p guanmo-web --bench load`
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/mod.rs"]
mod support;

use axum::body::Bytes;
use axum::http::header;
use axum::routing::get;
use axum::Router;
use guanmo_api::feed;
use guanmo_api::Ctx;
use guanmo_domain::feed::PostInput;
use guanmo_domain::SystemClock;
use guanmo_web::{public_router, serve, WebConfig, WebState};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{
    in_path, load_average, parse_wrk, pass, pin_self, runtime, ChildServer, NoPhotos, WrkResult,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Command;
use tokio::time::{timeout, timeout_at};

/// Which server a child process runs: `real` or `reference`.
const CHILD_ENV: &str = "GUANMO_LOAD_CHILD";
/// The real server's data folder.
const DATA_ENV: &str = "GUANMO_LOAD_DATA";
/// Posts the real server publishes before listening.
const SEED_ENV: &str = "GUANMO_LOAD_SEED";
/// File with the bytes the reference serves.
const BODY_ENV: &str = "GUANMO_LOAD_BODY";
/// File with extra response headers (`name: value` lines) the reference adds: the second
/// reference, which sends what the real server sends, to show what those headers cost.
const HEADERS_ENV: &str = "GUANMO_LOAD_HEADERS";
/// Name of the second reference's rows.
const REF_HEADERS: &str = "reference + real headers (info)";

const POSTS: usize = 200;
const CONNECTIONS: [u32; 2] = [16, 128];
const DURATION: &str = "10s";
/// Overrides `DURATION` for a quick smoke run (e.g. `1s`); the reported numbers use 10 s.
const DURATION_ENV: &str = "GUANMO_LOAD_DURATION";
/// Interleaved real/reference rounds of the feed runs.
const ROUNDS: usize = 2;
const SSE_PUBLISHES: usize = 50;
const SSE_CLIENTS: usize = 1000;
const SERVER_CORE: &str = "0";
const CLIENT_CORE: &str = "1";

/// Targets from the issue.
const MIN_RATIO: f64 = 0.8;
const MAX_P99_MS: f64 = 20.0;
const MAX_SSE_MS: f64 = 1000.0;
const MAX_RSS_MB: f64 = 200.0;
const DELIVERY_WINDOW: Duration = Duration::from_secs(2);

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

const TOWNS: [&str; 22] = [
    "宜阳街道",
    "培元街道",
    "泉峰街道",
    "水口山镇",
    "松柏镇",
    "柏坊镇",
    "烟洲镇",
    "荫田镇",
    "洋泉镇",
    "大堡乡",
    "罗桥镇",
    "白沙镇",
    "西岭镇",
    "庙前镇",
    "三角塘镇",
    "胜桥镇",
    "兰江乡",
    "塔山瑶族乡",
    "新河镇",
    "官岭镇",
    "蓬塘乡",
    "江河乡",
];

const PROJECTS: [&str; 8] = [
    "油茶精深加工产业园",
    "高标准农田建设示范片",
    "和美乡村建设示范点",
    "有色金属新材料产业园",
    "村级集体经济合作社",
    "农文旅融合示范项目",
    "党群服务中心",
    "农村人居环境整治示范村",
];

/// A realistic text-only post body: two to four paragraphs about a stop of the tour.
fn post_body(i: usize) -> String {
    let town = TOWNS[i % TOWNS.len()];
    let project = PROJECTS[(i / TOWNS.len() + i) % PROJECTS.len()];
    let invest = 3 + i % 17;
    let output = 5 + i % 11;
    let jobs = 120 + (i * 37) % 900;
    let mut paragraphs = vec![
        format!(
            "上午,观摩组一行来到{town},实地察看了{project}建设情况。{town}党(工)委主要负责同志\
             介绍,今年以来,{town}坚持把项目建设作为推动高质量发展的主抓手,统筹推进产业培育、\
             基础设施建设和人居环境整治,累计完成固定资产投资{invest}.6亿元,同比增长12.4%。"
        ),
        format!(
            "在{project}现场,观摩人员仔细了解项目规划布局、建设进度和联农带农情况。项目全面投产后,\
             预计年产值可达{output}亿元,可吸纳周边群众{jobs}余人就近就业,带动村集体经济年均增收\
             30万元以上。"
        ),
    ];
    if i.is_multiple_of(2) {
        paragraphs.push(
            "近年来,该地聚焦“产业强、环境美、治理优”目标,创新推行“党支部+合作社+农户”模式,\
             建立健全利益联结机制,让群众在家门口实现了增收致富,乡村面貌焕然一新。"
                .to_string(),
        );
    }
    if i.is_multiple_of(3) {
        paragraphs.push(format!(
            "观摩人员纷纷表示,{town}思路清晰、措施有力、成效明显,值得学习借鉴。大家将立足自身\
             实际,比学赶超、争先创优,推动各项工作再上新台阶。"
        ));
    }
    paragraphs.join("\n")
}

fn publish(ctx: &Ctx, i: usize, extra: Option<&str>) -> String {
    let mut body = post_body(i);
    if let Some(extra) = extra {
        body.push('\n');
        body.push_str(extra);
    }
    let stop = i % TOWNS.len() + 1;
    let draft = feed::create_draft(
        ctx,
        PostInput {
            stop_label: Some(format!("【第{stop}站·{}】", TOWNS[i % TOWNS.len()])),
            township_id: None,
            body,
            photos: vec![],
            credit: "记者 李明 王芳 摄".into(),
        },
    )
    .unwrap();
    feed::publish_post(ctx, &draft.id, draft.version)
        .unwrap()
        .id
}

/// The real resident server over `GUANMO_LOAD_DATA`. Prints `LISTENING <port>`; for each
/// stdin line `publish <marker>` publishes a post ending with `<marker>` and prints
/// `PUBLISHED <id> <microseconds in the api>`. Exits when stdin closes.
fn child_real() -> ExitCode {
    let dir = PathBuf::from(std::env::var(DATA_ENV).unwrap());
    let seed: usize = std::env::var(SEED_ENV)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let ctx = Ctx::open(&dir, Arc::new(SystemClock)).unwrap();
    for i in 0..seed {
        publish(&ctx, i, None);
    }
    runtime().block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut config = WebConfig {
            allowed_hosts: vec![format!("127.0.0.1:{port}")],
            title: "常宁市2024年度下半年乡镇(街道)工作现场观摩会".into(),
            ..WebConfig::default()
        };
        // The bench's live readers all come from 127.0.0.1; phones come from as many
        // addresses. The site-wide cap (2,000) still holds.
        config.limits.live.per_address =
            u32::try_from(config.limits.live.total).unwrap_or(u32::MAX);
        let state = WebState::new(ctx.clone(), Arc::new(NoPhotos), config).unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, public_router(state), async move {
            let _ = stop_rx.await;
        }));
        println!("LISTENING {port}");
        let steer = ctx.clone();
        tokio::task::spawn_blocking(move || {
            for (n, line) in std::io::stdin()
                .lock()
                .lines()
                .map_while(Result::ok)
                .enumerate()
            {
                if let Some(marker) = line.strip_prefix("publish ") {
                    let t = Instant::now();
                    let id = publish(&steer, seed + n, Some(marker));
                    println!("PUBLISHED {id} {}", t.elapsed().as_micros());
                } else {
                    eprintln!("unknown command: {line}");
                }
            }
        })
        .await
        .unwrap();
        let _ = stop_tx.send(());
        let _ = timeout(Duration::from_secs(10), server).await;
    });
    ExitCode::SUCCESS
}

/// The reference: the same JSON bytes from memory on a minimal axum router. Exits when stdin
/// closes.
fn child_reference() -> ExitCode {
    let body = Bytes::from(std::fs::read(std::env::var(BODY_ENV).unwrap()).unwrap());
    let mut extra = axum::http::HeaderMap::new();
    if let Ok(path) = std::env::var(HEADERS_ENV) {
        for line in std::fs::read_to_string(path).unwrap().lines() {
            let (name, value) = line.split_once(": ").unwrap();
            extra.insert(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                axum::http::HeaderValue::from_str(value).unwrap(),
            );
        }
    }
    runtime().block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        // The bare reference keeps its one-header handler; only the second one adds headers.
        let handler = if extra.is_empty() {
            get(move || {
                let body = body.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                        body,
                    )
                }
            })
        } else {
            get(move || {
                let body = body.clone();
                let extra = extra.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
                        extra,
                        body,
                    )
                }
            })
        };
        let app = Router::new().route("/api/feed", handler);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop_rx.await;
                })
                .await
        });
        println!("LISTENING {port}");
        tokio::task::spawn_blocking(|| {
            for _ in std::io::stdin().lock().lines().map_while(Result::ok) {}
        })
        .await
        .unwrap();
        let _ = stop_tx.send(());
        let _ = timeout(Duration::from_secs(10), server).await;
    });
    ExitCode::SUCCESS
}

// ---------------------------------------------------------------------------------------
// The parent: drives the children, wrk and the SSE clients.
// ---------------------------------------------------------------------------------------

fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn parent() -> ExitCode {
    for tool in ["wrk", "taskset"] {
        if !in_path(tool) {
            eprintln!(
                "load bench: `{tool}` is not on PATH. Install it first \
                 (Debian: `apt-get install -y wrk util-linux`); this bench does not install it."
            );
            return ExitCode::FAILURE;
        }
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 {
        eprintln!(
            "load bench: needs 2 cores (server on core 0, generator on core 1); found {cores}"
        );
        return ExitCode::FAILURE;
    }
    match open_files_limit() {
        Some(n) if n >= 2 * SSE_CLIENTS as u64 + 200 => {}
        n => {
            eprintln!(
                "load bench: the open-files limit is {n:?}; the 1,000-client run needs about \
                 {}. Run it as `ulimit -n 4096 && cargo bench -p guanmo-web --bench load`.",
                2 * SSE_CLIENTS + 200
            );
            return ExitCode::FAILURE;
        }
    }
    // This process (SSE clients) and wrk share the generator core; servers get core 0.
    if !pin_self(CLIENT_CORE) {
        eprintln!("load bench: could not pin this process to core {CLIENT_CORE} with taskset");
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
    /// The `real` or `reference` server with `envs` (and the posts to seed).
    async fn spawn(kind: &str, envs: &[(&str, &Path)], seed: usize) -> Server {
        let seed = seed.to_string();
        let mut all: Vec<(&str, &OsStr)> =
            vec![(CHILD_ENV, OsStr::new(kind)), (SEED_ENV, OsStr::new(&seed))];
        all.extend(envs.iter().map(|(k, v)| (*k, v.as_os_str())));
        ChildServer::start(SERVER_CORE, &all).await
    }

    /// Sends a publish command; returns when the command is written.
    async fn send_publish(&mut self, marker: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin
            .write_all(format!("publish {marker}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
    }

    /// The `PUBLISHED` answer: the post id and the time spent in the api (µs).
    async fn published(&mut self) -> (String, u64) {
        let line = timeout(Duration::from_secs(30), self.lines.next_line())
            .await
            .expect("no PUBLISHED within 30 s")
            .unwrap()
            .expect("server exited");
        let mut parts = line.split_whitespace();
        assert_eq!(parts.next(), Some("PUBLISHED"), "unexpected line: {line}");
        let id = parts.next().unwrap().to_string();
        let us = parts.next().unwrap().parse().unwrap();
        (id, us)
    }

    /// VmRSS and VmHWM in MiB.
    fn memory(&self) -> (f64, f64) {
        (self.status_mib("VmRSS:"), self.status_mib("VmHWM:"))
    }
}

struct HttpResponse {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(end) = raw.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = std::str::from_utf8(&raw[..end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&raw[end + 2..end + 2 + size]);
        raw = &raw[end + 2 + size + 2..];
    }
}

/// One `GET` over a fresh connection (`Connection: close`).
async fn http_get(port: u16, path: &str, extra: &[(&str, &str)]) -> HttpResponse {
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in extra {
        let _ = write!(req, "{k}: {v}\r\n");
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    timeout(Duration::from_secs(30), s.read_to_end(&mut raw))
        .await
        .expect("response within 30 s")
        .unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = std::str::from_utf8(&raw[..split]).unwrap();
    let mut head_lines = head.split("\r\n");
    let status = head_lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: HashMap<String, String> = head_lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &raw[split + 4..];
    let body = if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        dechunk(rest)
    } else {
        rest.to_vec()
    };
    HttpResponse {
        status,
        headers,
        body,
    }
}

/// The wrk command line (after `taskset -c 1`).
fn wrk_args(url: &str, connections: u32, duration: &str, headers: &[String]) -> Vec<String> {
    let mut args = vec![
        "wrk".to_string(),
        "-t1".into(),
        format!("-c{connections}"),
        format!("-d{duration}"),
        "--latency".into(),
        "--timeout".into(),
        "5s".into(),
    ];
    for h in headers {
        args.push("-H".into());
        args.push(h.clone());
    }
    args.push(url.into());
    args
}

async fn wrk(url: &str, connections: u32, duration: &str, headers: &[String]) -> WrkResult {
    let args = wrk_args(url, connections, duration, headers);
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

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if !n.is_multiple_of(2) {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

struct Row {
    round: String,
    what: &'static str,
    connections: u32,
    r: WrkResult,
}

async fn run() -> ExitCode {
    let started = Instant::now();
    let load_start = load_average();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();

    eprintln!("publishing {POSTS} posts and starting the real server on core {SERVER_CORE}…");
    let t = Instant::now();
    let mut real = Server::spawn("real", &[(DATA_ENV, &data)], POSTS).await;
    eprintln!("  ready in {:.1} s", t.elapsed().as_secs_f64());
    let port = real.port;

    let feed_resp = http_get(port, "/api/feed", &[]).await;
    assert_eq!(feed_resp.status, 200, "GET /api/feed");
    let etag = feed_resp.headers.get("etag").expect("feed ETag").clone();
    let json: serde_json::Value = serde_json::from_slice(&feed_resp.body).unwrap();
    let page_posts = json["posts"].as_array().map_or(0, Vec::len);
    let page = http_get(port, "/", &[]).await;
    assert_eq!(page.status, 200, "GET /");
    let cached = http_get(port, "/api/feed", &[("If-None-Match", &etag)]).await;
    assert_eq!(cached.status, 304, "GET /api/feed with If-None-Match");
    let body_file = dir.path().join("feed.json");
    std::fs::write(&body_file, &feed_resp.body).unwrap();

    let reference = Server::spawn("reference", &[(BODY_ENV, &body_file)], 0).await;
    // The same, sending every header the real server sent (security headers, ETag, cache
    // policy, Vary) except the ones hyper writes itself.
    let headers_file = dir.path().join("headers.txt");
    let mut extra = String::new();
    let hyper_writes = ["date", "content-length", "content-type", "connection"];
    for (name, value) in &feed_resp.headers {
        if !hyper_writes.contains(&name.as_str()) {
            let _ = writeln!(extra, "{name}: {value}");
        }
    }
    std::fs::write(&headers_file, extra).unwrap();
    let with_headers = Server::spawn(
        "reference",
        &[(BODY_ENV, &body_file), (HEADERS_ENV, &headers_file)],
        0,
    )
    .await;
    let with_headers_resp = http_get(with_headers.port, "/api/feed", &[]).await;
    assert_eq!(with_headers_resp.body, feed_resp.body);
    assert_eq!(
        with_headers_resp.headers.len(),
        feed_resp.headers.len(),
        "the second reference sends every header the real server sends"
    );
    let ref_resp = http_get(reference.port, "/api/feed", &[]).await;
    assert_eq!(ref_resp.status, 200);
    assert_eq!(
        ref_resp.body, feed_resp.body,
        "reference serves other bytes"
    );

    let real_feed = format!("http://127.0.0.1:{port}/api/feed");
    let ref_feed = format!("http://127.0.0.1:{}/api/feed", reference.port);
    let ref_headers_feed = format!("http://127.0.0.1:{}/api/feed", with_headers.port);
    let real_page = format!("http://127.0.0.1:{port}/");
    let inm = vec![format!("If-None-Match: {etag}")];

    eprintln!("warming up (3 s each)…");
    wrk(&real_feed, 16, "3s", &[]).await;
    wrk(&ref_feed, 16, "3s", &[]).await;
    wrk(&ref_headers_feed, 16, "3s", &[]).await;

    let duration = std::env::var(DURATION_ENV).unwrap_or_else(|_| DURATION.to_string());
    let mut rows: Vec<Row> = Vec::new();
    for round in 1..=ROUNDS {
        for c in CONNECTIONS {
            for (what, url) in [
                ("real /api/feed", &real_feed),
                ("reference", &ref_feed),
                (REF_HEADERS, &ref_headers_feed),
            ] {
                let r = wrk(url, c, &duration, &[]).await;
                eprintln!(
                    "round {round}: {what} c={c} ({duration}): {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
                    r.rps, r.p50_ms, r.p99_ms
                );
                rows.push(Row {
                    round: round.to_string(),
                    what,
                    connections: c,
                    r,
                });
            }
        }
    }
    for c in CONNECTIONS {
        eprintln!("info: GET / c={c}, 304 c={c}…");
        let r = wrk(&real_page, c, &duration, &[]).await;
        rows.push(Row {
            round: "info".into(),
            what: "real / (HTML)",
            connections: c,
            r,
        });
        let r = wrk(&real_feed, c, &duration, &inm).await;
        rows.push(Row {
            round: "info".into(),
            what: "real /api/feed 304",
            connections: c,
            r,
        });
    }
    let load_after_wrk = load_average();
    reference.stop().await;
    with_headers.stop().await;

    // Publish → connected /live client.
    eprintln!("SSE: {SSE_PUBLISHES} publishes to one connected client…");
    let mut client = SseClient::connect(port)
        .await
        .expect("live client connects");
    let mut sse_ms = Vec::new();
    let mut api_ms = Vec::new();
    for i in 0..SSE_PUBLISHES {
        let marker = format!("(测速第{i:03}条)");
        let t0 = Instant::now();
        real.send_publish(&marker).await;
        let got = client
            .wait_for(marker.as_bytes(), Instant::now() + Duration::from_secs(5))
            .await;
        let elapsed = t0.elapsed();
        let (_, us) = real.published().await;
        api_ms.push(us as f64 / 1000.0);
        sse_ms.push(if got {
            elapsed.as_secs_f64() * 1000.0
        } else {
            f64::INFINITY
        });
    }
    drop(client);
    real.stop().await;

    // 1,000 clients on a fresh server over the same data.
    eprintln!("SSE: {SSE_CLIENTS} clients on a fresh server…");
    let fresh = Server::spawn("real", &[(DATA_ENV, &data)], 0).await;
    let (rss_idle, _) = fresh.memory();
    let crowd = crowd(fresh, SSE_CLIENTS).await;

    let breakdown = breakdown(&data);

    let load_end = load_average();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n### Resident site under load ({:.0} s)\n",
        started.elapsed().as_secs_f64()
    );
    let _ = writeln!(
        out,
        "Load average (1/5/15 min): start {load_start}; after the wrk runs {load_after_wrk}; \
         end {load_end}.\n"
    );
    let _ = writeln!(
        out,
        "`GET /api/feed`: {} bytes, {page_posts} posts on the page ({POSTS} published); \
         `GET /`: {} bytes; ETag `{etag}`.\n",
        feed_resp.body.len(),
        page.body.len()
    );
    let _ = writeln!(
        out,
        "wrk: `taskset -c {CLIENT_CORE} {}` (servers: `taskset -c {SERVER_CORE}`)\n",
        wrk_args("http://127.0.0.1:<port>/api/feed", 16, &duration, &[]).join(" ")
    );
    let _ = writeln!(
        out,
        "| round | server / request | c | req/s | p50 (ms) | p99 (ms) | requests | non-2xx/3xx | socket errors |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    for row in &rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {} |",
            row.round,
            row.what,
            row.connections,
            row.r.rps,
            row.r.p50_ms,
            row.r.p99_ms,
            row.r.requests,
            row.r.non_2xx_3xx,
            row.r.socket_errors
        );
    }
    let _ = writeln!(
        out,
        "\n| round | c | real ÷ reference (req/s) | real p99 (ms) | ≥ {MIN_RATIO}× | p99 < {MAX_P99_MS} ms | info: reference + real headers ÷ reference | info: real ÷ reference + real headers |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    let mut feed_ok = true;
    for round in 1..=ROUNDS {
        for c in CONNECTIONS {
            let find = |what: &str| {
                rows.iter()
                    .find(|r| r.round == round.to_string() && r.connections == c && r.what == what)
                    .map(|r| &r.r)
                    .unwrap()
            };
            let (real, reference) = (find("real /api/feed"), find("reference"));
            let with_headers = find(REF_HEADERS);
            let ratio = real.rps / reference.rps;
            let ok_ratio = ratio >= MIN_RATIO;
            let ok_p99 = real.p99_ms < MAX_P99_MS;
            feed_ok &= ok_ratio && ok_p99 && real.non_2xx_3xx == 0;
            let _ = writeln!(
                out,
                "| {round} | {c} | **{ratio:.2}** | {:.2} | {} | {} | {:.2} | {:.2} |",
                real.p99_ms,
                pass(ok_ratio),
                pass(ok_p99),
                with_headers.rps / reference.rps,
                real.rps / with_headers.rps
            );
        }
    }

    let sse_max = sse_ms.iter().copied().fold(0.0, f64::max);
    let sse_med = median(&mut sse_ms.clone());
    let api_med = median(&mut api_ms.clone());
    let sse_ok = sse_max < MAX_SSE_MS;
    let _ = writeln!(
        out,
        "\nPublish → connected `/live` client ({SSE_PUBLISHES} publishes, from writing the \
         command to the server's stdin until the event's bytes are read): median **{sse_med:.1} ms**, \
         max **{sse_max:.1} ms** (target < {MAX_SSE_MS:.0} ms: {}); time inside \
         `create_draft` + `publish_post` median {api_med:.1} ms.",
        pass(sse_ok)
    );
    let rss_ok = crowd.rss_with_clients < MAX_RSS_MB && crowd.hwm < MAX_RSS_MB;
    let delivered_ok = crowd.delivered == SSE_CLIENTS;
    let _ = writeln!(
        out,
        "\n{SSE_CLIENTS} SSE clients: {} connected; server VmRSS {rss_idle:.1} MiB idle → \
         **{:.1} MiB** with the clients, {:.1} MiB after the broadcast, VmHWM {:.1} MiB \
         (target < {MAX_RSS_MB:.0} MB: {}). One publish reached **{}/{SSE_CLIENTS}** within \
         {} s ({}); delivery median {:.1} ms, max {:.1} ms.",
        crowd.connected,
        crowd.rss_with_clients,
        crowd.rss_after,
        crowd.hwm,
        pass(rss_ok),
        crowd.delivered,
        DELIVERY_WINDOW.as_secs(),
        pass(delivered_ok),
        crowd.median_ms,
        crowd.max_ms
    );
    let _ = writeln!(
        out,
        "\nWhere a feed request's time goes (in this process on core {CLIENT_CORE}, one thread, \
         same data, median of {BREAKDOWN_CALLS} calls each): `feed_seq` {:.1} µs, \
         `public_feed` (first page) {:.1} µs, `serde_json::to_vec` of it {:.1} µs.",
        breakdown.0, breakdown.1, breakdown.2
    );
    let _ = writeln!(
        out,
        "\nVerdict: feed throughput/p99 {}, live latency {}, 1,000 clients memory {}, \
         delivery {}.",
        pass(feed_ok),
        pass(sse_ok),
        pass(rss_ok),
        pass(delivered_ok)
    );
    println!("{out}");
    ExitCode::SUCCESS
}

const BREAKDOWN_CALLS: usize = 500;

/// Median µs of the store reads and the serialisation behind `GET /api/feed`, called
/// directly (no HTTP, no `spawn_blocking`).
fn breakdown(data: &Path) -> (f64, f64, f64) {
    let ctx = Ctx::open(data, Arc::new(SystemClock)).unwrap();
    let time = |f: &mut dyn FnMut()| {
        let mut v: Vec<f64> = (0..BREAKDOWN_CALLS)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        median(&mut v)
    };
    let seq = time(&mut || {
        std::hint::black_box(feed::feed_seq(&ctx).unwrap());
    });
    let page = time(&mut || {
        std::hint::black_box(feed::public_feed(&ctx, None, feed::DEFAULT_PAGE).unwrap());
    });
    let f = feed::public_feed(&ctx, None, feed::DEFAULT_PAGE).unwrap();
    let json = time(&mut || {
        std::hint::black_box(serde_json::to_vec(&f).unwrap());
    });
    (seq, page, json)
}

/// One `GET /live` connection read as raw bytes.
struct SseClient {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl SseClient {
    /// Connects and waits for the stream's opening comment (by then the server has
    /// subscribed this client to the broadcast).
    async fn connect(port: u16) -> Option<SseClient> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut stream = timeout_at(deadline.into(), TcpStream::connect(("127.0.0.1", port)))
            .await
            .ok()?
            .ok()?;
        let req = format!(
            "GET /live HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAccept: text/event-stream\r\n\r\n"
        );
        stream.write_all(req.as_bytes()).await.ok()?;
        let mut c = SseClient {
            stream,
            buf: Vec::new(),
        };
        c.read_until("图文直播".as_bytes(), deadline).await?;
        if !c.buf.starts_with(b"HTTP/1.1 200") {
            return None;
        }
        c.buf.clear();
        Some(c)
    }

    /// Reads until `needle` is in the buffer; its end offset, or `None` when `deadline`
    /// passes or the stream ends first.
    async fn read_until(&mut self, needle: &[u8], deadline: Instant) -> Option<usize> {
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(at) = self.buf.windows(needle.len()).position(|w| w == needle) {
                return Some(at + needle.len());
            }
            match timeout_at(deadline.into(), self.stream.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => self.buf.extend_from_slice(&chunk[..n]),
                _ => return None,
            }
        }
    }

    /// Reads until `needle` has arrived (true) or `deadline` passes / the stream ends (false);
    /// drops what was read up to it.
    async fn wait_for(&mut self, needle: &[u8], deadline: Instant) -> bool {
        match self.read_until(needle, deadline).await {
            Some(end) => {
                self.buf.drain(..end);
                true
            }
            None => false,
        }
    }
}

struct Crowd {
    connected: usize,
    rss_with_clients: f64,
    rss_after: f64,
    hwm: f64,
    delivered: usize,
    median_ms: f64,
    max_ms: f64,
}

async fn crowd(server: Server, n: usize) -> Crowd {
    let port = server.port;
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<bool>();
    let (got_tx, mut got_rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let (go_tx, go_rx) = tokio::sync::watch::channel::<Option<String>>(None);
    let connects = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (ready_tx, got_tx, mut go_rx, connects) = (
            ready_tx.clone(),
            got_tx.clone(),
            go_rx.clone(),
            connects.clone(),
        );
        tasks.spawn(async move {
            let permit = connects.acquire_owned().await;
            let client = SseClient::connect(port).await;
            drop(permit);
            let _ = ready_tx.send(client.is_some());
            let Some(mut client) = client else { return };
            // Hold the connection until the marker is announced, then wait for it.
            let Ok(marker) = go_rx.wait_for(Option::is_some).await.map(|m| m.clone()) else {
                return;
            };
            let marker = marker.unwrap_or_default();
            if client
                .wait_for(marker.as_bytes(), Instant::now() + Duration::from_secs(10))
                .await
            {
                let _ = got_tx.send(Instant::now());
            }
            // Stay connected until the crowd is dropped.
            std::future::pending::<()>().await;
        });
    }
    drop((ready_tx, got_tx));
    let mut connected = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    for _ in 0..n {
        match timeout_at(deadline, ready_rx.recv()).await {
            Ok(Some(true)) => connected += 1,
            Ok(Some(false)) => {}
            _ => break,
        }
    }
    eprintln!("  {connected}/{n} clients connected");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (rss_with_clients, _) = server.memory();

    let mut server = server;
    let marker = "(千人同时在线测试)".to_string();
    // The clients start reading for the marker before it is published.
    go_tx.send_replace(Some(marker.clone()));
    tokio::task::yield_now().await;
    let t0 = Instant::now();
    server.send_publish(&marker).await;
    let mut lat = Vec::new();
    let window_end = tokio::time::Instant::from_std(t0 + Duration::from_secs(5));
    while lat.len() < connected {
        match timeout_at(window_end, got_rx.recv()).await {
            Ok(Some(at)) => lat.push(at.duration_since(t0).as_secs_f64() * 1000.0),
            _ => break,
        }
    }
    let _ = server.published().await;
    let (rss_after, hwm) = server.memory();
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    server.stop().await;
    let delivered = lat
        .iter()
        .filter(|&&ms| ms <= DELIVERY_WINDOW.as_secs_f64() * 1000.0)
        .count();
    let max_ms = lat.iter().copied().fold(0.0, f64::max);
    Crowd {
        connected,
        rss_with_clients,
        rss_after,
        hwm,
        delivered,
        median_ms: median(&mut lat),
        max_ms,
    }
}
