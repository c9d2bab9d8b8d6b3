//! 一键备份 / 恢复: the wording of progress and results (pure, so it is tested without a window).
import { beijingParts } from "../../lib/beijing";
import type { BackupPhase, BackupProgress, FileFilter } from "../../ipc";

/** The backup files' filter in the file dialogs. */
export const BACKUP_FILTER: FileFilter = { name: "观摩备份", extensions: ["gmbak"] };

const pad = (n: number) => String(n).padStart(2, "0");

/** `guanmo-backup-20261207T0300.gmbak` for the local time `at` (the name `guanmo backup` gives too). */
export function backupFileName(at: Date): string {
  const stamp = `${at.getFullYear()}${pad(at.getMonth() + 1)}${pad(at.getDate())}T${pad(at.getHours())}${pad(at.getMinutes())}`;
  return `guanmo-backup-${stamp}.gmbak`;
}

const PHASES: Record<BackupPhase, string> = {
  database: "正在备份数据库",
  photos: "正在备份照片",
  finishing: "正在写入并校验备份文件",
  verifying: "正在校验备份文件",
  saving_current: "正在自动备份现有数据",
  swapping: "正在替换数据",
};

/** What the running step is, in words. */
export function phaseText(phase: BackupPhase): string {
  return PHASES[phase];
}

/** Whole percent done, 0–100. */
export function percent(p: BackupProgress | null): number {
  if (!p || !p.bytesTotal || p.bytesDone === null) return 0;
  return Math.min(100, Math.max(0, Math.floor((p.bytesDone / p.bytesTotal) * 100)));
}

/** `820 KB`, `12.5 MB`, `1.2 GB`; empty when unknown. */
export function sizeText(bytes: number | null): string {
  if (bytes === null || !Number.isFinite(bytes)) return "";
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GB`;
}

/** `2026-12-07T03:00:00Z` as `2026-12-07 11:00` in local time (the text itself when unparsable). */
export function whenText(rfc3339: string): string {
  // Beijing time, as every time of the tour reads, whatever the laptop's zone.
  const b = beijingParts(rfc3339);
  if (!b) return rfc3339;
  return `${b.year}-${b.month}-${b.day} ${b.hour}:${b.minute}`;
}
