import { describe, expect, it } from "vitest";
import type { Rubric, Sheet } from "../../ipc";
import { DRAFT_MARK, printedSheet } from "./printedSheet";

const rubric: Rubric = {
  title: "2024年度下半年乡镇(街道)工作现场观摩会评分表",
  total_points: 30,
  categories: [
    {
      id: "cat-1",
      name: "基层党建",
      max_points: 20,
      criteria: [
        { id: "crit-1", name: "组织建设", max_points: 8, guidance: "" },
        { id: "crit-2", name: "党员教育", max_points: 12, guidance: "" },
      ],
    },
    { id: "cat-2", name: "乡村治理", max_points: 10, criteria: [{ id: "crit-3", name: "矛盾调处", max_points: 10, guidance: "" }] },
  ],
  adjustments: [
    { id: "adj-1", name: "获市级以上表彰", kind: "bonus", limit_points: 2, guidance: "" },
    { id: "adj-2", name: "负面问题扣分", kind: "penalty", limit_points: 5, guidance: "" },
  ],
};

function sheetWith(over: Partial<Sheet>): Sheet {
  return {
    id: "sheet-1",
    scorer_id: "s-1",
    township_id: "t-yy",
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
    ...over,
  };
}

const submitted = sheetWith({
  status: "submitted",
  submitted_at: "2024-12-04T02:05:00Z",
  marks: [
    { criterion_id: "crit-1", points: 7.5, note: "阵地规范" },
    { criterion_id: "crit-2", points: 11, note: "" },
    { criterion_id: "crit-3", points: 9, note: "" },
  ],
  adjustments: [
    { adjustment_id: "adj-1", points: 2, note: "省级表彰" },
    { adjustment_id: "adj-2", points: 1, note: "" },
  ],
  comment: "  亮点突出。\n",
  base_total: 27.5,
  adjustment_total: 1,
});

const scorer = { name: "张三", group: "市领导" };
// 2024-12-04 10:30 in Beijing.
const printedAt = new Date("2024-12-04T02:30:00Z");

describe("the printed sheet", () => {
  it("lists each criterion with its stored mark and note, and the category subtotals", () => {
    const p = printedSheet({ rubric, sheet: submitted, scorer, township: "宜阳街道", stop: 1, printedAt });
    expect(p.title).toBe("2024年度下半年乡镇(街道)工作现场观摩会评分表");
    expect(p.township).toBe("第1站 · 宜阳街道");
    expect(p.categories).toEqual([
      {
        label: "1. 基层党建",
        max: "20",
        criteria: [
          { name: "组织建设", max: "8", points: "7.5", note: "阵地规范" },
          { name: "党员教育", max: "12", points: "11", note: "" },
        ],
        subtotal: "18.5",
      },
      { label: "2. 乡村治理", max: "10", criteria: [{ name: "矛盾调处", max: "10", points: "9", note: "" }], subtotal: "9" },
    ]);
  });

  it("signs 加减分 by their kind and gives the backend's totals: 总分 = 细则 + 加减分", () => {
    const p = printedSheet({ rubric, sheet: submitted, scorer, township: "宜阳街道", stop: 1, printedAt });
    expect(p.adjustments).toEqual([
      { label: "加分 · 获市级以上表彰", limit: "+2", points: "+2", note: "省级表彰" },
      { label: "减分 · 负面问题扣分", limit: "−5", points: "−1", note: "" },
    ]);
    expect(p.adjustmentTotal).toBe("+1");
    expect(p.maxTotal).toBe("30");
    expect(p.baseTotal).toBe("27.5");
    expect(p.total).toBe("28.5");
    expect(p.totalText).toBe("总分 28.5 = 细则 27.5 + 加减分 1");
  });

  it("a submitted sheet says when, in Beijing time; the footer gives the print time and the count", () => {
    const p = printedSheet({ rubric, sheet: submitted, scorer, township: "宜阳街道", stop: 1, printedAt });
    expect(p.draft).toBe(false);
    expect(p.status).toBe("已提交(2024-12-04 10:05 北京时间)");
    expect(p.scorer).toBe("张三");
    expect(p.group).toBe("市领导");
    expect(p.comment).toBe("亮点突出。");
    expect(p.footer).toBe("打印时间 2024-12-04 10:30(北京时间) · 共3项,已评3项");
  });

  it("a draft is marked 草稿,未提交; an empty criterion is a blank cell, and a category with none marked has no subtotal", () => {
    const draft = sheetWith({
      marks: [
        { criterion_id: "crit-1", points: 6, note: "" },
        { criterion_id: "crit-2", points: null, note: "待核实" },
      ],
      adjustments: [{ adjustment_id: "adj-2", points: null, note: "" }],
      base_total: 6,
    });
    const p = printedSheet({ rubric, sheet: draft, scorer, township: "宜阳街道", stop: null, printedAt });
    expect(p.draft).toBe(true);
    expect(p.status).toBe(DRAFT_MARK);
    expect(p.township).toBe("宜阳街道");
    expect(p.categories[0].criteria.map((c) => [c.points, c.note])).toEqual([
      ["6", ""],
      ["", "待核实"],
    ]);
    expect(p.categories[0].subtotal).toBe("6");
    expect(p.categories[1].criteria[0].points).toBe("");
    expect(p.categories[1].subtotal).toBe("");
    expect(p.adjustments.map((a) => a.points)).toEqual(["", ""]);
    expect(p.adjustmentTotal).toBe("0");
    expect(p.totalText).toBe("总分 6 = 细则 6 + 加减分 0");
    expect(p.footer).toBe("打印时间 2024-12-04 10:30(北京时间) · 共3项,已评1项");
  });

  it("a net penalty reads as a negative 加减分; a zero adjustment has no sign; tenths do not drift", () => {
    const sheet = sheetWith({
      marks: [
        { criterion_id: "crit-1", points: 0.1, note: "" },
        { criterion_id: "crit-2", points: 0.2, note: "" },
      ],
      adjustments: [
        { adjustment_id: "adj-1", points: 0, note: "" },
        { adjustment_id: "adj-2", points: 3, note: "" },
      ],
      base_total: 0.3,
      adjustment_total: -3,
    });
    const p = printedSheet({ rubric, sheet, scorer, township: "宜阳街道", stop: 1, printedAt });
    expect(p.categories[0].subtotal).toBe("0.3");
    expect(p.adjustments.map((a) => a.points)).toEqual(["0", "−3"]);
    expect(p.adjustmentTotal).toBe("-3");
    expect(p.total).toBe("-2.7");
    expect(p.totalText).toBe("总分 -2.7 = 细则 0.3 + 加减分 -3");
  });
});
