//! The only door to the backend: every other module imports from here, never from
//! `@tauri-apps/*` (the lint enforces it). Commands return `Result`; `unwrap` turns an error
//! result into a thrown `IpcError` so views can use try/catch and show one error panel.
import { convertFileSrc } from "@tauri-apps/api/core";
import type { EventCallback, UnlistenFn } from "@tauri-apps/api/event";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import {
  commands,
  events,
  type ApiError,
  type BackupProgress,
  type FileFilter,
  type LiveSiteStatus,
  type PhotoImportFinished,
  type PhotoImportProgress,
  type SyncBundleProgress,
  type SyncProgress,
  type SyncStatus,
} from "./bindings.gen";
import { toApiError } from "./errors";

export { commands };

/** What a fallible command resolves to (the shape tauri-specta's `typedError` returns). */
export type Result<T, E> = { status: "ok"; data: T } | { status: "error"; error: E };

/** Await an infallible command; a transport failure becomes an IpcError. */
export async function callPlain<T>(pending: Promise<T>): Promise<T> {
  try {
    return await pending;
  } catch (e) {
    throw new IpcError(toApiError(e));
  }
}
export type * from "./bindings.gen";
export { ERROR_MESSAGES, errorMessage, describeProblem, isApiError, toApiError } from "./errors";

/** Thrown by `unwrap`/`call`; carries the backend's ApiError unchanged. */
export class IpcError extends Error {
  readonly error: ApiError;
  constructor(error: ApiError) {
    super(`${error.code}: ${error.message}`);
    this.name = "IpcError";
    this.error = error;
  }
}

export function unwrap<T>(result: Result<T, ApiError>): T {
  if (result.status === "ok") return result.data;
  throw new IpcError(toApiError(result.error));
}

/** Await a command and unwrap it; a thrown non-IPC failure also becomes an IpcError. */
export async function call<T>(pending: Promise<Result<T, ApiError>>): Promise<T> {
  let result: Result<T, ApiError>;
  try {
    result = await pending;
  } catch (e) {
    throw new IpcError(toApiError(e));
  }
  return unwrap(result);
}

/** The ApiError inside whatever a `call` threw. */
export function errorOf(e: unknown): ApiError {
  return e instanceof IpcError ? e.error : toApiError(e);
}

export type { FileFilter } from "./bindings.gen";

// File dialogs are opened by the backend, never by this page: the import and export commands
// accept only a path the person chose in one of them (or dropped on the window), so a script
// in the window cannot read or write files by naming them.

/** Native "open file" dialog; null when the user cancels. */
export async function pickFileToOpen(title: string, filters: FileFilter[]): Promise<string | null> {
  return await call(commands.pickFileToOpen(title, filters));
}

/** Native "save as" dialog suggesting `fileName`; null when the user cancels. */
export async function pickFileToSave(title: string, fileName: string, filters: FileFilter[]): Promise<string | null> {
  return await call(commands.pickFileToSave(title, fileName, filters));
}

/** Stops a listener started by `onDataChanged`. */
export type Unlisten = () => void;

/**
 * Calls `cb` with the entity kinds (e.g. `sheet`, `scorer`, `scoring_state`) after every committed
 * write, so views refresh from the backend instead of polling. Resolves to the function that stops it.
 * Without a Tauri runtime (plain browser, unit tests) nothing is ever reported.
 */
export async function onDataChanged(cb: (entities: string[]) => void): Promise<Unlisten> {
  try {
    return await events.dataChanged.listen((event) => cb(Array.isArray(event.payload?.entities) ? event.payload.entities : []));
  } catch {
    return () => {};
  }
}

/** Native "open files" dialog allowing several files; empty when the user cancels. */
export async function pickFilesToOpen(title: string, filters: FileFilter[]): Promise<string[]> {
  return await call(commands.pickFilesToOpen(title, filters));
}

/** Native "choose folder" dialog (an SD card, a camera folder); null when the user cancels. */
export async function pickFolder(title: string): Promise<string | null> {
  return await call(commands.pickFolder(title));
}

/**
 * URL of a stored photo's derived copy (320 px thumbnail or 1600 px view), served by the
 * `guanmo-media` URI scheme: never base64 through IPC. `convertFileSrc` percent-encodes its
 * whole argument (a "/" becomes "%2F"), so only the hash goes through it and the size is
 * appended as a real path segment: `guanmo-media://localhost/<hash>/<size>` (on Windows
 * `http://guanmo-media.localhost/<hash>/<size>`), which the backend splits on "/".
 */
export function photoUrl(hash: string, size: 320 | 1600): string {
  let base: string;
  try {
    base = convertFileSrc(hash, "guanmo-media");
  } catch {
    // No Tauri runtime (unit tests, plain browser): the form the scheme takes on Linux.
    base = `guanmo-media://localhost/${encodeURIComponent(hash)}`;
  }
  return `${base.replace(/\/+$/, "")}/${size}`;
}

/** Listens to one backend event; without a Tauri runtime nothing is ever reported. */
async function listenSafely<T>(event: { listen: (cb: EventCallback<T>) => Promise<UnlistenFn> }, cb: (payload: T) => void): Promise<Unlisten> {
  try {
    return await event.listen((e) => cb(e.payload));
  } catch {
    return () => {};
  }
}

/** One file of a photo import finished (imported or skipped). */
export function onPhotoImportProgress(cb: (p: PhotoImportProgress) => void): Promise<Unlisten> {
  return listenSafely(events.photoImportProgress, cb);
}

/** A photo import finished, or was cancelled. */
export function onPhotoImportFinished(cb: (p: PhotoImportFinished) => void): Promise<Unlisten> {
  return listenSafely(events.photoImportFinished, cb);
}

/** The resident site started, stopped or changed address. */
export function onLiveSiteChanged(cb: (s: LiveSiteStatus) => void): Promise<Unlisten> {
  return listenSafely(events.liveSiteChanged, cb);
}

/** The 同步 view's content changed (a run started or ended, a laptop reported in, a role changed). */
export function onSyncChanged(cb: (s: SyncStatus) => void): Promise<Unlisten> {
  return listenSafely(events.syncChanged, cb);
}

/** A step of the running sync exchange. */
export function onSyncProgress(cb: (p: SyncProgress) => void): Promise<Unlisten> {
  return listenSafely(events.syncProgress, cb);
}

/** Entries written or read of a sync bundle file. */
export function onSyncBundleProgress(cb: (p: SyncBundleProgress) => void): Promise<Unlisten> {
  return listenSafely(events.syncBundleProgress, cb);
}

/** Bytes and files done of the running backup or restore (一键备份 / 恢复). */
export function onBackupProgress(cb: (p: BackupProgress) => void): Promise<Unlisten> {
  return listenSafely(events.backupProgress, cb);
}

export type FileDropHandlers = {
  /** Files are dragged over the window (true) or left it / were dropped (false). */
  hover?: (over: boolean) => void;
  /** Paths of the files dropped on the window. */
  drop: (paths: string[]) => void;
};

/** Files dragged from the file manager onto the window (Tauri gives their paths). */
export async function onFileDrop(handlers: FileDropHandlers): Promise<Unlisten> {
  try {
    return await getCurrentWebview().onDragDropEvent((event) => {
      const p = event.payload;
      if (p.type === "enter" || p.type === "over") handlers.hover?.(true);
      else if (p.type === "leave") handlers.hover?.(false);
      else {
        handlers.hover?.(false);
        handlers.drop(p.paths);
      }
    });
  } catch {
    return () => {};
  }
}
