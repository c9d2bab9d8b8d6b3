//! Pure domain rules of Guanmo (观摩): the roster of townships, the scoring rubric,
//! points with at most one decimal, and the `Problem` list every validation returns.
//! Nothing here does IO, so every rule can be unit- and property-tested directly.

pub mod aggregation;
pub mod clock;
pub mod comments;
pub mod device;
pub mod feed;
pub mod hlc;
pub mod ids;
pub mod paper;
pub mod people;
pub mod photos;
pub mod points;
pub mod problem;
pub mod results;
pub mod roster;
pub mod rubric;
pub mod schedule;
pub mod scoring;
pub mod tour_photos;
pub mod words;

pub use clock::{Clock, FixedClock, SystemClock};
pub use points::Points;
pub use problem::{Problem, ProblemCode, Severity};
