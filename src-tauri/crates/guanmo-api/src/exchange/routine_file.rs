//! The routine assessment file (平时考核得分), CSV (UTF-8, UTF-16 or GBK) or XLSX: a header
//! naming the township by name (乡镇(街道)) or code (代码/区划代码) and the score column, then one
//! township per row. Invariant: reading returns every row with its 1-based file row or every
//! row-level problem at once; a score is a number 0–100 with at most two decimals. Matching
//! rows to townships, duplicates and missing townships are the use case's (`results`).

use super::cells::Cell;
use super::table::{read_table, row_problem, Header, ParsedTable, Sheet, TableColumn};
use super::{ExchangeError, FileFormat};
use guanmo_domain::problem::{Problem, ProblemCode};

/// One line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutineRow {
    /// 1-based file row (the header is row 1).
    pub row: u32,
    /// 乡镇(街道) as written, trimmed; blank when the file has only codes.
    pub name: String,
    /// 代码 as written, trimmed; blank when the file has only names.
    pub code: String,
    /// The score in hundredths, 0–10000.
    pub hundredths: i32,
}

/// A routine assessment file that parsed without errors.
pub type ParsedRoutine = ParsedTable<RoutineRow>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    Code,
    Score,
}

impl TableColumn for Column {
    const COLUMNS: &'static [Column] = &[Column::Name, Column::Code, Column::Score];

    fn aliases(self) -> &'static [&'static str] {
        match self {
            Column::Name => &["乡镇(街道)", "乡镇", "街道", "乡镇名称", "单位", "名称"],
            Column::Code => &["代码", "区划代码", "统计用区划代码", "行政区划代码"],
            Column::Score => &["平时考核得分", "平时考核", "平时得分", "平时成绩"],
        }
    }

    fn normalize_header(h: &str) -> String {
        h.trim().replace('\u{FF08}', "(").replace('\u{FF09}', ")")
    }
}

/// A score cell in hundredths: a number (or numeric text) 0–100 with at most two decimals.
fn parse_score(cell: Option<&Cell>) -> Result<i32, String> {
    let v = match cell {
        None | Some(Cell::Empty) => return Err("平时考核得分为空".into()),
        Some(Cell::Number(v)) | Some(Cell::Time(v)) => *v,
        Some(c) => {
            let t = c.text();
            let t = t.trim();
            if t.is_empty() {
                return Err("平时考核得分为空".into());
            }
            t.parse::<f64>()
                .map_err(|_| format!("平时考核得分「{t}」不是数字"))?
        }
    };
    if !(0.0..=100.0).contains(&v) {
        return Err(format!("平时考核得分应在0–100之间,现为{v}"));
    }
    let h = guanmo_domain::results::hundredths(v)
        .ok_or_else(|| format!("平时考核得分最多保留两位小数,现为{v}"))?;
    i32::try_from(h).map_err(|_| format!("平时考核得分应在0–100之间,现为{v}"))
}

/// Reads a routine assessment file from CSV or XLSX bytes.
pub fn read_routine(bytes: &[u8], format: FileFormat) -> Result<ParsedRoutine, ExchangeError> {
    let table = read_table(bytes, format, "平时考核得分只能从 .csv 或 .xlsx 导入")?;
    let mut sheet = Sheet::open(table, &[Column::Score])?;
    let header = sheet.header();
    if !header.columns.contains(&Some(Column::Name))
        && !header.columns.contains(&Some(Column::Code))
    {
        return Err(ExchangeError::Invalid(vec![Problem::error(
            ProblemCode::MissingColumn,
            Column::Name.label(),
            "缺少乡镇(街道)列或代码列,至少需要其中一列来识别乡镇(街道)",
        )
        .at_row(header.row)]));
    }
    let rows = sheet.parse_rows(parse_row);
    sheet.finish(rows)
}

fn parse_row(
    row: u32,
    header: &Header<Column>,
    cells: &[Cell],
) -> Result<RoutineRow, Vec<Problem>> {
    let text = |c: Column| {
        header
            .cell(cells, c)
            .map(|cell| cell.text().trim().to_string())
            .unwrap_or_default()
    };
    let (name, code) = (text(Column::Name), text(Column::Code));
    let mut problems = Vec::new();
    if name.is_empty() && code.is_empty() {
        problems.push(row_problem(
            row,
            ProblemCode::Required,
            Column::Name.label(),
            "未填写乡镇(街道)名称或代码",
        ));
    }
    let hundredths = parse_score(header.cell(cells, Column::Score)).unwrap_or_else(|m| {
        problems.push(row_problem(
            row,
            ProblemCode::Invalid,
            Column::Score.label(),
            &m,
        ));
        0
    });
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(RoutineRow {
        row,
        name,
        code,
        hundredths,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn problems(r: Result<ParsedRoutine, ExchangeError>) -> Vec<Problem> {
        match r {
            Err(ExchangeError::Invalid(p)) => p,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_gbk_csv_with_names_and_scores_reads_in_hundredths() {
        let text = "乡镇(街道),平时考核得分\r\n水口山镇,90.5\r\n培元街道,88\r\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let parsed = read_routine(&gbk, FileFormat::Csv).unwrap();
        assert_eq!(parsed.rows.len(), 2);
        assert_eq!(parsed.rows[0].name, "水口山镇");
        assert_eq!(parsed.rows[0].hundredths, 9050);
        assert_eq!(parsed.rows[1].row, 3);
        assert_eq!(parsed.rows[1].hundredths, 8800);
    }

    #[test]
    fn non_numbers_out_of_range_and_three_decimals_are_refused_by_row() {
        let text =
            "代码,平时考核得分\n430482001000,优秀\n430482002000,101\n430482003000,90.125\n,80\n";
        let p = problems(read_routine(text.as_bytes(), FileFormat::Csv));
        let msgs: Vec<&str> = p.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(p.len(), 4, "{msgs:?}");
        assert!(
            msgs[0].starts_with("第2行") && msgs[0].contains("不是数字"),
            "{msgs:?}"
        );
        assert!(
            msgs[1].starts_with("第3行") && msgs[1].contains("0–100"),
            "{msgs:?}"
        );
        assert!(
            msgs[2].starts_with("第4行") && msgs[2].contains("两位小数"),
            "{msgs:?}"
        );
        assert!(msgs[3].starts_with("第5行"), "{msgs:?}");
    }

    #[test]
    fn a_file_without_a_township_column_is_refused() {
        let p = problems(read_routine(
            "平时考核得分\n90\n".as_bytes(),
            FileFormat::Csv,
        ));
        assert_eq!(p[0].code, ProblemCode::MissingColumn);
    }
}
