-- 禁言 replicates (issue 17): a mute made on a granted moderator's laptop reaches the hub as a
-- `comment_mute` record keyed by the comment whose author is muted (a laptop knows only the
-- masked number and no phone key). The hub resolves the author's number and phone keys from its
-- own comment row and keeps the mute in `mutes` as before, now naming the comment it was made
-- from. A device that has only a replica of the comment keeps the mute in `mute_replicas`:
-- the masked number, never the full one or a phone key.
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.

-- The comment a mute was made from (NULL for mutes from before it replicated).
ALTER TABLE mutes ADD COLUMN comment_id TEXT;

CREATE INDEX mutes_by_comment ON mutes (comment_id) WHERE comment_id IS NOT NULL;

-- Mutes as a replica knows them: one a comment, the author's number masked.
CREATE TABLE mute_replicas (
    comment_id     TEXT PRIMARY KEY,
    phone_masked   TEXT NOT NULL
                   CHECK (phone_masked GLOB '[0-9][0-9][0-9][*][*][*][*][0-9][0-9][0-9][0-9]'),
    until          TEXT NOT NULL,
    reason         TEXT NOT NULL,
    hide_comments  INTEGER NOT NULL DEFAULT 0 CHECK (hide_comments IN (0, 1)),
    at             TEXT NOT NULL,
    by             TEXT NOT NULL
) STRICT;
