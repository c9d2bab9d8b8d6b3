//! The resident site's comment routes, the only routes that take a body: submit a comment
//! (acknowledged `201` only after its group commit), like, report, appeal, and read the
//! approved comments and one's own. Bodies are JSON only (a form, multipart or `text/plain`
//! body is refused with `415`, which also closes CSRF), at most 16 KiB, unknown or repeated
//! fields refused. A phone is known by a cookie this site signed (see `phone`); a request
//! without a valid one gets a new cookie and the stricter limits of a phone nobody knows, and
//! cannot like until it comes back with the cookie. Nothing here can approve anything:
//! moderation happens only in the desktop app.

use crate::limits::{
    client_ip, is_https, Limiter, RateLimits, TargetLimiter, COOKIELESS_ACTIONS_DIVISOR,
    COOKIELESS_COMMENTS_DIVISOR,
};
use crate::phone::{CookieKey, Phone};
use crate::routes::blocking;
use crate::state::WebState;
use crate::verify::{send_sms, Codes, SmsGate, SmsRefusal};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
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

/// What the comment routes run on.
pub(crate) struct CommentSite {
    ingest: Ingest,
    comments: Limiter,
    actions: Limiter,
    /// Likes per (address, target).
    likes: TargetLimiter,
    pub(crate) trusted: Vec<IpAddr>,
    /// Signs and checks the phones' cookies.
    cookies: CookieKey,
    codes: Codes,
    sms_gate: SmsGate,
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
            comments: Limiter::new(limits.comments, COOKIELESS_COMMENTS_DIVISOR),
            actions: Limiter::new(limits.actions, COOKIELESS_ACTIONS_DIVISOR),
            likes: TargetLimiter::new(limits.likes_per_target_per_minute),
            trusted: limits.trusted_proxies.clone(),
            cookies: CookieKey::load_or_create(ctx)?,
            codes: Codes::default(),
            sms_gate: SmsGate::new(limits.sms),
            sms,
        })
    }

    /// Where a request comes from: its phone, its address, and whether it came over HTTPS.
    fn caller(
        &self,
        peer: Option<Extension<ConnectInfo<SocketAddr>>>,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Caller {
        let peer = peer_addr(peer);
        Caller {
            phone: self.cookies.phone(headers),
            ip: client_ip(peer, headers, &self.trusted),
            https: is_https(peer, uri, headers, &self.trusted),
        }
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
        Self::limited("rate_limited", "操作太频繁,请稍后再试", wait)
    }

    fn limited(code: &'static str, message: &'static str, wait: Duration) -> Self {
        Self {
            retry_after: Some(wait.as_secs().max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, code, message)
        }
    }

    fn sms(r: SmsRefusal) -> Self {
        match r {
            SmsRefusal::Address(w) => {
                Self::limited("sms_address_limited", "获取验证码太频繁,请10分钟后再试", w)
            }
            SmsRefusal::NumberToday(w) => Self::limited(
                "sms_number_daily_limit",
                "该手机号今天获取验证码的次数已达上限,请明天再试",
                w,
            ),
            SmsRefusal::SiteToday(w) => Self::limited(
                "sms_site_daily_limit",
                "今天的短信验证码已发完,请明天再试",
                w,
            ),
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

/// Who made a request: its phone, its address and whether it came over HTTPS.
struct Caller {
    phone: Phone,
    ip: IpAddr,
    https: bool,
}

impl Caller {
    /// `r` with the phone's new cookie, if it got one.
    fn answer(&self, r: Result<Response, Refusal>) -> Response {
        self.phone
            .set_cookie(r.unwrap_or_else(IntoResponse::into_response), self.https)
    }
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
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = state.comments.caller(peer, &uri, &headers);
    let r = submit(&state, &headers, &body, &caller).await;
    caller.answer(r)
}

async fn submit(
    state: &WebState,
    headers: &HeaderMap,
    body: &Bytes,
    caller: &Caller,
) -> Result<Response, Refusal> {
    let site = &state.comments;
    let form: CommentForm = json_body(headers, body)?;
    let (p, ip) = (&caller.phone, caller.ip);
    site.comments
        .check(p.limit_key(), ip)
        .map_err(Refusal::too_many)?;
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

/// A like. It needs a cookie this site signed on an earlier request (a phone gets one with
/// its first `/api/me`); likes of one target from one address are capped besides, since a
/// script could fetch a fresh cookie for every like.
pub(crate) async fn post_like(
    State(state): State<WebState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    resident_action(
        state,
        peer,
        uri,
        headers,
        body,
        |state, form: LikeForm, caller| async move {
            if form.target != EVENT_TARGET && !guanmo_domain::ids::is_id(&form.target) {
                return Err(Refusal::from(ApiError::new(ErrorCode::NotFound, "target")));
            }
            if !caller.known {
                return Err(Refusal::new(
                    StatusCode::FORBIDDEN,
                    "cookie_required",
                    "请刷新页面后再点赞",
                ));
            }
            state
                .comments
                .likes
                .check(caller.ip, &form.target)
                .map_err(Refusal::too_many)?;
            let ctx = state.ctx.clone();
            let key = caller.key;
            let out = off_thread(move || comments::like(&ctx, &form.target, &key)).await?;
            Ok(ok_json(StatusCode::OK, &out))
        },
    )
    .await
}

/// What an action is told of its caller.
struct Acting {
    /// The phone's key.
    key: String,
    /// The phone came with a cookie this site signed.
    known: bool,
    ip: IpAddr,
}

/// A resident's like, report or appeal: the JSON body parsed strictly, the action counted
/// against the per-phone (or, without a valid cookie, the stricter per-address) and
/// per-address limits, and the phone's cookie set on whatever `f` answers.
async fn resident_action<T, F, Fut>(
    state: WebState,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
    f: F,
) -> Response
where
    T: for<'de> Deserialize<'de>,
    F: FnOnce(WebState, T, Acting) -> Fut,
    Fut: std::future::Future<Output = Result<Response, Refusal>>,
{
    let caller = state.comments.caller(peer, &uri, &headers);
    let r = async {
        let form: T = json_body(&headers, &body)?;
        state
            .comments
            .actions
            .check(caller.phone.limit_key(), caller.ip)
            .map_err(Refusal::too_many)?;
        let acting = Acting {
            key: caller.phone.key.clone(),
            known: caller.phone.known(),
            ip: caller.ip,
        };
        f(state.clone(), form, acting).await
    }
    .await;
    caller.answer(r)
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
    uri: Uri,
    headers: HeaderMap,
    id: String,
    body: Bytes,
    act: Act,
) -> Response {
    resident_action(
        state,
        peer,
        uri,
        headers,
        body,
        move |state, form: ReasonForm, caller| async move {
            let key = caller.key;
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
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    reasoned(state, peer, uri, headers, id, body, Act::Report).await
}

pub(crate) async fn post_appeal(
    State(state): State<WebState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    uri: Uri,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    reasoned(state, peer, uri, headers, id, body, Act::Appeal).await
}

#[derive(Debug, Deserialize)]
pub(crate) struct TargetQuery {
    target: Option<String>,
}

/// Approved comments (of one target or all) and like counts; `open` false while the comment
/// area is closed. Revalidated by ETag on the comments' version and the feed's (a retracted
/// post takes its comments along).
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
    let (seq, feed_seq) = blocking(move || {
        Ok((
            comments::public_seq(&ctx)?,
            guanmo_api::feed::feed_seq(&ctx)?,
        ))
    })
    .await?;
    let etag = HeaderValue::from_str(&format!(
        "W/\"c{seq}-{feed_seq}-{}\"",
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

/// The phone's own comments (status, rejection reason, whether it may appeal) and likes. A
/// phone without a valid cookie gets one here (the page asks as it opens), so that its likes
/// count later.
pub(crate) async fn get_me(
    State(state): State<WebState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let caller = state.comments.caller(peer, &uri, &headers);
    let r = me(&state, &caller).await;
    caller.answer(r)
}

async fn me(state: &WebState, caller: &Caller) -> Result<Response, Refusal> {
    let sms = state.comments.provider(&state.ctx).await?.is_some();
    if !caller.phone.known() {
        return Ok(ok_json(
            StatusCode::OK,
            &serde_json::json!({ "comments": [], "liked": [], "sms": sms }),
        ));
    }
    let key = caller.phone.key.clone();
    let ctx = state.ctx.clone();
    let out = blocking(move || {
        Ok(serde_json::json!({
            "comments": comments::own_comments(&ctx, &key)?,
            "liked": comments::liked_by(&ctx, &key)?,
            "sms": sms,
        }))
    })
    .await
    .map_err(|e| Refusal::new(e.status, "internal", e.message))?;
    Ok(ok_json(StatusCode::OK, &out))
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

/// Texts a verification code to a number, when an SMS provider is configured. Each text costs
/// money, so it is held to its own caps (see `verify::SmsGate`), never to the likes' quota:
/// per address, per number (one a minute, five a day) and for the whole site per day.
pub(crate) async fn post_verify(
    State(state): State<WebState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let caller = state.comments.caller(peer, &uri, &headers);
    let r = verify(&state, &headers, &body, caller.ip).await;
    caller.answer(r)
}

async fn verify(
    state: &WebState,
    headers: &HeaderMap,
    body: &Bytes,
    ip: IpAddr,
) -> Result<Response, Refusal> {
    let form: VerifyForm = json_body(headers, body)?;
    let Some(number) = guanmo_domain::comments::normalize_mobile(&form.phone) else {
        return Err(Refusal::field("手机号", "请填写11位手机号码"));
    };
    let site = &state.comments;
    let Some(provider) = site.provider(&state.ctx).await? else {
        return Err(Refusal::new(
            StatusCode::CONFLICT,
            "verification_off",
            "未开启短信验证,无需验证码",
        ));
    };
    site.sms_gate.check_address(ip).map_err(Refusal::sms)?;
    site.sms_gate.reserve(&number).map_err(Refusal::sms)?;
    let code = match site.codes.issue(&number) {
        Ok(code) => code,
        Err(wait) => {
            site.sms_gate.release(&number);
            return Err(Refusal::limited(
                "sms_too_soon",
                "验证码已发送,请1分钟后再试",
                wait,
            ));
        }
    };
    let n = number.clone();
    let sent = off_thread(move || Ok(send_sms(&provider, &n, &code))).await?;
    if let Err(e) = sent {
        site.codes.withdraw(&number);
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
}
