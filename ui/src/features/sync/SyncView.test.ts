import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import type { ApiError, BundleReport, DeviceStatus, IssueView, SyncStatus } from "../../ipc";
import SyncView from "./SyncView.svelte";
import { status } from "./fixtures";

type Calls = { cmd: string; args: Record<string, unknown> }[];

/** A backend whose status is `state.status`; commands listed in `replies` answer (or throw) instead. */
function backend(initial: SyncStatus, replies: Record<string, (args: Record<string, unknown>) => unknown> = {}) {
  const calls: Calls = [];
  const state = { status: initial };
  mockIPC(
    (cmd, raw) => {
      const args = (raw ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args });
      if (replies[cmd]) return replies[cmd](args);
      switch (cmd) {
        case "get_sync_overview":
        case "sync_now":
        case "resolve_sync_issue":
        case "adopt_sync_version":
        case "transfer_device":
        case "revoke_device":
          return state.status;
        default:
          return null;
      }
    },
    { shouldMockEvents: true },
  );
  return { calls, state };
}

const called = (calls: Calls, cmd: string) => calls.filter((c) => c.cmd === cmd).map((c) => c.args);

function device(id: string, name: string, over: Partial<DeviceStatus> = {}): DeviceStatus {
  return { id, name, role: "scorer", paired_at: "2024-12-04T00:00:00Z", revoked_at: null, last_contact: new Date(Date.now() - 3 * 60_000).toISOString(), ops_received: 42, backlog: 0, address: null, scorer_ids: [], moderator: false, ...over };
}

const hubDevice = device("hub-1", "组织方主机", { role: "hub", address: "http://192.168.1.20:8787", last_contact: new Date().toISOString() });

function issue(id: string, code: string, over: Partial<IssueView> = {}): IssueView {
  return { id, kind: "refused", code, origin: "hub-1", seq: 7, entity_kind: "sheet", entity_id: "s1", other_origin: null, detail: "", at: "2024-12-04T01:30:00Z", resolved_at: null, ...over };
}

afterEach(() => {
  cleanup();
  clearMocks();
});

describe("first start", () => {
  it("asks what the laptop is for and its name, then offers pairing", async () => {
    const { calls, state } = backend(status({}, { role: null, name: "" }), {
      set_device_role: (a) => (state.status = status({}, { role: a.role as "scorer", name: a.name as string })),
    });
    render(SyncView);
    await screen.findByTestId("role-choice");
    expect(screen.getByTestId("role-save")).toHaveProperty("disabled", true);
    await fireEvent.click(screen.getByTestId("role-scorer").querySelector("input")!);
    await fireEvent.input(screen.getByTestId("device-name"), { target: { value: "  评分电脑3号 " } });
    await fireEvent.click(screen.getByTestId("role-save"));
    await waitFor(() => expect(called(calls, "set_device_role")).toEqual([{ role: "scorer", name: "评分电脑3号" }]));
    await screen.findByTestId("pair-form");
    expect(screen.getByTestId("sync-me").textContent).toContain("评分电脑3号 · 评分电脑");
  });

  it("does not send a role without a name", async () => {
    const { calls } = backend(status({}, { role: null, name: "" }));
    render(SyncView);
    await fireEvent.click((await screen.findByTestId("role-hub")).querySelector("input")!);
    await fireEvent.click(screen.getByTestId("role-save"));
    expect(await screen.findByText(/请填写设备名称/)).toBeTruthy();
    expect(called(calls, "set_device_role")).toEqual([]);
  });
});

