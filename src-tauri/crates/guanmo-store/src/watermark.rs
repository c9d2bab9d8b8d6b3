//! 台标 settings: the one row of `watermark` (migration 0026) with the logo's PNG bytes, its
//! placement and the digest public copies are cached under. Local to this device (its change
//! rows name no replicated kind). Invariant: a row has a logo exactly when it has a digest;
//! callers check the logo and the ranges before writing (the table's CHECKs refuse the rest).

use crate::{ChangeInput, Result, WriteTx};
use rusqlite::{params, Connection, OptionalExtension};

/// Change-log entity of a 台标 write (local to this device; never replicated).
pub const ENTITY: &str = "watermark";

/// The stored 台标 settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatermarkRow {
    /// Whether public copies carry the logo.
    pub enabled: bool,
    /// The logo's PNG bytes, if one was chosen.
    pub logo_png: Option<Vec<u8>>,
    /// The logo file's name as picked (for the settings panel only).
    pub logo_name: String,
    /// The logo's width and height in pixels, with the logo.
    pub logo_size: Option<(u32, u32)>,
    /// `top_left`, `top_right`, `bottom_left` or `bottom_right`.
    pub corner: String,
    /// Logo width in percent of the photo's width.
    pub size_pct: u8,
    /// Opacity in percent.
    pub opacity_pct: u8,
    /// Margin in percent of the photo's width.
    pub margin_pct: u8,
    /// Digest of the logo at this placement, with the logo.
    pub digest: Option<String>,
    /// When it was last saved (RFC 3339).
    pub updated_at: String,
}

/// The row, or `None` when 台标 was never set on this device.
pub fn get(conn: &Connection) -> Result<Option<WatermarkRow>> {
    Ok(conn
        .query_row(
            "SELECT enabled, logo_png, logo_name, logo_width, logo_height, corner, size_pct,
                    opacity_pct, margin_pct, digest, updated_at
             FROM watermark WHERE id = 1",
            [],
            |r| {
                let w: Option<u32> = r.get(3)?;
                let h: Option<u32> = r.get(4)?;
                Ok(WatermarkRow {
                    enabled: r.get(0)?,
                    logo_png: r.get(1)?,
                    logo_name: r.get(2)?,
                    logo_size: w.zip(h),
                    corner: r.get(5)?,
                    size_pct: r.get(6)?,
                    opacity_pct: r.get(7)?,
                    margin_pct: r.get(8)?,
                    digest: r.get(9)?,
                    updated_at: r.get(10)?,
                })
            },
        )
        .optional()?)
}

/// The digest public copies are made under now: `None` when 台标 is off or has no logo. One
/// indexed row read, cheap enough for every photo request.
pub fn active_digest(conn: &Connection) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT digest FROM watermark WHERE id = 1 AND enabled = 1")?
        .query_row([], |r| r.get::<_, Option<String>>(0))
        .optional()?
        .flatten())
}

/// Saves the row (`updated_at` is the transaction's time) and logs the change.
pub fn put(tx: &WriteTx<'_>, row: &WatermarkRow) -> Result<()> {
    let (w, h) = row.logo_size.unzip();
    tx.conn().execute(
        "INSERT INTO watermark (id, enabled, logo_png, logo_name, logo_width, logo_height,
                                corner, size_pct, opacity_pct, margin_pct, digest,
                                updated_at, updated_by)
         VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (id) DO UPDATE SET enabled = excluded.enabled,
             logo_png = excluded.logo_png, logo_name = excluded.logo_name,
             logo_width = excluded.logo_width, logo_height = excluded.logo_height,
             corner = excluded.corner, size_pct = excluded.size_pct,
             opacity_pct = excluded.opacity_pct, margin_pct = excluded.margin_pct,
             digest = excluded.digest, updated_at = excluded.updated_at,
             updated_by = excluded.updated_by",
        params![
            row.enabled,
            row.logo_png,
            row.logo_name,
            w,
            h,
            row.corner,
            row.size_pct,
            row.opacity_pct,
            row.margin_pct,
            row.digest,
            tx.at(),
            tx.actor(),
        ],
    )?;
    tx.record(ChangeInput {
        entity: ENTITY,
        entity_id: "1".into(),
        op: "set",
        payload: serde_json::json!({
            "enabled": row.enabled,
            "digest": row.digest,
            "corner": row.corner,
            "size_pct": row.size_pct,
            "opacity_pct": row.opacity_pct,
            "margin_pct": row.margin_pct,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use chrono::Utc;

    fn row() -> WatermarkRow {
        WatermarkRow {
            enabled: true,
            logo_png: Some(b"\x89PNG\r\n\x1a\n-fake-".to_vec()),
            logo_name: "台标.png".into(),
            logo_size: Some((200, 100)),
            corner: "bottom_right".into(),
            size_pct: 15,
            opacity_pct: 80,
            margin_pct: 3,
            digest: Some("0123456789abcdef".into()),
            updated_at: String::new(),
        }
    }

    #[test]
    fn the_row_round_trips_and_the_digest_is_active_only_when_enabled() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("g.sqlite3")).unwrap();
        assert_eq!(store.read(get).unwrap(), None);
        assert_eq!(store.read(active_digest).unwrap(), None);
        store.write(Utc::now(), "t", |tx| put(tx, &row())).unwrap();
        let got = store.read(get).unwrap().unwrap();
        assert_eq!(
            WatermarkRow {
                updated_at: String::new(),
                ..got.clone()
            },
            row()
        );
        assert!(!got.updated_at.is_empty());
        assert_eq!(
            store.read(active_digest).unwrap().as_deref(),
            Some("0123456789abcdef")
        );
        let off = WatermarkRow {
            enabled: false,
            ..row()
        };
        store.write(Utc::now(), "t", |tx| put(tx, &off)).unwrap();
        assert_eq!(store.read(active_digest).unwrap(), None);
    }

    #[test]
    fn out_of_range_values_and_a_logo_without_a_digest_are_refused_by_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("g.sqlite3")).unwrap();
        for bad in [
            WatermarkRow {
                size_pct: 50,
                ..row()
            },
            WatermarkRow {
                opacity_pct: 5,
                ..row()
            },
            WatermarkRow {
                margin_pct: 11,
                ..row()
            },
            WatermarkRow {
                corner: "middle".into(),
                ..row()
            },
            WatermarkRow {
                digest: None,
                ..row()
            },
        ] {
            assert!(
                store.write(Utc::now(), "t", |tx| put(tx, &bad)).is_err(),
                "{bad:?}"
            );
        }
        assert_eq!(store.read(get).unwrap(), None, "nothing saved");
    }
}
