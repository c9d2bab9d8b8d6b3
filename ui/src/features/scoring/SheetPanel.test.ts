import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { Delivery, Rubric, Scorer, ScoringBoard, Sheet, SheetCell, Township } from "../../ipc";
import SheetPanel from "./SheetPanel.svelte";

const towns = [
  { id: "t-yy", code: "430482001000", name: "宜阳街道", position: 1 },
  { id: "t-qf", code: "430482002000", name: "泉峰街道", position: 2 },
].map((t) => ({ ...t, kind: "subdistrict", enabled: true, day: 1, arrival: null, slot_minutes: null, note: "", version: 1 })) as Township[];

/** Two criteria: 组织建设 (max 8) and 党员教育 (max 12), and one optional bonus. */
const small: Rubric = {
  title: "乡镇(街道)工作现场观摩评分表",
  total_points: 20,
  categories: [
    {
      id: "cat-1",
      name: "基层党建",
      max_points: 20,
      criteria: [
        { id: "crit-1", name: "组织建设", max_points: 8, guidance: "班子建设、阵地建设" },
        { id: "crit-2", name: "党员教育", max_points: 12, guidance: "三会一课" },
      ],
    },
  ],
  adjustments: [{ id: "adj-1", name: "获市级以上表彰", kind: "bonus", limit_points: 2, guidance: "" }],
};

/** The shape of the default rubric: 6 categories × 3 criteria = 18, two 加减分项. */
const eighteen: Rubric = {
  title: "乡镇(街道)工作现场观摩评分表",
  total_points: 100,
  categories: ["基层党建", "巩固乡村振兴", "村集体经济发展", "乡村治理", "人居环境整治", "现场汇报"].map((name, ci) => ({
    id: `cat-${ci}`,
    name,
    max_points: 15,
    criteria: [0, 1, 2].map((ki) => ({ id: `crit-${ci}-${ki}`, name: `${name}${ki + 1}`, max_points: 5, guidance: "" })),
  })),
  adjustments: [
    { id: "adj-1", name: "创新亮点加分", kind: "bonus", limit_points: 3, guidance: "" },
    { id: "adj-2", name: "负面问题扣分", kind: "penalty", limit_points: 5, guidance: "" },
  ],
};

