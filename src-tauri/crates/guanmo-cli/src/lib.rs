//! The organiser's hub without a window (`guanmo serve` on a server), over the same data
//! folder layout and the same use cases as the desktop app: the peer listener that laptops
//! sync with, optionally the resident site, and the hub's pairing codes and devices from the
//! command line. Invariant: these commands only ever act as the hub; a laptop's data folder
//! (评分电脑, 直播电脑) is refused, so one folder never plays both parts. `backup` and
//! `restore` are the exception: they take any data folder and never give it a role.

use clap::{Parser, Subcommand};
use guanmo_api::Ctx;
use guanmo_domain::SystemClock;
use guanmo_media::MediaStore;
use guanmo_sync::{HubService, Role};
use guanmo_web::{site_allowlist, Listener};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The hub's name when a data folder becomes the hub here.
const DEFAULT_NAME: &str = "组织方主机";

/// `guanmo`: the organiser's hub without a window.
#[derive(Debug, Parser)]
#[command(
    name = "guanmo",
    version,
    about = "观摩 — the organiser's hub without a window"
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the peer listener (and, with --site, the resident site, on the data folder's
    /// stored 直播网站设置) until SIGINT or SIGTERM.
    Serve {
        /// The hub's data folder (must exist; an empty one becomes a new hub).
        #[arg(long)]
        data_dir: PathBuf,
        /// Address of the peer listener laptops sync with.
        #[arg(long, default_value = "0.0.0.0:8787")]
        peer: SocketAddr,
        /// Also serve the resident site (the live feed) on this address.
        #[arg(long)]
        site: Option<SocketAddr>,
        /// Host names residents reach the site by (repeatable), e.g. the server's DNS name
        /// behind a proxy; the site's own address, localhost and 127.0.0.1 are always allowed,
        /// and so are the extra host names of the stored 直播网站设置.
        #[arg(long = "site-host")]
        site_hosts: Vec<String>,
        /// The hub's name shown on the laptops, when the folder becomes a hub here.
        #[arg(long, default_value = DEFAULT_NAME)]
        name: String,
        /// Serve HTTPS (the peer listener, and the site with --site) with this PEM certificate
        /// chain, the hub's own certificate first; needs --tls-key. Its SHA-256 fingerprint is
        /// printed at start and beside pairing codes, for laptops to pin.
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// The PEM private key of --tls-cert.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Live streams (`/live`, one per phone with the live page open) the resident site
        /// holds at once; beyond it a phone gets `503` and its page refreshes on a timer
        /// instead. Each open stream costs about 25 KiB of memory here and one open file (so
        /// the open-files limit, e.g. systemd's LimitNOFILE, must be above it), and two
        /// connections in nginx in front. 1 to 50000.
        #[arg(
            long,
            value_name = "N",
            default_value_t = guanmo_web::LiveCaps::DEFAULT_TOTAL,
            value_parser = live_max_streams,
        )]
        live_max_streams: usize,
    },
    /// Print the resident site's settings (直播网站设置) as JSON; with --set, change them first.
    SiteSettings {
        /// The hub's data folder.
        #[arg(long)]
        data_dir: PathBuf,
        /// A JSON file with the fields to change, named as printed (e.g.
        /// `{"pollSeconds": 30, "trustedProxies": ["10.0.0.5"]}`); the others keep their values.
        /// A running `guanmo serve` takes them up when restarted.
        #[arg(long)]
        set: Option<PathBuf>,
    },
    /// Print a fresh one-time pairing code (valid 10 minutes, 5 tries) and, when `serve`
    /// last started with --tls-cert, the certificate's fingerprint that laptops enter as
    /// 证书指纹.
    PairingCode {
        /// The hub's data folder.
        #[arg(long)]
        data_dir: PathBuf,
        /// The address laptops use (e.g. https://live.example.cn:8787): also print the pairing
        /// link `guanmo://pair?url=…&code=…&fp=…` for a QR code.
        #[arg(long)]
        url: Option<String>,
    },
    /// List the devices paired with this hub.
    Devices {
        /// The hub's data folder.
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Revoke a device: its token stops working at once, and it never pairs again.
    Revoke {
        /// The hub's data folder.
        #[arg(long)]
        data_dir: PathBuf,
        /// The device's id (see `guanmo devices`).
        id: String,
    },
    /// List the scorers with the laptop each is assigned to (only that laptop's sheets for
    /// the scorer are accepted).
    Scorers {
        /// The hub's data folder.
        #[arg(long)]
        data_dir: PathBuf,
    },
    /// Assign a scorer to the paired 评分电脑 that scores for them (or clear it with --clear).
    Assign {
        /// The hub's data folder.
        #[arg(long)]
        data_dir: PathBuf,
        /// The scorer's id (see `guanmo scorers`).
        scorer: String,
        /// The laptop's id (see `guanmo devices`).
        #[arg(required_unless_present = "clear")]
        device: Option<String>,
        /// Remove the assignment instead.
        #[arg(long, conflicts_with = "device")]
        clear: bool,
    },
    /// Grant a paired laptop 审核 (it may decide on residents' comments; it learns so at its
    /// next sync), or take it back with --revoke.
    Moderator {
        /// The hub's data folder.
        #[arg(long)]
        data_dir: PathBuf,
        /// The laptop's id (see `guanmo devices`).
        id: String,
        /// Take the grant back instead.
        #[arg(long)]
        revoke: bool,
    },
    /// Back up a data folder (the database and every photo file) into one `.gmbak` file.
    /// Safe while `guanmo serve` runs on it (the database is copied as one snapshot); the
    /// file appears complete or not at all. For a nightly cron job: one summary line on
    /// success, exit code 1 and the reason on stderr on failure.
    Backup {
        /// The data folder (a hub's or a laptop's; it is not changed).
        #[arg(long, visible_alias = "data")]
        data_dir: PathBuf,
        /// The backup file to write, or a folder to write
        /// `guanmo-backup-<UTC yyyymmddTHHMM>.gmbak` into.
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore a backup file into a data folder: a new or empty one, or, with --replace, the
    /// one in use, whose data is first backed up (beside it, or into --keep-in). The file is
    /// checked whole before anything changes. Stop `guanmo serve` on the folder first.
    Restore {
        /// The data folder to restore into.
        #[arg(long, visible_alias = "data")]
        data_dir: PathBuf,
        /// The backup file (`.gmbak`).
        file: PathBuf,
        /// Replace what the folder holds (after backing it up).
        #[arg(long)]
        replace: bool,
        /// Folder for the automatic backup of the replaced data (default: the folder that
        /// holds the data folder).
        #[arg(long, requires = "replace")]
        keep_in: Option<PathBuf>,
    },
    /// Purge residents' comment data past the retention period (保存期限, at least 180 days
    /// after the event ends): writes the 评论记录 export to `<data-dir>/retention/` first,
    /// then deletes in batches and logs the run. `guanmo serve` does the same once a day.
    PurgeComments {
        /// The hub's data folder.
        #[arg(long)]
        data_dir: PathBuf,
        /// Only print what is due and what a purge would remove.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the 台标 setting (the logo on the resident site's photos) as JSON; with --logo,
    /// --corner, --size, --opacity, --margin or --off, change it first. A running `guanmo
    /// serve` uses the new setting at once (its pages name it within 15 s).
    Watermark {
        /// The hub's data folder.
        #[arg(long)]
        data_dir: PathBuf,
        /// The logo: a PNG with transparency (at most 2 MiB, 4096 px a side); turns 台标 on.
        #[arg(long)]
        logo: Option<PathBuf>,
        /// The corner: top-left, top-right, bottom-left, bottom-right (or 左上, 右上, 左下, 右下).
        #[arg(long, value_parser = parse_corner)]
        corner: Option<guanmo_api::photos::watermark::WatermarkCorner>,
        /// The logo's width in percent of the photo's width (8–30).
        #[arg(long)]
        size: Option<u8>,
        /// Opacity in percent (10–100).
        #[arg(long)]
        opacity: Option<u8>,
        /// Distance from the edges in percent of the photo's width (0–10).
        #[arg(long)]
        margin: Option<u8>,
        /// Take the logo off (public copies carry none).
        #[arg(long, conflicts_with_all = ["logo", "corner", "size", "opacity", "margin"])]
        off: bool,
    },
    /// Let a paired device pair once more with a new key or role (a revoked one never does).
    AllowRepair {
        /// The hub's data folder.
        #[arg(long)]
        data_dir: PathBuf,
        /// The device's id (see `guanmo devices`).
        id: String,
    },
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The data folder is missing or belongs to a laptop, or an argument is wrong.
    #[error("{0}")]
    Refused(String),
    /// A use case failed.
    #[error("{0}")]
    Api(#[from] guanmo_api::ApiError),
    /// A sync step failed.
    #[error("{0}")]
    Sync(#[from] guanmo_sync::SyncError),
    /// The photo store could not be opened.
    #[error("photo store: {0}")]
    Media(#[from] guanmo_media::MediaError),
    /// The resident site could not start.
    #[error("resident site: {0}")]
    Web(#[from] guanmo_web::WebError),
    /// A listener could not be bound or failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Runs one command; what it prints goes to stdout, the log to stderr.
pub fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve {
            data_dir,
            peer,
            site,
            site_hosts,
            name,
            tls_cert,
            tls_key,
            live_max_streams,
        } => {
            let (ctx, media) = open_hub(&data_dir, &name)?;
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(
                    guanmo_web::TlsIdentity::from_pem_files(&cert, &key)
                        .map_err(|e| CliError::Refused(format!("TLS: {e}")))?,
                ),
                _ => None,
            };
            serve(
                ctx,
                media,
                peer,
                site.map(|addr| SiteArgs {
                    addr,
                    live_max_streams,
                }),
                site_hosts,
                tls,
            )
        }
        Command::SiteSettings { data_dir, set } => {
            let (ctx, _) = open_hub(&data_dir, DEFAULT_NAME)?;
            let settings = match set {
                None => guanmo_api::site::get_site_settings(&ctx)?,
                Some(path) => {
                    let changes = std::fs::read_to_string(&path).map_err(|e| {
                        CliError::Refused(format!("cannot read {}: {e}", path.display()))
                    })?;
                    let current = guanmo_api::site::get_site_settings(&ctx)?;
                    let wanted = merge_settings(&current, &changes).map_err(|e| {
                        CliError::Refused(format!(
                            "{} is not valid settings JSON: {e}",
                            path.display()
                        ))
                    })?;
                    guanmo_api::site::set_site_settings(&ctx, wanted).map_err(refused)?
                }
            };
            let json = serde_json::to_string_pretty(&settings)
                .map_err(|e| CliError::Refused(e.to_string()))?;
            println!("{json}");
            Ok(())
        }
        Command::PairingCode { data_dir, url } => {
            let (ctx, _) = open_hub(&data_dir, DEFAULT_NAME)?;
            let code = guanmo_sync::new_pairing_code(&ctx)?;
            let fingerprint = guanmo_sync::served_fingerprint(&ctx)?;
            println!("{}", code.code);
            println!("valid until {}", code.expires_at);
            if let Some(fp) = &fingerprint {
                println!("certificate SHA-256 (证书指纹) {fp}");
            }
            if let Some(url) = url {
                let url = guanmo_sync::normalize_hub_url(&url).map_err(refused)?;
                let link =
                    guanmo_web::addresses::pairing_link(&url, &code.code, fingerprint.as_ref());
                println!("{link}");
            }
            Ok(())
        }
        Command::Devices { data_dir } => {
            let (ctx, media) = open_hub(&data_dir, DEFAULT_NAME)?;
            let overview = guanmo_sync::overview(&ctx, &media)?;
            for d in overview
                .devices
                .iter()
                .filter(|d| d.id != overview.device_id)
            {
                let mut state = match &d.revoked_at {
                    Some(at) => format!("revoked {at}"),
                    None => "paired".to_string(),
                };
                if d.moderator {
                    state.push_str(", 审核");
                }
                println!(
                    "{}\t{}\t{}\t{state}\tpaired {}\tlast contact {}\t{} ops",
                    d.id,
                    d.role.as_str(),
                    d.name,
                    d.paired_at,
                    d.last_contact.as_deref().unwrap_or("never"),
                    d.ops_received,
                );
            }
            Ok(())
        }
        Command::Revoke { data_dir, id } => {
            let (ctx, _) = open_hub(&data_dir, DEFAULT_NAME)?;
            if guanmo_sync::revoke_device(&ctx, &id)? {
                println!("revoked {id}");
                Ok(())
            } else {
                Err(CliError::Refused(format!(
                    "no paired device {id} (already revoked, or never paired here)"
                )))
            }
        }
        Command::Scorers { data_dir } => {
            let (ctx, _) = open_hub(&data_dir, DEFAULT_NAME)?;
            let assigned: std::collections::HashMap<String, String> =
                guanmo_sync::scorer_assignments(&ctx)?
                    .into_iter()
                    .map(|a| (a.scorer_id, a.device_id))
                    .collect();
            for s in guanmo_api::scoring::list_scorers(&ctx)? {
                println!(
                    "{}\t{}\t{}\t{}",
                    s.id,
                    s.name,
                    s.group,
                    assigned.get(&s.id).map_or("unassigned", String::as_str)
                );
            }
            Ok(())
        }
        Command::Assign {
            data_dir,
            scorer,
            device,
            clear,
        } => {
            let (ctx, _) = open_hub(&data_dir, DEFAULT_NAME)?;
            let device = if clear { None } else { device };
            guanmo_sync::assign_scorer(&ctx, &scorer, device.as_deref())?;
            match device {
                Some(d) => println!("{scorer} is scored on {d}"),
                None => println!("{scorer} is assigned to no laptop"),
            }
            Ok(())
        }
        Command::Moderator {
            data_dir,
            id,
            revoke,
        } => {
            let (ctx, _) = open_hub(&data_dir, DEFAULT_NAME)?;
            let changed = match guanmo_sync::grants::grant_moderator(&ctx, &id, !revoke) {
                Err(e) if e.code == guanmo_sync::SyncErrorCode::BadRequest => {
                    return Err(CliError::Refused(format!(
                        "no paired, unrevoked laptop {id} (see `guanmo devices`): only those \
                         can be granted 审核"
                    )))
                }
                other => other?,
            };
            match (revoke, changed) {
                (false, true) => println!("{id} now holds 审核 (it learns so at its next sync)"),
                (false, false) => println!("{id} already holds 审核; nothing changed"),
                (true, true) => println!("{id} no longer holds 审核"),
                (true, false) => println!("{id} holds no 审核 grant; nothing changed"),
            }
            Ok(())
        }
        Command::Backup { data_dir, out } => {
            let line = backup(&data_dir, &out)?;
            println!("{line}");
            Ok(())
        }
        Command::Restore {
            data_dir,
            file,
            replace,
            keep_in,
        } => {
            let line = restore(&data_dir, &file, replace, keep_in)?;
            println!("{line}");
            Ok(())
        }
        Command::PurgeComments { data_dir, dry_run } => {
            let (ctx, _) = open_hub(&data_dir, DEFAULT_NAME)?;
            println!("{}", purge_comments(&ctx, dry_run)?);
            Ok(())
        }
        Command::Watermark {
            data_dir,
            logo,
            corner,
            size,
            opacity,
            margin,
            off,
        } => {
            use guanmo_api::photos::watermark as wm;
            let (ctx, _) = open_hub(&data_dir, DEFAULT_NAME)?;
            if off {
                wm::clear_watermark_logo(&ctx).map_err(refused)?;
            }
            if let Some(path) = &logo {
                wm::set_watermark_logo(&ctx, path).map_err(refused)?;
            }
            if corner.is_some() || size.is_some() || opacity.is_some() || margin.is_some() {
                let now = wm::get_watermark(&ctx)?.placement;
                wm::set_watermark_placement(
                    &ctx,
                    wm::WatermarkPlacement {
                        corner: corner.unwrap_or(now.corner),
                        size_pct: size.unwrap_or(now.size_pct),
                        opacity_pct: opacity.unwrap_or(now.opacity_pct),
                        margin_pct: margin.unwrap_or(now.margin_pct),
                        ..now
                    },
                )
                .map_err(refused)?;
            }
            let json = serde_json::to_string_pretty(&wm::get_watermark(&ctx)?)
                .map_err(|e| CliError::Refused(e.to_string()))?;
            println!("{json}");
            Ok(())
        }
        Command::AllowRepair { data_dir, id } => {
            let (ctx, _) = open_hub(&data_dir, DEFAULT_NAME)?;
            if guanmo_sync::allow_repair(&ctx, &id)? {
                println!("{id} may pair once more");
                Ok(())
            } else {
                Err(CliError::Refused(format!(
                    "no paired, unrevoked device {id}"
                )))
            }
        }
    }
}

/// `guanmo purge-comments`: what is due (with --dry-run) or what the purge removed, as lines.
fn purge_comments(ctx: &Ctx, dry_run: bool) -> Result<String, CliError> {
    use guanmo_api::comments::retention;
    let status = retention::preview(ctx)?;
    let mut out = format!(
        "retention {} days; due from {}",
        status.days,
        status
            .due_from
            .as_deref()
            .unwrap_or("(no tour date and no comment)")
    );
    if dry_run || !status.due_now {
        let c = status.would_purge;
        out.push_str(&format!(
            "\nwould purge: {} comments, {} reports, {} log lines, {} mutes, {} likes' phone keys",
            c.comments, c.reports, c.log_lines, c.mutes, c.likes
        ));
        return Ok(out);
    }
    match retention::purge_as(
        ctx,
        retention::Trigger::Manual,
        "organiser@cli",
        retention::BATCH,
    )? {
        Some(r) => out.push_str(&format!(
            "\npurged: {} comments, {} reports, {} log lines, {} mutes, {} likes' phone keys; \
             export {}",
            r.counts.comments,
            r.counts.reports,
            r.counts.log_lines,
            r.counts.mutes,
            r.counts.likes,
            r.export_file
        )),
        None => out.push_str("\nnothing to purge"),
    }
    Ok(out)
}

/// `guanmo backup`: writes the backup and returns its one summary line.
fn backup(data_dir: &Path, out: &Path) -> Result<String, CliError> {
    if !data_dir.is_dir() {
        return Err(CliError::Refused(format!(
            "no data folder {}",
            data_dir.display()
        )));
    }
    let now = guanmo_domain::Clock::now(&SystemClock);
    let out = guanmo_api::backup::resolve_out(out, now);
    let cancel = cancel_on_signal();
    let s = guanmo_api::backup::backup_folder(data_dir, now, &out, &|_| {}, &cancel)?;
    #[allow(clippy::cast_precision_loss)]
    let mb = s.file_bytes as f64 / 1e6;
    #[allow(clippy::cast_precision_loss)]
    let secs = s.millis as f64 / 1e3;
    Ok(format!(
        "backup {}: {mb:.1} MB, {} photo files, {} rows, schema v{}, {secs:.1} s",
        s.path, s.photo_files, s.rows, s.schema_version
    ))
}

/// `guanmo restore`: restores and returns its one summary line.
fn restore(
    data_dir: &Path,
    file: &Path,
    replace: bool,
    keep_in: Option<PathBuf>,
) -> Result<String, CliError> {
    let mode = if replace {
        guanmo_api::backup::RestoreMode::Replace { keep_in }
    } else {
        guanmo_api::backup::RestoreMode::IntoEmpty
    };
    let cancel = cancel_on_signal();
    let s = guanmo_api::backup::restore(
        file,
        data_dir,
        &mode,
        guanmo_domain::Clock::now(&SystemClock),
        &|_| {},
        &cancel,
    )?;
    let mut line = format!(
        "restored {} into {}: taken {}, schema v{}, {} photo files, {} rows",
        file.display(),
        data_dir.display(),
        s.created_at,
        s.schema_version,
        s.photo_files,
        s.rows
    );
    if let Some(previous) = s.previous_data_backup {
        line.push_str(&format!("; the replaced data is in {previous}"));
    }
    Ok(line)
}

/// A flag set when SIGINT or SIGTERM arrives, so a backup or restore stops cleanly (leaving
/// no partial file) instead of being killed half-way.
fn cancel_on_signal() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = flag.clone();
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        if let Ok(signal) = rt.block_on(termination()) {
            tracing::info!(signal, "cancelling");
            set.store(true, Ordering::Relaxed);
        }
    });
    flag
}

/// `--live-max-streams`: a number from 1 to [`guanmo_web::LiveCaps::MAX_TOTAL`].
fn live_max_streams(arg: &str) -> Result<usize, String> {
    let max = guanmo_web::LiveCaps::MAX_TOTAL;
    let n: usize = arg
        .trim()
        .parse()
        .map_err(|_| format!("`{arg}` is not a whole number of streams (1 to {max})"))?;
    if n == 0 {
        return Err(format!(
            "0 would refuse every phone's live page; give 1 to {max} (default {})",
            guanmo_web::LiveCaps::DEFAULT_TOTAL
        ));
    }
    if n > max {
        return Err(format!(
            "{n} streams is more than one hub is meant to hold (at most {max}: each costs \
             about 25 KiB and an open file here, two connections in nginx)"
        ));
    }
    Ok(n)
}

/// The open-files limit of this process (the soft one), where the system says it.
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Open files the site needs besides its live streams: the database, photos, the peer
/// listener's laptops and the phones' other requests in flight.
const OTHER_FILES: u64 = 1024;

/// `current` with the fields of the JSON object `changes` put over it.
fn merge_settings(
    current: &guanmo_api::site::SiteSettings,
    changes: &str,
) -> Result<guanmo_api::site::SiteSettings, serde_json::Error> {
    guanmo_api::site::overlay(current, serde_json::from_str(changes)?)
}

/// A 台标 corner as typed: `top-left` … `bottom-right` (or with `_`), or 左上, 右上, 左下, 右下.
fn parse_corner(s: &str) -> Result<guanmo_api::photos::watermark::WatermarkCorner, String> {
    use guanmo_api::photos::watermark::WatermarkCorner as C;
    match s.trim().replace('_', "-").to_ascii_lowercase().as_str() {
        "top-left" | "左上" => Ok(C::TopLeft),
        "top-right" | "右上" => Ok(C::TopRight),
        "bottom-left" | "左下" => Ok(C::BottomLeft),
        "bottom-right" | "右下" => Ok(C::BottomRight),
        _ => Err(format!(
            "{s}: one of top-left, top-right, bottom-left, bottom-right (左上, 右上, 左下, 右下)"
        )),
    }
}

/// A refused input as the lines of its problems, so the terminal says what to fix.
fn refused(e: guanmo_api::ApiError) -> CliError {
    if e.problems.is_empty() {
        return CliError::Api(e);
    }
    let lines: Vec<String> = e
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.location, p.message))
        .collect();
    CliError::Refused(lines.join("\n"))
}

