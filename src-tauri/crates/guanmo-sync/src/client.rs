//! The laptop's side of the exchange: push its own operations, pull everyone else's, then
//! move photos both ways. Every step is idempotent, so a run cut anywhere is simply run
//! again (the app retries with backoff).

use crate::identity::{self, Role};
use crate::protocol::{
    BlobQuery, BlobState, BlobStatus, PairRequest, PairResponse, PullRequest, PullResponse,
    PushRequest, PushResponse, BATCH, CHUNK,
};
use crate::{blobs, SyncError, SyncErrorCode, SyncResult};
use chrono::DateTime;
use guanmo_api::Ctx;
use guanmo_media::MediaStore;
use guanmo_store::{meta, oplog};
use serde::Serialize;
use specta::Type;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

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
    /// Sends a chunk of a photo; returns the bytes the hub has.
    fn put_blob(&self, hash: &str, total: u64, offset: u64, chunk: &[u8]) -> SyncResult<u64>;
    /// Fetches a chunk of a photo.
    fn get_blob(&self, hash: &str, offset: u64, max: u32) -> SyncResult<Vec<u8>>;
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
    /// Photo bytes moved so far.
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
    /// Photos sent.
    pub photos_sent: u32,
    /// Photos received.
    pub photos_received: u32,
    /// Photo bytes moved.
    pub bytes: u64,
    /// The hub's clock minus this laptop's, in ms (positive: this laptop is behind).
    pub clock_offset_ms: Option<i64>,
}

const ACKED: &str = "hub_acked_seq";

