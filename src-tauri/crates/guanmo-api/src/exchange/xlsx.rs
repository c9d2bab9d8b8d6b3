//! XLSX plumbing shared by the roster and the rubric. Invariant: calamine never sees bytes
//! that are not a zip with at most 1000 entries whose real decompressed size (measured by
//! reading, not from the headers, which a zip bomb lies in) is within
//! [`MAX_XLSX_UNCOMPRESSED`]. Cells are read as values — a formula's cached result, never
//! evaluated.

use super::cells::Cell;
use super::{ExchangeError, MAX_XLSX_UNCOMPRESSED};
use calamine::{Data, Range, Reader, Xlsx};
use std::io::{Cursor, Read};

/// Message for an old binary Excel file.
pub(crate) const OLD_XLS: &str = "旧版 .xls,请另存为 .xlsx";
/// Message for a zip bomb.
pub(crate) const ZIP_BOMB: &str = "解压后超过 64 MB,疑似压缩炸弹";
/// Most entries an XLSX may hold (a real one has a few dozen).
const MAX_ENTRIES: usize = 1000;

const OLE_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const ZIP_MAGIC: [u8; 4] = *b"PK\x03\x04";

/// True for an old binary (OLE) Excel file.
pub(crate) fn is_ole(bytes: &[u8]) -> bool {
    bytes.starts_with(&OLE_MAGIC)
}

/// True for bytes that start like a zip archive.
pub(crate) fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(&ZIP_MAGIC)
}

/// Refuses archives that are too many entries or decompress to too much, by reading them.
pub(crate) fn check_zip(bytes: &[u8]) -> Result<(), ExchangeError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ExchangeError::Unreadable(format!("Excel 文件已损坏({e})")))?;
    if archive.len() > MAX_ENTRIES {
        return Err(ExchangeError::Unreadable(format!(
            "压缩包内有 {} 个文件,超过 {MAX_ENTRIES} 个,疑似压缩炸弹",
            archive.len()
        )));
    }
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let entry = archive
            .by_index(i)
            .map_err(|e| ExchangeError::Unreadable(format!("Excel 文件已损坏({e})")))?;
        let allowance = MAX_XLSX_UNCOMPRESSED - total;
        let read = std::io::copy(&mut entry.take(allowance + 1), &mut std::io::sink())
            .map_err(|e| ExchangeError::Unreadable(format!("Excel 文件已损坏({e})")))?;
        total += read;
        if total > MAX_XLSX_UNCOMPRESSED {
            return Err(ExchangeError::Unreadable(ZIP_BOMB.into()));
        }
    }
    Ok(())
}

/// Opens an XLSX after the format sniff and the zip-bomb guard.
pub(crate) fn open(bytes: &[u8]) -> Result<Xlsx<Cursor<&[u8]>>, ExchangeError> {
    if is_ole(bytes) {
        return Err(ExchangeError::Unsupported(OLD_XLS.into()));
    }
    if !is_zip(bytes) {
        return Err(ExchangeError::Unsupported(
            "文件内容不是 .xlsx 表格(扩展名与内容不符)".into(),
        ));
    }
    check_zip(bytes)?;
    Xlsx::new(Cursor::new(bytes))
        .map_err(|e| ExchangeError::Unreadable(format!("无法打开 Excel 文件({e})")))
}

/// The first worksheet as a grid.
pub(crate) fn first_sheet(bytes: &[u8]) -> Result<Vec<Vec<Cell>>, ExchangeError> {
    let mut wb = open(bytes)?;
    match wb.worksheet_range_at(0) {
        None => Ok(Vec::new()),
        Some(r) => r
            .map(|range| grid(&range))
            .map_err(|e| ExchangeError::Unreadable(format!("无法读取工作表({e})"))),
    }
}

/// A named worksheet as a grid, `None` when the workbook has no such sheet.
pub(crate) fn named_sheet(
    wb: &mut Xlsx<Cursor<&[u8]>>,
    name: &str,
) -> Result<Option<Vec<Vec<Cell>>>, ExchangeError> {
    let Some(actual) = wb.sheet_names().into_iter().find(|n| n.trim() == name) else {
        return Ok(None);
    };
    wb.worksheet_range(&actual)
        .map(|range| Some(grid(&range)))
        .map_err(|e| ExchangeError::Unreadable(format!("无法读取工作表「{name}」({e})")))
}

