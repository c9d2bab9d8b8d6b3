//! The hub's peer router from the outside: a device token on every route but pairing, revoked
//! devices shut out, one-time pairing codes that cannot be guessed (locked after 5 wrong
//! tries, dead after 10 minutes or one use), a laptop pushing only its own operations, strict
//! bodies with a size limit per route, and no route shared with the resident site.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{header, Method, Request, Response, StatusCode};
use axum::Router;
use chrono::{Duration, TimeZone, Utc};
use guanmo_api::{scoring, Ctx};
use guanmo_domain::scoring::ScorerInput;
use guanmo_domain::FixedClock;
use guanmo_media::MediaStore;
use guanmo_sync::memory::{Faults, MemoryTransport};
use guanmo_sync::protocol::{PairResponse, PushRequest, PushResponse, BATCH};
use guanmo_sync::{HubService, Role};
use guanmo_web::peer::{peer_router, PUSH_LIMIT};
use guanmo_web::{public_router, MediaSource, WebConfig, WebState};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use tower::ServiceExt;

struct Node {
    ctx: Ctx,
    media: MediaStore,
    clock: Arc<FixedClock>,
    _dir: tempfile::TempDir,
}

fn node(role: Role, name: &str) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 12, 4, 0, 30, 0).unwrap(),
    ));
    let data = dir.path().join("data");
    let ctx = Ctx::open(&data, clock.clone()).unwrap();
    let media = MediaStore::new(&data).unwrap();
    guanmo_sync::set_role(&ctx, role, name).unwrap();
    Node {
        ctx,
        media,
        clock,
        _dir: dir,
    }
}

struct Hub {
    node: Node,
    service: HubService,
    router: Router,
}

fn hub() -> Hub {
    let node = node(Role::Hub, "组织方主机");
    let service = HubService::new(node.ctx.clone(), node.media.clone());
    Hub {
        router: peer_router(service.clone()),
        service,
        node,
    }
}

impl Hub {
    fn code(&self) -> String {
        guanmo_sync::new_pairing_code(&self.node.ctx).unwrap().code
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, Vec<u8>) {
        let r: Response<Body> = self.router.clone().oneshot(req).await.unwrap();
        let status = r.status();
        (
            status,
            r.into_body().collect().await.unwrap().to_bytes().to_vec(),
        )
    }

    async fn call(&self, req: Request<Body>) -> (StatusCode, Value) {
        let (status, body) = self.send(req).await;
        let v = serde_json::from_slice(&body)
            .unwrap_or_else(|_| panic!("{status}: not JSON: {}", String::from_utf8_lossy(&body)));
        (status, v)
    }

    /// Pairs a new device over the router and returns its token.
    async fn pair_device(&self) -> String {
        let (status, body) = self.call(pair_request(&self.code())).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        serde_json::from_value::<PairResponse>(body).unwrap().token
    }
}

fn json_request(method: Method, uri: &str, token: Option<&str>, body: &Value) -> Request<Body> {
    let mut r = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json");
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    r.body(Body::from(body.to_string())).unwrap()
}

fn pair_body(code: &str) -> Value {
    json!({
        "code": code,
        "device_id": guanmo_domain::ids::new_id(),
        "name": "评分电脑一",
        "role": "scorer",
        "public_key": "ab".repeat(32),
    })
}

fn pair_request(code: &str) -> Request<Body> {
    json_request(Method::POST, "/peer/v1/pair", None, &pair_body(code))
}

