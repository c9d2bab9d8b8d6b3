//! The context every use case runs in: the store, the clock and the data folder. Opening it
//! creates the database on first start and seeds the default roster and rubric once.

use crate::{seed, ApiResult};
use guanmo_domain::words::WordList;
use guanmo_domain::Clock;
use guanmo_store::Store;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// File name of the database inside the data folder.
pub const DB_FILE: &str = "guanmo.sqlite3";

/// Shared, cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    data_dir: PathBuf,
    /// The compiled sensitive-word list, dropped when the list changes.
    pub(crate) words: Arc<RwLock<Option<Arc<WordList>>>>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl Ctx {
    /// Opens the data folder (creating it), migrates, and seeds defaults on first start.
    pub fn open(data_dir: &Path, clock: Arc<dyn Clock>) -> ApiResult<Ctx> {
        let store = Store::open(&data_dir.join(DB_FILE))?;
        let ctx = Ctx {
            store,
            clock,
            data_dir: data_dir.to_path_buf(),
            words: Arc::default(),
        };
        seed::seed_defaults_once(&ctx)?;
        Ok(ctx)
    }

    /// The data folder.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The current time from the injected clock.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// The store, for adapters that need the change log.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Who is acting. Until devices have roles, every write on this laptop is the organiser's.
    pub(crate) fn actor(&self) -> &'static str {
        "organiser"
    }
}
