//! Photo import speed and memory against libvips, on camera-like JPEGs of 8–48 MP.
//!
//! Sources: the real photographs `Elephants_3840x2160.jpg` (8.3 MP) and `Elephants_5640x3172.jpg`
//! (17.9 MP) from Debian's `mate-backgrounds`; 12, 24 and 48 MP versions are made from them with
//! `vips resize` (Lanczos upscale, saved Q 92 with 4:2:0 chroma like a camera).
//! Per photo: our import (one child process per run: read, hash, store, decode once, 1600 + 320)
//! with its peak RSS (VmHWM); `vipsthumbnail` once per size; one python3-pyvips process making both
//! sizes from one open (libvips in-process, the fair reference). Median of 5. Then a 100-photo
//! batch on all cores.
//!
//! Needs (not in .ci/setup): `apt-get install mate-backgrounds libvips-tools` and
//! `pip install pyvips`. Run: `cargo bench -p guanmo-media --bench ingest`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use guanmo_media::{import_batch, Limits, MediaStore};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

const RUNS: usize = 5;
const SOURCES: &str = "/usr/share/backgrounds/mate/abstract";

const PYVIPS: &str = r#"
import sys, time, resource, pyvips
src, out = sys.argv[1], sys.argv[2]
t = time.perf_counter()
web = pyvips.Image.thumbnail(src, 1600).copy_memory()
web.jpegsave(out + "/w.jpg", Q=80, strip=True)
web.thumbnail_image(320).jpegsave(out + "/t.jpg", Q=80, strip=True)
print((time.perf_counter() - t) * 1000, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"#;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--child") {
        child(Path::new(&args[2]), Path::new(&args[3]));
        return;
    }
    let photos = prepare_photos();
    let work = tempfile::tempdir().unwrap();
    println!("| photo | MP | file MB | ours: both sizes (ms) | ours: full import (ms) | vipsthumbnail 1600 + 320 (ms) | pyvips in-process both (ms) | both sizes ÷ pyvips | import ÷ pyvips | ours peak RSS (MiB) | pyvips peak RSS (MiB) |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for photo in &photos {
        let (w, h) = dims(photo);
        let mb = std::fs::metadata(photo).unwrap().len() as f64 / 1e6;
        let mut ours = Vec::new();
        let mut imports = Vec::new();
        let mut ours_rss = 0f64;
        for run in 0..RUNS {
            let store = work.path().join(format!("store-{run}"));
            let _ = std::fs::remove_dir_all(&store);
            let out = Command::new(std::env::current_exe().unwrap())
                .arg("--child")
                .arg(photo)
                .arg(&store)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            let mut it = text.split_whitespace();
            ours.push(it.next().unwrap().parse::<f64>().unwrap());
            imports.push(it.next().unwrap().parse::<f64>().unwrap());
            ours_rss = ours_rss.max(it.next().unwrap().parse::<f64>().unwrap() / 1024.0);
        }
        let mut thumbnail = Vec::new();
        for _ in 0..RUNS {
            let mut total = 0.0;
            for size in ["1600", "320"] {
                let t = Instant::now();
                let status = Command::new("vipsthumbnail")
                    .arg(photo)
                    .args(["-s", size, "-o"])
                    .arg(format!(
                        "{}/vt{size}.jpg[Q=80,strip]",
                        work.path().display()
                    ))
                    .status()
                    .unwrap();
                assert!(status.success());
                total += t.elapsed().as_secs_f64() * 1000.0;
            }
            thumbnail.push(total);
        }
        let mut pyvips = Vec::new();
        let mut py_rss = 0f64;
        for _ in 0..RUNS {
            let out = Command::new("python3")
                .args(["-c", PYVIPS])
                .arg(photo)
                .arg(work.path())
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "pyvips: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8_lossy(&out.stdout);
            let mut it = text.split_whitespace();
            pyvips.push(it.next().unwrap().parse::<f64>().unwrap());
            py_rss = py_rss.max(it.next().unwrap().parse::<f64>().unwrap() / 1024.0);
        }
        let (o, i, v, p) = (
            median(&mut ours),
            median(&mut imports),
            median(&mut thumbnail),
            median(&mut pyvips),
        );
        println!(
            "| {} | {:.1} ({w}×{h}) | {mb:.1} | {o:.0} | {i:.0} | {v:.0} | {p:.0} | **{:.2}** | {:.2} | {ours_rss:.0} | {py_rss:.0} |",
            photo.file_name().unwrap().to_string_lossy(),
            f64::from(w) * f64::from(h) / 1e6,
            o / p,
            i / p
        );
    }
    batch(&photos, work.path());
}

