//! Pairing: the hub shows a one-time code (6 digits, valid 10 minutes, 5 tries); a laptop
//! sends it once with its id, role and public key and receives a device token. The hub keeps
//! only hashes of codes and tokens. After 5 wrong tries from one address the code is dead for
//! that address, and after 50 from all of them for everyone, so guessing a 6-digit code
//! succeeds with probability 50 in a million at most per code shown while no one address can
//! spoil the code for the laptops waiting to pair.

use crate::http::HttpTransport;
use crate::hub_url::{normalize_hub_url, require_safe_scheme};
use crate::identity::{self, hex32, random32, DeviceIdentity, Role};
use crate::protocol::{pair_message, PairRequest, PairResponse};
use crate::tls::{parse_fingerprint, Fingerprint, HubTrust, FINGERPRINT_FIELD};
use crate::{SyncError, SyncErrorCode, SyncResult, Transport};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use ed25519_dalek::Signer;
use guanmo_api::{ApiError, Ctx};
use guanmo_store::{devices, meta, ChangeInput};
use serde::Serialize;
use specta::Type;

/// Wrong tries from one address after which a code is dead for that address.
pub const PAIRING_TRIES: i64 = 5;
/// How long a code is valid.
pub const PAIRING_VALID_MINUTES: i64 = 10;

/// A code to show on the hub's screen.
#[derive(Debug, Clone, Serialize, Type)]
pub struct PairingCode {
    /// Six digits.
    pub code: String,
    /// When it stops working (RFC 3339).
    pub expires_at: String,
}

/// One-way hash under which codes and tokens are kept.
pub(crate) fn hash_secret(s: &str) -> String {
    blake3::hash(s.as_bytes()).to_hex().to_string()
}

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn refused(msg: &str) -> SyncError {
    SyncError::new(SyncErrorCode::PairingRefused, msg)
}

/// Makes a new pairing code on the hub; any earlier unused code stops working.
pub fn new_pairing_code(ctx: &Ctx) -> SyncResult<PairingCode> {
    identity::hub_identity(ctx, "only the organiser's hub shows pairing codes")?;
    let r = random32()?;
    let n = u32::from_le_bytes([r[0], r[1], r[2], r[3]]) % 1_000_000;
    let code = format!("{n:06}");
    let now = ctx.now();
    let expires = now + Duration::minutes(PAIRING_VALID_MINUTES);
    ctx.store().write_without_ops(now, "organiser", |tx| {
        devices::new_code(tx, &hash_secret(&code), &rfc(expires))
    })?;
    Ok(PairingCode {
        code,
        expires_at: rfc(expires),
    })
}

/// Wrong tries from all sources together after which a code is dead: a guess succeeds with
/// probability 50 in a million at most per code shown, and no single source can kill it.
pub const PAIRING_TRIES_TOTAL: i64 = 50;

fn signature_ok(req: &PairRequest, public_key: &str) -> bool {
    let (Some(key), Some(sig)) = (
        identity::parse_hex32(public_key),
        req.signature.as_deref().and_then(parse_hex64),
    ) else {
        return false;
    };
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&key) else {
        return false;
    };
    let msg = pair_message(&req.code, &req.device_id, &req.public_key, req.role);
    key.verify_strict(&msg, &ed25519_dalek::Signature::from_bytes(&sig))
        .is_ok()
}

fn parse_hex64(s: &str) -> Option<[u8; 64]> {
    if s.len() != 128 {
        return None;
    }
    let (a, b) = s.split_at(64);
    let (a, b) = (identity::parse_hex32(a)?, identity::parse_hex32(b)?);
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&a);
    out[32..].copy_from_slice(&b);
    Some(out)
}

