//! Publishing from a bus: a 9-photo post of camera files from a 直播电脑 on a 4G uplink,
//! while the day's photos (100) upload in the background, until a phone sees it through
//! nginx. `cargo bench -p guanmo-cli --bench uplink` (as root: it makes a network namespace).
//!
//! - The hub (`guanmo serve --site`, behind nginx with the shipped site file and a
//!   self-signed certificate) runs in a network namespace of its own, `gm-hub`, joined to
//!   this process's by a veth pair: 10.44.0.2 (the laptop) ↔ 10.44.0.1 (the server).
//! - The link is shaped like 4G: 5 Mbit/s up and 20 Mbit/s down (`tc` tbf on each end),
//!   1 % of packets lost each way (iptables `statistic`), and 75 ms each way (150 ms RTT).
//!   This kernel is built without `sch_netem`, so the delay is a delay line of this bench:
//!   every packet leaving either end goes to an NFQUEUE and is released 75 ms later (the
//!   `nfq` crate). Offloads are off, so loss and delay act on real 1,500-byte packets.
//! - The laptop (this process, `guanmo_sync` with the app's own automatic-sync scheduler)
//!   pairs with `https://10.44.0.1` pinning the certificate, imports 100 camera photos (its
//!   photo library) and lets them upload; once originals are moving, it imports 9 more,
//!   publishes a post with them and notes the write as the app does. A phone, in the hub's
//!   namespace, polls `/api/feed` through nginx every 100 ms until the post is there and its
//!   nine 1600 px pictures load.
//!
//! Needs root, `ip`, `tc`, `iptables`, `ethtool`, `nginx`, `openssl`, `mate-backgrounds`; cleans up after
//! itself. Photos: 4000×3000 windows of a real photograph (`mate-backgrounds`), saved as a
//! camera does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use guanmo_api::{feed, Ctx};
use guanmo_domain::feed::PostInput;
use guanmo_domain::SystemClock;
use guanmo_media::{Limits, MediaStore};
use guanmo_sync::auto::{AutoDriver, AutoSync, SyncProgress, SyncStep};
use guanmo_sync::{Progress, Role, SyncReport};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const NETNS: &str = "gm-hub";
const LAPTOP_DEV: &str = "gm-lap";
const HUB_DEV: &str = "gm-hub0";
const LAPTOP_IP: &str = "10.44.0.2";
const HUB_IP: &str = "10.44.0.1";
const HTTPS: u16 = 8443;
const HTTP: u16 = 8080;
const SITE: u16 = 18080;
const PEER: u16 = 18787;
const UP: &str = "5mbit";
const DOWN: &str = "20mbit";
const ONE_WAY: Duration = Duration::from_millis(75);
const LOSS: &str = "0.01";
const QUEUE: u16 = 7;
const LIBRARY: u32 = 100;
const POST_PHOTOS: u32 = 9;
const ROUNDS: u32 = 3;
const GOAL: Duration = Duration::from_secs(15);
/// The library uploads this long before the first post, and between posts.
const BACKGROUND_FIRST: Duration = Duration::from_secs(30);
const BACKGROUND_BETWEEN: Duration = Duration::from_secs(20);

fn main() -> ExitCode {
    for tool in ["ip", "tc", "iptables", "ethtool", "nginx", "openssl"] {
        if !Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            eprintln!("uplink bench: `{tool}` is not on PATH");
            return ExitCode::FAILURE;
        }
    }
    if !nix::unistd::geteuid().is_root() {
        eprintln!("uplink bench: needs root (it makes a network namespace)");
        return ExitCode::FAILURE;
    }
    let link = Link::up();
    let stop = Arc::new(AtomicBool::new(false));
    let lines = [
        delay_line(None, Arc::clone(&stop)),
        delay_line(
            Some(PathBuf::from(format!("/var/run/netns/{NETNS}"))),
            Arc::clone(&stop),
        ),
    ];
    let result = std::panic::catch_unwind(run);
    stop.store(true, Ordering::Relaxed);
    for l in lines {
        let _ = l.join();
    }
    drop(link);
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(_) => ExitCode::FAILURE,
    }
}

