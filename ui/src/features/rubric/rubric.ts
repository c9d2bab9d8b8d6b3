//! Pure helpers for the rubric editor: the sum display and list editing. Points have at most
//! one decimal, so sums are compared in tenths to avoid 0.1 + 0.2 style drift. The backend's
//! validate_rubric is the authority; these only give instant feedback. Once scoring has begun
//! the rubric is frozen (评分标准冻结): save_rubric refuses a change without a 修订原因, and the
//! editor says so before the user tries.
import type { Adjustment, Category, Criterion, Problem, Rubric } from "../../ipc";

export function tenths(n: number): number {
  return Math.round(n * 10);
}

/** "20", "12.5" — at most one decimal, no trailing zero. */
export function formatPoints(n: number): string {
  if (!Number.isFinite(n)) return "—";
  return String(tenths(n) / 10);
}

export type SumStatus = { sum: number; target: number; equal: boolean; text: string };

/** Sum of `parts` against `target`, labelled e.g. "细则合计 18 / 分值 20". */
export function sumStatus(parts: readonly number[], target: number, sumLabel: string, targetLabel: string): SumStatus {
  const sumTenths = parts.reduce((acc, p) => acc + (Number.isFinite(p) ? tenths(p) : 0), 0);
  const sum = sumTenths / 10;
  const equal = Number.isFinite(target) && sumTenths === tenths(target);
  return { sum, target, equal, text: `${sumLabel} ${formatPoints(sum)} / ${targetLabel} ${formatPoints(target)}` };
}

export function categoryStatus(category: Category): SumStatus {
  return sumStatus(
    category.criteria.map((c) => c.max_points),
    category.max_points,
    "细则合计",
    "分值",
  );
}

export function totalStatus(rubric: Rubric): SumStatus {
  return sumStatus(
    rubric.categories.map((c) => c.max_points),
    rubric.total_points,
    "合计",
    "总分",
  );
}

/** A copy of `items` with the one at `index` moved by `delta`; unchanged copy at either end. */
export function moveItem<T>(items: readonly T[], index: number, delta: number): T[] {
  const next = [...items];
  const target = index + delta;
  if (index < 0 || index >= next.length || target < 0 || target >= next.length) return next;
  const [item] = next.splice(index, 1);
  next.splice(target, 0, item);
  return next;
}

export function hasErrors(problems: readonly Problem[]): boolean {
  return problems.some((p) => p.severity === "error");
}

/** Empty number fields come back from inputs as null/undefined/NaN: send 0 so the backend can judge. */
function points(n: unknown): number {
  return typeof n === "number" && Number.isFinite(n) ? n : 0;
}

/** Shortest 修订原因 the backend accepts (guanmo_domain::scoring::MIN_REASON_CHARS). */
export const MIN_REASON_CHARS = 2;

/** What is wrong with the 修订原因 of a save, or null: only a frozen rubric needs one. */
export function changeReasonProblem(frozen: boolean, reason: string): string | null {
  if (!frozen) return null;
  return [...reason.trim()].length < MIN_REASON_CHARS ? `请填写修订原因(至少${MIN_REASON_CHARS}个字)` : null;
}

/** "第3版 · 修订原因:调整分值", or "" before the first save. */
export function versionText(r: Rubric): string {
  if (!r.version) return "";
  const reason = r.change_reason?.trim();
  return reason ? `第${r.version}版 · 修订原因:${reason}` : `第${r.version}版`;
}

/**
 * A plain, well-typed copy of the rubric's content, safe to send to the backend. The version,
 * the freeze and the last version's reason are left out: the backend sets the first two, and
 * each save gives its own reason (see `withChangeReason`).
 */
export function normalizeRubric(r: Rubric): Rubric {
  return {
    title: r.title,
    total_points: points(r.total_points),
    categories: r.categories.map((c) => ({
      id: c.id,
      name: c.name,
      max_points: points(c.max_points),
      criteria: c.criteria.map((k) => ({ id: k.id, name: k.name, max_points: points(k.max_points), guidance: k.guidance })),
    })),
    adjustments: r.adjustments.map((a) => ({
      id: a.id,
      name: a.name,
      kind: a.kind,
      limit_points: points(a.limit_points),
      guidance: a.guidance,
    })),
    // Which rubric this is: "" the shared one, else a 评比组's own.
    eval_group: r.eval_group ?? "",
  };
}

/** The rubric to save, with this save's 修订原因 (trimmed; empty when none was asked for). */
export function withChangeReason(r: Rubric, reason: string): Rubric {
  return { ...normalizeRubric(r), change_reason: reason.trim() };
}

export function newCriterion(): Criterion {
  return { id: null, name: "", max_points: 0, guidance: "" };
}

export function newCategory(): Category {
  return { id: null, name: "", max_points: 0, criteria: [newCriterion()] };
}

export function newAdjustment(): Adjustment {
  return { id: null, name: "", kind: "bonus", limit_points: 0, guidance: "" };
}
