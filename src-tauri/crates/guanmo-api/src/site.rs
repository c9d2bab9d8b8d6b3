//! Settings of the resident site (直播网站设置): its title, the poll interval of phones without
//! live push, the rate limits of comments and of likes/reports/appeals, the reverse proxies
//! whose `X-Forwarded-For` is believed, and extra host names it answers to. They belong to
//! this laptop (not synced) and are kept in its database; [`SiteSettings::default`] is the one
//! place the site's default numbers live (the web crate's defaults come from it).
//! Invariant: what [`get_site_settings`] returns always passes [`validate`].

use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use guanmo_domain::problem::{Problem, ProblemCode};
use guanmo_store::meta;
use serde::{Deserialize, Serialize};
use specta::Type;
use std::net::IpAddr;

/// Meta key of the stored settings (JSON).
const KEY: &str = "site_settings";
/// Change-log entity of a settings write (local to this laptop; never replicated).
pub const ENTITY: &str = "site_settings";

/// Shortest and longest page title, in characters.
pub const TITLE_CHARS: (usize, usize) = (2, 60);
/// Shortest and longest poll interval, in seconds.
pub const POLL_SECONDS: (u32, u32) = (5, 300);
/// Range of a phone's quotas (per minute and burst).
pub const PHONE_QUOTA: (u32, u32) = (1, 1_000);
/// Range of an address's quotas (per minute and burst).
pub const IP_QUOTA: (u32, u32) = (1, 100_000);
/// Most trusted proxies, and most extra host names.
pub const MAX_LIST: usize = 32;

/// Rate limits of one kind of action on the resident site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SiteQuotas {
    /// Sustained actions per minute from one phone.
    pub phone_per_minute: u32,
    /// Actions one phone may make at once.
    pub phone_burst: u32,
    /// Sustained actions per minute from one network address (all phones behind it).
    pub ip_per_minute: u32,
    /// Actions one address may make at once.
    pub ip_burst: u32,
}

/// The resident site's settings, as stored and as the desktop app edits them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SiteSettings {
    /// Page title, e.g. 常宁市2024年度下半年乡镇(街道)工作现场观摩会.
    pub title: String,
    /// Seconds between refreshes of a phone without live push; also the live stream's retry.
    /// Raising it is how to lighten the load.
    pub poll_seconds: u32,
    /// Limits of comments (评论).
    pub comments: SiteQuotas,
    /// Limits of likes, reports and appeals.
    pub actions: SiteQuotas,
    /// IP addresses of reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<String>,
    /// Host names (or `host:port`) residents may reach the site by besides its own address.
    pub extra_hosts: Vec<String>,
    /// The site's address on the internet (公网地址), e.g. `https://live.example.cn/`, when the
    /// hub runs on a server; empty when there is none. Laptops learn it when they sync and show
    /// it, with its QR code, in 直播网站. (Settings stored before it existed read as empty:
    /// they are laid over the defaults, see [`overlay`].)
    pub public_url: String,
}

impl Default for SiteSettings {
    fn default() -> Self {
        Self {
            title: "乡镇(街道)工作现场观摩会".into(),
            poll_seconds: 15,
            // A resident writes a comment in a minute or two; three in a row is generous.
            comments: SiteQuotas {
                phone_per_minute: 4,
                phone_burst: 3,
                // Fifty phones behind one venue Wi-Fi may each send their burst at once.
                ip_per_minute: 200,
                ip_burst: 150,
            },
            actions: SiteQuotas {
                phone_per_minute: 30,
                phone_burst: 20,
                ip_per_minute: 1500,
                ip_burst: 1000,
            },
            trusted_proxies: Vec::new(),
            extra_hosts: Vec::new(),
            public_url: String::new(),
        }
    }
}

