//! Pure helpers for the route table. They mirror backend rules only for immediate feedback;
//! the backend validates every save and its problems are what the form finally shows.
import type { Township, TownshipInput, TownshipKind } from "../../ipc";

export const KIND_LABELS: Record<TownshipKind, string> = {
  subdistrict: "街道",
  town: "镇",
  township: "乡",
  ethnic_township: "民族乡",
};

export const KIND_ORDER: TownshipKind[] = ["subdistrict", "town", "township", "ethnic_township"];

export type ArrivalCheck = { ok: true; value: string | null } | { ok: false; message: string };

/** Arrival is empty (not yet scheduled) or a 24-hour "HH:MM" such as "09:30". */
export function checkArrival(raw: string): ArrivalCheck {
  const s = raw.trim();
  if (s === "") return { ok: true, value: null };
  const m = /^(\d{2}):(\d{2})$/.exec(s);
  if (!m) return { ok: false, message: "到达时间应为 HH:MM 格式,例如 09:30" };
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (h > 23 || min > 59) return { ok: false, message: "到达时间无效:小时应为 00–23,分钟应为 00–59" };
  return { ok: true, value: s };
}

/** The ids with the item at `index` moved by `delta` places, or null when it cannot move. */
export function moveBy(ids: readonly string[], index: number, delta: number): string[] | null {
  const target = index + delta;
  if (index < 0 || index >= ids.length || target < 0 || target >= ids.length || delta === 0) return null;
  return moveTo(ids, index, target);
}

/** The ids with the item at `from` taken out and put at `to` (drag and drop). */
export function moveTo(ids: readonly string[], from: number, to: number): string[] {
  const next = [...ids];
  if (from < 0 || from >= next.length || to < 0 || to >= next.length || from === to) return next;
  const [item] = next.splice(from, 1);
  next.splice(to, 0, item);
  return next;
}

/** Stop number (第N站) of each enabled township in visit order; disabled ones have none. */
export function stationNumbers(townships: readonly Township[]): Map<string, number | null> {
  const out = new Map<string, number | null>();
  let n = 0;
  for (const t of townships) out.set(t.id, t.enabled ? ++n : null);
  return out;
}

export function summary(townships: readonly Township[]): string {
  const enabled = townships.filter((t) => t.enabled).length;
  return `共${townships.length}个,启用${enabled}个`;
}

export function dayLabel(day: number | null): string {
  return day === null ? "未定" : `第${day}天`;
}

export function sortByPosition(townships: readonly Township[]): Township[] {
  return [...townships].sort((a, b) => a.position - b.position);
}

export function toInput(t: Township): TownshipInput {
  return {
    code: t.code,
    name: t.name,
    kind: t.kind,
    enabled: t.enabled,
    day: t.day,
    arrival: t.arrival,
    slot_minutes: t.slot_minutes,
    note: t.note,
  };
}

export function emptyInput(): TownshipInput {
  return { code: "", name: "", kind: "town", enabled: true, day: null, arrival: null, slot_minutes: null, note: "" };
}
