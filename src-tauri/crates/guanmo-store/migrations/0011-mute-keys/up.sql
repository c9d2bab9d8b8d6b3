-- Mutes that hold (security review, issue 14 item 11). A mute used to key on the number the
-- resident typed, which nothing verifies by default: a muted person typed another number and was
-- accepted. A mute now also holds the phone keys (the site's signed cookie, hashed) its author
-- wrote from, and may hide the author's already-approved comments from residents while it lasts.
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.

ALTER TABLE mutes ADD COLUMN hide_comments INTEGER NOT NULL DEFAULT 0
    CHECK (hide_comments IN (0, 1));

-- The phone keys a mute holds: a comment from any of them is refused whatever number it names.
CREATE TABLE mute_keys (
    client_key  TEXT NOT NULL,
    phone       TEXT NOT NULL REFERENCES mutes (phone) ON DELETE CASCADE,
    PRIMARY KEY (client_key, phone)
) STRICT, WITHOUT ROWID;

CREATE INDEX mute_keys_by_phone ON mute_keys (phone);
