//! The only door to the backend: every other module imports from here, never from
//! `@tauri-apps/*` (the lint enforces it). Commands return `Result`; `unwrap` turns an error
//! result into a thrown `IpcError` so views can use try/catch and show one error panel.
import { open, save } from "@tauri-apps/plugin-dialog";
import { commands, events, type ApiError } from "./bindings.gen";
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

export type FileFilter = { name: string; extensions: string[] };

/** Native "open file" dialog; null when the user cancels. */
export async function pickFileToOpen(title: string, filters: FileFilter[]): Promise<string | null> {
  const picked = await open({ title, multiple: false, directory: false, filters });
  return typeof picked === "string" ? picked : null;
}

/** Native "save as" dialog; null when the user cancels. */
export async function pickFileToSave(title: string, defaultPath: string, filters: FileFilter[]): Promise<string | null> {
  const picked = await save({ title, defaultPath, filters });
  return picked ?? null;
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
