-- People (人员) and who is at the keyboard; the rubric's version reasons; the sealed tally and
-- its reveal (揭晓).
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.

-- Everyone taking part, kept by the organiser and replicated from the hub. A 评分人 is tied to
-- the scorer whose sheets they fill. No PIN here: PINs are per device (person_pins).
CREATE TABLE people (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 40),
    work_unit  TEXT NOT NULL DEFAULT '' CHECK (length(work_unit) <= 40),
    title      TEXT NOT NULL DEFAULT '' CHECK (length(title) <= 40),
    -- JSON array of role names (organiser, scorer, monitor, counter, editor, moderator, liaison)
    roles      TEXT NOT NULL CHECK (json_valid(roles) AND json_type(roles) = 'array'),
    scorer_id  TEXT REFERENCES scorers (id),
    active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    version    INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
) STRICT;

CREATE UNIQUE INDEX people_by_scorer ON people (scorer_id) WHERE scorer_id IS NOT NULL;

-- 未指定: every record made before people were kept, or with no one signed in.
INSERT INTO people (id, name, roles, active, created_at, updated_at)
VALUES ('00000000-0000-0000-0000-000000000000', '未指定', '[]', 0,
        strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));

-- One-time sign-in codes the hub issues for a person to set a PIN on a laptop: argon2 hashes,
-- replicated with the person; a code is good once per device and until it expires.
CREATE TABLE person_codes (
    person_id  TEXT PRIMARY KEY REFERENCES people (id),
    code_hash  TEXT NOT NULL,
    issued_at  TEXT NOT NULL,
    expires_at TEXT NOT NULL
) STRICT;

-- This device only (never replicated): each person's PIN as an argon2id hash, and the wrong
-- tries that lock a sign-in for a while.
CREATE TABLE person_pins (
    person_id    TEXT PRIMARY KEY REFERENCES people (id),
    pin_hash     TEXT NOT NULL,
    set_at       TEXT NOT NULL,
    failures     INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT
) STRICT;

-- This device only: sign-ins, wrong PINs, locks and sign-outs, for the organiser and 纪委.
CREATE TABLE sign_in_log (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    at        TEXT NOT NULL,
    person_id TEXT NOT NULL,
    event     TEXT NOT NULL CHECK (event IN ('signed_in', 'wrong_pin', 'locked', 'refused_locked',
                                             'signed_out', 'idle_lock', 'pin_set', 'code_used',
                                             'wrong_code')),
    detail    TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX sign_in_log_by_person ON sign_in_log (person_id, seq);

-- The score audit names the person as well as the device; earlier rows are 未指定's.
ALTER TABLE score_audit ADD COLUMN person_id TEXT NOT NULL
    DEFAULT '00000000-0000-0000-0000-000000000000';

-- Why the rubric changed once scoring had begun (a new version with a reason, never silent).
ALTER TABLE rubric ADD COLUMN change_reason TEXT NOT NULL DEFAULT '';

-- The hub's sealed tally (封存) and its reveal (揭晓): the canonical tally as sealed, its
-- SHA-256, who sealed and revealed it. A seal whose tally no longer matches is void.
CREATE TABLE tally_seals (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    sealed_at     TEXT NOT NULL,
    sealed_by     TEXT NOT NULL,
    digest        TEXT NOT NULL CHECK (length(digest) = 64),
    tally         TEXT NOT NULL CHECK (json_valid(tally)),
    close_reason  TEXT NOT NULL DEFAULT '',
    revealed_at   TEXT,
    revealed_by   TEXT
) STRICT;
