//! Posts of the live feed and their photos. Every write appends a change row (entity
//! `post`) in the same transaction; the ops residents may learn of (see [`PUBLIC_OPS`]) are
//! kept apart from draft edits, so neither the resident stream nor the feed's ETag ever moves
//! because of a draft. State rules are checked by the caller (`guanmo_domain::feed::transition`)
//! inside the same transaction; the schema backs the invariants up (one pinned post, pinned ⇒
//! published, retracted ⇒ who and when).

use crate::{ChangeInput, Result, StoreError, WriteTx};
use guanmo_domain::feed::{Post, PostInput, PostSignoff, PostStatus};
use rusqlite::{params, Connection, OptionalExtension, Row};

#[path = "feed_signoff.rs"]
pub mod signoff;

/// Entity name of posts in the change log.
pub const ENTITY: &str = "post";

/// Change-log ops residents may learn of. Draft ops (`create_draft`, `update_draft`) are not.
/// `signoff_publish` is a post published by its last sign-off step (see [`signoff`]).
pub const PUBLIC_OPS: [&str; 6] = [
    "publish",
    "update",
    "retract",
    "pin",
    "unpin",
    signoff::SIGNOFF_PUBLISH,
];

const COLUMNS: &str = "id, stop_label, township_id, body, credit, status, pinned, created_at,
    published_at, updated_at, retracted_at, retracted_by, version,
    (SELECT json_group_array(hash) FROM
        (SELECT hash FROM post_photos WHERE post_id = posts.id ORDER BY position)),
    (SELECT json_array(stage, levels_done, editor_name, approver_name, returned_reason)
        FROM post_signoff WHERE post_id = posts.id),
    (SELECT json_extract(value, '$.print_footer') FROM meta WHERE key = 'feed_signoff')";

/// The sign-off columns of a row: `[stage, levels_done, editor, approver, returned_reason]`.
fn signoff_of_row(text: Option<String>, print_footer: Option<bool>) -> (bool, PostSignoff) {
    let v: serde_json::Value = text
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let s = |i: usize| v.get(i).and_then(|x| x.as_str()).map(str::to_string);
    let pending = v.get(0).and_then(|x| x.as_str()) == Some("pending");
    let done = v.get(1).and_then(serde_json::Value::as_i64).unwrap_or(0);
    (
        pending,
        PostSignoff {
            levels_done: i32::try_from(done).unwrap_or(0),
            editor: s(2),
            approver: s(3),
            returned_reason: s(4),
            print_footer: print_footer.unwrap_or(false),
        },
    )
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Post> {
    let status: String = r.get(5)?;
    let photos: String = r.get(13)?;
    let (pending, signoff) = signoff_of_row(r.get(14)?, r.get(15)?);
    // The schema's CHECK allows only the three words, so `Draft` is never a guess; a draft
    // under review is 待审.
    let status = match PostStatus::parse(&status).unwrap_or(PostStatus::Draft) {
        PostStatus::Draft if pending => PostStatus::Pending,
        s => s,
    };
    Ok(Post {
        id: r.get(0)?,
        stop_label: r.get(1)?,
        township_id: r.get(2)?,
        body: r.get(3)?,
        credit: r.get(4)?,
        status,
        pinned: r.get(6)?,
        created_at: r.get(7)?,
        published_at: r.get(8)?,
        updated_at: r.get(9)?,
        retracted_at: r.get(10)?,
        retracted_by: r.get(11)?,
        version: r.get(12)?,
        photos: serde_json::from_str(&photos).unwrap_or_default(),
        signoff,
    })
}

/// One post, whatever its status.
pub fn get(conn: &Connection, id: &str) -> Result<Post> {
    conn.query_row(
        &format!("SELECT {COLUMNS} FROM posts WHERE id = ?1"),
        [id],
        from_row,
    )
    .optional()?
    .ok_or_else(|| StoreError::NotFound {
        entity: ENTITY,
        id: id.to_string(),
    })
}

/// Every post for the desktop app: the pinned one, then drafts, then the rest newest first.
pub fn list_all(conn: &Connection) -> Result<Vec<Post>> {
    let mut st = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM posts
         ORDER BY pinned DESC, status = 'draft' DESC,
                  COALESCE(published_at, created_at) DESC, id DESC"
    ))?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Whether a post with this id exists (in any state).
