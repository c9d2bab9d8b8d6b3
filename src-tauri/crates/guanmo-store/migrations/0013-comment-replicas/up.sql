-- Comments replicate between the hub and laptops (issue 17): the device that runs the resident
-- site (the hub, or a media laptop's LAN site) keeps each comment with its author's full number
-- and phone key, as before; every other device keeps a replica that carries only the masked
-- number (138****5678) and neither the phone key nor the peer address. One table holds both, so
-- the moderation queue, the public list and the export read one place; a row is either the
-- site host's (phone, client_key and peer set, phone_masked NULL) or a replica (phone_masked
-- set, the other three NULL), never both. Same columns and rules as 0009 otherwise; the CHECKs
-- again avoid `IN (a, b, c)` (see 0009). Runs with foreign keys off, as 0009 did.
-- Also: the 审核 (moderator) grants the hub gives laptops, replicated so a laptop knows it holds one.
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.

CREATE TABLE comments_rebuilt (
    id              TEXT PRIMARY KEY,
    -- a post id, or 'event' for the event as a whole
    target          TEXT NOT NULL CHECK (length(target) BETWEEN 1 AND 36),
    nickname        TEXT NOT NULL CHECK (length(nickname) BETWEEN 1 AND 20),
    kind            TEXT NOT NULL
                    CHECK (kind = 'praise' OR kind = 'suggestion' OR kind = 'other'),
    text            TEXT NOT NULL CHECK (length(text) BETWEEN 2 AND 500),
    township_id     TEXT REFERENCES townships (id),
    -- back-end identity (后台实名), on the site host only: never leaves it unmasked except in
    -- the full export
    phone           TEXT CHECK (phone IS NULL
                                OR (length(phone) = 11 AND phone NOT GLOB '*[^0-9]*')),
    -- a replica's number, masked where the comment was made: three digits, ****, four digits
    phone_masked    TEXT CHECK (phone_masked IS NULL
                                OR phone_masked GLOB '[0-9][0-9][0-9][*][*][*][*][0-9][0-9][0-9][0-9]'),
    phone_verified  INTEGER NOT NULL DEFAULT 0 CHECK (phone_verified IN (0, 1)),
    -- the phone's cookie (hashed) and peer address, for likes, appeals and rate limits; site
    -- host only
    client_key      TEXT,
    peer            TEXT,
    -- sensitive words hit at submission, JSON array of strings
    flagged_words   TEXT NOT NULL DEFAULT '[]',
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status = 'pending' OR status = 'approved' OR status = 'rejected'),
    pinned          INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
    appealed        INTEGER NOT NULL DEFAULT 0 CHECK (appealed IN (0, 1)),
    appeal_reason   TEXT,
    reject_reason   TEXT,
    decided_at      TEXT,
    decided_by      TEXT,
    handling        TEXT CHECK (handling IS NULL OR handling = 'open'
                                OR handling = 'in_progress' OR handling = 'answered'),
    assigned_to     TEXT REFERENCES townships (id),
    assigned_at     TEXT,
    assigned_by     TEXT,
    reply           TEXT CHECK (reply IS NULL OR length(reply) BETWEEN 1 AND 2000),
    replied_at      TEXT,
    replied_by      TEXT,
    created_at      TEXT NOT NULL,
    version         INTEGER NOT NULL DEFAULT 1,
    CHECK (pinned = 0 OR status = 'approved'),
    CHECK (status <> 'rejected' OR reject_reason IS NOT NULL),
    CHECK ((kind = 'suggestion') = (handling IS NOT NULL)),
    CHECK (handling IS NOT 'answered' OR reply IS NOT NULL),
    CHECK (handling IS NOT 'in_progress' OR assigned_to IS NOT NULL),
    -- the site host's row or a replica, never both, never neither
    CHECK ((phone IS NULL) <> (phone_masked IS NULL)),
    CHECK ((phone IS NULL) = (client_key IS NULL) AND (phone IS NULL) = (peer IS NULL))
) STRICT;

INSERT INTO comments_rebuilt (
    id, target, nickname, kind, text, township_id, phone, phone_verified, client_key, peer,
    flagged_words, status, pinned, appealed, appeal_reason, reject_reason, decided_at, decided_by,
    handling, assigned_to, assigned_at, assigned_by, reply, replied_at, replied_by, created_at,
    version)
SELECT
    id, target, nickname, kind, text, township_id, phone, phone_verified, client_key, peer,
    flagged_words, status, pinned, appealed, appeal_reason, reject_reason, decided_at, decided_by,
    handling, assigned_to, assigned_at, assigned_by, reply, replied_at, replied_by, created_at,
    version
FROM comments;
DROP TABLE comments;
ALTER TABLE comments_rebuilt RENAME TO comments;

-- The indexes of 0009, unchanged.
CREATE INDEX comments_by_status ON comments (status, created_at);
CREATE INDEX comments_public ON comments (target, status, pinned, created_at);
CREATE INDEX comments_by_client ON comments (client_key, created_at);
CREATE INDEX comments_suggestions ON comments (handling, created_at) WHERE handling IS NOT NULL;

-- 审核 (moderator) grants: which laptops the hub lets decide on comments. Written only by the
-- hub and replicated (one record per device), so a laptop learns it holds the role; revoking
-- keeps the row with granted = 0. The hub reads its own rows when it judges a decision.
CREATE TABLE moderators (
    device_id  TEXT PRIMARY KEY,
    granted    INTEGER NOT NULL CHECK (granted IN (0, 1)),
    at         TEXT NOT NULL,
    by         TEXT NOT NULL
) STRICT;
