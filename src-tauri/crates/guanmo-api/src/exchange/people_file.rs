//! The people file (人员名单), CSV or XLSX: a header row naming the columns in any order (with
//! aliases), then one person per row, roles written as their Chinese labels. Invariant: reading
//! returns every row with its 1-based file row, or every row-level problem at once; export
//! writes the fixed column order and is read back unchanged by import. Matching rows to people
//! and scorers, and checks across rows, are the use case's (`people_import`).

use super::cells::Cell;
pub(crate) use super::table::row_problem;
use super::table::{
    labelled_worksheet, read_table, write_csv, Header, ParsedTable, Sheet, TableColumn,
};
// The tests below check the shared quote scan through this module.
#[cfg(test)]
use super::table::unclosed_quote_line;
use super::{xlsx, ExchangeError, FileFormat};
use guanmo_domain::people::PersonRole;
use guanmo_domain::problem::{Problem, ProblemCode};

/// What one line of the file says about a person.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PersonLine {
    /// 姓名, trimmed.
    pub name: String,
    /// 单位, trimmed.
    pub work_unit: String,
    /// 职务, trimmed.
    pub title: String,
    /// 角色, in [`PersonRole::ALL`] order, no repeats.
    pub roles: Vec<PersonRole>,
    /// 对应评分人: the name of a registered scorer as written (trimmed), blank when none.
    pub scorer: String,
    /// 状态: 启用 (true) or 停用.
    pub active: bool,
}

/// One person read from a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeopleRow {
    /// 1-based file row (the header is row 1).
    pub row: u32,
    /// What the row says.
    pub line: PersonLine,
}

/// A people file that parsed without errors.
pub type ParsedPeople = ParsedTable<PeopleRow>;

/// A people column; `COLUMNS` is the export order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    WorkUnit,
    Title,
    Roles,
    Scorer,
    Status,
}

impl TableColumn for Column {
    const COLUMNS: &'static [Column] = &[
        Column::Name,
        Column::WorkUnit,
        Column::Title,
        Column::Roles,
        Column::Scorer,
        Column::Status,
    ];

    fn aliases(self) -> &'static [&'static str] {
        match self {
            Column::Name => &["姓名", "名字"],
            Column::WorkUnit => &["单位", "工作单位"],
            Column::Title => &["职务", "职位"],
            Column::Roles => &["角色"],
            Column::Scorer => &["对应评分人", "评分人", "评分人员"],
            Column::Status => &["状态", "启用"],
        }
    }
}

/// What separates roles in one cell: 、 , ， ; ； / ／ and any whitespace.
fn is_role_separator(c: char) -> bool {
    matches!(c, '、' | ',' | '，' | ';' | '；' | '/' | '／') || c.is_whitespace()
}

/// Splits a 角色 cell into roles (sorted, no repeats); `Err` names the words that are no role.
pub fn parse_roles(cell: &str) -> Result<Vec<PersonRole>, Vec<String>> {
    let mut roles = Vec::new();
    let mut unknown = Vec::new();
    for word in cell.split(is_role_separator).filter(|w| !w.is_empty()) {
        match PersonRole::parse(word) {
            Some(r) => roles.push(r),
            None => unknown.push(word.to_string()),
        }
    }
    if !unknown.is_empty() {
        return Err(unknown);
    }
    roles.sort();
    roles.dedup();
    Ok(roles)
}

fn parse_status(s: &str) -> Option<bool> {
    match s.trim().to_lowercase().as_str() {
        "" | "启用" | "是" | "1" | "true" | "yes" | "y" => Some(true),
        "停用" | "否" | "0" | "false" | "no" | "n" | "禁用" => Some(false),
        _ => None,
    }
}

/// Reads a people file from CSV or XLSX bytes.
pub fn read_people(bytes: &[u8], format: FileFormat) -> Result<ParsedPeople, ExchangeError> {
    let table = read_table(bytes, format, "人员名单只能从 .csv 或 .xlsx 导入")?;
    let mut sheet = Sheet::open(table, &[Column::Name, Column::Roles])?;
    let rows = sheet.parse_rows(|row, header, cells| {
        parse_row(row, header, cells).map(|line| PeopleRow { row, line })
    });
    sheet.finish(rows)
}

fn parse_row(
    row: u32,
    header: &Header<Column>,
    cells: &[Cell],
) -> Result<PersonLine, Vec<Problem>> {
    let text = |c: Column| {
        header
            .cell(cells, c)
            .map(|cell| cell.text().trim().to_string())
            .unwrap_or_default()
    };
    let mut problems = Vec::new();
    let roles = match parse_roles(&text(Column::Roles)) {
        Ok(r) => r,
        Err(unknown) => {
            let names = unknown
                .iter()
                .map(|w| format!("「{w}」"))
                .collect::<Vec<_>>()
                .join("、");
            let known = PersonRole::ALL.map(PersonRole::label).join("、");
            problems.push(row_problem(
                row,
                ProblemCode::Invalid,
                Column::Roles.label(),
                &format!("角色{names}无法识别,可填写:{known}"),
            ));
            Vec::new()
        }
    };
    let status = text(Column::Status);
    let active = parse_status(&status).unwrap_or_else(|| {
        problems.push(row_problem(
            row,
            ProblemCode::Invalid,
            Column::Status.label(),
            &format!("状态「{status}」应为启用或停用"),
        ));
        true
    });
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(PersonLine {
        name: text(Column::Name),
        work_unit: text(Column::WorkUnit),
        title: text(Column::Title),
        roles,
        scorer: text(Column::Scorer),
        active,
    })
}

