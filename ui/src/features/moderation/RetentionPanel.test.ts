import { afterEach, describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { PurgeCounts, PurgeRecord, RetentionStatus } from "../../ipc";
import RetentionPanel from "./RetentionPanel.svelte";

const none: PurgeCounts = { comments: 0, reports: 0, report_closings: 0, log_lines: 0, mutes: 0, mute_keys: 0, mute_replicas: 0, likes: 0, ops: 0 };
const due: PurgeCounts = { ...none, comments: 12, reports: 3, log_lines: 20, mutes: 1, mute_keys: 1, likes: 40, ops: 30 };

function status(over: Partial<RetentionStatus> = {}): RetentionStatus {
  return {
    days: 180,
    min_days: 180,
    event_end: "2026-12-05T00:00:00+08:00",
    event_end_source: "tour",
    due_from: "2027-06-03T00:00:00+08:00",
    due_now: true,
    cutoff: "2027-01-01T00:00:00.000Z",
    would_purge: due,
    purges: [],
    ...over,
  };
}

const run: PurgeRecord = {
  id: "p1",
  started_at: "2027-06-30T02:00:00.000Z",
  finished_at: "2027-06-30T02:00:05.000Z",
  actor: "organiser",
  trigger: "manual",
  cutoff: "2027-01-01T02:00:00.000Z",
  export_file: "retention/评论记录-20270630-100000.xlsx",
  batches: 1,
  counts: due,
};

afterEach(() => clearMocks());

describe("retention panel", () => {
  it("shows the period, the due date and what a purge would remove, and purges only after the confirmation", async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      switch (cmd) {
        case "get_retention_status":
          return status();
        case "purge_comments_now":
          return { purge: run, status: status({ would_purge: none, purges: [run] }) };
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    });
    render(RetentionPanel);
    expect(((await screen.findByTestId("retention-days")) as HTMLInputElement).value).toBe("180");
    expect(screen.getByTestId("retention-event-end").textContent).toContain("2026-12-05 00:00");
    expect(screen.getByTestId("retention-due-from").textContent).toContain("2027-06-03 00:00(已到期)");
    expect(screen.getByTestId("retention-would-purge").textContent).toContain("评论 12 条、举报 3 条");
    expect(screen.getByTestId("retention-log-empty")).toBeTruthy();
    await fireEvent.click(screen.getByTestId("retention-purge"));
    expect(screen.getByTestId("retention-confirm-dialog").textContent).toContain("删除后无法恢复");
    expect(calls).not.toContain("purge_comments_now");
    await fireEvent.click(screen.getByTestId("retention-confirm"));
    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("清理前已导出 retention/评论记录-20270630-100000.xlsx"));
    expect(calls.filter((c) => c === "purge_comments_now")).toHaveLength(1);
    expect(screen.queryByTestId("retention-confirm-dialog")).toBeNull();
    const row = screen.getByTestId("retention-run-p1");
    expect(row.textContent).toContain("立即清理");
    expect(row.textContent).toContain("完成");
    expect((screen.getByTestId("retention-purge") as HTMLButtonElement).disabled).toBe(true);
  });

  it("cannot purge before the period is over, and shows the backend's refusal of a period under 180 days", async () => {
    mockIPC((cmd) => {
      switch (cmd) {
        case "get_retention_status":
          return status({ due_now: false, cutoff: null, would_purge: none, event_end_source: "newest_comment" });
        case "set_retention_days":
          throw { code: "validation", message: "refused", problems: [{ code: "invalid", severity: "error", row: null, location: "保存期限", message: "保存期限不能少于180天(评论须知承诺至少保存180天)" }] };
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    });
    render(RetentionPanel);
    const input = (await screen.findByTestId("retention-days")) as HTMLInputElement;
    expect(screen.getByTestId("retention-would-purge").textContent).toContain("未到期");
    expect(screen.getByTestId("retention-event-end").textContent).toContain("按最新一条评论的时间计算");
    expect((screen.getByTestId("retention-purge") as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.input(input, { target: { value: "90" } });
    expect(screen.getByTestId("retention-too-short").textContent).toContain("不能少于180天");
    await fireEvent.click(screen.getByTestId("retention-save"));
    await waitFor(() => expect(document.body.textContent).toContain("保存期限不能少于180天"));
  });
});