/// In a fresh process: read + both sizes (`derive`), then a full `import` (hash, fsynced
/// store); prints both times in ms and VmHWM in KiB.
fn child(photo: &Path, store_dir: &Path) {
    let t = Instant::now();
    let bytes = std::fs::read(photo).unwrap();
    guanmo_media::derive(&bytes, &Limits::default()).unwrap();
    let derive_ms = t.elapsed().as_secs_f64() * 1000.0;
    drop(bytes);
    let store = MediaStore::new(store_dir).unwrap();
    let t = Instant::now();
    store.import(photo, &Limits::default()).unwrap();
    let import_ms = t.elapsed().as_secs_f64() * 1000.0;
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let hwm = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    println!("{derive_ms} {import_ms} {hwm}");
}

fn batch(photos: &[PathBuf], work: &Path) {
    let dir = work.join("batch");
    std::fs::create_dir_all(&dir).unwrap();
    let sources: Vec<Vec<u8>> = photos.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let mut paths = Vec::new();
    for i in 0..100 {
        // A COM segment with the index makes each file distinct bytes (no dedupe shortcut).
        let src = &sources[i % sources.len()];
        let comment = format!("batch photo {i}");
        let mut bytes = src[..2].to_vec();
        bytes.extend_from_slice(&[0xFF, 0xFE]);
        bytes.extend_from_slice(&((comment.len() + 2) as u16).to_be_bytes());
        bytes.extend_from_slice(comment.as_bytes());
        bytes.extend_from_slice(&src[2..]);
        let path = dir.join(format!("IMG_{i:04}.JPG"));
        std::fs::write(&path, bytes).unwrap();
        paths.push(path);
    }
    let store = MediaStore::new(&work.join("batch-store")).unwrap();
    let t = Instant::now();
    let outcomes = import_batch(
        &store,
        &paths,
        &Limits::default(),
        &AtomicBool::new(false),
        |_| {},
    );
    let secs = t.elapsed().as_secs_f64();
    assert!(outcomes.iter().all(|o| o.1.is_ok()));
    let mp: f64 = photos
        .iter()
        .map(|p| {
            let (w, h) = dims(p);
            f64::from(w) * f64::from(h) / 1e6
        })
        .sum::<f64>()
        / photos.len() as f64;
    println!();
    println!(
        "batch: 100 photos (the {} above in turn, mean {mp:.1} MP) in {secs:.1} s on {} cores = **{:.2} photos/s**",
        photos.len(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        100.0 / secs
    );
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn dims(photo: &Path) -> (u32, u32) {
    let h = turbojpeg::read_header(&std::fs::read(photo).unwrap()).unwrap();
    (h.width as u32, h.height as u32)
}

/// The real photos plus upscaled 12, 24 and 48 MP versions, made once into the temp dir.
fn prepare_photos() -> Vec<PathBuf> {
    let small = Path::new(SOURCES).join("Elephants_3840x2160.jpg");
    let large = Path::new(SOURCES).join("Elephants_5640x3172.jpg");
    assert!(
        small.exists() && large.exists(),
        "the bench needs Debian's mate-backgrounds photos: apt-get install mate-backgrounds libvips-tools; pip install pyvips"
    );
    let dir = std::env::temp_dir().join("guanmo-bench-photos");
    std::fs::create_dir_all(&dir).unwrap();
    let mut photos = vec![small.clone()];
    for (name, src, scale) in [
        ("up-12mp.jpg", &small, "1.2"),
        ("real-17.9mp", &large, ""),
        ("up-24mp.jpg", &large, "1.16"),
        ("up-48mp.jpg", &large, "1.64"),
    ] {
        if scale.is_empty() {
            photos.push(large.clone());
            continue;
        }
        let out = dir.join(name);
        if !out.exists() {
            let status = Command::new("vips")
                .arg("resize")
                .arg(src)
                .arg(format!("{}[Q=92,subsample-mode=on]", out.display()))
                .arg(scale)
                .status()
                .unwrap();
            assert!(status.success(), "vips resize failed");
        }
        photos.push(out);
    }
    photos
}
