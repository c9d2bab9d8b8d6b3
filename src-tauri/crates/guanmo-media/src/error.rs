//! Media errors: one enum for every way a photo can be refused or a store operation can fail,
//! each with a stable `code()` the API maps and a Chinese sentence naming the file.

/// Why a photo was refused, or why the store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The file has no bytes at all.
    #[error("the file is empty")]
    Empty,
    /// The file is bigger than `Limits::max_bytes`.
    #[error("the file is {bytes} bytes, over the limit of {max}")]
    TooLarge {
        /// Size of the file.
        bytes: u64,
        /// The limit in force.
        max: u64,
    },
    /// The header declares a side or a pixel count over the limits (checked before decoding).
    #[error("the image declares {width}×{height} pixels, over the limits")]
    TooManyPixels {
        /// Declared width.
        width: u64,
        /// Declared height.
        height: u64,
    },
    /// A progressive JPEG whose decoder would need more memory than
    /// `Limits::max_decoder_memory` (checked from the header, before decoding).
    #[error("decoding the {width}×{height} progressive JPEG needs {needed} bytes, over {max}")]
    DecoderMemory {
        /// Declared width.
        width: u64,
        /// Declared height.
        height: u64,
        /// Bytes the decoder would need.
        needed: u64,
        /// The limit in force.
        max: u64,
    },
    /// An animated image (a WebP with the animation flag or animation chunks): only still
    /// photos are imported. Recognised from the header, before any decoder runs.
    #[error("animated images are not supported")]
    Animated,
    /// Not JPEG, PNG or WebP; `what` names the format found (e.g. "HEIC", "PDF").
    #[error("unsupported format: {what}")]
    UnsupportedFormat {
        /// The format recognised from the magic bytes, or "未知" when none was.
        what: String,
    },
    /// The bytes claim to be a supported format but are broken (truncated, bit rot, bad header).
    #[error("corrupt image: {0}")]
    Corrupt(String),
    /// Decoding took longer than `Limits::decode_timeout`; the decode was abandoned.
    #[error("decoding took longer than the time limit")]
    DecodeTimeout,
    /// The decoder panicked; the panic was contained.
    #[error("the decoder crashed: {0}")]
    DecoderCrashed(String),
    /// No original with this hash is stored.
    #[error("no stored photo has the hash {0}")]
    NotFound(String),
    /// The string is not a 64-character lowercase BLAKE3 hex hash.
    #[error("not a photo hash: {0:?}")]
    InvalidHash(String),
    /// A batch was cancelled before this file was imported.
    #[error("cancelled before this file was imported")]
    Cancelled,
    /// The disk (or the user's quota) is full: the photo was not stored, and nothing of it was
    /// left behind.
    #[error("no space left on the disk: {0}")]
    DiskFull(#[source] std::io::Error),
    /// Reading or writing the file system failed for another reason.
    #[error("file system error: {0}")]
    Io(#[source] std::io::Error),
}

impl From<std::io::Error> for MediaError {
    /// A full disk or an exceeded quota becomes [`MediaError::DiskFull`]; anything else `Io`.
    fn from(e: std::io::Error) -> Self {
        use std::io::ErrorKind;
        if matches!(e.kind(), ErrorKind::StorageFull | ErrorKind::QuotaExceeded) {
            MediaError::DiskFull(e)
        } else {
            MediaError::Io(e)
        }
    }
}

impl MediaError {
    /// A stable, snake_case code the API and the UI branch on. Never change a code once shipped.
    pub fn code(&self) -> &'static str {
        match self {
            MediaError::Empty => "empty",
            MediaError::TooLarge { .. } => "too_large",
            MediaError::TooManyPixels { .. } => "too_many_pixels",
            MediaError::DecoderMemory { .. } => "decoder_memory",
            MediaError::Animated => "animated",
            MediaError::UnsupportedFormat { .. } => "unsupported_format",
            MediaError::Corrupt(_) => "corrupt",
            MediaError::DecodeTimeout => "decode_timeout",
            MediaError::DecoderCrashed(_) => "decoder_crashed",
            MediaError::NotFound(_) => "not_found",
            MediaError::InvalidHash(_) => "invalid_hash",
            MediaError::Cancelled => "cancelled",
            MediaError::DiskFull(_) => "disk_full",
            MediaError::Io(_) => "io",
        }
    }

    /// A sentence for the person who picked the file, e.g.
    /// `IMG_0012.HEIC: 暂不支持 HEIC 格式,请导出为 JPEG`. `file_name` is shown as given
    /// (control and bidi-override characters are replaced so the name cannot reorder the text).
    pub fn message_zh(&self, file_name: &str) -> String {
        let name = display_name(file_name);
        let what = match self {
            MediaError::Empty => "文件是空的(0 字节),请重新拷贝照片".to_string(),
            MediaError::TooLarge { bytes, max } => format!(
                "文件太大({:.1} MB),单张照片不能超过 {:.0} MB",
                *bytes as f64 / 1_000_000.0,
                *max as f64 / 1_000_000.0
            ),
            MediaError::TooManyPixels { width, height } => {
                format!("图片尺寸过大({width}×{height} 像素),请缩小后再导入")
            }
            MediaError::DecoderMemory { width, height, .. } => format!(
                "这张渐进式 JPEG 尺寸过大({width}×{height} 像素),解码所需内存超出上限;\
                 请另存为普通(基线)JPEG 或缩小后再导入"
            ),
            MediaError::Animated => "暂不支持动图(WebP 动画),请导出为静态 JPEG".to_string(),
            MediaError::UnsupportedFormat { what } => {
                format!("暂不支持 {what} 格式,请导出为 JPEG")
            }
            MediaError::Corrupt(_) => "图片文件已损坏或不完整,无法读取".to_string(),
            MediaError::DecodeTimeout => "图片解码超时,文件可能已损坏".to_string(),
            MediaError::DecoderCrashed(_) => "图片无法解码,文件可能已损坏".to_string(),
            MediaError::NotFound(_) => "照片不存在或已被删除".to_string(),
            MediaError::InvalidHash(_) => "照片编号无效".to_string(),
            MediaError::Cancelled => "导入已取消,这张照片未导入".to_string(),
            MediaError::DiskFull(_) => "磁盘空间不足,照片未保存,请清理磁盘后重新导入".to_string(),
            MediaError::Io(_) => "读写文件失败,请检查磁盘或文件权限".to_string(),
        };
        format!("{name}: {what}")
    }
}

