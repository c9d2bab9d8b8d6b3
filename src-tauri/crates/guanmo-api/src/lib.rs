//! Every Guanmo use case as a plain function over a [`Ctx`]. The desktop shell, the CLI and
//! tests call only this crate: it validates input with the domain rules, writes through the
//! store's one writer, and turns every failure into an [`ApiError`] with a stable code.

pub mod backup;
pub mod changes;
pub mod comments;
mod ctx;
mod error;
pub mod exchange;
pub mod export;
pub mod feed;
pub mod feed_stops;
mod files;
pub mod info;
pub mod paper;
pub mod people;
pub mod people_import;
pub mod photos;
pub mod reach;
pub mod results;
pub mod roster;
pub mod rubric;
pub mod schedule;
pub mod scoring;
mod seed;
pub mod site;
pub mod tally;
pub mod tour_photos;

pub use ctx::{Actor, Ctx, DEVICE_ROLE};
pub use error::{ApiError, ErrorCode};

/// Result of a use case.
pub type ApiResult<T> = Result<T, ApiError>;
