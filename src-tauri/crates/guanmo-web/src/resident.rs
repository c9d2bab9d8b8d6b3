//! The resident site as media staff run it (开始直播 / 停止): started on an interface's address
//! they pick, restarted on the same socket when 直播网站设置 change, moved when that interface's
//! address changes (Wi-Fi roaming), stopped. The same for the desktop app and any other host:
//! it only needs a tokio runtime handle. Invariant: the status it returns is where the site
//! really serves, and a change that fails leaves it either serving where it was or stopped with
//! a message saying so — never half-moved.

use crate::addresses::{interfaces, moved_to, NetInterface};
use crate::listener::Listener;
use crate::{MediaSource, WebConfig, WebState};
use axum::Router;
use guanmo_api::site::SiteSettings;
use guanmo_api::{ApiError, Ctx, ErrorCode};
use guanmo_domain::problem::{Problem, ProblemCode};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::runtime::Handle;

/// Whether the site runs, and where.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct LiveSiteStatus {
    /// True while serving.
    pub running: bool,
    /// Bound address.
    pub ip: Option<String>,
    /// Bound port.
    pub port: Option<i32>,
    /// The address residents open.
    pub url: Option<String>,
    /// QR code of `url`, as SVG markup made here.
    pub qr_svg: Option<String>,
    /// Something the staff should know (address changed, site stopped).
    pub message: Option<String>,
    /// The site's address on the internet (公网地址), when the hub has one: residents anywhere
    /// on 4G open it, whether or not this laptop's own site runs.
    pub public_url: Option<String>,
    /// QR code of `public_url`, as SVG markup made here.
    pub public_qr_svg: Option<String>,
}

/// What saving 直播网站设置 came to.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct SiteSettingsSaved {
    /// The settings as stored.
    pub settings: SiteSettings,
    /// The running site was restarted to take them up (false: it was not running).
    pub restarted: bool,
}

/// What a static export wrote.
#[derive(Debug, Clone, Serialize, Deserialize, specta::Type)]
pub struct StaticExport {
    /// The folder written.
    pub dir: String,
    /// Posts in it.
    pub posts: i32,
    /// Photo files copied.
    pub media_files: i32,
    /// Approved comments in it (a read-only snapshot).
    pub comments: i32,
    /// Photos that could not be copied (`<hash>/<size>.jpg`).
    pub missing_media: Vec<String>,
}

/// Where the site serves.
struct Place {
    /// The interface picked, followed when its address changes.
    interface: String,
    ip: IpAddr,
    port: u16,
}

/// The resident site's runtime: one per app (or hub), shared as `Arc<ResidentSite>`.
pub struct ResidentSite {
    ctx: Ctx,
    media: Arc<dyn MediaSource>,
    listener: Listener,
    /// `Some` exactly while serving; held across every change so two never interleave (a
    /// start during a settings save cannot run on the old settings).
    place: Mutex<Option<Place>>,
    /// The retention check of residents' comment data (once at start, then daily) while the
    /// site runs: this device is the site host then.
    retention: Mutex<Option<guanmo_api::comments::retention::RetentionWatch>>,
}

/// The lowest port media staff may choose (below it a port needs administrator rights).
const MIN_PORT: u16 = 1024;