describe("the organiser's hub", () => {
  const hub = (over: Partial<SyncStatus> = {}) =>
    status(
      { peer: { running: true, port: 8787, urls: ["http://192.168.1.20:8787"], error: null }, ...over },
      { role: "hub", name: "组织方主机", device_id: "hub-1", hub_id: "hub-1", devices: [device("d1", "评分电脑3号"), device("d2", "直播电脑", { role: "media", backlog: 3 })] },
    );

  it("shows a new pairing code in big digits with its countdown, the hub's address and a QR code", async () => {
    const expires = new Date(Date.now() + 10 * 60_000).toISOString();
    backend(hub(), { new_pairing_code: () => ({ code: "482913", expires_at: expires, urls: ["http://192.168.1.20:8787"], qr_svg: "<svg data-qr></svg>" }) });
    render(SyncView);
    expect((await screen.findByTestId("hub-url")).textContent).toBe("http://192.168.1.20:8787");
    await fireEvent.click(screen.getByTestId("pairing-new"));
    expect((await screen.findByTestId("pairing-code")).textContent).toBe("482 913");
    expect(screen.getByTestId("pairing-countdown").textContent).toMatch(/剩余 (10:00|09:5\d)/);
    expect(screen.getByTestId("pairing-qr").querySelector("svg")).not.toBeNull();
    expect(screen.getByTestId("pairing-new").textContent).toContain("生成新配对码");
  });

  it("lists the paired laptops with role, last contact, operations received and backlog", async () => {
    backend(hub());
    render(SyncView);
    const row = await screen.findByTestId("device-row-d2");
    const cells = [...row.querySelectorAll("td")].map((td) => td.textContent?.trim());
    expect(cells.slice(0, 7)).toEqual(["直播电脑", "直播电脑", "—", "授予审核", "3分钟前", "42", "3"]);
    expect(screen.getByTestId("device-scorers-d1").textContent?.trim()).toBe("未分配");
  });

  it("assigns a scorer to a scorer laptop, saying who scored there before", async () => {
    const scorers = [
      { id: "s1", name: "张三", group: "市领导", township_id: null, active: true, version: 1 },
      { id: "s2", name: "李四", group: "市直部门", township_id: null, active: true, version: 1 },
      { id: "s3", name: "王五", group: "市领导", township_id: null, active: false, version: 1 },
    ];
    const devices = [hubDevice, device("d1", "评分电脑3号"), device("d4", "评分电脑4号", { scorer_ids: ["s2"] }), device("m-1", "直播电脑", { role: "media" })];
    const { calls, state } = backend(status({}, { role: "hub", name: "组织方主机", device_id: "hub-1", hub_id: "hub-1", devices }), {
      list_scorers: () => scorers,
      assign_scorer_device: (a) => {
        const next = devices.map((d) => (d.id === a.deviceId ? { ...d, scorer_ids: [...d.scorer_ids, a.scorerId as string] } : { ...d, scorer_ids: d.scorer_ids.filter((x) => x !== a.scorerId) }));
        state.status = status({}, { role: "hub", name: "组织方主机", device_id: "hub-1", hub_id: "hub-1", devices: next });
        return state.status;
      },
    });
    render(SyncView);
    await waitFor(() => expect(screen.getByTestId("device-scorers-d4").textContent?.trim()).toBe("李四"));
    expect(screen.queryByTestId("assign-m-1")).toBeNull();
    await fireEvent.click(screen.getByTestId("assign-d1"));
    const select = (await screen.findByTestId("assign-scorer")) as HTMLSelectElement;
    const offered = [...select.options].filter((o) => !o.disabled).map((o) => o.textContent);
    expect(offered).toEqual(["张三(市领导)", "李四(市直部门) — 现由“评分电脑4号”评分"]);
    expect(screen.getByTestId("confirm-assign")).toHaveProperty("disabled", true);
    await fireEvent.change(select, { target: { value: "s1" } });
    await fireEvent.click(screen.getByTestId("confirm-assign"));
    await waitFor(() => expect(called(calls, "assign_scorer_device")).toEqual([{ scorerId: "s1", deviceId: "d1" }]));
    await waitFor(() => expect(screen.getByTestId("device-scorers-d1").textContent?.trim()).toBe("张三"));
  });

  it("revokes a device only after a confirmation", async () => {
    const { calls } = backend(hub());
    render(SyncView);
    await fireEvent.click(await screen.findByTestId("revoke-d1"));
    expect(called(calls, "revoke_device")).toEqual([]);
    expect((await screen.findByTestId("revoke-dialog")).textContent).toContain("评分电脑3号");
    await fireEvent.click(screen.getByTestId("confirm-revoke"));
    await waitFor(() => expect(called(calls, "revoke_device")).toEqual([{ deviceId: "d1" }]));
    await waitFor(() => expect(screen.queryByTestId("revoke-dialog")).toBeNull());
  });

  it("grants 审核 to a paired laptop at once and shows it as 审核员, more than one at a time", async () => {
    const devices = [device("d1", "评分电脑3号"), device("d2", "直播电脑", { role: "media" }), device("d3", "直播电脑二", { role: "media", moderator: true })];
    const { calls, state } = backend(status({}, { role: "hub", name: "组织方主机", device_id: "hub-1", hub_id: "hub-1", devices }), {
      set_moderator: (a) => {
        const next = devices.map((d) => (d.id === a.deviceId ? { ...d, moderator: a.on as boolean } : d));
        state.status = status({}, { role: "hub", name: "组织方主机", device_id: "hub-1", hub_id: "hub-1", devices: next });
        return state.status;
      },
    });
    render(SyncView);
    expect((await screen.findByTestId("moderator-badge-d3")).textContent).toBe("审核员");
    expect(screen.getByTestId("moderator-revoke-d3").textContent).toBe("撤销审核");
    expect(screen.queryByTestId("moderator-badge-d2")).toBeNull();
    await fireEvent.click(screen.getByTestId("moderator-grant-d2"));
    await waitFor(() => expect(called(calls, "set_moderator")).toEqual([{ deviceId: "d2", on: true }]));
    expect((await screen.findByTestId("moderator-badge-d2")).textContent).toBe("审核员");
    expect(screen.getByTestId("moderator-badge-d3")).toBeTruthy();
    expect(screen.getByText(/已授予“直播电脑”审核权限/)).toBeTruthy();
  });

  it("revokes 审核 only after a confirmation", async () => {
    const devices = [device("d2", "直播电脑", { role: "media", moderator: true })];
    const { calls } = backend(status({}, { role: "hub", name: "组织方主机", device_id: "hub-1", hub_id: "hub-1", devices }), {
      set_moderator: () => status({}, { role: "hub", name: "组织方主机", device_id: "hub-1", hub_id: "hub-1", devices: [{ ...devices[0], moderator: false }] }),
    });
    render(SyncView);
    await fireEvent.click(await screen.findByTestId("moderator-revoke-d2"));
    expect(called(calls, "set_moderator")).toEqual([]);
    expect((await screen.findByTestId("moderator-revoke-dialog")).textContent).toContain("一律不采用");
    await fireEvent.click(screen.getByTestId("confirm-moderator-revoke"));
    await waitFor(() => expect(called(calls, "set_moderator")).toEqual([{ deviceId: "d2", on: false }]));
    await waitFor(() => expect(screen.queryByTestId("moderator-revoke-dialog")).toBeNull());
    expect(await screen.findByTestId("moderator-grant-d2")).toBeTruthy();
    expect(screen.queryByTestId("moderator-badge-d2")).toBeNull();
  });

  it("hands a revoked laptop's records to another paired scorer laptop", async () => {
    const devices = [hubDevice, device("old-1", "评分电脑1号", { revoked_at: "2024-12-04T03:00:00Z" }), device("new-1", "备用评分电脑"), device("m-1", "直播电脑", { role: "media" })];
    const { calls } = backend(status({}, { role: "hub", name: "组织方主机", device_id: "hub-1", hub_id: "hub-1", devices }));
    render(SyncView);
    await fireEvent.click(await screen.findByTestId("hand-over-old-1"));
    const select = (await screen.findByTestId("hand-over-to")) as HTMLSelectElement;
    const offered = [...select.options].filter((o) => !o.disabled).map((o) => o.textContent);
    expect(offered).toEqual(["备用评分电脑"]);
    expect(screen.getByTestId("confirm-hand-over")).toHaveProperty("disabled", true);
    await fireEvent.change(select, { target: { value: "new-1" } });
    await fireEvent.click(screen.getByTestId("confirm-hand-over"));
    await waitFor(() => expect(called(calls, "transfer_device")).toEqual([{ from: "old-1", to: "new-1" }]));
  });

  it("says why laptops cannot connect when the peer port is taken", async () => {
    backend(hub({ peer: { running: false, port: 8787, urls: [], error: "端口8787已被占用,评分电脑暂时无法连接本机" } }));
    render(SyncView);
    expect((await screen.findByTestId("peer-error")).textContent).toContain("端口8787已被占用");
    expect(screen.getByTestId("pairing-new")).toHaveProperty("disabled", true);
  });

  it("moves the peer listener to another port and tells the organiser to pair the laptops again", async () => {
    const taken = hub({ peer: { running: false, port: 8787, urls: [], error: "端口8787已被占用,评分电脑暂时无法连接本机" } });
    const { calls } = backend(taken, {
      set_peer_port: (a) => hub({ peer: { running: true, port: a.port as number, urls: [`http://192.168.1.20:${a.port as number}`], error: null } }),
    });
    render(SyncView);
    await fireEvent.click(await screen.findByTestId("peer-port-change"));
    const input = (await screen.findByTestId("peer-port")) as HTMLInputElement;
    expect(input.value).toBe("8787");
    await fireEvent.input(input, { target: { value: "87a" } });
    expect(screen.getByTestId("peer-port-bad").textContent).toContain("端口请填写数字");
    expect(screen.getByTestId("peer-port-save")).toHaveProperty("disabled", true);
    await fireEvent.input(input, { target: { value: " 9797 " } });
    await fireEvent.click(screen.getByTestId("peer-port-save"));
    await waitFor(() => expect(called(calls, "set_peer_port")).toEqual([{ port: 9797 }]));
    expect((await screen.findByTestId("hub-url")).textContent).toBe("http://192.168.1.20:9797");
    expect(screen.queryByTestId("peer-error")).toBeNull();
    expect(screen.getByRole("status").textContent).toContain("重新配对");
    expect(screen.queryByTestId("peer-port-form")).toBeNull();
  });

  it("imports a bundle picked in the file dialog and reports applied, already there, refused and still missing", async () => {
    const report: BundleReport = {
      device_id: "d1",
      device_name: "评分电脑3号",
      applied: 18,
      already: 2,
      refused: [{ origin: "d1", seq: 21, code: "hub_only", detail: "" }],
      still_missing: 4,
      photos_added: 1,
      photos_already: 0,
      bundle_id: "b1",
      ops: 25,
      conflicts: 0,
      photos_missing: 2,
    };
    const { calls } = backend(hub(), { pick_file_to_open: () => "/media/usb/同步包.gmsync", import_sync_bundle: () => report });
    render(SyncView);
    await fireEvent.click(await screen.findByTestId("bundle-import"));
    const shown = await screen.findByTestId("bundle-report");
    expect(called(calls, "import_sync_bundle")).toEqual([{ path: "/media/usb/同步包.gmsync" }]);
    expect(shown.textContent).toContain("评分电脑3号");
    expect(screen.getByTestId("bundle-已应用").textContent).toContain("18");
    expect(screen.getByTestId("bundle-已存在").textContent).toContain("2");
    expect(screen.getByTestId("bundle-拒绝").textContent).toContain("1");
    expect(screen.getByTestId("bundle-仍缺少").textContent).toContain("4");
    expect(shown.textContent).toContain("只能由组织方主机修改");
    expect(shown.textContent).toContain("共 25 项修改");
    expect(shown.textContent).toContain("仍缺原图 2");
  });

  it("shows a refused bundle's error in Chinese with its code", async () => {
    const refused: ApiError = { code: "bundle_invalid", message: "signature does not match", problems: [] };
    backend(hub(), {
      pick_file_to_open: () => "/media/usb/坏包.gmsync",
      import_sync_bundle: () => {
        throw refused;
      },
    });
    render(SyncView);
    await fireEvent.click(await screen.findByTestId("bundle-import"));
    expect((await screen.findByTestId("error-panel")).textContent).toContain("同步包无法使用");
    expect(screen.getByTestId("error-code").textContent).toContain("bundle_invalid");
  });
});

