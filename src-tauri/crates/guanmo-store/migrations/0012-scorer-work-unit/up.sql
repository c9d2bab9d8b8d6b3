-- A scorer's work unit (单位), e.g. 市委办公室: printed with the name wherever scorers are listed,
-- so two scorers of one name in one group are told apart. Replicated with the scorer (the hub's).
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.
ALTER TABLE scorers ADD COLUMN work_unit TEXT NOT NULL DEFAULT ''
    CHECK (length(work_unit) <= 40);
