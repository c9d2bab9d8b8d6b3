//! Errors of the web crate. Starting the site or exporting it fails with [`WebError`]; a
//! request that fails becomes an [`HttpError`], told in the body its route's clients read
//! (plain words for a browser tab, `{code, message, problems}` for the page's script,
//! `{code, message}` for a paired laptop) and never carrying internal detail to a resident
//! (that goes to the log). [`blocking`] is the one way store work leaves the async workers.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use guanmo_api::{ApiError, ErrorCode};
use guanmo_sync::{SyncError, SyncErrorCode};
use serde::Serialize;
use std::time::Duration;

/// A failure outside a request.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// A use case failed.
    #[error("api: {0}")]
    Api(#[from] ApiError),
    /// A file could not be written or copied.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// The feed could not be encoded.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// The live bridge thread could not start.
    #[error("could not start the live bridge: {0}")]
    Thread(String),
}

/// A failed request: its status, its body and, for a refusal worth retrying later, how many
/// seconds to wait (`Retry-After`).
#[derive(Debug)]
pub(crate) struct HttpError {
    pub(crate) status: StatusCode,
    body: Body,
    retry_after: Option<u64>,
}

/// The three bodies a refusal is told in; each kind of client reads exactly one of them.
#[derive(Debug)]
enum Body {
    /// Words a person reads, as `text/plain`: the page, the feed JSON, photos, static files
    /// and the live stream.
    Text(&'static str),
    /// `{code, message, problems}`: the resident site's comment routes, read by the page's
    /// script (a stable code, a Chinese message, the refused fields).
    Resident {
        code: &'static str,
        message: &'static str,
        problems: Vec<FieldProblem>,
    },
    /// `{code, message}` of the peer protocol: the laptop's transport turns it back into the
    /// same [`SyncError`].
    Peer(SyncError),
}

/// One refused field of a resident's form.
#[derive(Debug, Serialize)]
struct FieldProblem {
    field: String,
    message: String,
}

#[derive(Serialize)]
struct ResidentBody<'a> {
    code: &'a str,
    message: &'a str,
    problems: &'a [FieldProblem],
}

const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
/// Seconds a phone refused a live stream waits before trying again.
const STREAM_RETRY_SECONDS: u64 = 30;
/// Seconds a resident waits when the comment ingest is full.
const BUSY_RETRY: Duration = Duration::from_secs(2);

/// Plain words.
impl HttpError {
    fn text(status: StatusCode, words: &'static str) -> Self {
        Self {
            status,
            body: Body::Text(words),
            retry_after: None,
        }
    }

    pub(crate) fn not_found() -> Self {
        Self::text(StatusCode::NOT_FOUND, "页面不存在")
    }

    pub(crate) fn bad_request() -> Self {
        Self::text(StatusCode::BAD_REQUEST, "请求参数无效")
    }

    /// The site holds as many live streams as it can.
    pub(crate) fn streams_full() -> Self {
        Self {
            retry_after: Some(STREAM_RETRY_SECONDS),
            ..Self::text(
                StatusCode::SERVICE_UNAVAILABLE,
                "当前观看人数较多,请稍后刷新",
            )
        }
    }

    /// This address holds as many live streams as it may.
    pub(crate) fn too_many_streams() -> Self {
        Self {
            retry_after: Some(STREAM_RETRY_SECONDS),
            ..Self::text(
                StatusCode::TOO_MANY_REQUESTS,
                "打开的直播页面太多,请关闭一些后刷新",
            )
        }
    }

    pub(crate) fn internal() -> Self {
        Self::text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "服务暂时不可用,请稍后刷新",
        )
    }

    /// A use case's failure in plain words: bad input, not found, or (logged) unavailable.
    pub(crate) fn plain(e: ApiError) -> Self {
        match e.code {
            ErrorCode::Validation => Self::bad_request(),
            ErrorCode::NotFound => Self::not_found(),
            _ => {
                tracing::error!(error = %e, "resident request failed");
                Self::internal()
            }
        }
    }
}

/// The resident site's JSON refusals.
impl HttpError {
    /// A refusal with `code` and `message` and no field problems.
    pub(crate) fn resident(status: StatusCode, code: &'static str, message: &'static str) -> Self {
        Self {
            status,
            body: Body::Resident {
                code,
                message,
                problems: Vec::new(),
            },
            retry_after: None,
        }
    }

    /// Too many requests from this phone or address.
    pub(crate) fn too_many(wait: Duration) -> Self {
        Self::limited("rate_limited", "操作太频繁,请稍后再试", wait)
    }

    /// A `429` telling the phone to wait `wait` (at least a second).
    pub(crate) fn limited(code: &'static str, message: &'static str, wait: Duration) -> Self {
        Self {
            retry_after: Some(wait.as_secs().max(1)),
            ..Self::resident(StatusCode::TOO_MANY_REQUESTS, code, message)
        }
    }

