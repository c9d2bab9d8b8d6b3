//! The rubrics in the database: the shared one (共用评分标准, id 1) and any 评比组's own.
//! Saving diffs by id: items of that rubric with a known id are updated, new items get ids,
//! and items no longer present are retired (kept, hidden) so that score rows referring to
//! them stay meaningful. Every save makes the next version of that rubric; once a score sheet
//! of a township using it exists the rubric is frozen (评分标准冻结) and the caller must give
//! the version a change reason, which is kept on the `rubric` row and so travels with it to
//! every replica. A township uses its group's own rubric when there is one, else the shared.

use crate::{ChangeInput, Result, StoreError, WriteTx};
use guanmo_domain::points::Points;
use guanmo_domain::results::group_of;
use guanmo_domain::rubric::{Adjustment, AdjustmentKind, Category, Criterion, Rubric};
use rusqlite::{params, Connection, OptionalExtension};

const ENTITY: &str = "rubric";
/// The shared rubric's row.
pub const SHARED: i64 = 1;

fn tenths(v: f64, what: &str) -> Result<i32> {
    Points::from_f64(v)
        .map(Points::tenths)
        .map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn pts(t: i32) -> f64 {
    Points(t).as_f64()
}

/// The row of `group`'s own rubric (`""`: the shared one), if saved.
pub fn id_of_group(conn: &Connection, group: &str) -> Result<Option<i64>> {
    Ok(conn
        .query_row(
            "SELECT id FROM rubric WHERE eval_group = ?1",
            [group.trim()],
            |r| r.get(0),
        )
        .optional()?)
}

/// Which rubric row scores each township (id → rubric row): its group's own, else the shared.
pub fn rubric_of_townships(conn: &Connection) -> Result<Vec<(String, i64)>> {
    let own: std::collections::HashMap<String, i64> = conn
        .prepare_cached("SELECT eval_group, id FROM rubric WHERE id <> 1")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(crate::roster::list(conn)?
        .into_iter()
        .map(|t| {
            let id = own
                .get(&group_of(t.kind, &t.eval_group))
                .copied()
                .unwrap_or(SHARED);
            (t.id, id)
        })
        .collect())
}

/// The rubric row that scores `township_id`.
pub fn rubric_id_of_township(conn: &Connection, township_id: &str) -> Result<i64> {
    let t = crate::roster::get(conn, township_id)?;
    Ok(id_of_group(conn, &group_of(t.kind, &t.eval_group))?.unwrap_or(SHARED))
}

/// The townships of 评比组 `group` with a score sheet, draft or submitted, by name in route
/// order.
pub fn scored_in_group(conn: &Connection, group: &str) -> Result<Vec<String>> {
    let mut st =
        conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM sheets WHERE township_id = ?1)")?;
    let mut out = Vec::new();
    for t in crate::roster::list(conn)? {
        if group_of(t.kind, &t.eval_group) == group.trim()
            && st.query_row([&t.id], |r| r.get::<_, bool>(0))?
        {
            out.push(t.name);
        }
    }
    Ok(out)
}

/// Whether the rubric of row `id` is frozen: some score sheet, draft or submitted, exists for
/// a township it scores.
pub fn frozen_id(conn: &Connection, id: i64) -> Result<bool> {
    let scored: std::collections::HashSet<String> = conn
        .prepare_cached("SELECT DISTINCT township_id FROM sheets")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    if scored.is_empty() {
        return Ok(false);
    }
    Ok(rubric_of_townships(conn)?
        .into_iter()
        .any(|(township, rubric)| rubric == id && scored.contains(&township)))
}

/// Whether the shared rubric is frozen (see [`frozen_id`]).
pub fn frozen(conn: &Connection) -> Result<bool> {
    frozen_id(conn, SHARED)
}

/// The shared rubric and its version, or `None` before one is saved.
pub fn load(conn: &Connection) -> Result<Option<(Rubric, i32)>> {
    load_id(conn, SHARED)
}

/// `group`'s own rubric, if it has one.
pub fn load_own(conn: &Connection, group: &str) -> Result<Option<(Rubric, i32)>> {
    match id_of_group(conn, group)? {
        Some(id) => load_id(conn, id),
        None => Ok(None),
    }
}

