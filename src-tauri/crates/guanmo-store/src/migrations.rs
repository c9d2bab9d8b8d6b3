//! Schema migrations, embedded at compile time from `migrations/NNNN-name/up.sql` and
//! tracked in `user_version`. Migrations are additive and never edited once landed.

use crate::phone_crypt::PhoneKeys;
use rusqlite::Transaction;
use rusqlite_migration::{HookError, HookResult, Migrations, M};
use std::collections::HashMap;
use std::sync::Arc;

const UP: &[&str] = &[
    include_str!("../migrations/0001-initial/up.sql"),
    include_str!("../migrations/0002-scoring/up.sql"),
    include_str!("../migrations/0003-feed/up.sql"),
    include_str!("../migrations/0004-photos/up.sql"),
    include_str!("../migrations/0005-comments/up.sql"),
    include_str!("../migrations/0006-comment-version/up.sql"),
    include_str!("../migrations/0007-drop-comment-phone-index/up.sql"),
    include_str!("../migrations/0008-sync/up.sql"),
    include_str!("../migrations/0009-comment-checks/up.sql"),
    include_str!("../migrations/0010-sync-trust/up.sql"),
    include_str!("../migrations/0011-mute-keys/up.sql"),
    include_str!("../migrations/0012-scorer-work-unit/up.sql"),
    include_str!("../migrations/0013-comment-replicas/up.sql"),
    include_str!("../migrations/0014-comment-mutes/up.sql"),
    include_str!("../migrations/0015-resident-records/up.sql"),
    include_str!("../migrations/0016-hub-missing-originals/up.sql"),
    include_str!("../migrations/0017-people/up.sql"),
    include_str!("../migrations/0018-results/up.sql"),
    include_str!("../migrations/0019-schedule/up.sql"),
    include_str!("../migrations/0020-paper-entries/up.sql"),
    include_str!("../migrations/0021-group-rubrics/up.sql"),
    include_str!("../migrations/0022-retention/up.sql"),
    include_str!("../migrations/0023-official-replies/up.sql"),
    PHONE_ENCRYPTION_SQL,
    include_str!("../migrations/0025-post-signoff/up.sql"),
    include_str!("../migrations/0026-watermark/up.sql"),
    include_str!("../migrations/0027-feed-stop-index/up.sql"),
    include_str!("../migrations/0028-reach/up.sql"),
    include_str!("../migrations/0029-photo-clock-offset/up.sql"),
    include_str!("../migrations/0030-evidence-by-hash/up.sql"),
];

/// Migration 0024: residents' numbers sealed (its hook is [`seal_numbers`]).
const PHONE_ENCRYPTION_SQL: &str = include_str!("../migrations/0024-phone-encryption/up.sql");

/// The schema version at which residents' numbers are sealed (migration 0024's place in the
/// list): a database migrated from before it is VACUUMed once by [`crate::Store::open`].
pub fn phone_encryption_version() -> i64 {
    UP.iter()
        .position(|sql| *sql == PHONE_ENCRYPTION_SQL)
        .map_or(0, |i| i as i64 + 1)
}

/// All migrations in order, each checking foreign keys before it commits. Run them with
/// `PRAGMA foreign_keys` off (a table rebuild drops and renames a table that others refer
/// to, as SQLite's "other kinds of table schema changes" procedure does) and turn it back on
/// afterwards: [`crate::Store::open`] does.
///
/// Without keys, migration 0024 refuses a database that holds a plain number (it has nothing
/// to seal it with); [`migrations_with`] gives it the data folder's keys.
pub fn migrations() -> Migrations<'static> {
    migrations_with(None)
}

/// All migrations, 0024's hook sealing existing numbers with `keys` (see its `up.sql`).
pub fn migrations_with(keys: Option<Arc<PhoneKeys>>) -> Migrations<'static> {
    Migrations::new(
        UP.iter()
            .map(|sql| {
                let m = if *sql == PHONE_ENCRYPTION_SQL {
                    let keys = keys.clone();
                    M::up_with_hook(sql, move |tx: &Transaction<'_>| {
                        seal_numbers(tx, keys.as_deref())
                    })
                } else {
                    M::up(sql)
                };
                m.foreign_key_check()
            })
            .collect(),
    )
}

