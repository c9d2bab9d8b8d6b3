//! Pure helpers for scoring: mark checks, totals, labels and the per-field save queue. The
//! checks mirror the backend's `check_points` so a value is sent only once it is valid (the
//! save rule is in `markInput.ts`); the backend still checks every value it gets, and its
//! refusals are what count.
import type { Delivery, Rubric, ScoringBoard, ScoringState, Sheet, SheetCell, SheetProgress, Township, TownshipScoring } from "../../ipc";
import { formatPoints, tenths } from "../rubric/rubric";

export const GROUP_CITY_LEADER = "市领导";
export const GROUP_TOWNSHIP_HEAD = "乡镇(街道)党政主要负责人";
export const GROUP_SUGGESTIONS = [GROUP_CITY_LEADER, GROUP_TOWNSHIP_HEAD];

export const STATE_LABELS: Record<ScoringState, string> = {
  not_open: "未开始",
  open: "评分中",
  closed: "已结束",
};

/** Beijing is UTC+8 all year: the tour's times are shown as they are there. */
const BEIJING_MS = 8 * 3600 * 1000;

/** Today's date in Beijing, "YYYY-MM-DD". */
export function beijingDate(now: Date): string {
  return new Date(now.getTime() + BEIJING_MS).toISOString().slice(0, 10);
}

/**
 * When a township opens by the schedule, from the board's `opens_at` (RFC 3339 in Beijing time,
 * "2026-12-05T09:30:00+08:00"): "09:30" on the day itself, "12月5日 09:30" before it.
 */
export function opensText(opensAt: string, now: Date): string {
  const date = opensAt.slice(0, 10);
  const time = opensAt.slice(11, 16);
  if (date === beijingDate(now)) return time;
  const [, m, d] = date.split("-").map(Number);
  return `${m}月${d}日 ${time}`;
}

/**
 * A township's scoring state as the board and the scorer's list show it: 手动开放 when the
 * organiser opened it by hand, 按日程·已开放 when the schedule opened it, 按日程·HH:MM开放 before
 * its scheduled arrival, 已结束 when closed (by hand, or the tour day is over), 未开始 when it
 * has no schedule and was not opened.
 */
export function stateLabel(t: Pick<TownshipScoring, "state" | "by_schedule" | "opens_at">, now: Date): string {
  switch (t.state) {
    case "open":
      return t.by_schedule ? "按日程·已开放" : "手动开放";
    case "closed":
      return STATE_LABELS.closed;
    case "not_open":
      return t.by_schedule && t.opens_at ? `按日程·${opensText(t.opens_at, now)}开放` : STATE_LABELS.not_open;
  }
}

/** A 观摩日期 as typed: "" (not set) or a real calendar date "YYYY-MM-DD"; the message when not. */
export function tourDateProblem(value: string): string | null {
  const v = value.trim();
  if (v === "") return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null;
  if (!d || d.toISOString().slice(0, 10) !== v) return "观摩日期应为 YYYY-MM-DD,例如 2026-12-04";
  return null;
}

export type MarkCheck = { ok: true; value: number | null } | { ok: false; message: string };

/**
 * What a scorer typed into a 得分 field: empty is "no mark" (null); otherwise a number from 0 to
 * `max` with at most one decimal. Full-width digits and a full stop (８．５, 8。5) are read as
 * typed on Chinese input methods; a trailing dot is accepted ("8." is 8). The messages are short
 * enough for the narrow 得分 column and say what to fix; `limitWord` names the column the limit
 * is in (分值 for criteria, 上限 for 加减分项).
 */
export function checkMark(raw: string, max: number, limitWord = "分值"): MarkCheck {
  const s = toHalfWidth(raw).trim();
  if (s === "") return { ok: true, value: null };
  const m = /^([+-]?)(\d+\.?\d*|\.\d+)$/.exec(s);
  if (!m) return { ok: false, message: s.startsWith("-") ? "不能为负数" : "请输入数字" };
  const value = Number(s);
  if (!Number.isFinite(value)) return { ok: false, message: "请输入数字" };
  if (value < 0) return { ok: false, message: "不能为负数" };
  const decimals = m[2].includes(".") ? m[2].split(".")[1].replace(/0+$/, "").length : 0;
  if (decimals > 1) return { ok: false, message: "最多一位小数" };
  if (tenths(value) > tenths(max)) return { ok: false, message: `超过${limitWord}${formatPoints(max)}分` };
  // `|| 0` turns "-0" into 0.
  return { ok: true, value: tenths(value) / 10 || 0 };
}

