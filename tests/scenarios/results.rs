//! Results as the city publishes them, end to end: two 评比组, three scorers, one organiser
//! adjustment, a 60/40 blend with the routine assessment and bands, then the 排名通报 read
//! back from the exported workbook with openpyxl. Every expected number below was computed
//! BY HAND (in the comments), not by the code under test.

use crate::support::Env;
use guanmo_api::results::{self, AdjustmentInput};
use guanmo_api::{exchange::FileFormat, scoring};
use guanmo_domain::results::{Band, BandRule, Blend, GroupSettings, ResultsSettings};
use guanmo_domain::roster::{Township, TownshipKind};
use guanmo_domain::scoring::ScorerInput;

/// Fills every criterion with its maximum, takes `total_off` points off from the first
/// criteria on, and submits: the sheet's total is 100 − `total_off`.
fn submit_total(ctx: &guanmo_api::Ctx, scorer_id: &str, t: &Township, total: f64) {
    let rubric = guanmo_api::rubric::get_rubric(ctx).unwrap();
    assert_eq!(rubric.total_points, 100.0);
    let mut off = 100.0 - total;
    let mut sheet = scoring::open_sheet(ctx, scorer_id, &t.id).unwrap();
    for k in rubric.categories.iter().flat_map(|c| &c.criteria) {
        let take = off.min(k.max_points);
        off -= take;
        let points = ((k.max_points - take) * 10.0).round() / 10.0;
        sheet = scoring::record_mark(
            ctx,
            &sheet.id,
            k.id.as_deref().unwrap(),
            Some(points),
            String::new(),
        )
        .unwrap();
    }
    assert!(off.abs() < 1e-9);
    scoring::submit_sheet(ctx, &sheet.id, sheet.version).unwrap();
}

