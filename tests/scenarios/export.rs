//! Result documents: a tour of 4 scorers and 3 townships, with a 回避 township head, a bonus,
//! a penalty and an unlock 「误填」, exported and read back by an independent reader (Python's
//! openpyxl), never by the code that wrote it. The expected totals are computed here by hand.

use crate::support::Env;
use guanmo_api::{export, roster, rubric, scoring};
use guanmo_domain::aggregation::{Standings, TrimSide};
use guanmo_domain::rubric::Rubric;
use guanmo_domain::scoring::{ScorerInput, SheetStatus, GROUP_CITY_LEADERS, GROUP_TOWNSHIP_HEADS};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const NAMES: [&str; 4] = ["张建国", "李卫东", "王秀英", "赵志刚"];
/// 赵志刚 heads the second township on the route.
const HEAD: usize = 3;
const COMMENT: &str = "=SUM(1,2) 亮点突出";
const NOTE: &str = "+86 电话回访";

/// What the scenario built, with the ids the assertions need.
struct Tour {
    env: Env,
    rubric: Rubric,
    /// The first three enabled townships, in route order: (id, name).
    towns: Vec<(String, String)>,
    /// (id, name) in registration order.
    scorers: Vec<(String, String)>,
}

/// Each criterion's mark: its max less half a point per scorer index, never below 0.
fn mark(max: f64, scorer: usize) -> f64 {
    (max - 0.5 * scorer as f64).max(0.0)
}

/// Builds the tour through the api, as the desktop commands would.
fn tour() -> Tour {
    let env = Env::new();
    let ctx = &env.ctx;
    let rubric = rubric::get_rubric(ctx).unwrap();
    let towns: Vec<(String, String)> = roster::list_townships(ctx)
        .unwrap()
        .into_iter()
        .filter(|t| t.enabled)
        .take(3)
        .map(|t| (t.id, t.name))
        .collect();
    let scorers: Vec<(String, String)> = NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let head = i == HEAD;
            let s = scoring::register_scorer(
                ctx,
                ScorerInput {
                    name: (*name).into(),
                    group: if head {
                        GROUP_TOWNSHIP_HEADS
                    } else {
                        GROUP_CITY_LEADERS
                    }
                    .into(),
                    township_id: head.then(|| towns[1].0.clone()),
                    active: true,
                    // One scorer with a work unit, printed on their sheet.
                    work_unit: if i == 1 {
                        "市委办公室".into()
                    } else {
                        String::new()
                    },
                },
            )
            .unwrap();
            (s.id, s.name)
        })
        .collect();
    for (t, _) in &towns {
        scoring::set_scoring_open(ctx, t, true).unwrap();
    }
    let bonus = rubric.adjustments[0].id.clone().unwrap();
    let penalty = rubric.adjustments[1].id.clone().unwrap();
    for (ti, (t, _)) in towns.iter().enumerate() {
        for (si, (s, _)) in scorers.iter().enumerate() {
            if si == HEAD && ti == 1 {
                continue; // 回避
            }
            let mut sheet = scoring::open_sheet(ctx, s, t).unwrap();
            for (ci, c) in rubric
                .categories
                .iter()
                .flat_map(|c| &c.criteria)
                .enumerate()
            {
                let note = if si == 0 && ti == 2 && ci == 0 {
                    NOTE
                } else {
                    ""
                };
                let id = c.id.as_deref().unwrap();
                sheet = scoring::record_mark(
                    ctx,
                    &sheet.id,
                    id,
                    Some(mark(c.max_points, si)),
                    note.into(),
                )
                .unwrap();
            }
            if si == 0 && ti == 0 {
                sheet = scoring::record_adjustment(
                    ctx,
                    &sheet.id,
                    &bonus,
                    Some(1.0),
                    "省级表彰".into(),
                )
                .unwrap();
            }
            if si == 2 && ti == 1 {
                sheet =
                    scoring::record_adjustment(ctx, &sheet.id, &penalty, Some(1.0), String::new())
                        .unwrap();
            }
            if si == 0 && ti == 2 {
                sheet = scoring::set_sheet_comment(ctx, &sheet.id, COMMENT.into()).unwrap();
            }
            scoring::submit_sheet(ctx, &sheet.id, sheet.version).unwrap();
        }
    }
    // 李卫东 mistyped the first criterion of the third township: unlock, lower it by 1, resubmit.
    let sheet = scoring::list_sheets(ctx)
        .unwrap()
        .into_iter()
        .find(|s| s.scorer_id == scorers[1].0 && s.township_id == towns[2].0)
        .unwrap();
    let sheet = scoring::unlock_sheet(ctx, &sheet.id, "误填".into()).unwrap();
    let first = &rubric.categories[0].criteria[0];
    let sheet = scoring::record_mark(
        ctx,
        &sheet.id,
        first.id.as_deref().unwrap(),
        Some(mark(first.max_points, 1) - 1.0),
        String::new(),
    )
    .unwrap();
    scoring::submit_sheet(ctx, &sheet.id, sheet.version).unwrap();
    Tour {
        env,
        rubric,
        towns,
        scorers,
    }
}