/// The stored settings, or the defaults when none were saved (or what was stored no longer
/// passes the rules).
pub fn get_site_settings(ctx: &Ctx) -> ApiResult<SiteSettings> {
    let raw = ctx.store.read(|c| meta::get(c, KEY))?;
    let Some(raw) = raw.filter(|r| !r.is_empty()) else {
        return Ok(SiteSettings::default());
    };
    // Over the defaults, so settings saved before a field existed keep the rest.
    let stored = serde_json::from_str(&raw).and_then(|v| overlay(&SiteSettings::default(), v));
    match stored {
        Ok(s) if validate(&s).is_empty() => Ok(s),
        _ => {
            tracing::warn!("stored site settings are unreadable; using the defaults");
            Ok(SiteSettings::default())
        }
    }
}

/// `base` with the fields of the JSON object `changes` (named as serialized) put over it,
/// nested objects field by field: how older stored settings or a file naming only some
/// fields fill in the rest.
pub fn overlay(
    base: &SiteSettings,
    changes: serde_json::Value,
) -> Result<SiteSettings, serde_json::Error> {
    fn put(into: &mut serde_json::Value, from: serde_json::Value) {
        match (into, from) {
            (serde_json::Value::Object(into), serde_json::Value::Object(from)) => {
                for (k, v) in from {
                    put(into.entry(k).or_insert(serde_json::Value::Null), v);
                }
            }
            (into, from) => *into = from,
        }
    }
    let mut merged = serde_json::to_value(base)?;
    put(&mut merged, changes);
    serde_json::from_value(merged)
}

/// Checks and stores the settings (trimmed, lists without blanks or repeats); returns them as
/// stored. A scorer's laptop is refused: it does not run the resident site.
pub fn set_site_settings(ctx: &Ctx, input: SiteSettings) -> ApiResult<SiteSettings> {
    ctx.ensure_site_operator()?;
    let settings = normalize(input);
    let problems = validate(&settings);
    if !problems.is_empty() {
        return Err(ApiError::with_problems(
            ErrorCode::Validation,
            "site settings refused",
            problems,
        ));
    }
    let value = serde_json::to_string(&settings)
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
    ctx.store.write(ctx.clock.now(), &ctx.author()?, |tx| {
        meta::set(tx, KEY, &value)?;
        tx.record(guanmo_store::ChangeInput {
            entity: ENTITY,
            entity_id: "site".into(),
            op: "set",
            payload: serde_json::json!({ "pollSeconds": settings.poll_seconds }),
        })
    })?;
    Ok(settings)
}

/// Trims text, lower-cases host names, writes addresses in their canonical form, and drops
/// blank and repeated list entries.
fn normalize(mut s: SiteSettings) -> SiteSettings {
    fn list(items: Vec<String>, clean: impl Fn(&str) -> String) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for item in items {
            let item = clean(item.trim());
            if !item.is_empty() && !out.contains(&item) {
                out.push(item);
            }
        }
        out
    }
    s.title = s.title.trim().to_string();
    // The canonical form, so `FD00::5` and `fd00::5` are one proxy.
    s.trusted_proxies = list(s.trusted_proxies, |p| {
        p.parse::<IpAddr>()
            .map_or(p.to_string(), |ip| ip.to_string())
    });
    s.extra_hosts = list(s.extra_hosts, ascii_host);
    s.public_url = normalize_public_url(&s.public_url);
    s
}

/// A typed 公网地址 as stored: trimmed, with `https://` when no scheme was typed, host
/// lower-cased, ending in `/`; empty stays empty.
fn normalize_public_url(raw: &str) -> String {
    let t = raw.trim();
    if t.is_empty() {
        return String::new();
    }
    let (scheme, rest) = match (t.strip_prefix("https://"), t.strip_prefix("http://")) {
        (Some(rest), _) => ("https", rest),
        (_, Some(rest)) => ("http", rest),
        _ => ("https", t),
    };
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = path.trim_end_matches('/');
    let host = ascii_host(host);
    if path.is_empty() {
        format!("{scheme}://{host}/")
    } else {
        format!("{scheme}://{host}/{path}/")
    }
}

