//! Views refresh from the backend after each committed write instead of polling.
import { onMount } from "svelte";
import { onDataChanged, type Unlisten } from "../ipc";

export type LiveOptions = {
  /** Entity kinds that, changed alone, do not concern the view (e.g. `sheet` for a list of scorers). */
  ignore?: readonly string[];
};

/**
 * Listens to `data-changed` from now until `stop` is called: `cb` gets the changed entity kinds,
 * unless all of them are in `ignore`. Safe to stop before the listener is in place.
 */
export function watchDataChanged(cb: (entities: string[]) => void, { ignore = [] }: LiveOptions = {}): Unlisten {
  return watchEvent(() =>
    onDataChanged((entities) => {
      if (ignore.length === 0 || entities.some((e) => !ignore.includes(e))) cb(entities);
    }),
  );
}

/**
 * Starts a listener (one of the ipc `onXxx` functions) and returns at once the function that
 * stops it, safe to call before the listener is in place.
 */
export function watchEvent(start: () => Promise<Unlisten>): Unlisten {
  let unlisten: Unlisten | null = null;
  let stopped = false;
  void start().then((u) => (stopped ? u() : (unlisten = u)));
  return () => {
    stopped = true;
    unlisten?.();
  };
}

/** `watchDataChanged` for as long as the calling component is mounted (call it while initialising). */
export function onDataChangedWhileMounted(cb: (entities: string[]) => void, options: LiveOptions = {}): void {
  onMount(() => watchDataChanged(cb, options));
}

/**
 * Wraps `load` so that a burst of change events costs at most one load running and one queued:
 * a trigger while a load runs asks for one more load after it, with the newest data.
 * The returned promise settles when the data is current as of the trigger.
 */
export function coalesce(load: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let queued: Promise<void> | null = null;
  const start = (): Promise<void> => {
    running = load().finally(() => (running = null));
    return running;
  };
  return () => {
    if (!running) return start();
    if (!queued) {
      queued = running
        .catch(() => {})
        .then(() => {
          queued = null;
          return start();
        });
    }
    return queued;
  };
}