describe("a laptop", () => {
  const paired = (over: Partial<SyncStatus> = {}, o: Parameters<typeof status>[1] = {}) =>
    status({ auto_sync: true, ...over }, { hub_id: "hub-1", devices: [hubDevice], unconfirmed: 18, photos_missing: 2, ...o });

  it("pairs with the address and the code typed, spaces and all", async () => {
    const { calls, state } = backend(status(), { pair_with_hub: () => (state.status = paired()) });
    render(SyncView);
    await screen.findByTestId("pair-form");
    await fireEvent.input(screen.getByTestId("pair-url"), { target: { value: "192.168.1.20:8787" } });
    await fireEvent.input(screen.getByTestId("pair-code"), { target: { value: "482 913" } });
    await fireEvent.click(screen.getByTestId("pair-submit"));
    await waitFor(() => expect(called(calls, "pair_with_hub")).toEqual([{ url: "192.168.1.20:8787", code: "482913", fingerprint: null }]));
    expect((await screen.findByTestId("laptop-status")).textContent).toContain("组织方主机");
  });

  it("fills address, code and certificate fingerprint from a pasted pairing link", async () => {
    const { calls, state } = backend(status(), { pair_with_hub: () => (state.status = paired()) });
    render(SyncView);
    const fp = "ab".repeat(32);
    const link = `guanmo://pair?url=https%3A%2F%2Flive.example.cn%3A8787&code=482913&fp=${fp}`;
    await fireEvent.input(await screen.findByTestId("pair-url"), { target: { value: link } });
    expect((screen.getByTestId("pair-fingerprint") as HTMLInputElement).value).toBe(fp);
    await fireEvent.click(screen.getByTestId("pair-submit"));
    await waitFor(() =>
      expect(called(calls, "pair_with_hub")).toEqual([{ url: "https://live.example.cn:8787", code: "482913", fingerprint: fp }]),
    );
  });

  it("does not send a code that is not six digits", async () => {
    const { calls } = backend(status());
    render(SyncView);
    await fireEvent.input(await screen.findByTestId("pair-url"), { target: { value: "http://192.168.1.20:8787" } });
    await fireEvent.input(screen.getByTestId("pair-code"), { target: { value: "4829" } });
    await fireEvent.click(screen.getByTestId("pair-submit"));
    expect(await screen.findByText("配对码是主机上显示的6位数字")).toBeTruthy();
    expect(called(calls, "pair_with_hub")).toEqual([]);
  });

  it("shows a refused code in Chinese with its code underneath", async () => {
    backend(status(), {
      pair_with_hub: () => {
        throw { code: "pairing_refused", message: "wrong pairing code", problems: [] } satisfies ApiError;
      },
    });
    render(SyncView);
    await fireEvent.input(await screen.findByTestId("pair-url"), { target: { value: "192.168.1.20" } });
    await fireEvent.input(screen.getByTestId("pair-code"), { target: { value: "000000" } });
    await fireEvent.click(screen.getByTestId("pair-submit"));
    expect((await screen.findByTestId("error-panel")).textContent).toContain("配对码不正确");
    expect(screen.getByTestId("error-code").textContent).toContain("pairing_refused");
  });

  it("shows what waits to go out and warns about a skewed clock", async () => {
    backend(paired({}, { clock_offset_ms: -7 * 60_000, clock_warning: true }));
    render(SyncView);
    expect((await screen.findByTestId("stat-unconfirmed")).textContent).toBe("18");
    expect(screen.getByTestId("stat-photos").textContent).toBe("2");
    expect(screen.getByTestId("stat-last-contact").textContent).toBe("刚刚");
    expect(screen.getByTestId("clock-warning").textContent).toContain("本机时间与主机相差 7 分钟,请校准系统时间");
  });

  it("syncs now, shows each step's progress, then the result sent by the backend", async () => {
    const { calls } = backend(paired());
    render(SyncView);
    await fireEvent.click(await screen.findByTestId("sync-now"));
    await waitFor(() => expect(called(calls, "sync_now")).toHaveLength(1));
    await emit("sync-progress", { step: "pushing", done: 9, total: 18, bytes: 0, post_id: null });
    expect((await screen.findByTestId("sync-progress")).textContent).toBe("正在发送本机数据 9/18");
    expect(screen.getByTestId("sync-now").textContent).toContain("同步中");
    const run = { at: new Date().toISOString(), pushed: 18, applied: 3, held: 0, refused: 0, conflicts: 0, refused_by_hub: 0, photos_sent: 0, photos_received: 0, copies_sent: 0, originals_waiting: 0, bytes: 0 };
    await emit("sync-changed", paired({ last_run: run }, { unconfirmed: 0 }));
    await waitFor(() => expect(screen.getByTestId("sync-state").textContent).toContain("已同步"));
    expect(screen.getByTestId("sync-state").textContent).toContain("发送 18 条,接收 3 条");
    expect(screen.getByTestId("stat-unconfirmed").textContent).toBe("0");
    expect(screen.getByTestId("sync-now").textContent).toContain("立即同步");
  });

  it("asks to pair again, with the hub's address filled in, once the hub revoked this laptop", async () => {
    const revoked = { at: new Date().toISOString(), error: { code: "not_paired" as const, message: "unknown or revoked device", problems: [] } };
    const { calls } = backend(paired({ last_error: revoked, failures: 1 }), { pair_with_hub: () => paired() });
    render(SyncView);
    expect((await screen.findByTestId("pair-form")).textContent).toContain("重新配对");
    expect((screen.getByTestId("pair-url") as HTMLInputElement).value).toBe("http://192.168.1.20:8787");
    expect(screen.getByTestId("error-code").textContent).toContain("not_paired");
    await fireEvent.input(screen.getByTestId("pair-code"), { target: { value: "135790" } });
    await fireEvent.click(screen.getByTestId("pair-submit"));
    await waitFor(() => expect(called(calls, "pair_with_hub")).toEqual([{ url: "http://192.168.1.20:8787", code: "135790", fingerprint: null }]));
  });

  it("offers 重新配对 on request, for a hub that moved to another address", async () => {
    backend(paired());
    render(SyncView);
    await fireEvent.click(await screen.findByTestId("repair"));
    expect((await screen.findByTestId("pair-form")).textContent).toContain("重新配对");
    await fireEvent.click(screen.getByText("取消"));
    await waitFor(() => expect(screen.queryByTestId("pair-form")).toBeNull());
  });

  it("shows a failed run's reason and when it retries", async () => {
    const failure = { at: new Date().toISOString(), error: { code: "unreachable" as const, message: "connection refused", problems: [] } };
    backend(paired({ last_error: failure, failures: 3, next_attempt_at: new Date(Date.now() + 8_000).toISOString() }));
    render(SyncView);
    const line = await screen.findByTestId("sync-state");
    expect(line.textContent).toContain("已连续 3 次");
    expect(line.textContent).toMatch(/[89] 秒后自动重试/);
    expect(screen.getByTestId("error-panel").textContent).toContain("连接不上组织方主机");
    expect(screen.getByTestId("error-code").textContent).toContain("unreachable");
  });
});

