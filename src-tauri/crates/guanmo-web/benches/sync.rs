//! Sync speed. A scorer's laptop works offline — 10,000 operations and 500 photos (distinct
//! real JPEGs of about 200–400 KB) — and its work reaches the hub two ways:
//!
//! - a bundle file: `guanmo_sync::bundle::export_bundle` on the laptop, then `import_bundle`
//!   at the hub (signature, hashes, the photo pipeline, one transaction), with the import's
//!   phases timed from its progress events;
//! - over HTTP on 127.0.0.1: the hub's peer router served by `guanmo_web::serve`, the laptop
//!   running `guanmo_sync::sync_once` through `guanmo_sync::http::HttpTransport` (a second hub
//!   and laptop with the same work, so both paths start from the same state).
//!
//! The reference, in the same run: `cp` of the bundle file to the same disk (and `cp` followed
//! by `sync` of the copy, since export and import fsync what they write). Every MB/s is the
//! bundle's size over the time, so the rows compare the same bytes.
//!
//! Everything lives in a temp dir under `GUANMO_BENCH_DIR` (default: the system temp dir),
//! never the app's data dir. Run: `cargo bench -p guanmo-web --bench sync`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use guanmo_api::{photos, scoring, Ctx};
use guanmo_domain::scoring::{Scorer, ScorerInput, Sheet};
use guanmo_domain::SystemClock;
use guanmo_media::{Limits, MediaStore};
use guanmo_store::oplog;
use guanmo_sync::bundle::{export_bundle, import_bundle, BundleProgress};
use guanmo_sync::http::HttpTransport;
use guanmo_sync::memory::{Faults, MemoryTransport};
use guanmo_sync::{HubService, Role, Transport};
use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Operations the laptop writes offline.
const OPS: i64 = 10_000;
/// Photos it imports and attaches as evidence.
const PHOTOS: usize = 500;
/// Size of the generated photos (pixels).
const PHOTO_W: u32 = 1280;
const PHOTO_H: u32 = 960;

struct Node {
    ctx: Ctx,
    media: MediaStore,
}

fn node(root: &Path, dir: &str, role: Role, name: &str) -> Node {
    let data = root.join(dir);
    let ctx = Ctx::open(&data, Arc::new(SystemClock)).unwrap();
    let media = MediaStore::new(&data).unwrap();
    guanmo_sync::set_role(&ctx, role, name).unwrap();
    Node { ctx, media }
}

impl Node {
    fn own_ops(&self) -> i64 {
        let me = guanmo_sync::device_identity(&self.ctx).unwrap().id;
        self.ctx.store().read(|c| oplog::watermark(c, &me)).unwrap()
    }

    fn dump(&self) -> String {
        self.ctx.store().read(oplog::canonical_dump).unwrap()
    }
}

/// A hub with one scorer and every township open.
fn hub(root: &Path, dir: &str) -> (Node, Scorer) {
    let hub = node(root, dir, Role::Hub, "组织方主机");
    let scorer = scoring::register_scorer(
        &hub.ctx,
        ScorerInput {
            name: "张三".into(),
            group: "市领导".into(),
            township_id: None,
            active: true,
            work_unit: String::new(),
        },
    )
    .unwrap();
    for t in guanmo_api::roster::list_townships(&hub.ctx).unwrap() {
        if t.enabled {
            scoring::set_scoring_open(&hub.ctx, &t.id, true).unwrap();
        }
    }
    (hub, scorer)
}

// ---------------------------------------------------------------------------------------
// Photos: distinct, camera-sized JPEGs. The photo pipeline's own encoder makes them (its
// web copy of a PNG at this size is the PNG's pixels as a JPEG), so the bench needs no
// image crate: the PNG is written by hand, uncompressed pixels through zlib.

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc.sum().to_be_bytes());
}

