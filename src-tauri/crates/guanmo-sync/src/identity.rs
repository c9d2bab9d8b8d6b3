//! This device's identity: its id (made by the store), its role, its display name, and the
//! ed25519 key that signs the bundle files it writes.

use crate::tls::{Fingerprint, HubTrust};
use crate::{SyncError, SyncErrorCode, SyncResult};
use ed25519_dalek::SigningKey;
use guanmo_api::{ApiError, Ctx};
use guanmo_domain::problem::{Problem, ProblemCode};
use guanmo_store::{meta, oplog, ChangeInput};

const ROLE: &str = guanmo_api::DEVICE_ROLE;
const NAME: &str = "device_name";
const SECRET: &str = "device_signing_key";
pub(crate) const HUB_ID: &str = "hub_id";
pub(crate) const HUB_TOKEN: &str = "hub_token";
pub(crate) const HUB_URL: &str = "hub_url";
/// The SHA-256 fingerprint of the hub's certificate pinned at pairing (empty: none, the
/// system's roots decide).
pub(crate) const HUB_CERT_PIN: &str = "hub_cert_sha256";
/// On the hub: the fingerprint of the certificate `guanmo serve` serves the peer listener with
/// (empty when it serves plain HTTP), shown beside pairing codes.
const SERVED_CERT: &str = "peer_tls_cert_sha256";
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

/// Why [`set_role`] refused: each rule with its log message and its words for the person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RoleRefusal {
    /// The name is empty or longer than 40 characters.
    Name,
    /// A laptop that paired with a hub asked to become one.
    PairedWithHub,
    /// The hub asked to become a laptop while laptops are still paired with it.
    LaptopsPaired,
}

impl RoleRefusal {
    fn error(self) -> SyncError {
        let message = match self {
            RoleRefusal::Name => "device name must be 1-40 characters",
            RoleRefusal::PairedWithHub => "this laptop is paired with a hub; it cannot become one",
            RoleRefusal::LaptopsPaired => "devices are paired with this hub; revoke them first",
        };
        SyncError::new(SyncErrorCode::BadRequest, message)
    }

    fn explained(self) -> ApiError {
        let (field, words) = match self {
            RoleRefusal::Name => ("设备名称", "设备名称应为1到40个字"),
            RoleRefusal::PairedWithHub => (
                "本机角色",
                "本机已与组织方主机配对过,不能再改为组织方主机(全场只能有一台主机)",
            ),
            RoleRefusal::LaptopsPaired => (
                "本机角色",
                "还有电脑与本机配对。请先在“已配对的电脑”中撤销它们,再改为其他角色",
            ),
        };
        explained(self.error(), field, words)
    }
}

/// A refusal the person can act on: the code and the log message stay those of `e`, the
/// problem names `field` and says `words`.
pub(crate) fn explained(e: SyncError, field: &str, words: &str) -> ApiError {
    let api = ApiError::from(e);
    ApiError::with_problems(
        api.code,
        api.message,
        vec![Problem::error(ProblemCode::Invalid, field, words)],
    )
}

/// Sets this device's role and name. Becoming the hub writes the current roster, rubric,
/// scorers and scoring states to the op log, so laptops that pair receive them. A device
/// that already synced with a hub cannot become a hub itself (two hubs would split the data).
pub fn set_role(ctx: &Ctx, role: Role, name: &str) -> SyncResult<DeviceIdentity> {
    set_role_checked(ctx, role, name)?.map_err(RoleRefusal::error)
}

/// [`set_role`] for the app: a refusal comes as a `Validation` error whose problem says, in
/// the person's words, what to do (field 设备名称 or 本机角色).
pub fn set_role_explained(ctx: &Ctx, role: Role, name: &str) -> Result<DeviceIdentity, ApiError> {
    set_role_checked(ctx, role, name)?.map_err(RoleRefusal::explained)
}

