//! The crate's integration tests: every kind of bad input from the issue, orientation, metadata
//! stripping (checked with exiftool), the store's invariants and batch behaviour. All fixtures are
//! generated here (turbojpeg / image encoders and hand-patched bytes).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use guanmo_media::{
    import_batch, list_folder, Corner, ImageFormat, Imported, Limits, Logo, MediaError, MediaStore,
    Placement, Size, Watermark, MID_SIDE, WEB_SIDE,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use turbojpeg::{PixelFormat, Subsamp};

// ---------- fixtures ----------

fn store() -> (tempfile::TempDir, MediaStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = MediaStore::new(dir.path()).unwrap();
    (dir, store)
}

fn raster(w: usize, h: usize, f: impl Fn(usize, usize) -> [u8; 3]) -> Vec<u8> {
    let mut px = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            px.extend_from_slice(&f(x, y));
        }
    }
    px
}

fn jpeg_from(px: &[u8], w: usize, h: usize, quality: i32, subsamp: Subsamp) -> Vec<u8> {
    let image = turbojpeg::Image {
        pixels: px,
        width: w,
        pitch: w * 3,
        height: h,
        format: PixelFormat::RGB,
    };
    turbojpeg::compress(image, quality, subsamp)
        .unwrap()
        .to_vec()
}

/// A smooth, camera-ish gradient JPEG.
fn jpeg(w: usize, h: usize) -> Vec<u8> {
    let px = raster(w, h, |x, y| {
        [
            (x * 255 / w) as u8,
            (y * 255 / h) as u8,
            ((x + y) % 256) as u8,
        ]
    });
    jpeg_from(&px, w, h, 90, Subsamp::Sub2x2)
}

fn png_bytes(img: image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    png_bytes(img.into(), image::ImageFormat::Png)
}

/// Inserts an APPn segment right after SOI.
fn with_segment(jpeg: &[u8], marker: u8, payload: &[u8]) -> Vec<u8> {
    let len = u16::try_from(payload.len() + 2).unwrap();
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, marker]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&jpeg[2..]);
    out
}

enum V {
    Ascii(String),
    Short(u16),
    Long(u32),
    Rational(Vec<(u32, u32)>),
}

impl V {
    fn encode(&self) -> (u16, u32, Vec<u8>) {
        match self {
            V::Ascii(s) => {
                let mut b = s.as_bytes().to_vec();
                b.push(0);
                (2, b.len() as u32, b)
            }
            V::Short(v) => (3, 1, v.to_le_bytes().to_vec()),
            V::Long(v) => (4, 1, v.to_le_bytes().to_vec()),
            V::Rational(r) => (
                5,
                r.len() as u32,
                r.iter()
                    .flat_map(|(n, d)| [n.to_le_bytes(), d.to_le_bytes()].concat())
                    .collect(),
            ),
        }
    }
}

fn ifd_len(entries: &[(u16, V)]) -> u32 {
    let data: u32 = entries
        .iter()
        .map(|(_, v)| v.encode().2.len() as u32)
        .filter(|l| *l > 4)
        .map(|l| l + l % 2)
        .sum();
    2 + 12 * entries.len() as u32 + 4 + data
}

/// One little-endian IFD placed at `start`, values over 4 bytes right after it.
fn ifd(entries: &mut [(u16, V)], start: u32, next: u32) -> Vec<u8> {
    entries.sort_by_key(|(tag, _)| *tag);
    let mut head = (entries.len() as u16).to_le_bytes().to_vec();
    let mut data = Vec::new();
    let data_start = start + 2 + 12 * entries.len() as u32 + 4;
    for (tag, v) in entries.iter() {
        let (ty, count, bytes) = v.encode();
        head.extend_from_slice(&tag.to_le_bytes());
        head.extend_from_slice(&ty.to_le_bytes());
        head.extend_from_slice(&count.to_le_bytes());
        if bytes.len() <= 4 {
            let mut inline = bytes.clone();
            inline.resize(4, 0);
            head.extend_from_slice(&inline);
        } else {
            head.extend_from_slice(&(data_start + data.len() as u32).to_le_bytes());
            data.extend_from_slice(&bytes);
            if data.len() % 2 == 1 {
                data.push(0);
            }
        }
    }
    head.extend_from_slice(&next.to_le_bytes());
    head.extend_from_slice(&data);
    head
}

