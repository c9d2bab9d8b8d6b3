import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import PaperView from "./PaperView.svelte";
import type { PaperSheetStatus, Rubric } from "../../ipc";

const rubric: Rubric = {
  title: "评分表",
  total_points: 50,
  categories: [
    {
      id: "c1",
      name: "基层党建",
      max_points: 50,
      criteria: [
        { id: "k1", name: "组织体系", max_points: 20, guidance: "" },
        { id: "k2", name: "党员教育", max_points: 30, guidance: "" },
      ],
    },
  ],
  adjustments: [],
  version: 1,
  change_reason: "",
  frozen: true,
};

const round = (n: number, name: string) => ({ round: n, entry_id: `e${n}`, clerk_person_id: `p${n}`, clerk_name: name, entered_at: "", settled_by: null });

function status(over: Partial<PaperSheetStatus> = {}): PaperSheetStatus {
  return {
    scorer_id: "s1",
    scorer_name: "王局长",
    group: "市领导",
    township_id: "t1",
    township_name: "宜阳街道",
    state: "not_entered",
    mismatch_count: 0,
    first: null,
    second: null,
    scan_hash: null,
    sheet_id: null,
    discarded: 0,
    note: null,
    ...over,
  };
}

function backend(rows: PaperSheetStatus[], after: PaperSheetStatus) {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
    if (cmd === "get_rubric" || cmd === "get_rubric_for_township") return rubric;
    if (cmd === "list_paper_sheets") return rows;
    if (cmd === "enter_paper_sheet") return after;
    if (cmd === "paper_mismatches")
      return {
        status: after,
        differences: [{ kind: "criterion", item_id: "k2", name: "基层党建 › 党员教育", first: "27", second: "21" }],
      };
    return null;
  }, { shouldMockEvents: true });
  return calls;
}

afterEach(() => {
  cleanup();
  clearMocks();
});

describe("纸质评分表录入", () => {
  it("is entered by keyboard alone: type to choose, Enter between fields, Ctrl+Enter saves", async () => {
    const calls = backend([status()], status({ state: "one_entered", first: round(1, "张三") }));
    render(PaperView);
    const pick = await screen.findByTestId("paper-pick");
    await waitFor(() => expect(screen.getByTestId("paper-choice-0").textContent).toContain("王局长"));
    await fireEvent.input(pick, { target: { value: "宜阳" } });
    await fireEvent.keyDown(pick, { key: "Enter" });
    const first = await screen.findByTestId("paper-mark-0");
    expect(screen.getByTestId("paper-form-title").textContent).toContain("一录");
    await waitFor(() => expect(document.activeElement).toBe(first));
    await fireEvent.input(first, { target: { value: "18.5" } });
    await fireEvent.keyDown(first, { key: "Enter" });
    const second = screen.getByTestId("paper-mark-1");
    expect(document.activeElement).toBe(second);
    await fireEvent.input(second, { target: { value: "27" } });
    expect(screen.getByTestId("paper-total").textContent).toContain("45.5");
    await fireEvent.keyDown(second, { key: "Enter", ctrlKey: true });
    await waitFor(() => expect(calls.some((c) => c.cmd === "enter_paper_sheet")).toBe(true));
    const sent = calls.find((c) => c.cmd === "enter_paper_sheet")!.args;
    expect(sent.round).toBe(1);
    expect(sent.input).toEqual({ marks: [{ item_id: "k1", points: 18.5 }, { item_id: "k2", points: 27 }], adjustments: [], comment: "" });
    expect((await screen.findByTestId("paper-notice")).textContent).toContain("一录完成");
  });

  it("opens round 2 with empty fields and shows the mismatch list after it", async () => {
    const calls = backend(
      [status({ state: "one_entered", first: round(1, "张三") })],
      status({ state: "mismatch", mismatch_count: 1, first: round(1, "张三"), second: round(2, "李四") }),
    );
    render(PaperView);
    const pick = await screen.findByTestId("paper-pick");
    await waitFor(() => screen.getByTestId("paper-choice-0"));
    await fireEvent.keyDown(pick, { key: "Enter" });
    expect((await screen.findByTestId("paper-form-title")).textContent).toContain("二录");
    expect((screen.getByTestId("paper-mark-0") as HTMLInputElement).value).toBe("");
    await fireEvent.input(screen.getByTestId("paper-mark-0"), { target: { value: "18.5" } });
    await fireEvent.input(screen.getByTestId("paper-mark-1"), { target: { value: "21" } });
    await fireEvent.click(screen.getByTestId("paper-save"));
    const diff = await screen.findByTestId("paper-diff-0");
    expect(diff.textContent).toContain("党员教育");
    expect(screen.getByTestId("paper-diff-first-0").textContent).toBe("27");
    expect(screen.getByTestId("paper-diff-second-0").textContent).toBe("21");
    expect(calls.find((c) => c.cmd === "enter_paper_sheet")!.args.round).toBe(2);
  });
});
