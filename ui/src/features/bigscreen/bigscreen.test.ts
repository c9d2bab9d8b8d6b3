import { describe, expect, it } from "vitest";
import fc from "fast-check";
import type { GroupResults, ResultRow, Standing } from "../../ipc";
import {
  SIZES,
  back,
  bandTone,
  barFraction,
  cssSize,
  enterGroup,
  eventName,
  forward,
  groupTitle,
  isRevealed,
  pageCount,
  pageOf,
  pageRows,
  pxAt,
  revealCounter,
  revealOrder,
  rowMin,
  rowsArea,
  rowsPerPage,
  scaleStart,
  splitRows,
  type View,
} from "./bigscreen";

describe("type sizes", () => {
  it("reads from the back of the hall on a 1366×768 projector: names ≥ 28 px, scores ≥ 32 px", () => {
    expect(pxAt(SIZES.name, 1366, 768)).toBeGreaterThanOrEqual(28);
    expect(pxAt(SIZES.score, 1366, 768)).toBeGreaterThanOrEqual(32);
    expect(pxAt(SIZES.rank, 1366, 768)).toBeGreaterThanOrEqual(32);
  });

  it("grows on a 1920×1080 projector: names ≥ 36 px, scores ≥ 40 px", () => {
    expect(pxAt(SIZES.name, 1920, 1080)).toBeGreaterThanOrEqual(36);
    expect(pxAt(SIZES.score, 1920, 1080)).toBeGreaterThanOrEqual(40);
  });

  it("never falls below its minimum in a small window nor beyond its maximum on a wall", () => {
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 8000 }), fc.integer({ min: 200, max: 5000 }), (w, h) => {
        for (const s of Object.values(SIZES)) {
          const px = pxAt(s, w, h);
          expect(px).toBeGreaterThanOrEqual(s.minPx);
          expect(px).toBeLessThanOrEqual(s.maxPx);
        }
      }),
    );
  });

  it("writes the size as the CSS clamp the screen uses", () => {
    expect(cssSize(SIZES.name)).toBe("clamp(28px, 3.4vmin, 64px)");
  });
});

describe("rows per page", () => {
  it("fits 18 rows without scrolling at 1366×768 and at 1920×1080", () => {
    expect(rowsPerPage(1366, 768)).toBeGreaterThanOrEqual(18);
    expect(rowsPerPage(1920, 1080)).toBeGreaterThanOrEqual(18);
    expect(rowsPerPage(1366, 768) * rowMin(1366, 768)).toBeLessThanOrEqual(rowsArea(1366, 768));
  });

  it("keeps a row as tall as its score (bars shrink, text does not)", () => {
    expect(rowMin(1366, 768)).toBeGreaterThanOrEqual(pxAt(SIZES.score, 1366, 768));
  });

  it("always shows at least one row, even in a tiny window", () => {
    expect(rowsPerPage(300, 120)).toBe(1);
  });

  it("splits 23 rows of 18 a page into two pages, the second with 5", () => {
    const rows = Array.from({ length: 23 }, (_, i) => i);
    expect(pageCount(23, 18)).toBe(2);
    expect(pageCount(0, 18)).toBe(1);
    expect(pageRows(rows, 1, 18)).toEqual([18, 19, 20, 21, 22]);
    expect(pageOf(17, 18)).toBe(0);
    expect(pageOf(18, 18)).toBe(1);
  });
});

describe("bar scale", () => {
  it("starts 5 points below the lowest score rounded down, so close scores differ visibly", () => {
    expect(scaleStart([92.5, 88.17, 85.4])).toBe(80);
    expect(barFraction(92.5, 80, 92.5)).toBe(1);
    expect(barFraction(85.4, 80, 92.5)).toBeCloseTo(5.4 / 12.5);
  });

  it("never starts below 0 and gives the last place a visible bar", () => {
    expect(scaleStart([3, 40])).toBe(0);
    expect(scaleStart([])).toBe(0);
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 100, noNaN: true }), { minLength: 1, maxLength: 30 }), (scores) => {
        const start = scaleStart(scores);
        const top = Math.max(...scores);
        for (const s of scores) {
          const f = barFraction(s, start, top);
          expect(f).toBeGreaterThanOrEqual(0);
          expect(f).toBeLessThanOrEqual(1);
          if (top > start && Math.min(...scores) >= 5) expect(f).toBeGreaterThan(0);
        }
      }),
    );
  });

  it("draws equal scores as full bars", () => {
    expect(barFraction(90, 90, 90)).toBe(1);
  });
});