/// A sheet as rows of cells in absolute positions: `grid[r][c]` is the cell at row r + 1,
/// column c + 1, so row numbers in problems match what Excel shows.
fn grid(range: &Range<Data>) -> Vec<Vec<Cell>> {
    let Some((row0, col0)) = range.start() else {
        return Vec::new();
    };
    let mut out: Vec<Vec<Cell>> = (0..row0).map(|_| Vec::new()).collect();
    for row in range.rows() {
        let mut cells: Vec<Cell> = (0..col0).map(|_| Cell::Empty).collect();
        cells.extend(row.iter().map(cell));
        out.push(cells);
    }
    out
}

fn cell(d: &Data) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Text(i.to_string()),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Text(b.to_string()),
        Data::DateTime(dt) => Cell::Time(dt.as_f64()),
        // ISO date-times: keep the time of day when there is one.
        Data::DateTimeIso(s) => Cell::Text(match s.split_once('T') {
            Some((_, time)) => time.get(..5).unwrap_or(time).to_string(),
            None => s.clone(),
        }),
        Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Text(e.to_string()),
    }
}

/// Turns a writer error into the contract's error type.
pub(crate) fn write_error(e: rust_xlsxwriter::XlsxError) -> ExchangeError {
    ExchangeError::Unreadable(format!("无法生成 Excel 文件({e})"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// A zip with the given entries, for tests.
    pub(crate) fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, data) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn a_zip_of_200_megabytes_of_zeros_is_refused_as_a_bomb() {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        w.start_file(
            "xl/worksheets/sheet1.xml",
            zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .compression_level(Some(1))
                .large_file(true),
        )
        .unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..200 {
            w.write_all(&chunk).unwrap();
        }
        let bytes = w.finish().unwrap().into_inner();
        assert!(
            bytes.len() < 2 << 20,
            "the bomb should be small: {}",
            bytes.len()
        );
        match open(&bytes) {
            Err(ExchangeError::Unreadable(m)) => assert!(m.contains("压缩炸弹"), "{m}"),
            Err(e) => panic!("expected Unreadable, got {e:?}"),
            Ok(_) => panic!("a zip bomb must be refused"),
        }
    }

    #[test]
    fn a_zip_with_too_many_entries_is_refused() {
        let names: Vec<String> = (0..1001).map(|i| format!("f{i}")).collect();
        let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
        assert!(matches!(
            check_zip(&zip_of(&entries)),
            Err(ExchangeError::Unreadable(m)) if m.contains("1000")
        ));
    }

    #[test]
    fn a_small_zip_passes_the_guard() {
        assert!(check_zip(&zip_of(&[("a.xml", b"<a/>")])).is_ok());
    }

    #[test]
    fn an_old_binary_xls_is_unsupported_with_advice() {
        let mut bytes = OLE_MAGIC.to_vec();
        bytes.extend_from_slice(&[0; 504]);
        match open(&bytes) {
            Err(ExchangeError::Unsupported(m)) => assert_eq!(m, OLD_XLS),
            Err(e) => panic!("expected Unsupported, got {e:?}"),
            Ok(_) => panic!("an .xls must be refused"),
        }
    }

    #[test]
    fn bytes_that_are_not_a_zip_are_unsupported() {
        assert!(matches!(
            open("名称,区划代码\n".as_bytes()),
            Err(ExchangeError::Unsupported(_))
        ));
    }

    #[test]
    fn a_truncated_zip_is_unreadable() {
        let bytes = zip_of(&[("a.xml", b"<a/>")]);
        assert!(matches!(
            open(&bytes[..20]),
            Err(ExchangeError::Unreadable(_))
        ));
    }

    #[test]
    fn a_zip_that_is_not_a_workbook_is_unreadable() {
        let bytes = zip_of(&[("a.xml", b"<a/>")]);
        assert!(matches!(open(&bytes), Err(ExchangeError::Unreadable(_))));
    }
}
