//! Points are kept as integer tenths so that sums are exact: "at most one decimal" is the
//! rule for every max, limit and awarded mark, and 0.1 + 0.2 must equal 0.3.

use std::fmt;

/// A number of points in tenths (`Points(75)` is 7.5 points).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Points(pub i32);

/// Why a number cannot be a number of points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PointsError {
    /// NaN or infinite.
    #[error("不是有效数字")]
    NotFinite,
    /// More than one decimal place, such as 7.55.
    #[error("最多保留一位小数")]
    TooPrecise,
    /// Beyond ±100000 points.
    #[error("数值过大")]
    OutOfRange,
}

impl Points {
    /// Zero points.
    pub const ZERO: Points = Points(0);

    /// Converts a decimal number with at most one decimal place.
    pub fn from_f64(v: f64) -> Result<Self, PointsError> {
        if !v.is_finite() {
            return Err(PointsError::NotFinite);
        }
        if v.abs() > 100_000.0 {
            return Err(PointsError::OutOfRange);
        }
        let scaled = v * 10.0;
        let rounded = scaled.round();
        if (scaled - rounded).abs() > 1e-6 {
            return Err(PointsError::TooPrecise);
        }
        Ok(Points(rounded as i32))
    }

    /// Parses text such as `20`, `7.5` or ` 12.0 `.
    pub fn parse(s: &str) -> Result<Self, PointsError> {
        let t = s.trim();
        let v: f64 = t.parse().map_err(|_| PointsError::NotFinite)?;
        Self::from_f64(v)
    }

    /// The value as a decimal number.
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 10.0
    }

    /// The number of tenths.
    pub fn tenths(self) -> i32 {
        self.0
    }
}

impl std::ops::Add for Points {
    type Output = Points;
    fn add(self, rhs: Points) -> Points {
        Points(self.0.saturating_add(rhs.0))
    }
}

impl std::iter::Sum for Points {
    fn sum<I: Iterator<Item = Points>>(iter: I) -> Points {
        iter.fold(Points::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        if a.is_multiple_of(10) {
            write!(f, "{sign}{}", a / 10)
        } else {
            write!(f, "{sign}{}.{}", a / 10, a % 10)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_decimal_is_accepted_and_two_are_refused() {
        assert_eq!(Points::from_f64(7.5), Ok(Points(75)));
        assert_eq!(Points::from_f64(7.55), Err(PointsError::TooPrecise));
        assert_eq!(Points::parse("12"), Ok(Points(120)));
        assert_eq!(Points::parse("abc"), Err(PointsError::NotFinite));
        assert_eq!(Points::from_f64(f64::NAN), Err(PointsError::NotFinite));
    }

    #[test]
    fn display_drops_a_zero_decimal() {
        assert_eq!(Points(200).to_string(), "20");
        assert_eq!(Points(75).to_string(), "7.5");
        assert_eq!(Points(-5).to_string(), "-0.5");
    }

    proptest! {
        #[test]
        fn tenths_round_trip_through_f64(t in -1_000_000i32..1_000_000) {
            prop_assert_eq!(Points::from_f64(Points(t).as_f64()), Ok(Points(t)));
        }

        #[test]
        fn sums_of_tenths_are_exact(xs in proptest::collection::vec(0i32..1000, 0..50)) {
            let total: Points = xs.iter().map(|&x| Points(x)).sum();
            prop_assert_eq!(total.0, xs.iter().sum::<i32>());
        }
    }
}
