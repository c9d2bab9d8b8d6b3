//! A 直播电脑 (media laptop) over a fresh temp data folder, steered through stdin, for the
//! browser tests that run the real `guanmo serve` (`tests/resident/nginx.test.mjs`): posts
//! reach that hub the way they do in production, published on a laptop and pushed over the
//! peer protocol. Commands, one per stdin line, each answered with one stdout line:
//! `pair <hub url> <code> [fingerprint]` pairs with the hub as the app does
//! ([`guanmo_sync::pair_over_http`], pinning the hub certificate's SHA-256 when given) and
//! pulls once (`PAIRED <device id>`); `publish <text>` publishes a text-only post here, then
//! syncs over the stored link, and answers `PUBLISHED <post id>` once the hub has confirmed
//! it; a failure answers `ERROR <code> <message>` (`code` as the UI sees it, e.g.
//! `cert_changed`). It exits when stdin closes. Never touches the real app-data dir.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use guanmo_api::feed;
use guanmo_api::{ApiError, Ctx};
use guanmo_domain::feed::PostInput;
use guanmo_domain::SystemClock;
use guanmo_sync::Role;
use std::io::{BufRead, Write};
use std::sync::Arc;

fn publish(ctx: &Ctx, text: &str) -> Result<String, String> {
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
    .map_err(failed)?;
    feed::publish_post(ctx, &draft.id, draft.version)
        .map(|p| p.id)
        .map_err(failed)
}

/// The error's stable code as the UI sees it (`cert_changed`), then its message.
fn failed(e: ApiError) -> String {
    let code = serde_json::to_value(e.code).unwrap();
    format!("{} {}", code.as_str().unwrap_or("?"), e.message)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Ctx::open(dir.path(), Arc::new(SystemClock)).unwrap();
    let media = ctx.media().clone();
    guanmo_sync::set_role(&ctx, Role::Media, "直播电脑").unwrap();
    let sync = || {
        guanmo_sync::auto::http_exchange(&ctx, &media, &|_| {})
            .map(|r| r.pushed)
            .map_err(failed)
    };

    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let answer = match line.split_once(' ') {
            Some(("pair", rest)) => match rest.split_whitespace().collect::<Vec<_>>()[..] {
                [url, code, ref pin @ ..] if pin.len() <= 1 => {
                    guanmo_sync::pair_over_http(&ctx, url, code, pin.first().copied())
                        .map_err(failed)
                        .and_then(|_| sync())
                        .map(|_| format!("PAIRED {}", ctx.store().device_id()))
                }
                _ => Err("usage: pair <hub url> <code> [fingerprint]".to_string()),
            },
            Some(("publish", text)) => publish(&ctx, text).and_then(|id| match sync()? {
                0 => Err("the hub confirmed nothing".to_string()),
                _ => Ok(format!("PUBLISHED {id}")),
            }),
            _ => Err(format!("unknown command: {line}")),
        };
        let mut out = std::io::stdout().lock();
        match answer {
            Ok(a) => writeln!(out, "{a}").unwrap(),
            Err(e) => writeln!(out, "ERROR {}", e.replace('\n', " ")).unwrap(),
        }
        out.flush().unwrap();
    }
}
