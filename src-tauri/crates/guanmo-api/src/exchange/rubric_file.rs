//! The rubric file (评分细则), JSON (the serde form of `Rubric`) or XLSX (sheets 评分细则 and
//! 加减分项). Invariant: an imported rubric carries no ids (its items are new), numbers are
//! parsed with at most one decimal but never judged here — sums, signs and names are the
//! caller's `Rubric::validate` — and export→import gives back the same rubric.

use super::cells::Cell;
use super::text::decode_text;
use super::{xlsx, ExchangeError, FileFormat};
use guanmo_domain::points::Points;
use guanmo_domain::problem::{Problem, ProblemCode};
use guanmo_domain::rubric::{Adjustment, AdjustmentKind, Category, Criterion, Rubric};

const SHEET_CRITERIA: &str = "评分细则";
const SHEET_ADJUSTMENTS: &str = "加减分项";
/// 0-based row of the criteria header (row 4 in Excel).
const CRITERIA_HEADER_ROW: usize = 3;

const COL_CATEGORY: &[&str] = &["类别"];
const COL_CATEGORY_MAX: &[&str] = &["类别分值"];
const COL_CRITERION: &[&str] = &["细则", "评分细则"];
const COL_CRITERION_MAX: &[&str] = &["分值", "细则分值"];
const COL_GUIDANCE: &[&str] = &["评分要点", "说明"];
const COL_ADJ_NAME: &[&str] = &["名称", "加减分项"];
const COL_ADJ_KIND: &[&str] = &["类型"];
const COL_ADJ_LIMIT: &[&str] = &["上限", "分值上限"];
const COL_ADJ_GUIDANCE: &[&str] = &["说明", "评分要点"];

/// Reads a rubric from JSON or XLSX bytes; ids in the file are dropped.
pub fn read_rubric(bytes: &[u8], format: FileFormat) -> Result<Rubric, ExchangeError> {
    if bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(bytes)
        .iter()
        .all(u8::is_ascii_whitespace)
    {
        return Err(ExchangeError::Invalid(vec![Problem::error(
            ProblemCode::Empty,
            "文件",
            "文件为空",
        )]));
    }
    let rubric = match format {
        FileFormat::Json => read_json(bytes)?,
        FileFormat::Xlsx => read_xlsx(bytes)?,
        FileFormat::Csv => {
            return Err(ExchangeError::Unsupported(
                "评分细则只能从 .json 或 .xlsx 导入".into(),
            ))
        }
    };
    Ok(without_ids(rubric))
}

fn without_ids(mut rubric: Rubric) -> Rubric {
    for c in &mut rubric.categories {
        c.id = None;
        for k in &mut c.criteria {
            k.id = None;
        }
    }
    for a in &mut rubric.adjustments {
        a.id = None;
    }
    rubric
}

fn read_json(bytes: &[u8]) -> Result<Rubric, ExchangeError> {
    if xlsx::is_zip(bytes) || xlsx::is_ole(bytes) {
        return Err(ExchangeError::Unsupported(
            "文件内容是 Excel 表格,与扩展名 .json 不符".into(),
        ));
    }
    let text = decode_text(bytes)?;
    serde_json::from_str::<file::RubricFile>(&text)
        .map(Rubric::from)
        .map_err(|e| {
            let line = u32::try_from(e.line()).unwrap_or(u32::MAX);
            ExchangeError::Invalid(vec![Problem::error(
                ProblemCode::Invalid,
                "JSON",
                format!(
                    "第{}行第{}列:{}",
                    e.line(),
                    e.column(),
                    describe_json_error(&e)
                ),
            )
            .at_row(line)])
        })
}

/// A Chinese summary of a serde error, with serde's own detail (field names) kept.
fn describe_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Syntax => "JSON 语法错误",
        Category::Data => "内容不符合评分表格式",
        Category::Eof => "文件不完整,意外结束",
        Category::Io => "读取错误",
    };
    let full = e.to_string();
    let detail = full
        .rsplit_once(" at line ")
        .map_or(full.as_str(), |(d, _)| d);
    format!("{what}({detail})")
}

