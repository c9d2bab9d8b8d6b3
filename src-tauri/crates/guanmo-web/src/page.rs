//! The live page's HTML, rendered with maud so every piece of post text is escaped, and the
//! page's static CSS and JS. The page reads fully without JavaScript; the script only adds
//! live updates. Asset URLs carry a content hash, so they may be cached forever.

use crate::page_meta::{self, SiteMeta};
use guanmo_api::comments::PublicComments;
use guanmo_api::feed::PublicPost;
use guanmo_domain::comments::{PublicComment, EVENT_TARGET};
use guanmo_domain::feed::beijing_stamp;
use maud::{html, Markup, DOCTYPE};

/// The page's stylesheet.
pub(crate) const CSS: &str = include_str!("../static/feed.css");
/// The page's script: when its work starts (after the first screen is shown), live updates,
/// then likes and comments, then the 传播数据 beacon.
pub(crate) const JS: &str = concat!(
    include_str!("../static/start.js"),
    include_str!("../static/live.js"),
    include_str!("../static/comments.js"),
    include_str!("../static/reach.js"),
    include_str!("../static/stops.js")
);
/// Version tags of the assets (FNV-1a of their bytes), for cache-busting URLs.
pub(crate) const CSS_VERSION: u64 = fnv1a(CSS.as_bytes());
pub(crate) const JS_VERSION: u64 = fnv1a(JS.as_bytes());

const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

/// How to render the page.
pub(crate) struct PageOptions<'a> {
    /// Prefix of every site URL: `/` on the server, empty (relative) in the static export.
    pub base: &'a str,
    /// Site title.
    pub title: &'a str,
    /// Include the live script (first page on the server only).
    pub live: bool,
    /// Poll interval without EventSource, in seconds.
    pub poll_seconds: u32,
    /// The feed version the page shows (the live stream continues from there).
    pub seq: i64,
    /// Link to the next (older) page.
    pub next_cursor: Option<&'a str>,
    /// This is not the first page (show a link back to the newest).
    pub paged: bool,
    /// The server's page: stops, the current stop, absolute URLs, photo sizes (the static
    /// export has none).
    pub site: Option<&'a SiteMeta<'a>>,
}

/// The comment area of the static export: what residents saw of the comments when it was
/// written, read-only (no form, no buttons, no script).
pub(crate) struct Snapshot<'a> {
    /// The public view of the comments, as `GET /api/comments` gives it.
    pub comments: &'a PublicComments,
    /// When the export was written, RFC 3339.
    pub taken_at: &'a str,
    /// The live site's address on the internet (公网地址), where residents can comment.
    pub live_url: Option<&'a str>,
}

impl Snapshot<'_> {
    fn likes(&self, target: &str) -> u32 {
        self.comments
            .likes
            .iter()
            .find(|(t, _)| t == target)
            .map_or(0, |(_, n)| *n)
    }
}

/// One approved comment, in the markup `comments.js` builds on the live page (less its
/// 举报 button).
fn comment_markup(c: &PublicComment) -> Markup {
    html! {
        li.cm.pinned[c.pinned] id={ "c-" (c.id) } {
            div.cm-head {
                @if c.pinned { span.pin { "置顶" } }
                b.nick { (c.nickname) }
                span.kind { (c.kind.label()) }
                @if let Some(t) = &c.township { span.tw { (t) } }
                time datetime=(c.created_at) { (beijing_stamp(&c.created_at).unwrap_or_default()) }
            }
            p.cm-text { (c.text) }
            @if let Some(r) = &c.reply {
                div.reply.official[r.official] {
                    @if r.official {
                        span.badge { "官方回复" }
                        b { (r.township.as_deref().unwrap_or("相关部门")) ":" }
                    } @else {
                        b { (r.township.as_deref().unwrap_or("相关部门")) "回复:" }
                    }
                    span { (r.text) }
                    time datetime=(r.at) { (beijing_stamp(&r.at).unwrap_or_default()) }
                }
            }
        }
    }
}

