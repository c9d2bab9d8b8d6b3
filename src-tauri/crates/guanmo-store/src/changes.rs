//! The change log: one row per changed record, appended inside the same transaction as the
//! change itself, so the log never disagrees with the data.

use serde::Serialize;

/// What a write appends to the log.
#[derive(Debug, Clone)]
pub struct ChangeInput {
    /// Kind of record, e.g. `township`.
    pub entity: &'static str,
    /// Its id.
    pub entity_id: String,
    /// `insert`, `update`, `reorder`, `import`, `replace`…
    pub op: &'static str,
    /// The new state or the delta, as JSON.
    pub payload: serde_json::Value,
}

/// A row of the change log.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    /// Monotonic sequence number on this device.
    pub seq: i64,
    /// RFC 3339 time of the write.
    pub at: String,
    /// Device that made the write.
    pub device_id: String,
    /// Who made it.
    pub actor: String,
    /// Kind of record.
    pub entity: String,
    /// Record id.
    pub entity_id: String,
    /// Operation.
    pub op: String,
    /// JSON payload.
    pub payload: serde_json::Value,
}