impl Tour {
    /// A sheet's total (base + adjustment) in tenths, by this test's own arithmetic; `None`
    /// for the township head's own township.
    fn expected_total_tenths(&self, scorer: usize, town: usize) -> Option<i64> {
        Some(
            self.expected_base_tenths(scorer, town)?
                + Self::expected_adjustment_tenths(scorer, town),
        )
    }

    /// The per-scorer 加减分 of a sheet, tenths.
    fn expected_adjustment_tenths(scorer: usize, town: usize) -> i64 {
        match (scorer, town) {
            (0, 0) => 10,
            (2, 1) => -10,
            _ => 0,
        }
    }

    /// The criteria total of a sheet (what the rule trims), tenths.
    fn expected_base_tenths(&self, scorer: usize, town: usize) -> Option<i64> {
        if scorer == HEAD && town == 1 {
            return None;
        }
        let mut base: i64 = self
            .rubric
            .categories
            .iter()
            .flat_map(|c| &c.criteria)
            .map(|c| (mark(c.max_points, scorer) * 10.0).round() as i64)
            .sum();
        if scorer == 1 && town == 2 {
            base -= 10;
        }
        Some(base)
    }

    fn standings(&self) -> Standings {
        scoring::get_standings(&self.env.ctx).unwrap()
    }

    fn export_xlsx(&self) -> Workbook {
        let path = self.env.dir.path().join("观摩结果.xlsx");
        export::export_results_xlsx(&self.env.ctx, &path).unwrap();
        Workbook::read(&path)
    }
}

/// The workbook as openpyxl sees it.
struct Workbook {
    names: Vec<String>,
    sheets: Value,
}

/// Dumps every sheet: non-empty cells with value, data type and strikethrough, plus the print
/// setup. Run as `python3 -c SCRIPT path`.
const DUMP_SCRIPT: &str = r#"
import json, sys
import openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
out = {"names": wb.sheetnames, "sheets": {}}
for ws in wb.worksheets:
    cells = []
    for row in ws.iter_rows():
        for c in row:
            if c.value is None:
                continue
            v = c.value if isinstance(c.value, (int, float, str)) else str(c.value)
            cells.append({"row": c.row, "col": c.column, "value": v,
                          "type": c.data_type, "strike": bool(c.font.strike)})
    out["sheets"][ws.title] = {
        "cells": cells,
        "paper": ws.page_setup.paperSize,
        # Excel's default for fitToWidth is 1, so writers leave it out.
        "fit_width": ws.page_setup.fitToWidth or 1,
        "fit_height": ws.page_setup.fitToHeight,
        "fit_to_page": bool(ws.sheet_properties.pageSetUpPr and ws.sheet_properties.pageSetUpPr.fitToPage),
        "title_rows": ws.print_title_rows,
    }
