-- The hub trusts nothing a laptop sends: which laptop scores for which scorer is the hub's own
-- record (set by the organiser, moved by 转交), never read from a pushed operation; a device
-- pairs once, and pairs again only with its own key or by the organiser's leave.
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.

-- On the hub: the laptop that scores for each scorer. Only that laptop's operations may write
-- the scorer's sheets. Hub-local: never replicated.
CREATE TABLE scorer_devices (
    scorer_id   TEXT PRIMARY KEY REFERENCES scorers (id),
    device_id   TEXT NOT NULL,
    assigned_at TEXT NOT NULL,
    assigned_by TEXT NOT NULL
) STRICT;

CREATE INDEX scorer_devices_by_device ON scorer_devices (device_id);

-- Hubs that ran the first sync wave bound a scorer to the first laptop that wrote for them;
-- those bindings become assignments, so sheets keep flowing after the upgrade.
INSERT INTO scorer_devices (scorer_id, device_id, assigned_at, assigned_by)
SELECT substr(o.owner_key, 8), o.device_id, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'upgrade'
FROM sync_owners o
WHERE o.owner_key LIKE 'scorer:%'
  AND EXISTS (SELECT 1 FROM scorers s WHERE s.id = substr(o.owner_key, 8));

DELETE FROM sync_owners WHERE owner_key LIKE 'scorer:%';

-- The organiser lets a known device pair again with a new key (e.g. its key was lost); a
-- revoked device never pairs again.
ALTER TABLE devices ADD COLUMN repair_allowed_at TEXT;

-- Wrong pairing tries per code and source address: one address cannot kill the live code for
-- everyone (the code dies for that address after 5, for all after 50).
CREATE TABLE pairing_attempts (
    code_hash TEXT NOT NULL,
    source    TEXT NOT NULL,
    tries     INTEGER NOT NULL,
    PRIMARY KEY (code_hash, source)
) STRICT, WITHOUT ROWID;
