import { describe, expect, it } from "vitest";
import { agoText, beijingParts } from "./beijing";

describe("beijing time", () => {
  it("reads an instant in UTC+8 across midnight and the year's end", () => {
    expect(beijingParts("2024-12-31T16:05:09Z")).toMatchObject({ year: "2025", month: "01", day: "01", hour: "00", minute: "05", second: "09" });
    expect(beijingParts(new Date("2024-12-04T01:30:00Z"))).toMatchObject({ monthN: 12, dayN: 4, hour: "09", minute: "30" });
    expect(beijingParts("不是时间")).toBeNull();
  });
  it("says how long ago without spaces", () => {
    const now = Date.parse("2024-12-04T02:15:00Z");
    expect(agoText("2024-12-04T02:14:30Z", now)).toBe("刚刚");
    expect(agoText("2024-12-04T02:08:00Z", now)).toBe("7分钟前");
    expect(agoText("2024-12-04T00:10:00Z", now)).toBe("2小时前");
    expect(agoText("2024-12-01T00:10:00Z", now)).toBe("3天前");
    expect(agoText("2024-12-05T00:00:00Z", now)).toBe("刚刚");
    expect(agoText("x", now)).toBe("");
  });
});
