//! Photos between a laptop and its hub, in the order a bus on 4G needs them. Residents see a
//! post's 320 px thumbnails in its grid (about 25 KB each) and its 1600 px copies when they
//! open a photo (a few hundred KB), never its originals (several MB from a camera), so a run
//! sends the thumbnails of published posts' photos first, then the posts, then their 1600 px
//! copies; then fetches the copies it lacks; then, giving way to anything new written here,
//! the copies of its other photos (drafts, evidence) and the originals both ways as the
//! organiser's [`OriginalsPolicy`] allows. Originals travel in resumable chunks; a copy
//! travels whole. A photo the other side refuses (a copy of a photo that is not the sender's,
//! say) is skipped and logged: it never blocks the rest.

use crate::client::{Progress, SyncReport, Transport};
use crate::protocol::{BlobQuery, BlobState, CopyQuery, OriginalsPolicy, CHUNK, THUMB, WEB};
use crate::{blobs, SyncError, SyncErrorCode, SyncResult};
use guanmo_api::Ctx;
use guanmo_media::{Limits, MediaStore, Size};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// Photos moved at once. The side that receives a photo re-encodes it, so two in flight
/// keep both of its cores busy.
const PHOTO_WORKERS: usize = 2;
/// Background copies (drafts, evidence) sent at once: small, and on a lossy 4G uplink one TCP
/// stream cannot fill the link (at 150 ms and 1 % loss it stays near 1 Mbit/s), so a few run
/// side by side. A post's own copies all go at once.
const COPY_WORKERS: usize = 2;
/// Hashes per query.
const QUERY: usize = 1_000;

/// Whether moving photos should stop for now (new work was written here); remembers that it
/// did.
pub(crate) struct Yield<'a> {
    check: Box<dyn Fn() -> bool + Sync + 'a>,
    happened: AtomicBool,
}

impl<'a> Yield<'a> {
    pub(crate) fn new(check: impl Fn() -> bool + Sync + 'a) -> Self {
        Yield {
            check: Box::new(check),
            happened: AtomicBool::new(false),
        }
    }

    /// True (and from then on) once new work waits.
    pub(crate) fn now(&self) -> bool {
        if self.happened.load(Ordering::Relaxed) {
            return true;
        }
        let y = (self.check)();
        if y {
            self.happened.store(true, Ordering::Relaxed);
        }
        y
    }

    pub(crate) fn happened(&self) -> bool {
        self.happened.load(Ordering::Relaxed)
    }
}

/// What moving one photo did.
struct Moved {
    /// Bytes sent or received.
    bytes: u64,
    /// The photo is now complete on the receiving side.
    complete: bool,
}

impl Moved {
    const SKIPPED: Moved = Moved {
        bytes: 0,
        complete: false,
    };
}

