//! What this laptop is for (组织方主机 / 评分电脑 / 直播电脑, or not chosen yet), and what each
//! role sees: the section it opens on, the sections it shows, whether it edits what only the
//! organiser's hub may change. Pure, so the rules are tested without a window.
import type { Role } from "../ipc";

export type Section = "roster" | "scoring" | "feed" | "moderation" | "ranking" | "sync" | "settings";

/** The section a laptop opens on: a scorer's laptop on 评分, a media laptop on 图文直播. */
export function startSection(role: Role | null): Section {
  if (role === "scorer") return "scoring";
  if (role === "media") return "feed";
  return "roster";
}

/**
 * Sections a role has no use for are not shown: a scorer's laptop neither moderates nor sees the
 * ranking (背靠背), a media laptop does not score. The hub, and a laptop whose role is not
 * chosen yet, show everything.
 */
export function sectionShown(role: Role | null, section: Section): boolean {
  if (role === "scorer") return section !== "moderation" && section !== "ranking" && section !== "feed";
  if (role === "media") return section !== "scoring" && section !== "ranking";
  return true;
}

/** Whether this laptop edits what only the organiser's hub may change (观摩路线, 评分细则, 评分人, 评分进度). */
export function editsHubRecords(role: Role | null): boolean {
  return role === "hub" || role === null;
}

/** The line a read-only view shows on a laptop. */
export const HUB_ONLY_NOTE = "本机为评分电脑或直播电脑:这里的内容由组织方主机维护,同步后自动更新,本机只能查看。";
