//! 传播数据 (reach) of the resident site, for the wrap-up report (总结): page views, unique
//! visitors, the most live readers at once, likes and approved comments, per day, per stop
//! and per post, on screen and as an XLSX file.
//!
//! The site counts in memory and hands a batch to [`record`] every few seconds (one write,
//! no change-log row, so counting never moves the page's version or its cache). Visitors are
//! the phones' existing anonymous cookie keys, folded into a HyperLogLog sketch per day and
//! scope: no key is stored, and the union over days or over a stop's posts is exact to the
//! sketch's error ([`VISITOR_ERROR`], about 1.6 % at one standard error) rather than a sum
//! that counts a returning phone twice.

use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use guanmo_domain::feed::{PostStatus, BEIJING};
use guanmo_domain::people::PersonRole;
use guanmo_store::reach::{self as store, ReachRow, POST_PREFIX, SITE};
use hyperloglog::HyperLogLog;
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use serde::{Deserialize, Serialize};
use specta::Type;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Relative standard error of the visitor sketches (4096 registers).
pub const VISITOR_ERROR: f64 = 0.0163;
/// Meta key of this site's sketch seed (random, made on the first count, never synced).
const SEED_KEY: &str = "reach_sketch_seed";

/// What the site counted for one day and scope since its last batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Counted {
    /// Beijing date, `YYYY-MM-DD`.
    pub day: String,
    /// `None` for the page as a whole, else the post's id.
    pub post_id: Option<String>,
    /// Page loads (the page) or showings (a post).
    pub views: u64,
    /// Most live readers at once seen in the batch's time (the page only).
    pub peak_live: u32,
    /// Cookie keys of the phones counted (each once is enough).
    pub visitors: Vec<String>,
}

fn scope_of(post_id: Option<&str>) -> String {
    match post_id {
        None => SITE.to_string(),
        Some(id) => format!("{POST_PREFIX}{id}"),
    }
}

fn sketch_err(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(
        ErrorCode::Internal,
        format!("the visitor sketch is unreadable: {e}"),
    )
}

/// Registers of a sketch: 2^12 = 4096, so one standard error is 1.04 / 64 ≈ 1.6 %.
const SKETCH_BITS: f64 = 12.0;

fn new_sketch(seed: u128) -> HyperLogLog {
    // The crate sizes a sketch as p = ⌈ln((1.04 / error)²)⌉ (a natural logarithm, where the
    // paper has log2), so pass the error that yields p = 12 rather than the error wanted.
    let error = 1.04 / ((SKETCH_BITS - 0.5) / 2.0).exp();
    HyperLogLog::new_deterministic(error, seed)
}

fn read_sketch(bytes: &[u8]) -> ApiResult<HyperLogLog> {
    serde_json::from_slice(bytes).map_err(sketch_err)
}

fn parse_seed(s: &str) -> Option<u128> {
    u128::from_str_radix(s, 16).ok()
}