/// The file name with control and bidirectional-formatting characters replaced by U+FFFD and
/// cut to 80 characters, so a hostile name cannot reorder or flood the message.
fn display_name(file_name: &str) -> String {
    let mut out: String = file_name
        .chars()
        .map(|c| {
            let bidi = matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
            if c.is_control() || bidi {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .take(81)
        .collect();
    if out.chars().count() > 80 {
        out = out.chars().take(79).collect();
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heic_refusal_names_the_file_and_the_format_in_chinese() {
        let e = MediaError::UnsupportedFormat {
            what: "HEIC".into(),
        };
        assert_eq!(e.code(), "unsupported_format");
        assert_eq!(
            e.message_zh("IMG_0012.HEIC"),
            "IMG_0012.HEIC: 暂不支持 HEIC 格式,请导出为 JPEG"
        );
    }

    #[test]
    fn a_full_disk_has_its_own_code_and_message() {
        let full = MediaError::from(std::io::Error::from(std::io::ErrorKind::StorageFull));
        assert_eq!(full.code(), "disk_full");
        assert_eq!(
            full.message_zh("IMG_0001.JPG"),
            "IMG_0001.JPG: 磁盘空间不足,照片未保存,请清理磁盘后重新导入"
        );
        // ENOSPC as the OS reports it maps the same way.
        let enospc = MediaError::from(std::io::Error::from_raw_os_error(28));
        assert_eq!(enospc.code(), "disk_full");
        let other = MediaError::from(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert_eq!(other.code(), "io");
    }

    #[test]
    fn an_animated_image_refusal_asks_for_a_still_jpeg() {
        assert_eq!(MediaError::Animated.code(), "animated");
        assert_eq!(
            MediaError::Animated.message_zh("a.webp"),
            "a.webp: 暂不支持动图(WebP 动画),请导出为静态 JPEG"
        );
    }

    #[test]
    fn a_right_to_left_override_in_a_name_cannot_reorder_the_message() {
        let msg = MediaError::Empty.message_zh("photo\u{202E}gpj.exe");
        assert!(!msg.contains('\u{202E}'), "{msg}");
        assert!(msg.starts_with("photo\u{FFFD}gpj.exe: "));
    }

    #[test]
    fn a_very_long_name_is_shortened_in_the_message() {
        let msg = MediaError::Empty.message_zh(&"长".repeat(300));
        assert!(msg.chars().count() < 120, "{msg}");
    }
}
