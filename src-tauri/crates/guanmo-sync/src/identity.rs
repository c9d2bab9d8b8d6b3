//! This device's identity: its id (made by the store), its role, its display name, and the
//! ed25519 key that signs the bundle files it writes.

use crate::{SyncError, SyncErrorCode, SyncResult};
use ed25519_dalek::SigningKey;
use guanmo_api::Ctx;
use guanmo_store::{meta, oplog, ChangeInput};

const ROLE: &str = guanmo_api::DEVICE_ROLE;
const NAME: &str = "device_name";
const SECRET: &str = "device_signing_key";
pub(crate) const HUB_ID: &str = "hub_id";
pub(crate) const HUB_TOKEN: &str = "hub_token";
pub(crate) const HUB_URL: &str = "hub_url";
/// The port the organiser chose for the hub's peer listener (local to the hub).
const PEER_PORT: &str = "sync_peer_port";
/// Lowest peer port: below it a port needs administrator rights.
pub const MIN_PEER_PORT: u16 = 1024;

pub use guanmo_domain::device::Role;

/// Who this device is.
#[derive(Debug, Clone)]
pub struct DeviceIdentity {
    /// Device id (UUIDv7).
    pub id: String,
    /// Role; `None` until chosen.
    pub role: Option<Role>,
    /// Name shown on the hub (e.g. the laptop's label).
    pub name: String,
    /// Signs bundle files.
    pub key: SigningKey,
    /// The hub this device syncs with (itself on the hub).
    pub hub_id: Option<String>,
}

impl DeviceIdentity {
    /// The public key, 64 hex characters.
    pub fn public_key_hex(&self) -> String {
        hex32(self.key.verifying_key().as_bytes())
    }
}

pub(crate) fn hex32(b: &[u8; 32]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub(crate) fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, chunk) in s.as_bytes().chunks(2).enumerate() {
        let text = std::str::from_utf8(chunk).ok()?;
        out[i] = u8::from_str_radix(text, 16).ok()?;
    }
    Some(out)
}

pub(crate) fn random32() -> SyncResult<[u8; 32]> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b)
        .map_err(|e| SyncError::new(SyncErrorCode::Storage, format!("no randomness: {e}")))?;
    Ok(b)
}

/// This device's identity, making its signing key on first use.
pub fn device_identity(ctx: &Ctx) -> SyncResult<DeviceIdentity> {
    let store = ctx.store();
    let (role, name, secret, hub_id) = store.read(|c| {
        Ok((
            meta::get(c, ROLE)?,
            meta::get(c, NAME)?,
            meta::get(c, SECRET)?,
            meta::get(c, HUB_ID)?,
        ))
    })?;
    let key = match secret.as_deref().and_then(parse_hex32) {
        Some(bytes) => SigningKey::from_bytes(&bytes),
        None => {
            let bytes = random32()?;
            store.write_without_ops(ctx.now(), "system", |tx| {
                meta::set(tx, SECRET, &hex32(&bytes))
            })?;
            SigningKey::from_bytes(&bytes)
        }
    };
    let role = role.as_deref().and_then(Role::parse);
    let id = store.device_id().to_string();
    Ok(DeviceIdentity {
        hub_id: if role == Some(Role::Hub) {
            Some(id.clone())
        } else {
            hub_id.filter(|h| !h.is_empty())
        },
        name: name.unwrap_or_default(),
        role,
        id,
        key,
    })
}

/// This device's identity when it is the organiser's hub; otherwise a `BadRequest` saying
/// `only` (e.g. "only the organiser's hub shows pairing codes").
pub(crate) fn hub_identity(ctx: &Ctx, only: &str) -> SyncResult<DeviceIdentity> {
    let me = device_identity(ctx)?;
    if me.role != Some(Role::Hub) {
        return Err(SyncError::new(SyncErrorCode::BadRequest, only));
    }
    Ok(me)
}

