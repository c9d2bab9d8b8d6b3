//! 台标: the issuing outlet's logo laid over the public copies of photos (the 320 px and 1600 px
//! JPEGs residents are served), never over an original or the app's own derived copies.
//!
//! Invariants:
//! - a logo is a real PNG (checked by magic bytes and a full decode through `image`, with size
//!   limits before and during the decode); anything else is refused with a [`LogoError`];
//! - a watermarked copy is made from the plain derived JPEG's pixels and re-encoded, so it
//!   carries no metadata, exactly like the copy it is made from;
//! - every copy is named by [`Watermark::digest`], a digest of the logo's bytes and of the
//!   placement, so a copy made with an older setting is never taken for a current one.

use crate::render::{encode, Rgb};
use crate::MediaError;
use fast_image_resize::images::{Image as FirImage, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use serde::{Deserialize, Serialize};
use std::io::Cursor;
use std::sync::Arc;
use turbojpeg::PixelFormat;

/// Largest logo file accepted, in bytes.
pub const MAX_LOGO_BYTES: u64 = 2 * 1024 * 1024;
/// Largest logo width or height, in pixels.
pub const MAX_LOGO_SIDE: u32 = 4096;
/// Smallest logo width or height, in pixels (anything smaller is a favicon, not a 台标).
pub const MIN_LOGO_SIDE: u32 = 16;
/// Range of the logo's width, in percent of the photo's width.
pub const SIZE_PCT: (u8, u8) = (8, 30);
/// Range of the logo's opacity, in percent.
pub const OPACITY_PCT: (u8, u8) = (10, 100);
/// Range of the margin between the logo and the photo's edges, in percent of the photo's width.
pub const MARGIN_PCT: (u8, u8) = (0, 10);

/// Which corner of the photo the logo sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Corner {
    /// 左上
    TopLeft,
    /// 右上
    TopRight,
    /// 左下
    BottomLeft,
    /// 右下
    BottomRight,
}

impl Corner {
    /// The stored name (`top_left`…).
    pub fn as_str(self) -> &'static str {
        match self {
            Corner::TopLeft => "top_left",
            Corner::TopRight => "top_right",
            Corner::BottomLeft => "bottom_left",
            Corner::BottomRight => "bottom_right",
        }
    }

    /// The corner of a stored name.
    pub fn parse(s: &str) -> Option<Corner> {
        [
            Corner::TopLeft,
            Corner::TopRight,
            Corner::BottomLeft,
            Corner::BottomRight,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }

    fn right(self) -> bool {
        matches!(self, Corner::TopRight | Corner::BottomRight)
    }

    fn bottom(self) -> bool {
        matches!(self, Corner::BottomLeft | Corner::BottomRight)
    }
}

/// Where and how strongly the logo is laid over a photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Placement {
    /// The corner.
    pub corner: Corner,
    /// The logo's width in percent of the photo's width ([`SIZE_PCT`]).
    pub size_pct: u8,
    /// Opacity in percent ([`OPACITY_PCT`]); 100 keeps the logo's own alpha.
    pub opacity_pct: u8,
    /// Distance from the two nearest edges, in percent of the photo's width ([`MARGIN_PCT`]).
    pub margin_pct: u8,
}

impl Default for Placement {
    /// 右下, 15 % wide, 80 % opaque, 3 % from the edges.
    fn default() -> Self {
        Self {
            corner: Corner::BottomRight,
            size_pct: 15,
            opacity_pct: 80,
            margin_pct: 3,
        }
    }
}

impl Placement {
    /// Which fields are out of their range (`size_pct`, `opacity_pct`, `margin_pct`).
    pub fn out_of_range(&self) -> Vec<&'static str> {
        let within = |v: u8, (lo, hi): (u8, u8)| (lo..=hi).contains(&v);
        let mut bad = Vec::new();
        if !within(self.size_pct, SIZE_PCT) {
            bad.push("size_pct");
        }
        if !within(self.opacity_pct, OPACITY_PCT) {
            bad.push("opacity_pct");
        }
        if !within(self.margin_pct, MARGIN_PCT) {
            bad.push("margin_pct");
        }
        bad
    }
}

