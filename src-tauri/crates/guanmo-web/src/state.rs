//! What the public router runs on: the api context, where derived photos live, the site's
//! settings, the comment routes' limiters and keys, and the live broadcast fed by a bridge
//! thread that turns commit notifications into feed events. The bridge reads the change log
//! after each commit, so a phone never hears of a post before it is in the database.

use crate::cache::FeedCache;
use crate::error::{blocking, HttpError, WebError};
use crate::limits::{
    Limiter, RateLimits, Streams, TargetLimiter, COOKIELESS_ACTIONS_DIVISOR,
    COOKIELESS_COMMENTS_DIVISOR,
};
use crate::phone::CookieKey;
use crate::verify::{Codes, SmsGate};
use guanmo_api::changes::{self, Committed};
use guanmo_api::comments::{self, Ingest, SmsProvider};
use guanmo_api::feed::{self, FeedEvent};
use guanmo_api::site::SiteSettings;
use guanmo_api::{ApiError, Ctx};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::sync::{Arc, RwLock, Weak};
use tokio::sync::{broadcast, watch};

/// Where the web copies of photos are. The photo crate implements it; tests use a folder.
pub trait MediaSource: Send + Sync {
    /// Path of the public JPEG of `hash` whose long side is `long_side` (320, 800 or 1600), if
    /// it exists (or can be made now: the 800 px copy is made from the 1600 px one on first
    /// use). Never the original. May touch the disk: call it off the async threads.
    fn derived_path(&self, hash: &str, long_side: u32) -> Option<PathBuf>;
}

/// The photo store serves its own web copies (the app and `guanmo serve` alike): the 320 px
/// thumbnail, the 1600 px view and the ~800 px middle copy made from it, never the original.
impl MediaSource for guanmo_media::MediaStore {
    fn derived_path(&self, hash: &str, long_side: u32) -> Option<PathBuf> {
        match long_side {
            guanmo_media::THUMB_SIDE => self.path(hash, guanmo_media::Size::Thumb).ok(),
            guanmo_media::WEB_SIDE => self.path(hash, guanmo_media::Size::Web).ok(),
            guanmo_media::MID_SIDE => {
                let web = self.path(hash, guanmo_media::Size::Web).ok()?;
                match self.mid_copy(hash, &web) {
                    Ok(mid) => Some(mid),
                    Err(e) => {
                        tracing::warn!(%hash, error = %e, "the 800 px copy could not be made");
                        None
                    }
                }
            }
            _ => None,
        }
    }
}

/// Settings of the resident site.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Accepted `Host` values: `host` (any port) or `host:port`; IPv6 as `[::1]:8080`.
    pub allowed_hosts: Vec<String>,
    /// Seconds between polls when a phone has no EventSource; also the SSE `retry`.
    pub poll_seconds: u32,
    /// Seconds between SSE keep-alive comments (proxies drop silent connections).
    pub keep_alive_seconds: u32,
    /// Page title, e.g. 常宁市2024年度下半年乡镇(街道)工作现场观摩会.
    pub title: String,
    /// Rate limits of comments, likes, reports and appeals, and the ingest cap.
    pub limits: RateLimits,
}

impl Default for WebConfig {
    /// The default settings, reached by `localhost` and `127.0.0.1` only.
    fn default() -> Self {
        Self::from_settings(
            &SiteSettings::default(),
            vec!["localhost".into(), "127.0.0.1".into()],
        )
    }
}

impl WebConfig {
    /// The site as set in 直播网站设置, reached by `own_hosts` (the listener's own address,
    /// localhost…) and the settings' extra host names.
    pub fn from_settings(settings: &SiteSettings, own_hosts: Vec<String>) -> WebConfig {
        let mut allowed_hosts = own_hosts;
        for h in &settings.extra_hosts {
            if !allowed_hosts.iter().any(|a| a.eq_ignore_ascii_case(h)) {
                allowed_hosts.push(h.clone());
            }
        }
        WebConfig {
            allowed_hosts,
            poll_seconds: settings.poll_seconds,
            keep_alive_seconds: KEEP_ALIVE_SECONDS,
            title: settings.title.clone(),
            limits: RateLimits::from_settings(settings),
        }
    }
}

/// Seconds between SSE keep-alive comments.
const KEEP_ALIVE_SECONDS: u32 = 15;

/// Shared state of the public router; cheap to clone (one reference count: axum clones the
/// state several times per request).
#[derive(Clone)]
pub struct WebState(Arc<Shared>);

/// What a [`WebState`] shares (nameable only inside this crate; its fields are private to it).
pub struct Shared {
    pub(crate) ctx: Ctx,
    pub(crate) media: Arc<dyn MediaSource>,
    pub(crate) config: Arc<WebConfig>,
    pub(crate) live: Arc<broadcast::Sender<Arc<FeedEvent>>>,
    pub(crate) cache: Arc<FeedCache>,
    /// Comment ingest and rate limiters.
    pub(crate) comments: CommentSite,
    /// Version of what residents see of the comments; `/live` tells phones when it moves.
    pub(crate) comments_seq: Arc<watch::Sender<i64>>,
    /// The open live streams, capped.
    pub(crate) streams: Arc<Streams>,
    /// 传播数据 counters.
    pub(crate) reach: Arc<crate::reach::Reach>,
}

