//! The context every use case runs in: the store, the photo store, the clock and the data
//! folder. Opening it creates the database on first start and seeds the default roster and
//! rubric once. Who acts is read from the store on every write, so a role change counts at once.

use crate::{seed, ApiError, ApiResult, ErrorCode};
use guanmo_domain::device::Role;
use guanmo_domain::words::WordList;
use guanmo_domain::Clock;
use guanmo_media::MediaStore;
use guanmo_store::Store;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// Meta key of this device's sync role (`hub`, `scorer`, `media`), set by guanmo-sync.
pub const DEVICE_ROLE: &str = "device_role";

/// File name of the database inside the data folder.
pub const DB_FILE: &str = "guanmo.sqlite3";

/// What the store records as the author of the hub's writes and of a laptop with no role yet
/// (a single laptop used on its own is the organiser's).
const ORGANISER: &str = "organiser";

/// Who acts on this device: the device, its sync role, and the person signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// This device's id (UUIDv7, made by the store on first open).
    pub device_id: String,
    /// Its role as set in 同步; `None` until one is chosen.
    pub role: Option<Role>,
    /// The person at the keyboard (id, name), when one is signed in.
    pub person: Option<(String, String)>,
}

impl Actor {
    /// The author text the store records (change log, op log, moderation log, score audit,
    /// `retracted_by`…): `organiser` on the hub and on a laptop with no role, so what the
    /// organiser sees and what was stored before stays the same; `scorer@<device id>` or
    /// `media@<device id>` on a scorer's or media laptop, naming the laptop that wrote it.
    /// With a person signed in, `|<person id>|<name>` follows (see
    /// [`guanmo_domain::people::author_label`]).
    pub fn label(&self) -> String {
        let device = match self.role {
            Some(role) if role.is_laptop() => format!("{}@{}", role.as_str(), self.device_id),
            _ => ORGANISER.to_string(),
        };
        guanmo_domain::people::author_label(
            &device,
            self.person
                .as_ref()
                .map(|(id, name)| (id.as_str(), name.as_str())),
        )
    }
}

/// The compiled word list and the settings version it was built at.
pub(crate) type CachedWords = (i64, Arc<WordList>);

