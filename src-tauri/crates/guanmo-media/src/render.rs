//! Turning an original's bytes into the two derived JPEGs: one reduced-size decode, a SIMD
//! resize to the web size, the thumbnail from the web copy, EXIF orientation applied, re-encoded
//! from pixels. Invariant: derived bytes come only from decoded pixels, so no metadata, trailing
//! data or embedded thumbnail of the original can reach them; and nothing here runs outside the
//! contained worker (`render_contained`), because decoders of untrusted bytes may panic or hang.

use crate::evidence::{read_meta, EvidenceMeta};
use crate::sniff::{Header, ImageFormat};
use crate::{Limits, MediaError};
use fast_image_resize::images::{Image as FirImage, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use turbojpeg::{Colorspace, Decompressor, PixelFormat, ScalingFactor, Subsamp};

/// Long side of the web copy.
pub const WEB_SIDE: u32 = 1600;
/// Long side of the thumbnail.
pub const THUMB_SIDE: u32 = 320;
/// Long side of the middle public copy (made on the site host from the web copy): what a
/// phone's full-width photo needs (a 412 px wide screen at DPR 1.75–2 wants ~700–800 px).
pub const MID_SIDE: u32 = 800;
/// JPEG quality of both derived copies.
const QUALITY: i32 = 80;
/// libjpeg-turbo's advice against progressive files with thousands of tiny scans.
const MAX_SCANS: u32 = 500;

/// The two derived JPEGs of one photo and what was learnt on the way.
#[derive(Debug, Clone)]
pub struct Derived {
    /// The web copy: JPEG, long side 1600 px (or the original's if smaller), no metadata.
    pub web: Vec<u8>,
    /// The thumbnail: JPEG, long side 320 px (or the original's if smaller), no metadata.
    pub thumb: Vec<u8>,
    /// Width of the original as displayed (after orientation).
    pub width: u32,
    /// Height of the original as displayed.
    pub height: u32,
    /// Evidence metadata of the original.
    pub meta: EvidenceMeta,
}

/// Makes both derived copies of `bytes` without storing anything: the same checks and the same
/// contained decode as an import (used for previews and by the benchmark).
pub fn derive(bytes: &[u8], limits: &Limits) -> Result<Derived, MediaError> {
    let header = crate::sniff::read_header(bytes, limits)?;
    render_contained(bytes.into(), header, limits, render)
}

/// An 8-bit RGB raster.
pub(crate) struct Rgb {
    pub(crate) px: Vec<u8>,
    pub(crate) w: u32,
    pub(crate) h: u32,
}

/// Runs [`render`] on its own thread with panics caught and a time limit. On timeout the
/// thread is abandoned (it holds only its own copy of the bytes) and the call returns.
pub(crate) fn render_contained(
    bytes: Arc<[u8]>,
    header: Header,
    limits: &Limits,
    renderer: Renderer,
) -> Result<Derived, MediaError> {
    start_render(bytes, header, limits, renderer)?.wait()
}

/// What the contained worker runs: [`render`] in the product. A plain fn pointer held by the
/// [`crate::MediaStore`], so the crate's own tests can put a decoder that panics or hangs on the
/// real import path without any switch in the product code.
pub(crate) type Renderer = fn(&[u8], Header, &Limits) -> Result<Derived, MediaError>;

/// A render running on its own thread; the caller may do other work (hashing, writing the
/// original) before waiting.
pub(crate) struct PendingRender {
    rx: mpsc::Receiver<Result<Derived, MediaError>>,
    started: Instant,
    timeout: Duration,
}

/// Starts `renderer` (normally [`render`]) on a new thread, panics caught.
pub(crate) fn start_render(
    bytes: Arc<[u8]>,
    header: Header,
    limits: &Limits,
    renderer: Renderer,
) -> Result<PendingRender, MediaError> {
    let (tx, rx) = mpsc::sync_channel(1);
    let worker_limits = limits.clone();
    std::thread::Builder::new()
        .name("guanmo-media-decode".into())
        .spawn(move || {
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                renderer(&bytes, header, &worker_limits)
            }));
            let outcome = outcome.unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".to_string());
                Err(MediaError::DecoderCrashed(what))
            });
            // The receiver is gone after a timeout; nothing to tell then.
            let _ = tx.send(outcome);
        })?;
    Ok(PendingRender {
        rx,
        started: Instant::now(),
        timeout: limits.decode_timeout,
    })
}

