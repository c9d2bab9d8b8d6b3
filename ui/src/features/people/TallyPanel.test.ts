import { afterEach, describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { PersonRole, SealView, TallyStatus } from "../../ipc";
import { session } from "../../lib/session.svelte";
import TallyPanel from "./TallyPanel.svelte";
import { DIGEST, person, sessionView, tally } from "./fixtures";

const sealed = (over: Partial<SealView> = {}): SealView => ({
  id: 1,
  sealed_at: "2024-12-04T09:00:00Z",
  sealed_by: "organiser|p-zs|张三",
  digest: DIGEST,
  close_reason: "",
  revealed_at: null,
  revealed_by: null,
  still_valid: true,
  ...over,
});

function backend(status: TallyStatus, roles: PersonRole[] = ["organiser"]) {
  session.view = sessionView({ person: person({ roles }) });
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
    switch (cmd) {
      case "get_tally_status":
        return status;
      case "seal_tally":
        return { ...status, seal: sealed({ close_reason: (args as { closeReason: string | null }).closeReason ?? "" }) };
      case "reveal_tally":
        return { ...status, revealed: true, seal: sealed({ revealed_at: "2024-12-04T10:00:00Z", revealed_by: "organiser|p-zs|张三" }) };
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  return calls;
}

afterEach(() => {
  clearMocks();
  session.view = null;
});

describe("揭晓", () => {
  it("asks the organiser for a 结束原因 before sealing while sheets are missing", async () => {
    const calls = backend(tally());
    render(TallyPanel);
    expect((await screen.findByTestId("tally-progress")).textContent).toContain("已提交 4 / 应交 6");
    await fireEvent.click(screen.getByTestId("tally-seal"));
    expect(screen.getByTestId("tally-reason-error").textContent).toBe("请填写结束原因");
    expect(calls.some((c) => c.cmd === "seal_tally")).toBe(false);

    await fireEvent.input(screen.getByTestId("tally-reason"), { target: { value: "两位评委因公未到" } });
    await fireEvent.click(screen.getByTestId("tally-seal"));
    await waitFor(() => expect(screen.getByTestId("tally-digest")).toBeTruthy());
    expect(calls.find((c) => c.cmd === "seal_tally")!.args).toEqual({ closeReason: "两位评委因公未到" });
  });

  it("seals a complete count without a reason", async () => {
    const calls = backend(tally({ submitted: 6, complete: true }));
    render(TallyPanel);
    await fireEvent.click(await screen.findByTestId("tally-seal"));
    expect(screen.queryByTestId("tally-reason")).toBeNull();
    await waitFor(() => expect(calls.find((c) => c.cmd === "seal_tally")?.args).toEqual({ closeReason: null }));
  });

  it("shows the digest in groups of 8 and reveals after a confirmation", async () => {
    const calls = backend(tally({ submitted: 6, complete: true, seal: sealed() }));
    render(TallyPanel);
    const digest = await screen.findByTestId("tally-digest");
    expect([...digest.querySelectorAll(".group")].map((g) => g.textContent)).toEqual(Array.from({ length: 8 }, (_, i) => (i % 2 ? "89abcdef" : "01234567")));
    expect(screen.getByTestId("tally-sealed-by").textContent).toContain("张三 · 组织方");
    expect(screen.queryByTestId("tally-seal")).toBeNull();

    await fireEvent.click(screen.getByTestId("tally-reveal"));
    expect(calls.some((c) => c.cmd === "reveal_tally")).toBe(false);
    await fireEvent.click(screen.getByTestId("tally-reveal-confirm"));
    expect((await screen.findByTestId("tally-revealed")).textContent).toContain("已揭晓 · 2024-12-04 18:00");
    expect(screen.getByTestId("tally-panel").textContent).toContain("汇总表打印同一校验码");
    expect(screen.queryByTestId("tally-reveal")).toBeNull();
  });

  it("tells that the count changed after the seal, and offers to seal again", async () => {
    backend(tally({ submitted: 6, complete: true, seal: sealed({ still_valid: false }) }));
    render(TallyPanel);
    expect((await screen.findByTestId("tally-invalid")).textContent).toBe("封存后评分有变动,须重新封存");
    expect(screen.getByTestId("tally-seal").textContent).toBe("重新封存");
    expect(screen.queryByTestId("tally-reveal")).toBeNull();
  });

  it("shows a 监票人 the same without the buttons", async () => {
    backend(tally({ seal: sealed() }), ["monitor"]);
    render(TallyPanel);
    await screen.findByTestId("tally-digest");
    expect(screen.queryByTestId("tally-seal")).toBeNull();
    expect(screen.queryByTestId("tally-reveal")).toBeNull();
    expect(screen.queryByTestId("tally-reason")).toBeNull();
  });
});