/// Migration 0024's hook, in its transaction: seals and hashes every number its SQL set aside
/// in `temp.phone_numbers_0024` (each with the random stand-in it put in `phone_hash`) and
/// `temp.phone_lines_0024` (the moderation lines that held one), replaces the stand-ins and the
/// zero bytes, drops both TEMP tables, and checks the foreign keys (the mutes' key changed).
fn seal_numbers(tx: &Transaction<'_>, keys: Option<&PhoneKeys>) -> HookResult {
    let numbers: Vec<(String, Vec<u8>)> = tx
        .prepare("SELECT phone, placeholder FROM temp.phone_numbers_0024")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let lines: Vec<(String, String)> = tx
        .prepare("SELECT id, phone FROM temp.phone_lines_0024")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let sealing_failed = |e: crate::StoreError| HookError::Hook(e.to_string());
    if !numbers.is_empty() || !lines.is_empty() {
        let Some(keys) = keys else {
            return Err(HookError::Hook(
                "residents' phone numbers need the data folder's phone key to be sealed".into(),
            ));
        };
        let mut hashes: HashMap<Vec<u8>, (String, [u8; 32])> = HashMap::new();
        for (phone, placeholder) in numbers {
            let hash = keys.hash(&phone);
            tx.execute(
                "UPDATE mutes SET phone_hash = ?1, phone = ?2 WHERE phone_hash = ?3",
                rusqlite::params![
                    &hash[..],
                    keys.seal(&phone).map_err(sealing_failed)?,
                    placeholder
                ],
            )?;
            tx.execute(
                "UPDATE mute_keys SET phone_hash = ?1 WHERE phone_hash = ?2",
                rusqlite::params![&hash[..], placeholder],
            )?;
            hashes.insert(placeholder, (phone, hash));
        }
        let rows: Vec<(i64, Vec<u8>)> = tx
            .prepare("SELECT rowid, phone_hash FROM comments WHERE phone_hash IS NOT NULL")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut update =
            tx.prepare("UPDATE comments SET phone = ?1, phone_hash = ?2 WHERE rowid = ?3")?;
        for (rowid, placeholder) in rows {
            let (phone, hash) = hashes
                .get(&placeholder)
                .ok_or_else(|| HookError::Hook("a comment's number was not set aside".into()))?;
            update.execute(rusqlite::params![
                keys.seal(phone).map_err(sealing_failed)?,
                &hash[..],
                rowid
            ])?;
        }
        let mut update = tx.prepare("UPDATE moderation_log SET phone = ?1 WHERE id = ?2")?;
        for (id, phone) in lines {
            update.execute(rusqlite::params![
                keys.seal(&phone).map_err(sealing_failed)?,
                id
            ])?;
        }
    }
    tx.execute_batch("DROP TABLE temp.phone_numbers_0024; DROP TABLE temp.phone_lines_0024;")?;
    let dangling: i64 = tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
        r.get(0)
    })?;
    if dangling > 0 {
        return Err(HookError::Hook(format!(
            "{dangling} rows refer to missing ones after sealing the numbers"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;

    #[test]
    fn migrations_are_valid() {
        assert!(super::migrations().validate().is_ok());
    }

    /// A database file, in a temp dir, at `version` (the migrations' count).
    fn at_version(version: usize) -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Connection::open(dir.path().join("g.sqlite3")).unwrap();
        c.pragma_update(None, "foreign_keys", "OFF").unwrap();
        super::migrations().to_version(&mut c, version).unwrap();
        (dir, c)
    }

    /// A database at the last version before the comment rebuild (0009), with a comment that
    /// a report and a moderation record refer to.
    fn before_rebuild() -> (tempfile::TempDir, Connection) {
        let (dir, c) = at_version(8);
        c.execute_batch(
            "INSERT INTO townships (id, code, name, kind, enabled, position, created_at,
                 updated_at)
                 VALUES ('t1', '430482001000', '宜阳街道', 'subdistrict', 1, 1,
                 '2026-12-01T08:00:00Z', '2026-12-01T08:00:00Z');
             INSERT INTO comments (id, target, nickname, kind, text, township_id, phone,
                 client_key, peer, handling, created_at)
                 VALUES ('c1', 'event', '居民', 'suggestion', '建议增加停车位', 't1',
                 '13812341234', 'k1', '127.0.0.1', 'open', '2026-12-04T08:00:00Z');
             INSERT INTO comment_reports (id, comment_id, client_key, reason, at)
                 VALUES ('r1', 'c1', 'k2', '广告', '2026-12-04T08:01:00Z');
             INSERT INTO moderation_log (id, at, actor, action, comment_id)
                 VALUES ('m1', '2026-12-04T08:02:00Z', 'mod', 'approve', 'c1');",
        )
        .unwrap();
        (dir, c)
    }

    /// The last version that kept numbers as digits (before 0024 sealed them).
    fn before_sealing() -> usize {
        super::phone_encryption_version() as usize - 1
    }

    /// Keys for a test database.
    fn test_keys() -> std::sync::Arc<crate::phone_crypt::PhoneKeys> {
        std::sync::Arc::new(crate::phone_crypt::PhoneKeys::from_bytes(&[7; 64]))
    }

    #[test]
    fn the_comment_rebuild_keeps_every_row_reference_and_rule() {
        let (_dir, mut c) = before_rebuild();
        super::migrations()
            .to_version(&mut c, before_sealing())
            .unwrap();
        c.pragma_update(None, "foreign_keys", "ON").unwrap();
        let row: (String, String, String, String) = c
            .query_row(
                "SELECT text, township_id, handling, phone FROM comments WHERE id = 'c1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(
            row,
            (
                "建议增加停车位".into(),
                "t1".into(),
                "open".into(),
                "13812341234".into()
            )
        );
        let dangling: i64 = c
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(dangling, 0);
        // References still point at the rebuilt table.
        let refused = c.execute(
            "INSERT INTO comment_reports (id, comment_id, client_key, reason, at)
                 VALUES ('r2', 'nope', 'k3', '广告', '2026-12-04T08:03:00Z')",
            [],
        );
        assert!(refused.is_err(), "a report of a missing comment must fail");
        // The rules are the same rules.
        let insert = |kind: &str, status: &str, handling: Option<&str>| {
            c.execute(
                "INSERT INTO comments (id, target, nickname, kind, text, phone, client_key,
                     peer, status, reject_reason, handling, created_at)
                 VALUES (hex(randomblob(8)), 'event', '居民', ?1, '很好很好', '13812341234',
                     'k9', '127.0.0.1', ?2, 'x', ?3, '2026-12-04T09:00:00Z')",
                rusqlite::params![kind, status, handling],
            )
        };
        assert!(insert("praise", "pending", None).is_ok());
        assert!(insert("other", "rejected", None).is_ok());
        assert!(insert("suggestion", "pending", Some("answered")).is_err()); // no reply
        assert!(insert("suggestion", "pending", Some("open")).is_ok());
        assert!(insert("bogus", "pending", None).is_err());
        assert!(insert("praise", "published", None).is_err());
        assert!(insert("suggestion", "pending", Some("later")).is_err());
        assert!(insert("suggestion", "pending", None).is_err());
        let indexes: Vec<String> = c
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'comments'
                     AND sql IS NOT NULL ORDER BY name",
            )
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            indexes,
            [
                "comments_by_client",
                "comments_by_status",
                "comments_public",
                "comments_suggestions"
            ]
        );
    }

    /// A replica of a comment (0013) holds the masked number and no phone key or peer; the
    /// site host's row holds the number, key and peer; never both, never neither.
    #[test]
    fn a_comment_row_is_the_site_hosts_or_a_masked_replica_never_both() {
        let (_dir, mut c) = at_version(12);
        super::migrations()
            .to_version(&mut c, before_sealing())
            .unwrap();
        let insert = |phone: Option<&str>, masked: Option<&str>, key: Option<&str>| {
            c.execute(
                "INSERT INTO comments (id, target, nickname, kind, text, phone, phone_masked,
                     client_key, peer, created_at)
                 VALUES (hex(randomblob(8)), 'event', '居民', 'praise', '很好很好', ?1, ?2, ?3,
                     ?3, '2026-12-04T09:00:00Z')",
                rusqlite::params![phone, masked, key],
            )
        };
        assert!(
            insert(Some("13812341234"), None, Some("k")).is_ok(),
            "site host"
        );
        assert!(insert(None, Some("138****1234"), None).is_ok(), "replica");
        assert!(insert(Some("13812341234"), Some("138****1234"), Some("k")).is_err());
        assert!(insert(None, None, None).is_err(), "neither");
        assert!(
            insert(None, Some("13812341234"), None).is_err(),
            "a full number as masked"
        );
        assert!(
            insert(None, Some("138****1234"), Some("k")).is_err(),
            "a replica's key"
        );
        assert!(
            insert(Some("13812341234"), None, None).is_err(),
            "a host row's key"
        );
        assert!(insert(Some("1381234123x"), None, Some("k")).is_err());
    }

    /// The VDBE opcodes of `sql`.
    fn opcodes(c: &Connection, sql: &str) -> Vec<String> {
        let mut st = c.prepare(&format!("EXPLAIN {sql}")).unwrap();
        let unbound = vec![rusqlite::types::Null; st.parameter_count()];
        st.query_map(rusqlite::params_from_iter(unbound), |r| r.get(1))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// What a resident comment writes must not build a temporary b-tree per row (SQLite does
    /// that for `IN (a, b, c)` in a CHECK or a partial index's WHERE; it did before 0009).
    #[test]
    fn a_comment_insert_builds_no_temporary_btree() {
        let comment = crate::comments::INSERT_SQL;
        let change = crate::db::INSERT_CHANGE_SQL;
        let ephemeral = |ops: Vec<String>| ops.iter().filter(|op| *op == "OpenEphemeral").count();
        let (_dir, mut c) = at_version(8);
        // The insert as it was before 0024 sealed the number.
        let old_comment = "INSERT INTO comments (id, target, nickname, kind, text, township_id,
                phone, phone_verified, client_key, peer, flagged_words, handling, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
        assert_eq!(
            ephemeral(opcodes(&c, old_comment)),
            3,
            "before: kind, status, handling"
        );
        assert_eq!(
            ephemeral(opcodes(&c, change)),
            1,
            "before: the public-version index"
        );
        super::migrations().to_latest(&mut c).unwrap();
        assert_eq!(ephemeral(opcodes(&c, comment)), 0);
        assert_eq!(ephemeral(opcodes(&c, change)), 0);
    }

    #[test]
    fn reports_keep_their_phone_key_through_0015_and_a_replicas_report_has_none() {
        let (_dir, mut c) = before_rebuild();
        super::migrations_with(Some(test_keys()))
            .to_latest(&mut c)
            .unwrap();
        c.pragma_update(None, "foreign_keys", "ON").unwrap();
        let row: (String, Option<String>, Option<String>) = c
            .query_row(
                "SELECT client_key, hlc, resolved_at FROM comment_reports WHERE id = 'r1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(row, ("k2".into(), None, None));
        // Replicas' reports carry no key, several of them on one comment.
        for id in ["r2", "r3"] {
            c.execute(
                "INSERT INTO comment_reports (id, comment_id, reason, at, hlc)
                 VALUES (?1, 'c1', '广告', '2026-12-04T08:03:00Z', '1')",
                [id],
            )
            .unwrap();
        }
        // One report per phone still holds on the site that took them.
        let twice = c.execute(
            "INSERT INTO comment_reports (id, comment_id, client_key, reason, at)
             VALUES ('r4', 'c1', 'k2', '广告', '2026-12-04T08:03:00Z')",
            [],
        );
        assert!(twice.is_err());
        let negative = c.execute(
            "INSERT INTO like_site_counts (site, target, count, at)
             VALUES ('d1', 'event', -1, '2026-12-04T08:03:00Z')",
            [],
        );
        assert!(negative.is_err(), "a count is never negative");
    }

    #[test]
    fn people_arrive_with_every_earlier_record_assigned_to_unassigned() {
        let (_dir, mut c) = at_version(16);
        c.execute_batch(
            "INSERT INTO townships (id, code, name, kind, enabled, position, created_at,
                                    updated_at)
             VALUES ('t1', '430482100000', '宜阳街道', 'subdistrict', 1, 1, 'x', 'x');
             INSERT INTO scorers (id, name, grp, created_at, updated_at)
             VALUES ('s1', '张三', '市领导', 'x', 'x');
             INSERT INTO sheets (id, scorer_id, township_id, status, created_at, updated_at)
             VALUES ('sh1', 's1', 't1', 'draft', 'x', 'x');
             INSERT INTO score_audit (at, device_id, actor, scorer_id, sheet_id, township_id,
                                      item_kind, new_value)
             VALUES ('2026-12-04T08:00:00Z', 'd1', 'scorer@d1', 's1', 'sh1', 't1', 'comment',
                     '好');",
        )
        .unwrap();
        super::migrations().to_latest(&mut c).unwrap();
        c.pragma_update(None, "foreign_keys", "ON").unwrap();
        let (person, name): (String, String) = c
            .query_row(
                "SELECT a.person_id, p.name FROM score_audit a JOIN people p ON p.id = a.person_id",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(person, guanmo_domain::people::UNASSIGNED_ID);
        assert_eq!(name, "未指定");
        let audit: (String, String, Option<String>) = c
            .query_row(
                "SELECT actor, item_kind, new_value FROM score_audit",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(
            audit,
            ("scorer@d1".into(), "comment".into(), Some("好".into()))
        );
        let rubric_reason: String = c
            .query_row("SELECT change_reason FROM rubric", [], |r| r.get(0))
            .unwrap_or_default();
        assert_eq!(rubric_reason, "");
        // Roles are a JSON array; a person ties to at most one scorer, a scorer to one person.
        let bad = c.execute(
            "INSERT INTO people (id, name, roles, created_at, updated_at)
             VALUES ('p0', '李四', 'scorer', 'x', 'x')",
            [],
        );
        assert!(bad.is_err());
        for id in ["p1", "p2"] {
            let r = c.execute(
                "INSERT INTO people (id, name, roles, scorer_id, created_at, updated_at)
                 VALUES (?1, '李四', '[\"scorer\"]', 's1', 'x', 'x')",
                [id],
            );
            assert_eq!(r.is_ok(), id == "p1");
        }
    }

    /// A database at the last version with plain numbers: two site-host comments (two
    /// numbers), a replica, a legacy mute (no comment, listed by its rowid) and a mute made
    /// from a comment with their phone keys, moderation lines with and without a number.
    fn with_plain_numbers() -> (tempfile::TempDir, Connection) {
        let (dir, c) = at_version(before_sealing());
        c.execute_batch(
            "INSERT INTO comments (id, target, nickname, kind, text, phone, client_key, peer,
                 created_at)
                 VALUES ('c1', 'event', '居民', 'praise', '为宜阳点赞', '13812341234', 'k1',
                     '10.0.0.1', '2026-12-04T08:00:00Z'),
                 ('c2', 'event', '居民', 'praise', '再次点赞', '13812341234', 'k2',
                     '10.0.0.2', '2026-12-04T08:01:00Z'),
                 ('c3', 'event', '居民', 'praise', '很好很好', '13900005555', 'k3',
                     '10.0.0.3', '2026-12-04T08:02:00Z');
             INSERT INTO comments (id, target, nickname, kind, text, phone_masked, created_at)
                 VALUES ('r1', 'event', '别处', 'praise', '别处的评论', '137****0000',
                     '2026-12-04T08:03:00Z');
             INSERT INTO mutes (rowid, phone, until, reason, at, by)
                 VALUES (7, '13900005555', '2027-01-01T00:00:00Z', '广告', 'x', 'mod');
             INSERT INTO mutes (phone, until, reason, at, by, hide_comments, comment_id)
                 VALUES ('13812341234', '2027-01-01T00:00:00Z', '辱骂', 'x', 'mod', 1, 'c1');
             INSERT INTO mute_keys (client_key, phone)
                 VALUES ('k1', '13812341234'), ('k2', '13812341234'), ('k3', '13900005555');
             INSERT INTO moderation_log (id, at, actor, action, comment_id, phone, reason)
                 VALUES ('l1', 'x', 'mod', 'mute', 'c1', '13812341234', '辱骂'),
                 ('l2', 'x', 'mod', 'mute', NULL, '13900005555', '广告'),
                 ('l3', 'x', 'mod', 'approve', 'c2', NULL, NULL);",
        )
        .unwrap();
        (dir, c)
    }

    #[test]
    fn numbers_are_sealed_by_0024_and_every_row_rule_and_reference_kept() {
        let (_dir, mut c) = with_plain_numbers();
        let keys = test_keys();
        super::migrations_with(Some(keys.clone()))
            .to_latest(&mut c)
            .unwrap();
        c.pragma_update(None, "foreign_keys", "ON").unwrap();
        let open = |sealed: Vec<u8>| keys.open(&sealed).unwrap();
        // Comments: sealed, hashed and masked on the site host's rows; the replica as it was.
        let mut st = c
            .prepare("SELECT id, phone, phone_hash, phone_masked FROM comments ORDER BY id")
            .unwrap();
        type Row = (String, Option<Vec<u8>>, Option<Vec<u8>>, String);
        let rows: Vec<Row> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        drop(st);
        assert_eq!(rows.len(), 4);
        for (id, phone, hash, masked) in &rows {
            let number = match id.as_str() {
                "c1" | "c2" => "13812341234",
                "c3" => "13900005555",
                _ => {
                    assert_eq!(
                        (phone, hash, masked.as_str()),
                        (&None, &None, "137****0000")
                    );
                    continue;
                }
            };
            assert_eq!(open(phone.clone().unwrap()), number, "{id}");
            assert_eq!(hash.as_deref(), Some(&keys.hash(number)[..]), "{id}");
            assert_eq!(masked, &format!("{}****{}", &number[..3], &number[7..]));
        }
        assert_ne!(rows[0].1, rows[1].1, "each value has its own nonce");
        // Mutes: keyed by the hash; the legacy one keeps its rowid; the keys follow.
        type MuteRow = (i64, Vec<u8>, Vec<u8>, String, Option<String>);
        let mutes: Vec<MuteRow> = c
            .prepare("SELECT rowid, phone_hash, phone, phone_masked, comment_id FROM mutes ORDER BY rowid")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(mutes.len(), 2);
        assert_eq!(mutes[0].0, 7);
        assert_eq!(mutes[0].1, keys.hash("13900005555"));
        assert_eq!(open(mutes[0].2.clone()), "13900005555");
        assert_eq!(mutes[0].3, "139****5555");
        assert_eq!(mutes[1].1, keys.hash("13812341234"));
        assert_eq!(mutes[1].4.as_deref(), Some("c1"));
        let keyed: i64 = c
            .query_row(
                "SELECT count(*) FROM mute_keys k JOIN mutes m ON m.phone_hash = k.phone_hash",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(keyed, 3);
        // Moderation lines: the number sealed with its masked form; the others untouched.
        let lines: Vec<(String, Option<Vec<u8>>, Option<String>)> = c
            .prepare("SELECT id, phone, phone_masked FROM moderation_log ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(open(lines[0].1.clone().unwrap()), "13812341234");
        assert_eq!(lines[0].2.as_deref(), Some("138****1234"));
        assert_eq!(open(lines[1].1.clone().unwrap()), "13900005555");
        assert_eq!((&lines[2].1, &lines[2].2), (&None, &None));
        // No digit of a number is left in any column, and the stand-ins are gone.
        let plain: i64 = c
            .query_row(
                "SELECT (SELECT count(*) FROM comments WHERE instr(CAST(phone AS TEXT), '1381234')
                        OR typeof(phone) = 'text')
                    + (SELECT count(*) FROM mutes WHERE typeof(phone) <> 'blob')
                    + (SELECT count(*) FROM moderation_log WHERE typeof(phone) = 'text')
                    + (SELECT count(*) FROM temp.sqlite_schema)",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(plain, 0);
        let dangling: i64 = c
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(dangling, 0);
        // A site host's row needs its sealed number and hash; a replica has neither.
        let insert = |phone: Option<Vec<u8>>, hash: Option<Vec<u8>>, key: Option<&str>| {
            c.execute(
                "INSERT INTO comments (id, target, nickname, kind, text, phone, phone_hash,
                     phone_masked, client_key, peer, created_at)
                 VALUES (hex(randomblob(8)), 'event', '居民', 'praise', '很好很好', ?1, ?2,
                     '138****1234', ?3, ?3, '2026-12-04T09:00:00Z')",
                rusqlite::params![phone, hash, key],
            )
        };
        let sealed = keys.seal("13812341234").unwrap();
        let hash = keys.hash("13812341234").to_vec();
        assert!(insert(Some(sealed.clone()), Some(hash.clone()), Some("k")).is_ok());
        assert!(insert(None, None, None).is_ok(), "replica");
        assert!(
            insert(Some(sealed.clone()), None, Some("k")).is_err(),
            "no hash"
        );
        assert!(insert(None, Some(hash.clone()), None).is_err(), "no number");
        assert!(insert(Some(sealed), Some(hash), None).is_err(), "no key");
        let digits = c.execute(
            "INSERT INTO comments (id, target, nickname, kind, text, phone, phone_hash,
                 phone_masked, client_key, peer, created_at)
             VALUES ('x', 'event', '居民', 'praise', '很好很好', '13812341234', randomblob(32),
                 '138****1234', 'k', 'k', '2026-12-04T09:00:00Z')",
            [],
        );
        assert!(digits.is_err(), "a number as digits is refused");
    }

    #[test]
    fn without_the_key_0024_refuses_plain_numbers_and_changes_nothing() {
        let (_dir, mut c) = with_plain_numbers();
        assert!(super::migrations().to_latest(&mut c).is_err());
        let (version, phone): (i64, String) = c
            .query_row(
                "SELECT (SELECT user_version FROM pragma_user_version),
                    (SELECT phone FROM comments WHERE id = 'c1')",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!(
            (version, phone.as_str()),
            (before_sealing() as i64, "13812341234")
        );
    }
}