/// The six export cells of a line, in `Column::COLUMNS` order.
fn export_fields(line: &PersonLine) -> [String; 6] {
    [
        line.name.clone(),
        line.work_unit.clone(),
        line.title.clone(),
        line.roles
            .iter()
            .map(|r| r.label())
            .collect::<Vec<_>>()
            .join("、"),
        line.scorer.clone(),
        if line.active { "启用" } else { "停用" }.to_string(),
    ]
}

/// People as CSV: UTF-8 with a BOM (so Excel on Chinese Windows reads it), CRLF line ends,
/// quoted where needed, formula-looking cells escaped with `'`.
pub fn write_people_csv(lines: &[PersonLine]) -> Result<Vec<u8>, ExchangeError> {
    write_csv::<Column, _>(lines.iter().map(export_fields))
        .map_err(|e| ExchangeError::Unreadable(format!("无法生成 CSV 文件({e})")))
}

/// People as an XLSX workbook with one sheet, every cell written as a string (never a formula).
pub fn write_people_xlsx(lines: &[PersonLine]) -> Result<Vec<u8>, ExchangeError> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = labelled_worksheet::<Column>(&mut wb, "人员名单")?;
    for (r, line) in (1u32..).zip(lines) {
        for (c, field) in (0u16..).zip(export_fields(line)) {
            if !field.is_empty() {
                ws.write_string(r, c, field).map_err(xlsx::write_error)?;
            }
        }
    }
    for (c, width) in [(0u16, 12.0), (1, 24.0), (2, 16.0), (3, 24.0), (4, 14.0)] {
        ws.set_column_width(c, width).map_err(xlsx::write_error)?;
    }
    wb.save_to_buffer().map_err(xlsx::write_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exchange::table::invalid_problems as problems;
    use guanmo_domain::problem::Severity;

    fn csv(s: &str) -> Result<ParsedPeople, ExchangeError> {
        read_people(s.as_bytes(), FileFormat::Csv)
    }

    #[test]
    fn people_file_gbk_csv_with_chinese_roles_is_read() {
        let text = "姓名,单位,职务,角色,对应评分人,状态\r\n\
                    张三,市委办公室,副主任,组织方,,启用\r\n\
                    李四,市纪委,,评分人,李四,\r\n\
                    王五,,,监票人、计票人,,停用\r\n";
        let (gbk, _, had_errors) = encoding_rs::GBK.encode(text);
        assert!(!had_errors);
        assert!(
            std::str::from_utf8(&gbk).is_err(),
            "the sample must really be GBK"
        );
        let r = read_people(&gbk, FileFormat::Csv).unwrap();
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
        let rows: Vec<u32> = r.rows.iter().map(|r| r.row).collect();
        assert_eq!(rows, vec![2, 3, 4]);
        assert_eq!(
            r.rows[0].line,
            PersonLine {
                name: "张三".into(),
                work_unit: "市委办公室".into(),
                title: "副主任".into(),
                roles: vec![PersonRole::Organiser],
                scorer: String::new(),
                active: true,
            }
        );
        assert_eq!(r.rows[1].line.scorer, "李四");
        assert!(r.rows[1].line.active, "a blank status means 启用");
        assert_eq!(
            r.rows[2].line.roles,
            vec![PersonRole::Monitor, PersonRole::Counter]
        );
        assert!(!r.rows[2].line.active);
    }

    #[test]
    fn people_file_roles_split_on_every_separator_and_repeat_once() {
        for cell in [
            "编辑、审核员",
            "编辑,审核员",
            "编辑，审核员",
            "编辑;审核员",
            "编辑；审核员",
            "编辑/审核员",
            "编辑 审核员",
            "编辑\u{3000}审核员",
            " 审核员 、 编辑 、编辑",
            "editor moderator",
        ] {
            assert_eq!(
                parse_roles(cell),
                Ok(vec![PersonRole::Editor, PersonRole::Moderator]),
                "{cell:?}"
            );
        }
        assert_eq!(parse_roles(""), Ok(vec![]));
        assert_eq!(
            parse_roles("编辑、领导、 嘉宾"),
            Err(vec!["领导".to_string(), "嘉宾".to_string()])
        );
    }

    #[test]
    fn people_file_unknown_role_is_an_error_naming_it_and_its_row() {
        let p = problems(csv("姓名,角色\n张三,编辑\n李四,编辑、领导\n王五,计票人,\n"));
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!((p[0].row, p[0].location.as_str()), (Some(3), "角色"));
        assert!(p[0].message.starts_with("第3行"), "{}", p[0].message);
        assert!(p[0].message.contains("「领导」"), "{}", p[0].message);
        assert!(
            p[0].message.contains("乡镇联络员"),
            "lists the labels: {}",
            p[0].message
        );
        assert_eq!((p[1].code, p[1].row), (ProblemCode::RaggedRow, Some(4)));
    }

    #[test]
    fn people_file_missing_required_columns_are_named() {
        let p = problems(csv("姓名,单位\n张三,市委办公室\n"));
        assert_eq!(p.len(), 1);
        assert_eq!(
            (p[0].code, p[0].location.as_str()),
            (ProblemCode::MissingColumn, "角色")
        );
        assert!(
            p[0].message.contains("「姓名」、「单位」"),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn people_file_unknown_column_is_a_warning_and_aliases_are_accepted() {
        let r = csv("名字,工作单位,角色,评分人,手机\n张三,市委办,评分人,张三,139\n").unwrap();
        assert_eq!(r.rows[0].line.work_unit, "市委办");
        assert_eq!(r.rows[0].line.scorer, "张三");
        assert_eq!(r.warnings.len(), 1);
        assert_eq!(r.warnings[0].severity, Severity::Warning);
        assert_eq!(r.warnings[0].code, ProblemCode::UnknownColumn);
        assert_eq!(r.warnings[0].message, "未识别的列「手机」已忽略");
    }

    #[test]
    fn people_file_bad_status_and_unclosed_quote_are_reported_with_rows() {
        let p = problems(csv("姓名,角色,状态\n张三,编辑,也许\n"));
        assert_eq!((p[0].row, p[0].location.as_str()), (Some(2), "状态"));
        let p = problems(csv("姓名,角色\n张三,编辑\n李四,\"编辑\n王五,编辑\n"));
        assert!(
            p.iter()
                .any(|p| p.code == ProblemCode::UnclosedQuote && p.row == Some(3)),
            "{p:?}"
        );
        assert!(unclosed_quote_line("a,\"b\"\"c\",d\n\"x\ny\"\n").is_none());
    }

    #[test]
    fn people_file_empty_and_header_only_files_are_refused() {
        for bytes in [&b""[..], b"\xEF\xBB\xBF\r\n"] {
            assert_eq!(
                problems(read_people(bytes, FileFormat::Csv))[0].code,
                ProblemCode::Empty
            );
        }
        assert_eq!(
            problems(csv("姓名,角色\n\n"))[0].message,
            "只有表头,没有数据行"
        );
        assert!(matches!(
            read_people(b"{}", FileFormat::Json),
            Err(ExchangeError::Unsupported(_))
        ));
    }

    fn sample() -> Vec<PersonLine> {
        vec![
            PersonLine {
                name: "=张三".into(),
                work_unit: "市委办公室,综合科".into(),
                title: "副主任".into(),
                roles: vec![PersonRole::Organiser, PersonRole::Scorer],
                scorer: "张三".into(),
                active: true,
            },
            PersonLine {
                name: "李四".into(),
                roles: vec![PersonRole::Liaison],
                active: false,
                ..PersonLine::default()
            },
        ]
    }

    #[test]
    fn people_file_csv_export_reads_back_unchanged() {
        let bytes = write_people_csv(&sample()).unwrap();
        assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
        let text = std::str::from_utf8(&bytes[3..]).unwrap();
        assert!(
            text.starts_with("姓名,单位,职务,角色,对应评分人,状态\r\n'=张三,"),
            "{text}"
        );
        assert!(text.contains("组织方、评分人"), "{text}");
        let r = read_people(&bytes, FileFormat::Csv).unwrap();
        let lines: Vec<PersonLine> = r.rows.into_iter().map(|r| r.line).collect();
        assert_eq!(lines, sample());
    }

    #[test]
    fn people_file_xlsx_export_reads_back_unchanged() {
        let bytes = write_people_xlsx(&sample()).unwrap();
        let r = read_people(&bytes, FileFormat::Xlsx).unwrap();
        assert_eq!(r.rows[1].row, 3);
        let lines: Vec<PersonLine> = r.rows.into_iter().map(|r| r.line).collect();
        assert_eq!(lines, sample());
    }

    #[test]
    fn people_file_xlsx_made_by_hand_is_read_with_numbers_as_text() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in (0u16..).zip(["角色", "姓名", "单位"]) {
            ws.write_string(0, c, h).unwrap();
        }
        ws.write_string(2, 0, "编辑，审核员").unwrap();
        ws.write_string(2, 1, "赵六").unwrap();
        ws.write_number(2, 2, 2026.0).unwrap();
        let r = read_people(&wb.save_to_buffer().unwrap(), FileFormat::Xlsx).unwrap();
        assert_eq!(r.rows.len(), 1);
        assert_eq!(
            r.rows[0].row, 3,
            "a blank sheet row keeps the numbering Excel shows"
        );
        assert_eq!(r.rows[0].line.work_unit, "2026");
        assert_eq!(
            r.rows[0].line.roles,
            vec![PersonRole::Editor, PersonRole::Moderator]
        );
    }
}
