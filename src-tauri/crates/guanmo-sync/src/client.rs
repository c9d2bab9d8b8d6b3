//! The laptop's side of the exchange: push its own operations, pull everyone else's, then
//! move photos both ways. Every step is idempotent, so a run cut anywhere is simply run
//! again (the app retries with backoff).

use crate::identity::{self, Role};
use crate::protocol::{
    BlobQuery, BlobStatus, CopyQuery, CopyStatus, PairRequest, PairResponse, PullRequest,
    PullResponse, PushRequest, PushResponse, BATCH,
};
use crate::transfer::{self, Yield};
use crate::{SyncError, SyncErrorCode, SyncResult};
use chrono::DateTime;
use guanmo_api::Ctx;
use guanmo_media::MediaStore;
use guanmo_store::{meta, oplog};
use serde::Serialize;
use specta::Type;

/// How a laptop reaches its hub. Implementations: HTTP on the LAN, in-memory for tests.
pub trait Transport: Send + Sync {
    /// Pairs with a one-time code.
    fn pair(&self, req: &PairRequest) -> SyncResult<PairResponse>;
    /// Sends this device's operations.
    fn push(&self, req: &PushRequest) -> SyncResult<PushResponse>;
    /// Fetches operations this device lacks.
    fn pull(&self, req: &PullRequest) -> SyncResult<PullResponse>;
    /// Which photos the hub lacks.
    fn blobs_missing(&self, q: &BlobQuery) -> SyncResult<BlobStatus>;
    /// Sends a chunk of a photo; returns the bytes the hub has. `cancel` is asked while the
    /// bytes go out: once it says yes the chunk is abandoned (the hub stores none of it) and
    /// the call fails.
    fn put_blob(
        &self,
        hash: &str,
        total: u64,
        offset: u64,
        chunk: &[u8],
        cancel: &dyn Fn() -> bool,
    ) -> SyncResult<u64>;
    /// Fetches a chunk of a photo.
    fn get_blob(&self, hash: &str, offset: u64, max: u32) -> SyncResult<Vec<u8>>;
    /// Which photos the hub lacks a copy of in the query's size.
    fn copies_missing(&self, q: &CopyQuery) -> SyncResult<CopyStatus>;
    /// Sends a photo's copy of `size` px ([`crate::protocol::THUMB`] or
    /// [`crate::protocol::WEB`]; the hub re-encodes it); `cancel` as for
    /// [`put_blob`](Self::put_blob).
    fn put_copy(
        &self,
        hash: &str,
        size: u32,
        jpeg: &[u8],
        cancel: &dyn Fn() -> bool,
    ) -> SyncResult<()>;
    /// Fetches the hub's 1600 px copy of a photo.
    fn get_copy(&self, hash: &str) -> SyncResult<Vec<u8>>;
    /// The 传播数据 of the hub's resident site (a media laptop's only).
    fn reach(&self) -> SyncResult<guanmo_api::reach::ReachReport>;
    /// The hub is reached at a loopback or private address (the venue's or organiser's own
    /// network), not over the internet: see [`crate::protocol::OriginalsPolicy::LanOnly`].
    fn on_local_network(&self) -> bool;
}

/// Progress of a run, for the 同步 view's bar.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Progress {
    /// Operations sent so far of those waiting.
    Pushing {
        /// Sent.
        done: u32,
        /// Waiting in all.
        total: u32,
    },
    /// Operations received so far.
    Pulling {
        /// Received.
        done: u32,
    },
    /// The 1600 px copies of a post's photos going to the hub; the post follows them.
    Post {
        /// The post.
        post_id: String,
        /// Photos the hub can show so far.
        done: u32,
        /// Photos of the post it could not show when the run began.
        total: u32,
    },
    /// Originals (and other devices' photos) moving in the background.
    Photos {
        /// Photos finished.
        done: u32,
        /// Photos to move.
        total: u32,
        /// Bytes moved.
        bytes: u64,
    },
}

