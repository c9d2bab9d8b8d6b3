//! The live feed by stop, for residents who follow one stop (`/?stop=7`): the stops in tour
//! order with their post counts, which stop the tour is at now (当前站), one stop's pages of
//! the public feed, its link-preview photo, and which stop each published post belongs to.
//!
//! The current stop comes from the schedule and this device's clock: while the tour is on
//! (today, Beijing time, is one of its days) it is the open township that comes last in tour
//! order — open because the schedule says the tour has arrived there, or because the organiser
//! opened it by hand (开放), which is how a tour running ahead of its schedule moves the
//! 当前站 on. Reopening an earlier stop for late sheets does not move it back; closing a stop
//! by hand (结束评分) takes it out. Nothing new is stored.

use crate::feed::{PublicFeed, PublicPost};
use crate::{ApiResult, Ctx};
use chrono::{DateTime, Duration};
use guanmo_domain::roster::Township;
use guanmo_domain::schedule::{self, ManualState};
use guanmo_domain::scoring::ScoringState;
use guanmo_store::feed_stops as store;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// A stop of the tour as residents see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicStop {
    /// The township's id (what posts refer to).
    pub township_id: String,
    /// Its place on the route: 第N站.
    pub position: i32,
    /// The 12-digit division code (also accepted in `?stop=`).
    pub code: String,
    /// Name such as 水口山镇.
    pub name: String,
    /// Published posts about it.
    pub posts: i64,
}

impl PublicStop {
    /// 第7站·水口山镇.
    pub fn label(&self) -> String {
        format!("第{}站·{}", self.position, self.name)
    }
}

/// The tour's stops and where the tour is.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PublicStops {
    /// The enabled townships in tour order.
    pub stops: Vec<PublicStop>,
    /// True when today (Beijing time) is one of the tour's days.
    pub live: bool,
    /// The position of the stop the tour is at, while it is live.
    pub current: Option<i32>,
}

impl PublicStops {
    /// The stop a `?stop=` value names: its position (`7`) or its division code.
    pub fn find(&self, key: &str) -> Option<&PublicStop> {
        let key = key.trim();
        if key.is_empty() || key.len() > 12 || !key.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if key.len() == 12 {
            return self.stops.iter().find(|s| s.code == key);
        }
        let position: i32 = key.parse().ok()?;
        self.stops.iter().find(|s| s.position == position)
    }

    /// The stop the tour is at, while it is live.
    pub fn current_stop(&self) -> Option<&PublicStop> {
        let at = self.current?;
        self.stops.iter().find(|s| s.position == at)
    }
}

/// Which stop is current among `townships` (enabled, any order) at `now`, given the tour's
/// first day and the organiser's manual states; `(live, current position)`.
fn where_the_tour_is(
    townships: &[Township],
    first_day: Option<chrono::NaiveDate>,
    manual: &HashMap<String, ManualState>,
    now: DateTime<chrono::Utc>,
) -> (bool, Option<i32>) {
    let Some(first) = first_day else {
        return (false, None);
    };
    let days = townships
        .iter()
        .filter_map(|t| t.day)
        .max()
        .unwrap_or(1)
        .max(1);
    let today = now.with_timezone(&schedule::beijing()).date_naive();
    let last = first + Duration::days(i64::from(days - 1));
    if today < first || today > last {
        return (false, None);
    }
    let state = |t: &Township| manual.get(&t.id).copied().unwrap_or(ManualState::Auto);
    let current = townships
        .iter()
        .filter(|t| {
            let w = schedule::window(first_day, t.day, t.arrival.as_deref(), t.slot_minutes);
            schedule::effective_state(state(t), w.as_ref(), now) == ScoringState::Open
        })
        .map(|t| t.position)
        .max();
    (true, current)
}

/// The tour's stops with their post counts, and where the tour is now.
pub fn public_stops(ctx: &Ctx) -> ApiResult<PublicStops> {
    let (townships, counts, manual) = ctx.store.read(|c| {
        let townships: Vec<Township> = guanmo_store::roster::list(c)?
            .into_iter()
            .filter(|t| t.enabled)
            .collect();
        let manual: HashMap<String, ManualState> = guanmo_store::scoring::manual_states(c)?
            .into_iter()
            .collect();
        Ok((townships, store::published_counts(c)?, manual))
    })?;
    let first = crate::schedule::get_tour_settings(ctx)?.first_day_date();
    let (live, current) = where_the_tour_is(&townships, first, &manual, ctx.now());
    let stops = townships
        .into_iter()
        .map(|t| PublicStop {
            posts: counts.get(&t.id).copied().unwrap_or(0),
            township_id: t.id,
            position: t.position,
            code: t.code,
            name: t.name,
        })
        .collect();
    Ok(PublicStops {
        stops,
        live,
        current,
    })
}

