//! Automatic sync (同步). On a paired laptop one background thread exchanges with the hub by
//! itself: soon after start, about 2 s after local writes settle, every 15 s otherwise, at
//! once on 立即同步, and after a failure with exponential backoff (2 s → 60 s, jittered so a
//! room of laptops does not retry in step). Only that thread ever runs an exchange, so two
//! runs never overlap. When to run is a state machine with no threads in it, driven by the
//! injected [`Clock`]; [`AutoSync`] wraps it for the thread ([`AutoSync::run`]) and for tests
//! ([`AutoSync::step`]). What a run does and who hears about it is the app's
//! [`AutoDriver`]: on the hub the same thread keeps the peer listener running
//! ([`AutoDriver::tick`]) and tells the window when laptops report in
//! ([`AutoDriver::announce`]). Nothing here knows Tauri.

use crate::identity::{self, Role};
use crate::{Progress, SyncReport};
use chrono::{DateTime, SecondsFormat, Utc};
use guanmo_api::{ApiError, Ctx, ErrorCode};
use guanmo_domain::Clock;
use guanmo_media::MediaStore;
use serde::{Deserialize, Serialize};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// First exchange after the app starts.
pub const FIRST_RUN: Duration = Duration::from_secs(1);
/// Quiet time after a local write before it goes out.
pub const DEBOUNCE: Duration = Duration::from_secs(2);
/// Exchange (or refresh the hub's view) this often when nothing else happens.
pub const PERIOD: Duration = Duration::from_secs(15);
/// Backoff after the first failure, doubling up to [`BACKOFF_MAX`].
pub const BACKOFF_MIN: Duration = Duration::from_secs(2);
/// Longest backoff.
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// Longest wait ever scheduled; a deadline further off means the clock stepped back.
const LONGEST: Duration = if PERIOD.as_secs() > BACKOFF_MAX.as_secs() {
    PERIOD
} else {
    BACKOFF_MAX
};

/// Which part of a run is under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum SyncStep {
    /// Sending this laptop's operations.
    Pushing,
    /// Receiving other devices' operations.
    Pulling,
    /// Sending the 1600 px copies of a post's photos (the post follows them).
    Post,
    /// Moving photos both ways.
    Photos,
}

/// Progress of the running exchange, for the 同步 view's bar.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct SyncProgress {
    /// The step.
    pub step: SyncStep,
    /// Done so far (operations or photos).
    pub done: u32,
    /// Out of, when known (pulling does not know).
    pub total: Option<u32>,
    /// Photo bytes moved so far.
    pub bytes: f64,
    /// The post whose photos are going out ([`SyncStep::Post`]).
    pub post_id: Option<String>,
}

impl From<Progress> for SyncProgress {
    fn from(p: Progress) -> Self {
        match p {
            Progress::Pushing { done, total } => SyncProgress {
                step: SyncStep::Pushing,
                done,
                total: Some(total),
                bytes: 0.0,
                post_id: None,
            },
            Progress::Pulling { done } => SyncProgress {
                step: SyncStep::Pulling,
                done,
                total: None,
                bytes: 0.0,
                post_id: None,
            },
            Progress::Post {
                post_id,
                done,
                total,
            } => SyncProgress {
                step: SyncStep::Post,
                done,
                total: Some(total),
                bytes: 0.0,
                post_id: Some(post_id),
            },
            Progress::Photos { done, total, bytes } => SyncProgress {
                step: SyncStep::Photos,
                done,
                total: Some(total),
                bytes: bytes as f64,
                post_id: None,
            },
        }
    }
}

/// What the last successful exchange did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct SyncRun {
    /// When it finished (RFC 3339).
    pub at: String,
    /// Own operations the hub confirmed.
    pub pushed: u32,
    /// Operations received and applied here.
    pub applied: u32,
    /// Operations held back here, waiting for earlier ones.
    pub held: u32,
    /// Operations refused here.
    pub refused: u32,
    /// Concurrent edits found.
    pub conflicts: u32,
    /// Own operations the hub refused.
    pub refused_by_hub: u32,
    /// Photos sent to the hub.
    pub photos_sent: u32,
    /// Photos received from the hub.
    pub photos_received: u32,
    /// 1600 px copies sent ahead of their originals.
    pub copies_sent: u32,
    /// Own originals the hub still lacks (waiting as the organiser set: background, the
    /// venue's network, or a USB bundle).
    pub originals_waiting: u32,
    /// Photo bytes moved.
    pub bytes: f64,
}

impl SyncRun {
    fn of(at: String, r: &SyncReport) -> Self {
        SyncRun {
            at,
            pushed: r.pushed,
            applied: r.applied,
            held: r.held,
            refused: r.refused,
            conflicts: r.conflicts,
            refused_by_hub: r.refused_by_hub,
            photos_sent: r.photos_sent,
            photos_received: r.photos_received,
            copies_sent: r.copies_sent,
            originals_waiting: r.originals_waiting,
            bytes: r.bytes as f64,
        }
    }
}

/// The last failed exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, specta::Type)]
pub struct SyncFailure {
    /// When (RFC 3339).
    pub at: String,
    /// Why.
    pub error: ApiError,
}

