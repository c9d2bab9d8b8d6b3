// 传播数据 view helpers: bar lengths relative to the largest value, and 互动量.
import type { Figures, ReachSource } from "../../ipc";

export type BarInput = { label: string; value: number; extra: number };
export type Bar = BarInput & { percent: number };

/** Bars scaled to the largest value (the largest is 100 %); all zero when nothing counted. */
export function barRows(rows: BarInput[]): Bar[] {
  const max = rows.reduce((m, r) => Math.max(m, r.value), 0);
  return rows.map((r) => ({ ...r, percent: max > 0 ? Math.round((r.value / max) * 1000) / 10 : 0 }));
}

/** 互动量: likes and approved comments. */
export function interactions(f: Figures): number {
  return f.likes + f.comments;
}

/** `2024-12-04` as `12月4日`. */
export function dayLabel(day: string): string {
  const [, m, d] = day.split("-").map((x) => Number(x));
  return m && d ? `${m}月${d}日` : day;
}

/** Whose figures the view shows. */
export function sourceLabel(source: ReachSource | undefined): string {
  return source === "hub" ? "数据来源:组织方主机上的直播网站(居民访问的网站)" : "数据来源:本机的直播网站";
}
