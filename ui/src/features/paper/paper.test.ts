import { describe, expect, it } from "vitest";
import type { PaperSheetStatus, Rubric } from "../../ipc";
import { buildInput, correctionFor, fieldProblem, matchSheets, nextRound, paperFields, runningTotal, stateLabel } from "./paper";

const rubric: Rubric = {
  title: "评分表",
  total_points: 100,
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
  adjustments: [{ id: "a1", name: "安全事故", kind: "penalty", limit_points: 5, guidance: "" }],
  version: 1,
  change_reason: "",
  frozen: true,
};

function row(over: Partial<PaperSheetStatus> = {}): PaperSheetStatus {
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

const round = (n: number) => ({ round: n, entry_id: "e", clerk_person_id: "p", clerk_name: "张三", entered_at: "", settled_by: null });

describe("纸质评分表录入", () => {
  it("lists criteria then adjustments in rubric order, with a running total that subtracts penalties", () => {
    const f = paperFields(rubric);
    expect(f.map((x) => x.name)).toEqual(["基层党建 › 组织体系", "基层党建 › 党员教育", "加减分项 › 安全事故"]);
    expect(runningTotal(f, ["18.5", "27", "2"])).toBe(43.5);
    expect(runningTotal(f, ["18.5", "abc", ""])).toBe(18.5);
  });

  it("refuses what the paper cannot hold and requires every criterion", () => {
    const [k1, , adj] = paperFields(rubric);
    expect(fieldProblem(k1, "")).toBe("未填写");
    expect(fieldProblem(k1, "21")).toContain("超过分值20分");
    expect(fieldProblem(k1, "7.55")).toBe("最多一位小数");
    expect(fieldProblem(adj, "")).toBeNull();
    expect(fieldProblem(k1, "20")).toBeNull();
  });

  it("sends every criterion and only the filled adjustments", () => {
    const input = buildInput(paperFields(rubric), ["18", "27.5", ""], "好");
    expect(input).toEqual({ marks: [{ item_id: "k1", points: 18 }, { item_id: "k2", points: 27.5 }], adjustments: [], comment: "好" });
  });

  it("knows the round a sheet needs and says where it stands", () => {
    expect(nextRound(row())).toBe(1);
    expect(nextRound(row({ state: "one_entered", first: round(1) }))).toBe(2);
    expect(nextRound(row({ state: "one_entered", second: round(2) }))).toBe(1);
    expect(nextRound(row({ state: "mismatch", first: round(1), second: round(2) }))).toBeNull();
    expect(stateLabel(row({ state: "mismatch", mismatch_count: 3 }))).toBe("不一致(3项)");
    expect(stateLabel(row({ state: "counted" }))).toBe("已一致·已计入");
  });

  it("finds sheets by scorer and township typed together, leaving out those already counted", () => {
    const rows = [row(), row({ scorer_id: "s2", scorer_name: "李书记", township_name: "泉峰街道" }), row({ scorer_id: "s3", state: "counted" })];
    expect(matchSheets(rows, "李 泉峰").map((r) => r.scorer_id)).toEqual(["s2"]);
    expect(matchSheets(rows, "").map((r) => r.scorer_id)).toEqual(["s1", "s2"]);
  });

  it("turns a settled value into a correction, or says why not", () => {
    expect(correctionFor({ kind: "criterion", item_id: "k1" }, "18", 20)).toEqual({ kind: "criterion", item_id: "k1", points: 18, comment: "" });
    expect(correctionFor({ kind: "criterion", item_id: "k1" }, "", 20)).toBe("请填写纸质表上的得分");
    expect(correctionFor({ kind: "comment", item_id: null }, "好", 0)).toEqual({ kind: "comment", item_id: null, points: null, comment: "好" });
  });
});
