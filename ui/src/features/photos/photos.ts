//! Pure helpers for photos: the import run (a reducer over the backend's progress events),
//! the time-left estimate, and how a photo's facts are shown.
import type { PhotoImportFinished, PhotoImportProgress, PhotoInfo, PhotoSkip } from "../../ipc";

/** Extensions offered first in the file dialog; "所有文件" is offered too, so HEIC gets a clear refusal. */
export const IMAGE_EXTENSIONS = ["jpg", "jpeg", "png", "webp", "JPG", "JPEG", "PNG", "WEBP"];

/** One import batch as the UI follows it. */
export type ImportRun = {
  /** Null until `import_photos` has answered with the batch id. */
  batchId: string | null;
  total: number;
  done: number;
  /** Photos imported so far, in the order they finished. */
  imported: PhotoInfo[];
  /** Files refused so far (the final list comes with `finished`). */
  skipped: PhotoSkip[];
  /** File name of the last finished file. */
  current: string;
  /** Milliseconds (Date.now) when the run started and when the last file finished. */
  startedAt: number;
  lastAt: number;
  finished: boolean;
  cancelled: boolean;
  /** A cancel was asked for and not yet confirmed by `finished`. */
  cancelling: boolean;
};

export function startRun(total: number, now: number): ImportRun {
  return {
    batchId: null,
    total,
    done: 0,
    imported: [],
    skipped: [],
    current: "",
    startedAt: now,
    lastAt: now,
    finished: false,
    cancelled: false,
    cancelling: false,
  };
}

/** True when an event belongs to the run (a run with no id yet takes nothing). */
function ours(run: ImportRun, batchId: string): boolean {
  return run.batchId !== null && run.batchId === batchId;
}

/** One finished file: counts, the new thumbnail or the refusal. Events of other batches are ignored. */
export function applyProgress(run: ImportRun, ev: PhotoImportProgress, now: number): ImportRun {
  if (!ours(run, ev.batch_id) || run.finished) return run;
  const imported = ev.photo && !run.imported.some((p) => p.hash === ev.photo!.hash) ? [...run.imported, ev.photo] : run.imported;
  const skipped = ev.skip ? [...run.skipped, ev.skip] : run.skipped;
  return {
    ...run,
    total: ev.total,
    done: Math.max(run.done, ev.done),
    imported,
    skipped,
    current: ev.file_name,
    lastAt: now,
  };
}

/** The end of the run: the backend's skip list is the final one. */
export function applyFinished(run: ImportRun, ev: PhotoImportFinished): ImportRun {
  if (!ours(run, ev.batch_id)) return run;
  return { ...run, skipped: ev.skipped, finished: true, cancelled: ev.cancelled, cancelling: false };
}

/**
 * Seconds still to go, from the average time per file so far; null before the first file
 * finishes (nothing to estimate from).
 */
export function secondsLeft(run: Pick<ImportRun, "done" | "total" | "startedAt" | "lastAt">): number | null {
  if (run.total > 0 && run.done >= run.total) return 0;
  if (run.done <= 0) return null;
  const perFile = (run.lastAt - run.startedAt) / run.done;
  return Math.max(0, Math.round((perFile * (run.total - run.done)) / 1000));
}

/** "约 5 秒", "约 2 分 05 秒", "约 1 小时 3 分"; "正在估算…" without an estimate. */
export function formatTimeLeft(seconds: number | null): string {
  if (seconds === null) return "正在估算剩余时间…";
  if (seconds < 1) return "即将完成";
  if (seconds < 60) return `约 ${seconds} 秒`;
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  if (m < 60) return `约 ${m} 分 ${String(s).padStart(2, "0")} 秒`;
  return `约 ${Math.floor(m / 60)} 小时 ${m % 60} 分`;
}

/** Percent done, 0–100. */
export function percent(run: Pick<ImportRun, "done" | "total">): number {
  return run.total > 0 ? Math.min(100, Math.round((run.done / run.total) * 100)) : 0;
}

/** "导入完成:成功 12 张,跳过 2 个文件" (or 已取消). */
export function runSummary(run: ImportRun): string {
  const head = run.cancelled ? `已取消导入(已处理 ${run.done}/${run.total})` : "导入完成";
  const skipped = run.skipped.length > 0 ? `,跳过 ${run.skipped.length} 个文件` : "";
  return `${head}:成功导入 ${run.imported.length} 张${skipped}`;
}

/** Photos to show: those of the running import (newest first) before the stored list, each once. */
export function mergePhotos(imported: readonly PhotoInfo[], stored: readonly PhotoInfo[]): PhotoInfo[] {
  const seen = new Set<string>();
  const out: PhotoInfo[] = [];
  for (const p of [...[...imported].reverse(), ...stored]) {
    if (seen.has(p.hash)) continue;
    seen.add(p.hash);
    out.push(p);
  }
  return out;
}

/** "2.4 MB", "850 KB". */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} B`;
}

/** "26.41234, 112.39876" (5 decimals, about a metre); null without both coordinates. */
export function formatPosition(lat: number | null, lon: number | null): string | null {
  if (lat === null || lon === null) return null;
  return `${lat.toFixed(5)}, ${lon.toFixed(5)}`;
}

/**
 * When a photo was taken, as written: EXIF times carry no zone, so the text is shown as the
 * camera recorded it ("2024-12-04 10:32:05"), an RFC 3339 time is shown in local time.
 */
export function formatTakenAt(taken: string | null): string | null {
  if (!taken) return null;
  const m = /^(\d{4})[-:](\d{2})[-:](\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?/.exec(taken);
  if (!m) return taken;
  if (/(Z|[+-]\d{2}:?\d{2})$/.test(taken)) {
    const d = new Date(taken);
    if (!Number.isNaN(d.getTime())) {
      const pad = (n: number) => String(n).padStart(2, "0");
      return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
    }
  }
  return `${m[1]}-${m[2]}-${m[3]} ${m[4]}:${m[5]}${m[6] ? `:${m[6]}` : ""}`;
}

export const FORMAT_LABELS: Record<string, string> = { jpeg: "JPEG", png: "PNG", webp: "WebP" };

/** Seconds to add to a camera's time: a slow camera is behind Beijing time (add), a fast one ahead. */
export function offsetSeconds(direction: "slow" | "fast", minutes: number): number {
  const m = Math.round(Math.abs(Number.isFinite(minutes) ? minutes : 0));
  return (direction === "slow" ? 1 : -1) * m * 60;
}

/** "+70 分钟" / "−5 分钟" / "不校正". */
export function offsetText(seconds: number): string {
  if (seconds === 0) return "不校正";
  const m = Math.round(Math.abs(seconds) / 60);
  return `${seconds > 0 ? "+" : "−"}${m} 分钟`;
}