/// The read-only comments of `target` (a post id or `event`): its like count and approved
/// comments; nothing when there are neither (`always` renders the section anyway).
fn snapshot_section(target: &str, s: &Snapshot, always: bool) -> Markup {
    let likes = s.likes(target);
    let mut list = s
        .comments
        .comments
        .iter()
        .filter(|c| c.target == target)
        .peekable();
    let any = list.peek().is_some();
    html! {
        @if always || any || likes > 0 {
            section.cms.snapshot data-target=(target) {
                @if likes > 0 {
                    div.cm-bar { span.like-n { "点赞 " (likes) } }
                }
                @if any {
                    ul.cm-list { @for c in list { (comment_markup(c)) } }
                }
            }
        }
    }
}

/// The event's comment area in the static export: the note that it is a snapshot (and where
/// to comment live), or that the area is closed, then the event's comments.
fn snapshot_event(s: &Snapshot) -> Markup {
    let when = beijing_stamp(s.taken_at).unwrap_or_default();
    let open = s.comments.open;
    html! {
        section #event-comments.snapshot {
            h2 { "为家乡点赞 · 留言" }
            @if open {
                p.snapshot-note {
                    "评论区为导出时(" (when) ")的快照,仅供阅读;发表评论请访问直播页面"
                    @if let Some(url) = s.live_url { ":" a href=(url) { (url) } } @else { "。" }
                }
            } @else {
                p.closed-note { "评论区已关闭" }
                p.snapshot-note {
                    "本页为导出时(" (when) ")的快照。"
                    @if let Some(url) = s.live_url { "直播页面:" a href=(url) { (url) } }
                }
            }
            (snapshot_section(EVENT_TARGET, s, false))
            @if open && s.comments.comments.is_empty() {
                p.hint { "暂无评论。" }
            }
        }
    }
}

fn post_markup(
    p: &PublicPost,
    base: &str,
    snap: Option<&Snapshot>,
    site: Option<&SiteMeta>,
    first: bool,
) -> Markup {
    let n = p.photos.len();
    let stop_link = site.and_then(|m| m.stop_link(base, &p.id));
    let size = |h: &str| site.and_then(|m| m.sizes.get(h).copied());
    let w = site.and_then(|m| m.view.watermark.as_deref());
    html! {
        article.post.pinned[p.pinned] id={ "p-" (p.id) } data-published=(p.published_at) {
            header.meta {
                @if p.pinned { span.pin { "置顶" } }
                time datetime=(p.published_at) { (p.time) }
                @if let Some(label) = &p.stop_label {
                    @if let Some(href) = &stop_link { a.stop href=(href) { (label) } }
                    @else { span.stop { (label) } }
                }
            }
            @for para in &p.paragraphs { p { (para) } }
            @if n > 0 {
                div class={ "photos n" (n) } {
                    @for (i, hash) in p.photos.iter().enumerate() {
                        (page_meta::photo(base, w, hash, i, n, size(hash), first))
                    }
                }
            }
            @if !p.credit.is_empty() { p.credit { (p.credit) } }
            // 审核流程: 责任编辑 and 审核, when the organiser has them printed.
            @if p.editor.is_some() || p.approver.is_some() {
                p.signoff {
                    @if let Some(e) = &p.editor { "责任编辑：" (e) }
                    @if p.editor.is_some() && p.approver.is_some() { " " }
                    @if let Some(a) = &p.approver { "审核：" (a) }
                }
            }
            @if let Some(t) = &p.updated_time { p.updated { "已更新 " (t) } }
            @if let Some(s) = snap { (snapshot_section(&p.id, s, false)) }
        }
    }
}

