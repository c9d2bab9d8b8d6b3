//! Photos against the tour (rules in `guanmo_domain::tour_photos`): the photo library grouped
//! by stop from each photo's capture time and the schedule, and, for the organiser's
//! explanation of a township's result, which sheets carry evidence photos taken outside the
//! township's scheduled time (flagged, never refused).

use crate::{ApiResult, Ctx};
use guanmo_domain::tour_photos::{self, PhotoTiming, StopWindow};
use serde::{Deserialize, Serialize};
use specta::Type;
use std::collections::HashMap;

/// The photos of one stop (or of no stop), in capture order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct StopPhotos {
    /// The township, for a stop.
    pub township_id: Option<String>,
    /// `第N站·name`, 不在观摩时段内 (taken, but at no stop) or 无拍摄时间.
    pub label: String,
    /// The stop's window as people read it, e.g. `12月4日 09:00–09:40`.
    pub window: Option<String>,
    /// Photo hashes, oldest capture first.
    pub hashes: Vec<String>,
}

/// Label of the photos taken at no stop.
pub const AT_NO_STOP: &str = "不在观摩时段内";
/// Label of the photos without a capture time.
pub const NO_TIME: &str = "无拍摄时间";

fn stops(ctx: &Ctx) -> ApiResult<Vec<StopWindow>> {
    Ok(ctx.store.read(|c| {
        let first = guanmo_store::scoring::tour_settings(c)?.first_day_date();
        Ok(tour_photos::stop_windows(
            first,
            &guanmo_store::roster::list(c)?,
        ))
    })?)
}

/// The photo library by stop: each stop of the schedule that has photos, in tour order, then
/// the photos taken at no stop, then those without a capture time. Without a tour date every
/// photo with a time is at no stop.
pub fn photos_by_stop(ctx: &Ctx) -> ApiResult<Vec<StopPhotos>> {
    let photos = ctx.store.read(guanmo_store::photos::list)?;
    let stops = stops(ctx)?;
    let mut timed: Vec<(chrono::DateTime<chrono::Utc>, String)> = Vec::new();
    let mut untimed = Vec::new();
    for p in photos {
        let taken = p
            .taken_at
            .as_deref()
            .and_then(tour_photos::parse_taken_at)
            .map(|t| tour_photos::corrected(t, i64::from(p.clock_offset_s)));
        match taken {
            Some(t) => timed.push((t, p.hash)),
            None => untimed.push(p.hash),
        }
    }
    timed.sort();
    let mut at_stop: HashMap<&str, Vec<String>> = HashMap::new();
    let mut nowhere = Vec::new();
    for (t, hash) in timed {
        match tour_photos::stop_at(&stops, t) {
            Some(s) => at_stop
                .entry(s.township_id.as_str())
                .or_default()
                .push(hash),
            None => nowhere.push(hash),
        }
    }
    let mut out: Vec<StopPhotos> = stops
        .iter()
        .filter_map(|s| {
            let hashes = at_stop.remove(s.township_id.as_str())?;
            Some(StopPhotos {
                township_id: Some(s.township_id.clone()),
                label: s.label(),
                window: Some(s.text()),
                hashes,
            })
        })
        .collect();
    for (label, hashes) in [(AT_NO_STOP, nowhere), (NO_TIME, untimed)] {
        if !hashes.is_empty() {
            out.push(StopPhotos {
                township_id: None,
                label: label.to_string(),
                window: None,
                hashes,
            });
        }
    }
    Ok(out)
}

