-- 官方回复: a moderator answers any approved comment, not only a suggestion handed over; the
-- reply (comments.reply, replied_at, replied_by) shows under it marked 官方回复 with the
-- department that answers. A suggestion's reply keeps its township (assigned_to) instead.
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.

ALTER TABLE comments ADD COLUMN reply_department TEXT
    CHECK (reply_department IS NULL OR length(reply_department) BETWEEN 1 AND 30);

-- A 官方回复 changes the public page: the comments' public version (0006, 0009) counts it. Its
-- WHERE must match guanmo_store::comments::PUBLIC_SEQ_SQL exactly for SQLite to use it.
DROP INDEX changes_public_comment;
CREATE INDEX changes_public_comment ON changes (seq)
    WHERE entity = 'comment' AND (op = 'approve' OR op = 'reject' OR op = 'pin'
        OR op = 'unpin' OR op = 'reply' OR op = 'official_reply' OR op = 'area');