/// The rubric that scores `township_id`: its group's own, else the shared one.
pub fn load_for_township(conn: &Connection, township_id: &str) -> Result<Option<(Rubric, i32)>> {
    load_id(conn, rubric_id_of_township(conn, township_id)?)
}

/// Every saved rubric: the shared one first, then the groups' own by group name.
pub fn list(conn: &Connection) -> Result<Vec<Rubric>> {
    let ids = {
        let mut st = conn.prepare_cached("SELECT id FROM rubric ORDER BY id <> 1, eval_group")?;
        let ids = st
            .query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<i64>>>()?;
        ids
    };
    let mut out = Vec::new();
    for id in ids {
        if let Some((r, _)) = load_id(conn, id)? {
            out.push(r);
        }
    }
    Ok(out)
}

/// The rubric of row `id` and its version.
pub fn load_id(conn: &Connection, id: i64) -> Result<Option<(Rubric, i32)>> {
    let head: Option<(String, String, i32, i32, String)> = conn
        .query_row(
            "SELECT eval_group, title, total_tenths, version, change_reason FROM rubric
             WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((eval_group, title, total, version, change_reason)) = head else {
        return Ok(None);
    };
    let mut cats = conn.prepare_cached(
        "SELECT id, name, max_tenths FROM rubric_categories
         WHERE retired = 0 AND rubric_id = ?1 ORDER BY position",
    )?;
    let mut crits = conn.prepare_cached(
        "SELECT id, name, max_tenths, guidance FROM rubric_criteria
         WHERE retired = 0 AND category_id = ?1 ORDER BY position",
    )?;
    let mut categories = Vec::new();
    let cat_rows = cats
        .query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<Vec<(String, String, i32)>>>()?;
    for (cid, name, max) in cat_rows {
        let criteria = crits
            .query_map([&cid], |r| {
                Ok(Criterion {
                    id: Some(r.get(0)?),
                    name: r.get(1)?,
                    max_points: pts(r.get(2)?),
                    guidance: r.get(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        categories.push(Category {
            id: Some(cid),
            name,
            max_points: pts(max),
            criteria,
        });
    }
    let mut adj = conn.prepare_cached(
        "SELECT id, name, kind, limit_tenths, guidance FROM rubric_adjustments
         WHERE retired = 0 AND rubric_id = ?1 ORDER BY position",
    )?;
    let adjustments = adj
        .query_map([id], |r| {
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
            frozen: frozen_id(conn, id)?,
            eval_group,
        },
        version,
    )))
}

/// `id` if it names an item of rubric `rubric` (an id from another rubric, say when a group's
/// own rubric starts as a copy of the shared one, gets a new id instead).
fn exists(
    conn: &Connection,
    sql: &str,
    rubric: i64,
    id: &Option<String>,
) -> Result<Option<String>> {
    let Some(id) = id else { return Ok(None) };
    let found: Option<i32> = conn
        .query_row(sql, params![id, rubric], |r| r.get(0))
        .optional()?;
    Ok(found.map(|_| id.clone()))
}

const CATEGORY_OF: &str = "SELECT 1 FROM rubric_categories WHERE id = ?1 AND rubric_id = ?2";
const CRITERION_OF: &str = "SELECT 1 FROM rubric_criteria k
     JOIN rubric_categories c ON c.id = k.category_id WHERE k.id = ?1 AND c.rubric_id = ?2";
const ADJUSTMENT_OF: &str = "SELECT 1 FROM rubric_adjustments WHERE id = ?1 AND rubric_id = ?2";

/// The row `group`'s rubric is saved in: the shared row, its own, or the next free one.
fn row_for(conn: &Connection, group: &str) -> Result<i64> {
    if group.is_empty() {
        return Ok(SHARED);
    }
    if let Some(id) = id_of_group(conn, group)? {
        return Ok(id);
    }
    // Past every id an item ever had, so a removed group's retired items stay apart.
    Ok(conn.query_row(
        "SELECT max(
             (SELECT coalesce(max(id), 1) FROM rubric),
             (SELECT coalesce(max(rubric_id), 1) FROM rubric_categories),
             (SELECT coalesce(max(rubric_id), 1) FROM rubric_adjustments)) + 1",
        [],
        |r| r.get(0),
    )?)
}

/// Saves a validated rubric (the caller validated it, and checked its change reason against
/// [`frozen_id`]) as the next version of the rubric of `rubric.eval_group` (empty: the shared
/// one) and returns it with every id set. `version` and `frozen` of `rubric` are ignored.
pub fn save(tx: &WriteTx<'_>, rubric: &Rubric) -> Result<Rubric> {
    let c = tx.conn();
    let group = rubric.eval_group.trim();
    let rid = row_for(c, group)?;
    c.execute(
        "INSERT INTO rubric (id, eval_group, title, total_tenths, version, updated_at,
                             change_reason)
         VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET title = excluded.title,
             total_tenths = excluded.total_tenths, version = version + 1,
             updated_at = excluded.updated_at, change_reason = excluded.change_reason",
        params![
            rid,
            group,
            rubric.title,
            tenths(rubric.total_points, "total")?,
            tx.at(),
            rubric.change_reason
        ],
    )?;
    retire_items(c, rid)?;
    for (i, cat) in rubric.categories.iter().enumerate() {
        let id = exists(c, CATEGORY_OF, rid, &cat.id)?.unwrap_or_else(guanmo_domain::ids::new_id);
        c.execute(
            "INSERT INTO rubric_categories (id, rubric_id, position, name, max_tenths, retired)
             VALUES (?1, ?2, ?3, ?4, ?5, 0)
             ON CONFLICT (id) DO UPDATE SET position = excluded.position,
                 name = excluded.name, max_tenths = excluded.max_tenths, retired = 0",
            params![
                id,
                rid,
                i as i64,
                cat.name,
                tenths(cat.max_points, "category")?
            ],
        )?;
        for (j, k) in cat.criteria.iter().enumerate() {
            let kid =
                exists(c, CRITERION_OF, rid, &k.id)?.unwrap_or_else(guanmo_domain::ids::new_id);
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
        let id = exists(c, ADJUSTMENT_OF, rid, &a.id)?.unwrap_or_else(guanmo_domain::ids::new_id);
        let kind = match a.kind {
            AdjustmentKind::Bonus => "bonus",
            AdjustmentKind::Penalty => "penalty",
        };
        c.execute(
            "INSERT INTO rubric_adjustments
                 (id, rubric_id, position, name, kind, limit_tenths, guidance, retired)
             VALUES (?1, ?7, ?2, ?3, ?4, ?5, ?6, 0)
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
                a.guidance,
                rid
            ],
        )?;
    }
    let (saved, version) =
        load_id(c, rid)?.ok_or_else(|| StoreError::Corrupt("rubric vanished".into()))?;
    tx.record(ChangeInput {
        entity: ENTITY,
        entity_id: rid.to_string(),
        op: "save",
        payload: serde_json::json!({ "version": version, "rubric": saved }),
    })?;
    Ok(saved)
}

/// Retires every item of rubric row `rid` (a save brings back those it keeps).
fn retire_items(c: &Connection, rid: i64) -> Result<()> {
    c.execute(
        "UPDATE rubric_criteria SET retired = 1
         WHERE category_id IN (SELECT id FROM rubric_categories WHERE rubric_id = ?1)",
        [rid],
    )?;
    c.execute(
        "UPDATE rubric_categories SET retired = 1 WHERE rubric_id = ?1",
        [rid],
    )?;
    c.execute(
        "UPDATE rubric_adjustments SET retired = 1 WHERE rubric_id = ?1",
        [rid],
    )?;
    Ok(())
}

/// Removes `group`'s own rubric, so the group uses the shared one again; its items are
/// retired (kept for the records). The caller checked that no sheet uses it. Returns whether
/// there was one.
pub fn remove_own(tx: &WriteTx<'_>, group: &str) -> Result<bool> {
    let c = tx.conn();
    let Some(rid) = id_of_group(c, group)?.filter(|&id| id != SHARED) else {
        return Ok(false);
    };
    retire_items(c, rid)?;
    c.execute("DELETE FROM rubric WHERE id = ?1", [rid])?;
    tx.record(ChangeInput {
        entity: ENTITY,
        entity_id: rid.to_string(),
        op: "remove",
        payload: serde_json::json!({ "eval_group": group }),
    })?;
    Ok(true)
}