const HASH: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// One request to every route that needs a token, with `token` (or none).
fn token_routes(token: Option<&str>) -> Vec<Request<Body>> {
    let with = |b: axum::http::request::Builder| match token {
        Some(t) => b.header(header::AUTHORIZATION, format!("Bearer {t}")),
        None => b,
    };
    vec![
        json_request(Method::POST, "/peer/v1/push", token, &json!({ "ops": [] })),
        json_request(
            Method::POST,
            "/peer/v1/pull",
            token,
            &json!({ "have": {}, "limit": 10 }),
        ),
        json_request(
            Method::POST,
            "/peer/v1/blobs/missing",
            token,
            &json!({ "hashes": [HASH] }),
        ),
        with(
            Request::builder()
                .method(Method::PUT)
                .uri(format!("/peer/v1/blobs/{HASH}?total=3&offset=0")),
        )
        .body(Body::from("abc"))
        .unwrap(),
        with(
            Request::builder()
                .method(Method::GET)
                .uri(format!("/peer/v1/blobs/{HASH}?offset=0&max=10")),
        )
        .body(Body::empty())
        .unwrap(),
        json_request(
            Method::POST,
            "/peer/v1/copies/missing",
            token,
            &json!({ "hashes": [HASH] }),
        ),
        with(
            Request::builder()
                .method(Method::PUT)
                .uri(format!("/peer/v1/copies/{HASH}")),
        )
        .body(Body::from("abc"))
        .unwrap(),
        with(
            Request::builder()
                .method(Method::GET)
                .uri(format!("/peer/v1/copies/{HASH}")),
        )
        .body(Body::empty())
        .unwrap(),
        with(Request::builder().method(Method::GET).uri("/peer/v1/reach"))
            .body(Body::empty())
            .unwrap(),
    ]
}

