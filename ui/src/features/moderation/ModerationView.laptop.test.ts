import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import type { Comment, Delivery, IssueView, ModerationOverview, Mute, QueueKind, Role } from "../../ipc";
import { deviceRole } from "../../lib/deviceRole.svelte";
import { status } from "../sync/fixtures";
import ModerationView from "./ModerationView.svelte";
import { comment, plain as item } from "./fixtures";

// 评论审核 on a laptop: what the hub's 审核 grant opens (禁言 included), and the 待上传 and
// 以主机为准 marks of decisions made here.

type Lists = Partial<Record<QueueKind, Comment[]>>;

function backend(role: Role, mayModerate: boolean, lists: Lists, opts: { pending?: string[]; issues?: IssueView[] } = {}) {
  const calls: string[] = [];
  const argsOf: Record<string, Record<string, unknown>> = {};
  const state = { pending: opts.pending ?? [], mutes: [] as Mute[] };
  const sync = status({ may_moderate: mayModerate }, { role, name: "直播电脑一", hub_id: "hub-1", issues: opts.issues ?? [] });
  mockIPC(
    (cmd, raw) => {
      calls.push(cmd);
      const args = (raw ?? {}) as Record<string, unknown>;
      argsOf[cmd] = args;
      switch (cmd) {
        case "get_sync_overview":
          return sync;
        case "get_delivery":
          return { to_hub: true, pending_sheet_ids: [], pending_comment_ids: state.pending, pending_records: state.pending.length } satisfies Delivery;
        case "get_moderation_overview":
          return {
            pending: lists.pending?.length ?? 0,
            reported: lists.reported?.length ?? 0,
            approved: lists.approved?.length ?? 0,
            rejected: lists.rejected?.length ?? 0,
            suggestions_open: 0,
            area_open: true,
            words: 1,
            reject_reasons: ["与观摩会内容无关"],
          } satisfies ModerationOverview;
        case "list_comment_queue":
          return (lists[args.kind as QueueKind] ?? []).map(item);
        case "list_sensitive_words":
          return ["广告"];
        case "list_mutes":
          return state.mutes;
        case "mute_comment_author": {
          // A replica knows the masked number only; the mute is keyed by the comment.
          const m: Mute = {
            key: args.commentId as string,
            phone_masked: "138****1234",
            until: "2024-12-11T01:30:00Z",
            reason: args.reason as string,
            at: "2024-12-04T01:30:00Z",
            by: "审核员",
            hide_comments: args.hideComments as boolean,
          };
          state.mutes = [m];
          return m;
        }
        case "unmute_number":
          state.mutes = state.mutes.filter((m) => m.key !== args.key);
          return null;
        case "list_townships":
        case "list_posts":
          return [];
        default:
          return null;
      }
    },
    { shouldMockEvents: true },
  );
  deviceRole.set(role, mayModerate);
  return { calls, argsOf, state, sync };
}

afterEach(() => {
  cleanup();
  clearMocks();
  deviceRole.set(null);
});

