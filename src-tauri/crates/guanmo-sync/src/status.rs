//! What the 同步 view shows: this device, its hub or its paired devices, what waits to go
//! out or come in, photos still to transfer, held-back operations, refusals and conflicts.

use crate::identity::{self, Role};
use crate::protocol::OriginalsPolicy;
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
    /// It holds the hub's 审核 (moderator) grant: its decisions on comments are accepted.
    pub moderator: bool,
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
    /// When originals travel (原图上传): the hub's setting, on a laptop as last heard.
    pub originals: OriginalsPolicy,
    /// This laptop's posts whose latest change the hub has not confirmed yet (待上传); a
    /// published post not listed here is on the resident page. Empty on the hub.
    pub posts_waiting: Vec<String>,
}

fn clamp(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// The overview.
pub fn overview(ctx: &Ctx, media: &MediaStore) -> SyncResult<SyncOverview> {
    let me = identity::device_identity(ctx)?;
    let store = ctx.store();
    let (own, acked, offset, last_contact, backlog, issues, devices, hashes, heads) =
        store.read(|c| {
            let own = oplog::watermark(c, &me.id)?;
            let acked: i64 = meta::get(c, "hub_acked_seq")?
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let offset: Option<i64> =
                meta::get(c, "hub_clock_offset_ms")?.and_then(|s| s.parse().ok());
            let last_contact = meta::get(c, "hub_last_contact")?;
            let backlog = oplog::backlog_counts(c)?;
            let issues = oplog::issues(c)?;
            let marks = oplog::watermarks(c)?;
            let mut assigned: std::collections::HashMap<String, Vec<String>> =
                std::collections::HashMap::new();
            for a in guanmo_store::trust::scorer_assignments(c)? {
                assigned.entry(a.device_id).or_default().push(a.scorer_id);
            }
            let moderators = guanmo_store::trust::moderators(c)?;
            let devices = guanmo_store::devices::list(c)?
                .into_iter()
                .map(|d| DeviceStatus {
                    moderator: moderators.contains(&d.id),
                    ops_received: clamp(marks.get(&d.id).copied().unwrap_or(0)),
                    backlog: clamp(backlog.get(&d.id).copied().unwrap_or(0)),
                    scorer_ids: assigned.remove(&d.id).unwrap_or_default(),
                    last_contact: d.last_contact,
                    role: Role::parse(&d.role).unwrap_or(Role::Scorer),
                    id: d.id,
                    name: d.name,
                    paired_at: d.paired_at,
                    revoked_at: d.revoked_at,
                    address: d.address,
                })
                .collect::<Vec<_>>();
            let hashes: Vec<String> = guanmo_store::photos::hashes_and_sizes(c)?
                .into_iter()
                .map(|(h, _)| h)
                .collect();
            let heads = guanmo_store::outbox::post_heads(c, &me.id)?;
            Ok((
                own,
                acked,
                offset,
                last_contact,
                backlog,
                issues,
                devices,
                hashes,
                heads,
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
        originals: crate::originals::effective(ctx)?,
        posts_waiting: if is_hub {
            Vec::new()
        } else {
            heads
                .into_iter()
                .filter(|(_, seq)| *seq > acked)
                .map(|(id, _)| id)
                .collect()
        },
    })
}

/// What of this device's own work the hub has confirmed: the 评分表 list's 已提交·待上传 /
/// 已送达 and the status strip's "N项待上传".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
pub struct Delivery {
    /// This device hands its work to a hub (a paired laptop). On the hub itself and on a
    /// laptop not paired yet nothing is ever "delivered", and the lists below are empty.
    pub to_hub: bool,
    /// This device's sheets whose latest change the hub has not confirmed yet.
    pub pending_sheet_ids: Vec<String>,
    /// Records (sheets, photos, posts, decisions on comments) with a change the hub has not
    /// confirmed yet.
    pub pending_records: u32,
    /// Comments with a moderator's decision made here that the hub has not confirmed yet
    /// (待上传: queued while offline).
    pub pending_comment_ids: Vec<String>,
}

/// What the hub has not confirmed of this device's work. The hub confirms a laptop's
/// operations in sequence (`hub_acked_seq`), so a record is delivered once every operation
/// this device made on it, up to and including the last one, is at or below that number.
pub fn delivery(ctx: &Ctx) -> SyncResult<Delivery> {
    let me = identity::device_identity(ctx)?;
    let to_hub = me.role.is_some_and(|r| r != Role::Hub) && me.hub_id.is_some();
    if !to_hub {
        return Ok(Delivery {
            to_hub,
            pending_sheet_ids: Vec::new(),
            pending_records: 0,
            pending_comment_ids: Vec::new(),
        });
    }
    let (sheets, comments, records) = ctx.store().read(|c| {
        let acked: i64 = meta::get(c, "hub_acked_seq")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let rows = guanmo_store::outbox::unconfirmed_records(c, &me.id, acked)?;
        let sheets: Vec<String> = rows
            .iter()
            .filter(|(kind, _)| kind == oplog::Kind::Sheet.as_str())
            .map(|(_, id)| id.clone())
            .collect();
        let comments: Vec<String> = rows
            .iter()
            .filter(|(kind, _)| kind == oplog::Kind::CommentDecision.as_str())
            .map(|(_, id)| id.clone())
            .collect();
        Ok((sheets, comments, rows.len()))
    })?;
    Ok(Delivery {
        to_hub,
        pending_sheet_ids: sheets,
        pending_comment_ids: comments,
        pending_records: clamp(i64::try_from(records).unwrap_or(i64::MAX)),
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
    identity::hub_identity(ctx, "only the organiser's hub resolves conflicts")?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::{Faults, MemoryTransport};
    use crate::HubService;
    use guanmo_api::scoring;
    use guanmo_domain::scoring::ScorerInput;
    use guanmo_domain::SystemClock;
    use std::sync::Arc;

    fn device(role: Role) -> (Ctx, MediaStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Ctx::open(dir.path(), Arc::new(SystemClock)).unwrap();
        let media = MediaStore::new(dir.path()).unwrap();
        crate::set_role(&ctx, role, "测试").unwrap();
        (ctx, media, dir)
    }

    #[test]
    fn a_sheet_is_pending_until_the_hub_confirmed_its_latest_change() {
        let (hub, hub_media, _h) = device(Role::Hub);
        let nobody = delivery(&hub).unwrap();
        assert!(!nobody.to_hub, "the hub delivers to nobody");
        let scorer = scoring::register_scorer(
            &hub,
            ScorerInput {
                name: "张三".into(),
                group: "市领导".into(),
                township_id: None,
                active: true,
                work_unit: String::new(),
            },
        )
        .unwrap();
        let town = guanmo_api::roster::list_townships(&hub)
            .unwrap()
            .into_iter()
            .find(|t| t.enabled)
            .unwrap();
        scoring::set_scoring_open(&hub, &town.id, true).unwrap();

        let (laptop, media, _l) = device(Role::Scorer);
        assert!(
            !delivery(&laptop).unwrap().to_hub,
            "an unpaired laptop delivers to nobody"
        );
        let service = HubService::new(hub.clone(), hub_media);
        let link = MemoryTransport::new(service.clone(), Faults::default(), 7);
        let code = crate::new_pairing_code(&hub).unwrap();
        crate::pair_with_hub(&laptop, &link, "memory://hub", &code.code).unwrap();
        crate::sync_once(&laptop, &media, &link, &|_| {}).unwrap();
        let laptop_id = crate::device_identity(&laptop).unwrap().id;
        crate::assign_scorer(&hub, &scorer.id, Some(&laptop_id)).unwrap();
        crate::sync_once(&laptop, &media, &link, &|_| {}).unwrap();
        let synced = delivery(&laptop).unwrap();
        assert!(synced.to_hub);
        assert_eq!(synced.pending_records, 0, "{synced:?}");

        let sheet = scoring::open_sheet(&laptop, &scorer.id, &town.id).unwrap();
        let other = scoring::open_sheet(
            &laptop,
            &scorer.id,
            &guanmo_api::roster::list_townships(&laptop)
                .unwrap()
                .into_iter()
                .filter(|t| t.enabled)
                .nth(1)
                .unwrap()
                .id,
        );
        assert!(other.is_err(), "only the open township starts a sheet");
        let pending = delivery(&laptop).unwrap();
        assert_eq!(pending.pending_sheet_ids, vec![sheet.id.clone()]);
        assert_eq!(pending.pending_records, 1);

        crate::sync_once(&laptop, &media, &link, &|_| {}).unwrap();
        assert_eq!(
            delivery(&laptop).unwrap().pending_sheet_ids,
            Vec::<String>::new(),
            "delivered once the hub confirmed it"
        );

        // A later change makes it pending again, until the next exchange.
        let criterion = guanmo_api::rubric::get_rubric(&laptop).unwrap().categories[0].criteria[0]
            .id
            .clone()
            .unwrap();
        scoring::record_mark(&laptop, &sheet.id, &criterion, Some(1.0), String::new()).unwrap();
        assert_eq!(
            delivery(&laptop).unwrap().pending_sheet_ids,
            vec![sheet.id.clone()]
        );
        link.set_cut(true);
        assert!(crate::sync_once(&laptop, &media, &link, &|_| {}).is_err());
        assert_eq!(
            delivery(&laptop).unwrap().pending_sheet_ids,
            vec![sheet.id.clone()],
            "a failed exchange confirms nothing"
        );
        link.set_cut(false);
        crate::sync_once(&laptop, &media, &link, &|_| {}).unwrap();
        let done = delivery(&laptop).unwrap();
        assert!(done.pending_sheet_ids.is_empty(), "{done:?}");
        assert_eq!(done.pending_records, 0);
    }

    #[test]
    fn a_published_post_waits_until_the_hub_confirmed_it_and_the_laptop_learns_the_originals_setting(
    ) {
        let (hub, hub_media, _h) = device(Role::Hub);
        crate::originals::set_policy(&hub, OriginalsPolicy::UsbOnly).unwrap();
        let (laptop, media, _l) = device(Role::Media);
        assert_eq!(
            overview(&laptop, &media).unwrap().originals,
            OriginalsPolicy::Background,
            "the default until the hub says"
        );
        let service = HubService::new(hub.clone(), hub_media.clone());
        let link = MemoryTransport::new(service, Faults::default(), 3);
        let code = crate::new_pairing_code(&hub).unwrap();
        crate::pair_with_hub(&laptop, &link, "memory://hub", &code.code).unwrap();
        let post = guanmo_api::feed::create_draft(
            &laptop,
            guanmo_domain::feed::PostInput {
                stop_label: None,
                township_id: None,
                body: "观摩开始".into(),
                photos: Vec::new(),
                credit: String::new(),
            },
        )
        .unwrap();
        let post = guanmo_api::feed::publish_post(&laptop, &post.id, post.version).unwrap();
        assert_eq!(
            overview(&laptop, &media).unwrap().posts_waiting,
            vec![post.id.clone()]
        );
        link.set_cut(true);
        assert!(crate::sync_once(&laptop, &media, &link, &|_| {}).is_err());
        assert_eq!(
            overview(&laptop, &media).unwrap().posts_waiting,
            vec![post.id.clone()],
            "offline: still waiting"
        );
        link.set_cut(false);
        crate::sync_once(&laptop, &media, &link, &|_| {}).unwrap();
        let o = overview(&laptop, &media).unwrap();
        assert!(o.posts_waiting.is_empty(), "{:?}", o.posts_waiting);
        assert_eq!(o.originals, OriginalsPolicy::UsbOnly);
        assert!(overview(&hub, &hub_media).unwrap().posts_waiting.is_empty());
        assert_eq!(
            crate::originals::set_policy(&laptop, OriginalsPolicy::Background)
                .unwrap_err()
                .code,
            guanmo_api::ErrorCode::HubOnly,
            "only the hub sets it"
        );
    }
}