/// What one run did.
#[derive(Debug, Clone, Default, Serialize, Type)]
pub struct SyncReport {
    /// Own operations the hub confirmed in this run.
    pub pushed: u32,
    /// Operations received and applied.
    pub applied: u32,
    /// Operations received that were already here.
    pub already: u32,
    /// Operations held back (waiting for a gap to fill).
    pub held: u32,
    /// Operations refused by this device (with reasons in 同步 → 问题).
    pub refused: u32,
    /// Concurrent edits found.
    pub conflicts: u32,
    /// Own operations the hub refused.
    pub refused_by_hub: u32,
    /// Photos sent (originals).
    pub photos_sent: u32,
    /// 1600 px copies sent ahead of their originals.
    pub copies_sent: u32,
    /// Own originals the hub still lacks after this run (waiting for the background, the
    /// venue's network or a USB bundle, as the organiser set).
    pub originals_waiting: u32,
    /// The run gave way to new work made here while it moved originals; the next one
    /// follows at once.
    pub yielded: bool,
    /// Photos received.
    pub photos_received: u32,
    /// Photo bytes moved.
    pub bytes: u64,
    /// The hub's clock minus this laptop's, in ms (positive: this laptop is behind).
    pub clock_offset_ms: Option<i64>,
}

const ACKED: &str = "hub_acked_seq";
/// The last page of a resend (转交) applied here, `<page>\n<token>` (empty: none).
const REFILL_CONFIRMED: &str = "hub_refill_confirmed";

/// One full exchange with the hub, to the end: posts' photo copies, operations both ways,
/// photos this laptop lacks, then every original the organiser's setting lets travel.
pub fn sync_once(
    ctx: &Ctx,
    media: &MediaStore,
    transport: &dyn Transport,
    progress: &dyn Fn(Progress),
) -> SyncResult<SyncReport> {
    exchange(ctx, media, transport, progress, false)
}

/// [`sync_once`] as automatic sync runs it: once the quick part is done, moving originals
/// gives way (between chunks) to anything new written here, so a post published while a
/// day's evidence uploads goes out within a chunk's time, not after the evidence.
pub fn sync_in_background(
    ctx: &Ctx,
    media: &MediaStore,
    transport: &dyn Transport,
    progress: &dyn Fn(Progress),
) -> SyncResult<SyncReport> {
    exchange(ctx, media, transport, progress, true)
}

