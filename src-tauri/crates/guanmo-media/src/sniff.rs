//! Format detection from magic bytes (never the file name) and header-only dimension reading.
//! Invariant: no decoder ever sees bytes whose header was not read here and found within
//! `Limits` — some decoders abort the whole process on a huge declared size.

use crate::{Limits, MediaError};
use serde::{Deserialize, Serialize};

/// A format the pipeline accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageFormat {
    /// JPEG (baseline, progressive; RGB, greyscale or CMYK).
    Jpeg,
    /// PNG (8 or 16 bit, with or without alpha).
    Png,
    /// WebP (lossy or lossless).
    Webp,
}

impl ImageFormat {
    /// The lowercase name, as stored by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageFormat::Jpeg => "jpeg",
            ImageFormat::Png => "png",
            ImageFormat::Webp => "webp",
        }
    }
}

/// What the header says, read without decoding any pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
}

/// Recognises the format from the first bytes. Known but unsupported formats are named.
pub(crate) fn sniff(bytes: &[u8]) -> Result<ImageFormat, MediaError> {
    if bytes.is_empty() {
        return Err(MediaError::Empty);
    }
    let unsupported = |what: &str| {
        Err(MediaError::UnsupportedFormat {
            what: what.to_string(),
        })
    };
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(ImageFormat::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(ImageFormat::Png);
    }
    if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Ok(ImageFormat::Webp);
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return unsupported("GIF");
    }
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        let brand = &bytes[8..12];
        return match brand {
            b"avif" | b"avis" => unsupported("AVIF"),
            b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"mif1" | b"msf1" => {
                unsupported("HEIC")
            }
            b"qt  " => unsupported("MOV 视频"),
            _ => unsupported("MP4 视频"),
        };
    }
    if bytes.starts_with(b"%PDF") {
        return unsupported("PDF");
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return unsupported("ZIP 压缩包");
    }
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return unsupported("TIFF/RAW");
    }
    if bytes.starts_with(b"BM") {
        return unsupported("BMP");
    }
    if bytes.starts_with(&[0xFF, 0x0A]) || bytes.starts_with(b"\0\0\0\x0cJXL ") {
        return unsupported("JPEG XL");
    }
    if bytes.starts_with(b"8BPS") {
        return unsupported("PSD");
    }
    // Text formats: look at the start, skipping a BOM and whitespace, case-insensitively.
    let head: String = String::from_utf8_lossy(&bytes[..bytes.len().min(1024)])
        .trim_start_matches('\u{FEFF}')
        .trim_start()
        .to_ascii_lowercase();
    if head.starts_with("<svg") || (head.starts_with("<?xml") && head.contains("<svg")) {
        return unsupported("SVG");
    }
    if head.starts_with("<!doctype html") || head.starts_with("<html") || head.contains("<body") {
        return unsupported("HTML 网页");
    }
    unsupported("未知")
}

/// Reads the format and the declared size from the header and checks them against `limits`.
pub(crate) fn read_header(bytes: &[u8], limits: &Limits) -> Result<Header, MediaError> {
    if bytes.len() as u64 > limits.max_bytes {
        return Err(MediaError::TooLarge {
            bytes: bytes.len() as u64,
            max: limits.max_bytes,
        });
    }
    let format = sniff(bytes)?;
    let (width, height) = match format {
        ImageFormat::Jpeg => {
            let frame = jpeg_frame(bytes)?;
            // The size limits first (their message is the clearer one), then the memory a
            // progressive frame needs.
            check_size(frame.width, frame.height, limits)?;
            if frame.progressive && frame.coefficient_bytes > limits.max_decoder_memory {
                return Err(MediaError::DecoderMemory {
                    width: frame.width.into(),
                    height: frame.height.into(),
                    needed: frame.coefficient_bytes,
                    max: limits.max_decoder_memory,
                });
            }
            (frame.width, frame.height)
        }
        ImageFormat::Png => png_size(bytes)?,
        ImageFormat::Webp => {
            refuse_animated_webp(bytes)?;
            webp_size(bytes)?
        }
    };
    if width == 0 || height == 0 {
        return Err(MediaError::Corrupt(format!(
            "header declares {width}×{height}"
        )));
    }
    check_size(width, height, limits)?;
    Ok(Header {
        format,
        width,
        height,
    })
}

