//! The paper copy of one scorer's sheet for one township (评分表打印件), the record officials
//! sign. It is shaped from the sheet as the backend stored it, never from what is being typed,
//! so the paper says what the hub will count; a draft says so on its face.
import type { Rubric, Scorer, Sheet } from "../../ipc";
import { beijingDateTime } from "../moderation/moderation";
import { formatPoints, tenths } from "../rubric/rubric";
import { groupAndUnit, markText, markedCount, sheetTotal, totalText } from "./scoring";

export type PrintedCriterion = { name: string; max: string; points: string; note: string };

export type PrintedCategory = {
  /** "1. 基层党建". */
  label: string;
  max: string;
  criteria: PrintedCriterion[];
  /** Sum of the stored marks in the category; blank while none is marked. */
  subtotal: string;
};

export type PrintedAdjustment = {
  /** "加分 · 获市级以上表彰". */
  label: string;
  /** "+2" / "−5". */
  limit: string;
  /** Signed as it counts: "+1.5" / "−3"; blank when not entered. */
  points: string;
  note: string;
};

export type PrintedSheet = {
  title: string;
  /** "第2站 · 泉峰街道" (the name alone without a stop number). */
  township: string;
  scorer: string;
  group: string;
  draft: boolean;
  /** "已提交(2024-12-04 10:00 北京时间)" or "草稿,未提交". */
  status: string;
  categories: PrintedCategory[];
  /** Stated maximum of the criteria (usually 100). */
  maxTotal: string;
  baseTotal: string;
  adjustments: PrintedAdjustment[];
  /** Net bonus minus penalty, signed: "+2", "-3", "0". */
  adjustmentTotal: string;
  total: string;
  /** "总分 86.5 = 细则 84.5 + 加减分 2". */
  totalText: string;
  comment: string;
  /** "打印时间 2024-12-04 10:05(北京时间) · 共18项,已评17项". */
  footer: string;
};

export const DRAFT_MARK = "草稿,未提交";
export const SIGNATURE_LINE = "评分人签字:________________";
export const DATE_LINE = "日期:____年__月__日";

/** A stored magnitude with the sign its item gives it; blank for none. */
function signed(points: number | null | undefined, kind: "bonus" | "penalty"): string {
  const text = markText(points);
  if (text === "" || text === "0") return text;
  return `${kind === "bonus" ? "+" : "−"}${text}`;
}

/**
 * The printed rows of `sheet` (as stored) under `rubric`: every criterion with its stored mark
 * (blank when none), category subtotals, the 加减分项, the backend's totals, the status (a draft
 * is marked 草稿,未提交) and the footer with the print time in Beijing time.
 */
export function printedSheet(input: {
  rubric: Rubric;
  sheet: Sheet;
  scorer: Pick<Scorer, "name" | "group"> & { work_unit?: string };
  township: string;
  stop: number | null;
  printedAt: Date;
}): PrintedSheet {
  const { rubric, sheet, scorer, township, stop, printedAt } = input;
  const marks = new Map(sheet.marks.map((m) => [m.criterion_id, m]));
  const adjustments = new Map(sheet.adjustments.map((a) => [a.adjustment_id, a]));
  const draft = sheet.status !== "submitted";

  const categories = rubric.categories.map((category, ci): PrintedCategory => {
    let sum = 0;
    let marked = 0;
    const criteria = category.criteria.map((criterion): PrintedCriterion => {
      const mark = criterion.id === null ? undefined : marks.get(criterion.id);
      const points = mark?.points ?? null;
      if (points !== null) {
        sum += tenths(points);
        marked += 1;
      }
      return { name: criterion.name, max: formatPoints(criterion.max_points), points: markText(points), note: mark?.note ?? "" };
    });
    return {
      label: `${ci + 1}. ${category.name}`,
      max: formatPoints(category.max_points),
      criteria,
      subtotal: marked > 0 ? formatPoints(sum / 10) : "",
    };
  });

  const printedAdjustments = rubric.adjustments.map((adj): PrintedAdjustment => {
    const stored = adj.id === null ? undefined : adjustments.get(adj.id);
    const sign = adj.kind === "bonus" ? "+" : "−";
    return {
      label: `${adj.kind === "bonus" ? "加分" : "减分"} · ${adj.name}`,
      limit: `${sign}${formatPoints(adj.limit_points)}`,
      points: signed(stored?.points, adj.kind),
      note: stored?.note ?? "",
    };
  });

  const submittedAt = beijingDateTime(sheet.submitted_at);
  const counts = markedCount(rubric, sheet);
  const printed = beijingDateTime(printedAt.toISOString());
  return {
    title: rubric.title,
    township: stop === null ? township : `第${stop}站 · ${township}`,
    scorer: scorer.name,
    group: groupAndUnit(scorer),
    draft,
    status: draft ? DRAFT_MARK : submittedAt === "" ? "已提交" : `已提交(${submittedAt} 北京时间)`,
    categories,
    maxTotal: formatPoints(rubric.total_points),
    baseTotal: formatPoints(sheet.base_total),
    adjustments: printedAdjustments,
    adjustmentTotal: `${tenths(sheet.adjustment_total) > 0 ? "+" : ""}${formatPoints(sheet.adjustment_total)}`,
    total: formatPoints(sheetTotal(sheet)),
    totalText: totalText(sheet),
    comment: sheet.comment.trim(),
    footer: `打印时间 ${printed}(北京时间) · 共${counts.total}项,已评${counts.marked}项`,
  };
}
