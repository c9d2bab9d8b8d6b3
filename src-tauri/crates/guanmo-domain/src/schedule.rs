//! The tour's dates (观摩日期) and when a township's scoring is open. A laptop that lost
//! contact with the hub still knows the schedule, so it opens a township by itself at the
//! scheduled arrival; the organiser's manual state (开放/结束) always wins over the schedule.
//! Every time is Beijing time (UTC+8, no daylight saving).

use crate::problem::{Problem, ProblemCode};
use crate::scoring::ScoringState;
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveTime, Offset, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use specta::Type;

/// Beijing time: UTC+8 all year.
pub fn beijing() -> FixedOffset {
    // 8 h is well within ±24 h, so `east_opt` cannot fail; UTC is the harmless fallback.
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix())
}

/// The tour's settings the organiser sets on the hub (replicated to every laptop).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct TourSettings {
    /// 观摩日期: the calendar date of day 1, `YYYY-MM-DD` (Beijing); day 2 is the next day.
    /// `None` until set: townships then open only by hand.
    #[serde(default)]
    pub first_day: Option<String>,
}

impl TourSettings {
    /// Trims text; a blank date becomes `None`.
    pub fn normalized(mut self) -> Self {
        self.first_day = self
            .first_day
            .map(|d| d.trim().to_string())
            .filter(|d| !d.is_empty());
        self
    }

    /// Problems with the settings, located by field.
    pub fn validate(&self) -> Vec<Problem> {
        match &self.first_day {
            Some(d) if parse_date(d).is_none() => vec![Problem::error(
                ProblemCode::Invalid,
                "观摩日期",
                format!("观摩日期「{d}」应为 YYYY-MM-DD,例如 2026-12-04"),
            )],
            _ => Vec::new(),
        }
    }

    /// Day 1's date, when set and valid.
    pub fn first_day_date(&self) -> Option<NaiveDate> {
        self.first_day.as_deref().and_then(parse_date)
    }
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .filter(|d| d.format("%Y-%m-%d").to_string() == s)
}

/// What the organiser set by hand for a township (the `township_scoring` row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ManualState {
    /// Nothing set, or set back to the schedule (按日程).
    Auto,
    /// 手动开放.
    Open,
    /// 结束评分.
    Closed,
}

/// A township's scheduled times on the tour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Scheduled arrival: scoring opens by itself from here.
    pub opens: DateTime<Utc>,
    /// Arrival plus the slot, if the slot's length is planned: a sheet submitted after this is
    /// late (逾期).
    pub slot_ends: Option<DateTime<Utc>>,
    /// Midnight after the tour day (Beijing): scoring stays open until then, so sheets can be
    /// finished on the bus.
    pub day_ends: DateTime<Utc>,
}

/// A township's window, when the tour date is set and the township has a day and an arrival.
pub fn window(
    first_day: Option<NaiveDate>,
    day: Option<i32>,
    arrival: Option<&str>,
    slot_minutes: Option<i32>,
) -> Option<Window> {
    let first = first_day?;
    let day = day.filter(|d| *d >= 1)?;
    let time = NaiveTime::parse_from_str(arrival?.trim(), "%H:%M").ok()?;
    let date = first.checked_add_signed(Duration::days(i64::from(day - 1)))?;
    let tz = beijing();
    let opens = tz
        .from_local_datetime(&date.and_time(time))
        .single()?
        .with_timezone(&Utc);
    let next = date.succ_opt()?;
    let day_ends = tz
        .from_local_datetime(&next.and_time(NaiveTime::MIN))
        .single()?
        .with_timezone(&Utc);
    let slot_ends = slot_minutes
        .filter(|m| *m > 0)
        .map(|m| opens + Duration::minutes(i64::from(m)));
    Some(Window {
        opens,
        slot_ends,
        day_ends,
    })
}

/// Whether a township is being scored at `now`. The organiser's manual state wins; without
/// one (按日程) the township is open from its scheduled arrival to the end of that tour day,
/// then closed; a township without a window never opens by itself.
pub fn effective_state(
    manual: ManualState,
    window: Option<&Window>,
    now: DateTime<Utc>,
) -> ScoringState {
    match (manual, window) {
        (ManualState::Open, _) => ScoringState::Open,
        (ManualState::Closed, _) => ScoringState::Closed,
        (ManualState::Auto, None) => ScoringState::NotOpen,
        (ManualState::Auto, Some(w)) if now < w.opens => ScoringState::NotOpen,
        (ManualState::Auto, Some(w)) if now < w.day_ends => ScoringState::Open,
        (ManualState::Auto, Some(_)) => ScoringState::Closed,
    }
}

