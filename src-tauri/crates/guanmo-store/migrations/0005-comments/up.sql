-- Resident comments, moderated first (先审后发), with likes, reports, appeals, mutes, the
-- sensitive-word list and the suggestion follow-up (交办 → 办理中 → 已回复).
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.

CREATE TABLE comments (
    id              TEXT PRIMARY KEY,
    -- a post id, or 'event' for the event as a whole
    target          TEXT NOT NULL CHECK (length(target) BETWEEN 1 AND 36),
    nickname        TEXT NOT NULL CHECK (length(nickname) BETWEEN 1 AND 20),
    kind            TEXT NOT NULL CHECK (kind IN ('praise', 'suggestion', 'other')),
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
                    CHECK (status IN ('pending', 'approved', 'rejected')),
    pinned          INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
    appealed        INTEGER NOT NULL DEFAULT 0 CHECK (appealed IN (0, 1)),
    appeal_reason   TEXT,
    reject_reason   TEXT,
    decided_at      TEXT,
    decided_by      TEXT,
    handling        TEXT CHECK (handling IN ('open', 'in_progress', 'answered')),
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

-- The moderation queue (oldest first) and the public list per target (newest first).
CREATE INDEX comments_by_status ON comments (status, created_at);
CREATE INDEX comments_public ON comments (target, status, pinned, created_at);
-- Repeated identical text from one phone is collapsed.
CREATE INDEX comments_by_client ON comments (client_key, created_at);
CREATE INDEX comments_by_phone ON comments (phone);
CREATE INDEX comments_suggestions ON comments (handling, created_at) WHERE handling IS NOT NULL;

-- One like (点赞) per phone per target.
CREATE TABLE comment_likes (
    target      TEXT NOT NULL,
    client_key  TEXT NOT NULL,
    at          TEXT NOT NULL,
    PRIMARY KEY (target, client_key)
) STRICT, WITHOUT ROWID;

-- 举报: one report per phone per comment; resolved by a moderator's decision.
CREATE TABLE comment_reports (
    id           TEXT PRIMARY KEY,
    comment_id   TEXT NOT NULL REFERENCES comments (id),
    client_key   TEXT NOT NULL,
    reason       TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
    at           TEXT NOT NULL,
    resolved_at  TEXT,
    resolved_by  TEXT,
    UNIQUE (comment_id, client_key)
) STRICT;

CREATE INDEX comment_reports_open ON comment_reports (comment_id) WHERE resolved_at IS NULL;

-- Every moderation decision and setting change: who, when, what, why. Kept at least
-- 180 days (network-log rules); nothing deletes from it.
CREATE TABLE moderation_log (
    id          TEXT PRIMARY KEY,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    comment_id  TEXT REFERENCES comments (id),
    phone       TEXT,
    reason      TEXT,
    detail      TEXT
) STRICT;

CREATE INDEX moderation_log_by_comment ON moderation_log (comment_id, at);
CREATE INDEX moderation_log_by_time ON moderation_log (at);

-- 禁言: a number muted until a time.
CREATE TABLE mutes (
    phone     TEXT PRIMARY KEY CHECK (length(phone) = 11 AND phone NOT GLOB '*[^0-9]*'),
    until     TEXT NOT NULL,
    reason    TEXT NOT NULL,
    at        TEXT NOT NULL,
    by        TEXT NOT NULL
) STRICT;

-- 敏感词库, folded (NFKC, lower case, no invisible characters).
CREATE TABLE sensitive_words (
    word      TEXT PRIMARY KEY CHECK (length(word) BETWEEN 1 AND 50),
    added_at  TEXT NOT NULL,
    added_by  TEXT NOT NULL
) STRICT;