/// Why a logo file was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LogoError {
    /// The file is bigger than [`MAX_LOGO_BYTES`].
    #[error("the logo file is {bytes} bytes, over {max}")]
    TooLarge {
        /// Size of the file.
        bytes: u64,
        /// The limit.
        max: u64,
    },
    /// Not a PNG (a JPEG, a GIF, a document…); `what` names what it is, or 未知.
    #[error("the logo is not a PNG but {what}")]
    NotPng {
        /// What the magic bytes say it is.
        what: String,
    },
    /// A PNG that does not decode (truncated, damaged).
    #[error("the logo PNG is damaged: {0}")]
    Corrupt(String),
    /// Narrower or wider than the limits.
    #[error("the logo is {width}×{height} pixels, outside {MIN_LOGO_SIDE}–{MAX_LOGO_SIDE}")]
    BadSize {
        /// Declared width.
        width: u32,
        /// Declared height.
        height: u32,
    },
}

impl LogoError {
    /// A stable, snake_case code. Never change one once shipped.
    pub fn code(&self) -> &'static str {
        match self {
            LogoError::TooLarge { .. } => "logo_too_large",
            LogoError::NotPng { .. } => "logo_not_png",
            LogoError::Corrupt(_) => "logo_corrupt",
            LogoError::BadSize { .. } => "logo_size",
        }
    }

    /// What the person who picked the file is told.
    pub fn message_zh(&self) -> String {
        match self {
            LogoError::TooLarge { bytes, max } => format!(
                "台标文件太大({:.1} MB),不能超过 {} MB,请压缩后再选",
                *bytes as f64 / 1_048_576.0,
                max / 1_048_576
            ),
            LogoError::NotPng { what } => format!(
                "台标必须是带透明背景的 PNG 图片,所选文件是 {what},请让美编导出 PNG 后再选"
            ),
            LogoError::Corrupt(_) => "台标 PNG 文件已损坏或不完整,无法读取".to_string(),
            LogoError::BadSize { width, height } => format!(
                "台标图片尺寸为 {width}×{height} 像素,边长须在 {MIN_LOGO_SIDE}–{MAX_LOGO_SIDE} 像素之间"
            ),
        }
    }
}

/// A checked logo: its PNG bytes as given and its decoded RGBA pixels.
#[derive(Clone)]
pub struct Logo {
    png: Arc<[u8]>,
    rgba: Arc<image::RgbaImage>,
}

impl std::fmt::Debug for Logo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logo")
            .field("bytes", &self.png.len())
            .field("width", &self.rgba.width())
            .field("height", &self.rgba.height())
            .finish()
    }
}

impl Logo {
    /// Checks and decodes a logo file: at most [`MAX_LOGO_BYTES`], a PNG by its magic bytes,
    /// sides within [`MIN_LOGO_SIDE`]–[`MAX_LOGO_SIDE`] from the header, then a full decode.
    pub fn from_png(bytes: &[u8]) -> Result<Logo, LogoError> {
        let len = bytes.len() as u64;
        if len > MAX_LOGO_BYTES {
            return Err(LogoError::TooLarge {
                bytes: len,
                max: MAX_LOGO_BYTES,
            });
        }
        if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Err(LogoError::NotPng {
                what: format_name(bytes).to_string(),
            });
        }
        let mut reader =
            image::ImageReader::with_format(Cursor::new(bytes), image::ImageFormat::Png);
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(MAX_LOGO_SIDE);
        limits.max_image_height = Some(MAX_LOGO_SIDE);
        limits.max_alloc = Some(u64::from(MAX_LOGO_SIDE) * u64::from(MAX_LOGO_SIDE) * 8);
        reader.limits(limits.clone());
        let (w, h) = reader
            .into_dimensions()
            .map_err(|e| LogoError::Corrupt(e.to_string()))?;
        let sides = MIN_LOGO_SIDE..=MAX_LOGO_SIDE;
        if !sides.contains(&w) || !sides.contains(&h) {
            return Err(LogoError::BadSize {
                width: w,
                height: h,
            });
        }
        let mut reader =
            image::ImageReader::with_format(Cursor::new(bytes), image::ImageFormat::Png);
        reader.limits(limits);
        let img = reader
            .decode()
            .map_err(|e| LogoError::Corrupt(e.to_string()))?;
        Ok(Logo {
            png: bytes.into(),
            rgba: Arc::new(img.into_rgba8()),
        })
    }

    /// The PNG bytes as given.
    pub fn png(&self) -> &[u8] {
        &self.png
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.rgba.width()
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.rgba.height()
    }

    /// True when some pixel is not fully opaque (a logo with a transparent background).
    pub fn has_transparency(&self) -> bool {
        self.rgba.pixels().any(|p| p.0[3] < 255)
    }
}