fn png(w: u32, h: u32, rgb: &[u8]) -> Vec<u8> {
    let row = w as usize * 3;
    let mut raw = Vec::with_capacity((row + 1) * h as usize);
    for line in rgb.chunks(row) {
        raw.push(0); // filter: none
        raw.extend_from_slice(line);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(&raw).unwrap();
    let idat = z.finish().unwrap();
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter, no interlace
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(&mut out, b"IDAT", &idat);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// Photo `i`: a gradient with grain (noise is what makes a camera JPEG big).
fn photo(i: usize) -> Vec<u8> {
    let mut s = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut rgb = Vec::with_capacity((PHOTO_W * PHOTO_H * 3) as usize);
    for y in 0..PHOTO_H {
        for x in 0..PHOTO_W {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let grain = (s & 0x1F) as u32;
            rgb.push(((x * 255 / PHOTO_W + grain) & 0xFF) as u8);
            rgb.push(((y * 255 / PHOTO_H + (grain >> 1)) & 0xFF) as u8);
            rgb.push(((i as u32 * 37 + (x ^ y) / 8 + grain) & 0xFF) as u8);
        }
    }
    let web = guanmo_media::derive(&png(PHOTO_W, PHOTO_H, &rgb), &Limits::default())
        .unwrap()
        .web;
    assert!(web.starts_with(&[0xFF, 0xD8]), "a JPEG");
    web
}

// ---------------------------------------------------------------------------------------
// The laptop's offline work

/// Pairs `laptop` with the hub behind `t` (no token yet for HTTP), and the organiser assigns
/// every scorer to it.
fn pair(laptop: &Node, hub: &Node, t: &dyn Transport, url: &str) {
    let code = guanmo_sync::new_pairing_code(&hub.ctx).unwrap();
    guanmo_sync::pair_with_hub(&laptop.ctx, t, url, &code.code).unwrap();
    for s in scoring::list_scorers(&hub.ctx).unwrap() {
        guanmo_sync::assign_scorer(&hub.ctx, &s.id, Some(laptop.ctx.store().device_id())).unwrap();
    }
}

/// The first sync after pairing (roster, rubric, scorers); then the laptop is the scorer's.
fn first_sync(laptop: &Node, scorer: &Scorer, t: &dyn Transport) {
    guanmo_sync::sync_once(&laptop.ctx, &laptop.media, t, &|_| {}).unwrap();
    scoring::set_device_scorer(&laptop.ctx, Some(scorer.id.clone())).unwrap();
}

/// Every township's sheet opened, every photo imported and attached as evidence, then marks
/// edited until the laptop has written exactly `OPS` operations of its own.
fn offline_work(laptop: &Node, scorer: &Scorer, jpegs: &[Vec<u8>]) {
    let towns: Vec<_> = guanmo_api::roster::list_townships(&laptop.ctx)
        .unwrap()
        .into_iter()
        .filter(|t| t.enabled)
        .collect();
    let criteria: Vec<(String, f64)> = guanmo_api::rubric::get_rubric(&laptop.ctx)
        .unwrap()
        .categories
        .iter()
        .flat_map(|c| c.criteria.iter())
        .map(|k| (k.id.clone().unwrap(), k.max_points))
        .collect();
    let sheets: Vec<Sheet> = towns
        .iter()
        .map(|t| scoring::open_sheet(&laptop.ctx, &scorer.id, &t.id).unwrap())
        .collect();
    for (i, jpeg) in jpegs.iter().enumerate() {
        let name = format!("IMG_{i:04}.JPG");
        let imported = laptop
            .media
            .import_bytes(&name, jpeg, &Limits::default())
            .unwrap();
        photos::record_imported(&laptop.ctx, &name, &imported).unwrap();
        let sheet = &sheets[i % sheets.len()];
        let criterion = &criteria[(i / sheets.len()) % criteria.len()].0;
        photos::attach_evidence(&laptop.ctx, &sheet.id, criterion, &imported.hash).unwrap();
    }
    let mut round = 0usize;
    'edits: loop {
        for (k, sheet) in sheets.iter().enumerate() {
            for (j, (criterion, max)) in criteria.iter().enumerate() {
                if laptop.own_ops() >= OPS {
                    break 'edits;
                }
                let steps = (*max * 2.0) as usize + 1;
                let points = ((round + j + k) % steps) as f64 / 2.0;
                scoring::record_mark(
                    &laptop.ctx,
                    &sheet.id,
                    criterion,
                    Some(points),
                    String::new(),
                )
                .unwrap();
            }
        }
        round += 1;
    }
    assert_eq!(laptop.own_ops(), OPS);
}

// ---------------------------------------------------------------------------------------
// Measurements

struct Row {
    what: String,
    seconds: f64,
    /// Whether MB/s (the bundle's size over this time) means anything for the row.
    rate: bool,
}

/// The median of `n` runs of `f`.
fn median(n: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut runs: Vec<Duration> = (0..n).map(|_| f()).collect();
    runs.sort();
    runs[n / 2]
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let out = f();
    (out, start.elapsed())
}

fn run(cmd: &str, args: &[&Path]) -> Duration {
    let (status, took) = timed(|| Command::new(cmd).args(args).status().unwrap());
    assert!(status.success(), "{cmd} failed");
    took
}

/// Times of the import's phases, from its progress events: manifest, signature and
/// operations checked (done = 3), every photo verified (3 + P), every photo stored (3 + 2P),
/// the operations applied (the total).
fn import_phases(events: &[(BundleProgress, Instant)], start: Instant, photos: u32) -> Vec<Row> {
    let at = |done: u32| {
        events
            .iter()
            .find(|(p, _)| p.done >= done)
            .map(|(_, t)| *t)
            .unwrap()
    };
    let total = events.last().unwrap().0.total;
    let marks = [
        (3, "  · manifest, signature and operations read and checked"),
        (3 + photos, "  · every photo's hash verified"),
        (
            3 + 2 * photos,
            "  · photos stored through the photo pipeline",
        ),
        (total, "  · operations applied in one transaction"),
    ];
    let mut prev = start;
    marks
        .into_iter()
        .map(|(done, what)| {
            let t = at(done);
            let row = Row {
                what: what.to_string(),
                seconds: (t - prev).as_secs_f64(),
                rate: false,
            };
            prev = t;
            row
        })
        .collect()
}

/// **The same over HTTP on 127.0.0.1.** A fresh hub serves its peer router on a local port
/// (`guanmo_web::serve`); a fresh laptop pairs over HTTP, syncs once, does the same offline
/// work, then one timed `sync_once` carries it to the hub (push 10,000 operations in batches,
/// then the photos the hub lacks, by hash, in chunks).
fn http_exchange(root: &Path, jpegs: &[Vec<u8>]) -> (Duration, u64) {
    let (hub, scorer) = hub(root, "http-hub");
    let service = HubService::new(hub.ctx.clone(), hub.media.clone());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = rt.spawn(guanmo_web::serve(
        listener,
        guanmo_web::peer_router(service),
        async move {
            let _ = stopped.await;
        },
    ));

    let laptop = node(root, "http-laptop", Role::Scorer, "评分电脑二");
    pair(
        &laptop,
        &hub,
        &HttpTransport::new(&url, None).unwrap(),
        &url,
    );
    let link = guanmo_sync::hub_link(&laptop.ctx).unwrap().unwrap();
    let t = HttpTransport::new(&link.url, Some(link.token)).unwrap();
    first_sync(&laptop, &scorer, &t);
    offline_work(&laptop, &scorer, jpegs);

    let (report, took) =
        timed(|| guanmo_sync::sync_once(&laptop.ctx, &laptop.media, &t, &|_| {}).unwrap());
    assert_eq!(i64::from(report.pushed), OPS, "{report:?}");
    assert_eq!(report.photos_sent as usize, jpegs.len(), "{report:?}");
    assert_eq!(hub.dump(), laptop.dump(), "the hub has the laptop's work");
    let _ = stop.send(());
    rt.block_on(server).unwrap().unwrap();
    (took, report.bytes)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1_000_000.0
}

fn main() {
    let parent = std::env::var_os("GUANMO_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    let tmp = tempfile::tempdir_in(&parent).unwrap();
    let root = tmp.path();
    eprintln!("working in {}", root.display());

    let (jpegs, made) = timed(|| (0..PHOTOS).map(photo).collect::<Vec<_>>());
    let photo_bytes: u64 = jpegs.iter().map(|j| j.len() as u64).sum();
    eprintln!(
        "{PHOTOS} photos made in {:.1} s: {:.1} MB, {:.0}–{:.0} KB each",
        made.as_secs_f64(),
        mb(photo_bytes),
        jpegs.iter().map(Vec::len).min().unwrap() as f64 / 1000.0,
        jpegs.iter().map(Vec::len).max().unwrap() as f64 / 1000.0,
    );

    // The bundle path: a hub, a laptop paired over the in-memory link, cut off, working.
    let (hub1, scorer) = hub(root, "hub");
    let laptop = node(root, "laptop", Role::Scorer, "评分电脑一");
    let link = MemoryTransport::new(
        HubService::new(hub1.ctx.clone(), hub1.media.clone()),
        Faults::default(),
        1,
    );
    pair(&laptop, &hub1, &link, "memory://hub");
    first_sync(&laptop, &scorer, &link);
    link.set_cut(true);
    let (_, worked) = timed(|| offline_work(&laptop, &scorer, &jpegs));
    eprintln!(
        "offline work ({OPS} operations, {PHOTOS} photos) in {:.1} s",
        worked.as_secs_f64()
    );
    let me = guanmo_sync::device_identity(&laptop.ctx).unwrap().id;
    let ops_json: u64 = laptop
        .ctx
        .store()
        .read(|c| oplog::own_ops_after(c, &me, 0, u32::MAX))
        .unwrap()
        .iter()
        .map(|op| serde_json::to_vec(op).unwrap().len() as u64 + 1)
        .sum();

    let load_before = load_average();
    let bundle = root.join("同步包.zip");
    let (summary, export) =
        timed(|| export_bundle(&laptop.ctx, &laptop.media, &bundle, &|_| {}).unwrap());
    assert_eq!((summary.ops, summary.photos), (OPS as u32, PHOTOS as u32));
    let size = summary.bytes;

    let events = RefCell::new(Vec::new());
    let start = Instant::now();
    let report = import_bundle(&hub1.ctx, &hub1.media, &bundle, &|p| {
        events.borrow_mut().push((p, Instant::now()));
    })
    .unwrap();
    let import = start.elapsed();
    assert_eq!(i64::from(report.applied), OPS, "{report:?}");
    assert_eq!(report.photos_added as usize, PHOTOS);
    assert_eq!(hub1.dump(), laptop.dump(), "the hub has the laptop's work");
    let phases = import_phases(&events.into_inner(), start, PHOTOS as u32);

    let copy = root.join("copy.zip");
    let cp = median(5, || {
        let took = run("cp", &[&bundle, &copy]);
        std::fs::remove_file(&copy).unwrap();
        took
    });
    let cp_sync = median(5, || {
        let took = run("cp", &[&bundle, &copy]) + run("sync", &[&copy]);
        std::fs::remove_file(&copy).unwrap();
        took
    });

    let (http, http_photo_bytes) = http_exchange(root, &jpegs);
    let load_after = load_average();

    let mut rows = vec![
        Row {
            what: "bundle export on the laptop".into(),
            seconds: export.as_secs_f64(),
            rate: true,
        },
        Row {
            what: "bundle import at the hub".into(),
            seconds: import.as_secs_f64(),
            rate: true,
        },
    ];
    rows.extend(phases);
    rows.extend([
        Row {
            what: "**bundle export + import**".into(),
            seconds: (export + import).as_secs_f64(),
            rate: true,
        },
        Row {
            what: "**HTTP on 127.0.0.1: one `sync_once`**".into(),
            seconds: http.as_secs_f64(),
            rate: true,
        },
        Row {
            what: "reference: `cp` of the bundle, same disk".into(),
            seconds: cp.as_secs_f64(),
            rate: true,
        },
        Row {
            what: "reference: `cp` + `sync` of the copy".into(),
            seconds: cp_sync.as_secs_f64(),
            rate: true,
        },
    ]);

    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "\nSync bench: {OPS} operations ({:.1} MB of JSON) + {PHOTOS} photos ({:.1} MB of JPEG; \
         {:.1} MB of photos moved over HTTP); bundle {:.1} MB. {cores} cores, {cpu}; load average \
         {load_before} before, {load_after} after. MB/s = bundle size / time.\n",
        mb(ops_json),
        mb(photo_bytes),
        mb(http_photo_bytes),
        mb(size)
    );
    println!("| step | seconds | MB/s |");
    println!("|---|---:|---:|");
    for r in rows {
        let rate = if r.rate {
            format!("{:.0}", mb(size) / r.seconds)
        } else {
            String::new()
        };
        println!("| {} | {:.2} | {rate} |", r.what, r.seconds);
    }
}
