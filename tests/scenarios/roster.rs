//! Roster: defaults on first start, edits, reorder, and every kind of bad import file.

use crate::support::Env;
use guanmo_api::exchange::FileFormat;
use guanmo_api::roster::{self, import_roster, import_roster_bytes};
use guanmo_api::ErrorCode;
use guanmo_domain::problem::ProblemCode;
use guanmo_domain::roster::{TownshipInput, TownshipKind};

const HEADER: &str = "顺序,名称,类型,区划代码,启用,观摩日,到达时间,时长(分钟),备注\n";

fn csv_of(n: usize) -> String {
    let mut s = String::from(HEADER);
    for i in 0..n {
        s.push_str(&format!(
            "{},测试{i}镇,镇,4304829{i:02}000,是,1,09:{:02},40,\n",
            i + 1,
            i % 60
        ));
    }
    s
}

fn input_from(t: &guanmo_domain::roster::Township) -> TownshipInput {
    TownshipInput {
        code: t.code.clone(),
        name: t.name.clone(),
        kind: t.kind,
        enabled: t.enabled,
        day: t.day,
        arrival: t.arrival.clone(),
        slot_minutes: t.slot_minutes,
        note: t.note.clone(),
    }
}

#[test]
fn first_start_has_the_22_townships_and_tiantangshan_disabled() {
    let env = Env::new();
    let list = roster::list_townships(&env.ctx).unwrap();
    assert_eq!(list.len(), 23);
    assert_eq!(list.iter().filter(|t| t.enabled).count(), 22);
    assert_eq!(list[0].name, "宜阳街道");
    assert_eq!(list[0].code, "430482001000");
    assert_eq!(list[21].name, "塔山瑶族乡");
    assert_eq!(list[21].kind, TownshipKind::EthnicTownship);
    let tts = list.iter().find(|t| t.name == "天堂山街道").unwrap();
    assert!(!tts.enabled);
    assert_eq!(tts.code, "430482006000");
    let positions: Vec<i32> = list.iter().map(|t| t.position).collect();
    assert_eq!(positions, (1..=23).collect::<Vec<_>>());
}

#[test]
fn defaults_are_seeded_once_and_edits_survive_a_restart() {
    let env = Env::new();
    let t = roster::list_townships(&env.ctx).unwrap()[5].clone();
    let mut input = input_from(&t);
    input.arrival = Some("9:40".into());
    input.day = Some(1);
    input.slot_minutes = Some(45);
    input.note = "水口山铅锌矿工业遗址;康家湾社区".into();
    let saved = roster::update_township(&env.ctx, &t.id, t.version, input).unwrap();
    assert_eq!(
        saved.arrival.as_deref(),
        Some("09:40"),
        "times are normalised"
    );
    assert_eq!(saved.version, t.version + 1);

    let again = env.reopen();
    let list = roster::list_townships(&again).unwrap();
    assert_eq!(list.len(), 23, "reopening must not seed a second time");
    let back = list.iter().find(|x| x.id == t.id).unwrap();
    assert_eq!(back, &saved);
}

#[test]
fn a_stale_edit_is_refused_with_a_version_conflict() {
    let env = Env::new();
    let t = roster::list_townships(&env.ctx).unwrap()[0].clone();
    roster::update_township(&env.ctx, &t.id, t.version, input_from(&t)).unwrap();
    let err = roster::update_township(&env.ctx, &t.id, t.version, input_from(&t)).unwrap_err();
    assert_eq!(err.code, ErrorCode::VersionConflict);
}

#[test]
fn adding_a_duplicate_code_or_name_is_refused_in_words() {
    let env = Env::new();
    let t = roster::list_townships(&env.ctx).unwrap()[0].clone();
    let before = env.snapshot();
    let mut dup = input_from(&t);
    dup.name = "新名字镇".into();
    let err = roster::add_township(&env.ctx, dup).unwrap_err();
    assert_eq!(err.code, ErrorCode::Validation);
    assert!(
        err.problems[0].message.contains("已被「宜阳街道」使用"),
        "{:?}",
        err.problems
    );
    assert_eq!(env.snapshot(), before);
}