describe("评论审核 on a laptop the hub granted 审核", () => {
  it("offers 通过, 驳回, 禁言 and the comment-area switch", async () => {
    const { calls } = backend("media", true, { pending: [comment("c1")] });
    render(ModerationView);
    expect((await screen.findByTestId("approve-c1")).hasAttribute("disabled")).toBe(false);
    expect(screen.getByTestId("reject-c1").hasAttribute("disabled")).toBe(false);
    expect(screen.getByTestId("moderator-laptop").textContent).toContain("已获组织方主机授予审核权限");
    const mute = screen.getByTestId("mute-c1");
    expect(mute.hasAttribute("disabled")).toBe(false);
    expect(mute.getAttribute("title")).toBeNull();
    expect(screen.queryByTestId("site-only-note")).toBeNull();
    expect(document.body.textContent).not.toContain("该操作需在组织方主机上进行");
    expect(screen.getByTestId("moderator-laptop").textContent).toContain("禁言和解除禁言");
    // The area switch replicates: a granted laptop closes the hub's comment area.
    const area = screen.getByTestId("area-toggle");
    expect(area.hasAttribute("disabled")).toBe(false);
    expect(area.getAttribute("title")).toBeNull();
    expect(screen.queryByTestId("area-needs-grant")).toBeNull();
    await fireEvent.click(area);
    await fireEvent.click(await screen.findByTestId("confirm-area"));
    await waitFor(() => expect(calls).toContain("set_comment_area_open"));
    // The masked number is all a replica has, and all that is shown.
    expect(screen.getByTestId("comment-c1").textContent).toContain("138****1234");
    expect(screen.queryByTestId("needs-grant")).toBeNull();
  });

  it("offers 置顶 on an approved comment, 保留 on a reported one, edits of the word list and 交办", async () => {
    backend("media", true, {
      approved: [comment("c3", { status: "approved" })],
      reported: [comment("c5", { status: "approved", open_reports: 1 })],
      suggestions: [comment("c6", { kind: "suggestion", handling: "open" })],
    });
    render(ModerationView);
    await fireEvent.click(await screen.findByTestId("mod-tab-approved"));
    expect((await screen.findByTestId("pin-c3")).hasAttribute("disabled")).toBe(false);
    await fireEvent.click(screen.getByTestId("mod-tab-reported"));
    const keep = await screen.findByTestId("keep-c5");
    expect(keep.hasAttribute("disabled")).toBe(false);
    expect(keep.getAttribute("title")).toBeNull();
    expect(screen.getByTestId("mute-c5").hasAttribute("disabled")).toBe(false);
    await fireEvent.click(screen.getByTestId("mod-tab-words"));
    await screen.findByTestId("words-list");
    expect(screen.queryByTestId("words-needs-grant")).toBeNull();
    expect(screen.getByTestId("words-import").hasAttribute("disabled")).toBe(false);
    expect(screen.getByTestId("words-add-text").hasAttribute("disabled")).toBe(false);
    expect(screen.getByTestId("words-import").getAttribute("title")).toBeNull();
    await fireEvent.click(screen.getByTestId("mod-tab-suggestions"));
    expect((await screen.findByTestId("suggestion-township-c6")).hasAttribute("disabled")).toBe(false);
    expect(screen.queryByTestId("suggestions-needs-grant")).toBeNull();
    expect(document.body.textContent).not.toContain("交办、登记回复:该操作需在组织方主机上进行");
  });

  it("mutes a comment's author (masked) with its comments hidden, lists the mute and lifts it", async () => {
    const { calls, argsOf } = backend("media", true, { pending: [comment("c1")] });
    render(ModerationView);
    await fireEvent.click(await screen.findByTestId("mute-c1"));
    await screen.findByTestId("mute-dialog");
    await fireEvent.click(screen.getByTestId("mute-days-7"));
    await fireEvent.input(screen.getByTestId("mute-reason"), { target: { value: "刷屏" } });
    await fireEvent.click(screen.getByTestId("mute-hide"));
    await fireEvent.click(screen.getByTestId("confirm-mute"));
    await waitFor(() => expect(calls).toContain("mute_comment_author"));
    expect(argsOf["mute_comment_author"]).toEqual({ commentId: "c1", days: 7, reason: "刷屏", hideComments: true });
    expect(await screen.findByText(/已禁言 138\*\*\*\*1234/)).toBeTruthy();
    // 禁言名单: the mute, masked, with 解除禁言 open to this laptop.
    await fireEvent.click(screen.getByTestId("mod-tab-mutes"));
    const row = await screen.findByTestId("mute-row-c1");
    expect(row.textContent).toContain("138****1234");
    expect(screen.getByTestId("mute-hidden-c1").textContent).toBe("暂不显示");
    expect(screen.queryByTestId("mutes-needs-grant")).toBeNull();
    const lift = screen.getByTestId("unmute-c1");
    expect(lift.hasAttribute("disabled")).toBe(false);
    await fireEvent.click(lift);
    await waitFor(() => expect(calls).toContain("unmute_number"));
    expect(argsOf["unmute_number"]).toEqual({ key: "c1" });
    expect(await screen.findByTestId("mutes-empty")).toBeTruthy();
  });

  it("marks a decision 待上传 until the hub confirmed it, re-reading after each change and each sync", async () => {
    const { state, sync } = backend("media", true, { approved: [comment("c3", { status: "approved" })] });
    render(ModerationView);
    await fireEvent.click(await screen.findByTestId("mod-tab-approved"));
    await screen.findByTestId("comment-c3");
    expect(screen.queryByTestId("upload-pending-c3")).toBeNull();
    // Decided here while offline: the change is announced, the decision waits to go out.
    state.pending = ["c3"];
    await emit("data-changed", { entities: ["comment"] });
    expect((await screen.findByTestId("upload-pending-c3")).textContent).toBe("待上传");
    // A sync run ended and the hub confirmed it.
    state.pending = [];
    await emit("sync-changed", sync);
    await waitFor(() => expect(screen.queryByTestId("upload-pending-c3")).toBeNull());
  });

  it("says 以主机为准 on a comment whose decision here the hub refused for another moderator's earlier one", async () => {
    const refused: IssueView = {
      id: "i1",
      kind: "refused",
      code: "decision_conflict",
      origin: "me",
      seq: 4,
      entity_kind: "comment_decision",
      entity_id: "c4",
      other_origin: null,
      detail: "",
      at: "2024-12-04T01:40:00Z",
      resolved_at: null,
    };
    // Approved here, rejected first by the other moderator: the hub's outcome is what shows.
    backend("media", true, { rejected: [comment("c4", { status: "rejected", reject_reason: "与观摩会内容无关" })] }, { issues: [refused] });
    render(ModerationView);
    await fireEvent.click(await screen.findByTestId("mod-tab-rejected"));
    expect((await screen.findByTestId("overruled-c4")).textContent).toBe("以主机为准");
    expect(screen.getByTestId("comment-c4").textContent).toContain("驳回理由:与观摩会内容无关");
  });
});

