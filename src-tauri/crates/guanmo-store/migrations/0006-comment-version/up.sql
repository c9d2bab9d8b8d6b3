-- The comments' public version (newest approval, takedown, pin, reply or area switch) is read
-- after every commit that touches comments and on every comment list request. Without this
-- partial index that read scanned every submitted comment's change row while none was
-- approved yet (100+ ms at 200k comments). Its WHERE must match
-- guanmo_store::comments::public_seq exactly for SQLite to use it.
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.

CREATE INDEX changes_public_comment ON changes (seq)
    WHERE entity = 'comment' AND op IN ('approve', 'reject', 'pin', 'unpin', 'reply', 'area');
