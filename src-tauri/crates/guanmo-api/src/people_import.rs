//! Importing and exporting the list of people (人员名单) as CSV or XLSX. Invariant: an import
//! is checked whole first — every row, the ties to registered scorers, duplicates — and any
//! error refuses the file with nothing written; otherwise it is applied in one write
//! transaction. It merges: a row whose 姓名+单位 matches a person updates them (same id, and
//! their PINs and one-time codes, which are per device and never in the file), other rows add
//! people, and people absent from the file stay as they are.

use crate::exchange::people_file::{
    read_people, row_problem, write_people_csv, write_people_xlsx, PeopleRow, PersonLine,
};
use crate::exchange::{self, FileFormat};
use crate::files::write_atomically;
use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use guanmo_domain::people::{validate_person, Person, PersonInput, PersonRole};
use guanmo_domain::problem::{has_errors, Problem, ProblemCode, Severity};
use guanmo_domain::scoring::Scorer;
use guanmo_store::people as store;
use serde::Serialize;
use specta::Type;
use std::collections::HashMap;
use std::path::Path;

/// What a people import did, with the warnings the organiser should read.
#[derive(Debug, Clone, Serialize, Type)]
pub struct PeopleImportReport {
    /// New people.
    pub added: i32,
    /// People (matched by 姓名+单位) whose details changed.
    pub updated: i32,
    /// People in the file exactly as they already were.
    pub unchanged: i32,
    /// People not in the file, left as they are (not deleted).
    pub not_in_file: i32,
    /// Warnings only: errors refuse the import.
    pub problems: Vec<Problem>,
}

/// Imports a people file (CSV in UTF-8/UTF-16/GBK, or XLSX). Organiser's hub only. All rows
/// are checked first; any error refuses the whole file and nothing changes.
pub fn import_people(ctx: &Ctx, path: &Path) -> ApiResult<PeopleImportReport> {
    let format = exchange::format_from_path(path)?;
    let bytes = exchange::read_file_limited(path)?;
    import_people_bytes(ctx, &bytes, format)
}

/// One row ready to apply: the person it updates (`None`: a new person) and what they become.
struct Planned<'a> {
    row: u32,
    existing: Option<&'a Person>,
    input: PersonInput,
}

