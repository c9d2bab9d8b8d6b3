-- Paper score sheets entered twice (双人录入), kept on the hub only (no sync operations).
-- `paper_sheets`: one row per scorer × township that has paper entries: the scan of the paper
-- (a photo hash) and, once both entries agreed, the score sheet they made.
-- `paper_entries`: one 计分员's entry of the sheet (round 1 or 2); points are JSON objects
-- {"<item id>": tenths}. A discarded entry stays, with who discarded it and why; at most one
-- live entry per round.

CREATE TABLE paper_sheets (
    scorer_id    TEXT NOT NULL REFERENCES scorers (id),
    township_id  TEXT NOT NULL REFERENCES townships (id),
    scan_hash    TEXT REFERENCES photos (hash),
    sheet_id     TEXT REFERENCES sheets (id),
    committed_at TEXT,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (scorer_id, township_id)
) STRICT;

CREATE TABLE paper_entries (
    id              TEXT PRIMARY KEY,
    scorer_id       TEXT NOT NULL,
    township_id     TEXT NOT NULL,
    round           INTEGER NOT NULL CHECK (round IN (1, 2)),
    clerk_person_id TEXT NOT NULL,
    marks           TEXT NOT NULL CHECK (json_valid(marks)),
    adjustments     TEXT NOT NULL CHECK (json_valid(adjustments)),
    comment         TEXT NOT NULL DEFAULT '',
    rubric_version  INTEGER NOT NULL,
    settled_by      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    discarded_at    TEXT,
    discarded_by    TEXT,
    discard_reason  TEXT,
    FOREIGN KEY (scorer_id, township_id) REFERENCES paper_sheets (scorer_id, township_id),
    CHECK ((discarded_at IS NULL) = (discard_reason IS NULL))
) STRICT;

CREATE UNIQUE INDEX paper_entries_live ON paper_entries (scorer_id, township_id, round)
    WHERE discarded_at IS NULL;
