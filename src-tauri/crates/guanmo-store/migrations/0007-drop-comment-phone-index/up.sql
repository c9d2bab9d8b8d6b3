-- Nothing looks comments up by number (mutes have their own table keyed by number), and an
-- index on a random key costs every comment insert a random page write: measured as the
-- largest share of the ingest thread's time under load. Dropped.
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.

DROP INDEX comments_by_phone;
