//! Evidence metadata read from the original's EXIF (time taken, camera, GPS, orientation).
//! Invariant: reading metadata never fails an import — broken or looping EXIF yields what could
//! be read, and anything unreadable is `None` (orientation 1).

use exif::{In, Reader, Tag, Value};
use serde::{Deserialize, Serialize};
use std::io::Cursor;

/// What the original says about itself. Kept for the record (拍照留证); never copied into
/// derived images.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceMeta {
    /// EXIF DateTimeOriginal exactly as the camera wrote it, e.g. "2026:05:12 09:31:07".
    pub taken_at: Option<String>,
    /// Make and model, e.g. "Canon EOS R6" (the make is not repeated when the model has it).
    pub camera: Option<String>,
    /// Latitude and longitude in decimal degrees (south and west negative).
    pub gps: Option<(f64, f64)>,
    /// EXIF orientation 1–8 (1 when absent or invalid); already applied to derived images.
    pub orientation: u16,
}

impl Default for EvidenceMeta {
    fn default() -> Self {
        Self {
            taken_at: None,
            camera: None,
            gps: None,
            orientation: 1,
        }
    }
}

/// Reads EXIF from a JPEG, PNG or WebP container. Never fails.
pub(crate) fn read_meta(bytes: &[u8]) -> EvidenceMeta {
    let mut reader = Reader::new();
    reader.continue_on_error(true);
    let exif = match reader.read_from_container(&mut Cursor::new(bytes)) {
        Ok(exif) => exif,
        Err(exif::Error::PartialResult(partial)) => partial.into_inner().0,
        Err(_) => return EvidenceMeta::default(),
    };
    let text = |tag: Tag| -> Option<String> {
        let field = exif.get_field(tag, In::PRIMARY)?;
        match &field.value {
            Value::Ascii(parts) => {
                let joined: Vec<String> = parts
                    .iter()
                    .map(|p| {
                        String::from_utf8_lossy(p)
                            .trim_matches(['\0', ' '])
                            .to_string()
                    })
                    .filter(|s| !s.is_empty())
                    .collect();
                (!joined.is_empty()).then(|| joined.join(" "))
            }
            _ => None,
        }
    };
    let camera = match (text(Tag::Make), text(Tag::Model)) {
        (Some(make), Some(model)) if model.to_lowercase().starts_with(&make.to_lowercase()) => {
            Some(model)
        }
        (Some(make), Some(model)) => Some(format!("{make} {model}")),
        (make, model) => make.or(model),
    };
    let orientation = exif
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|v| u16::try_from(v).ok())
        .filter(|v| (1..=8).contains(v))
        .unwrap_or(1);
    let degrees = |tag: Tag| -> Option<f64> {
        match &exif.get_field(tag, In::PRIMARY)?.value {
            Value::Rational(r) if r.len() >= 3 && r.iter().all(|x| x.denom != 0) => {
                Some(r[0].to_f64() + r[1].to_f64() / 60.0 + r[2].to_f64() / 3600.0)
            }
            _ => None,
        }
    };
    let negative = |tag: Tag, neg: &str| text(tag).is_some_and(|s| s.eq_ignore_ascii_case(neg));
    let gps = match (degrees(Tag::GPSLatitude), degrees(Tag::GPSLongitude)) {
        (Some(lat), Some(lon))
            if lat.is_finite() && lon.is_finite() && lat <= 90.0 && lon <= 180.0 =>
        {
            let lat = if negative(Tag::GPSLatitudeRef, "S") {
                -lat
            } else {
                lat
            };
            let lon = if negative(Tag::GPSLongitudeRef, "W") {
                -lon
            } else {
                lon
            };
            Some((lat, lon))
        }
        _ => None,
    };
    EvidenceMeta {
        taken_at: text(Tag::DateTimeOriginal),
        camera,
        gps,
        orientation,
    }
}
