-- Comment ingest speed. SQLite evaluates `x IN (a, b, c)` (three or more constants) by building
-- a temporary b-tree of the list each time the statement runs; written as a CHECK or a partial
-- index's WHERE, that is once per inserted row. Measured under load, the three such CHECKs of
-- `comments` and the WHERE of `changes_public_comment` cost every resident comment about 4 µs
-- each. The same rules, written with `=` and `OR`, are compared in place. Nothing else changes:
-- same columns, same rules, same indexes. Runs with foreign keys off (the store's migration
-- runner turns them off and checks them afterwards), as SQLite's table-rebuild procedure asks.
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
    -- back-end identity (后台实名): never leaves the app unmasked except in the full export
    phone           TEXT NOT NULL CHECK (length(phone) = 11 AND phone NOT GLOB '*[^0-9]*'),
    phone_verified  INTEGER NOT NULL DEFAULT 0 CHECK (phone_verified IN (0, 1)),
    -- the phone's cookie (hashed) and peer address, for likes, appeals and rate limits
    client_key      TEXT NOT NULL,
    peer            TEXT NOT NULL,
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
    CHECK (handling IS NOT 'in_progress' OR assigned_to IS NOT NULL)
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

-- The indexes of 0005 (less comments_by_phone, dropped by 0007), unchanged.
CREATE INDEX comments_by_status ON comments (status, created_at);
CREATE INDEX comments_public ON comments (target, status, pinned, created_at);
CREATE INDEX comments_by_client ON comments (client_key, created_at);
CREATE INDEX comments_suggestions ON comments (handling, created_at) WHERE handling IS NOT NULL;

-- The comments' public version (0006), the same rows. Its WHERE must match
-- guanmo_store::comments::PUBLIC_SEQ_SQL exactly for SQLite to use it.
DROP INDEX changes_public_comment;
CREATE INDEX changes_public_comment ON changes (seq)
    WHERE entity = 'comment' AND (op = 'approve' OR op = 'reject' OR op = 'pin'
        OR op = 'unpin' OR op = 'reply' OR op = 'area');