/// One full exchange with the hub.
pub fn sync_once(
    ctx: &Ctx,
    media: &MediaStore,
    transport: &dyn Transport,
    progress: &dyn Fn(Progress),
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

    // 0. Photos first, so a post never reaches the resident page before its pictures.
    send_photos(ctx, media, transport, progress, &mut report)?;

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

    // 2. Pull everything this device lacks.
    let rules = identity::rules(&me);
    let mut pulled = 0u32;
    let mut site_url = None;
    loop {
        let have = store.read(oplog::watermarks)?;
        let resp = transport.pull(&PullRequest { have, limit: BATCH })?;
        if let Ok(hub) = DateTime::parse_from_rfc3339(&resp.hub_time) {
            report.clock_offset_ms = Some(hub.timestamp_millis() - ctx.now().timestamp_millis());
        }
        let n = resp.ops.len();
        site_url.clone_from(&resp.site_url);
        let r = store.write_without_ops(ctx.now(), "sync", |tx| {
            oplog::apply_remote(tx, &rules, &resp.ops)
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
            || r.applied + r.released + r.superseded + u32::try_from(r.refused.len()).unwrap_or(0)
                == 0
        {
            break;
        }
    }
    // The hub's 公网地址, shown in 直播网站 (none: the hub has none, or no longer).
    guanmo_api::site::remember_hub_public_url(ctx, site_url.as_deref())?;
    if let Some(offset) = report.clock_offset_ms {
        store.write_without_ops(ctx.now(), "sync", |tx| {
            meta::set(tx, "hub_clock_offset_ms", &offset.to_string())?;
            meta::set(tx, "hub_last_contact", tx.at())
        })?;
    }

    // 3. Photos this laptop lacks (those of other devices' evidence and posts).
    fetch_photos(ctx, media, transport, progress, &mut report)?;
    Ok(report)
}

fn all_hashes(ctx: &Ctx) -> SyncResult<Vec<(String, u64)>> {
    Ok(ctx.store().read(guanmo_store::photos::hashes_and_sizes)?)
}

/// Photos moved at once. The side that receives a photo makes its 1600 px and 320 px copies,
/// so two in flight keep both of its cores busy.
const PHOTO_WORKERS: usize = 2;

/// What moving one photo did.
struct Moved {
    /// Bytes sent or received.
    bytes: u64,
    /// The photo is now complete on the receiving side.
    complete: bool,
}

/// Runs `work` on every item, [`PHOTO_WORKERS`] at a time, and hands each outcome to
/// `settle` on this thread (where progress is reported) as it comes. After the first failure
/// no new item is started; the failure is returned once the ones under way are done.
fn move_photos<T: Sync>(
    items: &[T],
    work: &(dyn Fn(&T) -> SyncResult<Moved> + Sync),
    mut settle: impl FnMut(Moved),
) -> SyncResult<()> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<SyncResult<Moved>>();
    std::thread::scope(|s| {
        for _ in 0..PHOTO_WORKERS.min(items.len()) {
            let (tx, next, stop) = (tx.clone(), &next, &stop);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Some(item) = items.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        break;
                    };
                    let moved = work(item);
                    if moved.is_err() {
                        stop.store(true, Ordering::Relaxed);
                    }
                    if tx.send(moved).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut failed = None;
        for moved in rx {
            match moved {
                Ok(m) => settle(m),
                Err(e) => {
                    failed.get_or_insert(e);
                }
            }
        }
        failed.map_or(Ok(()), Err)
    })
}

fn send_photos(
    ctx: &Ctx,
    media: &MediaStore,
    transport: &dyn Transport,
    progress: &dyn Fn(Progress),
    report: &mut SyncReport,
) -> SyncResult<()> {
    let here: HashMap<String, u64> = all_hashes(ctx)?
        .into_iter()
        .filter(|(h, _)| blobs::has_original(media, h))
        .collect();
    let mut hashes: Vec<&String> = here.keys().collect();
    hashes.sort();
    let mut to_send = Vec::new();
    for chunk in hashes.chunks(1_000) {
        let q = BlobQuery {
            hashes: chunk.iter().map(|h| (*h).clone()).collect(),
        };
        to_send.extend(
            transport
                .blobs_missing(&q)?
                .missing
                .into_iter()
                .filter_map(|state| here.get(&state.hash).map(|size| (state, *size))),
        );
    }
    let total = u32::try_from(to_send.len()).unwrap_or(u32::MAX);
    let mut done = 0u32;
    let send = |(state, size): &(BlobState, u64)| {
        let mut offset = state.received;
        let mut bytes = 0;
        while offset < *size {
            let chunk = blobs::read_chunk(media, &state.hash, offset, CHUNK)?;
            if chunk.is_empty() {
                break;
            }
            let next = transport.put_blob(&state.hash, *size, offset, &chunk)?;
            bytes += next.saturating_sub(offset);
            if next <= offset {
                break;
            }
            offset = next;
        }
        Ok(Moved {
            bytes,
            complete: offset >= *size,
        })
    };
    move_photos(&to_send, &send, |moved| {
        done += 1;
        report.bytes += moved.bytes;
        report.photos_sent += u32::from(moved.complete);
        progress(Progress::Photos {
            done,
            total,
            bytes: report.bytes,
        });
    })
}

fn fetch_photos(
    ctx: &Ctx,
    media: &MediaStore,
    transport: &dyn Transport,
    progress: &dyn Fn(Progress),
    report: &mut SyncReport,
) -> SyncResult<()> {
    let absent: Vec<(String, u64)> = all_hashes(ctx)?
        .into_iter()
        .filter(|(h, _)| !blobs::has_original(media, h))
        .collect();
    let total = u32::try_from(absent.len()).unwrap_or(u32::MAX);
    let mut done = 0u32;
    let fetch = |(hash, size): &(String, u64)| {
        let mut offset = blobs::received(ctx.data_dir(), hash)?;
        let mut bytes = 0;
        while offset < *size {
            let chunk = transport.get_blob(hash, offset, CHUNK)?;
            if chunk.is_empty() {
                break;
            }
            let next = blobs::append(media, ctx.data_dir(), hash, *size, offset, &chunk)?;
            bytes += next.saturating_sub(offset);
            if next <= offset {
                break;
            }
            offset = next;
        }
        Ok(Moved {
            bytes,
            complete: blobs::has_original(media, hash),
        })
    };
    move_photos(&absent, &fetch, |moved| {
        done += 1;
        report.bytes += moved.bytes;
        report.photos_received += u32::from(moved.complete);
        progress(Progress::Photos {
            done,
            total,
            bytes: report.bytes,
        });
    })
}
