-- Guanmo initial schema: device identity, roster, rubric, and the change log.
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE townships (
    id           TEXT PRIMARY KEY,
    code         TEXT NOT NULL UNIQUE
                 CHECK (length(code) = 12 AND code NOT GLOB '*[^0-9]*'),
    name         TEXT NOT NULL UNIQUE CHECK (length(name) > 0),
    kind         TEXT NOT NULL
                 CHECK (kind IN ('subdistrict', 'town', 'township', 'ethnic_township')),
    enabled      INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    position     INTEGER NOT NULL,
    day          INTEGER CHECK (day IN (1, 2)),
    arrival      TEXT CHECK (arrival IS NULL OR arrival GLOB '[0-2][0-9]:[0-5][0-9]'),
    slot_minutes INTEGER CHECK (slot_minutes IS NULL OR slot_minutes BETWEEN 5 AND 480),
    note         TEXT NOT NULL DEFAULT '',
    version      INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;

CREATE INDEX townships_by_position ON townships (position);

-- One rubric per tour. Items are retired, never deleted, so score rows that reference
-- them keep their meaning.
CREATE TABLE rubric (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    title        TEXT NOT NULL,
    total_tenths INTEGER NOT NULL CHECK (total_tenths > 0),
    version      INTEGER NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;

CREATE TABLE rubric_categories (
    id         TEXT PRIMARY KEY,
    position   INTEGER NOT NULL,
    name       TEXT NOT NULL,
    max_tenths INTEGER NOT NULL CHECK (max_tenths > 0),
    retired    INTEGER NOT NULL DEFAULT 0 CHECK (retired IN (0, 1))
) STRICT;

CREATE TABLE rubric_criteria (
    id          TEXT PRIMARY KEY,
    category_id TEXT NOT NULL REFERENCES rubric_categories (id),
    position    INTEGER NOT NULL,
    name        TEXT NOT NULL,
    max_tenths  INTEGER NOT NULL CHECK (max_tenths > 0),
    guidance    TEXT NOT NULL DEFAULT '',
    retired     INTEGER NOT NULL DEFAULT 0 CHECK (retired IN (0, 1))
) STRICT;

CREATE INDEX rubric_criteria_by_category ON rubric_criteria (category_id, position);

CREATE TABLE rubric_adjustments (
    id           TEXT PRIMARY KEY,
    position     INTEGER NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('bonus', 'penalty')),
    limit_tenths INTEGER NOT NULL CHECK (limit_tenths > 0),
    guidance     TEXT NOT NULL DEFAULT '',
    retired      INTEGER NOT NULL DEFAULT 0 CHECK (retired IN (0, 1))
) STRICT;

-- Every write transaction appends here; live refresh, the resident stream and sync read it.
CREATE TABLE changes (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    device_id TEXT NOT NULL,
    actor     TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    op        TEXT NOT NULL,
    payload   TEXT NOT NULL CHECK (json_valid(payload))
) STRICT;

CREATE INDEX changes_by_entity ON changes (entity, entity_id);
