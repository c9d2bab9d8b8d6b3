//! The results workbook: the 汇总表 the vote supervisors sign, the 排名通报, one 评分表 per
//! scorer who submitted, and the 审计记录 of submissions and unlocks. Invariant: every text
//! cell is written with `write_string` and every figure as a number with a one- or
//! two-decimal format, so the workbook holds no formula; every sheet prints on A4, one page
//! wide, with its header row repeated on each page. The 汇总表, 排名通报 and every 评分表 name
//! the rubric version they were scored on (评分标准:… 第N版), with its reason if it was revised.

use super::{add_points, beijing_time, mark_points, signed, status_text, Results};
use guanmo_domain::aggregation::{Standing, StandingStatus, TrimSide};
use guanmo_domain::points::Points;
use guanmo_domain::rubric::Rubric;
use guanmo_domain::scoring::{AuditEntry, AuditKind, Scorer, Sheet};
use rust_xlsxwriter::{
    ColNum, Color, Format, FormatAlign, FormatBorder, RowNum, Workbook, Worksheet, XlsxError,
};
use std::collections::{HashMap, HashSet};

/// Excel's paper size code for A4.
const PAPER_A4: u8 = 9;
/// Excel refuses sheet names longer than this.
const MAX_SHEET_NAME_CHARS: usize = 31;

const TALLY: &str = "汇总表";
const NOTICE: &str = "排名通报";
const AUDIT: &str = "审计记录";
const SHEET_PREFIX: &str = "评分表-";
const TRIM_LEGEND: &str = "删除线表示按规则去掉的最高分/最低分";
const UNCOUNTED_LEGEND: &str = "斜体灰字表示该评分组未列入计分权重,不计入得分";
const BLANK_LEGEND: &str = "空白表示未提交评分表,或评委按回避规定不为本乡镇评分";
const SCORER_SIGNATURE: &str = "评委签名:____________    日期:__________";
const TALLY_SIGNATURE: &str = "监票人:____________    计票人:____________    日期:__________";

/// Which rubric version the marks were given on, as the documents print it:
/// `评分标准:<title> 第N版`, and `(修订原因:…)` when that version was made with a reason.
pub(super) fn rubric_line(rubric: &Rubric) -> String {
    let head = format!("评分标准:{} 第{}版", rubric.title, rubric.version);
    if rubric.change_reason.is_empty() {
        head
    } else {
        format!("{head}(修订原因:{})", rubric.change_reason)
    }
}

/// The workbook bytes.
pub(super) fn build(res: &Results) -> Result<Vec<u8>, XlsxError> {
    let f = Formats::new();
    let mut wb = Workbook::new();
    tally(wb.add_worksheet(), res, &f)?;
    notice(wb.add_worksheet(), res, &f)?;
    let mut taken: Vec<String> = [TALLY, NOTICE, AUDIT].map(String::from).to_vec();
    for scorer in &res.scorers {
        // One worksheet per rubric the scorer's townships are scored on: the rows are its
        // criteria (a scorer of both groups gets 评分表-张三 and 评分表-张三-街道组).
        for (i, rubric) in res.rubrics.iter().enumerate() {
            let sheets: Vec<&Sheet> = res
                .submitted
                .iter()
                .filter(|s| s.scorer_id == scorer.id && res.rubric_index_of(&s.township_id) == i)
                .collect();
            if sheets.is_empty() {
                continue;
            }
            let wanted = if rubric.eval_group.is_empty() {
                format!("{SHEET_PREFIX}{}", scorer.name)
            } else {
                format!("{SHEET_PREFIX}{}-{}", scorer.name, rubric.eval_group)
            };
            let name = sheet_name(&wanted, &mut taken);
            scorer_sheet(wb.add_worksheet(), &name, res, rubric, scorer, &sheets, &f)?;
        }
    }
    audit(wb.add_worksheet(), res, &f)?;
    wb.save_to_buffer()
}

/// The cell styles, made once.
struct Formats {
    title: Format,
    subtitle: Format,
    note: Format,
    header: Format,
    text: Format,
    label: Format,
    points: Format,
    result: Format,
    signed: Format,
    rank: Format,
    trimmed: Format,
    uncounted: Format,
}

