//! Pure helpers for 评论审核: tab counts, Chinese labels, Beijing times, the moderator's
//! keyboard (a reducer over key presses, so it can be tested without a DOM), and keeping the
//! selection on the same comment while the queue changes live. The backend enforces every rule;
//! nothing here decides what a moderator may do.
import type { CommentKind, CommentStatus, Delivery, Handling, IssueView, ModLogEntry, ModerationOverview, Post, QueueKind, WordsReport } from "../../ipc";
import { excerpt } from "../feed/feed";

// ---- tabs ----

export type Tab = QueueKind | "mutes" | "words" | "log";

export const TABS: { id: Tab; label: string }[] = [
  { id: "pending", label: "待审核" },
  { id: "reported", label: "被举报" },
  { id: "approved", label: "已通过" },
  { id: "rejected", label: "已驳回" },
  { id: "suggestions", label: "意见建议" },
  { id: "mutes", label: "禁言名单" },
  { id: "words", label: "敏感词库" },
  { id: "log", label: "审核记录" },
];

/** The number shown beside a tab's name; null when the tab has none (审核记录) or nothing is loaded yet. */
export function tabCount(tab: Tab, overview: ModerationOverview | null, mutes: number | null): number | null {
  if (tab === "mutes") return mutes;
  if (!overview) return null;
  switch (tab) {
    case "pending":
      return overview.pending;
    case "reported":
      return overview.reported;
    case "approved":
      return overview.approved;
    case "rejected":
      return overview.rejected;
    case "suggestions":
      return overview.suggestions_open;
    case "words":
      return overview.words;
    default:
      return null;
  }
}

// ---- labels ----

export const KIND_LABELS: Record<CommentKind, string> = {
  praise: "点赞家乡",
  suggestion: "意见建议",
  other: "其他",
};

export const STATUS_LABELS: Record<CommentStatus, string> = {
  pending: "待审核",
  approved: "已通过",
  rejected: "已驳回",
};

export const HANDLING_LABELS: Record<Handling, string> = {
  open: "待交办",
  in_progress: "办理中",
  answered: "已回复",
};

const ACTION_LABELS: Record<string, string> = {
  approve: "审核通过",
  reject: "驳回",
  pin: "置顶",
  unpin: "取消置顶",
  appeal: "申诉",
  report: "举报",
  dismiss_reports: "保留(举报不成立)",
  mute: "禁言",
  unmute: "解除禁言",
  close: "关闭评论区",
  reopen: "重新开放评论区",
  assign: "交办",
  reply: "登记回复",
  words: "修改敏感词库",
  sms: "设置短信验证",
  official_reply: "官方回复",
  retention: "修改保存期限",
  export_records: "导出评论记录(含手机号)",
};

/** The Chinese name of a moderation-log action; an unknown one is shown as the backend wrote it. */
export function actionLabel(action: string): string {
  return ACTION_LABELS[action] ?? action;
}

export { actorLabel } from "../../lib/actor";
import { beijingParts } from "../../lib/beijing";

/** What the log's `detail` means, in words: a mute's end, a township handed to, words added or removed. */
export function logDetail(entry: ModLogEntry, townshipName: (id: string) => string): string {
  const d = entry.detail;
  if (!d) return "";
  switch (entry.action) {
    case "mute":
      return `禁言至 ${beijingDateTime(d)}`;
    case "assign":
      return `交办给 ${townshipName(d)}`;
    case "words": {
      const m = /^([+-])(\d+)$/.exec(d);
      if (m) return m[1] === "+" ? `新增 ${m[2]} 个词` : `删除 ${m[2]} 个词`;
      return d;
    }
    default:
      return d;
  }
}

/** 整场活动 for a comment on the whole event, else the post's stop label (or its first words). */
export function targetLabel(target: string, posts: ReadonlyMap<string, Post>): string {
  if (target === "event") return "整场活动";
  const p = posts.get(target);
  if (!p) return "某条动态";
  return p.stop_label?.trim() || `动态:${excerpt(p.body, 16)}`;
}

/** A WordsReport as one sentence (新增/删除 · 跳过 · 共计). */
export function wordsReportText(report: WordsReport, change: "add" | "remove"): string {
  // Words already in the list are neither new nor skipped: they are simply there.
  const parts = [change === "add" ? `新增 ${report.changed} 个` : `删除 ${report.changed} 个`];
  if (report.skipped > 0) parts.push(`跳过 ${report.skipped} 行(不能作为敏感词,如超过50字)`);
  parts.push(`词库共计 ${report.total} 个`);
  return parts.join(",");
}

// ---- times ----

/** "2024-12-04 09:30" in Beijing time, whatever the laptop's zone; the input itself when it does not parse. */
export function beijingDateTime(at: string | null): string {
  if (!at) return "";
  const p = beijingParts(at);
  return p ? `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}` : at;
}

// ---- words ----

/** The words containing `query` (case-insensitive), at most `limit` of them, and how many matched in all. */
export function filterWords(words: readonly string[], query: string, limit: number): { shown: string[]; matched: number } {
  const q = query.trim().toLowerCase();
  const matching = q === "" ? words : words.filter((w) => w.toLowerCase().includes(q));
  return { shown: matching.slice(0, limit), matched: matching.length };
}

// ---- the moderator's keyboard ----

/** Where the focus is, as far as shortcuts care: typing somewhere means letters are text, not commands. */
export type FocusKind = "none" | "line" | "multiline" | "select" | "button";

const NON_TEXT_INPUTS = new Set(["checkbox", "radio", "button", "submit", "reset", "range", "color", "file", "image"]);

