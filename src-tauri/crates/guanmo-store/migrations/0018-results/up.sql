-- Results as a city publishes them: the 评比组 of each township (replicated with the roster),
-- the organiser's 加减分 once per township and the imported routine assessment (平时考核),
-- both kept on the hub only (the ranking lives there).
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.

-- '' = the default from the township's kind (街道 → 街道组, others → 乡镇组).
ALTER TABLE townships ADD COLUMN eval_group TEXT NOT NULL DEFAULT ''
    CHECK (length(eval_group) <= 20);

-- Hub only, never replicated. Removal keeps the row (who, when) so the record stays whole.
CREATE TABLE township_adjustments (
    id              TEXT PRIMARY KEY,
    township_id     TEXT NOT NULL REFERENCES townships (id),
    tenths          INTEGER NOT NULL CHECK (tenths <> 0),
    basis           TEXT NOT NULL CHECK (length(basis) BETWEEN 1 AND 200),
    attachment_hash TEXT,
    created_at      TEXT NOT NULL,
    created_by      TEXT NOT NULL,
    removed_at      TEXT,
    removed_by      TEXT,
    removed_reason  TEXT
) STRICT;

CREATE INDEX township_adjustments_by_township ON township_adjustments (township_id);

-- Hub only: the latest imported routine score of each township, in hundredths (0–100.00).
CREATE TABLE routine_scores (
    township_id TEXT PRIMARY KEY REFERENCES townships (id),
    hundredths  INTEGER NOT NULL CHECK (hundredths BETWEEN 0 AND 10000),
    imported_at TEXT NOT NULL,
    imported_by TEXT NOT NULL
) STRICT;
