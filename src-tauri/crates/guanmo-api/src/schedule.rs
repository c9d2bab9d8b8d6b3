//! The tour's dates (观摩日期) and scoring by the schedule: the organiser sets day 1's date
//! on the hub (replicated to every laptop) and may hand a township back to the schedule
//! (按日程). Whether a township is open is decided by `guanmo_domain::schedule` from the
//! manual state, the township's day and arrival and this device's clock, so a laptop that
//! lost contact opens a township on time by itself.

use crate::scoring::ScoringBoard;
use crate::{ApiError, ApiResult, Ctx, ErrorCode};
use guanmo_domain::problem::has_errors;
use guanmo_domain::roster::Township;
use guanmo_domain::schedule::{self, TourSettings, Window};
use guanmo_domain::scoring::ScoringState;
use guanmo_store::scoring as store;
use std::collections::HashMap;

/// The tour's settings (defaults until the organiser sets them). Anyone may read them: the
/// schedule is no secret.
pub fn get_tour_settings(ctx: &Ctx) -> ApiResult<TourSettings> {
    Ok(ctx.store.read(store::tour_settings)?)
}

/// Sets the tour's settings (组织方, on the hub), if valid; a blank date clears it and
/// townships then open only by hand.
pub fn set_tour_settings(ctx: &Ctx, settings: TourSettings) -> ApiResult<TourSettings> {
    ctx.ensure_organiser()?;
    let settings = settings.normalized();
    let problems = settings.validate();
    if has_errors(&problems) {
        return Err(ApiError::with_problems(
            ErrorCode::Validation,
            "tour settings refused",
            problems,
        ));
    }
    ctx.store.write(ctx.now(), &ctx.author()?, |tx| {
        store::set_tour_settings(tx, &settings)
    })?;
    get_tour_settings(ctx)
}

/// Hands a township back to the schedule (按日程, 组织方): it is open from its scheduled
/// arrival to the end of its tour day, unless the organiser opens or closes it by hand again.
pub fn follow_schedule(ctx: &Ctx, township_id: &str) -> ApiResult<ScoringBoard> {
    ctx.ensure_organiser()?;
    let t = ctx
        .store
        .read(|c| guanmo_store::roster::get(c, township_id))?;
    ctx.store.write(ctx.now(), &ctx.author()?, |tx| {
        store::follow_schedule(tx, &t.id)
    })?;
    crate::scoring::scoring_board(ctx)
}

/// Each township's scheduled window, for those that have one under the tour date in force.
pub(crate) fn windows(ctx: &Ctx, townships: &[Township]) -> ApiResult<HashMap<String, Window>> {
    let first = get_tour_settings(ctx)?.first_day_date();
    Ok(townships
        .iter()
        .filter_map(|t| {
            let w = schedule::window(first, t.day, t.arrival.as_deref(), t.slot_minutes)?;
            Some((t.id.clone(), w))
        })
        .collect())
}

/// Whether a township is being scored now on this device.
pub(crate) fn state_now(ctx: &Ctx, township: &Township) -> ApiResult<ScoringState> {
    let manual = ctx.store.read(|c| store::manual_state(c, &township.id))?;
    let window = windows(ctx, std::slice::from_ref(township))?;
    Ok(schedule::effective_state(
        manual,
        window.get(&township.id),
        ctx.now(),
    ))
}

/// A time as Beijing time, RFC 3339 with `+08:00` (what the UI shows as it is).
pub(crate) fn beijing_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.with_timezone(&schedule::beijing()).to_rfc3339()
}

/// Whether a sheet submitted at `submitted_at` (RFC 3339) came after its township's slot.
pub(crate) fn late(submitted_at: Option<&str>, window: Option<&Window>) -> bool {
    submitted_at
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .is_some_and(|at| schedule::is_late(at.with_timezone(&chrono::Utc), window))
}
