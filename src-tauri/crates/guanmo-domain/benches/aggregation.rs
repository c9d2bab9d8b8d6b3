//! Benchmark of a whole-ranking recompute: 22 townships × 60 scorers × 12 criteria, the size
//! of a full tour. The target is under 5 ms, so the desktop can recompute on every submit.

use criterion::{criterion_group, criterion_main, Criterion};
use guanmo_domain::aggregation::{
    aggregate, AggregationRule, CategoryTenths, GroupWeight, SheetScore, TieBreak,
    TownshipExpectation,
};
use std::hint::black_box;

const TOWNSHIPS: i32 = 22;
const SCORERS: i32 = 60;
const CRITERIA: i32 = 12;
/// Criteria per category: 12 criteria in 5 categories (3, 3, 2, 2, 2).
const CATEGORY_OF: [usize; 12] = [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 4, 4];

fn tour() -> (Vec<TownshipExpectation>, Vec<SheetScore>) {
    let towns = (0..TOWNSHIPS)
        .map(|t| TownshipExpectation {
            township_id: format!("t{t:02}"),
            expected_sheets: SCORERS,
        })
        .collect();
    let mut sheets = Vec::new();
    for t in 0..TOWNSHIPS {
        for s in 0..SCORERS {
            let mut categories = [0i32; 5];
            let mut base = 0;
            for c in 0..CRITERIA {
                // Up to 8.3 points per criterion, varied by township, scorer and criterion.
                let mark = 40 + (t * 37 + s * 53 + c * 11) % 44;
                base += mark;
                categories[CATEGORY_OF[c as usize]] += mark;
            }
            sheets.push(SheetScore {
                sheet_id: format!("t{t:02}-s{s:02}"),
                scorer_id: format!("s{s:02}"),
                scorer_name: format!("评委{s}"),
                group: if s < 20 { "市领导" } else { "乡镇互评" }.to_string(),
                township_id: format!("t{t:02}"),
                base_tenths: base,
                adjustment_tenths: (t + s) % 11 - 5,
                category_tenths: categories
                    .iter()
                    .enumerate()
                    .map(|(i, &tenths)| CategoryTenths {
                        category_id: format!("c{i}"),
                        tenths,
                    })
                    .collect(),
            });
        }
    }
    (towns, sheets)
}

fn ranking_recompute(c: &mut Criterion) {
    let (towns, sheets) = tour();
    let pooled = AggregationRule {
        tie_breaks: vec![
            TieBreak::CategorySubtotal {
                category_id: "c0".to_string(),
                category_name: "基层党建".to_string(),
            },
            TieBreak::UntrimmedMean,
        ],
        ..AggregationRule::default()
    };
    let everything = AggregationRule {
        group_weights: vec![
            GroupWeight {
                group: "市领导".to_string(),
                weight_percent: 70.0,
            },
            GroupWeight {
                group: "乡镇互评".to_string(),
                weight_percent: 30.0,
            },
        ],
        normalize: true,
        embargo: true,
        ..pooled.clone()
    };
    let mut group = c.benchmark_group("ranking_recompute_22x60x12");
    group.bench_function("pooled_trim1_tiebreaks", |b| {
        b.iter(|| aggregate(black_box(&towns), black_box(&sheets), black_box(&pooled)))
    });
    group.bench_function("weighted_70_30_normalized_embargo", |b| {
        b.iter(|| {
            aggregate(
                black_box(&towns),
                black_box(&sheets),
                black_box(&everything),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, ranking_recompute);
criterion_main!(benches);
