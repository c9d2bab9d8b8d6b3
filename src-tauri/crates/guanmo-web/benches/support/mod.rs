//! What the resident-site benches share: a media source without photos, the tokio runtime,
//! machine facts for the report, and wrk's output parsed.

use guanmo_web::MediaSource;
use std::path::PathBuf;

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