/// An "Exif\0\0" APP1 payload with IFD0 (orientation, make, model), the Exif IFD
/// (DateTimeOriginal), optionally GPS and an embedded thumbnail in IFD1.
fn exif_payload(orientation: u16, gps: bool, thumbnail: Option<&[u8]>) -> Vec<u8> {
    let mut exif = vec![(0x9003, V::Ascii("2026:05:12 09:31:07".into()))];
    let mut gps_ifd = vec![
        (0x0001, V::Ascii("N".into())),
        (0x0002, V::Rational(vec![(31, 1), (14, 1), (3000, 100)])),
        (0x0003, V::Ascii("E".into())),
        (0x0004, V::Rational(vec![(121, 1), (28, 1), (1200, 100)])),
    ];
    let mut ifd0 = vec![
        (0x0112, V::Short(orientation)),
        (0x010F, V::Ascii("Canon".into())),
        (0x0110, V::Ascii("Canon EOS R6".into())),
        (0x8769, V::Long(0)),
    ];
    if gps {
        ifd0.push((0x8825, V::Long(0)));
    }
    let ifd0_off = 8;
    let exif_off = ifd0_off + ifd_len(&ifd0);
    let gps_off = exif_off + ifd_len(&exif);
    let ifd1_off = gps_off + if gps { ifd_len(&gps_ifd) } else { 0 };
    for (tag, v) in ifd0.iter_mut() {
        match tag {
            0x8769 => *v = V::Long(exif_off),
            0x8825 => *v = V::Long(gps_off),
            _ => {}
        }
    }
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend(ifd(
        &mut ifd0,
        ifd0_off,
        if thumbnail.is_some() { ifd1_off } else { 0 },
    ));
    tiff.extend(ifd(&mut exif, exif_off, 0));
    if gps {
        tiff.extend(ifd(&mut gps_ifd, gps_off, 0));
    }
    if let Some(thumb) = thumbnail {
        let mut ifd1 = vec![
            (0x0103, V::Short(6)),
            (0x0201, V::Long(0)),
            (0x0202, V::Long(thumb.len() as u32)),
        ];
        let thumb_off = ifd1_off + ifd_len(&ifd1);
        ifd1[1].1 = V::Long(thumb_off);
        tiff.extend(ifd(&mut ifd1, ifd1_off, 0));
        tiff.extend_from_slice(thumb);
    }
    [b"Exif\0\0".as_slice(), &tiff].concat()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn decode_rgb(jpeg: &[u8]) -> turbojpeg::Image<Vec<u8>> {
    turbojpeg::decompress(jpeg, PixelFormat::RGB).unwrap()
}

fn pixel(img: &turbojpeg::Image<Vec<u8>>, x: usize, y: usize) -> [u8; 3] {
    let i = y * img.pitch + x * 3;
    [img.pixels[i], img.pixels[i + 1], img.pixels[i + 2]]
}

fn close(a: [u8; 3], b: [u8; 3], tolerance: i32) -> bool {
    a.iter()
        .zip(b)
        .all(|(x, y)| (i32::from(*x) - i32::from(y)).abs() <= tolerance)
}

fn read(store: &MediaStore, hash: &str, size: Size) -> Vec<u8> {
    std::fs::read(store.path(hash, size).unwrap()).unwrap()
}

fn refused(store: &MediaStore, bytes: &[u8]) -> MediaError {
    match store.import_bytes("fixture.jpg", bytes, &Limits::default()) {
        Err(e) => e,
        Ok(i) => panic!("expected a refusal, got {i:?}"),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(&[kind.as_slice(), data].concat()).to_be_bytes());
    out
}

// ---------- the happy path and the store ----------

#[test]
fn a_camera_jpeg_is_stored_by_hash_with_a_web_copy_and_a_thumbnail() {
    let (_dir, store) = store();
    let bytes = jpeg(2400, 1800);
    let imported = store
        .import_bytes("IMG_0001.JPG", &bytes, &Limits::default())
        .unwrap();
    assert_eq!(imported.hash, blake3::hash(&bytes).to_hex().to_string());
    assert_eq!(
        (imported.width, imported.height, imported.format),
        (2400, 1800, ImageFormat::Jpeg)
    );
    assert_eq!(imported.original_bytes, bytes.len() as u64);
    let h = &imported.hash;
    let original = store.path(h, Size::Original).unwrap();
    assert!(
        original.ends_with(format!("objects/{}/{}/{h}", &h[0..2], &h[2..4])),
        "{original:?}"
    );
    assert_eq!(
        std::fs::read(&original).unwrap(),
        bytes,
        "the original is kept byte for byte"
    );
    let web = decode_rgb(&read(&store, h, Size::Web));
    assert_eq!((web.width, web.height), (1600, 1200));
    let thumb = decode_rgb(&read(&store, h, Size::Thumb));
    assert_eq!((thumb.width, thumb.height), (320, 240));
    assert!(store
        .path(h, Size::Web)
        .unwrap()
        .to_string_lossy()
        .ends_with(".1600.jpg"));
    assert!(store
        .path(h, Size::Thumb)
        .unwrap()
        .to_string_lossy()
        .ends_with(".320.jpg"));
}

#[test]
fn the_same_bytes_imported_twice_are_stored_once() {
    let (dir, store) = store();
    let bytes = jpeg(400, 300);
    let a = store
        .import_bytes("a.jpg", &bytes, &Limits::default())
        .unwrap();
    let b = store
        .import_bytes("copy of a.jpg", &bytes, &Limits::default())
        .unwrap();
    assert_eq!(a, b);
    assert_eq!(
        files_under(dir.path()).len(),
        3,
        "one original and two derived files"
    );
}

#[test]
fn a_small_photo_is_never_upscaled() {
    let (_dir, store) = store();
    let imported = store
        .import_bytes("small.jpg", &jpeg(200, 100), &Limits::default())
        .unwrap();
    let web = decode_rgb(&read(&store, &imported.hash, Size::Web));
    let thumb = decode_rgb(&read(&store, &imported.hash, Size::Thumb));
    assert_eq!((web.width, web.height), (200, 100));
    assert_eq!((thumb.width, thumb.height), (200, 100));
}

#[test]
fn a_missing_derived_copy_is_rebuilt_from_the_original() {
    let (_dir, store) = store();
    let imported = store
        .import_bytes("a.jpg", &jpeg(900, 600), &Limits::default())
        .unwrap();
    let thumb = store.path(&imported.hash, Size::Thumb).unwrap();
    std::fs::remove_file(&thumb).unwrap();
    assert_eq!(store.path(&imported.hash, Size::Thumb).unwrap(), thumb);
    assert_eq!(decode_rgb(&std::fs::read(&thumb).unwrap()).width, 320);
}

#[test]
fn an_unknown_hash_is_not_found() {
    let (_dir, store) = store();
    let err = store.path(&"ab".repeat(32), Size::Web).unwrap_err();
    assert_eq!(err.code(), "not_found");
}

#[test]
fn png_and_webp_photos_are_imported() {
    let (_dir, store) = store();
    let p = store
        .import_bytes("a.png", &png(2000, 1000), &Limits::default())
        .unwrap();
    assert_eq!(
        (p.format, p.width, p.height),
        (ImageFormat::Png, 2000, 1000)
    );
    assert_eq!(decode_rgb(&read(&store, &p.hash, Size::Web)).width, 1600);
    let img = image::RgbImage::from_fn(700, 500, |x, _| image::Rgb([(x % 256) as u8, 10, 200]));
    let webp = png_bytes(img.into(), image::ImageFormat::WebP);
    let w = store
        .import_bytes("a.webp", &webp, &Limits::default())
        .unwrap();
    assert_eq!((w.format, w.width, w.height), (ImageFormat::Webp, 700, 500));
    assert_eq!(decode_rgb(&read(&store, &w.hash, Size::Thumb)).width, 320);
}

/// A RIFF/WEBP container holding `chunks` (fourcc, payload), each padded to an even length.
fn riff_webp(chunks: &[(&[u8; 4], Vec<u8>)]) -> Vec<u8> {
    let mut body = b"WEBP".to_vec();
    for (kind, data) in chunks {
        body.extend_from_slice(*kind);
        body.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
        body.extend_from_slice(data);
        if data.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
    out.extend_from_slice(&body);
    out
}

fn le24(v: u32) -> [u8; 3] {
    let b = v.to_le_bytes();
    [b[0], b[1], b[2]]
}

/// The one image chunk (fourcc and payload) of a simple WebP from `image`'s encoder.
fn webp_image_chunk(w: u32, h: u32, blue: u8) -> ([u8; 4], Vec<u8>) {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, y as u8, blue]));
    let simple = png_bytes(img.into(), image::ImageFormat::WebP);
    let kind: [u8; 4] = simple[12..16].try_into().unwrap();
    let len = u32::from_le_bytes(simple[16..20].try_into().unwrap()) as usize;
    (kind, simple[20..20 + len].to_vec())
}

/// A VP8X chunk payload: flags, three reserved bytes, canvas width−1 and height−1.
fn vp8x(flags: u8, w: u32, h: u32) -> Vec<u8> {
    [[flags, 0, 0, 0].as_slice(), &le24(w - 1), &le24(h - 1)].concat()
}

/// A real two-frame animated WebP (VP8X with the animation flag, ANIM, two ANMF frames), built
/// by hand because no encoder in the dependency tree writes animations.
fn animated_webp(w: u32, h: u32) -> Vec<u8> {
    let frame = |blue: u8| {
        let (kind, data) = webp_image_chunk(w, h, blue);
        let mut f = Vec::new();
        f.extend_from_slice(&le24(0)); // x / 2
        f.extend_from_slice(&le24(0)); // y / 2
        f.extend_from_slice(&le24(w - 1));
        f.extend_from_slice(&le24(h - 1));
        f.extend_from_slice(&le24(100)); // duration, ms
        f.push(0); // blend and dispose flags
        f.extend_from_slice(&kind);
        f.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
        f.extend_from_slice(&data);
        if data.len() % 2 == 1 {
            f.push(0);
        }
        f
    };
    riff_webp(&[
        (b"VP8X", vp8x(0x02, w, h)),
        (b"ANIM", vec![255, 255, 255, 255, 0, 0]), // background colour, loop forever
        (b"ANMF", frame(0)),
        (b"ANMF", frame(200)),
    ])
}

