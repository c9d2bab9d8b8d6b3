-- The live image-and-text feed (图文直播): posts and the photos they show.
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.

CREATE TABLE posts (
    id           TEXT PRIMARY KEY,
    stop_label   TEXT CHECK (stop_label IS NULL OR length(stop_label) BETWEEN 1 AND 40),
    township_id  TEXT REFERENCES townships (id),
    body         TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 5000),
    credit       TEXT NOT NULL DEFAULT '' CHECK (length(credit) <= 40),
    status       TEXT NOT NULL CHECK (status IN ('draft', 'published', 'retracted')),
    pinned       INTEGER NOT NULL DEFAULT 0 CHECK (pinned IN (0, 1)),
    created_at   TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    published_at TEXT,
    updated_at   TEXT,
    retracted_at TEXT,
    retracted_by TEXT,
    version      INTEGER NOT NULL DEFAULT 1,
    CHECK (status = 'draft' OR published_at IS NOT NULL),
    CHECK (status <> 'retracted' OR (retracted_at IS NOT NULL AND retracted_by IS NOT NULL)),
    CHECK (pinned = 0 OR status = 'published')
) STRICT;

-- At most one pinned post (置顶), whatever the code above it does.
CREATE UNIQUE INDEX posts_one_pinned ON posts (pinned) WHERE pinned = 1;
-- The public listing: newest first, cursor on (published_at, id).
CREATE INDEX posts_public ON posts (status, pinned, published_at, id);

-- Photos of a post in grid order, so the resident site can tell whether a photo is public.
CREATE TABLE post_photos (
    post_id  TEXT NOT NULL REFERENCES posts (id),
    position INTEGER NOT NULL CHECK (position BETWEEN 0 AND 8),
    hash     TEXT NOT NULL CHECK (length(hash) = 64 AND hash NOT GLOB '*[^0-9a-f]*'),
    PRIMARY KEY (post_id, position),
    UNIQUE (post_id, hash)
) STRICT;

CREATE INDEX post_photos_by_hash ON post_photos (hash);

-- The feed's ETag and SSE read the newest change of one entity kind.
CREATE INDEX changes_by_entity_seq ON changes (entity, seq);