/// What a file's magic bytes say it is, for the refusal message.
fn format_name(bytes: &[u8]) -> &'static str {
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => "JPEG",
        [b'G', b'I', b'F', b'8', ..] => "GIF",
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => "WebP",
        [b'%', b'P', b'D', b'F', ..] => "PDF",
        [b'B', b'M', ..] => "BMP",
        [b'<', ..] => "SVG/XML",
        [_, _, _, _, b'f', b't', b'y', b'p', ..] => "HEIC",
        _ => "未知格式",
    }
}

/// A logo with its placement: what a public copy is made with.
#[derive(Debug, Clone)]
pub struct Watermark {
    logo: Logo,
    placement: Placement,
    digest: String,
}

impl Watermark {
    /// The logo at `placement` (whose ranges the caller checked; out-of-range values are
    /// clamped here so a bad row can never make a huge or invisible logo).
    pub fn new(logo: Logo, placement: Placement) -> Watermark {
        let clamp = |v: u8, (lo, hi): (u8, u8)| v.clamp(lo, hi);
        let placement = Placement {
            corner: placement.corner,
            size_pct: clamp(placement.size_pct, SIZE_PCT),
            opacity_pct: clamp(placement.opacity_pct, OPACITY_PCT),
            margin_pct: clamp(placement.margin_pct, MARGIN_PCT),
        };
        let digest = digest(logo.png(), &placement);
        Watermark {
            logo,
            placement,
            digest,
        }
    }

    /// The logo.
    pub fn logo(&self) -> &Logo {
        &self.logo
    }

    /// The placement (clamped to the ranges).
    pub fn placement(&self) -> Placement {
        self.placement
    }

    /// 16 hex characters naming this logo at this placement; public copies are cached under it.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Lays the logo over `rgb` (8-bit RGB rows, `w` × `h`).
    fn apply(&self, px: &mut [u8], w: u32, h: u32) -> Result<(), MediaError> {
        let p = self.placement;
        let (lw, lh) = logo_size(self.logo.width(), self.logo.height(), w, h, p.size_pct);
        let margin = (u64::from(w) * u64::from(p.margin_pct) + 50) / 100;
        let margin = u32::try_from(margin).unwrap_or(0);
        let x0 = if p.corner.right() {
            w.saturating_sub(lw).saturating_sub(margin)
        } else {
            margin.min(w - lw)
        };
        let y0 = if p.corner.bottom() {
            h.saturating_sub(lh).saturating_sub(margin)
        } else {
            margin.min(h - lh)
        };
        let scaled = scale_logo(&self.logo.rgba, lw, lh)?;
        let opacity = u32::from(p.opacity_pct);
        let (w, lw) = (w as usize, lw as usize);
        for (ly, row) in scaled.chunks_exact(lw * 4).enumerate() {
            let y = y0 as usize + ly;
            let start = (y * w + x0 as usize) * 3;
            let dst = &mut px[start..start + lw * 3];
            for (d, s) in dst.chunks_exact_mut(3).zip(row.chunks_exact(4)) {
                // Straight alpha × opacity, in 0..=255.
                let a = (u32::from(s[3]) * opacity + 50) / 100;
                if a == 0 {
                    continue;
                }
                for c in 0..3 {
                    let v = u32::from(s[c]) * a + u32::from(d[c]) * (255 - a);
                    d[c] = ((v + 127) / 255) as u8;
                }
            }
        }
        Ok(())
    }