/// The rubric as pretty UTF-8 JSON, without ids.
pub fn write_rubric_json(rubric: &Rubric) -> Vec<u8> {
    match json_bytes(rubric) {
        Ok(bytes) => bytes,
        // Serialising plain structs into memory cannot fail; never silent if it does.
        Err(e) => {
            tracing::error!(error = %e, "serialising the rubric to JSON failed");
            Vec::new()
        }
    }
}

fn json_bytes(rubric: &Rubric) -> Result<Vec<u8>, serde_json::Error> {
    let mut value = serde_json::to_value(rubric)?;
    let drop_ids = |items: Option<&mut serde_json::Value>| {
        for item in items
            .and_then(serde_json::Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(obj) = item.as_object_mut() {
                obj.remove("id");
            }
        }
    };
    if let Some(cats) = value
        .get_mut("categories")
        .and_then(serde_json::Value::as_array_mut)
    {
        for c in cats.iter_mut() {
            drop_ids(c.get_mut("criteria"));
        }
    }
    drop_ids(value.get_mut("categories"));
    drop_ids(value.get_mut("adjustments"));
    // A file is a template for any event: the saved version, its reason and the freeze belong
    // to this database, and the file form refuses them.
    if let Some(obj) = value.as_object_mut() {
        for key in ["version", "change_reason", "frozen", "eval_group"] {
            obj.remove(key);
        }
    }
    serde_json::to_vec_pretty(&value)
}

/// The rubric as an XLSX workbook: sheet 评分细则 (title, total, one criterion per row) and
/// sheet 加减分项. Text is always written as strings, never formulas.
pub fn write_rubric_xlsx(rubric: &Rubric) -> Result<Vec<u8>, ExchangeError> {
    let e = xlsx::write_error;
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(SHEET_CRITERIA).map_err(e)?;
    ws.write_string(0, 0, "标题").map_err(e)?;
    ws.write_string(0, 1, &rubric.title).map_err(e)?;
    ws.write_string(1, 0, "总分").map_err(e)?;
    ws.write_number(1, 1, rubric.total_points).map_err(e)?;
    let header = [
        COL_CATEGORY,
        COL_CATEGORY_MAX,
        COL_CRITERION,
        COL_CRITERION_MAX,
        COL_GUIDANCE,
    ];
    let header_row = CRITERIA_HEADER_ROW as u32;
    for (c, names) in (0u16..).zip(header) {
        ws.write_string(header_row, c, names.first().copied().unwrap_or_default())
            .map_err(e)?;
    }
    let mut r = header_row + 1;
    for cat in &rubric.categories {
        let rows: Vec<Option<&Criterion>> = if cat.criteria.is_empty() {
            vec![None]
        } else {
            cat.criteria.iter().map(Some).collect()
        };
        for crit in rows {
            ws.write_string(r, 0, &cat.name).map_err(e)?;
            ws.write_number(r, 1, cat.max_points).map_err(e)?;
            if let Some(k) = crit {
                ws.write_string(r, 2, &k.name).map_err(e)?;
                ws.write_number(r, 3, k.max_points).map_err(e)?;
                if !k.guidance.is_empty() {
                    ws.write_string(r, 4, &k.guidance).map_err(e)?;
                }
            }
            r += 1;
        }
    }
    for (c, width) in [(0u16, 16.0), (2, 24.0), (4, 60.0)] {
        ws.set_column_width(c, width).map_err(e)?;
    }

    let ws = wb.add_worksheet();
    ws.set_name(SHEET_ADJUSTMENTS).map_err(e)?;
    for (c, names) in (0u16..).zip([COL_ADJ_NAME, COL_ADJ_KIND, COL_ADJ_LIMIT, COL_ADJ_GUIDANCE]) {
        ws.write_string(0, c, names.first().copied().unwrap_or_default())
            .map_err(e)?;
    }
    for (r, a) in (1u32..).zip(&rubric.adjustments) {
        ws.write_string(r, 0, &a.name).map_err(e)?;
        ws.write_string(r, 1, a.kind.label()).map_err(e)?;
        ws.write_number(r, 2, a.limit_points).map_err(e)?;
        if !a.guidance.is_empty() {
            ws.write_string(r, 3, &a.guidance).map_err(e)?;
        }
    }
    for (c, width) in [(0u16, 24.0), (3, 60.0)] {
        ws.set_column_width(c, width).map_err(e)?;
    }
    wb.save_to_buffer().map_err(e)
}

