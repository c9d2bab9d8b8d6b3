//! Writing a file the organiser names in the native "save as" dialog.
import { pickFileToSave, type FileFilter } from "../ipc";

export type SaveKind = "xlsx" | "csv" | "json";

const FILTERS: Record<SaveKind, FileFilter> = {
  xlsx: { name: "Excel 工作簿", extensions: ["xlsx"] },
  csv: { name: "CSV 文件", extensions: ["csv"] },
  json: { name: "JSON 文件", extensions: ["json"] },
};

/**
 * Asks where to save `baseName.kind` (dialog titled `title`), then has `write` write there.
 * Resolves to the notice to show, or null when the organiser cancels.
 */
export async function exportToFile(
  title: string,
  baseName: string,
  kind: SaveKind,
  write: (path: string) => Promise<unknown>,
): Promise<string | null> {
  const path = await pickFileToSave(title, `${baseName}.${kind}`, [FILTERS[kind]]);
  if (!path) return null;
  await write(path);
  return `已导出到 ${path}`;
}