impl Formats {
    fn new() -> Formats {
        let cell = Format::new()
            .set_border(FormatBorder::Thin)
            .set_align(FormatAlign::VerticalCenter);
        let points = cell.clone().set_num_format("0.0");
        Formats {
            title: Format::new()
                .set_bold()
                .set_font_size(16)
                .set_align(FormatAlign::Center),
            subtitle: Format::new().set_text_wrap(),
            note: Format::new().set_font_color(Color::RGB(0x595959)),
            header: cell
                .clone()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_background_color(Color::RGB(0xDDEBF7)),
            text: cell.clone().set_text_wrap(),
            label: cell.clone().set_bold().set_text_wrap(),
            result: cell.clone().set_num_format("0.00"),
            signed: cell.clone().set_num_format("+0.0;-0.0;0.0"),
            rank: cell
                .clone()
                .set_num_format("0")
                .set_align(FormatAlign::Center),
            trimmed: points
                .clone()
                .set_font_strikethrough()
                .set_font_color(Color::RGB(0x7F7F7F))
                .set_background_color(Color::RGB(0xD9D9D9)),
            uncounted: points
                .clone()
                .set_italic()
                .set_font_color(Color::RGB(0x7F7F7F)),
            points,
        }
    }
}

/// A4, one page wide (as many pages tall as needed), header rows repeated.
fn print_setup(
    ws: &mut Worksheet,
    header_first: RowNum,
    header_last: RowNum,
    landscape: bool,
) -> Result<(), XlsxError> {
    ws.set_paper_size(PAPER_A4);
    ws.set_print_fit_to_pages(1, 0);
    ws.set_print_center_horizontally(true);
    if landscape {
        ws.set_landscape();
    }
    ws.set_repeat_rows(header_first, header_last)?;
    Ok(())
}

/// A line of text across columns `0..=last_col` (a single cell when there is one column).
fn line(
    ws: &mut Worksheet,
    row: RowNum,
    last_col: ColNum,
    text: &str,
    format: &Format,
) -> Result<(), XlsxError> {
    if last_col == 0 {
        ws.write_string_with_format(row, 0, text, format)?;
    } else {
        ws.merge_range(row, 0, row, last_col, text, format)?;
    }
    Ok(())
}

/// Text over a block of cells, merged when it spans more than one.
fn block(
    ws: &mut Worksheet,
    (first_row, first_col): (RowNum, ColNum),
    (last_row, last_col): (RowNum, ColNum),
    text: &str,
    format: &Format,
) -> Result<(), XlsxError> {
    if first_row == last_row && first_col == last_col {
        ws.write_string_with_format(first_row, first_col, text, format)?;
    } else {
        ws.merge_range(first_row, first_col, last_row, last_col, text, format)?;
    }
    Ok(())
}

/// A number, or a bordered blank cell when there is none.
fn number(
    ws: &mut Worksheet,
    row: RowNum,
    col: ColNum,
    value: Option<f64>,
    format: &Format,
) -> Result<(), XlsxError> {
    match value {
        Some(v) => ws.write_number_with_format(row, col, v, format)?,
        None => ws.write_blank(row, col, format)?,
    };
    Ok(())
}

/// A column index from a count; the workbook never comes near Excel's 16,384 columns
/// for a tour of tens of townships and scorers, and saturating keeps it an error, not a panic.
fn col(i: usize) -> ColNum {
    ColNum::try_from(i).unwrap_or(ColNum::MAX)
}

