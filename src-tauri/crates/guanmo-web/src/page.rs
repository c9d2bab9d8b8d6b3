//! The live page's HTML, rendered with maud so every piece of post text is escaped, and the
//! page's static CSS and JS. The page reads fully without JavaScript; the script only adds
//! live updates. Asset URLs carry a content hash, so they may be cached forever.

use guanmo_api::feed::PublicPost;
use maud::{html, Markup, DOCTYPE};

/// The page's stylesheet.
pub(crate) const CSS: &str = include_str!("../static/feed.css");
/// The page's script: live updates, then likes and comments.
pub(crate) const JS: &str = concat!(
    include_str!("../static/live.js"),
    include_str!("../static/comments.js")
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
}

fn media_url(base: &str, hash: &str, size: u32) -> String {
    format!("{base}media/{hash}/{size}.jpg")
}

fn post_markup(p: &PublicPost, base: &str) -> Markup {
    let n = p.photos.len();
    html! {
        article.post.pinned[p.pinned] id={ "p-" (p.id) } data-published=(p.published_at) {
            header.meta {
                @if p.pinned { span.pin { "置顶" } }
                time datetime=(p.published_at) { (p.time) }
                @if let Some(label) = &p.stop_label { span.stop { (label) } }
            }
            @for para in &p.paragraphs { p { (para) } }
            @if n > 0 {
                div class={ "photos n" (n) } {
                    @for (i, hash) in p.photos.iter().enumerate() {
                        a href=(media_url(base, hash, 1600)) {
                            img src=(media_url(base, hash, if n == 1 { 1600 } else { 320 }))
                                alt={ "现场图片 " (i + 1) } loading="lazy";
                        }
                    }
                }
            }
            @if !p.credit.is_empty() { p.credit { (p.credit) } }
            @if let Some(t) = &p.updated_time { p.updated { "已更新 " (t) } }
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
    let home = if o.base.is_empty() { "./" } else { o.base };
    // Comments and likes need the server: the static export shows posts only.
    let comments = !o.base.is_empty();
    let markup = html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (o.title) " · 图文直播" }
                link rel="stylesheet" href={ (o.base) "static/feed.css?v=" (format!("{CSS_VERSION:x}")) };
            }
            body data-live=[o.live.then_some("1")] data-poll=(o.poll_seconds) data-seq=(o.seq)
                data-more=[o.next_cursor.map(|_| "1")] data-comments=[comments.then_some("1")] {
                header.top {
                    h1 { (o.title) }
                    p.sub {
                        span.badge { "图文直播" } " "
                        @if o.paged { a href=(home) { "返回最新" } } @else { a href=(home) { "刷新" } }
                    }
                }
                main #feed {
                    @if let Some(p) = pinned { (post_markup(p, o.base)) }
                    @for p in posts { (post_markup(p, o.base)) }
                }
                @if pinned.is_none() && posts.is_empty() {
                    p.empty { "直播尚未开始,请稍后刷新。" }
                }
                @if let Some(c) = o.next_cursor {
                    nav.more { a href={ (home) "?cursor=" (c) } { "查看更早的动态" } }
                }
                @if comments {
                    section #event-comments {
                        h2 { "为家乡点赞 · 留言" }
                        noscript { p.hint { "开启 JavaScript 后可以点赞和发表评论。" } }
                    }
                    div #my-comments {}
                    (comment_dialog())
                }
                @if o.live || comments {
                    script src={ (o.base) "static/live.js?v=" (format!("{JS_VERSION:x}")) } defer {}
                }
            }
        }
    };
    markup.into_string()
}
