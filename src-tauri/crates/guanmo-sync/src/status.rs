//! What the 同步 view shows: this device, its hub or its paired devices, what waits to go
//! out or come in, photos still to transfer, held-back operations, refusals and conflicts.

use crate::identity::{self, Role};
use crate::{blobs, SyncResult};
use guanmo_api::Ctx;
use guanmo_media::MediaStore;
use guanmo_store::{meta, oplog};
use serde::Serialize;
use specta::Type;

/// Clock difference from the hub above which the UI warns (ms).
pub const SKEW_WARN_MS: i64 = 2 * 60 * 1000;

/// A paired device as the hub sees it (or the hub as a laptop sees it).
#[derive(Debug, Clone, Serialize, Type)]
pub struct DeviceStatus {
    /// Device id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// When it paired.
    pub paired_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
    /// Last request from it (on the hub) or last exchange with it (on a laptop).
    pub last_contact: Option<String>,
    /// Its operations received here without a gap.
    pub ops_received: u32,
    /// Its operations held back here, waiting for earlier ones.
    pub backlog: u32,
    /// Address of the hub (on a laptop).
    pub address: Option<String>,
    /// On the hub: the scorers the organiser assigned to this laptop (only its sheets for
    /// them are accepted).
    pub scorer_ids: Vec<String>,
}

/// A refusal or conflict, for a person.
#[derive(Debug, Clone, Serialize, Type)]
pub struct IssueView {
    /// Id.
    pub id: String,
    /// `refused` or `conflict`.
    pub kind: String,
    /// Stable code (`hub_only`, `not_owner`, `hub_changed_scores`, `bad_payload`,
    /// `concurrent_edit`, …).
    pub code: String,
    /// Device that sent the operation.
    pub origin: String,
    /// Its number there.
    pub seq: u32,
    /// Kind of record.
    pub entity_kind: String,
    /// Record id.
    pub entity_id: String,
    /// The other side of a conflict (the version that stands).
    pub other_origin: Option<String>,
    /// Details.
    pub detail: String,
    /// When found.
    pub at: String,
    /// When handled.
    pub resolved_at: Option<String>,
}

/// The 同步 view.
#[derive(Debug, Clone, Serialize, Type)]
pub struct SyncOverview {
    /// This device.
    pub device_id: String,
    /// Its name.
    pub name: String,
    /// Its role, once chosen.
    pub role: Option<Role>,
    /// The hub's id (itself on the hub).
    pub hub_id: Option<String>,
    /// Operations this device made.
    pub own_ops: u32,
    /// Of those, not yet confirmed by the hub (laptops).
    pub unconfirmed: u32,
    /// Operations held back here.
    pub backlog: u32,
    /// Photos whose original is not here yet.
    pub photos_missing: u32,
    /// Hub clock minus this laptop's clock at the last exchange (ms).
    pub clock_offset_ms: Option<i32>,
    /// The clock differs from the hub's by more than two minutes.
    pub clock_warning: bool,
    /// Paired devices (hub) or the hub (laptop).
    pub devices: Vec<DeviceStatus>,
    /// Refusals and conflicts, newest first.
    pub issues: Vec<IssueView>,
}

