//! A resident site over a fresh temp data folder, steered through stdin, for the browser tests
//! in `tests/resident/` (playwright-core + Debian's Chromium). It prints `LISTENING <port>`,
//! then for each stdin line `publish <text>` publishes a post through guanmo-api and prints
//! `PUBLISHED <id>`, and for `retract <id>` retracts it and prints `RETRACTED <id>`;
//! `approve-pending all` approves every pending comment as a moderator would in the desktop app
//! and prints `APPROVED <n>`; `words <w>` adds a sensitive word and prints `WORDS <total>`;
//! `sms <url>` points SMS verification at a gateway (`sms off` turns it off) and prints `SMS`.
//! `publish-stop <position> <text>` publishes a post about that stop (e.g. `publish-stop 8 …`
//! for 【第8站·荫田镇】) and prints `PUBLISHED <id>`.
//! `GUANMO_FIXTURE_POLL_SECONDS` sets the interval polling pages use.
//! `GUANMO_FIXTURE_SHOWCASE=1` makes the site a live tour as residents meet it: the tour is
//! today (day 1: stops 1–8 from 00:00, so 第8站 is current; day 2 tomorrow), a dozen posts with
//! camera-sized photos (JPEG, 2000×1500, through the real photo store) across stops 5–8, a
//! pinned opening post, approved comments and likes. It exits when stdin closes. Never
//! touches the real app-data dir.
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

/// Publishes a post about the stop at `position` with `photos`.
fn publish_at(ctx: &Ctx, position: i32, text: &str, photos: Vec<String>) -> String {
    let t = guanmo_api::roster::list_townships(ctx)
        .unwrap()
        .into_iter()
        .find(|t| t.position == position)
        .unwrap();
    let draft = feed::create_draft(
        ctx,
        PostInput {
            stop_label: Some(guanmo_domain::feed::stop_label_for(t.position, &t.name)),
            township_id: Some(t.id),
            body: text.into(),
            photos,
            credit: "记者 测试 摄".into(),
        },
    )
    .unwrap();
    feed::publish_post(ctx, &draft.id, draft.version)
        .unwrap()
        .id
}

/// A camera-like JPEG: sky, hills, buildings and grain, `w`×`h`, seeded by `seed`.
fn photo_jpeg(seed: u32, w: usize, h: usize) -> Vec<u8> {
    let mut px = vec![0u8; w * h * 3];
    let mut rng = seed.wrapping_mul(2_654_435_761).max(1);
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        rng
    };
    let tint = (seed * 37 % 60) as i32;
    let horizon = h * (45 + (seed as usize * 7) % 20) / 100;
    let blocks: Vec<(usize, usize, usize, [i32; 3])> = (0..8)
        .map(|i| {
            let x = (next() as usize) % w;
            let bw = w / 12 + (next() as usize) % (w / 8);
            let bh = h / 6 + (next() as usize) % (h / 4);
            let c = [
                120 + (next() % 120) as i32,
                80 + (next() % 120) as i32,
                60 + ((next() + i) % 120) as i32,
            ];
            (x, bw, bh, c)
        })
        .collect();
    for y in 0..h {
        let row: [i32; 3] = if y < horizon {
            let t = (y * 255 / horizon) as i32;
            [90 + t / 3, 140 + t / 4, 230 - t / 5 - tint]
        } else {
            [60 + tint, 120, 50 + (y * 40 / h) as i32]
        };
        for x in 0..w {
            let wave = if y < horizon {
                0
            } else {
                ((x / 40) % 5) as i32 * 6
            };
            let grain = (next() % 25) as i32 - 12;
            let o = (y * w + x) * 3;
            for k in 0..3 {
                px[o + k] = (row[k] + wave + grain).clamp(0, 255) as u8;
            }
        }
    }
    // Buildings standing on the horizon, with rows of windows.
    for (bx, bw, bh, bc) in &blocks {
        let base = (horizon + h / 8).min(h);
        for y in base.saturating_sub(*bh)..base {
            for x in *bx..(bx + bw).min(w) {
                let dim = if (x / 24 + y / 30) % 3 == 0 { 2 } else { 1 };
                let o = (y * w + x) * 3;
                for k in 0..3 {
                    px[o + k] = (bc[k] / dim).clamp(0, 255) as u8;
                }
            }
        }
    }
    let image = turbojpeg::Image {
        pixels: &px[..],
        width: w,
        pitch: w * 3,
        height: h,
        format: turbojpeg::PixelFormat::RGB,
    };
    turbojpeg::compress(image, 88, turbojpeg::Subsamp::Sub2x2)
        .unwrap()
        .to_vec()
}

