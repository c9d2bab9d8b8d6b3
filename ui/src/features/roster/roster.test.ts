import { describe, expect, it } from "vitest";
import type { Township } from "../../ipc";
import { checkArrival, moveBy, moveTo, stationNumbers, summary } from "./roster";

function township(id: string, enabled = true, position = 0): Township {
  return {
    id,
    code: id,
    name: id,
    kind: "town",
    enabled,
    position,
    day: null,
    arrival: null,
    slot_minutes: null,
    note: "",
    version: 1,
  };
}

describe("arrival time check", () => {
  it("accepts an empty value as not yet scheduled", () => {
    expect(checkArrival("  ")).toEqual({ ok: true, value: null });
  });
  it("accepts 24-hour HH:MM", () => {
    expect(checkArrival("09:30")).toEqual({ ok: true, value: "09:30" });
    expect(checkArrival("23:59")).toEqual({ ok: true, value: "23:59" });
    expect(checkArrival("00:00")).toEqual({ ok: true, value: "00:00" });
  });
  it("rejects other shapes and out-of-range times with a Chinese message", () => {
    for (const bad of ["9:30", "0930", "09:3", "24:00", "12:60", "ab:cd", "09:30:00", "09：30"]) {
      const r = checkArrival(bad);
      expect(r.ok, bad).toBe(false);
      if (!r.ok) expect(r.message).toMatch(/到达时间/);
    }
  });
});

describe("reordering", () => {
  const ids = ["a", "b", "c"];
  it("moving down swaps with the next one", () => {
    expect(moveBy(ids, 0, 1)).toEqual(["b", "a", "c"]);
  });
  it("moving up swaps with the previous one", () => {
    expect(moveBy(ids, 2, -1)).toEqual(["a", "c", "b"]);
  });
  it("cannot move past either end", () => {
    expect(moveBy(ids, 0, -1)).toBeNull();
    expect(moveBy(ids, 2, 1)).toBeNull();
  });
  it("drag and drop moves an item to the drop position", () => {
    expect(moveTo(ids, 0, 2)).toEqual(["b", "c", "a"]);
    expect(moveTo(ids, 2, 0)).toEqual(["c", "a", "b"]);
    expect(moveTo(ids, 1, 1)).toEqual(ids);
  });
  it("does not change the input array", () => {
    moveBy(ids, 0, 1);
    expect(ids).toEqual(["a", "b", "c"]);
  });
});

describe("stop numbers", () => {
  it("counts only enabled townships, in order", () => {
    const list = [township("a"), township("b", false), township("c")];
    const n = stationNumbers(list);
    expect(n.get("a")).toBe(1);
    expect(n.get("b")).toBeNull();
    expect(n.get("c")).toBe(2);
    expect(summary(list)).toBe("共3个,启用2个");
  });
});
