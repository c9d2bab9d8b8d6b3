//! Pure helpers for the ranking view: number formats, status wording, rule editing and audit
//! labels. The backend computes every result and validates every rule; these only present.
import type { AggregationRule, AuditEntry, GroupWeight, Rubric, Standing, TieBreak } from "../../ipc";

/** "85.33": two decimals, "—" when absent. */
export function fmt2(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? "—" : noNegativeZero(n.toFixed(2));
}

/** "0.532": three decimals (z-scores), "—" when absent. */
export function fmt3(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? "—" : noNegativeZero(n.toFixed(3));
}

/** "-0.00" (a tiny negative rounded away) reads as "0.00". */
function noNegativeZero(s: string): string {
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}

/** Why a township has no rank, in the organiser's words; null when ranked. */
export function statusText(s: Standing): string | null {
  switch (s.status.kind) {
    case "ranked":
      return null;
    case "no_sheets":
      return "暂无评分";
    case "too_few_sheets": {
      const { have, need, group } = s.status;
      return `评分不足:已有${have}份,需要${need}份${group ? `(${group}组)` : ""}`;
    }
    case "embargoed":
      return `封存中:已提交${s.status.submitted}/${s.status.expected}`;
  }
}

/** "3" or "3(并列)" for the rank cell. */
export function rankText(s: Standing): string {
  if (s.rank === null) return "—";
  return s.shared_rank ? `${s.rank}(并列)` : String(s.rank);
}

/** Sum of group weights in hundredths, so 33.33 + 33.33 + 33.34 is exactly 100. */
export function weightSum(weights: readonly GroupWeight[]): number {
  return weights.reduce((acc, w) => acc + (Number.isFinite(w.weight_percent) ? Math.round(w.weight_percent * 100) : 0), 0) / 100;
}

/** Weighted blending needs weights summing to 100; an empty list means every sheet is pooled. */
export function weightsOk(weights: readonly GroupWeight[]): boolean {
  return weights.length === 0 || Math.round(weightSum(weights) * 100) === 10000;
}

export function tieBreakLabel(t: TieBreak): string {
  return t.kind === "untrimmed_mean" ? UNTRIMMED_LABEL : `${t.category_name}小计`;
}

/** Column names in plain words (screen and paper). */
export const TRIMMED_LABEL = "评委平均分(按计分规则)";
export const ADJUSTMENT_LABEL = "加减分(平均)";
export const UNTRIMMED_LABEL = "全部评委平均分(不去分)";

/** How final the standings are: sheets submitted of those expected, and townships still short. */
export type Completeness = { submitted: number; expected: number; townshipsShort: number; final: boolean };

export function completeness(rows: readonly { submitted: number; expected: number }[]): Completeness {
  const submitted = rows.reduce((a, r) => a + r.submitted, 0);
  const expected = rows.reduce((a, r) => a + r.expected, 0);
  const townshipsShort = rows.filter((r) => r.submitted < r.expected).length;
  return { submitted, expected, townshipsShort, final: expected > 0 && townshipsShort === 0 };
}

/** "临时排名 · 截至 2024-12-04 09:30 · 已提交 40/66 份 · 12个乡镇(街道)未交齐" — on screen and on paper. */
export function completenessText(c: Completeness, at: string): string {
  const head = c.final ? "最终排名(评分表已全部提交)" : "临时排名";
  const parts = [head, `截至 ${at}`, `已提交 ${c.submitted}/${c.expected} 份`];
  if (!c.final && c.townshipsShort > 0) parts.push(`${c.townshipsShort}个乡镇(街道)未交齐`);
  return parts.join(" · ");
}

function sameTieBreak(a: TieBreak, b: TieBreak): boolean {
  if (a.kind === "untrimmed_mean" || b.kind === "untrimmed_mean") return a.kind === b.kind;
  return a.category_id === b.category_id;
}

/** Appends `t` unless it is already listed (each tie-break is compared once). */
export function addTieBreak(list: readonly TieBreak[], t: TieBreak): TieBreak[] {
  return list.some((x) => sameTieBreak(x, t)) ? [...list] : [...list, t];
}

export function removeTieBreak(list: readonly TieBreak[], index: number): TieBreak[] {
  return list.filter((_, i) => i !== index);
}

/** Moves the tie-break at `index` by `delta` places; unchanged copy at either end. */
export function moveTieBreak(list: readonly TieBreak[], index: number, delta: number): TieBreak[] {
  const next = [...list];
  const target = index + delta;
  if (index < 0 || index >= next.length || target < 0 || target >= next.length) return next;
  const [item] = next.splice(index, 1);
  next.splice(target, 0, item);
  return next;
}

/** Tie-breaks that can still be added: each rubric category's subtotal, then the untrimmed mean. */
export function tieBreakOptions(rubric: Rubric | null, chosen: readonly TieBreak[]): TieBreak[] {
  const all: TieBreak[] = [
    ...(rubric?.categories ?? [])
      .filter((c) => c.id !== null)
      .map((c): TieBreak => ({ kind: "category_subtotal", category_id: c.id as string, category_name: c.name })),
    { kind: "untrimmed_mean" },
  ];
  return all.filter((t) => !chosen.some((c) => sameTieBreak(c, t)));
}

/** A plain copy safe to send: numbers that inputs left empty become 0 for the backend to judge. */
export function normalizeRule(r: AggregationRule): AggregationRule {
  const num = (n: unknown) => (typeof n === "number" && Number.isFinite(n) ? n : 0);
  return {
    trim_k: Math.trunc(num(r.trim_k)),
    group_weights: r.group_weights.map((g) => ({ group: g.group.trim(), weight_percent: num(g.weight_percent) })),
    normalize: r.normalize,
    tie_breaks: r.tie_breaks.map((t) => ({ ...t })),
    embargo: r.embargo,
  };
}

/** What an audit line is about: the criterion or bonus/penalty item name, or the event. */
export function auditItemLabel(e: AuditEntry, rubric: Rubric | null): string {
  switch (e.kind) {
    case "criterion": {
      for (const c of rubric?.categories ?? []) {
        const k = c.criteria.find((x) => x.id === e.item_id);
        if (k) return `${c.name} › ${k.name}`;
      }
      return "评分细则(已删除的项目)";
    }
    case "adjustment": {
      const a = rubric?.adjustments.find((x) => x.id === e.item_id);
      return a ? `加减分项 › ${a.name}` : "加减分项";
    }
    case "comment":
      return "总体评价";
    case "submit":
      return "提交";
    case "unlock":
      return "解锁";
  }
}

/** "8 → 9", "(空) → 9", or "" when the entry carries no values. */
export function auditChange(e: AuditEntry): string {
  if (e.old_value === null && e.new_value === null) return "";
  const show = (v: string | null) => (v === null || v === "" ? "(空)" : v);
  return `${show(e.old_value)} → ${show(e.new_value)}`;
}

/** Tenths as signed points, such as `+1.0` or `-2.5` (0 prints as `0.0`). */
export function signedPoints(tenths: number): string {
  const v = (tenths / 10).toFixed(1);
  return tenths > 0 ? `+${v}` : v;
}

/** A band rule in words, as the backend prints it: 第1–3名, 倒数3名, 90分及以上. */
export function bandRuleText(rule: import("../../ipc").BandRule): string {
  switch (rule.kind) {
    case "top":
      return rule.from === rule.to ? `第${rule.from}名` : `第${rule.from}–${rule.to}名`;
    case "bottom":
      return `倒数${rule.count}名`;
    case "at_least":
      return `${rule.score}分及以上`;
  }
}