/// Adds `batch` to the stored figures in one transaction: views add up, the peak keeps the
/// larger, visitors join the day's sketch. Posts that do not exist are skipped (a phone may
/// name any id).
pub fn record(ctx: &Ctx, batch: &[Counted]) -> ApiResult<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let mut fresh_seed = [0u8; 16];
    getrandom::fill(&mut fresh_seed)
        .map_err(|e| ApiError::new(ErrorCode::Internal, format!("no random numbers: {e}")))?;
    ctx.store.write_without_ops(ctx.now(), "system", |tx| {
        let seed = match guanmo_store::meta::get(tx.conn(), SEED_KEY)?
            .as_deref()
            .and_then(parse_seed)
        {
            Some(s) => s,
            None => {
                let s = u128::from_le_bytes(fresh_seed);
                guanmo_store::meta::set(tx, SEED_KEY, &format!("{s:032x}"))?;
                s
            }
        };
        let site_keys = keys_of(&new_sketch(seed));
        for c in batch {
            if let Some(id) = &c.post_id {
                if !guanmo_store::feed::exists(tx.conn(), id)? {
                    continue;
                }
            }
            let scope = scope_of(c.post_id.as_deref());
            let old = store::get(tx.conn(), &c.day, &scope)?;
            let mut sketch = old
                .as_ref()
                .and_then(|r| serde_json::from_slice::<HyperLogLog>(&r.visitors).ok())
                .filter(|s| keys_of(s) == site_keys)
                // A damaged or foreign sketch starts again; the counts are kept.
                .unwrap_or_else(|| new_sketch(seed));
            for v in &c.visitors {
                sketch.insert(v);
            }
            let views = old.as_ref().map_or(0, |r| r.views) + to_i64(c.views);
            let peak = old
                .as_ref()
                .map_or(0, |r| r.peak_live)
                .max(i64::from(c.peak_live));
            store::put(
                tx,
                &ReachRow {
                    day: c.day.clone(),
                    scope,
                    views,
                    peak_live: peak,
                    visitors: serde_json::to_vec(&sketch)?,
                },
            )?;
        }
        Ok(())
    })?;
    Ok(())
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The Beijing date of `now`.
pub fn beijing_day(now: chrono::DateTime<chrono::Utc>) -> String {
    now.with_timezone(&BEIJING).format("%Y-%m-%d").to_string()
}

/// Figures of one row of the report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, Type)]
pub struct Figures {
    /// 浏览量: page loads (a day, the total) or showings of posts (a stop, a post).
    pub views: u32,
    /// 访客数: phones, estimated (see [`VISITOR_ERROR`]).
    pub visitors: u32,
    /// 最高同时在线: most live readers at once (days and the total only).
    pub peak_live: u32,
    /// 点赞.
    pub likes: u32,
    /// 评论: approved comments.
    pub comments: u32,
}

/// One day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct DayReach {
    /// Beijing date, `YYYY-MM-DD`.
    pub day: String,
    /// Its figures.
    pub figures: Figures,
}

/// One stop (a township the posts are about), in tour order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct StopReach {
    /// The township's id.
    pub township_id: String,
    /// 第N站·name.
    pub label: String,
    /// Published posts about it.
    pub posts: u32,
    /// Its posts' figures together (visitors: phones that saw any of them).
    pub figures: Figures,
}

/// One post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct PostReach {
    /// The post's id.
    pub post_id: String,
    /// Its stop label, if any.
    pub stop_label: Option<String>,
    /// The first 40 characters of its text.
    pub excerpt: String,
    /// When it was published, `MM月DD日 HH:MM` Beijing time.
    pub published: String,
    /// 已发布 or 已撤回.
    pub status: String,
    /// Its figures.
    pub figures: Figures,
}

/// Whose counts a report holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ReachSource {
    /// This device's own resident site.
    #[default]
    ThisDevice,
    /// The organiser's hub (a media laptop asks it: the site residents read runs there).
    Hub,
}

/// 传播数据: everything the site counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
pub struct ReachReport {
    /// Whose counts these are.
    #[serde(default)]
    pub source: ReachSource,
    /// Why a media laptop shows its own counts instead of the hub's (the hub could not be
    /// reached, …), in Chinese; `None` otherwise.
    #[serde(default)]
    pub source_note: Option<String>,
    /// The whole event.
    pub total: Figures,
    /// Per day, oldest first.
    pub days: Vec<DayReach>,
    /// Per stop, in tour order (stops with posts only).
    pub stops: Vec<StopReach>,
    /// Per post, newest first (posts residents saw).
    pub posts: Vec<PostReach>,
    /// How the figures are counted, for the report's footnote.
    pub method: String,
}

/// How the figures are counted (the XLSX's 说明 and the view's footnote).
pub const METHOD: &str = "浏览量:直播页每打开一次计1次;单条直播每在手机上显示一次计1次。\
访客数:按直播页已有的匿名标识(Cookie)去重,不另行追踪,为估算值(误差约±2%)。\
最高同时在线:同时打开直播页并接收实时更新的手机数的峰值。\
点赞、评论:本站收到的点赞与审核通过的评论,按提交日期计。";