/// Opens `dir` as the hub's data: it must exist; a folder with no role yet becomes the hub
/// named `name`; a laptop's folder is refused.
fn open_hub(dir: &Path, name: &str) -> Result<(Ctx, MediaStore), CliError> {
    if !dir.is_dir() {
        return Err(CliError::Refused(format!(
            "no data folder {} (create it first)",
            dir.display()
        )));
    }
    let ctx = Ctx::open(dir, Arc::new(SystemClock))?;
    let media = ctx.media().clone();
    let me = guanmo_sync::device_identity(&ctx)?;
    match me.role {
        Some(Role::Hub) => {}
        None => {
            let me = guanmo_sync::set_role(&ctx, Role::Hub, name)?;
            tracing::info!(id = %me.id, name = %me.name, "this data folder is now the organiser's hub");
        }
        Some(role) => {
            return Err(CliError::Refused(format!(
                "{} is a laptop's data folder (role {}), not the hub's",
                dir.display(),
                role.as_str()
            )))
        }
    }
    Ok((ctx, media))
}

/// The resident site as `serve` was asked for it.
struct SiteArgs {
    /// `--site`.
    addr: SocketAddr,
    /// `--live-max-streams`.
    live_max_streams: usize,
}

/// Serves until SIGINT or SIGTERM, then stops accepting, lets requests in flight finish, and
/// returns.
fn serve(
    ctx: Ctx,
    media: MediaStore,
    peer: SocketAddr,
    site: Option<SiteArgs>,
    site_hosts: Vec<String>,
    tls: Option<guanmo_web::TlsIdentity>,
) -> Result<(), CliError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("guanmo-serve")
        .build()?;

    // Remembered for `guanmo pairing-code`, which shows it beside the code.
    let fingerprint = tls.as_ref().map(guanmo_web::TlsIdentity::fingerprint);
    guanmo_sync::set_served_fingerprint(&ctx, fingerprint.as_ref())?;
    if let Some(fp) = &fingerprint {
        tracing::info!(fingerprint = %fp, "serving HTTPS; laptops pin this certificate");
        println!("certificate SHA-256 (证书指纹) {fp}");
    }

    // Retention of residents' comment data: checked now and once a day while serving.
    let _retention = guanmo_api::comments::retention::spawn_daily_check(ctx.clone());

    let peer_listener = Listener::with_tls(rt.handle().clone(), "peer listener", tls.clone());
    // Laptops reach the hub by the names residents use too (`--site-host`, behind nginx) as
    // well as the stored ones; pairing tries count per laptop behind a trusted proxy.
    let settings = guanmo_api::site::get_site_settings(&ctx)?;
    let mut peer_names = settings.extra_hosts.clone();
    peer_names.extend(site_hosts.iter().map(|h| h.trim().to_string()));
    let peer_router = guanmo_web::peer::peer_router_behind(
        HubService::new(ctx.clone(), media.clone()),
        peer_names,
        guanmo_web::RateLimits::from_settings(&settings).trusted_proxies,
    );
    let bound = peer_listener.start(peer, peer_router).map_err(|e| {
        CliError::Refused(format!("cannot listen for laptops on {peer}: {}", e.io()))
    })?;
    tracing::info!(addr = %bound, "peer listener up");

    let site_listener = Listener::with_tls(rt.handle().clone(), "resident site", tls);
    let serving_site = site.is_some();
    if let Some(SiteArgs {
        addr,
        live_max_streams,
    }) = site
    {
        // 直播网站设置 as stored in the hub's folder; `--site-host` names add to its hosts.
        let mut config =
            guanmo_web::WebConfig::from_settings(&settings, site_allowlist(addr, site_hosts));
        config.limits.live.total = live_max_streams;
        let files_needed = live_max_streams as u64 + OTHER_FILES;
        if let Some(limit) = open_files_limit().filter(|&l| l < files_needed) {
            tracing::warn!(
                limit,
                live_max_streams,
                "the open-files limit is too low for --live-max-streams: phones beyond it \
                 fail to connect instead of getting 503; raise it (systemd LimitNOFILE, \
                 ulimit -n) to at least {files_needed}"
            );
        }
        tracing::info!(live_max_streams, "live streams capped");
        if addr.ip().is_unspecified() && config.allowed_hosts.len() <= 2 {
            tracing::warn!(
                "the site listens on every address but only localhost is allowed; \
                 name the hosts residents use with --site-host"
            );
        }
        let state = guanmo_web::WebState::new(ctx, Arc::new(media), config)?;
        let bound = site_listener
            .start(addr, guanmo_web::public_router(state))
            .map_err(|e| {
                CliError::Refused(format!(
                    "cannot serve the resident site on {addr}: {}",
                    e.io()
                ))
            })?;
        tracing::info!(addr = %bound, "resident site up");
    }

    rt.block_on(async {
        let result = tokio::select! {
            signal = termination() => signal
                .map(|s| tracing::info!(signal = s, "stopping"))
                .map_err(CliError::Io),
            // A server that ends by itself failed (its error is in the log).
            () = peer_listener.ended() => Err(CliError::Refused("the peer listener stopped".into())),
            () = site_listener.ended(), if serving_site => {
                Err(CliError::Refused("the resident site stopped".into()))
            }
        };
        tokio::join!(peer_listener.shutdown(), site_listener.shutdown());
        tracing::info!("stopped");
        result
    })
}