    /// One field of the form refused, with what to do about it.
    pub(crate) fn field(field: &str, message: &str) -> Self {
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: Body::Resident {
                code: "validation",
                message: "填写的内容有误,请按提示修改",
                problems: vec![FieldProblem {
                    field: field.to_string(),
                    message: message.to_string(),
                }],
            },
            retry_after: None,
        }
    }

    /// A body that is not the JSON the route takes.
    pub(crate) fn bad_json(e: &serde_json::Error) -> Self {
        tracing::debug!(error = %e, "comment body refused");
        Self::resident(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "提交的内容格式不正确,请刷新页面后重试",
        )
    }

    /// This refusal as the resident site's JSON, under `code`, with the same status and
    /// words (a plain refusal met on a JSON route).
    pub(crate) fn into_resident(self, code: &'static str) -> Self {
        match self.body {
            Body::Text(words) => Self::resident(self.status, code, words),
            _ => self,
        }
    }
}

/// A use case's failure as the resident site's JSON refusal.
impl From<ApiError> for HttpError {
    fn from(e: ApiError) -> Self {
        let (status, code, message) = match e.code {
            ErrorCode::Validation => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "填写的内容有误,请按提示修改",
            ),
            ErrorCode::NotFound => (StatusCode::NOT_FOUND, "not_found", "内容不存在或已删除"),
            ErrorCode::CommentsClosed => (StatusCode::FORBIDDEN, "comments_closed", "评论区已关闭"),
            ErrorCode::Muted => (
                StatusCode::FORBIDDEN,
                "muted",
                "该手机号已被禁言,暂不能发表评论",
            ),
            ErrorCode::Busy => return Self::too_many(BUSY_RETRY),
            _ => {
                tracing::error!(error = %e, "comment request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "服务暂时不可用,请稍后再试",
                )
            }
        };
        Self {
            status,
            body: Body::Resident {
                code,
                message,
                problems: e
                    .problems
                    .into_iter()
                    .map(|p| FieldProblem {
                        field: p.location,
                        message: p.message,
                    })
                    .collect(),
            },
            retry_after: None,
        }
    }
}

/// The peer protocol's refusals.
impl HttpError {
    /// A refusal of a paired laptop's request (or a stranger's).
    pub(crate) fn peer(
        status: StatusCode,
        code: SyncErrorCode,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            body: Body::Peer(SyncError::new(code, message)),
            retry_after: None,
        }
    }

    /// A malformed peer request.
    pub(crate) fn peer_bad(message: impl Into<String>) -> Self {
        Self::peer(StatusCode::BAD_REQUEST, SyncErrorCode::BadRequest, message)
    }

    /// The hub failed on its side.
    pub(crate) fn peer_internal() -> Self {
        Self::peer(
            StatusCode::INTERNAL_SERVER_ERROR,
            SyncErrorCode::Storage,
            "the hub failed to handle the request",
        )
    }
}