describe("评论审核 on a laptop without the grant", () => {
  it("shows the replicated queue read-only and says the hub must grant 审核", async () => {
    backend("media", false, { pending: [comment("c1")] });
    render(ModerationView);
    await screen.findByTestId("comment-c1");
    expect(screen.getByTestId("needs-grant").textContent).toContain("需组织方主机授予审核权限");
    for (const id of ["approve-c1", "reject-c1", "mute-c1", "select-all", "shortcut-legend"]) expect(screen.queryByTestId(id)).toBeNull();
    expect(screen.getByTestId("log-c1")).toBeTruthy();
    expect(screen.getByTestId("comment-c1").textContent).toContain("138****1234");
    // The switch and the word list need the grant too.
    expect(screen.getByTestId("area-toggle").hasAttribute("disabled")).toBe(true);
    expect(screen.getByTestId("area-needs-grant").textContent).toBe("需组织方主机授予审核权限");
    await fireEvent.click(screen.getByTestId("mod-tab-words"));
    expect((await screen.findByTestId("words-needs-grant")).textContent).toContain("需组织方主机授予审核权限");
    expect(screen.getByTestId("words-add-text").hasAttribute("disabled")).toBe(true);
    // 禁言名单 lists only, and says why.
    await fireEvent.click(screen.getByTestId("mod-tab-mutes"));
    expect((await screen.findByTestId("mutes-needs-grant")).textContent).toBe("禁言、解除禁言:需组织方主机授予审核权限。");
  });

  it("ignores the moderator's shortcuts", async () => {
    const { calls } = backend("media", false, { pending: [comment("c1")] });
    render(ModerationView);
    await screen.findByTestId("comment-c1");
    await fireEvent.keyDown(window, { key: "a" });
    await fireEvent.keyDown(window, { key: "r" });
    expect(screen.queryByTestId("approve-pending")).toBeNull();
    expect(screen.queryByTestId("reject-dialog")).toBeNull();
    expect(calls).not.toContain("decide_comments");
  });
});