/// One sheet being read, collecting problems that name the sheet and the row.
struct Sheet<'a> {
    name: &'static str,
    grid: &'a [Vec<Cell>],
    problems: &'a mut Vec<Problem>,
}

impl Sheet<'_> {
    fn cell(&self, row: usize, col: Option<usize>) -> &Cell {
        col.and_then(|c| self.grid.get(row).and_then(|r| r.get(c)))
            .unwrap_or(&Cell::Empty)
    }

    fn text(&self, row: usize, col: Option<usize>) -> String {
        self.cell(row, col).text().trim().to_string()
    }

    fn problem(&mut self, code: ProblemCode, row: usize, column: &str, message: String) {
        let n = u32::try_from(row + 1).unwrap_or(u32::MAX);
        self.problems.push(
            Problem::error(
                code,
                format!("{} › {column}", self.name),
                format!("工作表「{}」第{n}行:{message}", self.name),
            )
            .at_row(n),
        );
    }

    /// A number of points, or a problem (then 0, never used since the result is refused).
    fn points(&mut self, row: usize, col: Option<usize>, column: &str) -> f64 {
        let parsed = match self.cell(row, col) {
            Cell::Empty => {
                self.problem(
                    ProblemCode::Required,
                    row,
                    column,
                    format!("{column}不能为空"),
                );
                return 0.0;
            }
            Cell::Number(v) | Cell::Time(v) => Points::from_f64(*v),
            Cell::Text(s) if s.trim().is_empty() => {
                self.problem(
                    ProblemCode::Required,
                    row,
                    column,
                    format!("{column}不能为空"),
                );
                return 0.0;
            }
            Cell::Text(s) => Points::parse(s),
        };
        match parsed {
            Ok(p) => p.as_f64(),
            Err(err) => {
                let raw = self.cell(row, col).text();
                self.problem(
                    ProblemCode::Invalid,
                    row,
                    column,
                    format!("{column}「{}」{err}", raw.trim()),
                );
                0.0
            }
        }
    }

    /// Finds the columns of a header row; a missing required column is a problem.
    fn columns(
        &mut self,
        header_row: usize,
        wanted: &[(&[&str], bool)],
    ) -> Option<Vec<Option<usize>>> {
        let header: Vec<String> = self
            .grid
            .get(header_row)
            .map(|r| r.iter().map(|c| c.text().trim().to_string()).collect())
            .unwrap_or_default();
        let mut out = Vec::with_capacity(wanted.len());
        let mut missing = false;
        for (aliases, required) in wanted {
            let found = header.iter().position(|h| aliases.contains(&h.as_str()));
            if found.is_none() && *required {
                missing = true;
                let seen: Vec<String> = header
                    .iter()
                    .filter(|h| !h.is_empty())
                    .map(|h| format!("「{h}」"))
                    .collect();
                let seen = if seen.is_empty() {
                    "(无)".to_string()
                } else {
                    seen.join("、")
                };
                let column = aliases.first().copied().unwrap_or_default();
                self.problem(
                    ProblemCode::MissingColumn,
                    header_row,
                    column,
                    format!("缺少列「{column}」;表头中找到的列:{seen}"),
                );
            }
            out.push(found);
        }
        (!missing).then_some(out)
    }

    fn is_blank_row(&self, row: usize) -> bool {
        self.grid
            .get(row)
            .is_none_or(|r| r.iter().all(Cell::is_blank))
    }
}