impl std::ops::Deref for WebState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl std::fmt::Debug for WebState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// What the comment routes run on: the group-commit ingest, the rate limiters, the cookie
/// key, the SMS codes and their caps, and the SMS provider as last read.
pub(crate) struct CommentSite {
    pub(crate) ingest: Ingest,
    pub(crate) comments: Limiter,
    pub(crate) actions: Limiter,
    /// Likes per (address, target).
    pub(crate) likes: TargetLimiter,
    pub(crate) trusted: Vec<IpAddr>,
    /// Signs and checks the phones' cookies.
    pub(crate) cookies: CookieKey,
    pub(crate) codes: Codes,
    pub(crate) sms_gate: SmsGate,
    /// The SMS provider as last read; cleared by a commit that changes comment settings.
    sms: Arc<RwLock<Option<Option<SmsProvider>>>>,
}

impl std::fmt::Debug for CommentSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommentSite").finish_non_exhaustive()
    }
}

impl CommentSite {
    pub(crate) fn new(ctx: &Ctx, limits: &RateLimits) -> Result<Self, ApiError> {
        let sms: Arc<RwLock<Option<Option<SmsProvider>>>> = Arc::default();
        let cache = Arc::downgrade(&sms);
        changes::on_commit(
            ctx,
            Arc::new(move |c: &Committed| {
                if c.entities.iter().any(|e| e == changes::COMMENT_SETTINGS) {
                    if let Some(cache) = cache.upgrade() {
                        *cache.write().unwrap_or_else(|e| e.into_inner()) = None;
                    }
                }
            }),
        );
        Ok(CommentSite {
            ingest: Ingest::start(ctx.clone(), limits.ingest_queue)?,
            comments: Limiter::new(limits.comments, COOKIELESS_COMMENTS_DIVISOR),
            actions: Limiter::new(limits.actions, COOKIELESS_ACTIONS_DIVISOR),
            likes: TargetLimiter::new(limits.likes_per_target_per_minute),
            trusted: limits.trusted_proxies.clone(),
            cookies: CookieKey::load_or_create(ctx)?,
            codes: Codes::default(),
            sms_gate: SmsGate::new(limits.sms),
            sms,
        })
    }

    /// The SMS provider, from memory unless the settings changed (then read off the async
    /// workers).
    pub(crate) async fn provider(&self, ctx: &Ctx) -> Result<Option<SmsProvider>, HttpError> {
        if let Some(p) = self.sms.read().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(p);
        }
        let ctx = ctx.clone();
        let p = blocking(move || comments::sms_provider(&ctx)).await?;
        *self.sms.write().unwrap_or_else(|e| e.into_inner()) = Some(p.clone());
        Ok(p)
    }
}

/// Events buffered per slow phone before it must catch up from the change log.
const LIVE_BUFFER: usize = 1024;
/// Change rows read per catch-up query.
const BATCH: u32 = 256;

impl WebState {
    /// State over `ctx`; starts the bridge thread from the store's notifications to the live
    /// broadcast. The thread ends at the first commit after the state is dropped.
    pub fn new(
        ctx: Ctx,
        media: Arc<dyn MediaSource>,
        config: WebConfig,
    ) -> Result<WebState, WebError> {
        // Subscribe before reading where the log stands, so no commit falls in between.
        let rx = changes::subscribe(&ctx);
        let seq = feed::latest_seq(&ctx)?;
        let (tx, _) = broadcast::channel(LIVE_BUFFER);
        let live = Arc::new(tx);
        let comments_seq = Arc::new(watch::Sender::new(comments::public_seq(&ctx)?));
        let weak = (Arc::downgrade(&live), Arc::downgrade(&comments_seq));
        let bridge_ctx = ctx.clone();
        std::thread::Builder::new()
            .name("guanmo-web-live".into())
            .spawn(move || bridge(bridge_ctx, rx, weak, seq))
            .map_err(|e| WebError::Thread(e.to_string()))?;
        let comment_site = CommentSite::new(&ctx, &config.limits)?;
        let cache = FeedCache::watching(&ctx);
        let streams = Arc::new(Streams::new(config.limits.live));
        let reach = crate::reach::Reach::start(ctx.clone());
        Ok(WebState(Arc::new(Shared {
            ctx,
            media,
            config: Arc::new(config),
            live,
            cache,
            comments: comment_site,
            comments_seq,
            streams,
            reach,
        })))
    }

    /// The site's settings.
    pub fn config(&self) -> &WebConfig {
        &self.config
    }

