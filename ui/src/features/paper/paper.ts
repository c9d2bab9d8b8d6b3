//! Pure helpers of 纸质评分表录入 (双人录入): choosing a sheet by typing, the column of 得分
//! fields in rubric order with its running total, the round a sheet needs next, the status
//! words. The backend checks everything again; it alone compares the two entries.
import type { PaperCorrection, PaperInput, PaperSheetStatus, PaperState, Rubric } from "../../ipc";
import { checkMark } from "../scoring/scoring";

/** One field of the paper form: a criterion (required) or a 加减分项 (may stay blank). */
export interface PaperField {
  kind: "criterion" | "adjustment";
  id: string;
  /** 「基层党建 › 组织体系建设」 */
  name: string;
  max: number;
  required: boolean;
  /** For a 加减分项: −1 for a penalty (the running total subtracts it). */
  sign: 1 | -1;
}

/** The rubric's fields in the order the paper sheet prints them. */
export function paperFields(rubric: Rubric): PaperField[] {
  return [
    ...rubric.categories.flatMap((c) =>
      c.criteria.map((k) => ({ kind: "criterion" as const, id: k.id ?? "", name: `${c.name} › ${k.name}`, max: k.max_points, required: true, sign: 1 as const })),
    ),
    ...rubric.adjustments.map((a) => ({
      kind: "adjustment" as const,
      id: a.id ?? "",
      name: `加减分项 › ${a.name}`,
      max: a.limit_points,
      required: false,
      sign: a.kind === "penalty" ? (-1 as const) : (1 as const),
    })),
  ];
}

/** Why a field's text cannot be sent, or null. */
export function fieldProblem(field: PaperField, text: string): string | null {
  const c = checkMark(text, field.max, field.required ? "分值" : "上限");
  if (!c.ok) return c.message;
  if (c.value === null && field.required) return "未填写";
  return null;
}

/** The running total of what is typed so far (invalid or blank fields count 0), in points. */
export function runningTotal(fields: PaperField[], texts: readonly string[]): number {
  let tenths = 0;
  fields.forEach((f, i) => {
    const c = checkMark(texts[i] ?? "", f.max);
    if (c.ok && c.value !== null) tenths += f.sign * Math.round(c.value * 10);
  });
  return tenths / 10;
}

/** The input as sent: every criterion, the 加减分项 that were filled, the comment. */
export function buildInput(fields: PaperField[], texts: readonly string[], comment: string): PaperInput {
  const value = (i: number) => {
    const c = checkMark(texts[i] ?? "", fields[i].max);
    return c.ok ? c.value : null;
  };
  return {
    marks: fields.flatMap((f, i) => (f.kind === "criterion" ? [{ item_id: f.id, points: value(i) }] : [])),
    adjustments: fields.flatMap((f, i) => (f.kind === "adjustment" && value(i) !== null ? [{ item_id: f.id, points: value(i) }] : [])),
    comment,
  };
}

/** The round a sheet needs next: 1, 2, or null when both are in (or it is counted). */
export function nextRound(s: PaperSheetStatus): 1 | 2 | null {
  if (s.state === "counted" || s.state === "scored_elsewhere") return null;
  if (!s.first) return 1;
  if (!s.second) return 2;
  return null;
}

export const STATE_LABELS: Record<PaperState, string> = {
  not_entered: "未录入",
  one_entered: "一录完成",
  awaiting_check: "二录完成·待核对",
  mismatch: "不一致",
  counted: "已一致·已计入",
  scored_elsewhere: "已在评分电脑填写",
};

/** 「不一致(2项)」, 「一录完成」… */
export function stateLabel(s: PaperSheetStatus): string {
  if (s.state === "mismatch") return `不一致(${s.mismatch_count}项)`;
  if (s.state === "one_entered" && !s.first) return "二录完成·待一录";
  return STATE_LABELS[s.state];
}

/** The sheets still to enter or settle whose scorer, group or township contains `query`. */
export function matchSheets(rows: readonly PaperSheetStatus[], query: string, limit = 8): PaperSheetStatus[] {
  const q = query.trim().toLowerCase();
  const open = rows.filter((r) => r.state !== "counted" && r.state !== "scored_elsewhere");
  if (q === "") return open.slice(0, limit);
  const terms = q.split(/\s+/);
  return open.filter((r) => terms.every((t) => `${r.scorer_name} ${r.group} ${r.township_name}`.toLowerCase().includes(t))).slice(0, limit);
}

/** A row's key, for test ids and lookups. */
export function rowKey(s: { scorer_id: string; township_id: string }): string {
  return `${s.scorer_id}/${s.township_id}`;
}

/**
 * The corrections for a settled row: the value on the paper for both rounds, or for the one
 * round chosen. A comment row sends its text.
 */
export function correctionFor(
  d: { kind: "criterion" | "adjustment" | "comment"; item_id: string | null },
  text: string,
  max: number,
): PaperCorrection | string {
  if (d.kind === "comment") return { kind: "comment", item_id: null, points: null, comment: text };
  const c = checkMark(text, max);
  if (!c.ok) return c.message;
  if (c.value === null && d.kind === "criterion") return "请填写纸质表上的得分";
  return { kind: d.kind, item_id: d.item_id, points: c.value, comment: "" };
}
