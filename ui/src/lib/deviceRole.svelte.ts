//! This laptop's role, read once and followed as it changes in 同步 (the `sync-changed` event),
//! for the views that show or hide what the organiser's hub alone may change, and whether the
//! hub granted this laptop 审核 (`may_moderate`, which comes with the same status).
import { call, commands, onSyncChanged, type Role } from "../ipc";
import { watchEvent } from "./live";

class DeviceRole {
  /** The role; null until chosen (or until read). */
  role: Role | null = $state(null);
  /** This device decides on residents' comments (the hub; a laptop while the hub grants 审核). */
  mayModerate = $state(true);
  /** True once the backend answered. */
  known = $state(false);
  #started = false;

  /** Reads the role and follows it; safe to call from every view (it starts once). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    void call(commands.getSyncOverview())
      .then((s) => this.set(s.overview.role, s.may_moderate))
      .catch(() => {
        this.known = true;
      });
    watchEvent(() => onSyncChanged((s) => this.set(s.overview.role, s.may_moderate)));
  }

  /** Without `mayModerate`: what the backend says of a role with no grant received. */
  set(role: Role | null, mayModerate = role === null || role === "hub"): void {
    this.role = role;
    this.mayModerate = mayModerate;
    this.known = true;
  }
}

/** The one instance of this window. */
export const deviceRole = new DeviceRole();
