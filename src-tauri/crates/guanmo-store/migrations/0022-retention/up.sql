-- Retention of residents' comment data (issue 21): after the period the notice promises (at
-- least 180 days after the event ends) comments, reports, appeals, mutes, the phone keys of
-- likes and every stored phone number are purged, in batches, after the 评论记录 export was
-- written to the data folder. One row per purge run: who, when, which export it wrote first,
-- and what each batch removed, counted in the same transaction as the batch's deletes, so the
-- counts are exact even when the run was killed midway (`finished_at` stays NULL then; the
-- next run continues with what is left, under a row of its own).
-- The retention period itself is hub-local, in `meta` (`comment_retention_days`), never synced.
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.

CREATE TABLE retention_purges (
    id               TEXT PRIMARY KEY,
    started_at       TEXT NOT NULL,
    finished_at      TEXT,
    actor            TEXT NOT NULL,
    -- 'manual' (立即清理) or 'auto' (the site host's daily check)
    trigger          TEXT NOT NULL CHECK (trigger = 'manual' OR trigger = 'auto'),
    -- records whose last activity is before this (RFC 3339, UTC) were purged
    cutoff           TEXT NOT NULL,
    -- the 评论记录 export written (and fsynced) before anything was deleted, relative to the
    -- data folder
    export_file      TEXT NOT NULL,
    batches          INTEGER NOT NULL DEFAULT 0 CHECK (batches >= 0),
    comments         INTEGER NOT NULL DEFAULT 0 CHECK (comments >= 0),
    reports          INTEGER NOT NULL DEFAULT 0 CHECK (reports >= 0),
    report_closings  INTEGER NOT NULL DEFAULT 0 CHECK (report_closings >= 0),
    log_lines        INTEGER NOT NULL DEFAULT 0 CHECK (log_lines >= 0),
    mutes            INTEGER NOT NULL DEFAULT 0 CHECK (mutes >= 0),
    mute_keys        INTEGER NOT NULL DEFAULT 0 CHECK (mute_keys >= 0),
    mute_replicas    INTEGER NOT NULL DEFAULT 0 CHECK (mute_replicas >= 0),
    -- likes whose phone key was dropped (the like still counts, anonymously)
    likes            INTEGER NOT NULL DEFAULT 0 CHECK (likes >= 0),
    -- sync operations of purged records turned into stand-ins (number and clock only)
    ops              INTEGER NOT NULL DEFAULT 0 CHECK (ops >= 0)
) STRICT;

CREATE INDEX retention_purges_by_time ON retention_purges (started_at);
