//! A 直播电脑 (media laptop) over a fresh temp data folder, steered through stdin, for the
//! browser tests that run the real `guanmo serve` (`tests/resident/nginx.test.mjs`): posts
//! reach that hub the way they do in production, published on a laptop and pushed over the
//! peer protocol. Commands, one per stdin line, each answered with one stdout line:
//! `pair <hub url> <code> [fingerprint]` pairs with the hub as the app does
//! ([`guanmo_sync::pair_over_http`], pinning the hub certificate's SHA-256 when given) and
//! pulls once (`PAIRED <device id>`); `publish <text>` publishes a text-only post here, then
//! syncs over the stored link, and answers `PUBLISHED <post id>` once the hub has confirmed
//! it; `sync` runs one exchange (`SYNCED <ops applied here>`); `approve <text>` approves the
//! comment in this laptop's 待审核 queue whose text contains `<text>` (as a moderator the hub
//! granted 审核; refused with `hub_only` without the grant), syncs, and answers
//! `APPROVED <comment id> <phone as this laptop holds it>` once the hub has accepted it; a
//! failure answers `ERROR <code> <message>` (`code` as the UI sees it, e.g. `cert_changed`).
//! It exits when stdin closes. Never touches the real app-data dir.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use guanmo_api::comments::{self, Decision, QueueKind};
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

/// Approves the pending comment whose text contains `text`: its id and masked phone.
fn approve(ctx: &Ctx, text: &str) -> Result<(String, String), String> {
    let queue = comments::queue(ctx, QueueKind::Pending).map_err(failed)?;
    let item = queue
        .into_iter()
        .find(|i| i.comment.text.contains(text))
        .ok_or_else(|| format!("not_found no pending comment contains {text}"))?;
    let report = comments::decide(
        ctx,
        std::slice::from_ref(&item.comment.id),
        Decision::Approve,
    )
    .map_err(failed)?;
    match report.refused.first() {
        Some(p) => Err(format!("validation {}", p.message)),
        None => Ok((item.comment.id, item.comment.phone_masked)),
    }
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
    let exchange = || guanmo_sync::auto::http_exchange(&ctx, &media, &|_| {}).map_err(failed);
    let sync = || exchange().map(|r| r.pushed);

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
            Some(("approve", text)) => approve(&ctx, text).and_then(|(id, phone)| {
                let r = exchange()?;
                match (r.pushed, r.refused_by_hub) {
                    (0, _) => Err("the hub confirmed nothing".to_string()),
                    (_, 0) => Ok(format!("APPROVED {id} {phone}")),
                    (_, n) => Err(format!("refused the hub refused {n} decision(s)")),
                }
            }),
            None if line == "sync" => exchange().map(|r| format!("SYNCED {}", r.applied)),
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
