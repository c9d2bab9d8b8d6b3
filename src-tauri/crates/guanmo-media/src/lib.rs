//! Guanmo's photo pipeline: evidence photos (拍照留证) and feed photos go in here and come out
//! as a content-addressed original plus two metadata-free JPEGs (320 px and 1600 px).
//!
//! Invariants kept by the whole crate:
//! - the format comes from magic bytes; size limits are checked from the header before any
//!   decoder runs; decoding runs in a contained worker (panics caught, a time limit);
//! - derived copies are re-encoded from pixels with EXIF orientation applied, so no EXIF, XMP,
//!   GPS, embedded thumbnail or data after the image reaches them;
//! - store paths come from the BLAKE3 hash only, and files appear under their final names
//!   complete (temp + fsync + rename).
//!
//! - public copies with the outlet's 台标 ([`Watermark`]) are made from the derived copies and
//!   kept apart from them, named by the watermark's digest; originals and the app's own copies
//!   are never changed.
//!
//! No Tauri, no database: the API crate stores the returned [`Imported`] record.

mod batch;
mod error;
mod evidence;
mod render;
mod sniff;
mod store;
mod watermark;

pub use batch::{import_batch, list_folder, BatchProgress};
pub use error::MediaError;
pub use evidence::EvidenceMeta;
pub use render::{derive, Derived, MID_SIDE, THUMB_SIDE, WEB_SIDE};
pub use sniff::ImageFormat;
pub use store::{Imported, MediaStore, Size, MAX_WEB_COPY_BYTES};
pub use watermark::{
    Corner, Logo, LogoError, Placement, Watermark, MARGIN_PCT, MAX_LOGO_BYTES, MAX_LOGO_SIDE,
    MIN_LOGO_SIDE, OPACITY_PCT, SIZE_PCT,
};

use std::time::Duration;

/// What an import accepts. `Default` is the product's policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest file accepted, in bytes (default 50 MB).
    pub max_bytes: u64,
    /// Largest width or height, in pixels (default 16384).
    pub max_side: u32,
    /// Largest width × height (default 100 million).
    pub max_pixels: u64,
    /// Longest a decode may take before it is abandoned (default 20 s).
    pub decode_timeout: Duration,
    /// Most memory a JPEG decoder may need beyond its output, in bytes (default 160 MB): a
    /// progressive JPEG keeps every DCT coefficient of the whole image (3 bytes a pixel at
    /// 4:2:0, 6 at 4:4:4), so one over this is refused from its header. Camera (baseline)
    /// JPEGs stream and need only a few rows.
    pub max_decoder_memory: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 50_000_000,
            max_side: 16_384,
            max_pixels: 100_000_000,
            decode_timeout: Duration::from_secs(20),
            max_decoder_memory: 160_000_000,
        }
    }
}