fn count_of(h: &HyperLogLog) -> u32 {
    h.len().round().clamp(0.0, f64::from(u32::MAX)) as u32
}

/// Merges sketches, `None` when there are none.
fn union<'a>(sketches: impl Iterator<Item = &'a HyperLogLog>) -> Option<HyperLogLog> {
    let mut out: Option<HyperLogLog> = None;
    for s in sketches {
        match &mut out {
            None => out = Some(s.clone()),
            Some(o) => o.merge(s),
        }
    }
    out
}

/// Refuses anyone signed in who is neither 组织方 nor 编辑 (the people who may read 传播数据).
pub fn ensure_may_read(ctx: &Ctx) -> ApiResult<()> {
    crate::people::ensure_any_role(ctx, &[PersonRole::Organiser, PersonRole::Editor])
}

/// The report of this device's site (组织方 and 编辑 only).
pub fn report(ctx: &Ctx) -> ApiResult<ReachReport> {
    ensure_may_read(ctx)?;
    counted_report(ctx)
}

/// The report of this device's site for a paired media laptop that asked the hub: the person
/// check ran on that laptop ([`ensure_may_read`]); the hub checks the device's role.
pub fn report_for_paired_laptop(ctx: &Ctx) -> ApiResult<ReachReport> {
    counted_report(ctx)
}