#[test]
fn bad_fields_are_refused_with_every_problem_named() {
    let env = Env::new();
    let before = env.snapshot();
    let err = roster::add_township(
        &env.ctx,
        TownshipInput {
            code: "43048".into(),
            name: "  ".into(),
            kind: TownshipKind::Town,
            enabled: true,
            day: Some(3),
            arrival: Some("25:00".into()),
            slot_minutes: Some(0),
            note: String::new(),
        },
    )
    .unwrap_err();
    let fields: Vec<&str> = err.problems.iter().map(|p| p.location.as_str()).collect();
    for f in ["区划代码", "名称", "观摩日", "到达时间", "时长"] {
        assert!(fields.contains(&f), "{f} missing from {fields:?}");
    }
    assert_eq!(env.snapshot(), before);
}

#[test]
fn reorder_sets_the_visit_order_and_refuses_a_partial_list() {
    let env = Env::new();
    let list = roster::list_townships(&env.ctx).unwrap();
    let mut ids: Vec<String> = list.iter().map(|t| t.id.clone()).collect();
    ids.swap(0, 1);
    let after = roster::reorder_townships(&env.ctx, ids.clone()).unwrap();
    assert_eq!(after[0].name, "泉峰街道");
    assert_eq!(after[1].name, "宜阳街道");
    ids.pop();
    assert!(roster::reorder_townships(&env.ctx, ids).is_err());
}

#[test]
fn every_write_appends_to_the_change_log() {
    let env = Env::new();
    let n0 = env.ctx.store().changes_since(0, 100_000).unwrap().len();
    let t = roster::list_townships(&env.ctx).unwrap()[0].clone();
    roster::update_township(&env.ctx, &t.id, t.version, input_from(&t)).unwrap();
    let changes = env.ctx.store().changes_since(0, 100_000).unwrap();
    assert_eq!(changes.len(), n0 + 1);
    let last = changes.last().unwrap();
    assert_eq!(
        (last.entity.as_str(), last.op.as_str()),
        ("township", "update")
    );
    assert_eq!(last.entity_id, t.id);
}

#[test]
fn a_gbk_file_from_excel_imports_and_matches_by_code() {
    let env = Env::new();
    let text = format!(
        "{HEADER}1,宜阳街道,街道,430482001000,是,第1天,8:30,50,宜阳街道社区服务中心\r\n\
         2,水口山镇,镇,430482102000,是,第1天,09:40,60,\r\n"
    );
    let (gbk, _, bad) = encoding_rs::GBK.encode(&text);
    assert!(!bad);
    let report = import_roster(&env.ctx, &env.file("名单.csv", &gbk)).unwrap();
    assert_eq!((report.added, report.updated, report.disabled), (0, 2, 20));
    let list = roster::list_townships(&env.ctx).unwrap();
    assert_eq!(list[0].name, "宜阳街道");
    assert_eq!(list[0].arrival.as_deref(), Some("08:30"));
    assert_eq!(list[0].day, Some(1));
    assert_eq!(list[1].name, "水口山镇");
    assert_eq!(list.iter().filter(|t| t.enabled).count(), 2);
    assert!(report
        .problems
        .iter()
        .any(|p| p.code == ProblemCode::UnusualCount));
    assert!(report.problems.iter().all(|p| !p.is_error()));
}

#[test]
fn utf16_and_bom_files_import() {
    for bytes in [
        {
            let mut v = vec![0xEF, 0xBB, 0xBF];
            v.extend_from_slice(csv_of(22).as_bytes());
            v
        },
        {
            let mut v = vec![0xFF, 0xFE];
            for u in csv_of(22).encode_utf16() {
                v.extend_from_slice(&u.to_le_bytes());
            }
            v
        },
    ] {
        let env = Env::new();
        let r = import_roster(&env.ctx, &env.file("r.csv", &bytes)).unwrap();
        assert_eq!(r.added, 22);
        let list = roster::list_townships(&env.ctx).unwrap();
        assert_eq!(list[0].name, "测试0镇");
        assert_eq!(list.iter().filter(|t| t.enabled).count(), 22);
    }
}

