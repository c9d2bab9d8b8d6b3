//! The hub's side of the exchange, independent of the transport: the peer HTTP routes and
//! the in-memory test transport both call these methods. Every method but pairing needs a
//! paired, unrevoked device's token.

use crate::identity::{self, Role};
use crate::protocol::{
    BlobQuery, BlobState, BlobStatus, PairRequest, PairResponse, PullRequest, PullResponse,
    PushRequest, PushResponse, BATCH, CHUNK,
};
use crate::{blobs, pairing, SyncError, SyncErrorCode, SyncResult};
use chrono::SecondsFormat;
use guanmo_api::Ctx;
use guanmo_media::MediaStore;
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
    pub fn pull(&self, token: &str, req: &PullRequest) -> SyncResult<PullResponse> {
        self.device(token)?;
        let limit = req.limit.clamp(1, BATCH);
        let mut ops = self
            .ctx
            .store()
            .read(|c| oplog::ops_after(c, &req.have, limit + 1))?;
        let more = ops.len() > limit as usize;
        ops.truncate(limit as usize);
        let site_url = guanmo_api::site::get_site_settings(&self.ctx)
            .ok()
            .map(|s| s.public_url)
            .filter(|u| !u.is_empty());
        Ok(PullResponse {
            ops,
            more,
            hub_time: self.now_text(),
            site_url,
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

    /// A chunk of a photo the hub has, for a laptop.
    pub fn get_blob(&self, token: &str, hash: &str, offset: u64, max: u32) -> SyncResult<Vec<u8>> {
        self.device(token)?;
        let known = self
            .ctx
            .store()
            .read(|c| guanmo_store::photos::exists(c, hash))?;
        if !known {
            return Err(SyncError::new(
                SyncErrorCode::BadRequest,
                format!("no photo {hash}"),
            ));
        }
        blobs::read_chunk(&self.media, hash, offset, max.min(CHUNK))
    }
}