/// [`import_people`] on bytes already read.
pub fn import_people_bytes(
    ctx: &Ctx,
    bytes: &[u8],
    format: FileFormat,
) -> ApiResult<PeopleImportReport> {
    ctx.ensure_organiser()?;
    let parsed = read_people(bytes, format)?;
    let scorers = crate::scoring::list_scorers(ctx)?;
    let existing: Vec<Person> = ctx
        .store
        .read(store::list_people)?
        .into_iter()
        .filter(|p| !p.is_unassigned())
        .collect();
    let me = crate::people::signed_in(ctx)?;
    let mut problems = parsed.warnings;
    let mut plan: Vec<Planned<'_>> = Vec::with_capacity(parsed.rows.len());
    let mut first_row: HashMap<(&str, &str), u32> = HashMap::new();
    for PeopleRow { row, line } in &parsed.rows {
        let row = *row;
        if let Some(first) = first_row.insert((&line.name, &line.work_unit), row) {
            problems.push(row_problem(
                row,
                ProblemCode::Duplicate,
                "姓名",
                &format!("「{}」与第{first}行重复(姓名和单位都相同)", who(line)),
            ));
            continue;
        }
        let (input, mut row_problems) = person_input(row, line, &scorers);
        let matches: Vec<&Person> = existing
            .iter()
            .filter(|p| p.name == input.name && p.work_unit == input.work_unit)
            .collect();
        let target = match matches.as_slice() {
            [] => None,
            [p] => Some(*p),
            many => {
                row_problems.push(row_problem(
                    row,
                    ProblemCode::Duplicate,
                    "姓名",
                    &format!(
                        "人员名单中已有{}名「{}」,无法确定更新哪一位,请先在人员页面区分",
                        many.len(),
                        who(line)
                    ),
                ));
                None
            }
        };
        if let (Some(p), Some(me)) = (target, &me) {
            if p.id == me.id && !(input.active && input.roles.contains(&PersonRole::Organiser)) {
                row_problems.push(row_problem(
                    row,
                    ProblemCode::Invalid,
                    "角色",
                    "不能在导入中取消您本人(当前登录)的组织方角色或将本人停用",
                ));
            }
        }
        let usable = !has_errors(&row_problems);
        problems.append(&mut row_problems);
        if usable {
            plan.push(Planned {
                row,
                existing: target,
                input,
            });
        }
    }
    problems.extend(scorer_clashes(&plan, &existing, &scorers));
    let not_in_file = existing
        .iter()
        .filter(|p| {
            !plan
                .iter()
                .any(|r| r.existing.is_some_and(|e| e.id == p.id))
        })
        .count();
    if not_in_file > 0 {
        problems.push(Problem::warning(
            ProblemCode::NotInFile,
            "人员名单",
            format!("人员名单中有{not_in_file}人不在文件中,保持不变(不会删除)"),
        ));
    }
    if has_errors(&problems) {
        problems.sort_by_key(|p| (p.severity != Severity::Error, p.row.unwrap_or(0)));
        return Err(ApiError::with_problems(
            ErrorCode::ImportInvalid,
            "people import refused",
            problems,
        ));
    }

    let (mut added, mut updated, mut unchanged) = (0, 0, 0);
    let mut updates = Vec::new();
    let mut adds = Vec::new();
    for r in &plan {
        match r.existing {
            Some(p) if same(p, &r.input) => unchanged += 1,
            Some(p) => {
                updated += 1;
                updates.push((p, &r.input));
            }
            None => {
                added += 1;
                adds.push(&r.input);
            }
        }
    }
    let author = ctx.author()?;
    ctx.store.write(ctx.now(), &author, |tx| {
        // One person per scorer holds after every statement (a unique index), so a scorer
        // moving between people in the file is first let go by its old holder.
        let mut versions: HashMap<&str, i32> = HashMap::new();
        for (p, input) in &updates {
            if p.scorer_id.is_some() && p.scorer_id != input.scorer_id {
                let released = PersonInput {
                    scorer_id: None,
                    ..(*input).clone()
                };
                let v = store::update_person(tx, &p.id, p.version, &released)?.version;
                versions.insert(&p.id, v);
            }
        }
        for (p, input) in &updates {
            let version = versions.get(p.id.as_str()).copied().unwrap_or(p.version);
            store::update_person(tx, &p.id, version, input)?;
        }
        for input in &adds {
            store::insert_person(tx, &guanmo_domain::ids::new_id(), input)?;
        }
        Ok(())
    })?;
    Ok(PeopleImportReport {
        added,
        updated,
        unchanged,
        not_in_file: i32::try_from(not_in_file).unwrap_or(i32::MAX),
        problems,
    })
}

/// 张三(市委办公室), or 张三 when the work unit is blank.
fn who(line: &PersonLine) -> String {
    if line.work_unit.is_empty() {
        line.name.clone()
    } else {
        format!("{}({})", line.name, line.work_unit)
    }
}

/// The person a line describes, validated, with its problems at the line's row.
fn person_input(row: u32, line: &PersonLine, scorers: &[Scorer]) -> (PersonInput, Vec<Problem>) {
    let mut problems = Vec::new();
    let is_scorer = line.roles.contains(&PersonRole::Scorer);
    let mut scorer_reported = false;
    let scorer_id = if !is_scorer || line.scorer.is_empty() {
        None
    } else {
        match find_scorer(scorers, &line.scorer, &line.work_unit) {
            Ok(s) => Some(s.id.clone()),
            Err(message) => {
                problems.push(row_problem(
                    row,
                    ProblemCode::Invalid,
                    "对应评分人",
                    &message,
                ));
                scorer_reported = true;
                None
            }
        }
    };
    if !is_scorer && !line.scorer.is_empty() {
        problems.push(
            Problem::warning(
                ProblemCode::Invalid,
                "对应评分人",
                format!(
                    "第{row}行:「{}」不是评分人,「对应评分人」一栏已忽略",
                    line.name
                ),
            )
            .at_row(row),
        );
    }
    let mut input = PersonInput {
        name: line.name.clone(),
        work_unit: line.work_unit.clone(),
        title: line.title.clone(),
        roles: line.roles.clone(),
        scorer_id,
        active: line.active,
    };
    for p in validate_person(&mut input) {
        if scorer_reported && p.location == "对应评分人" {
            continue;
        }
        let message = if p.location == "对应评分人" {
            "评分人须在「对应评分人」一栏填写一名已登记的评分人员的姓名(评分 › 评分人员)"
                .to_string()
        } else {
            p.message
        };
        problems.push(row_problem(row, p.code, &p.location, &message));
    }
    (input, problems)
}

