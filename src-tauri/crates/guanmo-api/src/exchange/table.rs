//! Tables read from CSV or XLSX, shared by the roster and the people file: non-blank rows with
//! their 1-based file rows (blank lines counted, as a spreadsheet shows them), an unclosed CSV
//! quote reported where it opened, a header matched to columns by name or alias, and rows of
//! another width than the header reported as ragged. Invariant: every row-level problem is
//! collected in file order and none stops the others from being found; what a cell means is
//! the caller's.

use super::cells::{escape_formula, unescape_formula, Cell};
use super::text::decode_text;
use super::{xlsx, ExchangeError, FileFormat};
use guanmo_domain::problem::{has_errors, Problem, ProblemCode};

/// A column of a table: the header texts it accepts.
pub(crate) trait TableColumn: Copy + PartialEq + 'static {
    /// Every column, in export order.
    const COLUMNS: &'static [Self];

    /// Accepted header texts; the first is what export writes.
    fn aliases(self) -> &'static [&'static str];

    /// The header text export writes.
    fn label(self) -> &'static str {
        self.aliases().first().copied().unwrap_or_default()
    }

    /// A header cell's text as it is matched and named in problems (trimmed by default).
    fn normalize_header(header: &str) -> String {
        header.trim().to_string()
    }

    /// The column a header text names, if any.
    fn from_header(header: &str) -> Option<Self> {
        let h = Self::normalize_header(header);
        Self::COLUMNS
            .iter()
            .copied()
            .find(|c| c.aliases().contains(&h.as_str()))
    }
}

/// A table file that parsed without errors.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedTable<R> {
    /// Data rows in file order.
    pub rows: Vec<R>,
    /// Advisory problems, such as ignored columns.
    pub warnings: Vec<Problem>,
}