#[test]
fn an_animated_webp_is_refused_from_its_header_and_a_still_extended_webp_is_imported() {
    let (dir, store) = store();
    let anim = animated_webp(40, 30);
    // The fixture is a real animation as the `image` crate's WebP decoder sees it.
    let decoder = image::codecs::webp::WebPDecoder::new(std::io::Cursor::new(&anim)).unwrap();
    assert!(
        decoder.has_animation(),
        "the fixture must be an animated WebP"
    );

    let err = refused(&store, &anim);
    assert!(matches!(err, MediaError::Animated), "{err:?}");
    assert_eq!(err.code(), "animated");
    assert_eq!(
        err.message_zh("动图.webp"),
        "动图.webp: 暂不支持动图(WebP 动画),请导出为静态 JPEG"
    );
    // The animation chunks alone are enough, even if the VP8X flag was cleared.
    let mut unflagged = anim.clone();
    unflagged[20] = 0;
    assert_eq!(refused(&store, &unflagged).code(), "animated");
    assert!(files_under(store.root()).is_empty(), "nothing stored");

    // A still WebP in the extended (VP8X) container is a photo like any other.
    let (kind, data) = webp_image_chunk(40, 30, 90);
    let still = riff_webp(&[(b"VP8X", vp8x(0, 40, 30)), (&kind, data)]);
    let imported = store
        .import_bytes("still.webp", &still, &Limits::default())
        .unwrap();
    assert_eq!(
        (imported.format, imported.width, imported.height),
        (ImageFormat::Webp, 40, 30)
    );
    assert_eq!(
        decode_rgb(&read(&store, &imported.hash, Size::Web)).width,
        40
    );

    // In a batch the animated file is reported with its name and the others go on.
    let paths: Vec<PathBuf> = [("a.webp", &anim), ("b.webp", &still)]
        .iter()
        .map(|(name, bytes)| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        })
        .collect();
    let messages = Mutex::new(Vec::new());
    let outcomes = import_batch(
        &store,
        &paths,
        &Limits::default(),
        &AtomicBool::new(false),
        |p| messages.lock().unwrap().extend(p.message),
    );
    assert_eq!(outcomes[0].1.as_ref().unwrap_err().code(), "animated");
    assert!(outcomes[1].1.is_ok());
    assert_eq!(
        messages.into_inner().unwrap(),
        vec!["a.webp: 暂不支持动图(WebP 动画),请导出为静态 JPEG".to_string()]
    );
}

#[test]
fn a_sixteen_bit_png_is_converted_to_eight_bit_rgb() {
    let (_dir, store) = store();
    let img = image::ImageBuffer::<image::Rgb<u16>, Vec<u16>>::from_fn(64, 64, |_, _| {
        image::Rgb([65535, 32768, 0])
    });
    let bytes = png_bytes(
        image::DynamicImage::ImageRgb16(img),
        image::ImageFormat::Png,
    );
    assert_eq!(bytes[24], 16, "the fixture is a 16-bit PNG");
    let imported = store
        .import_bytes("deep.png", &bytes, &Limits::default())
        .unwrap();
    let web = decode_rgb(&read(&store, &imported.hash, Size::Web));
    assert!(
        close(pixel(&web, 32, 32), [255, 128, 0], 12),
        "{:?}",
        pixel(&web, 32, 32)
    );
}

#[test]
fn a_transparent_png_is_flattened_on_white() {
    let (_dir, store) = store();
    let img = image::RgbaImage::from_fn(64, 64, |x, _| {
        if x < 32 {
            image::Rgba([0, 0, 0, 0])
        } else {
            image::Rgba([0, 0, 255, 255])
        }
    });
    let bytes = png_bytes(img.into(), image::ImageFormat::Png);
    let imported = store
        .import_bytes("alpha.png", &bytes, &Limits::default())
        .unwrap();
    let web = decode_rgb(&read(&store, &imported.hash, Size::Web));
    assert!(
        close(pixel(&web, 8, 32), [255, 255, 255], 8),
        "transparent becomes white"
    );
    assert!(
        close(pixel(&web, 56, 32), [0, 0, 255], 24),
        "opaque stays blue"
    );
}

#[test]
fn a_cmyk_jpeg_is_converted_to_rgb() {
    let (_dir, store) = store();
    // Adobe (inverted) CMYK: 255 means no ink. Left half red (M+Y ink), right half white.
    let (w, h) = (64usize, 32usize);
    let mut px = Vec::new();
    for _ in 0..h {
        for x in 0..w {
            px.extend_from_slice(if x < 32 {
                &[255, 0, 0, 255]
            } else {
                &[255, 255, 255, 255]
            });
        }
    }
    let mut c = turbojpeg::Compressor::new().unwrap();
    c.set_quality(95).unwrap();
    c.set_subsamp(Subsamp::None).unwrap();
    let image = turbojpeg::Image {
        pixels: px.as_slice(),
        width: w,
        pitch: w * 4,
        height: h,
        format: PixelFormat::CMYK,
    };
    let bytes = c.compress_to_vec(image).unwrap();
    let header = turbojpeg::read_header(&bytes).unwrap();
    assert!(matches!(
        header.colorspace,
        turbojpeg::Colorspace::CMYK | turbojpeg::Colorspace::YCCK
    ));
    let imported = store
        .import_bytes("cmyk.jpg", &bytes, &Limits::default())
        .unwrap();
    let web = decode_rgb(&read(&store, &imported.hash, Size::Web));
    assert!(
        close(pixel(&web, 8, 16), [255, 0, 0], 40),
        "{:?}",
        pixel(&web, 8, 16)
    );
    assert!(
        close(pixel(&web, 56, 16), [255, 255, 255], 24),
        "{:?}",
        pixel(&web, 56, 16)
    );
}

// ---------- orientation ----------

/// Where a stored pixel (x, y) of a `sw`×`sh` raster is displayed, per the EXIF definition of
/// each orientation ("row 0 is at the …, column 0 is at the …"), written independently of the
/// crate's own mapping.
fn displayed_at(o: u16, x: usize, y: usize, sw: usize, sh: usize) -> (usize, usize) {
    match o {
        1 => (x, y),                   // row 0 top, col 0 left
        2 => (sw - 1 - x, y),          // row 0 top, col 0 right
        3 => (sw - 1 - x, sh - 1 - y), // row 0 bottom, col 0 right
        4 => (x, sh - 1 - y),          // row 0 bottom, col 0 left
        5 => (y, x),                   // row 0 left, col 0 top
        6 => (sh - 1 - y, x),          // row 0 right, col 0 top
        7 => (sh - 1 - y, sw - 1 - x), // row 0 right, col 0 bottom
        _ => (y, sw - 1 - x),          // row 0 left, col 0 bottom
    }
}