/// The status a sync refusal travels with.
fn status_of(code: SyncErrorCode) -> StatusCode {
    match code {
        SyncErrorCode::NotPaired | SyncErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
        SyncErrorCode::PairingRefused => StatusCode::FORBIDDEN,
        SyncErrorCode::BadRequest | SyncErrorCode::BundleInvalid => StatusCode::BAD_REQUEST,
        // A laptop's own refusals of the hub; the hub never answers with them.
        SyncErrorCode::CertChanged
        | SyncErrorCode::CertUntrusted
        | SyncErrorCode::InsecureAddress => StatusCode::BAD_REQUEST,
        SyncErrorCode::Unreachable => StatusCode::SERVICE_UNAVAILABLE,
        SyncErrorCode::Storage => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The hub service's failure as the peer protocol's refusal.
impl From<SyncError> for HttpError {
    fn from(error: SyncError) -> Self {
        Self {
            status: status_of(error.code),
            body: Body::Peer(error),
            retry_after: None,
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status = self.status;
        let mut r = match self.body {
            Body::Text(words) => (
                status,
                [
                    (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                words,
            )
                .into_response(),
            Body::Resident {
                code,
                message,
                problems,
            } => {
                let body = serde_json::to_vec(&ResidentBody {
                    code,
                    message,
                    problems: &problems,
                })
                .unwrap_or_default();
                (
                    status,
                    [
                        (header::CONTENT_TYPE, "application/json; charset=utf-8"),
                        (header::CACHE_CONTROL, "no-store"),
                    ],
                    body,
                )
                    .into_response()
            }
            Body::Peer(error) => {
                if status.is_server_error() {
                    tracing::error!(error = %error, "peer request failed");
                } else {
                    tracing::info!(status = %status, error = %error, "peer request refused");
                }
                let mut r = (status, Json(&error)).into_response();
                r.headers_mut().insert(header::CACHE_CONTROL, NO_STORE);
                r
            }
        };
        if let Some(seconds) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        r
    }
}

/// What work run by [`blocking`] fails with: how that failure is told, and how the work's
/// panic is told to the same clients.
pub(crate) trait Failure: Send + 'static {
    /// The refusal this failure becomes.
    fn into_http(self) -> HttpError;
    /// The refusal when the work panicked instead of returning.
    fn panicked() -> HttpError;
}

/// On the resident site's JSON routes.
impl Failure for ApiError {
    fn into_http(self) -> HttpError {
        HttpError::from(self)
    }

    fn panicked() -> HttpError {
        HttpError::from(ApiError::new(ErrorCode::Internal, "join"))
    }
}

/// On the peer routes.
impl Failure for SyncError {
    fn into_http(self) -> HttpError {
        HttpError::from(self)
    }

    fn panicked() -> HttpError {
        HttpError::peer_internal()
    }
}

/// A use case's failure on a route that answers in plain words (see [`HttpError::plain`]).
#[derive(Debug)]
pub(crate) struct Plain(pub(crate) ApiError);

impl From<ApiError> for Plain {
    fn from(e: ApiError) -> Self {
        Plain(e)
    }
}

impl Failure for Plain {
    fn into_http(self) -> HttpError {
        HttpError::plain(self.0)
    }

    fn panicked() -> HttpError {
        HttpError::internal()
    }
}

/// Runs blocking work (the store's reader pool may block when busy, SQLite writes, an SMS
/// call) off the async workers; its failure, or its panic, becomes the refusal its kind of
/// failure is told as.
pub(crate) async fn blocking<T, E>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, HttpError>
where
    T: Send + 'static,
    E: Failure,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(done) => done.map_err(Failure::into_http),
        Err(_) => Err(E::panicked()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::to_bytes;

    async fn parts(e: HttpError) -> (StatusCode, Vec<(String, String)>, String) {
        let r = e.into_response();
        let status = r.status();
        let headers = r
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        let body = to_bytes(r.into_body(), usize::MAX).await.unwrap();
        (status, headers, String::from_utf8(body.to_vec()).unwrap())
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[tokio::test]
    async fn a_plain_refusal_is_words_and_a_full_site_says_when_to_retry() {
        let (s, h, b) = parts(HttpError::not_found()).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        assert_eq!(
            h,
            pairs(&[
                ("content-type", "text/plain; charset=utf-8"),
                ("cache-control", "no-store")
            ])
        );
        assert_eq!(b, "页面不存在");
        for e in [HttpError::streams_full(), HttpError::too_many_streams()] {
            let (_, h, _) = parts(e).await;
            assert!(h.contains(&("retry-after".into(), "30".into())), "{h:?}");
        }
        let (s, _, b) = parts(HttpError::plain(ApiError::new(ErrorCode::Busy, "x"))).await;
        assert_eq!(
            (s, b.as_str()),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "服务暂时不可用,请稍后刷新"
            )
        );
    }

    #[tokio::test]
    async fn a_resident_refusal_is_code_message_and_problems() {
        let (s, h, b) = parts(HttpError::field("手机号", "请填写11位手机号码")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            h,
            pairs(&[
                ("content-type", "application/json; charset=utf-8"),
                ("cache-control", "no-store")
            ])
        );
        assert_eq!(
            b,
            r#"{"code":"validation","message":"填写的内容有误,请按提示修改","problems":[{"field":"手机号","message":"请填写11位手机号码"}]}"#
        );
        let (s, h, b) = parts(HttpError::from(ApiError::new(ErrorCode::Busy, "full"))).await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
        assert!(h.contains(&("retry-after".into(), "2".into())), "{h:?}");
        assert_eq!(
            b,
            r#"{"code":"rate_limited","message":"操作太频繁,请稍后再试","problems":[]}"#
        );
        let (s, _, b) = parts(HttpError::bad_request().into_resident("internal")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert_eq!(
            b,
            r#"{"code":"internal","message":"请求参数无效","problems":[]}"#
        );
    }

    #[tokio::test]
    async fn a_peer_refusal_is_the_sync_error_the_laptop_reads_back() {
        let e = SyncError::new(SyncErrorCode::NotPaired, "who are you");
        let (s, h, b) = parts(HttpError::from(e.clone())).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(
            h,
            pairs(&[
                ("content-type", "application/json"),
                ("cache-control", "no-store")
            ])
        );
        assert_eq!(serde_json::from_str::<SyncError>(&b).unwrap(), e);
        assert_eq!(b, serde_json::to_string(&e).unwrap());
    }

    #[tokio::test]
    async fn a_panic_in_blocking_work_is_told_to_the_routes_own_clients() {
        let plain = blocking(|| -> Result<(), Plain> { panic!("boom") })
            .await
            .unwrap_err();
        assert!(matches!(plain.body, Body::Text(_)));
        let resident = blocking(|| -> Result<(), ApiError> { panic!("boom") })
            .await
            .unwrap_err();
        assert!(matches!(
            resident.body,
            Body::Resident {
                code: "internal",
                ..
            }
        ));
        let peer = blocking(|| -> Result<(), SyncError> { panic!("boom") })
            .await
            .unwrap_err();
        assert!(matches!(&peer.body, Body::Peer(e) if e.code == SyncErrorCode::Storage));
        assert_eq!(
            blocking(|| Ok::<_, ApiError>(7)).await.unwrap(),
            7,
            "a result passes through"
        );
    }
}