fn sh(cmd: &str) {
    let out = Command::new("sh").args(["-c", cmd]).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn output(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The shaped link; taken down on drop.
struct Link;

impl Link {
    fn up() -> Link {
        // What an interrupted run may have left.
        let _ = Command::new("sh")
            .args([
                "-c",
                &format!(
                    "ip netns del {NETNS}; ip link del {LAPTOP_DEV}; \
                     while iptables -D OUTPUT -o {LAPTOP_DEV} -m statistic --mode random --probability {LOSS} -j DROP; do :; done; \
                     while iptables -D OUTPUT -o {LAPTOP_DEV} -j NFQUEUE --queue-num {QUEUE}; do :; done"
                ),
            ])
            .stderr(Stdio::null())
            .status();
        let link = Link;
        for cmd in [
            format!("ip netns add {NETNS}"),
            format!("ip link add {LAPTOP_DEV} type veth peer name {HUB_DEV}"),
            format!("ip link set {HUB_DEV} netns {NETNS}"),
            format!("ip addr add {LAPTOP_IP}/24 dev {LAPTOP_DEV}"),
            format!("ip link set {LAPTOP_DEV} up"),
            format!("ip -n {NETNS} link set lo up"),
            format!("ip -n {NETNS} addr add {HUB_IP}/24 dev {HUB_DEV}"),
            format!("ip -n {NETNS} link set {HUB_DEV} up"),
            // Real packets, not 64 KB offload batches, meet the loss and the delay.
            format!("ethtool -K {LAPTOP_DEV} tso off gso off gro off"),
            format!("ip netns exec {NETNS} ethtool -K {HUB_DEV} tso off gso off gro off"),
            // 5 Mbit/s up, 20 down; a second of queue (a cell's buffers are deep).
            format!("tc qdisc add dev {LAPTOP_DEV} root tbf rate {UP} burst 16kb latency 1s"),
            format!(
                "ip netns exec {NETNS} tc qdisc add dev {HUB_DEV} root tbf rate {DOWN} burst 32kb latency 1s"
            ),
            // 1 % lost each way, then 75 ms in the delay line each way.
            format!(
                "iptables -A OUTPUT -o {LAPTOP_DEV} -m statistic --mode random --probability {LOSS} -j DROP"
            ),
            format!("iptables -A OUTPUT -o {LAPTOP_DEV} -j NFQUEUE --queue-num {QUEUE}"),
            format!(
                "ip netns exec {NETNS} iptables -A OUTPUT -o {HUB_DEV} -m statistic --mode random --probability {LOSS} -j DROP"
            ),
            format!(
                "ip netns exec {NETNS} iptables -A OUTPUT -o {HUB_DEV} -j NFQUEUE --queue-num {QUEUE}"
            ),
        ] {
            sh(&cmd);
        }
        link
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = Command::new("sh")
            .args([
                "-c",
                &format!(
                    "iptables -D OUTPUT -o {LAPTOP_DEV} -m statistic --mode random --probability {LOSS} -j DROP; \
                     iptables -D OUTPUT -o {LAPTOP_DEV} -j NFQUEUE --queue-num {QUEUE}; \
                     ip netns del {NETNS}"
                ),
            ])
            .status();
    }
}

/// Holds every packet of the NFQUEUE in `netns` (this namespace when `None`) for
/// [`ONE_WAY`], in order, until `stop`.
fn delay_line(netns: Option<PathBuf>, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        if let Some(ns) = netns {
            enter(&ns);
        }
        let mut q = nfq::Queue::open().unwrap();
        q.bind(QUEUE).unwrap();
        q.set_copy_range(QUEUE, 0).unwrap();
        q.set_queue_max_len(QUEUE, 16_384).unwrap();
        q.set_nonblocking(true);
        let mut held: VecDeque<(Instant, nfq::Message)> = VecDeque::new();
        while !stop.load(Ordering::Relaxed) {
            loop {
                match q.recv() {
                    Ok(mut m) => {
                        m.set_verdict(nfq::Verdict::Accept);
                        held.push_back((Instant::now() + ONE_WAY, m));
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => panic!("nfqueue: {e}"),
                }
            }
            let now = Instant::now();
            while held.front().is_some_and(|(due, _)| *due <= now) {
                let (_, m) = held.pop_front().unwrap();
                q.verdict(m).unwrap();
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        for (_, m) in held {
            let _ = q.verdict(m);
        }
    })
}

/// Moves this thread into the network namespace at `ns`.
fn enter(ns: &Path) {
    let f = std::fs::File::open(ns).unwrap();
    // Changes only this thread's network namespace.
    nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
}

/// A real photograph (Debian's `mate-backgrounds`, 5640×3172) decoded once; every bench
/// photo is a different 4000×3000 window of it saved as a camera does (baseline 4:2:0, Q 92),
/// so each has its own hash and a real photo's detail (about 6 MB, a 1600 px copy of about
/// 0.5 MB).
struct Scene {
    px: Vec<u8>,
    width: usize,
    height: usize,
}

const SCENE: &str = "/usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg";

impl Scene {
    fn load() -> Scene {
        let bytes = std::fs::read(SCENE)
            .unwrap_or_else(|e| panic!("{SCENE}: {e} (apt-get install mate-backgrounds)"));
        let img: turbojpeg::Image<Vec<u8>> =
            turbojpeg::decompress(&bytes, turbojpeg::PixelFormat::RGB).unwrap();
        Scene {
            width: img.width,
            height: img.height,
            px: img.pixels,
        }
    }

    fn camera_jpeg(&self, seed: u32) -> Vec<u8> {
        let (w, h) = (4000usize, 3000usize);
        let x = (seed as usize * 37) % (self.width - w);
        let y = (seed as usize * 11) % (self.height - h);
        let start = (y * self.width + x) * 3;
        let image = turbojpeg::Image {
            pixels: &self.px[start..],
            width: w,
            pitch: self.width * 3,
            height: h,
            format: turbojpeg::PixelFormat::RGB,
        };
        turbojpeg::compress(image, 92, turbojpeg::Subsamp::Sub2x2)
            .unwrap()
            .to_vec()
    }
}

fn import(ctx: &Ctx, media: &MediaStore, scene: &Scene, seed: u32) -> (String, u64) {
    let bytes = scene.camera_jpeg(seed);
    let len = bytes.len() as u64;
    let imported = media.import_owned(bytes, &Limits::default()).unwrap();
    guanmo_api::photos::record_imported(ctx, "DSC.JPG", &imported).unwrap();
    (imported.hash, len)
}

/// The app's automatic sync around this laptop, as the desktop shell drives it.
struct Driver {
    ctx: Ctx,
    originals_moving: AtomicBool,
    runs: AtomicU32,
    last: Mutex<Option<SyncReport>>,
    /// What the scheduler did when, for each round's timeline.
    events: Mutex<Vec<(Instant, String)>>,
}

impl Driver {
    fn note(&self, what: String) {
        self.events.lock().unwrap().push((Instant::now(), what));
    }

    /// The events since `t0`, as "+1.2 s what"; of a run of photo progress lines only the
    /// first and the last.
    fn timeline(&self, t0: Instant) -> Vec<String> {
        let mut out: Vec<(bool, String)> = Vec::new();
        for (at, what) in self.events.lock().unwrap().iter() {
            if *at < t0 {
                continue;
            }
            let photo = what.starts_with("post photos");
            let line = format!("+{:.1} s {what}", (*at - t0).as_secs_f64());
            let run = out.len() >= 2 && out[out.len() - 1].0 && out[out.len() - 2].0;
            if photo && run {
                out.pop();
            }
            out.push((photo, line));
        }
        out.into_iter().map(|(_, l)| l).collect()
    }
}

impl AutoDriver for Driver {
    fn syncs_out(&self) -> bool {
        true
    }
    fn own_ops(&self) -> Option<u32> {
        guanmo_sync::auto::own_ops(&self.ctx)
    }
    fn exchange(&self, progress: &dyn Fn(Progress)) -> Result<SyncReport, guanmo_api::ApiError> {
        self.note("run starts".into());
        let r = guanmo_sync::auto::http_exchange(&self.ctx, self.ctx.media(), progress);
        self.note(match &r {
            Ok(r) if r.yielded => "run ends (gave way)".into(),
            Ok(_) => "run ends".into(),
            Err(e) => format!("run failed: {}", e.message),
        });
        self.runs.fetch_add(1, Ordering::Relaxed);
        if let Ok(r) = &r {
            *self.last.lock().unwrap() = Some(r.clone());
        } else if let Err(e) = &r {
            eprintln!("  (a run failed: {e:?})");
        }
        r
    }
    fn progress(&self, p: &SyncProgress) {
        match p.step {
            SyncStep::Photos => self.originals_moving.store(true, Ordering::Relaxed),
            SyncStep::Post => {
                self.note(format!("post photos {}/{}", p.done, p.total.unwrap_or(0)));
            }
            SyncStep::Pushing => self.note(format!("pushed {}/{}", p.done, p.total.unwrap_or(0))),
            SyncStep::Pulling => {}
        }
    }
    fn announce(&self, _force: bool) {}
}

/// A phone in the hub's namespace: `/api/feed` through nginx until `post` is listed and its
/// nine thumbnails load (what the feed shows), then until each 1600 px picture is the real
/// copy (before it arrives the site stands in the thumbnail, `no-store`). Both times from `t0`.
fn phone_sees(post: &str, t0: Instant) -> (Duration, Duration) {
    let post = post.to_string();
    std::thread::spawn(move || {
        enter(Path::new(&format!("/var/run/netns/{NETNS}")));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .disable_verification(true)
                    .build(),
            )
            .http_status_as_error(false)
            .proxy(None)
            .build()
            .into();
        let base = format!("https://{HUB_IP}:{HTTPS}");
        let loads = |h: &str, side: u32| {
            agent
                .get(format!("{base}/media/{h}/{side}.jpg"))
                .call()
                .ok()
                .filter(|r| r.status() == 200)
                .map(|r| {
                    r.headers()
                        .get("cache-control")
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v.contains("immutable"))
                })
        };
        let mut visible = None;
        loop {
            let mut r = agent.get(format!("{base}/api/feed")).call().unwrap();
            let text = r.body_mut().read_to_string().unwrap_or_default();
            let feed: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let photos: Option<Vec<String>> = feed["posts"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["id"] == post.as_str())
                .map(|p| {
                    p["photos"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|h| h.as_str().unwrap().to_string())
                        .collect()
                });
            if let Some(photos) = photos {
                if visible.is_none() && photos.iter().all(|h| loads(h, 320).is_some()) {
                    visible = Some(t0.elapsed());
                }
                if visible.is_some() && photos.iter().all(|h| loads(h, 1600) == Some(true)) {
                    return (visible.unwrap_or_default(), t0.elapsed());
                }
            }
            assert!(t0.elapsed() < Duration::from_secs(600), "never seen");
            std::thread::sleep(Duration::from_millis(100));
        }
    })
    .join()
    .unwrap()
}

/// The link's own floor: `streams` TCP connections from the laptop's side each send `bytes`
/// to a sink in the hub's namespace at once; the time until the sink has all of it.
fn raw_tcp(streams: usize, bytes: usize) -> Duration {
    use std::io::{Read, Write};
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let sink = std::thread::spawn(move || {
        enter(Path::new(&format!("/var/run/netns/{NETNS}")));
        let listener = std::net::TcpListener::bind((HUB_IP, 9009)).unwrap();
        ready_tx.send(()).unwrap();
        let conns: Vec<_> = (0..streams).map(|_| listener.accept().unwrap().0).collect();
        let readers: Vec<_> = conns
            .into_iter()
            .map(|mut c| {
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    c.read_to_end(&mut got).unwrap();
                    c.write_all(&[1]).unwrap();
                    got.len()
                })
            })
            .collect();
        readers
            .into_iter()
            .map(|r| r.join().unwrap())
            .sum::<usize>()
    });
    ready_rx.recv().unwrap();
    let t = Instant::now();
    let senders: Vec<_> = (0..streams)
        .map(|i| {
            std::thread::spawn(move || {
                let mut c = std::net::TcpStream::connect((HUB_IP, 9009)).unwrap();
                let data = vec![i as u8; bytes];
                c.write_all(&data).unwrap();
                c.shutdown(std::net::Shutdown::Write).unwrap();
                let mut ack = [0u8; 1];
                c.read_exact(&mut ack).unwrap();
            })
        })
        .collect();
    for s in senders {
        s.join().unwrap();
    }
    let took = t.elapsed();
    assert_eq!(sink.join().unwrap(), streams * bytes);
    took
}

