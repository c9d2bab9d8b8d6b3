//! Store errors: what went wrong at the SQLite layer, without UI wording.

/// A failure in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The linked SQLite is older than the floor (WAL-reset bug fixed in 3.51.3).
    #[error("SQLite {found} is older than the required {required}")]
    SqliteTooOld {
        /// The version linked.
        found: String,
        /// The minimum.
        required: String,
    },
    /// The database was written by a newer build (its `user_version` is past the migrations
    /// this build knows): opening it would risk damaging it, so it is left untouched.
    #[error("the data was written by a newer version (schema {found}, this build knows {known})")]
    NewerData {
        /// The database's schema version (`PRAGMA user_version`).
        found: i64,
        /// The newest schema version this build knows (its number of migrations).
        known: i64,
    },
    /// A long operation (a backup) was cancelled by the caller.
    #[error("cancelled")]
    Cancelled,
    /// A migration could not be applied.
    #[error("migration failed: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// SQLite reported an error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The reader pool failed.
    #[error("reader pool: {0}")]
    Pool(#[from] r2d2::Error),
    /// A row does not exist.
    #[error("{entity} {id} not found")]
    NotFound {
        /// Kind of record.
        entity: &'static str,
        /// Its id.
        id: String,
    },
    /// The record changed since the caller read it.
    #[error("{entity} {id} is at version {current}, not {expected}")]
    VersionConflict {
        /// Kind of record.
        entity: &'static str,
        /// Its id.
        id: String,
        /// Version the caller started from.
        expected: i32,
        /// Version in the database.
        current: i32,
    },
    /// A stored value does not decode (a bug or a tampered file).
    #[error("corrupt value in {0}")]
    Corrupt(String),
    /// The phone-number key (`phone.key`) is missing, malformed or not this database's, or
    /// a sealed number does not open with it.
    #[error("phone key: {0}")]
    PhoneKey(String),
    /// The data directory could not be created.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// JSON encoding of a change payload failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}
