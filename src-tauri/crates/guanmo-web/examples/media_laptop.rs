//! A 直播电脑 (media laptop) over a fresh temp data folder, steered through stdin, for the
//! browser tests that run the real `guanmo serve` (`tests/resident/nginx.test.mjs`): posts
//! reach that hub the way they do in production, published on a laptop and pushed over the
//! peer protocol. Commands, one per stdin line, each answered with one stdout line:
//! `pair <hub url> <code>` pairs with the hub and pulls once (`PAIRED <device id>`);
//! `publish <text>` publishes a text-only post here, then syncs, and answers
//! `PUBLISHED <post id>` once the hub has confirmed it; a failure answers `ERROR <message>`.
//! It exits when stdin closes. Never touches the real app-data dir.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use guanmo_api::feed;
use guanmo_api::Ctx;
use guanmo_domain::feed::PostInput;
use guanmo_domain::SystemClock;
use guanmo_sync::http::HttpTransport;
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
    .map_err(|e| e.to_string())?;
    feed::publish_post(ctx, &draft.id, draft.version)
        .map(|p| p.id)
        .map_err(|e| e.to_string())
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = Ctx::open(dir.path(), Arc::new(SystemClock)).unwrap();
    let media = ctx.media().clone();
    guanmo_sync::set_role(&ctx, Role::Media, "直播电脑").unwrap();
    let mut transport: Option<HttpTransport> = None;
    let sync = |t: &HttpTransport| {
        guanmo_sync::sync_once(&ctx, &media, t, &|_| {})
            .map(|r| r.pushed)
            .map_err(|e| e.to_string())
    };

    for line in std::io::stdin().lock().lines().map_while(Result::ok) {
        let answer = match line.split_once(' ') {
            Some(("pair", rest)) => match rest.trim().split_once(' ') {
                Some((url, code)) => (|| {
                    let t = HttpTransport::new(url, None).map_err(|e| e.to_string())?;
                    let paired = guanmo_sync::pair_with_hub(&ctx, &t, url, code.trim())
                        .map_err(|e| e.to_string())?;
                    let t =
                        HttpTransport::new(url, Some(paired.token)).map_err(|e| e.to_string())?;
                    sync(&t)?;
                    transport = Some(t);
                    Ok::<_, String>(format!("PAIRED {}", ctx.store().device_id()))
                })(),
                None => Err("usage: pair <hub url> <code>".to_string()),
            },
            Some(("publish", text)) => match &transport {
                None => Err("not paired".to_string()),
                Some(t) => publish(&ctx, text).and_then(|id| {
                    let pushed = sync(t)?;
                    if pushed == 0 {
                        return Err("the hub confirmed nothing".to_string());
                    }
                    Ok(format!("PUBLISHED {id}"))
                }),
            },
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