impl PendingRender {
    /// The outcome, or `DecodeTimeout` once the time limit (counted from the start) has passed.
    pub(crate) fn wait(self) -> Result<Derived, MediaError> {
        let left = self.timeout.saturating_sub(self.started.elapsed());
        match self.rx.recv_timeout(left) {
            Ok(outcome) => outcome,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                tracing::warn!("photo decode abandoned after {:?}", self.timeout);
                Err(MediaError::DecodeTimeout)
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(MediaError::DecoderCrashed(
                "decode thread ended without an answer".into(),
            )),
        }
    }
}

/// Decodes once, makes both sizes, applies orientation, encodes. Only call through
/// [`render_contained`] (tests may call it directly).
pub(crate) fn render(bytes: &[u8], header: Header, limits: &Limits) -> Result<Derived, MediaError> {
    let meta = read_meta(bytes);
    let (web_w, web_h) = fit(header.width, header.height, WEB_SIDE);
    let (thumb_w, thumb_h) = fit(header.width, header.height, THUMB_SIDE);
    let decoded = match header.format {
        ImageFormat::Jpeg => decode_jpeg(bytes, header, WEB_SIDE)?,
        ImageFormat::Png | ImageFormat::Webp => decode_other(bytes, header, limits)?,
    };
    let web = resize(&decoded, web_w, web_h)?;
    drop(decoded);
    let thumb = resize(&web, thumb_w, thumb_h)?;
    let web = orient(web, meta.orientation);
    let thumb = orient(thumb, meta.orientation);
    let (width, height) = if meta.orientation >= 5 {
        (header.height, header.width)
    } else {
        (header.width, header.height)
    };
    let (web, thumb) = (encode(&web)?, encode(&thumb)?);
    Ok(Derived {
        web,
        thumb,
        width,
        height,
        meta,
    })
}

/// The size with the long side brought down to `side` (never up), aspect kept, at least 1 px.
pub(crate) fn fit(w: u32, h: u32, side: u32) -> (u32, u32) {
    let long = w.max(h);
    if long <= side {
        return (w, h);
    }
    let scale = |v: u32| -> u32 {
        let scaled = (u64::from(v) * u64::from(side) + u64::from(long) / 2) / u64::from(long);
        u32::try_from(scaled).unwrap_or(side).clamp(1, side)
    };
    (scale(w), scale(h))
}

fn corrupt(e: impl std::fmt::Display) -> MediaError {
    MediaError::Corrupt(e.to_string())
}

/// The smallest of 1/8, 1/4, 1/2, 1 whose decoded long side still covers `target` (or the
/// whole image when it is smaller than `target`).
fn pick_scale(w: u32, h: u32, target: u32) -> ScalingFactor {
    let long = w.max(h) as usize;
    let need = long.min(target as usize);
    [8, 4, 2]
        .into_iter()
        .map(|d| ScalingFactor::new(1, d))
        .find(|f| f.scale(long) >= need)
        .unwrap_or(ScalingFactor::ONE)
}

