//! The resident site's comment routes, the only routes that take a body: submit a comment
//! (acknowledged `201` only after its group commit), like, report, appeal, and read the
//! approved comments and one's own. Bodies are JSON only (a form, multipart or `text/plain`
//! body is refused with `415`, which also closes CSRF), at most 16 KiB, unknown or repeated
//! fields refused. A phone is known by a cookie this site signed (see `phone`); a request
//! without a valid one gets a new cookie and the stricter limits of a phone nobody knows, and
//! cannot like until it comes back with the cookie. Nothing here can approve anything:
//! moderation happens only in the desktop app.

use crate::cache::etag_matches;
use crate::error::{blocking, HttpError, Plain};
use crate::limits::{client_ip, is_https};
use crate::phone::Phone;
use crate::state::{CommentSite, WebState};
use crate::verify::{send_sms, SmsRefusal};
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use guanmo_api::comments::{self, Submission};
use guanmo_api::{ApiError, ErrorCode};
use guanmo_domain::comments::{CommentInput, CommentKind, EVENT_TARGET};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};

/// Where a request comes from: its phone, its address, and whether it came over HTTPS.
fn caller_of(
    site: &CommentSite,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    uri: &Uri,
    headers: &HeaderMap,
) -> Caller {
    let peer = peer_addr(peer);
    Caller {
        phone: site.cookies.phone(headers),
        ip: client_ip(peer, headers, &site.trusted),
        https: is_https(peer, uri, headers, &site.trusted),
    }
}

/// An SMS cap's refusal, with when to try again.
fn sms_refused(r: SmsRefusal) -> HttpError {
    match r {
        SmsRefusal::Address(w) => {
            HttpError::limited("sms_address_limited", "获取验证码太频繁,请10分钟后再试", w)
        }
        SmsRefusal::NumberToday(w) => HttpError::limited(
            "sms_number_daily_limit",
            "该手机号今天获取验证码的次数已达上限,请明天再试",
            w,
        ),
        SmsRefusal::SiteToday(w) => HttpError::limited(
            "sms_site_daily_limit",
            "今天的短信验证码已发完,请明天再试",
            w,
        ),
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
    fn answer(&self, r: Result<Response, HttpError>) -> Response {
        self.phone
            .set_cookie(r.unwrap_or_else(IntoResponse::into_response), self.https)
    }
}

/// Refuses anything but a JSON body (`415`), then parses it strictly.
fn json_body<T: for<'de> Deserialize<'de>>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, HttpError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(HttpError::resident(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "只接受 JSON 格式的提交",
        ));
    }
    serde_json::from_slice(body).map_err(|e| HttpError::bad_json(&e))
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
        Err(_) => HttpError::from(ApiError::new(ErrorCode::Internal, "encoding")).into_response(),
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
    let caller = caller_of(&state.comments, peer, &uri, &headers);
    let r = submit(&state, &headers, &body, &caller).await;
    caller.answer(r)
}

