//! Photos against the tour: which stop a photo was taken at, from its capture time and the
//! schedule (day, arrival, slot), and whether an evidence photo was taken while the touring
//! party was at its township. A photo is never refused for its time (camera clocks drift and
//! the bus runs early or late): a photo outside its township's time is flagged for people to
//! look at. A camera whose clock is off by a known amount is corrected once per import.

use crate::roster::Township;
use crate::schedule::{beijing, window};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use specta::Type;

/// Minutes before a stop's arrival and after its end that still count as at the stop: the bus
/// arrives early, the group lingers, clocks are a few minutes off.
pub const TOLERANCE_MINUTES: i64 = 15;
/// Largest camera clock correction accepted, in seconds (two days either way: a camera still
/// on another time zone or a wrong date).
pub const MAX_CLOCK_OFFSET_SECONDS: i64 = 2 * 24 * 3600;
/// A stop's length when its slot is not planned and nothing follows it that day.
const UNPLANNED_SLOT_MINUTES: i64 = 60;

/// When the touring party is at one township.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopWindow {
    /// The township.
    pub township_id: String,
    /// Its place on the route (第N站).
    pub position: i32,
    /// Its name.
    pub name: String,
    /// Scheduled arrival.
    pub from: DateTime<Utc>,
    /// End of the slot; without a planned slot, the next stop's arrival that day, else an hour.
    pub to: DateTime<Utc>,
}

impl StopWindow {
    /// `第N站·name`.
    pub fn label(&self) -> String {
        format!("第{}站·{}", self.position, self.name)
    }

    /// The window as people read it, e.g. `12月4日 09:00–09:40` (Beijing).
    pub fn text(&self) -> String {
        let tz = beijing();
        format!(
            "{}–{}",
            self.from.with_timezone(&tz).format("%-m月%-d日 %H:%M"),
            self.to.with_timezone(&tz).format("%H:%M")
        )
    }

    fn contains(&self, t: DateTime<Utc>, tolerance: Duration) -> bool {
        t >= self.from - tolerance && t < self.to + tolerance
    }

    /// Minutes from the window to `t` (0 inside it).
    fn distance(&self, t: DateTime<Utc>) -> i64 {
        if t < self.from {
            (self.from - t).num_minutes()
        } else if t >= self.to {
            (t - self.to).num_minutes()
        } else {
            0
        }
    }
}

/// Each enabled township's window under the tour date, in time order; townships without a
/// day or arrival (or with no tour date) have none.
pub fn stop_windows(first_day: Option<NaiveDate>, townships: &[Township]) -> Vec<StopWindow> {
    let mut stops: Vec<(StopWindow, Option<DateTime<Utc>>, DateTime<Utc>)> = townships
        .iter()
        .filter(|t| t.enabled)
        .filter_map(|t| {
            let w = window(first_day, t.day, t.arrival.as_deref(), t.slot_minutes)?;
            Some((
                StopWindow {
                    township_id: t.id.clone(),
                    position: t.position,
                    name: t.name.clone(),
                    from: w.opens,
                    to: w.opens,
                },
                w.slot_ends,
                w.day_ends,
            ))
        })
        .collect();
    stops.sort_by(|a, b| {
        a.0.from
            .cmp(&b.0.from)
            .then(a.0.position.cmp(&b.0.position))
    });
    let next_same_day: Vec<Option<DateTime<Utc>>> = (0..stops.len())
        .map(|i| {
            stops
                .get(i + 1)
                .filter(|n| n.2 == stops[i].2 && n.0.from > stops[i].0.from)
                .map(|n| n.0.from)
        })
        .collect();
    stops
        .into_iter()
        .zip(next_same_day)
        .map(|((mut s, slot_ends, day_ends), next)| {
            s.to = slot_ends
                .or(next)
                .unwrap_or(s.from + Duration::minutes(UNPLANNED_SLOT_MINUTES))
                .min(day_ends);
            s
        })
        .collect()
}

