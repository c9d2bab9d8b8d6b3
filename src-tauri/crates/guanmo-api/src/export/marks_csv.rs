//! The raw marks as CSV (评分明细): one row per criterion mark and one per 加减分项 entry of
//! every submitted sheet, for offices that re-tally in their own spreadsheet. Invariant: the
//! same file style as the roster export — UTF-8 with a BOM, CRLF line ends — and text a
//! spreadsheet would run as a formula is escaped with `'`; the numbers we print ourselves are
//! never escaped, so a penalty stays a negative number. The first line names the rubric
//! version the marks were given on (评分标准:… 第N版, with its reason if revised); the column
//! header follows on the second.

use super::{beijing_time, mark_points, points_text, signed, Results};
use crate::exchange::cells::escape_formula;

/// The columns, in file order.
const HEADER: [&str; 11] = [
    "乡镇(街道)",
    "区划代码",
    "评委",
    "分组",
    "类别",
    "细则",
    "分值",
    "得分",
    "备注",
    "状态",
    "提交时间",
];

/// The CSV bytes.
pub(super) fn build(res: &Results) -> Result<Vec<u8>, csv::Error> {
    let mut out = b"\xEF\xBB\xBF".to_vec();
    {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            // The version line is one field; every row after it has the header's width.
            .flexible(true)
            .from_writer(&mut out);
        w.write_record([text(&res.rubric_lines())])?;
        w.write_record(HEADER)?;
        for sheet in &res.submitted {
            let township = res.township(&sheet.township_id);
            let scorer = res.scorer(&sheet.scorer_id);
            let mut status = match &sheet.unlock_reason {
                Some(r) => format!("已提交(曾解锁:{r})"),
                None => "已提交".to_string(),
            };
            if res.late.contains(&sheet.id) {
                status.push_str("(逾期)");
            }
            let submitted_at = sheet
                .submitted_at
                .as_deref()
                .map(beijing_time)
                .unwrap_or_default();
            let head = [
                text(&res.township_name(&sheet.township_id)),
                text(township.map_or("", |t| t.code.as_str())),
                text(&res.scorer_name(&sheet.scorer_id)),
                text(scorer.map_or("", |s| s.group.as_str())),
            ];
            let tail = [text(&status), text(&submitted_at)];
            // Marks of criteria retired from the rubric no longer count; they are left out.
            let rubric = res.rubric_of(&sheet.township_id);
            let criteria = rubric
                .categories
                .iter()
                .flat_map(|c| c.criteria.iter().map(move |k| (c, k)));
            for (cat, crit) in criteria {
                let Some(id) = crit.id.as_deref() else {
                    continue;
                };
                let Some(mark) = sheet.marks.iter().find(|m| m.criterion_id == id) else {
                    continue;
                };
                let fields = [
                    text(&cat.name),
                    text(&crit.name),
                    points_text(crit.max_points),
                    mark_points(sheet, id).map(points_text).unwrap_or_default(),
                    text(&mark.note),
                ];
                w.write_record(head.iter().chain(&fields).chain(&tail))?;
            }
            for adj in &rubric.adjustments {
                let Some(mark) = sheet
                    .adjustments
                    .iter()
                    .find(|a| a.adjustment_id.as_str() == adj.id.as_deref().unwrap_or_default())
                else {
                    continue;
                };
                let fields = [
                    "加减分项".to_string(),
                    text(&format!("{}({})", adj.name, adj.kind.label())),
                    points_text(adj.limit_points),
                    mark.points
                        .map(|p| points_text(signed(adj.kind, p)))
                        .unwrap_or_default(),
                    text(&mark.note),
                ];
                w.write_record(head.iter().chain(&fields).chain(&tail))?;
            }
        }
        w.flush()?;
    }
    Ok(out)
}

/// A text cell, escaped if a spreadsheet would run it as a formula.
fn text(s: &str) -> String {
    escape_formula(s).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_names_the_rubric_version_and_the_header_follows() {
        let dir = tempfile::tempdir().unwrap();
        let ctx =
            crate::Ctx::open(dir.path(), std::sync::Arc::new(guanmo_domain::SystemClock)).unwrap();
        let mut next = crate::rubric::get_rubric(&ctx).unwrap();
        next.title = "观摩评分表".into();
        let saved = crate::rubric::save_rubric(&ctx, next).unwrap();
        let path = dir.path().join("明细.csv");
        crate::export::export_marks_csv(&ctx, &path).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let text = std::str::from_utf8(&bytes[3..]).unwrap();
        let mut lines = text.split("\r\n");
        assert_eq!(
            lines.next(),
            Some(format!("评分标准:观摩评分表 第{}版", saved.version).as_str())
        );
        assert_eq!(lines.next(), Some(HEADER.join(",").as_str()));
    }

    #[test]
    fn formula_looking_text_is_escaped_and_plain_text_is_not() {
        assert_eq!(escape_formula("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(escape_formula("+86 电话"), "'+86 电话");
        assert_eq!(escape_formula("'=already"), "''=already");
        assert_eq!(escape_formula("水口山镇"), "水口山镇");
        assert_eq!(escape_formula("a=b"), "a=b");
    }
}