/// Sets the camera clock correction of an import's photos (`seconds` to add to the time the
/// camera wrote, within two days either way). Photos that came from another device keep their
/// importer's correction. Returns the photos changed.
pub fn set_camera_offset(
    ctx: &Ctx,
    hashes: &[String],
    seconds: i32,
) -> ApiResult<Vec<guanmo_domain::photos::PhotoInfo>> {
    if i64::from(seconds).abs() > tour_photos::MAX_CLOCK_OFFSET_SECONDS {
        return Err(crate::ApiError::with_problems(
            crate::ErrorCode::Validation,
            "camera clock offset out of range",
            vec![guanmo_domain::Problem::error(
                guanmo_domain::ProblemCode::OutOfRange,
                "相机时间偏差",
                "相机时间偏差应在前后48小时之内",
            )],
        ));
    }
    Ok(ctx.store.write(ctx.now(), &ctx.author()?, |tx| {
        guanmo_store::photos::set_clock_offset(tx, hashes, seconds)
    })?)
}

/// What the composer offers when the tour reaches a stop: a draft titled with the stop's label,
/// about its township, with the photos taken there to choose from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct StopDraft {
    /// The township the tour is at.
    pub township_id: String,
    /// The stop label such as 【第7站·水口山镇】.
    pub stop_label: String,
    /// Its window as people read it, when scheduled.
    pub window: Option<String>,
    /// Photos taken at the stop (capture order), for the author to choose from.
    pub photos: Vec<String>,
    /// Posts (any state) already about this township.
    pub posts: u32,
}

/// The draft for the stop the tour is at now (from the schedule, or the organiser's 开放 of a
/// stop ahead of it); `None` while the tour is not at a stop.
pub fn stop_draft(ctx: &Ctx) -> ApiResult<Option<StopDraft>> {
    let tour = crate::feed_stops::public_stops(ctx)?;
    let Some(at) = tour.current_stop() else {
        return Ok(None);
    };
    let groups = photos_by_stop(ctx)?;
    let group = groups
        .iter()
        .find(|g| g.township_id.as_deref() == Some(at.township_id.as_str()));
    let posts = ctx
        .store
        .read(guanmo_store::feed::list_all)?
        .iter()
        .filter(|p| p.township_id.as_deref() == Some(at.township_id.as_str()))
        .count();
    Ok(Some(StopDraft {
        township_id: at.township_id.clone(),
        stop_label: guanmo_domain::feed::stop_label_for(at.position, &at.name),
        window: group.and_then(|g| g.window.clone()).or_else(|| {
            stops(ctx)
                .ok()?
                .into_iter()
                .find(|s| s.township_id == at.township_id)
                .map(|s| s.text())
        }),
        photos: group.map(|g| g.hashes.clone()).unwrap_or_default(),
        posts: u32::try_from(posts).unwrap_or(u32::MAX),
    }))
}

/// A sheet whose evidence includes photos taken outside its township's time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct FlaggedSheet {
    /// The sheet.
    pub sheet_id: String,
    /// One line per flagged photo, e.g. `拍摄于 12月4日 11:52,不在本站时段 12月4日 08:30–09:10 内`.
    pub notes: Vec<String>,
}