#[test]
fn all_eight_exif_orientations_are_applied_to_both_derived_copies() {
    // The scene as the photographer saw it: 64×48, four coloured quadrants.
    let (dw, dh) = (64usize, 48usize);
    let scene = |x: usize, y: usize| -> [u8; 3] {
        match (x < dw / 2, y < dh / 2) {
            (true, true) => [255, 0, 0],
            (false, true) => [0, 255, 0],
            (true, false) => [0, 0, 255],
            (false, false) => [255, 255, 0],
        }
    };
    let (_dir, store) = store();
    for o in 1..=8u16 {
        let (sw, sh) = if o >= 5 { (dh, dw) } else { (dw, dh) };
        let stored = raster(sw, sh, |x, y| {
            let (dx, dy) = displayed_at(o, x, y, sw, sh);
            scene(dx, dy)
        });
        let bytes = with_segment(
            &jpeg_from(&stored, sw, sh, 95, Subsamp::None),
            0xE1,
            &exif_payload(o, false, None),
        );
        let imported = store
            .import_bytes("o.jpg", &bytes, &Limits::default())
            .unwrap();
        assert_eq!(imported.meta.orientation, o);
        assert_eq!(
            (imported.width, imported.height),
            (64, 48),
            "orientation {o}: displayed size"
        );
        for size in [Size::Web, Size::Thumb] {
            let img = decode_rgb(&read(&store, &imported.hash, size));
            assert_eq!(
                (img.width, img.height),
                (dw, dh),
                "orientation {o} {size:?}"
            );
            for (x, y) in [(4, 4), (dw - 5, 4), (4, dh - 5), (dw - 5, dh - 5)] {
                assert!(
                    close(pixel(&img, x, y), scene(x, y), 60),
                    "orientation {o} {size:?}: pixel ({x},{y}) is {:?}, the scene has {:?}",
                    pixel(&img, x, y),
                    scene(x, y)
                );
            }
        }
    }
}

// ---------- metadata ----------

fn exiftool_json(path: &Path) -> serde_json::Map<String, serde_json::Value> {
    let out = std::process::Command::new("exiftool")
        .args(["-j", "-a", "-G1", "-b"])
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("exiftool is needed for this test ({e}): run .ci/setup (apt libimage-exiftool-perl)"));
    assert!(
        out.status.success(),
        "exiftool failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut list: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    match list.remove(0) {
        serde_json::Value::Object(map) => map,
        other => panic!("{other}"),
    }
}

#[test]
fn gps_xmp_and_the_embedded_thumbnail_never_reach_derived_copies() {
    let (_dir, store) = store();
    let thumb = jpeg(16, 16);
    let xmp = br#"http://ns.adobe.com/xap/1.0/ <x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="31,14.5N" exif:GPSLongitude="121,28.2E"/></rdf:RDF></x:xmpmeta>"#;
    let mut xmp = xmp.to_vec();
    xmp[28] = 0; // the namespace is NUL-terminated
    let bytes = with_segment(
        &with_segment(&jpeg(800, 600), 0xE1, &xmp),
        0xE1,
        &exif_payload(1, true, Some(&thumb)),
    );
    let imported = store
        .import_bytes("gps.jpg", &bytes, &Limits::default())
        .unwrap();

    let (lat, lon) = imported.meta.gps.expect("GPS is read from the original");
    assert!(
        (lat - 31.241_666).abs() < 1e-4 && (lon - 121.47).abs() < 1e-4,
        "{lat},{lon}"
    );
    assert_eq!(
        imported.meta.taken_at.as_deref(),
        Some("2026:05:12 09:31:07")
    );
    assert_eq!(imported.meta.camera.as_deref(), Some("Canon EOS R6"));

    let original = exiftool_json(&store.path(&imported.hash, Size::Original).unwrap());
    for must in [
        "GPS:GPSLatitude",
        "XMP-exif:GPSLatitude",
        "IFD1:ThumbnailImage",
    ] {
        assert!(
            original.contains_key(must),
            "the fixture must carry {must}: {original:?}"
        );
    }
    for size in [Size::Web, Size::Thumb] {
        let derived = exiftool_json(&store.path(&imported.hash, size).unwrap());
        let leaked: Vec<&String> = derived
            .keys()
            .filter(|k| {
                k.contains("GPS")
                    || k.contains("Thumbnail")
                    || k.starts_with("XMP")
                    || k.starts_with("IFD")
                    || k.starts_with("ExifIFD")
            })
            .collect();
        assert!(leaked.is_empty(), "{size:?} leaks {leaked:?}");
    }
}

#[test]
fn exif_with_a_looping_ifd_offset_neither_hangs_nor_fails_the_import() {
    let (_dir, store) = store();
    // IFD0 at 8 whose next-IFD offset and Exif pointer both point back at itself.
    let mut entries = vec![(0x0112, V::Short(6)), (0x8769, V::Long(8))];
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend(ifd(&mut entries, 8, 8));
    let payload = [b"Exif\0\0".as_slice(), &tiff].concat();
    let bytes = with_segment(&jpeg(300, 200), 0xE1, &payload);
    let started = Instant::now();
    let imported = store
        .import_bytes("loop.jpg", &bytes, &Limits::default())
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(matches!(imported.meta.orientation, 1 | 6));
}

// ---------- bad input ----------

#[test]
fn decompression_bombs_are_refused_from_the_header_before_decoding() {
    let (dir, store) = store();
    // PNG: IHDR 100000×100000 with a tiny IDAT.
    let mut ihdr = 100_000u32.to_be_bytes().to_vec();
    ihdr.extend(100_000u32.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let png_bomb = [
        b"\x89PNG\r\n\x1a\n".as_slice(),
        &png_chunk(b"IHDR", &ihdr),
        &png_chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0, 0, 0, 0, 1]),
        &png_chunk(b"IEND", &[]),
    ]
    .concat();
    // GIF 65535×65535.
    let gif_bomb = [
        b"GIF89a".as_slice(),
        &[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0],
        b",\0\0\0\0\xFF\xFF\xFF\xFF\0\x02\x02D\x01\0;",
    ]
    .concat();
    // JPEG SOF patched to 65500×65500, and one within the side limit but over 100 MP.
    let patch = |side: u16| {
        let mut j = jpeg(64, 64);
        let sof = j.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
        j[sof + 5..sof + 7].copy_from_slice(&side.to_be_bytes());
        j[sof + 7..sof + 9].copy_from_slice(&side.to_be_bytes());
        j
    };
    let started = Instant::now();
    assert_eq!(refused(&store, &png_bomb).code(), "too_many_pixels");
    assert_eq!(refused(&store, &patch(65_500)).code(), "too_many_pixels");
    assert_eq!(refused(&store, &patch(16_000)).code(), "too_many_pixels");
    let gif = refused(&store, &gif_bomb);
    assert_eq!(gif.code(), "unsupported_format");
    assert!(gif.message_zh("bomb.gif").contains("GIF"));
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "refused without decoding"
    );
    assert!(files_under(dir.path()).is_empty(), "nothing is stored");
}

#[test]
fn every_prefix_of_a_small_jpeg_and_png_is_refused_cleanly() {
    let (dir, store) = store();
    for full in [jpeg(120, 80), png(120, 80)] {
        for len in (0..full.len()).step_by(37) {
            let err = refused(&store, &full[..len]);
            assert!(
                matches!(err.code(), "empty" | "corrupt" | "unsupported_format"),
                "prefix {len}: {err:?}"
            );
        }
        store
            .import_bytes("whole", &full, &Limits::default())
            .unwrap();
    }
    assert_eq!(
        files_under(dir.path()).len(),
        6,
        "only the two whole files are stored"
    );
}

#[test]
fn a_thousand_random_bit_flips_never_panic_or_leave_partial_files() {
    let (dir, store) = store();
    let base = jpeg(96, 64);
    let mut state = 0x9E37_79B9_7F4A_7C15u64; // fixed seed: the same 1,000 cases every run
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut stored = std::collections::HashSet::new();
    for _ in 0..1000 {
        let mut bytes = base.clone();
        let bit = (next() % (bytes.len() as u64 * 8)) as usize;
        bytes[bit / 8] ^= 1 << (bit % 8);
        match store.import_bytes("flipped.jpg", &bytes, &Limits::default()) {
            Ok(imported) => {
                stored.insert(imported.hash);
            }
            Err(e) => assert!(!e.message_zh("flipped.jpg").is_empty()),
        }
    }
    let files = files_under(dir.path());
    assert!(
        files.iter().all(|f| !f
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".tmp-")),
        "no temp file is left"
    );
    assert_eq!(
        files.len(),
        stored.len() * 3,
        "each stored photo has exactly its three files"
    );
}