fn exchange(
    ctx: &Ctx,
    media: &MediaStore,
    transport: &dyn Transport,
    progress: &dyn Fn(Progress),
    gives_way: bool,
) -> SyncResult<SyncReport> {
    let me = identity::device_identity(ctx)?;
    if me.role == Some(Role::Hub) {
        return Err(SyncError::new(
            SyncErrorCode::BadRequest,
            "the hub waits for laptops; it does not sync out",
        ));
    }
    if me.hub_id.is_none() {
        return Err(SyncError::new(
            SyncErrorCode::NotPaired,
            "not paired with a hub",
        ));
    }
    let store = ctx.store();
    let mut report = SyncReport::default();

    let own_at_start = store.read(|c| oplog::watermark(c, &me.id))?;
    let own_id = me.id.clone();
    let give_way = Yield::new(move || {
        gives_way
            && ctx
                .store()
                .read(|c| oplog::watermark(c, &own_id))
                .is_ok_and(|n| n > own_at_start)
    });

    // 0. The thumbnails of published posts' photos first, so a post never reaches the
    //    resident page before its grid can show, and never waits for originals.
    transfer::send_post_copies(
        ctx,
        media,
        transport,
        progress,
        &mut report,
        crate::protocol::THUMB,
    )?;

    // 1. Push this device's operations the hub has not confirmed.
    let mut acked: i64 = store
        .read(|c| meta::get(c, ACKED))?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let own_total = store.read(|c| oplog::watermark(c, &me.id))?;
    let waiting = u32::try_from((own_total - acked).max(0)).unwrap_or(u32::MAX);
    let mut sent = 0u32;
    loop {
        let ops = store.read(|c| oplog::own_ops_after(c, &me.id, acked, BATCH))?;
        if ops.is_empty() {
            break;
        }
        let n = u32::try_from(ops.len()).unwrap_or(u32::MAX);
        let resp = transport.push(&PushRequest { ops })?;
        report.refused_by_hub += u32::try_from(resp.report.refused.len()).unwrap_or(u32::MAX);
        if !resp.report.refused.is_empty() {
            store.write_without_ops(ctx.now(), "sync", |tx| {
                for note in &resp.report.refused {
                    oplog::note_refused_by_hub(tx, note)?;
                }
                Ok(())
            })?;
        }
        if resp.acked_seq <= acked {
            // The hub holds them back (it lacks earlier ones it refused to keep?): stop
            // rather than loop; the next run starts from what it confirmed.
            break;
        }
        report.pushed += u32::try_from(resp.acked_seq - acked).unwrap_or(0);
        acked = resp.acked_seq;
        store.write_without_ops(ctx.now(), "sync", |tx| {
            meta::set(tx, ACKED, &acked.to_string())
        })?;
        sent += n;
        progress(Progress::Pushing {
            done: sent.min(waiting),
            total: waiting,
        });
    }

    // 1b. Right after the posts, their 1600 px copies (a photo opened on a phone shows its
    //     thumbnail until then).
    transfer::send_post_copies(
        ctx,
        media,
        transport,
        progress,
        &mut report,
        crate::protocol::WEB,
    )?;

    // 2. Pull everything this device lacks.
    let rules = identity::rules(&me);
    let mut pulled = 0u32;
    let mut site_url = None;
    let mut originals = None;
    loop {
        let mut have = store.read(oplog::watermarks)?;
        // The last page of a resend (转交) applied here, confirmed to the hub.
        let confirmed = store.read(|c| meta::get(c, REFILL_CONFIRMED))?;
        if let Some((page, token)) = confirmed.as_deref().and_then(|t| t.split_once('\n')) {
            if let Ok(page) = page.parse() {
                have.insert(format!("{}{token}", oplog::REFILL_ACK), page);
            }
        }
        let resp = transport.pull(&PullRequest {
            have: have.clone(),
            limit: BATCH,
        })?;
        if let Ok(hub) = DateTime::parse_from_rfc3339(&resp.hub_time) {
            report.clock_offset_ms = Some(hub.timestamp_millis() - ctx.now().timestamp_millis());
        }
        let n = resp.ops.len();
        site_url.clone_from(&resp.site_url);
        originals = resp.originals.or(originals);
        // Operations sent again: numbered at most what this device had (the rest is new).
        let resent = resp
            .ops
            .iter()
            .filter(|o| o.origin != me.id && have.get(&o.origin).is_some_and(|w| o.seq <= *w))
            .count();
        let r = store.write_without_ops(ctx.now(), "sync", |tx| {
            let r = oplog::apply_remote(tx, &rules, &resp.ops)?;
            match &resp.refill {
                // Confirmed only when every operation of the page arrived.
                Some(p) if usize::try_from(p.count).is_ok_and(|n| n == resent) => {
                    meta::set(tx, REFILL_CONFIRMED, &format!("{}\n{}", p.page, p.token))?;
                }
                Some(_) => {}
                None => meta::set(tx, REFILL_CONFIRMED, "")?,
            }
            Ok(r)
        })?;
        report.applied += r.applied + r.released;
        report.already += r.already;
        report.held += r.held;
        report.refused += u32::try_from(r.refused.len()).unwrap_or(u32::MAX);
        report.conflicts += u32::try_from(r.conflicts.len()).unwrap_or(u32::MAX);
        pulled += u32::try_from(n).unwrap_or(u32::MAX);
        progress(Progress::Pulling { done: pulled });
        // Stop when nothing new moved, even if the hub says there is more (a hole the hub
        // itself holds back); the next run tries again.
        if !resp.more
            || r.applied
                + r.released
                + r.superseded
                + r.withheld
                + u32::try_from(r.refused.len()).unwrap_or(0)
                == 0
        {
            break;
        }
    }
    // The hub's 公网地址, shown in 直播网站 (none: the hub has none, or no longer).
    guanmo_api::site::remember_hub_public_url(ctx, site_url.as_deref())?;
    crate::originals::remember(ctx, originals)?;
    if let Some(offset) = report.clock_offset_ms {
        store.write_without_ops(ctx.now(), "sync", |tx| {
            meta::set(tx, "hub_clock_offset_ms", &offset.to_string())?;
            meta::set(tx, "hub_last_contact", tx.at())
        })?;
    }

    // 3. Copies of photos this laptop can show none of (other devices' posts and evidence),
    //    then, giving way to new work: copies of its other photos (drafts, evidence) and the
    //    originals both ways as the organiser's setting allows.
    transfer::fetch_copies(ctx, media, transport, &give_way, &mut report)?;
    transfer::send_other_copies(ctx, media, transport, &give_way, &mut report)?;
    let policy = crate::originals::effective(ctx)?;
    transfer::send_originals(
        ctx,
        media,
        transport,
        progress,
        &give_way,
        policy,
        &mut report,
    )?;
    transfer::fetch_originals(
        ctx,
        media,
        transport,
        progress,
        &give_way,
        policy,
        &mut report,
    )?;
    report.yielded = give_way.happened();
    Ok(report)
}
