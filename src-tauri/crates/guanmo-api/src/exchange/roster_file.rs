//! The roster file (乡镇名单), CSV or XLSX: a header row naming the columns in any order (with
//! aliases), then one township per row. Invariant: reading either returns every row as a
//! `TownshipInput` with its file row, or every row-level problem at once; export writes the
//! fixed column order and is read back unchanged by import (formula escapes included).

use super::cells::Cell;
use super::table::{
    labelled_worksheet, read_table, row_problem, write_csv, Header, ParsedTable, Sheet, TableColumn,
};
use super::{xlsx, ExchangeError, FileFormat};
use guanmo_domain::problem::{Problem, ProblemCode};
use guanmo_domain::roster::{Township, TownshipInput, TownshipKind};

/// One township read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct RosterRow {
    /// 1-based file row (the header is row 1).
    pub row: u32,
    /// The visit position written in the file (顺序), if any.
    pub position: Option<i32>,
    /// The township, trimmed (`TownshipInput::normalized`) and valid on its own.
    pub input: TownshipInput,
}

/// A roster file that parsed without errors.
pub type ParsedRoster = ParsedTable<RosterRow>;

/// A roster column; `COLUMNS` is the export order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Position,
    Name,
    Kind,
    Code,
    Enabled,
    Day,
    Arrival,
    Slot,
    Note,
}

impl TableColumn for Column {
    const COLUMNS: &'static [Column] = &[
        Column::Position,
        Column::Name,
        Column::Kind,
        Column::Code,
        Column::Enabled,
        Column::Day,
        Column::Arrival,
        Column::Slot,
        Column::Note,
    ];

    fn aliases(self) -> &'static [&'static str] {
        match self {
            Column::Position => &["顺序", "站次", "序号"],
            Column::Name => &["名称", "乡镇(街道)", "乡镇"],
            Column::Kind => &["类型"],
            Column::Code => &["区划代码", "代码", "统计用区划代码"],
            Column::Enabled => &["启用", "是否启用"],
            Column::Day => &["观摩日", "日期", "天"],
            Column::Arrival => &["到达时间", "计划到达"],
            Column::Slot => &["时长(分钟)", "时长"],
            Column::Note => &["备注", "观摩点"],
        }
    }

    /// Trimmed, with full-width parentheses made ASCII (时长（分钟） = 时长(分钟)).
    fn normalize_header(h: &str) -> String {
        h.trim().replace('\u{FF08}', "(").replace('\u{FF09}', ")")
    }
}

/// Reads a roster from CSV or XLSX bytes.
pub fn read_roster(bytes: &[u8], format: FileFormat) -> Result<ParsedRoster, ExchangeError> {
    let table = read_table(bytes, format, "乡镇名单只能从 .csv 或 .xlsx 导入")?;
    let mut sheet = Sheet::open(table, &[Column::Name, Column::Code])?;
    let mut headerless_with_data = Vec::new();
    let rows = sheet.parse_rows(|row, header, cells| {
        for (i, cell) in cells.iter().enumerate() {
            if header.columns.get(i).copied().flatten().is_none()
                && header.cells.get(i).is_none_or(Cell::is_blank)
                && !cell.is_blank()
                && !headerless_with_data.contains(&i)
            {
                headerless_with_data.push(i);
            }
        }
        parse_row(row, header, cells)
    });
    let header_row = sheet.header().row;
    for i in headerless_with_data {
        sheet.warnings.push(
            Problem::warning(
                ProblemCode::UnknownColumn,
                format!("第{}列", i + 1),
                format!("第{}列没有表头,其中的内容已忽略", i + 1),
            )
            .at_row(header_row),
        );
    }
    sheet.finish(rows)
}