impl ResidentSite {
    /// A stopped site over `ctx` and its photos, whose server runs on `rt`.
    pub fn new(rt: Handle, ctx: Ctx, media: Arc<dyn MediaSource>) -> ResidentSite {
        ResidentSite {
            ctx,
            media,
            listener: Listener::new(rt, "resident site"),
            place: Mutex::new(None),
            retention: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Option<Place>> {
        self.place.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the site on `ip:port` (an address of one of this machine's interfaces, a port
    /// from 1024 up) with the stored 直播网站设置. Already there: restarts on the same socket.
    /// Elsewhere: the new address is opened first, so a refusal leaves the site where it was.
    pub fn start(&self, ip: &str, port: i32) -> Result<LiveSiteStatus, ApiError> {
        let port = u16::try_from(port)
            .ok()
            .filter(|p| *p >= MIN_PORT)
            .ok_or_else(|| refuse(format!("端口应在1024到65535之间,不能是{port}")))?;
        let interface = interfaces()
            .into_iter()
            .find(|i| i.ip == ip)
            .map(|i| i.name)
            .ok_or_else(|| refuse(format!("本机没有地址为{ip}的网络接口")))?;
        let ip: IpAddr = ip
            .parse()
            .map_err(|_| refuse(format!("「{ip}」不是有效的网络地址")))?;
        let mut place = self.lock();
        let router = self.router(ip, port)?;
        self.listener
            .start(SocketAddr::new(ip, port), router)
            .map_err(|e| refuse(e.zh_site()))?;
        *place = Some(Place {
            interface,
            ip,
            port,
        });
        self.retention
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(|| {
                guanmo_api::comments::retention::spawn_daily_check(self.ctx.clone())
            });
        Ok(self.described(place.as_ref(), None))
    }

    /// Stores the settings and, when the site runs, restarts it on the same address and socket
    /// so they take effect (phones reconnect by themselves; a comment being sent may need a
    /// retry). Returns what was saved and the site's status. When the restart fails the site
    /// has stopped; the error says so, and [`ResidentSite::status`] shows it stopped.
    pub fn save_settings(
        &self,
        input: SiteSettings,
    ) -> Result<(SiteSettingsSaved, LiveSiteStatus), ApiError> {
        let mut place = self.lock();
        let settings = guanmo_api::site::set_site_settings(&self.ctx, input)?;
        let Some(at) = place.as_ref() else {
            let saved = SiteSettingsSaved {
                settings,
                restarted: false,
            };
            return Ok((saved, self.described(None, None)));
        };
        let restarted = self.router(at.ip, at.port).and_then(|router| {
            self.listener
                .restart(router)
                .map_err(|e| refuse(e.zh_site()))
        });
        match restarted {
            Ok(Some(_)) => {
                let saved = SiteSettingsSaved {
                    settings,
                    restarted: true,
                };
                Ok((saved, self.described(place.as_ref(), None)))
            }
            // Not serving after all (cannot happen while `place` is set): say so.
            Ok(None) => {
                *place = None;
                let saved = SiteSettingsSaved {
                    settings,
                    restarted: false,
                };
                Ok((saved, self.described(None, None)))
            }
            Err(mut e) => {
                self.listener.stop();
                *place = None;
                e.message = format!("设置已保存,但直播网站重新启动失败,已停止:{}", e.message);
                Err(e)
            }
        }
    }

    /// Stops the site.
    pub fn stop(&self) -> LiveSiteStatus {
        let mut place = self.lock();
        self.listener.stop();
        *place = None;
        *self.retention.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.described(None, None)
    }

    /// [`status_of`] with the 公网地址 this device knows (its own settings on the hub, the
    /// hub's on a laptop).
    fn described(&self, place: Option<&Place>, message: Option<String>) -> LiveSiteStatus {
        let mut status = status_of(place, message);
        status.public_url = guanmo_api::site::public_site_url(&self.ctx).ok().flatten();
        status.public_qr_svg = status
            .public_url
            .as_deref()
            .and_then(|u| crate::addresses::qr_svg(u, 220));
        status
    }

    /// Whether the site runs, and where.
    pub fn status(&self) -> LiveSiteStatus {
        self.described(self.lock().as_ref(), None)
    }

    /// One look at the picked interface: when its address changed, the site moves there (or,
    /// when it cannot, stops) and the status to announce comes back, with a message saying
    /// what happened. `None` when nothing changed.
    pub fn check_address(&self) -> Option<LiveSiteStatus> {
        self.follow(&interfaces())
    }

    /// [`ResidentSite::check_address`] against the interfaces `now`.
    fn follow(&self, now: &[NetInterface]) -> Option<LiveSiteStatus> {
        let mut place = self.lock();
        let at = place.as_ref()?;
        let new_ip = moved_to(&at.interface, &at.ip.to_string(), now)?;
        let port = at.port;
        let moved = new_ip
            .parse::<IpAddr>()
            .map_err(|_| refuse(format!("「{new_ip}」不是有效的网络地址")))
            .and_then(|ip| {
                let router = self.router(ip, port)?;
                self.listener
                    .move_to(SocketAddr::new(ip, port), router)
                    .map_err(|e| refuse(e.zh_site()))?;
                Ok(ip)
            });
        let message = match moved {
            Ok(ip) => {
                if let Some(p) = place.as_mut() {
                    p.ip = ip;
                }
                format!("网络地址已变化,直播网站已改用新地址 http://{new_ip}:{port}/")
            }
            Err(e) => {
                // The old address is gone from the interface: serving there helps nobody.
                self.listener.stop();
                *place = None;
                format!("网络地址已变化,直播网站已停止:{}", e.message)
            }
        };
        Some(self.described(place.as_ref(), Some(message)))
    }

    /// Writes the current public feed as a static site into `dir`, for any web server, CDN or
    /// S3-compatible bucket (the way to reach more residents than one laptop can serve).
    pub fn export_static(&self, dir: &Path) -> Result<StaticExport, ApiError> {
        // The title and poll interval of 直播网站设置; hosts and limits do not apply to files.
        let settings = guanmo_api::site::get_site_settings(&self.ctx)?;
        let web = WebState::new(
            self.ctx.clone(),
            self.media.clone(),
            WebConfig::from_settings(&settings, Vec::new()),
        )
        .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        let report = crate::export_static(&web, dir)
            .map_err(|e| refuse(format!("无法导出静态网站到{}:{e}", dir.display())))?;
        Ok(StaticExport {
            dir: dir.display().to_string(),
            posts: i32::try_from(report.posts).unwrap_or(i32::MAX),
            media_files: i32::try_from(report.media_files).unwrap_or(i32::MAX),
            comments: i32::try_from(report.comments).unwrap_or(i32::MAX),
            missing_media: report.missing_media,
        })
    }

    /// The public router for `ip:port` with the stored 直播网站设置.
    fn router(&self, ip: IpAddr, port: u16) -> Result<Router, ApiError> {
        let settings = guanmo_api::site::get_site_settings(&self.ctx)?;
        let hosts = site_allowlist(SocketAddr::new(ip, port), Vec::new());
        let config = WebConfig::from_settings(&settings, hosts);
        let web = WebState::new(self.ctx.clone(), self.media.clone(), config)
            .map_err(|e| ApiError::new(ErrorCode::Internal, e.to_string()))?;
        Ok(crate::public_router(web))
    }
}

/// Lives in the app's shared state, driven from commands and the address watcher.
const _: fn() = crate::listener::assert_send_sync::<ResidentSite>;

/// Every `every`: [`ResidentSite::check_address`], passing what changed to `on_change` (the
/// app tells its window). The thread ends once the site is dropped.
pub fn spawn_address_watcher(
    site: Arc<ResidentSite>,
    every: Duration,
    on_change: impl Fn(LiveSiteStatus) + Send + 'static,
) {
    let site = Arc::downgrade(&site);
    let spawned = std::thread::Builder::new()
        .name("guanmo-site-address".into())
        .spawn(move || loop {
            std::thread::sleep(every);
            let Some(site) = site.upgrade() else {
                return;
            };
            if let Some(status) = site.check_address() {
                tracing::info!(message = ?status.message, "resident site address changed");
                on_change(status);
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot watch the resident site's address");
    }
}

/// The `Host` values the resident site on `addr` accepts: `localhost`, `127.0.0.1`, its own
/// address (with and without the port; not when it listens on every address, which names no
/// host), then the `extra` names (blank ones dropped). 直播网站设置's own host names are added
/// by [`WebConfig::from_settings`].
pub fn site_allowlist(addr: SocketAddr, extra: Vec<String>) -> Vec<String> {
    let mut hosts = vec!["localhost".to_string(), "127.0.0.1".to_string()];
    if !addr.ip().is_unspecified() {
        let ip = match addr {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        };
        hosts.push(format!("{ip}:{}", addr.port()));
        hosts.push(ip);
    }
    for h in extra {
        let h = h.trim();
        if !h.is_empty() && !hosts.iter().any(|a| a.eq_ignore_ascii_case(h)) {
            hosts.push(h.to_string());
        }
    }
    hosts
}

fn refuse(message: String) -> ApiError {
    ApiError::with_problems(
        ErrorCode::Validation,
        message.clone(),
        vec![Problem::error(ProblemCode::Invalid, "直播网站", message)],
    )
}

fn status_of(place: Option<&Place>, message: Option<String>) -> LiveSiteStatus {
    let Some(at) = place else {
        return LiveSiteStatus {
            message,
            ..LiveSiteStatus::default()
        };
    };
    let host = match at.ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    let url = format!("http://{host}:{}/", at.port);
    let qr_svg = crate::addresses::qr_svg(&url, 220);
    LiveSiteStatus {
        running: true,
        ip: Some(at.ip.to_string()),
        port: Some(i32::from(at.port)),
        url: Some(url),
        qr_svg,
        message,
        ..LiveSiteStatus::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guanmo_domain::SystemClock;
    use std::io::{Read, Write};
    use std::time::Instant;

    #[test]
    fn the_site_accepts_its_own_address_localhost_and_the_named_hosts() {
        let hosts = site_allowlist(
            "192.168.1.20:8080".parse().unwrap(),
            vec!["live.example.cn".into(), " ".into(), "LOCALHOST".into()],
        );
        assert_eq!(
            hosts,
            [
                "localhost",
                "127.0.0.1",
                "192.168.1.20:8080",
                "192.168.1.20",
                "live.example.cn"
            ]
        );
        // On every address there is no address of its own to allow.
        let any = site_allowlist("0.0.0.0:8080".parse().unwrap(), vec![]);
        assert_eq!(any, ["localhost", "127.0.0.1"]);
        let v6 = site_allowlist("[fe80::1]:8080".parse().unwrap(), vec![]);
        assert_eq!(
            v6,
            ["localhost", "127.0.0.1", "[fe80::1]:8080", "[fe80::1]"]
        );
        assert!(crate::host_allowed("192.168.1.20:8080", &hosts));
        assert!(!crate::host_allowed("evil.example:8080", &hosts));
    }

    struct Fixture {
        _dir: tempfile::TempDir,
        /// Serves the site; kept alive with it.
        _rt: tokio::runtime::Runtime,
        site: ResidentSite,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Ctx::open(dir.path(), Arc::new(SystemClock)).unwrap();
        let media = guanmo_media::MediaStore::new(dir.path()).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let site = ResidentSite::new(rt.handle().clone(), ctx, Arc::new(media));
        Fixture {
            _dir: dir,
            _rt: rt,
            site,
        }
    }

    /// A port nobody listens on now.
    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// The loopback interface as this machine names it.
    fn loopback() -> NetInterface {
        interfaces()
            .into_iter()
            .find(|i| i.ip == "127.0.0.1")
            .expect("a loopback interface")
    }

    /// Status line and body of `GET /` on `ip:port` with `Host: host`.
    fn get(ip: &str, port: u16, host: &str) -> std::io::Result<(String, String)> {
        let addr: SocketAddr = format!("{ip}:{port}").parse().unwrap();
        let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(
            s,
            "GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        )?;
        let mut out = Vec::new();
        s.read_to_end(&mut out)?;
        let out = String::from_utf8_lossy(&out).to_string();
        let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
        let status = head.lines().next().unwrap_or("").to_string();
        Ok((status, body.to_string()))
    }

    /// Retries until `GET /` answers and `check` holds of status line and body.
    fn eventually(ip: &str, port: u16, host: &str, check: impl Fn(&str, &str) -> bool) -> bool {
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            if let Ok((status, body)) = get(ip, port, host) {
                if check(&status, &body) {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    fn refused(ip: &str, port: u16) -> bool {
        let addr: SocketAddr = format!("{ip}:{port}").parse().unwrap();
        let until = Instant::now() + Duration::from_secs(5);
        while Instant::now() < until {
            match std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return true,
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        false
    }

    fn problem(e: &ApiError) -> &str {
        assert_eq!(e.code, ErrorCode::Validation);
        assert_eq!(e.problems.len(), 1, "{e:?}");
        assert_eq!(e.problems[0].location, "直播网站");
        &e.problems[0].message
    }

    #[test]
    fn a_low_port_or_an_address_of_no_interface_is_refused_in_words() {
        let f = fixture();
        let e = f.site.start("127.0.0.1", 80).unwrap_err();
        assert_eq!(problem(&e), "端口应在1024到65535之间,不能是80");
        let e = f.site.start("127.0.0.1", 70000).unwrap_err();
        assert_eq!(problem(&e), "端口应在1024到65535之间,不能是70000");
        let e = f.site.start("192.0.2.77", 8080).unwrap_err();
        assert_eq!(problem(&e), "本机没有地址为192.0.2.77的网络接口");
        assert!(!f.site.status().running);
    }

    #[test]
    fn a_started_site_serves_its_own_host_shows_where_and_stops() {
        let f = fixture();
        let port = free_port();
        let status = f.site.start("127.0.0.1", i32::from(port)).unwrap();
        assert!(status.running);
        assert_eq!(status.ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(status.port, Some(i32::from(port)));
        let url = format!("http://127.0.0.1:{port}/");
        assert_eq!(status.url.as_deref(), Some(url.as_str()));
        assert!(status.qr_svg.as_deref().is_some_and(|s| s.contains("<svg")));
        assert_eq!(status.message, None);
        assert_eq!(f.site.status(), status);

        let own = format!("127.0.0.1:{port}");
        assert!(eventually("127.0.0.1", port, &own, |s, _| s.contains("200")));
        let (refused_host, _) = get("127.0.0.1", port, "evil.example").unwrap();
        assert!(refused_host.contains("421"), "{refused_host}");

        // A port another program holds is refused in words; the site stays where it was.
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let taken_port = taken.local_addr().unwrap().port();
        let e = f
            .site
            .start("127.0.0.1", i32::from(taken_port))
            .unwrap_err();
        assert_eq!(
            problem(&e),
            format!("端口{taken_port}已被占用,请换一个端口")
        );
        assert_eq!(f.site.status(), status);
        assert!(eventually("127.0.0.1", port, &own, |s, _| s.contains("200")));

        let stopped = f.site.stop();
        assert_eq!(stopped, LiveSiteStatus::default());
        assert_eq!(f.site.status(), LiveSiteStatus::default());
        assert!(refused("127.0.0.1", port));
    }

    #[test]
    fn saved_settings_restart_the_running_site_with_them() {
        let f = fixture();
        // Not running: stored only.
        let mut settings = guanmo_api::site::get_site_settings(&f.site.ctx).unwrap();
        settings.title = "第一次观摩会".into();
        let (saved, status) = f.site.save_settings(settings.clone()).unwrap();
        assert!(!saved.restarted);
        assert_eq!(saved.settings.title, "第一次观摩会");
        assert!(!status.running);

        let port = free_port();
        let started = f.site.start("127.0.0.1", i32::from(port)).unwrap();
        let host = format!("127.0.0.1:{port}");
        assert!(eventually("127.0.0.1", port, &host, |_, b| b.contains("第一次观摩会")));

        settings.title = "第二次观摩会".into();
        settings.extra_hosts = vec!["live.example.cn".into()];
        let (saved, status) = f.site.save_settings(settings).unwrap();
        assert!(saved.restarted);
        assert_eq!(status, started, "same address, same socket");
        assert!(eventually("127.0.0.1", port, &host, |_, b| b.contains("第二次观摩会")));
        // The settings' host names are allowed after the restart.
        assert!(eventually("127.0.0.1", port, "live.example.cn", |s, _| s
            .contains("200")));
    }

    #[test]
    fn the_site_follows_its_interface_to_a_new_address_or_stops_saying_why() {
        let f = fixture();
        let lo = loopback();
        let port = free_port();
        f.site.start("127.0.0.1", i32::from(port)).unwrap();
        let nic = |ip: &str| NetInterface {
            name: lo.name.clone(),
            ip: ip.into(),
        };

        // Unchanged: nothing to announce.
        assert_eq!(f.site.follow(&[nic("127.0.0.1")]), None);

        // Moved (all of 127/8 is this machine's loopback on Linux).
        let moved = f.site.follow(&[nic("127.0.0.2")]).unwrap();
        assert!(moved.running);
        assert_eq!(moved.ip.as_deref(), Some("127.0.0.2"));
        assert_eq!(
            moved.message.as_deref(),
            Some(format!("网络地址已变化,直播网站已改用新地址 http://127.0.0.2:{port}/").as_str())
        );
        let host = format!("127.0.0.2:{port}");
        assert!(eventually("127.0.0.2", port, &host, |s, _| s.contains("200")));
        assert!(refused("127.0.0.1", port), "the old address is let go");
        assert_eq!(f.site.status().ip.as_deref(), Some("127.0.0.2"));

        // Moved to an address this machine cannot open: stopped, and the message says why.
        let gone = f.site.follow(&[nic("192.0.2.1")]).unwrap();
        assert!(!gone.running);
        let message = gone.message.unwrap();
        assert!(
            message.starts_with("网络地址已变化,直播网站已停止:无法在192.0.2.1:"),
            "{message}"
        );
        assert!(!f.site.status().running);
        assert!(refused("127.0.0.2", port));
        // Stopped: nothing more to follow.
        assert_eq!(f.site.follow(&[nic("127.0.0.3")]), None);
    }

    #[test]
    fn the_watcher_ends_with_the_site() {
        let f = fixture();
        let site = Arc::new(f.site);
        let (tx, rx) = std::sync::mpsc::channel::<LiveSiteStatus>();
        spawn_address_watcher(site.clone(), Duration::from_millis(10), move |s| {
            let _ = tx.send(s);
        });
        // Not running: nothing to announce.
        assert!(rx.recv_timeout(Duration::from_millis(100)).is_err());
        drop(site);
        // The thread let go of `on_change` (and its sender) once the site was gone.
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(5)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
        );
    }
}
