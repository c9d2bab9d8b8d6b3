//! The resident site's comment routes, the only routes that take a body: submit a comment
//! (acknowledged `201` only after its group commit), like, report, appeal, and read the
//! approved comments and one's own. Bodies are JSON only (a form, multipart or `text/plain`
//! body is refused with `415`, which also closes CSRF), at most 16 KiB, unknown or repeated
//! fields refused. A phone is known by a random cookie that starts with its issue time; what the
//! store keeps is a time-ordered one-way key made from it (see `client_key`). Nothing here can
//! approve anything: moderation happens only in the desktop app.

use crate::limits::{client_ip, Limiter, RateLimits};
use crate::routes::blocking;
use crate::state::WebState;
use crate::verify::{send_sms, Codes};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use guanmo_api::comments::SmsProvider;
use guanmo_api::comments::{self, Ingest, Submission};
use guanmo_api::{ApiError, ErrorCode};
use guanmo_domain::comments::{CommentInput, CommentKind, EVENT_TARGET};
use guanmo_store::comments::SETTINGS_ENTITY;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Name of the phone's cookie.
pub(crate) const COOKIE: &str = "gm_id";
const COOKIE_MAX_AGE: u32 = 180 * 24 * 3600;

/// What the comment routes run on.
pub(crate) struct CommentSite {
    ingest: Ingest,
    comments: Limiter,
    actions: Limiter,
    trusted: Vec<IpAddr>,
    codes: Codes,
    /// The SMS provider as last read; cleared by a commit that changes comment settings.
    sms: Arc<RwLock<Option<Option<SmsProvider>>>>,
}

impl std::fmt::Debug for CommentSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommentSite").finish_non_exhaustive()
    }
}

impl CommentSite {
    pub(crate) fn new(ctx: &guanmo_api::Ctx, limits: &RateLimits) -> Result<Self, ApiError> {
        let sms: Arc<RwLock<Option<Option<SmsProvider>>>> = Arc::default();
        let cache = Arc::downgrade(&sms);
        ctx.store()
            .on_commit(Arc::new(move |c: &guanmo_store::Committed| {
                if c.entities.iter().any(|e| e == SETTINGS_ENTITY) {
                    if let Some(cache) = cache.upgrade() {
                        *cache.write().unwrap_or_else(|e| e.into_inner()) = None;
                    }
                }
            }));
        Ok(CommentSite {
            ingest: Ingest::start(ctx.clone(), limits.ingest_queue)?,
            comments: Limiter::new(limits.comments),
            actions: Limiter::new(limits.actions),
            trusted: limits.trusted_proxies.clone(),
            codes: Codes::default(),
            sms,
        })
    }

    /// The SMS provider, from memory unless the settings changed (then read off the async
    /// workers).
    async fn provider(&self, ctx: &guanmo_api::Ctx) -> Result<Option<SmsProvider>, Refusal> {
        if let Some(p) = self.sms.read().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(p);
        }
        let ctx = ctx.clone();
        let p = off_thread(move || comments::sms_provider(&ctx)).await?;
        *self.sms.write().unwrap_or_else(|e| e.into_inner()) = Some(p.clone());
        Ok(p)
    }
}

/// A JSON error: status, stable code, Chinese message and, for refused input, the fields.
#[derive(Debug)]
pub(crate) struct Refusal {
    status: StatusCode,
    code: &'static str,
    message: String,
    problems: Vec<FieldProblem>,
    retry_after: Option<u64>,
}

#[derive(Debug, Serialize)]
struct FieldProblem {
    field: String,
    message: String,
}

#[derive(Serialize)]
struct RefusalBody<'a> {
    code: &'a str,
    message: &'a str,
    problems: &'a [FieldProblem],
}

impl Refusal {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            problems: Vec::new(),
            retry_after: None,
        }
    }

    fn too_many(wait: Duration) -> Self {
        Self {
            retry_after: Some(wait.as_secs().max(1)),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "操作太频繁,请稍后再试",
            )
        }
    }

    fn field(field: &str, message: &str) -> Self {
        Self {
            problems: vec![FieldProblem {
                field: field.to_string(),
                message: message.to_string(),
            }],
            ..Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "填写的内容有误,请按提示修改",
            )
        }
    }

    fn bad_json(e: &serde_json::Error) -> Self {
        tracing::debug!(error = %e, "comment body refused");
        Self::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "提交的内容格式不正确,请刷新页面后重试",
        )
    }
}

