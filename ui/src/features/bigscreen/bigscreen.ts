//! Pure rules of the 大屏 (the results projected at the 总结会): type sizes that scale with the
//! screen but never fall below what reads from the back of a hall, how many rows fit, where the
//! bars start, and the order places are revealed in (last place first). The backend ranks; these
//! only lay out what `get_results` returned.
import type { Band, GroupResults, ResultRow } from "../../ipc";

/** A type size `clamp(min, vmin, max)`: grows with the smaller side of the screen. */
export type Size = { minPx: number; vmin: number; maxPx: number };

/**
 * Township names ≥ 28 px at 1366×768 and ≥ 36 px at 1920×1080; scores ≥ 32 / 40 px. vmin, not
 * vw: a 16:9 projector's height is the tight side, and a narrow window must not shrink them.
 */
export const SIZES = {
  title: { minPx: 30, vmin: 4.2, maxPx: 80 },
  name: { minPx: 28, vmin: 3.4, maxPx: 64 },
  score: { minPx: 32, vmin: 3.8, maxPx: 72 },
  rank: { minPx: 32, vmin: 3.8, maxPx: 72 },
  tag: { minPx: 20, vmin: 2.4, maxPx: 44 },
  small: { minPx: 14, vmin: 1.7, maxPx: 30 },
  pad: { minPx: 8, vmin: 1.2, maxPx: 28 },
} satisfies Record<string, Size>;

export type SizeName = keyof typeof SIZES;

/** The CSS for a size, such as `clamp(28px, 3.4vmin, 64px)`. */
export function cssSize(s: Size): string {
  return `clamp(${s.minPx}px, ${s.vmin}vmin, ${s.maxPx}px)`;
}

/** What the CSS of `s` computes to on a `width`×`height` screen, in px. */
export function pxAt(s: Size, width: number, height: number): number {
  const vmin = Math.min(width, height) / 100;
  return Math.min(s.maxPx, Math.max(s.minPx, s.vmin * vmin));
}

/** Every size in px on a `width`×`height` screen. */
export function sizesAt(width: number, height: number): Record<SizeName, number> {
  const out = {} as Record<SizeName, number>;
  for (const k of Object.keys(SIZES) as SizeName[]) out[k] = pxAt(SIZES[k], width, height);
  return out;
}

/**
 * Heights of the parts around the rows, as multiples of a size; the component's CSS uses the
 * same factors (`calc(var(--title) * HEADER_LINES)` and so on), so the count of rows that fit
 * is computed from what is drawn.
 */
export const HEADER_LINES = 1.3;
export const FOOTER_LINES = 2.8;
/** A row is no lower than its tallest text (the score) times this; bars shrink, text does not. */
export const ROW_MIN_LINES = 1.06;
/** …and no taller than this, so a group of four does not get giant bars. */
export const ROW_MAX_LINES = 2.4;

/** The px left for the rows on a `width`×`height` screen: the window less padding, header and footer. */
export function rowsArea(width: number, height: number): number {
  const s = sizesAt(width, height);
  return height - 4 * s.pad - s.title * HEADER_LINES - s.small * FOOTER_LINES;
}

/** The lowest a row may be, in px. */
export function rowMin(width: number, height: number): number {
  const s = sizesAt(width, height);
  return Math.max(s.score, s.rank, s.name) * ROW_MIN_LINES;
}

/** How many ranked rows one page shows on a `width`×`height` screen (at least 1). */
export function rowsPerPage(width: number, height: number): number {
  return Math.max(1, Math.floor(rowsArea(width, height) / rowMin(width, height)));
}

/** Pages needed for `count` rows. */
export function pageCount(count: number, perPage: number): number {
  return Math.max(1, Math.ceil(count / Math.max(1, perPage)));
}

/** The page that shows row `index` (0 = first place). */
export function pageOf(index: number, perPage: number): number {
  return Math.floor(Math.max(0, index) / Math.max(1, perPage));
}

/** The rows of page `page`. */
export function pageRows<T>(rows: readonly T[], page: number, perPage: number): T[] {
  const n = Math.max(1, perPage);
  return rows.slice(page * n, page * n + n);
}