/// Refuses a declared size over the side or pixel limits.
pub(crate) fn check_size(width: u32, height: u32, limits: &Limits) -> Result<(), MediaError> {
    let pixels = u64::from(width) * u64::from(height);
    if width > limits.max_side || height > limits.max_side || pixels > limits.max_pixels {
        return Err(MediaError::TooManyPixels {
            width: width.into(),
            height: height.into(),
        });
    }
    Ok(())
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn truncated(what: &str) -> MediaError {
    MediaError::Corrupt(format!("{what} header is truncated"))
}

/// What a JPEG's frame header (SOFn) says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct JpegFrame {
    width: u32,
    height: u32,
    /// A progressive frame (SOF2, SOF6, SOF10, SOF14): the decoder must keep every DCT
    /// coefficient of the whole image until the last scan, whatever the output scale.
    progressive: bool,
    /// Bytes of that coefficient store: 64 two-byte coefficients per 8×8 block of each
    /// component, over whole MCUs.
    coefficient_bytes: u64,
}

/// The coefficient store of a `width`×`height` frame whose components have the sampling
/// factors `factors` (H, V), as libjpeg allocates it: whole MCUs of each component.
fn coefficient_bytes(width: u32, height: u32, factors: &[(u8, u8)]) -> u64 {
    let h_max = u64::from(factors.iter().map(|f| f.0).max().unwrap_or(1).max(1));
    let v_max = u64::from(factors.iter().map(|f| f.1).max().unwrap_or(1).max(1));
    let mcus_x = u64::from(width).div_ceil(8 * h_max);
    let mcus_y = u64::from(height).div_ceil(8 * v_max);
    factors
        .iter()
        .map(|&(h, v)| mcus_x * u64::from(h) * mcus_y * u64::from(v) * 128)
        .sum()
}

/// Walks the JPEG marker segments up to the first SOFn frame header.
fn jpeg_frame(b: &[u8]) -> Result<JpegFrame, MediaError> {
    let mut i = 2; // after SOI
    loop {
        if *b.get(i).ok_or_else(|| truncated("JPEG"))? != 0xFF {
            return Err(MediaError::Corrupt(format!(
                "JPEG marker expected at byte {i}"
            )));
        }
        while b.get(i) == Some(&0xFF) {
            i += 1;
        }
        let marker = *b.get(i).ok_or_else(|| truncated("JPEG"))?;
        i += 1;
        match marker {
            0x01 | 0xD0..=0xD8 => continue,
            0xD9 | 0xDA => {
                return Err(MediaError::Corrupt(
                    "JPEG has no frame header before its data".into(),
                ))
            }
            _ => {}
        }
        let len = usize::from(be16(b, i).ok_or_else(|| truncated("JPEG"))?);
        if len < 2 {
            return Err(MediaError::Corrupt("JPEG segment length below 2".into()));
        }
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let height = be16(b, i + 3).ok_or_else(|| truncated("JPEG"))?;
            let width = be16(b, i + 5).ok_or_else(|| truncated("JPEG"))?;
            let components = usize::from(*b.get(i + 7).ok_or_else(|| truncated("JPEG"))?);
            let mut factors = Vec::with_capacity(components);
            for k in 0..components {
                let hv = *b.get(i + 9 + 3 * k).ok_or_else(|| truncated("JPEG"))?;
                let (h, v) = (hv >> 4, hv & 0x0F);
                if !(1..=4).contains(&h) || !(1..=4).contains(&v) {
                    return Err(MediaError::Corrupt(format!(
                        "JPEG component sampling {h}×{v} is invalid"
                    )));
                }
                factors.push((h, v));
            }
            let (width, height) = (u32::from(width), u32::from(height));
            return Ok(JpegFrame {
                width,
                height,
                progressive: matches!(marker, 0xC2 | 0xC6 | 0xCA | 0xCE),
                coefficient_bytes: coefficient_bytes(width, height, &factors),
            });
        }
        i += len;
    }
}

