//! The live feed by stop (township), for residents who follow one stop: a stop's published
//! posts newest first (the same cursor as the whole feed), each stop's post count, a stop's
//! newest photo (its link preview), which stop each published post belongs to (so a live
//! stream filtered by stop passes only that stop's posts), and the sizes of photos (so the page
//! can give every image its width and height). Every query here reads an index: the stop's
//! listing and counts `posts_by_stop` (migration 0027), photos their primary keys.
//!
//! Posts are read through [`crate::feed::published`], so what counts as public stays decided
//! in one place.

use crate::feed::{self, Cursor};
use crate::Result;
use guanmo_domain::feed::Post;
use rusqlite::{params, Connection};
use std::collections::HashMap;

/// Published, unpinned posts of `township_id`, newest first, after `after`; at most
/// `limit`, and whether more follow.
pub fn published_page_of(
    conn: &Connection,
    township_id: &str,
    after: Option<&Cursor>,
    limit: u32,
) -> Result<(Vec<Post>, bool)> {
    let take = i64::from(limit) + 1;
    let ids: Vec<String> = match after {
        None => {
            let mut st = conn.prepare_cached(
                "SELECT id FROM posts
                 WHERE township_id = ?1 AND status = 'published' AND pinned = 0
                 ORDER BY published_at DESC, id DESC LIMIT ?2",
            )?;
            let rows = st.query_map(params![township_id, take], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        }
        Some(c) => {
            let mut st = conn.prepare_cached(
                "SELECT id FROM posts
                 WHERE township_id = ?1 AND status = 'published' AND pinned = 0
                   AND (published_at, id) < (?2, ?3)
                 ORDER BY published_at DESC, id DESC LIMIT ?4",
            )?;
            let rows = st.query_map(params![township_id, c.published_at, c.id, take], |r| {
                r.get(0)
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        }
    };
    let more = ids.len() > limit as usize;
    let mut posts = Vec::with_capacity(ids.len().min(limit as usize));
    for id in ids.iter().take(limit as usize) {
        if let Some(p) = feed::published(conn, id)? {
            posts.push(p);
        }
    }
    Ok((posts, more))
}

/// How many published posts each township has (townships without any are left out).
pub fn published_counts(conn: &Connection) -> Result<HashMap<String, i64>> {
    let mut st = conn.prepare_cached(
        "SELECT township_id, COUNT(*) FROM posts INDEXED BY posts_by_stop
         WHERE township_id IS NOT NULL AND status = 'published'
         GROUP BY township_id",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<HashMap<_, _>>>()?)
}

/// The first photo of the newest published post of `township_id` that has one.
pub fn newest_photo_of(conn: &Connection, township_id: &str) -> Result<Option<String>> {
    let mut st = conn.prepare_cached(
        "SELECT pp.hash FROM posts p JOIN post_photos pp ON pp.post_id = p.id
         WHERE p.township_id = ?1 AND p.status = 'published'
         ORDER BY p.published_at DESC, p.id DESC, pp.position LIMIT 1",
    )?;
    let mut rows = st.query_map([township_id], |r| r.get(0))?;
    Ok(rows.next().transpose()?)
}

/// The township of every published post that has one: post id → township id.
pub fn stop_of_published(conn: &Connection) -> Result<HashMap<String, String>> {
    let mut st = conn.prepare_cached(
        "SELECT id, township_id FROM posts INDEXED BY posts_by_stop
         WHERE township_id IS NOT NULL AND status = 'published'",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<HashMap<_, _>>>()?)
}

/// Width and height (as imported, after EXIF rotation) of the photos among `hashes` that are
/// known; unknown hashes are left out.
pub fn photo_sizes(conn: &Connection, hashes: &[&str]) -> Result<HashMap<String, (u32, u32)>> {
    let mut st = conn.prepare_cached("SELECT width, height FROM photos WHERE hash = ?1")?;
    let mut out = HashMap::with_capacity(hashes.len());
    for h in hashes {
        if out.contains_key(*h) {
            continue;
        }
        let mut rows = st.query_map([h], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))?;
        if let Some((w, hgt)) = rows.next().transpose()? {
            if let (Ok(w), Ok(hgt)) = (u32::try_from(w), u32::try_from(hgt)) {
                out.insert((*h).to_string(), (w, hgt));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feed::{insert_draft, publish, retract};
    use crate::Store;
    use chrono::{DateTime, Duration, Utc};
    use guanmo_domain::feed::PostInput;
    use guanmo_domain::roster::{TownshipInput, TownshipKind};

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-12-04T01:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::minutes(minutes)
    }

    fn hash(c: char) -> String {
        std::iter::repeat_n(c, 64).collect()
    }

    fn open() -> (tempfile::TempDir, Store, Vec<String>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("g.sqlite3")).unwrap();
        let ids = ["宜阳街道", "水口山镇"]
            .iter()
            .enumerate()
            .map(|(i, name)| {
                store
                    .write(at(0), "org", |tx| {
                        crate::roster::insert(
                            tx,
                            &TownshipInput {
                                code: format!("43048200{i}000"),
                                name: (*name).into(),
                                kind: TownshipKind::Town,
                                enabled: true,
                                day: Some(1),
                                arrival: None,
                                slot_minutes: None,
                                note: String::new(),
                            },
                        )
                    })
                    .unwrap()
                    .id
            })
            .collect();
        (dir, store, ids)
    }

    fn post(store: &Store, minute: i64, township: Option<&str>, photos: Vec<String>) -> Post {
        let input = PostInput {
            body: format!("第{minute}分钟"),
            township_id: township.map(str::to_string),
            photos,
            ..PostInput::default()
        };
        let d = store
            .write(at(minute), "media", |tx| insert_draft(tx, &input))
            .unwrap();
        store
            .write(at(minute), "media", |tx| publish(tx, &d, d.version))
            .unwrap()
    }

    #[test]
    fn a_stops_pages_hold_only_its_published_posts_newest_first() {
        let (_d, store, t) = open();
        let mut mine = Vec::new();
        for m in 0..5 {
            mine.push(post(&store, m * 2, Some(&t[0]), vec![]).id);
            post(&store, m * 2 + 1, Some(&t[1]), vec![]);
        }
        post(&store, 20, None, vec![]);
        // A retracted post of the stop is not listed.
        let gone = post(&store, 21, Some(&t[0]), vec![]);
        store
            .write(at(22), "media", |tx| retract(tx, &gone))
            .unwrap();
        let (first, more) = store
            .read(|c| published_page_of(c, &t[0], None, 3))
            .unwrap();
        assert!(more);
        let ids: Vec<&str> = first.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, [&mine[4], &mine[3], &mine[2]]);
        let last = first.last().unwrap();
        let cursor = Cursor {
            published_at: last.published_at.clone().unwrap(),
            id: last.id.clone(),
        };
        let (rest, more) = store
            .read(|c| published_page_of(c, &t[0], Some(&cursor), 3))
            .unwrap();
        assert!(!more);
        let ids: Vec<&str> = rest.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, [&mine[1], &mine[0]]);

        let counts = store.read(published_counts).unwrap();
        assert_eq!(counts.get(&t[0]), Some(&5));
        assert_eq!(counts.get(&t[1]), Some(&5));
        assert_eq!(counts.len(), 2);
        let of = store.read(stop_of_published).unwrap();
        assert_eq!(of.len(), 10);
        assert_eq!(of.get(&mine[0]), Some(&t[0]));
        assert_eq!(of.get(&gone.id), None);
    }

    #[test]
    fn a_stops_preview_photo_is_the_first_of_its_newest_post_with_photos() {
        let (_d, store, t) = open();
        assert_eq!(store.read(|c| newest_photo_of(c, &t[0])).unwrap(), None);
        post(&store, 0, Some(&t[0]), vec![hash('a'), hash('b')]);
        post(&store, 1, Some(&t[0]), vec![hash('c'), hash('d')]);
        post(&store, 2, Some(&t[0]), vec![]);
        post(&store, 3, Some(&t[1]), vec![hash('e')]);
        assert_eq!(
            store.read(|c| newest_photo_of(c, &t[0])).unwrap(),
            Some(hash('c'))
        );
    }

    #[test]
    fn the_stop_queries_read_the_stop_index() {
        let (_d, store, _t) = open();
        let plan = |sql: &str| -> String {
            store
                .read(|c| {
                    let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
                    let rows = st.query_map([], |r| r.get::<_, String>(3))?;
                    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?.join("; "))
                })
                .unwrap()
        };
        let page = plan(
            "SELECT id FROM posts WHERE township_id = 'x' AND status = 'published' AND pinned = 0
             AND (published_at, id) < ('a', 'b') ORDER BY published_at DESC, id DESC LIMIT 21",
        );
        assert!(
            page.contains("USING COVERING INDEX posts_by_stop"),
            "{page}"
        );
        assert!(!page.contains("TEMP B-TREE"), "no sort: {page}");
        let counts = plan(
            "SELECT township_id, COUNT(*) FROM posts INDEXED BY posts_by_stop
             WHERE township_id IS NOT NULL AND status = 'published' GROUP BY township_id",
        );
        assert!(counts.contains("COVERING INDEX posts_by_stop"), "{counts}");
        assert!(!counts.contains("TEMP B-TREE"), "no sort: {counts}");
    }

    #[test]
    fn photo_sizes_come_from_the_photo_records() {
        let (_d, store, _t) = open();
        store
            .write(at(0), "media", |tx| {
                tx.conn().execute(
                    "INSERT INTO photos (hash, file_name, width, height, format, original_bytes,
                         imported_at) VALUES (?1, 'a.jpg', 4000, 3000, 'jpeg', 1, 'x')",
                    [hash('a')],
                )?;
                Ok(())
            })
            .unwrap();
        let a = hash('a');
        let b = hash('b');
        let sizes = store.read(|c| photo_sizes(c, &[&a, &b, &a])).unwrap();
        assert_eq!(sizes.len(), 1);
        assert_eq!(sizes.get(&a), Some(&(4000, 3000)));
    }
}