/// Why `url` (as [`normalize_public_url`] leaves it) cannot be the 公网地址, if it cannot.
fn public_url_problem(url: &str) -> Option<&'static str> {
    if url.is_empty() {
        return None;
    }
    if url.chars().count() > 200 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("公网地址过长或含有空格");
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host = rest.split('/').next().unwrap_or_default();
    if host_ok(host).is_err() {
        return Some("公网地址的域名无效,应如 https://live.example.cn/");
    }
    None
}

/// Meta key of the hub's 公网地址 as a laptop last received it.
const HUB_PUBLIC_URL: &str = "hub_public_site_url";

/// Where residents reach the live site on the internet, if anywhere: on the hub (or a device
/// on its own) its own 直播网站设置; on a laptop, what the hub last sent.
pub fn public_site_url(ctx: &Ctx) -> ApiResult<Option<String>> {
    let url = match ctx.device_role()? {
        Some(role) if role.is_laptop() => ctx
            .store
            .read(|c| meta::get(c, HUB_PUBLIC_URL))?
            .unwrap_or_default(),
        _ => get_site_settings(ctx)?.public_url,
    };
    Ok(Some(url).filter(|u| !u.is_empty()))
}

/// Remembers the hub's 公网地址 on a laptop (what sync received). The hub's word is checked
/// like a typed one: anything that would not pass as 公网地址 is dropped.
pub fn remember_hub_public_url(ctx: &Ctx, url: Option<&str>) -> ApiResult<()> {
    let url = url
        .map(normalize_public_url)
        .filter(|u| public_url_problem(u).is_none())
        .unwrap_or_default();
    let known = ctx.store.read(|c| meta::get(c, HUB_PUBLIC_URL))?;
    if known.as_deref().unwrap_or_default() == url {
        return Ok(());
    }
    ctx.store.write_without_ops(ctx.clock.now(), "sync", |tx| {
        meta::set(tx, HUB_PUBLIC_URL, &url)?;
        tx.record(guanmo_store::ChangeInput {
            entity: ENTITY,
            entity_id: "public_url".into(),
            op: "set",
            payload: serde_json::json!({}),
        })
    })?;
    Ok(())
}

/// `h` as phones send it in `Host`: a Chinese (or any non-ASCII) domain name in its `xn--`
/// form, lower case, the port kept. Left as it is when it is no valid name (validation says
/// why).
fn ascii_host(h: &str) -> String {
    if h.is_ascii() {
        return h.to_ascii_lowercase();
    }
    let (name, port) = match h.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => (name, Some(port)),
        _ => (h, None),
    };
    match idna::domain_to_ascii(name) {
        Ok(ascii) if !ascii.is_empty() => match port {
            Some(p) => format!("{ascii}:{p}"),
            None => ascii,
        },
        _ => h.to_string(),
    }
}