/// Whether a sheet submitted at `submitted_at` came after its township's slot (逾期).
/// Without a planned slot nothing is late.
pub fn is_late(submitted_at: DateTime<Utc>, window: Option<&Window>) -> bool {
    window
        .and_then(|w| w.slot_ends)
        .is_some_and(|end| submitted_at > end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn day1() -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(2026, 12, 4)
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn arrival_on_day_two_opens_the_next_morning_beijing_time_and_stays_open_until_midnight() {
        let w = window(day1(), Some(2), Some("09:30"), Some(40)).unwrap();
        assert_eq!(w.opens, at("2026-12-05T09:30:00+08:00"));
        assert_eq!(w.slot_ends, Some(at("2026-12-05T10:10:00+08:00")));
        assert_eq!(w.day_ends, at("2026-12-06T00:00:00+08:00"));
        let s = |t: &str| effective_state(ManualState::Auto, Some(&w), at(t));
        assert_eq!(s("2026-12-05T09:29:59+08:00"), ScoringState::NotOpen);
        assert_eq!(s("2026-12-05T09:30:00+08:00"), ScoringState::Open);
        assert_eq!(
            s("2026-12-05T23:59:59+08:00"),
            ScoringState::Open,
            "on the bus"
        );
        assert_eq!(s("2026-12-06T00:00:00+08:00"), ScoringState::Closed);
    }

    #[test]
    fn without_a_date_a_day_or_an_arrival_there_is_no_window() {
        assert_eq!(window(None, Some(1), Some("09:00"), None), None);
        assert_eq!(window(day1(), None, Some("09:00"), None), None);
        assert_eq!(window(day1(), Some(1), None, None), None);
        assert_eq!(window(day1(), Some(1), Some("9点"), None), None);
        assert_eq!(window(day1(), Some(0), Some("09:00"), None), None);
    }

    #[test]
    fn a_sheet_is_late_only_after_the_slot_and_only_when_a_slot_is_planned() {
        let w = window(day1(), Some(1), Some("09:00"), Some(30)).unwrap();
        assert!(!is_late(at("2026-12-04T09:30:00+08:00"), Some(&w)));
        assert!(is_late(at("2026-12-04T09:30:01+08:00"), Some(&w)));
        let open_ended = window(day1(), Some(1), Some("09:00"), None).unwrap();
        assert!(!is_late(at("2026-12-04T23:00:00+08:00"), Some(&open_ended)));
        assert!(!is_late(at("2026-12-04T23:00:00+08:00"), None));
    }

    #[test]
    fn the_tour_date_must_be_a_real_calendar_date() {
        let ok = TourSettings {
            first_day: Some(" 2026-12-04 ".into()),
        }
        .normalized();
        assert!(ok.validate().is_empty());
        assert_eq!(ok.first_day_date(), day1());
        for bad in ["2026-13-01", "2026-2-30", "明天", "2026/12/04"] {
            let s = TourSettings {
                first_day: Some(bad.into()),
            };
            assert_eq!(s.validate().len(), 1, "{bad}");
            assert_eq!(s.first_day_date(), None);
        }
        let blank = TourSettings {
            first_day: Some("  ".into()),
        }
        .normalized();
        assert_eq!(blank.first_day, None);
    }

    fn any_manual() -> impl Strategy<Value = ManualState> {
        prop_oneof![
            Just(ManualState::Auto),
            Just(ManualState::Open),
            Just(ManualState::Closed)
        ]
    }

    fn any_window() -> impl Strategy<Value = Option<Window>> {
        (
            prop::option::of(0u32..3000),
            prop::option::of(1i32..=2),
            prop::option::of((0u32..24, 0u32..60)),
            prop::option::of(1i32..=240),
        )
            .prop_map(|(d, day, hm, slot)| {
                let first = d.and_then(|d| {
                    NaiveDate::from_ymd_opt(2024, 1, 1)?
                        .checked_add_days(chrono::Days::new(d.into()))
                });
                let arrival = hm.map(|(h, m)| format!("{h:02}:{m:02}"));
                window(first, day, arrival.as_deref(), slot)
            })
    }

    fn any_now() -> impl Strategy<Value = DateTime<Utc>> {
        (1_700_000_000i64..2_000_000_000).prop_map(|s| Utc.timestamp_opt(s, 0).unwrap())
    }

    proptest! {
        #[test]
        fn never_open_before_arrival_unless_opened_by_hand(
            m in any_manual(),
            w in any_window(),
            now in any_now(),
        ) {
            let before = w.as_ref().is_none_or(|w| now < w.opens);
            if before && m != ManualState::Open {
                prop_assert_ne!(effective_state(m, w.as_ref(), now), ScoringState::Open);
            }
        }

        #[test]
        fn a_manual_close_always_wins(w in any_window(), now in any_now()) {
            prop_assert_eq!(effective_state(ManualState::Closed, w.as_ref(), now), ScoringState::Closed);
        }

        #[test]
        fn a_manual_open_always_wins(w in any_window(), now in any_now()) {
            prop_assert_eq!(effective_state(ManualState::Open, w.as_ref(), now), ScoringState::Open);
        }

        #[test]
        fn a_township_without_schedule_never_opens_by_itself(now in any_now()) {
            prop_assert_eq!(effective_state(ManualState::Auto, None, now), ScoringState::NotOpen);
        }

        #[test]
        fn by_schedule_a_township_is_open_exactly_within_its_day(w in any_window(), now in any_now()) {
            if let Some(w) = &w {
                let open = effective_state(ManualState::Auto, Some(w), now) == ScoringState::Open;
                prop_assert_eq!(open, w.opens <= now && now < w.day_ends);
                prop_assert!(w.day_ends - w.opens <= Duration::hours(24));
                prop_assert!(w.slot_ends.is_none_or(|e| e > w.opens));
            }
        }
    }
}
