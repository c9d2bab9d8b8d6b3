-- Photos: one row per distinct original (content hash), with the evidence metadata read from
-- it (visible only inside the app), and photos attached to a criterion on a score sheet.

CREATE TABLE photos (
    hash           TEXT PRIMARY KEY CHECK (length(hash) = 64 AND hash NOT GLOB '*[^0-9a-f]*'),
    file_name      TEXT NOT NULL,
    width          INTEGER NOT NULL,
    height         INTEGER NOT NULL,
    format         TEXT NOT NULL CHECK (format IN ('jpeg', 'png', 'webp')),
    taken_at       TEXT,
    camera         TEXT,
    gps_lat        REAL,
    gps_lon        REAL,
    original_bytes INTEGER NOT NULL,
    imported_at    TEXT NOT NULL
) STRICT;

CREATE INDEX photos_by_import ON photos (imported_at);

CREATE TABLE sheet_evidence (
    sheet_id     TEXT NOT NULL REFERENCES sheets (id),
    criterion_id TEXT NOT NULL REFERENCES rubric_criteria (id),
    hash         TEXT NOT NULL REFERENCES photos (hash),
    attached_at  TEXT NOT NULL,
    PRIMARY KEY (sheet_id, criterion_id, hash)
) STRICT;
