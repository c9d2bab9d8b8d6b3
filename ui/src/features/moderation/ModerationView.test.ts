import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import type { DecideReport, ModerationOverview, Post, QueueItem, Township } from "../../ipc";
import ModerationView from "./ModerationView.svelte";
import { comment, plain } from "./fixtures";

const REASONS = ["含敏感词或不文明用语", "与观摩会内容无关", "含广告或联系方式", "涉及他人隐私", "重复内容", "信息不实"];

const town = { id: "t-sks", code: "430482102000", name: "水口山镇", kind: "town", enabled: true, position: 7, day: 1, arrival: null, slot_minutes: null, note: "", version: 1 } as Township;
const post = { id: "p-7", stop_label: "【第7站·水口山镇】", body: "正文", status: "published" } as Post;

type Calls = { cmd: string; args: Record<string, unknown> }[];

function backend(pending: QueueItem[], opts: { areaOpen?: boolean; decide?: (ids: string[]) => DecideReport } = {}) {
  const calls: Calls = [];
  const state = { pending, areaOpen: opts.areaOpen ?? true };
  mockIPC(
    (cmd, raw) => {
      const args = (raw ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args });
      switch (cmd) {
        case "get_moderation_overview":
          return { pending: state.pending.length, reported: 0, approved: 0, rejected: 0, suggestions_open: 0, area_open: state.areaOpen, words: 0, reject_reasons: REASONS } satisfies ModerationOverview;
        case "list_mutes":
          return [];
        case "list_townships":
          return [town];
        case "list_posts":
          return [post];
        case "list_comment_queue":
          return args.kind === "pending" ? state.pending : [];
        case "decide_comments": {
          const ids = args.ids as string[];
          return opts.decide ? opts.decide(ids) : { done: ids.map((id) => comment(id, { status: "approved" })), refused: [] };
        }
        case "set_comment_area_open":
          state.areaOpen = args.open as boolean;
          return null;
        default:
          return null;
      }
    },
    { shouldMockEvents: true },
  );
  return { calls, state };
}

const decided = (calls: Calls) => calls.filter((c) => c.cmd === "decide_comments").map((c) => c.args);

// Unmount first: the views stop their event listeners, which needs the mocked event plugin.
afterEach(() => {
  cleanup();
  clearMocks();
});

