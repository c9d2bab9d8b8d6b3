//! The HTTP binding of the peer protocol: the route paths and small query and answer types
//! both sides use, and the laptop's transport to the hub's peer listener
//! (`guanmo_web::peer`). It behaves like the in-memory transport: a refusal comes back as the
//! hub's own [`SyncError`] (same code, same message), and anything that stops an answer from
//! arriving (no route, refused connection, timeout, a garbled answer) is
//! [`SyncErrorCode::Unreachable`], which the app retries with backoff. Over `https://` the
//! hub's certificate is checked as [`HubTrust`] says before anything is sent; a refused
//! certificate is [`SyncErrorCode::CertChanged`] (pinned) or [`SyncErrorCode::CertUntrusted`].
//! Plain `http://` goes only to loopback and private addresses
//! ([`crate::hub_url::plain_http_allowed`]), so a device token never crosses the internet in
//! the clear.

use crate::protocol::{
    BlobQuery, BlobStatus, CopyQuery, CopyStatus, PairRequest, PairResponse, PullRequest,
    PullResponse, PushRequest, PushResponse, CHUNK, COPY_MAX,
};
use crate::tls::{self, HubTrust};
use crate::{SyncError, SyncErrorCode, SyncResult, Transport};
use guanmo_api::reach::ReachReport;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;
use ureq::SendBody;

/// `POST`: pairing with a one-time code (the only route without a device token).
pub const PAIR: &str = "/peer/v1/pair";
/// `POST`: a laptop's own operations.
pub const PUSH: &str = "/peer/v1/push";
/// `POST`: the operations a laptop lacks.
pub const PULL: &str = "/peer/v1/pull";
/// `POST`: which photos the hub lacks.
pub const BLOBS_MISSING: &str = "/peer/v1/blobs/missing";
/// `PUT` and `GET` `{BLOBS}/{hash}`: a chunk of a photo's original.
pub const BLOBS: &str = "/peer/v1/blobs";

/// `POST`: which photos the hub can show none of (no original, no 1600 px copy).
pub const COPIES_MISSING: &str = "/peer/v1/copies/missing";
/// `PUT` (`?size=320` or `1600`) and `GET` (1600) `{COPIES}/{hash}`: a photo's copy, whole
/// (the hub re-encodes it).
pub const COPIES: &str = "/peer/v1/copies";

/// `GET`: the 传播数据 of the hub's resident site (media laptops only).
pub const REACH: &str = "/peer/v1/reach";

/// Query of `PUT {COPIES}/{hash}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CopyPut {
    /// 320 or 1600.
    #[serde(default = "crate::protocol::web")]
    pub size: u32,
}

/// Query of `PUT {BLOBS}/{hash}`; the body is the chunk's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobPut {
    /// The photo's size in bytes.
    pub total: u64,
    /// Where the chunk starts.
    pub offset: u64,
}

/// Query of `GET {BLOBS}/{hash}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobGet {
    /// Where the chunk starts.
    #[serde(default)]
    pub offset: u64,
    /// Most bytes wanted (the hub sends at most [`CHUNK`]).
    #[serde(default = "chunk")]
    pub max: u32,
}

fn chunk() -> u32 {
    CHUNK
}

/// Answer to `PUT {BLOBS}/{hash}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlobReceived {
    /// Bytes of the photo the hub now has (resume from here).
    pub received: u64,
}

/// Time to open a connection: the hub is on the LAN, so a longer wait means it is not there.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time for a whole request, answer included (a 500-operation push or a 1 MiB chunk over a
/// slow Wi-Fi fits with room to spare).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest JSON answer read: a pull of 500 operations (the hub's push limit, mirrored).
const ANSWER_LIMIT: u64 = 64 * 1024 * 1024;
/// Largest chunk answer read.
const CHUNK_ANSWER_LIMIT: u64 = CHUNK as u64 + 64 * 1024;

/// A transport to `http://host:port` or `https://host[:port]` of a hub. Like the in-memory
/// transport, it keeps the token a successful pairing returns and sends it from then on.
pub struct HttpTransport {
    base: String,
    token: Mutex<Option<String>>,
    agent: ureq::Agent,
    /// A refused certificate means "not the pinned one" rather than "not trusted".
    pinned: bool,
    /// The hub's address is loopback or private (named hubs count as the internet).
    local: bool,
}