async fn submit(
    state: &WebState,
    headers: &HeaderMap,
    body: &Bytes,
    caller: &Caller,
) -> Result<Response, HttpError> {
    let site = &state.comments;
    let form: CommentForm = json_body(headers, body)?;
    let (p, ip) = (&caller.phone, caller.ip);
    site.comments
        .check(p.limit_key(), ip)
        .map_err(HttpError::too_many)?;
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
                return Err(HttpError::field(
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
        .map_err(|_| HttpError::from(ApiError::new(ErrorCode::Internal, "ingest dropped")))??;
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
                return Err(HttpError::from(ApiError::new(
                    ErrorCode::NotFound,
                    "target",
                )));
            }
            if !caller.known {
                return Err(HttpError::resident(
                    StatusCode::FORBIDDEN,
                    "cookie_required",
                    "请刷新页面后再点赞",
                ));
            }
            state
                .comments
                .likes
                .check(caller.ip, &form.target)
                .map_err(HttpError::too_many)?;
            let ctx = state.ctx.clone();
            let key = caller.key;
            let out = blocking(move || comments::like(&ctx, &form.target, &key)).await?;
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
    Fut: std::future::Future<Output = Result<Response, HttpError>>,
{
    let caller = caller_of(&state.comments, peer, &uri, &headers);
    let r = async {
        let form: T = json_body(&headers, &body)?;
        state
            .comments
            .actions
            .check(caller.phone.limit_key(), caller.ip)
            .map_err(HttpError::too_many)?;
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
                return Err(HttpError::from(ApiError::new(ErrorCode::NotFound, "id")));
            }
            let ctx = state.ctx.clone();
            blocking(move || match act {
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
) -> Result<Response, HttpError> {
    let target = match q.target {
        None => None,
        Some(t) if t == EVENT_TARGET || guanmo_domain::ids::is_id(&t) => Some(t),
        Some(_) => return Err(HttpError::bad_request()),
    };
    let ctx = state.ctx.clone();
    let (seq, feed_seq) = blocking(move || {
        Ok::<_, Plain>((
            comments::public_seq(&ctx)?,
            guanmo_api::feed::feed_seq(&ctx)?,
        ))
    })
    .await?;
    let etag = HeaderValue::from_str(&format!(
        "W/\"c{seq}-{feed_seq}-{}\"",
        target.as_deref().unwrap_or("all")
    ))
    .map_err(|_| HttpError::internal())?;
    let matches = etag_matches(&headers, &etag);
    let cache = [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (header::ETAG, etag),
    ];
    if matches {
        return Ok((StatusCode::NOT_MODIFIED, cache).into_response());
    }
    let ctx = state.ctx.clone();
    let list =
        blocking(move || comments::public_comments(&ctx, target.as_deref()).map_err(Plain)).await?;
    let body = serde_json::to_vec(&list).map_err(|_| HttpError::internal())?;
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
    let caller = caller_of(&state.comments, peer, &uri, &headers);
    let r = me(&state, &caller).await;
    caller.answer(r)
}

async fn me(state: &WebState, caller: &Caller) -> Result<Response, HttpError> {
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
        Ok::<_, Plain>(serde_json::json!({
            "comments": comments::own_comments(&ctx, &key)?,
            "liked": comments::liked_by(&ctx, &key)?,
            "sms": sms,
        }))
    })
    .await
    .map_err(|e| e.into_resident("internal"))?;
    Ok(ok_json(StatusCode::OK, &out))
}

#[derive(Debug, Serialize)]
struct TownshipName {
    id: String,
    name: String,
}

/// The townships on the route (id and name only), for the comment form's 涉及乡镇.
pub(crate) async fn get_townships(State(state): State<WebState>) -> Result<Response, HttpError> {
    let ctx = state.ctx.clone();
    let list = blocking(move || guanmo_api::roster::list_townships(&ctx).map_err(Plain)).await?;
    let mut enabled: Vec<_> = list.into_iter().filter(|t| t.enabled).collect();
    enabled.sort_by_key(|t| t.position);
    let names: Vec<TownshipName> = enabled
        .into_iter()
        .map(|t| TownshipName {
            id: t.id,
            name: t.name,
        })
        .collect();
    let body = serde_json::to_vec(&names).map_err(|_| HttpError::internal())?;
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
    let caller = caller_of(&state.comments, peer, &uri, &headers);
    let r = verify(&state, &headers, &body, caller.ip).await;
    caller.answer(r)
}

async fn verify(
    state: &WebState,
    headers: &HeaderMap,
    body: &Bytes,
    ip: IpAddr,
) -> Result<Response, HttpError> {
    let form: VerifyForm = json_body(headers, body)?;
    let Some(number) = guanmo_domain::comments::normalize_mobile(&form.phone) else {
        return Err(HttpError::field("手机号", "请填写11位手机号码"));
    };
    let site = &state.comments;
    let Some(provider) = site.provider(&state.ctx).await? else {
        return Err(HttpError::resident(
            StatusCode::CONFLICT,
            "verification_off",
            "未开启短信验证,无需验证码",
        ));
    };
    site.sms_gate.check_address(ip).map_err(sms_refused)?;
    site.sms_gate.reserve(&number).map_err(sms_refused)?;
    let code = match site.codes.issue(&number) {
        Ok(code) => code,
        Err(wait) => {
            site.sms_gate.release(&number);
            return Err(HttpError::limited(
                "sms_too_soon",
                "验证码已发送,请1分钟后再试",
                wait,
            ));
        }
    };
    let n = number.clone();
    let sent = blocking(move || Ok::<_, ApiError>(send_sms(&provider, &n, &code))).await?;
    if let Err(e) = sent {
        site.codes.withdraw(&number);
        tracing::warn!(error = %e, "sms provider failed");
        return Err(HttpError::resident(
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