/// The comment form, hidden until a resident taps 写评论. `website` is a honeypot that
/// people never see.
fn comment_dialog() -> Markup {
    html! {
        div #comment-dialog.dialog hidden {
            form #comment-form.sheet novalidate {
                h2 #cf-title { "发表评论" }
                input type="hidden" name="target" value="event";
                label { "昵称" input name="nickname" maxlength="20" required autocomplete="nickname"; }
                fieldset.kinds {
                    legend { "类型" }
                    label { input type="radio" name="kind" value="praise" checked; "点赞家乡" }
                    label { input type="radio" name="kind" value="suggestion"; "意见建议" }
                    label { input type="radio" name="kind" value="other"; "其他" }
                }
                label { "内容 " span #cf-count.count { "0/500" }
                    textarea name="text" rows="4" maxlength="500" required {} }
                label { "涉及乡镇(可不选)"
                    select name="township_id" { option value="" { "不选" } } }
                label { "手机号" input name="phone" type="tel" inputmode="numeric" maxlength="14"
                    required autocomplete="tel"; }
                div #cf-code-row.code-row hidden {
                    label { "短信验证码" input name="code" inputmode="numeric" maxlength="6"
                        autocomplete="one-time-code"; }
                    button type="button" #cf-send { "获取验证码" }
                }
                p.notice { "手机号仅用于后台实名核验(后台实名、前台自愿),不会公开显示,"
                    "审核人员只能看到部分号码;评论及号码依规至少保存180天(网络日志留存要求),仅供核查。所有评论经审核后才会显示。" }
                label.hp aria-hidden="true" { "网址" input name="website" tabindex="-1" autocomplete="off"; }
                p #cf-msg.msg role="alert" {}
                div.actions {
                    button type="button" #cf-cancel { "取消" }
                    button type="submit" { "提交" }
                }
            }
        }
    }
}

/// The whole page: pinned post first, then `posts` newest first.
pub(crate) fn render(pinned: Option<&PublicPost>, posts: &[PublicPost], o: &PageOptions) -> String {
    render_page(pinned, posts, o, None)
}

/// The static export's page: [`render`] with the comments as `snap` holds them, read-only.
pub(crate) fn render_snapshot(
    pinned: Option<&PublicPost>,
    posts: &[PublicPost],
    o: &PageOptions,
    snap: &Snapshot,
) -> String {
    render_page(pinned, posts, o, Some(snap))
}