function row(name: string, rank: number | null, score: number | null, band: string | null = null, reason: string | null = null): ResultRow {
  return {
    township_id: `t-${name}`,
    name,
    inspection: score,
    organiser_adjustment_tenths: 0,
    routine: null,
    final_score: score,
    rank,
    shared_rank: false,
    band,
    unranked_reason: reason,
    arithmetic: "",
    standing: {} as Standing,
  };
}

describe("reveal", () => {
  it("reveals from the bottom: last place first, first place last", () => {
    expect(revealOrder(4)).toEqual([3, 2, 1, 0]);
    expect([0, 1, 2, 3].filter((i) => isRevealed(i, 4, 1))).toEqual([3]);
    expect([0, 1, 2, 3].filter((i) => isRevealed(i, 4, 3))).toEqual([1, 2, 3]);
    expect(revealCounter(5, 11)).toBe("已揭晓 5 / 11");
  });

  it("opens a group in 逐名揭晓 with its last place alone, on the last page", () => {
    const shape = { counts: [23], perPage: 18 };
    expect(enterGroup(0, "step", shape)).toEqual({ group: 0, page: 1, mode: "step", revealed: 1 });
    expect(enterGroup(0, "all", shape)).toEqual({ group: 0, page: 0, mode: "all", revealed: 23 });
  });

  it("steps through every place, turning back to page 1 for the top, then to the next group", () => {
    const shape = { counts: [20, 3], perPage: 18 };
    let v: View = enterGroup(0, "step", shape);
    const pages = [v.page];
    for (let i = 1; i < 20; i++) {
      v = forward(v, shape);
      pages.push(v.page);
    }
    expect(v.revealed).toBe(20);
    // Places 20 and 19 are on page 2; 18th place onwards on page 1.
    expect(pages.slice(0, 3)).toEqual([1, 1, 0]);
    v = forward(v, shape);
    expect(v).toEqual({ group: 1, page: 0, mode: "step", revealed: 1 });
    v = forward(forward(forward(v, shape), shape), shape);
    expect(v).toEqual({ group: 1, page: 0, mode: "step", revealed: 3 });
  });

  it("turns pages, then groups, forward and back when all is shown; stops at either end", () => {
    const shape = { counts: [20, 3], perPage: 18 };
    let v = enterGroup(0, "all", shape);
    expect(back(v, shape)).toEqual(v);
    v = forward(v, shape);
    expect(v).toMatchObject({ group: 0, page: 1 });
    v = forward(v, shape);
    expect(v).toMatchObject({ group: 1, page: 0, revealed: 3 });
    expect(forward(v, shape)).toEqual(v);
    expect(back(v, shape)).toMatchObject({ group: 0, page: 0 });
  });
});

describe("groups", () => {
  it("bars the ranked rows and lists the unranked small", () => {
    const g: GroupResults = { name: "乡镇组", bands: [], rows: [row("柏坊镇", 1, 90), row("水口山镇", null, null, null, "尚无已提交的评分表")] };
    const { ranked, unranked } = splitRows(g);
    expect(ranked.map((r) => r.name)).toEqual(["柏坊镇"]);
    expect(unranked.map((r) => r.unranked_reason)).toEqual(["尚无已提交的评分表"]);
    expect(groupTitle("乡镇组")).toBe("乡镇组 · 综合成绩排名");
    expect(eventName("2024年度下半年乡镇(街道)工作现场观摩会评分表")).toBe("2024年度下半年乡镇(街道)工作现场观摩会");
    expect(eventName("常宁市观摩会")).toBe("常宁市观摩会");
  });

  it("colours a band by its place among the group's bands", () => {
    const bands = [
      { label: "表扬", rule: { kind: "top" as const, from: 1, to: 1 } },
      { label: "表态发言", rule: { kind: "bottom" as const, count: 1 } },
    ];
    expect(bandTone("表扬", bands)).toBe(0);
    expect(bandTone("表态发言", bands)).toBe(1);
    expect(bandTone(null, bands)).toBeNull();
    expect(bandTone("其他", bands)).toBe(3);
  });
});
