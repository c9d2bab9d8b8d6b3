//! Identifiers are UUIDv7 strings made on the device, so they sort by creation time
//! and never collide across laptops that later sync.

/// A new time-ordered identifier.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// True when `s` is a UUID in canonical text form.
pub fn is_id(s: &str) -> bool {
    uuid::Uuid::try_parse(s).is_ok()
}
