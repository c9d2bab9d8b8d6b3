//! What this laptop is for (组织方主机 / 评分电脑 / 直播电脑, or not chosen yet), and what each
//! role sees: the section it opens on, the sections it shows, whether it edits what only the
//! organiser's hub may change. Pure, so the rules are tested without a window.
import type { Role } from "../ipc";

export type Section = "roster" | "scoring" | "feed" | "moderation" | "ranking" | "people" | "sync" | "settings";

/** The section a laptop opens on: a scorer's laptop on 评分, a media laptop on 图文直播. */
export function startSection(role: Role | null): Section {
  if (role === "scorer") return "scoring";
  if (role === "media") return "feed";
  return "roster";
}

/**
 * Sections a role has no use for are not shown: a scorer's laptop never sees the ranking
 * (背靠背) nor the live feed, and moderates only while the hub grants it 审核 (`mayModerate`);
 * a media laptop does not score, and shows 评论审核 always (read-only until granted: it may run
 * the venue's LAN site, so its staff see that comments wait). 人员 (people, PINs, sign-in codes)
 * is kept on the hub alone. The hub, and a laptop whose role is not chosen yet, show everything.
 */
export function sectionShown(role: Role | null, section: Section, mayModerate = false): boolean {
  if (role === "scorer") return section !== "ranking" && section !== "feed" && section !== "people" && (section !== "moderation" || mayModerate);
  if (role === "media") return section !== "scoring" && section !== "ranking" && section !== "people";
  return true;
}

/**
 * What 评论审核 lets this device do. `full`: everything (the hub, whose site residents use, or a
 * laptop on its own). `decide`: a laptop the hub granted 审核 — 通过, 不通过 (with a reason),
 * 置顶, 保留, the suggestions' 交办/回复, 禁言 and 解除禁言 (the laptop knows the masked number
 * only; the hub, where the mute reaches, holds the author's number and phones), the word list and
 * the comment-area switch replicate to the hub. `read`: a laptop without the grant sees the replicated queue only. The hub enforces the same (a
 * decision from a laptop it did not grant is refused).
 */
export type ModerationAccess = "full" | "decide" | "read";

export function moderationAccess(role: Role | null, mayModerate: boolean): ModerationAccess {
  if (role === null || role === "hub") return "full";
  return mayModerate ? "decide" : "read";
}

/** On a laptop that may not decide. */
export const NEEDS_GRANT_NOTE = "需组织方主机授予审核权限";

/** Whether this laptop edits what only the organiser's hub may change (观摩路线, 评分细则, 评分人, 评分进度). */
export function editsHubRecords(role: Role | null): boolean {
  return role === "hub" || role === null;
}

/** The line a read-only view shows on a laptop. */
export const HUB_ONLY_NOTE = "本机为评分电脑或直播电脑:这里的内容由组织方主机维护,同步后自动更新,本机只能查看。";
