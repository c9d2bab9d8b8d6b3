//! The save rule of the score sheet's 得分 (and 加减分) fields. Typing only changes a field's
//! text; the value is sent to be saved when the field is committed (Enter, ↓/↑, Tab, leaving the
//! field, or 提交) and only if the text is then a valid, complete mark. An invalid field keeps
//! the value saved before it, shows why in red, counts as not scored and blocks 提交. Pure
//! functions, so the rule is property-tested without the DOM (markInput.test.ts).
import type { Rubric } from "../../ipc";
import { checkMark, markText } from "./scoring";

/** One 得分 field of the sheet (a criterion) or one 分数 field (a 加减分项). */
export interface MarkSpec {
  /** "c:<criterion id>" or "a:<adjustment id>". */
  key: string;
  max: number;
  /** Criteria need a mark before 提交; a 加减分项 may stay empty. */
  required: boolean;
  /** The column the limit is in, for the message: 分值 (criteria) or 上限 (加减分项). */
  limitWord: string;
}

export interface MarkField {
  /** What the input shows. */
  text: string;
  /** The committed value: the one sent to be saved, or the stored one (null: no mark). */
  value: number | null;
  /** Why the text cannot be saved, shown in red; null when nothing is wrong. */
  error: string | null;
}

export type MarkEvent =
  /** The input's text changed (a key, a paste, a clear). Never saves. */
  | { type: "edit"; text: string }
  /** Enter, ↓/↑, Tab, leaving the field, or 提交. */
  | { type: "commit" }
  /** The backend's value (a sheet opened or reloaded). */
  | { type: "stored"; value: number | null }
  /** The backend refused a save: it still holds `stored`. */
  | { type: "refused"; message: string; stored: number | null };

export interface MarkStep {
  field: MarkField;
  /** What to send to the backend, if anything. */
  save: { value: number | null } | null;
}

export type Blocker = "empty" | "invalid";

export function emptyField(): MarkField {
  return { text: "", value: null, error: null };
}

export function storedField(value: number | null): MarkField {
  return { text: markText(value), value, error: null };
}

/** The fields of a rubric: its criteria (required), then its 加减分项 (optional). */
export function specsOf(rubric: Rubric): MarkSpec[] {
  return [
    ...rubric.categories.flatMap((c) => c.criteria.map((k) => ({ key: `c:${k.id ?? ""}`, max: k.max_points, required: true, limitWord: "分值" }))),
    ...rubric.adjustments.map((a) => ({ key: `a:${a.id ?? ""}`, max: a.limit_points, required: false, limitWord: "上限" })),
  ];
}

/**
 * Text a scorer is still typing that more keys can make valid ("." before "5"); it is not
 * called wrong until it is committed. Every other invalid text is wrong however it goes on
 * (more digits only make "10" bigger, a second decimal stays one too many), so it is red at once.
 */
export function isIncomplete(text: string): boolean {
  return /^\s*[+＋]?[.．。]?\s*$/.test(text) && text.trim() !== "";
}

function check(text: string, spec: MarkSpec) {
  return checkMark(text, spec.max, spec.limitWord);
}

/** The field after one event, and what to save. Only a commit of a valid text that changes the value saves. */
export function stepMark(field: MarkField, event: MarkEvent, spec: MarkSpec): MarkStep {
  switch (event.type) {
    case "edit": {
      const c = check(event.text, spec);
      const error = c.ok || isIncomplete(event.text) ? null : c.message;
      return { field: { text: event.text, value: field.value, error }, save: null };
    }
    case "commit": {
      const c = check(field.text, spec);
      if (!c.ok) return { field: { ...field, error: c.message }, save: null };
      const next = { text: markText(c.value), value: c.value, error: null };
      return { field: next, save: c.value === field.value ? null : { value: c.value } };
    }
    case "stored":
      return { field: storedField(event.value), save: null };
    case "refused":
      return { field: { text: field.text, value: event.stored, error: event.message }, save: null };
  }
}

/** Why a field keeps the sheet from being submitted: empty (criteria only) or invalid; null if it may go. */
export function blockerOf(field: MarkField, spec: MarkSpec): Blocker | null {
  if (field.error !== null) return "invalid";
  const c = check(field.text, spec);
  if (!c.ok) return "invalid";
  if (c.value === null) return spec.required ? "empty" : null;
  return null;
}