describe("ModerationView", () => {
  it("mutes a comment's author, optionally hiding their approved comments, with a reason", async () => {
    const { calls } = backend([plain(comment("c9"))]);
    render(ModerationView);
    await fireEvent.click(await screen.findByTestId("mute-c9"));
    const dialog = await screen.findByTestId("mute-dialog");
    expect(dialog.textContent).toContain("已公开的评论照常显示");
    await fireEvent.click(screen.getByTestId("mute-hide"));
    expect(dialog.textContent).toContain("其已公开的评论暂不显示");
    await fireEvent.input(screen.getByTestId("mute-reason"), { target: { value: "多次发广告" } });
    await fireEvent.click(screen.getByTestId("confirm-mute"));
    await waitFor(() =>
      expect(calls.filter((c) => c.cmd === "mute_comment_author").map((c) => c.args)).toEqual([
        { commentId: "c9", days: 7, reason: "多次发广告", hideComments: true },
      ]),
    );
  });

  it("shows a comment's who, when, what and where, with hits marked, and never renders its text as HTML", async () => {
    const c = comment("c1", {
      nickname: "老乡<b>",
      kind: "suggestion",
      handling: "open",
      text: '<img src=x onerror="alert(1)">加微信',
      target: "p-7",
      township_id: "t-sks",
      phone_verified: false,
      appealed: true,
      appeal_reason: "我没有打广告",
      reject_reason: "含广告或联系方式",
    });
    backend([
      {
        comment: c,
        text_parts: [
          { text: '<img src=x onerror="alert(1)">', word: null },
          { text: "加微信", word: "加微信" },
        ],
        nickname_parts: [{ text: "老乡<b>", word: null }],
      },
    ]);
    render(ModerationView);

    const card = await screen.findByTestId("comment-c1");
    expect(card.querySelector("img")).toBeNull();
    expect(card.querySelector("b")).toBeNull();
    expect(screen.getByTestId("text-c1").textContent).toBe('<img src=x onerror="alert(1)">加微信');
    const mark = card.querySelector("mark");
    expect(mark?.textContent).toBe("加微信");
    expect(mark?.getAttribute("title")).toContain("加微信");
    expect(card.textContent).toContain("老乡<b>");
    expect(card.textContent).toContain("2024-12-04 09:30");
    expect(card.textContent).toContain("意见建议");
    expect(card.textContent).toContain("【第7站·水口山镇】");
    expect(card.textContent).toContain("水口山镇");
    expect(card.textContent).toContain("138****1234");
    expect(card.textContent).toContain("未验证");
    expect(screen.getByTestId("appeal-c1").textContent).toBe("申诉");
    expect(card.textContent).toContain("我没有打广告");
    expect(screen.getByTestId("mod-count-pending").textContent).toBe("1");
  });

  it("says plainly when nothing waits for review", async () => {
    backend([]);
    render(ModerationView);
    expect((await screen.findByTestId("queue-empty")).textContent).toContain("没有待审核的评论");
    expect(screen.queryByTestId("select-all")).toBeNull();
  });

  it("approves the comment selected with J by pressing A", async () => {
    const { calls } = backend([plain(comment("c1")), plain(comment("c2")), plain(comment("c3"))]);
    render(ModerationView);
    await screen.findByTestId("comment-c1");
    expect(screen.getByTestId("comment-c1").getAttribute("aria-current")).toBe("true");

    await fireEvent.keyDown(window, { key: "j" });
    expect(screen.getByTestId("comment-c2").getAttribute("aria-current")).toBe("true");
    await fireEvent.keyDown(window, { key: "a" });
    // Nothing is public yet: the approval waits out its undo time, the comment leaves the list.
    expect((await screen.findByTestId("approve-pending")).textContent).toContain("已通过 1 条,5 秒后在直播页面公开显示");
    expect(screen.queryByTestId("comment-c2")).toBeNull();
    expect(decided(calls)).toEqual([]);
    await fireEvent.click(screen.getByTestId("send-approve"));
    await waitFor(() => expect(decided(calls)).toEqual([{ ids: ["c2"], decision: { kind: "approve" } }]));
  });

  it("takes an approval back within its undo time, by button or Ctrl+Z", async () => {
    const { calls } = backend([plain(comment("c1")), plain(comment("c2"))]);
    render(ModerationView);
    await screen.findByTestId("comment-c1");
    await fireEvent.click(screen.getByTestId("approve-c1"));
    await screen.findByTestId("approve-pending");
    expect(screen.queryByTestId("comment-c1")).toBeNull();
    await fireEvent.click(screen.getByTestId("undo-approve"));
    expect(await screen.findByTestId("comment-c1")).toBeTruthy();
    expect(screen.queryByTestId("approve-pending")).toBeNull();
    expect(screen.getByText("已撤销:1 条评论仍在待审核")).toBeTruthy();

    await fireEvent.keyDown(window, { key: "a" });
    await screen.findByTestId("approve-pending");
    await fireEvent.keyDown(window, { key: "z", ctrlKey: true });
    await waitFor(() => expect(screen.queryByTestId("approve-pending")).toBeNull());
    expect(screen.getByTestId("comment-c1")).toBeTruthy();
    await new Promise((r) => setTimeout(r, 50));
    expect(decided(calls)).toEqual([]);
  });

  it("rejects with R, a number key for the reason and Enter; Esc cancels", async () => {
    const { calls } = backend([plain(comment("c1")), plain(comment("c2"))]);
    render(ModerationView);
    await screen.findByTestId("comment-c1");

    await fireEvent.keyDown(window, { key: "r" });
    await screen.findByTestId("reject-dialog");
    await fireEvent.keyDown(window, { key: "Escape" });
    await waitFor(() => expect(screen.queryByTestId("reject-dialog")).toBeNull());
    expect(decided(calls)).toEqual([]);

    await fireEvent.keyDown(window, { key: "R" });
    await screen.findByTestId("reject-dialog");
    await fireEvent.keyDown(window, { key: "2" });
    expect((screen.getByTestId("reject-reason-2") as HTMLInputElement).checked).toBe(true);
    await fireEvent.keyDown(window, { key: "Enter" });
    await waitFor(() => expect(decided(calls)).toEqual([{ ids: ["c1"], decision: { kind: "reject", reason: REASONS[1] } }]));
    await waitFor(() => expect(screen.queryByTestId("reject-dialog")).toBeNull());
  });

  it("does not take letters typed in a field as shortcuts", async () => {
    const { calls } = backend([plain(comment("c1"))]);
    render(ModerationView);
    await screen.findByTestId("comment-c1");
    const input = document.createElement("input");
    document.body.appendChild(input);
    input.focus();
    await fireEvent.keyDown(input, { key: "a" });
    await fireEvent.keyDown(input, { key: "r" });
    expect(screen.queryByTestId("reject-dialog")).toBeNull();
    expect(decided(calls)).toEqual([]);
    input.remove();
  });

  it("approves the ticked comments in bulk and lists the ones the backend refused", async () => {
    const { calls } = backend([plain(comment("c1")), plain(comment("c2"))], {
      decide: (ids) => ({
        done: [comment(ids[0], { status: "approved" })],
        refused: [{ code: "invalid", severity: "error", row: null, location: "市民c2", message: "这条评论已是该状态" }],
      }),
    });
    render(ModerationView);
    await screen.findByTestId("comment-c1");
    await fireEvent.click(screen.getByTestId("select-all"));
    await fireEvent.click(screen.getByTestId("bulk-approve"));
    // 全选 + 批量通过 first says how many become public.
    const dialog = await screen.findByTestId("bulk-approve-dialog");
    expect(dialog.textContent).toContain("将公开显示 2 条评论");
    expect(decided(calls)).toEqual([]);
    // The cursor is on 确认通过: Enter confirms.
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId("confirm-bulk-approve")));
    await fireEvent.click(screen.getByTestId("confirm-bulk-approve"));
    await screen.findByTestId("approve-pending");
    await fireEvent.click(screen.getByTestId("send-approve"));
    await waitFor(() => expect(decided(calls)).toEqual([{ ids: ["c1", "c2"], decision: { kind: "approve" } }]));
    expect((await screen.findByTestId("decide-refused")).textContent).toContain("市民c2 · 这条评论已是该状态");
  });

  it("shows a resident's new comment as soon as the backend says comments changed", async () => {
    const { state } = backend([plain(comment("c1"))]);
    render(ModerationView);
    await screen.findByTestId("comment-c1");
    state.pending = [plain(comment("c1")), plain(comment("c9"))];
    await emit("data-changed", { entities: ["comment"] });
    await screen.findByTestId("comment-c9");
    await waitFor(() => expect(screen.getByTestId("mod-count-pending").textContent).toBe("2"));
  });

  it("closes the whole comment area after a confirmation, with the reason given", async () => {
    const { calls } = backend([]);
    render(ModerationView);
    expect((await screen.findByTestId("area-state")).textContent).toBe("评论区已开放");
    await fireEvent.click(screen.getByTestId("area-toggle"));
    await fireEvent.input(await screen.findByTestId("area-reason"), { target: { value: "现场临时调整" } });
    await fireEvent.click(screen.getByTestId("confirm-area"));
    await waitFor(() => expect(calls.find((c) => c.cmd === "set_comment_area_open")?.args).toEqual({ open: false, reason: "现场临时调整" }));
    await waitFor(() => expect(screen.getByTestId("area-state").textContent).toBe("评论区已关闭"));
    expect(screen.getByTestId("area-toggle").textContent).toContain("重新开放评论区");
  });
});

