//! 台标: the issuing outlet's logo on the photos residents see. Set once (a PNG with a
//! transparent background, a corner, a size, an opacity, a margin) and applied to the public
//! copies only: the site's `/media/…` answers and the app's preview, never an original, an
//! evidence photo or the app's own copies.
//!
//! When public copies are made: lazily, the first time a copy is asked for under the current
//! setting (the resident site's media route, or the preview), from the photo's plain derived
//! copy; then kept under `public-copies/` by the setting's digest, so a copy made with an older
//! setting is never served again (see [`guanmo_media::MediaStore::watermarked`]).
//!
//! The setting is this device's, like the site settings: the site host renders with its own,
//! a media laptop previews with its own.

use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use guanmo_domain::people::PersonRole;
use guanmo_domain::problem::{Problem, ProblemCode};
use guanmo_media::{Corner, Logo, LogoError, Placement, Size, Watermark};
use guanmo_store::watermark::{self as store, WatermarkRow};
use serde::{Deserialize, Serialize};
use specta::Type;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Which corner of the photo the logo sits in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum WatermarkCorner {
    /// 左上
    TopLeft,
    /// 右上
    TopRight,
    /// 左下
    BottomLeft,
    /// 右下
    BottomRight,
}

impl From<WatermarkCorner> for Corner {
    fn from(c: WatermarkCorner) -> Corner {
        match c {
            WatermarkCorner::TopLeft => Corner::TopLeft,
            WatermarkCorner::TopRight => Corner::TopRight,
            WatermarkCorner::BottomLeft => Corner::BottomLeft,
            WatermarkCorner::BottomRight => Corner::BottomRight,
        }
    }
}

impl From<Corner> for WatermarkCorner {
    fn from(c: Corner) -> WatermarkCorner {
        match c {
            Corner::TopLeft => WatermarkCorner::TopLeft,
            Corner::TopRight => WatermarkCorner::TopRight,
            Corner::BottomLeft => WatermarkCorner::BottomLeft,
            Corner::BottomRight => WatermarkCorner::BottomRight,
        }
    }
}

/// What the settings panel edits: whether the logo is on and where it sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct WatermarkPlacement {
    /// Public copies carry the logo (needs a logo).
    pub enabled: bool,
    /// The corner.
    pub corner: WatermarkCorner,
    /// The logo's width, in percent of the photo's width (8–30).
    pub size_pct: u8,
    /// Opacity in percent (10–100).
    pub opacity_pct: u8,
    /// Distance from the edges, in percent of the photo's width (0–10).
    pub margin_pct: u8,
}

/// The chosen logo file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct WatermarkLogo {
    /// The file name as picked.
    pub name: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Size of the PNG in bytes.
    pub bytes: u32,
}

/// Allowed ranges, so the panel's sliders match what is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct WatermarkLimits {
    /// Size range in percent of the photo's width.
    pub size_pct: (u8, u8),
    /// Opacity range in percent.
    pub opacity_pct: (u8, u8),
    /// Margin range in percent of the photo's width.
    pub margin_pct: (u8, u8),
    /// Largest logo file, in bytes.
    pub max_logo_bytes: u32,
}

/// The 台标 settings of this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct WatermarkSettings {
    /// On or off and where.
    pub placement: WatermarkPlacement,
    /// The logo, when one was chosen.
    pub logo: Option<WatermarkLogo>,
    /// Names the public copies made now (changes with the logo and every placement field);
    /// `None` when public copies carry no logo.
    pub digest: Option<String>,
    /// The accepted ranges.
    pub limits: WatermarkLimits,
}

const LIMITS: WatermarkLimits = WatermarkLimits {
    size_pct: guanmo_media::SIZE_PCT,
    opacity_pct: guanmo_media::OPACITY_PCT,
    margin_pct: guanmo_media::MARGIN_PCT,
    max_logo_bytes: guanmo_media::MAX_LOGO_BYTES as u32,
};

fn default_placement() -> WatermarkPlacement {
    let p = Placement::default();
    WatermarkPlacement {
        enabled: false,
        corner: p.corner.into(),
        size_pct: p.size_pct,
        opacity_pct: p.opacity_pct,
        margin_pct: p.margin_pct,
    }
}

fn placement_of(row: &WatermarkRow) -> WatermarkPlacement {
    WatermarkPlacement {
        enabled: row.enabled,
        corner: Corner::parse(&row.corner)
            .unwrap_or(Corner::BottomRight)
            .into(),
        size_pct: row.size_pct,
        opacity_pct: row.opacity_pct,
        margin_pct: row.margin_pct,
    }
}

fn media_placement(p: &WatermarkPlacement) -> Placement {
    Placement {
        corner: p.corner.into(),
        size_pct: p.size_pct,
        opacity_pct: p.opacity_pct,
        margin_pct: p.margin_pct,
    }
}

