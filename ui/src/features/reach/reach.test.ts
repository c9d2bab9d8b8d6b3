import { describe, expect, it } from "vitest";
import { barRows, dayLabel, interactions, sourceLabel } from "./reach";

describe("传播数据 helpers", () => {
  it("scales bars to the largest value", () => {
    const bars = barRows([
      { label: "12月04日", value: 200, extra: 80 },
      { label: "12月05日", value: 50, extra: 30 },
    ]);
    expect(bars.map((b) => b.percent)).toEqual([100, 25]);
    expect(bars[1]).toMatchObject({ label: "12月05日", extra: 30 });
  });

  it("draws nothing when nothing was counted", () => {
    expect(barRows([{ label: "第1站", value: 0, extra: 0 }])[0].percent).toBe(0);
    expect(barRows([])).toEqual([]);
  });

  it("adds likes and comments into 互动量", () => {
    expect(interactions({ views: 9, visitors: 3, peak_live: 2, likes: 4, comments: 5 })).toBe(9);
  });

  it("writes a day as people read it", () => {
    expect(dayLabel("2024-12-04")).toBe("12月4日");
    expect(dayLabel("bad")).toBe("bad");
  });

  it("says whose figures these are", () => {
    expect(sourceLabel("hub")).toContain("组织方主机");
    expect(sourceLabel("this_device")).toContain("本机");
  });
});
