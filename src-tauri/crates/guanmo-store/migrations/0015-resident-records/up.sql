-- Reports (举报), appeals (申诉) and like counts replicate (issue 17). A report is made once, by
-- the device whose resident site took it (the hub, or a media laptop's LAN site), and travels
-- without the phone key: a replica's row has none (`client_key` NULL). Which decisions close a
-- report is decided by hybrid clock, the same on every replica whatever order things arrive in:
-- a report is closed by the earliest decision on its comment (通过, 不通过, 保留) stamped after
-- it; `hlc` is the report's operation's stamp, `resolved_hlc` the closing decision's, and
-- `report_closings` keeps every applied closing decision so a report that arrives after it finds
-- it. Likes stay per phone on the site that took them (`comment_likes`); each site replicates
-- only its count per target (`like_site_counts`, one row per other site), never who liked.
-- Same columns and rules as 0005 otherwise. Runs with foreign keys off, as 0009 did.
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.

CREATE TABLE comment_reports_rebuilt (
    id            TEXT PRIMARY KEY,
    comment_id    TEXT NOT NULL REFERENCES comments (id),
    -- the phone's cookie (hashed), on the site that took the report only
    client_key    TEXT,
    reason        TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
    at            TEXT NOT NULL,
    resolved_at   TEXT,
    resolved_by   TEXT,
    -- the hybrid clock of the report's operation (NULL: not replicated)
    hlc           TEXT,
    -- the hybrid clock of the decision that closed it (NULL: open, or closed before 0015)
    resolved_hlc  TEXT,
    UNIQUE (comment_id, client_key)
) STRICT;

INSERT INTO comment_reports_rebuilt (id, comment_id, client_key, reason, at, resolved_at,
    resolved_by)
SELECT id, comment_id, client_key, reason, at, resolved_at, resolved_by FROM comment_reports;
DROP TABLE comment_reports;
ALTER TABLE comment_reports_rebuilt RENAME TO comment_reports;

CREATE INDEX comment_reports_open ON comment_reports (comment_id) WHERE resolved_at IS NULL;
CREATE INDEX comment_reports_by_comment ON comment_reports (comment_id, hlc);

-- Decisions that closed a comment's reports: by hybrid clock, with who and when.
CREATE TABLE report_closings (
    comment_id  TEXT NOT NULL REFERENCES comments (id),
    hlc         TEXT NOT NULL,
    at          TEXT NOT NULL,
    by          TEXT NOT NULL,
    PRIMARY KEY (comment_id, hlc)
) STRICT, WITHOUT ROWID;

-- Other sites' like counts per target (a post id or 'event'), as each site last sent them.
CREATE TABLE like_site_counts (
    site    TEXT NOT NULL,
    target  TEXT NOT NULL CHECK (length(target) BETWEEN 1 AND 36),
    count   INTEGER NOT NULL CHECK (count >= 0),
    at      TEXT NOT NULL,
    PRIMARY KEY (site, target)
) STRICT, WITHOUT ROWID;
