//! An in-memory transport to a [`HubService`] that can drop, duplicate, reorder and cut
//! messages, deterministically from a seed: the scenario and property tests run the whole
//! exchange through it.

use crate::protocol::{
    BlobQuery, BlobStatus, CopyQuery, CopyStatus, PairRequest, PairResponse, PullRequest,
    PullResponse, PushRequest, PushResponse,
};
use crate::{HubService, SyncError, SyncErrorCode, SyncResult, Transport};
use std::sync::Mutex;

/// Faults to inject, each a probability in 0..=1.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// The request is lost before the hub sees it.
    pub drop_request: f64,
    /// The hub handles the request but the answer is lost.
    pub drop_response: f64,
    /// The request reaches the hub twice.
    pub duplicate: f64,
    /// An earlier push is delivered again, late, before this request (reordering).
    pub replay_stale: f64,
    /// A pull answer arrives shuffled with some of its operations missing.
    pub mangle_pull: f64,
}

struct State {
    rng: u64,
    cut: bool,
    /// Calls left before the link cuts by itself (a cable pulled mid-transfer).
    cut_after: Option<u64>,
    stale: Vec<PushRequest>,
    calls: u64,
    /// The hub counts as reached over the internet (see [`MemoryTransport::over_internet`]).
    internet: bool,
}

/// A transport that calls the hub directly, with faults.
pub struct MemoryTransport {
    hub: HubService,
    token: Mutex<String>,
    faults: Faults,
    state: Mutex<State>,
}

impl std::fmt::Debug for MemoryTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryTransport").finish_non_exhaustive()
    }
}

fn lost(what: &str) -> SyncError {
    SyncError::new(SyncErrorCode::Unreachable, format!("{what} lost"))
}

impl MemoryTransport {
    /// A transport to `hub`, faults drawn from `seed`.
    pub fn new(hub: HubService, faults: Faults, seed: u64) -> Self {
        Self {
            hub,
            token: Mutex::new(String::new()),
            faults,
            state: Mutex::new(State {
                rng: seed | 1,
                cut: false,
                cut_after: None,
                stale: Vec::new(),
                calls: 0,
                internet: false,
            }),
        }
    }

    /// The hub counts as reached over the internet (`true`) or on the laptop's own network
    /// (the default), for [`crate::protocol::OriginalsPolicy::LanOnly`].
    pub fn over_internet(&self, internet: bool) {
        self.lock().internet = internet;
    }

    /// Cuts (`true`) or restores the link: a cut link fails every call.
    pub fn set_cut(&self, cut: bool) {
        self.lock().cut = cut;
    }

    /// Lets `n` more calls through, then cuts the link.
    pub fn cut_after(&self, n: u64) {
        self.lock().cut_after = Some(n);
    }

    /// Uses `token` from now on (set by pairing, or a test's forged one).
    pub fn set_token(&self, token: &str) {
        *self.token.lock().unwrap_or_else(|e| e.into_inner()) = token.to_string();
    }

    /// Calls made so far.
    pub fn calls(&self) -> u64 {
        self.lock().calls
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn token(&self) -> String {
        self.token.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn roll(&self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        let mut s = self.lock();
        // xorshift64*
        s.rng ^= s.rng >> 12;
        s.rng ^= s.rng << 25;
        s.rng ^= s.rng >> 27;
        let x = s.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((x >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    fn next_u64(&self) -> u64 {
        let mut s = self.lock();
        s.rng ^= s.rng >> 12;
        s.rng ^= s.rng << 25;
        s.rng ^= s.rng >> 27;
        s.rng.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Runs a call through the faults: cut, lost request, duplicate, lost answer.
    fn call<T>(&self, what: &str, f: impl Fn() -> SyncResult<T>) -> SyncResult<T> {
        {
            let mut s = self.lock();
            s.calls += 1;
            match s.cut_after {
                Some(0) => {
                    s.cut = true;
                    s.cut_after = None;
                }
                Some(n) => s.cut_after = Some(n - 1),
                None => {}
            }
            if s.cut {
                return Err(SyncError::new(SyncErrorCode::Unreachable, "link cut"));
            }
        }
        if self.roll(self.faults.drop_request) {
            return Err(lost(what));
        }
        if self.roll(self.faults.replay_stale) {
            let stale = {
                let s = self.lock();
                s.stale.first().cloned()
            };
            if let Some(old) = stale {
                let _ = self.hub.push(&self.token(), &old);
            }
        }
        if self.roll(self.faults.duplicate) {
            let _ = f();
        }
        let out = f()?;
        if self.roll(self.faults.drop_response) {
            return Err(lost(what));
        }
        Ok(out)
    }
}

impl Transport for MemoryTransport {
    fn pair(&self, req: &PairRequest) -> SyncResult<PairResponse> {
        let resp = self.call("pair", || self.hub.pair(req, "memory"))?;
        self.set_token(&resp.token);
        Ok(resp)
    }

    fn push(&self, req: &PushRequest) -> SyncResult<PushResponse> {
        {
            let mut s = self.lock();
            if s.stale.len() < 4 {
                s.stale.push(req.clone());
            }
        }
        self.call("push", || self.hub.push(&self.token(), req))
    }

    fn pull(&self, req: &PullRequest) -> SyncResult<PullResponse> {
        let mut resp = self.call("pull", || self.hub.pull(&self.token(), req))?;
        if self.roll(self.faults.mangle_pull) && !resp.ops.is_empty() {
            // Lose some operations and shuffle the rest: the receiver must hold the ones
            // past a gap and apply in order later.
            let keep: Vec<_> = resp
                .ops
                .into_iter()
                .filter(|_| !self.next_u64().is_multiple_of(4))
                .collect();
            let mut keep = keep;
            for i in (1..keep.len()).rev() {
                let j = usize::try_from(self.next_u64() % (i as u64 + 1)).unwrap_or(0);
                keep.swap(i, j);
            }
            resp.ops = keep;
            resp.more = true;
        }
        Ok(resp)
    }

    fn blobs_missing(&self, q: &BlobQuery) -> SyncResult<BlobStatus> {
        self.call("blobs", || self.hub.blobs_missing(&self.token(), q))
    }

    fn put_blob(
        &self,
        hash: &str,
        total: u64,
        offset: u64,
        chunk: &[u8],
        _cancel: &dyn Fn() -> bool,
    ) -> SyncResult<u64> {
        self.call("put_blob", || {
            self.hub.put_blob(&self.token(), hash, total, offset, chunk)
        })
    }

    fn get_blob(&self, hash: &str, offset: u64, max: u32) -> SyncResult<Vec<u8>> {
        self.call("get_blob", || {
            self.hub.get_blob(&self.token(), hash, offset, max)
        })
    }

    fn copies_missing(&self, q: &CopyQuery) -> SyncResult<CopyStatus> {
        self.call("copies", || self.hub.copies_missing(&self.token(), q))
    }

    fn put_copy(
        &self,
        hash: &str,
        size: u32,
        jpeg: &[u8],
        _cancel: &dyn Fn() -> bool,
    ) -> SyncResult<()> {
        self.call("put_copy", || {
            self.hub.put_copy(&self.token(), hash, size, jpeg)
        })
    }

    fn get_copy(&self, hash: &str) -> SyncResult<Vec<u8>> {
        self.call("get_copy", || self.hub.get_copy(&self.token(), hash))
    }

    fn reach(&self) -> SyncResult<guanmo_api::reach::ReachReport> {
        self.call("reach", || self.hub.reach(&self.token()))
    }

    fn on_local_network(&self) -> bool {
        !self.lock().internet
    }
}
