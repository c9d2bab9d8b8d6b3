//! The comment routes from the outside: 先审后发 (nothing public before approval), hostile
//! bodies (script, overrides, zero-width tricks, invalid UTF-8, lone surrogates, duplicate
//! keys, mass assignment, oversize and lying bodies, forms), rate limits per phone and per
//! address, mutes, the closed area, reports, appeals and the honeypot; and the findings of the
//! security review (issue 14): SMS cost caps, signed cookies (invented ones count as none),
//! likes that need a cookie and are capped per address and target, IPv6 /64 keys, mutes that
//! hold the phone key and may hide comments, comments of retracted posts, the `Secure` cookie
//! and HSTS behind a trusted HTTPS proxy.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, Response, StatusCode};
use axum::Router;
use chrono::{DateTime, Utc};
use guanmo_api::comments::{self as api, Decision, QueueKind};
use guanmo_api::Ctx;
use guanmo_domain::FixedClock;
use guanmo_web::{public_router, MediaSource, WebConfig, WebState};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tower::ServiceExt;

struct NoMedia;

impl MediaSource for NoMedia {
    fn derived_path(&self, _: &str, _: u32) -> Option<PathBuf> {
        None
    }
}

struct Site {
    _dir: tempfile::TempDir,
    ctx: Ctx,
    router: Router,
}

fn site_with(config: WebConfig) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(
        DateTime::parse_from_rfc3339("2024-12-04T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
    ));
    let ctx = Ctx::open(dir.path(), clock).unwrap();
    // A known cookie key, so the tests can sign phones' cookies the way the site does.
    ctx.store()
        .write_without_ops(ctx.now(), "test", |tx| {
            guanmo_store::meta::set(tx, "site_cookie_key", &hex(&COOKIE_KEY))
        })
        .unwrap();
    let state = WebState::new(ctx.clone(), Arc::new(NoMedia), config).unwrap();
    Site {
        _dir: dir,
        ctx,
        router: public_router(state),
    }
}

fn site() -> Site {
    site_with(WebConfig::default())
}

fn comment(text: &str) -> Value {
    json!({
        "target": "event",
        "nickname": "宜阳居民",
        "kind": "praise",
        "text": text,
        "phone": "13812341234",
    })
}

const COOKIE_KEY: [u8; 32] = [0x42; 32];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The signed cookie of phone `n`, as the site would have issued it.
fn signed(n: u32) -> String {
    let id = format!("{:012x}{n:020x}", 0x0193_8a00_0000u64);
    let tag = blake3::keyed_hash(&COOKIE_KEY, id.as_bytes()).to_hex();
    format!("{id}{}", &tag[..32])
}

fn cookie(n: u32) -> String {
    format!("gm_id={}", signed(n))
}

fn post(
    uri: &str,
    content_type: &str,
    body: impl Into<Body>,
    phone: u32,
    peer: &str,
) -> Request<Body> {
    let mut r = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::HOST, "localhost:8080")
        .header(header::CONTENT_TYPE, content_type)
        .header(header::COOKIE, cookie(phone))
        .body(body.into())
        .unwrap();
    r.extensions_mut()
        .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    r
}

async fn send(router: &Router, req: Request<Body>) -> Response<Body> {
    router.clone().oneshot(req).await.unwrap()
}

async fn post_json(router: &Router, uri: &str, v: &Value, phone: u32) -> (StatusCode, Value) {
    let r = send(
        router,
        post(
            uri,
            "application/json",
            v.to_string(),
            phone,
            "10.0.0.2:40000",
        ),
    )
    .await;
    let status = r.status();
    (status, json_of(r).await)
}

/// A GET as a phone sends it (Host `localhost`), with extra headers.
async fn get(
    router: &Router,
    uri: &str,
    headers: &[(header::HeaderName, header::HeaderValue)],
) -> Response<Body> {
    let mut req = Request::builder()
        .uri(uri)
        .header(header::HOST, "localhost")
        .body(Body::empty())
        .unwrap();
    for (k, v) in headers {
        req.headers_mut().insert(k, v.clone());
    }
    send(router, req).await
}