/// Every problem with `s`, in Chinese; empty when it may be stored.
pub fn validate(s: &SiteSettings) -> Vec<Problem> {
    let mut problems = Vec::new();
    let title = s.title.trim();
    let chars = title.chars().count();
    if chars == 0 {
        problems.push(Problem::error(
            ProblemCode::Required,
            "页面标题",
            "请填写页面标题",
        ));
    } else if chars < TITLE_CHARS.0 || chars > TITLE_CHARS.1 {
        problems.push(Problem::error(
            ProblemCode::OutOfRange,
            "页面标题",
            format!(
                "页面标题应为{}到{}个字,现为{chars}个字",
                TITLE_CHARS.0, TITLE_CHARS.1
            ),
        ));
    }
    if title.chars().any(char::is_control) {
        problems.push(Problem::error(
            ProblemCode::Invalid,
            "页面标题",
            "页面标题不能包含换行或控制字符",
        ));
    }
    if !(POLL_SECONDS.0..=POLL_SECONDS.1).contains(&s.poll_seconds) {
        problems.push(Problem::error(
            ProblemCode::OutOfRange,
            "刷新间隔",
            format!(
                "刷新间隔应为{}到{}秒,不能是{}",
                POLL_SECONDS.0, POLL_SECONDS.1, s.poll_seconds
            ),
        ));
    }
    quotas(&mut problems, "评论", &s.comments);
    quotas(&mut problems, "点赞、举报和申诉", &s.actions);

    if s.trusted_proxies.len() > MAX_LIST {
        problems.push(Problem::error(
            ProblemCode::OutOfRange,
            "可信反向代理地址",
            format!("最多填写{MAX_LIST}个地址"),
        ));
    }
    for p in &s.trusted_proxies {
        if p.trim().parse::<IpAddr>().is_err() {
            let hint = if p.contains('/') {
                "不支持网段,请逐个填写代理服务器的IP地址"
            } else {
                "应为IP地址,如 10.0.0.5 或 fd00::5"
            };
            problems.push(Problem::error(
                ProblemCode::Invalid,
                "可信反向代理地址",
                format!("「{p}」不是有效的IP地址:{hint}"),
            ));
        }
    }
    if s.extra_hosts.len() > MAX_LIST {
        problems.push(Problem::error(
            ProblemCode::OutOfRange,
            "额外允许的访问域名",
            format!("最多填写{MAX_LIST}个域名"),
        ));
    }
    if let Some(why) = public_url_problem(&s.public_url) {
        problems.push(Problem::error(ProblemCode::Invalid, "公网地址", why));
    }
    for h in &s.extra_hosts {
        if let Err(why) = host_ok(h.trim()) {
            problems.push(Problem::error(
                ProblemCode::Invalid,
                "额外允许的访问域名",
                format!("「{h}」{why}"),
            ));
        }
    }
    problems
}

fn quotas(problems: &mut Vec<Problem>, kind: &str, q: &SiteQuotas) {
    let fields = [
        ("每部手机每分钟", q.phone_per_minute, PHONE_QUOTA),
        ("每部手机连续", q.phone_burst, PHONE_QUOTA),
        ("同一网络地址每分钟", q.ip_per_minute, IP_QUOTA),
        ("同一网络地址连续", q.ip_burst, IP_QUOTA),
    ];
    for (name, value, (lo, hi)) in fields {
        if !(lo..=hi).contains(&value) {
            problems.push(Problem::error(
                ProblemCode::OutOfRange,
                format!("{kind} · {name}"),
                format!("应为{lo}到{hi}之间的整数,不能是{value}"),
            ));
        }
    }
}

