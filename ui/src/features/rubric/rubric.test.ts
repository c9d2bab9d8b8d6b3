import { describe, expect, it } from "vitest";
import type { Rubric } from "../../ipc";
import {
  categoryStatus,
  changeReasonProblem,
  formatPoints,
  hasErrors,
  moveItem,
  normalizeRubric,
  totalStatus,
  versionText,
  withChangeReason,
} from "./rubric";

const rubric: Rubric = {
  title: "评分表",
  total_points: 100,
  categories: [
    {
      id: "a",
      name: "基层党建",
      max_points: 20,
      criteria: [
        { id: "a1", name: "组织建设", max_points: 10.1, guidance: "" },
        { id: "a2", name: "党员教育", max_points: 9.9, guidance: "" },
      ],
    },
    { id: "b", name: "乡村治理", max_points: 80, criteria: [{ id: "b1", name: "平安建设", max_points: 70, guidance: "" }] },
  ],
  adjustments: [],
};

describe("rubric sums", () => {
  it("a category whose criteria add up to its points is equal, without float drift", () => {
    const s = categoryStatus(rubric.categories[0]);
    expect(s.equal).toBe(true);
    expect(s.text).toBe("细则合计 20 / 分值 20");
  });
  it("a category whose criteria fall short is not equal", () => {
    const s = categoryStatus(rubric.categories[1]);
    expect(s.equal).toBe(false);
    expect(s.text).toBe("细则合计 70 / 分值 80");
  });
  it("the overall status compares category points with the total", () => {
    expect(totalStatus(rubric)).toMatchObject({ equal: true, text: "合计 100 / 总分 100" });
    expect(totalStatus({ ...rubric, total_points: 105 }).equal).toBe(false);
  });
  it("formats points with at most one decimal", () => {
    expect(formatPoints(12.5)).toBe("12.5");
    expect(formatPoints(0.1 + 0.2)).toBe("0.3");
    expect(formatPoints(20)).toBe("20");
  });
});

describe("rubric editing", () => {
  it("moves items and leaves the ends alone", () => {
    expect(moveItem([1, 2, 3], 1, -1)).toEqual([2, 1, 3]);
    expect(moveItem([1, 2, 3], 2, 1)).toEqual([1, 2, 3]);
  });
  it("only error-severity problems block saving", () => {
    expect(hasErrors([{ code: "unusual_count", severity: "warning", row: null, location: "", message: "" }])).toBe(false);
    expect(hasErrors([{ code: "sum_mismatch", severity: "error", row: null, location: "", message: "" }])).toBe(true);
  });
  it("turns empty number fields into 0 before sending", () => {
    const broken = { ...rubric, total_points: undefined as unknown as number };
    expect(normalizeRubric(broken).total_points).toBe(0);
  });
});

describe("the frozen rubric", () => {
  it("needs a 修订原因 of at least 2 characters only once frozen", () => {
    expect(changeReasonProblem(false, "")).toBeNull();
    expect(changeReasonProblem(true, "")).toBe("请填写修订原因(至少2个字)");
    expect(changeReasonProblem(true, " 改 ")).toBe("请填写修订原因(至少2个字)");
    expect(changeReasonProblem(true, "调整")).toBeNull();
  });
  it("names the version and its reason", () => {
    expect(versionText(rubric)).toBe("");
    expect(versionText({ ...rubric, version: 1, change_reason: "" })).toBe("第1版");
    expect(versionText({ ...rubric, version: 3, change_reason: "调整分值" })).toBe("第3版 · 修订原因:调整分值");
  });
  it("sends this save's reason, never the last version's, and leaves the backend's fields out", () => {
    const saved: Rubric = { ...rubric, version: 3, change_reason: "上一版的原因", frozen: true };
    const toSave = withChangeReason(saved, "  本次原因 ");
    expect(toSave.change_reason).toBe("本次原因");
    expect(toSave).not.toHaveProperty("version");
    expect(toSave).not.toHaveProperty("frozen");
    expect(normalizeRubric(saved)).not.toHaveProperty("change_reason");
  });
});