/** Classifies the focused element. */
export function focusKind(el: Element | null): FocusKind {
  if (!el) return "none";
  const tag = el.tagName.toLowerCase();
  if (tag === "textarea") return "multiline";
  if (tag === "select") return "select";
  if (tag === "button") return "button";
  if (tag === "input") {
    const type = (el.getAttribute("type") ?? "text").toLowerCase();
    if (type === "button" || type === "submit" || type === "reset") return "button";
    return NON_TEXT_INPUTS.has(type) ? "none" : "line";
  }
  if (el instanceof HTMLElement && el.isContentEditable) return "multiline";
  return "none";
}

/** One key press, reduced to what the shortcuts look at. */
export type KeyPress = {
  key: string;
  focus: FocusKind;
  /** Ctrl, Alt or Meta held: leave the key to the system (copy, paste…). */
  modified: boolean;
};

export type QueueKeyResult = {
  /** The selected index after the key (-1: nothing to select). */
  selected: number;
  action: "none" | "approve" | "reject";
  /** The key was a shortcut: the caller prevents its default. */
  handled: boolean;
};

/**
 * The pending list's shortcuts: J/↓ and K/↑ move the selection (clamped to the list), A approves
 * the selected comment, R opens the reject dialog for it. Nothing fires while typing in a field.
 */
export function queueKey(selected: number, count: number, press: KeyPress): QueueKeyResult {
  const none: QueueKeyResult = { selected, action: "none", handled: false };
  if (press.modified || (press.focus !== "none" && press.focus !== "button")) return none;
  if (count <= 0) return { ...none, selected: -1 };
  const at = Math.min(Math.max(selected, 0), count - 1);
  switch (press.key) {
    case "j":
    case "J":
    case "ArrowDown":
      return { selected: Math.min(at + 1, count - 1), action: "none", handled: true };
    case "k":
    case "K":
    case "ArrowUp":
      return { selected: selected < 0 ? 0 : Math.max(at - 1, 0), action: "none", handled: true };
    case "a":
    case "A":
      return { selected: at, action: "approve", handled: true };
    case "r":
    case "R":
      return { selected: at, action: "reject", handled: true };
    default:
      return none;
  }
}

/** The reject dialog's choice: an index into the reasons, `reasons.length` for free text, or null. */
export type ReasonChoice = number | null;

export type RejectKeyResult = {
  choice: ReasonChoice;
  confirm: boolean;
  handled: boolean;
};

/**
 * The reject dialog's keys: 1–9 pick that listed reason (not while typing), Enter confirms (not
 * on a button, which Enter presses, nor in a multi-line field). Escape is the dialog's own.
 */
export function rejectKey(choice: ReasonChoice, reasonCount: number, press: KeyPress): RejectKeyResult {
  const none: RejectKeyResult = { choice, confirm: false, handled: false };
  if (press.modified) return none;
  if (press.key === "Enter") {
    if (press.focus === "button" || press.focus === "multiline" || press.focus === "select") return none;
    return { choice, confirm: true, handled: true };
  }
  if (press.focus !== "none") return none;
  if (/^[1-9]$/.test(press.key)) {
    const n = Number(press.key);
    if (n <= reasonCount) return { choice: n - 1, confirm: false, handled: true };
  }
  return none;
}

/** The reason to send: the picked listed reason or the free text; null while there is none. */
export function resolveReason(reasons: readonly string[], choice: ReasonChoice, custom: string): string | null {
  if (choice === null) return null;
  if (choice >= 0 && choice < reasons.length) return reasons[choice];
  if (choice === reasons.length) {
    const text = custom.trim();
    return text === "" ? null : text;
  }
  return null;
}

// ---- keeping the selection while the list changes ----

/**
 * The comment to select once a list changes from `before` to `after`: the same one if it is still
 * there; else the first one after it (in the old order) that is still there, so approving or
 * rejecting moves on to the next comment; else the nearest one before it; else the first.
 */
export function keepSelection(before: readonly string[], after: readonly string[], selectedId: string | null): string | null {
  if (after.length === 0) return null;
  if (selectedId === null) return after[0];
  if (after.includes(selectedId)) return selectedId;
  const still = new Set(after);
  const at = before.indexOf(selectedId);
  if (at >= 0) {
    for (let i = at + 1; i < before.length; i++) if (still.has(before[i])) return before[i];
    for (let i = at - 1; i >= 0; i--) if (still.has(before[i])) return before[i];
  }
  return after[0];
}

/** The checked ids that are still in the list. */
export function pruneChecked(checked: readonly string[], ids: readonly string[]): string[] {
  const present = new Set(ids);
  return checked.filter((id) => present.has(id));
}

// ---- a moderator laptop's decisions on their way to the hub ----

/**
 * 待上传: a decision made on this laptop that the hub has not confirmed yet (queued while
 * offline). Never on the hub, nor on a laptop that does not hand its work to one.
 */
export function isPendingUpload(commentId: string, delivery: Delivery | null): boolean {
  return !!delivery?.to_hub && delivery.pending_comment_ids.includes(commentId);
}

/**
 * Comments whose decision made here the hub refused because another moderator's decision had
 * reached it first (open `decision_conflict` issues). The comment shows the hub's outcome once
 * synced; its card says the decision here was not taken.
 */
export function overruledComments(issues: readonly IssueView[]): Set<string> {
  // `refused`: the hub's answer to this laptop; the hub's own listing of it is a `conflict`.
  const mine = issues.filter((i) => i.kind === "refused" && i.code === "decision_conflict" && i.resolved_at === null);
  return new Set(mine.map((i) => i.entity_id));
}

// ---- live reloads ----

/** Change-event entity kinds that concern the moderation lists (comments, likes, area/words/mutes). */
export const LIVE_ENTITIES: readonly string[] = ["comment", "like", "comment_settings"];

// Kept here for the moderation views; it lives with the other live-refresh helpers.
export { coalesce } from "../../lib/live";
