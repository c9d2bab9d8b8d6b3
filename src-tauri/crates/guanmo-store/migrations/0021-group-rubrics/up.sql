-- A 评比组 may have its own rubric (街道组 without 村集体经济, say); a group without one uses
-- the shared rubric, id 1 with an empty group. Items belong to one rubric; marks keep
-- pointing at items by id, so a sheet's criteria are those of its township's rubric.
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.

CREATE TABLE rubric_new (
    id            INTEGER PRIMARY KEY CHECK (id >= 1),
    eval_group    TEXT NOT NULL DEFAULT '' CHECK (length(eval_group) <= 20),
    title         TEXT NOT NULL,
    total_tenths  INTEGER NOT NULL CHECK (total_tenths > 0),
    version       INTEGER NOT NULL,
    updated_at    TEXT NOT NULL,
    change_reason TEXT NOT NULL DEFAULT '',
    -- The shared rubric is id 1 and only it has no group.
    CHECK ((id = 1) = (eval_group = ''))
) STRICT;

INSERT INTO rubric_new (id, eval_group, title, total_tenths, version, updated_at, change_reason)
SELECT id, '', title, total_tenths, version, updated_at, change_reason FROM rubric;

DROP TABLE rubric;
ALTER TABLE rubric_new RENAME TO rubric;

CREATE UNIQUE INDEX rubric_by_group ON rubric (eval_group);

ALTER TABLE rubric_categories ADD COLUMN rubric_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE rubric_adjustments ADD COLUMN rubric_id INTEGER NOT NULL DEFAULT 1;

CREATE INDEX rubric_categories_by_rubric ON rubric_categories (rubric_id, position);
CREATE INDEX rubric_adjustments_by_rubric ON rubric_adjustments (rubric_id, position);
