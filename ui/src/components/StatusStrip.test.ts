import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { Delivery, DeviceStatus, SyncOverview, SyncStatus } from "../ipc";
import StatusStrip from "./StatusStrip.svelte";
import { agoShort, clockHm, stripView } from "./statusStrip";

/** 2024-12-04 10:15 Beijing time. */
const NOW = Date.parse("2024-12-04T02:15:00Z");

function device(over: Partial<DeviceStatus>): DeviceStatus {
  return {
    id: "dev",
    name: "评分电脑3号",
    role: "scorer",
    paired_at: "2024-12-03T08:00:00Z",
    revoked_at: null,
    last_contact: null,
    ops_received: 0,
    backlog: 0,
    address: null,
    scorer_ids: [],
    moderator: false,
    ...over,
  };
}

function status(o: Partial<SyncOverview>, over: Partial<SyncStatus> = {}): SyncStatus {
  return {
    overview: {
      device_id: "me",
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
      ...o,
    },
    auto_sync: true,
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

const hub = device({ id: "hub", name: "组织方主机", role: "hub", last_contact: "2024-12-04T02:08:00Z" });
const paired = (o: Partial<SyncOverview> = {}) => status({ hub_id: "hub", devices: [hub], ...o });
const delivery = (n: number): Delivery => ({ to_hub: true, pending_sheet_ids: n > 0 ? ["sheet-1"] : [], pending_comment_ids: [], pending_records: n });

describe("status strip wording", () => {
  it("a paired laptop: what waits for the hub and when it was last reached", () => {
    expect(stripView(paired(), delivery(2), NOW)).toEqual({
      tone: "pending",
      text: "2项待上传 · 最近与主机联系 10:08(7分钟前)",
      link: false,
    });
    expect(stripView(paired(), delivery(0), NOW)?.text).toBe("已全部送达主机 · 最近与主机联系 10:08(7分钟前)");
    expect(stripView(paired(), delivery(0), NOW)?.tone).toBe("ok");
    const never = paired({ devices: [{ ...hub, last_contact: null }] });
    expect(stripView(never, delivery(1), NOW)?.text).toBe("1项待上传 · 最近与主机联系:还没有");
    const failing = status({ hub_id: "hub", devices: [hub] }, { last_error: { at: "2024-12-04T02:14:00Z", error: { code: "unreachable", message: "io", problems: [] } } });
    expect(stripView(failing, delivery(3), NOW)?.text).toBe("3项待上传 · 最近与主机联系 10:08(7分钟前) · 暂时连不上主机,已保存在本机,连上后自动上传");
    expect(stripView(paired(), delivery(1), NOW)?.text).not.toMatch(/积压|操作|时钟/);
  });

  it("the hub: how many computers are paired; a laptop not paired: says so and offers 同步", () => {
    const laptops = [
      device({ id: "a", last_contact: "2024-12-04T01:15:00Z" }),
      device({ id: "b", role: "media", last_contact: "2024-12-04T02:14:40Z" }),
      device({ id: "c", revoked_at: "2024-12-04T00:00:00Z", last_contact: "2024-12-04T02:15:00Z" }),
    ];
    expect(stripView(status({ role: "hub", hub_id: "me", devices: laptops }), null, NOW)).toEqual({
      tone: "plain",
      text: "组织方主机 · 已配对2台电脑 · 最近收到电脑联系 10:14(刚刚)",
      link: false,
    });
    expect(stripView(status({ role: "hub", hub_id: "me" }), null, NOW)?.text).toBe("组织方主机 · 还没有配对评分电脑或直播电脑");
    expect(stripView(status({ hub_id: null }), null, NOW)).toEqual({ tone: "warn", text: "未与组织方主机配对,评分和照片只保存在本机", link: true });
    expect(stripView(status({ role: null }), null, NOW)?.link).toBe(true);
    expect(stripView(null, null, NOW)).toBeNull();
  });

  it("times read as Beijing HH:MM and a short 'ago'", () => {
    expect(clockHm("2024-12-04T02:08:59Z")).toBe("10:08");
    expect(agoShort("2024-12-04T02:14:30Z", NOW)).toBe("刚刚");
    expect(agoShort("2024-12-04T00:10:00Z", NOW)).toBe("2小时前");
    expect(agoShort("2024-12-01T00:10:00Z", NOW)).toBe("3天前");
  });
});

describe("status strip component", () => {
  afterEach(() => {
    clearMocks();
    vi.useRealTimers();
  });

  it("on a paired laptop shows the pending count from the backend", async () => {
    vi.useFakeTimers({ now: NOW, toFake: ["Date"] });
    mockIPC((cmd) => {
      if (cmd === "get_sync_overview") return paired();
      if (cmd === "get_delivery") return delivery(4);
      throw new Error(`unexpected command ${cmd}`);
    });
    render(StatusStrip);
    await waitFor(() => expect(screen.getByTestId("status-strip-text").textContent).toBe("4项待上传 · 最近与主机联系 10:08(7分钟前)"));
    expect(screen.queryByTestId("status-strip-sync")).toBeNull();
  });

  it("on a laptop not paired links to 同步", async () => {
    mockIPC((cmd) => {
      if (cmd === "get_sync_overview") return status({ hub_id: null });
      throw new Error(`unexpected command ${cmd}`);
    });
    const ongosync = vi.fn();
    render(StatusStrip, { ongosync });
    await fireEvent.click(await screen.findByTestId("status-strip-sync"));
    expect(ongosync).toHaveBeenCalledOnce();
    expect(screen.getByTestId("status-strip-text").textContent).toBe("未与组织方主机配对,评分和照片只保存在本机");
  });

  it("shows nothing when the status cannot be read", async () => {
    mockIPC(() => {
      throw new Error("no backend");
    });
    render(StatusStrip);
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByTestId("status-strip")).toBeNull();
  });
});
