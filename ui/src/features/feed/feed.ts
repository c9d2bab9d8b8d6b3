//! Pure helpers for the live feed (图文直播): how residents' page lays a post out (mirrored from
//! guanmo-web so the preview matches it), the composer's photo order, labels.
import type { Post, PostInput, PostStatus, SignoffSettings, SyncStatus } from "../../ipc";
import { moveTo } from "../roster/roster";
import { beijingParts } from "../../lib/beijing";

/** Limits the backend enforces (guanmo-domain::feed); shown here for guidance only. */
export const MAX_BODY_CHARS = 5000;
export const MAX_PHOTOS = 9;
export const MAX_CREDIT_CHARS = 40;
export const MAX_STOP_LABEL_CHARS = 40;

export const STATUS_LABELS: Record<PostStatus, string> = {
  draft: "草稿",
  pending: "待审",
  published: "已发布",
  retracted: "已撤回",
};

/** Where a published post stands on its way to the resident page, on a laptop. */
export type Upload = { label: string; tone: "ok" | "busy" | "wait"; hint: string };

/**
 * A published post's way to the hub (whose site residents read): 已上线 once the hub confirmed
 * it, 上传中 n/m while its photos go out, 待上传 otherwise. None on the hub (its posts are
 * live at once), on a device with no role, or before the sync status is known.
 */
export function uploadOf(p: Post, sync: SyncStatus | null): Upload | null {
  if (!sync || p.status !== "published") return null;
  const o = sync.overview;
  if (o.role === null || o.role === "hub") return null;
  if (!o.hub_id) return { label: "仅本机", tone: "wait", hint: "本机还没有与组织方主机配对:这条动态只在本机的直播网站显示" };
  if (!o.posts_waiting.includes(p.id)) return { label: "已上线", tone: "ok", hint: "组织方主机已收到,直播页面可见" };
  const pr = sync.running ? sync.progress : null;
  if (pr?.step === "post" && pr.post_id === p.id) {
    return { label: `上传中 ${pr.done}/${pr.total ?? "?"}`, tone: "busy", hint: "正在上传这条动态的照片,传完后动态随即上线" };
  }
  if (sync.running) return { label: "上传中", tone: "busy", hint: "正在与组织方主机同步" };
  if (sync.last_error) return { label: "待上传", tone: "wait", hint: "暂时连不上组织方主机,联网后自动上传" };
  return { label: "待上传", tone: "wait", hint: "几秒内自动上传到组织方主机" };
}

/** Characters as the backend counts them (Unicode scalar values, not UTF-16 units). */
export function charCount(s: string): number {
  return [...s].length;
}