fn settings_of(row: Option<WatermarkRow>) -> WatermarkSettings {
    let Some(row) = row else {
        return WatermarkSettings {
            placement: default_placement(),
            logo: None,
            digest: None,
            limits: LIMITS,
        };
    };
    let logo = row
        .logo_png
        .as_ref()
        .zip(row.logo_size)
        .map(|(png, (width, height))| WatermarkLogo {
            name: row.logo_name.clone(),
            width,
            height,
            bytes: u32::try_from(png.len()).unwrap_or(u32::MAX),
        });
    WatermarkSettings {
        placement: placement_of(&row),
        digest: row.digest.clone().filter(|_| row.enabled),
        logo,
        limits: LIMITS,
    }
}

/// Only 编辑 and 组织方 change how published photos look (anyone, before people sign in).
fn ensure_editor(ctx: &Ctx) -> ApiResult<()> {
    crate::people::ensure_any_role(ctx, &[PersonRole::Editor, PersonRole::Organiser])
}

/// This device's 台标 settings (off, 右下 15 % 80 % 3 %, no logo, when never set).
pub fn get_watermark(ctx: &Ctx) -> ApiResult<WatermarkSettings> {
    Ok(settings_of(ctx.store.read(store::get)?))
}

/// A refused logo file: the media crate's code and sentence, under the API code that fits.
fn logo_refused(e: &LogoError, name: &str) -> ApiError {
    let code = match e {
        LogoError::TooLarge { .. } => ErrorCode::FileTooLarge,
        LogoError::NotPng { .. } => ErrorCode::UnsupportedFormat,
        LogoError::Corrupt(_) => ErrorCode::FileUnreadable,
        LogoError::BadSize { .. } => ErrorCode::Validation,
    };
    let problem = Problem::error(
        if matches!(e, LogoError::TooLarge { .. } | LogoError::BadSize { .. }) {
            ProblemCode::OutOfRange
        } else {
            ProblemCode::Invalid
        },
        format!("台标 {name}"),
        e.message_zh(),
    );
    ApiError::with_problems(code, format!("{}: {e}", e.code()), vec![problem])
}

/// Checks the logo file at `path` (a PNG, at most 2 MiB, sides 16–4096 px) and makes it this
/// device's 台标, switched on; the placement stays. A refused file changes nothing.
pub fn set_watermark_logo(ctx: &Ctx, path: &Path) -> ApiResult<WatermarkSettings> {
    ensure_editor(ctx)?;
    let name: String = path
        .file_name()
        .map(|n| n.to_string_lossy().chars().take(255).collect())
        .unwrap_or_default();
    let bytes = read_capped(path, guanmo_media::MAX_LOGO_BYTES).map_err(|e| {
        ApiError::new(
            ErrorCode::FileUnreadable,
            format!("{}: {e}", path.display()),
        )
    })?;
    let logo = Logo::from_png(&bytes).map_err(|e| logo_refused(&e, &name))?;
    let current = get_watermark(ctx)?;
    let placement = WatermarkPlacement {
        enabled: true,
        ..current.placement
    };
    save(ctx, Some((&logo, name)), placement)
}