/// Whether `h` is a host name, IPv4 address or `[IPv6]`, optionally with `:port`, as a
/// `Host` header carries it; `Err` says why not.
fn host_ok(h: &str) -> Result<(), &'static str> {
    if h.is_empty() {
        return Err("为空");
    }
    if h.chars().any(char::is_whitespace) {
        return Err("不能包含空格");
    }
    if h.contains("://") {
        return Err("不要加 http:// 或 https://,只填域名,如 live.example.cn");
    }
    if h.contains('/') || h.contains('?') || h.contains('#') {
        return Err("不要带路径,只填域名,如 live.example.cn");
    }
    if h.contains('@') {
        return Err("不能包含 @");
    }
    let (host, port) = if let Some(rest) = h.strip_prefix('[') {
        let Some((v6, tail)) = rest.split_once(']') else {
            return Err("IPv6 地址应写成 [fd00::1] 或 [fd00::1]:8080");
        };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return Err("不是有效的 IPv6 地址");
        }
        match tail {
            "" => return Ok(()),
            t => match t.strip_prefix(':') {
                Some(p) => (None, Some(p)),
                None => return Err("IPv6 地址应写成 [fd00::1] 或 [fd00::1]:8080"),
            },
        }
    } else if h.matches(':').count() > 1 {
        return Err("IPv6 地址须加方括号,如 [fd00::1]");
    } else {
        match h.split_once(':') {
            Some((host, port)) => (Some(host), Some(port)),
            None => (Some(h), None),
        }
    };
    if let Some(p) = port {
        if !p.bytes().all(|b| b.is_ascii_digit()) || !matches!(p.parse::<u32>(), Ok(1..=65535)) {
            return Err("端口应为1到65535之间的数字");
        }
    }
    let Some(host) = host else {
        return Ok(());
    };
    if !host.is_ascii() {
        return Err("不是有效的域名");
    }
    let labels_ok = host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if labels_ok {
        Ok(())
    } else {
        Err("不是有效的域名,只能包含字母、数字、“-”和“.”")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guanmo_domain::FixedClock;
    use std::sync::Arc;

    fn setup() -> (tempfile::TempDir, Ctx) {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(FixedClock::new(
            chrono::DateTime::parse_from_rfc3339("2024-12-04T01:00:00Z")
                .unwrap()
                .with_timezone(&chrono::Utc),
        ));
        let ctx = Ctx::open(dir.path(), clock).unwrap();
        (dir, ctx)
    }

    fn locations(problems: &[Problem]) -> Vec<&str> {
        problems.iter().map(|p| p.location.as_str()).collect()
    }

    #[test]
    fn the_defaults_pass_the_rules() {
        assert_eq!(validate(&SiteSettings::default()), vec![]);
    }

    #[test]
    fn a_fresh_laptop_reads_the_defaults() {
        let (_dir, ctx) = setup();
        assert_eq!(get_site_settings(&ctx).unwrap(), SiteSettings::default());
    }

    #[test]
    fn saved_settings_read_back_trimmed_and_without_repeats() {
        let (_dir, ctx) = setup();
        let input = SiteSettings {
            title: "  常宁市2024年度下半年乡镇(街道)工作现场观摩会 ".into(),
            poll_seconds: 60,
            comments: SiteQuotas {
                phone_per_minute: 2,
                phone_burst: 2,
                ip_per_minute: 400,
                ip_burst: 300,
            },
            trusted_proxies: vec![" 10.0.0.5".into(), "".into(), "10.0.0.5".into()],
            extra_hosts: vec!["Live.Example.CN".into(), "live.example.cn:8443".into()],
            ..SiteSettings::default()
        };
        let saved = set_site_settings(&ctx, input).unwrap();
        assert_eq!(saved.title, "常宁市2024年度下半年乡镇(街道)工作现场观摩会");
        assert_eq!(saved.trusted_proxies, ["10.0.0.5"]);
        assert_eq!(
            saved.extra_hosts,
            ["live.example.cn", "live.example.cn:8443"]
        );
        assert_eq!(
            get_site_settings(&ctx).unwrap(),
            saved,
            "what was saved is what is read back"
        );
    }

    #[test]
    fn a_save_is_announced_on_the_change_log() {
        let (_dir, ctx) = setup();
        let rx = ctx.store().subscribe();
        set_site_settings(&ctx, SiteSettings::default()).unwrap();
        let committed = rx.try_recv().unwrap();
        assert!(committed.entities.iter().any(|e| e == ENTITY));
    }

    #[test]
    fn out_of_range_numbers_are_refused_with_where_and_why() {
        let (_dir, ctx) = setup();
        let bad = SiteSettings {
            title: "观".into(),
            poll_seconds: 4,
            comments: SiteQuotas {
                phone_per_minute: 0,
                ..SiteSettings::default().comments
            },
            actions: SiteQuotas {
                ip_burst: 100_001,
                ..SiteSettings::default().actions
            },
            ..SiteSettings::default()
        };
        let err = set_site_settings(&ctx, bad).unwrap_err();
        assert_eq!(err.code, ErrorCode::Validation);
        assert_eq!(
            locations(&err.problems),
            [
                "页面标题",
                "刷新间隔",
                "评论 · 每部手机每分钟",
                "点赞、举报和申诉 · 同一网络地址连续"
            ]
        );
        assert!(err.problems[1].message.contains("5到300秒"));
        assert_eq!(
            get_site_settings(&ctx).unwrap(),
            SiteSettings::default(),
            "nothing was stored"
        );
    }

    #[test]
    fn a_title_longer_than_sixty_characters_is_refused() {
        let s = SiteSettings {
            title: "观".repeat(61),
            ..SiteSettings::default()
        };
        assert_eq!(locations(&validate(&s)), ["页面标题"]);
        let ok = SiteSettings {
            title: "观".repeat(60),
            ..SiteSettings::default()
        };
        assert!(validate(&ok).is_empty());
    }

    #[test]
    fn trusted_proxies_must_be_single_ip_addresses() {
        let s = normalize(SiteSettings {
            trusted_proxies: vec![
                "10.0.0.5".into(),
                "fd00::5".into(),
                "10.0.0.0/8".into(),
                "proxy.example.cn".into(),
            ],
            ..SiteSettings::default()
        });
        let problems = validate(&s);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].message.contains("不支持网段"));
        assert!(problems[1].message.contains("proxy.example.cn"));
    }

    #[test]
    fn a_chinese_domain_name_is_kept_in_the_form_phones_send() {
        assert_eq!(ascii_host("直播.常宁.cn"), "xn--z6ut02b.xn--w9sz6d.cn");
        assert_eq!(
            ascii_host("直播.常宁.CN:8443"),
            "xn--z6ut02b.xn--w9sz6d.cn:8443"
        );
        assert_eq!(ascii_host("Live.Example.cn"), "live.example.cn");
        let s = normalize(SiteSettings {
            extra_hosts: vec![" 直播.常宁.cn ".into(), "xn--z6ut02b.xn--w9sz6d.cn".into()],
            ..SiteSettings::default()
        });
        assert_eq!(
            s.extra_hosts,
            ["xn--z6ut02b.xn--w9sz6d.cn"],
            "one entry, ASCII"
        );
        assert!(validate(&s).is_empty());
    }

    #[test]
    fn extra_hosts_are_bare_names_with_an_optional_port() {
        for good in [
            "live.example.cn",
            "live.example.cn:8443",
            "192.168.1.20",
            "192.168.1.20:8080",
            "[fd00::1]",
            "[fd00::1]:8080",
            "xn--fiqs8s.cn",
            "localhost",
        ] {
            assert_eq!(host_ok(good), Ok(()), "{good}");
        }
        for bad in [
            "https://live.example.cn",
            "live.example.cn/live",
            "live example.cn",
            "直播.cn",
            "live.example.cn:0",
            "live.example.cn:http",
            "fd00::1",
            "[fd00::1",
            "-live.cn",
            "*.example.cn",
            "a..b",
            "user@live.cn",
        ] {
            assert!(host_ok(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_scorers_laptop_may_not_change_the_site_but_a_media_laptop_may() {
        let (_dir, ctx) = setup();
        let role = |r: &str| {
            ctx.store
                .write(ctx.now(), "test", |tx| meta::set(tx, crate::DEVICE_ROLE, r))
                .unwrap()
        };
        role("scorer");
        let err = set_site_settings(&ctx, SiteSettings::default()).unwrap_err();
        assert_eq!(err.code, ErrorCode::HubOnly);
        role("media");
        assert!(set_site_settings(&ctx, SiteSettings::default()).is_ok());
        role("hub");
        assert!(set_site_settings(&ctx, SiteSettings::default()).is_ok());
    }

    #[test]
    fn an_overlay_keeps_the_fields_it_does_not_name() {
        let base = SiteSettings::default();
        let merged = overlay(
            &base,
            serde_json::json!({"pollSeconds": 30, "comments": {"ipBurst": 300}, "trustedProxies": ["10.0.0.5"]}),
        )
        .unwrap();
        assert_eq!(merged.poll_seconds, 30);
        assert_eq!(merged.comments.ip_burst, 300);
        assert_eq!(merged.comments.phone_burst, base.comments.phone_burst);
        assert_eq!(merged.trusted_proxies, ["10.0.0.5"]);
        assert_eq!(merged.title, base.title);
        assert!(overlay(&base, serde_json::json!({"pollSeconds": "x"})).is_err());
    }

    #[test]
    fn unreadable_stored_settings_fall_back_to_the_defaults() {
        let (_dir, ctx) = setup();
        ctx.store
            .write(ctx.now(), "test", |tx| {
                meta::set(tx, KEY, r#"{"title":"x","pollSeconds":1}"#)
            })
            .unwrap();
        assert_eq!(get_site_settings(&ctx).unwrap(), SiteSettings::default());
    }

    #[test]
    fn settings_missing_newer_fields_keep_their_defaults() {
        let (_dir, ctx) = setup();
        ctx.store
            .write(ctx.now(), "test", |tx| {
                meta::set(tx, KEY, r#"{"title":"观摩会直播","pollSeconds":30}"#)
            })
            .unwrap();
        let s = get_site_settings(&ctx).unwrap();
        assert_eq!((s.title.as_str(), s.poll_seconds), ("观摩会直播", 30));
        assert_eq!(s.comments, SiteSettings::default().comments);
    }

    #[test]
    fn the_public_address_is_stored_in_one_form_and_a_bad_one_is_refused_in_words() {
        let (_dir, ctx) = setup();
        assert_eq!(public_site_url(&ctx).unwrap(), None, "none by default");
        let saved = set_site_settings(
            &ctx,
            SiteSettings {
                public_url: "  Live.Example.cn ".into(),
                ..SiteSettings::default()
            },
        )
        .unwrap();
        assert_eq!(saved.public_url, "https://live.example.cn/");
        assert_eq!(
            public_site_url(&ctx).unwrap().as_deref(),
            Some("https://live.example.cn/")
        );
        let idn = normalize_public_url("http://直播.常宁.cn/live");
        assert!(
            idn.starts_with("http://xn--") && idn.ends_with(".cn/live/"),
            "{idn}"
        );
        for bad in ["https://exa mple.cn/", "https://-bad-/", "https:///"] {
            let e = set_site_settings(
                &ctx,
                SiteSettings {
                    public_url: bad.into(),
                    ..SiteSettings::default()
                },
            )
            .unwrap_err();
            assert_eq!(locations(&e.problems), ["公网地址"], "{bad}");
        }
        assert_eq!(
            get_site_settings(&ctx).unwrap().public_url,
            "https://live.example.cn/",
            "a refused change keeps what was saved"
        );
    }

    #[test]
    fn a_laptop_shows_the_hubs_public_address_as_last_received_and_drops_a_bad_one() {
        let (_dir, ctx) = setup();
        ctx.store
            .write(ctx.now(), "test", |tx| {
                meta::set(tx, crate::DEVICE_ROLE, "media")
            })
            .unwrap();
        remember_hub_public_url(&ctx, Some("https://live.example.cn/")).unwrap();
        assert_eq!(
            public_site_url(&ctx).unwrap().as_deref(),
            Some("https://live.example.cn/")
        );
        remember_hub_public_url(&ctx, Some("javascript:alert(1) x")).unwrap();
        assert_eq!(
            public_site_url(&ctx).unwrap(),
            None,
            "not an address: dropped"
        );
        remember_hub_public_url(&ctx, Some("https://live.example.cn/")).unwrap();
        remember_hub_public_url(&ctx, None).unwrap();
        assert_eq!(
            public_site_url(&ctx).unwrap(),
            None,
            "the hub has none any more"
        );
    }
}