/// Runs `work` on every item, `workers` at a time, and hands each outcome to `settle` on
/// this thread (where progress is reported) as it comes. No new item starts after the first
/// failure or once `give_way` says so; a failure is returned once the ones under way end.
fn move_photos<T: Sync>(
    items: &[T],
    workers: usize,
    give_way: &Yield<'_>,
    work: &(dyn Fn(&T) -> SyncResult<Moved> + Sync),
    mut settle: impl FnMut(Moved),
) -> SyncResult<()> {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (tx, rx) = mpsc::channel::<SyncResult<Moved>>();
    std::thread::scope(|s| {
        for _ in 0..workers.min(items.len()) {
            let (tx, next, stop) = (tx.clone(), &next, &stop);
            s.spawn(move || {
                while !stop.load(Ordering::Relaxed) && !give_way.now() {
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

/// A refusal about one photo (the other side's `BadRequest`) skips it; anything else (the
/// link, the disk) fails the run.
fn skip_refused(hash: &str, what: &str, r: SyncResult<Moved>) -> SyncResult<Moved> {
    match r {
        Err(e) if e.code == SyncErrorCode::BadRequest => {
            tracing::warn!(hash, what, error = %e, "photo skipped");
            Ok(Moved::SKIPPED)
        }
        other => other,
    }
}

fn media_failed(e: guanmo_media::MediaError) -> SyncError {
    SyncError::new(SyncErrorCode::Storage, e.to_string())
}

/// Photos whose original is here: this device's own (or ones it already holds in full).
fn own_photos(ctx: &Ctx, media: &MediaStore) -> SyncResult<Vec<(String, u64)>> {
    Ok(ctx
        .store()
        .read(guanmo_store::photos::hashes_and_sizes)?
        .into_iter()
        .filter(|(h, _)| media.has(h, Size::Original))
        .collect())
}

/// Of `hashes`, those the hub lacks a copy of `size` px of.
fn hub_lacks(
    transport: &dyn Transport,
    hashes: &[String],
    size: u32,
) -> SyncResult<HashSet<String>> {
    let mut out = HashSet::new();
    for chunk in hashes.chunks(QUERY) {
        let q = CopyQuery {
            hashes: chunk.to_vec(),
            size,
        };
        out.extend(transport.copies_missing(&q)?.missing);
    }
    Ok(out)
}

fn send_copy(
    media: &MediaStore,
    transport: &dyn Transport,
    give_way: &Yield<'_>,
    hash: &str,
    size: u32,
) -> SyncResult<Moved> {
    let file = if size == THUMB {
        Size::Thumb
    } else {
        Size::Web
    };
    let path = media.path(hash, file).map_err(media_failed)?;
    let jpeg = std::fs::read(path)?;
    let sent = transport
        .put_copy(hash, size, &jpeg, &|| give_way.now())
        .map(|()| Moved {
            bytes: jpeg.len() as u64,
            complete: true,
        });
    match sent {
        // Abandoned mid-way for newer work: sent again by a later run.
        Err(_) if give_way.happened() => Ok(Moved::SKIPPED),
        other => skip_refused(hash, "copy", other),
    }
}

/// The copies of `size` px of published posts' photos the hub lacks, post by post, oldest
/// first, each reported as [`Progress::Post`]: the thumbnails before the push (a post goes
/// public once its grid can show), the 1600 px copies right after it.
pub(crate) fn send_post_copies(
    ctx: &Ctx,
    media: &MediaStore,
    transport: &dyn Transport,
    progress: &dyn Fn(Progress),
    report: &mut SyncReport,
    size: u32,
) -> SyncResult<()> {
    let groups = ctx.store().read(guanmo_store::photos::post_photo_groups)?;
    let mut wanted: Vec<String> = groups
        .iter()
        .filter(|g| g.published)
        .flat_map(|g| g.hashes.iter())
        .filter(|h| media.has(h, Size::Original))
        .cloned()
        .collect();
    wanted.sort();
    wanted.dedup();
    if wanted.is_empty() {
        return Ok(());
    }
    let mut missing = hub_lacks(transport, &wanted, size)?;
    let never = Yield::new(|| false);
    for group in groups.iter().filter(|g| g.published) {
        let todo: Vec<&String> = group.hashes.iter().filter(|h| missing.remove(*h)).collect();
        if todo.is_empty() {
            continue;
        }
        let total = u32::try_from(todo.len()).unwrap_or(u32::MAX);
        let mut done = 0u32;
        let post = |done| Progress::Post {
            post_id: group.post_id.clone(),
            done,
            total,
        };
        progress(post(0));
        // All of a post's photos at once (at most nine): on a lossy link each TCP stream
        // stays well below the link's rate, and together they fill it.
        let send = |h: &&String| send_copy(media, transport, &never, h, size);
        move_photos(&todo, todo.len(), &never, &send, |moved| {
            done += 1;
            report.bytes += moved.bytes;
            if size == WEB {
                report.copies_sent += u32::from(moved.complete);
            }
            progress(post(done));
        })?;
    }
    Ok(())
}

/// The copies of this device's other photos (drafts, evidence) the hub cannot show yet, so
/// the organiser sees evidence before its originals arrive; gives way to new work.
pub(crate) fn send_other_copies(
    ctx: &Ctx,
    media: &MediaStore,
    transport: &dyn Transport,
    give_way: &Yield<'_>,
    report: &mut SyncReport,
) -> SyncResult<()> {
    if give_way.now() {
        return Ok(());
    }
    let own: Vec<String> = own_photos(ctx, media)?
        .into_iter()
        .map(|(h, _)| h)
        .collect();
    let missing = hub_lacks(transport, &own, WEB)?;
    let todo: Vec<&String> = own.iter().filter(|h| missing.contains(*h)).collect();
    let send = |h: &&String| send_copy(media, transport, give_way, h, WEB);
    move_photos(&todo, COPY_WORKERS, give_way, &send, |moved| {
        report.bytes += moved.bytes;
        report.copies_sent += u32::from(moved.complete);
    })
}

/// Copies of photos this laptop knows of but can show none of, from the hub (re-encoded
/// here too); gives way to new work.
pub(crate) fn fetch_copies(
    ctx: &Ctx,
    media: &MediaStore,
    transport: &dyn Transport,
    give_way: &Yield<'_>,
    report: &mut SyncReport,
) -> SyncResult<()> {
    let absent: Vec<String> = ctx
        .store()
        .read(guanmo_store::photos::hashes_and_sizes)?
        .into_iter()
        .map(|(h, _)| h)
        .filter(|h| !blobs::has_copy(media, h, Size::Web))
        .collect();
    let fetch = |h: &String| {
        let got = transport.get_copy(h).and_then(|jpeg| {
            media
                .import_web_copy(h, &jpeg, &Limits::default())
                .map_err(|e| SyncError::new(SyncErrorCode::BadRequest, e.to_string()))?;
            Ok(Moved {
                bytes: jpeg.len() as u64,
                complete: true,
            })
        });
        skip_refused(h, "copy from hub", got)
    };
    // Counted in bytes only: `photos_received` counts originals.
    move_photos(&absent, PHOTO_WORKERS, give_way, &fetch, |moved| {
        report.bytes += moved.bytes;
    })
}

/// Own originals the hub lacks: counted in `originals_waiting`, and sent (posts' photos
/// first) when `policy` lets them travel over this link, chunk by chunk, giving way to new
/// work between chunks (the next run resumes where this one stopped).
pub(crate) fn send_originals(
    ctx: &Ctx,
    media: &MediaStore,
    transport: &dyn Transport,
    progress: &dyn Fn(Progress),
    give_way: &Yield<'_>,
    policy: OriginalsPolicy,
    report: &mut SyncReport,
) -> SyncResult<()> {
    if give_way.now() {
        // New work waits: not even a query. The count stays as the last run left it.
        let waiting = ctx
            .store()
            .read(guanmo_store::photos::hub_missing_originals)?
            .len();
        report.originals_waiting = u32::try_from(waiting).unwrap_or(u32::MAX);
        return Ok(());
    }
    let here: HashMap<String, u64> = own_photos(ctx, media)?.into_iter().collect();
    let mut hashes: Vec<&String> = here.keys().collect();
    hashes.sort();
    let mut to_send: Vec<(BlobState, u64)> = Vec::new();
    for chunk in hashes.chunks(QUERY) {
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
    report.originals_waiting = u32::try_from(to_send.len()).unwrap_or(u32::MAX);
    // What the next USB bundle must carry, whatever happens below (written only when it
    // changed: most runs find the same set).
    let mut lacking: Vec<String> = to_send.iter().map(|(s, _)| s.hash.clone()).collect();
    lacking.sort();
    if ctx
        .store()
        .read(guanmo_store::photos::hub_missing_originals)?
        != lacking
    {
        ctx.store().write_without_ops(ctx.now(), "sync", |tx| {
            guanmo_store::photos::set_hub_missing_originals(tx, &lacking)
        })?;
    }
    if !policy.sends_over(transport.on_local_network()) || give_way.now() {
        return Ok(());
    }
    // Posts' photos before evidence: the organiser's export of the feed wants them first.
    let in_posts: HashSet<String> = ctx
        .store()
        .read(guanmo_store::photos::post_photo_groups)?
        .into_iter()
        .flat_map(|g| g.hashes)
        .collect();
    to_send.sort_by_key(|(state, _)| !in_posts.contains(&state.hash));
    let total = u32::try_from(to_send.len()).unwrap_or(u32::MAX);
    let mut done = 0u32;
    // Over the internet (a 4G hotspot) smaller chunks: what an abandoned chunk wastes, and
    // how long one holds the link, stay small.
    let chunk_size = if transport.on_local_network() {
        CHUNK
    } else {
        CHUNK / 4
    };
    let send = |(state, size): &(BlobState, u64)| {
        let mut offset = state.received;
        let mut bytes = 0;
        while offset < *size && !give_way.now() {
            let chunk = blobs::read_chunk(media, &state.hash, offset, chunk_size)?;
            if chunk.is_empty() {
                break;
            }
            let next =
                match transport.put_blob(&state.hash, *size, offset, &chunk, &|| give_way.now()) {
                    Ok(n) => n,
                    // Abandoned mid-chunk for newer work: resumed by a later run.
                    Err(_) if give_way.happened() => break,
                    Err(e) => return Err(e),
                };
            bytes += next.saturating_sub(offset);
            if next <= offset {
                break;
            }
            offset = next;
        }
        let complete = offset >= *size;
        if complete {
            ctx.store().write_without_ops(ctx.now(), "sync", |tx| {
                guanmo_store::photos::hub_has_original(tx, &state.hash)
            })?;
        }
        Ok(Moved { bytes, complete })
    };
    move_photos(&to_send, PHOTO_WORKERS, give_way, &send, |moved| {
        done += 1;
        report.bytes += moved.bytes;
        report.photos_sent += u32::from(moved.complete);
        report.originals_waiting -= u32::from(moved.complete);
        progress(Progress::Photos {
            done,
            total,
            bytes: report.bytes,
        });
    })
}

/// Originals this laptop lacks, from the hub, when `policy` lets them travel over this link
/// (a photo whose original the hub does not have yet is skipped); gives way to new work.
pub(crate) fn fetch_originals(
    ctx: &Ctx,
    media: &MediaStore,
    transport: &dyn Transport,
    progress: &dyn Fn(Progress),
    give_way: &Yield<'_>,
    policy: OriginalsPolicy,
    report: &mut SyncReport,
) -> SyncResult<()> {
    if !policy.sends_over(transport.on_local_network()) || give_way.now() {
        return Ok(());
    }
    let absent: Vec<(String, u64)> = ctx
        .store()
        .read(guanmo_store::photos::hashes_and_sizes)?
        .into_iter()
        .filter(|(h, _)| !media.has(h, Size::Original))
        .collect();
    let total = u32::try_from(absent.len()).unwrap_or(u32::MAX);
    let mut done = 0u32;
    let fetch = |(hash, size): &(String, u64)| {
        let got = (|| {
            let mut offset = blobs::received(ctx.data_dir(), hash)?;
            let mut bytes = 0;
            while offset < *size && !give_way.now() {
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
                complete: media.has(hash, Size::Original),
            })
        })();
        skip_refused(hash, "original from hub", got)
    };
    move_photos(&absent, PHOTO_WORKERS, give_way, &fetch, |moved| {
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
