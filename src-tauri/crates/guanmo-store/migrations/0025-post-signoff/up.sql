-- Sign-off of live-feed posts (审核流程, 三审). Each step (提交审核, 通过, 退回, 紧急发布) is a
-- record made once and replicated (op kind `post_step`); a post's stage is folded from its
-- steps on every replica (`guanmo_domain::feed::signoff::fold`) into `post_signoff`, which is
-- never sent: each replica computes the same from the same steps.
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.

CREATE TABLE post_steps (
    id           TEXT PRIMARY KEY,
    post_id      TEXT NOT NULL REFERENCES posts (id),
    action       TEXT NOT NULL CHECK (action IN ('submit', 'approve', 'return', 'fast_track')),
    level        INTEGER NOT NULL CHECK (level BETWEEN 1 AND 3),
    levels       INTEGER NOT NULL CHECK (levels BETWEEN 1 AND 3),
    after_step   TEXT,
    post_version INTEGER NOT NULL,
    person_id    TEXT NOT NULL,
    person_name  TEXT NOT NULL CHECK (length(person_name) BETWEEN 1 AND 40),
    device_id    TEXT NOT NULL,
    at           TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '' CHECK (length(reason) <= 200),
    -- Levels a 紧急发布 skipped, e.g. `1,2`.
    skipped      TEXT NOT NULL DEFAULT '',
    -- The hybrid clock of the step's operation, stamped where it is made or applied.
    hlc          TEXT
) STRICT;

CREATE INDEX post_steps_by_post ON post_steps (post_id);

-- This laptop's own steps the hub refused (someone acted first): left out of the fold here.
CREATE TABLE post_step_voids (
    step_id TEXT PRIMARY KEY,
    at      TEXT NOT NULL
) STRICT;

-- Each post's folded sign-off; a post without a row never entered sign-off.
CREATE TABLE post_signoff (
    post_id         TEXT PRIMARY KEY REFERENCES posts (id),
    stage           TEXT NOT NULL CHECK (stage IN ('draft', 'pending', 'published')),
    levels_done     INTEGER NOT NULL,
    head            TEXT,
    editor_name     TEXT,
    approver_name   TEXT,
    returned_reason TEXT,
    published_by    TEXT
) STRICT;