fn tries(ctx: &Ctx) -> i64 {
    ctx.store()
        .read(|c| {
            Ok(c.query_row(
                "SELECT tries FROM pairing_codes ORDER BY created_at DESC LIMIT 1",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap()
}

#[tokio::test]
async fn every_route_but_pairing_refuses_a_missing_malformed_or_unknown_token_with_401() {
    let h = hub();
    let unknown = "f".repeat(64);
    for token in [None, Some("not-a-token"), Some(unknown.as_str())] {
        for req in token_routes(token) {
            let what = format!("{} {} with {token:?}", req.method(), req.uri());
            let (status, body) = h.call(req).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
            assert_eq!(body["code"], "unauthorized", "{what}: {body}");
        }
    }
    // Another scheme than Bearer is no token either.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/peer/v1/pull")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Basic {unknown}"))
        .body(Body::from(r#"{"have":{},"limit":1}"#))
        .unwrap();
    assert_eq!(h.call(req).await.0, StatusCode::UNAUTHORIZED);
    // A stranger's oversized push is refused for its token, before its body is read.
    let big = vec![b' '; PUSH_LIMIT + 1];
    let req = Request::builder()
        .method(Method::POST)
        .uri("/peer/v1/push")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {unknown}"))
        .body(Body::from(big))
        .unwrap();
    assert_eq!(h.call(req).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_paired_device_is_served_until_the_hub_revokes_it() {
    let h = hub();
    let token = h.pair_device().await;
    for req in token_routes(Some(&token)) {
        let what = format!("{} {}", req.method(), req.uri());
        let (status, body) = h.send(req).await;
        // The chunk and photo routes refuse the made-up photo, but past the token check.
        assert_ne!(status, StatusCode::UNAUTHORIZED, "{what}");
        assert!(
            status == StatusCode::OK || status == StatusCode::BAD_REQUEST,
            "{what}: {status} {}",
            String::from_utf8_lossy(&body)
        );
    }
    let (status, pulled) = h
        .call(json_request(
            Method::POST,
            "/peer/v1/pull",
            Some(&token),
            &json!({ "have": {}, "limit": 500 }),
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !pulled["ops"].as_array().unwrap().is_empty(),
        "the hub's roster and rubric come down: {pulled}"
    );

    let devices: Vec<String> = h
        .node
        .ctx
        .store()
        .read(|c| {
            let mut st = c.prepare("SELECT id FROM devices WHERE role <> 'hub'")?;
            let ids = st.query_map([], |r| r.get(0))?;
            Ok(ids.collect::<rusqlite::Result<_>>()?)
        })
        .unwrap();
    assert_eq!(devices.len(), 1);
    assert!(guanmo_sync::revoke_device(&h.node.ctx, &devices[0]).unwrap());
    for req in token_routes(Some(&token)) {
        let what = format!("{} {}", req.method(), req.uri());
        let (status, body) = h.call(req).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}: {body}");
        assert_eq!(body["code"], "unauthorized", "{what}");
    }
}

#[tokio::test]
async fn a_wrong_code_is_counted_and_the_right_one_still_works_before_five() {
    let h = hub();
    let code = h.code();
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let (status, body) = h.call(pair_request(wrong)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "pairing_refused");
    assert_eq!(tries(&h.node.ctx), 1, "the wrong try is counted");
    let (status, body) = h.call(pair_request(&code)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token"].as_str().unwrap().len(), 64);
}

#[tokio::test]
async fn ten_thousand_guesses_never_pair_and_lock_the_code_after_five() {
    let h = hub();
    let code = h.code();
    let mut refused = 0;
    for n in 0..10_000u32 {
        let guess = format!("{:06}", (n * 97 + 13) % 1_000_000);
        if guess == code {
            continue;
        }
        let (status, body) = h.call(pair_request(&guess)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "guess {guess}: {body}");
        assert_eq!(body["code"], "pairing_refused");
        refused += 1;
        if refused == 5 {
            assert_eq!(tries(&h.node.ctx), 5);
        }
    }
    assert_eq!(
        tries(&h.node.ctx),
        5,
        "locked: later guesses are not even compared"
    );
    let (status, body) = h.call(pair_request(&code)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("too many"),
        "{body}"
    );
    let paired: i64 = h
        .node
        .ctx
        .store()
        .read(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM devices WHERE role <> 'hub'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(paired, 0, "no device got in");
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let h = hub();
    let code = h.code();
    h.node.clock.advance(Duration::minutes(11));
    let (status, body) = h.call(pair_request(&code)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("expired"),
        "{body}"
    );
}

#[tokio::test]
async fn a_code_pairs_one_device_only() {
    let h = hub();
    let code = h.code();
    let (status, _) = h.call(pair_request(&code)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = h.call(pair_request(&code)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "pairing_refused");
}

#[tokio::test]
async fn a_malformed_pairing_request_is_a_bad_request() {
    let h = hub();
    let mut body = pair_body(&h.code());
    body["public_key"] = json!("short");
    let (status, body) = h
        .call(json_request(Method::POST, "/peer/v1/pair", None, &body))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "bad_request");
}

/// A pairing request that arrives from `peer`, forwarded for `forwarded` when given.
fn pair_request_from(peer: &str, forwarded: Option<&str>) -> Request<Body> {
    let mut body = pair_body("000000");
    body["public_key"] = json!("short");
    let mut r = json_request(Method::POST, "/peer/v1/pair", None, &body);
    if let Some(f) = forwarded {
        r.headers_mut()
            .insert("x-forwarded-for", f.parse().unwrap());
    }
    let addr: std::net::SocketAddr = peer.parse().unwrap();
    r.extensions_mut().insert(axum::extract::ConnectInfo(addr));
    r
}

#[tokio::test]
async fn behind_a_trusted_proxy_pairing_tries_count_per_laptop_not_per_proxy() {
    let h = hub();
    let mut settings = guanmo_api::site::get_site_settings(&h.node.ctx).unwrap();
    settings.trusted_proxies = vec!["127.0.0.2".into()];
    guanmo_api::site::set_site_settings(&h.node.ctx, settings).unwrap();
    let router = peer_router(h.service.clone());
    let call = |req: Request<Body>| {
        let router = router.clone();
        async move { router.oneshot(req).await.unwrap().status() }
    };
    // Laptop A, through nginx on 127.0.0.2, uses up its ten tries a minute.
    for _ in 0..10 {
        let s = call(pair_request_from("127.0.0.2:40000", Some("203.0.113.5"))).await;
        assert_eq!(
            s,
            StatusCode::BAD_REQUEST,
            "a malformed request gets past the limit"
        );
    }
    let s = call(pair_request_from("127.0.0.2:40001", Some("203.0.113.5"))).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "A's eleventh try");
    // Laptop B behind the same proxy still pairs.
    let s = call(pair_request_from("127.0.0.2:40002", Some("198.51.100.9"))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "B is not counted against A");
    // A client that is not a trusted proxy cannot claim to be B: its own address counts.
    for _ in 0..10 {
        let s = call(pair_request_from("192.0.2.44:5000", Some("198.51.100.77"))).await;
        assert_eq!(s, StatusCode::BAD_REQUEST);
    }
    let s = call(pair_request_from("192.0.2.44:5000", Some("198.51.100.78"))).await;
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "a forged header changes nothing"
    );
}

#[tokio::test]
async fn a_laptop_behind_the_proxy_cannot_dodge_its_limit_by_forging_forwarded_addresses() {
    let h = hub();
    let mut settings = guanmo_api::site::get_site_settings(&h.node.ctx).unwrap();
    settings.trusted_proxies = vec!["127.0.0.2".into()];
    guanmo_api::site::set_site_settings(&h.node.ctx, settings).unwrap();
    let router = peer_router(h.service.clone());
    // nginx appends the address it saw to whatever the laptop sent: only that last entry is
    // nginx's word, every one before it is the laptop's own invention.
    for i in 0..10 {
        let forged = format!("198.51.100.{i}, 127.0.0.2, 203.0.113.5");
        let s = router
            .clone()
            .oneshot(pair_request_from("127.0.0.2:40000", Some(&forged)))
            .await
            .unwrap()
            .status();
        assert_eq!(s, StatusCode::BAD_REQUEST, "try {i} gets past the limit");
    }
    let s = router
        .oneshot(pair_request_from(
            "127.0.0.2:40000",
            Some("198.51.100.99, 203.0.113.5"),
        ))
        .await
        .unwrap()
        .status();
    assert_eq!(
        s,
        StatusCode::TOO_MANY_REQUESTS,
        "a new forged prefix still counts against 203.0.113.5"
    );
}

/// A scorer's laptop paired with `h` (through the in-memory transport, to the same service),
/// synced once, with `marks` marks recorded on its sheets since.
fn laptop_with_marks(h: &Hub, marks: usize) -> (Node, String) {
    let scorer = scoring::register_scorer(
        &h.node.ctx,
        ScorerInput {
            name: "张三".into(),
            group: "市领导".into(),
            township_id: None,
            active: true,
            work_unit: String::new(),
        },
    )
    .unwrap();
    let towns: Vec<_> = guanmo_api::roster::list_townships(&h.node.ctx)
        .unwrap()
        .into_iter()
        .filter(|t| t.enabled)
        .collect();
    for t in &towns {
        scoring::set_scoring_open(&h.node.ctx, &t.id, true).unwrap();
    }
    let l = node(Role::Scorer, "评分电脑一");
    let t = MemoryTransport::new(h.service.clone(), Faults::default(), 1);
    let resp = guanmo_sync::pair_with_hub(&l.ctx, &t, "memory://hub", &h.code()).unwrap();
    guanmo_sync::assign_scorer(&h.node.ctx, &scorer.id, Some(l.ctx.store().device_id())).unwrap();
    guanmo_sync::sync_once(&l.ctx, &l.media, &t, &|_| {}).unwrap();
    scoring::set_device_scorer(&l.ctx, Some(scorer.id.clone())).unwrap();
    let criteria: Vec<(String, f64)> = guanmo_api::rubric::get_rubric(&l.ctx)
        .unwrap()
        .categories
        .iter()
        .flat_map(|c| c.criteria.iter())
        .map(|k| (k.id.clone().unwrap(), k.max_points))
        .collect();
    let mut sheets = Vec::new();
    let mut done = 0;
    // Every criterion of every township, then again with other values, until `marks`.
    'all: for round in 0.. {
        for (t, town) in towns.iter().enumerate() {
            if round == 0 {
                sheets.push(scoring::open_sheet(&l.ctx, &scorer.id, &town.id).unwrap());
            }
            for (i, (id, max)) in criteria.iter().enumerate() {
                if done == marks {
                    break 'all;
                }
                // A realistic remark on some criteria, none on most.
                let note = if i % 4 == 0 {
                    "现场查看台账齐全,群众满意度较高,亮点突出。".to_string()
                } else {
                    String::new()
                };
                let value = max - 0.5 * f64::from(round % 3 + 1);
                sheets[t] =
                    scoring::record_mark(&l.ctx, &sheets[t].id, id, Some(value), note).unwrap();
                done += 1;
            }
        }
    }
    (l, resp.token)
}

#[tokio::test]
async fn a_full_push_batch_fits_the_limit_many_times_over_and_is_acknowledged() {
    let h = hub();
    let (l, token) = laptop_with_marks(&h, BATCH as usize);
    let me = l.ctx.store().device_id().to_string();
    let ops = l
        .ctx
        .store()
        .read(|c| guanmo_store::oplog::own_ops_after(c, &me, 0, BATCH))
        .unwrap();
    assert_eq!(ops.len(), BATCH as usize);
    let body = serde_json::to_value(PushRequest { ops }).unwrap();
    let size = body.to_string().len();
    println!(
        "a push of {BATCH} mark edits: {:.2} MiB (limit {} MiB)",
        size as f64 / 1048576.0,
        PUSH_LIMIT >> 20
    );
    assert!(
        size * 8 < PUSH_LIMIT,
        "a realistic batch ({size} bytes) is far below the limit"
    );
    let (status, resp) = h
        .call(json_request(
            Method::POST,
            "/peer/v1/push",
            Some(&token),
            &body,
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{resp}");
    let resp: PushResponse = serde_json::from_value(resp).unwrap();
    let own = l
        .ctx
        .store()
        .read(|c| guanmo_store::oplog::watermark(c, &me))
        .unwrap();
    assert_eq!(resp.acked_seq, BATCH as i64);
    assert!(own >= BATCH as i64);
    assert!(resp.report.refused.is_empty(), "{:?}", resp.report);
}

#[tokio::test]
async fn a_push_of_another_devices_operations_is_refused() {
    let h = hub();
    let (l, _) = laptop_with_marks(&h, 3);
    let other = h.pair_device().await;
    let me = l.ctx.store().device_id().to_string();
    let ops = l
        .ctx
        .store()
        .read(|c| guanmo_store::oplog::own_ops_after(c, &me, 0, BATCH))
        .unwrap();
    let body = serde_json::to_value(PushRequest { ops }).unwrap();
    let (status, resp) = h
        .call(json_request(
            Method::POST,
            "/peer/v1/push",
            Some(&other),
            &body,
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{resp}");
    assert_eq!(resp["code"], "bad_request");
    assert!(resp["message"].as_str().unwrap().contains("not the sender"));
    let at_hub = h
        .node
        .ctx
        .store()
        .read(|c| guanmo_store::oplog::watermark(c, &me))
        .unwrap();
    assert_eq!(at_hub, 0, "nothing of the laptop's was applied");
}

#[tokio::test]
async fn unknown_fields_and_wrong_types_are_refused() {
    let h = hub();
    let token = h.pair_device().await;
    let mut with_extra = pair_body(&h.code());
    with_extra["admin"] = json!(true);
    let cases = [
        ("/peer/v1/pair", None, with_extra),
        (
            "/peer/v1/pull",
            Some(token.as_str()),
            json!({ "have": {}, "limit": 1, "since": 0 }),
        ),
        (
            "/peer/v1/pull",
            Some(token.as_str()),
            json!({ "have": [], "limit": 1 }),
        ),
        (
            "/peer/v1/push",
            Some(token.as_str()),
            json!({ "ops": [], "force": true }),
        ),
        (
            "/peer/v1/blobs/missing",
            Some(token.as_str()),
            json!({ "hashes": [], "all": true }),
        ),
    ];
    for (uri, token, body) in cases {
        let (status, resp) = h.call(json_request(Method::POST, uri, token, &body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri} {body}: {resp}");
        assert_eq!(resp["code"], "bad_request");
    }
    // An unknown query field on the photo routes, too.
    let req = Request::builder()
        .method(Method::GET)
        .uri(format!("/peer/v1/blobs/{HASH}?offset=0&max=1&path=x"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.call(req).await.0, StatusCode::BAD_REQUEST);
    // JSON under another content type (what a web page could send without asking) is refused.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/peer/v1/pair")
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from(pair_body(&h.code()).to_string()))
        .unwrap();
    assert_eq!(h.call(req).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        tries(&h.node.ctx),
        0,
        "refused before the code was looked at"
    );
}

#[tokio::test]
async fn a_body_past_its_routes_limit_is_413() {
    let h = hub();
    let token = h.pair_device().await;
    let mut big = pair_body(&h.code());
    big["name"] = json!("名".repeat(6_000));
    let (status, body) = h
        .call(json_request(Method::POST, "/peer/v1/pair", None, &big))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["code"], "bad_request");
    assert_eq!(tries(&h.node.ctx), 0, "an oversized request is not a try");

    let chunk = vec![7u8; (1 << 20) + 100 * 1024];
    let req = Request::builder()
        .method(Method::PUT)
        .uri(format!(
            "/peer/v1/blobs/{HASH}?total={}&offset=0",
            chunk.len()
        ))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::from(chunk))
        .unwrap();
    let (status, body) = h.call(req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");

    let pull = json!({ "have": { "x": 1 }, "limit": 1, "pad": "x".repeat(100 * 1024) });
    let (status, _) = h
        .call(json_request(
            Method::POST,
            "/peer/v1/pull",
            Some(&token),
            &pull,
        ))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

/// A 1600 px copy as a laptop makes it: a JPEG from its own photo store.
fn laptop_copy() -> Vec<u8> {
    let n = node(Role::Media, "直播电脑");
    let img = image::RgbImage::from_fn(400, 300, |x, y| image::Rgb([x as u8, y as u8, 90]));
    let mut png = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let imported = n
        .media
        .import_bytes("p.png", &png.into_inner(), &guanmo_media::Limits::default())
        .unwrap();
    std::fs::read(
        n.media
            .path(&imported.hash, guanmo_media::Size::Web)
            .unwrap(),
    )
    .unwrap()
}

fn put_copy(token: &str, hash: &str, body: Vec<u8>) -> Request<Body> {
    Request::builder()
        .method(Method::PUT)
        .uri(format!("/peer/v1/copies/{hash}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "image/jpeg")
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test]
async fn a_copy_goes_up_whole_is_re_encoded_and_comes_back_and_a_bad_or_huge_one_is_refused() {
    let h = hub();
    let token = h.pair_device().await;
    let missing = |t: &str| {
        json_request(
            Method::POST,
            "/peer/v1/copies/missing",
            Some(t),
            &json!({ "hashes": [HASH] }),
        )
    };
    let (status, body) = h.call(missing(&token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["missing"], json!([HASH]));

    let (status, body) = h
        .call(put_copy(&token, HASH, b"not a photo".to_vec()))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "bad_request");
    let (status, _) = h
        .send(put_copy(&token, HASH, vec![0xFF; 9 * 1024 * 1024]))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(!h.node.media.has(HASH, guanmo_media::Size::Web));

    let copy = laptop_copy();
    let (status, body) = h.call(put_copy(&token, HASH, copy.clone())).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(h.node.media.has(HASH, guanmo_media::Size::Web));
    assert!(h.node.media.has(HASH, guanmo_media::Size::Thumb));
    let (_, body) = h.call(missing(&token)).await;
    assert_eq!(body["missing"], json!([]), "the hub can show it now");
    let stored = std::fs::read(h.node.media.path(HASH, guanmo_media::Size::Web).unwrap()).unwrap();
    assert_ne!(stored, copy, "re-encoded, not stored as sent");
    // A thumbnail goes up with ?size=320; any other size is refused.
    let other = "ab".repeat(32);
    let thumb = image::RgbImage::from_fn(320, 240, |x, y| image::Rgb([x as u8, y as u8, 9]));
    let n = node(Role::Media, "直播电脑");
    let mut png = std::io::Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(thumb)
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let small = n
        .media
        .import_bytes("t.png", &png.into_inner(), &guanmo_media::Limits::default())
        .unwrap();
    let thumb_jpeg = std::fs::read(
        n.media
            .path(&small.hash, guanmo_media::Size::Thumb)
            .unwrap(),
    )
    .unwrap();
    let sized = |size: &str, body: Vec<u8>| {
        Request::builder()
            .method(Method::PUT)
            .uri(format!("/peer/v1/copies/{other}?size={size}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::from(body))
            .unwrap()
    };
    let (status, body) = h.call(sized("800", thumb_jpeg.clone())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = h.call(sized("320", thumb_jpeg)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(h.node.media.has(&other, guanmo_media::Size::Thumb));
    assert!(!h.node.media.has(&other, guanmo_media::Size::Web));

    // Only photos the hub has a record of are handed out.
    let get = Request::builder()
        .method(Method::GET)
        .uri(format!("/peer/v1/copies/{HASH}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let (status, _) = h.send(get).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

struct NoMedia;

impl MediaSource for NoMedia {
    fn derived_path(&self, _: &str, _: u32) -> Option<PathBuf> {
        None
    }
}

#[tokio::test]
async fn the_resident_router_has_no_sync_route_and_the_peer_router_no_resident_one() {
    let h = hub();
    let token = h.pair_device().await;
    let site = public_router(
        WebState::new(h.node.ctx.clone(), Arc::new(NoMedia), WebConfig::default()).unwrap(),
    );
    for req in token_routes(Some(&token))
        .into_iter()
        .chain([pair_request(&h.code())])
    {
        let (mut parts, body) = req.into_parts();
        parts
            .headers
            .insert(header::HOST, "localhost".parse().unwrap());
        let what = format!("{} {}", parts.method, parts.uri);
        let r = site
            .clone()
            .oneshot(Request::from_parts(parts, body))
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::NOT_FOUND,
            "{what} on the resident site"
        );
    }
    assert_eq!(
        tries(&h.node.ctx),
        0,
        "the resident site never saw the code"
    );

    for uri in [
        "/",
        "/api/feed",
        "/live",
        "/api/comments",
        "/static/live.js",
    ] {
        let req = Request::builder()
            .uri(uri)
            .header(header::HOST, "localhost")
            .body(Body::empty())
            .unwrap();
        let (status, body) = h.call(req).await;
        assert_eq!(
            status,
            StatusCode::NOT_FOUND,
            "{uri} on the peer router: {body}"
        );
    }
}

#[tokio::test]
async fn the_hubs_reach_figures_go_to_a_media_laptop_only() {
    let h = hub();
    guanmo_api::reach::record(
        &h.node.ctx,
        &[guanmo_api::reach::Counted {
            day: "2026-12-04".into(),
            post_id: None,
            views: 42,
            peak_live: 5,
            visitors: vec!["a".into(), "b".into()],
        }],
    )
    .unwrap();
    let reach = |token: &str| {
        Request::builder()
            .method(Method::GET)
            .uri("/peer/v1/reach")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    // A scorer's laptop: refused, past the token check.
    let scorer = h.pair_device().await;
    let (status, body) = h.call(reach(&scorer)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["code"], "bad_request");
    // A media laptop: the hub's own figures.
    let mut media = pair_body(&h.code());
    media["role"] = json!("media");
    media["name"] = json!("直播电脑");
    let (status, paired) = h
        .call(json_request(Method::POST, "/peer/v1/pair", None, &media))
        .await;
    assert_eq!(status, StatusCode::OK, "{paired}");
    let token = paired["token"].as_str().unwrap().to_string();
    let (status, report) = h.call(reach(&token)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["total"]["views"], 42);
    assert_eq!(report["total"]["peak_live"], 5);
    assert_eq!(report["total"]["visitors"], 2);
}