fn png_size(b: &[u8]) -> Result<(u32, u32), MediaError> {
    if b.len() < 24 {
        return Err(truncated("PNG"));
    }
    if &b[12..16] != b"IHDR" {
        return Err(MediaError::Corrupt("PNG does not start with IHDR".into()));
    }
    let w = u32::from_be_bytes([b[16], b[17], b[18], b[19]]);
    let h = u32::from_be_bytes([b[20], b[21], b[22], b[23]]);
    Ok((w, h))
}

/// VP8X flag bit for "this file is an animation".
const VP8X_ANIMATION: u8 = 0x02;

/// Refuses an animated WebP from its container alone: a `VP8X` chunk with the animation flag,
/// or an `ANIM`/`ANMF` chunk anywhere in the RIFF chunk list. The walk reads 8-byte chunk headers
/// only, stops at the end of the bytes, and always moves forward, so it cannot loop.
fn refuse_animated_webp(b: &[u8]) -> Result<(), MediaError> {
    let mut at = 12; // after "RIFF" <size> "WEBP"
    while let Some(head) = b.get(at..at + 8) {
        let kind = &head[0..4];
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let animated = match kind {
            b"VP8X" => b
                .get(at + 8)
                .is_some_and(|flags| flags & VP8X_ANIMATION != 0),
            b"ANIM" | b"ANMF" => true,
            _ => false,
        };
        if animated {
            return Err(MediaError::Animated);
        }
        // Payloads are padded to an even length.
        at = at
            .saturating_add(8)
            .saturating_add(len)
            .saturating_add(len & 1);
    }
    Ok(())
}