#[test]
fn an_image_with_no_pixels_and_an_empty_file_are_refused() {
    let (dir, store) = store();
    assert_eq!(refused(&store, &[0xFF, 0xD8, 0xFF, 0xD9]).code(), "corrupt");
    let empty = dir.path().join("empty.jpg");
    std::fs::write(&empty, b"").unwrap();
    let err = store.import(&empty, &Limits::default()).unwrap_err();
    assert_eq!(err.code(), "empty");
    assert!(err.message_zh("empty.jpg").starts_with("empty.jpg: "));
}

#[test]
fn html_svg_pdf_and_zip_renamed_to_jpg_are_refused_by_name_of_their_real_format() {
    let (dir, store) = store();
    let cases: [(&[u8], &str); 4] = [
        (b"<!DOCTYPE html><html><body>hi</body></html>", "HTML"),
        (
            b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            "SVG",
        ),
        (b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n", "PDF"),
        (b"PK\x03\x04\x14\0\0\0\0\0", "ZIP"),
    ];
    for (bytes, what) in cases {
        let path = dir.path().join("photo.jpg");
        std::fs::write(&path, bytes).unwrap();
        let err = store.import(&path, &Limits::default()).unwrap_err();
        assert_eq!(err.code(), "unsupported_format");
        let msg = err.message_zh("photo.jpg");
        assert!(msg.contains(what) && msg.contains("暂不支持"), "{msg}");
    }
    assert!(files_under(&dir.path().join("objects")).is_empty());
}

#[test]
fn a_zip_appended_after_the_jpeg_end_never_reaches_derived_copies() {
    let (_dir, store) = store();
    let zip = b"PK\x03\x04\x14\0\0\0\0\0secret-payload.txtPK\x05\x06";
    let bytes = [jpeg(500, 400).as_slice(), zip].concat();
    let imported = store
        .import_bytes("polyglot.jpg", &bytes, &Limits::default())
        .unwrap();
    for size in [Size::Web, Size::Thumb] {
        let derived = read(&store, &imported.hash, size);
        assert!(
            !contains(&derived, b"PK\x03\x04") && !contains(&derived, b"secret-payload"),
            "{size:?}"
        );
        assert!(
            derived.ends_with(&[0xFF, 0xD9]),
            "{size:?} ends at its own EOI"
        );
    }
}

#[test]
fn a_file_over_the_byte_limit_is_refused_before_it_is_read() {
    let (dir, store) = store();
    let path = dir.path().join("big.jpg");
    std::fs::write(&path, jpeg(200, 200)).unwrap();
    let limits = Limits {
        max_bytes: 100,
        ..Limits::default()
    };
    assert_eq!(
        store.import(&path, &limits).unwrap_err().code(),
        "too_large"
    );
}

#[test]
fn a_decode_over_the_time_limit_is_abandoned_and_reported() {
    let (dir, store) = store();
    let limits = Limits {
        decode_timeout: Duration::from_nanos(1),
        ..Limits::default()
    };
    let err = store
        .import_bytes("slow.jpg", &jpeg(3000, 2000), &limits)
        .unwrap_err();
    assert_eq!(err.code(), "decode_timeout");
    assert!(files_under(&dir.path().join("objects")).is_empty());
}

#[test]
fn hostile_file_names_never_shape_store_paths() {
    let (dir, store) = store();
    let folder = dir.path().join("card");
    std::fs::create_dir_all(&folder).unwrap();
    let names = [
        "..%2F..%2Fescape.jpg".to_string(),
        "photo\u{202E}gpj.exe.jpg".to_string(),
        format!("{}.jpg", "长".repeat(80)),
    ];
    for (i, name) in names.iter().enumerate() {
        let path = folder.join(name);
        std::fs::write(&path, jpeg(100 + i, 80)).unwrap();
        store.import(&path, &Limits::default()).unwrap();
    }
    store
        .import_bytes("../../../../etc/passwd", &jpeg(90, 90), &Limits::default())
        .unwrap();
    store
        .import_bytes(&"x".repeat(300), &jpeg(91, 90), &Limits::default())
        .unwrap();
    let objects = dir.path().join("objects");
    for f in files_under(&objects) {
        let rel = f
            .strip_prefix(&objects)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let ok = rel.len() >= 70
            && rel.bytes().all(|b| {
                b.is_ascii_hexdigit()
                    || b == b'/'
                    || b == b'.'
                    || b.is_ascii_lowercase()
                    || b.is_ascii_digit()
            });
        assert!(
            ok && !rel.contains(".."),
            "store path {rel:?} must be made of the hash only"
        );
    }
    assert!(!dir.path().join("etc").exists());
}

// ---------- folders and batches ----------

#[cfg(unix)]
#[test]
fn listing_a_folder_does_not_follow_symlinks_out_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let outside = dir.path().join("outside");
    let card = dir.path().join("card");
    std::fs::create_dir_all(card.join("DCIM")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.jpg"), jpeg(50, 50)).unwrap();
    std::fs::write(card.join("DCIM").join("IMG_0001.JPG"), jpeg(50, 50)).unwrap();
    std::fs::write(card.join("notes.txt"), b"not a photo").unwrap();
    std::os::unix::fs::symlink(outside.join("secret.jpg"), card.join("link.jpg")).unwrap();
    std::os::unix::fs::symlink(&outside, card.join("linked-folder")).unwrap();
    assert_eq!(
        list_folder(&card),
        vec![card.join("DCIM").join("IMG_0001.JPG")]
    );
}

#[test]
fn a_batch_whose_second_file_is_bad_still_imports_the_other_four() {
    let (dir, store) = store();
    let mut paths = Vec::new();
    for i in 0..5 {
        let path = dir.path().join(format!("IMG_{i}.jpg"));
        let bytes = if i == 1 {
            b"<html>not a photo</html>".to_vec()
        } else {
            jpeg(300 + i, 200)
        };
        std::fs::write(&path, bytes).unwrap();
        paths.push(path);
    }
    let calls = AtomicUsize::new(0);
    let seen = Mutex::new(Vec::new());
    let outcomes = import_batch(
        &store,
        &paths,
        &Limits::default(),
        &AtomicBool::new(false),
        |p| {
            calls.fetch_add(1, Ordering::Relaxed);
            seen.lock().unwrap().push((p.done, p.total, p.error));
        },
    );
    assert_eq!(calls.load(Ordering::Relaxed), 5, "progress once per file");
    let mut done: Vec<usize> = seen.lock().unwrap().iter().map(|s| s.0).collect();
    done.sort();
    assert_eq!(done, vec![1, 2, 3, 4, 5]);
    assert_eq!(
        outcomes.iter().map(|o| o.0.clone()).collect::<Vec<_>>(),
        paths,
        "outcomes in input order"
    );
    let ok: Vec<&Imported> = outcomes.iter().filter_map(|o| o.1.as_ref().ok()).collect();
    assert_eq!(ok.len(), 4);
    assert_eq!(
        outcomes[1].1.as_ref().unwrap_err().code(),
        "unsupported_format"
    );
}

#[test]
fn a_cancelled_batch_reports_every_unstarted_file_as_cancelled() {
    let (dir, store) = store();
    let paths: Vec<PathBuf> = (0..4)
        .map(|i| {
            let p = dir.path().join(format!("{i}.jpg"));
            std::fs::write(&p, jpeg(100 + i, 100)).unwrap();
            p
        })
        .collect();
    let outcomes = import_batch(
        &store,
        &paths,
        &Limits::default(),
        &AtomicBool::new(true),
        |_| {},
    );
    assert_eq!(outcomes.len(), 4);
    assert!(outcomes
        .iter()
        .all(|o| matches!(o.1, Err(MediaError::Cancelled))));
    assert!(files_under(&dir.path().join("objects")).is_empty());
}

// ---------- a full disk ----------

/// A tmpfs of `size` mounted on a fresh directory, unmounted on drop (also when a test fails).
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// Mounts, or says why it could not.
    fn mount(size: &str) -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = std::process::Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let ok = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }
}

