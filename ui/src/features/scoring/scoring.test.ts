import { describe, expect, it } from "vitest";
import type { ScoringBoard, Township } from "../../ipc";
import {
  SaveQueue,
  checkMark,
  clockTime,
  groupAndUnit,
  markText,
  missingNames,
  mySheetBadge,
  opensText,
  reasonProblem,
  stateLabel,
  tourDateProblem,
  sheetTotal,
  totalText,
  townshipsForSheet,
} from "./scoring";

describe("mark check (mirror of the backend's check_points, in short Chinese messages)", () => {
  it("empty is no mark yet", () => {
    expect(checkMark("", 10)).toEqual({ ok: true, value: null });
    expect(checkMark("   ", 10)).toEqual({ ok: true, value: null });
  });
  it("accepts 0..max with at most one decimal", () => {
    expect(checkMark("0", 10)).toEqual({ ok: true, value: 0 });
    expect(checkMark("7.5", 10)).toEqual({ ok: true, value: 7.5 });
    expect(checkMark("10", 10)).toEqual({ ok: true, value: 10 });
    expect(checkMark("7.50", 10)).toEqual({ ok: true, value: 7.5 });
    expect(checkMark("8.", 10)).toEqual({ ok: true, value: 8 });
    expect(checkMark("8.5", 8.5)).toEqual({ ok: true, value: 8.5 });
  });
  it("refuses more than one decimal", () => {
    const r = checkMark("7.55", 10);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toBe("最多一位小数");
  });
  it("refuses more than the criterion's points", () => {
    const r = checkMark("11", 10);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.message).toBe("超过分值10分");
    expect(checkMark("10.1", 10).ok).toBe(false);
  });
  it("refuses negatives and text", () => {
    expect(checkMark("-1", 10)).toEqual({ ok: false, message: "不能为负数" });
    expect(checkMark("abc", 10).ok).toBe(false);
    expect(checkMark("1e1", 20).ok).toBe(false);
  });
  it("reads full-width digits typed on a Chinese input method", () => {
    expect(checkMark("８．５", 10)).toEqual({ ok: true, value: 8.5 });
  });
});

describe("totals", () => {
  it("formats the running total as 总分 = 细则 + 加减分 without float drift", () => {
    expect(totalText({ base_total: 84.5, adjustment_total: 2 })).toBe("总分 86.5 = 细则 84.5 + 加减分 2");
    expect(sheetTotal({ base_total: 0.1, adjustment_total: 0.2 })).toBe(0.3);
    expect(totalText({ base_total: 80, adjustment_total: -1.5 })).toBe("总分 78.5 = 细则 80 + 加减分 -1.5");
  });
  it("shows stored marks as typed", () => {
    expect(markText(null)).toBe("");
    expect(markText(7.5)).toBe("7.5");
    expect(markText(10)).toBe("10");
  });
  it("clock time is HH:MM:SS", () => {
    expect(clockTime(new Date(2024, 11, 4, 9, 5, 7))).toBe("09:05:07");
  });
});

describe("townships for the sheet", () => {
  const towns = [
    { id: "a", code: "001", position: 1 },
    { id: "b", code: "002", position: 2 },
    { id: "c", code: "003", position: 3 },
  ] as Township[];
  const board: ScoringBoard = {
    townships: [
      { township_id: "c", name: "C", position: 3, state: "not_open", by_schedule: false, opens_at: null, expected: 3, submitted: 0, missing_scorer_ids: [], close_reason: null },
      { township_id: "a", name: "A", position: 1, state: "closed", by_schedule: false, opens_at: null, expected: 3, submitted: 3, missing_scorer_ids: [], close_reason: null },
      { township_id: "b", name: "B", position: 2, state: "open", by_schedule: false, opens_at: null, expected: 3, submitted: 1, missing_scorer_ids: [], close_reason: null },
    ],
    current_township_id: "b",
    scorers: [],
  };
  it("puts the current open township first, then route order", () => {
    expect(townshipsForSheet(board, towns).map((t) => t.code)).toEqual(["002", "001", "003"]);
    expect(townshipsForSheet({ ...board, current_township_id: null }, towns).map((t) => t.code)).toEqual(["001", "002", "003"]);
  });
  it("carries the scorer's own sheet from the board's grid, and names who is missing", () => {
    const withGrid: ScoringBoard = {
      ...board,
      townships: board.townships.map((t) => (t.township_id === "b" ? { ...t, missing_scorer_ids: ["s-2", "s-1"] } : t)),
      scorers: [
        { scorer_id: "s-1", name: "张三", group: "市领导", work_unit: "", expected: 3, submitted: 1, sheets: [{ township_id: "b", state: "draft", sheet_id: "x", late: false }] },
        { scorer_id: "s-2", name: "李四", group: "市领导", work_unit: "", expected: 3, submitted: 0, sheets: [] },
      ],
    };
    const list = townshipsForSheet(withGrid, towns, "s-1");
    expect(list[0].mine).toEqual({ township_id: "b", state: "draft", sheet_id: "x", late: false });
    expect(list[1].mine).toBeNull();
    expect(townshipsForSheet(withGrid, towns)[0].mine).toBeNull();
    expect(missingNames(withGrid, "b")).toEqual(["李四", "张三"]);
    expect(missingNames(withGrid, "a")).toEqual([]);
  });
});