impl<R> Default for ParsedTable<R> {
    fn default() -> Self {
        ParsedTable {
            rows: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// Non-blank rows (the first is the header) with their 1-based file rows.
pub(crate) struct Table {
    rows: Vec<(u32, Vec<Cell>)>,
    /// Problems found while splitting rows (an unclosed quote).
    problems: Vec<Problem>,
    /// CSV rows must have exactly the header's width; XLSX rows only no data beyond it.
    strict_width: bool,
}

/// The problem for a file with nothing in it.
pub(crate) fn empty_file() -> ExchangeError {
    ExchangeError::Invalid(vec![Problem::error(ProblemCode::Empty, "文件", "文件为空")])
}

/// Splits CSV or XLSX bytes into a table; a blank file (whitespace, perhaps after a BOM) is
/// empty, and JSON is refused with `json_refusal`.
pub(crate) fn read_table(
    bytes: &[u8],
    format: FileFormat,
    json_refusal: &str,
) -> Result<Table, ExchangeError> {
    let rest = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if rest.iter().all(u8::is_ascii_whitespace) {
        return Err(empty_file());
    }
    match format {
        FileFormat::Csv => csv_table(bytes),
        FileFormat::Xlsx => xlsx_table(bytes),
        FileFormat::Json => Err(ExchangeError::Unsupported(json_refusal.into())),
    }
}

fn csv_table(bytes: &[u8]) -> Result<Table, ExchangeError> {
    if xlsx::is_zip(bytes) {
        return Err(ExchangeError::Unsupported(
            "文件内容是 Excel(.xlsx)表格,与扩展名 .csv 不符,请改用 .xlsx 扩展名".into(),
        ));
    }
    if xlsx::is_ole(bytes) {
        return Err(ExchangeError::Unsupported(xlsx::OLD_XLS.into()));
    }
    let text = decode_text(bytes)?;
    let unclosed = unclosed_quote_line(&text);
    let newlines: Vec<usize> = text.match_indices('\n').map(|(i, _)| i).collect();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| ExchangeError::Unreadable(format!("CSV 格式错误({e})")))?;
        let line = record
            .position()
            .map_or(0, |p| line_at(&text, &newlines, p.byte()));
        // From the unclosed quote on, the csv crate has read everything into one cell.
        if unclosed.is_some_and(|open| line >= open) {
            break;
        }
        let cells: Vec<Cell> = record
            .iter()
            .map(|f| Cell::Text(unescape_formula(f).to_string()))
            .collect();
        if !cells.iter().all(Cell::is_blank) {
            rows.push((line, cells));
        }
    }
    let problems = unclosed
        .map(|open| {
            Problem::error(
                ProblemCode::UnclosedQuote,
                format!("第{open}行"),
                format!("第{open}行的引号没有闭合,从这里到文件末尾都被当成了一个单元格"),
            )
            .at_row(open)
        })
        .into_iter()
        .collect();
    Ok(Table {
        rows,
        problems,
        strict_width: true,
    })
}

/// The 1-based line of a record starting at `byte` (the csv crate's own line count skips
/// blank lines, and rows must match what a spreadsheet shows).
fn line_at(text: &str, newlines: &[usize], byte: u64) -> u32 {
    let mut at = usize::try_from(byte).unwrap_or(usize::MAX).min(text.len());
    // Skip line ends before the record itself, in case the offset points at a blank line.
    at += text.get(at..).map_or(0, |rest| {
        rest.len() - rest.trim_start_matches(['\r', '\n']).len()
    });
    u32::try_from(newlines.partition_point(|&n| n < at) + 1).unwrap_or(u32::MAX)
}

/// The 1-based line where a quoted field opens and never closes, if any. Mirrors the csv
/// crate's reading: a quote opens a field only at its start; `""` inside it is a quote.
pub(crate) fn unclosed_quote_line(text: &str) -> Option<u32> {
    #[derive(PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut state = State::FieldStart;
    let mut line: u32 = 1;
    let mut opened_at = 0;
    for ch in text.chars() {
        state = match (state, ch) {
            (State::FieldStart, '"') => {
                opened_at = line;
                State::Quoted
            }
            (State::Quoted, '"') => State::QuoteInQuoted,
            (State::Quoted, _) => State::Quoted,
            (State::QuoteInQuoted, '"') => State::Quoted,
            (_, ',' | '\n' | '\r') => State::FieldStart,
            _ => State::Unquoted,
        };
        if ch == '\n' {
            line = line.saturating_add(1);
        }
    }
    (state == State::Quoted).then_some(opened_at)
}

fn xlsx_table(bytes: &[u8]) -> Result<Table, ExchangeError> {
    let rows = xlsx::first_sheet(bytes)?
        .into_iter()
        .zip(1u32..)
        .filter(|(cells, _)| !cells.iter().all(Cell::is_blank))
        .map(|(cells, row)| (row, cells))
        .collect();
    Ok(Table {
        rows,
        problems: Vec::new(),
        strict_width: false,
    })
}

/// A problem at a file row whose message names the row.
pub(crate) fn row_problem(row: u32, code: ProblemCode, location: &str, message: &str) -> Problem {
    let tag = format!("第{row}行");
    let message = if message.contains(&tag) {
        message.to_string()
    } else {
        format!("{tag}:{message}")
    };
    Problem::error(code, location, message).at_row(row)
}

/// A table's header row and the column each of its cells names.
pub(crate) struct Header<C> {
    /// The header's 1-based file row.
    pub(crate) row: u32,
    /// The header cells as read.
    pub(crate) cells: Vec<Cell>,
    /// The column each header cell names; `None` for blank or unknown headers.
    pub(crate) columns: Vec<Option<C>>,
}

impl<C: TableColumn> Header<C> {
    /// The cell of a data row under column `c`; `None` when the header lacks `c` or the row
    /// stops before it.
    pub(crate) fn cell<'a>(&self, cells: &'a [Cell], c: C) -> Option<&'a Cell> {
        self.columns
            .iter()
            .position(|k| *k == Some(c))
            .and_then(|i| cells.get(i))
    }
}

/// A table whose header named every required column, with its data rows still to parse.
pub(crate) struct Sheet<C> {
    header: Header<C>,
    data: Vec<(u32, Vec<Cell>)>,
    width: usize,
    strict_width: bool,
    problems: Vec<Problem>,
    /// Advisory problems so far (unknown columns); callers may add their own.
    pub(crate) warnings: Vec<Problem>,
}

/// How many columns a row uses: all its cells (CSV) or up to its last non-blank one (XLSX).
fn used_width(cells: &[Cell], strict: bool) -> usize {
    if strict {
        cells.len()
    } else {
        cells
            .iter()
            .rposition(|c| !c.is_blank())
            .map_or(0, |i| i + 1)
    }
}

