//! The hub's side of the exchange, independent of the transport: the peer HTTP routes and
//! the in-memory test transport both call these methods. Every method but pairing needs a
//! paired, unrevoked device's token.

use crate::identity::{self, Role};
use crate::protocol::{
    BlobQuery, BlobState, BlobStatus, CopyQuery, CopyStatus, PairRequest, PairResponse,
    PullRequest, PullResponse, PushRequest, PushResponse, BATCH, CHUNK, COPY_MAX,
};
use crate::{blobs, pairing, SyncError, SyncErrorCode, SyncResult};
use chrono::SecondsFormat;
use guanmo_api::Ctx;
use guanmo_media::{MediaStore, Size};
use guanmo_store::oplog;

/// The hub's service.
#[derive(Clone)]
pub struct HubService {
    ctx: Ctx,
    media: MediaStore,
}

impl std::fmt::Debug for HubService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubService").finish_non_exhaustive()
    }
}

impl HubService {
    /// A service over the hub's data.
    pub fn new(ctx: Ctx, media: MediaStore) -> Self {
        Self { ctx, media }
    }

    /// The context.
    pub fn ctx(&self) -> &Ctx {
        &self.ctx
    }

    fn now_text(&self) -> String {
        self.ctx.now().to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    fn hub_only(&self) -> SyncResult<identity::DeviceIdentity> {
        let me = identity::device_identity(&self.ctx)?;
        if me.role != Some(Role::Hub) {
            return Err(SyncError::new(
                SyncErrorCode::NotPaired,
                "this device is not a hub",
            ));
        }
        Ok(me)
    }

    /// Authenticates a request and notes the contact.
    fn device(&self, token: &str) -> SyncResult<String> {
        self.hub_only()?;
        let id = pairing::device_for_token(&self.ctx, token)?;
        self.ctx
            .store()
            .write_without_ops(self.ctx.now(), "sync", |tx| {
                guanmo_store::devices::touch(tx, &id)
            })?;
        Ok(id)
    }

    /// The paired, unrevoked device a token belongs to (read-only): lets a listener refuse a
    /// stranger before reading a large body.
    pub fn authenticate(&self, token: &str) -> SyncResult<String> {
        self.hub_only()?;
        pairing::device_for_token(&self.ctx, token)
    }

    /// Pairing with a one-time code (no token yet). `source` names where the request came
    /// from (the peer's address), so that wrong tries count per source.
    pub fn pair(&self, req: &PairRequest, source: &str) -> SyncResult<PairResponse> {
        pairing::redeem(&self.ctx, req, source)
    }

    /// A laptop pushes its own operations.
    pub fn push(&self, token: &str, req: &PushRequest) -> SyncResult<PushResponse> {
        let device = self.device(token)?;
        if req.ops.len() > BATCH as usize {
            return Err(SyncError::new(
                SyncErrorCode::BadRequest,
                "too many operations",
            ));
        }
        if let Some(op) = req.ops.iter().find(|op| op.origin != device) {
            return Err(SyncError::new(
                SyncErrorCode::BadRequest,
                format!("operation {}#{} is not the sender's", op.origin, op.seq),
            ));
        }
        let me = self.hub_only()?;
        let rules = identity::rules(&me);
        let report = self
            .ctx
            .store()
            .write_without_ops(self.ctx.now(), "sync", |tx| {
                oplog::apply_remote(tx, &rules, &req.ops)
            })?;
        let acked_seq = self.ctx.store().read(|c| oplog::watermark(c, &device))?;
        Ok(PushResponse { report, acked_seq })
    }

    /// A laptop pulls what it lacks.
    ///
    /// Scoring is 背靠背: the hub sends each device only what its role may hold (see
    /// [`oplog::ops_after_for`]); an operation it withholds travels as a stand-in, so the
    /// device's sequence numbers stay without gaps. A scorer's laptop the organiser just
    /// assigned a scorer (转交) first receives that scorer's sheets again
    /// ([`oplog::next_refill`]).
    pub fn pull(&self, token: &str, req: &PullRequest) -> SyncResult<PullResponse> {
        let device = self.device(token)?;
        let limit = req.limit.clamp(1, BATCH);
        let store = self.ctx.store();
        let (mut ops, refill) = if store
            .read(|c| guanmo_store::trust::refill(c, &device))?
            .is_some()
        {
            store.write_without_ops(self.ctx.now(), "sync", |tx| {
                oplog::next_refill(tx, &device, &req.have, limit)
            })?
        } else {
            (Vec::new(), None)
        };
        let mut page = store.read(|c| oplog::ops_after_for(c, &device, &req.have, limit))?;
        let more = page.more || refill.as_ref().is_some_and(|p| !p.last);
        if let Some(p) = &refill {
            tracing::info!(
                device = %device,
                page = p.page,
                ops = p.count,
                "sheets sent again to a laptop newly assigned their scorers"
            );
        }
        if !page.withheld.is_empty() {
            tracing::info!(
                device = %device,
                withheld = ?page.withheld,
                "operations withheld (背靠背, or refused here)"
            );
        }
        ops.append(&mut page.ops);
        let site_url = guanmo_api::site::get_site_settings(&self.ctx)
            .ok()
            .map(|s| s.public_url)
            .filter(|u| !u.is_empty());
        Ok(PullResponse {
            ops,
            more,
            hub_time: self.now_text(),
            site_url,
            originals: Some(crate::originals::policy(&self.ctx)?),
            refill,
        })
    }

    /// Which of these photos the hub lacks.
    pub fn blobs_missing(&self, token: &str, q: &BlobQuery) -> SyncResult<BlobStatus> {
        self.device(token)?;
        if q.hashes.len() > 5_000 {
            return Err(SyncError::new(SyncErrorCode::BadRequest, "too many hashes"));
        }
        let mut missing = Vec::new();
        for h in &q.hashes {
            if !blobs::valid_hash(h) {
                return Err(SyncError::new(
                    SyncErrorCode::BadRequest,
                    "not a photo hash",
                ));
            }
            if !blobs::has_original(&self.media, h) {
                missing.push(BlobState {
                    hash: h.clone(),
                    received: blobs::received(self.ctx.data_dir(), h)?,
                });
            }
        }
        Ok(BlobStatus { missing })
    }

    /// A chunk of a photo from a laptop.
    pub fn put_blob(
        &self,
        token: &str,
        hash: &str,
        total: u64,
        offset: u64,
        chunk: &[u8],
    ) -> SyncResult<u64> {
        self.device(token)?;
        if chunk.len() > CHUNK as usize {
            return Err(SyncError::new(SyncErrorCode::BadRequest, "chunk too large"));
        }
        blobs::append(&self.media, self.ctx.data_dir(), hash, total, offset, chunk)
    }

    /// Whether the hub knows photo `hash` and `device` may hold it (背靠背: another
    /// scorer's evidence is answered as if the hub did not know it, see
    /// [`guanmo_store::trust::may_fetch_photo`]).
    fn may_fetch(&self, device: &str, hash: &str) -> SyncResult<bool> {
        let (known, may) = self.ctx.store().read(|c| {
            if !guanmo_store::photos::exists(c, hash)? {
                return Ok((false, false));
            }
            Ok((true, guanmo_store::trust::may_fetch_photo(c, device, hash)?))
        })?;
        if known && !may {
            tracing::info!(device = %device, hash = %hash, "photo withheld (背靠背)");
        }
        Ok(may)
    }

    /// A chunk of a photo the hub has, for a laptop.
    pub fn get_blob(&self, token: &str, hash: &str, offset: u64, max: u32) -> SyncResult<Vec<u8>> {
        let device = self.device(token)?;
        if !self.may_fetch(&device, hash)? {
            return Err(SyncError::new(
                SyncErrorCode::BadRequest,
                format!("no photo {hash}"),
            ));
        }
        blobs::read_chunk(&self.media, hash, offset, max.min(CHUNK))
    }

    /// Which of these photos the hub lacks a copy of in the query's size (the original counts
    /// as having both): a laptop sends the thumbnails before the posts that show them, the
    /// 1600 px copies right after.
    pub fn copies_missing(&self, token: &str, q: &CopyQuery) -> SyncResult<CopyStatus> {
        self.device(token)?;
        if q.hashes.len() > 5_000 {
            return Err(SyncError::new(SyncErrorCode::BadRequest, "too many hashes"));
        }
        if !q.hashes.iter().all(|h| blobs::valid_hash(h)) {
            return Err(SyncError::new(
                SyncErrorCode::BadRequest,
                "not a photo hash",
            ));
        }
        let size = copy_size(q.size)?;
        let missing = q
            .hashes
            .iter()
            .filter(|h| !blobs::has_copy(&self.media, h, size))
            .cloned()
            .collect();
        Ok(CopyStatus { missing })
    }

    /// A laptop's 320 px thumbnail or 1600 px copy of one of its photos, ahead of the
    /// original (publishing over 4G). The bytes are untrusted and cannot be checked against
    /// the hash, so: only the device whose record of the photo stands (or, before any record
    /// arrived, the sender) may send it; it is decoded within limits and re-encoded without
    /// metadata ([`MediaStore::import_thumb_copy`], [`MediaStore::import_web_copy`]); a photo
    /// that has that size already keeps it (the original, once it arrives, replaces the
    /// copies with its own).
    pub fn put_copy(&self, token: &str, hash: &str, size: u32, jpeg: &[u8]) -> SyncResult<()> {
        let device = self.device(token)?;
        let size = copy_size(size)?;
        if !blobs::valid_hash(hash) {
            return Err(SyncError::new(
                SyncErrorCode::BadRequest,
                "not a photo hash",
            ));
        }
        if jpeg.len() as u64 > COPY_MAX {
            return Err(SyncError::new(
                SyncErrorCode::BadRequest,
                "photo copy too large",
            ));
        }
        let owner = self
            .ctx
            .store()
            .read(|c| guanmo_store::photos::owner(c, hash))?;
        let imported_here = owner.is_none()
            && self
                .ctx
                .store()
                .read(|c| guanmo_store::photos::exists(c, hash))?;
        if imported_here || owner.as_ref().is_some_and(|o| *o != device) {
            return Err(SyncError::new(
                SyncErrorCode::BadRequest,
                format!("photo {hash} is not the sender's"),
            ));
        }
        if blobs::has_copy(&self.media, hash, size) {
            return Ok(());
        }
        let limits = guanmo_media::Limits::default();
        match size {
            Size::Thumb => self.media.import_thumb_copy(hash, jpeg, &limits),
            _ => self.media.import_web_copy(hash, jpeg, &limits),
        }
        .map_err(|e| {
            SyncError::new(
                SyncErrorCode::BadRequest,
                format!("photo copy {hash} refused: {e}"),
            )
        })?;
        Ok(())
    }

    /// The 传播数据 of the hub's resident site, for a media laptop (the site residents read
    /// runs on the hub, so its counts are there); any other device is refused. The person
    /// check ran on the laptop ([`guanmo_api::reach::ensure_may_read`]).
    pub fn reach(&self, token: &str) -> SyncResult<guanmo_api::reach::ReachReport> {
        let device = self.device(token)?;
        let role = self
            .ctx
            .store()
            .read(|c| guanmo_store::trust::device_role(c, &device))?;
        if role != Some(Role::Media) {
            return Err(SyncError::new(
                SyncErrorCode::BadRequest,
                "only a media laptop (直播电脑) may read 传播数据",
            ));
        }
        Ok(guanmo_api::reach::report_for_paired_laptop(&self.ctx)?)
    }

    /// The hub's 1600 px copy of a photo it knows, for a laptop that lacks it.
    pub fn get_copy(&self, token: &str, hash: &str) -> SyncResult<Vec<u8>> {
        let device = self.device(token)?;
        let known = blobs::valid_hash(hash) && self.may_fetch(&device, hash)?;
        let path = known
            .then(|| self.media.path(hash, guanmo_media::Size::Web).ok())
            .flatten()
            .ok_or_else(|| SyncError::new(SyncErrorCode::BadRequest, format!("no photo {hash}")))?;
        Ok(std::fs::read(path)?)
    }
}

/// The store's size for a copy size of the protocol.
fn copy_size(size: u32) -> SyncResult<Size> {
    match size {
        crate::protocol::THUMB => Ok(Size::Thumb),
        crate::protocol::WEB => Ok(Size::Web),
        _ => Err(SyncError::new(
            SyncErrorCode::BadRequest,
            format!("no copy of {size} px"),
        )),
    }
}
