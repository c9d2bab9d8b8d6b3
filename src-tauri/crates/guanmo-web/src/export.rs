//! Static export of the live feed: a folder any web server, CDN or S3-compatible bucket can
//! serve as it is — `index.html` (every published post, no live script), `api/feed.json`,
//! `api/comments.json`, `static/feed.css` and the web copies of the photos it shows. All links
//! are relative, so the folder also works under a sub-path. Only public views are written:
//! the comments are the approved ones exactly as `GET /api/comments` gives them
//! ([`comments::public_comments`]), shown read-only (no form, no buttons, no script) with a
//! note that they are a snapshot and where to comment live (the 公网地址, if there is one).

use crate::error::WebError;
use crate::page::{self, PageOptions, Snapshot};
use crate::state::WebState;
use guanmo_api::comments;
use guanmo_api::feed::{self, PublicFeed};
use std::collections::BTreeSet;
use std::path::Path;

/// What an export wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// Posts in the export.
    pub posts: usize,
    /// Photo files copied.
    pub media_files: usize,
    /// Approved comments in the export (`api/comments.json`; none while the comment area is
    /// closed).
    pub comments: usize,
    /// Photo files the media source could not provide (`<hash>/<size>.jpg`).
    pub missing_media: Vec<String>,
}

/// Writes the public feed as a static site into `dir` (created if needed; files the export
/// writes are replaced, others are left alone).
pub fn export_static(state: &WebState, dir: &Path) -> Result<ExportReport, WebError> {
    let seq = feed::feed_seq(&state.ctx)?;
    let posts = feed::all_public_posts(&state.ctx)?;
    // What a resident would see of the comments now: the public view and nothing else.
    let public = comments::public_comments(&state.ctx, None)?;
    let live_url = guanmo_api::site::public_site_url(&state.ctx)?;
    let taken_at = state
        .ctx
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (pinned, rest): (Vec<_>, Vec<_>) = posts.into_iter().partition(|p| p.pinned);
    let pinned = pinned.into_iter().next();
    let html = page::render_snapshot(
        pinned.as_ref(),
        &rest,
        &PageOptions {
            base: "",
            title: &state.config.title,
            live: false,
            poll_seconds: state.config.poll_seconds,
            seq,
            next_cursor: None,
            paged: false,
            site: None,
        },
        &Snapshot {
            comments: &public,
            taken_at: &taken_at,
            live_url: live_url.as_deref(),
        },
    );
    std::fs::create_dir_all(dir.join("api"))?;
    std::fs::create_dir_all(dir.join("static"))?;
    std::fs::write(dir.join("index.html"), html)?;
    std::fs::write(dir.join("static").join("feed.css"), page::CSS)?;

    let mut report = ExportReport {
        posts: rest.len() + usize::from(pinned.is_some()),
        comments: public.comments.len(),
        ..ExportReport::default()
    };
    let hashes: BTreeSet<&str> = pinned
        .iter()
        .chain(rest.iter())
        .flat_map(|p| p.photos.iter().map(String::as_str))
        .collect();
    for hash in hashes {
        for side in [
            guanmo_media::THUMB_SIDE,
            guanmo_media::MID_SIDE,
            guanmo_media::WEB_SIDE,
        ] {
            let name = format!("{hash}/{side}.jpg");
            // The copy residents see: with 台标 on, the watermarked one.
            let public = state
                .media
                .derived_path(hash, side)
                .filter(|src| src.is_file())
                .map(|src| {
                    guanmo_api::photos::watermark::public_copy(&state.ctx, hash, side, &src)
                });
            match public {
                Some(Ok((src, _))) => {
                    let to = dir.join("media").join(hash);
                    std::fs::create_dir_all(&to)?;
                    std::fs::copy(&src, to.join(format!("{side}.jpg")))?;
                    report.media_files += 1;
                }
                Some(Err(e)) => {
                    tracing::warn!(%hash, side, error = %e, "export: the public copy could not be made");
                    report.missing_media.push(name);
                }
                None => report.missing_media.push(name),
            }
        }
    }
    let feed = PublicFeed {
        pinned,
        posts: rest,
        next_cursor: None,
    };
    std::fs::write(
        dir.join("api").join("feed.json"),
        serde_json::to_vec(&feed)?,
    )?;
    std::fs::write(
        dir.join("api").join("comments.json"),
        serde_json::to_vec(&public)?,
    )?;
    Ok(report)
}