pub fn exists(conn: &Connection, id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM posts WHERE id = ?1")?
        .query_row([id], |_| Ok(()))
        .optional()?
        .is_some())
}

/// A published post, or `None` when it is a draft, retracted or unknown.
pub fn published(conn: &Connection, id: &str) -> Result<Option<Post>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM posts WHERE id = ?1 AND status = 'published'"),
            [id],
            from_row,
        )
        .optional()?)
}

/// The pinned post (it is always published), if any.
pub fn pinned(conn: &Connection) -> Result<Option<Post>> {
    Ok(conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM posts WHERE status = 'published' AND pinned = 1"),
            [],
            from_row,
        )
        .optional()?)
}

/// Position in the public listing: the last post a page showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Its `published_at`, exactly as stored.
    pub published_at: String,
    /// Its id (breaks ties between posts published in the same millisecond).
    pub id: String,
}

/// Published, unpinned posts newest first, after `after`; at most `limit`, and whether
/// more follow.
pub fn published_page(
    conn: &Connection,
    after: Option<&Cursor>,
    limit: u32,
) -> Result<(Vec<Post>, bool)> {
    let take = i64::from(limit) + 1;
    let mut posts = match after {
        None => {
            let mut st = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM posts WHERE status = 'published' AND pinned = 0
                 ORDER BY published_at DESC, id DESC LIMIT ?1"
            ))?;
            let rows = st.query_map([take], from_row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        }
        Some(c) => {
            let mut st = conn.prepare(&format!(
                "SELECT {COLUMNS} FROM posts WHERE status = 'published' AND pinned = 0
                   AND (published_at, id) < (?1, ?2)
                 ORDER BY published_at DESC, id DESC LIMIT ?3"
            ))?;
            let rows = st.query_map(params![c.published_at, c.id, take], from_row)?;
            rows.collect::<rusqlite::Result<Vec<_>>>()?
        }
    };
    let more = posts.len() > limit as usize;
    posts.truncate(limit as usize);
    Ok((posts, more))
}

/// Every published post, pinned first, then newest first (for the static export).
pub fn all_published(conn: &Connection) -> Result<Vec<Post>> {
    let mut st = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM posts WHERE status = 'published'
         ORDER BY pinned DESC, published_at DESC, id DESC"
    ))?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// True when a published post shows the photo `hash`.