function toHalfWidth(s: string): string {
  return s.replace(/[\uff10-\uff19\uff0e\u3002]/g, (c) => (c === "\uff0e" || c === "\u3002" ? "." : String.fromCharCode(c.charCodeAt(0) - 0xfee0)));
}

/** A stored mark as the input shows it: "" for none. */
export function markText(points: number | null | undefined): string {
  return points === null || points === undefined ? "" : formatPoints(points);
}

/** The sheet's total in tenths, so 84.5 + 2 never drifts. */
export function sheetTotal(sheet: Pick<Sheet, "base_total" | "adjustment_total">): number {
  return (tenths(sheet.base_total) + tenths(sheet.adjustment_total)) / 10;
}

/** "总分 86.5 = 细则 84.5 + 加减分 2" (a net penalty reads "+ 加减分 -3"). */
export function totalText(sheet: Pick<Sheet, "base_total" | "adjustment_total">): string {
  return `总分 ${formatPoints(sheetTotal(sheet))} = 细则 ${formatPoints(sheet.base_total)} + 加减分 ${formatPoints(sheet.adjustment_total)}`;
}

/** How many of the rubric's criteria have a mark on the sheet. */
export function markedCount(rubric: Rubric, sheet: Sheet): { marked: number; total: number } {
  const ids = new Set(sheet.marks.filter((m) => m.points !== null).map((m) => m.criterion_id));
  let marked = 0;
  let total = 0;
  for (const c of rubric.categories) {
    for (const k of c.criteria) {
      total += 1;
      if (k.id !== null && ids.has(k.id)) marked += 1;
    }
  }
  return { marked, total };
}