fn clamp(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// The overview.
pub fn overview(ctx: &Ctx, media: &MediaStore) -> SyncResult<SyncOverview> {
    let me = identity::device_identity(ctx)?;
    let store = ctx.store();
    let (own, acked, offset, last_contact, backlog, issues, devices, hashes) = store.read(|c| {
        let own = oplog::watermark(c, &me.id)?;
        let acked: i64 = meta::get(c, "hub_acked_seq")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let offset: Option<i64> = meta::get(c, "hub_clock_offset_ms")?.and_then(|s| s.parse().ok());
        let last_contact = meta::get(c, "hub_last_contact")?;
        let backlog = oplog::backlog_counts(c)?;
        let issues = oplog::issues(c)?;
        let marks = oplog::watermarks(c)?;
        let mut assigned: std::collections::HashMap<String, Vec<String>> =
            std::collections::HashMap::new();
        for a in guanmo_store::trust::scorer_assignments(c)? {
            assigned.entry(a.device_id).or_default().push(a.scorer_id);
        }
        let mut st = c.prepare(
            "SELECT id, name, role, paired_at, revoked_at, last_contact, address FROM devices
             ORDER BY revoked_at IS NOT NULL, paired_at",
        )?;
        let devices = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .map(
                |(id, name, role, paired_at, revoked_at, lc, address)| DeviceStatus {
                    ops_received: clamp(marks.get(&id).copied().unwrap_or(0)),
                    backlog: clamp(backlog.get(&id).copied().unwrap_or(0)),
                    scorer_ids: assigned.remove(&id).unwrap_or_default(),
                    last_contact: lc,
                    role: Role::parse(&role).unwrap_or(Role::Scorer),
                    id,
                    name,
                    paired_at,
                    revoked_at,
                    address,
                },
            )
            .collect::<Vec<_>>();
        let mut st = c.prepare("SELECT hash FROM photos")?;
        let hashes = st
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok((
            own,
            acked,
            offset,
            last_contact,
            backlog,
            issues,
            devices,
            hashes,
        ))
    })?;
    let is_hub = me.role == Some(Role::Hub);
    let mut devices = devices;
    if !is_hub {
        for d in &mut devices {
            if d.role == Role::Hub {
                d.last_contact = last_contact.clone();
            }
        }
    }
    Ok(SyncOverview {
        device_id: me.id.clone(),
        name: me.name.clone(),
        role: me.role,
        hub_id: me.hub_id.clone(),
        own_ops: clamp(own),
        unconfirmed: if is_hub { 0 } else { clamp(own - acked) },
        backlog: clamp(backlog.values().sum()),
        photos_missing: clamp(
            i64::try_from(
                hashes
                    .iter()
                    .filter(|h| !blobs::has_original(media, h))
                    .count(),
            )
            .unwrap_or(i64::MAX),
        ),
        clock_offset_ms: offset
            .map(|o| i32::try_from(o).unwrap_or(if o < 0 { i32::MIN } else { i32::MAX })),
        clock_warning: offset.is_some_and(|o| o.abs() > SKEW_WARN_MS),
        devices,
        issues: issues
            .into_iter()
            .map(|i| IssueView {
                id: i.id,
                kind: i.kind,
                code: i.code,
                origin: i.op.origin,
                seq: clamp(i.op.seq),
                entity_kind: i.entity_kind,
                entity_id: i.entity_id,
                other_origin: i.other.map(|o| o.origin),
                detail: i.detail,
                at: i.at,
                resolved_at: i.resolved_at,
            })
            .collect(),
    })
}

/// Marks a refusal or conflict as handled.
pub fn resolve_issue(ctx: &Ctx, id: &str) -> SyncResult<bool> {
    let role = identity::device_identity(ctx)?.role;
    let actor = if role == Some(Role::Hub) {
        "organiser"
    } else {
        "device"
    };
    Ok(ctx
        .store()
        .write_without_ops(ctx.now(), actor, |tx| oplog::resolve_issue(tx, id))?)
}

/// Resolves a conflict at the hub for the version that did not stand: that version becomes
/// current on every replica (as a new write of the hub), and the conflict is marked handled.
pub fn adopt_other_version(ctx: &Ctx, issue_id: &str) -> SyncResult<bool> {
    if identity::device_identity(ctx)?.role != Some(Role::Hub) {
        return Err(crate::SyncError::new(
            crate::SyncErrorCode::BadRequest,
            "only the organiser's hub resolves conflicts",
        ));
    }
    let Some(issue) = ctx.store().read(|c| oplog::issue(c, issue_id))? else {
        return Ok(false);
    };
    if issue.kind != "conflict" || issue.resolved_at.is_some() {
        return Ok(false);
    }
    Ok(ctx.store().write(ctx.now(), "organiser", |tx| {
        let adopted = oplog::adopt_version(tx, &issue.op)?;
        if adopted {
            oplog::resolve_issue(tx, issue_id)?;
        }
        Ok(adopted)
    })?)
}