/// A JPEG of noise, which compresses badly: about 2.5 bits per pixel per channel at q95.
fn noise_jpeg(w: usize, h: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state as u8
    };
    let px: Vec<u8> = (0..w * h * 3).map(|_| next()).collect();
    jpeg_from(&px, w, h, 95, Subsamp::Sub2x2)
}

#[test]
fn a_full_disk_leaves_no_partial_file_reports_disk_full_and_the_batch_goes_on() {
    let disk = match SmallDisk::mount("2m") {
        Ok(disk) => disk,
        Err(why) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI runs as root and must run the full-disk test, but: {why}"
            );
            eprintln!("SKIPPED the full-disk test (needs root to mount a small tmpfs): {why}");
            return;
        }
    };
    let store = MediaStore::new(disk.path()).unwrap();
    let sources = tempfile::tempdir().unwrap();
    // Eight photos of about 0.4 MB each (plus 1600 px and 320 px copies) into a 2 MB disk.
    let photos: Vec<(PathBuf, Vec<u8>)> = (0..8u64)
        .map(|i| {
            let bytes = noise_jpeg(560, 420, i + 1);
            let path = sources.path().join(format!("IMG_{i:04}.JPG"));
            std::fs::write(&path, &bytes).unwrap();
            (path, bytes)
        })
        .collect();
    let paths: Vec<PathBuf> = photos.iter().map(|p| p.0.clone()).collect();
    let reports = Mutex::new(Vec::new());
    let outcomes = import_batch(
        &store,
        &paths,
        &Limits::default(),
        &AtomicBool::new(false),
        |p| {
            reports
                .lock()
                .unwrap()
                .push((p.path.clone(), p.error, p.message))
        },
    );
    assert_eq!(outcomes.len(), 8, "every file gets an outcome");
    assert_eq!(reports.lock().unwrap().len(), 8, "progress once per file");

    let stored = files_under(store.root());
    for f in &stored {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        assert!(
            !name.starts_with(".tmp-") && !name.ends_with(".partial"),
            "temp file left behind: {f:?}"
        );
    }
    let (mut imported, mut full) = (0, 0);
    for ((path, outcome), (_, bytes)) in outcomes.iter().zip(&photos) {
        let hash = blake3::hash(bytes).to_hex().to_string();
        let of_this: Vec<&PathBuf> = stored
            .iter()
            .filter(|f| f.file_name().unwrap().to_string_lossy().starts_with(&hash))
            .collect();
        match outcome {
            Ok(i) => {
                imported += 1;
                assert_eq!(i.hash, hash);
                assert_eq!(of_this.len(), 3, "{path:?}: original, web copy, thumbnail");
                // Complete files: the original byte for byte, the copies decode.
                assert_eq!(&read(&store, &hash, Size::Original), bytes);
                assert_eq!(decode_rgb(&read(&store, &hash, Size::Web)).width, 560);
                assert_eq!(decode_rgb(&read(&store, &hash, Size::Thumb)).width, 320);
            }
            Err(e) => {
                full += 1;
                assert!(matches!(e, MediaError::DiskFull(_)), "{path:?}: {e:?}");
                assert_eq!(e.code(), "disk_full");
                assert!(
                    of_this.is_empty(),
                    "{path:?} failed but left {of_this:?} in the store"
                );
            }
        }
    }
    assert!(imported >= 1, "some photos fit on the disk");
    assert!(full >= 1, "the disk filled up during the batch");
    // After the first full-disk failure the rest are not decoded in vain: only files the
    // other workers had already started can still succeed. This is about time, not about
    // the order of the paths (a worker starved of CPU may finish its file last), so it is
    // read from the progress reports, which arrive in the order the files finished. The
    // batch marks the disk full before it reports the failure, so every success reported
    // later was already being imported then: at most one per other worker.
    let reports_in_order = reports.lock().unwrap().clone();
    let first_full = reports_in_order
        .iter()
        .position(|(_, code, _)| *code == Some("disk_full"))
        .unwrap();
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
    let later_ok = reports_in_order[first_full..]
        .iter()
        .filter(|(_, code, _)| code.is_none())
        .count();
    assert!(
        later_ok < workers,
        "files after the disk filled up were still imported: {:?}",
        reports_in_order
            .iter()
            .map(|(path, code, _)| (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                *code
            ))
            .collect::<Vec<_>>()
    );
    for (path, code, message) in reports.lock().unwrap().iter() {
        if *code == Some("disk_full") {
            let name = path.file_name().unwrap().to_string_lossy();
            assert_eq!(
                message.as_deref(),
                Some(format!("{name}: 磁盘空间不足,照片未保存,请清理磁盘后重新导入").as_str())
            );
        }
    }

    // The store is still usable: a small photo fits in the space the failures gave back.
    let small = store
        .import_bytes("small.jpg", &jpeg(32, 24), &Limits::default())
        .unwrap();
    assert_eq!(read(&store, &small.hash, Size::Original), jpeg(32, 24));
    drop(store);
    drop(disk);
}

// ---------- another device's 1600 px copy (publishing over 4G) ----------

#[test]
fn a_web_copy_from_another_device_is_re_encoded_without_metadata_and_the_original_wins_later() {
    let (dir, store) = store();
    let original = jpeg(2400, 1800);
    let hash = blake3::hash(&original).to_hex().to_string();
    // What the other laptop sends: its 1600 px copy, here with EXIF GPS smuggled in.
    let (_other_dir, other) = self::store();
    let made = other
        .import_bytes("IMG.JPG", &original, &Limits::default())
        .unwrap();
    let copy = with_segment(
        &read(&other, &made.hash, Size::Web),
        0xE1,
        &exif_payload(1, true, None),
    );
    assert!(contains(&copy, b"GPS") || contains(&copy, b"Exif"));

    let (w, h) = store
        .import_web_copy(&hash, &copy, &Limits::default())
        .unwrap();
    assert_eq!((w, h), (1600, 1200));
    assert!(store.has(&hash, Size::Web) && store.has(&hash, Size::Thumb));
    assert!(!store.has(&hash, Size::Original), "no original yet");
    assert!(matches!(
        store.path(&hash, Size::Original),
        Err(MediaError::NotFound(_))
    ));
    let web = read(&store, &hash, Size::Web);
    assert!(!contains(&web, b"Exif"), "metadata is not carried over");
    assert_eq!(
        (decode_rgb(&web).width, decode_rgb(&web).height),
        (1600, 1200)
    );
    let thumb = decode_rgb(&read(&store, &hash, Size::Thumb));
    assert_eq!((thumb.width, thumb.height), (320, 240));

    // The original arrives (by sync or USB): its own copies replace the device's.
    store
        .import_bytes("IMG.JPG", &original, &Limits::default())
        .unwrap();
    assert_eq!(
        read(&store, &hash, Size::Web),
        read(&other, &hash, Size::Web)
    );
    // A copy sent after the original changes nothing.
    let other_copy = jpeg(1600, 1200);
    store
        .import_web_copy(&hash, &other_copy, &Limits::default())
        .unwrap();
    assert_eq!(
        read(&store, &hash, Size::Web),
        read(&other, &hash, Size::Web)
    );
    drop(dir);
}