/** Typed text that is valid but not committed yet (it is saved on Enter, on leaving, or on 提交). */
export function isPending(field: MarkField, spec: MarkSpec): boolean {
  const c = check(field.text, spec);
  return field.error === null && c.ok && c.value !== field.value;
}

function fieldIn(fields: Readonly<Record<string, MarkField>>, key: string): MarkField {
  return fields[key] ?? emptyField();
}

/** Fields that block 提交, in sheet order. */
export function blockers(fields: Readonly<Record<string, MarkField>>, specs: readonly MarkSpec[]): { key: string; reason: Blocker }[] {
  const out: { key: string; reason: Blocker }[] = [];
  for (const spec of specs) {
    const reason = blockerOf(fieldIn(fields, spec.key), spec);
    if (reason) out.push({ key: spec.key, reason });
  }
  return out;
}

/** "已评 x/y": criteria whose text is a valid mark (an invalid one is not scored). */
export function scoredCount(fields: Readonly<Record<string, MarkField>>, specs: readonly MarkSpec[]): { scored: number; total: number } {
  const required = specs.filter((s) => s.required);
  return { scored: required.filter((s) => blockerOf(fieldIn(fields, s.key), s) === null).length, total: required.length };
}

/**
 * 提交, first step: commits every field (what was typed in the focused one counts), then says
 * what to save and what still blocks. The sheet may go to the confirm dialog only when
 * `blocked` is empty.
 */
export function prepareSubmit(
  fields: Readonly<Record<string, MarkField>>,
  specs: readonly MarkSpec[],
): { fields: Record<string, MarkField>; saves: { key: string; value: number | null }[]; blocked: { key: string; reason: Blocker }[] } {
  const next: Record<string, MarkField> = { ...fields };
  const saves: { key: string; value: number | null }[] = [];
  for (const spec of specs) {
    const step = stepMark(fieldIn(next, spec.key), { type: "commit" }, spec);
    next[spec.key] = step.field;
    if (step.save) saves.push({ key: spec.key, value: step.save.value });
  }
  return { fields: next, saves, blocked: blockers(next, specs) };
}

/** The 提交 button: "还有N项未打分/有误" while anything blocks, N = empty + invalid. */
export function submitLabel(blocked: number): string {
  return blocked > 0 ? `还有${blocked}项未打分/有误` : "提交";
}

/** The header's save line; never 已保存 while a field is invalid, typed but not committed, or saving. */
export function saveStatus(s: { failed: string | null; invalid: number; saving: boolean; pending: boolean; savedAt: string | null }): {
  text: string;
  bad: boolean;
} {
  if (s.failed !== null) return { text: `未保存:${s.failed}`, bad: true };
  if (s.invalid > 0) return { text: `${s.invalid}项有误,未保存`, bad: true };
  if (s.saving) return { text: "保存中…", bad: false };
  if (s.pending) return { text: "未保存:按回车保存", bad: false };
  if (s.savedAt !== null) return { text: `已保存 ${s.savedAt}`, bad: false };
  return { text: "", bad: false };
}

export type KeyAction = "next" | "prev" | "submit" | "evidence" | "note";

/** The sheet's keys: Enter/↓ next 得分, Shift+Enter/↑ previous, Ctrl+Enter 提交, Alt+E 证据, Alt+N 备注. */
export function keyAction(e: Pick<KeyboardEvent, "key" | "code" | "ctrlKey" | "metaKey" | "altKey" | "shiftKey" | "isComposing">): KeyAction | null {
  // Enter also ends a Chinese input method's composition: that one is the IME's.
  if (e.isComposing || e.key === "Process") return null;
  const mod = e.ctrlKey || e.metaKey;
  if (e.key === "Enter") {
    if (mod) return e.altKey || e.shiftKey ? null : "submit";
    if (e.altKey) return null;
    return e.shiftKey ? "prev" : "next";
  }
  if (e.altKey && !mod && !e.shiftKey) {
    if (e.code === "KeyE" || e.key.toLowerCase() === "e") return "evidence";
    if (e.code === "KeyN" || e.key.toLowerCase() === "n") return "note";
    return null;
  }
  if (mod || e.altKey || e.shiftKey) return null;
  if (e.key === "ArrowDown") return "next";
  if (e.key === "ArrowUp") return "prev";
  return null;
}

/** The hint line under the sheet's header, and the controls' titles. */
export const KEY_HINT = "回车或↓ 下一项 · ↑ 上一项 · Alt+E 证据 · Alt+N 备注 · Ctrl+回车 提交";