describe("问题", () => {
  it("lists refusals and conflicts with their reasons and marks one handled", async () => {
    const issues = [
      issue("i1", "not_owner"),
      issue("i2", "concurrent_edit", { kind: "conflict", entity_kind: "roster", other_origin: "hub-1" }),
      issue("i3", "hub_only", { resolved_at: "2024-12-04T02:00:00Z" }),
    ];
    const { calls } = backend(status({}, { hub_id: "hub-1", devices: [hubDevice], issues }));
    render(SyncView);
    expect((await screen.findByTestId("issue-count")).textContent).toBe("2");
    expect(screen.getByTestId("issue-i1").textContent).toContain("该记录属于另一台设备");
    expect(screen.getByTestId("issue-i2").textContent).toContain("两台设备同时修改了同一记录,已保留主机版本,请核对");
    expect(screen.getByTestId("issue-i2").textContent).toContain("冲突");
    expect(screen.queryByTestId("issue-i3")).toBeNull();
    await fireEvent.click(screen.getByTestId("resolve-i1"));
    await waitFor(() => expect(called(calls, "resolve_sync_issue")).toEqual([{ id: "i1" }]));
  });

  it("on the hub, adopts the version that did not stand only after a second click", async () => {
    const issues = [issue("c1", "concurrent_edit", { kind: "conflict", entity_kind: "post", origin: "lap-1", other_origin: "hub-1" })];
    const { calls } = backend(status({}, { role: "hub", name: "组织方主机", device_id: "hub-1", hub_id: "hub-1", issues }));
    render(SyncView);
    const button = await screen.findByTestId("adopt-c1");
    expect(button.textContent).toContain("改用另一版本");
    await fireEvent.click(button);
    expect(called(calls, "adopt_sync_version")).toEqual([]);
    expect(screen.getByTestId("adopt-c1").textContent).toContain("确认改用");
    await fireEvent.click(screen.getByTestId("adopt-c1"));
    await waitFor(() => expect(called(calls, "adopt_sync_version")).toEqual([{ id: "c1" }]));
  });

  it("does not offer another version on a laptop: the hub decides", async () => {
    const issues = [issue("c2", "concurrent_edit", { kind: "conflict", entity_kind: "post", other_origin: "hub-1" })];
    backend(status({}, { hub_id: "hub-1", devices: [hubDevice], issues }));
    render(SyncView);
    await screen.findByTestId("issue-c2");
    expect(screen.queryByTestId("adopt-c2")).toBeNull();
  });

  it("words a moderator's decision the hub refused for an earlier one, and offers no other version of it", async () => {
    const issues = [
      issue("d1", "decision_conflict", { kind: "conflict", entity_kind: "comment_decision", entity_id: "c-1", origin: "lap-2", other_origin: "lap-1" }),
    ];
    backend(status({}, { role: "hub", name: "组织方主机", device_id: "hub-1", hub_id: "hub-1", issues }));
    render(SyncView);
    const row = await screen.findByTestId("issue-d1");
    expect(row.textContent).toContain("另一位审核员已先作出决定");
    expect(row.textContent).toContain("评论审核决定");
    expect(screen.queryByTestId("adopt-d1")).toBeNull();
    expect(screen.getByTestId("resolve-d1")).toBeTruthy();
  });

  it("says plainly when there is nothing to check", async () => {
    backend(status({}, { hub_id: "hub-1", devices: [hubDevice] }));
    render(SyncView);
    expect((await screen.findByTestId("no-issues")).textContent).toContain("没有需要处理的问题");
  });
});