fn decode_jpeg(bytes: &[u8], header: Header, target: u32) -> Result<Rgb, MediaError> {
    let mut d = Decompressor::new().map_err(corrupt)?;
    let h = d.read_header(bytes).map_err(corrupt)?;
    // Our own header walk already checked the limits; libjpeg must agree on what it will decode.
    if (h.width, h.height) != (header.width as usize, header.height as usize) {
        return Err(MediaError::Corrupt(format!(
            "frame size {}×{} disagrees with {}×{}",
            h.width, h.height, header.width, header.height
        )));
    }
    let factor = if h.is_lossless {
        ScalingFactor::ONE
    } else {
        pick_scale(header.width, header.height, target)
    };
    d.set_scaling_factor(factor).map_err(corrupt)?;
    d.set_scan_limit(MAX_SCANS).map_err(corrupt)?;
    // Chroma is averaged away by the downscale that follows; the smooth upsampler buys nothing.
    d.set_fast_upsample(true).map_err(corrupt)?;
    let scaled = h.scaled(factor);
    let cmyk = matches!(h.colorspace, Colorspace::CMYK | Colorspace::YCCK);
    let format = if cmyk {
        PixelFormat::CMYK
    } else {
        PixelFormat::RGB
    };
    let pitch = scaled.width * format.size();
    let mut pixels = vec![0u8; pitch * scaled.height];
    let image = turbojpeg::Image {
        pixels: pixels.as_mut_slice(),
        width: scaled.width,
        pitch,
        height: scaled.height,
        format,
    };
    if let Err(e) = d.decompress(bytes, image) {
        // libjpeg-turbo reports warnings as errors after finishing the image. "Extraneous bytes
        // before marker" is common in camera files and harmless; any other warning (premature
        // end, corrupt data) means grey or garbage pixels, so the file is refused.
        let text = e.to_string();
        if !text.contains("extraneous bytes") {
            return Err(MediaError::Corrupt(text));
        }
    }
    if cmyk {
        pixels = cmyk_to_rgb(&pixels);
    }
    let w = u32::try_from(scaled.width).map_err(corrupt)?;
    let h = u32::try_from(scaled.height).map_err(corrupt)?;
    Ok(Rgb { px: pixels, w, h })
}

/// Adobe-style (inverted) CMYK, as written by Photoshop and libjpeg, to RGB.
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(cmyk.len() / 4 * 3);
    for p in cmyk.chunks_exact(4) {
        let k = u16::from(p[3]);
        for c in &p[..3] {
            out.push(((u16::from(*c) * k + 127) / 255) as u8);
        }
    }
    out
}

fn decode_other(bytes: &[u8], header: Header, limits: &Limits) -> Result<Rgb, MediaError> {
    let format = match header.format {
        ImageFormat::Png => image::ImageFormat::Png,
        _ => image::ImageFormat::WebP,
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(limits.max_side);
    image_limits.max_image_height = Some(limits.max_side);
    // Room for a 16-bit RGBA raster at the pixel limit, but never more than 1 GiB.
    image_limits.max_alloc = Some(limits.max_pixels.saturating_mul(8).min(1 << 30));
    reader.limits(image_limits);
    let img = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => MediaError::TooManyPixels {
            width: header.width.into(),
            height: header.height.into(),
        },
        other => corrupt(other),
    })?;
    let (w, h) = (img.width(), img.height());
    if (w, h) != (header.width, header.height) {
        return Err(MediaError::Corrupt(format!(
            "decoded {w}×{h}, header said otherwise"
        )));
    }
    let px = if img.color().has_alpha() {
        let rgba = img.into_rgba8();
        let mut out = Vec::with_capacity(rgba.len() / 4 * 3);
        for p in rgba.chunks_exact(4) {
            let a = u16::from(p[3]);
            for c in &p[..3] {
                // Flatten on white: c·a + 255·(1−a).
                out.push(((u16::from(*c) * a + 255 * (255 - a) + 127) / 255) as u8);
            }
        }
        out
    } else {
        img.into_rgb8().into_raw()
    };
    Ok(Rgb { px, w, h })
}