/// 汇总表: each scorer's total per township, trimmed marks struck through, then the
/// aggregate, the result and the rank, above the vote supervisors' signatures.
fn tally(ws: &mut Worksheet, res: &Results, f: &Formats) -> Result<(), XlsxError> {
    ws.set_name(TALLY)?;
    let sheets: HashMap<(&str, &str), &Sheet> = res
        .submitted
        .iter()
        .map(|s| ((s.scorer_id.as_str(), s.township_id.as_str()), s))
        .collect();
    let submitters: HashSet<&str> = res.submitted.iter().map(|s| s.scorer_id.as_str()).collect();
    let scorers: Vec<&Scorer> = res
        .scorers
        .iter()
        .filter(|s| s.active || submitters.contains(s.id.as_str()))
        .collect();
    let standings: HashMap<&str, &Standing> = res
        .standings
        .rows
        .iter()
        .map(|r| (r.township_id.as_str(), r))
        .collect();
    // How each submitted sheet was used, by sheet id.
    let uses: HashMap<&str, (Option<TrimSide>, bool)> = res
        .standings
        .rows
        .iter()
        .flat_map(|r| &r.marks)
        .map(|m| (m.sheet_id.as_str(), (m.trimmed, m.counted)))
        .collect();

    // Each scorer's cell is their criteria total — the figure the rule trims — so the struck
    // cells are exactly the highest and lowest printed; where per-scorer 加减分 exist they get a
    // column of their own beside it, never folded into the trimmed figure.
    let per_scorer_adjustments = res.submitted.iter().any(|s| s.adjustment_total != 0.0);
    let per: usize = if per_scorer_adjustments { 2 } else { 1 };
    let first_scorer: ColNum = 2;
    let after = first_scorer + col(scorers.len() * per);
    let blended = res.grouped.blended;
    let mut tail = vec!["去分后平均分", "加减分平均", "组织方加减分"];
    if blended {
        tail.extend(["观摩得分", "平时考核"]);
    }
    tail.extend(["最终得分", "评比组", "名次", "备注", "计算过程"]);
    let figures = tail.len() - 4; // the numeric columns before 评比组
    let last_col = after + col(tail.len()) - 1;

    line(
        ws,
        0,
        last_col,
        &format!("{}评分汇总表", res.event_title()),
        &f.title,
    )?;
    line(
        ws,
        1,
        last_col,
        &format!("评分规则:{}", res.standings.rule_summary),
        &f.subtitle,
    )?;
    ws.set_row_height(1, 32)?;
    line(ws, 2, last_col, &res.rubric_lines(), &f.note)?;

    let (h1, h2) = (3, 4);
    block(ws, (h1, 0), (h2, 0), "站次", &f.header)?;
    block(ws, (h1, 1), (h2, 1), "乡镇(街道)", &f.header)?;
    for (i, s) in scorers.iter().enumerate() {
        let c = first_scorer + col(i * per);
        if per_scorer_adjustments {
            ws.merge_range(h1, c, h1, c + 1, &s.name, &f.header)?;
            ws.write_string_with_format(h2, c, format!("{} · 细则", s.group), &f.header)?;
            ws.write_string_with_format(h2, c + 1, "加减分", &f.header)?;
        } else {
            ws.write_string_with_format(h1, c, &s.name, &f.header)?;
            ws.write_string_with_format(h2, c, &s.group, &f.header)?;
        }
    }
    for (c, label) in (after..).zip(tail) {
        block(ws, (h1, c), (h2, c), label, &f.header)?;
    }

    let mut row = h2 + 1;
    let mut any_uncounted = false;
    for t in &res.townships {
        let Some(standing) = standings.get(t.id.as_str()) else {
            continue; // disabled: not ranked, not tallied
        };
        ws.write_number_with_format(row, 0, f64::from(t.position), &f.rank)?;
        ws.write_string_with_format(row, 1, &t.name, &f.text)?;
        for (i, s) in scorers.iter().enumerate() {
            let c = first_scorer + col(i * per);
            let Some(sheet) = sheets.get(&(s.id.as_str(), t.id.as_str())) else {
                ws.write_blank(row, c, &f.points)?;
                if per_scorer_adjustments {
                    ws.write_blank(row, c + 1, &f.points)?;
                }
                continue;
            };
            let format = match uses.get(sheet.id.as_str()) {
                Some((Some(_), _)) => &f.trimmed,
                Some((None, false)) => {
                    any_uncounted = true;
                    &f.uncounted
                }
                _ => &f.points,
            };
            ws.write_number_with_format(row, c, sheet.base_total, format)?;
            if per_scorer_adjustments {
                ws.write_number_with_format(row, c + 1, sheet.adjustment_total, &f.signed)?;
            }
        }
        number(ws, row, after, standing.base_aggregate, &f.result)?;
        number(ws, row, after + 1, standing.adjustment_mean, &f.result)?;
        let grouped = res.result_row(&t.id);
        let result = grouped.map(|(_, r)| r);
        let org = result.map_or(0, |r| r.organiser_adjustment_tenths);
        number(ws, row, after + 2, Some(f64::from(org) / 10.0), &f.signed)?;
        let mut c = after + 3;
        if blended {
            number(ws, row, c, result.and_then(|r| r.inspection), &f.result)?;
            number(ws, row, c + 1, result.and_then(|r| r.routine), &f.result)?;
            c += 2;
        }
        number(ws, row, c, result.and_then(|r| r.final_score), &f.result)?;
        let group = grouped.map(|(g, _)| g).unwrap_or_default();
        ws.write_string_with_format(row, c + 1, group, &f.text)?;
        number(
            ws,
            row,
            c + 2,
            result.and_then(|r| r.rank).map(f64::from),
            &f.rank,
        )?;
        let note = match result {
            Some(r) if r.rank.is_some() && r.shared_rank => "并列".to_string(),
            Some(r) if r.rank.is_some() => tally_note(standing),
            Some(r) => r.unranked_reason.clone().unwrap_or_default(),
            None => tally_note(standing),
        };
        ws.write_string_with_format(row, c + 3, &note, &f.text)?;
        let arithmetic = result.map(|r| r.arithmetic.as_str()).unwrap_or_default();
        ws.write_string_with_format(row, c + 4, arithmetic, &f.text)?;
        row += 1;
    }

    row += 1;
    let mut legends = vec![TRIM_LEGEND];
    if any_uncounted {
        legends.push(UNCOUNTED_LEGEND);
    }
    legends.push(BLANK_LEGEND);
    for legend in legends {
        line(ws, row, last_col, legend, &f.note)?;
        row += 1;
    }
    let seal = match &res.digest {
        Some(d) => format!("封存校验码(SHA-256,揭晓时由监票人核对):{d}"),
        None => "成绩尚未封存揭晓:本表不是最终结果".to_string(),
    };
    line(ws, row, last_col, &seal, &f.note)?;
    row += 1;
    line(
        ws,
        row,
        last_col,
        &format!(
            "导出:{} · {}(北京时间)",
            res.exported_by,
            beijing_time(&res.exported_at)
        ),
        &f.note,
    )?;
    row += 2;
    line(ws, row, last_col, TALLY_SIGNATURE, &Format::new())?;

    ws.set_column_width(0, 5)?;
    ws.set_column_width(1, 14)?;
    for c in first_scorer..after {
        ws.set_column_width(c, 10)?;
    }
    for c in after..after + col(figures) {
        ws.set_column_width(c, 9)?;
    }
    ws.set_column_width(after + col(figures), 8)?;
    ws.set_column_width(after + col(figures) + 1, 6)?;
    ws.set_column_width(after + col(figures) + 2, 24)?;
    ws.set_column_width(after + col(figures) + 3, 48)?;
    print_setup(ws, h1, h2, true)
}