const board: ScoringBoard = {
  townships: [
    { township_id: "t-yy", name: "宜阳街道", position: 1, state: "closed", by_schedule: false, opens_at: null, expected: 2, submitted: 2, missing_scorer_ids: [], close_reason: null },
    { township_id: "t-qf", name: "泉峰街道", position: 2, state: "open", by_schedule: false, opens_at: null, expected: 2, submitted: 0, missing_scorer_ids: [], close_reason: null },
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

type Calls = { cmd: string; args: Record<string, unknown> }[];

function backend(scorer: Scorer | null, { evidence = [], rubric = small }: { evidence?: string[]; rubric?: Rubric } = {}) {
  let sheet = blankSheet("t-qf");
  const calls: Calls = [];
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
      case "get_rubric_for_township":
        return rubric;
      case "list_photos":
        return [];
      case "get_delivery":
        return { to_hub: false, pending_sheet_ids: [], pending_comment_ids: [], pending_records: 0 } satisfies Delivery;
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
      case "get_sheet":
        if (a.sheetId !== sheet.id) throw { code: "not_found", message: "no such sheet", problems: [] };
        return sheet;
      case "detach_evidence":
        sheet = {
          ...sheet,
          evidence: sheet.evidence.filter((e) => !(e.criterion_id === a.criterionId && e.hash === a.hash)),
          version: sheet.version + 1,
        };
        return sheet;
      case "submit_sheet":
        if (sheet.marks.filter((m) => m.points !== null).length < rubric.categories.flatMap((c) => c.criteria).length) {
          throw { code: "invalid_input", message: "sheet incomplete", problems: [] };
        }
        sheet = { ...sheet, status: "submitted", submitted_at: "2024-12-04T10:00:00+08:00", version: sheet.version + 1 };
        return sheet;
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  return calls;
}

const marksSent = (calls: Calls) => calls.filter((c) => c.cmd === "record_mark").map((c) => [c.args.criterionId, c.args.points]);

const scorer: Scorer = { id: "s-1", name: "张三", group: "乡镇(街道)党政主要负责人", township_id: "t-yy", active: true, version: 1, work_unit: "市委办公室" };

const focused = () => document.activeElement as HTMLElement;

/** One key, as a scorer presses it on the focused element. */
async function press(key: string, mods: Partial<KeyboardEvent> = {}) {
  await fireEvent.keyDown(focused(), { key, ...mods });
}

/** Typing into the focused field: the browser's input event with the new text. */
async function typeText(text: string) {
  await fireEvent.input(focused(), { target: { value: text } });
}

afterEach(() => {
  clearMocks();
  vi.restoreAllMocks();
});

describe("score sheet: a mark is saved when committed, and only when valid", () => {
  it("opens with the cursor in the first 得分; Enter saves the mark and moves on", async () => {
    const calls = backend(scorer);
    render(SheetPanel);
    const first = (await screen.findByTestId("mark-0-0")) as HTMLInputElement;
    await waitFor(() => expect(focused()).toBe(first));
    expect(first.getAttribute("inputmode")).toBe("decimal");
    expect(screen.getByTestId("sheet-total").textContent).toBe("总分 0 = 细则 0 + 加减分 0");

    await typeText("7.5");
    expect(marksSent(calls)).toEqual([]); // typing alone saves nothing
    expect(screen.getByTestId("save-status").textContent).toBe("未保存:按回车保存");
    await press("Enter");

    expect(focused()).toBe(screen.getByTestId("mark-0-1"));
    await waitFor(() => expect(marksSent(calls)).toEqual([["crit-1", 7.5]]));
    expect(calls.find((c) => c.cmd === "record_mark")!.args).toEqual({ sheetId: "sheet-t-qf", criterionId: "crit-1", points: 7.5, note: "" });
    await waitFor(() => expect(screen.getByTestId("sheet-total").textContent).toBe("总分 7.5 = 细则 7.5 + 加减分 0"));
    await waitFor(() => expect(screen.getByTestId("save-status").textContent).toMatch(/^已保存 \d\d:\d\d:\d\d$/));
    expect(screen.getByTestId("sheet-count").textContent).toBe("已评 1/2 项");
  });

  it("typing 1 then 0 on a max-8 criterion never saves 1, and ends red with 超过分值8分", async () => {
    const calls = backend(scorer);
    render(SheetPanel);
    const input = (await screen.findByTestId("mark-0-0")) as HTMLInputElement;
    await waitFor(() => expect(focused()).toBe(input));

    await typeText("1");
    await typeText("10");
    expect(screen.getByTestId("mark-error-0-0").textContent).toBe("超过分值8分");
    await press("Enter");
    // The cursor stays on the wrong mark, its text selected to be typed over.
    expect(focused()).toBe(input);
    await fireEvent.blur(input);

    expect(marksSent(calls)).toEqual([]);
    expect(input.classList.contains("invalid")).toBe(true);
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByTestId("mark-error-0-0").textContent).toBe("超过分值8分");
    expect(screen.getByTestId("sheet-count").textContent).toBe("已评 0/2 项");
    expect(screen.getByTestId("save-status").textContent).toBe("1项有误,未保存");
    expect(screen.getByTestId("sheet-submit").textContent).toBe("还有2项未打分/有误");
  });

  it("a wrong mark keeps the value saved before it; correcting it saves the correction", async () => {
    const calls = backend(scorer);
    render(SheetPanel);
    await screen.findByTestId("mark-0-0");
    await waitFor(() => expect(focused()).toBe(screen.getByTestId("mark-0-0")));
    await typeText("6");
    await press("Enter");
    await press("ArrowUp");
    expect(focused()).toBe(screen.getByTestId("mark-0-0"));

    await typeText("6.25");
    await press("ArrowDown");
    expect(screen.getByTestId("mark-error-0-0").textContent).toBe("最多一位小数");
    await typeText("6.5");
    await press("ArrowDown");
    await waitFor(() => expect(marksSent(calls)).toEqual([["crit-1", 6], ["crit-1", 6.5]]));
    expect(screen.queryByTestId("mark-error-0-0")).toBeNull();
  });

  it("clearing a mark and leaving the field clears it (null)", async () => {
    const calls = backend(scorer);
    render(SheetPanel);
    await screen.findByTestId("mark-0-0");
    await waitFor(() => expect(focused()).toBe(screen.getByTestId("mark-0-0")));
    await typeText("5");
    await press("Enter");
    await press("ArrowUp");
    await typeText("");
    await fireEvent.blur(focused());
    await waitFor(() => expect(marksSent(calls)).toEqual([["crit-1", 5], ["crit-1", null]]));
  });

  it("opening the scorer's own township asks the backend, which refuses it (回避)", async () => {
    const calls = backend(scorer);
    render(SheetPanel);
    await screen.findByTestId("mark-0-0");

    await fireEvent.click(screen.getByTestId("sheet-township-430482001000"));

    await waitFor(() => expect(screen.getByTestId("error-code").textContent).toBe("错误代码: recused"));
    expect(calls.filter((c) => c.cmd === "open_sheet").map((c) => c.args.townshipId)).toEqual(["t-qf", "t-yy"]);
  });
});

describe("score sheet: 提交", () => {
  it("while marks are missing the button says how many, and a click points at the first and marks every empty one", async () => {
    const calls = backend(scorer);
    render(SheetPanel);
    await screen.findByTestId("mark-0-0");
    expect(screen.getByTestId("sheet-submit").textContent).toBe("还有2项未打分/有误");
    (screen.getByTestId("mark-0-1") as HTMLInputElement).focus();

    await fireEvent.click(screen.getByTestId("sheet-submit"));

    expect(screen.queryByTestId("submit-dialog")).toBeNull();
    expect(focused()).toBe(screen.getByTestId("mark-0-0"));
    expect(screen.getByTestId("mark-error-0-0").textContent).toBe("未打分");
    expect(screen.getByTestId("mark-error-0-1").textContent).toBe("未打分");
    expect(calls.some((c) => c.cmd === "submit_sheet")).toBe(false);
    expect(document.body.textContent).not.toContain("incomplete");
  });

  it("a mark typed in the last field and not yet committed is saved by the 提交 click before the dialog", async () => {
    const calls = backend(scorer);
    render(SheetPanel);
    await screen.findByTestId("mark-0-0");
    await waitFor(() => expect(focused()).toBe(screen.getByTestId("mark-0-0")));
    await typeText("8");
    await press("Enter");
    await typeText("9");

    await fireEvent.click(screen.getByTestId("sheet-submit"));

    await screen.findByTestId("submit-dialog");
    expect(marksSent(calls)).toEqual([["crit-1", 8], ["crit-2", 9]]);
    expect(screen.getByTestId("confirm-count").textContent).toBe("已评 2/2");
    expect(screen.getByTestId("confirm-total").textContent).toBe("总分 17");
    await fireEvent.click(screen.getByTestId("confirm-submit"));
    await waitFor(() => expect(screen.getByTestId("sheet-status").textContent).toBe("已提交"));
    expect((screen.getByTestId("mark-0-0") as HTMLInputElement).readOnly).toBe(true);
    expect(screen.queryByTestId("sheet-submit")).toBeNull();
  });

  it("the WebDriver sequence (focus a field, type, go to the next) saves every mark; the last one on 提交", async () => {
    const calls = backend(scorer, { rubric: eighteen });
    render(SheetPanel);
    await screen.findByTestId("mark-0-0");
    const inputs = screen.getAllByTestId(/^mark-\d+-\d+$/) as HTMLInputElement[];
    expect(inputs).toHaveLength(18);
    for (const input of inputs) {
      input.focus(); // the blur of the one before commits it
      await fireEvent.input(input, { target: { value: "3" } });
    }
    await fireEvent.click(screen.getByTestId("sheet-submit"));
    await screen.findByTestId("submit-dialog");
    expect(marksSent(calls)).toHaveLength(18);
    expect(marksSent(calls).every(([, p]) => p === 3)).toBe(true);
    await fireEvent.click(screen.getByTestId("confirm-submit"));
    await waitFor(() => expect(screen.getByTestId("sheet-status").textContent).toBe("已提交"));
  });
});

describe("score sheet: the keyboard", () => {
  it("one 18-criterion sheet in 38 keys: a digit and Enter each, Ctrl+Enter, Enter", async () => {
    const calls = backend(scorer, { rubric: eighteen });
    render(SheetPanel);
    await screen.findByTestId("mark-0-0");
    await waitFor(() => expect(focused()).toBe(screen.getByTestId("mark-0-0")));
    let keys = 0;
    for (let ci = 0; ci < 6; ci++) {
      for (let ki = 0; ki < 3; ki++) {
        expect(focused()).toBe(screen.getByTestId(`mark-${ci}-${ki}`));
        await typeText("4");
        await press("Enter");
        keys += 2;
      }
    }
    // Past the last criterion: the optional 加减分项.
    expect(focused()).toBe(screen.getByTestId("adjustment-0"));
    await press("Enter", { ctrlKey: true });
    keys += 1;

    await screen.findByTestId("submit-dialog");
    expect(screen.getByTestId("confirm-count").textContent).toBe("已评 18/18");
    expect(screen.getByTestId("confirm-total").textContent).toBe("总分 72");
    await press("Enter");
    keys += 1;

    await waitFor(() => expect(screen.getByTestId("sheet-status").textContent).toBe("已提交"));
    expect(calls.filter((c) => c.cmd === "submit_sheet")).toHaveLength(1);
    expect(keys).toBe(38);
  });

  it("clicking the open township puts the cursor back in the first 得分 without a mark", async () => {
    backend(scorer);
    render(SheetPanel);
    await screen.findByTestId("mark-0-0");
    await waitFor(() => expect(focused()).toBe(screen.getByTestId("mark-0-0")));
    await typeText("5");
    await press("Enter");
    const town = screen.getByTestId("sheet-township-430482002000");
    town.focus(); // a mouse click focuses the button
    await fireEvent.click(town);
    expect(focused()).toBe(screen.getByTestId("mark-0-1"));
  });

  it("Enter past the last field reaches 提交; ↑ goes back", async () => {
    backend(scorer);
    render(SheetPanel);
    await screen.findByTestId("mark-0-0");
    await waitFor(() => expect(focused()).toBe(screen.getByTestId("mark-0-0")));
    await press("ArrowDown");
    expect(focused()).toBe(screen.getByTestId("mark-0-1"));
    await press("ArrowDown");
    expect(focused()).toBe(screen.getByTestId("adjustment-0"));
    await press("Enter");
    expect(focused()).toBe(screen.getByTestId("sheet-submit"));
    (screen.getByTestId("adjustment-0") as HTMLInputElement).focus();
    await press("ArrowUp");
    expect(focused()).toBe(screen.getByTestId("mark-0-1"));
  });

  it("证据 and 备注 are out of the Tab order, reached with Alt+E and Alt+N, and say so", async () => {
    backend(scorer);
    render(SheetPanel);
    await screen.findByTestId("mark-0-0");
    const note = screen.getByTestId("note-0-0");
    const evidence = screen.getByTestId("evidence-add-0-0");
    expect(note.getAttribute("tabindex")).toBe("-1");
    expect(evidence.getAttribute("tabindex")).toBe("-1");
    expect(note.getAttribute("title")).toContain("Alt+N");
    expect(evidence.getAttribute("title")).toContain("Alt+E");
    expect(screen.getByTestId("sheet-keys").textContent).toContain("Ctrl+回车 提交");

    (screen.getByTestId("mark-0-0") as HTMLInputElement).focus();
    await press("n", { altKey: true, code: "KeyN" });
    expect(focused()).toBe(note);
    await press("n", { altKey: true, code: "KeyN" });
    expect(focused()).toBe(screen.getByTestId("mark-0-0"));

    await press("e", { altKey: true, code: "KeyE" });
    expect((await screen.findByRole("dialog")).textContent).toContain("拍照留证 · 组织建设");
  });

  it("Ctrl+Enter with a mark missing does not open the dialog", async () => {
    const calls = backend(scorer);
    render(SheetPanel);
    await screen.findByTestId("mark-0-0");
    await waitFor(() => expect(focused()).toBe(screen.getByTestId("mark-0-0")));
    await typeText("5");
    await press("Enter", { ctrlKey: true });
    await waitFor(() => expect(focused()).toBe(screen.getByTestId("mark-0-1")));
    expect(screen.queryByTestId("submit-dialog")).toBeNull();
    expect(marksSent(calls)).toEqual([["crit-1", 5]]);
    expect(screen.getByTestId("sheet-submit").textContent).toBe("还有1项未打分/有误");
  });
});

describe("score sheet: evidence and no scorer", () => {
  it("shows a criterion's evidence photos; × detaches one; a submitted sheet offers neither × nor 证据", async () => {
    const hash = "e".repeat(64);
    const calls = backend(scorer, { evidence: [hash] });
    render(SheetPanel);

    expect(await screen.findByTestId("evidence-0-0-0")).toBeTruthy();
    expect(screen.getByTestId("evidence-add-0-1").textContent).toContain("证据");
    await fireEvent.click(screen.getByTestId("evidence-remove-0-0-0"));
    await waitFor(() => expect(screen.queryByTestId("evidence-0-0-0")).toBeNull());
    expect(calls.find((c) => c.cmd === "detach_evidence")!.args).toEqual({ sheetId: "sheet-t-qf", criterionId: "crit-1", hash });

    (screen.getByTestId("mark-0-0") as HTMLInputElement).focus();
    await typeText("8");
    await press("Enter");
    await typeText("12");
    await fireEvent.click(screen.getByTestId("sheet-submit"));
    await fireEvent.click(await screen.findByTestId("confirm-submit"));
    await waitFor(() => expect(screen.getByTestId("sheet-status").textContent).toBe("已提交"));
    expect(screen.queryByTestId("evidence-add-0-0")).toBeNull();
  });

  it("without a device scorer it says to choose one first", async () => {
    backend(null);
    render(SheetPanel);
    expect((await screen.findByTestId("empty-state")).textContent).toContain("本机尚未选择评分人");
  });
});

describe("the township list: this scorer's own sheet in each township", () => {
  const four = [
    { id: "t-yy", code: "430482001000", name: "宜阳街道", position: 1 },
    { id: "t-qf", code: "430482002000", name: "泉峰街道", position: 2 },
    { id: "t-py", code: "430482003000", name: "培元街道", position: 3 },
    { id: "t-qt", code: "430482005000", name: "曲潭街道", position: 4 },
  ].map((t) => ({ ...t, kind: "subdistrict", enabled: true, day: 1, arrival: null, slot_minutes: null, note: "", version: 1 })) as Township[];
  const leader: Scorer = { id: "s-2", name: "李四", group: "市领导", township_id: null, active: true, version: 1, work_unit: "" };
  const cells: SheetCell[] = [
    { township_id: "t-yy", state: "submitted", sheet_id: "sheet-yy", late: false },
    { township_id: "t-qf", state: "draft", sheet_id: "sheet-qf", late: false },
    { township_id: "t-py", state: "not_started", sheet_id: null, late: false },
    // Submitted after its township's scheduled slot: 逾期.
    { township_id: "t-qt", state: "submitted", sheet_id: "sheet-qt", late: true },
  ];
  // 泉峰 was opened by the schedule, 培元 opens by it later; the others were set by hand.
  const scheduled: Record<string, string> = { "t-qf": "2099-12-04T09:00:00+08:00", "t-py": "2099-12-05T10:30:00+08:00" };
  const row = (id: string, name: string, position: number, state: "open" | "closed" | "not_open") => ({
    township_id: id,
    name,
    position,
    state,
    by_schedule: id in scheduled,
    opens_at: scheduled[id] ?? null,
    expected: 1,
    submitted: 0,
    missing_scorer_ids: [],
    close_reason: null,
  });
  const grid: ScoringBoard = {
    townships: [row("t-yy", "宜阳街道", 1, "closed"), row("t-qf", "泉峰街道", 2, "open"), row("t-py", "培元街道", 3, "not_open"), row("t-qt", "曲潭街道", 4, "closed")],
    current_township_id: "t-qf",
    scorers: [{ scorer_id: "s-2", name: "李四", group: "市领导", work_unit: "", expected: 4, submitted: 2, sheets: cells }],
  };

  function listBackend(delivery: Delivery) {
    mockIPC((cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      switch (cmd) {
        case "get_device_scorer":
          return leader;
        case "get_scoring_board":
          return grid;
        case "list_townships":
          return four;
        case "get_rubric":
        case "get_rubric_for_township":
          return small;
        case "get_delivery":
          return delivery;
        case "get_sheet":
        case "open_sheet": {
          const id = cmd === "get_sheet" ? cells.find((c) => c.sheet_id === a.sheetId)!.township_id : (a.townshipId as string);
          const cell = cells.find((c) => c.township_id === id)!;
          const sheet = { ...blankSheet(id), id: cell.sheet_id ?? `sheet-${id}`, scorer_id: "s-2" };
          return cell.state === "submitted"
            ? {
                ...sheet,
                status: "submitted",
                submitted_at: "2024-12-04T02:00:00Z",
                marks: [
                  { criterion_id: "crit-1", points: 8, note: "" },
                  { criterion_id: "crit-2", points: 10, note: "" },
                ],
                base_total: 18,
              }
            : sheet;
        }
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    });
  }

  const stateOf = (code: string) => screen.getByTestId(`sheet-state-${code}`).textContent;

  it("on a paired laptop: 未评, 草稿, 已提交·待上传 until the hub confirmed it, then 已提交·已送达", async () => {
    listBackend({ to_hub: true, pending_sheet_ids: ["sheet-yy"], pending_comment_ids: [], pending_records: 1 });
    render(SheetPanel);
    await waitFor(() => expect(stateOf("430482001000")).toBe("已提交·待上传"));
    expect(stateOf("430482002000")).toBe("草稿");
    expect(stateOf("430482003000")).toBe("未评");
    expect(stateOf("430482005000")).toBe("已提交·已送达");
    // Whether scoring there is open, secondary.
    // Whether it follows the schedule, and when a township opens by it.
    expect(screen.getByTestId("sheet-open-430482002000").textContent).toBe("当前 · 按日程·已开放");
    expect(screen.getByTestId("sheet-open-430482001000").textContent).toBe("已结束");
    expect(screen.getByTestId("sheet-open-430482003000").textContent).toBe("按日程·12月5日 10:30开放");

    // The submitted sheet's header says it has not reached the hub yet.
    await waitFor(() => expect(screen.getByTestId("sheet-status").textContent).toBe("草稿")); // the current one opened first
    await fireEvent.click(screen.getByTestId("sheet-township-430482001000"));
    await waitFor(() => expect(screen.getByTestId("sheet-status").textContent).toBe("已提交,待上传"));
    expect(screen.queryByTestId("sheet-late")).toBeNull();
    await fireEvent.click(screen.getByTestId("sheet-township-430482005000"));
    await waitFor(() => expect(screen.getByTestId("sheet-status").textContent).toBe("已提交,已送达主机"));
    expect(screen.getByTestId("sheet-late").textContent).toBe("逾期");
  });

  it("on the hub or a laptop not paired: plain 已提交", async () => {
    listBackend({ to_hub: false, pending_sheet_ids: [], pending_comment_ids: [], pending_records: 0 });
    render(SheetPanel);
    await waitFor(() => expect(stateOf("430482001000")).toBe("已提交"));
    expect(stateOf("430482005000")).toBe("已提交");
    expect(stateOf("430482002000")).toBe("草稿");
    await waitFor(() => expect(screen.getByTestId("sheet-status").textContent).toBe("草稿"));
    await fireEvent.click(screen.getByTestId("sheet-township-430482001000"));
    await waitFor(() => expect(screen.getByTestId("sheet-status").textContent).toBe("已提交"));
  });

  it("打印评分表 on a submitted sheet prints it as submitted: when (Beijing time), every mark, the total", async () => {
    listBackend({ to_hub: false, pending_sheet_ids: [], pending_comment_ids: [], pending_records: 0 });
    const print = vi.spyOn(window, "print").mockImplementation(() => {});
    render(SheetPanel);
    await waitFor(() => expect(screen.getByTestId("sheet-status").textContent).toBe("草稿"));
    await fireEvent.click(screen.getByTestId("sheet-township-430482001000"));
    await waitFor(() => expect(screen.getByTestId("sheet-status").textContent).toBe("已提交"));

    await fireEvent.click(screen.getByTestId("sheet-print"));

    await waitFor(() => expect(print).toHaveBeenCalledTimes(1));
    const paper = within(screen.getByTestId("print-sheet"));
    expect(paper.getByTestId("print-township").textContent).toBe("第1站 · 宜阳街道");
    expect(paper.getByTestId("print-scorer").textContent).toBe("评分人:李四");
    expect(paper.getByTestId("print-status").textContent).toBe("状态:已提交(2024-12-04 10:00 北京时间)");
    expect(paper.queryByTestId("print-draft")).toBeNull();
    expect(paper.getByTestId("print-mark-0-0").textContent).toBe("8");
    expect(paper.getByTestId("print-mark-0-1").textContent).toBe("10");
    expect(paper.getByTestId("print-total").textContent).toBe("总分 18 = 细则 18 + 加减分 0");
    expect(paper.getByTestId("print-footer").textContent).toMatch(/^打印时间 \d{4}-\d\d-\d\d \d\d:\d\d\(北京时间\) · 共2项,已评2项$/);
  });

  it("a township head's own township reads 回避", async () => {
    backend(scorer);
    render(SheetPanel);
    await waitFor(() => expect(stateOf("430482001000")).toBe("回避"));
  });
});

describe("score sheet: 打印评分表", () => {
  it("prints the stored sheet: the scorer, the township, each stored mark, the total and the signature line", async () => {
    const calls = backend(scorer);
    const print = vi.spyOn(window, "print").mockImplementation(() => {});
    render(SheetPanel);
    await screen.findByTestId("mark-0-0");
    await waitFor(() => expect(focused()).toBe(screen.getByTestId("mark-0-0")));
    await typeText("7.5");
    await press("Enter");
    await typeText("9"); // typed, not committed: not on the paper

    await fireEvent.click(screen.getByTestId("sheet-print"));

    await waitFor(() => expect(print).toHaveBeenCalledTimes(1));
    // Read back from the backend after the save landed.
    expect(calls.map((c) => c.cmd).filter((c) => c === "record_mark" || c === "get_sheet")).toEqual(["record_mark", "get_sheet"]);
    const area = screen.getByTestId("print-sheet");
    expect(area.classList.contains("print-only")).toBe(true);
    expect(area.querySelectorAll("input, button, textarea")).toHaveLength(0);
    const paper = within(area);
    expect(area.querySelector("h1")!.textContent).toBe("乡镇(街道)工作现场观摩评分表");
    expect(paper.getByTestId("print-township").textContent).toBe("第2站 · 泉峰街道");
    expect(paper.getByTestId("print-scorer").textContent).toBe("评分人:张三");
    expect(paper.getByTestId("print-group").textContent).toBe("组别:乡镇(街道)党政主要负责人 · 市委办公室");
    expect(paper.getByTestId("print-draft").textContent).toBe("草稿,未提交");
    expect(paper.getByTestId("print-mark-0-0").textContent).toBe("7.5");
    expect(paper.getByTestId("print-mark-0-1").textContent).toBe("");
    expect(paper.getByTestId("print-subtotal-0").textContent).toBe("7.5");
    expect(paper.getByTestId("print-total").textContent).toBe("总分 7.5 = 细则 7.5 + 加减分 0");
    expect(paper.getByTestId("print-signature").textContent).toContain("评分人签字:____");
    expect(paper.getByTestId("print-signature").textContent).toContain("日期:____年__月__日");
    expect(paper.getByTestId("print-footer").textContent).toContain("共2项,已评1项");
    // The screen keeps what is typed, and the sheet stays editable.
    expect((screen.getByTestId("mark-0-1") as HTMLInputElement).value).toBe("9");
    expect((screen.getByTestId("mark-0-1") as HTMLInputElement).readOnly).toBe(false);
  });

  it("when the sheet cannot be read back it says so and does not print", async () => {
    backend(scorer);
    const print = vi.spyOn(window, "print").mockImplementation(() => {});
    render(SheetPanel);
    await screen.findByTestId("mark-0-0");
    mockIPC((cmd) => {
      if (cmd === "get_sheet") throw { code: "storage", message: "disk unavailable", problems: [] };
      throw new Error(`unexpected command ${cmd}`);
    });

    await fireEvent.click(screen.getByTestId("sheet-print"));

    await waitFor(() => expect(screen.getByTestId("error-code").textContent).toBe("错误代码: storage"));
    expect(print).not.toHaveBeenCalled();
  });
});