/// The hub's side of pairing: checks the code and registers a new device. A device the hub
/// knows pairs again only when its request is signed with the key it first paired with (and
/// keeps its role), or when the organiser allowed it ([`allow_repair`]); a revoked device
/// never does. `source` (the peer's address) counts wrong tries: [`PAIRING_TRIES`] per
/// source, [`PAIRING_TRIES_TOTAL`] in all.
pub(crate) fn redeem(ctx: &Ctx, req: &PairRequest, source: &str) -> SyncResult<PairResponse> {
    let me = identity::device_identity(ctx)?;
    if me.role != Some(Role::Hub) {
        return Err(refused("this device is not a hub"));
    }
    if req.role == Role::Hub {
        return Err(refused("a hub cannot pair with a hub"));
    }
    if !guanmo_domain::ids::is_id(&req.device_id)
        || identity::parse_hex32(&req.public_key).is_none()
        || req.name.trim().is_empty()
        || req.name.chars().count() > 40
        || req.code.len() > 32
        || req.device_id == me.id
    {
        return Err(SyncError::new(
            SyncErrorCode::BadRequest,
            "malformed pairing request",
        ));
    }
    let source: String = source.chars().take(64).collect();
    let token = hex32(&random32()?);
    let now = ctx.now();
    let outcome = ctx.store().write_without_ops(now, "organiser", |tx| {
        // The one live code: newest unused.
        let Some(live) = devices::live_code(tx.conn())? else {
            return Ok(Err("no live pairing code"));
        };
        if live.tries >= PAIRING_TRIES_TOTAL {
            return Ok(Err("too many wrong tries; show a new code"));
        }
        if devices::tries_from(tx.conn(), &live.hash, &source)? >= PAIRING_TRIES {
            return Ok(Err(
                "too many wrong tries from this address; show a new code",
            ));
        }
        if live.expires_at.as_str() <= tx.at() {
            return Ok(Err("the pairing code expired"));
        }
        if live.hash != hash_secret(req.code.trim()) {
            devices::wrong_try(tx, &live.hash, &source)?;
            return Ok(Err("wrong pairing code"));
        }
        let token_hash = hash_secret(&token);
        let pairing = devices::Pairing {
            id: &req.device_id,
            name: req.name.trim(),
            role: req.role.as_str(),
            public_key: &req.public_key,
            token_hash: &token_hash,
        };
        let op = match devices::get(tx.conn(), &req.device_id)? {
            None => {
                devices::insert_paired(tx, pairing)?;
                "pair"
            }
            Some(k) if k.revoked_at.is_some() => {
                return Ok(Err("this device was revoked; it cannot pair again"))
            }
            Some(k)
                if k.repair_allowed
                    || (signature_ok(req, &k.public_key)
                        && k.public_key == req.public_key
                        && k.role == req.role.as_str()) =>
            {
                devices::repaired(tx, pairing)?;
                "repair"
            }
            Some(_) => {
                return Ok(Err(
                    "this device is already paired; the organiser must allow it to pair again",
                ))
            }
        };
        devices::use_code(tx, &live.hash, &req.device_id)?;
        tx.record(ChangeInput {
            entity: "device",
            entity_id: req.device_id.clone(),
            op,
            payload: serde_json::json!({ "name": req.name.trim(), "role": req.role.as_str() }),
        })?;
        Ok(Ok(()))
    })?;
    outcome.map_err(refused)?;
    Ok(PairResponse {
        hub_id: me.id.clone(),
        hub_name: me.name.clone(),
        hub_public_key: me.public_key_hex(),
        token,
        hub_time: rfc(ctx.now()),
    })
}

/// The organiser lets a known, unrevoked device pair once more with a new key or role (e.g.
/// its data folder was restored without its key). Returns false for an unknown or revoked
/// device.
pub fn allow_repair(ctx: &Ctx, device_id: &str) -> SyncResult<bool> {
    identity::hub_identity(ctx, "only the organiser's hub lets a device pair again")?;
    Ok(ctx
        .store()
        .write_without_ops(ctx.now(), "organiser", |tx| {
            let allowed = devices::allow_repair(tx, device_id)?;
            if allowed {
                tx.record(ChangeInput {
                    entity: "device",
                    entity_id: device_id.to_string(),
                    op: "allow_repair",
                    payload: serde_json::json!({}),
                })?;
            }
            Ok(allowed)
        })?)
}

/// Why [`pair_with_hub`] refused here (the hub's own refusals come as its [`SyncError`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PairRefusal {
    /// This device is the hub, or has no role yet.
    NotALaptop,
    /// This laptop already paired with another hub.
    OtherHub,
}

impl PairRefusal {
    fn error(self) -> SyncError {
        let message = match self {
            PairRefusal::NotALaptop => "choose 评分电脑 or 直播电脑 before pairing",
            PairRefusal::OtherHub => "this laptop is paired with another hub",
        };
        SyncError::new(SyncErrorCode::BadRequest, message)
    }

    fn explained(self) -> ApiError {
        let (field, words) = match self {
            PairRefusal::NotALaptop => (
                "本机角色",
                "请先把本机设为评分电脑或直播电脑,再与组织方主机配对",
            ),
            PairRefusal::OtherHub => (
                "主机地址",
                "本机已与另一台组织方主机同步过,不能改配到这台主机",
            ),
        };
        identity::explained(self.error(), field, words)
    }
}

/// The laptop's side: sends the code to the hub over `transport` and remembers the hub (with
/// no pinned certificate: an `https://` hub is then checked against the system's roots; see
/// [`pair_over_http`] for a pin).
pub fn pair_with_hub(
    ctx: &Ctx,
    transport: &dyn Transport,
    hub_url: &str,
    code: &str,
) -> SyncResult<PairResponse> {
    pair_checked(ctx, transport, hub_url, code, None)?.map_err(PairRefusal::error)
}