/// 备注 of the tally: 并列, how a tie was settled, or why there is no result.
fn tally_note(s: &Standing) -> String {
    match &s.status {
        StandingStatus::Ranked if s.shared_rank => "并列".to_string(),
        StandingStatus::Ranked => s.tie_note.clone().unwrap_or_default(),
        other => format!("{}({})", status_text(other), other.message()),
    }
}

/// 排名通报: one table per 评比组, townships by rank then the unranked with the reason; the
/// 观摩, 组织方加减分, 平时 and 档次 columns only where they apply to the group.
fn notice(ws: &mut Worksheet, res: &Results, f: &Formats) -> Result<(), XlsxError> {
    ws.set_name(NOTICE)?;
    let last_col = 7;
    line(
        ws,
        0,
        last_col,
        &format!("{}排名通报", res.event_title()),
        &f.title,
    )?;
    line(
        ws,
        1,
        last_col,
        &format!("评分规则:{}", res.standings.rule_summary),
        &f.subtitle,
    )?;
    ws.set_row_height(1, 48)?;
    line(ws, 2, last_col, &res.rubric_lines(), &f.note)?;
    line(
        ws,
        3,
        last_col,
        &format!("成绩计算:{}", res.grouped.settings_summary),
        &f.subtitle,
    )?;
    ws.set_row_height(3, 48)?;
    let mut row: RowNum = 5;
    let mut first_header = None;
    for g in &res.grouped.groups {
        let adjusted = g.rows.iter().any(|r| r.organiser_adjustment_tenths != 0);
        let blended = res.grouped.blended;
        let banded = !g.bands.is_empty();
        let mut labels = vec!["名次", "乡镇(街道)", "最终得分"];
        if blended || adjusted {
            labels.push("观摩得分");
        }
        if adjusted {
            labels.push("组织方加减分");
        }
        if blended {
            labels.push("平时考核");
        }
        if banded {
            labels.push("档次");
        }
        labels.push("备注");
        line(
            ws,
            row,
            col(labels.len() - 1),
            &format!("【{}】", g.name),
            &f.label,
        )?;
        row += 1;
        first_header.get_or_insert(row);
        for (c, label) in (0..).zip(&labels) {
            ws.write_string_with_format(row, c, *label, &f.header)?;
        }
        row += 1;
        for r in &g.rows {
            number(ws, row, 0, r.rank.map(f64::from), &f.rank)?;
            ws.write_string_with_format(row, 1, &r.name, &f.text)?;
            number(ws, row, 2, r.final_score, &f.result)?;
            let mut c: ColNum = 3;
            if blended || adjusted {
                number(ws, row, c, r.inspection, &f.result)?;
                c += 1;
            }
            if adjusted {
                let t = f64::from(r.organiser_adjustment_tenths) / 10.0;
                number(ws, row, c, Some(t), &f.signed)?;
                c += 1;
            }
            if blended {
                number(ws, row, c, r.routine, &f.result)?;
                c += 1;
            }
            if banded {
                ws.write_string_with_format(
                    row,
                    c,
                    r.band.as_deref().unwrap_or_default(),
                    &f.text,
                )?;
                c += 1;
            }
            let note = if r.rank.is_some() {
                if r.shared_rank {
                    "并列"
                } else {
                    ""
                }
            } else if r.standing.status == StandingStatus::Ranked {
                "暂无最终得分"
            } else {
                status_text(&r.standing.status)
            };
            ws.write_string_with_format(row, c, note, &f.text)?;
            row += 1;
        }
        row += 1;
    }
    for (c, width) in [
        (0, 8),
        (1, 20),
        (2, 12),
        (3, 12),
        (4, 14),
        (5, 12),
        (6, 12),
        (7, 16),
    ] {
        ws.set_column_width(c, width)?;
    }
    let header = first_header.unwrap_or(5);
    print_setup(ws, header, header, false)
}

