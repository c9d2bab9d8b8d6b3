//! Photos against the tour across devices: a scorer's camera runs 70 minutes slow, so the
//! evidence it took at 第3站 is flagged as taken before the stop; the scorer corrects the
//! camera's clock once for the import, the flag goes, and the correction travels with the
//! photo to the hub, whose photo library files the picture under the stop and whose
//! explanation no longer flags the sheet. Another laptop cannot change the photo's correction.

use crate::sync::Cluster;
use guanmo_api::{photos, scoring, tour_photos};
use guanmo_domain::roster::TownshipInput;
use guanmo_domain::schedule::TourSettings;
use guanmo_domain::tour_photos::PhotoTiming;
use guanmo_sync::memory::Faults;

fn png() -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

#[test]
fn a_slow_cameras_evidence_is_flagged_until_its_clock_is_corrected_and_the_hub_agrees() {
    let c = Cluster::new(Faults::default(), 21);
    // The organiser plans day 1 (2026-12-04) and 第3站 at 08:30 for 40 minutes.
    guanmo_api::schedule::set_tour_settings(
        &c.hub.ctx,
        TourSettings {
            first_day: Some("2026-12-04".into()),
        },
    )
    .unwrap();
    let town = guanmo_api::roster::list_townships(&c.hub.ctx)
        .unwrap()
        .into_iter()
        .find(|t| t.position == 3)
        .unwrap();
    guanmo_api::roster::update_township(
        &c.hub.ctx,
        &town.id,
        town.version,
        TownshipInput {
            code: town.code.clone(),
            name: town.name.clone(),
            kind: town.kind,
            enabled: town.enabled,
            day: Some(1),
            arrival: Some("08:30".into()),
            slot_minutes: Some(40),
            note: town.note.clone(),
        },
    )
    .unwrap();
    c.settle();

    // On the scorer's laptop: the photo says 07:35, really 08:45.
    let (l, t) = &c.laptops[0];
    let mut imported = l
        .media
        .import_bytes("IMG_0042.png", &png(), &guanmo_media::Limits::default())
        .unwrap();
    imported.meta.taken_at = Some("2026:12:04 07:35:00".into());
    photos::record_imported(&l.ctx, "IMG_0042.png", &imported).unwrap();
    let hash = imported.hash.clone();
    let sheet = scoring::open_sheet(&l.ctx, &c.scorers[0].id, &town.id).unwrap();
    let crit = guanmo_api::rubric::get_rubric(&l.ctx).unwrap().categories[0].criteria[0]
        .id
        .clone()
        .unwrap();
    let sheet = photos::attach_evidence(&l.ctx, &sheet.id, &crit, &hash).unwrap();
    assert_eq!(
        sheet.evidence[0].timing,
        PhotoTiming::Outside {
            taken: "12月4日 07:35".into(),
            window: "12月4日 08:30–09:10".into(),
            minutes: -55,
        },
        "flagged, not refused"
    );

    // Corrected once for the import: the photo is at the stop.
    let changed =
        tour_photos::set_camera_offset(&l.ctx, std::slice::from_ref(&hash), 70 * 60).unwrap();
    assert_eq!(changed.len(), 1);
    let sheet = scoring::get_sheet(&l.ctx, &sheet.id).unwrap();
    assert_eq!(sheet.evidence[0].timing, PhotoTiming::Within);
    l.sync(t).unwrap();

    // The hub has the correction with the photo.
    let at_hub = photos::list_photos(&c.hub.ctx)
        .unwrap()
        .into_iter()
        .find(|p| p.hash == hash)
        .unwrap();
    assert_eq!(at_hub.clock_offset_s, 4200);
    assert_eq!(at_hub.taken_at.as_deref(), Some("2026:12:04 07:35:00"));
    let groups = tour_photos::photos_by_stop(&c.hub.ctx).unwrap();
    let stop = groups
        .iter()
        .find(|g| g.township_id.as_deref() == Some(town.id.as_str()))
        .expect("filed under its stop");
    assert_eq!(stop.hashes, std::slice::from_ref(&hash));
    let hub_sheet = scoring::get_sheet(&c.hub.ctx, &sheet.id).unwrap();
    assert_eq!(hub_sheet.evidence[0].timing, PhotoTiming::Within);
    assert!(tour_photos::flagged_evidence(&c.hub.ctx, &town.id)
        .unwrap()
        .is_empty());

    // Evidence stays off the other laptops (背靠背) until a post shows it: the organiser
    // puts it in a draft on the hub. Another laptop that received it then cannot change its
    // correction.
    let (media, _) = &c.laptops[2];
    c.settle();
    assert!(!photos::list_photos(&media.ctx)
        .unwrap()
        .iter()
        .any(|p| p.hash == hash));
    guanmo_api::feed::create_draft(
        &c.hub.ctx,
        guanmo_domain::feed::PostInput {
            body: "第3站:现场台账".into(),
            photos: vec![hash.clone()],
            ..Default::default()
        },
    )
    .unwrap();
    c.settle();
    let (other, _) = &c.laptops[2];
    let changed =
        tour_photos::set_camera_offset(&other.ctx, std::slice::from_ref(&hash), 0).unwrap();
    assert!(
        changed.is_empty(),
        "a photo keeps its importer's correction"
    );
    c.settle();
    let theirs = photos::list_photos(&other.ctx)
        .unwrap()
        .into_iter()
        .find(|p| p.hash == hash)
        .unwrap();
    assert_eq!(
        theirs.clock_offset_s, 4200,
        "every replica has the importer's"
    );
}
