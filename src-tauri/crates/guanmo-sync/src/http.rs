//! The HTTP transport to the hub's peer listener (`guanmo_web::peer`).

use crate::protocol::{
    BlobQuery, BlobStatus, PairRequest, PairResponse, PullRequest, PullResponse, PushRequest,
    PushResponse,
};
use crate::{SyncError, SyncErrorCode, SyncResult, Transport};

/// A transport to `http://host:port` of a hub.
#[derive(Debug)]
pub struct HttpTransport {
    base: String,
    token: Option<String>,
}

impl HttpTransport {
    /// A transport to the hub at `base_url`, with this device's token once paired.
    pub fn new(base_url: &str, token: Option<String>) -> SyncResult<Self> {
        Ok(Self {
            base: base_url.trim_end_matches('/').to_string(),
            token,
        })
    }
}

fn todo<T>() -> SyncResult<T> {
    Err(SyncError::new(SyncErrorCode::Unreachable, "not built yet"))
}

impl Transport for HttpTransport {
    fn pair(&self, _req: &PairRequest) -> SyncResult<PairResponse> {
        let _ = (&self.base, &self.token);
        todo()
    }
    fn push(&self, _req: &PushRequest) -> SyncResult<PushResponse> {
        todo()
    }
    fn pull(&self, _req: &PullRequest) -> SyncResult<PullResponse> {
        todo()
    }
    fn blobs_missing(&self, _q: &BlobQuery) -> SyncResult<BlobStatus> {
        todo()
    }
    fn put_blob(&self, _hash: &str, _total: u64, _offset: u64, _chunk: &[u8]) -> SyncResult<u64> {
        todo()
    }
    fn get_blob(&self, _hash: &str, _offset: u64, _max: u32) -> SyncResult<Vec<u8>> {
        todo()
    }
}
