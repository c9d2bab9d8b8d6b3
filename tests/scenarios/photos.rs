//! Photos across the media pipeline and the api: a photo imported twice is stored and recorded
//! once, its evidence metadata stays in the database, and it can be attached to a criterion
//! of a draft sheet (拍照留证) but not of a submitted one.

use crate::support::Env;
use guanmo_api::{photos, scoring, ErrorCode};
use guanmo_domain::scoring::ScorerInput;
use guanmo_media::{Limits, MediaStore, Size};

/// A small PNG with some structure (a gradient), as a camera-free stand-in.
fn png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(400, 300, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

#[test]
fn a_photo_imported_twice_is_recorded_once_and_can_be_evidence_on_a_draft_sheet_only() {
    let env = Env::new();
    let media = MediaStore::new(env.dir.path()).unwrap();
    let bytes = png();
    let first = media
        .import_bytes("现场.png", &bytes, &Limits::default())
        .unwrap();
    let again = media
        .import_bytes("副本.png", &bytes, &Limits::default())
        .unwrap();
    assert_eq!(first.hash, again.hash);
    let a = photos::record_imported(&env.ctx, "现场.png", &first).unwrap();
    let b = photos::record_imported(&env.ctx, "副本.png", &again).unwrap();
    assert_eq!(a, b, "the first record is kept");
    assert_eq!(photos::list_photos(&env.ctx).unwrap().len(), 1);
    assert_eq!((a.width, a.height, a.format.as_str()), (400, 300, "png"));
    assert!(media.path(&a.hash, Size::Thumb).unwrap().exists());

    let township = guanmo_api::roster::list_townships(&env.ctx)
        .unwrap()
        .remove(0);
    let s = scoring::register_scorer(
        &env.ctx,
        ScorerInput {
            name: "张三".into(),
            group: "市领导".into(),
            township_id: None,
            active: true,
            work_unit: String::new(),
        },
    )
    .unwrap();
    scoring::set_scoring_open(&env.ctx, &township.id, true).unwrap();
    let sheet = scoring::open_sheet(&env.ctx, &s.id, &township.id).unwrap();
    let rubric = guanmo_api::rubric::get_rubric(&env.ctx).unwrap();
    let crit = rubric.categories[0].criteria[0].id.clone().unwrap();
    let with = photos::attach_evidence(&env.ctx, &sheet.id, &crit, &a.hash).unwrap();
    assert_eq!(with.evidence.len(), 1);
    assert_eq!(with.evidence[0].hash, a.hash);
    let twice = photos::attach_evidence(&env.ctx, &sheet.id, &crit, &a.hash).unwrap();
    assert_eq!(twice.evidence.len(), 1, "attaching again changes nothing");
    let unknown = photos::attach_evidence(&env.ctx, &sheet.id, &crit, &"0".repeat(64)).unwrap_err();
    assert_eq!(unknown.code, ErrorCode::NotFound);
    let without = photos::detach_evidence(&env.ctx, &sheet.id, &crit, &a.hash).unwrap();
    assert!(without.evidence.is_empty());

    // A submitted sheet takes no more evidence.
    let mut last = photos::attach_evidence(&env.ctx, &sheet.id, &crit, &a.hash).unwrap();
    for c in rubric.categories.iter().flat_map(|c| &c.criteria) {
        last = scoring::record_mark(
            &env.ctx,
            &sheet.id,
            c.id.as_ref().unwrap(),
            Some(1.0),
            String::new(),
        )
        .unwrap();
    }
    let submitted = scoring::submit_sheet(&env.ctx, &sheet.id, last.version).unwrap();
    assert_eq!(submitted.evidence.len(), 1);
    let err = photos::detach_evidence(&env.ctx, &sheet.id, &crit, &a.hash).unwrap_err();
    assert_eq!(err.code, ErrorCode::SheetLocked);
}