pub fn photo_is_public(conn: &Connection, hash: &str) -> Result<bool> {
    Ok(conn
        .query_row(
            "SELECT 1 FROM post_photos pp JOIN posts p ON p.id = pp.post_id
             WHERE pp.hash = ?1 AND p.status = 'published' LIMIT 1",
            [hash],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

fn public_ops_sql() -> String {
    PUBLIC_OPS
        .iter()
        .map(|op| format!("'{op}'"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Sequence number of the newest change residents could see (0 when there is none): the
/// feed's version for ETags.
pub fn feed_seq(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        &format!(
            "SELECT COALESCE(MAX(seq), 0) FROM changes
             WHERE entity = '{ENTITY}' AND op IN ({})",
            public_ops_sql()
        ),
        [],
        |r| r.get(0),
    )?)
}

/// Sequence number of the newest change of any kind (0 when the log is empty).
pub fn latest_seq(conn: &Connection) -> Result<i64> {
    Ok(
        conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |r| {
            r.get(0)
        })?,
    )
}

/// A public-relevant post change: `(seq, post id, op)`.
pub type PostChange = (i64, String, String);

/// Public-relevant post changes after `seq`, oldest first, at most `limit`.
pub fn public_changes_since(conn: &Connection, seq: i64, limit: u32) -> Result<Vec<PostChange>> {
    let mut st = conn.prepare(&format!(
        "SELECT seq, entity_id, op FROM changes
         WHERE entity = '{ENTITY}' AND seq > ?1 AND op IN ({})
         ORDER BY seq LIMIT ?2",
        public_ops_sql()
    ))?;
    let rows = st.query_map(params![seq, limit], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn log(tx: &WriteTx<'_>, op: &'static str, post: &Post) -> Result<()> {
    tx.record(ChangeInput {
        entity: ENTITY,
        entity_id: post.id.clone(),
        op,
        payload: serde_json::to_value(post)?,
    })
}

fn check_version(current: &Post, expected: i32) -> Result<()> {
    if current.version != expected {
        return Err(StoreError::VersionConflict {
            entity: ENTITY,
            id: current.id.clone(),
            expected,
            current: current.version,
        });
    }
    Ok(())
}

fn write_photos(tx: &WriteTx<'_>, id: &str, photos: &[String]) -> Result<()> {
    tx.conn()
        .execute("DELETE FROM post_photos WHERE post_id = ?1", [id])?;
    let mut st = tx
        .conn()
        .prepare("INSERT INTO post_photos (post_id, position, hash) VALUES (?1, ?2, ?3)")?;
    for (i, hash) in photos.iter().enumerate() {
        st.execute(params![id, i as i64, hash])?;
    }
    Ok(())
}

/// Starts a draft from already validated input.
pub fn insert_draft(tx: &WriteTx<'_>, input: &PostInput) -> Result<Post> {
    let id = guanmo_domain::ids::new_id();
    tx.conn().execute(
        "INSERT INTO posts (id, stop_label, township_id, body, credit, status, pinned,
                            created_at, created_by, version)
         VALUES (?1, ?2, ?3, ?4, ?5, 'draft', 0, ?6, ?7, 1)",
        params![
            id,
            input.stop_label,
            input.township_id,
            input.body,
            input.credit,
            tx.at(),
            tx.actor()
        ],
    )?;
    write_photos(tx, &id, &input.photos)?;
    let post = get(tx.conn(), &id)?;
    log(tx, "create_draft", &post)?;
    Ok(post)
}

/// Replaces the content of `current` (a draft or a published post still at
/// `expected_version`). Editing a published post stamps `updated_at` (已更新).
pub fn update_content(
    tx: &WriteTx<'_>,
    current: &Post,
    expected_version: i32,
    input: &PostInput,
) -> Result<Post> {
    check_version(current, expected_version)?;
    let published = current.status == PostStatus::Published;
    tx.conn().execute(
        "UPDATE posts SET stop_label = ?2, township_id = ?3, body = ?4, credit = ?5,
                updated_at = CASE WHEN ?6 THEN ?7 ELSE updated_at END,
                version = version + 1
         WHERE id = ?1",
        params![
            current.id,
            input.stop_label,
            input.township_id,
            input.body,
            input.credit,
            published,
            tx.at()
        ],
    )?;
    write_photos(tx, &current.id, &input.photos)?;
    let post = get(tx.conn(), &current.id)?;
    log(tx, if published { "update" } else { "update_draft" }, &post)?;
    Ok(post)
}

/// Publishes the draft `current`, still at `expected_version`.
pub fn publish(tx: &WriteTx<'_>, current: &Post, expected_version: i32) -> Result<Post> {
    check_version(current, expected_version)?;
    tx.conn().execute(
        "UPDATE posts SET status = 'published', published_at = ?2, version = version + 1
         WHERE id = ?1",
        params![current.id, tx.at()],
    )?;
    let post = get(tx.conn(), &current.id)?;
    log(tx, "publish", &post)?;
    Ok(post)
}

/// Retracts `current`: it is unpinned and keeps who retracted it and when.
pub fn retract(tx: &WriteTx<'_>, current: &Post) -> Result<Post> {
    tx.conn().execute(
        "UPDATE posts SET status = 'retracted', pinned = 0, retracted_at = ?2,
                retracted_by = ?3, version = version + 1
         WHERE id = ?1",
        params![current.id, tx.at(), tx.actor()],
    )?;
    let post = get(tx.conn(), &current.id)?;
    log(tx, "retract", &post)?;
    Ok(post)
}

fn set_flag(tx: &WriteTx<'_>, id: &str, pinned: bool) -> Result<Post> {
    tx.conn().execute(
        "UPDATE posts SET pinned = ?2, version = version + 1 WHERE id = ?1",
        params![id, pinned],
    )?;
    let post = get(tx.conn(), id)?;
    log(tx, if pinned { "pin" } else { "unpin" }, &post)?;
    Ok(post)
}

/// Pins or unpins `current`. Pinning first unpins whichever post was pinned, each with its
/// own change row, so at most one post is ever pinned.
pub fn set_pinned(tx: &WriteTx<'_>, current: &Post, pin: bool) -> Result<Post> {
    if pin {
        if let Some(other) = pinned(tx.conn())?.filter(|p| p.id != current.id) {
            set_flag(tx, &other.id, false)?;
        }
    }
    set_flag(tx, &current.id, pin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use chrono::{DateTime, Duration, Utc};

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2024-12-04T01:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + Duration::minutes(minutes)
    }

    fn hash(c: char) -> String {
        std::iter::repeat_n(c, 64).collect()
    }

    fn input(body: &str) -> PostInput {
        PostInput {
            body: body.into(),
            credit: "记者 李明 摄".into(),
            photos: vec![hash('b'), hash('a')],
            ..PostInput::default()
        }
    }

    fn open() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("g.sqlite3")).unwrap();
        (dir, store)
    }

    fn draft(store: &Store, minute: i64, body: &str) -> Post {
        store
            .write(at(minute), "media", |tx| insert_draft(tx, &input(body)))
            .unwrap()
    }

    fn published_post(store: &Store, minute: i64, body: &str) -> Post {
        let d = draft(store, minute, body);
        store
            .write(at(minute), "media", |tx| publish(tx, &d, d.version))
            .unwrap()
    }

    #[test]
    fn a_draft_keeps_its_photos_in_grid_order_and_logs_a_private_change() {
        let (_d, store) = open();
        let p = draft(&store, 0, "正文");
        assert_eq!(p.photos, vec![hash('b'), hash('a')]);
        assert_eq!(p.status, PostStatus::Draft);
        let changes = store.changes_since(0, 10).unwrap();
        assert_eq!(changes.last().unwrap().op, "create_draft");
        assert_eq!(
            store.read(feed_seq).unwrap(),
            0,
            "a draft does not move the public feed's version"
        );
        assert!(!store.read(|c| photo_is_public(c, &hash('a'))).unwrap());
    }

    #[test]
    fn publishing_stamps_the_time_and_moves_the_feed_version() {
        let (_d, store) = open();
        let p = published_post(&store, 5, "正文");
        assert_eq!(p.status, PostStatus::Published);
        assert_eq!(p.published_at.as_deref(), Some("2024-12-04T01:05:00.000Z"));
        assert_eq!(p.updated_at, None, "a fresh post is not 已更新");
        assert!(store.read(feed_seq).unwrap() > 0);
        assert!(store.read(|c| photo_is_public(c, &hash('a'))).unwrap());
    }

    #[test]
    fn editing_a_published_post_stamps_updated_at_but_editing_a_draft_does_not() {
        let (_d, store) = open();
        let d = draft(&store, 0, "草稿");
        let d2 = store
            .write(at(1), "media", |tx| {
                update_content(tx, &d, 1, &input("草稿二"))
            })
            .unwrap();
        assert_eq!(d2.updated_at, None);
        assert_eq!(d2.version, 2);
        let p = store
            .write(at(2), "media", |tx| publish(tx, &d2, 2))
            .unwrap();
        let p2 = store
            .write(at(9), "media", |tx| {
                update_content(tx, &p, p.version, &input("改正"))
            })
            .unwrap();
        assert_eq!(p2.updated_at.as_deref(), Some("2024-12-04T01:09:00.000Z"));
        assert_eq!(p2.body, "改正");
    }

    #[test]
    fn a_stale_version_is_refused() {
        let (_d, store) = open();
        let d = draft(&store, 0, "草稿");
        let e = store
            .write(at(1), "media", |tx| update_content(tx, &d, 7, &input("x")))
            .unwrap_err();
        assert!(matches!(e, StoreError::VersionConflict { current: 1, .. }));
    }

    #[test]
    fn pinning_one_post_unpins_the_other() {
        let (_d, store) = open();
        let a = published_post(&store, 0, "开篇");
        let b = published_post(&store, 1, "第二条");
        store
            .write(at(2), "media", |tx| set_pinned(tx, &a, true))
            .unwrap();
        store
            .write(at(3), "media", |tx| set_pinned(tx, &b, true))
            .unwrap();
        let all = store.read(list_all).unwrap();
        let pinned: Vec<_> = all.iter().filter(|p| p.pinned).map(|p| &p.id).collect();
        assert_eq!(pinned, vec![&b.id]);
        let ops: Vec<_> = store
            .read(|c| public_changes_since(c, 0, 100))
            .unwrap()
            .into_iter()
            .map(|(_, id, op)| (id, op))
            .collect();
        assert!(ops.contains(&(a.id.clone(), "unpin".to_string())));
    }

    #[test]
    fn the_schema_refuses_two_pinned_posts_or_a_pinned_draft() {
        let (_d, store) = open();
        let a = published_post(&store, 0, "一");
        let b = published_post(&store, 1, "二");
        let d = draft(&store, 2, "草稿");
        let r = store.write(at(3), "x", |tx| {
            tx.conn().execute(
                "UPDATE posts SET pinned = 1 WHERE id IN (?1, ?2)",
                [&a.id, &b.id],
            )?;
            Ok(())
        });
        assert!(r.is_err(), "two pinned posts");
        let r = store.write(at(3), "x", |tx| {
            tx.conn()
                .execute("UPDATE posts SET pinned = 1 WHERE id = ?1", [&d.id])?;
            Ok(())
        });
        assert!(r.is_err(), "a pinned draft");
    }

    #[test]
    fn a_retracted_post_keeps_who_and_when_and_leaves_the_public_listing() {
        let (_d, store) = open();
        let p = published_post(&store, 0, "错误的一条");
        store
            .write(at(1), "media", |tx| set_pinned(tx, &p, true))
            .unwrap();
        let p = store.read(|c| get(c, &p.id)).unwrap();
        let r = store.write(at(4), "editor", |tx| retract(tx, &p)).unwrap();
        assert_eq!(r.status, PostStatus::Retracted);
        assert!(!r.pinned);
        assert_eq!(r.retracted_by.as_deref(), Some("editor"));
        assert_eq!(r.retracted_at.as_deref(), Some("2024-12-04T01:04:00.000Z"));
        assert!(store.read(|c| published(c, &p.id)).unwrap().is_none());
        assert!(store.read(pinned).unwrap().is_none());
        assert!(store
            .read(|c| published_page(c, None, 10))
            .unwrap()
            .0
            .is_empty());
        assert!(!store.read(|c| photo_is_public(c, &hash('a'))).unwrap());
    }

    #[test]
    fn pages_follow_the_cursor_newest_first_without_the_pinned_post() {
        let (_d, store) = open();
        let posts: Vec<Post> = (0..5)
            .map(|i| published_post(&store, i, &format!("第{i}条")))
            .collect();
        store
            .write(at(9), "m", |tx| set_pinned(tx, &posts[0], true))
            .unwrap();
        let (page, more) = store.read(|c| published_page(c, None, 2)).unwrap();
        assert_eq!(
            page.iter().map(|p| &p.body).collect::<Vec<_>>(),
            ["第4条", "第3条"]
        );
        assert!(more);
        let last = page.last().unwrap();
        let cursor = Cursor {
            published_at: last.published_at.clone().unwrap(),
            id: last.id.clone(),
        };
        let (page, more) = store.read(|c| published_page(c, Some(&cursor), 2)).unwrap();
        assert_eq!(
            page.iter().map(|p| &p.body).collect::<Vec<_>>(),
            ["第2条", "第1条"]
        );
        assert!(!more, "the pinned 第0条 is not part of the stream");
    }
}
