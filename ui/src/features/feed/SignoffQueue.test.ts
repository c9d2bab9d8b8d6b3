import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { Post, SignoffOverview, SignoffSettings } from "../../ipc";
import SignoffQueue from "./SignoffQueue.svelte";
import { pendingWord, signoffFooter, statusWord } from "./feed";

const pending: Post = {
  id: "p1",
  stop_label: "【第8站·荫田镇】",
  township_id: null,
  body: "观摩团来到荫田镇。",
  photos: [],
  credit: "记者 王明 摄",
  status: "pending",
  pinned: false,
  created_at: "2026-12-04T01:00:00Z",
  published_at: null,
  updated_at: null,
  retracted_at: null,
  retracted_by: null,
  version: 2,
  signoff: { levels_done: 1, editor: null, approver: null, returned_reason: null, print_footer: true },
};

function overview(levels: number, word: string, finalLevel: boolean): SignoffOverview {
  return {
    settings: { levels, print_footer: true },
    my_levels: [1, 2],
    final_level: finalLevel,
    queue: [{ post: pending, next_level: 2, word, submitted_by: "王明" }],
  };
}

type Calls = { cmd: string; args: Record<string, unknown> }[];

function backend(): Calls {
  const calls: Calls = [];
  mockIPC((cmd, raw) => {
    const args = (raw ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    switch (cmd) {
      case "signoff_post":
        return { ...pending, status: "published" };
      case "set_signoff_settings":
        return args.settings as SignoffSettings;
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  return calls;
}

afterEach(() => {
  cleanup();
  clearMocks();
});

describe("审核队列", () => {
  it("shows a waiting post with its preview and approves the version shown", async () => {
    const calls = backend();
    let reloaded = 0;
    render(SignoffQueue, { overview: overview(3, "待二审", true), onchanged: () => void reloaded++ });
    expect(screen.getByTestId("signoff-item-p1").textContent).toContain("待二审");
    expect(screen.getByTestId("signoff-item-p1").textContent).toContain("提交人:王明");
    expect(screen.getByTestId("post-preview").textContent).toContain("观摩团来到荫田镇。");
    await fireEvent.click(screen.getByTestId("signoff-approve-p1"));
    await waitFor(() => expect(reloaded).toBe(1));
    expect(calls.find((c) => c.cmd === "signoff_post")!.args).toEqual({ id: "p1", action: "approve", expectedVersion: 2, reason: "" });
    expect(screen.getByRole("status").textContent).toContain("已通过,转下一级审核");
  });

  it("sends a post back only with a reason", async () => {
    const calls = backend();
    render(SignoffQueue, { overview: overview(2, "待二审", false), onchanged: () => {} });
    expect(screen.queryByTestId("signoff-urgent-p1")).toBeNull();
    await fireEvent.click(screen.getByTestId("signoff-return-p1"));
    const confirm = screen.getByTestId("confirm-return") as HTMLButtonElement;
    expect(confirm.disabled).toBe(true);
    await fireEvent.input(screen.getByTestId("return-reason"), { target: { value: "配图不清晰" } });
    await fireEvent.click(confirm);
    await waitFor(() => expect(calls.some((c) => c.cmd === "signoff_post")).toBe(true));
    expect(calls.find((c) => c.cmd === "signoff_post")!.args).toMatchObject({ action: "return", reason: "配图不清晰" });
  });

  it("offers 紧急发布 (confirmed) to the final level and 签发 once the levels were lowered", async () => {
    const calls = backend();
    const { unmount } = render(SignoffQueue, { overview: overview(3, "待二审", true), onchanged: () => {} });
    await fireEvent.click(screen.getByTestId("signoff-urgent-p1"));
    await fireEvent.click(screen.getByTestId("confirm-urgent"));
    await waitFor(() => expect(calls.find((c) => c.cmd === "signoff_post")?.args.action).toBe("fast_track"));
    unmount();
    render(SignoffQueue, { overview: overview(1 + 1, "待签发", true), onchanged: () => {} });
    expect(screen.queryByTestId("signoff-approve-p1")).toBeNull();
    expect(screen.getByTestId("signoff-signoff-p1").textContent).toBe("签发");
  });

  it("saves the organiser's levels and footer setting", async () => {
    const calls = backend();
    render(SignoffQueue, { overview: overview(1, "待审", false), onchanged: () => {} });
    await fireEvent.click(screen.getByTestId("signoff-levels-3"));
    await fireEvent.click(screen.getByTestId("signoff-save"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "set_signoff_settings")).toBe(true));
    expect(calls.find((c) => c.cmd === "set_signoff_settings")!.args.settings).toEqual({ levels: 3, print_footer: true });
  });
});

describe("sign-off words", () => {
  it("name the next level, 待签发 when none is left, and the footer's names", () => {
    expect(pendingWord(1, 3)).toBe("待二审");
    expect(pendingWord(2, 3)).toBe("待三审");
    expect(pendingWord(2, 2)).toBe("待签发");
    expect(statusWord(pending, { levels: 3, print_footer: false })).toBe("待二审");
    expect(statusWord({ ...pending, status: "draft", signoff: { ...pending.signoff, returned_reason: "改" } }, null)).toBe("已退回");
    expect(signoffFooter({ ...pending, signoff: { ...pending.signoff, editor: "张三", approver: "李四" } })).toBe("责任编辑：张三 审核：李四");
  });
});