/// The registered scorer a 对应评分人 cell names: by name; by name and 单位 when two scorers
/// share the name; or written as 姓名(单位), as export writes a shared name.
fn find_scorer<'a>(
    scorers: &'a [Scorer],
    cell: &str,
    work_unit: &str,
) -> Result<&'a Scorer, String> {
    let named: Vec<&Scorer> = scorers.iter().filter(|s| s.name == cell).collect();
    match named.as_slice() {
        [one] => return Ok(one),
        [] => {}
        many => {
            let same_unit: Vec<&&Scorer> =
                many.iter().filter(|s| s.work_unit == work_unit).collect();
            return match same_unit.as_slice() {
                [one] => Ok(**one),
                _ => Err(format!(
                    "有{}名评分人员同名「{cell}」,请让本行的单位与其中一名的单位一致,或写作「{cell}(单位)」",
                    many.len()
                )),
            };
        }
    }
    if let Some((name, unit)) = split_unit(cell) {
        if let [one] = scorers
            .iter()
            .filter(|s| s.name == name && s.work_unit == unit)
            .collect::<Vec<_>>()
            .as_slice()
        {
            return Ok(one);
        }
    }
    Err(format!(
        "评分人员「{cell}」尚未登记,请先在 评分 › 评分人员 中登记,或更正姓名"
    ))
}

/// `张三(市委办)` or `张三（市委办）` → (张三, 市委办).
fn split_unit(cell: &str) -> Option<(&str, &str)> {
    let inner = cell.strip_suffix(')').or_else(|| cell.strip_suffix('）'))?;
    let open = inner.rfind(['(', '（'])?;
    let name = inner.get(..open)?.trim();
    let paren_len = inner.get(open..)?.chars().next()?.len_utf8();
    let unit = inner.get(open + paren_len..)?.trim();
    (!name.is_empty()).then_some((name, unit))
}

/// How export names a scorer: by name, or 姓名(单位) when another scorer has the same name.
fn scorer_label(scorers: &[Scorer], s: &Scorer) -> String {
    let shared = scorers.iter().filter(|o| o.name == s.name).count() > 1;
    if shared && !s.work_unit.is_empty() {
        format!("{}({})", s.name, s.work_unit)
    } else {
        s.name.clone()
    }
}