#[test]
fn a_web_copy_that_is_too_big_not_a_jpeg_or_broken_is_refused_and_leaves_nothing() {
    let (dir, store) = store();
    let hash = "ab".repeat(32);
    let too_big = jpeg(2000, 1000);
    assert!(matches!(
        store.import_web_copy(&hash, &too_big, &Limits::default()),
        Err(MediaError::TooManyPixels { .. })
    ));
    assert!(matches!(
        store.import_web_copy(&hash, &png(800, 600), &Limits::default()),
        Err(MediaError::UnsupportedFormat { .. })
    ));
    let mut broken = jpeg(800, 600);
    broken.truncate(broken.len() / 3);
    assert!(store
        .import_web_copy(&hash, &broken, &Limits::default())
        .is_err());
    assert!(matches!(
        store.import_web_copy("../x", &jpeg(80, 60), &Limits::default()),
        Err(MediaError::InvalidHash(_))
    ));
    assert!(!store.has(&hash, Size::Web) && !store.has(&hash, Size::Thumb));
    assert!(files_under(dir.path()).is_empty(), "nothing written");
}

#[test]
fn a_thumbnail_from_another_device_is_stored_alone_and_a_bigger_one_is_refused() {
    let (dir, store) = store();
    let hash = "cd".repeat(32);
    assert!(matches!(
        store.import_thumb_copy(&hash, &jpeg(400, 300), &Limits::default()),
        Err(MediaError::TooManyPixels { .. })
    ));
    assert!(files_under(dir.path()).is_empty());
    let (w, h) = store
        .import_thumb_copy(&hash, &jpeg(320, 240), &Limits::default())
        .unwrap();
    assert_eq!((w, h), (320, 240));
    assert!(store.has(&hash, Size::Thumb));
    assert!(!store.has(&hash, Size::Web) && !store.has(&hash, Size::Original));
    let thumb = decode_rgb(&read(&store, &hash, Size::Thumb));
    assert_eq!((thumb.width, thumb.height), (320, 240));
}

// ---------- 台标: the watermark on public copies ----------

fn logo(w: u32, h: u32, px: [u8; 4]) -> Logo {
    let img = image::RgbaImage::from_pixel(w, h, image::Rgba(px));
    Logo::from_png(&png_bytes(img.into(), image::ImageFormat::Png)).unwrap()
}

fn placement(corner: Corner, size_pct: u8, opacity_pct: u8, margin_pct: u8) -> Placement {
    Placement {
        corner,
        size_pct,
        opacity_pct,
        margin_pct,
    }
}

/// Mean of the absolute channel differences over the rectangle `x0..x1` × `y0..y1`.
fn mean_diff(
    a: &turbojpeg::Image<Vec<u8>>,
    b: &turbojpeg::Image<Vec<u8>>,
    (x0, y0, x1, y1): (usize, usize, usize, usize),
) -> f64 {
    let mut sum = 0u64;
    let mut n = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            for (p, q) in pixel(a, x, y).into_iter().zip(pixel(b, x, y)) {
                sum += u64::from(p.abs_diff(q));
                n += 1;
            }
        }
    }
    sum as f64 / n as f64
}

/// Mean colour over a rectangle.
fn mean_rgb(
    img: &turbojpeg::Image<Vec<u8>>,
    (x0, y0, x1, y1): (usize, usize, usize, usize),
) -> [u8; 3] {
    let mut sum = [0u64; 3];
    for y in y0..y1 {
        for x in x0..x1 {
            for (s, v) in sum.iter_mut().zip(pixel(img, x, y)) {
                *s += u64::from(v);
            }
        }
    }
    let n = ((x1 - x0) * (y1 - y0)) as u64;
    sum.map(|s| ((s + n / 2) / n) as u8)
}

/// The APPn segments (markers 0xE0–0xEF) of a JPEG, walked from SOI to SOS.
fn app_segments(jpeg: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        if marker == 0xDA {
            break;
        }
        if (0xE0..=0xEF).contains(&marker) {
            out.push(marker);
        }
        i += 2 + usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
    }
    out
}

#[test]
fn the_watermark_is_on_every_public_copy_and_on_no_original() {
    let (dir, store) = store();
    let bytes = with_segment(&jpeg(1200, 800), 0xE1, &exif_payload(1, true, None));
    let imported = store
        .import_bytes("gps.jpg", &bytes, &Limits::default())
        .unwrap();
    let plain_web = read(&store, &imported.hash, Size::Web);
    let plain_thumb = read(&store, &imported.hash, Size::Thumb);
    let objects_before = files_under(&dir.path().join("objects"));
    let magenta = Watermark::new(
        logo(100, 50, [255, 0, 255, 255]),
        placement(Corner::BottomRight, 20, 100, 2),
    );

    for (size, plain) in [(Size::Web, &plain_web), (Size::Thumb, &plain_thumb)] {
        let path = store
            .public_path(&imported.hash, size, Some(&magenta))
            .unwrap();
        assert_ne!(path, store.path(&imported.hash, size).unwrap());
        let public = std::fs::read(&path).unwrap();
        let marked = decode_rgb(&public);
        let base = decode_rgb(plain);
        assert_eq!((marked.width, marked.height), (base.width, base.height));
        let (w, h) = (marked.width, marked.height);
        // 20 % of the width, 2:1, 2 % from the right and bottom edges.
        let lw = (w * 20 + 50) / 100;
        let lh = lw.div_ceil(2);
        let m = (w * 2 + 50) / 100;
        let logo_box = (w - m - lw + 3, h - m - lh + 3, w - m - 3, h - m - 3);
        let got = mean_rgb(&marked, logo_box);
        assert!(
            close(got, [255, 0, 255], 12),
            "{size:?}: logo corner is {got:?}"
        );
        assert!(
            !close(mean_rgb(&base, logo_box), [255, 0, 255], 60),
            "the unwatermarked copy has no magenta there"
        );
        // The opposite corner is the unwatermarked render's, up to one JPEG re-encode.
        let opposite = (0, 0, w / 4, h / 4);
        let drift = mean_diff(&marked, &base, opposite);
        assert!(drift < 1.5, "{size:?}: top-left drifted by {drift}");
        // Like the copy it is made from: no EXIF, GPS, XMP or any APPn but JFIF.
        assert!(app_segments(&public).iter().all(|m| *m == 0xE0), "{size:?}");
        let tags = exiftool_json(&path);
        let leaked: Vec<&String> = tags
            .keys()
            .filter(|k| {
                k.contains("GPS")
                    || k.starts_with("IFD")
                    || k.starts_with("XMP")
                    || k.starts_with("ExifIFD")
            })
            .collect();
        assert!(leaked.is_empty(), "{size:?} leaks {leaked:?}");
    }

    // The original, its hash and the app's own derived copies are untouched, and nothing was
    // added to or changed in objects/ (what a backup copies).
    assert_eq!(read(&store, &imported.hash, Size::Original), bytes);
    assert_eq!(blake3::hash(&bytes).to_hex().as_str(), imported.hash);
    assert_eq!(read(&store, &imported.hash, Size::Web), plain_web);
    assert_eq!(read(&store, &imported.hash, Size::Thumb), plain_thumb);
    assert_eq!(files_under(&dir.path().join("objects")), objects_before);
    // No watermark: the public copy is the derived copy itself; never an original.
    assert_eq!(
        store.public_path(&imported.hash, Size::Web, None).unwrap(),
        store.path(&imported.hash, Size::Web).unwrap()
    );
    assert!(matches!(
        store.public_path(&imported.hash, Size::Original, Some(&magenta)),
        Err(MediaError::NotFound(_))
    ));
}