/// One page of the public feed of one stop (township `township_id`): its pinned post first
/// when the pinned post is about it (first page only), then its published posts newest first,
/// `limit` at a time after `cursor`. Bad paging input is a `Validation` error, as for the
/// whole feed.
pub fn public_feed_of_stop(
    ctx: &Ctx,
    township_id: &str,
    cursor: Option<&str>,
    limit: u32,
) -> ApiResult<PublicFeed> {
    let after = crate::feed::check_page(cursor, limit)?;
    let (pinned, (posts, more)) = ctx.store.read(|c| {
        let pinned = match after {
            None => guanmo_store::feed::pinned(c)?
                .filter(|p| p.township_id.as_deref() == Some(township_id)),
            Some(_) => None,
        };
        Ok((
            pinned,
            store::published_page_of(c, township_id, after.as_ref(), limit)?,
        ))
    })?;
    let posts: Vec<PublicPost> = posts.iter().filter_map(PublicPost::from_post).collect();
    let next_cursor = if more {
        posts.last().map(PublicPost::cursor)
    } else {
        None
    };
    Ok(PublicFeed {
        pinned: pinned.as_ref().and_then(PublicPost::from_post),
        posts,
        next_cursor,
    })
}

/// The photo of a stop's link preview: the first photo of its newest published post that has
/// one.
pub fn stop_preview_photo(ctx: &Ctx, township_id: &str) -> ApiResult<Option<String>> {
    Ok(ctx.store.read(|c| store::newest_photo_of(c, township_id))?)
}

/// The stop (township id) of every published post that has one.
pub fn stops_of_public_posts(ctx: &Ctx) -> ApiResult<HashMap<String, String>> {
    Ok(ctx.store.read(store::stop_of_published)?)
}