fn read_xlsx(bytes: &[u8]) -> Result<Rubric, ExchangeError> {
    let mut wb = xlsx::open(bytes)?;
    let Some(grid) = xlsx::named_sheet(&mut wb, SHEET_CRITERIA)? else {
        use calamine::Reader;
        let names: Vec<String> = wb
            .sheet_names()
            .iter()
            .map(|n| format!("「{n}」"))
            .collect();
        return Err(ExchangeError::Invalid(vec![Problem::error(
            ProblemCode::MissingColumn,
            SHEET_CRITERIA,
            format!(
                "缺少工作表「{SHEET_CRITERIA}」;找到的工作表:{}",
                names.join("、")
            ),
        )]));
    };
    let adjustments_grid = xlsx::named_sheet(&mut wb, SHEET_ADJUSTMENTS)?;
    let mut problems = Vec::new();

    let mut sheet = Sheet {
        name: SHEET_CRITERIA,
        grid: &grid,
        problems: &mut problems,
    };
    let title = sheet.text(0, Some(1));
    let total_points = sheet.points(1, Some(1), "总分");
    let mut categories: Vec<Category> = Vec::new();
    if let Some(cols) = sheet.columns(
        CRITERIA_HEADER_ROW,
        &[
            (COL_CATEGORY, true),
            (COL_CATEGORY_MAX, true),
            (COL_CRITERION, true),
            (COL_CRITERION_MAX, true),
            (COL_GUIDANCE, false),
        ],
    ) {
        let [cat_col, cat_max_col, crit_col, crit_max_col, guidance_col] =
            [cols[0], cols[1], cols[2], cols[3], cols[4]];
        for row in CRITERIA_HEADER_ROW + 1..grid.len() {
            if sheet.is_blank_row(row) {
                continue;
            }
            let cat_name = sheet.text(row, cat_col);
            let same_as_above = categories
                .last()
                .is_some_and(|c| cat_name.is_empty() || c.name == cat_name);
            if !same_as_above {
                if cat_name.is_empty() {
                    sheet.problem(ProblemCode::Required, row, "类别", "类别不能为空".into());
                    continue;
                }
                let max_points = sheet.points(row, cat_max_col, "类别分值");
                categories.push(Category {
                    id: None,
                    name: cat_name,
                    max_points,
                    criteria: Vec::new(),
                });
            } else if !sheet.cell(row, cat_max_col).is_blank() {
                let max = sheet.points(row, cat_max_col, "类别分值");
                if let Some(cat) = categories.last() {
                    if max != cat.max_points {
                        let message = format!(
                            "类别「{}」的类别分值{}与上方的{}不一致",
                            cat.name, max, cat.max_points
                        );
                        sheet.problem(ProblemCode::Invalid, row, "类别分值", message);
                    }
                }
            }
            let name = sheet.text(row, crit_col);
            let guidance = sheet.text(row, guidance_col);
            if name.is_empty() && guidance.is_empty() && sheet.cell(row, crit_max_col).is_blank() {
                // A category row without criteria.
                continue;
            }
            if name.is_empty() {
                sheet.problem(ProblemCode::Required, row, "细则", "细则不能为空".into());
            }
            let max_points = sheet.points(row, crit_max_col, "分值");
            if let Some(cat) = categories.last_mut() {
                cat.criteria.push(Criterion {
                    id: None,
                    name,
                    max_points,
                    guidance,
                });
            }
        }
    }

    let mut adjustments = Vec::new();
    if let Some(grid) = &adjustments_grid {
        let mut sheet = Sheet {
            name: SHEET_ADJUSTMENTS,
            grid,
            problems: &mut problems,
        };
        if let Some(cols) = sheet.columns(
            0,
            &[
                (COL_ADJ_NAME, true),
                (COL_ADJ_KIND, true),
                (COL_ADJ_LIMIT, true),
                (COL_ADJ_GUIDANCE, false),
            ],
        ) {
            let [name_col, kind_col, limit_col, guidance_col] =
                [cols[0], cols[1], cols[2], cols[3]];
            for row in 1..grid.len() {
                if sheet.is_blank_row(row) {
                    continue;
                }
                let name = sheet.text(row, name_col);
                if name.is_empty() {
                    sheet.problem(ProblemCode::Required, row, "名称", "名称不能为空".into());
                }
                let kind_text = sheet.text(row, kind_col);
                let kind = AdjustmentKind::parse(&kind_text);
                if kind.is_none() {
                    sheet.problem(
                        ProblemCode::Invalid,
                        row,
                        "类型",
                        format!("类型「{kind_text}」应为加分或减分"),
                    );
                }
                let limit_points = sheet.points(row, limit_col, "上限");
                adjustments.push(Adjustment {
                    id: None,
                    name,
                    kind: kind.unwrap_or(AdjustmentKind::Bonus),
                    limit_points,
                    guidance: sheet.text(row, guidance_col),
                });
            }
        }
    }

    if problems.is_empty() {
        Ok(Rubric {
            title,
            total_points,
            categories,
            adjustments,
            version: 0,
            change_reason: String::new(),
            frozen: false,
            eval_group: String::new(),
        })
    } else {
        Err(ExchangeError::Invalid(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Rubric {
        let crit = |name: &str, max: f64, guidance: &str| Criterion {
            id: None,
            name: name.into(),
            max_points: max,
            guidance: guidance.into(),
        };
        Rubric {
            title: "2025年乡镇(街道)观摩评分表".into(),
            total_points: 100.0,
            categories: vec![
                Category {
                    id: None,
                    name: "基层党建".into(),
                    max_points: 30.0,
                    criteria: vec![
                        crit("组织建设", 20.5, "查看台账,\"三会一课\"记录"),
                        crit("阵地建设", 9.5, ""),
                    ],
                },
                Category {
                    id: None,
                    name: "产业发展".into(),
                    max_points: 70.0,
                    criteria: vec![crit("=SUM(A1)", 70.0, "+看现场\n再看资料")],
                },
            ],
            adjustments: vec![
                Adjustment {
                    id: None,
                    name: "创新加分".into(),
                    kind: AdjustmentKind::Bonus,
                    limit_points: 5.0,
                    guidance: "省级以上表彰".into(),
                },
                Adjustment {
                    id: None,
                    name: "安全事故".into(),
                    kind: AdjustmentKind::Penalty,
                    limit_points: 10.5,
                    guidance: String::new(),
                },
            ],
            version: 0,
            change_reason: String::new(),
            frozen: false,
            eval_group: String::new(),
        }
    }

    fn with_ids(mut r: Rubric) -> Rubric {
        for (i, c) in r.categories.iter_mut().enumerate() {
            c.id = Some(format!("c{i}"));
            for (j, k) in c.criteria.iter_mut().enumerate() {
                k.id = Some(format!("k{i}-{j}"));
            }
        }
        for a in &mut r.adjustments {
            a.id = Some("a".into());
        }
        r
    }

    fn problems(r: Result<Rubric, ExchangeError>) -> Vec<Problem> {
        match r {
            Err(ExchangeError::Invalid(p)) => p,
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn a_rubric_survives_a_json_round_trip() {
        let bytes = write_rubric_json(&sample());
        assert_eq!(read_rubric(&bytes, FileFormat::Json).unwrap(), sample());
    }

    #[test]
    fn a_revised_frozen_rubric_exports_a_file_that_imports_without_its_version() {
        let mut saved = with_ids(sample());
        saved.version = 3;
        saved.change_reason = "调整加分上限".into();
        saved.frozen = true;
        let bytes = write_rubric_json(&saved);
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(!text.contains("change_reason"), "{text}");
        assert_eq!(read_rubric(&bytes, FileFormat::Json).unwrap(), sample());
    }

    #[test]
    fn a_rubric_survives_an_xlsx_round_trip() {
        let bytes = write_rubric_xlsx(&with_ids(sample())).unwrap();
        assert_eq!(read_rubric(&bytes, FileFormat::Xlsx).unwrap(), sample());
    }

    #[test]
    fn a_category_without_criteria_survives_an_xlsx_round_trip() {
        let mut r = sample();
        r.categories.push(Category {
            id: None,
            name: "待定".into(),
            max_points: 5.0,
            criteria: vec![],
        });
        let bytes = write_rubric_xlsx(&r).unwrap();
        assert_eq!(read_rubric(&bytes, FileFormat::Xlsx).unwrap(), r);
    }

    #[test]
    fn written_json_is_pretty_utf8_without_ids() {
        let bytes = write_rubric_json(&with_ids(sample()));
        let text = std::str::from_utf8(&bytes).unwrap();
        assert!(
            text.contains("\n  \"title\": \"2025年乡镇(街道)观摩评分表\""),
            "{text}"
        );
        assert!(!text.contains("\"id\""), "{text}");
        assert!(text.contains("\"kind\": \"penalty\""), "{text}");
    }

    #[test]
    fn ids_in_an_imported_json_are_dropped() {
        let mut saved = with_ids(sample());
        saved.version = 2;
        saved.change_reason = "调整分值".into();
        saved.frozen = true;
        let bytes = serde_json::to_vec(&saved).unwrap();
        let r = read_rubric(&bytes, FileFormat::Json).unwrap();
        assert_eq!(r, sample());
    }

    #[test]
    fn a_json_syntax_error_gives_line_and_column_in_chinese() {
        let p = problems(read_rubric(
            b"{\n  \"title\": \"x\",\n    \"total_points\": ,\n}",
            FileFormat::Json,
        ));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].code, ProblemCode::Invalid);
        assert!(
            p[0].message.starts_with("第3行第21列:JSON 语法错误"),
            "{}",
            p[0].message
        );
        assert_eq!(p[0].row, Some(3));
    }

    #[test]
    fn an_unknown_json_field_is_refused_and_named() {
        let p = problems(read_rubric(
            br#"{"title":"x","total_points":100,"categories":[],"colour":"red"}"#,
            FileFormat::Json,
        ));
        assert!(p[0].message.contains("colour"), "{}", p[0].message);
        assert!(
            p[0].message.contains("内容不符合评分表格式"),
            "{}",
            p[0].message
        );
    }

    #[test]
    fn an_empty_rubric_file_and_a_csv_rubric_are_refused() {
        let p = problems(read_rubric(b" \n", FileFormat::Json));
        assert_eq!(p[0].code, ProblemCode::Empty);
        assert!(matches!(
            read_rubric(b"a,b", FileFormat::Csv),
            Err(ExchangeError::Unsupported(_))
        ));
    }

    /// A rubric workbook built cell by cell.
    fn workbook(rows: &[&[&str]], adjustments: Option<&[&[&str]]>) -> Vec<u8> {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.set_name(SHEET_CRITERIA).unwrap();
        for (r, row) in (0u32..).zip(rows) {
            for (c, v) in (0u16..).zip(row.iter()) {
                if !v.is_empty() {
                    ws.write_string(r, c, *v).unwrap();
                }
            }
        }
        if let Some(rows) = adjustments {
            let ws = wb.add_worksheet();
            ws.set_name(SHEET_ADJUSTMENTS).unwrap();
            for (r, row) in (0u32..).zip(rows) {
                for (c, v) in (0u16..).zip(row.iter()) {
                    ws.write_string(r, c, *v).unwrap();
                }
            }
        }
        wb.save_to_buffer().unwrap()
    }

    const HEAD: [&str; 5] = ["类别", "类别分值", "细则", "分值", "评分要点"];

    #[test]
    fn a_blank_category_cell_means_the_same_category_as_above() {
        let bytes = workbook(
            &[
                &["标题", "评分表"],
                &["总分", "100"],
                &[],
                &HEAD,
                &["党建", "40", "甲", "25", ""],
                &["", "", "乙", "15", "要点"],
                &[],
                &["发展", "60", "丙", "60", ""],
            ],
            None,
        );
        let r = read_rubric(&bytes, FileFormat::Xlsx).unwrap();
        assert_eq!(r.categories.len(), 2);
        assert_eq!(r.categories[0].criteria.len(), 2);
        assert_eq!(r.categories[0].criteria[1].guidance, "要点");
        assert!(r.adjustments.is_empty());
        assert!(r.validate().is_empty(), "{:?}", r.validate());
    }

    #[test]
    fn bad_points_name_the_sheet_and_row_and_negatives_are_left_to_the_caller() {
        let bytes = workbook(
            &[
                &["标题", "评分表"],
                &["总分", "100"],
                &[],
                &HEAD,
                &["党建", "40", "甲", "25.25", ""],
                &["党建", "40", "乙", "-15", ""],
                &["党建", "30", "丙", "1", ""],
            ],
            Some(&[
                &["名称", "类型", "上限", "说明"],
                &["创新", "奖励", "abc", ""],
            ]),
        );
        let p = problems(read_rubric(&bytes, FileFormat::Xlsx));
        assert_eq!(p.len(), 4, "{p:?}");
        assert_eq!(p[0].row, Some(5));
        assert_eq!(p[0].location, "评分细则 › 分值");
        assert!(
            p[0].message.starts_with("工作表「评分细则」第5行"),
            "{}",
            p[0].message
        );
        assert!(p[0].message.contains("一位小数"), "{}", p[0].message);
        assert_eq!(p[1].row, Some(7));
        assert!(p[1].message.contains("不一致"), "{}", p[1].message);
        assert!(p[2].message.contains("「奖励」"), "{}", p[2].message);
        assert_eq!(p[3].location, "加减分项 › 上限");

        let bytes = workbook(
            &[
                &["标题", "评分表"],
                &["总分", "100"],
                &[],
                &HEAD,
                &["党建", "40", "乙", "-15", ""],
            ],
            None,
        );
        let r = read_rubric(&bytes, FileFormat::Xlsx).unwrap();
        assert_eq!(r.categories[0].criteria[0].max_points, -15.0);
    }

    #[test]
    fn a_workbook_without_the_criteria_sheet_or_header_is_refused() {
        let mut wb = rust_xlsxwriter::Workbook::new();
        wb.add_worksheet().set_name("Sheet1").unwrap();
        let p = problems(read_rubric(&wb.save_to_buffer().unwrap(), FileFormat::Xlsx));
        assert!(p[0].message.contains("「Sheet1」"), "{}", p[0].message);

        let bytes = workbook(
            &[
                &["标题", "评分表"],
                &["总分", "100"],
                &[],
                &["类别", "细则"],
            ],
            None,
        );
        let p = problems(read_rubric(&bytes, FileFormat::Xlsx));
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0].code, ProblemCode::MissingColumn);
        assert!(
            p[0].message.contains("「类别」、「细则」"),
            "{}",
            p[0].message
        );
    }
}

/// The JSON file form of a rubric: like the IPC type, but ids, guidance and adjustments may
/// be left out of a hand-written file. Unknown fields are still refused.
mod file {
    use guanmo_domain::rubric::{Adjustment, AdjustmentKind, Category, Criterion, Rubric};
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub(super) struct RubricFile {
        title: String,
        total_points: f64,
        categories: Vec<CategoryFile>,
        #[serde(default)]
        adjustments: Vec<AdjustmentFile>,
        // A saved rubric's version, reason and freeze belong to the database it came from:
        // accepted, like ids, so the IPC form imports, and dropped.
        #[serde(default, rename = "version")]
        _version: Option<i32>,
        #[serde(default, rename = "change_reason")]
        _change_reason: Option<String>,
        #[serde(default, rename = "frozen")]
        _frozen: Option<bool>,
        #[serde(default, rename = "eval_group")]
        _eval_group: Option<String>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct CategoryFile {
        #[serde(default, rename = "id")]
        _id: Option<String>,
        name: String,
        max_points: f64,
        criteria: Vec<CriterionFile>,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct CriterionFile {
        #[serde(default, rename = "id")]
        _id: Option<String>,
        name: String,
        max_points: f64,
        #[serde(default)]
        guidance: String,
    }

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct AdjustmentFile {
        #[serde(default, rename = "id")]
        _id: Option<String>,
        name: String,
        kind: AdjustmentKind,
        limit_points: f64,
        #[serde(default)]
        guidance: String,
    }

    /// Ids in a file are dropped: imported items are new.
    impl From<RubricFile> for Rubric {
        fn from(f: RubricFile) -> Rubric {
            Rubric {
                title: f.title,
                total_points: f.total_points,
                categories: f
                    .categories
                    .into_iter()
                    .map(|c| Category {
                        id: None,
                        name: c.name,
                        max_points: c.max_points,
                        criteria: c
                            .criteria
                            .into_iter()
                            .map(|k| Criterion {
                                id: None,
                                name: k.name,
                                max_points: k.max_points,
                                guidance: k.guidance,
                            })
                            .collect(),
                    })
                    .collect(),
                adjustments: f
                    .adjustments
                    .into_iter()
                    .map(|a| Adjustment {
                        id: None,
                        name: a.name,
                        kind: a.kind,
                        limit_points: a.limit_points,
                        guidance: a.guidance,
                    })
                    .collect(),
                version: 0,
                change_reason: String::new(),
                frozen: false,
                eval_group: String::new(),
            }
        }
    }
}