impl std::fmt::Debug for HttpTransport {
    // Never prints the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("base", &self.base)
            .field("paired", &self.token().is_some())
            .finish_non_exhaustive()
    }
}

fn unreachable(message: impl Into<String>) -> SyncError {
    SyncError::new(SyncErrorCode::Unreachable, message)
}

impl HttpTransport {
    /// A transport to the hub at `base_url` (`http://host:port`, or `https://…` checked
    /// against the system's roots), with this device's token once paired.
    pub fn new(base_url: &str, token: Option<String>) -> SyncResult<Self> {
        Self::with_trust(base_url, token, HubTrust::System)
    }

    /// [`HttpTransport::new`] whose `https://` certificate must satisfy `trust` (a pin from
    /// pairing). Refuses, before any connection, an address that is not `http(s)://host[:port]`
    /// and plain `http://` to an address that is not loopback or private.
    pub fn with_trust(base_url: &str, token: Option<String>, trust: HubTrust) -> SyncResult<Self> {
        let base = base_url.trim().trim_end_matches('/').to_string();
        let uri: ureq::http::Uri = base
            .parse()
            .map_err(|_| SyncError::new(SyncErrorCode::BadRequest, "not a hub address"))?;
        if !matches!(uri.scheme_str(), Some("http" | "https"))
            || uri.host().is_none()
            || uri.path_and_query().is_some_and(|p| p.as_str() != "/")
        {
            return Err(SyncError::new(
                SyncErrorCode::BadRequest,
                "the hub address must look like http://host:port",
            ));
        }
        let https = uri.scheme_str() == Some("https");
        if !https && !uri.host().is_some_and(crate::hub_url::plain_http_allowed) {
            return Err(SyncError::new(
                SyncErrorCode::InsecureAddress,
                format!("{base}: plain http:// is only for private and loopback addresses"),
            ));
        }
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            // Refusals carry `{code, message}`; read them instead of a bare status error.
            .http_status_as_error(false)
            // The hub is on the LAN: a proxy from the environment would not reach it and
            // would see the token.
            .proxy(None)
            // A redirect would carry the body (and maybe the token) elsewhere.
            .max_redirects(0)
            .build();
        let agent = if https {
            // TCP, then TLS as `trust` says (ureq's own TLS step has no pinning).
            use ureq::unversioned::transport::{Connector, TcpConnector};
            let connector =
                ().chain(TcpConnector::default())
                    .chain(tls::HubTls::new(tls::client_config(&trust)?));
            ureq::Agent::with_parts(
                config,
                connector,
                ureq::unversioned::resolver::DefaultResolver::default(),
            )
        } else {
            config.into()
        };
        Ok(Self {
            base,
            token: Mutex::new(token),
            agent,
            pinned: https && matches!(trust, HubTrust::Pinned(_)),
            local: uri.host().is_some_and(crate::hub_url::plain_http_allowed),
        })
    }

    /// Uses `token` from now on.
    pub fn set_token(&self, token: &str) {
        *self.token.lock().unwrap_or_else(|e| e.into_inner()) = Some(token.to_string());
    }

