-- Sync: the op log every replicated write appends to, what each origin device has been
-- received up to, operations held back until their predecessors arrive, refusals and
-- conflicts shown to a person, paired devices and pairing codes.
-- Never edit this file once landed: add migrations/NNNN-name/up.sql instead.

-- One row per operation, from this device or relayed from another. `payload` is the whole
-- state of the aggregate after the write; applying it twice changes nothing.
CREATE TABLE ops (
    origin      TEXT NOT NULL,
    seq         INTEGER NOT NULL CHECK (seq >= 1),
    hlc         TEXT NOT NULL,
    kind        TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    base_origin TEXT,
    base_seq    INTEGER,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    payload     TEXT NOT NULL CHECK (json_valid(payload)),
    -- applied: its state is (or was) current; superseded: a concurrent edit of a shared
    -- record kept the other side (see sync_issues); refused: broke ownership or the rules
    outcome     TEXT NOT NULL CHECK (outcome IN ('applied', 'superseded', 'refused')),
    received_at TEXT NOT NULL,
    PRIMARY KEY (origin, seq)
) STRICT, WITHOUT ROWID;

CREATE INDEX ops_by_hlc ON ops (hlc, origin, seq);

-- Highest sequence number received without a gap, per origin device.
CREATE TABLE sync_watermarks (
    origin TEXT PRIMARY KEY,
    seq    INTEGER NOT NULL
) STRICT;

-- The operation whose state each replicated record currently shows.
CREATE TABLE sync_heads (
    kind      TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    origin    TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    PRIMARY KEY (kind, entity_id)
) STRICT, WITHOUT ROWID;

-- Who may write a record that is owned by one device (a scorer's sheets, a post).
CREATE TABLE sync_owners (
    owner_key TEXT PRIMARY KEY,
    device_id TEXT NOT NULL
) STRICT;

-- Operations received ahead of a gap or of what they depend on: a visible backlog.
CREATE TABLE sync_backlog (
    origin      TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    op          TEXT NOT NULL CHECK (json_valid(op)),
    reason      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (origin, seq)
) STRICT, WITHOUT ROWID;

-- Refused operations and concurrent edits of a shared record, for a person to look at.
CREATE TABLE sync_issues (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('refused', 'conflict')),
    code         TEXT NOT NULL,
    op_origin    TEXT NOT NULL,
    op_seq       INTEGER NOT NULL,
    entity_kind  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    other_origin TEXT,
    other_seq    INTEGER,
    detail       TEXT NOT NULL DEFAULT '',
    at           TEXT NOT NULL,
    resolved_at  TEXT,
    resolved_by  TEXT,
    UNIQUE (kind, op_origin, op_seq)
) STRICT;

-- Devices this one knows: on the hub every paired laptop, on a laptop its hub.
CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('hub', 'scorer', 'media')),
    public_key   TEXT NOT NULL CHECK (length(public_key) = 64),
    token_hash   TEXT,
    address      TEXT,
    paired_at    TEXT NOT NULL,
    revoked_at   TEXT,
    last_contact TEXT,
    -- highest sequence number of this device's own operations the other side confirmed
    acked_seq    INTEGER NOT NULL DEFAULT 0
) STRICT;

-- One-time pairing codes shown by the hub (stored hashed).
CREATE TABLE pairing_codes (
    code_hash  TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    tries      INTEGER NOT NULL DEFAULT 0,
    used_at    TEXT,
    used_by    TEXT
) STRICT;

-- Bundle files imported at the hub, so a replayed file is recognised and refused.
CREATE TABLE sync_bundles (
    id          TEXT PRIMARY KEY,
    device_id   TEXT NOT NULL,
    file_hash   TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    report      TEXT NOT NULL CHECK (json_valid(report))
) STRICT;
