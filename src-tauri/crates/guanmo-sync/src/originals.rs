//! 原图上传: when laptops send their photos' originals. A post always goes to the hub with
//! the 1600 px copies of its photos first, which is what residents see; the originals (the
//! evidence, and the archive the organiser exports) follow as the organiser sets on the hub
//! ([`OriginalsPolicy`]): in the background whenever online, only on the venue's own network,
//! or only by USB bundle. The hub hands its setting to laptops with every pull.

use crate::identity::{self, Role};
use crate::protocol::OriginalsPolicy;
use crate::SyncResult;
use guanmo_api::{ApiError, Ctx, ErrorCode};
use guanmo_store::meta;

/// The organiser's setting, on the hub.
const HUB_KEY: &str = "originals_policy";
/// The hub's setting as this laptop last heard it.
const LAPTOP_KEY: &str = "hub_originals_policy";

fn read(ctx: &Ctx, key: &str) -> SyncResult<OriginalsPolicy> {
    Ok(ctx
        .store()
        .read(|c| meta::get(c, key))?
        .as_deref()
        .and_then(OriginalsPolicy::parse)
        .unwrap_or_default())
}

/// The hub's own setting (the default until the organiser chooses).
pub fn policy(ctx: &Ctx) -> SyncResult<OriginalsPolicy> {
    read(ctx, HUB_KEY)
}

/// What this device follows: on the hub its own setting, on a laptop the hub's as last
/// heard.
pub fn effective(ctx: &Ctx) -> SyncResult<OriginalsPolicy> {
    let me = identity::device_identity(ctx)?;
    if me.role == Some(Role::Hub) {
        policy(ctx)
    } else {
        read(ctx, LAPTOP_KEY)
    }
}

/// The organiser sets it on the hub; laptops hear it on their next pull.
pub fn set_policy(ctx: &Ctx, policy: OriginalsPolicy) -> Result<OriginalsPolicy, ApiError> {
    let me = identity::device_identity(ctx)?;
    if me.role != Some(Role::Hub) {
        return Err(ApiError::new(
            ErrorCode::HubOnly,
            "原图上传方式由主机（组织方电脑）设置",
        ));
    }
    ctx.store().write_without_ops(ctx.now(), "sync", |tx| {
        meta::set(tx, HUB_KEY, policy.as_str())
    })?;
    Ok(policy)
}

/// Keeps the hub's setting from a pull (a hub that sends none predates it: the default).
pub(crate) fn remember(ctx: &Ctx, heard: Option<OriginalsPolicy>) -> SyncResult<()> {
    let heard = heard.unwrap_or_default();
    if ctx.store().read(|c| meta::get(c, LAPTOP_KEY))?.as_deref() == Some(heard.as_str()) {
        return Ok(());
    }
    ctx.store().write_without_ops(ctx.now(), "sync", |tx| {
        meta::set(tx, LAPTOP_KEY, heard.as_str())
    })?;
    Ok(())
}
