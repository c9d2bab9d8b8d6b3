//! What 台标 costs: making the public copies of one photo with and without the watermark.
//!
//! Without 台标 a public copy is the derived JPEG itself (made at import; serving it is a file
//! read). With 台标 each public copy is made once per photo and setting from that derived JPEG:
//! decode, Lanczos3-scaled logo composited in a corner, re-encode. The bench measures that
//! against the import's own derive (decode once, both sizes) of the same photo, in-process,
//! median of 15 runs, on the Elephants photographs from Debian's `mate-backgrounds` (the ingest
//! bench's sources; a synthetic 12 MP gradient when they are not installed).
//!
//! It also measures the ~800 px public copy (`MediaStore::mid_copy`), made once per photo on
//! the site host from the 1600 px copy: decode, Lanczos3 down to 800 px, re-encode.
//!
//! Run: `cargo bench -p guanmo-media --bench watermark`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use guanmo_media::{derive, Corner, Limits, Logo, MediaStore, Placement, Size, Watermark};
use std::path::Path;
use std::time::Instant;

const RUNS: usize = 15;
const SOURCES: [&str; 2] = [
    "/usr/share/backgrounds/mate/abstract/Elephants_3840x2160.jpg",
    "/usr/share/backgrounds/mate/abstract/Elephants_5640x3172.jpg",
];

fn median_ms(mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[RUNS / 2]
}

/// A 400 × 160 logo: a red disc and a white band on transparency, antialiased edges.
fn logo() -> Logo {
    let img = image::RgbaImage::from_fn(400, 160, |x, y| {
        let (dx, dy) = (x as f32 - 80.0, y as f32 - 80.0);
        let disc = (70.0 - (dx * dx + dy * dy).sqrt()).clamp(0.0, 1.0);
        let band = if (170..390).contains(&x) && (50..110).contains(&y) {
            1.0
        } else {
            0.0
        };
        if disc > 0.0 {
            image::Rgba([200, 16, 26, (disc * 255.0) as u8])
        } else {
            image::Rgba([255, 255, 255, (band * 230.0) as u8])
        }
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    Logo::from_png(out.get_ref()).unwrap()
}

fn synthetic() -> Vec<u8> {
    let (w, h) = (4000usize, 3000usize);
    let mut px = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            px.extend_from_slice(&[
                (x * 255 / w) as u8,
                (y * 255 / h) as u8,
                ((x ^ y) % 256) as u8,
            ]);
        }
    }
    let image = turbojpeg::Image {
        pixels: px.as_slice(),
        width: w,
        pitch: w * 3,
        height: h,
        format: turbojpeg::PixelFormat::RGB,
    };
    turbojpeg::compress(image, 92, turbojpeg::Subsamp::Sub2x2)
        .unwrap()
        .to_vec()
}

fn main() {
    let mut photos: Vec<(String, Vec<u8>)> = SOURCES
        .iter()
        .filter(|p| Path::new(p).is_file())
        .map(|p| {
            let name = Path::new(p)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string();
            (name, std::fs::read(p).unwrap())
        })
        .collect();
    if photos.is_empty() {
        photos.push(("synthetic 4000×3000".into(), synthetic()));
    }
    let wm = Watermark::new(
        logo(),
        Placement {
            corner: Corner::BottomRight,
            size_pct: 15,
            opacity_pct: 80,
            margin_pct: 3,
        },
    );
    let limits = Limits::default();
    let dir = tempfile::tempdir().unwrap();
    let store = MediaStore::new(dir.path()).unwrap();
    println!("| photo | import derive, both sizes (ms) | 台标 on the 1600 px copy (ms) | 台标 on the 320 px copy (ms) | 台标, both ÷ derive | 800 px copy from the 1600 px one (ms) | its bytes ÷ the 1600 px copy's |");
    println!("|---|---|---|---|---|---|---|");
    for (name, bytes) in &photos {
        let derived = derive(bytes, &limits).unwrap();
        let base = median_ms(|| {
            derive(bytes, &limits).unwrap();
        });
        let web = median_ms(|| {
            wm.apply_to_jpeg(&derived.web).unwrap();
        });
        let thumb = median_ms(|| {
            wm.apply_to_jpeg(&derived.thumb).unwrap();
        });
        let hash = store.import_bytes(name, bytes, &limits).unwrap().hash;
        let web_path = store.path(&hash, Size::Web).unwrap();
        let mut mid_path = store.mid_copy(&hash, &web_path).unwrap();
        let mid = median_ms(|| {
            std::fs::remove_file(&mid_path).unwrap();
            mid_path = store.mid_copy(&hash, &web_path).unwrap();
        });
        let ratio = std::fs::metadata(&mid_path).unwrap().len() as f64
            / std::fs::metadata(&web_path).unwrap().len() as f64;
        println!(
            "| {name} | {base:.1} | {web:.1} | {thumb:.2} | {:.2} | {mid:.1} | {ratio:.2} |",
            (web + thumb) / base
        );
    }
}
