//! One spreadsheet cell as the organiser wrote it, and the rules that keep it literal: numbers
//! become text without ".0" or exponents (division codes are numbers in careless workbooks),
//! Excel day fractions become `HH:MM`, and CSV cells that a spreadsheet would run as formulas
//! are escaped with a leading `'` on export and unescaped on import, so export→import is exact.

use std::borrow::Cow;

/// A cell read from a CSV or XLSX file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// Nothing in the cell.
    Empty,
    /// Text, never evaluated.
    Text(String),
    /// A plain number.
    Number(f64),
    /// A date/time serial (days since 1900; the fraction is the time of day).
    Time(f64),
}

impl Cell {
    /// True when the cell holds nothing but whitespace.
    pub(crate) fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => s.trim().is_empty(),
            Cell::Number(_) | Cell::Time(_) => false,
        }
    }

    /// The cell as text.
    pub(crate) fn text(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Number(v) => number_text(*v),
            Cell::Time(v) if (0.0..1.0).contains(v) => time_of_day(*v),
            Cell::Time(v) => number_text(*v),
        }
    }

    /// The cell as an arrival time: a day fraction (a time cell, or a bare number in [0, 1))
    /// becomes `HH:MM`; anything else is its text, left for validation to judge.
    pub(crate) fn time_text(&self) -> String {
        match self {
            Cell::Time(v) => time_of_day(*v),
            Cell::Number(v) if (0.0..1.0).contains(v) => time_of_day(*v),
            Cell::Text(s) => match s.trim().parse::<f64>() {
                Ok(v) if (0.0..1.0).contains(&v) && s.contains('.') => time_of_day(v),
                _ => s.clone(),
            },
            other => other.text(),
        }
    }
}

/// `430482001000.0` → `430482001000`; `7.5` → `7.5`; never an exponent.
pub(crate) fn number_text(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        // Rust's `Display` for f64 never uses exponent notation.
        format!("{v}")
    }
}

/// The time of day of a day fraction, rounded to the minute.
pub(crate) fn time_of_day(serial: f64) -> String {
    let fraction = serial.rem_euclid(1.0);
    // In range by construction: 0 ≤ fraction < 1, so at most 1440 minutes.
    let minutes = ((fraction * 1440.0).round() as u32) % 1440;
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// What a spreadsheet would treat as the start of a formula (OWASP CSV injection).
const FORMULA_LEAD: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `'`* then a formula lead: such cells are escaped on export, so that a cell that already
/// starts with `'` (any number of them) still round-trips.
fn looks_escaped_or_formula(s: &str) -> bool {
    s.trim_start_matches('\'').starts_with(FORMULA_LEAD)
}

/// Prefixes `'` to a CSV cell a spreadsheet would run as a formula. A cell that already
/// looks escaped (`'=…`, `''=…`) is escaped again, so [`unescape_formula`] is its exact inverse.
pub(crate) fn escape_formula(s: &str) -> Cow<'_, str> {
    if looks_escaped_or_formula(s) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// Drops the `'` that [`escape_formula`] added; any other text is left alone.
pub(crate) fn unescape_formula(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if looks_escaped_or_formula(rest) => rest,
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_numeric_code_loses_its_decimal_point_and_never_gets_an_exponent() {
        assert_eq!(number_text(430482001000.0), "430482001000");
        assert_eq!(number_text(1e20), "100000000000000000000");
        assert_eq!(number_text(7.5), "7.5");
        assert_eq!(Cell::Number(430482001000.0).text(), "430482001000");
    }

    #[test]
    fn an_excel_day_fraction_is_a_time_of_day() {
        assert_eq!(time_of_day(0.3958), "09:30");
        assert_eq!(time_of_day(0.5), "12:00");
        assert_eq!(time_of_day(45000.75), "18:00");
        assert_eq!(time_of_day(0.99999), "00:00");
        assert_eq!(Cell::Time(0.3958).time_text(), "09:30");
        assert_eq!(Cell::Number(0.3958).time_text(), "09:30");
        assert_eq!(Cell::Text("0.3958".into()).time_text(), "09:30");
        assert_eq!(Cell::Text("9:30".into()).time_text(), "9:30");
    }

    #[test]
    fn formula_leading_cells_are_escaped_and_unescaped_exactly() {
        for s in [
            "=HYPERLINK(\"http://x\",\"y\")",
            "+cmd|' /C calc'!A0",
            "@SUM(1)",
            "-2+3",
            "\tx",
            "\rx",
            "'=already",
            "''=twice",
            "'''-thrice",
        ] {
            let e = escape_formula(s);
            assert!(e.starts_with('\''), "{s:?} must be escaped");
            assert_eq!(unescape_formula(&e), s);
        }
        for s in ["水口山镇", "'quoted", "''", "a=b", ""] {
            assert_eq!(escape_formula(s), s);
            assert_eq!(unescape_formula(s), s);
        }
    }

    #[test]
    fn a_hand_written_escape_is_stripped_on_import() {
        assert_eq!(unescape_formula("'=1+1"), "=1+1");
        assert_eq!(unescape_formula("'-5"), "-5");
    }
}
