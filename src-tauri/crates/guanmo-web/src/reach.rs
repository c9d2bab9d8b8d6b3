//! 传播数据 counting on the resident site. The page reports, with one small `POST /api/seen`
//! per load and then per batch of posts scrolled into view, that it was opened and which posts
//! it showed; live readers are the SSE streams open at once. Counts gather in memory and go to
//! the store in one write every [`FLUSH_EVERY`] (and when the site stops), so counting costs a
//! request a hash-map insert and never a database write, and never moves the page's version.
//! Visitors are the phones' existing signed cookie (`gm_id`): a phone without one is counted
//! as a view, not as a visitor, and no cookie is issued for counting.

use crate::limits::{Limiter, Quotas};
use guanmo_api::reach::{self, Counted};
use guanmo_api::Ctx;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// How often counts are written.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_secs(10);
/// Most posts one report may name (a page shows at most 50 at a time).
pub(crate) const MAX_POSTS: usize = 50;
/// Reports allowed: per phone 60 a minute (30 at once); per address 3000 a minute (a
/// county office's or a school's whole network behind one address), 600 at once.
const REPORTS: Quotas = Quotas {
    phone_per_minute: 60,
    phone_burst: 30,
    ip_per_minute: 3000,
    ip_burst: 600,
};
/// A phone without a cookie shares a tenth of its address's budget.
const REPORTS_COOKIELESS_DIVISOR: u32 = 10;
/// Most distinct phones kept per scope between two writes (memory bound under a flood; the
/// views still count).
const MAX_VISITORS: usize = 200_000;

#[derive(Default)]
struct Scope {
    views: u64,
    visitors: HashSet<String>,
}

#[derive(Default)]
struct Pending {
    /// (Beijing day, post id or none for the page).
    scopes: HashMap<(String, Option<String>), Scope>,
    /// Most live readers at once per day since the last write.
    peaks: HashMap<String, u32>,
}

/// The site's counters.
pub(crate) struct Reach {
    ctx: Ctx,
    pending: Mutex<Pending>,
    /// Reports per phone and per address: a page sends one per load and one per batch of
    /// posts scrolled into view, so these leave room for any reader and stop a script.
    pub(crate) limiter: Limiter,
}

impl std::fmt::Debug for Reach {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reach").finish_non_exhaustive()
    }
}

impl Reach {
    /// Counters over `ctx`, with a thread that writes them every [`FLUSH_EVERY`] until the
    /// counters are dropped (which writes what is left).
    pub(crate) fn start(ctx: Ctx) -> Arc<Reach> {
        let reach = Arc::new(Reach {
            ctx,
            pending: Mutex::new(Pending::default()),
            limiter: Limiter::new(REPORTS, REPORTS_COOKIELESS_DIVISOR),
        });
        let weak = Arc::downgrade(&reach);
        if let Err(e) = std::thread::Builder::new()
            .name("guanmo-web-reach".into())
            .spawn(move || flusher(weak))
        {
            tracing::warn!(error = %e, "reach: the counting thread did not start; counts are written when the site stops");
        }
        reach
    }

    fn today(&self) -> String {
        reach::beijing_day(self.ctx.now())
    }

    /// One report of the page: opened (`page`) and showing `posts`, by the phone `visitor`.
    pub(crate) fn seen(&self, visitor: Option<&str>, page: bool, posts: &[String]) {
        let day = self.today();
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let mut add = |post: Option<&String>| {
            let s = p.scopes.entry((day.clone(), post.cloned())).or_default();
            s.views += 1;
            if let Some(v) = visitor {
                if s.visitors.len() < MAX_VISITORS {
                    s.visitors.insert(v.to_string());
                }
            }
        };
        if page {
            add(None);
        }
        for id in posts.iter().take(MAX_POSTS) {
            add(Some(id));
        }
    }

    /// `open` live readers at once now.
    pub(crate) fn live(&self, open: usize) {
        let day = self.today();
        let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let peak = p.peaks.entry(day).or_default();
        *peak = (*peak).max(u32::try_from(open).unwrap_or(u32::MAX));
    }

    /// Takes what was counted since the last call.
    fn take(&self) -> Vec<Counted> {
        let p = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        let mut out: Vec<Counted> = p
            .scopes
            .into_iter()
            .map(|((day, post_id), s)| Counted {
                peak_live: if post_id.is_none() {
                    p.peaks.get(&day).copied().unwrap_or(0)
                } else {
                    0
                },
                day,
                post_id,
                views: s.views,
                visitors: s.visitors.into_iter().collect(),
            })
            .collect();
        for (day, peak) in p.peaks {
            if !out.iter().any(|c| c.day == day && c.post_id.is_none()) {
                out.push(Counted {
                    day,
                    peak_live: peak,
                    ..Counted::default()
                });
            }
        }
        out
    }

    /// Writes what was counted; on failure puts it back for the next try.
    pub(crate) fn flush(&self) {
        let batch = self.take();
        if batch.is_empty() {
            return;
        }
        if let Err(e) = reach::record(&self.ctx, &batch) {
            tracing::warn!(error = %e, "reach: writing the counts failed; kept for the next try");
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            for c in batch {
                let s = p
                    .scopes
                    .entry((c.day.clone(), c.post_id.clone()))
                    .or_default();
                s.views += c.views;
                s.visitors.extend(c.visitors);
                if c.post_id.is_none() {
                    let peak = p.peaks.entry(c.day).or_default();
                    *peak = (*peak).max(c.peak_live);
                }
            }
        }
    }
}

impl Drop for Reach {
    fn drop(&mut self) {
        self.flush();
    }
}

fn flusher(reach: Weak<Reach>) {
    let tick = Duration::from_millis(250);
    let mut waited = Duration::ZERO;
    loop {
        std::thread::sleep(tick);
        waited += tick;
        let Some(r) = reach.upgrade() else {
            return;
        };
        if waited >= FLUSH_EVERY {
            waited = Duration::ZERO;
            r.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guanmo_domain::FixedClock;

    #[test]
    fn counts_gather_in_memory_and_a_flush_writes_them_once() {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(
            chrono::DateTime::parse_from_rfc3339("2024-12-04T01:00:00Z")
                .unwrap()
                .with_timezone(&chrono::Utc),
        ));
        let ctx = Ctx::open(dir.path(), clock).unwrap();
        let r = Reach::start(ctx.clone());
        r.seen(Some("a"), true, &[]);
        r.seen(Some("a"), true, &[]);
        r.seen(None, true, &[]);
        r.live(3);
        r.live(1);
        r.flush();
        r.flush();
        let rep = reach::report(&ctx).unwrap();
        assert_eq!(rep.total.views, 3);
        assert_eq!(
            rep.total.visitors, 1,
            "a phone without a cookie is a view, not a visitor"
        );
        assert_eq!(rep.total.peak_live, 3);
        assert_eq!(rep.days[0].day, "2024-12-04", "Beijing day");
        // Dropping the counters writes what is left.
        r.seen(Some("b"), true, &[]);
        drop(r);
        let rep = reach::report(&ctx).unwrap();
        assert_eq!((rep.total.views, rep.total.visitors), (4, 2));
    }
}