/// The sheets of `township_id` with evidence taken outside its time (for the explanation of
/// its result: 组织方 and 计票人, as the ranking).
pub fn flagged_evidence(ctx: &Ctx, township_id: &str) -> ApiResult<Vec<FlaggedSheet>> {
    crate::people::ensure_sees_results(ctx)?;
    let sheets = ctx.store.read(guanmo_store::scoring::list_sheets)?;
    Ok(sheets
        .into_iter()
        .filter(|s| s.township_id == township_id)
        .filter_map(|s| {
            let notes: Vec<String> = s
                .evidence
                .iter()
                .filter_map(|e| match &e.timing {
                    PhotoTiming::Outside { taken, window, .. } => {
                        Some(format!("拍摄于 {taken},不在本站时段 {window} 内"))
                    }
                    _ => None,
                })
                .collect();
            (!notes.is_empty()).then_some(FlaggedSheet {
                sheet_id: s.id,
                notes,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use guanmo_domain::photos::PhotoInfo;
    use guanmo_domain::schedule::TourSettings;
    use guanmo_domain::scoring::ScorerInput;
    use guanmo_domain::FixedClock;
    use std::sync::Arc;

    fn hub() -> (tempfile::TempDir, Ctx) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(
            chrono::DateTime::parse_from_rfc3339("2024-12-04T02:00:00Z")
                .unwrap()
                .with_timezone(&chrono::Utc),
        ));
        let ctx = Ctx::open(dir.path(), clock).unwrap();
        crate::schedule::set_tour_settings(
            &ctx,
            TourSettings {
                first_day: Some("2024-12-04".into()),
            },
        )
        .unwrap();
        // 第1站 08:30 for 40 minutes, 第2站 10:00 for 60.
        for (pos, arrival, slot) in [(1, "08:30", 40), (2, "10:00", 60)] {
            let t = crate::roster::list_townships(&ctx)
                .unwrap()
                .into_iter()
                .find(|t| t.position == pos)
                .unwrap();
            crate::roster::update_township(
                &ctx,
                &t.id,
                t.version,
                guanmo_domain::roster::TownshipInput {
                    code: t.code.clone(),
                    name: t.name.clone(),
                    kind: t.kind,
                    enabled: t.enabled,
                    day: Some(1),
                    arrival: Some(arrival.into()),
                    slot_minutes: Some(slot),
                    note: t.note.clone(),
                },
            )
            .unwrap();
        }
        (dir, ctx)
    }

    fn photo(ctx: &Ctx, c: char, taken_at: Option<&str>) -> String {
        let hash: String = std::iter::repeat_n(c, 64).collect();
        let info = PhotoInfo {
            hash: hash.clone(),
            file_name: format!("{c}.jpg"),
            width: 4000,
            height: 3000,
            format: "jpeg".into(),
            taken_at: taken_at.map(str::to_string),
            camera: Some("Canon EOS R6".into()),
            gps_lat: None,
            gps_lon: None,
            imported_at: String::new(),
            original_bytes: 1000,
            clock_offset_s: 0,
        };
        ctx.store
            .write(ctx.now(), "test", |tx| {
                guanmo_store::photos::record(tx, &info)
            })
            .unwrap();
        hash
    }

    #[test]
    fn the_library_groups_photos_by_stop_then_at_no_stop_then_without_time() {
        let (_d, ctx) = hub();
        let a = photo(&ctx, 'a', Some("2024:12:04 08:45:00"));
        let b = photo(&ctx, 'b', Some("2024:12:04 10:20:00"));
        let c = photo(&ctx, 'c', Some("2024:12:04 08:31:00"));
        let d = photo(&ctx, 'd', Some("2024:12:04 13:00:00"));
        let e = photo(&ctx, 'e', None);
        let groups = photos_by_stop(&ctx).unwrap();
        let names = crate::roster::list_townships(&ctx).unwrap();
        let labels: Vec<&str> = groups.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                format!("第1站·{}", names[0].name).as_str(),
                format!("第2站·{}", names[1].name).as_str(),
                AT_NO_STOP,
                NO_TIME
            ]
        );
        assert_eq!(groups[0].hashes, [c, a], "capture order within a stop");
        assert_eq!(groups[0].window.as_deref(), Some("12月4日 08:30–09:10"));
        assert_eq!(groups[1].hashes, [b]);
        assert_eq!(groups[2].hashes, [d]);
        assert_eq!(groups[3].hashes, [e]);
    }

    #[test]
    fn a_camera_offset_moves_the_photos_of_an_import_to_their_stop() {
        let (_d, ctx) = hub();
        // A camera an hour and ten minutes slow: 07:35 on its clock is 08:45 at 第1站.
        let a = photo(&ctx, 'a', Some("2024:12:04 07:35:00"));
        assert_eq!(photos_by_stop(&ctx).unwrap()[0].label, AT_NO_STOP);
        let changed = set_camera_offset(&ctx, std::slice::from_ref(&a), 70 * 60).unwrap();
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].clock_offset_s, 4200);
        assert_eq!(
            changed[0].taken_at.as_deref(),
            Some("2024:12:04 07:35:00"),
            "the camera's time is kept as it wrote it"
        );
        let groups = photos_by_stop(&ctx).unwrap();
        assert!(groups[0].label.starts_with("第1站"), "{groups:?}");
        assert_eq!(groups[0].hashes, std::slice::from_ref(&a));
        let e = set_camera_offset(&ctx, &[a], 3 * 24 * 3600).unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::Validation);
        assert_eq!(e.problems[0].message, "相机时间偏差应在前后48小时之内");
    }

    #[test]
    fn at_a_stop_the_composer_is_offered_a_draft_with_the_stops_photos() {
        let (_d, ctx) = hub();
        // The clock is 10:00 Beijing on day 1: the tour is at 第2站 (arrived 10:00).
        let a = photo(&ctx, 'a', Some("2024:12:04 10:05:00"));
        photo(&ctx, 'b', Some("2024:12:04 08:40:00"));
        let d = stop_draft(&ctx).unwrap().expect("the tour is at a stop");
        let second = &crate::roster::list_townships(&ctx).unwrap()[1];
        assert_eq!(d.township_id, second.id);
        assert_eq!(d.stop_label, format!("【第2站·{}】", second.name));
        assert_eq!(d.window.as_deref(), Some("12月4日 10:00–11:00"));
        assert_eq!(d.photos, [a], "only the photos taken at this stop");
        assert_eq!(d.posts, 0);
        // Before the tour day there is no stop to draft for.
        crate::schedule::set_tour_settings(
            &ctx,
            TourSettings {
                first_day: Some("2024-12-05".into()),
            },
        )
        .unwrap();
        assert_eq!(stop_draft(&ctx).unwrap(), None);
    }

    #[test]
    fn evidence_taken_outside_its_townships_time_is_flagged_on_the_sheet_and_for_the_explanation() {
        let (_d, ctx) = hub();
        let first = crate::roster::list_townships(&ctx).unwrap()[0].clone();
        let scorer = crate::scoring::register_scorer(
            &ctx,
            ScorerInput {
                name: "王局长".into(),
                group: "市领导".into(),
                township_id: None,
                active: true,
                work_unit: String::new(),
            },
        )
        .unwrap();
        crate::scoring::set_scoring_open(&ctx, &first.id, true).unwrap();
        let sheet = crate::scoring::open_sheet(&ctx, &scorer.id, &first.id).unwrap();
        let criterion = crate::rubric::get_rubric(&ctx).unwrap().categories[0].criteria[0]
            .id
            .clone()
            .unwrap();
        let inside = photo(&ctx, 'a', Some("2024:12:04 08:45:00"));
        let outside = photo(&ctx, 'b', Some("2024:12:04 10:20:00"));
        let untimed = photo(&ctx, 'c', None);
        for h in [&inside, &outside, &untimed] {
            crate::photos::attach_evidence(&ctx, &sheet.id, &criterion, h).unwrap();
        }
        let sheet = crate::scoring::get_sheet(&ctx, &sheet.id).unwrap();
        let timing: HashMap<&str, &PhotoTiming> = sheet
            .evidence
            .iter()
            .map(|e| (e.hash.as_str(), &e.timing))
            .collect();
        assert_eq!(timing[inside.as_str()], &PhotoTiming::Within);
        assert_eq!(timing[untimed.as_str()], &PhotoTiming::Unknown);
        assert_eq!(
            timing[outside.as_str()],
            &PhotoTiming::Outside {
                taken: "12月4日 10:20".into(),
                window: "12月4日 08:30–09:10".into(),
                minutes: 70,
            }
        );
        let flagged = flagged_evidence(&ctx, &first.id).unwrap();
        assert_eq!(flagged.len(), 1);
        assert_eq!(flagged[0].sheet_id, sheet.id);
        assert_eq!(
            flagged[0].notes,
            ["拍摄于 12月4日 10:20,不在本站时段 12月4日 08:30–09:10 内"]
        );
    }
}
