//! Pairing: the hub shows a one-time code (6 digits, valid 10 minutes, 5 tries); a laptop
//! sends it once with its id, role and public key and receives a device token. The hub keeps
//! only hashes of codes and tokens. After 5 wrong tries the code is dead, so guessing a
//! 6-digit code succeeds with probability 5 in a million at most per code shown.

use crate::identity::{self, hex32, random32, DeviceIdentity, Role};
use crate::protocol::{PairRequest, PairResponse};
use crate::{SyncError, SyncErrorCode, SyncResult, Transport};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use guanmo_api::Ctx;
use guanmo_store::{meta, ChangeInput};
use serde::Serialize;
use specta::Type;

/// Wrong tries after which a code is dead.
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
    let me = identity::device_identity(ctx)?;
    if me.role != Some(Role::Hub) {
        return Err(SyncError::new(
            SyncErrorCode::BadRequest,
            "only the organiser's hub shows pairing codes",
        ));
    }
    let r = random32()?;
    let n = u32::from_le_bytes([r[0], r[1], r[2], r[3]]) % 1_000_000;
    let code = format!("{n:06}");
    let now = ctx.now();
    let expires = now + Duration::minutes(PAIRING_VALID_MINUTES);
    ctx.store().write_without_ops(now, "organiser", |tx| {
        tx.conn().execute(
            "UPDATE pairing_codes SET used_at = ?1, used_by = 'replaced' WHERE used_at IS NULL",
            [tx.at()],
        )?;
        tx.conn().execute(
            "INSERT INTO pairing_codes (code_hash, created_at, expires_at) VALUES (?1, ?2, ?3)",
            rusqlite::params![hash_secret(&code), tx.at(), rfc(expires)],
        )?;
        Ok(())
    })?;
    Ok(PairingCode {
        code,
        expires_at: rfc(expires),
    })
}

