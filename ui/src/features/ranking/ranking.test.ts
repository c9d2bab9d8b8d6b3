import { describe, expect, it } from "vitest";
import type { AuditEntry, Rubric, Standing, TieBreak } from "../../ipc";
import {
  addTieBreak,
  auditChange,
  auditItemLabel,
  completeness,
  completenessText,
  fmt2,
  fmt3,
  moveTieBreak,
  rankText,
  removeTieBreak,
  statusText,
  tieBreakLabel,
  tieBreakOptions,
  weightSum,
  weightsOk,
} from "./ranking";

const rubric: Rubric = {
  title: "评分表",
  total_points: 100,
  categories: [
    { id: "cat-dj", name: "基层党建", max_points: 20, criteria: [{ id: "k1", name: "组织建设", max_points: 20, guidance: "" }] },
    { id: "cat-zl", name: "乡村治理", max_points: 80, criteria: [{ id: "k2", name: "平安建设", max_points: 80, guidance: "" }] },
  ],
  adjustments: [{ id: "adj1", name: "获市级以上表彰", kind: "bonus", limit_points: 2, guidance: "" }],
};

function standing(over: Partial<Standing>): Standing {
  return {
    township_id: "t",
    status: { kind: "ranked" },
    rank: 1,
    shared_rank: false,
    result: 85.333,
    base_aggregate: 84,
    adjustment_mean: 1.333,
    untrimmed_mean: 85,
    normalized: null,
    normalized_rank: null,
    submitted: 5,
    expected: 5,
    groups: [],
    marks: [],
    tie_note: null,
    ...over,
  };
}

describe("tie-break editing", () => {
  const dj: TieBreak = { kind: "category_subtotal", category_id: "cat-dj", category_name: "基层党建" };
  const um: TieBreak = { kind: "untrimmed_mean" };
  it("adds each tie-break once, in order", () => {
    let list = addTieBreak([], dj);
    list = addTieBreak(list, um);
    list = addTieBreak(list, { ...dj });
    expect(list.map(tieBreakLabel)).toEqual(["基层党建小计", "全部评委平均分(不去分)"]);
  });
  it("moves and removes", () => {
    expect(moveTieBreak([dj, um], 1, -1)).toEqual([um, dj]);
    expect(moveTieBreak([dj, um], 0, -1)).toEqual([dj, um]);
    expect(removeTieBreak([dj, um], 0)).toEqual([um]);
  });
  it("offers only what is not chosen yet: category subtotals, then the untrimmed mean", () => {
    expect(tieBreakOptions(rubric, []).map(tieBreakLabel)).toEqual(["基层党建小计", "乡村治理小计", "全部评委平均分(不去分)"]);
    expect(tieBreakOptions(rubric, [dj, um]).map(tieBreakLabel)).toEqual(["乡村治理小计"]);
  });
});

describe("group weights", () => {
  it("sum in hundredths", () => {
    const w = [
      { group: "a", weight_percent: 33.33 },
      { group: "b", weight_percent: 33.33 },
      { group: "c", weight_percent: 33.34 },
    ];
    expect(weightSum(w)).toBe(100);
    expect(weightsOk(w)).toBe(true);
    expect(weightsOk([{ group: "a", weight_percent: 70 }])).toBe(false);
    expect(weightsOk([])).toBe(true);
  });
});

describe("standing wording", () => {
  it("results have two decimals", () => {
    expect(fmt2(85.333)).toBe("85.33");
    expect(fmt2(null)).toBe("—");
    expect(fmt3(-0.0000001)).toBe("0.000");
    expect(fmt3(-0.25)).toBe("-0.250");
  });
  it("shared ranks are marked", () => {
    expect(rankText(standing({ rank: 2, shared_rank: true }))).toBe("2(并列)");
    expect(rankText(standing({ rank: null }))).toBe("—");
  });
  it("says why a township is not ranked", () => {
    expect(statusText(standing({}))).toBeNull();
    expect(statusText(standing({ status: { kind: "no_sheets" } }))).toBe("暂无评分");
    expect(statusText(standing({ status: { kind: "too_few_sheets", have: 2, need: 3, group: null } }))).toBe(
      "评分不足:已有2份,需要3份",
    );
    expect(statusText(standing({ status: { kind: "too_few_sheets", have: 1, need: 3, group: "市领导" } }))).toBe(
      "评分不足:已有1份,需要3份(市领导组)",
    );
    expect(statusText(standing({ status: { kind: "embargoed", submitted: 4, expected: 9 } }))).toBe("封存中:已提交4/9");
  });
});

describe("audit labels", () => {
  const entry = (over: Partial<AuditEntry>): AuditEntry => ({
    seq: 1,
    at: "2024-12-04T09:30:00+08:00",
    device_id: "d",
    scorer_id: "s",
    sheet_id: "sh",
    township_id: "t",
    kind: "criterion",
    item_id: "k1",
    old_value: null,
    new_value: "8",
    reason: null,
    person_id: "p-1",
    person_name: "张三",
    ...over,
  });
  it("names criteria and adjustments from the rubric", () => {
    expect(auditItemLabel(entry({}), rubric)).toBe("基层党建 › 组织建设");
    expect(auditItemLabel(entry({ kind: "adjustment", item_id: "adj1" }), rubric)).toBe("加减分项 › 获市级以上表彰");
    expect(auditItemLabel(entry({ kind: "comment", item_id: null }), rubric)).toBe("总体评价");
    expect(auditItemLabel(entry({ kind: "submit", item_id: null }), rubric)).toBe("提交");
    expect(auditItemLabel(entry({ kind: "unlock", item_id: null }), rubric)).toBe("解锁");
  });
  it("shows old → new", () => {
    expect(auditChange(entry({}))).toBe("(空) → 8");
    expect(auditChange(entry({ old_value: "8", new_value: "9" }))).toBe("8 → 9");
    expect(auditChange(entry({ old_value: null, new_value: null }))).toBe("");
  });
});

describe("completeness", () => {
  it("is provisional while any township is short of sheets, and says how far along it is", () => {
    const c = completeness([
      { submitted: 3, expected: 3 },
      { submitted: 1, expected: 3 },
      { submitted: 0, expected: 2 },
    ]);
    expect(c).toEqual({ submitted: 4, expected: 8, townshipsShort: 2, final: false });
    expect(completenessText(c, "2024-12-04 09:30")).toBe("临时排名 · 截至 2024-12-04 09:30 · 已提交 4/8 份 · 2个乡镇(街道)未交齐");
  });

  it("is final only when every expected sheet is in", () => {
    const c = completeness([
      { submitted: 3, expected: 3 },
      { submitted: 2, expected: 2 },
    ]);
    expect(c.final).toBe(true);
    expect(completenessText(c, "2024-12-05 17:00")).toBe("最终排名(评分表已全部提交) · 截至 2024-12-05 17:00 · 已提交 5/5 份");
    expect(completeness([]).final).toBe(false);
  });
});
