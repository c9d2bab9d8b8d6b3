-- Residents' phone numbers encrypted at rest on the site host (issue 21). Every table that kept
-- a resident's number as 11 plain digits keeps it sealed instead: XChaCha20-Poly1305 under the
-- data folder's key (`phone.key`), a random 24-byte nonce per value, stored as
-- nonce ‖ ciphertext ‖ tag (51 bytes, in `phone`, now a BLOB). Where the store looks a number
-- up or compares it (a mute, the comments of a muted number, a hiding mute on the public list)
-- it uses the number's keyed BLAKE3 hash (`phone_hash`, 32 bytes) made with the key's second
-- half; the masked form (`phone_masked`, 138****5678) is kept on every row for display.
--   comments        phone sealed, phone_hash, phone_masked now on the site host's rows too
--                   (a replica's row keeps only phone_masked, as before)
--   mutes           keyed by phone_hash (was the number); phone sealed, phone_masked
--   mute_keys       phone_hash (was the number)
--   moderation_log  phone sealed, phone_masked
-- SQL cannot seal: this file rebuilds the four tables (SQLite's table-rebuild procedure, foreign
-- keys off as in 0009) with a random 32-byte stand-in for each distinct number in phone_hash and
-- zero bytes in phone, and lists each number with its stand-in, and each moderation line with its
-- number, in two TEMP tables (memory only: the writer keeps temporary tables in memory). The
-- migration's hook (guanmo_store::migrations, in the same transaction) then seals and hashes
-- every number, replaces the stand-ins and drops the TEMP tables; the store's open makes the
-- connection `secure_delete` and, after this migration, VACUUMs and truncates the WAL so no
-- plain number stays in a free page. Every other column, rule and index is as in 0013, 0014,
-- 0011, 0005 and 0023; a legacy mute keeps its rowid (the key it is listed and lifted by).
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.

CREATE TEMP TABLE phone_numbers_0024 (
    phone        TEXT PRIMARY KEY,
    placeholder  BLOB NOT NULL UNIQUE
);
INSERT INTO temp.phone_numbers_0024 (phone, placeholder)
SELECT phone, randomblob(32) FROM (
    SELECT phone FROM main.comments WHERE phone IS NOT NULL
    UNION SELECT phone FROM main.mutes
    UNION SELECT phone FROM main.mute_keys
    UNION SELECT phone FROM main.moderation_log
        WHERE phone IS NOT NULL AND length(phone) = 11 AND phone NOT GLOB '*[^0-9]*');

CREATE TEMP TABLE phone_lines_0024 (
    id     TEXT PRIMARY KEY,
    phone  TEXT NOT NULL
);
INSERT INTO temp.phone_lines_0024 (id, phone)
SELECT id, phone FROM main.moderation_log
WHERE phone IS NOT NULL AND length(phone) = 11 AND phone NOT GLOB '*[^0-9]*';

CREATE TABLE comments_rebuilt (
    id              TEXT PRIMARY KEY,
    -- a post id, or 'event' for the event as a whole
    target          TEXT NOT NULL CHECK (length(target) BETWEEN 1 AND 36),
    nickname        TEXT NOT NULL CHECK (length(nickname) BETWEEN 1 AND 20),
    kind            TEXT NOT NULL
                    CHECK (kind = 'praise' OR kind = 'suggestion' OR kind = 'other'),
    text            TEXT NOT NULL CHECK (length(text) BETWEEN 2 AND 500),
    township_id     TEXT REFERENCES townships (id),
    -- back-end identity (后台实名), on the site host only, sealed (nonce ‖ ciphertext ‖ tag):
    -- opened only for the full export
    phone           BLOB CHECK (phone IS NULL OR length(phone) = 51),
    -- the number masked (three digits, ****, four digits): every row, the site host's and a
    -- replica's (made where the comment was made)
    phone_masked    TEXT NOT NULL
                    CHECK (phone_masked GLOB '[0-9][0-9][0-9][*][*][*][*][0-9][0-9][0-9][0-9]'),
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
    reply_department TEXT
                    CHECK (reply_department IS NULL OR length(reply_department) BETWEEN 1 AND 30),
    -- the number's keyed hash, site host only: how a mute finds the number's comments
    phone_hash      BLOB CHECK (phone_hash IS NULL OR length(phone_hash) = 32),
    CHECK (pinned = 0 OR status = 'approved'),
    CHECK (status <> 'rejected' OR reject_reason IS NOT NULL),
    CHECK ((kind = 'suggestion') = (handling IS NOT NULL)),
    CHECK (handling IS NOT 'answered' OR reply IS NOT NULL),
    CHECK (handling IS NOT 'in_progress' OR assigned_to IS NOT NULL),
    -- the site host's row (number sealed and hashed, key, peer) or a replica (none of them)
    CHECK ((phone IS NULL) = (phone_hash IS NULL) AND (phone IS NULL) = (client_key IS NULL)
        AND (phone IS NULL) = (peer IS NULL))
) STRICT;

INSERT INTO comments_rebuilt (
    id, target, nickname, kind, text, township_id, phone, phone_masked, phone_verified,
    client_key, peer, flagged_words, status, pinned, appealed, appeal_reason, reject_reason,
    decided_at, decided_by, handling, assigned_to, assigned_at, assigned_by, reply, replied_at,
    replied_by, created_at, version, reply_department, phone_hash)
SELECT
    c.id, c.target, c.nickname, c.kind, c.text, c.township_id,
    CASE WHEN c.phone IS NULL THEN NULL ELSE zeroblob(51) END,
    COALESCE(c.phone_masked, substr(c.phone, 1, 3) || '****' || substr(c.phone, 8, 4)),
    c.phone_verified, c.client_key, c.peer, c.flagged_words, c.status, c.pinned, c.appealed,
    c.appeal_reason, c.reject_reason, c.decided_at, c.decided_by, c.handling, c.assigned_to,
    c.assigned_at, c.assigned_by, c.reply, c.replied_at, c.replied_by, c.created_at, c.version,
    c.reply_department, n.placeholder
FROM main.comments c LEFT JOIN temp.phone_numbers_0024 n ON n.phone = c.phone;
DROP TABLE main.comments;
ALTER TABLE comments_rebuilt RENAME TO comments;

-- The indexes of 0013, unchanged (still none by number: see 0007).
CREATE INDEX comments_by_status ON comments (status, created_at);
CREATE INDEX comments_public ON comments (target, status, pinned, created_at);
CREATE INDEX comments_by_client ON comments (client_key, created_at);
CREATE INDEX comments_suggestions ON comments (handling, created_at) WHERE handling IS NOT NULL;

-- 禁言 of a number: keyed by its hash.
CREATE TABLE mutes_rebuilt (
    phone_hash     BLOB PRIMARY KEY CHECK (length(phone_hash) = 32),
    phone          BLOB NOT NULL CHECK (length(phone) = 51),
    phone_masked   TEXT NOT NULL
                   CHECK (phone_masked GLOB '[0-9][0-9][0-9][*][*][*][*][0-9][0-9][0-9][0-9]'),
    until          TEXT NOT NULL,
    reason         TEXT NOT NULL,
    at             TEXT NOT NULL,
    by             TEXT NOT NULL,
    hide_comments  INTEGER NOT NULL DEFAULT 0 CHECK (hide_comments IN (0, 1)),
    -- the comment the mute was made from (NULL for mutes from before it replicated)
    comment_id     TEXT
) STRICT;

INSERT INTO mutes_rebuilt (rowid, phone_hash, phone, phone_masked, until, reason, at, by,
    hide_comments, comment_id)
SELECT m.rowid, n.placeholder, zeroblob(51),
    substr(m.phone, 1, 3) || '****' || substr(m.phone, 8, 4), m.until, m.reason, m.at, m.by,
    m.hide_comments, m.comment_id
FROM main.mutes m JOIN temp.phone_numbers_0024 n ON n.phone = m.phone;

-- The phone keys a mute holds (0011).
CREATE TABLE mute_keys_rebuilt (
    client_key  TEXT NOT NULL,
    phone_hash  BLOB NOT NULL REFERENCES mutes_rebuilt (phone_hash) ON DELETE CASCADE,
    PRIMARY KEY (client_key, phone_hash)
) STRICT, WITHOUT ROWID;

INSERT INTO mute_keys_rebuilt (client_key, phone_hash)
SELECT k.client_key, n.placeholder
FROM main.mute_keys k JOIN temp.phone_numbers_0024 n ON n.phone = k.phone;

DROP TABLE main.mute_keys;
DROP TABLE main.mutes;
-- Renaming mutes_rebuilt also points mute_keys_rebuilt's reference at `mutes`.
ALTER TABLE mutes_rebuilt RENAME TO mutes;
ALTER TABLE mute_keys_rebuilt RENAME TO mute_keys;

CREATE INDEX mutes_by_comment ON mutes (comment_id) WHERE comment_id IS NOT NULL;
CREATE INDEX mute_keys_by_phone ON mute_keys (phone_hash);

-- The moderation record (0005): a line's number sealed, with its masked form.
CREATE TABLE moderation_log_rebuilt (
    id            TEXT PRIMARY KEY,
    at            TEXT NOT NULL,
    actor         TEXT NOT NULL,
    action        TEXT NOT NULL,
    comment_id    TEXT REFERENCES comments (id),
    phone         BLOB CHECK (phone IS NULL OR length(phone) = 51),
    reason        TEXT,
    detail        TEXT,
    phone_masked  TEXT
                  CHECK (phone_masked IS NULL
                         OR phone_masked GLOB '[0-9][0-9][0-9][*][*][*][*][0-9][0-9][0-9][0-9]'),
    CHECK ((phone IS NULL) = (phone_masked IS NULL))
) STRICT;

INSERT INTO moderation_log_rebuilt (id, at, actor, action, comment_id, phone, reason, detail,
    phone_masked)
SELECT l.id, l.at, l.actor, l.action, l.comment_id,
    CASE WHEN p.id IS NULL THEN NULL ELSE zeroblob(51) END, l.reason, l.detail,
    CASE WHEN p.id IS NULL THEN NULL
        ELSE substr(l.phone, 1, 3) || '****' || substr(l.phone, 8, 4) END
FROM main.moderation_log l LEFT JOIN temp.phone_lines_0024 p ON p.id = l.id;
DROP TABLE main.moderation_log;
ALTER TABLE moderation_log_rebuilt RENAME TO moderation_log;

CREATE INDEX moderation_log_by_comment ON moderation_log (comment_id, at);
CREATE INDEX moderation_log_by_time ON moderation_log (at);
