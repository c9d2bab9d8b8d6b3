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
];

/// All migrations in order.
pub fn migrations() -> Migrations<'static> {
    Migrations::new(UP.iter().map(|sql| M::up(sql)).collect())
}

#[cfg(test)]
mod tests {
    #[test]
    fn migrations_are_valid() {
        assert!(super::migrations().validate().is_ok());
    }
}
