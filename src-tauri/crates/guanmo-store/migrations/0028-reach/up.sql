-- 传播数据 (reach) of the resident site, kept by the device that serves it: per Beijing day,
-- the page loads of the site and the showings of each post, the most live readers at once,
-- and the visitors as a HyperLogLog sketch of the phones' cookie keys (no key is kept, only
-- the sketch's registers, so nothing here names a phone). Never synced.
CREATE TABLE reach (
    day        TEXT NOT NULL CHECK (day GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
    -- 'site' for the page, 'post:<post id>' for a post
    scope      TEXT NOT NULL CHECK (scope = 'site' OR (scope GLOB 'post:*' AND length(scope) <= 41)),
    views      INTEGER NOT NULL DEFAULT 0 CHECK (views >= 0),
    peak_live  INTEGER NOT NULL DEFAULT 0 CHECK (peak_live >= 0),
    visitors   BLOB NOT NULL,
    PRIMARY KEY (day, scope)
) STRICT, WITHOUT ROWID;
