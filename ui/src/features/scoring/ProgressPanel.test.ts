import { afterEach, describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { ApiError, ScoringBoard, SheetCell, Township, TownshipScoring } from "../../ipc";
import ProgressPanel from "./ProgressPanel.svelte";

const towns = [
  { id: "t-yy", code: "430482001000", name: "宜阳街道", position: 1 },
  { id: "t-qf", code: "430482002000", name: "泉峰街道", position: 2 },
].map((t) => ({ ...t, kind: "subdistrict", enabled: true, day: 1, arrival: null, slot_minutes: null, note: "", version: 1 })) as Township[];

const cell = (township_id: string, state: SheetCell["state"]): SheetCell => ({
  township_id,
  state,
  sheet_id: state === "not_started" || state === "recused" ? null : `sheet-${township_id}`, late: false,
});

function township(over: Partial<TownshipScoring> & Pick<TownshipScoring, "township_id" | "name" | "position">): TownshipScoring {
  return { state: "not_open", by_schedule: false, opens_at: null, expected: 3, submitted: 0, missing_scorer_ids: [], close_reason: null, ...over };
}

/** 宜阳街道 open: 张三 submitted, 李四 has a draft, 王五 (its head) is recused, 赵六 has not started. */
function openBoard(): ScoringBoard {
  return {
    townships: [
      township({ township_id: "t-yy", name: "宜阳街道", position: 1, state: "open", by_schedule: false, opens_at: null, expected: 3, submitted: 1, missing_scorer_ids: ["s-2", "s-4"] }),
      township({ township_id: "t-qf", name: "泉峰街道", position: 2, expected: 4, missing_scorer_ids: ["s-1", "s-2", "s-3", "s-4"] }),
    ],
    current_township_id: "t-yy",
    scorers: [
      { scorer_id: "s-1", name: "张三", group: "市领导", work_unit: "市委办公室", expected: 2, submitted: 1, sheets: [cell("t-yy", "submitted"), cell("t-qf", "not_started")] },
      { scorer_id: "s-2", name: "李四", group: "市领导", work_unit: "", expected: 2, submitted: 0, sheets: [cell("t-yy", "draft"), cell("t-qf", "not_started")] },
      {
        scorer_id: "s-3",
        name: "王五",
        group: "乡镇(街道)党政主要负责人",
        work_unit: "",
        expected: 1,
        submitted: 0,
        sheets: [cell("t-yy", "recused"), cell("t-qf", "not_started")],
      },
      { scorer_id: "s-4", name: "赵六", group: "市领导", work_unit: "", expected: 2, submitted: 0, sheets: [cell("t-yy", "not_started"), cell("t-qf", "not_started")] },
    ],
  };
}

type Calls = { cmd: string; args: Record<string, unknown> }[];

function backend(board: ScoringBoard, firstDay: string | null = null) {
  const calls: Calls = [];
  let current = board;
  let tourDate = firstDay;
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    switch (cmd) {
      case "get_scoring_board":
        return current;
      case "list_townships":
        return towns;
      case "get_tour_settings":
        return { first_day: tourDate };
      case "set_tour_settings":
        tourDate = (a.settings as { first_day: string | null }).first_day;
        return { first_day: tourDate };
      case "follow_schedule":
        current = {
          ...current,
          townships: current.townships.map((t) => (t.township_id === a.townshipId ? { ...t, by_schedule: true, close_reason: null } : t)),
        };
        return current;
      case "close_scoring": {
        const row = current.townships.find((t) => t.township_id === a.townshipId)!;
        if (row.missing_scorer_ids.length > 0 && (typeof a.reason !== "string" || a.reason.trim().length < 2)) {
          throw {
            code: "validation",
            message: "close_reason_required",
            problems: [{ code: "required", severity: "error", row: null, location: "结束评分原因", message: "结束评分须填写原因" }],
          } satisfies ApiError;
        }
        current = {
          ...current,
          current_township_id: null,
          townships: current.townships.map((t) =>
            t.township_id === a.townshipId ? { ...t, state: "closed", close_reason: (a.reason as string | null) ?? null } : t,
          ),
        };
        return current;
      }
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  return calls;
}

afterEach(() => clearMocks());

describe("评分进度: who is missing, and 结束评分 with a reason", () => {
  it("shows every scorer × township cell and names who has not submitted", async () => {
    backend(openBoard());
    render(ProgressPanel);
    await screen.findByTestId("progress-grid");
    const cellText = (scorer: string, code: string) => screen.getByTestId(`progress-cell-${scorer}-${code}`).textContent;
    expect(cellText("s-1", "430482001000")).toBe("已提交");
    expect(cellText("s-2", "430482001000")).toBe("草稿");
    expect(cellText("s-3", "430482001000")).toBe("回避");
    expect(cellText("s-4", "430482001000")).toBe("未评");
    expect(cellText("s-1", "430482002000")).toBe("未评");
    // A missing sheet of an opened township stands out; one of a township not yet open does not.
    expect(screen.getByTestId("progress-cell-s-4-430482001000").classList.contains("late")).toBe(true);
    expect(screen.getByTestId("progress-cell-s-4-430482002000").classList.contains("late")).toBe(false);
    expect(screen.getByTestId("progress-missing-430482001000").textContent?.trim()).toBe("李四、赵六");
    expect(screen.getByTestId("progress-missing-430482002000").textContent?.trim()).toBe("");
    expect(screen.getByTestId("progress-state-430482001000").textContent).toBe("手动开放");
    expect(within(screen.getByTestId("progress-scorer-s-3")).getByText("乡镇(街道)党政主要负责人")).toBeTruthy();

    await fireEvent.click(screen.getByTestId("progress-only-missing"));
    expect(screen.queryByTestId("progress-scorer-s-1")).toBeNull();
    expect(screen.queryByTestId("progress-scorer-s-3")).toBeNull();
    expect(screen.getByTestId("progress-scorer-s-2")).toBeTruthy();
    expect(screen.getByTestId("progress-scorer-s-4")).toBeTruthy();
  });

  it("结束评分 names the missing scorers and closes only with a written reason", async () => {
    const calls = backend(openBoard());
    render(ProgressPanel);
    await fireEvent.click(await screen.findByTestId("close-scoring-430482001000"));
    const dialog = screen.getByTestId("close-scoring-dialog");
    expect(within(dialog).getByTestId("close-missing").textContent).toContain("还有 2 位评分人未提交:李四、赵六");

    // No reason, then a one-character one: nothing is sent.
    await fireEvent.click(within(dialog).getByTestId("confirm-close-scoring"));
    expect(within(dialog).getByTestId("close-reason-error").textContent).toBe("请填写结束原因(至少2个字)");
    await fireEvent.input(within(dialog).getByTestId("close-reason"), { target: { value: " 好 " } });
    await fireEvent.click(within(dialog).getByTestId("confirm-close-scoring"));
    expect(calls.filter((c) => c.cmd === "close_scoring")).toEqual([]);

    await fireEvent.input(within(dialog).getByTestId("close-reason"), { target: { value: "  李四、赵六提前离团  " } });
    await fireEvent.click(within(dialog).getByTestId("confirm-close-scoring"));
    await waitFor(() => expect(screen.queryByTestId("close-scoring-dialog")).toBeNull());
    expect(calls.filter((c) => c.cmd === "close_scoring").map((c) => c.args)).toEqual([{ townshipId: "t-yy", reason: "李四、赵六提前离团" }]);
    expect(screen.getByTestId("progress-state-430482001000").textContent).toBe("已结束");
    expect(screen.getByTestId("progress-reason-430482001000").textContent).toBe("结束原因:李四、赵六提前离团");
  });

  it("with every sheet in, 结束评分 still asks to confirm but needs no reason", async () => {
    const board = openBoard();
    board.townships[0] = { ...board.townships[0], submitted: 3, missing_scorer_ids: [] };
    const calls = backend(board);
    render(ProgressPanel);
    await fireEvent.click(await screen.findByTestId("close-scoring-430482001000"));
    const dialog = screen.getByTestId("close-scoring-dialog");
    expect(within(dialog).getByTestId("close-all-in").textContent).toContain("所有评分人都已提交");
    expect(within(dialog).queryByTestId("close-reason")).toBeNull();
    expect(calls.filter((c) => c.cmd === "close_scoring")).toEqual([]);
    await fireEvent.click(within(dialog).getByTestId("confirm-close-scoring"));
    await waitFor(() => expect(screen.getByTestId("progress-state-430482001000").textContent).toBe("已结束"));
    expect(calls.filter((c) => c.cmd === "close_scoring").map((c) => c.args)).toEqual([{ townshipId: "t-yy", reason: null }]);
  });

  it("a refusal from the backend is shown in the dialog, which stays open", async () => {
    const board = openBoard();
    // The UI's list is stale (says nobody is missing) but the backend knows better.
    board.townships[0] = { ...board.townships[0], missing_scorer_ids: [] };
    const calls = backend(board);
    render(ProgressPanel);
    await fireEvent.click(await screen.findByTestId("close-scoring-430482001000"));
    board.townships[0].missing_scorer_ids = ["s-4"];
    await fireEvent.click(within(screen.getByTestId("close-scoring-dialog")).getByTestId("confirm-close-scoring"));
    await waitFor(() => expect(screen.getByTestId("close-scoring-error").textContent).toContain("结束评分须填写原因"));
    expect(screen.getByTestId("close-scoring-dialog")).toBeTruthy();
    expect(calls.filter((c) => c.cmd === "close_scoring")).toHaveLength(1);
  });
});

describe("评分进度: the schedule (按日程) and the 观摩日期", () => {
  /** 宜阳 opened by the schedule, 泉峰 opens by it at 10:30 on a later day; 张三 submitted 宜阳 late. */
  function scheduledBoard(): ScoringBoard {
    const board = openBoard();
    board.townships[0] = { ...board.townships[0], by_schedule: true, opens_at: "2099-12-04T09:00:00+08:00" };
    board.townships[1] = { ...board.townships[1], by_schedule: true, opens_at: "2099-12-05T10:30:00+08:00" };
    board.scorers[0].sheets[0] = { ...board.scorers[0].sheets[0], late: true };
    return board;
  }

  it("says whether each township follows the schedule and when it opens; a late sheet reads 逾期", async () => {
    backend(scheduledBoard(), "2099-12-04");
    render(ProgressPanel);
    await screen.findByTestId("progress-grid");
    expect(screen.getByTestId("progress-state-430482001000").textContent).toBe("按日程·已开放");
    expect(screen.getByTestId("progress-state-430482002000").textContent).toBe("按日程·12月5日 10:30开放");
    expect(screen.queryByTestId("follow-schedule-430482001000")).toBeNull();
    expect(screen.getByTestId("progress-late-s-1-430482001000").textContent).toBe("逾期");
    expect(screen.getByTestId("progress-cell-s-1-430482001000").textContent).toBe("已提交逾期");
    expect(screen.queryByTestId("progress-late-s-2-430482001000")).toBeNull();
    expect((screen.getByTestId("tour-date-input") as HTMLInputElement).value).toBe("2099-12-04");
  });

  it("按日程 hands a township opened or closed by hand back to the schedule", async () => {
    const calls = backend(openBoard());
    render(ProgressPanel);
    await fireEvent.click(await screen.findByTestId("follow-schedule-430482001000"));
    await waitFor(() => expect(screen.queryByTestId("follow-schedule-430482001000")).toBeNull());
    expect(calls.filter((c) => c.cmd === "follow_schedule").map((c) => c.args)).toEqual([{ townshipId: "t-yy" }]);
    expect(screen.getByTestId("progress-state-430482001000").textContent).toBe("按日程·已开放");
  });

  it("the organiser sets the 观摩日期; a date that is not one is not sent", async () => {
    const calls = backend(openBoard());
    render(ProgressPanel);
    const input = (await screen.findByTestId("tour-date-input")) as HTMLInputElement;
    expect((screen.getByTestId("tour-date-save") as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.input(input, { target: { value: "2026-12-04" } });
    await fireEvent.click(screen.getByTestId("tour-date-save"));
    await waitFor(() => expect(calls.filter((c) => c.cmd === "set_tour_settings").map((c) => c.args)).toEqual([{ settings: { first_day: "2026-12-04" } }]));
    await waitFor(() => expect((screen.getByTestId("tour-date-save") as HTMLButtonElement).disabled).toBe(true));
    expect(input.value).toBe("2026-12-04");
  });
});