#[test]
fn opacity_is_honoured_a_half_white_logo_over_black_is_mid_grey() {
    let (_dir, store) = store();
    let black = jpeg_from(&vec![0u8; 800 * 600 * 3], 800, 600, 95, Subsamp::Sub2x2);
    let hash = store
        .import_bytes("black.jpg", &black, &Limits::default())
        .unwrap()
        .hash;
    // 50 % opacity of an opaque logo, and an opaque setting of a half-transparent logo.
    for (alpha, opacity) in [(255, 50), (128, 100)] {
        let wm = Watermark::new(
            logo(64, 64, [255, 255, 255, alpha]),
            placement(Corner::TopLeft, 25, opacity, 0),
        );
        let img = decode_rgb(
            &std::fs::read(store.public_path(&hash, Size::Web, Some(&wm)).unwrap()).unwrap(),
        );
        // The logo is 200 × 200 at the top left; its middle, away from the resampled edge.
        let grey = mean_rgb(&img, (20, 20, 180, 180));
        assert!(
            close(grey, [128, 128, 128], 4),
            "alpha {alpha}, opacity {opacity}: {grey:?}"
        );
        let outside = mean_rgb(&img, (400, 300, 800, 600));
        assert!(close(outside, [0, 0, 0], 2), "{outside:?}");
    }
}

#[test]
fn a_new_setting_makes_a_new_public_copy_and_the_old_one_is_gone() {
    let (dir, store) = store();
    let hash = store
        .import_bytes("p.jpg", &jpeg(800, 600), &Limits::default())
        .unwrap()
        .hash;
    let green = logo(80, 40, [0, 255, 0, 255]);
    let first = Watermark::new(green.clone(), placement(Corner::BottomRight, 20, 100, 0));
    let second = Watermark::new(green, placement(Corner::TopLeft, 20, 100, 0));
    assert_ne!(first.digest(), second.digest());
    let old = store.public_path(&hash, Size::Web, Some(&first)).unwrap();
    assert!(old.to_string_lossy().contains(first.digest()));
    // Asked again with the same setting: the cached file, not a new render.
    let again = store.public_path(&hash, Size::Web, Some(&first)).unwrap();
    assert_eq!(again, old);
    let new = store.public_path(&hash, Size::Web, Some(&second)).unwrap();
    assert_ne!(new, old);
    assert!(
        !old.exists(),
        "the copy made with the old setting is removed"
    );
    let img = decode_rgb(&std::fs::read(&new).unwrap());
    assert!(close(mean_rgb(&img, (10, 10, 150, 70)), [0, 255, 0], 12));
    let plain = decode_rgb(&read(&store, &hash, Size::Web));
    assert!(
        mean_diff(&img, &plain, (600, 450, 800, 600)) < 1.5,
        "nothing left at the old corner"
    );
    let public: Vec<_> = files_under(&dir.path().join("public-copies"));
    assert_eq!(public, vec![new]);
}

#[test]
fn the_middle_copy_is_800_px_from_the_web_copy_kept_out_of_objects_and_watermarkable() {
    let (dir, store) = store();
    let bytes = with_segment(&jpeg(3000, 2000), 0xE1, &exif_payload(1, true, None));
    let hash = store
        .import_bytes("wide.jpg", &bytes, &Limits::default())
        .unwrap()
        .hash;
    let objects_before = files_under(&dir.path().join("objects"));
    let web = store.path(&hash, Size::Web).unwrap();
    let mid = store.mid_copy(&hash, &web).unwrap();
    assert!(mid.starts_with(dir.path().join("public-copies")), "{mid:?}");
    let jpeg_bytes = std::fs::read(&mid).unwrap();
    let img = decode_rgb(&jpeg_bytes);
    // 1600 × 1067 brought down: 533.5 rounds up (from the original it would be 533).
    assert_eq!((img.width, img.height), (MID_SIDE as usize, 534));
    // The web copy's picture, smaller: the same colours at the same places.
    let big = decode_rgb(&std::fs::read(&web).unwrap());
    for (fx, fy) in [(1, 1), (3, 1), (1, 3), (3, 3)] {
        let (x, y) = (img.width * fx / 4, img.height * fy / 4);
        let (bx, by) = (big.width * fx / 4, big.height * fy / 4);
        let small = mean_rgb(&img, (x - 4, y - 4, x + 4, y + 4));
        let large = mean_rgb(&big, (bx - 8, by - 8, bx + 8, by + 8));
        assert!(
            close(small, large, 12),
            "at {fx}/4,{fy}/4: {small:?} vs {large:?}"
        );
    }
    // Fewer bytes, no metadata, and made once.
    assert!(jpeg_bytes.len() < std::fs::read(&web).unwrap().len());
    assert!(app_segments(&jpeg_bytes).iter().all(|m| *m == 0xE0));
    let modified = std::fs::metadata(&mid).unwrap().modified().unwrap();
    assert_eq!(store.mid_copy(&hash, &web).unwrap(), mid);
    assert_eq!(
        std::fs::metadata(&mid).unwrap().modified().unwrap(),
        modified
    );
    assert_eq!(files_under(&dir.path().join("objects")), objects_before);

    // With 台标: a watermarked copy of the middle copy, under its own name.
    let wm = Watermark::new(
        logo(100, 50, [255, 0, 255, 255]),
        placement(Corner::BottomRight, 20, 100, 2),
    );
    let marked_path = store.watermarked(&hash, MID_SIDE, &mid, &wm).unwrap();
    assert_ne!(marked_path, mid);
    assert_ne!(
        marked_path,
        store.watermarked(&hash, WEB_SIDE, &web, &wm).unwrap()
    );
    let marked = decode_rgb(&std::fs::read(&marked_path).unwrap());
    let (w, h) = (marked.width, marked.height);
    let (lw, m) = ((w * 20 + 50) / 100, (w * 2 + 50) / 100);
    let lh = lw.div_ceil(2);
    let corner = mean_rgb(
        &marked,
        (w - m - lw + 3, h - m - lh + 3, w - m - 3, h - m - 3),
    );
    assert!(close(corner, [255, 0, 255], 12), "{corner:?}");
    // Only the three public sizes have watermarked copies.
    assert!(store.watermarked(&hash, 1000, &mid, &wm).is_err());

    // A web copy no longer than 800 px is its own middle copy.
    let small = store
        .import_bytes("small.jpg", &jpeg(640, 480), &Limits::default())
        .unwrap()
        .hash;
    let small_web = store.path(&small, Size::Web).unwrap();
    assert_eq!(store.mid_copy(&small, &small_web).unwrap(), small_web);
}
