use super::*;
use guanmo_domain::SystemClock;

fn ctx() -> (tempfile::TempDir, Ctx) {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Ctx::open(&dir.path().join("data"), Arc::new(SystemClock)).unwrap();
    (dir, ctx)
}

fn png(w: u32, h: u32, px: [u8; 4]) -> Vec<u8> {
    let img = image::RgbaImage::from_pixel(w, h, image::Rgba(px));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgba8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// A photo in the store (a PNG photo, so no JPEG encoder is needed here).
fn photo(ctx: &Ctx) -> String {
    let img = image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([(x / 3) as u8, (y / 2) as u8, 90])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    ctx.media()
        .import_bytes("p.png", out.get_ref(), &guanmo_media::Limits::default())
        .unwrap()
        .hash
}

#[test]
fn a_logo_switches_the_watermark_on_and_bad_files_are_refused_with_their_codes() {
    let (dir, ctx) = ctx();
    let fresh = get_watermark(&ctx).unwrap();
    assert_eq!(fresh.placement, default_placement());
    assert_eq!((fresh.logo, fresh.digest), (None, None));

    let good = file(
        dir.path(),
        "县融媒体中心.png",
        &png(200, 80, [200, 0, 0, 180]),
    );
    let set = set_watermark_logo(&ctx, &good).unwrap();
    assert!(set.placement.enabled);
    assert_eq!(
        set.logo,
        Some(WatermarkLogo {
            name: "县融媒体中心.png".into(),
            width: 200,
            height: 80,
            bytes: u32::try_from(std::fs::metadata(&good).unwrap().len()).unwrap(),
        })
    );
    let digest = set.digest.clone().unwrap();
    assert_eq!(
        public_digest(&ctx).unwrap().as_deref(),
        Some(digest.as_str())
    );

    let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F', 0, 1];
    let huge = {
        let mut b = png(64, 64, [0, 0, 0, 255]);
        b.resize(guanmo_media::MAX_LOGO_BYTES as usize + 10, 0);
        b
    };
    let mut truncated = png(64, 64, [0, 0, 0, 255]);
    truncated.truncate(50);
    for (name, bytes, code, says) in [
        (
            "logo.jpg",
            jpeg.to_vec(),
            ErrorCode::UnsupportedFormat,
            "所选文件是 JPEG",
        ),
        (
            "logo.png",
            b"<svg xmlns=...>".to_vec(),
            ErrorCode::UnsupportedFormat,
            "SVG",
        ),
        ("logo.png", huge, ErrorCode::FileTooLarge, "台标文件太大"),
        ("broken.png", truncated, ErrorCode::FileUnreadable, "已损坏"),
        (
            "tiny.png",
            png(8, 8, [0, 0, 0, 255]),
            ErrorCode::Validation,
            "8×8",
        ),
    ] {
        let e = set_watermark_logo(&ctx, &file(dir.path(), name, &bytes)).unwrap_err();
        assert_eq!(e.code, code, "{name}: {e:?}");
        assert_eq!(e.problems.len(), 1);
        assert!(e.problems[0].message.contains(says), "{:?}", e.problems[0]);
        assert!(e.problems[0].location.contains(name));
    }
    assert_eq!(
        get_watermark(&ctx).unwrap(),
        set,
        "a refused file changes nothing"
    );
}

#[test]
fn placements_out_of_range_are_refused_and_switching_on_needs_a_logo() {
    let (dir, ctx) = ctx();
    let on = WatermarkPlacement {
        enabled: true,
        ..default_placement()
    };
    let e = set_watermark_placement(&ctx, on).unwrap_err();
    assert_eq!(e.code, ErrorCode::Validation);
    assert!(e.problems[0].message.contains("请先选择台标图片"));
    set_watermark_logo(
        &ctx,
        &file(dir.path(), "l.png", &png(100, 50, [0, 0, 0, 255])),
    )
    .unwrap();
    let bad = WatermarkPlacement {
        size_pct: 31,
        opacity_pct: 9,
        margin_pct: 10,
        ..on
    };
    let e = set_watermark_placement(&ctx, bad).unwrap_err();
    let where_: Vec<&str> = e.problems.iter().map(|p| p.location.as_str()).collect();
    assert_eq!(where_, ["台标大小", "不透明度"]);
    assert!(e.problems[0].message.contains("8%–30%"));
    let before = get_watermark(&ctx).unwrap();
    let moved = set_watermark_placement(
        &ctx,
        WatermarkPlacement {
            corner: WatermarkCorner::TopLeft,
            ..before.placement
        },
    )
    .unwrap();
    assert_eq!(moved.placement.corner, WatermarkCorner::TopLeft);
    assert_ne!(moved.digest, before.digest, "a new corner is a new digest");
    assert_eq!(moved.logo, before.logo, "the logo stays");
    let off = set_watermark_placement(
        &ctx,
        WatermarkPlacement {
            enabled: false,
            ..moved.placement
        },
    )
    .unwrap();
    assert_eq!(off.digest, None);
    assert!(off.logo.is_some(), "switching off keeps the logo");
    let cleared = clear_watermark_logo(&ctx).unwrap();
    assert_eq!((cleared.logo, cleared.digest), (None, None));
}

#[test]
fn a_changed_setting_changes_the_public_copy_and_the_original_never_changes() {
    let (dir, ctx) = ctx();
    let hash = photo(&ctx);
    let original = std::fs::read(ctx.media().path(&hash, Size::Original).unwrap()).unwrap();
    let plain = ctx.media().path(&hash, Size::Web).unwrap();
    let plain_bytes = std::fs::read(&plain).unwrap();
    assert_eq!(
        public_path(&ctx, &hash, Size::Web).unwrap(),
        plain,
        "off: the plain copy"
    );

    set_watermark_logo(
        &ctx,
        &file(dir.path(), "l.png", &png(100, 50, [255, 255, 255, 255])),
    )
    .unwrap();
    let first = public_path(&ctx, &hash, Size::Web).unwrap();
    let first_bytes = std::fs::read(&first).unwrap();
    assert_ne!(first, plain);
    assert_ne!(first_bytes, plain_bytes);
    let settings = get_watermark(&ctx).unwrap();
    set_watermark_placement(
        &ctx,
        WatermarkPlacement {
            opacity_pct: 30,
            ..settings.placement
        },
    )
    .unwrap();
    let second = public_path(&ctx, &hash, Size::Web).unwrap();
    assert_ne!(second, first, "a new setting, a new copy");
    assert!(!first.exists(), "the stale copy is gone");
    assert_ne!(std::fs::read(&second).unwrap(), first_bytes);
    for size in [Size::Thumb, Size::Web] {
        let p = public_path(&ctx, &hash, size).unwrap();
        assert!(p.starts_with(ctx.data_dir().join("public-copies")), "{p:?}");
    }
    assert!(public_path(&ctx, &hash, Size::Original).is_err());
    clear_watermark_logo(&ctx).unwrap();
    assert_eq!(public_path(&ctx, &hash, Size::Web).unwrap(), plain);
    // The original and the app's own copy are as imported, byte for byte.
    let now = std::fs::read(ctx.media().path(&hash, Size::Original).unwrap()).unwrap();
    assert_eq!(now, original);
    assert_eq!(blake3_hex(&now), hash);
    assert_eq!(std::fs::read(&plain).unwrap(), plain_bytes);
}

fn blake3_hex(bytes: &[u8]) -> String {
    // The store's address is BLAKE3 of the bytes; recompute it through an import elsewhere.
    let dir = tempfile::tempdir().unwrap();
    let store = guanmo_media::MediaStore::new(dir.path()).unwrap();
    store
        .import_bytes("again.png", bytes, &guanmo_media::Limits::default())
        .unwrap()
        .hash
}