/**
 * Where the bars start: scores of a tour cluster between 80 and 95, and bars from 0 would all
 * look alike; so the scale starts 5 points below the lowest score rounded down (never below 0),
 * which keeps the last place's bar visible and the differences readable. The start is printed
 * on the screen (条长起点) so nobody reads the bars as proportional to the whole score.
 */
export function scaleStart(scores: readonly number[]): number {
  const finite = scores.filter(Number.isFinite);
  if (finite.length === 0) return 0;
  return Math.max(0, Math.floor(Math.min(...finite)) - 5);
}

/** A bar's length as a fraction of the longest (the best score's), in [0, 1]. */
export function barFraction(score: number, start: number, top: number): number {
  if (!Number.isFinite(score)) return 0;
  if (top <= start) return 1;
  return Math.min(1, Math.max(0, (score - start) / (top - start)));
}

/** A group split into what gets a bar (ranked, in rank order) and what is listed small. */
export type Split = { ranked: ResultRow[]; unranked: ResultRow[] };

export function splitRows(g: GroupResults): Split {
  const isRanked = (r: ResultRow) => r.rank !== null && r.final_score !== null;
  return { ranked: g.rows.filter(isRanked), unranked: g.rows.filter((r) => !isRanked(r)) };
}

/** Whether ranked row `index` of `count` is on screen when `revealed` places are out (from the bottom). */
export function isRevealed(index: number, count: number, revealed: number): boolean {
  return index >= count - revealed;
}

/** Indexes of the ranked rows in the order they are revealed: last place first. */
export function revealOrder(count: number): number[] {
  return Array.from({ length: count }, (_, i) => count - 1 - i);
}

/** "已揭晓 5 / 11". */
export function revealCounter(revealed: number, count: number): string {
  return `已揭晓 ${Math.min(revealed, count)} / ${count}`;
}

/** What the screen shows: which group, which page of it, and how much is revealed. */
export type View = { group: number; page: number; mode: "all" | "step"; revealed: number };

/** How many ranked rows each group has, and how many a page holds. */
export type Shape = { counts: readonly number[]; perPage: number };

/** A group as it opens: page 1 with everything, or (逐名揭晓) the last place alone, on its page. */
export function enterGroup(group: number, mode: View["mode"], shape: Shape): View {
  const count = shape.counts[group] ?? 0;
  if (mode === "all") return { group, page: 0, mode, revealed: count };
  const revealed = Math.min(1, count);
  return { group, page: pageOf(count - revealed, shape.perPage), mode, revealed };
}

/**
 * Space, →, PageDown (a clicker's "next"): reveals the next place while some are hidden, else
 * turns the page (all shown), else opens the next group; stays put on the last.
 */
export function forward(v: View, shape: Shape): View {
  const count = shape.counts[v.group] ?? 0;
  if (v.mode === "step" && v.revealed < count) {
    const revealed = v.revealed + 1;
    return { ...v, revealed, page: pageOf(count - revealed, shape.perPage) };
  }
  if (v.mode === "all" && v.page < pageCount(count, shape.perPage) - 1) return { ...v, page: v.page + 1 };
  if (v.group < shape.counts.length - 1) return enterGroup(v.group + 1, v.mode, shape);
  return v;
}

/** ←, PageUp: the previous page (all shown), else the previous group; stays put on the first. */
export function back(v: View, shape: Shape): View {
  if (v.mode === "all" && v.page > 0) return { ...v, page: v.page - 1 };
  if (v.group > 0) return enterGroup(v.group - 1, v.mode, shape);
  return v;
}

/** The colour of a band tag: its place among the group's bands (0 gold, 1 white, 2 green, 3 grey…). */
export function bandTone(label: string | null, bands: readonly Band[]): number | null {
  if (label === null) return null;
  const i = bands.findIndex((b) => b.label === label);
  return i < 0 ? 3 : i % 4;
}

/** "乡镇组 · 综合成绩排名". */
export function groupTitle(name: string): string {
  return `${name} · 综合成绩排名`;
}

/** The event's name from the rubric's title: "…观摩会评分表" reads "…观摩会" on a results screen. */
export function eventName(rubricTitle: string): string {
  return rubricTitle.trim().replace(/(评分表|评分细则|评分标准)$/, "");
}