#[test]
fn twenty_one_or_twenty_three_enabled_is_a_warning_not_a_refusal() {
    for n in [21, 23] {
        let env = Env::new();
        let r = import_roster_bytes(&env.ctx, csv_of(n).as_bytes(), FileFormat::Csv).unwrap();
        let w = r
            .problems
            .iter()
            .find(|p| p.code == ProblemCode::UnusualCount)
            .unwrap();
        assert!(w.message.contains(&n.to_string()), "{}", w.message);
    }
}

/// A file that must be refused whole, the error and problem codes expected, and a row the
/// message must name (when the problem is about one row).
type BadFile = (
    &'static str,
    String,
    ErrorCode,
    Option<ProblemCode>,
    Option<&'static str>,
);

#[test]
fn bad_roster_files_are_refused_whole_with_the_rows_named() {
    let cases: Vec<BadFile> = vec![
        (
            "empty file",
            String::new(),
            ErrorCode::ImportInvalid,
            Some(ProblemCode::Empty),
            None,
        ),
        (
            "header only",
            HEADER.to_string(),
            ErrorCode::ImportInvalid,
            Some(ProblemCode::Empty),
            None,
        ),
        (
            "ragged row",
            format!(
                "{}{}",
                csv_of(2),
                "3,多列镇,镇,430482999000,是,1,09:00,40,,多余\n"
            ),
            ErrorCode::ImportInvalid,
            Some(ProblemCode::RaggedRow),
            Some("第4行"),
        ),
        (
            "unclosed quote",
            format!(
                "{}{}",
                csv_of(2),
                "3,\"未闭合镇,镇,430482999000,是,1,09:00,40,\n4,甲镇,镇,430482998000,是,,,,\n"
            ),
            ErrorCode::ImportInvalid,
            Some(ProblemCode::UnclosedQuote),
            Some("第4行"),
        ),
        (
            "duplicate code",
            format!("{}{}", csv_of(3), "4,另一个镇,镇,430482900000,是,,,,\n"),
            ErrorCode::ImportInvalid,
            Some(ProblemCode::Duplicate),
            Some("第2行"),
        ),
        (
            "duplicate name",
            format!("{}{}", csv_of(3), "4,测试1镇,镇,430482999000,是,,,,\n"),
            ErrorCode::ImportInvalid,
            Some(ProblemCode::Duplicate),
            Some("第3行"),
        ),
        (
            "missing code column",
            "名称,类型\n甲镇,镇\n".to_string(),
            ErrorCode::ImportInvalid,
            Some(ProblemCode::MissingColumn),
            None,
        ),
        (
            "bad code and time",
            format!("{HEADER}1,甲镇,镇,43048210200,是,1,25:61,40,\n"),
            ErrorCode::ImportInvalid,
            Some(ProblemCode::Invalid),
            Some("第2行"),
        ),
    ];
    for (what, text, code, problem, row) in cases {
        let env = Env::new();
        let before = env.snapshot();
        let err = import_roster_bytes(&env.ctx, text.as_bytes(), FileFormat::Csv).expect_err(what);
        assert_eq!(err.code, code, "{what}: {err:?}");
        if let Some(pc) = problem {
            let p = err
                .problems
                .iter()
                .find(|p| p.code == pc)
                .unwrap_or_else(|| panic!("{what}: no {pc:?} in {:?}", err.problems));
            if let Some(row) = row {
                assert!(
                    p.message.contains(row),
                    "{what}: {} should name {row}",
                    p.message
                );
            }
        }
        assert_eq!(
            env.snapshot(),
            before,
            "{what}: the database must not change"
        );
    }
}

#[test]
fn columns_in_another_order_and_an_unknown_column_import_with_a_warning() {
    let env = Env::new();
    let mut text = String::from("区划代码,备用电话,名称,顺序\n");
    for i in 0..22 {
        text.push_str(&format!(
            "4304829{i:02}000,0734-1234567,乙{i}镇,{}\n",
            22 - i
        ));
    }
    let r = import_roster_bytes(&env.ctx, text.as_bytes(), FileFormat::Csv).unwrap();
    assert!(r
        .problems
        .iter()
        .any(|p| p.code == ProblemCode::UnknownColumn && p.message.contains("备用电话")));
    let list = roster::list_townships(&env.ctx).unwrap();
    assert_eq!(
        list[0].name, "乙21镇",
        "the 顺序 column sets the visit order"
    );
    assert_eq!(
        list[0].kind,
        TownshipKind::Town,
        "the kind is read from the name"
    );
}

