-- The hub decides, photo by photo, which laptops may hold it (背靠背: a photo attached to a
-- score sheet goes only where the sheet may go), so it looks evidence up by the photo.
CREATE INDEX sheet_evidence_by_hash ON sheet_evidence (hash);

-- A sheet sent to a laptop newly assigned its scorer (转交) brings its evidence photos'
-- operations along: the log is looked up by the photo.
CREATE INDEX ops_by_entity ON ops (kind, entity_id);