/// Where automatic sync stands, for the 同步 view.
#[derive(Debug, Clone, Default, PartialEq, Serialize, specta::Type)]
pub struct AutoStatus {
    /// An exchange is running now.
    pub running: bool,
    /// Its progress, while running.
    pub progress: Option<SyncProgress>,
    /// The last successful exchange.
    pub last_run: Option<SyncRun>,
    /// The last failure, cleared by the next success.
    pub last_error: Option<SyncFailure>,
    /// Failed attempts in a row.
    pub failures: u32,
    /// When the next automatic attempt is due (RFC 3339), once one ran on a laptop.
    pub next_attempt_at: Option<String>,
}

/// Why the background thread woke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wakeup {
    /// 立即同步 (or a role or pairing change).
    Now,
    /// Local writes settled.
    Write,
    /// The next attempt was due.
    Timer,
}

/// What [`AutoSync::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Stopped: the app is exiting.
    Stopped,
    /// Nothing to do before this instant (unless rung or written to).
    Sleep(DateTime<Utc>),
    /// Woke for this reason and served it (ticked the driver, exchanged on a laptop).
    Ran(Wakeup),
}

/// What the app does for automatic sync; [`AutoSync`] calls it from its thread, never while
/// holding its lock (so any method may call [`AutoSync::status`]).
pub trait AutoDriver {
    /// Called first on every wake; true when it changed something the window shows (the
    /// shell keeps the hub's peer listener running exactly while the role is hub here).
    fn tick(&self) -> bool {
        false
    }

    /// True when this device exchanges with a hub by itself: see [`syncs_out`].
    fn syncs_out(&self) -> bool;

    /// Operations this device has made, when known: see [`own_ops`]. A run that ends with
    /// more than it began with saw a person's write (not noted while it ran): it goes out
    /// after the usual debounce.
    fn own_ops(&self) -> Option<u32>;

    /// One exchange with the hub, reporting `progress` as it goes: see [`http_exchange`].
    fn exchange(&self, progress: &dyn Fn(Progress)) -> Result<SyncReport, ApiError>;

    /// The running exchange moved on (already in [`AutoSync::status`]).
    fn progress(&self, _progress: &SyncProgress) {}

    /// The status may have changed. `force`: the window must hear it (a run began or ended,
    /// [`tick`](Self::tick) changed something, or 立即同步 woke the thread); otherwise tell
    /// it only when the status differs from the last one sent (the hub's view changes as
    /// laptops report in).
    fn announce(&self, force: bool);
}

/// When to run, and what the last runs did: a state machine with no threads and no clock
/// of its own (every call is given `now`).
#[derive(Debug, Clone)]
struct Schedule {
    /// The next timed attempt (or refresh of the hub's view).
    due: DateTime<Utc>,
    /// Time of the latest local write not yet followed by a run.
    dirty_since: Option<DateTime<Utc>>,
    /// 立即同步: go now.
    rung: bool,
    /// The app is exiting.
    stopped: bool,
    running: bool,
    progress: Option<SyncProgress>,
    last_run: Option<SyncRun>,
    last_error: Option<SyncFailure>,
    failures: u32,
    /// `due`, shown once an attempt was made on a laptop.
    next_attempt_at: Option<DateTime<Utc>>,
}

/// What the schedule says to do at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    Stop,
    Go(Wakeup),
    Sleep(DateTime<Utc>),
}

