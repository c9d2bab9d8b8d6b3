/** Times as the tour reads them: Beijing time (UTC+8, no daylight saving), whatever the laptop's
 * own zone is set to. One place for the offset and the "how long ago" wording. */

const BEIJING_OFFSET_MS = 8 * 3600 * 1000;

/** The parts of an instant in Beijing time, two-digit padded; null when it does not parse. */
export type BeijingParts = { year: string; month: string; day: string; hour: string; minute: string; second: string; monthN: number; dayN: number };

const pad = (n: number) => String(n).padStart(2, "0");

/** `at` (RFC 3339 text or a Date) in Beijing time. */
export function beijingParts(at: string | Date): BeijingParts | null {
  const t = typeof at === "string" ? Date.parse(at) : at.getTime();
  if (Number.isNaN(t)) return null;
  const d = new Date(t + BEIJING_OFFSET_MS);
  return {
    year: String(d.getUTCFullYear()),
    month: pad(d.getUTCMonth() + 1),
    day: pad(d.getUTCDate()),
    hour: pad(d.getUTCHours()),
    minute: pad(d.getUTCMinutes()),
    second: pad(d.getUTCSeconds()),
    monthN: d.getUTCMonth() + 1,
    dayN: d.getUTCDate(),
  };
}

/** "刚刚", "5分钟前", "2小时前", "3天前"; "" when `at` does not parse. */
export function agoText(at: string, nowMs: number): string {
  const t = Date.parse(at);
  if (Number.isNaN(t)) return "";
  const s = Math.max(0, Math.round((nowMs - t) / 1000));
  if (s < 60) return "刚刚";
  if (s < 3600) return `${Math.floor(s / 60)}分钟前`;
  if (s < 86400) return `${Math.floor(s / 3600)}小时前`;
  return `${Math.floor(s / 86400)}天前`;
}