describe("a scorer's own sheet, as their list shows it", () => {
  const submitted = { township_id: "a", state: "submitted" as const, sheet_id: "s-a", late: false };
  it("reads 未评 / 草稿 / 回避 whatever the device", () => {
    expect(mySheetBadge(null, null).label).toBe("未评");
    expect(mySheetBadge({ township_id: "a", state: "not_started", sheet_id: null, late: false }, null).label).toBe("未评");
    expect(mySheetBadge({ township_id: "a", state: "draft", sheet_id: "s-a", late: false }, null).label).toBe("草稿");
    expect(mySheetBadge({ township_id: "a", state: "recused", sheet_id: null, late: false }, null).label).toBe("回避");
  });
  it("says whether a submitted sheet reached the hub only on a laptop paired with it", () => {
    expect(mySheetBadge(submitted, { to_hub: true, pending_sheet_ids: ["s-a"], pending_comment_ids: [], pending_records: 1 })).toEqual({ label: "已提交·待上传", tone: "pending" });
    expect(mySheetBadge(submitted, { to_hub: true, pending_sheet_ids: [], pending_comment_ids: [], pending_records: 0 })).toEqual({ label: "已提交·已送达", tone: "done" });
    expect(mySheetBadge(submitted, { to_hub: false, pending_sheet_ids: [], pending_comment_ids: [], pending_records: 0 }).label).toBe("已提交");
    expect(mySheetBadge(submitted, null).label).toBe("已提交");
  });
});

describe("the reason for closing scoring with sheets missing", () => {
  it("needs at least two characters after trimming", () => {
    expect(reasonProblem("")).toBe("请填写结束原因(至少2个字)");
    expect(reasonProblem(" 好 ")).toBe("请填写结束原因(至少2个字)");
    expect(reasonProblem("离团")).toBeNull();
    expect(reasonProblem("字".repeat(1001))).toBe("原因不能超过1000个字");
  });
});

describe("save queue", () => {
  it("runs saves of one field in order and collapses the ones waiting into the newest", async () => {
    const q = new SaveQueue();
    const seen: string[] = [];
    let release: () => void = () => {};
    const first = new Promise<void>((r) => (release = r));
    void q.save("k", async () => {
      await first;
      seen.push("1");
    });
    void q.save("k", async () => void seen.push("2"));
    void q.save("k", async () => void seen.push("3"));
    void q.save("other", async () => void seen.push("x"));
    expect(q.busy).toBe(true);
    release();
    await q.idle();
    expect(seen).toEqual(["x", "1", "3"]);
    expect(q.busy).toBe(false);
  });
});

describe("groupAndUnit", () => {
  it("adds the work unit to the group when there is one", () => {
    expect(groupAndUnit({ group: "市领导", work_unit: "市委办公室" })).toBe("市领导 · 市委办公室");
    expect(groupAndUnit({ group: "市领导", work_unit: "" })).toBe("市领导");
    expect(groupAndUnit({ group: "市领导" })).toBe("市领导");
  });
});

describe("scoring by the schedule, as the board and the scorer's list say it", () => {
  // 2026-12-04 08:00 in Beijing.
  const now = new Date("2026-12-04T00:00:00Z");
  const t = (state: "open" | "closed" | "not_open", by_schedule: boolean, opens_at: string | null = null) => ({ state, by_schedule, opens_at });
  it("names who opened it: the schedule or the organiser", () => {
    expect(stateLabel(t("open", true, "2026-12-04T07:30:00+08:00"), now)).toBe("按日程·已开放");
    expect(stateLabel(t("open", false), now)).toBe("手动开放");
    expect(stateLabel(t("closed", false), now)).toBe("已结束");
    expect(stateLabel(t("closed", true, "2026-12-03T09:00:00+08:00"), now)).toBe("已结束");
  });
  it("says when a township opens by the schedule: the time today, the date on another day", () => {
    expect(stateLabel(t("not_open", true, "2026-12-04T09:30:00+08:00"), now)).toBe("按日程·09:30开放");
    expect(stateLabel(t("not_open", true, "2026-12-05T14:00:00+08:00"), now)).toBe("按日程·12月5日 14:00开放");
    // Late on 12-03 UTC is already 12-04 in Beijing.
    expect(opensText("2026-12-04T09:30:00+08:00", new Date("2026-12-03T16:30:00Z"))).toBe("09:30");
    expect(stateLabel(t("not_open", true), now)).toBe("未开始");
    expect(stateLabel(t("not_open", false), now)).toBe("未开始");
  });
  it("takes a 观摩日期 only as a real calendar date, or nothing", () => {
    expect(tourDateProblem("")).toBeNull();
    expect(tourDateProblem("2026-12-04")).toBeNull();
    expect(tourDateProblem("2026-02-30")).not.toBeNull();
    expect(tourDateProblem("2026/12/04")).not.toBeNull();
  });
});