json.dump(out, sys.stdout, ensure_ascii=False)
"#;

impl Workbook {
    fn read(path: &Path) -> Workbook {
        let output = Command::new("python3")
            .arg("-c")
            .arg(DUMP_SCRIPT)
            .arg(path)
            .output()
            .unwrap_or_else(|e| {
                panic!("python3 is needed to read the workbook independently ({e}); run .ci/setup")
            });
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            !stderr.contains("No module named 'openpyxl'"),
            "Python's openpyxl is needed to read the workbook independently; run .ci/setup"
        );
        assert!(
            output.status.success(),
            "openpyxl could not read the export: {stderr}"
        );
        let v: Value = serde_json::from_slice(&output.stdout).unwrap();
        Workbook {
            names: v["names"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_string())
                .collect(),
            sheets: v["sheets"].clone(),
        }
    }

    fn cells(&self, sheet: &str) -> &Vec<Value> {
        self.sheets[sheet]["cells"]
            .as_array()
            .unwrap_or_else(|| panic!("no sheet {sheet}"))
    }

    fn cell(&self, sheet: &str, row: i64, col: i64) -> Option<&Value> {
        self.cells(sheet)
            .iter()
            .find(|c| c["row"] == row && c["col"] == col)
    }

    /// (row, col) of the first cell holding exactly `text`.
    fn find(&self, sheet: &str, text: &str) -> (i64, i64) {
        self.cells(sheet)
            .iter()
            .find(|c| c["value"] == text)
            .map(|c| (c["row"].as_i64().unwrap(), c["col"].as_i64().unwrap()))
            .unwrap_or_else(|| panic!("{sheet} has no cell 「{text}」"))
    }

    fn number(&self, sheet: &str, row: i64, col: i64) -> Option<f64> {
        self.cell(sheet, row, col).map(|c| {
            c["value"]
                .as_f64()
                .unwrap_or_else(|| panic!("{sheet} R{row}C{col} is not a number: {c}"))
        })
    }

    /// Every row of a sheet as its texts and numbers, for finding rows by content.
    fn rows(&self, sheet: &str) -> Vec<Vec<String>> {
        let mut rows: Vec<Vec<String>> = Vec::new();
        for c in self.cells(sheet) {
            let r = c["row"].as_u64().unwrap() as usize;
            if rows.len() < r {
                rows.resize(r, Vec::new());
            }
            rows[r - 1].push(match &c["value"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
        }
        rows
    }
}

#[test]
fn the_workbook_has_the_tally_the_notice_a_sheet_per_scorer_and_the_audit_all_printable_on_a4() {
    let tour = tour();
    let wb = tour.export_xlsx();
    let mut expected = vec!["汇总表".to_string(), "排名通报".to_string()];
    expected.extend(NAMES.iter().map(|n| format!("评分表-{n}")));
    expected.push("审计记录".to_string());
    assert_eq!(wb.names, expected);
    for name in &wb.names {
        let s = &wb.sheets[name];
        assert_eq!(s["paper"], 9, "{name} prints on A4");
        assert_eq!(s["fit_width"], 1, "{name} fits one page wide");
        assert_eq!(s["fit_height"], 0, "{name} is as many pages tall as needed");
        assert_eq!(s["fit_to_page"], true, "{name} fits one page wide");
        assert!(
            s["title_rows"].as_str().is_some_and(|r| !r.is_empty()),
            "{name} repeats its header row: {}",
            s["title_rows"]
        );
    }
    let rule = tour.standings().rule_summary;
    wb.find("汇总表", &format!("评分规则:{rule}"));
    wb.find("排名通报", &format!("评分规则:{rule}"));
    wb.find("排名通报", "2024年度下半年乡镇(街道)工作现场观摩会排名通报");
    wb.find(
        "汇总表",
        "监票人:____________    计票人:____________    日期:__________",
    );
    wb.find("评分表-张建国", "评委签名:____________    日期:__________");
    wb.find("评分表-张建国", "评委:张建国    分组:市领导");
    wb.find(
        "评分表-李卫东",
        "评委:李卫东    分组:市领导    单位:市委办公室",
    );
}

#[test]
fn the_tally_holds_every_scorers_total_and_strikes_out_the_trimmed_highest_and_lowest() {
    let tour = tour();
    let wb = tour.export_xlsx();
    let standings = tour.standings();
    let header_row = wb.find("汇总表", NAMES[0]).0;
    for (ti, (tid, town)) in tour.towns.iter().enumerate() {
        let (row, _) = wb.find("汇总表", town);
        let marks = &standings
            .rows
            .iter()
            .find(|r| &r.township_id == tid)
            .unwrap()
            .marks;
        for (si, (sid, name)) in tour.scorers.iter().enumerate() {
            let (_, col) = wb.find("汇总表", name);
            assert_eq!(wb.find("汇总表", name).0, header_row);
            // The criteria total (what is trimmed) and, beside it, the scorer's 加减分: the
            // struck cells are the highest and lowest printed figures.
            let got = wb.number("汇总表", row, col);
            let want = tour.expected_base_tenths(si, ti).map(|t| t as f64 / 10.0);
            assert_eq!(got, want, "{name}'s criteria total for {town}");
            if want.is_none() {
                continue;
            }
            let adj = Tour::expected_adjustment_tenths(si, ti) as f64 / 10.0;
            assert_eq!(
                wb.number("汇总表", row, col + 1),
                Some(adj),
                "{name}'s 加减分 at {town}"
            );
            let struck = wb.cell("汇总表", row, col).unwrap()["strike"] == true;
            let trimmed = marks.iter().find(|m| &m.scorer_id == sid).unwrap().trimmed;
            assert_eq!(
                struck,
                trimmed.is_some(),
                "{name} at {town}: strike iff trimmed"
            );
        }
    }
    // The first township has 4 sheets: 张建国's 100 (+1 bonus) is the highest base and
    // 赵志刚's 73 the lowest; both are struck, the middle two are not.
    let (row, _) = wb.find("汇总表", &tour.towns[0].1);
    let strike = |si: usize| {
        let (_, col) = wb.find("汇总表", NAMES[si]);
        wb.cell("汇总表", row, col).unwrap()["strike"] == true
    };
    assert_eq!(
        [strike(0), strike(1), strike(2), strike(3)],
        [true, false, false, true]
    );
    let marks = &standings
        .rows
        .iter()
        .find(|r| r.township_id == tour.towns[0].0)
        .unwrap()
        .marks;
    let side = |si: usize| {
        marks
            .iter()
            .find(|m| m.scorer_id == tour.scorers[si].0)
            .unwrap()
            .trimmed
    };
    assert_eq!(side(0), Some(TrimSide::High));
    assert_eq!(side(3), Some(TrimSide::Low));
    wb.find("汇总表", "删除线表示按规则去掉的最高分/最低分");
}

#[test]
fn a_township_head_has_no_total_for_their_own_township() {
    let tour = tour();
    let wb = tour.export_xlsx();
    let (row, _) = wb.find("汇总表", &tour.towns[1].1);
    let (_, col) = wb.find("汇总表", NAMES[HEAD]);
    assert_eq!(
        wb.cell("汇总表", row, col),
        None,
        "回避: the cell stays blank"
    );
    let group_row = wb.find("汇总表", NAMES[HEAD]).0 + 1;
    assert_eq!(
        wb.cell("汇总表", group_row, col).unwrap()["value"],
        format!("{GROUP_TOWNSHIP_HEADS} · 细则"),
        "the group is printed under the name, over the criteria total"
    );
    // Their own sheet has a column for each township they scored, and not for their own.
    let sheet = format!("评分表-{}", NAMES[HEAD]);
    let header = wb
        .rows(&sheet)
        .into_iter()
        .find(|r| r.first().is_some_and(|c| c == "类别"))
        .unwrap();
    assert_eq!(
        header,
        [
            "类别",
            "细则",
            "分值",
            tour.towns[0].1.as_str(),
            tour.towns[2].1.as_str()
        ]
    );
}

#[test]
fn the_final_scores_and_ranks_match_the_standings_and_an_independent_calculation() {
    let tour = tour();
    let wb = tour.export_xlsx();
    let standings = tour.standings();
    let (_, result_col) = wb.find("汇总表", "最终得分");
    let (_, rank_col) = wb.find("汇总表", "名次");
    for (ti, (tid, town)) in tour.towns.iter().enumerate() {
        let s = standings
            .rows
            .iter()
            .find(|r| &r.township_id == tid)
            .unwrap();
        let (row, _) = wb.find("汇总表", town);
        assert_eq!(wb.number("汇总表", row, result_col), s.result, "{town}");
        assert_eq!(
            wb.number("汇总表", row, rank_col),
            s.rank.map(f64::from),
            "{town}"
        );
        // By hand: drop the highest and lowest base, average the rest, add the mean adjustment.
        let totals: Vec<(i64, i64)> = (0..4)
            .filter_map(|si| {
                let total = tour.expected_total_tenths(si, ti)?;
                let adj = match (si, ti) {
                    (0, 0) => 10,
                    (2, 1) => -10,
                    _ => 0,
                };
                Some((total - adj, adj))
            })
            .collect();
        let mut bases: Vec<i64> = totals.iter().map(|t| t.0).collect();
        bases.sort_unstable();
        let kept = &bases[1..bases.len() - 1];
        let (m, n) = (kept.len() as i64, totals.len() as i64);
        let adj: i64 = totals.iter().map(|t| t.1).sum();
        let num = 10 * (kept.iter().sum::<i64>() * n + adj * m);
        let hundredths = (2 * num + m * n) / (2 * m * n);
        assert_eq!(s.result, Some(hundredths as f64 / 100.0), "{town} by hand");
    }
    // 泉峰街道 91 − 1/3 = 90.67 first, 宜阳街道 86.5 + 0.25 = 86.75 second, 培元街道 86 third.
    // The three are 街道 and ranked in the 街道组, which the notice lists in its own table.
    let notice = wb.rows("排名通报");
    let street = notice
        .iter()
        .position(|r| r.first().is_some_and(|c| c == "【街道组】"))
        .unwrap();
    let body: Vec<&Vec<String>> = notice[street + 1..]
        .iter()
        .filter(|r| r.len() >= 3 && r[0] != "名次")
        .collect();
    let want = [
        ["1", tour.towns[1].1.as_str(), "90.67"],
        ["2", tour.towns[0].1.as_str(), "86.75"],
        ["3", tour.towns[2].1.as_str(), "86"],
    ];
    for (got, want) in body.iter().zip(want) {
        assert_eq!(&got[..3], want, "ranking notice row");
    }
    // The other 19 townships have no sheets and are listed unranked, with the reason.
    let unranked = notice
        .iter()
        .filter(|r| r.last().is_some_and(|c| c == "暂无评分"))
        .count();
    assert_eq!(unranked, 19);
}

#[test]
fn the_audit_sheet_shows_the_unlock_with_its_reason_and_the_resubmission() {
    let tour = tour();
    let wb = tour.export_xlsx();
    let rows = wb.rows("审计记录");
    assert_eq!(
        rows[0],
        [
            "时间(北京时间)",
            "评委",
            "乡镇(街道)",
            "事项",
            "原值",
            "新值",
            "原因",
            "操作人"
        ]
    );
    let town = tour.towns[2].1.as_str();
    let unlock = rows
        .iter()
        .find(|r| r.get(3).is_some_and(|c| c == "解锁"))
        .unwrap();
    assert_eq!(
        unlock,
        &[
            "2026-12-04 08:30:00",
            "李卫东",
            town,
            "解锁",
            "已提交",
            "草稿",
            "误填",
            // No one signed in: records from before people were kept, and from a computer
            // with no PIN, belong to 未指定.
            "未指定"
        ]
    );
    let change = rows
        .iter()
        .find(|r| r.get(3).is_some_and(|c| c.starts_with("修改得分:")))
        .unwrap();
    assert_eq!(
        change[1..4],
        ["李卫东", town, "修改得分:基层党建 › 组织体系建设"]
    );
    assert_eq!(change[4..], ["7.5", "6.5", "误填", "未指定"]);
    let resubmit = rows
        .iter()
        .find(|r| r.get(3).is_some_and(|c| c == "重新提交"))
        .unwrap();
    assert_eq!(resubmit[1..3], ["李卫东", town]);
    assert_eq!(resubmit[6], "误填");
    let first_submits = rows
        .iter()
        .filter(|r| r.get(3).is_some_and(|c| c == "提交"))
        .count();
    assert_eq!(
        first_submits, 11,
        "4 + 3 + 4 sheets were submitted once each"
    );
}

#[test]
fn no_cell_of_the_workbook_is_a_formula_even_when_a_comment_looks_like_one() {
    let tour = tour();
    let wb = tour.export_xlsx();
    for name in &wb.names {
        for c in wb.cells(name) {
            assert_ne!(
                c["type"], "f",
                "{name} R{}C{} is a formula: {c}",
                c["row"], c["col"]
            );
        }
    }
    let (row, col) = wb.find("评分表-张建国", COMMENT);
    assert_eq!(wb.cell("评分表-张建国", row, col).unwrap()["type"], "s");
}

#[test]
fn the_marks_csv_has_a_bom_crlf_the_header_and_one_row_per_mark_and_adjustment() {
    let tour = tour();
    let path = tour.env.dir.path().join("评分明细.csv");
    export::export_marks_csv(&tour.env.ctx, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let text =
        std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").expect("a UTF-8 BOM")).unwrap();
    assert!(text.ends_with("\r\n"));
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "every line ends in CRLF"
    );
    let mut lines: Vec<&str> = text.trim_end_matches("\r\n").split("\r\n").collect();
    // The first line names the rubric version the marks were given on; the header follows.
    let version = guanmo_api::rubric::get_rubric(&tour.env.ctx)
        .unwrap()
        .version;
    assert!(
        lines.remove(0).ends_with(&format!(" 第{version}版")),
        "the rubric version line comes first"
    );
    assert_eq!(
        lines[0],
        "乡镇(街道),区划代码,评委,分组,类别,细则,分值,得分,备注,状态,提交时间"
    );
    let sheets: Vec<_> = scoring::list_sheets(&tour.env.ctx)
        .unwrap()
        .into_iter()
        .filter(|s| s.status == SheetStatus::Submitted)
        .collect();
    assert_eq!(sheets.len(), 11);
    let expected: usize = sheets
        .iter()
        .map(|s| s.marks.len() + s.adjustments.len())
        .sum();
    assert_eq!(expected, 11 * 18 + 2);
    assert_eq!(lines.len() - 1, expected);
    let penalty = lines
        .iter()
        .find(|l| l.contains("负面问题扣分(减分)"))
        .unwrap();
    assert!(
        penalty.contains(",加减分项,负面问题扣分(减分),5,-1,,"),
        "{penalty}"
    );
    let noted = lines.iter().find(|l| l.contains(NOTE)).unwrap();
    assert!(
        noted.contains(&format!(",'{NOTE},")),
        "a formula-looking note is escaped: {noted}"
    );
    let resubmitted = lines
        .iter()
        .find(|l| l.contains("已提交(曾解锁:误填)"))
        .unwrap();
    assert!(resubmitted.contains("李卫东"), "{resubmitted}");
}