/// [`pair_with_hub`] for the app: a refusal here comes as a `Validation` error whose problem
/// says, in the person's words, what is wrong (field 主机地址, or 本机角色 before a role is
/// chosen); the hub's refusals and network failures come as they are.
pub fn pair_with_hub_explained(
    ctx: &Ctx,
    transport: &dyn Transport,
    hub_url: &str,
    code: &str,
) -> Result<PairResponse, ApiError> {
    pair_checked(ctx, transport, hub_url, code, None)?.map_err(PairRefusal::explained)
}

/// Pairs with the hub at the address a person typed (see [`normalize_hub_url`]) over HTTP or
/// HTTPS, with the code shown there and, for a hub with its own certificate, the certificate's
/// fingerprint shown beside it (证书指纹, optional): the laptop then pins that certificate
/// for every later exchange, and a new pairing replaces the pin. Refused before any
/// connection: plain `http://` to a public address ([`crate::hub_url::require_safe_scheme`])
/// and a malformed fingerprint; refused by the handshake, with nothing stored: a certificate
/// that is not the fingerprint's (`CertChanged`) or, without one, not trusted by the system
/// (`CertUntrusted`). Other refusals explained as by [`pair_with_hub_explained`]. Blocks on
/// the network.
pub fn pair_over_http(
    ctx: &Ctx,
    typed_url: &str,
    code: &str,
    fingerprint: Option<&str>,
) -> Result<PairResponse, ApiError> {
    let pin = parse_fingerprint(fingerprint)?;
    let mut url = normalize_hub_url(typed_url)?;
    if pin.is_some() && url.starts_with("http://") {
        if typed_url.trim().starts_with("http://") {
            return Err(identity::explained(
                SyncError::new(SyncErrorCode::BadRequest, "a fingerprint needs https://"),
                FINGERPRINT_FIELD,
                "证书指纹只用于 https:// 地址。请把主机地址改为 https:// 开头,或清空证书指纹",
            ));
        }
        // A fingerprint means the hub serves TLS: a typed address without a scheme is https.
        url = url.replacen("http://", "https://", 1);
    }
    require_safe_scheme(&url)?;
    let trust = pin.map_or(HubTrust::System, HubTrust::Pinned);
    let transport = HttpTransport::with_trust(&url, None, trust)?;
    match pair_checked(ctx, &transport, &url, code.trim(), pin) {
        Ok(outcome) => outcome.map_err(PairRefusal::explained),
        Err(e) if e.code == SyncErrorCode::CertChanged => Err(identity::explained(
            e,
            FINGERPRINT_FIELD,
            "主机的证书与填写的证书指纹不符。请核对主机上显示的指纹;若一致,可能有人冒充主机",
        )),
        Err(e) => Err(e.into()),
    }
}

/// [`pair_with_hub`]: the outer error is a failure (network, the hub's refusal, storage), the
/// inner one a rule of this laptop that refused.
fn pair_checked(
    ctx: &Ctx,
    transport: &dyn Transport,
    hub_url: &str,
    code: &str,
    pin: Option<Fingerprint>,
) -> SyncResult<Result<PairResponse, PairRefusal>> {
    let me: DeviceIdentity = identity::device_identity(ctx)?;
    let role = match me.role {
        Some(Role::Hub) | None => return Ok(Err(PairRefusal::NotALaptop)),
        Some(r) => r,
    };
    let public_key = me.public_key_hex();
    let signature = me
        .key
        .sign(&pair_message(code, &me.id, &public_key, role))
        .to_bytes();
    let resp = transport.pair(&PairRequest {
        code: code.to_string(),
        device_id: me.id.clone(),
        name: me.name.clone(),
        role,
        public_key,
        signature: Some(signature.iter().map(|b| format!("{b:02x}")).collect()),
    })?;
    if identity::parse_hex32(&resp.hub_public_key).is_none() || resp.token.len() != 64 {
        return Err(SyncError::new(
            SyncErrorCode::Unreachable,
            "hub answered garbage",
        ));
    }
    if me.hub_id.as_ref().is_some_and(|h| *h != resp.hub_id) {
        // Two hubs would split the data: a laptop keeps the hub it first synced with.
        return Ok(Err(PairRefusal::OtherHub));
    }
    ctx.store()
        .write_without_ops(ctx.now(), "organiser", |tx| {
            meta::set(tx, identity::HUB_ID, &resp.hub_id)?;
            meta::set(tx, identity::HUB_TOKEN, &resp.token)?;
            meta::set(tx, identity::HUB_URL, hub_url)?;
            // A new pairing replaces the pin (or drops it: the system's roots decide).
            let pin = pin.map(|p| p.hex()).unwrap_or_default();
            meta::set(tx, identity::HUB_CERT_PIN, &pin)?;
            devices::set_hub(
                tx,
                &resp.hub_id,
                &resp.hub_name,
                &resp.hub_public_key,
                hub_url,
            )?;
            tx.record(ChangeInput {
                entity: "device",
                entity_id: resp.hub_id.clone(),
                op: "pair",
                payload: serde_json::json!({ "role": "hub" }),
            })
        })?;
    Ok(Ok(resp))
}

