-- Scoring: scorers, per-township scoring state, score sheets with their marks, and the
-- score audit log (every change: who, where, when, old -> new, and the unlock reason).

CREATE TABLE scorers (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL CHECK (length(name) > 0),
    grp         TEXT NOT NULL CHECK (length(grp) > 0),
    township_id TEXT REFERENCES townships (id),
    active      INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT;

CREATE TABLE township_scoring (
    township_id TEXT PRIMARY KEY REFERENCES townships (id),
    state       TEXT NOT NULL CHECK (state IN ('open', 'closed')),
    opened_at   TEXT,
    closed_at   TEXT
) STRICT;

CREATE TABLE sheets (
    id            TEXT PRIMARY KEY,
    scorer_id     TEXT NOT NULL REFERENCES scorers (id),
    township_id   TEXT NOT NULL REFERENCES townships (id),
    status        TEXT NOT NULL CHECK (status IN ('draft', 'submitted')),
    comment       TEXT NOT NULL DEFAULT '',
    submitted_at  TEXT,
    unlock_reason TEXT,
    version       INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    UNIQUE (scorer_id, township_id)
) STRICT;

CREATE INDEX sheets_by_township ON sheets (township_id, status);

CREATE TABLE marks (
    sheet_id     TEXT NOT NULL REFERENCES sheets (id),
    criterion_id TEXT NOT NULL REFERENCES rubric_criteria (id),
    tenths       INTEGER CHECK (tenths IS NULL OR tenths >= 0),
    note         TEXT NOT NULL DEFAULT '',
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (sheet_id, criterion_id)
) STRICT;

CREATE TABLE adjustment_marks (
    sheet_id      TEXT NOT NULL REFERENCES sheets (id),
    adjustment_id TEXT NOT NULL REFERENCES rubric_adjustments (id),
    tenths        INTEGER CHECK (tenths IS NULL OR tenths >= 0),
    note          TEXT NOT NULL DEFAULT '',
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (sheet_id, adjustment_id)
) STRICT;

CREATE TABLE score_audit (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at          TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    actor       TEXT NOT NULL,
    scorer_id   TEXT NOT NULL,
    sheet_id    TEXT NOT NULL REFERENCES sheets (id),
    township_id TEXT NOT NULL,
    item_kind   TEXT NOT NULL
                CHECK (item_kind IN ('criterion', 'adjustment', 'comment', 'submit', 'unlock')),
    item_id     TEXT,
    old_value   TEXT,
    new_value   TEXT,
    reason      TEXT
) STRICT;

CREATE INDEX score_audit_by_sheet ON score_audit (sheet_id, seq);
