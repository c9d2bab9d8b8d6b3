//! Sync statuses for the tests of this folder: a laptop by default, anything overridden.
import type { SyncOverview, SyncStatus } from "../../ipc";

export function overview(over: Partial<SyncOverview> = {}): SyncOverview {
  return {
    device_id: "0193-me-aaaaaa",
    name: "评分电脑3号",
    role: "scorer",
    hub_id: null,
    own_ops: 0,
    unconfirmed: 0,
    backlog: 0,
    photos_missing: 0,
    clock_offset_ms: null,
    clock_warning: false,
    originals: "background",
    posts_waiting: [],
    devices: [],
    issues: [],
    ...over,
  };
}

export function status(over: Partial<SyncStatus> = {}, o: Partial<SyncOverview> = {}): SyncStatus {
  return {
    overview: overview(o),
    auto_sync: false,
    running: false,
    progress: null,
    last_run: null,
    last_error: null,
    failures: 0,
    next_attempt_at: null,
    peer: { running: false, port: 8787, urls: [], error: null },
    may_moderate: false,
    ...over,
  };
}