    /// Writes the 传播数据 counted so far now, instead of at the next tick.
    pub fn flush_reach(&self) {
        self.reach.flush();
    }
}

type Senders = (
    Weak<broadcast::Sender<Arc<FeedEvent>>>,
    Weak<watch::Sender<i64>>,
);

fn bridge(ctx: Ctx, rx: Receiver<Committed>, senders: Senders, mut seq: i64) {
    while let Ok(first) = rx.recv() {
        let (Some(live), Some(comments_seq)) = (senders.0.upgrade(), senders.1.upgrade()) else {
            break;
        };
        // Everything committed meanwhile is handled by one pass (a burst of comments costs one
        // read of the log, not one per comment).
        let mut entities = first.entities;
        while let Ok(more) = rx.try_recv() {
            entities.extend(more.entities);
        }
        let touched = |entity: &str| entities.iter().any(|e| e == entity);
        // Comment settings hold the mutes, which may hide comments.
        if touched(changes::COMMENTS)
            || touched(changes::LIKES)
            || touched(changes::COMMENT_SETTINGS)
        {
            match comments::public_seq(&ctx) {
                Ok(v) => {
                    comments_seq.send_if_modified(|old| std::mem::replace(old, v) != v);
                }
                Err(e) => tracing::warn!(error = %e, "live comments: reading the version failed"),
            }
        }
        if !touched(changes::POSTS) {
            continue;
        }
        loop {
            match feed::feed_events_since(&ctx, seq, BATCH) {
                Ok(events) => {
                    let n = events.len();
                    for e in events {
                        seq = e.seq;
                        // No phone listening is fine.
                        let _ = live.send(Arc::new(e));
                    }
                    if n < BATCH as usize {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "live feed: reading the change log failed");
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_photo_store_serves_its_three_public_copies_and_never_the_original() {
        let dir = tempfile::tempdir().unwrap();
        let media = guanmo_media::MediaStore::new(dir.path()).unwrap();
        let img = image::RgbImage::from_fn(2000, 1000, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let mut png = std::io::Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb8(img)
            .write_to(&mut png, image::ImageFormat::Png)
            .unwrap();
        let got = media
            .import_bytes("现场.png", png.get_ref(), &guanmo_media::Limits::default())
            .unwrap();
        let source: &dyn MediaSource = &media;
        for side in [320, 1600] {
            let p = source.derived_path(&got.hash, side).unwrap();
            assert_eq!(
                p,
                media
                    .path(
                        &got.hash,
                        if side == 320 {
                            guanmo_media::Size::Thumb
                        } else {
                            guanmo_media::Size::Web
                        }
                    )
                    .unwrap()
            );
            assert!(p.exists(), "{side}");
        }
        // The middle copy: made from the 1600 px one, 800 × 400, outside the store's objects.
        let mid = source.derived_path(&got.hash, 800).unwrap();
        assert!(mid.starts_with(dir.path().join("public-copies")), "{mid:?}");
        let img = turbojpeg::decompress(&std::fs::read(&mid).unwrap(), turbojpeg::PixelFormat::RGB)
            .unwrap();
        assert_eq!((img.width, img.height), (800, 400));
        let original = media.path(&got.hash, guanmo_media::Size::Original).unwrap();
        for side in [0, 640, 4000] {
            assert_ne!(
                source.derived_path(&got.hash, side).as_ref(),
                Some(&original)
            );
            assert_eq!(source.derived_path(&got.hash, side), None, "{side}");
        }
    }

    #[test]
    fn the_default_config_is_what_the_site_had_before_settings_existed() {
        let c = WebConfig::default();
        assert_eq!(c.allowed_hosts, ["localhost", "127.0.0.1"]);
        assert_eq!((c.poll_seconds, c.keep_alive_seconds), (15, 15));
        assert_eq!(c.title, "乡镇(街道)工作现场观摩会");
        assert_eq!(c.limits, RateLimits::default());
    }

    #[test]
    fn the_config_follows_the_settings_and_adds_the_extra_hosts() {
        let s = SiteSettings {
            title: "常宁市观摩会".into(),
            poll_seconds: 60,
            trusted_proxies: vec!["10.0.0.9".into()],
            extra_hosts: vec!["live.example.cn".into(), "LOCALHOST".into()],
            ..SiteSettings::default()
        };
        let c = WebConfig::from_settings(&s, vec!["192.168.1.20:8080".into(), "localhost".into()]);
        assert_eq!(
            c.allowed_hosts,
            ["192.168.1.20:8080", "localhost", "live.example.cn"],
            "own hosts first, extra ones once"
        );
        assert_eq!((c.title.as_str(), c.poll_seconds), ("常宁市观摩会", 60));
        assert_eq!(c.limits, RateLimits::from_settings(&s));
        assert_eq!(c.limits.trusted_proxies.len(), 1);
        assert!(crate::guard::host_allowed(
            "live.example.cn",
            &c.allowed_hosts
        ));
    }
}