describe("敏感词库 and 意见建议", () => {
  it("adds words one a line, reports 新增/共计, and says hits are only flagged", async () => {
    const calls: Calls = [];
    const words: string[] = ["广告"];
    mockIPC(
      (cmd, raw) => {
        const args = (raw ?? {}) as Record<string, unknown>;
        calls.push({ cmd, args });
        if (cmd === "list_sensitive_words") return words;
        if (cmd === "add_sensitive_words") {
          words.push(...(args.text as string).split("\n"));
          return { changed: 2, skipped: 0, total: words.length };
        }
        if (cmd === "get_moderation_overview") return { pending: 0, reported: 0, approved: 0, rejected: 0, suggestions_open: 0, area_open: true, words: words.length, reject_reasons: REASONS };
        return cmd === "list_comment_queue" || cmd === "list_mutes" || cmd === "list_townships" || cmd === "list_posts" ? [] : null;
      },
      { shouldMockEvents: true },
    );
    render(ModerationView);
    await fireEvent.click(await screen.findByTestId("mod-tab-words"));
    expect(screen.getByTestId("words-explain").textContent).toContain("不会因此自动发布或自动驳回");
    await screen.findByTestId("word-广告");
    await fireEvent.input(screen.getByTestId("words-add-text"), { target: { value: "加微信\n代开发票" } });
    await fireEvent.click(screen.getByTestId("words-add"));
    await waitFor(() => expect(calls.find((c) => c.cmd === "add_sensitive_words")?.args).toEqual({ text: "加微信\n代开发票" }));
    expect((await screen.findByRole("status")).textContent).toBe("新增 2 个,词库共计 3 个");
    await screen.findByTestId("word-加微信");
    await fireEvent.input(screen.getByTestId("words-filter"), { target: { value: "微信" } });
    expect(screen.queryByTestId("word-广告")).toBeNull();
  });

  it("hands a suggestion to a township and records its reply", async () => {
    const calls: Calls = [];
    let s = comment("s1", { kind: "suggestion", handling: "open", text: "建议增设公交站" });
    mockIPC(
      (cmd, raw) => {
        const args = (raw ?? {}) as Record<string, unknown>;
        calls.push({ cmd, args });
        switch (cmd) {
          case "list_comment_queue":
            return args.kind === "suggestions" ? [plain(s)] : [];
          case "list_townships":
            return [town];
          case "assign_suggestion":
            s = { ...s, handling: "in_progress", assigned_to: args.townshipId as string, assigned_at: "2024-12-04T02:00:00Z" };
            return s;
          case "answer_suggestion":
            s = { ...s, handling: "answered", reply: args.reply as string, replied_at: "2024-12-04T03:00:00Z" };
            return s;
          case "get_moderation_overview":
            return { pending: 0, reported: 0, approved: 0, rejected: 0, suggestions_open: 1, area_open: true, words: 0, reject_reasons: REASONS };
          default:
            return cmd === "list_mutes" || cmd === "list_posts" ? [] : null;
        }
      },
      { shouldMockEvents: true },
    );
    render(ModerationView);
    await fireEvent.click(await screen.findByTestId("mod-tab-suggestions"));
    const card = await screen.findByTestId("comment-s1");
    expect(card.textContent).toContain("待交办");
    await waitFor(() => expect(screen.getByTestId("suggestion-township-s1").querySelectorAll("option")).toHaveLength(2));
    await fireEvent.change(screen.getByTestId("suggestion-township-s1"), { target: { value: "t-sks" } });
    await fireEvent.click(screen.getByTestId("suggestion-assign-s1"));
    await waitFor(() => expect(calls.find((c) => c.cmd === "assign_suggestion")?.args).toEqual({ id: "s1", townshipId: "t-sks" }));
    await waitFor(() => expect(screen.getByTestId("comment-s1").textContent).toContain("办理中"));

    await fireEvent.click(screen.getByTestId("suggestion-reply-s1"));
    await fireEvent.input(screen.getByTestId("reply-text-s1"), { target: { value: "已列入明年计划" } });
    await fireEvent.click(screen.getByTestId("reply-save-s1"));
    await waitFor(() => expect(calls.find((c) => c.cmd === "answer_suggestion")?.args).toEqual({ id: "s1", reply: "已列入明年计划" }));
    expect((await screen.findByTestId("reply-s1")).textContent).toContain("已列入明年计划");
    expect(screen.getByTestId("comment-s1").textContent).toContain("已回复");
  });
});
