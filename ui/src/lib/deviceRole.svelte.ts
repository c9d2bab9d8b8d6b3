//! This laptop's role, read once and followed as it changes in 同步 (the `sync-changed` event),
//! for the views that show or hide what the organiser's hub alone may change.
import { call, commands, onSyncChanged, type Role } from "../ipc";
import { watchEvent } from "./live";

class DeviceRole {
  /** The role; null until chosen (or until read). */
  role: Role | null = $state(null);
  /** True once the backend answered. */
  known = $state(false);
  #started = false;

  /** Reads the role and follows it; safe to call from every view (it starts once). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    void call(commands.getSyncOverview())
      .then((s) => this.set(s.overview.role))
      .catch(() => {
        this.known = true;
      });
    watchEvent(() => onSyncChanged((s) => this.set(s.overview.role)));
  }

  set(role: Role | null): void {
    this.role = role;
    this.known = true;
  }
}

/** The one instance of this window. */
export const deviceRole = new DeviceRole();