/// One scorer's sheets side by side: a column per township they submitted, in route order.
fn scorer_sheet(
    ws: &mut Worksheet,
    name: &str,
    res: &Results,
    rubric: &Rubric,
    scorer: &Scorer,
    sheets: &[&Sheet],
    f: &Formats,
) -> Result<(), XlsxError> {
    ws.set_name(name)?;
    let first_town: ColNum = 3;
    let last_col = first_town + col(sheets.len()) - 1;
    line(ws, 0, last_col, &rubric.title, &f.title)?;
    line(
        ws,
        1,
        last_col,
        &if scorer.work_unit.is_empty() {
            format!("评委:{}    分组:{}", scorer.name, scorer.group)
        } else {
            format!(
                "评委:{}    分组:{}    单位:{}",
                scorer.name, scorer.group, scorer.work_unit
            )
        },
        &f.subtitle,
    )?;
    line(ws, 2, last_col, &rubric_line(rubric), &f.note)?;
    let header = 3;
    for (c, label) in (0..).zip(["类别", "细则", "分值"]) {
        ws.write_string_with_format(header, c, label, &f.header)?;
    }
    for (c, s) in (first_town..).zip(sheets) {
        ws.write_string_with_format(header, c, res.township_name(&s.township_id), &f.header)?;
    }

    let mut row = header + 1;
    let mut criteria_max = Points::ZERO;
    for cat in &rubric.categories {
        let first = row;
        for crit in &cat.criteria {
            ws.write_string_with_format(row, 1, &crit.name, &f.text)?;
            ws.write_number_with_format(row, 2, crit.max_points, &f.points)?;
            criteria_max = criteria_max + Points::from_f64(crit.max_points).unwrap_or_default();
            for (c, s) in (first_town..).zip(sheets) {
                let points = crit.id.as_deref().and_then(|id| mark_points(s, id));
                number(ws, row, c, points, &f.points)?;
            }
            row += 1;
        }
        if row > first {
            block(ws, (first, 0), (row - 1, 0), &cat.name, &f.text)?;
        }
    }

    block(ws, (row, 0), (row, 1), "细则合计", &f.label)?;
    ws.write_number_with_format(row, 2, criteria_max.as_f64(), &f.points)?;
    for (c, s) in (first_town..).zip(sheets) {
        ws.write_number_with_format(row, c, s.base_total, &f.points)?;
    }
    row += 1;

    let first = row;
    for adj in &rubric.adjustments {
        ws.write_string_with_format(
            row,
            1,
            format!("{}({})", adj.name, adj.kind.label()),
            &f.text,
        )?;
        ws.write_number_with_format(row, 2, signed(adj.kind, adj.limit_points), &f.signed)?;
        for (c, s) in (first_town..).zip(sheets) {
            let points = s
                .adjustments
                .iter()
                .find(|a| adj.id.as_deref() == Some(a.adjustment_id.as_str()))
                .and_then(|a| a.points)
                .map(|p| signed(adj.kind, p));
            number(ws, row, c, points, &f.signed)?;
        }
        row += 1;
    }
    if row > first {
        block(ws, (first, 0), (row - 1, 0), "加减分项", &f.text)?;
    }

    block(ws, (row, 0), (row, 1), "总分", &f.label)?;
    ws.write_number_with_format(row, 2, rubric.total_points, &f.points)?;
    for (c, s) in (first_town..).zip(sheets) {
        ws.write_number_with_format(
            row,
            c,
            add_points(s.base_total, s.adjustment_total),
            &f.points,
        )?;
    }
    row += 1;

    block(ws, (row, 0), (row, 2), "总体评价", &f.label)?;
    for (c, s) in (first_town..).zip(sheets) {
        ws.write_string_with_format(row, c, &s.comment, &f.text)?;
    }
    row += 1;
    block(ws, (row, 0), (row, 2), "提交时间", &f.label)?;
    for (c, s) in (first_town..).zip(sheets) {
        let mut at = s
            .submitted_at
            .as_deref()
            .map(beijing_time)
            .unwrap_or_default();
        if res.late.contains(&s.id) {
            at.push_str("(逾期)");
        }
        ws.write_string_with_format(row, c, &at, &f.text)?;
    }
    row += 2;
    line(ws, row, last_col, SCORER_SIGNATURE, &Format::new())?;

    ws.set_column_width(0, 12)?;
    ws.set_column_width(1, 22)?;
    ws.set_column_width(2, 7)?;
    for c in first_town..=last_col {
        ws.set_column_width(c, 12)?;
    }
    print_setup(ws, header, header, sheets.len() > 4)
}