fn counted_report(ctx: &Ctx) -> ApiResult<ReachReport> {
    let (rows, interactions, posts, townships) = ctx.store.read(|c| {
        Ok((
            store::all(c)?,
            store::interactions(c)?,
            guanmo_store::feed::list_all(c)?,
            guanmo_store::roster::list(c)?,
        ))
    })?;
    // Sketches of different seeds cannot be merged; there is one seed per site, but a
    // restored backup of another site could mix them: only this site's seed counts.
    let seed = ctx
        .store
        .read(|c| guanmo_store::meta::get(c, SEED_KEY))?
        .as_deref()
        .and_then(parse_seed);
    let probe = seed.map(new_sketch).as_ref().and_then(keys_of);
    let mut sketches: Vec<(String, String, i64, i64, HyperLogLog)> = Vec::new();
    for r in rows {
        let Ok(s) = read_sketch(&r.visitors) else {
            continue;
        };
        if probe.is_some() && keys_of(&s) == probe {
            sketches.push((r.day, r.scope, r.views, r.peak_live, s));
        }
    }
    // Interactions by (target, day).
    let mut likes: HashMap<(&str, &str), (i64, i64)> = HashMap::new();
    for (target, day, l, c) in &interactions {
        likes.insert((target.as_str(), day.as_str()), (*l, *c));
    }

    let mut total = Figures::default();
    let mut days: BTreeMap<String, Figures> = BTreeMap::new();
    for (day, scope, views, peak, _) in &sketches {
        if scope == SITE {
            let d = days.entry(day.clone()).or_default();
            d.views = to_u32(*views);
            d.peak_live = to_u32(*peak);
        }
    }
    for (_, day, l, c) in &interactions {
        let d = days.entry(day.clone()).or_default();
        d.likes += to_u32(*l);
        d.comments += to_u32(*c);
    }
    for (day, f) in days.iter_mut() {
        if let Some(u) = union(
            sketches
                .iter()
                .filter(|s| &s.0 == day && s.1 == SITE)
                .map(|s| &s.4),
        ) {
            f.visitors = count_of(&u);
        }
        total.views += f.views;
        total.peak_live = total.peak_live.max(f.peak_live);
        total.likes += f.likes;
        total.comments += f.comments;
    }
    if let Some(u) = union(sketches.iter().filter(|s| s.1 == SITE).map(|s| &s.4)) {
        total.visitors = count_of(&u);
    }

    // Per post.
    let mut post_sketches: HashMap<&str, Vec<&HyperLogLog>> = HashMap::new();
    let mut post_views: HashMap<&str, i64> = HashMap::new();
    for (_, scope, views, _, s) in &sketches {
        if let Some(id) = scope.strip_prefix(POST_PREFIX) {
            post_sketches.entry(id).or_default().push(s);
            *post_views.entry(id).or_default() += views;
        }
    }
    let mut post_likes: HashMap<&str, (i64, i64)> = HashMap::new();
    for ((target, _), (l, c)) in &likes {
        let e = post_likes.entry(target).or_default();
        e.0 += l;
        e.1 += c;
    }
    let mut out_posts = Vec::new();
    let mut by_stop: BTreeMap<(i32, String), (u32, Figures, Vec<&HyperLogLog>)> = BTreeMap::new();
    let position: HashMap<&str, (i32, &str)> = townships
        .iter()
        .map(|t| (t.id.as_str(), (t.position, t.name.as_str())))
        .collect();
    for p in &posts {
        let Some(published_at) = p.published_at.as_deref() else {
            continue;
        };
        let (l, c) = post_likes.get(p.id.as_str()).copied().unwrap_or_default();
        let figures = Figures {
            views: to_u32(post_views.get(p.id.as_str()).copied().unwrap_or(0)),
            visitors: post_sketches
                .get(p.id.as_str())
                .and_then(|v| union(v.iter().copied()))
                .map_or(0, |u| count_of(&u)),
            peak_live: 0,
            likes: to_u32(l),
            comments: to_u32(c),
        };
        if let Some((pos, _)) = p.township_id.as_deref().and_then(|t| position.get(t)) {
            let e = by_stop
                .entry((*pos, p.township_id.clone().unwrap_or_default()))
                .or_default();
            if p.status == PostStatus::Published {
                e.0 += 1;
            }
            e.1.views += figures.views;
            e.1.likes += figures.likes;
            e.1.comments += figures.comments;
            if let Some(v) = post_sketches.get(p.id.as_str()) {
                e.2.extend(v.iter().copied());
            }
        }
        out_posts.push(PostReach {
            post_id: p.id.clone(),
            stop_label: p.stop_label.clone(),
            excerpt: p.body.chars().take(40).collect(),
            published: guanmo_domain::feed::beijing_stamp(published_at).unwrap_or_default(),
            status: p.status.label().to_string(),
            figures,
        });
    }
    out_posts.sort_by(|a, b| b.post_id.cmp(&a.post_id));
    let stops = by_stop
        .into_iter()
        .map(|((pos, id), (n, mut f, s))| {
            f.visitors = union(s.into_iter()).map_or(0, |u| count_of(&u));
            let name = position.get(id.as_str()).map_or("", |p| p.1);
            StopReach {
                township_id: id.clone(),
                label: format!("第{pos}站·{name}"),
                posts: n,
                figures: f,
            }
        })
        .collect();
    Ok(ReachReport {
        source: ReachSource::ThisDevice,
        source_note: None,
        total,
        days: days
            .into_iter()
            .map(|(day, figures)| DayReach { day, figures })
            .collect(),
        stops,
        posts: out_posts,
        method: METHOD.to_string(),
    })
}

/// The hash keys a sketch was made with (its serialized `sip`): sketches merge only when these
/// agree (the crate panics otherwise). Read once per sketch, no copy of its registers.
fn keys_of(h: &HyperLogLog) -> Option<serde_json::Value> {
    serde_json::to_value(h).ok()?.get("sip").cloned()
}

