//! Imported photos (one row per distinct original, keyed by its content hash) and the photos
//! attached as evidence to a criterion on a score sheet. Importing the same bytes again keeps
//! the first row: a photo is stored once and may be linked many times.

use crate::{ChangeInput, Result, StoreError, WriteTx};
use guanmo_domain::photos::PhotoInfo;
use guanmo_domain::scoring::Evidence;
use guanmo_domain::tour_photos;
use rusqlite::{params, Connection, OptionalExtension, Row};

const COLUMNS: &str = "hash, file_name, width, height, format, taken_at, camera, gps_lat, gps_lon, original_bytes, imported_at, clock_offset_s";

fn from_row(r: &Row<'_>) -> rusqlite::Result<PhotoInfo> {
    Ok(PhotoInfo {
        hash: r.get(0)?,
        file_name: r.get(1)?,
        width: r.get(2)?,
        height: r.get(3)?,
        format: r.get(4)?,
        taken_at: r.get(5)?,
        camera: r.get(6)?,
        gps_lat: r.get(7)?,
        gps_lon: r.get(8)?,
        original_bytes: r.get(9)?,
        imported_at: r.get(10)?,
        clock_offset_s: r.get(11)?,
    })
}

/// Records a photo unless its hash is already known; returns the stored row either way.
pub fn record(tx: &WriteTx<'_>, photo: &PhotoInfo) -> Result<PhotoInfo> {
    let inserted = tx.conn().execute(
        &format!(
            "INSERT INTO photos ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (hash) DO NOTHING"
        ),
        params![
            photo.hash,
            photo.file_name,
            photo.width,
            photo.height,
            photo.format,
            photo.taken_at,
            photo.camera,
            photo.gps_lat,
            photo.gps_lon,
            photo.original_bytes,
            tx.at(),
            photo.clock_offset_s,
        ],
    )?;
    if inserted == 1 {
        tx.record(ChangeInput {
            entity: "photo",
            entity_id: photo.hash.clone(),
            op: "import",
            payload: serde_json::json!({ "file_name": photo.file_name }),
        })?;
    }
    get(tx.conn(), &photo.hash)
}

/// Sets the camera clock correction of the photos `hashes` this device imported (a photo that
/// came by sync keeps its importer's); the change replicates the photo's row. Returns the
/// photos changed.
pub fn set_clock_offset(
    tx: &WriteTx<'_>,
    hashes: &[String],
    seconds: i32,
) -> Result<Vec<PhotoInfo>> {
    let mut changed = Vec::new();
    for hash in hashes {
        if owner(tx.conn(), hash)?.is_some_and(|d| d != tx.device_id())
            || came_by_sync(tx.conn(), hash, tx.device_id())?
        {
            continue;
        }
        let n = tx.conn().execute(
            "UPDATE photos SET clock_offset_s = ?2 WHERE hash = ?1 AND clock_offset_s <> ?2",
            params![hash, seconds],
        )?;
        if n == 1 {
            tx.record(ChangeInput {
                entity: "photo",
                entity_id: hash.clone(),
                op: "clock_offset",
                payload: serde_json::json!({ "clock_offset_s": seconds }),
            })?;
            changed.push(get(tx.conn(), hash)?);
        }
    }
    Ok(changed)
}

/// Whether the photo's record came from another device (its first operation here has another
/// origin): its metadata is its importer's.
fn came_by_sync(conn: &Connection, hash: &str, device_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM ops WHERE kind = 'photo' AND entity_id = ?1 AND origin <> ?2 LIMIT 1",
        )?
        .exists(params![hash, device_id])?)
}

/// One photo.
pub fn get(conn: &Connection, hash: &str) -> Result<PhotoInfo> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM photos WHERE hash = ?1"),
        [hash],
        from_row,
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        entity: "photo",
        id: hash.to_string(),
    })
}

/// Every photo, newest import first.
pub fn list(conn: &Connection) -> Result<Vec<PhotoInfo>> {
    let mut st = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM photos ORDER BY imported_at DESC, hash"
    ))?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// True when a photo with this hash is recorded.
pub fn exists(conn: &Connection, hash: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM photos WHERE hash = ?1")?
        .exists([hash])?)
}

/// Every recorded photo's hash with the size of its original, by hash (what sync offers).
pub fn hashes_and_sizes(conn: &Connection) -> Result<Vec<(String, u64)>> {
    let mut st = conn.prepare_cached("SELECT hash, original_bytes FROM photos ORDER BY hash")?;
    let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (hash, bytes) = row?;
        out.push((hash, u64::try_from(bytes).unwrap_or(0)));
    }
    Ok(out)
}

/// The device whose record of the photo stands here (the first to reach this store), if it
/// came by sync; `None` for a photo imported here or not known at all.
pub fn owner(conn: &Connection, hash: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT device_id FROM sync_owners WHERE owner_key = 'photo:' || ?1")?
        .query_row([hash], |r| r.get(0))
        .optional()?)
}

/// The photos of one post, in grid order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostPhotos {
    /// The post.
    pub post_id: String,
    /// Published (public once it reaches the hub) rather than a draft.
    pub published: bool,
    /// Photo hashes in grid order.
    pub hashes: Vec<String>,
}