/// 审计记录: every submission and unlock, and every change made after an unlock.
fn audit(ws: &mut Worksheet, res: &Results, f: &Formats) -> Result<(), XlsxError> {
    ws.set_name(AUDIT)?;
    let header = 0;
    let columns = [
        ("时间(北京时间)", 19),
        ("评委", 10),
        ("乡镇(街道)", 14),
        ("事项", 30),
        ("原值", 18),
        ("新值", 18),
        ("原因", 24),
        ("操作人", 10),
    ];
    for (c, (label, width)) in (0..).zip(columns) {
        ws.write_string_with_format(header, c, label, &f.header)?;
        ws.set_column_width(c, width)?;
    }
    let shown = res
        .audit
        .iter()
        .filter(|e| matches!(e.kind, AuditKind::Submit | AuditKind::Unlock) || e.reason.is_some());
    for (row, e) in (header + 1..).zip(shown) {
        let cells = [
            beijing_time(&e.at),
            res.scorer_name(&e.scorer_id),
            res.township_name(&e.township_id),
            audit_subject(res, e),
            e.old_value.clone().unwrap_or_default(),
            e.new_value.clone().unwrap_or_default(),
            e.reason.clone().unwrap_or_default(),
            e.person_name.clone(),
        ];
        for (c, text) in (0..).zip(&cells) {
            ws.write_string_with_format(row, c, text, &f.text)?;
        }
    }
    print_setup(ws, header, header, true)
}

/// What an audit entry is about, in words.
fn audit_subject(res: &Results, e: &AuditEntry) -> String {
    let item = e.item_id.as_deref().unwrap_or_default();
    match e.kind {
        AuditKind::Submit if e.reason.is_some() => "重新提交".to_string(),
        AuditKind::Submit => "提交".to_string(),
        AuditKind::Unlock => "解锁".to_string(),
        AuditKind::Comment => "修改总体评价".to_string(),
        AuditKind::Criterion => match res.criteria().find(|(_, k)| k.id.as_deref() == Some(item)) {
            Some((cat, crit)) => format!("修改得分:{} › {}", cat.name, crit.name),
            None => "修改得分:(已删除的细则)".to_string(),
        },
        AuditKind::Adjustment => match res.adjustment(item) {
            Some(a) => format!("修改加减分项:{}({})", a.name, a.kind.label()),
            None => "修改加减分项:(已删除的加减分项)".to_string(),
        },
    }
}