fn after(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    chrono::Duration::from_std(d)
        .ok()
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

impl Schedule {
    /// Started at `now`: the first run comes [`FIRST_RUN`] later.
    fn new(now: DateTime<Utc>) -> Self {
        Schedule {
            due: after(now, FIRST_RUN),
            dirty_since: None,
            rung: false,
            stopped: false,
            running: false,
            progress: None,
            last_run: None,
            last_error: None,
            failures: 0,
            next_attempt_at: None,
        }
    }

    fn ring(&mut self) {
        self.rung = true;
    }

    /// A write was committed here at `now`.
    fn wrote(&mut self, now: DateTime<Utc>) {
        if self.running {
            // Mostly the exchange's own writes (operations applied from the hub): no news.
            // A person's write meanwhile shows as new own operations after the run.
            return;
        }
        self.note_write(now);
    }

    fn note_write(&mut self, now: DateTime<Utc>) {
        self.dirty_since = Some(now);
    }

    fn stop(&mut self) {
        self.stopped = true;
    }

    /// Forget failures (after pairing, the old hub's refusals are no longer news).
    fn reset_failures(&mut self) {
        self.failures = 0;
        self.last_error = None;
    }

    /// Stop, go now (and why), or sleep until a deadline. During backoff (after a failure)
    /// local writes do not cut the wait short; a ring always does, and stopping wins.
    fn decide(&mut self, now: DateTime<Utc>) -> Decision {
        if self.stopped {
            return Decision::Stop;
        }
        // The clock stepped back: no wait is ever longer than LONGEST, nor a write newer
        // than now.
        let latest = after(now, LONGEST);
        if self.due > latest {
            self.due = latest;
            if self.next_attempt_at.is_some() {
                self.next_attempt_at = Some(latest);
            }
        }
        if self.dirty_since.is_some_and(|t| t > now) {
            self.dirty_since = Some(now);
        }
        if self.rung {
            self.rung = false;
            self.dirty_since = None;
            return Decision::Go(Wakeup::Now);
        }
        let settled = self
            .dirty_since
            .filter(|_| self.failures == 0)
            .map(|t| after(t, DEBOUNCE));
        if settled.is_some_and(|t| t <= now) {
            self.dirty_since = None;
            return Decision::Go(Wakeup::Write);
        }
        if self.due <= now {
            self.dirty_since = None;
            return Decision::Go(Wakeup::Timer);
        }
        Decision::Sleep(settled.map_or(self.due, |t| t.min(self.due)))
    }

    /// An exchange starts.
    fn begin(&mut self) {
        self.running = true;
        self.progress = None;
        self.next_attempt_at = None;
    }

    /// The exchange begun ended at `now` with `result`; `unit` (in 0..1) jitters a backoff.
    fn finish(&mut self, now: DateTime<Utc>, result: Result<SyncReport, ApiError>, unit: f64) {
        self.running = false;
        self.progress = None;
        let delay = match result {
            Ok(report) => {
                self.failures = 0;
                self.last_error = None;
                self.last_run = Some(SyncRun::of(rfc(now), &report));
                if report.yielded {
                    // It gave way to new work written here (a post published while originals
                    // uploaded): that goes out at once, not after the debounce.
                    Duration::ZERO
                } else {
                    PERIOD
                }
            }
            Err(error) => {
                self.failures = self.failures.saturating_add(1);
                tracing::info!(code = ?error.code, message = %error.message, failures = self.failures, "sync failed");
                self.last_error = Some(SyncFailure {
                    at: rfc(now),
                    error,
                });
                backoff(self.failures, unit)
            }
        };
        self.due = after(now, delay);
        self.next_attempt_at = Some(self.due);
    }

    /// A wake with nothing to exchange (the hub, or a laptop not paired): look again in a
    /// [`PERIOD`]. True when that changed what the window shows.
    fn idle(&mut self, now: DateTime<Utc>) -> bool {
        let changed = self.next_attempt_at.take().is_some() || self.failures > 0;
        self.failures = 0;
        self.due = after(now, PERIOD);
        changed
    }

    fn status(&self) -> AutoStatus {
        AutoStatus {
            running: self.running,
            progress: self.progress.clone(),
            last_run: self.last_run.clone(),
            last_error: self.last_error.clone(),
            failures: self.failures,
            next_attempt_at: self.next_attempt_at.map(rfc),
        }
    }
}

/// Delay before retry number `failures` (1 = first retry): 2 s doubling to 60 s, then drawn
/// uniformly from its upper half by `unit` (in 0..1) so laptops spread out.
pub fn backoff(failures: u32, unit: f64) -> Duration {
    let exp = failures.saturating_sub(1).min(16);
    let base = BACKOFF_MIN
        .saturating_mul(1u32 << exp)
        .min(BACKOFF_MAX)
        .as_secs_f64();
    Duration::from_secs_f64(base * (0.5 + 0.5 * unit.clamp(0.0, 1.0)))
}

/// A number in 0..1 from the process's random hasher keys (no extra dependency needed).
pub fn random_unit() -> f64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos().into())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Automatic sync; one per app. Time comes from the clock it was given, jitter from
/// [`random_unit`] unless [`with_jitter`](Self::with_jitter) says otherwise.
pub struct AutoSync {
    clock: Arc<dyn Clock>,
    jitter: fn() -> f64,
    schedule: Mutex<Schedule>,
    bell: Condvar,
}

impl std::fmt::Debug for AutoSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AutoSync")
            .field("schedule", &*lock(&self.schedule))
            .finish_non_exhaustive()
    }
}