/// Waits for SIGINT or (on Unix) SIGTERM; returns which.
async fn termination() -> std::io::Result<&'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = term.recv() => Ok("SIGTERM"),
            _ = int.recv() => Ok("SIGINT"),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await?;
        Ok("Ctrl-C")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_from_the_command_line_restores_into_a_new_folder_and_bad_files_fail() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("data");
        let ctx = Ctx::open(&data, Arc::new(SystemClock)).unwrap();
        let device = ctx.store().device_id().to_string();
        let backups = root.path().join("backups");
        std::fs::create_dir(&backups).unwrap();
        let cli = Cli::try_parse_from([
            "guanmo",
            "backup",
            "--data",
            data.to_str().unwrap(),
            "--out",
            backups.to_str().unwrap(),
        ])
        .unwrap();
        let Command::Backup { data_dir, out } = cli.command else {
            panic!("parsed as another command");
        };
        let line = backup(&data_dir, &out).unwrap();
        assert!(line.starts_with("backup "), "{line}");
        assert!(!line.contains('\n'), "one line: {line}");
        let files: Vec<_> = std::fs::read_dir(&backups)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.starts_with("guanmo-backup-") && name.ends_with(".gmbak"),
            "{name}"
        );
        // Backing up changed nothing about the folder's role (it is not made the hub).
        assert_eq!(ctx.device_role().unwrap(), None);
        drop(ctx);

        let restored = root.path().join("restored");
        let cli = Cli::try_parse_from([
            "guanmo",
            "restore",
            "--data-dir",
            restored.to_str().unwrap(),
            files[0].to_str().unwrap(),
        ])
        .unwrap();
        run(cli).unwrap();
        let back = Ctx::open(&restored, Arc::new(SystemClock)).unwrap();
        assert_eq!(back.store().device_id(), device);
        drop(back);

        // Into the same folder again without --replace: refused.
        let again = run(Cli::try_parse_from([
            "guanmo",
            "restore",
            "--data",
            restored.to_str().unwrap(),
            files[0].to_str().unwrap(),
        ])
        .unwrap())
        .unwrap_err();
        assert!(again.to_string().contains("不是空的"), "{again}");
        // With it: the replaced data is backed up into --keep-in first.
        let keep = root.path().join("keep");
        let line = restore(&restored, &files[0], true, Some(keep.clone())).unwrap();
        assert!(line.contains("the replaced data is in"), "{line}");
        assert_eq!(std::fs::read_dir(&keep).unwrap().count(), 1);

        // A truncated file fails (exit code 1 in main) and changes nothing.
        let cut = root.path().join("cut.gmbak");
        let bytes = std::fs::read(&files[0]).unwrap();
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let e = restore(&root.path().join("fresh"), &cut, false, None).unwrap_err();
        assert!(e.to_string().contains("BackupUnreadable"), "{e}");
        assert!(!root.path().join("fresh").exists());
        // A missing data folder is refused.
        assert!(backup(&root.path().join("nowhere"), &backups).is_err());
        assert!(
            Cli::try_parse_from(["guanmo", "restore", "--data", "/x", "f", "--keep-in", "/k"])
                .is_err(),
            "--keep-in only with --replace"
        );
    }

    #[test]
    fn a_settings_file_that_is_not_json_is_refused() {
        let current = guanmo_api::site::SiteSettings::default();
        assert!(merge_settings(&current, "pollSeconds = 30").is_err());
        let merged = merge_settings(&current, r#"{"pollSeconds": 30}"#).unwrap();
        assert_eq!(merged.poll_seconds, 30);
    }

    #[test]
    fn the_command_line_parses_with_the_documented_defaults() {
        let cli = Cli::try_parse_from(["guanmo", "serve", "--data-dir", "/srv/guanmo"]).unwrap();
        match cli.command {
            Command::Serve {
                peer,
                site,
                tls_cert,
                live_max_streams,
                ..
            } => {
                assert_eq!(peer, "0.0.0.0:8787".parse().unwrap());
                assert!(site.is_none());
                assert!(tls_cert.is_none(), "plain HTTP unless asked");
                assert_eq!(live_max_streams, 2000);
            }
            other => panic!("{other:?}"),
        }
        assert!(
            Cli::try_parse_from(["guanmo", "serve", "--data-dir", "/x", "--tls-cert", "c.pem"])
                .is_err(),
            "a certificate needs its key"
        );
        assert!(Cli::try_parse_from(["guanmo", "revoke", "--data-dir", "/x"]).is_err());
    }

    #[test]
    fn the_live_stream_cap_is_a_flag_from_1_to_50000() {
        let cap = |n: &str| {
            Cli::try_parse_from([
                "guanmo",
                "serve",
                "--data-dir",
                "/x",
                "--live-max-streams",
                n,
            ])
            .map(|cli| match cli.command {
                Command::Serve {
                    live_max_streams, ..
                } => live_max_streams,
                other => panic!("{other:?}"),
            })
            .map_err(|e| e.to_string())
        };
        assert_eq!(cap("5000"), Ok(5000));
        assert_eq!(cap("1"), Ok(1));
        assert_eq!(cap("50000"), Ok(50_000));
        let zero = cap("0").unwrap_err();
        assert!(
            zero.contains("0 would refuse every phone's live page"),
            "{zero}"
        );
        let absurd = cap("1000000").unwrap_err();
        assert!(absurd.contains("at most 50000"), "{absurd}");
        assert!(cap("-3").is_err());
        assert!(cap("many").unwrap_err().contains("not a whole number"));
    }
}