impl From<ApiError> for Refusal {
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
            ErrorCode::Busy => {
                return Self::too_many(Duration::from_secs(2));
            }
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
            problems: e
                .problems
                .into_iter()
                .map(|p| FieldProblem {
                    field: p.location,
                    message: p.message,
                })
                .collect(),
            ..Self::new(status, code, message)
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&RefusalBody {
            code: self.code,
            message: &self.message,
            problems: &self.problems,
        })
        .unwrap_or_default();
        let mut r = (
            self.status,
            [
                (header::CONTENT_TYPE, "application/json; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response();
        if let Some(s) = self.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        r
    }
}

/// The peer address `serve` recorded for the connection (absent in router tests).
fn peer_addr(peer: Option<Extension<ConnectInfo<SocketAddr>>>) -> Option<SocketAddr> {
    peer.map(|Extension(ConnectInfo(a))| a)
}

/// The phone's cookie value, if it has a well-formed one.
fn cookie_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
        .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Who the phone is: its cookie (a new one when it has none) and the key the store keeps.
struct Phone {
    key: String,
    new_cookie: Option<String>,
}

fn phone(headers: &HeaderMap) -> Phone {
    let (cookie, new_cookie) = match cookie_of(headers) {
        Some(c) => (c, None),
        None => {
            let c = new_cookie();
            (c.clone(), Some(c))
        }
    };
    Phone {
        key: client_key(&cookie),
        new_cookie,
    }
}

/// A new phone's cookie: its issue time (ms since 1970, 12 hex digits) then 80 random bits.
fn new_cookie() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{:012x}{}", ms & 0xFFFF_FFFF_FFFF, &random[..20])
}

/// The key the store keeps for a phone: the cookie's first 12 digits (its issue time, for
/// cookies this site issues) then 20 of its BLAKE3 hash. Time-ordered, so the per-phone index
/// grows at its end instead of at random pages; one-way, so the database never holds a cookie
/// that could be replayed.
fn client_key(cookie: &str) -> String {
    let hash = blake3::hash(cookie.as_bytes()).to_hex();
    format!("{}{}", &cookie[..12.min(cookie.len())], &hash[..20])
}

fn with_cookie(mut r: Response, p: &Phone) -> Response {
    if let Some(c) = &p.new_cookie {
        let v = format!("{COOKIE}={c}; Path=/; Max-Age={COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax");
        if let Ok(v) = HeaderValue::from_str(&v) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

/// Refuses anything but a JSON body (`415`), then parses it strictly.
fn json_body<T: for<'de> Deserialize<'de>>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, Refusal> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "只接受 JSON 格式的提交",
        ));
    }
    serde_json::from_slice(body).map_err(|e| Refusal::bad_json(&e))
}

fn ok_json<T: Serialize>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (
            status,
            [
                (header::CONTENT_TYPE, "application/json; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response(),
        Err(_) => Refusal::from(ApiError::new(ErrorCode::Internal, "encoding")).into_response(),
    }
}

/// The comment form as posted. `website` is a honeypot: people never see it, bots fill it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommentForm {
    target: String,
    nickname: String,
    kind: CommentKind,
    text: String,
    #[serde(default)]
    township_id: Option<String>,
    phone: String,
    /// The SMS code, when verification is on.
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    website: Option<String>,
}

#[derive(Debug, Serialize)]
struct Submitted {
    id: String,
    duplicate: bool,
    message: &'static str,
}

const SUBMITTED: &str = "已提交,审核通过后显示";

pub(crate) async fn post_comment(
    State(state): State<WebState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = phone(&headers);
    let r = submit(&state, peer_addr(peer), &headers, &body, &p).await;
    with_cookie(r.unwrap_or_else(IntoResponse::into_response), &p)
}

