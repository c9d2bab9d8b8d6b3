//! 传播数据 from the outside: page beacons (`POST /api/seen`) sent concurrently by many phones
//! add up to exactly the views sent, visitors to the phones within the sketch's error, live
//! streams to the peak, and counting never sets a cookie or moves the feed's version.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, Utc};
use guanmo_api::feed;
use guanmo_api::reach::{self, VISITOR_ERROR};
use guanmo_api::Ctx;
use guanmo_domain::feed::PostInput;
use guanmo_domain::FixedClock;
use guanmo_web::{public_router, MediaSource, WebConfig, WebState};
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

const COOKIE_KEY: [u8; 32] = [0x42; 32];

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The site's own signed cookie of phone `n` (as `phone.rs` signs it).
fn cookie(n: u32) -> String {
    let id = format!("{:012x}{n:020x}", 0x0193_8a00_0000u64);
    let tag = blake3::keyed_hash(&COOKIE_KEY, id.as_bytes()).to_hex();
    format!("gm_id={id}{}", &tag[..32])
}

fn site() -> (tempfile::TempDir, Ctx, WebState) {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(
        DateTime::parse_from_rfc3339("2024-12-04T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
    ));
    let ctx = Ctx::open(dir.path(), clock).unwrap();
    ctx.store()
        .write_without_ops(ctx.now(), "test", |tx| {
            guanmo_store::meta::set(tx, "site_cookie_key", &hex(&COOKIE_KEY))
        })
        .unwrap();
    let state = WebState::new(ctx.clone(), Arc::new(NoMedia), WebConfig::default()).unwrap();
    (dir, ctx, state)
}

fn publish(ctx: &Ctx, body: &str) -> String {
    let d = feed::create_draft(
        ctx,
        PostInput {
            body: body.into(),
            credit: "记者 李明 摄".into(),
            ..PostInput::default()
        },
    )
    .unwrap();
    feed::publish_post(ctx, &d.id, d.version).unwrap().id
}

fn seen(body: String, cookie: Option<String>, peer: &str) -> Request<Body> {
    let mut r = Request::builder()
        .method(Method::POST)
        .uri("/api/seen")
        .header(header::HOST, "localhost")
        .header(header::CONTENT_TYPE, "text/plain;charset=UTF-8");
    if let Some(c) = cookie {
        r = r.header(header::COOKIE, c);
    }
    let mut r = r.body(Body::from(body)).unwrap();
    r.extensions_mut()
        .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_beacons_count_exactly_and_visitors_within_the_sketch_error() {
    let (_dir, ctx, state) = site();
    let posts: Vec<String> = (0..3)
        .map(|i| publish(&ctx, &format!("第{i}条直播")))
        .collect();
    let seq_before = feed::feed_seq(&ctx).unwrap();
    let router: Router = public_router(state.clone());

    // 1500 phones with the site's cookie, each opening the page twice and seeing post 0 (and
    // every third phone post 1 too); 300 loads without a cookie; 50 reports naming a post that
    // does not exist; 20 that do not parse.
    const PHONES: u32 = 1500;
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..PHONES {
        let router = router.clone();
        let ids = posts.clone();
        tasks.spawn(async move {
            let peer = format!("10.{}.{}.{}:40000", n / 65536, (n / 256) % 256, n % 256);
            for load in 0..2 {
                let mut shown = vec![ids[0].clone()];
                if n % 3 == 0 && load == 0 {
                    shown.push(ids[1].clone());
                }
                let body = serde_json::json!({ "page": true, "posts": shown }).to_string();
                let r = router
                    .clone()
                    .oneshot(seen(body, Some(cookie(n)), &peer))
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::NO_CONTENT);
                assert!(
                    r.headers().get(header::SET_COOKIE).is_none(),
                    "counting sets no cookie"
                );
            }
        });
    }
    for n in 0..300u32 {
        let router = router.clone();
        tasks.spawn(async move {
            let peer = format!("172.16.{}.{}:40000", n / 256, n % 256);
            let r = router
                .oneshot(seen(r#"{"page":true}"#.into(), None, &peer))
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NO_CONTENT);
            assert!(r.headers().get(header::SET_COOKIE).is_none());
        });
    }
    for n in 0..50u32 {
        let router = router.clone();
        tasks.spawn(async move {
            let body = r#"{"posts":["0193a000-0000-7000-8000-000000000000"]}"#.to_string();
            let r = router
                .oneshot(seen(body, Some(cookie(n)), "192.168.9.9:1"))
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NO_CONTENT);
        });
    }
    for _ in 0..20u32 {
        let router = router.clone();
        tasks.spawn(async move {
            let r = router
                .oneshot(seen("{not json".into(), None, "192.168.9.8:1"))
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::NO_CONTENT);
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    state.flush_reach();

    let rep = reach::report(&ctx).unwrap();
    assert_eq!(rep.total.views, PHONES * 2 + 300, "page loads are exact");
    let within = |est: u32, truth: u32| {
        (f64::from(est) - f64::from(truth)).abs() <= 4.0 * VISITOR_ERROR * f64::from(truth) + 2.0
    };
    assert!(within(rep.total.visitors, PHONES), "{:?}", rep.total);
    let views_of = |id: &str| {
        rep.posts
            .iter()
            .find(|p| p.post_id == id)
            .map(|p| (p.figures.views, p.figures.visitors))
            .unwrap()
    };
    let (v0, u0) = views_of(&posts[0]);
    assert_eq!(v0, PHONES * 2);
    assert!(within(u0, PHONES), "{u0}");
    let (v1, u1) = views_of(&posts[1]);
    assert_eq!(v1, PHONES / 3);
    assert!(within(u1, PHONES / 3), "{u1}");
    assert_eq!(views_of(&posts[2]).0, 0);
    assert_eq!(
        feed::feed_seq(&ctx).unwrap(),
        seq_before,
        "counting never moves the feed's version (no cache is dropped)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_over_its_budget_is_not_counted_and_live_streams_make_the_peak() {
    let (_dir, ctx, state) = site();
    let router: Router = public_router(state.clone());
    // One phone hammering: its burst (30) counts, the rest does not.
    for _ in 0..100 {
        let r = router
            .clone()
            .oneshot(seen(
                r#"{"page":true}"#.into(),
                Some(cookie(7)),
                "10.9.9.9:1",
            ))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    // Four live readers at once, then one leaves.
    let mut streams = Vec::new();
    for i in 0..4 {
        let req = Request::builder()
            .uri("/live")
            .header(header::HOST, "localhost")
            .body(Body::empty())
            .map(|mut r| {
                r.extensions_mut().insert(ConnectInfo(
                    format!("10.1.0.{i}:5000").parse::<SocketAddr>().unwrap(),
                ));
                r
            })
            .unwrap();
        let r = router.clone().oneshot(req).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        streams.push(r);
    }
    streams.pop();
    state.flush_reach();
    let rep = reach::report(&ctx).unwrap();
    assert_eq!(
        rep.total.views, 30,
        "a script gets its burst, then nothing counts"
    );
    assert_eq!(rep.total.visitors, 1);
    assert_eq!(rep.total.peak_live, 4);
}
