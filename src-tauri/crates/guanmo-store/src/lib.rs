//! Guanmo's SQLite store. Owns connection setup (bundled SQLite ≥ 3.51.3, WAL,
//! `synchronous=FULL`, foreign keys), the migrations, and the rule that every write goes
//! through the one writer connection in a `BEGIN IMMEDIATE` transaction that also appends to
//! the change log. Readers use a separate pool of read-only connections.

pub mod backup;
mod changes;
pub mod comments;
mod db;
pub mod devices;
mod error;
pub mod feed;
pub mod feed_stops;
pub mod meta;
pub mod migrations;
pub mod oplog;
pub mod outbox;
pub mod paper;
pub mod people;
pub mod phone_crypt;
pub mod photos;
pub mod reach;
pub mod results;
pub mod retention;
pub mod roster;
pub mod rubric;
pub mod scoring;
pub mod trust;
pub mod watermark;

pub use changes::{Change, ChangeInput};
pub use db::{
    known_schema_version, phone_key_path, schema_version_of, CommitHook, Committed, Store, WriteTx,
    MIN_SQLITE_VERSION,
};
pub use error::StoreError;

/// Result of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