/// [`set_role`]: the outer error is a failure (storage), the inner one a rule that refused.
fn set_role_checked(
    ctx: &Ctx,
    role: Role,
    name: &str,
) -> SyncResult<Result<DeviceIdentity, RoleRefusal>> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 40 {
        return Ok(Err(RoleRefusal::Name));
    }
    let before = device_identity(ctx)?;
    if role == Role::Hub && before.role != Some(Role::Hub) && before.hub_id.is_some() {
        return Ok(Err(RoleRefusal::PairedWithHub));
    }
    if role != Role::Hub && before.role == Some(Role::Hub) {
        let paired = ctx.store().read(guanmo_store::devices::paired_laptops)?;
        if paired > 0 {
            return Ok(Err(RoleRefusal::LaptopsPaired));
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
    Ok(Ok(device_identity(ctx)?))
}

/// How a laptop reaches its hub once paired: the address it paired at, its device token, and
/// the hub's certificate fingerprint when the pairing carried one.
#[derive(Clone, PartialEq, Eq)]
pub struct HubLink {
    /// The hub's base URL, e.g. `http://192.168.1.20:8787` or `https://live.example.cn`.
    pub url: String,
    /// This device's token (secret; never logged or shown).
    pub token: String,
    /// The pinned certificate of an `https://` hub; `None`: the system's roots decide.
    pub fingerprint: Option<Fingerprint>,
}

impl HubLink {
    /// What the hub's certificate must satisfy.
    pub fn trust(&self) -> HubTrust {
        self.fingerprint.map_or(HubTrust::System, HubTrust::Pinned)
    }

    /// A transport to the hub with this device's token, checking the certificate as
    /// [`HubLink::trust`] says.
    pub fn transport(&self) -> SyncResult<crate::http::HttpTransport> {
        crate::http::HttpTransport::with_trust(&self.url, Some(self.token.clone()), self.trust())
    }
}

impl std::fmt::Debug for HubLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubLink")
            .field("url", &self.url)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// The hub this laptop syncs with, once paired; `None` before pairing and on the hub.
pub fn hub_link(ctx: &Ctx) -> SyncResult<Option<HubLink>> {
    let (url, token, pin) = ctx.store().read(|c| {
        Ok((
            meta::get(c, HUB_URL)?,
            meta::get(c, HUB_TOKEN)?,
            meta::get(c, HUB_CERT_PIN)?,
        ))
    })?;
    Ok(match (url, token) {
        (Some(url), Some(token)) if !url.is_empty() && !token.is_empty() => Some(HubLink {
            url,
            token,
            fingerprint: pin.as_deref().and_then(Fingerprint::parse),
        }),
        _ => None,
    })
}

/// On the hub: remembers the fingerprint of the certificate its peer listener now serves
/// (`None`: plain HTTP), so `guanmo pairing-code` can show it beside the code.
pub fn set_served_fingerprint(ctx: &Ctx, fingerprint: Option<&Fingerprint>) -> SyncResult<()> {
    hub_identity(ctx, "only the organiser's hub serves laptops")?;
    let value = fingerprint.map(Fingerprint::hex).unwrap_or_default();
    ctx.store()
        .write_without_ops(ctx.now(), "organiser", |tx| {
            meta::set(tx, SERVED_CERT, &value)
        })?;
    Ok(())
}

/// On the hub: the fingerprint of the certificate its peer listener was last started with,
/// if it serves TLS.
pub fn served_fingerprint(ctx: &Ctx) -> SyncResult<Option<Fingerprint>> {
    let stored = ctx.store().read(|c| meta::get(c, SERVED_CERT))?;
    Ok(stored.as_deref().and_then(Fingerprint::parse))
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

    fn problem(e: &ApiError) -> (guanmo_api::ErrorCode, &str, &str) {
        assert_eq!(e.problems.len(), 1, "{e:?}");
        let p = &e.problems[0];
        assert_eq!(p.code, ProblemCode::Invalid);
        (e.code, p.location.as_str(), p.message.as_str())
    }

    fn paired(hub: &Ctx, laptop: &Ctx) {
        let media = guanmo_media::MediaStore::new(hub.data_dir()).unwrap();
        let link = crate::memory::MemoryTransport::new(
            crate::HubService::new(hub.clone(), media),
            crate::memory::Faults::default(),
            1,
        );
        let code = crate::new_pairing_code(hub).unwrap();
        crate::pair_with_hub_explained(laptop, &link, "memory://hub", &code.code).unwrap();
    }

    #[test]
    fn a_refused_role_says_why_in_words() {
        use guanmo_api::ErrorCode::Validation;
        let (hub, _h) = device(Role::Hub);
        let (laptop, _l) = device(Role::Scorer);
        for bad in ["  ", &"长".repeat(41)] {
            let e = set_role_explained(&laptop, Role::Media, bad).unwrap_err();
            assert_eq!(
                problem(&e),
                (Validation, "设备名称", "设备名称应为1到40个字")
            );
            assert_eq!(e.message, "device name must be 1-40 characters");
            assert_eq!(
                set_role(&laptop, Role::Media, bad).unwrap_err(),
                SyncError::new(SyncErrorCode::BadRequest, e.message.clone()),
                "the plain refusal keeps its code and message"
            );
        }

        paired(&hub, &laptop);
        let e = set_role_explained(&laptop, Role::Hub, "主机二").unwrap_err();
        assert_eq!(
            problem(&e),
            (
                Validation,
                "本机角色",
                "本机已与组织方主机配对过,不能再改为组织方主机(全场只能有一台主机)"
            )
        );
        let e = set_role_explained(&hub, Role::Scorer, "评分电脑").unwrap_err();
        assert_eq!(
            problem(&e),
            (
                Validation,
                "本机角色",
                "还有电脑与本机配对。请先在“已配对的电脑”中撤销它们,再改为其他角色"
            )
        );
        assert_eq!(device_identity(&hub).unwrap().role, Some(Role::Hub));

        let me = set_role_explained(&laptop, Role::Media, " 直播电脑 ").unwrap();
        assert_eq!((me.role, me.name.as_str()), (Some(Role::Media), "直播电脑"));
    }

    #[test]
    fn a_refused_pairing_says_why_in_words() {
        use guanmo_api::ErrorCode::Validation;
        let (hub, _h) = device(Role::Hub);
        let (other, _o) = device(Role::Hub);
        let (laptop, _l) = device(Role::Scorer);
        paired(&hub, &laptop);
        let media = guanmo_media::MediaStore::new(other.data_dir()).unwrap();
        let link = crate::memory::MemoryTransport::new(
            crate::HubService::new(other.clone(), media),
            crate::memory::Faults::default(),
            2,
        );
        let code = crate::new_pairing_code(&other).unwrap();
        let e = crate::pair_with_hub_explained(&laptop, &link, "memory://other", &code.code)
            .unwrap_err();
        assert_eq!(
            problem(&e),
            (
                Validation,
                "主机地址",
                "本机已与另一台组织方主机同步过,不能改配到这台主机"
            )
        );
        assert_eq!(e.message, "this laptop is paired with another hub");

        let e =
            crate::pair_with_hub_explained(&other, &link, "memory://other", "000000").unwrap_err();
        assert_eq!(problem(&e).1, "本机角色", "the hub does not pair");

        // The hub's own refusal (a wrong code) comes as it is.
        let (fresh, _f) = device(Role::Media);
        let e = crate::pair_with_hub_explained(&fresh, &link, "memory://other", "x").unwrap_err();
        assert_eq!(e.code, guanmo_api::ErrorCode::PairingRefused);
        assert!(e.problems.is_empty());

        let e = crate::pair_over_http(&fresh, "http://a b", "123456", None).unwrap_err();
        assert_eq!(problem(&e).1, "主机地址");
        let e =
            crate::pair_over_http(&fresh, "http://203.0.113.7:8787", "123456", None).unwrap_err();
        assert_eq!(e.code, guanmo_api::ErrorCode::InsecureHubAddress);
        assert_eq!(problem(&e).1, "主机地址");
        let e = crate::pair_over_http(&fresh, "https://127.0.0.1:1", "123456", Some("AB:CD"))
            .unwrap_err();
        assert_eq!(problem(&e).1, "证书指纹");
        assert!(crate::hub_link(&fresh).unwrap().is_none(), "nothing stored");
    }
}