/// Every post with photos: published ones first, each group oldest first, so a laptop sends
/// what residents are waiting for before anything else.
pub fn post_photo_groups(conn: &Connection) -> Result<Vec<PostPhotos>> {
    let mut st = conn.prepare_cached(
        "SELECT p.id, p.status = 'published', pp.hash FROM posts p
         JOIN post_photos pp ON pp.post_id = p.id
         ORDER BY p.status <> 'published', COALESCE(p.published_at, p.created_at), p.id,
                  pp.position",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, bool>(1)?,
            r.get::<_, String>(2)?,
        ))
    })?;
    let mut out: Vec<PostPhotos> = Vec::new();
    for row in rows {
        let (post_id, published, hash) = row?;
        match out.last_mut() {
            Some(last) if last.post_id == post_id => last.hashes.push(hash),
            _ => out.push(PostPhotos {
                post_id,
                published,
                hashes: vec![hash],
            }),
        }
    }
    Ok(out)
}

/// Remembers which of this laptop's originals the hub lacked at the last exchange (the whole
/// set is replaced): USB bundles carry them (see migration 0016).
pub fn set_hub_missing_originals(tx: &WriteTx<'_>, hashes: &[String]) -> Result<()> {
    tx.conn().execute("DELETE FROM hub_missing_originals", [])?;
    let mut st = tx
        .conn()
        .prepare_cached("INSERT OR IGNORE INTO hub_missing_originals (hash) VALUES (?1)")?;
    for h in hashes {
        st.execute([h])?;
    }
    Ok(())
}

/// Forgets one: the hub has it now.
pub fn hub_has_original(tx: &WriteTx<'_>, hash: &str) -> Result<()> {
    tx.conn()
        .execute("DELETE FROM hub_missing_originals WHERE hash = ?1", [hash])?;
    Ok(())
}

/// The originals the hub lacked at the last exchange, in hash order.
pub fn hub_missing_originals(conn: &Connection) -> Result<Vec<String>> {
    let mut st = conn.prepare_cached("SELECT hash FROM hub_missing_originals ORDER BY hash")?;
    let rows = st.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Attaches a photo to a criterion of a sheet (idempotent).
pub fn attach(tx: &WriteTx<'_>, sheet_id: &str, criterion_id: &str, hash: &str) -> Result<()> {
    tx.conn().execute(
        "INSERT INTO sheet_evidence (sheet_id, criterion_id, hash, attached_at)
         VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
        params![sheet_id, criterion_id, hash, tx.at()],
    )?;
    tx.record(ChangeInput {
        entity: "sheet",
        entity_id: sheet_id.to_string(),
        op: "attach_evidence",
        payload: serde_json::json!({ "criterion_id": criterion_id, "hash": hash }),
    })
}

/// Detaches a photo from a criterion of a sheet.
pub fn detach(tx: &WriteTx<'_>, sheet_id: &str, criterion_id: &str, hash: &str) -> Result<()> {
    tx.conn().execute(
        "DELETE FROM sheet_evidence WHERE sheet_id = ?1 AND criterion_id = ?2 AND hash = ?3",
        params![sheet_id, criterion_id, hash],
    )?;
    tx.record(ChangeInput {
        entity: "sheet",
        entity_id: sheet_id.to_string(),
        op: "detach_evidence",
        payload: serde_json::json!({ "criterion_id": criterion_id, "hash": hash }),
    })
}

/// The evidence photos of a sheet, in the order they were attached, each with when it was
/// taken against the township's scheduled time (a photo whose row has not arrived yet, or
/// without a capture time, is `Unknown`).
pub fn evidence_of(conn: &Connection, sheet_id: &str) -> Result<Vec<Evidence>> {
    let mut st = conn.prepare_cached(
        "SELECT e.criterion_id, e.hash, p.taken_at, p.clock_offset_s FROM sheet_evidence e
         LEFT JOIN photos p ON p.hash = e.hash
         WHERE e.sheet_id = ?1
         ORDER BY e.attached_at, e.criterion_id, e.hash",
    )?;
    let rows = st
        .query_map([sheet_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<i64>>(3)?.unwrap_or(0),
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // The township's window needs the whole day's schedule (a stop without a planned slot
    // lasts until the next one): read only when the sheet has evidence.
    let township: Option<String> = conn
        .prepare_cached("SELECT township_id FROM sheets WHERE id = ?1")?
        .query_row([sheet_id], |r| r.get(0))
        .optional()?;
    let first_day = crate::scoring::tour_settings(conn)?.first_day_date();
    let stops = tour_photos::stop_windows(first_day, &crate::roster::list(conn)?);
    let stop = stops
        .iter()
        .find(|s| Some(&s.township_id) == township.as_ref());
    Ok(rows
        .into_iter()
        .map(|(criterion_id, hash, taken_at, offset)| Evidence {
            criterion_id,
            hash,
            timing: tour_photos::timing(
                taken_at
                    .as_deref()
                    .and_then(tour_photos::parse_taken_at)
                    .map(|t| tour_photos::corrected(t, offset)),
                stop,
            ),
        })
        .collect())
}