#[test]
fn formula_looking_cells_are_stored_as_text_and_neutralised_on_export() {
    let env = Env::new();
    let nasty = [
        "=HYPERLINK(\"\"http://x\"\",\"\"y\"\")",
        "+cmd|' /C calc'!A0",
        "@SUM(1)",
        "-2+3",
    ];
    let mut text = String::from(HEADER);
    for (i, n) in nasty.iter().enumerate() {
        text.push_str(&format!(
            "{},\"{n}\",镇,0304829{i:02}000,是,,,,\"{n}\"\n",
            i + 1
        ));
    }
    import_roster_bytes(&env.ctx, text.as_bytes(), FileFormat::Csv).unwrap();
    let list = roster::list_townships(&env.ctx).unwrap();
    assert_eq!(list[0].name, "=HYPERLINK(\"http://x\",\"y\")");
    assert_eq!(list[3].name, "-2+3");
    assert_eq!(list[0].code, "030482900000", "leading zeros are kept");

    let out = env.dir.path().join("out.csv");
    roster::export_roster(&env.ctx, &out, FileFormat::Csv).unwrap();
    let exported = String::from_utf8(std::fs::read(&out).unwrap()).unwrap();
    assert!(exported.starts_with('\u{feff}'), "UTF-8 BOM for Excel");
    assert!(exported.contains("'=HYPERLINK"), "{exported}");
    assert!(exported.contains("'+cmd") && exported.contains("'@SUM") && exported.contains("'-2+3"));
    assert!(exported.contains("030482900000"));

    // Export then import gives the same roster back.
    let env2 = Env::new();
    import_roster(&env2.ctx, &out).unwrap();
    let back = roster::list_townships(&env2.ctx).unwrap();
    let names = |l: &[guanmo_domain::roster::Township]| {
        l.iter()
            .filter(|t| t.enabled)
            .map(|t| (t.code.clone(), t.name.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&back), names(&list));
}

#[test]
fn xlsx_export_imports_back_unchanged() {
    let env = Env::new();
    let out = env.dir.path().join("名单.xlsx");
    roster::export_roster(&env.ctx, &out, FileFormat::Xlsx).unwrap();
    let before = roster::list_townships(&env.ctx).unwrap();
    let env2 = Env::new();
    let r = import_roster(&env2.ctx, &out).unwrap();
    assert_eq!((r.added, r.updated), (0, 23));
    let after = roster::list_townships(&env2.ctx).unwrap();
    let strip = |l: &[guanmo_domain::roster::Township]| {
        l.iter()
            .map(|t| (t.code.clone(), t.name.clone(), t.enabled, t.position))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&after), strip(&before));
}

#[test]
fn a_100_mb_file_is_refused_before_it_is_read() {
    let env = Env::new();
    let p = env.dir.path().join("huge.csv");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(100 << 20).unwrap();
    let err = import_roster(&env.ctx, &p).unwrap_err();
    assert_eq!(err.code, ErrorCode::FileTooLarge);
}

#[test]
fn an_xlsx_zip_bomb_is_refused() {
    use std::io::Write;
    let env = Env::new();
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        z.start_file("xl/worksheets/sheet1.xml", opts).unwrap();
        let zeros = vec![b' '; 1 << 20];
        for _ in 0..200 {
            z.write_all(&zeros).unwrap();
        }
        z.finish().unwrap();
    }
    let bytes = buf.into_inner();
    assert!(bytes.len() < 2 << 20, "the bomb is small on disk");
    let before = env.snapshot();
    let err = import_roster(&env.ctx, &env.file("bomb.xlsx", &bytes)).unwrap_err();
    assert_eq!(err.code, ErrorCode::FileUnreadable, "{err:?}");
    assert_eq!(env.snapshot(), before);
}

#[test]
fn an_unknown_extension_is_refused_as_unsupported() {
    let env = Env::new();
    let err = import_roster(&env.ctx, &env.file("名单.numbers", b"x")).unwrap_err();
    assert_eq!(err.code, ErrorCode::UnsupportedFormat);
}
