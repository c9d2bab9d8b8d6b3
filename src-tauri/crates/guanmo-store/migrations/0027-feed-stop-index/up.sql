-- Residents follow one stop (/?stop=7): the stop's published posts, newest first, with the
-- same cursor as the whole feed, and each stop's post count, read from an index.
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.

CREATE INDEX posts_by_stop ON posts (township_id, status, pinned, published_at, id)
    WHERE township_id IS NOT NULL;