/** "14:05:09" in local time. */
export function clockTime(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** An RFC 3339 time as local "HH:MM:SS"; the text itself when it does not parse. */
export function clockOf(rfc3339: string | null): string {
  if (!rfc3339) return "";
  const d = new Date(rfc3339);
  return Number.isNaN(d.getTime()) ? rfc3339 : clockTime(d);
}

/** A township in a scorer's list, with that scorer's own sheet (null: the board has no row for them). */
export type SheetTownship = TownshipScoring & { code: string; current: boolean; mine: SheetCell | null };

/**
 * The board's townships for a scorer: the current open one first, then the rest in route order,
 * each with `scorerId`'s own sheet from the board's grid.
 */
export function townshipsForSheet(board: ScoringBoard, townships: readonly Township[], scorerId: string | null = null): SheetTownship[] {
  const codes = new Map(townships.map((t) => [t.id, t.code]));
  const cells = new Map((board.scorers.find((s) => s.scorer_id === scorerId)?.sheets ?? []).map((c) => [c.township_id, c]));
  const rows = [...board.townships]
    .sort((a, b) => a.position - b.position)
    .map((t) => ({
      ...t,
      code: codes.get(t.township_id) ?? t.township_id,
      current: t.township_id === board.current_township_id,
      mine: cells.get(t.township_id) ?? null,
    }));
  const current = rows.filter((r) => r.current);
  return [...current, ...rows.filter((r) => !r.current)];
}

/** A sheet's state as the organiser's grid shows it. */
export const SHEET_PROGRESS_LABELS: Record<SheetProgress, string> = {
  not_started: "未评",
  draft: "草稿",
  submitted: "已提交",
  recused: "回避",
};

export type SheetBadge = { label: string; tone: "none" | "draft" | "pending" | "done" | "recused" };

/**
 * A scorer's own sheet in their township list: 未评 / 草稿 / 已提交, and on a laptop that hands its
 * work to the hub, 已提交·待上传 until the hub confirmed the sheet's last change, then 已提交·已送达.
 */
export function mySheetBadge(cell: SheetCell | null, delivery: Delivery | null): SheetBadge {
  const state = cell?.state ?? "not_started";
  const label = SHEET_PROGRESS_LABELS[state];
  switch (state) {
    case "not_started":
      return { label, tone: "none" };
    case "draft":
      return { label, tone: "draft" };
    case "recused":
      return { label, tone: "recused" };
    case "submitted":
      if (!delivery?.to_hub) return { label, tone: "done" };
      return isPendingSheet(cell?.sheet_id ?? null, delivery)
        ? { label: `${label}·待上传`, tone: "pending" }
        : { label: `${label}·已送达`, tone: "done" };
  }
}

/** The hub has not confirmed this sheet's latest change (only on a laptop paired with a hub). */
export function isPendingSheet(sheetId: string | null, delivery: Delivery | null): boolean {
  return !!delivery?.to_hub && sheetId !== null && delivery.pending_sheet_ids.includes(sheetId);
}

/** The names of the scorers the board says have not submitted for a township, in registration order. */
export function missingNames(board: ScoringBoard, townshipId: string): string[] {
  const names = new Map(board.scorers.map((s) => [s.scorer_id, s.name]));
  const row = board.townships.find((t) => t.township_id === townshipId);
  return (row?.missing_scorer_ids ?? []).map((id) => names.get(id) ?? id);
}

/** A reason long enough for the backend (at least 2 characters after trimming). */
export function reasonProblem(reason: string): string | null {
  const n = [...reason.trim()].length;
  if (n < 2) return "请填写结束原因(至少2个字)";
  if (n > 1000) return "原因不能超过1000个字";
  return null;
}

/** Maps township id to code, so test ids can use the stable code. */
export function codeMap(townships: readonly Township[]): Map<string, string> {
  return new Map(townships.map((t) => [t.id, t.code]));
}

/**
 * Runs saves one at a time per key (a field), so they land in the order typed. While one runs,
 * later saves for the same key collapse into the newest: each job reads the field's current
 * value when it starts, so nothing typed is lost.
 */
export class SaveQueue {
  private running = new Map<string, Promise<void>>();
  private pending = new Map<string, () => Promise<void>>();

  get busy(): boolean {
    return this.running.size > 0;
  }

  save(key: string, job: () => Promise<void>): Promise<void> {
    if (this.running.has(key)) {
      this.pending.set(key, job);
      return this.running.get(key)!;
    }
    const run = async (first: () => Promise<void>) => {
      let next: (() => Promise<void>) | undefined = first;
      while (next) {
        try {
          await next();
        } catch {
          // Jobs report their own errors; the queue only keeps order.
        }
        next = this.pending.get(key);
        this.pending.delete(key);
      }
      this.running.delete(key);
    };
    const p = run(job);
    this.running.set(key, p);
    return p;
  }

  /** Resolves once every queued save has finished. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running.values()]);
  }
}

/** Photos attached to a criterion as evidence (拍照留证), in the order attached. */
export function evidenceFor(sheet: Sheet, criterionId: string): string[] {
  return (sheet.evidence ?? []).filter((e) => e.criterion_id === criterionId).map((e) => e.hash);
}

/** Why an evidence photo is flagged (taken outside its township's scheduled time), or null:
 * "拍摄于 12月4日 11:52,不在本站时段 12月4日 08:30–09:10 内(晚 162 分钟)". Clocks drift, so
 * the photo stays attached; people judge. */
export function evidenceTimingNote(sheet: Sheet, criterionId: string, hash: string): string | null {
  const e = (sheet.evidence ?? []).find((x) => x.criterion_id === criterionId && x.hash === hash);
  const t = e?.timing;
  if (!t || t.kind !== "outside") return null;
  const off = t.minutes < 0 ? `早 ${-t.minutes} 分钟` : `晚 ${t.minutes} 分钟`;
  return `拍摄于 ${t.taken},不在本站时段 ${t.window} 内(${off})`;
}

/** "市领导 · 市委办公室": a scorer's group with their work unit (单位) when given. */
export function groupAndUnit(s: { group: string; work_unit?: string }): string {
  return s.work_unit ? `${s.group} · ${s.work_unit}` : s.group;
}
