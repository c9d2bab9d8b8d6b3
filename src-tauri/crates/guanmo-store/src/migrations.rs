//! Schema migrations, embedded at compile time from `migrations/NNNN-name/up.sql` and
//! tracked in `user_version`. Migrations are additive and never edited once landed.

use rusqlite_migration::{Migrations, M};

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
];

/// All migrations in order, each checking foreign keys before it commits. Run them with
/// `PRAGMA foreign_keys` off (a table rebuild drops and renames a table that others refer
/// to, as SQLite's "other kinds of table schema changes" procedure does) and turn it back on
/// afterwards: [`crate::Store::open`] does.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(
        UP.iter()
            .map(|sql| M::up(sql).foreign_key_check())
            .collect(),
    )
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

    #[test]
    fn the_comment_rebuild_keeps_every_row_reference_and_rule() {
        let (_dir, mut c) = before_rebuild();
        super::migrations().to_latest(&mut c).unwrap();
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
        super::migrations().to_latest(&mut c).unwrap();
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
        assert_eq!(
            ephemeral(opcodes(&c, comment)),
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
        super::migrations().to_latest(&mut c).unwrap();
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
}