/// One of our own derived JPEGs (never an original: those are decoded only in the contained
/// worker) brought down to `side` px on the long side and re-encoded from its pixels, or
/// `None` when it is no longer than that already.
pub(crate) fn downsize_own_jpeg(jpeg: &[u8], side: u32) -> Result<Option<Vec<u8>>, MediaError> {
    // The header alone says whether there is anything to do (no decode for a small photo).
    let header = turbojpeg::read_header(jpeg).map_err(corrupt)?;
    if header.width.max(header.height) <= side as usize {
        return Ok(None);
    }
    let img = turbojpeg::decompress(jpeg, PixelFormat::RGB).map_err(corrupt)?;
    let w = u32::try_from(img.width).map_err(corrupt)?;
    let h = u32::try_from(img.height).map_err(corrupt)?;
    let mut px = img.pixels;
    if img.pitch != img.width * 3 {
        px = px
            .chunks_exact(img.pitch)
            .flat_map(|row| row[..img.width * 3].iter().copied())
            .collect();
    }
    let (dw, dh) = fit(w, h, side);
    let small = resize(&Rgb { px, w, h }, dw, dh)?;
    encode(&small).map(Some)
}

fn resize(src: &Rgb, w: u32, h: u32) -> Result<Rgb, MediaError> {
    if (src.w, src.h) == (w, h) {
        return Ok(Rgb {
            px: src.px.clone(),
            w,
            h,
        });
    }
    let view = ImageRef::new(src.w, src.h, &src.px, PixelType::U8x3).map_err(corrupt)?;
    let mut dst = FirImage::new(w, h, PixelType::U8x3);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new()
        .resize(&view, &mut dst, &options)
        .map_err(corrupt)?;
    Ok(Rgb {
        px: dst.into_vec(),
        w,
        h,
    })
}

/// Applies EXIF orientation 1–8 so the raster is as the photographer saw it.
fn orient(src: Rgb, orientation: u16) -> Rgb {
    if !(2..=8).contains(&orientation) {
        return src;
    }
    let (w, h) = (src.w as usize, src.h as usize);
    let (dw, dh) = if orientation >= 5 { (h, w) } else { (w, h) };
    let mut px = vec![0u8; src.px.len()];
    for y in 0..dh {
        for x in 0..dw {
            // (sx, sy): where the displayed pixel (x, y) is stored.
            let (sx, sy) = match orientation {
                2 => (w - 1 - x, y),
                3 => (w - 1 - x, h - 1 - y),
                4 => (x, h - 1 - y),
                5 => (y, x),
                6 => (y, h - 1 - x),
                7 => (w - 1 - y, h - 1 - x),
                _ => (w - 1 - y, x),
            };
            let s = (sy * w + sx) * 3;
            let d = (y * dw + x) * 3;
            px[d..d + 3].copy_from_slice(&src.px[s..s + 3]);
        }
    }
    Rgb {
        px,
        w: dw as u32,
        h: dh as u32,
    }
}

pub(crate) fn encode(img: &Rgb) -> Result<Vec<u8>, MediaError> {
    let mut c = turbojpeg::Compressor::new().map_err(corrupt)?;
    c.set_quality(QUALITY).map_err(corrupt)?;
    c.set_subsamp(Subsamp::Sub2x2).map_err(corrupt)?;
    let image = turbojpeg::Image {
        pixels: img.px.as_slice(),
        width: img.w as usize,
        pitch: img.w as usize * 3,
        height: img.h as usize,
        format: PixelFormat::RGB,
    };
    c.compress_to_vec(image).map_err(corrupt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_keep_the_aspect_and_never_grow() {
        assert_eq!(fit(6000, 4000, 1600), (1600, 1067));
        assert_eq!(fit(4000, 6000, 320), (213, 320));
        assert_eq!(fit(800, 600, 1600), (800, 600));
        assert_eq!(fit(16384, 1, 320), (320, 1));
    }

    #[test]
    fn the_decode_scale_is_the_smallest_that_still_covers_the_web_size() {
        let pick = |w, h| {
            let f = pick_scale(w, h, WEB_SIDE);
            (f.num(), f.denom())
        };
        assert_eq!(pick(8000, 6000), (1, 4));
        assert_eq!(pick(12800, 9600), (1, 8));
        assert_eq!(pick(4000, 3000), (1, 2));
        assert_eq!(pick(3000, 2000), (1, 1));
        assert_eq!(pick(1000, 800), (1, 1));
    }
}