    /// A watermarked copy of one of our own derived JPEGs: decoded, the logo laid over,
    /// re-encoded from the pixels (so, like its source, it carries no metadata).
    pub fn apply_to_jpeg(&self, jpeg: &[u8]) -> Result<Vec<u8>, MediaError> {
        let img = turbojpeg::decompress(jpeg, PixelFormat::RGB)
            .map_err(|e| MediaError::Corrupt(e.to_string()))?;
        let (w, h) = (img.width, img.height);
        let mut px = img.pixels;
        if img.pitch != w * 3 {
            px = px
                .chunks_exact(img.pitch)
                .flat_map(|row| row[..w * 3].iter().copied())
                .collect();
        }
        let w = u32::try_from(w).map_err(|e| MediaError::Corrupt(e.to_string()))?;
        let h = u32::try_from(h).map_err(|e| MediaError::Corrupt(e.to_string()))?;
        self.apply(&mut px, w, h)?;
        encode(&Rgb { px, w, h })
    }
}

/// The logo's size on a `w` × `h` photo: `size_pct` of the width, aspect kept, never taller
/// than the photo, at least 1 × 1.
fn logo_size(logo_w: u32, logo_h: u32, w: u32, h: u32, size_pct: u8) -> (u32, u32) {
    let lw = ((u64::from(w) * u64::from(size_pct) + 50) / 100).max(1);
    let mut lw = u32::try_from(lw).unwrap_or(w).min(w);
    let mut lh = (u64::from(lw) * u64::from(logo_h) + u64::from(logo_w) / 2) / u64::from(logo_w);
    if lh > u64::from(h) {
        lh = u64::from(h);
        let fit = (u64::from(h) * u64::from(logo_w) + u64::from(logo_h) / 2) / u64::from(logo_h);
        lw = u32::try_from(fit).unwrap_or(w).clamp(1, w);
    }
    (lw, u32::try_from(lh).unwrap_or(h).max(1))
}

/// The logo resized to `w` × `h` with Lanczos3, alpha handled premultiplied (no dark fringes
/// around transparent edges). Straight RGBA out.
fn scale_logo(logo: &image::RgbaImage, w: u32, h: u32) -> Result<Vec<u8>, MediaError> {
    let corrupt = |e: &dyn std::fmt::Display| MediaError::Corrupt(e.to_string());
    if (logo.width(), logo.height()) == (w, h) {
        return Ok(logo.as_raw().clone());
    }
    let src = ImageRef::new(logo.width(), logo.height(), logo.as_raw(), PixelType::U8x4)
        .map_err(|e| corrupt(&e))?;
    let mut dst = FirImage::new(w, h, PixelType::U8x4);
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .use_alpha(true);
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| corrupt(&e))?;
    Ok(dst.into_vec())
}

