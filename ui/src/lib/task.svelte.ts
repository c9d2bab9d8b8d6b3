//! One view's backend work: at most one action at a time (`busy`), the failure to show
//! (`error`) and the success message to show (`notice`). Views render these; actions go through
//! `run`, which clears both messages first so what is shown is always about the latest action.
import { errorOf, type ApiError } from "../ipc";
import { session } from "./session.svelte";

export type TaskOptions = {
  /**
   * Called when an action fails, after `error` is set and before `busy` clears: e.g. reload a
   * list the backend called stale. It may replace `error`; its own failures are not shown.
   */
  onError?: (error: ApiError) => Promise<void> | void;
};

/** The backend said the data shown is out of date: someone changed or removed the record. */
export function isStale(error: ApiError): boolean {
  return error.code === "version_conflict" || error.code === "not_found";
}

/** An `onError` that reloads when the action failed on stale data, so the error shows beside fresh data. */
export function reloadWhenStale(reload: () => Promise<unknown>): (error: ApiError) => Promise<void> {
  return async (error) => {
    if (isStale(error)) await reload();
  };
}

export class Task {
  busy = $state(false);
  error: ApiError | null = $state(null);
  notice: string | null = $state(null);
  readonly #onError: TaskOptions["onError"];

  constructor(options: TaskOptions = {}) {
    this.#onError = options.onError;
  }

  /** Runs `action` unless one is already running; a failure becomes `error`. */
  async run(action: () => Promise<unknown>): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.error = null;
    this.notice = null;
    try {
      await action();
    } catch (e) {
      const error = errorOf(e);
      this.error = error;
      // No one is signed in any more (the idle lock, or another window signed out): the
      // sign-in screen comes up over every view.
      session.noticeError(error);
      try {
        await this.#onError?.(error);
      } catch {
        // The action's error is the one to show.
      }
    } finally {
      this.busy = false;
    }
  }

  /** Runs `work` beside any action (a background reload); a failure becomes `error`. */
  background(work: () => Promise<unknown>): void {
    void work().catch((e) => (this.error = errorOf(e)));
  }
}