/// Columns a header names, with the errors (duplicate columns, missing `required` ones) and
/// warnings (unknown ones).
fn map_header<C: TableColumn>(
    header_row: u32,
    header: &[Cell],
    required: &[C],
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<Problem>,
) -> Vec<Option<C>> {
    let mut columns: Vec<Option<C>> = Vec::with_capacity(header.len());
    let mut found = Vec::new();
    for cell in header {
        let text = C::normalize_header(&cell.text());
        if text.is_empty() {
            columns.push(None);
            continue;
        }
        found.push(format!("「{text}」"));
        match C::from_header(&text) {
            Some(c) if columns.contains(&Some(c)) => {
                problems.push(row_problem(
                    header_row,
                    ProblemCode::Duplicate,
                    &text,
                    &format!("列「{text}」与前面的列重复(都表示「{}」)", c.label()),
                ));
                columns.push(None);
            }
            Some(c) => columns.push(Some(c)),
            None => {
                warnings.push(
                    Problem::warning(
                        ProblemCode::UnknownColumn,
                        text.as_str(),
                        format!("未识别的列「{text}」已忽略"),
                    )
                    .at_row(header_row),
                );
                columns.push(None);
            }
        }
    }
    for &required in required {
        if !columns.contains(&Some(required)) {
            let found = if found.is_empty() {
                "(无)".to_string()
            } else {
                found.join("、")
            };
            problems.push(
                Problem::error(
                    ProblemCode::MissingColumn,
                    required.label(),
                    format!(
                        "缺少必需的列「{}」(也可写作 {});表头中找到的列:{found}",
                        required.label(),
                        required.aliases().join("、")
                    ),
                )
                .at_row(header_row),
            );
        }
    }
    columns
}

/// Everything found wrong, errors first and then the warnings, as one refusal.
fn invalid(mut problems: Vec<Problem>, warnings: Vec<Problem>) -> ExchangeError {
    problems.extend(warnings);
    ExchangeError::Invalid(problems)
}

impl<C: TableColumn> Sheet<C> {
    /// Reads the header of `table` and checks that it names every `required` column and that
    /// data rows follow; refuses the table with every problem found otherwise.
    pub(crate) fn open(table: Table, required: &[C]) -> Result<Self, ExchangeError> {
        let Table {
            rows,
            mut problems,
            strict_width,
        } = table;
        let mut rows = rows.into_iter();
        let Some((header_row, header)) = rows.next() else {
            return Err(if has_errors(&problems) {
                ExchangeError::Invalid(problems)
            } else {
                empty_file()
            });
        };
        let mut warnings = Vec::new();
        let columns = map_header(header_row, &header, required, &mut problems, &mut warnings);
        if has_errors(&problems) {
            return Err(invalid(problems, warnings));
        }
        let width = used_width(&header, strict_width);
        let data: Vec<(u32, Vec<Cell>)> = rows.collect();
        if data.is_empty() {
            return Err(ExchangeError::Invalid(vec![Problem::error(
                ProblemCode::Empty,
                "文件",
                "只有表头,没有数据行",
            )
            .at_row(header_row)]));
        }
        Ok(Sheet {
            header: Header {
                row: header_row,
                cells: header,
                columns,
            },
            data,
            width,
            strict_width,
            problems,
            warnings,
        })
    }

    /// The header row.
    pub(crate) fn header(&self) -> &Header<C> {
        &self.header
    }

    /// Parses each data row with `parse` (its file row, the header, its cells), in file order;
    /// a row of another width than the header is reported as ragged instead. Problems from
    /// either keep file order.
    pub(crate) fn parse_rows<T>(
        &mut self,
        mut parse: impl FnMut(u32, &Header<C>, &[Cell]) -> Result<T, Vec<Problem>>,
    ) -> Vec<T> {
        let data = std::mem::take(&mut self.data);
        let mut out = Vec::with_capacity(data.len());
        for (row, cells) in data {
            let (used, width) = (used_width(&cells, self.strict_width), self.width);
            if (self.strict_width && used != width) || used > width {
                self.problems.push(row_problem(
                    row,
                    ProblemCode::RaggedRow,
                    &format!("第{row}行"),
                    &format!("第{row}行有{used}列,表头有{width}列"),
                ));
                continue;
            }
            match parse(row, &self.header, &cells) {
                Ok(r) => out.push(r),
                Err(mut p) => self.problems.append(&mut p),
            }
        }
        out
    }

