//! What the resident-site benches share: a media source without photos, the tokio runtime,
//! machine facts for the report, wrk's output parsed, pinning this process to the generator
//! core, and server child processes (this binary re-executed, pinned to the server core).

use guanmo_web::MediaSource;
use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::time::timeout;

pub(crate) struct NoPhotos;

impl MediaSource for NoPhotos {
    fn derived_path(&self, _hash: &str, _long_side: u32) -> Option<PathBuf> {
        None
    }
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub(crate) fn in_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
}

pub(crate) fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

pub(crate) struct WrkResult {
    pub(crate) rps: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) requests: u64,
    pub(crate) non_2xx_3xx: u64,
    pub(crate) socket_errors: String,
}

pub(crate) fn to_ms(v: &str) -> f64 {
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

pub(crate) fn parse_wrk(out: &str) -> WrkResult {
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

pub(crate) fn pass(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**MISSED**"
    }
}

/// Pins this process and all its threads to `core` with `taskset`.
pub(crate) fn pin_self(core: &str) -> bool {
    let pinned = std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", core, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status();
    matches!(pinned, Ok(s) if s.success())
}

/// A server in a child process: this binary re-executed with `envs`, pinned to `core`. It
/// prints `LISTENING <port>` and exits when its stdin closes.
pub(crate) struct ChildServer {
    pub(crate) child: Child,
    pub(crate) stdin: Option<ChildStdin>,
    /// Its stdout after `LISTENING`; held open so the server never writes into a closed pipe.
    #[allow(dead_code)] // the comment bench holds it without reading
    pub(crate) lines: Lines<BufReader<ChildStdout>>,
    pub(crate) port: u16,
    pub(crate) pid: u32,
}

impl ChildServer {
    pub(crate) async fn start(core: &str, envs: &[(&str, &OsStr)]) -> ChildServer {
        let exe = std::env::current_exe().unwrap();
        let mut cmd = Command::new("taskset");
        cmd.args(["-c", core])
            .arg(exe)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let pid = child.id().unwrap();
        let stdin = child.stdin.take();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = timeout(Duration::from_secs(300), lines.next_line())
            .await
            .expect("server did not start within 300 s")
            .unwrap()
            .expect("server exited before listening");
        let port = line
            .strip_prefix("LISTENING ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected line from the server: {line}"));
        ChildServer {
            child,
            stdin,
            lines,
            port,
            pid,
        }
    }

    /// A size from `/proc/<pid>/status` (`VmRSS:`, `VmHWM:`) in MiB.
    pub(crate) fn status_mib(&self, key: &str) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    }

    /// Closes its stdin and waits for it to exit (killing it after 15 s).
    pub(crate) async fn stop(mut self) {
        drop(self.stdin.take());
        if timeout(Duration::from_secs(15), self.child.wait())
            .await
            .is_err()
        {
            eprintln!("server {} did not stop within 15 s; killing it", self.pid);
            let _ = self.child.kill().await;
        }
    }
}
