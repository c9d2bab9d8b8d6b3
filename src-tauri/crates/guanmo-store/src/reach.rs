//! 传播数据 (reach) of the resident site: per Beijing day and scope (`site`, or `post:<id>`)
//! the views, the most live readers at once and the visitors' sketch, an opaque blob that
//! `guanmo_api::reach` reads and merges. Kept on the device that serves the site, never
//! synced, and written without change-log rows, so counting never moves the feed's version.

use crate::{Result, WriteTx};
use rusqlite::{params, Connection, OptionalExtension};

/// Scope of the page as a whole.
pub const SITE: &str = "site";
/// Prefix of a post's scope.
pub const POST_PREFIX: &str = "post:";

/// One day's figures of one scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReachRow {
    /// Beijing date, `YYYY-MM-DD`.
    pub day: String,
    /// `site` or `post:<post id>`.
    pub scope: String,
    /// Page loads (site) or showings (post).
    pub views: i64,
    /// Most live readers at once (site only; 0 for posts).
    pub peak_live: i64,
    /// The visitors' sketch.
    pub visitors: Vec<u8>,
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReachRow> {
    Ok(ReachRow {
        day: r.get(0)?,
        scope: r.get(1)?,
        views: r.get(2)?,
        peak_live: r.get(3)?,
        visitors: r.get(4)?,
    })
}

/// The row of `(day, scope)`, if anything was counted there.
pub fn get(conn: &Connection, day: &str, scope: &str) -> Result<Option<ReachRow>> {
    Ok(conn
        .query_row(
            "SELECT day, scope, views, peak_live, visitors FROM reach
             WHERE day = ?1 AND scope = ?2",
            params![day, scope],
            row,
        )
        .optional()?)
}

/// Writes `r` whole (the caller merged it with what [`get`] returned, in the same
/// transaction).
pub fn put(tx: &WriteTx<'_>, r: &ReachRow) -> Result<()> {
    tx.conn().execute(
        "INSERT INTO reach (day, scope, views, peak_live, visitors) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (day, scope) DO UPDATE SET views = excluded.views,
             peak_live = excluded.peak_live, visitors = excluded.visitors",
        params![r.day, r.scope, r.views, r.peak_live, r.visitors],
    )?;
    Ok(())
}

/// Every row, by day then scope.
pub fn all(conn: &Connection) -> Result<Vec<ReachRow>> {
    let mut st = conn
        .prepare("SELECT day, scope, views, peak_live, visitors FROM reach ORDER BY day, scope")?;
    let rows = st
        .query_map([], row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Likes and approved comments per target (a post's id, or `event` for the event as a whole)
/// and Beijing day of their time: `(target, day, likes, approved comments)`. Likes are this
/// site's own (the phones it took them from); comments count from their submission.
pub fn interactions(conn: &Connection) -> Result<Vec<(String, String, i64, i64)>> {
    let mut st = conn.prepare(
        "SELECT target, day, sum(likes), sum(comments) FROM (
             SELECT target, date(at, '+8 hours') AS day, 1 AS likes, 0 AS comments
             FROM comment_likes
             UNION ALL
             SELECT target, date(created_at, '+8 hours'), 0, 1
             FROM comments WHERE status = 'approved'
         )
         WHERE target = 'event' OR target IN (SELECT id FROM posts)
         GROUP BY target, day ORDER BY day, target",
    )?;
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
