//! A `Problem` says what is wrong with one piece of input and where (row, field), in words
//! an organiser understands. Validations return all problems at once, never just the first.

use serde::{Deserialize, Serialize};
use specta::Type;

/// Whether a problem blocks the operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// The operation is refused.
    Error,
    /// The operation goes on; the organiser should look.
    Warning,
}

/// A stable code per kind of problem; the UI may branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ProblemCode {
    /// A required value is empty.
    Required,
    /// A value is malformed (code, time, number).
    Invalid,
    /// A value is too long or out of range.
    OutOfRange,
    /// The same code or name occurs twice.
    Duplicate,
    /// Sums of maxima do not match the stated total.
    SumMismatch,
    /// A row has more or fewer cells than the header.
    RaggedRow,
    /// A quoted cell never closes.
    UnclosedQuote,
    /// A header lacks a required column.
    MissingColumn,
    /// A column is not known and was ignored.
    UnknownColumn,
    /// The file has no data rows.
    Empty,
    /// Not the usual number of enabled townships.
    UnusualCount,
    /// Something in the roster is absent from the imported file.
    NotInFile,
}

/// One thing wrong with the input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct Problem {
    /// What kind of problem.
    pub code: ProblemCode,
    /// Blocking or advisory.
    pub severity: Severity,
    /// 1-based row in the file (the header is row 1), when it comes from a file.
    pub row: Option<u32>,
    /// Where, in words: a column name or a rubric path such as `基层党建 › 组织建设`.
    pub location: String,
    /// What is wrong, in Chinese.
    pub message: String,
}

impl Problem {
    /// A blocking problem.
    pub fn error(
        code: ProblemCode,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            code,
            severity: Severity::Error,
            row: None,
            location: location.into(),
            message: message.into(),
        }
    }

    /// An advisory problem.
    pub fn warning(
        code: ProblemCode,
        location: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, location, message)
        }
    }

    /// The same problem at a file row.
    pub fn at_row(mut self, row: u32) -> Self {
        self.row = Some(row);
        self
    }

    /// True when the problem blocks the operation.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// True when any problem in the list blocks the operation.
pub fn has_errors(problems: &[Problem]) -> bool {
    problems.iter().any(Problem::is_error)
}
