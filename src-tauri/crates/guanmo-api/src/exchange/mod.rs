//! File exchange: reading and writing the roster (CSV, XLSX) and the rubric (JSON, XLSX).
//! Invariant: nothing from a file is ever evaluated or trusted — sizes are checked before
//! reading, XLSX archives are measured before calamine opens them, formula-looking cells stay
//! literal text, and every row-level problem is reported at once with its 1-based file row
//! (the header is row 1). Checks across rows (duplicates, counts, rubric sums) are the
//! caller's; this module only parses.

pub(crate) mod cells;
pub mod people_file;
mod roster_file;
pub mod routine_file;
mod rubric_file;
pub(crate) mod table;
mod text;
pub(crate) use text::decode_text;
mod xlsx;

use guanmo_domain::problem::Problem;
use std::io::Read;
use std::path::Path;

pub use roster_file::{read_roster, write_roster_csv, write_roster_xlsx, ParsedRoster, RosterRow};
pub use rubric_file::{read_rubric, write_rubric_json, write_rubric_xlsx};
pub use table::ParsedTable;

/// The kinds of file Guanmo reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// Comma-separated text (UTF-8, UTF-16 or GBK).
    Csv,
    /// Excel 2007+ workbook.
    Xlsx,
    /// JSON (rubric only).
    Json,
}

/// Files bigger than this are refused before a byte is read.
pub const MAX_IMPORT_BYTES: u64 = 10 * 1024 * 1024;
/// Zip-bomb guard: the most an XLSX may decompress to, counting real bytes of all entries.
pub const MAX_XLSX_UNCOMPRESSED: u64 = 64 * 1024 * 1024;

/// Why a file cannot be imported or exported.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The file is over [`MAX_IMPORT_BYTES`].
    #[error("文件过大:{actual} 字节,上限 {limit} 字节")]
    TooLarge {
        /// Size found (from metadata, or at least this many bytes read).
        actual: u64,
        /// The limit.
        limit: u64,
    },
    /// Not a format Guanmo reads, or the bytes are not what the extension says.
    #[error("不支持的文件格式:{0}")]
    Unsupported(String),
    /// IO error, corrupt archive, zip bomb, undecodable text (also: an XLSX that cannot be
    /// generated, since the contract has no separate write error).
    #[error("无法读取文件:{0}")]
    Unreadable(String),
    /// Row-level errors, all of them.
    #[error("文件内容有误")]
    Invalid(Vec<Problem>),
}

/// The format a path's extension names (case-insensitive): csv/txt → CSV, xlsx → XLSX,
/// json → JSON.
pub fn format_from_path(path: &Path) -> Result<FileFormat, ExchangeError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "csv" | "txt" => Ok(FileFormat::Csv),
        "xlsx" => Ok(FileFormat::Xlsx),
        "json" => Ok(FileFormat::Json),
        "xls" => Err(ExchangeError::Unsupported(xlsx::OLD_XLS.into())),
        "" => Err(ExchangeError::Unsupported(
            "文件没有扩展名,请使用 .csv、.xlsx 或 .json".into(),
        )),
        other => Err(ExchangeError::Unsupported(format!(
            ".{other}(请使用 .csv、.xlsx 或 .json)"
        ))),
    }
}

/// Reads a whole file, refusing anything over [`MAX_IMPORT_BYTES`]: first from its metadata
/// (a 100 MB file is never read), then again while reading, in case it grew.
pub fn read_file_limited(path: &Path) -> Result<Vec<u8>, ExchangeError> {
    let io_err = |e: std::io::Error| {
        let what = match e.kind() {
            std::io::ErrorKind::NotFound => "找不到文件".to_string(),
            std::io::ErrorKind::PermissionDenied => "没有读取权限".to_string(),
            _ => e.to_string(),
        };
        ExchangeError::Unreadable(format!("{}({what})", path.display()))
    };
    let meta = std::fs::metadata(path).map_err(io_err)?;
    if !meta.is_file() {
        return Err(ExchangeError::Unreadable(format!(
            "{}(不是文件)",
            path.display()
        )));
    }
    if meta.len() > MAX_IMPORT_BYTES {
        return Err(ExchangeError::TooLarge {
            actual: meta.len(),
            limit: MAX_IMPORT_BYTES,
        });
    }
    let file = std::fs::File::open(path).map_err(io_err)?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(MAX_IMPORT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_err)?;
    let read = bytes.len() as u64;
    if read > MAX_IMPORT_BYTES {
        return Err(ExchangeError::TooLarge {
            actual: read,
            limit: MAX_IMPORT_BYTES,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn the_extension_decides_the_format_whatever_its_case() {
        assert_eq!(
            format_from_path(Path::new("a.CSV")).unwrap(),
            FileFormat::Csv
        );
        assert_eq!(
            format_from_path(Path::new("a.txt")).unwrap(),
            FileFormat::Csv
        );
        assert_eq!(
            format_from_path(Path::new("名单.XlSx")).unwrap(),
            FileFormat::Xlsx
        );
        assert_eq!(
            format_from_path(Path::new("r.json")).unwrap(),
            FileFormat::Json
        );
    }

    #[test]
    fn numbers_files_old_xls_and_bare_names_are_unsupported() {
        for p in ["a.numbers", "a.xls", "a"] {
            assert!(
                matches!(
                    format_from_path(Path::new(p)),
                    Err(ExchangeError::Unsupported(_))
                ),
                "{p} should be unsupported"
            );
        }
        let Err(ExchangeError::Unsupported(m)) = format_from_path(Path::new("a.xls")) else {
            panic!("xls must be unsupported");
        };
        assert!(m.contains(".xlsx"), "{m}");
    }

    #[test]
    fn a_hundred_megabyte_file_is_refused_from_its_metadata() {
        let f = tempfile::NamedTempFile::new().unwrap();
        f.as_file().set_len(100 << 20).unwrap();
        match read_file_limited(f.path()) {
            Err(ExchangeError::TooLarge { actual, limit }) => {
                assert_eq!(actual, 100 << 20);
                assert_eq!(limit, MAX_IMPORT_BYTES);
            }
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    #[test]
    fn a_small_file_is_read_whole() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all("名称,区划代码\n".as_bytes()).unwrap();
        assert_eq!(
            read_file_limited(f.path()).unwrap(),
            "名称,区划代码\n".as_bytes()
        );
    }

    #[test]
    fn a_missing_file_is_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            read_file_limited(&dir.path().join("nope.csv")),
            Err(ExchangeError::Unreadable(_))
        ));
        assert!(matches!(
            read_file_limited(dir.path()),
            Err(ExchangeError::Unreadable(_))
        ));
    }
}