/// Sets this device's role and name. Becoming the hub writes the current roster, rubric,
/// scorers and scoring states to the op log, so laptops that pair receive them. A device
/// that already synced with a hub cannot become a hub itself (two hubs would split the data).
pub fn set_role(ctx: &Ctx, role: Role, name: &str) -> SyncResult<DeviceIdentity> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 40 {
        return Err(SyncError::new(
            SyncErrorCode::BadRequest,
            "device name must be 1-40 characters",
        ));
    }
    let before = device_identity(ctx)?;
    if role == Role::Hub && before.role != Some(Role::Hub) && before.hub_id.is_some() {
        return Err(SyncError::new(
            SyncErrorCode::BadRequest,
            "this laptop is paired with a hub; it cannot become one",
        ));
    }
    if role != Role::Hub && before.role == Some(Role::Hub) {
        let paired = ctx.store().read(guanmo_store::devices::paired_laptops)?;
        if paired > 0 {
            return Err(SyncError::new(
                SyncErrorCode::BadRequest,
                "devices are paired with this hub; revoke them first",
            ));
        }
    }
    let becomes_hub = role == Role::Hub && before.role != Some(Role::Hub);
    ctx.store()
        .write_without_ops(ctx.now(), "organiser", |tx| {
            meta::set(tx, ROLE, role.as_str())?;
            meta::set(tx, NAME, name)?;
            if becomes_hub {
                oplog::append_hub_baseline(tx)?;
            }
            tx.record(ChangeInput {
                entity: "device_setting",
                entity_id: ROLE.into(),
                op: "set",
                payload: serde_json::json!({ "role": role.as_str(), "name": name }),
            })
        })?;
    device_identity(ctx)
}

/// How a laptop reaches its hub once paired: the address it paired at and its device token.
#[derive(Clone, PartialEq, Eq)]
pub struct HubLink {
    /// The hub's base URL, e.g. `http://192.168.1.20:8787`.
    pub url: String,
    /// This device's token (secret; never logged or shown).
    pub token: String,
}

impl std::fmt::Debug for HubLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubLink")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// The hub this laptop syncs with, once paired; `None` before pairing and on the hub.
pub fn hub_link(ctx: &Ctx) -> SyncResult<Option<HubLink>> {
    let (url, token) = ctx
        .store()
        .read(|c| Ok((meta::get(c, HUB_URL)?, meta::get(c, HUB_TOKEN)?)))?;
    Ok(match (url, token) {
        (Some(url), Some(token)) if !url.is_empty() && !token.is_empty() => {
            Some(HubLink { url, token })
        }
        _ => None,
    })
}

/// The rules the op log applies remote operations by, for this device.
pub(crate) fn rules(me: &DeviceIdentity) -> oplog::Rules {
    oplog::Rules {
        self_id: me.id.clone(),
        hub_id: me.hub_id.clone(),
    }
}

/// The port the organiser chose for this hub's peer listener, if one was chosen.
pub fn peer_port(ctx: &Ctx) -> SyncResult<Option<u16>> {
    let stored = ctx.store().read(|c| meta::get(c, PEER_PORT))?;
    Ok(stored
        .and_then(|p| p.parse::<u16>().ok())
        .filter(|p| *p >= MIN_PEER_PORT))
}

/// Remembers the port of this hub's peer listener (what laptops enter after the address).
/// Only the hub has one; a port below [`MIN_PEER_PORT`] is refused.
pub fn set_peer_port(ctx: &Ctx, port: u16) -> SyncResult<()> {
    hub_identity(ctx, "only the organiser's hub listens for laptops")?;
    if port < MIN_PEER_PORT {
        return Err(SyncError::new(
            SyncErrorCode::BadRequest,
            format!("port {port} is below {MIN_PEER_PORT}"),
        ));
    }
    ctx.store()
        .write_without_ops(ctx.now(), "organiser", |tx| {
            meta::set(tx, PEER_PORT, &port.to_string())?;
            tx.record(ChangeInput {
                entity: "device",
                entity_id: "peer_port".into(),
                op: "set",
                payload: serde_json::json!({ "port": port }),
            })
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use guanmo_domain::SystemClock;
    use std::sync::Arc;

    fn device(role: Role) -> (Ctx, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Ctx::open(dir.path(), Arc::new(SystemClock)).unwrap();
        set_role(&ctx, role, "测试").unwrap();
        (ctx, dir)
    }

    #[test]
    fn the_hub_keeps_the_peer_port_it_was_given_and_refuses_a_privileged_one() {
        let (hub, _d) = device(Role::Hub);
        assert_eq!(
            peer_port(&hub).unwrap(),
            None,
            "the default until one is chosen"
        );
        set_peer_port(&hub, 9797).unwrap();
        assert_eq!(peer_port(&hub).unwrap(), Some(9797));
        let err = set_peer_port(&hub, 80).unwrap_err();
        assert_eq!(err.code, SyncErrorCode::BadRequest);
        assert_eq!(
            peer_port(&hub).unwrap(),
            Some(9797),
            "a refused port changes nothing"
        );

        let (laptop, _l) = device(Role::Scorer);
        let err = set_peer_port(&laptop, 9797).unwrap_err();
        assert_eq!(err.code, SyncErrorCode::BadRequest);
        assert_eq!(peer_port(&laptop).unwrap(), None);
    }
}
