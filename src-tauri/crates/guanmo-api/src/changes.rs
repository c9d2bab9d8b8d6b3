//! What changed, for adapters that react to commits (the resident site's live stream and its
//! caches) without reaching into the store: the commit notifications, the names of the kinds
//! of record they carry, and the one value the resident site keeps for itself (its
//! cookie-signing key). Invariant: a notification is sent only after its write committed, so
//! whatever a listener reads next already holds it.

use crate::{ApiResult, Ctx};
use guanmo_store::meta;
use std::sync::mpsc::Receiver;

pub use guanmo_store::{CommitHook, Committed};

/// Kind of record of posts (the live feed), as named in [`Committed::entities`].
pub const POSTS: &str = guanmo_store::feed::ENTITY;
/// Kind of record of residents' comments.
pub const COMMENTS: &str = guanmo_store::comments::ENTITY;
/// Kind of record of residents' likes.
pub const LIKES: &str = guanmo_store::comments::LIKE_ENTITY;
/// Kind of record of the 台标 setting (what the public copies of photos carry).
pub const WATERMARK: &str = guanmo_store::watermark::ENTITY;
/// Kind of record of the comment settings (open or closed, mutes, the SMS provider).
pub const COMMENT_SETTINGS: &str = guanmo_store::comments::SETTINGS_ENTITY;

/// Meta key of the resident site's cookie-signing key.
pub const SITE_COOKIE_KEY: &str = "site_cookie_key";

/// A receiver told about every committed write from now on. Subscribe before reading where
/// the change log stands, so that no commit falls in between.
pub fn subscribe(ctx: &Ctx) -> Receiver<Committed> {
    ctx.store.subscribe()
}

/// Runs `hook` on the writer's thread after every committed write from now on, before the
/// write returns: for cheap bookkeeping that must never lag the database (dropping a cache).
pub fn on_commit(ctx: &Ctx, hook: CommitHook) {
    ctx.store.on_commit(hook);
}

/// The resident site's cookie-signing key as kept in this host's own `meta` table (never
/// synced, never logged): the stored value when `valid` accepts it, else `make()`'s, stored
/// without a sync operation. When another site over the same database stored a valid one
/// meanwhile, that one is kept and returned.
pub fn site_cookie_key(
    ctx: &Ctx,
    valid: impl Fn(&str) -> bool,
    make: impl FnOnce() -> String,
) -> ApiResult<String> {
    let stored = ctx.store.read(|c| meta::get(c, SITE_COOKIE_KEY))?;
    if let Some(key) = stored.filter(|k| valid(k)) {
        return Ok(key);
    }
    let fresh = make();
    let kept = ctx.store.write_without_ops(ctx.now(), "system", |tx| {
        if let Some(key) = meta::get(tx.conn(), SITE_COOKIE_KEY)?.filter(|k| valid(k)) {
            return Ok(key);
        }
        meta::set(tx, SITE_COOKIE_KEY, &fresh)?;
        Ok(fresh)
    })?;
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    fn ctx() -> (tempfile::TempDir, Ctx) {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Ctx::open(dir.path(), Arc::new(guanmo_domain::SystemClock)).unwrap();
        (dir, ctx)
    }

    #[test]
    fn the_cookie_key_is_made_once_and_a_stored_one_that_fails_the_check_is_replaced() {
        let (_dir, ctx) = ctx();
        let made = AtomicUsize::new(0);
        let make = |v: &str| {
            made.fetch_add(1, Ordering::SeqCst);
            v.to_string()
        };
        let a = site_cookie_key(&ctx, |k| k.len() == 4, || make("aaaa")).unwrap();
        let b = site_cookie_key(&ctx, |k| k.len() == 4, || make("bbbb")).unwrap();
        assert_eq!((a.as_str(), b.as_str()), ("aaaa", "aaaa"));
        assert_eq!(made.load(Ordering::SeqCst), 1, "made once");
        let c = site_cookie_key(&ctx, |k| k.len() == 6, || make("cccccc")).unwrap();
        assert_eq!(c, "cccccc", "a stored key the check refuses is replaced");
    }

    #[test]
    fn hooks_and_subscribers_hear_of_commits_by_kind_of_record() {
        let (_dir, ctx) = ctx();
        let rx = subscribe(&ctx);
        let heard = Arc::new(AtomicUsize::new(0));
        let h = heard.clone();
        on_commit(
            &ctx,
            Arc::new(move |c: &Committed| {
                if c.entities.iter().any(|e| e == COMMENTS) {
                    h.fetch_add(1, Ordering::SeqCst);
                }
            }),
        );
        // Closing the comment area is a change of the comments.
        crate::comments::set_area_open(&ctx, false, None).unwrap();
        assert_eq!(heard.load(Ordering::SeqCst), 1);
        let c = rx.try_recv().unwrap();
        assert!(c.entities.iter().any(|e| e == COMMENTS), "{c:?}");
    }
}