/** The paragraphs residents see: the body's non-blank lines, trimmed. */
export function paragraphs(body: string): string[] {
  return body
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

/** Columns of the photo grid on residents' page: 1 photo full width, 2 or 4 in two columns, else three. */
export function gridColumns(count: number): number {
  if (count <= 0) return 0;
  if (count === 1) return 1;
  if (count === 2 || count === 4) return 2;
  return 3;
}

/** An instant as HH:MM in Beijing time (what residents read), whatever the laptop's zone; "" when it does not parse. */
export function beijingHHMM(at: string | Date): string {
  const p = beijingParts(at);
  return p ? `${p.hour}:${p.minute}` : "";
}

/** An instant as residents read a post's time, e.g. "12月4日 09:05" (Beijing time): the tour runs over two days. */
export function residentStamp(at: string | Date): string {
  const p = beijingParts(at);
  return p ? `${p.monthN}月${p.dayN}日 ${p.hour}:${p.minute}` : "";
}

/** What follows 已更新: HH:MM on the day the post was published, with the day when edited on a later day. */
export function residentUpdateStamp(published: string, updated: string | Date): string {
  const day = (at: string | Date) => residentStamp(at).split(" ")[0];
  return day(published) === day(updated) ? beijingHHMM(updated) : residentStamp(updated);
}

/** "12-04 09:30" in Beijing time, for the list of posts. */
export function beijingDayTime(at: string | null): string {
  if (!at) return "";
  const p = beijingParts(at);
  return p ? `${p.month}-${p.day} ${p.hour}:${p.minute}` : at;
}

/** The post's photos with the one at `from` moved to grid place `to` (dragged there); a copy. */
export function movePhoto(photos: readonly string[], from: number, to: number): string[] {
  return moveTo(photos, from, to);
}

/** What the preview shows: the post as residents will see it. */
export type PreviewModel = {
  time: string;
  stopLabel: string | null;
  paragraphs: string[];
  photos: string[];
  columns: number;
  credit: string;
  updated: string | null;
  pinned: boolean;
};

/**
 * The post as residents will see it: published posts keep their publication time (and show
 * 已更新 once edited after publishing), a draft shows the time it would be published (now).
 */
export function previewModel(input: PostInput, post: Post | null, now: Date): PreviewModel {
  const published = post?.status === "published" ? post : null;
  const stop = input.stop_label?.trim() ?? "";
  const photos = input.photos.slice(0, MAX_PHOTOS);
  return {
    time: residentStamp(published?.published_at ?? now),
    stopLabel: stop === "" ? null : stop,
    paragraphs: paragraphs(input.body),
    photos,
    columns: gridColumns(photos.length),
    credit: input.credit.trim(),
    // Saving an edit of a published post makes residents see 已更新 at the time of saving.
    updated: published?.published_at
      ? sameContent(input, published)
        ? published.updated_at
          ? residentUpdateStamp(published.published_at, published.updated_at)
          : null
        : residentUpdateStamp(published.published_at, now)
      : null,
    pinned: published?.pinned ?? false,
  };
}

/** True when `input` is what `post` already holds (ignoring surrounding blanks). */
export function sameContent(input: PostInput, post: Post): boolean {
  const norm = (i: PostInput) =>
    JSON.stringify([(i.stop_label ?? "").trim(), i.township_id ?? "", i.body.replace(/\r\n?/g, "\n").trim(), i.photos, i.credit.trim()]);
  return norm(input) === norm(toInput(post));
}

/** A post's content, as the composer edits it. */
export function toInput(p: Post): PostInput {
  return { stop_label: p.stop_label, township_id: p.township_id, body: p.body, photos: [...p.photos], credit: p.credit };
}

/** First words of a post for the list. */
export function excerpt(body: string, chars = 60): string {
  const text = paragraphs(body).join(" ");
  const all = [...text];
  return all.length > chars ? `${all.slice(0, chars).join("")}…` : text;
}

/**
 * The word shown for a pending post (mirrors guanmo-domain's `pending_word`): 待二审/待三审 at the
 * next level, 待签发 when no configured level is left (the organiser lowered the levels).
 */
export function pendingWord(levelsDone: number, levels: number): string {
  if (levelsDone >= levels) return "待签发";
  if (levelsDone + 1 === 2) return "待二审";
  if (levelsDone + 1 === 3) return "待三审";
  return "待审";
}

/** A post's status word in the app: 草稿 (退回 when sent back), 待二审…, 已发布, 已撤回. */
export function statusWord(p: Post, settings: SignoffSettings | null): string {
  if (p.status === "pending") return pendingWord(p.signoff.levels_done, settings?.levels ?? 1);
  if (p.status === "draft" && p.signoff.returned_reason) return "已退回";
  return STATUS_LABELS[p.status];
}

/** 责任编辑/审核 as the footer prints them, e.g. "责任编辑：张三 审核：李四"; "" when none. */
export function signoffFooter(p: Post): string {
  const parts: string[] = [];
  if (p.signoff.editor) parts.push(`责任编辑：${p.signoff.editor}`);
  if (p.signoff.approver) parts.push(`审核：${p.signoff.approver}`);
  return parts.join(" ");
}