/// Width and height of the known photos among `hashes` (so the page can size every image
/// before it loads).
pub fn photo_sizes(ctx: &Ctx, hashes: &[&str]) -> ApiResult<HashMap<String, (u32, u32)>> {
    Ok(ctx.store.read(|c| store::photo_sizes(c, hashes))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;
    use guanmo_domain::feed::PostInput;
    use guanmo_domain::schedule::TourSettings;
    use guanmo_domain::FixedClock;
    use std::sync::Arc;

    fn at(s: &str) -> DateTime<chrono::Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    /// A hub at 2026-12-04 10:00 Beijing with the default 22 stops; day 1 is `first_day`.
    fn hub(first_day: Option<&str>) -> (tempfile::TempDir, Ctx, Arc<FixedClock>) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(at("2026-12-04T02:00:00Z")));
        let ctx = Ctx::open(dir.path(), clock.clone()).unwrap();
        ctx.store
            .write_without_ops(ctx.now(), "system", |tx| {
                guanmo_store::meta::set(tx, crate::DEVICE_ROLE, "hub")
            })
            .unwrap();
        crate::schedule::set_tour_settings(
            &ctx,
            TourSettings {
                first_day: first_day.map(str::to_string),
            },
        )
        .unwrap();
        (dir, ctx, clock)
    }

    /// Plans stop `position` on `day` at `arrival`.
    fn plan(ctx: &Ctx, position: i32, day: i32, arrival: &str) {
        let t = crate::roster::list_townships(ctx)
            .unwrap()
            .into_iter()
            .find(|t| t.position == position)
            .unwrap();
        crate::roster::update_township(
            ctx,
            &t.id,
            t.version,
            guanmo_domain::roster::TownshipInput {
                code: t.code.clone(),
                name: t.name.clone(),
                kind: t.kind,
                enabled: t.enabled,
                day: Some(day),
                arrival: Some(arrival.into()),
                slot_minutes: Some(40),
                note: String::new(),
            },
        )
        .unwrap();
    }

    fn township(ctx: &Ctx, position: i32) -> String {
        public_stops(ctx)
            .unwrap()
            .stops
            .into_iter()
            .find(|s| s.position == position)
            .unwrap()
            .township_id
    }

    fn publish(ctx: &Ctx, township_id: Option<&str>, body: &str) -> String {
        let d = crate::feed::create_draft(
            ctx,
            PostInput {
                township_id: township_id.map(str::to_string),
                body: body.into(),
                ..PostInput::default()
            },
        )
        .unwrap();
        crate::feed::publish_post(ctx, &d.id, d.version).unwrap().id
    }

    #[test]
    fn the_stops_come_in_tour_order_with_their_counts_and_are_found_by_position_or_code() {
        let (_d, ctx, _c) = hub(None);
        let s = public_stops(&ctx).unwrap();
        assert_eq!(s.stops.len(), 22, "天堂山街道 is disabled");
        assert_eq!(s.stops[7].label(), "第8站·荫田镇");
        assert_eq!(s.find("8").unwrap().name, "荫田镇");
        assert_eq!(s.find("430482104000").unwrap().name, "荫田镇");
        for bad in ["", "0", "23", "-1", "8a", "4304821040001", "１"] {
            assert!(s.find(bad).is_none(), "{bad}");
        }
        let yintian = township(&ctx, 8);
        publish(&ctx, Some(&yintian), "荫田镇一");
        publish(&ctx, Some(&yintian), "荫田镇二");
        publish(&ctx, None, "开幕");
        let s = public_stops(&ctx).unwrap();
        assert_eq!(s.find("8").unwrap().posts, 2);
        assert_eq!(s.stops.iter().map(|s| s.posts).sum::<i64>(), 2);
        assert!(!s.live, "no tour date set");
        assert_eq!(s.current, None);
    }

    #[test]
    fn the_current_stop_follows_the_schedule_and_the_organisers_open_wins() {
        let (_d, ctx, clock) = hub(Some("2026-12-04"));
        plan(&ctx, 1, 1, "08:30");
        plan(&ctx, 2, 1, "09:30");
        plan(&ctx, 3, 1, "10:30");
        plan(&ctx, 4, 2, "08:30");
        // 10:00 Beijing on day 1: arrived at stop 2, not yet at 3.
        let s = public_stops(&ctx).unwrap();
        assert!(s.live);
        assert_eq!(s.current_stop().unwrap().label(), "第2站·泉峰街道");
        clock.advance(Duration::hours(1));
        assert_eq!(public_stops(&ctx).unwrap().current, Some(3));
        // Ahead of the schedule: the organiser opens the next stop by hand.
        let t5 = township(&ctx, 5);
        crate::scoring::set_scoring_open(&ctx, &t5, true).unwrap();
        assert_eq!(public_stops(&ctx).unwrap().current, Some(5));
        // Reopening an earlier stop (late sheets) does not move the tour back.
        let t1 = township(&ctx, 1);
        crate::scoring::set_scoring_open(&ctx, &t1, true).unwrap();
        assert_eq!(public_stops(&ctx).unwrap().current, Some(5));
        // Handed back to the schedule (按日程), stop 5 has not been reached.
        crate::schedule::follow_schedule(&ctx, &t5).unwrap();
        assert_eq!(public_stops(&ctx).unwrap().current, Some(3));
        crate::schedule::follow_schedule(&ctx, &t1).unwrap();
        // Day 2 before its first arrival: live, no stop yet; then stop 4.
        clock.advance(Duration::hours(21));
        let s = public_stops(&ctx).unwrap();
        assert!(s.live);
        assert_eq!(s.current, None);
        clock.advance(Duration::hours(1));
        assert_eq!(public_stops(&ctx).unwrap().current, Some(4));
        // After the tour: not live.
        clock.advance(Duration::days(1));
        let s = public_stops(&ctx).unwrap();
        assert!(!s.live);
        assert_eq!(s.current, None);
    }

    #[test]
    fn a_stops_feed_pages_through_only_its_posts_and_keeps_its_pinned_post_first() {
        let (_d, ctx, clock) = hub(None);
        let a = township(&ctx, 8);
        let b = township(&ctx, 9);
        let mut mine = Vec::new();
        for i in 0..5 {
            clock.advance(Duration::seconds(1));
            mine.push(publish(&ctx, Some(&a), &format!("荫田{i}")));
            clock.advance(Duration::seconds(1));
            publish(&ctx, Some(&b), &format!("白沙{i}"));
        }
        crate::feed::pin_post(&ctx, &mine[0]).unwrap();
        let first = public_feed_of_stop(&ctx, &a, None, 2).unwrap();
        assert_eq!(first.pinned.as_ref().unwrap().id, mine[0]);
        let ids: Vec<&str> = first.posts.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, [&mine[4], &mine[3]]);
        let next = public_feed_of_stop(&ctx, &a, first.next_cursor.as_deref(), 2).unwrap();
        assert_eq!(next.pinned, None);
        let ids: Vec<&str> = next.posts.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, [&mine[2], &mine[1]]);
        assert_eq!(
            next.next_cursor, None,
            "the pinned post is not listed again"
        );
        // Another stop's feed does not show this stop's pinned post.
        let other = public_feed_of_stop(&ctx, &b, None, 20).unwrap();
        assert_eq!(other.pinned, None);
        assert_eq!(other.posts.len(), 5);
        assert!(other
            .posts
            .iter()
            .all(|p| p.paragraphs[0].starts_with("白沙")));
        // Bad paging input is refused in words.
        let e = public_feed_of_stop(&ctx, &a, Some("x"), 2).unwrap_err();
        assert_eq!(e.code, ErrorCode::Validation);
        assert_eq!(e.problems[0].message, "翻页参数无效");
        let e = public_feed_of_stop(&ctx, &a, None, 0).unwrap_err();
        assert_eq!(e.problems[0].location, "limit");
        let of = stops_of_public_posts(&ctx).unwrap();
        assert_eq!(of.get(&mine[3]), Some(&a));
        assert_eq!(of.len(), 10);
    }
}