/// 16 hex characters of BLAKE3 over the logo's bytes and the placement.
fn digest(png: &[u8], p: &Placement) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"guanmo-watermark-v1\0");
    h.update(p.corner.as_str().as_bytes());
    h.update(&[p.size_pct, p.opacity_pct, p.margin_pct]);
    h.update(png);
    h.finalize().to_hex()[..16].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32, px: [u8; 4]) -> Vec<u8> {
        let img = image::RgbaImage::from_pixel(w, h, image::Rgba(px));
        let mut out = Vec::new();
        image::DynamicImage::ImageRgba8(img)
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn a_jpeg_garbage_a_huge_file_and_a_tiny_logo_are_refused_with_their_codes() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 16, b'J', b'F', b'I', b'F'];
        let e = Logo::from_png(&jpeg).unwrap_err();
        assert_eq!(e.code(), "logo_not_png");
        assert!(
            e.message_zh().contains("所选文件是 JPEG"),
            "{}",
            e.message_zh()
        );
        let e = Logo::from_png(b"hello, not an image at all").unwrap_err();
        assert_eq!(e.code(), "logo_not_png");
        assert!(e.message_zh().contains("未知格式"));
        let mut truncated = png(64, 64, [255, 0, 0, 128]);
        truncated.truncate(40);
        assert_eq!(
            Logo::from_png(&truncated).unwrap_err().code(),
            "logo_corrupt"
        );
        let big = vec![0u8; MAX_LOGO_BYTES as usize + 1];
        let e = Logo::from_png(&big).unwrap_err();
        assert_eq!(e.code(), "logo_too_large");
        assert!(e.message_zh().starts_with("台标文件太大"));
        let e = Logo::from_png(&png(8, 64, [0, 0, 0, 255])).unwrap_err();
        assert_eq!(
            e,
            LogoError::BadSize {
                width: 8,
                height: 64
            }
        );
        let logo = Logo::from_png(&png(64, 32, [255, 0, 0, 128])).unwrap();
        assert_eq!((logo.width(), logo.height()), (64, 32));
        assert!(logo.has_transparency());
    }

    #[test]
    fn a_logo_is_sized_from_the_width_and_never_taller_than_the_photo() {
        assert_eq!(logo_size(200, 100, 1600, 1067, 15), (240, 120));
        assert_eq!(logo_size(200, 100, 320, 213, 15), (48, 24));
        // A tall logo on a wide strip: height capped, width follows the aspect.
        assert_eq!(logo_size(100, 400, 1000, 50, 30), (13, 50));
        assert_eq!(logo_size(100, 100, 3, 3, 8), (1, 1));
    }

    #[test]
    fn the_digest_changes_with_the_logo_and_each_placement_field() {
        let logo = Logo::from_png(&png(32, 32, [255, 255, 255, 255])).unwrap();
        let other = Logo::from_png(&png(32, 32, [255, 255, 254, 255])).unwrap();
        let base = Watermark::new(logo.clone(), Placement::default());
        let mut seen = std::collections::HashSet::new();
        seen.insert(base.digest().to_string());
        seen.insert(
            Watermark::new(other, Placement::default())
                .digest()
                .to_string(),
        );
        let p = Placement::default();
        for changed in [
            Placement {
                corner: Corner::TopLeft,
                ..p
            },
            Placement { size_pct: 20, ..p },
            Placement {
                opacity_pct: 50,
                ..p
            },
            Placement { margin_pct: 0, ..p },
        ] {
            seen.insert(Watermark::new(logo.clone(), changed).digest().to_string());
        }
        assert_eq!(seen.len(), 6);
        assert_eq!(base.digest().len(), 16);
        assert_eq!(
            Watermark::new(logo, Placement::default()).digest(),
            base.digest()
        );
    }

    #[test]
    fn out_of_range_placements_are_named_and_clamped() {
        let p = Placement {
            corner: Corner::TopLeft,
            size_pct: 90,
            opacity_pct: 0,
            margin_pct: 3,
        };
        assert_eq!(p.out_of_range(), vec!["size_pct", "opacity_pct"]);
        let logo = Logo::from_png(&png(32, 32, [255, 255, 255, 255])).unwrap();
        let wm = Watermark::new(logo, p);
        assert_eq!(
            (wm.placement().size_pct, wm.placement().opacity_pct),
            (30, 10)
        );
        assert_eq!(Corner::parse("bottom_left"), Some(Corner::BottomLeft));
        assert_eq!(Corner::parse("middle"), None);
    }
}
