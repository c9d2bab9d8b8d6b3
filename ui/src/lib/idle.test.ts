import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { IDLE_CHECK_EVERY_MS, IdleClock, KEEP_ALIVE_EVERY_MS, watchIdle } from "./idle";

describe("IdleClock", () => {
  it("tells the backend of use at most every 30 seconds", () => {
    const c = new IdleClock(0);
    expect(c.use(1_000)).toBe(false);
    expect(c.use(KEEP_ALIVE_EVERY_MS - 1)).toBe(false);
    expect(c.use(KEEP_ALIVE_EVERY_MS)).toBe(true);
    expect(c.use(KEEP_ALIVE_EVERY_MS + 5_000)).toBe(false);
    expect(c.use(2 * KEEP_ALIVE_EVERY_MS)).toBe(true);
  });

  it("is idle once the set minutes pass without use, and never with 0 minutes", () => {
    const c = new IdleClock(0);
    c.use(60_000);
    expect(c.idle(60_000 + 5 * 60_000 - 1, 5)).toBe(false);
    expect(c.idle(60_000 + 5 * 60_000, 5)).toBe(true);
    expect(c.idle(10 * 3600_000, 0)).toBe(false);
    c.restart(10 * 3600_000);
    expect(c.idle(10 * 3600_000 + 60_000, 5)).toBe(false);
  });
});

describe("watchIdle", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function setup(minutes = 2) {
    const target = new EventTarget();
    let signedIn = true;
    const keepAlive = vi.fn();
    const lock = vi.fn(() => (signedIn = false));
    const stop = watchIdle({ idleMinutes: () => minutes, signedIn: () => signedIn, keepAlive, lock, target });
    return { target, keepAlive, lock, stop, signIn: () => (signedIn = true) };
  }

  it("keeps the session alive while the person clicks and types, at most every 30 s", () => {
    const { target, keepAlive, lock, stop } = setup();
    for (let i = 0; i < 12; i++) {
      target.dispatchEvent(new Event(i % 2 ? "keydown" : "pointerdown"));
      vi.advanceTimersByTime(10_000);
    }
    // 120 s of use: a keepAlive at 30, 60, 90 s (and none for the first 30 s after start).
    expect(keepAlive).toHaveBeenCalledTimes(3);
    expect(lock).not.toHaveBeenCalled();
    stop();
  });

  it("locks once, after the set minutes without use, checked every 10 s", () => {
    const { target, lock, keepAlive, stop } = setup(2);
    target.dispatchEvent(new Event("wheel"));
    vi.advanceTimersByTime(2 * 60_000 - IDLE_CHECK_EVERY_MS);
    expect(lock).not.toHaveBeenCalled();
    vi.advanceTimersByTime(IDLE_CHECK_EVERY_MS);
    expect(lock).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10 * 60_000);
    expect(lock).toHaveBeenCalledTimes(1);
    // On the lock screen use is not reported.
    target.dispatchEvent(new Event("keydown"));
    expect(keepAlive).not.toHaveBeenCalled();
    stop();
  });

  it("starts the idle time again at the next sign-in, however long the lock screen stood", () => {
    const { lock, signIn, stop } = setup(2);
    vi.advanceTimersByTime(2 * 60_000);
    expect(lock).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(30 * 60_000);
    signIn();
    // The next check sees the sign-in; the set minutes count from then.
    vi.advanceTimersByTime(2 * 60_000);
    expect(lock).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(IDLE_CHECK_EVERY_MS);
    expect(lock).toHaveBeenCalledTimes(2);
    stop();
  });

  it("stops listening and checking when stopped", () => {
    const { target, keepAlive, lock, stop } = setup(1);
    stop();
    vi.advanceTimersByTime(40_000);
    target.dispatchEvent(new Event("keydown"));
    vi.advanceTimersByTime(5 * 60_000);
    expect(keepAlive).not.toHaveBeenCalled();
    expect(lock).not.toHaveBeenCalled();
  });
});
