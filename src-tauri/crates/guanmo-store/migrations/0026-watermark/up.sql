-- 台标: the issuing outlet's logo, laid over the public copies of photos (the 320 px and
-- 1600 px JPEGs residents are served; originals, evidence and the app's own copies never), and
-- where and how strongly. One row (id 1) or none. The logo's PNG bytes are kept here, checked
-- (a real PNG, at most 2 MiB, sides 16–4096 px) before they are saved. `digest` names the logo
-- at this placement: public copies are cached under it, so a copy made with an older setting is
-- never served. Kept by the device that renders public copies (the site host) and by laptops
-- that preview; like the site settings, never synced.
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.
CREATE TABLE watermark (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    enabled     INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    logo_png    BLOB CHECK (logo_png IS NULL OR length(logo_png) BETWEEN 8 AND 2097152),
    logo_name   TEXT NOT NULL DEFAULT '' CHECK (length(logo_name) <= 255),
    logo_width  INTEGER CHECK (logo_width IS NULL OR logo_width BETWEEN 16 AND 4096),
    logo_height INTEGER CHECK (logo_height IS NULL OR logo_height BETWEEN 16 AND 4096),
    corner      TEXT NOT NULL
        CHECK (corner IN ('top_left', 'top_right', 'bottom_left', 'bottom_right')),
    size_pct    INTEGER NOT NULL CHECK (size_pct BETWEEN 8 AND 30),
    opacity_pct INTEGER NOT NULL CHECK (opacity_pct BETWEEN 10 AND 100),
    margin_pct  INTEGER NOT NULL CHECK (margin_pct BETWEEN 0 AND 10),
    -- 16 hex characters; NULL when there is no logo
    digest      TEXT CHECK (digest IS NULL OR length(digest) = 16),
    updated_at  TEXT NOT NULL,
    updated_by  TEXT NOT NULL,
    CHECK ((logo_png IS NULL) = (digest IS NULL))
) STRICT;
