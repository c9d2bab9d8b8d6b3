//! The context every use case runs in: the store, the clock and the data folder. Opening it
//! creates the database on first start and seeds the default roster and rubric once.

use crate::{seed, ApiError, ApiResult, ErrorCode};
use guanmo_domain::device::Role;

/// Meta key of this device's sync role (`hub`, `scorer`, `media`), set by guanmo-sync.
pub const DEVICE_ROLE: &str = "device_role";
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

    /// This device's role as set in 同步, if one was chosen.
    pub fn device_role(&self) -> ApiResult<Option<Role>> {
        Ok(self
            .store
            .read(|c| guanmo_store::meta::get(c, DEVICE_ROLE))?
            .as_deref()
            .and_then(Role::parse))
    }

    /// Refuses edits of what only the organiser's hub may change (roster, rubric, scorers,
    /// scoring states, the aggregation rule, unlocking a sheet) on a scorer's or media
    /// laptop: the hub would refuse them at the next sync anyway. A laptop with no role yet
    /// (a single laptop used on its own) may edit everything.
    pub(crate) fn ensure_organiser(&self) -> ApiResult<()> {
        match self.device_role()? {
            Some(role) if role.is_laptop() => Err(ApiError::new(
                ErrorCode::HubOnly,
                "only the organiser's hub edits this",
            )),
            _ => Ok(()),
        }
    }

    /// Refuses changes to the resident site on a scorer's laptop, which does not run it; the
    /// hub, the media laptop (直播电脑) and a laptop with no role yet may.
    pub(crate) fn ensure_site_operator(&self) -> ApiResult<()> {
        if self.device_role()? == Some(Role::Scorer) {
            return Err(ApiError::with_problems(
                ErrorCode::HubOnly,
                "a scorer's laptop does not run the resident site",
                vec![guanmo_domain::Problem::error(
                    guanmo_domain::problem::ProblemCode::Invalid,
                    "直播网站",
                    "评分电脑不运行直播网站,请在组织方主机或直播电脑上设置",
                )],
            ));
        }
        Ok(())
    }

    /// Who is acting. Until devices have roles, every write on this laptop is the organiser's.
    pub(crate) fn actor(&self) -> &'static str {
        "organiser"
    }
}
