import { afterEach, describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { Rubric, Scorer, ScoringBoard, Sheet, Township } from "../../ipc";
import SheetPanel from "./SheetPanel.svelte";

const towns = [
  { id: "t-yy", code: "430482001000", name: "宜阳街道", position: 1 },
  { id: "t-qf", code: "430482002000", name: "泉峰街道", position: 2 },
].map((t) => ({ ...t, kind: "subdistrict", enabled: true, day: 1, arrival: null, slot_minutes: null, note: "", version: 1 })) as Township[];

const rubric: Rubric = {
  title: "乡镇(街道)工作现场观摩评分表",
  total_points: 20,
  categories: [
    {
      id: "cat-1",
      name: "基层党建",
      max_points: 20,
      criteria: [
        { id: "crit-1", name: "组织建设", max_points: 10, guidance: "班子建设、阵地建设" },
        { id: "crit-2", name: "党员教育", max_points: 10, guidance: "三会一课" },
      ],
    },
  ],
  adjustments: [{ id: "adj-1", name: "获市级以上表彰", kind: "bonus", limit_points: 2, guidance: "" }],
};

const board: ScoringBoard = {
  townships: [
    { township_id: "t-yy", name: "宜阳街道", position: 1, state: "closed", expected: 2, submitted: 2 },
    { township_id: "t-qf", name: "泉峰街道", position: 2, state: "open", expected: 2, submitted: 0 },
  ],
  current_township_id: "t-qf",
  scorers: [],
};

function blankSheet(townshipId: string): Sheet {
  return {
    id: `sheet-${townshipId}`,
    scorer_id: "s-1",
    township_id: townshipId,
    status: "draft",
    marks: [],
    adjustments: [],
    comment: "",
    base_total: 0,
    adjustment_total: 0,
    submitted_at: null,
    unlock_reason: null,
    evidence: [],
    version: 1,
  };
}

function backend(scorer: Scorer | null, evidence: string[] = []) {
  let sheet = blankSheet("t-qf");
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    switch (cmd) {
      case "get_device_scorer":
        return scorer;
      case "get_scoring_board":
        return board;
      case "list_townships":
        return towns;
      case "get_rubric":
        return rubric;
      case "open_sheet":
        if (scorer && a.townshipId === scorer.township_id) {
          throw { code: "recused", message: "本人所在乡镇", problems: [] };
        }
        sheet = { ...blankSheet(a.townshipId as string), evidence: evidence.map((hash) => ({ criterion_id: "crit-1", hash })) };
        return sheet;
      case "record_mark": {
        const marks = sheet.marks.filter((m) => m.criterion_id !== a.criterionId);
        marks.push({ criterion_id: a.criterionId as string, points: a.points as number | null, note: a.note as string });
        const base = marks.reduce((s, m) => s + (m.points ?? 0), 0);
        sheet = { ...sheet, marks, base_total: base, version: sheet.version + 1 };
        return sheet;
      }
      case "detach_evidence":
        sheet = {
          ...sheet,
          evidence: sheet.evidence.filter((e) => !(e.criterion_id === a.criterionId && e.hash === a.hash)),
          version: sheet.version + 1,
        };
        return sheet;
      case "submit_sheet":
        sheet = { ...sheet, status: "submitted", submitted_at: "2024-12-04T10:00:00+08:00", version: sheet.version + 1 };
        return sheet;
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  return calls;
}

const scorer: Scorer = { id: "s-1", name: "张三", group: "乡镇(街道)党政主要负责人", township_id: "t-yy", active: true, version: 1 };

afterEach(() => clearMocks());

describe("score sheet", () => {
  it("typing a mark autosaves it with record_mark and shows the backend's total", async () => {
    const calls = backend(scorer);
    render(SheetPanel);

    const input = (await screen.findByTestId("mark-0-1")) as HTMLInputElement;
    expect(screen.getByTestId("sheet-total").textContent).toBe("总分 0 = 细则 0 + 加减分 0");
    expect(input.getAttribute("inputmode")).toBe("decimal");

    await fireEvent.input(input, { target: { value: "8.5" } });

    await waitFor(() => expect(calls.some((c) => c.cmd === "record_mark")).toBe(true));
    expect(calls.find((c) => c.cmd === "record_mark")!.args).toEqual({
      sheetId: "sheet-t-qf",
      criterionId: "crit-2",
      points: 8.5,
      note: "",
    });
    await waitFor(() => expect(screen.getByTestId("sheet-total").textContent).toBe("总分 8.5 = 细则 8.5 + 加减分 0"));
    await waitFor(() => expect(screen.getByTestId("save-status").textContent).toMatch(/已保存 \d\d:\d\d:\d\d/));
  });

  it("refuses a mark with two decimals or above the points inline, without calling the backend", async () => {
    const calls = backend(scorer);
    render(SheetPanel);
    const input = await screen.findByTestId("mark-0-0");

    await fireEvent.input(input, { target: { value: "7.55" } });
    expect(screen.getByTestId("mark-error-0-0").textContent).toContain("最多保留一位小数");
    await fireEvent.input(input, { target: { value: "11" } });
    expect(screen.getByTestId("mark-error-0-0").textContent).toContain("超过分值10分");
    expect(calls.some((c) => c.cmd === "record_mark")).toBe(false);
  });

  it("opening the scorer's own township asks the backend, which refuses it (回避)", async () => {
    const calls = backend(scorer);
    render(SheetPanel);
    await screen.findByTestId("mark-0-0");

    await fireEvent.click(screen.getByTestId("sheet-township-430482001000"));

    await waitFor(() => expect(screen.getByTestId("error-code").textContent).toBe("错误代码: recused"));
    expect(calls.filter((c) => c.cmd === "open_sheet").map((c) => c.args.townshipId)).toEqual(["t-qf", "t-yy"]);
  });

  it("submitting confirms the total, then locks the sheet", async () => {
    backend(scorer);
    render(SheetPanel);
    const input = await screen.findByTestId("mark-0-0");
    await fireEvent.input(input, { target: { value: "9" } });
    await waitFor(() => expect(screen.getByTestId("sheet-total").textContent).toContain("总分 9"));

    await fireEvent.click(screen.getByTestId("sheet-submit"));
    expect(screen.getByTestId("confirm-total").textContent).toBe("总分 9");
    await fireEvent.click(screen.getByTestId("confirm-submit"));

    await waitFor(() => expect(screen.getByTestId("sheet-status").textContent).toBe("已提交"));
    expect((screen.getByTestId("mark-0-0") as HTMLInputElement).readOnly).toBe(true);
    expect(screen.queryByTestId("sheet-submit")).toBeNull();
  });

  it("shows a criterion's evidence photos; × detaches one; a submitted sheet offers neither × nor 证据", async () => {
    const hash = "e".repeat(64);
    const calls = backend(scorer, [hash]);
    render(SheetPanel);

    expect(await screen.findByTestId("evidence-0-0-0")).toBeTruthy();
    expect(screen.getByTestId("evidence-add-0-1").textContent).toContain("证据");
    await fireEvent.click(screen.getByTestId("evidence-remove-0-0-0"));
    await waitFor(() => expect(screen.queryByTestId("evidence-0-0-0")).toBeNull());
    expect(calls.find((c) => c.cmd === "detach_evidence")!.args).toEqual({ sheetId: "sheet-t-qf", criterionId: "crit-1", hash });

    await fireEvent.click(screen.getByTestId("sheet-submit"));
    await fireEvent.click(screen.getByTestId("confirm-submit"));
    await waitFor(() => expect(screen.getByTestId("sheet-status").textContent).toBe("已提交"));
    expect(screen.queryByTestId("evidence-add-0-0")).toBeNull();
  });

  it("without a device scorer it says to choose one first", async () => {
    backend(null);
    render(SheetPanel);
    expect((await screen.findByTestId("empty-state")).textContent).toContain("本机尚未选择评分人");
  });
});