    /// The parsed rows with the warnings, or every problem (errors, then warnings) if any is
    /// an error.
    pub(crate) fn finish<T>(self, rows: Vec<T>) -> Result<ParsedTable<T>, ExchangeError> {
        if has_errors(&self.problems) {
            return Err(invalid(self.problems, self.warnings));
        }
        Ok(ParsedTable {
            rows,
            warnings: self.warnings,
        })
    }
}

/// A table as CSV: UTF-8 with a BOM (so Excel on Chinese Windows reads it), CRLF line ends,
/// the column labels as the header, quoted where needed, formula-looking cells escaped with `'`.
pub(crate) fn write_csv<C: TableColumn, R: AsRef<[String]>>(
    rows: impl IntoIterator<Item = R>,
) -> Result<Vec<u8>, csv::Error> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(&mut out);
        w.write_record(C::COLUMNS.iter().map(|c| c.label()))?;
        for row in rows {
            w.write_record(row.as_ref().iter().map(|f| escape_formula(f).into_owned()))?;
        }
        w.flush()?;
    }
    Ok(out)
}

/// A new worksheet named `name` whose first row holds the column labels, in export order.
pub(crate) fn labelled_worksheet<'a, C: TableColumn>(
    wb: &'a mut rust_xlsxwriter::Workbook,
    name: &str,
) -> Result<&'a mut rust_xlsxwriter::Worksheet, ExchangeError> {
    let ws = wb.add_worksheet();
    ws.set_name(name).map_err(xlsx::write_error)?;
    for (c, col) in (0u16..).zip(C::COLUMNS) {
        ws.write_string(0, c, col.label())
            .map_err(xlsx::write_error)?;
    }
    Ok(ws)
}