async fn submit(
    state: &WebState,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    body: &Bytes,
    p: &Phone,
) -> Result<Response, Refusal> {
    let site = &state.comments;
    let form: CommentForm = json_body(headers, body)?;
    let ip = client_ip(peer, headers, &site.trusted);
    site.comments.check(&p.key, ip).map_err(Refusal::too_many)?;
    if form.website.is_some_and(|w| !w.is_empty()) {
        // A bot filled the hidden field: it is told what a person is told, and nothing is
        // stored.
        tracing::info!(%ip, "comment honeypot filled");
        return Ok(ok_json(
            StatusCode::CREATED,
            &Submitted {
                id: guanmo_domain::ids::new_id(),
                duplicate: false,
                message: SUBMITTED,
            },
        ));
    }
    let phone_verified = match site.provider(&state.ctx).await? {
        None => false,
        Some(_) => {
            let number = guanmo_domain::comments::normalize_mobile(&form.phone).unwrap_or_default();
            let code = form.code.as_deref().unwrap_or("").trim();
            if code.is_empty() || !site.codes.check(&number, code) {
                return Err(Refusal::field(
                    "验证码",
                    if code.is_empty() {
                        "请填写短信验证码"
                    } else {
                        "验证码不正确或已过期,请重新获取"
                    },
                ));
            }
            true
        }
    };
    let submission = Submission {
        input: CommentInput {
            target: form.target,
            nickname: form.nickname,
            kind: form.kind,
            text: form.text,
            township_id: form.township_id,
            phone: form.phone,
        },
        client_key: p.key.clone(),
        peer: ip.to_string(),
        phone_verified,
    };
    let (tx, rx) = tokio::sync::oneshot::channel();
    site.ingest.submit(
        submission,
        Box::new(move |r| {
            let _ = tx.send(r);
        }),
    );
    let receipt = rx
        .await
        .map_err(|_| Refusal::from(ApiError::new(ErrorCode::Internal, "ingest dropped")))??;
    Ok(ok_json(
        if receipt.duplicate {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        },
        &Submitted {
            id: receipt.id,
            duplicate: receipt.duplicate,
            message: SUBMITTED,
        },
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LikeForm {
    target: String,
}

pub(crate) async fn post_like(
    State(state): State<WebState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    resident_action(
        state,
        peer,
        headers,
        body,
        |state, form: LikeForm, key| async move {
            if form.target != EVENT_TARGET && !guanmo_domain::ids::is_id(&form.target) {
                return Err(Refusal::from(ApiError::new(ErrorCode::NotFound, "target")));
            }
            let ctx = state.ctx.clone();
            let out = off_thread(move || comments::like(&ctx, &form.target, &key)).await?;
            Ok(ok_json(StatusCode::OK, &out))
        },
    )
    .await
}

/// A resident's like, report, appeal or code request: the JSON body parsed strictly, the
/// action counted against the per-phone and per-address limits, and the phone's cookie set on
/// whatever `f` answers.
async fn resident_action<T, F, Fut>(
    state: WebState,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
    f: F,
) -> Response
where
    T: for<'de> Deserialize<'de>,
    F: FnOnce(WebState, T, String) -> Fut,
    Fut: std::future::Future<Output = Result<Response, Refusal>>,
{
    let p = phone(&headers);
    let r = async {
        let form: T = json_body(&headers, &body)?;
        let ip = client_ip(peer_addr(peer), &headers, &state.comments.trusted);
        state
            .comments
            .actions
            .check(&p.key, ip)
            .map_err(Refusal::too_many)?;
        f(state.clone(), form, p.key.clone()).await
    }
    .await;
    with_cookie(r.unwrap_or_else(IntoResponse::into_response), &p)
}

/// Runs blocking work (the store, an SMS call) off the async workers.
async fn off_thread<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, Refusal> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| Refusal::from(ApiError::new(ErrorCode::Internal, "join")))?
        .map_err(Refusal::from)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReasonForm {
    reason: String,
}

#[derive(Debug, Clone, Copy)]
enum Act {
    Report,
    Appeal,
}

async fn reasoned(
    state: WebState,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    id: String,
    body: Bytes,
    act: Act,
) -> Response {
    resident_action(
        state,
        peer,
        headers,
        body,
        move |state, form: ReasonForm, key| async move {
            if !guanmo_domain::ids::is_id(&id) {
                return Err(Refusal::from(ApiError::new(ErrorCode::NotFound, "id")));
            }
            let ctx = state.ctx.clone();
            off_thread(move || match act {
                Act::Report => comments::report(&ctx, &id, &key, &form.reason).map(|_| ()),
                Act::Appeal => comments::appeal(&ctx, &id, &key, &form.reason),
            })
            .await?;
            let message = match act {
                Act::Report => "已收到举报,我们会尽快核查",
                Act::Appeal => "已提交申诉,将重新审核",
            };
            Ok(ok_json(
                StatusCode::ACCEPTED,
                &serde_json::json!({ "message": message }),
            ))
        },
    )
    .await
}

pub(crate) async fn post_report(
    State(state): State<WebState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    reasoned(state, peer, headers, id, body, Act::Report).await
}

pub(crate) async fn post_appeal(
    State(state): State<WebState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    reasoned(state, peer, headers, id, body, Act::Appeal).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct TargetQuery {
    target: Option<String>,
}

/// Approved comments (of one target or all) and like counts; `open` false while the comment
/// area is closed. Revalidated by ETag on the comments' version.
pub(crate) async fn get_comments(
    State(state): State<WebState>,
    Query(q): Query<TargetQuery>,
    headers: HeaderMap,
) -> Result<Response, crate::error::HttpError> {
    let target = match q.target {
        None => None,
        Some(t) if t == EVENT_TARGET || guanmo_domain::ids::is_id(&t) => Some(t),
        Some(_) => return Err(crate::error::HttpError::bad_request()),
    };
    let ctx = state.ctx.clone();
    let seq = blocking(move || comments::public_seq(&ctx)).await?;
    let etag = HeaderValue::from_str(&format!(
        "W/\"c{seq}-{}\"",
        target.as_deref().unwrap_or("all")
    ))
    .map_err(|_| crate::error::HttpError::internal())?;
    let matches = crate::routes::etag_matches(&headers, &etag);
    let cache = [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::ETAG, etag),
    ];
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    let ctx = state.ctx.clone();
    let list = blocking(move || comments::public_comments(&ctx, target.as_deref())).await?;
    let body = serde_json::to_vec(&list).map_err(|_| crate::error::HttpError::internal())?;
    Ok((
        cache,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response())
}

/// The phone's own comments (status, rejection reason, whether it may appeal) and likes.
pub(crate) async fn get_me(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let sms = match state.comments.provider(&state.ctx).await {
        Ok(p) => p.is_some(),
        Err(e) => return e.into_response(),
    };
    let Some(cookie) = cookie_of(&headers) else {
        return ok_json(
            StatusCode::OK,
            &serde_json::json!({ "comments": [], "liked": [], "sms": sms }),
        );
    };
    let key = client_key(&cookie);
    let ctx = state.ctx.clone();
    let out = blocking(move || {
        Ok(serde_json::json!({
            "comments": comments::own_comments(&ctx, &key)?,
            "liked": comments::liked_by(&ctx, &key)?,
            "sms": sms,
        }))
    })
    .await;
    match out {
        Ok(v) => ok_json(StatusCode::OK, &v),
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Serialize)]
struct TownshipName {
    id: String,
    name: String,
}

/// The townships on the route (id and name only), for the comment form's 涉及乡镇.
pub(crate) async fn get_townships(
    State(state): State<WebState>,
) -> Result<Response, crate::error::HttpError> {
    let ctx = state.ctx.clone();
    let list = blocking(move || guanmo_api::roster::list_townships(&ctx)).await?;
    let mut enabled: Vec<_> = list.into_iter().filter(|t| t.enabled).collect();
    enabled.sort_by_key(|t| t.position);
    let names: Vec<TownshipName> = enabled
        .into_iter()
        .map(|t| TownshipName {
            id: t.id,
            name: t.name,
        })
        .collect();
    let body = serde_json::to_vec(&names).map_err(|_| crate::error::HttpError::internal())?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=60"),
        ],
        body,
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VerifyForm {
    phone: String,
}

/// Texts a verification code to a number, when an SMS provider is configured.
pub(crate) async fn post_verify(
    State(state): State<WebState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    resident_action(
        state,
        peer,
        headers,
        body,
        |state, form: VerifyForm, _| async move {
            let Some(number) = guanmo_domain::comments::normalize_mobile(&form.phone) else {
                return Err(Refusal::field("手机号", "请填写11位手机号码"));
            };
            let Some(provider) = state.comments.provider(&state.ctx).await? else {
                return Err(Refusal::new(
                    StatusCode::CONFLICT,
                    "verification_off",
                    "未开启短信验证,无需验证码",
                ));
            };
            let code = state
                .comments
                .codes
                .issue(&number)
                .map_err(Refusal::too_many)?;
            let n = number.clone();
            let sent = off_thread(move || Ok(send_sms(&provider, &n, &code))).await?;
            if let Err(e) = sent {
                state.comments.codes.withdraw(&number);
                tracing::warn!(error = %e, "sms provider failed");
                return Err(Refusal::new(
                    StatusCode::BAD_GATEWAY,
                    "sms_failed",
                    "短信发送失败,请稍后再试",
                ));
            }
            Ok(ok_json(
                StatusCode::ACCEPTED,
                &serde_json::json!({ "message": "验证码已发送,10分钟内有效" }),
            ))
        },
    )
    .await
}