/// Makes the site a live tour with photo posts and comments (see the file's doc).
fn showcase(ctx: &Ctx, media: &guanmo_media::MediaStore) {
    let today = ctx
        .now()
        .with_timezone(&guanmo_domain::schedule::beijing())
        .date_naive();
    guanmo_api::schedule::set_tour_settings(
        ctx,
        guanmo_domain::schedule::TourSettings {
            first_day: Some(today.format("%Y-%m-%d").to_string()),
        },
    )
    .unwrap();
    for t in guanmo_api::roster::list_townships(ctx).unwrap() {
        if !t.enabled {
            continue;
        }
        let (day, arrival) = if t.position <= 8 {
            (1, "00:00")
        } else {
            (2, "08:00")
        };
        guanmo_api::roster::update_township(
            ctx,
            &t.id,
            t.version,
            guanmo_domain::roster::TownshipInput {
                code: t.code.clone(),
                name: t.name.clone(),
                kind: t.kind,
                enabled: true,
                day: Some(day),
                arrival: Some(arrival.into()),
                slot_minutes: Some(40),
                note: String::new(),
            },
        )
        .unwrap();
    }
    let mut n = 0;
    let mut photos = |count: usize| -> Vec<String> {
        (0..count)
            .map(|_| {
                n += 1;
                let bytes = photo_jpeg(n, 2000, 1500);
                let got = media
                    .import_bytes("现场.jpg", &bytes, &guanmo_media::Limits::default())
                    .unwrap();
                guanmo_api::photos::record_imported(ctx, "现场.jpg", &got).unwrap();
                got.hash
            })
            .collect()
    };
    let opening = publish_at(
        ctx,
        1,
        "常宁市乡镇(街道)工作现场观摩会今天上午启程,观摩组将依次走进22个乡镇(街道)。",
        photos(1),
    );
    feed::pin_post(ctx, &opening).unwrap();
    let texts = [
        (5, 3, "观摩组来到柏坊镇,察看现代农业产业园建设情况。"),
        (5, 1, "柏坊镇党委书记介绍全镇产业发展思路。"),
        (6, 2, "水口山镇的工业遗址保护与利用让观摩组印象深刻。"),
        (6, 4, "在水口山镇矿区生态修复现场,昔日矿坑已披上绿装。"),
        (6, 1, "水口山镇便民服务中心实现“一站式”办理。"),
        (7, 3, "烟洲镇的油茶基地漫山青翠,油茶产业带动群众增收。"),
        (7, 1, "烟洲镇村级集体经济项目现场。"),
        (7, 2, "观摩组在烟洲镇听取乡村振兴工作汇报。"),
        (8, 3, "观摩组抵达荫田镇,察看集镇提质改造成果。"),
        (8, 1, "荫田镇的特色种植基地里,村民正在采收。"),
        (8, 2, "荫田镇新建的文化广场成为群众休闲好去处。"),
    ];
    for (stop, count, text) in texts {
        publish_at(ctx, stop, text, photos(count));
    }
    let comments_text = [
        "为家乡的变化点赞!",
        "荫田镇越来越美了,欢迎大家来做客。",
        "希望多报道一些村里的产业项目。",
        "水口山的生态修复做得真好。",
        "柏坊镇的产业园很有看头。",
        "直播很及时,辛苦记者了。",
        "烟洲的油茶是真的好。",
        "期待下一站!",
    ];
    for (i, text) in comments_text.iter().enumerate() {
        comments::submit(
            ctx,
            comments::Submission {
                input: guanmo_domain::comments::CommentInput {
                    target: guanmo_domain::comments::EVENT_TARGET.into(),
                    nickname: format!("常宁居民{}", i + 1),
                    kind: guanmo_domain::comments::CommentKind::Praise,
                    text: (*text).into(),
                    township_id: None,
                    phone: format!("1381234{:04}", 1000 + i),
                },
                client_key: format!("fixture-{i}"),
                peer: "127.0.0.1".into(),
                phone_verified: false,
            },
        )
        .unwrap();
        comments::like(
            ctx,
            guanmo_domain::comments::EVENT_TARGET,
            &format!("fixture-{i}"),
        )
        .unwrap();
    }
    let ids: Vec<String> = comments::queue(ctx, QueueKind::Pending)
        .unwrap()
        .into_iter()
        .map(|q| q.comment.id)
        .collect();
    comments::decide(ctx, &ids, Decision::Approve).unwrap();
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
    let media: Arc<dyn MediaSource> = if std::env::var("GUANMO_FIXTURE_SHOWCASE").is_ok() {
        let store = guanmo_media::MediaStore::new(dir.path()).unwrap();
        showcase(&ctx, &store);
        Arc::new(store)
    } else {
        Arc::new(NoPhotos)
    };
    let state = WebState::new(ctx.clone(), media, config).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let counting = state.clone();
    let server = tokio::spawn(serve(listener, public_router(state), async move {
        let _ = stop_rx.await;
    }));
    println!("LISTENING {port}");

    let steer = ctx.clone();
    tokio::task::spawn_blocking(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            match line.split_once(' ') {
                Some(("publish", text)) => println!("PUBLISHED {}", publish(&steer, text)),
                Some(("publish-stop", rest)) => {
                    let (position, text) = rest.split_once(' ').unwrap_or((rest, "站点动态"));
                    let id = publish_at(&steer, position.trim().parse().unwrap(), text, vec![]);
                    println!("PUBLISHED {id}");
                }
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
                // `reach now`: writes the 传播数据 counted so far and prints the report.
                Some(("reach", _)) => {
                    counting.flush_reach();
                    let r = guanmo_api::reach::report(&steer).unwrap();
                    println!("REACH {}", serde_json::to_string(&r).unwrap());
                }
                // `watermark on`: 台标 — a half-transparent red badge at 右下 on every public copy.
                Some(("watermark", _)) => {
                    let logo = std::env::temp_dir()
                        .join(format!("guanmo-fixture-logo-{}.png", std::process::id()));
                    let img = image::RgbaImage::from_fn(240, 96, |x, y| {
                        let edge = x < 8 || y < 8 || x >= 232 || y >= 88;
                        if edge {
                            image::Rgba([255, 255, 255, 255])
                        } else {
                            image::Rgba([200, 16, 46, 200])
                        }
                    });
                    img.save(&logo).unwrap();
                    let w =
                        guanmo_api::photos::watermark::set_watermark_logo(&steer, &logo).unwrap();
                    let _ = std::fs::remove_file(&logo);
                    println!("WATERMARK {}", w.digest.unwrap_or_default());
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
