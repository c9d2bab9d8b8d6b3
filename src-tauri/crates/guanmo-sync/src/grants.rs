//! 审核 (moderator) grants: the organiser's hub lets paired laptops decide on residents'
//! comments (more than one at a time) and takes it back. A grant is a replicated record of the
//! hub's (`guanmo_store::trust::set_moderator`), so the laptop learns it holds the role at its
//! next exchange and its moderation view can open; the hub judges every decision that reaches
//! it against its own grants at that moment, so a revoked moderator's later decisions are
//! refused.

use crate::identity::{self, Role};
use crate::{SyncError, SyncErrorCode, SyncResult};
use guanmo_api::Ctx;
use guanmo_store::{devices, trust};

/// Grants (`on`) or revokes 审核 for a paired, unrevoked laptop. The hub only. Returns whether
/// anything changed.
pub fn grant_moderator(ctx: &Ctx, device_id: &str, on: bool) -> SyncResult<bool> {
    identity::hub_identity(ctx, "only the organiser's hub grants 审核")?;
    let paired = ctx
        .store()
        .read(|c| devices::is_laptop(c, device_id, None, true))?;
    if on && !paired {
        return Err(SyncError::new(
            SyncErrorCode::BadRequest,
            "grant 审核 to a paired, unrevoked laptop",
        ));
    }
    Ok(ctx.store().write(ctx.now(), "organiser", |tx| {
        trust::set_moderator(tx, device_id, on)
    })?)
}

/// Whether this device may moderate comments: the hub always; a laptop while the hub's grant
/// (as last received) holds; a device with no role yet (one laptop used on its own) too.
pub fn may_moderate(ctx: &Ctx) -> SyncResult<bool> {
    let me = identity::device_identity(ctx)?;
    match me.role {
        None | Some(Role::Hub) => Ok(true),
        Some(_) => Ok(ctx.store().read(|c| trust::granted_moderator(c, &me.id))?),
    }
}