/// A valid, unused sheet name from `wanted`: characters Excel forbids become `_`, at most
/// 31 characters, and a repeat (Excel compares names case-insensitively) gets `(2)`, `(3)`….
fn sheet_name(wanted: &str, taken: &mut Vec<String>) -> String {
    let clean: String = wanted
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '_' } else { c })
        .collect();
    // Excel also refuses a name that starts or ends with an apostrophe.
    let clean = clean.trim_matches('\'');
    let clean = if clean.is_empty() { "评分表" } else { clean };
    let used = |name: &str, taken: &[String]| {
        let lower = name.to_lowercase();
        taken.iter().any(|t| t.to_lowercase() == lower)
    };
    let mut name: String = clean.chars().take(MAX_SHEET_NAME_CHARS).collect();
    let mut n = 2;
    while used(&name, taken) {
        let suffix = format!("({n})");
        let keep = MAX_SHEET_NAME_CHARS.saturating_sub(suffix.chars().count());
        name = clean.chars().take(keep).collect::<String>() + &suffix;
        n += 1;
    }
    taken.push(name.clone());
    name
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader, Xlsx};

    #[test]
    fn the_rubric_line_names_the_version_and_a_revision_names_its_reason() {
        let mut r: Rubric = serde_json::from_str(
            r#"{"title":"观摩评分表","total_points":100,"categories":[],"adjustments":[]}"#,
        )
        .unwrap();
        r.version = 1;
        assert_eq!(rubric_line(&r), "评分标准:观摩评分表 第1版");
        r.version = 3;
        r.change_reason = "调整分值".into();
        assert_eq!(
            rubric_line(&r),
            "评分标准:观摩评分表 第3版(修订原因:调整分值)"
        );
    }

    #[test]
    fn the_tally_notice_and_scorer_sheets_print_the_revised_rubric_version() {
        let dir = tempfile::tempdir().unwrap();
        let ctx =
            crate::Ctx::open(dir.path(), std::sync::Arc::new(guanmo_domain::SystemClock)).unwrap();
        let town = crate::roster::list_townships(&ctx).unwrap()[0].id.clone();
        crate::scoring::set_scoring_open(&ctx, &town, true).unwrap();
        let scorer = crate::scoring::register_scorer(
            &ctx,
            guanmo_domain::scoring::ScorerInput {
                name: "张三".into(),
                group: "市领导".into(),
                township_id: None,
                active: true,
                work_unit: String::new(),
            },
        )
        .unwrap();
        let mut sheet = crate::scoring::open_sheet(&ctx, &scorer.id, &town).unwrap();
        let rubric = crate::rubric::get_rubric(&ctx).unwrap();
        for k in rubric.categories.iter().flat_map(|c| &c.criteria) {
            let id = k.id.as_deref().unwrap();
            sheet =
                crate::scoring::record_mark(&ctx, &sheet.id, id, Some(1.0), String::new()).unwrap();
        }
        crate::scoring::submit_sheet(&ctx, &sheet.id, sheet.version).unwrap();
        let mut next = crate::rubric::get_rubric(&ctx).unwrap();
        next.change_reason = "细则名称更正".into();
        let saved = crate::rubric::save_rubric(&ctx, next).unwrap();

        let path = dir.path().join("结果.xlsx");
        crate::export::export_results_xlsx(&ctx, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let mut wb = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let want = format!(
            "评分标准:{} 第{}版(修订原因:细则名称更正)",
            saved.title, saved.version
        );
        for name in [TALLY, NOTICE, "评分表-张三"] {
            let range = wb.worksheet_range(name).unwrap();
            assert_eq!(
                range.get_value((2, 0)),
                Some(&Data::String(want.clone())),
                "sheet {name}"
            );
        }
    }

    #[test]
    fn a_sheet_name_loses_forbidden_characters_stays_within_31_and_repeats_get_a_number() {
        let mut taken = vec!["汇总表".to_string()];
        assert_eq!(sheet_name("评分表-张[三]", &mut taken), "评分表-张_三_");
        assert_eq!(sheet_name("评分表-张[三]", &mut taken), "评分表-张_三_(2)");
        assert_eq!(
            sheet_name("评分表-a/b:c*d?e\\f'", &mut taken),
            "评分表-a_b_c_d_e_f"
        );
        let long = format!("评分表-{}", "长".repeat(40));
        let first = sheet_name(&long, &mut taken);
        let second = sheet_name(&long, &mut taken);
        assert_eq!(first.chars().count(), 31);
        assert_eq!(second.chars().count(), 31);
        assert!(second.ends_with("(2)"), "{second}");
        assert_eq!(sheet_name("汇总表", &mut taken), "汇总表(2)");
    }

    #[test]
    fn a_shared_rank_is_noted_as_tied_and_an_unranked_township_says_why() {
        let mut s = Standing {
            township_id: "t".into(),
            status: StandingStatus::Ranked,
            rank: Some(3),
            shared_rank: true,
            result: Some(85.0),
            base_aggregate: Some(85.0),
            adjustment_mean: Some(0.0),
            untrimmed_mean: Some(85.0),
            normalized: None,
            normalized_rank: None,
            submitted: 3,
            expected: 3,
            groups: Vec::new(),
            marks: Vec::new(),
            tie_note: Some("并列第3名".into()),
        };
        assert_eq!(tally_note(&s), "并列");
        s.status = StandingStatus::Embargoed {
            submitted: 2,
            expected: 3,
        };
        assert!(tally_note(&s).starts_with("封存中("), "{}", tally_note(&s));
        assert_eq!(status_text(&StandingStatus::NoSheets), "暂无评分");
    }

    #[test]
    fn a_group_with_its_own_rubric_prints_its_own_scorer_sheet_and_every_rubric_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let ctx =
            crate::Ctx::open(dir.path(), std::sync::Arc::new(guanmo_domain::SystemClock)).unwrap();
        let towns = crate::roster::list_townships(&ctx).unwrap();
        let pick = |street: bool| {
            towns
                .iter()
                .find(|t| {
                    t.enabled
                        && (t.kind == guanmo_domain::roster::TownshipKind::Subdistrict) == street
                })
                .unwrap()
                .clone()
        };
        let (street, town) = (pick(true), pick(false));
        // 街道组 scores on its own rubric: the last category renamed 城市管理.
        let mut own = crate::rubric::get_rubric(&ctx).unwrap();
        own.eval_group = "街道组".into();
        own.title = "街道组评分表".into();
        let last = own.categories.last_mut().unwrap();
        last.id = None;
        last.name = "城市管理".into();
        for k in &mut last.criteria {
            k.id = None;
            k.name = format!("城市{}", k.name);
        }
        let own = crate::rubric::save_rubric(&ctx, own).unwrap();
        let scorer = crate::scoring::register_scorer(
            &ctx,
            guanmo_domain::scoring::ScorerInput {
                name: "张三".into(),
                group: "市领导".into(),
                township_id: None,
                active: true,
                work_unit: String::new(),
            },
        )
        .unwrap();
        for t in [&street, &town] {
            crate::scoring::set_scoring_open(&ctx, &t.id, true).unwrap();
            let mut sheet = crate::scoring::open_sheet(&ctx, &scorer.id, &t.id).unwrap();
            let rubric = crate::rubric::get_rubric_for_township(&ctx, &t.id).unwrap();
            for k in rubric.categories.iter().flat_map(|c| &c.criteria) {
                let id = k.id.as_deref().unwrap();
                sheet = crate::scoring::record_mark(&ctx, &sheet.id, id, Some(1.0), String::new())
                    .unwrap();
            }
            crate::scoring::submit_sheet(&ctx, &sheet.id, sheet.version).unwrap();
        }

        let path = dir.path().join("结果.xlsx");
        crate::export::export_results_xlsx(&ctx, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let mut wb = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let line = |wb: &mut Xlsx<_>, name: &str| {
            wb.worksheet_range(name)
                .unwrap()
                .get_value((2, 0))
                .cloned()
                .unwrap()
        };
        let shared = crate::rubric::get_rubric(&ctx).unwrap();
        let want = format!(
            "共用评分标准:{} 第{}版;街道组评分标准:街道组评分表 第{}版",
            shared.title, shared.version, own.version
        );
        for name in [TALLY, NOTICE] {
            assert_eq!(line(&mut wb, name).to_string(), want, "sheet {name}");
        }
        // The town on the shared rubric, the street on its group's, each with its criteria.
        let shared_sheet = wb.worksheet_range("评分表-张三").unwrap();
        let group_sheet = wb.worksheet_range("评分表-张三-街道组").unwrap();
        assert_eq!(
            shared_sheet.get_value((3, 3)),
            Some(&Data::String(town.name.clone()))
        );
        assert_eq!(
            group_sheet.get_value((3, 3)),
            Some(&Data::String(street.name.clone()))
        );
        let names = |r: &calamine::Range<Data>| -> Vec<String> {
            r.rows().map(|row| row[1].to_string()).collect()
        };
        assert!(names(&group_sheet).iter().any(|n| n.starts_with("城市")));
        assert!(!names(&shared_sheet).iter().any(|n| n.starts_with("城市")));
        assert_eq!(
            group_sheet.get_value((0, 0)),
            Some(&Data::String("街道组评分表".into()))
        );
    }
}