#[test]
fn two_groups_an_organiser_adjustment_and_a_60_40_blend_print_the_hand_computed_notice() {
    let env = Env::new();
    let ctx = &env.ctx;
    let towns: Vec<Township> = guanmo_api::roster::list_townships(ctx)
        .unwrap()
        .into_iter()
        .filter(|t| t.enabled)
        .collect();
    let streets: Vec<&Township> = towns
        .iter()
        .filter(|t| t.kind == TownshipKind::Subdistrict)
        .collect();
    let rural: Vec<&Township> = towns
        .iter()
        .filter(|t| t.kind != TownshipKind::Subdistrict)
        .collect();
    let (a, b, c, d) = (streets[0], streets[1], rural[0], rural[1]);

    let scorers: Vec<String> = ["甲", "乙", "丙"]
        .iter()
        .map(|n| {
            scoring::register_scorer(
                ctx,
                ScorerInput {
                    name: (*n).into(),
                    group: "市领导".into(),
                    township_id: None,
                    active: true,
                    work_unit: String::new(),
                },
            )
            .unwrap()
            .id
        })
        .collect();
    // Sheet totals by scorer 甲, 乙, 丙. The rule drops one highest and one lowest of three,
    // so the 观摩 result is the middle mark.
    let marks = [
        (a, [90.0, 88.0, 86.0]), // 88.00
        (b, [92.0, 91.0, 85.0]), // 91.00
        (c, [87.0, 87.5, 86.5]), // 87.00
        (d, [89.0, 84.0, 85.0]), // 85.00
    ];
    for (t, totals) in &marks {
        scoring::set_scoring_open(ctx, &t.id, true).unwrap();
        for (s, total) in scorers.iter().zip(totals) {
            submit_total(ctx, s, t, *total);
        }
    }

    // 街道 A earns a provincial award: +1.0, once, whatever the number of scorers.
    results::add_organiser_adjustment(
        ctx,
        AdjustmentInput {
            township_id: a.id.clone(),
            points: 1.0,
            basis: "获省级文明街道表彰".into(),
            attachment_hash: None,
        },
    )
    .unwrap();

    // Routine scores, GBK CSV, every enabled township; the four of interest:
    // A 95.00, B 80.00, C 90.00, D 98.00 (the rest 75).
    let routine = |t: &Township| -> &str {
        match t.id.as_str() {
            x if x == a.id => "95",
            x if x == b.id => "80",
            x if x == c.id => "90",
            x if x == d.id => "98",
            _ => "75",
        }
    };
    let mut csv = String::from("乡镇(街道),平时考核得分\r\n");
    for t in &towns {
        csv.push_str(&format!("{},{}\r\n", t.name, routine(t)));
    }
    let (gbk, _, _) = encoding_rs::GBK.encode(&csv);
    let report = results::import_routine_scores(ctx, &env.file("平时考核.csv", &gbk)).unwrap();
    assert_eq!(report.imported as usize, towns.len());
    // A file missing a township is refused whole.
    let short = csv.lines().take(3).collect::<Vec<_>>().join("\n");
    assert!(results::import_routine_scores_bytes(ctx, short.as_bytes(), FileFormat::Csv).is_err());

    results::set_results_settings(
        ctx,
        ResultsSettings {
            groups: vec![
                GroupSettings {
                    name: "街道组".into(),
                    bands: vec![Band {
                        label: "先进".into(),
                        rule: BandRule::AtLeast { score: 90.0 },
                    }],
                },
                GroupSettings {
                    name: "乡镇组".into(),
                    bands: vec![
                        Band {
                            label: "表扬".into(),
                            rule: BandRule::Top { from: 1, to: 1 },
                        },
                        Band {
                            label: "表态发言".into(),
                            rule: BandRule::Bottom { count: 1 },
                        },
                    ],
                },
            ],
            blend: Some(Blend {
                inspection_percent: 60.0,
                routine_percent: 40.0,
            }),
        },
    )
    .unwrap();

    // By hand:
    // A: 88.00 + 1.0 = 89.00; 89 × 0.6 + 95 × 0.4 = 53.40 + 38.00 = 91.40 → 街道组 1st, 先进
    // B: 91.00;               91 × 0.6 + 80 × 0.4 = 54.60 + 32.00 = 86.60 → 街道组 2nd
    // D: 85.00;               85 × 0.6 + 98 × 0.4 = 51.00 + 39.20 = 90.20 → 乡镇组 1st, 表扬
    // C: 87.00;               87 × 0.6 + 90 × 0.4 = 52.20 + 36.00 = 88.20 → 乡镇组 2nd, 表态发言
    // (the other 乡镇 have no sheets and stay unranked; so does the third 街道)
    let r = results::get_results(ctx).unwrap();
    let row_a = r.groups[0]
        .rows
        .iter()
        .find(|x| x.township_id == a.id)
        .unwrap();
    assert_eq!(
        row_a.arithmetic,
        "(88.0)/1 = 88.00;+ 组织方加减分 1.0 = 89.00;× 60% + 平时 95.00 × 40% = 91.40"
    );

    let path = env.dir.path().join("结果.xlsx");
    guanmo_api::export::export_results_xlsx(ctx, &path).unwrap();
    // GUANMO_SAMPLE_XLSX=<path> keeps a copy (the closing note's excerpt is read from it).
    if let Some(keep) = std::env::var_os("GUANMO_SAMPLE_XLSX") {
        std::fs::copy(&path, keep).unwrap();
    }
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, openpyxl\n\
             ws = openpyxl.load_workbook(sys.argv[1])['排名通报']\n\
             for row in ws.iter_rows(values_only=True):\n\
             \x20   print('\\t'.join('' if v is None else ('%.2f' % v if i > 0 and isinstance(v, (int, float)) else str(v)) for i, v in enumerate(row)))",
        ])
        .arg(&path)
        .output()
        .expect("python3 with openpyxl (installed by .ci/setup)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let section = |name: &str| -> Vec<Vec<&str>> {
        let start = rows
            .iter()
            .position(|r| r[0] == format!("【{name}】"))
            .unwrap();
        rows[start + 1..]
            .iter()
            .take_while(|r| !r[0].starts_with('【'))
            .cloned()
            .collect()
    };
    let street = section("街道组");
    assert_eq!(
        street[0][..8],
        [
            "名次",
            "乡镇(街道)",
            "最终得分",
            "观摩得分",
            "组织方加减分",
            "平时考核",
            "档次",
            "备注"
        ]
    );
    assert_eq!(
        street[1][..7],
        [
            "1",
            a.name.as_str(),
            "91.40",
            "89.00",
            "1.00",
            "95.00",
            "先进"
        ]
    );
    assert_eq!(
        street[2][..7],
        ["2", b.name.as_str(), "86.60", "91.00", "0.00", "80.00", ""]
    );
    let rural_rows = section("乡镇组");
    // No organiser adjustment in this group: no such column.
    assert_eq!(
        rural_rows[0][..7],
        [
            "名次",
            "乡镇(街道)",
            "最终得分",
            "观摩得分",
            "平时考核",
            "档次",
            "备注"
        ]
    );
    assert_eq!(
        rural_rows[1][..6],
        ["1", d.name.as_str(), "90.20", "85.00", "98.00", "表扬"]
    );
    assert_eq!(
        rural_rows[2][..6],
        ["2", c.name.as_str(), "88.20", "87.00", "90.00", "表态发言"]
    );
    assert!(
        text.contains("观摩得分 × 60% + 平时考核得分 × 40%"),
        "{text}"
    );
}
