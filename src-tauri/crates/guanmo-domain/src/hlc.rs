//! Hybrid logical clock: a timestamp that follows the wall clock when it can and never goes
//! backwards, so operations made after seeing another device's operation always sort after
//! it, whatever the laptops' clocks say. Only the *order* of operations uses it; no rule
//! decides a value by comparing clocks.

use std::fmt;
use std::str::FromStr;

/// A hybrid logical timestamp: wall milliseconds and a counter for ties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hlc {
    /// Milliseconds since the Unix epoch (the largest wall time seen).
    pub wall_ms: i64,
    /// Tie-breaking counter within one millisecond.
    pub counter: u32,
}

/// Largest counter the text form holds; past it the clock moves one millisecond on.
const MAX_COUNTER: u32 = 999_999;

impl Hlc {
    fn after(wall_ms: i64, counter: u32) -> Hlc {
        if counter < MAX_COUNTER {
            Hlc {
                wall_ms,
                counter: counter + 1,
            }
        } else {
            Hlc {
                wall_ms: wall_ms + 1,
                counter: 0,
            }
        }
    }

    /// The timestamp for a local event at wall time `now_ms`, after `last`.
    pub fn tick(last: Hlc, now_ms: i64) -> Hlc {
        if now_ms > last.wall_ms {
            Hlc {
                wall_ms: now_ms,
                counter: 0,
            }
        } else {
            Hlc::after(last.wall_ms, last.counter)
        }
    }

    /// The clock after receiving `remote` at wall time `now_ms`: after both.
    pub fn receive(last: Hlc, remote: Hlc, now_ms: i64) -> Hlc {
        let wall = last.wall_ms.max(remote.wall_ms).max(now_ms);
        if wall == last.wall_ms && wall == remote.wall_ms {
            Hlc::after(wall, last.counter.max(remote.counter))
        } else if wall == last.wall_ms {
            Hlc::after(wall, last.counter)
        } else if wall == remote.wall_ms {
            Hlc::after(wall, remote.counter)
        } else {
            Hlc {
                wall_ms: wall,
                counter: 0,
            }
        }
    }
}

/// Text form that sorts like the value: 15 digits of milliseconds, `-`, 6 digits of counter.
impl fmt::Display for Hlc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:015}-{:06}", self.wall_ms.max(0), self.counter)
    }
}

/// Why a text is not a hybrid logical timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a hybrid logical timestamp: {0:?}")]
pub struct BadHlc(pub String);

impl FromStr for Hlc {
    type Err = BadHlc;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadHlc(s.chars().take(40).collect());
        let (wall, counter) = s.split_once('-').ok_or_else(bad)?;
        if wall.len() != 15
            || counter.len() != 6
            || !wall.bytes().all(|b| b.is_ascii_digit())
            || !counter.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        Ok(Hlc {
            wall_ms: wall.parse().map_err(|_| bad())?,
            counter: counter.parse().map_err(|_| bad())?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_clock_that_jumps_back_still_moves_forward() {
        let a = Hlc::tick(Hlc::default(), 1_000);
        let b = Hlc::tick(a, 500);
        assert!(b > a);
        assert_eq!(b.wall_ms, 1_000);
    }

    #[test]
    fn receiving_a_later_stamp_moves_past_it() {
        let local = Hlc::tick(Hlc::default(), 1_000);
        let remote = Hlc {
            wall_ms: 90_000_000,
            counter: 4,
        };
        let after = Hlc::receive(local, remote, 1_001);
        assert!(after > remote);
        assert!(Hlc::tick(after, 1_002) > remote);
    }

    #[test]
    fn text_form_round_trips_and_rejects_junk() {
        let h = Hlc {
            wall_ms: 1_764_000_000_123,
            counter: 7,
        };
        assert_eq!(h.to_string(), "001764000000123-000007");
        assert_eq!(h.to_string().parse::<Hlc>().unwrap(), h);
        for junk in [
            "",
            "1-2",
            "001764000000123_000007",
            "00176400000012x-000007",
        ] {
            assert!(junk.parse::<Hlc>().is_err(), "{junk}");
        }
    }

    proptest! {
        #[test]
        fn order_of_text_is_order_of_values(a in 0i64..999_999_999_999_999, b in 0u32..=999_999, c in 0i64..999_999_999_999_999, d in 0u32..=999_999) {
            let x = Hlc { wall_ms: a, counter: b };
            let y = Hlc { wall_ms: c, counter: d };
            prop_assert_eq!(x.cmp(&y), x.to_string().cmp(&y.to_string()));
        }

        #[test]
        fn received_stamps_stay_in_text_range(c in 999_990u32..=999_999, w in 0i64..10) {
            let remote = Hlc { wall_ms: 5, counter: c };
            let next = Hlc::receive(remote, remote, w);
            prop_assert!(next > remote);
            prop_assert_eq!(next.to_string().parse::<Hlc>().unwrap(), next);
        }

        #[test]
        fn ticks_are_strictly_increasing(walls in proptest::collection::vec(0i64..10_000, 1..50)) {
            let mut last = Hlc::default();
            for w in walls {
                let next = Hlc::tick(last, w);
                prop_assert!(next > last);
                last = next;
            }
        }
    }
}