struct Server {
    serve: Child,
    nginx: Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-QUIT", &self.nginx.id().to_string()])
            .status();
        let _ = Command::new("kill")
            .args(["-TERM", &self.serve.id().to_string()])
            .status();
        let _ = self.nginx.wait();
        let _ = self.serve.wait();
    }
}

fn wait_listening(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !Command::new("ip")
        .args(["netns", "exec", NETNS, "bash", "-c"])
        .arg(format!("exec 3<>/dev/tcp/127.0.0.1/{port}"))
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        assert!(Instant::now() < deadline, "nothing listens on {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The shipped site file with this run's values (as `benches/nginx.rs` does).
fn site_file(deploy: &Path, dir: &Path) -> String {
    let host = "live.example.cn";
    let mut text = std::fs::read_to_string(deploy.join("guanmo.conf")).unwrap();
    for (from, to) in [
        ("listen 80;".to_string(), format!("listen {HUB_IP}:{HTTP};")),
        ("listen [::]:80;".into(), String::new()),
        (
            "listen 443 ssl http2;".into(),
            format!("listen {HUB_IP}:{HTTPS} ssl http2;"),
        ),
        ("listen [::]:443 ssl http2;".into(), String::new()),
        (
            format!("/etc/letsencrypt/live/{host}/fullchain.pem"),
            dir.join("cert.pem").display().to_string(),
        ),
        (
            format!("/etc/letsencrypt/live/{host}/privkey.pem"),
            dir.join("key.pem").display().to_string(),
        ),
        (
            "server 127.0.0.1:8080;".into(),
            format!("server 127.0.0.1:{SITE};"),
        ),
        (
            "server 127.0.0.1:8787;".into(),
            format!("server 127.0.0.1:{PEER};"),
        ),
        (
            "/var/cache/nginx/guanmo".into(),
            dir.join("nginx").join("cache").display().to_string(),
        ),
    ] {
        assert_eq!(
            text.matches(&from).count(),
            1,
            "guanmo.conf has {from} once"
        );
        text = text.replace(&from, &to);
    }
    text
}

fn start_server(guanmo: &Path, deploy: &Path, dir: &Path) -> (Server, String, String) {
    sh(&format!("chmod 755 {}", dir.display()));
    sh(&format!(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
         -keyout {d}/key.pem -out {d}/cert.pem -days 2 -subj /CN=live.example.cn \
         -addext subjectAltName=DNS:live.example.cn,IP:{HUB_IP} 2>/dev/null",
        d = dir.display()
    ));
    let printed = output(
        Command::new("openssl")
            .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
            .arg(dir.join("cert.pem")),
    );
    let fingerprint = printed.trim().split('=').nth(1).unwrap().to_string();
    let hub = dir.join("hub");
    std::fs::create_dir_all(&hub).unwrap();
    std::fs::write(
        dir.join("site.json"),
        serde_json::json!({ "trustedProxies": ["127.0.0.1"], "extraHosts": ["live.example.cn", HUB_IP] })
            .to_string(),
    )
    .unwrap();
    output(
        Command::new(guanmo)
            .args(["site-settings", "--data-dir"])
            .arg(&hub)
            .arg("--set")
            .arg(dir.join("site.json")),
    );
    let code = output(
        Command::new(guanmo)
            .args(["pairing-code", "--data-dir"])
            .arg(&hub),
    )
    .lines()
    .next()
    .unwrap()
    .trim()
    .to_string();
    let serve = Command::new("ip")
        .args(["netns", "exec", NETNS])
        .arg(guanmo)
        .args(["serve", "--data-dir"])
        .arg(&hub)
        .args(["--peer", &format!("127.0.0.1:{PEER}")])
        .args(["--site", &format!("127.0.0.1:{SITE}")])
        .args(["--site-host", "live.example.cn"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Stopped on drop from here on, whatever fails.
    let mut serve = Guard(Some(serve));
    wait_listening(SITE);
    wait_listening(PEER);
    let prefix = dir.join("nginx");
    for sub in ["sites-enabled", "snippets", "cache"] {
        std::fs::create_dir_all(prefix.join(sub)).unwrap();
    }
    sh(&format!("chmod -R 755 {}", prefix.display()));
    for snippet in ["guanmo-site.conf", "guanmo-http.conf"] {
        std::os::unix::fs::symlink(
            deploy.join("snippets").join(snippet),
            prefix.join("snippets").join(snippet),
        )
        .unwrap();
    }
    std::fs::write(
        prefix.join("sites-enabled").join("guanmo.conf"),
        site_file(deploy, dir),
    )
    .unwrap();
    let p = prefix.display();
    std::fs::write(
        prefix.join("nginx.conf"),
        format!(
            "# Made by guanmo-cli/benches/uplink.rs around the shipped site file.
worker_processes 1;
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {p}/body;
  proxy_temp_path {p}/proxy;
  fastcgi_temp_path {p}/fastcgi;
  uwsgi_temp_path {p}/uwsgi;
  scgi_temp_path {p}/scgi;
  include sites-enabled/guanmo.conf;
}}
"
        ),
    )
    .unwrap();
    let nginx = Command::new("ip")
        .args(["netns", "exec", NETNS, "nginx", "-p"])
        .arg(&prefix)
        .arg("-c")
        .arg(prefix.join("nginx.conf"))
        .args(["-g", "daemon off;"])
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !Command::new("ip")
        .args(["netns", "exec", NETNS, "bash", "-c"])
        .arg(format!("exec 3<>/dev/tcp/{HUB_IP}/{HTTPS}"))
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        assert!(Instant::now() < deadline, "nginx does not listen");
        std::thread::sleep(Duration::from_millis(100));
    }
    let server = Server {
        serve: serve.0.take().unwrap(),
        nginx,
    };
    (server, code, fingerprint)
}

/// A child stopped (TERM) on drop unless taken.
struct Guard(Option<Child>);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn run() -> bool {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let deploy = root.join("deploy").join("nginx");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../../../target"));
    eprintln!("building guanmo (release)…");
    sh(&format!(
        "cargo build --release -q -p guanmo-cli --bin guanmo --manifest-path {}",
        root.join("Cargo.toml").display()
    ));
    let guanmo = target.join("release").join("guanmo");
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // The link alone, before anything else uses it: one post's worth of 1600 px copies
    // (9 × 560 KB) as plain TCP, nine connections and one.
    let copies = 9 * 560 * 1024;
    let nine = raw_tcp(9, copies / 9);
    let one = raw_tcp(1, copies);
    eprintln!(
        "the link alone: {:.1} MB over 9 TCP connections {} ({:.2} Mbit/s), over 1 {} ({:.2} Mbit/s)",
        copies as f64 / 1e6,
        secs(nine),
        copies as f64 * 8.0 / 1e6 / nine.as_secs_f64(),
        secs(one),
        copies as f64 * 8.0 / 1e6 / one.as_secs_f64()
    );
    let (server, code, fingerprint) = start_server(&guanmo, &deploy, dir);

    let laptop_dir = dir.join("laptop");
    let ctx = Ctx::open(&laptop_dir, Arc::new(SystemClock)).unwrap();
    let media = ctx.media().clone();
    guanmo_sync::set_role(&ctx, Role::Media, "直播电脑").unwrap();
    let t = Instant::now();
    guanmo_sync::pair_over_http(
        &ctx,
        &format!("https://{HUB_IP}:{HTTPS}"),
        &code,
        Some(&fingerprint),
    )
    .unwrap();
    eprintln!("paired over the shaped link in {}", secs(t.elapsed()));

    let scene = Scene::load();
    eprintln!("importing {LIBRARY} camera photos (the day's library)…");
    let mut library_bytes = 0;
    let mut library = Vec::new();
    for i in 0..LIBRARY {
        let (hash, bytes) = import(&ctx, &media, &scene, i);
        library_bytes += bytes;
        library.push(hash);
    }
    eprintln!("  {:.0} MB", library_bytes as f64 / 1e6);
    // The post's photos, imported later; made now so that making them is not timed.
    let driver = Arc::new(Driver {
        ctx: ctx.clone(),
        originals_moving: AtomicBool::new(false),
        runs: AtomicU32::new(0),
        last: Mutex::new(None),
        events: Mutex::new(Vec::new()),
    });
    let auto = Arc::new(AutoSync::new(Arc::new(SystemClock)));
    let sync_thread = {
        let (auto, driver) = (Arc::clone(&auto), Arc::clone(&driver));
        std::thread::spawn(move || auto.run(driver.as_ref()))
    };
    // The library uploads (its copies, then its originals) for a while before the first post.
    std::thread::sleep(BACKGROUND_FIRST);
    let hub_objects = dir.join("hub").join("objects");
    let at_hub = |h: &str, name: &str| {
        hub_objects
            .join(&h[0..2])
            .join(&h[2..4])
            .join(name)
            .is_file()
    };
    let library_on_hub = || {
        library
            .iter()
            .filter(|h| at_hub(h, &format!("{h}.1600.jpg")))
            .count()
    };
    let mut rows = Vec::new();
    let mut first_post = Vec::new();
    let mut post_originals = 0u64;
    for round in 0..ROUNDS {
        let photos: Vec<(String, u64)> = (0..POST_PHOTOS)
            .map(|i| import(&ctx, &media, &scene, 1_000 + round * 100 + i))
            .collect();
        let post_bytes: u64 = photos.iter().map(|p| p.1).sum();
        let copies_before = library_on_hub();
        let moving = if driver.originals_moving.load(Ordering::Relaxed) {
            "originals"
        } else {
            "1600 px copies"
        };
        let draft = feed::create_draft(
            &ctx,
            PostInput {
                stop_label: Some(format!("【第{}站·水口山镇】", round + 3)),
                township_id: None,
                body: "观摩团来到水口山镇产业园区。".into(),
                photos: photos.iter().map(|p| p.0.clone()).collect(),
                credit: "记者 王五 摄".into(),
            },
        )
        .unwrap();
        let t0 = Instant::now();
        let post = feed::publish_post(&ctx, &draft.id, draft.version).unwrap();
        // What the app does after every write.
        auto.wrote();
        let (seen, full) = phone_sees(&post.id, t0);
        eprintln!(
            "round {}: publish → on the phone with its thumbnails {}, with every 1600 px picture {} (the library's {moving} were uploading: {copies_before} of {LIBRARY} copies at the hub)",
            round + 1,
            secs(seen),
            secs(full)
        );
        for line in driver.timeline(t0) {
            eprintln!("    {line}");
        }
        eprintln!("    +{:.1} s on the phone (thumbnails)", seen.as_secs_f64());
        eprintln!("    +{:.1} s every 1600 px picture", full.as_secs_f64());
        rows.push((seen, full, moving));
        if round == 0 {
            post_originals = post_bytes;
            first_post = photos;
        }
        std::thread::sleep(BACKGROUND_BETWEEN);
    }
    auto.stop();
    // A write here makes the run under way give way (as a person's next write would), so the
    // thread ends without uploading the rest of the library first.
    feed::create_draft(
        &ctx,
        PostInput {
            stop_label: None,
            township_id: None,
            body: "草稿".into(),
            photos: Vec::new(),
            credit: String::new(),
        },
    )
    .unwrap();
    let _ = sync_thread.join();
    let library_copies = library_on_hub();

    // The reference, same link, same run: how the app sent photos before (originals, two at
    // a time in 1 MB chunks, the post after all of them), timed on two of the first post's
    // originals (one wave of the two workers); the nine take about 4.5 times as long.
    eprintln!("reference: sending two of the first post's originals the old way…");
    first_post.truncate(2);
    let link = guanmo_sync::hub_link(&ctx).unwrap().unwrap();
    let transport = link.transport().unwrap();
    let t = Instant::now();
    let next = AtomicU32::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some((hash, size)) = first_post.get(i) else {
                    break;
                };
                let path = media.path(hash, guanmo_media::Size::Original).unwrap();
                let bytes = std::fs::read(path).unwrap();
                let mut offset = guanmo_sync::Transport::blobs_missing(
                    &transport,
                    &guanmo_sync::protocol::BlobQuery {
                        hashes: vec![hash.clone()],
                    },
                )
                .unwrap()
                .missing
                .first()
                .map_or(*size, |m| m.received);
                while offset < *size {
                    let end = (offset as usize + (1 << 20)).min(bytes.len());
                    offset = guanmo_sync::Transport::put_blob(
                        &transport,
                        hash,
                        *size,
                        offset,
                        &bytes[offset as usize..end],
                        &|| false,
                    )
                    .unwrap();
                }
            });
        }
    });
    let old_way = t.elapsed();
    let first_bytes: u64 = first_post.iter().map(|p| p.1).sum();
    drop(server);

    println!("| round | the library was uploading | publish → post and its 9 thumbnails on a phone through nginx | … and its nine 1600 px pictures |");
    println!("|---|---|---|---|");
    for (i, (seen, full, moving)) in rows.iter().enumerate() {
        println!(
            "| {} | {moving} | {} | {} |",
            i + 1,
            secs(*seen),
            secs(*full)
        );
    }
    let worst = rows.iter().map(|r| r.0).max().unwrap_or_default();
    println!(
        "\nworst publish → visible: {} (goal < {}): {}",
        secs(worst),
        secs(GOAL),
        if worst < GOAL { "met" } else { "NOT met" }
    );
    let rate = first_bytes as f64 * 8.0 / 1e6 / old_way.as_secs_f64();
    println!(
        "reference, same link: two originals ({:.1} MB) sent the old way (2 at a time, 1 MB chunks) took {} ({rate:.2} Mbit/s); nine ({:.0} MB) at that rate: about {:.0} s, and the old app published the post only after them",
        first_bytes as f64 / 1e6,
        secs(old_way),
        post_originals as f64 / 1e6,
        post_originals as f64 * 8.0 / 1e6 / rate
    );
    println!(
        "the link alone, same run: a post's worth of copies ({:.1} MB) as plain TCP over 9 connections {}, over 1 {}",
        copies as f64 / 1e6,
        secs(nine),
        secs(one)
    );
    println!(
        "background meanwhile: {library_copies} of the library's {LIBRARY} 1600 px copies reached the hub; runs: {}",
        driver.runs.load(Ordering::Relaxed)
    );
    worst < GOAL
}
