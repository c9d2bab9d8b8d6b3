//! Pure helpers for 人员, 谁在操作 and 揭晓: role labels and order, the PIN checks shown before
//! the backend is asked (it checks again, and more: no repeated or consecutive digits), the
//! sign-in log's words, the seal digest as people read it aloud.
import type { Person, PersonInput, PersonRole, PersonView, SessionView, SignInChoice } from "../../ipc";

/** Every role in the backend's order (`PersonRole::ALL`); role lists are sent in this order. */
export const ROLE_ORDER: PersonRole[] = ["organiser", "scorer", "monitor", "counter", "editor", "moderator", "liaison", "clerk", "approver"];

export const ROLE_LABELS: Record<PersonRole, string> = {
  organiser: "组织方",
  scorer: "评分人",
  monitor: "监票人",
  counter: "计票人",
  editor: "编辑",
  moderator: "审核员",
  liaison: "乡镇联络员",
  clerk: "计分员",
  approver: "签发人",
};

/** The roles without repeats, in `ROLE_ORDER`. */
export function sortRoles(roles: readonly PersonRole[]): PersonRole[] {
  return ROLE_ORDER.filter((r) => roles.includes(r));
}

/** "组织方、监票人"; "—" for none. */
export function rolesText(roles: readonly PersonRole[]): string {
  const sorted = sortRoles(roles);
  return sorted.length === 0 ? "—" : sorted.map((r) => ROLE_LABELS[r]).join("、");
}

/** "市委办公室 · 副主任", leaving out what is empty. */
export function unitAndTitle(p: { work_unit: string; title: string }): string {
  return [p.work_unit.trim(), p.title.trim()].filter((s) => s !== "").join(" · ");
}

/** The sidebar's "当前:张三(组织方)". */
export function sessionLabel(person: Person): string {
  const roles = sortRoles(person.roles);
  return roles.length === 0 ? `当前:${person.name}` : `当前:${person.name}(${roles.map((r) => ROLE_LABELS[r]).join("、")})`;
}

/** The 谁在操作 screen is shown: this computer asks who is working and no one is signed in. */
export function needsSignIn(view: SessionView | null): boolean {
  return view !== null && view.required && view.person === null;
}

/**
 * Whether the person at the keyboard acts as 组织方 (封存, 揭晓). With no one signed in on a
 * computer that does not ask who is working, it is the organiser's own (the backend decides).
 */
export function actsAsOrganiser(view: SessionView | null): boolean {
  if (!view) return false;
  if (view.person) return view.person.roles.includes("organiser");
  return !view.required;
}

export const PIN_LENGTH = 6;

/** A PIN as typed: six digits, or the sentence to show. The backend also refuses trivial ones. */
export function pinProblem(pin: string): string | null {
  return /^\d{6}$/.test(pin) ? null : "PIN 须为 6 位数字";
}

/** A new PIN and its confirmation: null when they may be sent. */
export function newPinProblem(pin: string, confirm: string): string | null {
  return pinProblem(pin) ?? (pin === confirm ? null : "两次输入的 PIN 不一致,请重新输入");
}

/** A one-time sign-in code as typed (8 characters from the hub); the backend judges it. */
export function codeProblem(code: string): string | null {
  return code.trim() === "" ? "请输入组织方发放的一次性登录码" : null;
}

/** The code as sent: spaces people type between groups left out, letters upper-cased. */
export function normalizeCode(code: string): string {
  return code.replace(/[\s-]/g, "").toUpperCase();
}

/** Whether a choice's sign-in is locked now (wrong PINs), by the backend's time. */
export function lockedNow(choice: SignInChoice, nowMs: number): boolean {
  if (!choice.locked_until) return false;
  const t = Date.parse(choice.locked_until);
  return !Number.isNaN(t) && t > nowMs;
}

const SIGN_IN_EVENTS: Record<string, string> = {
  signed_in: "登录",
  wrong_pin: "PIN错误",
  locked: "锁定",
  refused_locked: "锁定中被拒",
  signed_out: "退出/切换",
  idle_lock: "闲置锁定",
  pin_set: "设置PIN",
  code_used: "使用登录码",
  wrong_code: "登录码错误",
};

/** A sign-in log event in Chinese; an unknown one as it is. */
export function signInEventLabel(event: string): string {
  return SIGN_IN_EVENTS[event] ?? event;
}

/** The seal digest in groups of 8 characters, so people can read it aloud and compare it. */
export function digestGroups(digest: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < digest.length; i += 8) out.push(digest.slice(i, i + 8));
  return out;
}

/** The form's fields for a person (new: empty, active). */
export function toPersonInput(p: Person | null): PersonInput {
  if (!p) return { name: "", work_unit: "", title: "", roles: [], scorer_id: null, active: true };
  return { name: p.name, work_unit: p.work_unit, title: p.title, roles: sortRoles(p.roles), scorer_id: p.scorer_id, active: p.active };
}

/** What is sent: trimmed text, roles in order, a scorer only for a 评分人. */
export function cleanPersonInput(input: PersonInput): PersonInput {
  const roles = sortRoles(input.roles);
  return {
    name: input.name.trim(),
    work_unit: input.work_unit.trim(),
    title: input.title.trim(),
    roles,
    scorer_id: roles.includes("scorer") && input.scorer_id ? input.scorer_id : null,
    active: input.active,
  };
}

/** People by name (pinyin order of the system's collation), inactive ones last. */
export function sortPeople(list: readonly PersonView[]): PersonView[] {
  return [...list].sort(
    (a, b) => Number(!a.person.active) - Number(!b.person.active) || a.person.name.localeCompare(b.person.name, "zh-CN"),
  );
}