/// Shared, cheap to clone.
#[derive(Clone)]
pub struct Ctx {
    pub(crate) store: Store,
    pub(crate) clock: Arc<dyn Clock>,
    media: MediaStore,
    data_dir: PathBuf,
    /// The compiled sensitive-word list with the settings version it was built at, rebuilt
    /// when the list changes here or by sync.
    pub(crate) words: Arc<RwLock<Option<CachedWords>>>,
    /// Who is at the keyboard (desktop only; see [`crate::people`]).
    pub(crate) session: Arc<RwLock<crate::people::SessionState>>,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl Ctx {
    /// Opens the data folder (creating it), migrates, seeds defaults on first start, and opens
    /// the photo store under the same folder.
    pub fn open(data_dir: &Path, clock: Arc<dyn Clock>) -> ApiResult<Ctx> {
        let store = Store::open(&data_dir.join(DB_FILE))?;
        let media = MediaStore::new(data_dir).map_err(|e| {
            tracing::error!(error = %e, "cannot open the photo store");
            ApiError::new(
                ErrorCode::Storage,
                format!("cannot open the photo store: {e}"),
            )
        })?;
        let ctx = Ctx {
            store,
            clock,
            media,
            data_dir: data_dir.to_path_buf(),
            words: Arc::default(),
            session: Arc::default(),
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

    /// The photo store (`objects/` under the data folder).
    pub fn media(&self) -> &MediaStore {
        &self.media
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
    /// Once people sign in, only a person holding 组织方 may (a 监票人 at the hub reads only).
    pub(crate) fn ensure_organiser(&self) -> ApiResult<()> {
        match self.device_role()? {
            Some(role) if role.is_laptop() => Err(ApiError::new(
                ErrorCode::HubOnly,
                "only the organiser's hub edits this",
            )),
            _ => crate::people::ensure_person_role(
                self,
                guanmo_domain::people::PersonRole::Organiser,
            ),
        }
    }

    /// Refuses a moderator's record (通过/驳回/置顶, 保留, 交办/回复, the area switch, the
    /// word list, 禁言 and 解除禁言) on a laptop the organiser's hub has not
    /// granted 审核: the hub would refuse it at the next sync, after the laptop showed it as
    /// done. The hub, a granted laptop and a laptop with no role yet may decide.
    ///
    /// Once people sign in, the person must hold 审核员 or 组织方.
    pub(crate) fn ensure_moderator(&self) -> ApiResult<()> {
        crate::people::ensure_any_role(
            self,
            &[
                guanmo_domain::people::PersonRole::Moderator,
                guanmo_domain::people::PersonRole::Organiser,
            ],
        )?;
        self.ensure_moderator_device()
    }

    /// The device part of [`Ctx::ensure_moderator`]: the hub, a granted laptop, or a laptop
    /// with no role yet.
    pub(crate) fn ensure_moderator_device(&self) -> ApiResult<()> {
        match self.device_role()? {
            Some(role) if role.is_laptop() => {
                let me = self.store.device_id().to_string();
                if self
                    .store
                    .read(|c| guanmo_store::trust::granted_moderator(c, &me))?
                {
                    Ok(())
                } else {
                    Err(ApiError::with_problems(
                        ErrorCode::HubOnly,
                        "this laptop holds no moderator grant",
                        vec![guanmo_domain::Problem::error(
                            guanmo_domain::problem::ProblemCode::Invalid,
                            "评论审核",
                            "需组织方主机授予审核权限后,本机才能审核评论",
                        )],
                    ))
                }
            }
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

    /// Who acts on this device, read afresh (the role may have just changed in 同步).
    pub fn actor(&self) -> ApiResult<Actor> {
        Ok(Actor {
            device_id: self.store.device_id().to_string(),
            role: self.device_role()?,
            person: crate::people::signed_in(self)?.map(|p| (p.id, p.name)),
        })
    }

    /// The author text of a write made now ([`Actor::label`]). On the desktop, once people
    /// sign in on this device, a write with no one signed in (or after the idle lock) is
    /// refused: every write names its person.
    pub(crate) fn author(&self) -> ApiResult<String> {
        crate::people::ensure_signed_in(self)?;
        Ok(self.actor()?.label())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use guanmo_domain::SystemClock;

    fn open() -> (tempfile::TempDir, Ctx) {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Ctx::open(dir.path(), Arc::new(SystemClock)).unwrap();
        (dir, ctx)
    }

    fn set_role(ctx: &Ctx, role: Role) {
        ctx.store
            .write_without_ops(ctx.now(), "system", |tx| {
                guanmo_store::meta::set(tx, DEVICE_ROLE, role.as_str())
            })
            .unwrap();
    }

    fn draft(ctx: &Ctx) {
        crate::feed::create_draft(
            ctx,
            guanmo_domain::feed::PostInput {
                body: "草稿".into(),
                ..Default::default()
            },
        )
        .unwrap();
    }

    fn last_change_actor(ctx: &Ctx) -> String {
        let changes = ctx.store.changes_since(0, u32::MAX).unwrap();
        changes.last().expect("a change was logged").actor.clone()
    }

    #[test]
    fn a_device_with_no_role_acts_as_the_organiser() {
        let (_d, ctx) = open();
        let actor = ctx.actor().unwrap();
        assert_eq!(actor.role, None);
        assert_eq!(actor.device_id, ctx.store.device_id());
        assert_eq!(actor.label(), "organiser");
        draft(&ctx);
        assert_eq!(last_change_actor(&ctx), "organiser");
    }

    #[test]
    fn the_hub_acts_as_the_organiser() {
        let (_d, ctx) = open();
        set_role(&ctx, Role::Hub);
        assert_eq!(ctx.actor().unwrap().role, Some(Role::Hub));
        draft(&ctx);
        assert_eq!(last_change_actor(&ctx), "organiser");
    }

    #[test]
    fn a_laptop_records_its_role_and_device_and_a_role_change_counts_at_once() {
        let (_d, ctx) = open();
        let id = ctx.store.device_id().to_string();
        set_role(&ctx, Role::Media);
        draft(&ctx);
        assert_eq!(last_change_actor(&ctx), format!("media@{id}"));
        set_role(&ctx, Role::Scorer);
        let actor = ctx.actor().unwrap();
        assert_eq!(actor.role, Some(Role::Scorer));
        assert_eq!(actor.label(), format!("scorer@{id}"));
    }

    #[test]
    fn the_photo_store_lives_in_the_data_folder() {
        let (d, ctx) = open();
        assert_eq!(ctx.media().root(), d.path().join("objects"));
        assert!(ctx.media().root().is_dir());
    }

    #[test]
    fn a_laptop_moderates_comments_only_with_the_hubs_grant() {
        let (_dir, ctx) = open();
        // A laptop used on its own, and the hub, moderate.
        assert!(ctx.ensure_moderator().is_ok());
        set_role(&ctx, Role::Hub);
        assert!(ctx.ensure_moderator().is_ok());
        for role in [Role::Media, Role::Scorer] {
            set_role(&ctx, role);
            let e = ctx.ensure_moderator().unwrap_err();
            assert_eq!(e.code, ErrorCode::HubOnly);
            assert_eq!(
                e.problems[0].message,
                "需组织方主机授予审核权限后,本机才能审核评论"
            );
            // The real use case refuses before writing anything.
            let e = crate::comments::decide(
                &ctx,
                &["no-such-comment".to_string()],
                crate::comments::Decision::Approve,
            )
            .unwrap_err();
            assert_eq!(e.code, ErrorCode::HubOnly);
            let e = crate::comments::add_words(&ctx, "测试词").unwrap_err();
            assert_eq!(
                e.problems[0].message,
                "需组织方主机授予审核权限后,本机才能审核评论"
            );
            assert!(crate::comments::list_words(&ctx).unwrap().is_empty());
            let e = crate::comments::set_area_open(&ctx, false, None).unwrap_err();
            assert_eq!(e.code, ErrorCode::HubOnly);
            let e = crate::comments::unmute(&ctx, "1").unwrap_err();
            assert_eq!(e.code, ErrorCode::HubOnly);
            let e = crate::comments::mute_author(&ctx, "no-such-comment", 1, "刷屏").unwrap_err();
            assert_eq!(e.code, ErrorCode::HubOnly);
            // The hub's grant, as the laptop receives it, lets it decide.
            let me = ctx.store.device_id().to_string();
            ctx.store
                .write_without_ops(ctx.now(), "hub", |tx| {
                    guanmo_store::trust::set_moderator(tx, &me, true)
                })
                .unwrap();
            assert!(ctx.ensure_moderator().is_ok(), "{role:?} granted");
            // A granted laptop mutes (it replicates): an unknown comment is not found.
            let e = crate::comments::mute_author(&ctx, "no-such-comment", 1, "刷屏").unwrap_err();
            assert_eq!(e.code, ErrorCode::NotFound);
            assert!(crate::comments::list_mutes(&ctx).unwrap().is_empty());
            // A granted laptop edits the word list (it replicates).
            let r = crate::comments::add_words(&ctx, "测试词").unwrap();
            assert_eq!((r.changed, r.total), (1, 1));
            crate::comments::remove_words(&ctx, &["测试词".to_string()]).unwrap();
            ctx.store
                .write_without_ops(ctx.now(), "hub", |tx| {
                    guanmo_store::trust::set_moderator(tx, &me, false)
                })
                .unwrap();
        }
    }
}