/// A capture time as cameras write it: EXIF `YYYY:MM:DD HH:MM:SS` (the camera's local time,
/// taken as Beijing time), the same with `-` in the date, or RFC 3339 with its offset.
pub fn parse_taken_at(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim().trim_end_matches('\0');
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let local = [
        "%Y:%m:%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())?;
    beijing()
        .from_local_datetime(&local)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// The true capture time: the camera's time corrected by `offset_seconds` (what the import
/// said to add to the camera's clock).
pub fn corrected(taken: DateTime<Utc>, offset_seconds: i64) -> DateTime<Utc> {
    taken
        + Duration::seconds(
            offset_seconds.clamp(-MAX_CLOCK_OFFSET_SECONDS, MAX_CLOCK_OFFSET_SECONDS),
        )
}

/// The stop a photo taken at `t` belongs to: the one whose window holds it, else the nearest
/// within [`TOLERANCE_MINUTES`]; `None` between stops, before and after the tour.
pub fn stop_at(stops: &[StopWindow], t: DateTime<Utc>) -> Option<&StopWindow> {
    let tolerance = Duration::minutes(TOLERANCE_MINUTES);
    // A window that holds `t` wins over one that only reaches it with the tolerance, even at
    // zero whole minutes away (a stop ending at 15:00 and the next one starting then).
    stops
        .iter()
        .filter(|s| s.contains(t, tolerance))
        .min_by_key(|s| (!s.contains(t, Duration::zero()), s.distance(t), s.from))
}

/// When an evidence photo was taken, against its township's window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PhotoTiming {
    /// During the stop (within the tolerance).
    Within,
    /// Outside it: flagged, never refused.
    Outside {
        /// The (corrected) capture time, Beijing, e.g. `12月4日 11:52`.
        taken: String,
        /// The township's window, e.g. `12月4日 09:00–09:40`.
        window: String,
        /// Minutes before (negative) or after (positive) the window.
        minutes: i32,
    },
    /// The photo carries no capture time, or the township has no scheduled time.
    #[default]
    Unknown,
}

/// Whether a photo taken at `taken` (corrected) fits `stop`'s window.
pub fn timing(taken: Option<DateTime<Utc>>, stop: Option<&StopWindow>) -> PhotoTiming {
    let (Some(t), Some(s)) = (taken, stop) else {
        return PhotoTiming::Unknown;
    };
    if s.contains(t, Duration::minutes(TOLERANCE_MINUTES)) {
        return PhotoTiming::Within;
    }
    let minutes = if t < s.from {
        -(s.from - t).num_minutes()
    } else {
        (t - s.to).num_minutes()
    };
    PhotoTiming::Outside {
        taken: t
            .with_timezone(&beijing())
            .format("%-m月%-d日 %H:%M")
            .to_string(),
        window: s.text(),
        minutes: i32::try_from(minutes).unwrap_or(i32::MAX),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roster::TownshipKind;
    use proptest::prelude::*;

    fn township(pos: i32, day: i32, arrival: &str, slot: Option<i32>) -> Township {
        Township {
            id: format!("t{pos}"),
            code: format!("4304820010{pos:02}"),
            name: format!("镇{pos}"),
            kind: TownshipKind::Town,
            enabled: true,
            position: pos,
            day: Some(day),
            arrival: Some(arrival.into()),
            slot_minutes: slot,
            note: String::new(),
            eval_group: String::new(),
            version: 1,
        }
    }

    fn bj(s: &str) -> DateTime<Utc> {
        parse_taken_at(s).unwrap()
    }

    fn tour() -> Vec<StopWindow> {
        let first = NaiveDate::from_ymd_opt(2024, 12, 4);
        stop_windows(
            first,
            &[
                township(2, 1, "10:00", None),
                township(1, 1, "08:30", Some(40)),
                township(3, 1, "15:00", None),
                township(4, 2, "09:00", Some(30)),
            ],
        )
    }

    #[test]
    fn windows_follow_the_schedule_in_time_order() {
        let s = tour();
        let labels: Vec<String> = s.iter().map(StopWindow::label).collect();
        assert_eq!(labels, ["第1站·镇1", "第2站·镇2", "第3站·镇3", "第4站·镇4"]);
        assert_eq!(s[0].text(), "12月4日 08:30–09:10", "the planned slot");
        assert_eq!(
            s[1].text(),
            "12月4日 10:00–15:00",
            "no slot: until the next stop"
        );
        assert_eq!(
            s[2].text(),
            "12月4日 15:00–16:00",
            "no slot, last of the day: an hour"
        );
        assert_eq!(s[3].text(), "12月5日 09:00–09:30", "day 2");
        assert!(stop_windows(None, &[township(1, 1, "08:30", None)]).is_empty());
    }

    #[test]
    fn exif_and_rfc3339_times_parse_as_beijing_time() {
        assert_eq!(
            parse_taken_at("2024:12:04 08:45:10").unwrap(),
            DateTime::parse_from_rfc3339("2024-12-04T00:45:10Z").unwrap()
        );
        assert_eq!(
            parse_taken_at("2024-12-04T08:45:10+08:00"),
            parse_taken_at("2024:12:04 08:45:10")
        );
        assert_eq!(
            parse_taken_at("2024:12:04 08:45:10.25\0")
                .unwrap()
                .timestamp(),
            1733273110
        );
        assert_eq!(parse_taken_at("0000:00:00 00:00:00"), None);
        assert_eq!(parse_taken_at("昨天"), None);
    }

    #[test]
    fn a_photo_goes_to_the_stop_whose_window_holds_it() {
        let s = tour();
        let at = |t: &str| stop_at(&s, bj(t)).map(|w| w.position);
        assert_eq!(at("2024:12:04 08:50:00"), Some(1));
        assert_eq!(at("2024:12:04 08:20:00"), Some(1), "bus ten minutes early");
        assert_eq!(
            at("2024:12:04 09:20:00"),
            Some(1),
            "lingering within the tolerance"
        );
        assert_eq!(at("2024:12:04 09:35:00"), None, "between stops");
        assert_eq!(at("2024:12:04 12:00:00"), Some(2));
        assert_eq!(
            at("2024:12:04 15:05:00"),
            Some(3),
            "the stop it is in, not the one just left"
        );
        assert_eq!(at("2024:12:05 09:10:00"), Some(4));
        assert_eq!(at("2024:12:03 09:10:00"), None, "before the tour");
    }

    #[test]
    fn an_evidence_photo_outside_its_township_is_flagged_with_times() {
        let s = tour();
        assert_eq!(
            timing(Some(bj("2024:12:04 08:40:00")), Some(&s[0])),
            PhotoTiming::Within
        );
        assert_eq!(
            timing(Some(bj("2024:12:04 11:52:00")), Some(&s[0])),
            PhotoTiming::Outside {
                taken: "12月4日 11:52".into(),
                window: "12月4日 08:30–09:10".into(),
                minutes: 162,
            }
        );
        assert_eq!(
            timing(Some(bj("2024:12:04 07:00:00")), Some(&s[0])),
            PhotoTiming::Outside {
                taken: "12月4日 07:00".into(),
                window: "12月4日 08:30–09:10".into(),
                minutes: -90,
            }
        );
        assert_eq!(timing(None, Some(&s[0])), PhotoTiming::Unknown);
        assert_eq!(
            timing(Some(bj("2024:12:04 08:40:00")), None),
            PhotoTiming::Unknown
        );
        // A camera an hour slow: corrected once, the photo is at the stop.
        let camera = bj("2024:12:04 07:40:00");
        assert_eq!(
            timing(Some(corrected(camera, 3600)), Some(&s[0])),
            PhotoTiming::Within
        );
    }

    #[test]
    fn a_photo_taken_as_one_stop_ends_and_the_next_begins_is_the_next_ones() {
        // 第2站 runs until 15:00 (no slot: until the next stop), 第3站 starts at 15:00. A proptest
        // found 15:00 itself filed under 第2站, whose end is zero whole minutes away.
        let s = tour();
        let at = |hms: &str| stop_at(&s, bj(&format!("2024:12:04 {hms}"))).map(|w| w.position);
        assert_eq!(at("15:00:00"), Some(3));
        assert_eq!(at("15:00:30"), Some(3));
        assert_eq!(at("14:59:59"), Some(2));
    }

    proptest! {
        /// Any time inside a window maps to that stop, and a stop found is always within the
        /// tolerance of the time.
        #[test]
        fn stop_at_agrees_with_timing(minutes in 0i64..(3 * 24 * 60)) {
            let s = tour();
            let t = bj("2024:12:03 00:00:00") + Duration::minutes(minutes);
            for w in &s {
                if t >= w.from && t < w.to {
                    prop_assert_eq!(stop_at(&s, t).map(|x| x.position), Some(w.position));
                }
            }
            match stop_at(&s, t) {
                Some(w) => prop_assert_eq!(timing(Some(t), Some(w)), PhotoTiming::Within),
                None => for w in &s {
                    prop_assert!(
                        matches!(timing(Some(t), Some(w)), PhotoTiming::Outside { .. }),
                        "no stop found, so every stop must flag it"
                    );
                },
            }
        }

        /// Corrections are bounded, whatever a file claims.
        #[test]
        fn corrections_are_bounded(offset in any::<i64>()) {
            let t = bj("2024:12:04 08:00:00");
            let c = corrected(t, offset);
            prop_assert!((c - t).num_seconds().abs() <= MAX_CLOCK_OFFSET_SECONDS);
        }
    }
}