fn render_page(
    pinned: Option<&PublicPost>,
    posts: &[PublicPost],
    o: &PageOptions,
    snap: Option<&Snapshot>,
) -> String {
    let home = if o.base.is_empty() { "./" } else { o.base };
    // Comments and likes need the server: the static export shows a read-only snapshot
    // instead (see `render_snapshot`).
    let comments = !o.base.is_empty();
    let site = o.site;
    let title = page_meta::title(o.title, site);
    let description = page_meta::description(o.title, site);
    // The first post with photos is what residents see first: its photos load at once.
    let first_photos = pinned
        .into_iter()
        .chain(posts)
        .find(|p| !p.photos.is_empty())
        .filter(|_| !o.paged);
    let first = |p: &PublicPost| first_photos.is_some_and(|f| f.id == p.id);
    let size = |h: &str| site.and_then(|m| m.sizes.get(h).copied());
    // The 台标 digest the photo links name (the live script's new photos too).
    let watermark = site.and_then(|m| m.view.watermark.as_deref());
    let more_href = |c: &str| match site.and_then(|m| m.filter) {
        Some(s) => format!("{home}?stop={}&cursor={c}", s.position),
        None => format!("{home}?cursor={c}"),
    };
    let markup = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (title) }
                meta name="description" content=(description);
                @if let Some(m) = site { (page_meta::head(o.title, &title, &description, m)) }
                @if let Some(p) = first_photos {
                    (page_meta::preload(o.base, watermark, &p.photos[0], p.photos.len(), size(&p.photos[0])))
                }
                link rel="stylesheet" href={ (o.base) "static/feed.css?v=" (format!("{CSS_VERSION:x}")) };
            }
            body data-live=[o.live.then_some("1")] data-poll=(o.poll_seconds) data-seq=(o.seq)
                data-more=[o.next_cursor.map(|_| "1")] data-comments=[comments.then_some("1")]
                data-stop=[site.and_then(|m| m.filter).map(|s| s.position)] data-w=[watermark] {
                header.top {
                    h1 { (o.title) }
                    p.sub {
                        span.badge { "图文直播" } " "
                        @if o.paged { a href=(home) { "返回最新" } } @else { a href=(home) { "刷新" } }
                    }
                    @if let Some(m) = site { (page_meta::banner(o.base, m)) }
                }
                @if let Some(m) = site {
                    (page_meta::stop_picker(o.base, m))
                    (page_meta::stop_heading(o.base, o.title, m))
                }
                main #feed {
                    @if let Some(p) = pinned { (post_markup(p, o.base, snap, site, first(p))) }
                    @for p in posts { (post_markup(p, o.base, snap, site, first(p))) }
                }
                @if pinned.is_none() && posts.is_empty() && site.and_then(|m| m.filter).is_none() {
                    p.empty { "直播尚未开始,请稍后刷新。" }
                }
                @if let Some(c) = o.next_cursor {
                    nav.more { a href=(more_href(c)) { "查看更早的动态" } }
                }
                @if comments {
                    section #event-comments {
                        h2 { "为家乡点赞 · 留言" }
                        noscript { p.hint { "开启 JavaScript 后可以点赞和发表评论。" } }
                    }
                    div #my-comments {}
                    (comment_dialog())
                }
                @if let Some(s) = snap { (snapshot_event(s)) }
                @if o.live || comments {
                    script src={ (o.base) "static/live.js?v=" (format!("{JS_VERSION:x}")) } defer {}
                }
            }
        }
    };
    markup.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use guanmo_domain::comments::{CommentKind, PublicReply};

    fn comment(reply: PublicReply) -> PublicComment {
        PublicComment {
            id: "c1".into(),
            target: "event".into(),
            nickname: "宜阳居民".into(),
            kind: CommentKind::Praise,
            text: "为美丽宜阳点赞".into(),
            township: None,
            created_at: "2024-12-04T01:00:00Z".into(),
            pinned: false,
            reply: Some(reply),
        }
    }

    fn post(id: &str, photos: &[&str]) -> PublicPost {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "paragraphs": ["观摩团走进现场。"],
            "photos": photos,
            "credit": "",
            "pinned": false,
            "published_at": "2024-12-04T01:00:00Z",
            "time": "12月4日 09:00",
        }))
        .unwrap()
    }

    fn options(paged: bool) -> PageOptions<'static> {
        PageOptions {
            base: "/",
            title: "观摩会",
            live: !paged,
            poll_seconds: 15,
            seq: 1,
            next_cursor: None,
            paged,
            site: None,
        }
    }

    #[test]
    fn the_head_preloads_the_first_photo_on_screen_and_an_older_page_preloads_none() {
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        let posts = [post("p1", &[]), post("p2", &[&a]), post("p3", &[&b])];
        let html = render(None, &posts, &options(false));
        let head = &html[..html.find("</head>").unwrap()];
        assert_eq!(head.matches(r#"rel="preload""#).count(), 1, "{head}");
        assert!(
            head.contains(&format!(r#"href="/media/{a}/800.jpg""#)),
            "{head}"
        );
        // The preload comes before the stylesheet, so the photo is asked for at once.
        assert!(head.find("preload").unwrap() < head.find("stylesheet").unwrap());
        assert!(html.contains(r#"fetchpriority="high""#));
        let older = render(None, &posts, &options(true));
        assert!(
            !older.contains("preload"),
            "an older page loads its photos lazily"
        );
    }

    #[test]
    fn an_official_reply_is_marked_and_names_its_department_a_townships_says_who_replied() {
        let official = comment(PublicReply {
            township: Some("常宁市委宣传部".into()),
            official: true,
            text: "感谢点赞".into(),
            at: "2024-12-04T02:00:00Z".into(),
        });
        let html = comment_markup(&official).into_string();
        assert!(
            html.contains(r#"<div class="reply official"><span class="badge">官方回复</span><b>常宁市委宣传部:</b><span>感谢点赞</span>"#),
            "{html}"
        );
        let township = comment(PublicReply {
            township: Some("宜阳街道".into()),
            official: false,
            text: "已安排".into(),
            at: "2024-12-04T02:00:00Z".into(),
        });
        let html = comment_markup(&township).into_string();
        assert!(
            html.contains(r#"<div class="reply"><b>宜阳街道回复:</b><span>已安排</span>"#),
            "{html}"
        );
    }
}
