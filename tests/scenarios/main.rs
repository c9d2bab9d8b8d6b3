//! Scenario tests across crates: the api over a real store in a temp folder, driven the way
//! the desktop commands drive it. Each refused import must leave the database unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backup;
mod comments_crash;
mod comments_sync;
mod crash;
mod export;
mod people;
mod photos;
mod publish_4g;
mod results;
mod retention;
mod roster;
mod rubric;
mod schedule;
mod scoring;
mod signoff;
mod support;
mod sync;
mod sync_http;
mod tour_photos;
mod upgrade;
