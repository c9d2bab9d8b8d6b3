//! The feed's hot path without the database: the feed version (newest public change seq) and
//! the rendered first pages are kept in memory and dropped the moment a post changes. A store
//! commit hook bumps a generation counter on the writer's thread before `write` returns, so a
//! request that starts after a publish has returned always sees the new version.

use axum::body::Bytes;
use axum::http::HeaderValue;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Rendered bodies kept at most (pages × sizes × kinds); more clears the map.
const MAX_PAGES: usize = 64;

/// What a rendered body is cached under: the kind (`f` JSON, `p` page), cursor and limit.
pub(crate) type PageKey = (char, Option<String>, u32);

/// A rendered body and the ETag it is served with (both built once, not per request).
#[derive(Clone, Debug)]
pub(crate) struct Page {
    pub(crate) body: Bytes,
    pub(crate) etag: HeaderValue,
}

#[derive(Default)]
struct Inner {
    /// Generation the fields below belong to.
    generation: u64,
    /// The feed version read for that generation.
    seq: Option<i64>,
    /// Bodies rendered at that version.
    pages: HashMap<PageKey, Page>,
}

/// Shared by all requests of one site.
#[derive(Default)]
pub(crate) struct FeedCache {
    generation: AtomicU64,
    inner: Mutex<Inner>,
}

impl FeedCache {
    /// A cache invalidated by every store commit that touches posts.
    pub(crate) fn watching(store: &guanmo_store::Store) -> Arc<FeedCache> {
        let cache = Arc::new(FeedCache::default());
        let weak = Arc::downgrade(&cache);
        store.on_commit(Arc::new(move |c: &guanmo_store::Committed| {
            if c.entities.iter().any(|e| e == "post") {
                if let Some(cache) = weak.upgrade() {
                    cache.generation.fetch_add(1, Ordering::AcqRel);
                }
            }
        }));
        cache
    }

    /// The current generation; read it before reading the database.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Records the version read from the database for `generation` (dropping older pages).
    pub(crate) fn set_seq(&self, generation: u64, seq: i64) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.generation != generation || inner.seq != Some(seq) {
            *inner = Inner {
                generation,
                seq: Some(seq),
                pages: HashMap::new(),
            };
        }
    }

    /// The feed version known for `generation` and, if kept, the page under `key` rendered
    /// at that version — one lock for the hot path.
    pub(crate) fn lookup(&self, generation: u64, key: &PageKey) -> Option<(i64, Option<Page>)> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.generation != generation {
            return None;
        }
        let seq = inner.seq?;
        Some((seq, inner.pages.get(key).cloned()))
    }

    /// A body rendered at `seq`, if kept.
    pub(crate) fn page(&self, seq: i64, key: &PageKey) -> Option<Page> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.seq == Some(seq) {
            inner.pages.get(key).cloned()
        } else {
            None
        }
    }

    /// Keeps a body rendered at `seq`.
    pub(crate) fn keep(&self, seq: i64, key: PageKey, page: Page) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.seq != Some(seq) {
            return;
        }
        if inner.pages.len() >= MAX_PAGES {
            inner.pages.clear();
        }
        inner.pages.insert(key, page);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_generation_forgets_the_version_and_the_pages() {
        let cache = FeedCache::default();
        let g = cache.generation();
        cache.set_seq(g, 7);
        let page = Page {
            body: Bytes::from_static(b"{}"),
            etag: HeaderValue::from_static("W/\"f7-20-0\""),
        };
        cache.keep(7, ('f', None, 20), page);
        assert_eq!(cache.lookup(g, &('f', None, 20)).map(|(s, _)| s), Some(7));
        assert!(cache.page(7, &('f', None, 20)).is_some());
        assert!(matches!(
            cache.lookup(g, &('f', None, 20)),
            Some((7, Some(_)))
        ));
        assert!(matches!(cache.lookup(g, &('p', None, 20)), Some((7, None))));
        cache.generation.fetch_add(1, Ordering::AcqRel);
        let g2 = cache.generation();
        assert!(
            cache.lookup(g2, &('f', None, 20)).is_none(),
            "the version must be read again"
        );
        cache.set_seq(g2, 9);
        assert!(cache.page(9, &('f', None, 20)).is_none());
        assert!(cache.page(7, &('f', None, 20)).is_none());
    }
}
