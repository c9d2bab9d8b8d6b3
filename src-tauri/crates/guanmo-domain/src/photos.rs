//! A photo as the app records it: one per distinct original (its content hash is its
//! address), with the evidence metadata read from it, which stays inside the app.

use serde::{Deserialize, Serialize};
use specta::Type;

/// An imported photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct PhotoInfo {
    /// Content hash (BLAKE3), the photo's address.
    pub hash: String,
    /// File name at first import (for people; never used for paths).
    pub file_name: String,
    /// Width as displayed.
    pub width: i32,
    /// Height as displayed.
    pub height: i32,
    /// jpeg, png or webp.
    pub format: String,
    /// Capture time as the camera wrote it.
    pub taken_at: Option<String>,
    /// Camera make and model.
    pub camera: Option<String>,
    /// Latitude, decimal degrees.
    pub gps_lat: Option<f64>,
    /// Longitude, decimal degrees.
    pub gps_lon: Option<f64>,
    /// When it was first imported.
    pub imported_at: String,
    /// Size of the original in bytes (at most 50 MB, so it fits).
    pub original_bytes: i32,
    /// Seconds to add to `taken_at` for the true capture time: the camera's clock error, set
    /// once for an import (see `tour_photos`).
    #[serde(default)]
    pub clock_offset_s: i32,
}
