//! The idle lock's timing: use (a click, a key, the wheel) tells the backend the person is still
//! there at most every 30 seconds, and a check every 10 seconds locks the app once the set
//! minutes pass without use. Pure timing in `IdleClock`; `watchIdle` wires it to the window.

/** Longest gap between two `keepAlive` calls while the person keeps using the app. */
export const KEEP_ALIVE_EVERY_MS = 30_000;
/** How often the lock checks for idleness. */
export const IDLE_CHECK_EVERY_MS = 10_000;
/** What counts as use. */
export const ACTIVITY_EVENTS = ["pointerdown", "keydown", "wheel"] as const;

export class IdleClock {
  #lastUse: number;
  #lastKeepAlive: number;

  constructor(nowMs: number) {
    this.#lastUse = nowMs;
    this.#lastKeepAlive = nowMs;
  }

  /** The person used the app; true when the backend should hear of it now (`keepAlive`). */
  use(nowMs: number): boolean {
    this.#lastUse = nowMs;
    if (nowMs - this.#lastKeepAlive < KEEP_ALIVE_EVERY_MS) return false;
    this.#lastKeepAlive = nowMs;
    return true;
  }

  /** Someone signed in: the idle time starts again (signing in told the backend already). */
  restart(nowMs: number): void {
    this.#lastUse = nowMs;
    this.#lastKeepAlive = nowMs;
  }

  /** The app has gone `idleMinutes` without use; 0 or less never locks. */
  idle(nowMs: number, idleMinutes: number): boolean {
    return idleMinutes > 0 && nowMs - this.#lastUse >= idleMinutes * 60_000;
  }
}

export type IdleWatch = {
  /** Minutes without use before locking (the backend's setting). */
  idleMinutes: () => number;
  /** Someone is signed in and the lock applies (otherwise use is not reported and nothing locks). */
  signedIn: () => boolean;
  keepAlive: () => void;
  lock: () => void;
  /** Where use is heard; the window by default. */
  target?: EventTarget;
};

/** Starts the idle lock; returns the function that stops it. */
export function watchIdle(w: IdleWatch): () => void {
  const target = w.target ?? window;
  const clock = new IdleClock(Date.now());
  let wasSignedIn = w.signedIn();

  /** A new sign-in restarts the clock, however long the lock screen stood. */
  function followSignIn(now: number): boolean {
    const signedIn = w.signedIn();
    if (signedIn && !wasSignedIn) clock.restart(now);
    wasSignedIn = signedIn;
    return signedIn;
  }

  const onUse = () => {
    const now = Date.now();
    const signedIn = followSignIn(now);
    if (clock.use(now) && signedIn) w.keepAlive();
  };
  const timer = setInterval(() => {
    const now = Date.now();
    if (!followSignIn(now)) return;
    if (clock.idle(now, w.idleMinutes())) {
      wasSignedIn = false;
      w.lock();
    }
  }, IDLE_CHECK_EVERY_MS);

  for (const e of ACTIVITY_EVENTS) target.addEventListener(e, onUse, { capture: true, passive: true });
  return () => {
    clearInterval(timer);
    for (const e of ACTIVITY_EVENTS) target.removeEventListener(e, onUse, { capture: true });
  };
}