impl AutoSync {
    /// Started now: the first run comes [`FIRST_RUN`] later.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        let schedule = Schedule::new(clock.now());
        AutoSync {
            clock,
            jitter: random_unit,
            schedule: Mutex::new(schedule),
            bell: Condvar::new(),
        }
    }

    /// Draws the backoff's jitter (a number in 0..1) from `jitter` (tests fix it).
    #[must_use]
    pub fn with_jitter(mut self, jitter: fn() -> f64) -> Self {
        self.jitter = jitter;
        self
    }

    fn change(&self, f: impl FnOnce(&mut Schedule)) {
        f(&mut lock(&self.schedule));
        self.bell.notify_all();
    }

    /// 立即同步 (or a role or pairing change): run now.
    pub fn ring(&self) {
        self.change(Schedule::ring);
    }

    /// A write was committed here; it goes out once writes settle ([`DEBOUNCE`]). Ignored
    /// while an exchange runs (its own writes); see [`AutoDriver::own_ops`].
    pub fn wrote(&self) {
        let now = self.clock.now();
        self.change(|s| s.wrote(now));
    }

    /// The app is exiting: [`run`](Self::run) returns.
    pub fn stop(&self) {
        self.change(Schedule::stop);
    }

    /// Forgets failures and the last error (after pairing).
    pub fn reset_failures(&self) {
        self.change(Schedule::reset_failures);
    }

    /// Where automatic sync stands.
    pub fn status(&self) -> AutoStatus {
        lock(&self.schedule).status()
    }

    /// Serves wakes until [`stop`](Self::stop); the app's background thread runs this.
    pub fn run(&self, driver: &dyn AutoDriver) {
        while let Some(why) = self.wait() {
            self.serve(driver, why);
        }
    }

    /// Blocks until it is time to go (and says why), or `None` once stopped.
    fn wait(&self) -> Option<Wakeup> {
        let mut s = lock(&self.schedule);
        loop {
            let now = self.clock.now();
            match s.decide(now) {
                Decision::Stop => return None,
                Decision::Go(why) => return Some(why),
                Decision::Sleep(until) => {
                    let left = (until - now).to_std().unwrap_or(Duration::ZERO);
                    s = self
                        .bell
                        .wait_timeout(s, left.min(LONGEST))
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
    }

    /// One pass without waiting: decides at the clock's now and, when it is time, serves the
    /// wake. [`run`](Self::run) is this with the waiting in between.
    pub fn step(&self, driver: &dyn AutoDriver) -> Step {
        let now = self.clock.now();
        let decision = lock(&self.schedule).decide(now);
        match decision {
            Decision::Stop => Step::Stopped,
            Decision::Sleep(until) => Step::Sleep(until),
            Decision::Go(why) => {
                self.serve(driver, why);
                Step::Ran(why)
            }
        }
    }

    /// A wake: tick the driver, exchange on a laptop, tell the window.
    fn serve(&self, driver: &dyn AutoDriver, why: Wakeup) {
        let mut changed = driver.tick();
        let mut own_before = None;
        if driver.syncs_out() {
            lock(&self.schedule).begin();
            driver.announce(true);
            own_before = driver.own_ops();
            let progress = |p: Progress| {
                let p = SyncProgress::from(p);
                lock(&self.schedule).progress = Some(p.clone());
                driver.progress(&p);
            };
            let result = driver.exchange(&progress);
            let unit = (self.jitter)();
            lock(&self.schedule).finish(self.clock.now(), result, unit);
            changed = true;
        } else {
            changed |= lock(&self.schedule).idle(self.clock.now());
        }
        if let Some(before) = own_before {
            if driver.own_ops().is_some_and(|n| n > before) {
                // Written here while the exchange ran (and so not noted): send it soon.
                let now = self.clock.now();
                self.change(|s| s.note_write(now));
            }
        }
        driver.announce(changed || why == Wakeup::Now);
    }
}

/// True on a laptop (评分电脑 or 直播电脑) that is paired with a hub: it exchanges by itself.
pub fn syncs_out(ctx: &Ctx) -> bool {
    let Ok(me) = identity::device_identity(ctx) else {
        return false;
    };
    matches!(me.role, Some(Role::Scorer | Role::Media))
        && me.hub_id.is_some()
        && identity::hub_link(ctx).ok().flatten().is_some()
}

/// Operations this device has made (the 同步 view's `own_ops`), or `None` when the store
/// cannot say.
pub fn own_ops(ctx: &Ctx) -> Option<u32> {
    let store = ctx.store();
    let own = store
        .read(|c| guanmo_store::oplog::watermark(c, store.device_id()))
        .ok()?;
    Some(u32::try_from(own.max(0)).unwrap_or(u32::MAX))
}

/// One exchange with the hub this laptop paired with, over HTTP: `NotPaired` before
/// pairing.
pub fn http_exchange(
    ctx: &Ctx,
    media: &MediaStore,
    progress: &dyn Fn(Progress),
) -> Result<SyncReport, ApiError> {
    let link = identity::hub_link(ctx)?
        .ok_or_else(|| ApiError::new(ErrorCode::NotPaired, "not paired with a hub"))?;
    let transport = link.transport()?;
    Ok(crate::sync_in_background(ctx, media, &transport, progress)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use guanmo_domain::FixedClock;

    fn start() -> Arc<FixedClock> {
        Arc::new(FixedClock::new(
            Utc.with_ymd_and_hms(2026, 12, 4, 8, 0, 0).unwrap(),
        ))
    }

    fn secs(s: f64) -> chrono::Duration {
        chrono::Duration::milliseconds((s * 1000.0).round() as i64)
    }

    fn fail(msg: &str) -> Result<SyncReport, ApiError> {
        Err(ApiError::new(ErrorCode::Unreachable, msg))
    }

    /// A schedule started at [`start`]'s time, with that clock.
    fn schedule() -> (Arc<FixedClock>, Schedule) {
        let clock = start();
        let s = Schedule::new(clock.now());
        (clock, s)
    }

    /// One whole exchange: begun, then ended at `now` with `result`.
    fn ran(s: &mut Schedule, now: DateTime<Utc>, result: Result<SyncReport, ApiError>, unit: f64) {
        s.begin();
        s.finish(now, result, unit);
    }

    // ---- the schedule alone, over simulated time ----

    #[test]
    fn a_run_that_gave_way_to_new_work_is_followed_at_once() {
        let (clock, mut s) = schedule();
        clock.advance(secs(1.0));
        let now = clock.now();
        let gave_way = SyncReport {
            yielded: true,
            ..SyncReport::default()
        };
        ran(&mut s, now, Ok(gave_way), 0.5);
        s.note_write(now);
        assert_eq!(s.decide(now), Decision::Go(Wakeup::Timer), "no debounce");
        s.begin();
        s.finish(now, Ok(SyncReport::default()), 0.5);
        assert_eq!(s.decide(now), Decision::Sleep(now + secs(15.0)));
    }

    #[test]
    fn backoff_doubles_from_two_seconds_and_stops_at_a_minute() {
        let top = |n| backoff(n, 1.0).as_secs_f64();
        assert_eq!(
            [top(1), top(2), top(3), top(4), top(5), top(6), top(7)],
            [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
        );
        assert_eq!(
            backoff(1000, 1.0),
            BACKOFF_MAX,
            "huge counts do not overflow"
        );
    }

    #[test]
    fn backoff_jitter_stays_in_the_upper_half() {
        assert_eq!(backoff(3, 0.0).as_secs_f64(), 4.0);
        for _ in 0..100 {
            let d = backoff(4, random_unit()).as_secs_f64();
            assert!((8.0..=16.0).contains(&d), "{d} outside 8..16 s");
        }
    }

    #[test]
    fn the_first_run_comes_a_second_after_start() {
        let clock = start();
        let t0 = clock.now();
        let mut s = Schedule::new(t0);
        assert_eq!(s.decide(t0), Decision::Sleep(t0 + secs(1.0)));
        clock.advance(secs(0.999));
        assert_eq!(s.decide(clock.now()), Decision::Sleep(t0 + secs(1.0)));
        clock.advance(secs(0.001));
        assert_eq!(s.decide(clock.now()), Decision::Go(Wakeup::Timer));
        assert_eq!(
            s.status().next_attempt_at,
            None,
            "nothing shown before a run"
        );
    }

    #[test]
    fn a_run_waits_for_local_writes_to_settle_and_another_write_restarts_the_wait() {
        let (clock, mut s) = schedule();
        ran(&mut s, clock.now(), Ok(SyncReport::default()), 0.5);
        let due = clock.now() + secs(15.0);

        clock.advance(secs(1.0));
        let first = clock.now();
        s.wrote(first);
        assert_eq!(s.decide(first), Decision::Sleep(first + secs(2.0)));
        clock.advance(secs(1.5));
        let second = clock.now();
        s.wrote(second);
        assert_eq!(
            s.decide(clock.now()),
            Decision::Sleep(second + secs(2.0)),
            "a second write restarts the debounce"
        );
        clock.advance(secs(1.999));
        assert!(matches!(s.decide(clock.now()), Decision::Sleep(_)));
        clock.advance(secs(0.001));
        assert_eq!(s.decide(clock.now()), Decision::Go(Wakeup::Write));
        assert_eq!(
            s.decide(clock.now()),
            Decision::Sleep(due),
            "the write was taken: back to the timer"
        );
    }

    #[test]
    fn a_ring_goes_at_once_and_takes_pending_writes_along() {
        let (clock, mut s) = schedule();
        s.wrote(clock.now());
        s.ring();
        assert_eq!(s.decide(clock.now()), Decision::Go(Wakeup::Now));
        clock.advance(secs(5.0));
        assert_eq!(
            s.decide(clock.now()),
            Decision::Go(Wakeup::Timer),
            "the write went with the ring; only the (overdue) first run is left"
        );
    }

    #[test]
    fn after_a_success_the_next_run_is_fifteen_seconds_later() {
        let (clock, mut s) = schedule();
        clock.advance(secs(1.0));
        assert_eq!(s.decide(clock.now()), Decision::Go(Wakeup::Timer));
        s.begin();
        assert!(s.status().running);
        clock.advance(secs(3.0));
        let done = clock.now();
        let report = SyncReport {
            pushed: 3,
            applied: 7,
            ..SyncReport::default()
        };
        s.finish(done, Ok(report), 0.0);
        let st = s.status();
        assert!(!st.running);
        assert_eq!(st.failures, 0);
        assert_eq!(st.next_attempt_at, Some(rfc(done + secs(15.0))));
        let run = st.last_run.unwrap();
        assert_eq!((run.at, run.pushed, run.applied), (rfc(done), 3, 7));
        assert_eq!(s.decide(done), Decision::Sleep(done + secs(15.0)));
    }

    #[test]
    fn failures_back_off_two_to_sixty_seconds_with_jitter_in_the_upper_half() {
        let (clock, mut s) = schedule();
        let tops = [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0];
        for (i, top) in tops.iter().enumerate() {
            for unit in [1.0, 0.0, 0.37] {
                let mut t = s.clone();
                let now = clock.now();
                ran(&mut t, now, fail("link cut"), unit);
                let wait = (t.due - now).num_milliseconds() as f64 / 1000.0;
                let expected = top * (0.5 + 0.5 * unit);
                assert!((wait - expected).abs() < 0.002, "{wait} != {expected}");
                assert!((top / 2.0..=*top).contains(&wait));
                assert_eq!(t.failures, i as u32 + 1);
            }
            let now = clock.now();
            ran(&mut s, now, fail("link cut"), 1.0);
            let st = s.status();
            assert_eq!(st.next_attempt_at, Some(rfc(now + secs(*top))));
            let err = st.last_error.unwrap();
            assert_eq!((err.at, err.error.code), (rfc(now), ErrorCode::Unreachable));
            clock.advance(secs(*top));
            assert_eq!(s.decide(clock.now()), Decision::Go(Wakeup::Timer));
        }
        assert_eq!(s.failures, 7);
    }

    #[test]
    fn during_backoff_local_writes_do_not_cut_the_wait_short() {
        let (clock, mut s) = schedule();
        ran(&mut s, clock.now(), fail("link cut"), 1.0);
        ran(&mut s, clock.now(), fail("link cut"), 1.0);
        let due = clock.now() + secs(4.0);
        s.wrote(clock.now());
        clock.advance(secs(3.0));
        assert_eq!(
            s.decide(clock.now()),
            Decision::Sleep(due),
            "settled 1 s ago, still waiting"
        );
        clock.advance(secs(1.0));
        assert_eq!(s.decide(clock.now()), Decision::Go(Wakeup::Timer));
        assert_eq!(s.dirty_since, None, "the write goes with that run");
        s.ring();
        assert_eq!(
            s.decide(clock.now()),
            Decision::Go(Wakeup::Now),
            "a ring still does"
        );
    }

    #[test]
    fn a_success_after_failures_resets_them() {
        let (clock, mut s) = schedule();
        ran(&mut s, clock.now(), fail("link cut"), 1.0);
        ran(&mut s, clock.now(), fail("link cut"), 1.0);
        assert_eq!(s.status().failures, 2);
        clock.advance(secs(4.0));
        ran(&mut s, clock.now(), Ok(SyncReport::default()), 1.0);
        let st = s.status();
        assert_eq!((st.failures, st.last_error), (0, None));
        assert!(st.last_run.is_some());
        assert_eq!(st.next_attempt_at, Some(rfc(clock.now() + secs(15.0))));
        // Writes count again.
        s.wrote(clock.now());
        assert_eq!(
            s.decide(clock.now()),
            Decision::Sleep(clock.now() + secs(2.0))
        );
    }

    #[test]
    fn writes_during_a_run_are_its_own_and_wait_for_nothing() {
        let (clock, mut s) = schedule();
        s.begin();
        s.wrote(clock.now());
        s.finish(clock.now(), Ok(SyncReport::default()), 0.0);
        assert_eq!(s.dirty_since, None);
        assert_eq!(
            s.decide(clock.now()),
            Decision::Sleep(clock.now() + secs(15.0))
        );
    }

    #[test]
    fn stopping_wins_over_everything() {
        let (clock, mut s) = schedule();
        s.wrote(clock.now());
        s.ring();
        s.stop();
        clock.advance(secs(100.0));
        assert_eq!(s.decide(clock.now()), Decision::Stop);
        assert_eq!(s.decide(clock.now()), Decision::Stop, "and stays stopped");
    }

    #[test]
    fn nothing_to_exchange_looks_again_in_fifteen_seconds_and_forgets_failures() {
        let (clock, mut s) = schedule();
        ran(&mut s, clock.now(), fail("link cut"), 1.0);
        assert!(s.idle(clock.now()), "the failure count and the due time go");
        let st = s.status();
        assert_eq!((st.failures, st.next_attempt_at), (0, None));
        assert!(st.last_error.is_some(), "the last failure is still shown");
        assert_eq!(
            s.decide(clock.now()),
            Decision::Sleep(clock.now() + secs(15.0))
        );
        assert!(!s.idle(clock.now()), "nothing changed the second time");
    }

    #[test]
    fn a_clock_stepped_back_never_delays_a_run_past_a_minute() {
        let (clock, mut s) = schedule();
        ran(&mut s, clock.now(), Ok(SyncReport::default()), 0.0);
        s.wrote(clock.now());
        clock.advance(secs(-3600.0));
        let now = clock.now();
        assert_eq!(s.decide(now), Decision::Sleep(now + secs(2.0)));
        assert_eq!(s.status().next_attempt_at, Some(rfc(now + secs(60.0))));
    }

    // ---- AutoSync with a scripted driver ----

    #[derive(Default)]
    struct Script {
        syncs_out: bool,
        outcomes: Mutex<Vec<Result<SyncReport, ApiError>>>,
        own: Mutex<Vec<u32>>,
        exchanges: Mutex<u32>,
        announced: Mutex<Vec<bool>>,
        progressed: Mutex<Vec<SyncProgress>>,
        seen_running: Mutex<Vec<AutoStatus>>,
    }

    struct Driver<'a> {
        auto: &'a AutoSync,
        script: &'a Script,
    }

    impl AutoDriver for Driver<'_> {
        fn syncs_out(&self) -> bool {
            self.script.syncs_out
        }
        fn own_ops(&self) -> Option<u32> {
            let mut own = lock(&self.script.own);
            if own.len() > 1 {
                Some(own.remove(0))
            } else {
                own.first().copied()
            }
        }
        fn exchange(&self, progress: &dyn Fn(Progress)) -> Result<SyncReport, ApiError> {
            *lock(&self.script.exchanges) += 1;
            progress(Progress::Pushing { done: 1, total: 2 });
            lock(&self.script.seen_running).push(self.auto.status());
            let mut o = lock(&self.script.outcomes);
            if o.is_empty() {
                Ok(SyncReport::default())
            } else {
                o.remove(0)
            }
        }
        fn progress(&self, p: &SyncProgress) {
            lock(&self.script.progressed).push(p.clone());
        }
        fn announce(&self, force: bool) {
            lock(&self.script.announced).push(force);
        }
    }

    fn fixed(clock: &Arc<FixedClock>) -> AutoSync {
        AutoSync::new(clock.clone()).with_jitter(|| 1.0)
    }

    #[test]
    fn a_step_runs_an_exchange_when_due_and_reports_its_progress() {
        let clock = start();
        let auto = fixed(&clock);
        let script = Script {
            syncs_out: true,
            ..Script::default()
        };
        let d = Driver {
            auto: &auto,
            script: &script,
        };
        assert_eq!(auto.step(&d), Step::Sleep(clock.now() + secs(1.0)));
        assert_eq!(*lock(&script.exchanges), 0);
        clock.advance(secs(1.0));
        assert_eq!(auto.step(&d), Step::Ran(Wakeup::Timer));
        assert_eq!(*lock(&script.exchanges), 1);
        let during = lock(&script.seen_running).pop().unwrap();
        assert!(during.running);
        assert_eq!(during.next_attempt_at, None);
        assert_eq!(
            during.progress,
            Some(SyncProgress {
                step: SyncStep::Pushing,
                done: 1,
                total: Some(2),
                bytes: 0.0,
                post_id: None
            })
        );
        assert_eq!(lock(&script.progressed).len(), 1);
        assert_eq!(
            *lock(&script.announced),
            [true, true],
            "when the run began and when it ended"
        );
        let after = auto.status();
        assert!(!after.running && after.progress.is_none());
        assert_eq!(after.next_attempt_at, Some(rfc(clock.now() + secs(15.0))));
        assert_eq!(auto.step(&d), Step::Sleep(clock.now() + secs(15.0)));
    }

    #[test]
    fn own_operations_made_during_a_run_go_out_once_they_settle() {
        let clock = start();
        let auto = fixed(&clock);
        let script = Script {
            syncs_out: true,
            own: Mutex::new(vec![4, 5]),
            ..Script::default()
        };
        let d = Driver {
            auto: &auto,
            script: &script,
        };
        auto.ring();
        assert_eq!(auto.step(&d), Step::Ran(Wakeup::Now));
        assert_eq!(auto.step(&d), Step::Sleep(clock.now() + secs(2.0)));
        clock.advance(secs(2.0));
        assert_eq!(auto.step(&d), Step::Ran(Wakeup::Write));
        assert_eq!(
            auto.step(&d),
            Step::Sleep(clock.now() + secs(15.0)),
            "no new own operations that time"
        );
    }

    #[test]
    fn on_the_hub_a_wake_only_ticks_and_tells_the_window_when_rung() {
        let clock = start();
        let auto = fixed(&clock);
        let script = Script::default();
        let d = Driver {
            auto: &auto,
            script: &script,
        };
        clock.advance(secs(1.0));
        assert_eq!(auto.step(&d), Step::Ran(Wakeup::Timer));
        auto.ring();
        assert_eq!(auto.step(&d), Step::Ran(Wakeup::Now));
        assert_eq!(*lock(&script.exchanges), 0);
        assert_eq!(*lock(&script.announced), [false, true]);
        assert_eq!(auto.status(), AutoStatus::default());
        assert_eq!(auto.step(&d), Step::Sleep(clock.now() + secs(15.0)));
    }

    #[test]
    fn pairing_forgets_the_failures() {
        let clock = start();
        let auto = fixed(&clock);
        let script = Script {
            syncs_out: true,
            outcomes: Mutex::new(vec![fail("not paired")]),
            ..Script::default()
        };
        let d = Driver {
            auto: &auto,
            script: &script,
        };
        auto.ring();
        auto.step(&d);
        assert_eq!(auto.status().failures, 1);
        auto.reset_failures();
        let st = auto.status();
        assert_eq!((st.failures, st.last_error), (0, None));
    }

    #[test]
    fn the_thread_serves_a_ring_and_ends_when_stopped() {
        let clock = start();
        let auto = Arc::new(fixed(&clock));
        let (ran_tx, ran_rx) = std::sync::mpsc::channel::<()>();
        struct Signal(Mutex<std::sync::mpsc::Sender<()>>);
        impl AutoDriver for Signal {
            fn syncs_out(&self) -> bool {
                true
            }
            fn own_ops(&self) -> Option<u32> {
                None
            }
            fn exchange(&self, _: &dyn Fn(Progress)) -> Result<SyncReport, ApiError> {
                Ok(SyncReport::default())
            }
            fn announce(&self, force: bool) {
                if force {
                    let _ = lock(&self.0).send(());
                }
            }
        }
        let runner = auto.clone();
        let thread = std::thread::spawn(move || runner.run(&Signal(Mutex::new(ran_tx))));
        // The fixed clock never reaches the first run by itself: only the ring can wake it.
        auto.ring();
        ran_rx.recv().unwrap(); // began
        ran_rx.recv().unwrap(); // ended
        auto.stop();
        thread.join().unwrap();
        assert!(auto.status().last_run.is_some());
    }

    // ---- whole exchanges against the in-memory transport ----

    mod exchanges {
        use super::*;
        use crate::memory::{Faults, MemoryTransport};
        use crate::HubService;
        use guanmo_domain::feed::PostInput;

        struct Device {
            ctx: Ctx,
            media: MediaStore,
            _dir: tempfile::TempDir,
        }

        fn device(clock: &Arc<FixedClock>, role: Role, name: &str) -> Device {
            let dir = tempfile::tempdir().unwrap();
            let data = dir.path().join("data");
            let ctx = Ctx::open(&data, clock.clone()).unwrap();
            let media = MediaStore::new(&data).unwrap();
            crate::set_role(&ctx, role, name).unwrap();
            Device {
                ctx,
                media,
                _dir: dir,
            }
        }

        struct Laptop<'a> {
            dev: &'a Device,
            link: &'a MemoryTransport,
        }

        impl AutoDriver for Laptop<'_> {
            fn syncs_out(&self) -> bool {
                syncs_out(&self.dev.ctx)
            }
            fn own_ops(&self) -> Option<u32> {
                own_ops(&self.dev.ctx)
            }
            fn exchange(&self, progress: &dyn Fn(Progress)) -> Result<SyncReport, ApiError> {
                Ok(crate::sync_once(
                    &self.dev.ctx,
                    &self.dev.media,
                    self.link,
                    progress,
                )?)
            }
            fn announce(&self, _force: bool) {}
        }

        #[test]
        fn a_cut_link_backs_off_and_the_restored_one_catches_up() {
            let clock = start();
            let hub = device(&clock, Role::Hub, "组织方主机");
            let laptop = device(&clock, Role::Media, "直播电脑");
            let link = MemoryTransport::new(
                HubService::new(hub.ctx.clone(), hub.media.clone()),
                Faults::default(),
                7,
            );
            let code = crate::new_pairing_code(&hub.ctx).unwrap();
            crate::pair_with_hub(&laptop.ctx, &link, "memory://hub", &code.code).unwrap();
            assert!(syncs_out(&laptop.ctx));
            assert!(!syncs_out(&hub.ctx), "the hub waits for laptops");

            let auto = AutoSync::new(clock.clone()).with_jitter(|| 0.0);
            let driver = Laptop {
                dev: &laptop,
                link: &link,
            };
            // A post written on the laptop before the first run.
            guanmo_api::feed::create_draft(
                &laptop.ctx,
                PostInput {
                    body: "第一站".into(),
                    credit: "记者".into(),
                    ..PostInput::default()
                },
            )
            .unwrap();
            let own = own_ops(&laptop.ctx).unwrap();
            assert!(own > 0);
            auto.wrote();

            // The cable is out: each attempt fails and the wait doubles (lower half: jitter 0).
            link.set_cut(true);
            clock.advance(secs(1.0));
            assert_eq!(auto.step(&driver), Step::Ran(Wakeup::Timer));
            for (failures, wait) in [(1u32, 1.0), (2, 2.0), (3, 4.0), (4, 8.0)] {
                let st = auto.status();
                assert_eq!(st.failures, failures);
                let err = st.last_error.unwrap();
                assert_eq!(err.error.code, ErrorCode::Unreachable);
                assert_eq!(err.at, rfc(clock.now()));
                assert_eq!(st.next_attempt_at, Some(rfc(clock.now() + secs(wait))));
                auto.wrote(); // a person keeps working: still waits out the backoff
                assert_eq!(auto.step(&driver), Step::Sleep(clock.now() + secs(wait)));
                clock.advance(secs(wait));
                assert_eq!(auto.step(&driver), Step::Ran(Wakeup::Timer));
            }
            assert_eq!(auto.status().failures, 5);

            // The cable is back: 立即同步 goes at once and everything catches up.
            link.set_cut(false);
            auto.ring();
            assert_eq!(auto.step(&driver), Step::Ran(Wakeup::Now));
            let st = auto.status();
            assert_eq!((st.failures, &st.last_error), (0, &None));
            let run = st.last_run.clone().unwrap();
            assert_eq!(run.at, rfc(clock.now()));
            assert_eq!(run.pushed, own, "the post went to the hub");
            assert!(run.applied > 0, "the hub's roster and rubric came back");
            assert_eq!((run.refused, run.refused_by_hub), (0, 0));
            assert_eq!(st.next_attempt_at, Some(rfc(clock.now() + secs(15.0))));
            assert_eq!(
                hub.ctx
                    .store()
                    .read(|c| guanmo_store::oplog::watermark(c, laptop.ctx.store().device_id()))
                    .unwrap(),
                i64::from(own)
            );

            // A quiet period: the timer runs again, with nothing to move.
            clock.advance(secs(15.0));
            assert_eq!(auto.step(&driver), Step::Ran(Wakeup::Timer));
            let run = auto.status().last_run.unwrap();
            assert_eq!((run.pushed, run.applied), (0, 0));
        }

        #[test]
        fn without_pairing_the_http_exchange_says_not_paired() {
            let clock = start();
            let laptop = device(&clock, Role::Scorer, "评分电脑");
            assert!(!syncs_out(&laptop.ctx));
            let err = http_exchange(&laptop.ctx, &laptop.media, &|_| {}).unwrap_err();
            assert_eq!(err.code, ErrorCode::NotPaired);
        }
    }
}