/// The problems of a refused read; panics on anything else (for the table files' tests).
#[cfg(test)]
pub(crate) fn invalid_problems<T: std::fmt::Debug>(r: Result<T, ExchangeError>) -> Vec<Problem> {
    match r {
        Err(ExchangeError::Invalid(p)) => p,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::invalid_problems as problems;
    use super::*;
    use guanmo_domain::problem::Severity;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Col {
        Name,
        Note,
    }

    impl TableColumn for Col {
        const COLUMNS: &'static [Col] = &[Col::Name, Col::Note];

        fn aliases(self) -> &'static [&'static str] {
            match self {
                Col::Name => &["名称", "名字"],
                Col::Note => &["备注"],
            }
        }
    }

    /// Each data row's file row and cells as text, with the warnings; or every problem.
    type Read = Result<ParsedTable<(u32, Vec<String>)>, ExchangeError>;

    fn read(s: &str) -> Read {
        let table = read_table(s.as_bytes(), FileFormat::Csv, "不支持")?;
        let mut sheet = Sheet::open(table, &[Col::Name])?;
        let rows =
            sheet.parse_rows(|row, _, cells| Ok((row, cells.iter().map(Cell::text).collect())));
        sheet.finish(rows)
    }

    #[test]
    fn rows_keep_their_file_lines_across_blank_lines_and_crlf() {
        let ParsedTable { rows, warnings } =
            read("名称,备注\r\n\r\n甲,1\r\n , \r\n乙,2\r\n\r\n").unwrap();
        assert!(warnings.is_empty());
        let lines: Vec<u32> = rows.iter().map(|(row, _)| *row).collect();
        assert_eq!(lines, vec![3, 5]);
        assert_eq!(rows[1].1, vec!["乙".to_string(), "2".to_string()]);
    }

    #[test]
    fn line_at_counts_blank_lines_before_a_record() {
        let text = "a\n\n\nb\n";
        let newlines: Vec<usize> = text.match_indices('\n').map(|(i, _)| i).collect();
        assert_eq!(line_at(text, &newlines, 0), 1);
        assert_eq!(line_at(text, &newlines, 2), 4);
        assert_eq!(line_at(text, &newlines, 99), 5);
    }

    #[test]
    fn an_unclosed_quote_is_found_where_it_opened_and_closed_ones_are_not() {
        assert_eq!(unclosed_quote_line("a,b\nc,\"d\ne\n"), Some(2));
        assert_eq!(unclosed_quote_line("\"a\"\"\n"), Some(1));
        assert!(unclosed_quote_line("a,\"b\"\"c\",d\n\"x\ny\"\n").is_none());
        assert!(
            unclosed_quote_line("a,b\"c\n").is_none(),
            "a quote mid-field is text"
        );
        let p = problems(read("名称,备注\n甲,1\n乙,\"2\n丙,3\n"));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!((p[0].code, p[0].row), (ProblemCode::UnclosedQuote, Some(3)));
        assert_eq!(
            p[0].message,
            "第3行的引号没有闭合,从这里到文件末尾都被当成了一个单元格"
        );
    }

    #[test]
    fn ragged_rows_are_reported_in_file_order_with_both_widths() {
        let p = problems(read("名称,备注\n甲\n乙,1\n丙,1,2\n"));
        let got: Vec<(Option<u32>, &str)> = p.iter().map(|p| (p.row, p.message.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (Some(2), "第2行有1列,表头有2列"),
                (Some(4), "第4行有3列,表头有2列")
            ]
        );
        assert!(p.iter().all(|p| p.code == ProblemCode::RaggedRow));
    }

    #[test]
    fn headers_match_aliases_and_unknown_duplicate_and_missing_columns_are_reported() {
        let warnings = read(" 名字 ,电话\n甲,1\n").unwrap().warnings;
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].severity, Severity::Warning);
        assert_eq!(warnings[0].message, "未识别的列「电话」已忽略");
        let p = problems(read("名称,名字\n甲,乙\n"));
        assert_eq!(p[0].code, ProblemCode::Duplicate);
        assert_eq!(
            p[0].message,
            "第1行:列「名字」与前面的列重复(都表示「名称」)"
        );
        let p = problems(read("备注,电话\n1,2\n"));
        assert_eq!(p[0].code, ProblemCode::MissingColumn);
        assert_eq!(
            p[0].message,
            "缺少必需的列「名称」(也可写作 名称、名字);表头中找到的列:「备注」、「电话」"
        );
        assert_eq!(
            p[1].code,
            ProblemCode::UnknownColumn,
            "warnings follow errors"
        );
    }

    #[test]
    fn empty_and_header_only_tables_and_workbooks_named_csv_are_refused() {
        for s in ["", " \r\n", "\u{FEFF}\n"] {
            assert_eq!(problems(read(s))[0].message, "文件为空");
        }
        assert_eq!(problems(read("名称\n\n"))[0].message, "只有表头,没有数据行");
        assert!(matches!(
            read_table(b"PK\x03\x04rest", FileFormat::Csv, "x"),
            Err(ExchangeError::Unsupported(_))
        ));
        assert!(matches!(
            read_table(b"{}", FileFormat::Json, "只能从 .csv 导入"),
            Err(ExchangeError::Unsupported(m)) if m == "只能从 .csv 导入"
        ));
    }

    #[test]
    fn xlsx_rows_keep_sheet_rows_and_only_data_beyond_the_header_is_ragged() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.write_string(1, 0, "名称").unwrap();
        ws.write_string(3, 0, "甲").unwrap();
        ws.write_string(4, 0, "乙").unwrap();
        ws.write_string(4, 2, "多余").unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let table = read_table(&bytes, FileFormat::Xlsx, "x").unwrap();
        let mut sheet = Sheet::open(table, &[Col::Name]).unwrap();
        assert_eq!(sheet.header().row, 2);
        let rows = sheet.parse_rows(|row, _, _| Ok(row));
        assert_eq!(rows, vec![4]);
        let p = problems(sheet.finish(rows));
        assert_eq!(p[0].message, "第5行有3列,表头有1列");
    }

    #[test]
    fn a_row_problem_names_its_row_once() {
        let p = row_problem(4, ProblemCode::Invalid, "名称", "不对");
        assert_eq!((p.row, p.message.as_str()), (Some(4), "第4行:不对"));
        let p = row_problem(4, ProblemCode::Invalid, "名称", "第4行有1列");
        assert_eq!(p.message, "第4行有1列");
    }
}
