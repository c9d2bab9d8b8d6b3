//! A resident site over a fresh temp data folder, steered through stdin, for the browser tests
//! in `tests/resident/` (playwright-core + Debian's Chromium). It prints `LISTENING <port>`,
//! then for each stdin line `publish <text>` publishes a post through guanmo-api and prints
//! `PUBLISHED <id>`, and for `retract <id>` retracts it and prints `RETRACTED <id>`;
//! `approve-pending all` approves every pending comment as a moderator would in the desktop app
//! and prints `APPROVED <n>`; `words <w>` adds a sensitive word and prints `WORDS <total>`;
//! `sms <url>` points SMS verification at a gateway (`sms off` turns it off) and prints `SMS`.
//! `GUANMO_FIXTURE_POLL_SECONDS` sets the interval polling pages use. It exits when stdin
//! closes. Never touches the real app-data dir.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use guanmo_api::comments::{self, Decision, QueueKind};
use guanmo_api::feed;
use guanmo_api::Ctx;
use guanmo_domain::feed::PostInput;
use guanmo_domain::SystemClock;
use guanmo_web::{public_router, serve, MediaSource, WebConfig, WebState};
use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;

/// The browser tests publish text-only posts.
struct NoPhotos;

impl MediaSource for NoPhotos {
    fn derived_path(&self, _hash: &str, _long_side: u32) -> Option<PathBuf> {
        None
    }
}

fn publish(ctx: &Ctx, text: &str) -> String {
    let draft = feed::create_draft(
        ctx,
        PostInput {
            stop_label: Some("【第1站·宜阳街道】".into()),
            township_id: None,
            body: text.into(),
            photos: vec![],
            credit: "记者 测试 摄".into(),
        },
    )
    .unwrap();
    feed::publish_post(ctx, &draft.id, draft.version)
        .unwrap()
        .id
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Ctx::open(dir.path(), Arc::new(SystemClock)).unwrap();
    // Tests of polling pages set a short interval (the default is 15 s).
    let mut config = WebConfig::default();
    if let Some(s) = std::env::var("GUANMO_FIXTURE_POLL_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        config.poll_seconds = s;
    }
    let state = WebState::new(ctx.clone(), Arc::new(NoPhotos), config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, public_router(state), async move {
        let _ = stop_rx.await;
    }));
    println!("LISTENING {port}");

    let steer = ctx.clone();
    tokio::task::spawn_blocking(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            match line.split_once(' ') {
                Some(("publish", text)) => println!("PUBLISHED {}", publish(&steer, text)),
                Some(("retract", id)) => {
                    feed::retract_post(&steer, id.trim()).unwrap();
                    println!("RETRACTED {}", id.trim());
                }
                Some(("approve-pending", _)) => {
                    let ids: Vec<String> = comments::queue(&steer, QueueKind::Pending)
                        .unwrap()
                        .into_iter()
                        .map(|q| q.comment.id)
                        .collect();
                    let n = ids.len();
                    if n > 0 {
                        comments::decide(&steer, &ids, Decision::Approve).unwrap();
                    }
                    println!("APPROVED {n}");
                }
                Some(("sms", url)) => {
                    let input = (url.trim() != "off").then(|| comments::SmsSettingsInput {
                        url: url.trim().to_string(),
                        sign: "【观摩会】".into(),
                        key: Some("fixture-key".into()),
                        ..Default::default()
                    });
                    comments::set_sms_settings(&steer, input).unwrap();
                    println!("SMS {}", url.trim());
                }
                // `official-reply <text of the comment>|<reply>`: 官方回复 by 观摩会组委会.
                Some(("official-reply", rest)) => {
                    let (needle, reply) = rest.split_once('|').unwrap_or((rest, "感谢关注"));
                    let item = comments::queue(&steer, QueueKind::Approved)
                        .unwrap()
                        .into_iter()
                        .find(|q| q.comment.text.contains(needle.trim()))
                        .unwrap();
                    comments::official_reply(&steer, &item.comment.id, reply, "观摩会组委会")
                        .unwrap();
                    println!("REPLIED {}", item.comment.id);
                }
                Some(("words", w)) => {
                    let r = comments::add_words(&steer, w).unwrap();
                    println!("WORDS {}", r.total);
                }
                _ => eprintln!("unknown command: {line}"),
            }
        }
    })
    .await
    .unwrap();
    let _ = stop_tx.send(());
    server.await.unwrap().unwrap();
}