fn webp_size(b: &[u8]) -> Result<(u32, u32), MediaError> {
    let le16 = |at: usize| -> Option<u32> {
        Some(u32::from(u16::from_le_bytes([
            *b.get(at)?,
            *b.get(at + 1)?,
        ])))
    };
    let le24 = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes([
            *b.get(at)?,
            *b.get(at + 1)?,
            *b.get(at + 2)?,
            0,
        ]))
    };
    let chunk = b.get(12..16).ok_or_else(|| truncated("WebP"))?;
    let size = match chunk {
        b"VP8 " => {
            if b.get(23..26) != Some(&[0x9D, 0x01, 0x2A][..]) {
                return Err(MediaError::Corrupt("WebP VP8 start code missing".into()));
            }
            le16(26)
                .zip(le16(28))
                .map(|(w, h)| (w & 0x3FFF, h & 0x3FFF))
        }
        b"VP8L" => {
            if b.get(20) != Some(&0x2F) {
                return Err(MediaError::Corrupt("WebP VP8L signature missing".into()));
            }
            b.get(21..25).map(|s| {
                let bits = u32::from_le_bytes([s[0], s[1], s[2], s[3]]);
                (1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF))
            })
        }
        b"VP8X" => le24(24).zip(le24(27)).map(|(w, h)| (w + 1, h + 1)),
        _ => return Err(MediaError::Corrupt("unknown WebP chunk".into())),
    };
    size.ok_or_else(|| truncated("WebP"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_recognised_by_their_bytes_not_their_names() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0").ok(), Some(ImageFormat::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n....").ok(), Some(ImageFormat::Png));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ").ok(), Some(ImageFormat::Webp));
        let named = |b: &[u8]| match sniff(b) {
            Err(MediaError::UnsupportedFormat { what }) => what,
            other => panic!("{other:?}"),
        };
        assert_eq!(named(b"\0\0\0\x18ftypheic\0\0\0\0"), "HEIC");
        assert_eq!(named(b"\0\0\0\x1cftypavif\0\0\0\0"), "AVIF");
        assert_eq!(named(b"GIF89a\x01\0\x01\0"), "GIF");
        assert_eq!(named(b"%PDF-1.7\n"), "PDF");
        assert_eq!(named(b"PK\x03\x04\x14\0"), "ZIP 压缩包");
        assert_eq!(
            named(b"\xEF\xBB\xBF  <?xml version='1.0'?><svg xmlns=''/>"),
            "SVG"
        );
        assert_eq!(named(b"<!DOCTYPE html><html></html>"), "HTML 网页");
        assert_eq!(named(b"hello"), "未知");
        assert!(matches!(sniff(b""), Err(MediaError::Empty)));
    }

    fn riff(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut body = b"WEBP".to_vec();
        for (kind, data) in chunks {
            body.extend_from_slice(*kind);
            body.extend_from_slice(&(data.len() as u32).to_le_bytes());
            body.extend_from_slice(data);
            if data.len() % 2 == 1 {
                body.push(0);
            }
        }
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    /// A VP8X payload: flags, 3 reserved bytes, canvas width−1 and height−1 (24-bit LE).
    fn vp8x(flags: u8, w: u32, h: u32) -> Vec<u8> {
        let mut p = vec![flags, 0, 0, 0];
        p.extend_from_slice(&(w - 1).to_le_bytes()[..3]);
        p.extend_from_slice(&(h - 1).to_le_bytes()[..3]);
        p
    }

    #[test]
    fn an_animated_webp_is_refused_from_its_header() {
        let limits = Limits::default();
        let refused = |b: &[u8]| matches!(read_header(b, &limits), Err(MediaError::Animated));
        // The animation flag alone.
        assert!(refused(&riff(&[(b"VP8X", &vp8x(0x02, 64, 48))])));
        // An ANIM chunk (after an odd-length unknown chunk, to exercise padding) with no flag.
        assert!(refused(&riff(&[
            (b"VP8X", &vp8x(0x00, 64, 48)),
            (b"ICCP", &[1, 2, 3]),
            (b"ANIM", &[0; 6]),
        ])));
        // An ANMF frame chunk.
        assert!(refused(&riff(&[
            (b"VP8X", &vp8x(0x10, 64, 48)),
            (b"ANMF", &[0; 16]),
        ])));
        // A still extended WebP (alpha flag only) is not refused as animated.
        let still = riff(&[(b"VP8X", &vp8x(0x10, 64, 48)), (b"ALPH", &[0; 4])]);
        assert_eq!(
            read_header(&still, &limits)
                .ok()
                .map(|h| (h.width, h.height)),
            Some((64, 48))
        );
        // A chunk length pointing far past the end ends the walk without a panic.
        let mut huge = riff(&[(b"VP8X", &vp8x(0x00, 64, 48)), (b"XYZW", &[0; 2])]);
        let at = huge.len() - 6;
        huge[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(read_header(&huge, &limits).is_ok());
    }

    #[test]
    fn a_progressive_jpeg_whose_coefficients_would_not_fit_is_refused_from_its_header() {
        // SOF2, 3 components, 4:2:0 (Y 2×2, Cb and Cr 1×1).
        let frame = |w: u16, h: u16| {
            let mut b = vec![0xFF, 0xD8, 0xFF, 0xC2, 0, 17, 8];
            b.extend_from_slice(&h.to_be_bytes());
            b.extend_from_slice(&w.to_be_bytes());
            b.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
            b
        };
        // 8000×6000 (48 MP) at 4:2:0: 1.5 blocks of 128 bytes per 64 pixels, 3 bytes a pixel.
        assert_eq!(
            jpeg_frame(&frame(8000, 6000)).unwrap(),
            JpegFrame {
                width: 8000,
                height: 6000,
                progressive: true,
                coefficient_bytes: 144_000_000,
            }
        );
        let limits = Limits::default();
        assert!(read_header(&frame(8000, 6000), &limits).is_ok());
        // 10000×9000 at 4:2:0 needs 270 MB of coefficients: over the default 160 MB.
        let err = read_header(&frame(10000, 9000), &limits).unwrap_err();
        assert_eq!(err.code(), "decoder_memory");
        assert!(err.message_zh("big.jpg").contains("渐进式"), "{err}");
        // The same size as a baseline frame streams and is accepted.
        let mut baseline = frame(10000, 9000);
        baseline[3] = 0xC0;
        assert!(read_header(&baseline, &limits).is_ok());
    }

    #[test]
    fn a_jpeg_with_a_zero_height_frame_is_corrupt() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xC0, 0, 11, 8, 0, 0, 0, 16, 1, 1, 0x11, 0];
        assert!(matches!(
            read_header(&jpeg, &Limits::default()),
            Err(MediaError::Corrupt(_))
        ));
    }
}