fn parse_row(row: u32, header: &Header<Column>, cells: &[Cell]) -> Result<RosterRow, Vec<Problem>> {
    let cell = |c: Column| header.cell(cells, c);
    let text = |c: Column| cell(c).map(Cell::text).unwrap_or_default();
    let mut problems = Vec::new();
    let mut bad = |c: Column, message: String| {
        problems.push(row_problem(row, ProblemCode::Invalid, c.label(), &message));
    };

    let position = match parse_int(&text(Column::Position)) {
        Ok(Some(p)) if p < 1 => {
            bad(Column::Position, format!("顺序「{p}」应为正整数"));
            None
        }
        Ok(p) => p,
        Err(raw) => {
            bad(Column::Position, format!("顺序「{raw}」应为整数"));
            None
        }
    };
    let name = text(Column::Name);
    let kind_text = text(Column::Kind);
    let kind = if kind_text.trim().is_empty() {
        let guessed = TownshipKind::from_name(name.trim());
        if guessed.is_none() && !name.trim().is_empty() {
            problems.push(row_problem(
                row,
                ProblemCode::Required,
                Column::Kind.label(),
                &format!(
                    "无法从名称「{}」判断类型,请在「类型」列填写街道、镇、乡或民族乡",
                    name.trim()
                ),
            ));
        }
        guessed
    } else {
        let parsed = TownshipKind::parse(&kind_text);
        if parsed.is_none() {
            problems.push(row_problem(
                row,
                ProblemCode::Invalid,
                Column::Kind.label(),
                &format!("类型「{}」应为街道、镇、乡或民族乡", kind_text.trim()),
            ));
        }
        parsed
    };
    let mut bad = |c: Column, message: String| {
        problems.push(row_problem(row, ProblemCode::Invalid, c.label(), &message));
    };
    let enabled = match parse_enabled(&text(Column::Enabled)) {
        Some(e) => e,
        None => {
            bad(
                Column::Enabled,
                format!("启用「{}」应为是或否", text(Column::Enabled).trim()),
            );
            true
        }
    };
    let day = match parse_day(&text(Column::Day)) {
        Ok(d) => d,
        Err(raw) => {
            bad(Column::Day, format!("观摩日「{raw}」应为第1天或第2天"));
            None
        }
    };
    let slot_minutes = match parse_int(&text(Column::Slot)) {
        Ok(m) => m,
        Err(raw) => {
            bad(Column::Slot, format!("时长「{raw}」应为整数分钟"));
            None
        }
    };
    let arrival = cell(Column::Arrival)
        .map(Cell::time_text)
        .filter(|a| !a.trim().is_empty());
    let input = TownshipInput {
        code: text(Column::Code),
        name,
        // Placeholder only when the kind is already reported as a problem.
        kind: kind.unwrap_or(TownshipKind::Town),
        enabled,
        day,
        arrival,
        slot_minutes,
        note: text(Column::Note),
    }
    .normalized();
    for p in input.validate() {
        problems.push(row_problem(row, p.code, &p.location, &p.message));
    }
    if problems.is_empty() {
        Ok(RosterRow {
            row,
            position,
            input,
        })
    } else {
        Err(problems)
    }
}

/// Blank is `None`; `Err` carries the trimmed text that is not an integer.
fn parse_int(s: &str) -> Result<Option<i32>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    t.parse().map(Some).map_err(|_| t.to_string())
}

fn parse_enabled(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "" | "是" | "1" | "true" | "启用" | "yes" | "y" => Some(true),
        "否" | "0" | "false" | "停用" | "no" | "n" => Some(false),
        _ => None,
    }
}

/// `1`, `2`, `第1天`, `第二天`; other integers pass through for validation to refuse.
fn parse_day(s: &str) -> Result<Option<i32>, String> {
    let t = s.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let inner = t.strip_prefix('第').unwrap_or(t);
    let inner = inner.strip_suffix('天').unwrap_or(inner).trim();
    match inner {
        "一" => Ok(Some(1)),
        "二" | "两" => Ok(Some(2)),
        n => n.parse().map(Some).map_err(|_| t.to_string()),
    }
}