/// The hub's side of pairing: checks the code and registers the device.
pub(crate) fn redeem(ctx: &Ctx, req: &PairRequest) -> SyncResult<PairResponse> {
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
        || req.device_id == me.id
    {
        return Err(SyncError::new(
            SyncErrorCode::BadRequest,
            "malformed pairing request",
        ));
    }
    let token = hex32(&random32()?);
    let now = ctx.now();
    let outcome = ctx.store().write_without_ops(now, "organiser", |tx| {
        let c = tx.conn();
        // The one live code: newest unused.
        let live: Option<(String, String, i64)> = c
            .query_row(
                "SELECT code_hash, expires_at, tries FROM pairing_codes
                 WHERE used_at IS NULL ORDER BY created_at DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(e),
            })?;
        let Some((hash, expires_at, tries)) = live else {
            return Ok(Err("no live pairing code"));
        };
        if tries >= PAIRING_TRIES {
            return Ok(Err("too many wrong tries; show a new code"));
        }
        if expires_at.as_str() <= tx.at() {
            return Ok(Err("the pairing code expired"));
        }
        if hash != hash_secret(req.code.trim()) {
            c.execute(
                "UPDATE pairing_codes SET tries = tries + 1 WHERE code_hash = ?1",
                [&hash],
            )?;
            return Ok(Err("wrong pairing code"));
        }
        c.execute(
            "UPDATE pairing_codes SET used_at = ?2, used_by = ?3 WHERE code_hash = ?1",
            rusqlite::params![hash, tx.at(), req.device_id],
        )?;
        c.execute(
            "INSERT INTO devices (id, name, role, public_key, token_hash, paired_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role,
                 public_key = excluded.public_key, token_hash = excluded.token_hash,
                 paired_at = excluded.paired_at, revoked_at = NULL",
            rusqlite::params![
                req.device_id,
                req.name.trim(),
                req.role.as_str(),
                req.public_key,
                hash_secret(&token),
                tx.at()
            ],
        )?;
        tx.record(ChangeInput {
            entity: "device",
            entity_id: req.device_id.clone(),
            op: "pair",
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

/// The laptop's side: sends the code to the hub over `transport` and remembers the hub.
pub fn pair_with_hub(
    ctx: &Ctx,
    transport: &dyn Transport,
    hub_url: &str,
    code: &str,
) -> SyncResult<PairResponse> {
    let me: DeviceIdentity = identity::device_identity(ctx)?;
    let role = match me.role {
        Some(Role::Hub) | None => {
            return Err(SyncError::new(
                SyncErrorCode::BadRequest,
                "choose 评分电脑 or 直播电脑 before pairing",
            ))
        }
        Some(r) => r,
    };
    let resp = transport.pair(&PairRequest {
        code: code.to_string(),
        device_id: me.id.clone(),
        name: me.name.clone(),
        role,
        public_key: me.public_key_hex(),
    })?;
    if identity::parse_hex32(&resp.hub_public_key).is_none() || resp.token.len() != 64 {
        return Err(SyncError::new(
            SyncErrorCode::Unreachable,
            "hub answered garbage",
        ));
    }
    if me.hub_id.as_ref().is_some_and(|h| *h != resp.hub_id) {
        // Two hubs would split the data: a laptop keeps the hub it first synced with.
        return Err(SyncError::new(
            SyncErrorCode::BadRequest,
            "this laptop is paired with another hub",
        ));
    }
    ctx.store()
        .write_without_ops(ctx.now(), "organiser", |tx| {
            meta::set(tx, identity::HUB_ID, &resp.hub_id)?;
            meta::set(tx, identity::HUB_TOKEN, &resp.token)?;
            meta::set(tx, identity::HUB_URL, hub_url)?;
            tx.conn().execute(
                "INSERT INTO devices (id, name, role, public_key, address, paired_at)
             VALUES (?1, ?2, 'hub', ?3, ?4, ?5)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, public_key = excluded.public_key,
                 address = excluded.address, paired_at = excluded.paired_at, revoked_at = NULL",
                rusqlite::params![
                    resp.hub_id,
                    resp.hub_name,
                    resp.hub_public_key,
                    hub_url,
                    tx.at()
                ],
            )?;
            tx.record(ChangeInput {
                entity: "device",
                entity_id: resp.hub_id.clone(),
                op: "pair",
                payload: serde_json::json!({ "role": "hub" }),
            })
        })?;
    Ok(resp)
}

/// The hub revokes a device: its token stops working and its bundles are refused.
pub fn revoke_device(ctx: &Ctx, device_id: &str) -> SyncResult<bool> {
    let n = ctx
        .store()
        .write_without_ops(ctx.now(), "organiser", |tx| {
            let n = tx.conn().execute(
                "UPDATE devices SET revoked_at = ?2, token_hash = NULL
             WHERE id = ?1 AND revoked_at IS NULL AND role <> 'hub'",
                rusqlite::params![device_id, tx.at()],
            )?;
            tx.record(ChangeInput {
                entity: "device",
                entity_id: device_id.to_string(),
                op: "revoke",
                payload: serde_json::json!({}),
            })?;
            Ok(n)
        })?;
    Ok(n == 1)
}

/// The hub hands a replaced laptop's scorers and posts to another paired laptop, so the new
/// one may go on with them (the old one is usually revoked first). Returns how many records
/// (scorers' sheet sets and posts) moved.
pub fn transfer_device(ctx: &Ctx, from: &str, to: &str) -> SyncResult<u32> {
    let me = identity::device_identity(ctx)?;
    if me.role != Some(Role::Hub) {
        return Err(SyncError::new(
            SyncErrorCode::BadRequest,
            "only the organiser's hub hands over a laptop's records",
        ));
    }
    let ok: (i64, i64) = ctx.store().read(|c| {
        Ok((
            c.query_row(
                "SELECT count(*) FROM devices WHERE id = ?1 AND role <> 'hub'",
                [from],
                |r| r.get(0),
            )?,
            c.query_row(
                "SELECT count(*) FROM devices WHERE id = ?1 AND role <> 'hub' AND revoked_at IS NULL",
                [to],
                |r| r.get(0),
            )?,
        ))
    })?;
    if ok != (1, 1) || from == to {
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
    let id: Option<String> = ctx.store().read(|c| {
        Ok(c.query_row(
            "SELECT id FROM devices WHERE token_hash = ?1 AND revoked_at IS NULL",
            [hash],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })?)
    })?;
    id.ok_or_else(|| SyncError::new(SyncErrorCode::Unauthorized, "unknown or revoked device"))
}