fn to_u32(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

fn xlsx_err(e: XlsxError) -> ApiError {
    ApiError::new(
        ErrorCode::Internal,
        format!("building the workbook failed: {e}"),
    )
}

fn header(ws: &mut Worksheet, cols: &[(&str, f64)], bold: &Format) -> Result<(), XlsxError> {
    for (i, (name, width)) in cols.iter().enumerate() {
        ws.write_string_with_format(0, i as u16, *name, bold)?;
        ws.set_column_width(i as u16, *width)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn figures(ws: &mut Worksheet, r: u32, c: u16, f: &Figures, peak: bool) -> Result<(), XlsxError> {
    ws.write_number(r, c, f.views)?;
    ws.write_number(r, c + 1, f.visitors)?;
    let mut c = c + 2;
    if peak {
        ws.write_number(r, c, f.peak_live)?;
        c += 1;
    }
    ws.write_number(r, c, f.likes)?;
    ws.write_number(r, c + 1, f.comments)?;
    ws.write_number(r, c + 2, f.likes + f.comments)?;
    Ok(())
}

/// Writes this device's report to `path` (XLSX: 按日, 按站, 按条, 说明), whole or not at all.
pub fn export_xlsx(ctx: &Ctx, path: &Path) -> ApiResult<()> {
    write_xlsx(&report(ctx)?, path)
}

/// Writes `rep` (this device's or the hub's) to `path`, whole or not at all.
pub fn write_xlsx(rep: &ReachReport, path: &Path) -> ApiResult<()> {
    let build = || -> Result<Vec<u8>, XlsxError> {
        let mut wb = Workbook::new();
        let bold = Format::new().set_bold();
        let ws = wb.add_worksheet().set_name("按日")?;
        header(
            ws,
            &[
                ("日期", 12.0),
                ("浏览量", 10.0),
                ("访客数", 10.0),
                ("最高同时在线", 14.0),
                ("点赞", 8.0),
                ("评论", 8.0),
                ("互动量", 10.0),
            ],
            &bold,
        )?;
        let mut r = 1;
        for d in &rep.days {
            ws.write_string(r, 0, &d.day)?;
            figures(ws, r, 1, &d.figures, true)?;
            r += 1;
        }
        ws.write_string_with_format(r, 0, "合计", &bold)?;
        figures(ws, r, 1, &rep.total, true)?;

        let ws = wb.add_worksheet().set_name("按站")?;
        header(
            ws,
            &[
                ("站次", 22.0),
                ("直播条数", 10.0),
                ("浏览量", 10.0),
                ("访客数", 10.0),
                ("点赞", 8.0),
                ("评论", 8.0),
                ("互动量", 10.0),
            ],
            &bold,
        )?;
        for (i, s) in rep.stops.iter().enumerate() {
            let r = i as u32 + 1;
            ws.write_string(r, 0, &s.label)?;
            ws.write_number(r, 1, s.posts)?;
            figures(ws, r, 2, &s.figures, false)?;
        }

        let ws = wb.add_worksheet().set_name("按条")?;
        header(
            ws,
            &[
                ("发布时间", 14.0),
                ("站次", 22.0),
                ("内容", 44.0),
                ("状态", 8.0),
                ("浏览量", 10.0),
                ("访客数", 10.0),
                ("点赞", 8.0),
                ("评论", 8.0),
                ("互动量", 10.0),
            ],
            &bold,
        )?;
        for (i, p) in rep.posts.iter().enumerate() {
            let r = i as u32 + 1;
            ws.write_string(r, 0, &p.published)?;
            ws.write_string(r, 1, p.stop_label.as_deref().unwrap_or(""))?;
            ws.write_string(r, 2, &p.excerpt)?;
            ws.write_string(r, 3, &p.status)?;
            figures(ws, r, 4, &p.figures, false)?;
        }

        let ws = wb.add_worksheet().set_name("说明")?;
        ws.set_column_width(0, 100.0)?;
        let mut lines: Vec<String> = vec![match rep.source {
            ReachSource::Hub => "数据来源:组织方主机上的直播网站。".to_string(),
            ReachSource::ThisDevice => "数据来源:本机的直播网站。".to_string(),
        }];
        lines.extend(rep.source_note.iter().cloned());
        lines.extend(
            rep.method
                .split('。')
                .filter(|l| !l.is_empty())
                .map(|l| format!("{l}。")),
        );
        for (i, line) in lines.iter().enumerate() {
            ws.write_string(i as u32, 0, line)?;
        }
        wb.save_to_buffer()
    };
    let bytes = build().map_err(xlsx_err)?;
    crate::files::write_atomically(path, &bytes)
}

#[cfg(test)]
mod tests;
