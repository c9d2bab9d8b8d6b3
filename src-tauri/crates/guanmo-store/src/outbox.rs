//! What this device wrote that its hub has not confirmed yet: its own operations after the
//! sequence number the hub acknowledged, by record.

use crate::Result;
use rusqlite::{params, Connection};

/// The records (kind, id) that `origin`'s operations after `acked` changed, by kind and id.
/// The primary key (origin, seq) makes this a range scan of the unconfirmed tail.
pub fn unconfirmed_records(
    conn: &Connection,
    origin: &str,
    acked: i64,
) -> Result<Vec<(String, String)>> {
    let mut st = conn.prepare_cached(
        "SELECT DISTINCT kind, entity_id FROM ops WHERE origin = ?1 AND seq > ?2
         ORDER BY kind, entity_id",
    )?;
    let rows = st.query_map(params![origin, acked], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The newest own sequence number of each post `origin` wrote: a post is on the hub once the
/// hub has acknowledged that number.
pub fn post_heads(conn: &Connection, origin: &str) -> Result<Vec<(String, i64)>> {
    let mut st = conn.prepare_cached(
        "SELECT entity_id, max(seq) FROM ops WHERE origin = ?1 AND kind = 'post'
         GROUP BY entity_id",
    )?;
    let rows = st.query_map(params![origin], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