async fn json_of(r: Response<Body>) -> Value {
    let bytes = r.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

async fn public(router: &Router) -> Value {
    let r = get(router, "/api/comments", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    json_of(r).await
}

fn shown_texts(v: &Value) -> Vec<String> {
    v["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_comment_is_acknowledged_after_commit_and_shown_only_after_approval() {
    let s = site();
    let (status, v) = post_json(&s.router, "/api/comments", &comment("为美丽宜阳点赞!"), 1).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(v["message"], "已提交,审核通过后显示");
    let id = v["id"].as_str().unwrap().to_string();
    assert!(
        shown_texts(&public(&s.router).await).is_empty(),
        "pending is never public"
    );
    let queue = api::queue(&s.ctx, QueueKind::Pending).unwrap();
    assert_eq!(queue[0].comment.id, id, "committed before the 201");
    api::decide(&s.ctx, &[id], Decision::Approve).unwrap();
    assert_eq!(
        shown_texts(&public(&s.router).await),
        vec!["为美丽宜阳点赞!"]
    );
}

#[tokio::test]
async fn a_new_phone_gets_a_cookie_and_its_own_comments_list() {
    let s = site();
    let mut req = post(
        "/api/comments",
        "application/json",
        comment("第一条评论").to_string(),
        0,
        "10.0.0.3:1",
    );
    req.headers_mut().remove(header::COOKIE);
    let r = send(&s.router, req).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let set = r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        set.starts_with("gm_id=") && set.contains("HttpOnly"),
        "{set}"
    );
    let c = set.split(';').next().unwrap().to_string();
    let me = get(
        &s.router,
        "/api/me",
        &[(header::COOKIE, c.parse().unwrap())],
    )
    .await;
    let v = json_of(me).await;
    assert_eq!(v["comments"][0]["status"], "pending");
}

#[tokio::test]
async fn script_and_tricks_are_kept_as_inert_text_and_words_still_hit() {
    let s = site();
    api::add_words(&s.ctx, "赌博\nspam").unwrap();
    let mut c = comment("<script>alert(1)</script><img src=x onerror=alert(2)><svg onload=alert(3)> <a href=\"javascript:alert(4)\">x</a> 赌\u{200B}博 ＳＰＡＭ");
    c["nickname"] = json!("\u{202E}<b>昵称</b>");
    let (status, v) = post_json(&s.router, "/api/comments", &c, 2).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let q = api::queue(&s.ctx, QueueKind::Pending).unwrap();
    let stored = &q[0].comment;
    assert_eq!(
        stored.nickname, "<b>昵称</b>",
        "the override is gone, the markup is text"
    );
    assert_eq!(stored.flagged_words, vec!["赌博", "spam"]);
    api::decide(&s.ctx, std::slice::from_ref(&stored.id), Decision::Approve).unwrap();
    let r = get(&s.router, "/api/comments", &[]).await;
    assert!(r.headers()[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let v = json_of(r).await;
    assert!(v["comments"][0]["text"]
        .as_str()
        .unwrap()
        .starts_with("<script>"));
    // The page itself never carries comment text: the script builds it with textContent.
    let page = get(&s.router, "/", &[]).await;
    let html = String::from_utf8(
        page.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(!html.contains("alert("));
}

#[tokio::test]
async fn malformed_bodies_are_refused_and_nothing_is_stored() {
    let s = site();
    let good = comment("正常的评论").to_string();
    let dup = good.replacen("\"nickname\"", "\"nickname\":\"甲\",\"nickname\"", 1);
    let approved = {
        let mut v = comment("想直接通过");
        v["approved"] = json!(true);
        v.to_string()
    };
    let status_field = {
        let mut v = comment("想直接通过");
        v["status"] = json!("approved");
        v.to_string()
    };
    let lone = good.replace("正常的评论", "\\ud800正常");
    let mut invalid_utf8 = good.clone().into_bytes();
    let at = invalid_utf8.len() - 10;
    invalid_utf8[at] = 0xFF;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("duplicate keys", dup.into_bytes()),
        ("approved: true", approved.into_bytes()),
        ("status field", status_field.into_bytes()),
        ("lone surrogate", lone.into_bytes()),
        ("invalid utf-8", invalid_utf8),
        ("not json", b"{nickname=1".to_vec()),
        ("empty", Vec::new()),
    ];
    for (what, body) in cases {
        let r = send(
            &s.router,
            post("/api/comments", "application/json", body, 3, "10.0.0.4:1"),
        )
        .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{what}");
        assert_eq!(json_of(r).await["code"], "bad_request", "{what}");
    }
    for ct in [
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data; boundary=x",
    ] {
        let r = send(
            &s.router,
            post("/api/comments", ct, good.clone(), 4, "10.0.0.4:1"),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE, "{ct}");
    }
    assert!(api::queue(&s.ctx, QueueKind::Pending).unwrap().is_empty());
}

#[tokio::test]
async fn oversize_and_lying_bodies_are_refused() {
    let s = site();
    let mut big = comment("大").to_string().into_bytes();
    big.resize(16 * 1024 + 1, b' ');
    let r = send(
        &s.router,
        post(
            "/api/comments",
            "application/json",
            big.clone(),
            5,
            "10.0.0.5:1",
        ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Claims to be small, is not.
    let mut lying = post("/api/comments", "application/json", big, 5, "10.0.0.5:1");
    lying
        .headers_mut()
        .insert(header::CONTENT_LENGTH, "100".parse().unwrap());
    let r = send(&s.router, lying).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Claims to be huge.
    let mut huge = post(
        "/api/comments",
        "application/json",
        comment("小").to_string(),
        5,
        "10.0.0.5:1",
    );
    huge.headers_mut()
        .insert(header::CONTENT_LENGTH, "999999".parse().unwrap());
    let r = send(&s.router, huge).await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(api::queue(&s.ctx, QueueKind::Pending).unwrap().is_empty());
}

#[tokio::test]
async fn limits_count_characters_not_bytes() {
    let s = site();
    let (status, v) = post_json(&s.router, "/api/comments", &comment(&"字".repeat(500)), 6).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let (status, v) = post_json(&s.router, "/api/comments", &comment(&"字".repeat(501)), 7).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["problems"][0]["field"], "内容");
    let mut c = comment("好的好的");
    c["nickname"] = json!("名".repeat(21));
    let (status, _) = post_json(&s.router, "/api/comments", &c, 8).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn one_phone_flooding_is_held_back_with_retry_after() {
    let s = site();
    let mut created = 0;
    let mut limited = 0;
    for i in 0..100 {
        let (status, _) = post_json(
            &s.router,
            "/api/comments",
            &comment(&format!("刷屏第{i}条")),
            9,
        )
        .await;
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            other => panic!("{other}"),
        }
    }
    assert_eq!(created, 3);
    assert_eq!(limited, 97);
    let r = send(
        &s.router,
        post(
            "/api/comments",
            "application/json",
            comment("再来一条").to_string(),
            9,
            "10.0.0.2:1",
        ),
    )
    .await;
    assert!(
        r.headers()[header::RETRY_AFTER]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
}

#[tokio::test]
async fn fifty_phones_behind_one_venue_wifi_are_each_allowed() {
    let s = site();
    for phone in 100..150 {
        let (status, v) = post_json(
            &s.router,
            "/api/comments",
            &comment(&format!("第{phone}号手机的评论")),
            phone,
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "phone {phone}: {v}");
    }
    assert_eq!(api::queue(&s.ctx, QueueKind::Pending).unwrap().len(), 50);
}

#[tokio::test]
async fn a_muted_number_and_a_closed_area_are_refused_in_chinese() {
    let s = site();
    let (_, v) = post_json(&s.router, "/api/comments", &comment("第一条"), 10).await;
    let id = v["id"].as_str().unwrap().to_string();
    api::mute_author(&s.ctx, &id, 7, "刷屏").unwrap();
    let (status, v) = post_json(&s.router, "/api/comments", &comment("第二条"), 11).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(v["code"], "muted");
    api::set_area_open(&s.ctx, false, None).unwrap();
    let mut c = comment("关闭后");
    c["phone"] = json!("13912341234");
    let (status, v) = post_json(&s.router, "/api/comments", &c, 12).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(v["code"], "comments_closed");
    assert_eq!(v["message"], "评论区已关闭");
    assert_eq!(public(&s.router).await["open"], false);
}

#[tokio::test]
async fn an_approved_comment_can_be_reported_and_a_rejected_one_appealed_by_its_phone() {
    let s = site();
    let (_, v) = post_json(&s.router, "/api/comments", &comment("被举报的评论"), 13).await;
    let id = v["id"].as_str().unwrap().to_string();
    let report = json!({ "reason": "广告" });
    let uri = format!("/api/comments/{id}/report");
    let (status, _) = post_json(&s.router, &uri, &report, 14).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "a pending comment is not shown"
    );
    api::decide(&s.ctx, std::slice::from_ref(&id), Decision::Approve).unwrap();
    let (status, v) = post_json(&s.router, &uri, &report, 14).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    assert_eq!(api::queue(&s.ctx, QueueKind::Reported).unwrap().len(), 1);
    api::decide(
        &s.ctx,
        std::slice::from_ref(&id),
        Decision::Reject {
            reason: "广告".into(),
        },
    )
    .unwrap();
    let appeal = format!("/api/comments/{id}/appeal");
    let (status, _) = post_json(&s.router, &appeal, &json!({ "reason": "不是广告" }), 14).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "only its own phone may appeal"
    );
    let (status, _) = post_json(&s.router, &appeal, &json!({ "reason": "不是广告" }), 13).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let q = api::queue(&s.ctx, QueueKind::Pending).unwrap();
    assert!(q[0].comment.appealed);
}

#[tokio::test]
async fn likes_count_once_per_phone() {
    let s = site();
    for (phone, new) in [(20, true), (20, false), (21, true)] {
        let (status, v) = post_json(
            &s.router,
            "/api/likes",
            &json!({ "target": "event" }),
            phone,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(v["new"], new);
    }
    let likes = public(&s.router).await["likes"].clone();
    assert_eq!(likes, json!([["event", 2]]));
    let (status, _) = post_json(&s.router, "/api/likes", &json!({ "target": "../x" }), 20).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_honeypot_is_answered_like_a_person_but_nothing_is_stored() {
    let s = site();
    let mut c = comment("我是机器人");
    c["website"] = json!("http://spam.example");
    let (status, v) = post_json(&s.router, "/api/comments", &c, 30).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(v["message"], "已提交,审核通过后显示");
    assert!(api::queue(&s.ctx, QueueKind::Pending).unwrap().is_empty());
}

#[tokio::test]
async fn the_comment_list_revalidates_with_an_etag() {
    let s = site();
    let first = get(&s.router, "/api/comments", &[]).await;
    let etag = first.headers()[header::ETAG].clone();
    let again = get(
        &s.router,
        "/api/comments",
        &[(header::IF_NONE_MATCH, etag.clone())],
    )
    .await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    let (_, v) = post_json(&s.router, "/api/comments", &comment("新评论"), 31).await;
    let id = v["id"].as_str().unwrap().to_string();
    api::decide(&s.ctx, &[id], Decision::Approve).unwrap();
    let after = get(&s.router, "/api/comments", &[(header::IF_NONE_MATCH, etag)]).await;
    assert_eq!(
        after.status(),
        StatusCode::OK,
        "an approval changes the version"
    );
}

#[tokio::test]
async fn a_bad_host_is_refused_on_the_writing_routes_too() {
    let s = site();
    let mut req = post(
        "/api/comments",
        "application/json",
        comment("别的域名").to_string(),
        40,
        "10.0.0.2:1",
    );
    req.headers_mut()
        .insert(header::HOST, "evil.example".parse().unwrap());
    let r = send(&s.router, req).await;
    assert_eq!(r.status(), StatusCode::MISDIRECTED_REQUEST);
    assert!(api::queue(&s.ctx, QueueKind::Pending).unwrap().is_empty());
}

#[tokio::test]
async fn no_route_lets_a_phone_moderate() {
    let s = site();
    let (_, v) = post_json(&s.router, "/api/comments", &comment("想自己通过"), 50).await;
    let id = v["id"].as_str().unwrap().to_string();
    let body = json!({ "status": "approved", "approved": true, "pinned": true }).to_string();
    for (m, uri) in [
        (Method::PUT, format!("/api/comments/{id}")),
        (Method::PATCH, format!("/api/comments/{id}")),
        (Method::POST, format!("/api/comments/{id}")),
        (Method::POST, format!("/api/comments/{id}/approve")),
        (Method::POST, format!("/api/comments/{id}/pin")),
        (Method::DELETE, format!("/api/comments/{id}")),
        (Method::POST, "/api/mutes".to_string()),
        (Method::POST, "/api/words".to_string()),
    ] {
        let mut req = post(&uri, "application/json", body.clone(), 50, "10.0.0.2:1");
        *req.method_mut() = m.clone();
        let status = send(&s.router, req).await.status();
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED,
            "{m} {uri} answered {status}"
        );
    }
    let q = api::queue(&s.ctx, QueueKind::Pending).unwrap();
    assert_eq!(q.len(), 1);
    assert!(!q[0].comment.pinned);
}

/// A stand-in for the organiser's SMS gateway on loopback: a real HTTP server that records
/// what it is asked to send and answers with `status`.
async fn sms_gateway(status: u16) -> (String, Arc<std::sync::Mutex<Vec<(String, Value)>>>) {
    use axum::routing::post as on_post;
    let seen: Arc<std::sync::Mutex<Vec<(String, Value)>>> = Arc::default();
    let log = seen.clone();
    let app = Router::new().route(
        "/send",
        on_post(move |headers: axum::http::HeaderMap, body: String| {
            let log = log.clone();
            async move {
                let auth = headers["authorization"].to_str().unwrap().to_string();
                log.lock()
                    .unwrap()
                    .push((auth, serde_json::from_str(&body).unwrap()));
                StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/send", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

#[tokio::test]
async fn with_an_sms_provider_a_comment_needs_the_texted_code_and_is_marked_verified() {
    let s = site();
    let (url, seen) = sms_gateway(200).await;
    api::set_sms_settings(
        &s.ctx,
        Some(api::SmsSettingsInput {
            url,
            sign: "【常宁市观摩会】".into(),
            key: Some("secret-key".into()),
            ..Default::default()
        }),
    )
    .unwrap();
    let (status, v) = post_json(
        &s.router,
        "/api/verify",
        &json!({ "phone": "138 1234 1234" }),
        60,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{v}");
    let (auth, sent) = seen.lock().unwrap()[0].clone();
    assert_eq!(auth, "Bearer secret-key");
    assert_eq!(sent["phone"], "13812341234");
    assert_eq!(sent["sign"], "【常宁市观摩会】");
    let code = sent["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 6);
    let (status, _) = post_json(
        &s.router,
        "/api/verify",
        &json!({ "phone": "13812341234" }),
        60,
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "one text a minute");

    let (status, v) = post_json(&s.router, "/api/comments", &comment("没有验证码"), 60).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["problems"][0]["field"], "验证码");
    let mut c = comment("验证码填错了");
    c["code"] = json!(if code == "000000" { "111111" } else { "000000" });
    let (status, _) = post_json(&s.router, "/api/comments", &c, 60).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut c = comment("验证通过的评论");
    c["code"] = json!(code);
    let (status, v) = post_json(&s.router, "/api/comments", &c, 60).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let q = api::queue(&s.ctx, QueueKind::Pending).unwrap();
    assert_eq!(q.len(), 1);
    assert!(q[0].comment.phone_verified);
    assert!(
        api::get_sms_settings(&s.ctx).unwrap().unwrap().has_key,
        "the key is never shown, only that there is one"
    );
}

#[tokio::test]
async fn a_failing_sms_provider_is_reported_and_without_one_comments_are_unverified() {
    let s = site();
    let (status, v) = post_json(
        &s.router,
        "/api/verify",
        &json!({ "phone": "13812341234" }),
        61,
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(v["code"], "verification_off");
    let (status, _) = post_json(&s.router, "/api/comments", &comment("没有短信服务"), 61).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(
        !api::queue(&s.ctx, QueueKind::Pending).unwrap()[0]
            .comment
            .phone_verified
    );

    let (url, _) = sms_gateway(500).await;
    api::set_sms_settings(
        &s.ctx,
        Some(api::SmsSettingsInput {
            url,
            sign: String::new(),
            key: Some("k".into()),
            ..Default::default()
        }),
    )
    .unwrap();
    let (status, v) = post_json(
        &s.router,
        "/api/verify",
        &json!({ "phone": "13912341234" }),
        62,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(v["message"], "短信发送失败,请稍后再试");
    // The failed code was withdrawn: asking again is not "too soon".
    let (status, _) = post_json(
        &s.router,
        "/api/verify",
        &json!({ "phone": "13912341234" }),
        62,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
}

// ---- the security review's findings (issue 14, items 9–12) ----

/// A JSON POST from `peer` with the given `Cookie` header (none when `None`).
fn post_as(uri: &str, v: &Value, cookie: Option<&str>, peer: &str) -> Request<Body> {
    let mut r = post(uri, "application/json", v.to_string(), 0, peer);
    match cookie {
        Some(c) => {
            r.headers_mut().insert(header::COOKIE, c.parse().unwrap());
        }
        None => {
            r.headers_mut().remove(header::COOKIE);
        }
    }
    r
}

/// The `gm_id=…` pair a response sets, if it sets one.
fn set_cookie_of(r: &Response<Body>) -> Option<String> {
    r.headers()
        .get(header::SET_COOKIE)
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_string())
}

/// A fresh cookie, as a phone gets it when its page opens (`GET /api/me` without one).
async fn fresh_cookie(router: &Router) -> String {
    let r = get(router, "/api/me", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    set_cookie_of(&r).expect("a phone without a cookie gets one")
}

async fn sms_site(config: WebConfig) -> (Site, Arc<std::sync::Mutex<Vec<(String, Value)>>>) {
    let s = site_with(config);
    let (url, seen) = sms_gateway(200).await;
    api::set_sms_settings(
        &s.ctx,
        Some(api::SmsSettingsInput {
            url,
            sign: String::new(),
            key: Some("k".into()),
            ..Default::default()
        }),
    )
    .unwrap();
    (s, seen)
}

#[tokio::test]
async fn sixty_numbers_from_one_address_without_a_cookie_get_three_texts_not_sixty() {
    let (s, seen) = sms_site(WebConfig::default()).await;
    let mut statuses = Vec::new();
    let mut last = Value::Null;
    for n in 0..60 {
        let body = json!({ "phone": format!("138{:08}", 10_000_000 + n) });
        let r = send(&s.router, post_as("/api/verify", &body, None, "10.0.0.7:1")).await;
        statuses.push(r.status());
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers().contains_key(header::RETRY_AFTER));
            last = json_of(r).await;
        }
    }
    let accepted = statuses
        .iter()
        .filter(|s| **s == StatusCode::ACCEPTED)
        .count();
    let refused = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((accepted, refused), (3, 57), "three texts per address");
    assert_eq!(
        seen.lock().unwrap().len(),
        3,
        "the gateway sent three texts"
    );
    assert_eq!(last["code"], "sms_address_limited");
    assert_eq!(last["message"], "获取验证码太频繁,请10分钟后再试");
    // Likes are not held back by the texts, nor texts by likes: another address still may.
    let r = send(
        &s.router,
        post_as(
            "/api/verify",
            &json!({ "phone": "13912340000" }),
            None,
            "10.0.0.8:1",
        ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
}

#[tokio::test]
async fn a_number_gets_one_text_a_minute_from_any_address_and_the_site_stops_at_its_daily_cap() {
    let mut config = WebConfig::default();
    config.limits.sms.site_per_day = 3;
    let (s, seen) = sms_site(config).await;
    let ask =
        |phone: &str, peer: &str| post_as("/api/verify", &json!({ "phone": phone }), None, peer);
    let r = send(&s.router, ask("13812341234", "10.0.1.1:1")).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let r = send(&s.router, ask("13812341234", "10.0.1.2:1")).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let v = json_of(r).await;
    assert_eq!(v["code"], "sms_too_soon", "{v}");
    for (n, peer) in [("13812340001", "10.0.1.3:1"), ("13812340002", "10.0.1.4:1")] {
        let r = send(&s.router, ask(n, peer)).await;
        assert_eq!(r.status(), StatusCode::ACCEPTED);
    }
    let r = send(&s.router, ask("13812340003", "10.0.1.5:1")).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let v = json_of(r).await;
    assert_eq!(v["code"], "sms_site_daily_limit");
    assert_eq!(v["message"], "今天的短信验证码已发完,请明天再试");
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn invented_cookies_count_as_none_and_get_the_strict_per_address_quota() {
    let s = site();
    let mut created = 0;
    for n in 0..40u32 {
        // Shaped like the old unsigned cookies, and like signed ones with a made-up tag.
        let invented = if n % 2 == 0 {
            format!("gm_id={n:032x}")
        } else {
            format!("gm_id={n:064x}")
        };
        let r = send(
            &s.router,
            post_as(
                "/api/comments",
                &comment(&format!("编造的第{n}个手机")),
                Some(&invented),
                "10.0.0.20:1",
            ),
        )
        .await;
        let new = set_cookie_of(&r).expect("an invented cookie is replaced");
        assert_eq!(new.len(), "gm_id=".len() + 64, "{new}");
        match r.status() {
            StatusCode::CREATED => created += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("{other}"),
        }
    }
    assert_eq!(created, 150 / 20, "a twentieth of the address burst of 150");
    // Phones with the site's cookie behind the same address are still served.
    let (status, _) = post_json(&s.router, "/api/comments", &comment("真正的手机"), 1).await;
    assert_eq!(status, StatusCode::CREATED);
    // And a cookie the site issued is recognised: no new one.
    let r = send(
        &s.router,
        post_as(
            "/api/comments",
            &comment("带着签过名的cookie"),
            Some(&cookie(2)),
            "10.0.0.20:1",
        ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(set_cookie_of(&r), None);
}

#[tokio::test]
async fn a_like_needs_a_cookie_from_an_earlier_request_and_one_address_cannot_pile_likes() {
    let s = site();
    let like = json!({ "target": "event" });
    let r = send(&s.router, post_as("/api/likes", &like, None, "10.0.0.30:1")).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let given = set_cookie_of(&r).expect("the refusal hands out a cookie");
    let v = json_of(r).await;
    assert_eq!(v["code"], "cookie_required");
    assert_eq!(v["message"], "请刷新页面后再点赞");
    for invented in [
        "gm_id=00000000000000000000000000000001".to_string(),
        format!("gm_id={:064x}", 5),
    ] {
        let r = send(
            &s.router,
            post_as("/api/likes", &like, Some(&invented), "10.0.0.30:1"),
        )
        .await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{invented}");
    }
    assert_eq!(public(&s.router).await["likes"], json!([]));
    let r = send(
        &s.router,
        post_as("/api/likes", &like, Some(&given), "10.0.0.30:1"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json_of(r).await["new"], true);

    // A client that fetches a fresh cookie for each like: ten likes of one target per
    // address at once, whatever the cookies.
    let mut counted = 1;
    let mut limited = 0;
    for _ in 0..15 {
        let c = fresh_cookie(&s.router).await;
        let r = send(
            &s.router,
            post_as("/api/likes", &like, Some(&c), "10.0.0.30:1"),
        )
        .await;
        match r.status() {
            StatusCode::OK => counted += 1,
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            other => panic!("{other}"),
        }
    }
    assert_eq!((counted, limited), (10, 6));
    assert_eq!(public(&s.router).await["likes"], json!([["event", 10]]));
    // Another address is counted apart.
    let c = fresh_cookie(&s.router).await;
    let r = send(
        &s.router,
        post_as("/api/likes", &like, Some(&c), "10.0.0.31:1"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(public(&s.router).await["likes"], json!([["event", 11]]));
}

#[tokio::test]
async fn an_ipv6_phone_is_counted_as_its_64_network() {
    let s = site();
    let mut created = 0;
    for n in 0..20 {
        let peer = format!("[2001:db8:5:6::{:x}]:443", n + 1);
        let r = send(
            &s.router,
            post_as(
                "/api/comments",
                &comment(&format!("IPv6第{n}条")),
                None,
                &peer,
            ),
        )
        .await;
        if r.status() == StatusCode::CREATED {
            created += 1;
        }
    }
    assert_eq!(created, 7, "twenty addresses of one /64 share one quota");
    let r = send(
        &s.router,
        post_as(
            "/api/comments",
            &comment("另一个网络"),
            None,
            "[2001:db8:5:7::1]:443",
        ),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_muted_author_typing_another_number_is_refused_and_a_hiding_mute_hides_their_comments() {
    let s = site();
    let (_, v) = post_json(&s.router, "/api/comments", &comment("禁言前的评论"), 70).await;
    let first = v["id"].as_str().unwrap().to_string();
    let mut c = comment("别人的评论");
    c["phone"] = json!("13712345678");
    let (_, v) = post_json(&s.router, "/api/comments", &c, 71).await;
    let other = v["id"].as_str().unwrap().to_string();
    api::decide(&s.ctx, &[first.clone(), other.clone()], Decision::Approve).unwrap();
    let before = get(&s.router, "/api/comments", &[]).await;
    let etag = before.headers()[header::ETAG].clone();
    assert_eq!(shown_texts(&json_of(before).await).len(), 2);

    api::mute_author(&s.ctx, &first, 7, "刷屏").unwrap();
    let mut c = comment("换个号码接着发");
    c["phone"] = json!("13598765432");
    let (status, v) = post_json(&s.router, "/api/comments", &c, 70).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    assert_eq!(v["code"], "muted");
    assert_eq!(
        shown_texts(&public(&s.router).await).len(),
        2,
        "a plain mute hides nothing"
    );

    api::mute_author_with(
        &s.ctx,
        &first,
        7,
        "刷屏",
        api::MuteOptions {
            hide_comments: true,
        },
    )
    .unwrap();
    let after = get(&s.router, "/api/comments", &[(header::IF_NONE_MATCH, etag)]).await;
    assert_eq!(
        after.status(),
        StatusCode::OK,
        "the mute changes the version"
    );
    assert_eq!(shown_texts(&json_of(after).await), vec!["别人的评论"]);
}

#[tokio::test]
async fn comments_on_a_retracted_post_are_gone_with_or_without_a_target() {
    let s = site();
    let d = guanmo_api::feed::create_draft(
        &s.ctx,
        guanmo_domain::feed::PostInput {
            body: "观摩团来到水口山镇。".into(),
            ..Default::default()
        },
    )
    .unwrap();
    let p = guanmo_api::feed::publish_post(&s.ctx, &d.id, d.version).unwrap();
    let mut c = comment("这条直播写得好");
    c["target"] = json!(p.id);
    let (status, v) = post_json(&s.router, "/api/comments", &c, 80).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    api::decide(&s.ctx, &[id], Decision::Approve).unwrap();
    let with_target = format!("/api/comments?target={}", p.id);
    let r = get(&s.router, &with_target, &[]).await;
    let etag = r.headers()[header::ETAG].clone();
    assert_eq!(shown_texts(&json_of(r).await), vec!["这条直播写得好"]);

    guanmo_api::feed::retract_post(&s.ctx, &p.id).unwrap();
    assert!(shown_texts(&public(&s.router).await).is_empty());
    let r = get(&s.router, &with_target, &[(header::IF_NONE_MATCH, etag)]).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "the retraction changes the version"
    );
    assert!(shown_texts(&json_of(r).await).is_empty());
}

#[tokio::test]
async fn behind_a_trusted_https_proxy_the_cookie_is_secure_and_hsts_is_sent() {
    let mut config = WebConfig::default();
    config.limits.trusted_proxies = vec!["10.0.0.9".parse().unwrap()];
    let s = site_with(config);
    let over_https = |peer: &str| {
        let mut r = Request::builder()
            .uri("/api/me")
            .header(header::HOST, "localhost")
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-for", "1.2.3.4")
            .body(Body::empty())
            .unwrap();
        r.extensions_mut()
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        r
    };
    let r = send(&s.router, over_https("10.0.0.9:5000")).await;
    let set = r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(set.ends_with("; Secure"), "{set}");
    assert_eq!(
        r.headers()[header::STRICT_TRANSPORT_SECURITY],
        "max-age=31536000"
    );
    // The header from anyone else is not believed.
    let r = send(&s.router, over_https("10.0.0.50:5000")).await;
    let set = r.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .to_string();
    assert!(!set.contains("Secure"), "{set}");
    assert!(!r.headers().contains_key(header::STRICT_TRANSPORT_SECURITY));
    // Plain HTTP on the LAN: no HSTS either.
    let r = get(&s.router, "/", &[]).await;
    assert!(!r.headers().contains_key(header::STRICT_TRANSPORT_SECURITY));
}

#[tokio::test]
async fn an_official_reply_reaches_the_pages_comments_json_marked_official() {
    let s = site();
    let (_, v) = post_json(&s.router, "/api/comments", &comment("为美丽宜阳点赞!"), 1).await;
    let id = v["id"].as_str().unwrap().to_string();
    api::decide(&s.ctx, std::slice::from_ref(&id), Decision::Approve).unwrap();
    api::official_reply(&s.ctx, &id, "感谢点赞,欢迎常来!", "常宁市委宣传部").unwrap();
    let v = public(&s.router).await;
    let reply = &v["comments"][0]["reply"];
    assert_eq!(reply["official"], true);
    assert_eq!(reply["township"], "常宁市委宣传部");
    assert_eq!(reply["text"], "感谢点赞,欢迎常来!");
}