/// A scorer may be tied to one person only: not by two rows, nor by a row while a person
/// outside the file keeps it.
fn scorer_clashes(plan: &[Planned<'_>], existing: &[Person], scorers: &[Scorer]) -> Vec<Problem> {
    let mut out = Vec::new();
    let mut claimed: HashMap<&str, u32> = HashMap::new();
    let scorer_name = |id: &str| {
        scorers
            .iter()
            .find(|s| s.id == id)
            .map_or_else(|| id.to_string(), |s| scorer_label(scorers, s))
    };
    for r in plan {
        let Some(id) = r.input.scorer_id.as_deref() else {
            continue;
        };
        if let Some(first) = claimed.insert(id, r.row) {
            out.push(row_problem(
                r.row,
                ProblemCode::Duplicate,
                "对应评分人",
                &format!("评分人员「{}」已在第{first}行对应了他人", scorer_name(id)),
            ));
            continue;
        }
        let outside = existing.iter().find(|p| {
            p.scorer_id.as_deref() == Some(id)
                && !plan
                    .iter()
                    .any(|q| q.existing.is_some_and(|e| e.id == p.id))
        });
        if let Some(p) = outside {
            out.push(row_problem(
                r.row,
                ProblemCode::Duplicate,
                "对应评分人",
                &format!(
                    "评分人员「{}」已对应{},而此人不在文件中",
                    scorer_name(id),
                    p.name
                ),
            ));
        }
    }
    out
}

/// Whether importing `input` over `p` would change nothing.
fn same(p: &Person, input: &PersonInput) -> bool {
    let mut roles = p.roles.clone();
    roles.sort();
    roles.dedup();
    p.name == input.name
        && p.work_unit == input.work_unit
        && p.title == input.title
        && roles == input.roles
        && p.scorer_id == input.scorer_id
        && p.active == input.active
}

/// Writes everyone but 未指定 to `path` as CSV (UTF-8 with BOM, for Excel) or XLSX, in the
/// columns import reads, so the file can be edited and imported back. For 组织方.
pub fn export_people(ctx: &Ctx, path: &Path, format: FileFormat) -> ApiResult<()> {
    crate::people::ensure_person_role(ctx, PersonRole::Organiser)?;
    let scorers = crate::scoring::list_scorers(ctx)?;
    let lines: Vec<PersonLine> = ctx
        .store
        .read(store::list_people)?
        .into_iter()
        .filter(|p| !p.is_unassigned())
        .map(|p| PersonLine {
            scorer: p
                .scorer_id
                .as_deref()
                .and_then(|id| scorers.iter().find(|s| s.id == id))
                .map(|s| scorer_label(&scorers, s))
                .unwrap_or_default(),
            name: p.name,
            work_unit: p.work_unit,
            title: p.title,
            roles: p.roles,
            active: p.active,
        })
        .collect();
    let bytes = match format {
        FileFormat::Csv => write_people_csv(&lines)?,
        FileFormat::Xlsx => write_people_xlsx(&lines)?,
        FileFormat::Json => {
            return Err(ApiError::new(
                ErrorCode::UnsupportedFormat,
                "people export is CSV or XLSX",
            ))
        }
    };
    write_atomically(path, &bytes)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::scoring;
    use guanmo_domain::device::Role;
    use guanmo_domain::scoring::ScorerInput;
    use guanmo_domain::SystemClock;
    use std::sync::Arc;

    fn open() -> (tempfile::TempDir, Ctx) {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Ctx::open(dir.path(), Arc::new(SystemClock)).unwrap();
        (dir, ctx)
    }

    fn scorer(ctx: &Ctx, name: &str, work_unit: &str) -> Scorer {
        scoring::register_scorer(
            ctx,
            ScorerInput {
                name: name.into(),
                group: "市领导".into(),
                township_id: None,
                active: true,
                work_unit: work_unit.into(),
            },
        )
        .unwrap()
    }

    fn people(ctx: &Ctx) -> Vec<Person> {
        ctx.store
            .read(store::list_people)
            .unwrap()
            .into_iter()
            .filter(|p| !p.is_unassigned())
            .collect()
    }

    fn csv(ctx: &Ctx, text: &str) -> ApiResult<PeopleImportReport> {
        import_people_bytes(ctx, text.as_bytes(), FileFormat::Csv)
    }

    fn refused(r: ApiResult<PeopleImportReport>) -> Vec<Problem> {
        let e = r.expect_err("the import must be refused");
        assert_eq!(e.code, ErrorCode::ImportInvalid, "{e:?}");
        e.problems.into_iter().filter(Problem::is_error).collect()
    }

    const HEADER: &str = "姓名,单位,职务,角色,对应评分人,状态";

    #[test]
    fn people_import_reads_a_gbk_csv_with_chinese_roles() {
        let (_d, ctx) = open();
        let s = scorer(&ctx, "李四", "市纪委");
        let text = format!(
            "{HEADER}\r\n张三,市委办公室,副主任,组织方,,启用\r\n李四,市纪委,书记,评分人,李四,\r\n王五,,,监票人、计票人,,停用\r\n"
        );
        let (gbk, _, had_errors) = encoding_rs::GBK.encode(&text);
        assert!(!had_errors);
        let r = import_people_bytes(&ctx, &gbk, FileFormat::Csv).unwrap();
        assert_eq!(
            (r.added, r.updated, r.unchanged, r.not_in_file),
            (3, 0, 0, 0)
        );
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        let all = people(&ctx);
        assert_eq!(all.len(), 3);
        assert_eq!(
            (all[0].name.as_str(), all[0].title.as_str()),
            ("张三", "副主任")
        );
        assert_eq!(all[0].roles, vec![PersonRole::Organiser]);
        assert_eq!(all[1].scorer_id.as_deref(), Some(s.id.as_str()));
        assert_eq!(all[2].roles, vec![PersonRole::Monitor, PersonRole::Counter]);
        assert!(!all[2].active);
    }

    #[test]
    fn people_import_reads_an_xlsx_made_in_excel() {
        let (_d, ctx) = open();
        let s = scorer(&ctx, "赵六", "");
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in (0u16..).zip(["姓名", "单位", "角色", "评分人"]) {
            ws.write_string(0, c, h).unwrap();
        }
        for (c, v) in (0u16..).zip(["赵六", "市发改委", "评分人、编辑", "赵六"]) {
            ws.write_string(1, c, v).unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("人员名单.XLSX");
        wb.save(&path).unwrap();
        let r = import_people(&ctx, &path).unwrap();
        assert_eq!(r.added, 1);
        let p = &people(&ctx)[0];
        assert_eq!(p.roles, vec![PersonRole::Scorer, PersonRole::Editor]);
        assert_eq!(p.scorer_id.as_deref(), Some(s.id.as_str()));
        assert_eq!(p.work_unit, "市发改委");
    }

    #[test]
    fn people_import_refuses_a_scorer_row_without_a_registered_scorer_and_writes_nothing() {
        let (_d, ctx) = open();
        scorer(&ctx, "李四", "");
        let text =
            format!("{HEADER}\n张三,市委办,,编辑,,\n李四,市纪委,,评分人,李思,\n王五,,,评分人,,\n");
        let p = refused(csv(&ctx, &text));
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!((p[0].row, p[0].location.as_str()), (Some(3), "对应评分人"));
        assert!(p[0].message.starts_with("第3行"), "{}", p[0].message);
        assert!(
            p[0].message.contains("「李思」尚未登记"),
            "{}",
            p[0].message
        );
        assert_eq!((p[1].row, p[1].location.as_str()), (Some(4), "对应评分人"));
        assert!(p[1].message.contains("对应评分人"), "{}", p[1].message);
        assert!(
            people(&ctx).is_empty(),
            "nothing is written when any row is wrong"
        );
    }

    #[test]
    fn people_import_again_updates_in_place_and_keeps_ids_and_pins() {
        let (_d, ctx) = open();
        let first = format!("{HEADER}\n张三,市委办,副主任,组织方,,\n李四,市纪委,,编辑,,\n");
        csv(&ctx, &first).unwrap();
        let before = people(&ctx);
        crate::people::set_pin(&ctx, &before[1].id, "205817").unwrap();

        let second =
            format!("{HEADER}\n李四,市纪委,科长,编辑、审核员,,\n张三,市委办,副主任,组织方,,\n");
        let r = csv(&ctx, &second).unwrap();
        assert_eq!(
            (r.added, r.updated, r.unchanged, r.not_in_file),
            (0, 1, 1, 0)
        );
        let after = people(&ctx);
        assert_eq!(after.len(), 2, "re-import must not duplicate");
        assert_eq!(after[1].id, before[1].id);
        assert_eq!(after[1].title, "科长");
        assert_eq!(
            after[1].roles,
            vec![PersonRole::Editor, PersonRole::Moderator]
        );
        assert_eq!(after[1].version, before[1].version + 1);
        assert_eq!(
            after[0].version, before[0].version,
            "an unchanged person is not rewritten"
        );
        assert!(ctx
            .store
            .read(|c| store::pin(c, &before[1].id))
            .unwrap()
            .is_some());

        let r = csv(&ctx, &format!("{HEADER}\n王五,,,计票人,,\n")).unwrap();
        assert_eq!((r.added, r.not_in_file), (1, 2));
        let w = r
            .problems
            .iter()
            .find(|p| p.code == ProblemCode::NotInFile)
            .unwrap();
        assert!(
            w.message.contains("2人") && w.message.contains("不会删除"),
            "{}",
            w.message
        );
        assert_eq!(people(&ctx).len(), 3, "people not in the file stay");
    }

    #[test]
    fn people_import_names_an_unknown_role_label() {
        let (_d, ctx) = open();
        let p = refused(csv(&ctx, "姓名,角色\n张三,编辑\n李四,领导\n"));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!((p[0].row, p[0].location.as_str()), (Some(3), "角色"));
        assert!(p[0].message.contains("「领导」"), "{}", p[0].message);
        assert!(people(&ctx).is_empty());
    }

    #[test]
    fn people_import_takes_two_roles_in_one_cell_and_warns_of_unknown_columns() {
        let (_d, ctx) = open();
        let r = csv(
            &ctx,
            "姓名,角色,手机\n张三,\"编辑,审核员\",139\n李四,乡镇联络员；监票人,\n",
        )
        .unwrap();
        assert_eq!(r.added, 2);
        assert_eq!(r.problems.len(), 1);
        assert_eq!(r.problems[0].code, ProblemCode::UnknownColumn);
        let all = people(&ctx);
        assert_eq!(
            all[0].roles,
            vec![PersonRole::Editor, PersonRole::Moderator]
        );
        assert_eq!(all[1].roles, vec![PersonRole::Monitor, PersonRole::Liaison]);
    }

    #[test]
    fn people_import_refuses_the_same_person_twice_in_one_file() {
        let (_d, ctx) = open();
        let p = refused(csv(&ctx, "姓名,单位,角色\n张三,市委办,编辑\n李四,市委办,编辑\n张三,市委办,审核员\n张三,市纪委,编辑\n"));
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!((p[0].row, p[0].code), (Some(4), ProblemCode::Duplicate));
        assert!(p[0].message.contains("第2行"), "{}", p[0].message);
    }

    #[test]
    fn people_import_ties_a_shared_scorer_name_by_work_unit() {
        let (_d, ctx) = open();
        let a = scorer(&ctx, "王强", "市委办");
        let b = scorer(&ctx, "王强", "市财政局");
        csv(
            &ctx,
            "姓名,单位,角色,评分人\n王强,市财政局,评分人,王强\n王强,市委办,评分人,王强\n",
        )
        .unwrap();
        let all = people(&ctx);
        assert_eq!(all[0].scorer_id.as_deref(), Some(b.id.as_str()));
        assert_eq!(all[1].scorer_id.as_deref(), Some(a.id.as_str()));
        let p = refused(csv(
            &ctx,
            "姓名,单位,角色,评分人\n王强,市教育局,评分人,王强\n",
        ));
        assert!(p[0].message.contains("2名评分人员同名"), "{}", p[0].message);
    }

    #[test]
    fn people_import_refuses_a_scorer_tied_twice_but_lets_two_people_swap_scorers() {
        let (_d, ctx) = open();
        scorer(&ctx, "甲", "");
        scorer(&ctx, "乙", "");
        csv(&ctx, "姓名,角色,评分人\n张三,评分人,甲\n李四,评分人,乙\n").unwrap();
        let p = refused(csv(&ctx, "姓名,角色,评分人\n王五,评分人,甲\n"));
        assert!(p[0].message.contains("已对应张三"), "{}", p[0].message);
        let p = refused(csv(
            &ctx,
            "姓名,角色,评分人\n张三,评分人,乙\n李四,评分人,乙\n",
        ));
        assert_eq!(p[0].row, Some(3));

        let r = csv(&ctx, "姓名,角色,评分人\n张三,评分人,乙\n李四,评分人,甲\n").unwrap();
        assert_eq!(r.updated, 2);
        let scorers = scoring::list_scorers(&ctx).unwrap();
        let id_of = |n: &str| scorers.iter().find(|s| s.name == n).map(|s| s.id.clone());
        let all = people(&ctx);
        assert_eq!(all[0].scorer_id, id_of("乙"));
        assert_eq!(all[1].scorer_id, id_of("甲"));
    }

    #[test]
    fn people_import_is_refused_on_a_laptop() {
        let (_d, ctx) = open();
        ctx.store
            .write_without_ops(ctx.now(), "system", |tx| {
                guanmo_store::meta::set(tx, crate::DEVICE_ROLE, Role::Scorer.as_str())
            })
            .unwrap();
        let e = csv(&ctx, "姓名,角色\n张三,编辑\n").unwrap_err();
        assert_eq!(e.code, ErrorCode::HubOnly);
        assert!(people(&ctx).is_empty());
    }

    #[test]
    fn people_import_needs_a_signed_in_organiser_who_keeps_their_own_role() {
        use crate::people::{ask_who_is_working, set_pin, sign_in, sign_out};
        let (_d, ctx) = open();
        ask_who_is_working(&ctx).unwrap();
        csv(&ctx, "姓名,单位,角色\n周主任,市委办,组织方\n张三,,编辑\n").unwrap();
        let all = people(&ctx);
        let (boss, zhang) = (&all[0], &all[1]);
        set_pin(&ctx, &boss.id, "205817").unwrap();
        let e = csv(&ctx, "姓名,角色\n王五,编辑\n").unwrap_err();
        assert_eq!(e.code, ErrorCode::SignInRequired);

        sign_in(&ctx, &boss.id, "205817").unwrap();
        set_pin(&ctx, &zhang.id, "730164").unwrap();
        sign_out(&ctx, false).unwrap();
        sign_in(&ctx, &zhang.id, "730164").unwrap();
        let e = csv(&ctx, "姓名,角色\n王五,编辑\n").unwrap_err();
        assert_eq!(e.code, ErrorCode::Forbidden, "only 组织方 imports people");

        sign_out(&ctx, false).unwrap();
        sign_in(&ctx, &boss.id, "205817").unwrap();
        let p = refused(csv(&ctx, "姓名,单位,角色\n周主任,市委办,编辑\n"));
        assert!(p[0].message.contains("本人"), "{}", p[0].message);
        csv(&ctx, "姓名,角色\n王五,编辑\n").unwrap();
        let changes = ctx.store.changes_since(0, u32::MAX).unwrap();
        assert_eq!(
            changes.last().unwrap().actor,
            format!("organiser|{}|周主任", boss.id),
            "the import names who made it"
        );
        assert_eq!(people(&ctx).len(), 3);
    }

    #[test]
    fn people_export_then_import_changes_nothing_in_either_format() {
        let (_d, ctx) = open();
        scorer(&ctx, "王强", "市委办");
        scorer(&ctx, "王强", "市财政局");
        csv(
            &ctx,
            "姓名,单位,职务,角色,评分人,状态\n王强,市财政局,局长,评分人、组织方,王强,\n=李四,\"市纪委,二室\",,编辑,,停用\n",
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        for (file, format) in [("p.csv", FileFormat::Csv), ("p.xlsx", FileFormat::Xlsx)] {
            let path = dir.path().join(file);
            export_people(&ctx, &path, format).unwrap();
            let r = import_people(&ctx, &path).unwrap();
            assert_eq!(
                (r.added, r.updated, r.unchanged),
                (0, 0, 2),
                "{file}: {:?}",
                r.problems
            );
        }
        let text = std::fs::read(dir.path().join("p.csv")).unwrap();
        let text = String::from_utf8_lossy(&text);
        assert!(
            text.contains("王强(市财政局)"),
            "a shared scorer name carries its unit: {text}"
        );
    }
}
