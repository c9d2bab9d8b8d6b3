//! The one-line status strip under every page: what of this laptop's work waits for the hub and
//! when the hub was last reached; on the hub, how many computers are paired; on a laptop not
//! paired, that it is not. Pure, so the wording is tested without a window.
import type { Delivery, SyncStatus } from "../ipc";
import { agoText, beijingParts } from "../lib/beijing";

export type StripView = {
  /** ok: all delivered; pending: work waits for the hub; plain: nothing to act on; warn: not paired. */
  tone: "ok" | "pending" | "plain" | "warn";
  text: string;
  /** Offer a way to 同步 (pairing). */
  link: boolean;
};

/** "09:41" in Beijing time (the tour's time, whatever the laptop's time zone); "" when unreadable. */
export function clockHm(at: string): string {
  const p = beijingParts(at);
  return p ? `${p.hour}:${p.minute}` : "";
}

/** "刚刚", "5分钟前", "2小时前", "3天前". */
export const agoShort = agoText;

/** "最近与主机联系 09:41(5分钟前)". */
function contact(prefix: string, at: string | null, nowMs: number): string {
  if (!at || clockHm(at) === "") return `${prefix}:还没有`;
  return `${prefix} ${clockHm(at)}(${agoShort(at, nowMs)})`;
}

function latest(times: (string | null)[]): string | null {
  let best: string | null = null;
  for (const t of times) if (t && (best === null || Date.parse(t) > Date.parse(best))) best = t;
  return best;
}

/** What the strip says; null while nothing is known. */
export function stripView(s: SyncStatus | null, delivery: Delivery | null, nowMs: number): StripView | null {
  if (!s) return null;
  const o = s.overview;
  if (o.role === "hub") {
    const paired = o.devices.filter((d) => d.role !== "hub" && d.revoked_at === null);
    if (paired.length === 0) return { tone: "plain", text: "组织方主机 · 还没有配对评分电脑或直播电脑", link: false };
    const last = latest(paired.map((d) => d.last_contact));
    return { tone: "plain", text: `组织方主机 · 已配对${paired.length}台电脑 · ${contact("最近收到电脑联系", last, nowMs)}`, link: false };
  }
  if (o.role === null || o.hub_id === null) return { tone: "warn", text: "未与组织方主机配对,评分和照片只保存在本机", link: true };
  const hub = o.devices.find((d) => d.role === "hub") ?? null;
  const pending = delivery ? delivery.pending_records : o.unconfirmed;
  const parts = [pending > 0 ? `${pending}项待上传` : "已全部送达主机", contact("最近与主机联系", hub?.last_contact ?? null, nowMs)];
  if (s.running) parts.push("正在同步…");
  else if (s.last_error && pending > 0) parts.push("暂时连不上主机,已保存在本机,连上后自动上传");
  return { tone: pending > 0 ? "pending" : "ok", text: parts.join(" · "), link: false };
}