/// Reads at most `cap + 1` bytes, so an oversized file is known without reading it all.
fn read_capped(path: &Path, cap: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(cap.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Changes whether the logo is on and where it sits. Values out of range are refused with one
/// problem each; switching on without a logo is refused. Nothing is saved then.
pub fn set_watermark_placement(
    ctx: &Ctx,
    placement: WatermarkPlacement,
) -> ApiResult<WatermarkSettings> {
    ensure_editor(ctx)?;
    let problems: Vec<Problem> = media_placement(&placement)
        .out_of_range()
        .into_iter()
        .map(|field| {
            let (label, (lo, hi)) = match field {
                "size_pct" => ("台标大小", LIMITS.size_pct),
                "opacity_pct" => ("不透明度", LIMITS.opacity_pct),
                _ => ("边距", LIMITS.margin_pct),
            };
            Problem::error(
                ProblemCode::OutOfRange,
                label,
                format!("{label}须在 {lo}%–{hi}% 之间"),
            )
        })
        .collect();
    if !problems.is_empty() {
        return Err(ApiError::with_problems(
            ErrorCode::Validation,
            "watermark placement out of range",
            problems,
        ));
    }
    let row = ctx.store.read(store::get)?;
    let logo = match row.as_ref().and_then(|r| r.logo_png.as_deref()) {
        Some(png) => Some(Logo::from_png(png).map_err(|e| logo_refused(&e, "(已保存)"))?),
        None => None,
    };
    if placement.enabled && logo.is_none() {
        return Err(ApiError::with_problems(
            ErrorCode::Validation,
            "no logo to switch on",
            vec![Problem::error(
                ProblemCode::Required,
                "台标图片",
                "请先选择台标图片(带透明背景的 PNG),再开启台标",
            )],
        ));
    }
    let name = row.map(|r| r.logo_name).unwrap_or_default();
    save(ctx, logo.as_ref().map(|l| (l, name)), placement)
}

/// Removes the logo: public copies carry none from now on.
pub fn clear_watermark_logo(ctx: &Ctx) -> ApiResult<WatermarkSettings> {
    ensure_editor(ctx)?;
    let placement = WatermarkPlacement {
        enabled: false,
        ..get_watermark(ctx)?.placement
    };
    save(ctx, None, placement)
}

fn save(
    ctx: &Ctx,
    logo: Option<(&Logo, String)>,
    placement: WatermarkPlacement,
) -> ApiResult<WatermarkSettings> {
    let (logo, logo_name) = logo.map_or((None, String::new()), |(l, n)| (Some(l), n));
    let digest = logo.map(|l| {
        Watermark::new(l.clone(), media_placement(&placement))
            .digest()
            .to_string()
    });
    let row = WatermarkRow {
        enabled: placement.enabled && logo.is_some(),
        logo_png: logo.map(|l| l.png().to_vec()),
        logo_name,
        logo_size: logo.map(|l| (l.width(), l.height())),
        corner: Corner::from(placement.corner).as_str().to_string(),
        size_pct: placement.size_pct,
        opacity_pct: placement.opacity_pct,
        margin_pct: placement.margin_pct,
        digest,
        updated_at: String::new(),
    };
    ctx.store
        .write(ctx.clock.now(), &ctx.author()?, |tx| store::put(tx, &row))?;
    get_watermark(ctx)
}

/// The last watermark decoded, by digest: the digest names the logo's bytes and the
/// placement, so it is the same whichever data folder it came from.
static DECODED: Mutex<Option<(String, Arc<Watermark>)>> = Mutex::new(None);

/// The digest public copies are made under now, or `None` when they carry no logo (one small
/// read; the site puts it in photo links so a changed setting changes the address).
pub fn public_digest(ctx: &Ctx) -> ApiResult<Option<String>> {
    Ok(ctx.store.read(store::active_digest)?)
}

/// The watermark public copies are made with now, or `None`. The logo is decoded once per
/// setting, not per photo.
pub fn current_watermark(ctx: &Ctx) -> ApiResult<Option<Arc<Watermark>>> {
    let Some(digest) = public_digest(ctx)? else {
        return Ok(None);
    };
    {
        let cached = DECODED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((d, w)) = cached.as_ref() {
            if *d == digest {
                return Ok(Some(Arc::clone(w)));
            }
        }
    }
    let Some(row) = ctx.store.read(store::get)? else {
        return Ok(None);
    };
    let (Some(png), true) = (row.logo_png.as_deref(), row.enabled) else {
        return Ok(None);
    };
    let logo = Logo::from_png(png).map_err(|e| logo_refused(&e, "(已保存)"))?;
    let watermark = Arc::new(Watermark::new(logo, media_placement(&placement_of(&row))));
    if watermark.digest() != digest {
        tracing::warn!(
            stored = %digest,
            computed = %watermark.digest(),
            "the stored 台标 digest does not match its logo and placement"
        );
    }
    let digest = watermark.digest().to_string();
    *DECODED.lock().unwrap_or_else(|e| e.into_inner()) = Some((digest, Arc::clone(&watermark)));
    Ok(Some(watermark))
}

fn media_error(e: &guanmo_media::MediaError) -> ApiError {
    let code = match e {
        guanmo_media::MediaError::NotFound(_) | guanmo_media::MediaError::InvalidHash(_) => {
            ErrorCode::NotFound
        }
        _ => ErrorCode::FileUnreadable,
    };
    ApiError::new(code, format!("{}: {e}", e.code()))
}

/// The public copy residents are served for the plain JPEG at `source` (photo `hash`, long
/// side `side`: the 320 px thumbnail, the ~800 px middle copy or the 1600 px web copy):
/// `source` itself while 台标 is off, else the watermarked copy made under the current digest
/// (made now if it is not there yet). Returns the path and the digest.
pub fn public_copy(
    ctx: &Ctx,
    hash: &str,
    side: u32,
    source: &Path,
) -> ApiResult<(PathBuf, Option<String>)> {
    match current_watermark(ctx)? {
        None => Ok((source.to_path_buf(), None)),
        Some(w) => {
            let path = ctx
                .media()
                .watermarked(hash, side, source, &w)
                .map_err(|e| media_error(&e))?;
            Ok((path, Some(w.digest().to_string())))
        }
    }
}

/// The public copy of a photo of this device's store, as residents will see it (the preview
/// in the composer and in 台标设置). Never an original.
pub fn public_path(ctx: &Ctx, hash: &str, size: Size) -> ApiResult<PathBuf> {
    if size == Size::Original {
        return Err(ApiError::new(
            ErrorCode::NotFound,
            "originals are never public",
        ));
    }
    let source = ctx.media().path(hash, size).map_err(|e| media_error(&e))?;
    let side = if size == Size::Thumb {
        guanmo_media::THUMB_SIDE
    } else {
        guanmo_media::WEB_SIDE
    };
    Ok(public_copy(ctx, hash, side, &source)?.0)
}

#[cfg(test)]
mod tests;
