-- Scoring follows the tour's schedule: a township's manual state may now be 'auto' (按日程),
-- set when the organiser hands a township back to the schedule. The state is replicated as
-- the one head row of its aggregate, which the op log never deletes, so "back to schedule"
-- is a value, not a missing row. SQLite cannot alter a CHECK constraint: the table is
-- rebuilt with the same columns in the same order (the canonical dump and the op log read
-- them by name and position) and its rows copied. Nothing references township_scoring.

CREATE TABLE township_scoring_0019 (
    township_id TEXT PRIMARY KEY REFERENCES townships (id),
    state       TEXT NOT NULL CHECK (state IN ('open', 'closed', 'auto')),
    opened_at   TEXT,
    closed_at   TEXT
) STRICT;

INSERT INTO township_scoring_0019 (township_id, state, opened_at, closed_at)
SELECT township_id, state, opened_at, closed_at FROM township_scoring;

DROP TABLE township_scoring;

ALTER TABLE township_scoring_0019 RENAME TO township_scoring;
