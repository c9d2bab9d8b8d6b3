//! The static export's comments: the approved ones exactly as the public comments endpoint
//! gives them (pinned first, the township's reply, like counts), read-only (no form, no
//! button, no script) with a note that they are a snapshot and where to comment live; never
//! a pending, rejected, taken-down or hidden comment, a comment of a retracted post, a phone
//! number or a phone's key; a closed area exported as closed.
// Helpers outside `#[test]` functions unwrap too: a failing fixture should fail the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use chrono::{DateTime, Duration, Utc};
use guanmo_api::comments::{self as api, Decision, MuteOptions, PublicComments, Submission};
use guanmo_api::Ctx;
use guanmo_domain::comments::{CommentInput, CommentKind};
use guanmo_domain::feed::{Post, PostInput};
use guanmo_domain::FixedClock;
use guanmo_web::{export_static, public_router, ExportReport, MediaSource, WebConfig, WebState};
use http_body_util::BodyExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower::ServiceExt;

struct DirMedia(PathBuf);

impl MediaSource for DirMedia {
    fn derived_path(&self, hash: &str, long_side: u32) -> Option<PathBuf> {
        let p = self.0.join(format!("{hash}.{long_side}.jpg"));
        p.is_file().then_some(p)
    }
}

/// Every full number and phone key the fixtures use: none may reach the export.
const PHONES: [&str; 5] = [
    "13812341234",
    "13712345678",
    "13598765432",
    "18600001111",
    "15900002222",
];

struct Site {
    _dir: tempfile::TempDir,
    ctx: Ctx,
    clock: Arc<FixedClock>,
    state: WebState,
    media: PathBuf,
    keys: std::cell::RefCell<Vec<String>>,
}

impl Site {
    fn new() -> Site {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(
            DateTime::parse_from_rfc3339("2024-12-04T00:30:00Z")
                .unwrap()
                .with_timezone(&Utc),
        ));
        let ctx = Ctx::open(&dir.path().join("data"), clock.clone()).unwrap();
        let media = dir.path().join("media");
        std::fs::create_dir_all(&media).unwrap();
        let state = WebState::new(
            ctx.clone(),
            Arc::new(DirMedia(media.clone())),
            WebConfig {
                title: "常宁市乡镇(街道)工作现场观摩会".into(),
                ..WebConfig::default()
            },
        )
        .unwrap();
        Site {
            _dir: dir,
            ctx,
            clock,
            state,
            media,
            keys: std::cell::RefCell::new(Vec::new()),
        }
    }

    fn photo(&self, c: char) -> String {
        let hash: String = std::iter::repeat_n(c, 64).collect();
        for side in [320, 800, 1600] {
            std::fs::write(
                self.media.join(format!("{hash}.{side}.jpg")),
                format!("jpeg {side}"),
            )
            .unwrap();
        }
        hash
    }

    fn post(&self, body: &str, photos: Vec<String>) -> Post {
        self.clock.advance(Duration::minutes(5));
        let d = guanmo_api::feed::create_draft(
            &self.ctx,
            PostInput {
                stop_label: Some("【第6站·水口山镇】".into()),
                township_id: None,
                body: body.into(),
                photos,
                credit: "记者 李明 摄".into(),
            },
        )
        .unwrap();
        guanmo_api::feed::publish_post(&self.ctx, &d.id, d.version).unwrap()
    }

    /// A resident's comment on `target` from phone `phone` (index into [`PHONES`]), pending.
    fn comment(&self, target: &str, nickname: &str, text: &str, phone: usize) -> String {
        self.clock.advance(Duration::minutes(1));
        let key = format!("phonekey{phone:02}{}", "9".repeat(20));
        self.keys.borrow_mut().push(key.clone());
        api::submit(
            &self.ctx,
            Submission {
                input: CommentInput {
                    target: target.into(),
                    nickname: nickname.into(),
                    kind: CommentKind::Praise,
                    text: text.into(),
                    township_id: None,
                    phone: PHONES[phone].into(),
                },
                client_key: key,
                peer: "10.0.0.2".into(),
                phone_verified: false,
            },
        )
        .unwrap()
        .id
    }

    fn approve(&self, ids: &[&str]) {
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        let r = api::decide(&self.ctx, &ids, Decision::Approve).unwrap();
        assert!(r.refused.is_empty(), "{:?}", r.refused);
    }

    fn reject(&self, id: &str) {
        api::decide(
            &self.ctx,
            &[id.to_string()],
            Decision::Reject {
                reason: "广告".into(),
            },
        )
        .unwrap();
    }

    fn export(&self) -> (tempfile::TempDir, ExportReport, String, String) {
        let out = tempfile::tempdir().unwrap();
        let report = export_static(&self.state, out.path()).unwrap();
        let html = std::fs::read_to_string(out.path().join("index.html")).unwrap();
        let json = std::fs::read_to_string(out.path().join("api/comments.json")).unwrap();
        (out, report, html, json)
    }

    /// What `GET /api/comments` answers now.
    async fn endpoint(&self) -> String {
        let r = public_router(self.state.clone())
            .oneshot(
                Request::builder()
                    .uri("/api/comments")
                    .header(header::HOST, "localhost:8080")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let b = r.into_body().collect().await.unwrap().to_bytes();
        String::from_utf8(b.to_vec()).unwrap()
    }
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Runs of 11 or more ASCII digits standing on their own (not inside a hex hash or id).
fn long_numbers(bytes: &[u8]) -> Vec<String> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let inside_word = (start > 0 && bytes[start - 1].is_ascii_alphabetic())
                || (i < bytes.len() && bytes[i].is_ascii_alphabetic());
            if i - start >= 11 && !inside_word {
                found.push(String::from_utf8_lossy(&bytes[start..i]).into_owned());
            }
        } else {
            i += 1;
        }
    }
    found
}

