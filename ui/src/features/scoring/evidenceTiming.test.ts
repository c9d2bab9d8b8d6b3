import { describe, expect, it } from "vitest";
import type { Sheet } from "../../ipc";
import { evidenceTimingNote } from "./scoring";

const sheet = {
  evidence: [
    { criterion_id: "c1", hash: "a", timing: { kind: "within" } },
    { criterion_id: "c1", hash: "b", timing: { kind: "outside", taken: "12月4日 10:20", window: "12月4日 08:30–09:10", minutes: 70 } },
    { criterion_id: "c1", hash: "c", timing: { kind: "outside", taken: "12月4日 07:00", window: "12月4日 08:30–09:10", minutes: -90 } },
    { criterion_id: "c1", hash: "d" },
  ],
} as unknown as Sheet;

describe("evidence photos against the township's time", () => {
  it("says when a photo was taken outside the stop, early or late", () => {
    expect(evidenceTimingNote(sheet, "c1", "b")).toBe("拍摄于 12月4日 10:20,不在本站时段 12月4日 08:30–09:10 内(晚 70 分钟)");
    expect(evidenceTimingNote(sheet, "c1", "c")).toBe("拍摄于 12月4日 07:00,不在本站时段 12月4日 08:30–09:10 内(早 90 分钟)");
  });

  it("flags nothing taken during the stop, without a time, or on another criterion", () => {
    expect(evidenceTimingNote(sheet, "c1", "a")).toBeNull();
    expect(evidenceTimingNote(sheet, "c1", "d")).toBeNull();
    expect(evidenceTimingNote(sheet, "c2", "b")).toBeNull();
  });
});