    fn token(&self) -> Option<String> {
        self.token.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A request that got no answer: a refused certificate says so, anything else is
    /// [`SyncErrorCode::Unreachable`].
    fn failed(&self, e: ureq::Error) -> SyncError {
        match &e {
            ureq::Error::Rustls(tls) => {
                tls::certificate_refused(self.pinned, tls).unwrap_or_else(|| network(e))
            }
            _ => network(e),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn authorization(&self) -> SyncResult<String> {
        match self.token() {
            Some(t) => Ok(format!("Bearer {t}")),
            None => Err(SyncError::new(
                SyncErrorCode::NotPaired,
                "not paired with a hub",
            )),
        }
    }

    /// `POST path` with a JSON body; the answer decoded, or the hub's refusal.
    fn post<Q: Serialize, A: DeserializeOwned>(
        &self,
        path: &str,
        body: &Q,
        token: bool,
    ) -> SyncResult<A> {
        let json = serde_json::to_vec(body)
            .map_err(|e| SyncError::new(SyncErrorCode::BadRequest, e.to_string()))?;
        let mut req = self
            .agent
            .post(self.url(path))
            .header("Content-Type", "application/json");
        if token {
            req = req.header("Authorization", &self.authorization()?);
        }
        let resp = req.send(&json[..]).map_err(|e| self.failed(e))?;
        decode(answer(resp, ANSWER_LIMIT)?)
    }
}

/// A failure to get an answer at all.
fn network(e: ureq::Error) -> SyncError {
    unreachable(format!("hub not reachable: {e}"))
}

/// The body of a successful answer, or the hub's refusal as a [`SyncError`].
fn answer(mut resp: ureq::http::Response<ureq::Body>, limit: u64) -> SyncResult<Vec<u8>> {
    let status = resp.status();
    let body = resp
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(network)?;
    if status.is_success() {
        return Ok(body);
    }
    match serde_json::from_slice::<SyncError>(&body) {
        Ok(e) => Err(e),
        Err(_) => Err(unreachable(format!("the hub answered {status}"))),
    }
}

fn decode<A: DeserializeOwned>(body: Vec<u8>) -> SyncResult<A> {
    serde_json::from_slice(&body).map_err(|e| unreachable(format!("hub answered garbage: {e}")))
}

/// A request body that gives up once `cancel` says so (asked at most every
/// [`CANCEL_CHECK`]): a photo upload on a slow link gives way to newer work without waiting
/// for its last byte. The hub sees a broken body and stores none of it.
struct Cancellable<'a> {
    bytes: &'a [u8],
    cancel: &'a dyn Fn() -> bool,
    checked: Option<std::time::Instant>,
}

/// How often a body being sent asks whether to give up.
const CANCEL_CHECK: Duration = Duration::from_millis(100);

impl<'a> Cancellable<'a> {
    fn new(bytes: &'a [u8], cancel: &'a dyn Fn() -> bool) -> Self {
        Cancellable {
            bytes,
            cancel,
            checked: None,
        }
    }
}

impl std::io::Read for Cancellable<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.checked.is_none_or(|t| t.elapsed() >= CANCEL_CHECK) {
            self.checked = Some(std::time::Instant::now());
            if (self.cancel)() {
                return Err(std::io::Error::other("given way to newer work"));
            }
        }
        self.bytes.read(buf)
    }
}

/// A photo hash goes into the path: only the 64 hex characters a hash has.
fn blob_path(hash: &str) -> SyncResult<String> {
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SyncError::new(
            SyncErrorCode::BadRequest,
            "not a photo hash",
        ));
    }
    Ok(format!("{BLOBS}/{hash}"))
}

/// As [`blob_path`], for a photo's 1600 px copy.
fn copy_path(hash: &str) -> SyncResult<String> {
    blob_path(hash).map(|p| p.replacen(BLOBS, COPIES, 1))
}

impl Transport for HttpTransport {
    fn pair(&self, req: &PairRequest) -> SyncResult<PairResponse> {
        let resp: PairResponse = self.post(PAIR, req, false)?;
        self.set_token(&resp.token);
        Ok(resp)
    }

    fn push(&self, req: &PushRequest) -> SyncResult<PushResponse> {
        self.post(PUSH, req, true)
    }

    fn pull(&self, req: &PullRequest) -> SyncResult<PullResponse> {
        self.post(PULL, req, true)
    }

    fn blobs_missing(&self, q: &BlobQuery) -> SyncResult<BlobStatus> {
        self.post(BLOBS_MISSING, q, true)
    }

    fn put_blob(
        &self,
        hash: &str,
        total: u64,
        offset: u64,
        chunk: &[u8],
        cancel: &dyn Fn() -> bool,
    ) -> SyncResult<u64> {
        let url = format!(
            "{}?total={total}&offset={offset}",
            self.url(&blob_path(hash)?)
        );
        let resp = self
            .agent
            .put(url)
            .header("Authorization", &self.authorization()?)
            .header("Content-Type", "application/octet-stream")
            .send(SendBody::from_reader(&mut Cancellable::new(chunk, cancel)))
            .map_err(|e| self.failed(e))?;
        let r: BlobReceived = decode(answer(resp, ANSWER_LIMIT)?)?;
        Ok(r.received)
    }

    fn get_blob(&self, hash: &str, offset: u64, max: u32) -> SyncResult<Vec<u8>> {
        let url = format!("{}?offset={offset}&max={max}", self.url(&blob_path(hash)?));
        let resp = self
            .agent
            .get(url)
            .header("Authorization", &self.authorization()?)
            .call()
            .map_err(|e| self.failed(e))?;
        answer(resp, CHUNK_ANSWER_LIMIT)
    }