/// The nine export cells of a township, in `Column::COLUMNS` order.
fn export_fields(t: &Township) -> [String; 9] {
    [
        t.position.to_string(),
        t.name.clone(),
        t.kind.label().to_string(),
        t.code.clone(),
        if t.enabled { "是" } else { "否" }.to_string(),
        t.day.map(|d| format!("第{d}天")).unwrap_or_default(),
        t.arrival.clone().unwrap_or_default(),
        t.slot_minutes.map(|m| m.to_string()).unwrap_or_default(),
        t.note.clone(),
    ]
}

/// The roster as CSV: UTF-8 with a BOM (so Excel on Chinese Windows reads it), CRLF line
/// ends, quoted where needed, formula-looking cells escaped with `'`.
pub fn write_roster_csv(townships: &[Township]) -> Vec<u8> {
    match write_csv::<Column, _>(townships.iter().map(export_fields)) {
        Ok(bytes) => bytes,
        // Writing into a Vec cannot fail; keep the signature infallible but never silent.
        Err(e) => {
            tracing::error!(error = %e, "writing the roster CSV into memory failed");
            Vec::new()
        }
    }
}

/// The roster as an XLSX workbook with one sheet; every text cell is written as a string
/// (never a formula), numbers as numbers.
pub fn write_roster_xlsx(townships: &[Township]) -> Result<Vec<u8>, ExchangeError> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = labelled_worksheet::<Column>(&mut wb, "乡镇名单")?;
    for (r, t) in (1u32..).zip(townships) {
        let fields = export_fields(t);
        for ((c, col), field) in (0u16..).zip(Column::COLUMNS).zip(&fields) {
            match col {
                Column::Position => {
                    ws.write_number(r, c, f64::from(t.position))
                        .map_err(xlsx::write_error)?;
                }
                Column::Slot => {
                    if let Some(m) = t.slot_minutes {
                        ws.write_number(r, c, f64::from(m))
                            .map_err(xlsx::write_error)?;
                    }
                }
                _ if field.is_empty() => {}
                _ => {
                    ws.write_string(r, c, field).map_err(xlsx::write_error)?;
                }
            }
        }
    }
    for (c, width) in [(1u16, 16.0), (3, 16.0), (6, 10.0), (8, 40.0)] {
        ws.set_column_width(c, width).map_err(xlsx::write_error)?;
    }
    wb.save_to_buffer().map_err(xlsx::write_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use guanmo_domain::problem::Severity;
    use proptest::prelude::*;

    const HEADER: &str = "顺序,名称,类型,区划代码,启用,观摩日,到达时间,时长(分钟),备注";

    fn csv(s: &str) -> Result<ParsedRoster, ExchangeError> {
        read_roster(s.as_bytes(), FileFormat::Csv)
    }

    fn problems(r: Result<ParsedRoster, ExchangeError>) -> Vec<Problem> {
        match r {
            Err(ExchangeError::Invalid(p)) => p,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    fn township(position: i32, input: &TownshipInput) -> Township {
        Township {
            id: format!("id-{position}"),
            code: input.code.clone(),
            name: input.name.clone(),
            kind: input.kind,
            enabled: input.enabled,
            position,
            day: input.day,
            arrival: input.arrival.clone(),
            slot_minutes: input.slot_minutes,
            note: input.note.clone(),
            eval_group: String::new(),
            version: 1,
        }
    }

    fn sample() -> TownshipInput {
        TownshipInput {
            code: "030482001000".into(),
            name: "水口山镇".into(),
            kind: TownshipKind::Town,
            enabled: true,
            day: Some(1),
            arrival: Some("09:30".into()),
            slot_minutes: Some(40),
            note: "有色金属产业园、\"老工业区\",矿山公园".into(),
        }
    }

    #[test]
    fn columns_in_any_order_are_matched_by_header_text_and_aliases() {
        let r = csv(
            " 备注 ,是否启用,乡镇(街道),统计用区划代码,天,计划到达,时长,站次,类型\n\
             矿山公园,否,水口山镇,430482001000,第2天,9:05,30,3,镇\n",
        )
        .unwrap();
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(r.rows.len(), 1);
        let row = &r.rows[0];
        assert_eq!(row.row, 2);
        assert_eq!(row.position, Some(3));
        assert_eq!(
            row.input,
            TownshipInput {
                code: "430482001000".into(),
                name: "水口山镇".into(),
                kind: TownshipKind::Town,
                enabled: false,
                day: Some(2),
                arrival: Some("09:05".into()),
                slot_minutes: Some(30),
                note: "矿山公园".into(),
            }
        );
    }

    #[test]
    fn headers_with_full_width_parentheses_are_matched() {
        let r = csv(
            "乡镇\u{FF08}街道\u{FF09},区划代码,时长\u{FF08}分钟\u{FF09}\n甲镇,430482001000,30\n",
        )
        .unwrap();
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        assert_eq!(r.rows[0].input.slot_minutes, Some(30));
    }

    #[test]
    fn optional_columns_may_be_left_out_entirely() {
        let r = csv("名称,代码\n宜阳街道,430482002000\n").unwrap();
        let i = &r.rows[0].input;
        assert_eq!(i.kind, TownshipKind::Subdistrict);
        assert!(i.enabled);
        assert_eq!(
            (i.day, i.arrival.as_deref(), i.slot_minutes),
            (None, None, None)
        );
        assert_eq!(r.rows[0].position, None);
    }

    #[test]
    fn an_empty_or_whitespace_or_bom_only_file_is_empty() {
        for bytes in [&b""[..], b"  \r\n \n", b"\xEF\xBB\xBF", b"\xEF\xBB\xBF\n"] {
            for format in [FileFormat::Csv, FileFormat::Xlsx] {
                let p = problems(read_roster(bytes, format));
                assert_eq!(p.len(), 1);
                assert_eq!(p[0].code, ProblemCode::Empty);
                assert_eq!(p[0].message, "文件为空");
            }
        }
    }

    #[test]
    fn a_header_only_file_says_there_are_no_data_rows() {
        let p = problems(csv(&format!("{HEADER}\r\n\r\n")));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].code, ProblemCode::Empty);
        assert_eq!(p[0].message, "只有表头,没有数据行");
    }

    #[test]
    fn a_missing_required_column_is_named_with_the_headers_found() {
        let p = problems(csv("顺序,名称,类型\n1,水口山镇,镇\n"));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].code, ProblemCode::MissingColumn);
        assert_eq!(p[0].location, "区划代码");
        assert!(p[0].message.contains("区划代码"), "{}", p[0].message);
        assert!(
            p[0].message.contains("「顺序」、「名称」、「类型」"),
            "{}",
            p[0].message
        );
        let p = problems(csv("代码\n430482001000\n"));
        assert!(p
            .iter()
            .any(|p| p.location == "名称" && p.code == ProblemCode::MissingColumn));
    }

    #[test]
    fn an_unknown_column_is_a_warning_and_the_import_goes_on() {
        let r = csv("名称,区划代码,联系人\n水口山镇,430482001000,张三\n").unwrap();
        assert_eq!(r.rows.len(), 1);
        assert_eq!(r.warnings.len(), 1);
        let w = &r.warnings[0];
        assert_eq!(w.severity, Severity::Warning);
        assert_eq!(w.code, ProblemCode::UnknownColumn);
        assert_eq!(w.message, "未识别的列「联系人」已忽略");
    }

    #[test]
    fn a_ragged_row_is_an_error_naming_the_row_and_both_widths() {
        let mut s = format!("{HEADER}\n");
        s.push_str("1,甲镇,镇,430482001000,是,1,09:00,30,\n");
        s.push_str("2,乙镇,镇,430482002000,是,1,09:00,30,\n");
        s.push_str("3,丙镇,镇,430482003000,是,1,09:00,30,\n");
        s.push_str("4,丁镇,镇,430482004000,是,1,09:00\n");
        s.push_str("5,戊镇,镇,430482005000,是,1,09:00,30,,多余\n");
        let p = problems(csv(&s));
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].code, ProblemCode::RaggedRow);
        assert_eq!(p[0].row, Some(5));
        assert_eq!(p[0].message, "第5行有7列,表头有9列");
        assert_eq!(p[1].message, "第6行有10列,表头有9列");
    }

    #[test]
    fn blank_lines_are_skipped_and_rows_keep_their_file_numbers() {
        let r = csv("名称,区划代码\n\n甲镇,430482001000\n , \n乙镇,430482002000\n\n").unwrap();
        let rows: Vec<u32> = r.rows.iter().map(|r| r.row).collect();
        assert_eq!(rows, vec![3, 5]);
    }

    #[test]
    fn an_unclosed_quote_is_reported_at_the_row_where_it_opened() {
        let s = "名称,区划代码,备注\n甲镇,430482001000,好\n乙镇,430482002000,\"没有闭合\n丙镇,430482003000,x\n";
        let p = problems(csv(s));
        let q = p
            .iter()
            .find(|p| p.code == ProblemCode::UnclosedQuote)
            .expect("an unclosed quote problem");
        assert_eq!(q.row, Some(3));
        assert!(q.message.contains("第3行"), "{}", q.message);
    }

    #[test]
    fn a_quoted_note_may_span_lines_and_contain_quotes_and_commas() {
        let s = "名称,区划代码,备注\r\n甲镇,430482001000,\"第一站,\"\"园区\"\"\r\n第二站\"\r\n乙镇,430482002000,\r\n";
        let r = csv(s).unwrap();
        assert_eq!(r.rows[0].input.note, "第一站,\"园区\"\r\n第二站");
        assert_eq!(r.rows[1].row, 4);
    }

    #[test]
    fn codes_are_kept_as_text_with_their_leading_zeros() {
        let r = csv("名称,区划代码\n甲镇,030482001000\n").unwrap();
        assert_eq!(r.rows[0].input.code, "030482001000");
    }

    #[test]
    fn a_gbk_csv_saved_by_chinese_excel_is_read() {
        let (gbk, _, _) =
            encoding_rs::GBK.encode("名称,区划代码,备注\r\n水口山镇,430482001000,矿山公园\r\n");
        let r = read_roster(&gbk, FileFormat::Csv).unwrap();
        assert_eq!(r.rows[0].input.name, "水口山镇");
        assert_eq!(r.rows[0].input.note, "矿山公园");
    }

    #[test]
    fn undecodable_bytes_are_unreadable() {
        assert!(matches!(
            read_roster(&[0x41, 0xFF, 0xFF, 0x80], FileFormat::Csv),
            Err(ExchangeError::Unreadable(m)) if m.contains("UTF-8")
        ));
    }

    #[test]
    fn a_blank_kind_is_guessed_from_the_name_or_refused_when_it_cannot_be() {
        let r =
            csv("名称,区划代码,类型\n塔山瑶族乡,430482001000,\n宜阳街道,430482002000,\n").unwrap();
        assert_eq!(r.rows[0].input.kind, TownshipKind::EthnicTownship);
        assert_eq!(r.rows[1].input.kind, TownshipKind::Subdistrict);
        let p = problems(csv(
            "名称,区划代码,类型\n开发区,430482001000,\n甲镇,430482002000,县\n",
        ));
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!((p[0].row, p[0].location.as_str()), (Some(2), "类型"));
        assert!(p[0].message.starts_with("第2行"), "{}", p[0].message);
        assert!(p[1].message.contains("「县」"), "{}", p[1].message);
    }

    #[test]
    fn enabled_accepts_yes_and_no_words_and_blank_means_yes() {
        let mut s = String::from("名称,区划代码,启用\n");
        let words = ["是", "否", "1", "0", "TRUE", "false", "启用", "停用", ""];
        for (i, w) in words.iter().enumerate() {
            s.push_str(&format!("{i}镇,43048200{i}000,{w}\n"));
        }
        let got: Vec<bool> = csv(&s)
            .unwrap()
            .rows
            .iter()
            .map(|r| r.input.enabled)
            .collect();
        assert_eq!(
            got,
            vec![true, false, true, false, true, false, true, false, true]
        );
        let p = problems(csv("名称,区划代码,启用\n甲镇,430482001000,也许\n"));
        assert_eq!(p[0].location, "启用");
    }

    #[test]
    fn the_day_accepts_numbers_and_di_n_tian() {
        let r = csv("名称,区划代码,观摩日\n甲镇,430482001000,1\n乙镇,430482002000,第2天\n丙镇,430482003000,第一天\n丁镇,430482004000,\n").unwrap();
        let got: Vec<Option<i32>> = r.rows.iter().map(|r| r.input.day).collect();
        assert_eq!(got, vec![Some(1), Some(2), Some(1), None]);
        let p = problems(csv(
            "名称,区划代码,观摩日\n甲镇,430482001000,第3天\n乙镇,430482002000,周一\n",
        ));
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].code, ProblemCode::OutOfRange);
        assert_eq!(p[1].code, ProblemCode::Invalid);
    }

    #[test]
    fn arrival_times_are_normalised_and_bad_ones_refused() {
        let r = csv("名称,区划代码,到达时间\n甲镇,430482001000,9:30\n").unwrap();
        assert_eq!(r.rows[0].input.arrival.as_deref(), Some("09:30"));
        let p = problems(csv("名称,区划代码,到达时间\n甲镇,430482001000,9点半\n"));
        assert_eq!((p[0].row, p[0].location.as_str()), (Some(2), "到达时间"));
    }

    #[test]
    fn every_bad_row_is_reported_not_only_the_first() {
        let s = "名称,区划代码,时长\n甲镇,4304820010,30\n乙镇,430482002000,很久\n,430482003000,\n丁镇,430482004000,3\n";
        let p = problems(csv(s));
        let rows: Vec<Option<u32>> = p.iter().map(|p| p.row).collect();
        assert_eq!(rows, vec![Some(2), Some(3), Some(4), Some(5)], "{p:?}");
        for p in &p {
            let row = p.row.unwrap_or_default();
            assert!(
                p.message.starts_with(&format!("第{row}行")),
                "{}",
                p.message
            );
            assert!(p.is_error());
        }
        assert_eq!(p[0].location, "区划代码");
    }

    #[test]
    fn formula_looking_cells_are_imported_as_literal_text() {
        let s = "名称,区划代码,备注\n\
                 \"=HYPERLINK(\"\"http://x\"\",\"\"y\"\")镇\",430482001000,\"+cmd|' /C calc'!A0\"\n\
                 @SUM(1)镇,430482002000,-2+3\n\
                 甲镇,430482003000,\"\tx\"\n";
        let r = csv(s).unwrap();
        assert_eq!(r.rows[0].input.name, "=HYPERLINK(\"http://x\",\"y\")镇");
        assert_eq!(r.rows[0].input.note, "+cmd|' /C calc'!A0");
        assert_eq!(r.rows[1].input.name, "@SUM(1)镇");
        assert_eq!(r.rows[1].input.note, "-2+3");
        // Normalisation trims the leading tab; it is never run.
        assert_eq!(r.rows[2].input.note, "x");
    }

    #[test]
    fn csv_export_is_utf8_with_a_bom_crlf_and_quoting() {
        let bytes = write_roster_csv(&[township(1, &sample())]);
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let text = std::str::from_utf8(&bytes[3..]).unwrap();
        let expected = format!(
            "{HEADER}\r\n1,水口山镇,镇,030482001000,是,第1天,09:30,40,\"有色金属产业园、\"\"老工业区\"\",矿山公园\"\r\n"
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn csv_export_escapes_formula_cells_and_import_restores_them() {
        let mut input = sample();
        input.name = "=1+1".into();
        input.note = "@SUM(1)".into();
        let bytes = write_roster_csv(&[township(1, &input)]);
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains(",'=1+1,"), "{text}");
        assert!(text.contains(",'@SUM(1)"), "{text}");
        let r = read_roster(&bytes, FileFormat::Csv).unwrap();
        assert_eq!(r.rows[0].input, input);
    }

    #[test]
    fn a_formula_looking_name_survives_xlsx_as_literal_text() {
        let mut input = sample();
        input.name = "=1+1".into();
        let bytes = write_roster_xlsx(&[township(7, &input)]).unwrap();
        let r = read_roster(&bytes, FileFormat::Xlsx).unwrap();
        assert_eq!(r.rows[0].input.name, "=1+1");
        assert_eq!(r.rows[0].position, Some(7));
        assert_eq!(r.rows[0].input, input);
    }

    /// An XLSX built cell by cell, for the tests below.
    fn workbook(build: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) -> Vec<u8> {
        let mut wb = rust_xlsxwriter::Workbook::new();
        build(wb.add_worksheet());
        wb.save_to_buffer().unwrap()
    }

    #[test]
    fn a_numeric_code_cell_and_an_excel_time_cell_become_text() {
        let bytes = workbook(|ws| {
            ws.write_string(0, 0, "名称").unwrap();
            ws.write_string(0, 1, "区划代码").unwrap();
            ws.write_string(0, 2, "到达时间").unwrap();
            ws.write_string(0, 3, "顺序").unwrap();
            ws.write_string(1, 0, "水口山镇").unwrap();
            ws.write_number(1, 1, 430482001000.0).unwrap();
            let time = rust_xlsxwriter::Format::new().set_num_format("hh:mm");
            ws.write_number_with_format(1, 2, 0.3958, &time).unwrap();
            ws.write_number(1, 3, 2.0).unwrap();
            ws.write_string(2, 0, "宜阳街道").unwrap();
            ws.write_string(2, 1, "430482002000").unwrap();
            ws.write_number(2, 2, 0.5625).unwrap();
        });
        let r = read_roster(&bytes, FileFormat::Xlsx).unwrap();
        assert_eq!(r.rows[0].input.code, "430482001000");
        assert_eq!(r.rows[0].input.arrival.as_deref(), Some("09:30"));
        assert_eq!(r.rows[0].position, Some(2));
        assert_eq!(r.rows[1].input.arrival.as_deref(), Some("13:30"));
    }

    #[test]
    fn an_xlsx_formula_cell_is_read_as_its_cached_value_never_evaluated() {
        let bytes = workbook(|ws| {
            ws.write_string(0, 0, "名称").unwrap();
            ws.write_string(0, 1, "区划代码").unwrap();
            ws.write_string(0, 2, "备注").unwrap();
            ws.write_string(1, 0, "水口山镇").unwrap();
            ws.write_string(1, 1, "430482001000").unwrap();
            ws.write_formula(
                1,
                2,
                rust_xlsxwriter::Formula::new("=1+1").set_result("缓存值"),
            )
            .unwrap();
        });
        let r = read_roster(&bytes, FileFormat::Xlsx).unwrap();
        assert_eq!(r.rows[0].input.note, "缓存值");
    }

    #[test]
    fn xlsx_rows_keep_their_sheet_row_numbers_and_data_beyond_the_header_is_ragged() {
        let bytes = workbook(|ws| {
            ws.write_string(2, 1, "名称").unwrap();
            ws.write_string(2, 2, "区划代码").unwrap();
            ws.write_string(4, 1, "甲镇").unwrap();
            ws.write_string(4, 2, "43048200100").unwrap();
            ws.write_string(5, 1, "乙镇").unwrap();
            ws.write_string(5, 2, "430482002000").unwrap();
            ws.write_string(5, 4, "多余").unwrap();
        });
        let p = problems(read_roster(&bytes, FileFormat::Xlsx));
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!((p[0].row, p[0].location.as_str()), (Some(5), "区划代码"));
        assert_eq!(p[1].message, "第6行有5列,表头有3列");
    }

    #[test]
    fn a_csv_that_is_really_a_workbook_and_json_rosters_are_unsupported() {
        let bytes = write_roster_xlsx(&[township(1, &sample())]).unwrap();
        assert!(matches!(
            read_roster(&bytes, FileFormat::Csv),
            Err(ExchangeError::Unsupported(_))
        ));
        assert!(matches!(
            read_roster(b"[]", FileFormat::Json),
            Err(ExchangeError::Unsupported(_))
        ));
        assert!(matches!(
            read_roster(b"not a zip", FileFormat::Xlsx),
            Err(ExchangeError::Unsupported(_))
        ));
    }

    fn name_strategy() -> impl Strategy<Value = String> {
        let chars: Vec<char> = "水口山镇宜阳街道塔瑶族乡=+-@,\"'甲乙丙丁".chars().collect();
        proptest::collection::vec(proptest::sample::select(chars), 1..12)
            .prop_map(|v| v.into_iter().collect())
    }

    fn input_strategy() -> impl Strategy<Value = TownshipInput> {
        let note_chars: Vec<char> = "观摩点园区=+-@\t\n,\"' 1".chars().collect();
        (
            "[0-9]{12}",
            name_strategy(),
            proptest::sample::select(TownshipKind::ALL.to_vec()),
            any::<bool>(),
            proptest::option::of(1i32..=2),
            proptest::option::of((0u32..24, 0u32..60).prop_map(|(h, m)| format!("{h:02}:{m:02}"))),
            proptest::option::of(5i32..=480),
            proptest::collection::vec(proptest::sample::select(note_chars), 0..20)
                .prop_map(|v| v.into_iter().collect::<String>()),
        )
            .prop_map(
                |(code, name, kind, enabled, day, arrival, slot_minutes, note)| {
                    TownshipInput {
                        code,
                        name,
                        kind,
                        enabled,
                        day,
                        arrival,
                        slot_minutes,
                        note,
                    }
                    .normalized()
                },
            )
    }

    fn assert_round_trip(
        inputs: &[TownshipInput],
        parsed: ParsedRoster,
    ) -> Result<(), TestCaseError> {
        prop_assert!(parsed.warnings.is_empty());
        prop_assert_eq!(parsed.rows.len(), inputs.len());
        for (i, (row, input)) in parsed.rows.iter().zip(inputs).enumerate() {
            prop_assert_eq!(row.position, Some(i32::try_from(i).unwrap_or(0) + 1));
            prop_assert_eq!(&row.input, input);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_valid_roster_survives_a_csv_round_trip(inputs in proptest::collection::vec(input_strategy(), 1..15)) {
            let townships: Vec<Township> = (1..).zip(&inputs).map(|(p, i)| township(p, i)).collect();
            let parsed = read_roster(&write_roster_csv(&townships), FileFormat::Csv);
            prop_assert!(parsed.is_ok(), "{:?}", parsed);
            assert_round_trip(&inputs, parsed.unwrap())?;
        }

        #[test]
        fn any_valid_roster_survives_an_xlsx_round_trip(inputs in proptest::collection::vec(input_strategy(), 1..15)) {
            let townships: Vec<Township> = (1..).zip(&inputs).map(|(p, i)| township(p, i)).collect();
            let parsed = read_roster(&write_roster_xlsx(&townships).unwrap(), FileFormat::Xlsx);
            prop_assert!(parsed.is_ok(), "{:?}", parsed);
            assert_round_trip(&inputs, parsed.unwrap())?;
        }
    }
}