/// Scans every file of the export: no full number, no phone key, no run of 11 digits.
fn assert_no_personal_data(site: &Site, dir: &Path) {
    let mut all = Vec::new();
    files(dir, &mut all);
    assert!(all.len() >= 4, "{all:?}");
    for f in all {
        let bytes = std::fs::read(&f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for n in PHONES {
            assert!(!text.contains(n), "{} holds {n}", f.display());
        }
        for k in site.keys.borrow().iter() {
            assert!(
                !text.contains(k.as_str()),
                "{} holds a phone key",
                f.display()
            );
        }
        let long = long_numbers(&bytes);
        assert!(long.is_empty(), "{} holds {long:?}", f.display());
    }
}

fn assert_read_only(html: &str) {
    let lower = html.to_lowercase();
    for bad in [
        "<form",
        "<script",
        "<button",
        "<input",
        "<textarea",
        "举报",
        "写评论",
    ] {
        assert!(!lower.contains(bad), "the export holds {bad}");
    }
}

#[tokio::test]
async fn approved_comments_are_exported_as_residents_see_them_and_nothing_else() {
    let site = Site::new();
    let photo = site.photo('b');
    let p = site.post("观摩团来到水口山镇。", vec![photo]);
    let gone = site.post("这条后来撤回了。", vec![]);

    let first = site.comment("event", "宜阳居民", "为美丽宜阳点赞!", 0);
    let pinned = site.comment("event", "老宜阳", "置顶的这条最先显示", 1);
    let on_post = site.comment(&p.id, "水口山人", "水口山的变化真大", 1);
    let hostile = site.comment("event", "<b>坏人</b>", "<script>alert(1)</script>好", 0);
    let pending = site.comment("event", "等待的人", "还在待审核的评论", 2);
    let rejected = site.comment("event", "广告号", "驳回的广告评论", 2);
    let taken_down = site.comment("event", "撤下的人", "通过后又被驳回的评论", 2);
    let hidden = site.comment("event", "被禁言的人", "作者被禁言并隐藏的评论", 3);
    let on_gone = site.comment(&gone.id, "路人", "撤回动态下的评论", 4);

    // A suggestion handed to a township and answered: the reply shows under it.
    let township = guanmo_api::roster::list_townships(&site.ctx).unwrap()[5].clone();
    site.clock.advance(Duration::minutes(1));
    let suggestion = api::submit(
        &site.ctx,
        Submission {
            input: CommentInput {
                target: "event".into(),
                nickname: "热心市民".into(),
                kind: CommentKind::Suggestion,
                text: "建议在镇政府门口增设公交站".into(),
                township_id: Some(township.id.clone()),
                phone: PHONES[4].into(),
            },
            client_key: "phonekey-suggestion".into(),
            peer: "10.0.0.3".into(),
            phone_verified: false,
        },
    )
    .unwrap()
    .id;
    site.keys
        .borrow_mut()
        .push("phonekey-suggestion".to_string());
    api::assign(&site.ctx, &suggestion, &township.id).unwrap();
    api::answer(&site.ctx, &suggestion, "已在镇政府门口增设公交站。").unwrap();

    site.approve(&[
        &first,
        &pinned,
        &on_post,
        &hostile,
        &taken_down,
        &hidden,
        &on_gone,
        &suggestion,
    ]);
    site.reject(&rejected);
    site.reject(&taken_down);
    api::pin(&site.ctx, &pinned, true).unwrap();
    api::mute_author_with(
        &site.ctx,
        &hidden,
        7,
        "刷屏",
        MuteOptions {
            hide_comments: true,
        },
    )
    .unwrap();
    guanmo_api::feed::retract_post(&site.ctx, &gone.id).unwrap();
    api::like(&site.ctx, "event", "liker-1").unwrap();
    api::like(&site.ctx, "event", "liker-2").unwrap();
    api::like(&site.ctx, &p.id, "liker-1").unwrap();
    let _ = &pending;

    let (out, report, html, json) = site.export();

    // api/comments.json is what the endpoint answers, byte for byte.
    assert_eq!(json, site.endpoint().await);
    let public: PublicComments = serde_json::from_str(&json).unwrap();
    assert!(public.open);
    let texts: Vec<&str> = public.comments.iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts.len(), 5, "{texts:?}");
    assert_eq!(texts[0], "置顶的这条最先显示", "pinned first");
    assert_eq!(report.comments, 5);
    assert_eq!(report.posts, 1);

    for shown in [
        "为美丽宜阳点赞!",
        "置顶的这条最先显示",
        "水口山的变化真大",
        "建议在镇政府门口增设公交站",
        "已在镇政府门口增设公交站。",
        "宜阳居民",
    ] {
        assert!(html.contains(shown), "index.html lacks {shown}");
    }
    for never in [
        "还在待审核的评论",
        "驳回的广告评论",
        "通过后又被驳回的评论",
        "作者被禁言并隐藏的评论",
        "撤回动态下的评论",
        "撤回了",
    ] {
        assert!(!html.contains(never), "index.html shows {never}");
        assert!(!json.contains(never), "comments.json shows {never}");
    }
    // The live page's markup: the pinned comment first in the event's list, the reply by
    // the township, the post's comment inside its article, the like counts.
    let pin_at = html.find("置顶的这条最先显示").unwrap();
    let first_at = html.find("为美丽宜阳点赞!").unwrap();
    assert!(pin_at < first_at, "pinned first");
    assert!(html.contains(&format!(r#"<li class="cm pinned" id="c-{pinned}">"#)));
    assert!(html.contains(&format!(r#"<li class="cm" id="c-{first}">"#)));
    assert!(html.contains(&format!("{}回复:", township.name)));
    let article = &html[html.find(&format!(r#"id="p-{}""#, p.id)).unwrap()..];
    let article = &article[..article.find("</article>").unwrap()];
    assert!(article.contains("水口山的变化真大") && article.contains("点赞 1"));
    assert!(html.contains("点赞 2"), "the event's likes");
    assert!(html.contains(r#"<b class="nick">&lt;b&gt;坏人&lt;/b&gt;</b>"#));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;好"));

    // Read-only, and says so; no 公网地址 set, so no link.
    assert_read_only(&html);
    assert!(html.contains("评论区为导出时(12月4日"));
    assert!(html.contains("发表评论请访问直播页面"));
    assert!(!html.contains("href=\"http"), "no address to link to");
    assert!(!html.contains("评论区已关闭"));
    assert_no_personal_data(&site, out.path());
}

#[tokio::test]
async fn the_live_address_is_linked_when_there_is_one() {
    let site = Site::new();
    let mut s = guanmo_api::site::get_site_settings(&site.ctx).unwrap();
    s.public_url = "live.example.cn/guanmo".into();
    guanmo_api::site::set_site_settings(&site.ctx, s).unwrap();
    let c = site.comment("event", "宜阳居民", "为美丽宜阳点赞!", 0);
    site.approve(&[&c]);
    let (out, report, html, _) = site.export();
    assert_eq!(report.comments, 1);
    assert!(
        html.contains(
            r#"<a href="https://live.example.cn/guanmo/">https://live.example.cn/guanmo/</a>"#
        ),
        "{html}"
    );
    assert_read_only(&html);
    assert_no_personal_data(&site, out.path());
}

#[tokio::test]
async fn a_closed_comment_area_is_exported_closed() {
    let site = Site::new();
    site.post("观摩团来到水口山镇。", vec![]);
    let c = site.comment("event", "宜阳居民", "关闭前通过的评论", 0);
    site.approve(&[&c]);
    api::set_area_open(&site.ctx, false, Some("会议结束".into())).unwrap();
    let (out, report, html, json) = site.export();
    assert_eq!(json, site.endpoint().await);
    let public: PublicComments = serde_json::from_str(&json).unwrap();
    assert!(!public.open && public.comments.is_empty());
    assert_eq!(report.comments, 0);
    assert!(html.contains("评论区已关闭"));
    assert!(!html.contains("关闭前通过的评论"));
    assert!(!html.contains("发表评论请访问"), "nowhere to comment");
    assert_read_only(&html);
    assert_no_personal_data(&site, out.path());
}

#[tokio::test]
async fn an_export_without_comments_is_read_only_and_the_live_page_is_unchanged() {
    let site = Site::new();
    site.post("观摩团来到水口山镇。", vec![]);
    let (out, report, html, json) = site.export();
    assert_eq!(report.comments, 0);
    assert_eq!(json, site.endpoint().await);
    assert!(html.contains("暂无评论"));
    assert_read_only(&html);
    assert_no_personal_data(&site, out.path());

    // The live page still has its form and script, and no snapshot note.
    let r = public_router(site.state.clone())
        .oneshot(
            Request::builder()
                .uri("/")
                .header(header::HOST, "localhost:8080")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let b = r.into_body().collect().await.unwrap().to_bytes();
    let live = String::from_utf8(b.to_vec()).unwrap();
    assert!(live.contains("<form") && live.contains("<script"));
    assert!(!live.contains("快照") && !live.contains("snapshot"));
}

#[test]
fn the_digit_scan_finds_numbers_but_not_hashes() {
    assert_eq!(long_numbers(b"tel 13812341234."), vec!["13812341234"]);
    assert_eq!(long_numbers(b"\"138123412345\""), vec!["138123412345"]);
    assert!(long_numbers(b"1381234123").is_empty());
    assert!(long_numbers(b"ab13812341234cd").is_empty());
    assert!(long_numbers(b"2024-12-04T00:30:00Z").is_empty());
}