    fn copies_missing(&self, q: &CopyQuery) -> SyncResult<CopyStatus> {
        self.post(COPIES_MISSING, q, true)
    }

    fn put_copy(
        &self,
        hash: &str,
        size: u32,
        jpeg: &[u8],
        cancel: &dyn Fn() -> bool,
    ) -> SyncResult<()> {
        let resp = self
            .agent
            .put(format!("{}?size={size}", self.url(&copy_path(hash)?)))
            .header("Authorization", &self.authorization()?)
            .header("Content-Type", "image/jpeg")
            .send(SendBody::from_reader(&mut Cancellable::new(jpeg, cancel)))
            .map_err(|e| self.failed(e))?;
        answer(resp, ANSWER_LIMIT).map(drop)
    }

    fn get_copy(&self, hash: &str) -> SyncResult<Vec<u8>> {
        let resp = self
            .agent
            .get(self.url(&copy_path(hash)?))
            .header("Authorization", &self.authorization()?)
            .call()
            .map_err(|e| self.failed(e))?;
        answer(resp, COPY_MAX + 1024)
    }

    fn reach(&self) -> SyncResult<ReachReport> {
        let resp = self
            .agent
            .get(self.url(REACH))
            .header("Authorization", &self.authorization()?)
            .call()
            .map_err(|e| self.failed(e))?;
        decode(answer(resp, ANSWER_LIMIT)?)
    }

    fn on_local_network(&self) -> bool {
        self.local
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_gives_up_once_cancel_says_so_and_not_before() {
        use std::io::Read;
        let bytes = vec![7u8; 100_000];
        let never = || false;
        let mut all = Vec::new();
        Cancellable::new(&bytes, &never)
            .read_to_end(&mut all)
            .unwrap();
        assert_eq!(all, bytes);
        let asked = std::sync::atomic::AtomicU32::new(0);
        let after_first = || asked.fetch_add(1, std::sync::atomic::Ordering::Relaxed) > 0;
        let mut body = Cancellable::new(&bytes, &after_first);
        let mut buf = [0u8; 1000];
        assert_eq!(
            body.read(&mut buf).unwrap(),
            1000,
            "the first check says go on"
        );
        std::thread::sleep(CANCEL_CHECK);
        assert!(body.read(&mut buf).is_err(), "the next check gives up");
    }

    #[test]
    fn a_hub_address_is_http_host_and_port_only() {
        assert!(HttpTransport::new("http://192.168.1.20:8787", None).is_ok());
        assert!(HttpTransport::new("http://192.168.1.20:8787/", None).is_ok());
        for bad in [
            "192.168.1.20:8787",
            "ftp://hub",
            "http://hub:1/x",
            "",
            "http://",
        ] {
            assert!(HttpTransport::new(bad, None).is_err(), "{bad}");
        }
    }

    #[test]
    fn plain_http_to_a_public_address_is_refused_before_any_connection() {
        for public in ["http://203.0.113.7:8787", "http://live.example.cn:8787"] {
            let e = HttpTransport::new(public, Some("0".repeat(64))).unwrap_err();
            assert_eq!(e.code, SyncErrorCode::InsecureAddress, "{public}");
        }
        assert!(HttpTransport::new("http://[::1]:8787", None).is_ok());
        assert!(HttpTransport::new("http://localhost:8787", None).is_ok());
        assert!(HttpTransport::new("https://203.0.113.7:8787", None).is_ok());
    }

    #[test]
    fn without_a_token_nothing_is_sent_and_a_closed_port_is_unreachable() {
        // Bind and drop: the port is free and nothing listens on it.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let t = HttpTransport::new(&format!("http://{addr}"), None).unwrap();
        let e = t.pull(&PullRequest {
            have: Default::default(),
            limit: 1,
        });
        assert_eq!(e.unwrap_err().code, SyncErrorCode::NotPaired);
        let e = t
            .pair(&PairRequest {
                code: "000000".into(),
                device_id: "x".into(),
                name: "x".into(),
                role: crate::Role::Scorer,
                public_key: "x".into(),
                signature: None,
            })
            .unwrap_err();
        assert_eq!(e.code, SyncErrorCode::Unreachable, "{e}");
        assert!(format!("{t:?}").contains("paired: false"));
    }
}
