//! The rubric in the database. Saving diffs by id: items with a known id are updated,
//! new items get ids, and items no longer present are retired (kept, hidden) so that score
//! rows referring to them stay meaningful. Every save makes the next version; once a score
//! sheet exists the rubric is frozen (评分标准冻结) and the caller must give the version a
//! change reason, which is kept on the `rubric` row and so travels with it to every replica.

use crate::{ChangeInput, Result, StoreError, WriteTx};
use guanmo_domain::points::Points;
use guanmo_domain::rubric::{Adjustment, AdjustmentKind, Category, Criterion, Rubric};
use rusqlite::{params, Connection, OptionalExtension};

const ENTITY: &str = "rubric";

fn tenths(v: f64, what: &str) -> Result<i32> {
    Points::from_f64(v)
        .map(Points::tenths)
        .map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn pts(t: i32) -> f64 {
    Points(t).as_f64()
}

/// Whether the rubric is frozen: some score sheet exists, draft or submitted.
pub fn frozen(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row("SELECT EXISTS (SELECT 1 FROM sheets)", [], |r| r.get(0))?)
}

/// The current rubric and its version, or `None` before one is saved.
pub fn load(conn: &Connection) -> Result<Option<(Rubric, i32)>> {
    let head: Option<(String, i32, i32, String)> = conn
        .query_row(
            "SELECT title, total_tenths, version, change_reason FROM rubric WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let Some((title, total, version, change_reason)) = head else {
        return Ok(None);
    };
    let mut cats = conn.prepare(
        "SELECT id, name, max_tenths FROM rubric_categories
         WHERE retired = 0 ORDER BY position",
    )?;
    let mut crits = conn.prepare(
        "SELECT id, name, max_tenths, guidance FROM rubric_criteria
         WHERE retired = 0 AND category_id = ?1 ORDER BY position",
    )?;
    let mut categories = Vec::new();
    let cat_rows = cats
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<Vec<(String, String, i32)>>>()?;
    for (id, name, max) in cat_rows {
        let criteria = crits
            .query_map([&id], |r| {
                Ok(Criterion {
                    id: Some(r.get(0)?),
                    name: r.get(1)?,
                    max_points: pts(r.get(2)?),
                    guidance: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        categories.push(Category {
            id: Some(id),
            name,
            max_points: pts(max),
            criteria,
        });
    }
    let mut adj = conn.prepare(
        "SELECT id, name, kind, limit_tenths, guidance FROM rubric_adjustments
         WHERE retired = 0 ORDER BY position",
    )?;
    let adjustments = adj
        .query_map([], |r| {
            let kind: String = r.get(2)?;
            Ok(Adjustment {
                id: Some(r.get(0)?),
                name: r.get(1)?,
                kind: if kind == "bonus" {
                    AdjustmentKind::Bonus
                } else {
                    AdjustmentKind::Penalty
                },
                limit_points: pts(r.get(3)?),
                guidance: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Some((
        Rubric {
            title,
            total_points: pts(total),
            categories,
            adjustments,
            version,
            change_reason,
            frozen: frozen(conn)?,
        },
        version,
    )))
}

fn exists(conn: &Connection, table: &str, id: &Option<String>) -> Result<Option<String>> {
    let Some(id) = id else { return Ok(None) };
    let found: Option<i32> = conn
        .query_row(&format!("SELECT 1 FROM {table} WHERE id = ?1"), [id], |r| {
            r.get(0)
        })
        .optional()?;
    Ok(found.map(|_| id.clone()))
}

/// Saves a validated rubric (the caller validated it, and checked its change reason against
/// [`frozen`]) as the next version and returns it with every id set. `version` and `frozen`
/// of `rubric` are ignored.
pub fn save(tx: &WriteTx<'_>, rubric: &Rubric) -> Result<Rubric> {
    let c = tx.conn();
    c.execute(
        "INSERT INTO rubric (id, title, total_tenths, version, updated_at, change_reason)
         VALUES (1, ?1, ?2, 1, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET title = excluded.title,
             total_tenths = excluded.total_tenths, version = version + 1,
             updated_at = excluded.updated_at, change_reason = excluded.change_reason",
        params![
            rubric.title,
            tenths(rubric.total_points, "total")?,
            tx.at(),
            rubric.change_reason
        ],
    )?;
    c.execute("UPDATE rubric_categories SET retired = 1", [])?;
    c.execute("UPDATE rubric_criteria SET retired = 1", [])?;
    c.execute("UPDATE rubric_adjustments SET retired = 1", [])?;
    for (i, cat) in rubric.categories.iter().enumerate() {
        let id =
            exists(c, "rubric_categories", &cat.id)?.unwrap_or_else(guanmo_domain::ids::new_id);
        c.execute(
            "INSERT INTO rubric_categories (id, position, name, max_tenths, retired)
             VALUES (?1, ?2, ?3, ?4, 0)
             ON CONFLICT (id) DO UPDATE SET position = excluded.position,
                 name = excluded.name, max_tenths = excluded.max_tenths, retired = 0",
            params![id, i as i64, cat.name, tenths(cat.max_points, "category")?],
        )?;
        for (j, k) in cat.criteria.iter().enumerate() {
            let kid =
                exists(c, "rubric_criteria", &k.id)?.unwrap_or_else(guanmo_domain::ids::new_id);
            c.execute(
                "INSERT INTO rubric_criteria
                     (id, category_id, position, name, max_tenths, guidance, retired)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)
                 ON CONFLICT (id) DO UPDATE SET category_id = excluded.category_id,
                     position = excluded.position, name = excluded.name,
                     max_tenths = excluded.max_tenths, guidance = excluded.guidance,
                     retired = 0",
                params![
                    kid,
                    id,
                    j as i64,
                    k.name,
                    tenths(k.max_points, "criterion")?,
                    k.guidance
                ],
            )?;
        }
    }
    for (i, a) in rubric.adjustments.iter().enumerate() {
        let id = exists(c, "rubric_adjustments", &a.id)?.unwrap_or_else(guanmo_domain::ids::new_id);
        let kind = match a.kind {
            AdjustmentKind::Bonus => "bonus",
            AdjustmentKind::Penalty => "penalty",
        };
        c.execute(
            "INSERT INTO rubric_adjustments
                 (id, position, name, kind, limit_tenths, guidance, retired)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)
             ON CONFLICT (id) DO UPDATE SET position = excluded.position,
                 name = excluded.name, kind = excluded.kind,
                 limit_tenths = excluded.limit_tenths, guidance = excluded.guidance,
                 retired = 0",
            params![
                id,
                i as i64,
                a.name,
                kind,
                tenths(a.limit_points, "adjustment")?,
                a.guidance
            ],
        )?;
    }
    let (saved, version) = load(c)?.ok_or_else(|| StoreError::Corrupt("rubric vanished".into()))?;
    tx.record(ChangeInput {
        entity: ENTITY,
        entity_id: "1".into(),
        op: "save",
        payload: serde_json::json!({ "version": version, "rubric": saved }),
    })?;
    Ok(saved)
}