/// The hub revokes a device: its token stops working and its bundles are refused.
pub fn revoke_device(ctx: &Ctx, device_id: &str) -> SyncResult<bool> {
    Ok(ctx
        .store()
        .write_without_ops(ctx.now(), "organiser", |tx| {
            let revoked = devices::revoke(tx, device_id)?;
            tx.record(ChangeInput {
                entity: "device",
                entity_id: device_id.to_string(),
                op: "revoke",
                payload: serde_json::json!({}),
            })?;
            Ok(revoked)
        })?)
}

/// The hub hands a replaced laptop's scorers and posts to another paired laptop, so the new
/// one may go on with them (the old one is usually revoked first). Returns how many records
/// (scorers' sheet sets and posts) moved.
pub fn transfer_device(ctx: &Ctx, from: &str, to: &str) -> SyncResult<u32> {
    identity::hub_identity(
        ctx,
        "only the organiser's hub hands over a laptop's records",
    )?;
    let ok = ctx.store().read(|c| {
        Ok(devices::is_laptop(c, from, None, false)? && devices::is_laptop(c, to, None, true)?)
    })?;
    if !ok || from == to {
        return Err(SyncError::new(
            SyncErrorCode::BadRequest,
            "hand over from a known laptop to another paired, unrevoked laptop",
        ));
    }
    Ok(ctx
        .store()
        .write_without_ops(ctx.now(), "organiser", |tx| {
            guanmo_store::oplog::transfer_owned(tx, from, to)
        })?)
}

/// The device a token belongs to, if it is paired and not revoked.
pub(crate) fn device_for_token(ctx: &Ctx, token: &str) -> SyncResult<String> {
    if token.len() != 64 {
        return Err(SyncError::new(
            SyncErrorCode::Unauthorized,
            "no device token",
        ));
    }
    let hash = hash_secret(token);
    let id = ctx.store().read(|c| devices::by_token_hash(c, &hash))?;
    id.ok_or_else(|| SyncError::new(SyncErrorCode::Unauthorized, "unknown or revoked device"))
}

/// Which laptop scores for which scorer, on the hub.
pub fn scorer_assignments(ctx: &Ctx) -> SyncResult<Vec<guanmo_store::trust::ScorerAssignment>> {
    Ok(ctx.store().read(guanmo_store::trust::scorer_assignments)?)
}

/// The organiser assigns a scorer to the paired scorer laptop that scores for them (or clears
/// it with `None`). Only that laptop's sheets for the scorer are accepted from then on; sheets
/// it sent before the assignment, held back until now, are applied at once.
pub fn assign_scorer(ctx: &Ctx, scorer_id: &str, device_id: Option<&str>) -> SyncResult<bool> {
    let me = identity::hub_identity(ctx, "only the organiser's hub assigns scorers to laptops")?;
    let (scorer, device_ok) = ctx.store().read(|c| {
        Ok((
            match guanmo_store::scoring::get_scorer(c, scorer_id) {
                Ok(_) => true,
                Err(guanmo_store::StoreError::NotFound { .. }) => false,
                Err(e) => return Err(e),
            },
            match device_id {
                Some(d) => devices::is_laptop(c, d, Some("scorer"), true)?,
                None => true,
            },
        ))
    })?;
    if !scorer {
        return Err(SyncError::new(SyncErrorCode::BadRequest, "no such scorer"));
    }
    if !device_ok {
        return Err(SyncError::new(
            SyncErrorCode::BadRequest,
            "assign a scorer to a paired, unrevoked 评分电脑",
        ));
    }
    let rules = identity::rules(&me);
    Ok(ctx
        .store()
        .write_without_ops(ctx.now(), "organiser", |tx| {
            let changed = guanmo_store::trust::assign_scorer(tx, scorer_id, device_id)?;
            // Sheets that waited for this assignment go through now.
            guanmo_store::oplog::apply_remote(tx, &rules, &[])?;
            Ok(changed)
        })?)
}
