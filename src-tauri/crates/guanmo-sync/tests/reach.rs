//! 传播数据 on a media laptop: the resident site runs on the hub, so a paired media laptop
//! shows the hub's figures; a scorer's laptop is refused them; a media laptop that cannot
//! reach the hub shows its own site's counts with a note saying why.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{TimeZone, Utc};
use guanmo_api::reach::{self, Counted, ReachSource};
use guanmo_api::Ctx;
use guanmo_domain::FixedClock;
use guanmo_sync::memory::{Faults, MemoryTransport};
use guanmo_sync::{HubService, Role, SyncErrorCode, Transport};
use std::sync::Arc;

struct Device {
    ctx: Ctx,
    _dir: tempfile::TempDir,
}

fn device(role: Role, name: &str) -> Device {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2026, 12, 4, 2, 0, 0).unwrap(),
    ));
    let ctx = Ctx::open(&dir.path().join("data"), clock).unwrap();
    guanmo_sync::set_role(&ctx, role, name).unwrap();
    Device { ctx, _dir: dir }
}

fn paired(hub: &Device, service: &HubService, laptop: &Device, seed: u64) -> MemoryTransport {
    let t = MemoryTransport::new(service.clone(), Faults::default(), seed);
    let code = guanmo_sync::new_pairing_code(&hub.ctx).unwrap();
    guanmo_sync::pair_with_hub(&laptop.ctx, &t, "memory://hub", &code.code).unwrap();
    t
}

fn page_views(ctx: &Ctx, views: u64, phones: usize) {
    let visitors = (0..phones).map(|i| format!("phone-{i}")).collect();
    reach::record(
        ctx,
        &[Counted {
            day: "2026-12-04".into(),
            post_id: None,
            views,
            peak_live: 7,
            visitors,
        }],
    )
    .unwrap();
}

#[test]
fn a_media_laptop_shows_the_hubs_figures_and_a_scorers_laptop_is_refused_them() {
    let hub = device(Role::Hub, "组织方主机");
    let service = HubService::new(hub.ctx.clone(), hub.ctx.media().clone());
    let media = device(Role::Media, "直播电脑");
    let scorer = device(Role::Scorer, "评分电脑");
    let to_hub = paired(&hub, &service, &media, 3);
    let scorer_link = paired(&hub, &service, &scorer, 5);

    // Residents read the hub's site: 120 page loads by 40 phones. The laptop's own site
    // counted 3 loads by 1 phone.
    page_views(&hub.ctx, 120, 40);
    page_views(&media.ctx, 3, 1);

    let seen = guanmo_sync::reach::view_over(&media.ctx, &to_hub).unwrap();
    assert_eq!(seen.source, ReachSource::Hub);
    assert_eq!(seen.source_note, None);
    assert_eq!(seen.total.views, 120);
    assert_eq!(seen.total.peak_live, 7);
    let err = f64::from(seen.total.visitors.abs_diff(40));
    assert!(
        err <= 40.0 * 3.0 * reach::VISITOR_ERROR + 1.0,
        "{}",
        seen.total.visitors
    );
    assert_eq!(seen.days.len(), 1);
    // The workbook of what the view shows says where the figures come from.
    let out = media._dir.path().join("传播数据.xlsx");
    reach::write_xlsx(&seen, &out).unwrap();
    assert!(std::fs::metadata(&out).unwrap().len() > 1000);

    // A scorer's laptop is no newsroom: the hub refuses it.
    let refused = scorer_link.reach().unwrap_err();
    assert_eq!(refused.code, SyncErrorCode::BadRequest, "{refused}");
    // An unknown token is refused too.
    let stranger = MemoryTransport::new(service.clone(), Faults::default(), 9);
    assert_eq!(
        stranger.reach().unwrap_err().code,
        SyncErrorCode::Unauthorized
    );
}

#[test]
fn a_media_laptop_that_cannot_reach_the_hub_shows_its_own_counts_and_says_why() {
    let hub = device(Role::Hub, "组织方主机");
    let service = HubService::new(hub.ctx.clone(), hub.ctx.media().clone());
    let media = device(Role::Media, "直播电脑");
    let to_hub = paired(&hub, &service, &media, 11);
    page_views(&hub.ctx, 120, 40);
    page_views(&media.ctx, 3, 1);
    to_hub.set_cut(true);

    let seen = guanmo_sync::reach::view_over(&media.ctx, &to_hub).unwrap();
    assert_eq!(seen.source, ReachSource::ThisDevice);
    assert_eq!(seen.total.views, 3);
    let note = seen.source_note.unwrap();
    assert!(note.contains("连接不上") && note.contains("本机"), "{note}");

    // A laptop not paired with any hub (or the hub itself) shows its own, without a note.
    let alone = device(Role::Media, "未配对");
    page_views(&alone.ctx, 2, 1);
    let own = guanmo_sync::reach::view(&alone.ctx).unwrap();
    assert_eq!((own.source, own.total.views), (ReachSource::ThisDevice, 2));
    assert_eq!(own.source_note, None);
    let at_hub = guanmo_sync::reach::view(&hub.ctx).unwrap();
    assert_eq!(
        (at_hub.source, at_hub.total.views),
        (ReachSource::ThisDevice, 120)
    );
}
