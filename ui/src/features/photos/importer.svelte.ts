//! The photo import in progress, shared by every view that imports (照片库, the photo pickers of
//! the composer and of the score sheet): one import at a time for the whole window, and its
//! progress survives switching tabs. The backend reports each finished file with an event; events
//! that arrive before `import_photos` has answered with the batch id are kept and replayed.
import { call, commands, errorOf, onPhotoImportFinished, onPhotoImportProgress, pickFilesToOpen, pickFolder, type ApiError } from "../../ipc";
import type { PhotoImportFinished, PhotoImportProgress } from "../../ipc";
import { IMAGE_EXTENSIONS, applyFinished, applyProgress, startRun, type ImportRun } from "./photos";

type Pending = { kind: "progress"; ev: PhotoImportProgress; at: number } | { kind: "finished"; ev: PhotoImportFinished };

export class PhotoImporter {
  run: ImportRun | null = $state(null);
  error: ApiError | null = $state(null);
  /** Called after every run ends (views reload their photo list). */
  #onFinished: (() => void)[] = [];
  #pending: Pending[] = [];
  #listening: Promise<unknown> | null = null;
  /** Batches already seen to the end, so a late event cannot restart them. Bookkeeping only:
   *  nothing renders from it, so it needs no reactivity. */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  #ended = new Set<string>();
  readonly #now: () => number;

  constructor(now: () => number = () => Date.now()) {
    this.#now = now;
  }

  /** True while a batch is being imported. */
  get running(): boolean {
    return this.run !== null && !this.run.finished;
  }

  /** Calls `cb` at the end of every run; returns the function that stops it. */
  onFinished(cb: () => void): () => void {
    this.#onFinished = [...this.#onFinished, cb];
    return () => {
      this.#onFinished = this.#onFinished.filter((f) => f !== cb);
    };
  }

  #listen(): Promise<unknown> {
    this.#listening ??= Promise.all([
      onPhotoImportProgress((ev) => this.#receive({ kind: "progress", ev, at: this.#now() })),
      onPhotoImportFinished((ev) => this.#receive({ kind: "finished", ev })),
    ]);
    return this.#listening;
  }

  /** Starts listening for imports started elsewhere (e.g. by another view or window), which the
   *  importer then follows like its own when it is idle. */
  watch(): Promise<unknown> {
    return this.#listen();
  }

  #receive(p: Pending) {
    if ((!this.run || this.run.finished) && p.kind === "progress" && !this.#ended.has(p.ev.batch_id)) {
      // Idle, and a batch we did not start reports: follow it.
      this.#pending = [];
      this.run = { ...startRun(p.ev.total, p.at), batchId: p.ev.batch_id };
    }
    const run = this.run;
    if (!run || run.finished) return;
    if (run.batchId === null) {
      this.#pending.push(p);
      return;
    }
    this.#apply(p);
  }

  #apply(p: Pending) {
    if (!this.run) return;
    const wasFinished = this.run.finished;
    this.run = p.kind === "progress" ? applyProgress(this.run, p.ev, p.at) : applyFinished(this.run, p.ev);
    if (!wasFinished && this.run.finished) {
      if (this.run.batchId) this.#ended.add(this.run.batchId);
      for (const cb of this.#onFinished) cb();
    }
  }

  /** Imports `paths` in the background; nothing happens while another import runs or without paths. */
  async importPaths(paths: string[]): Promise<void> {
    if (this.running || paths.length === 0) return;
    this.error = null;
    await this.#listen();
    this.#pending = [];
    this.run = startRun(paths.length, this.#now());
    try {
      const batchId = await call(commands.importPhotos(paths));
      if (!this.run) return;
      this.run = { ...this.run, batchId };
      const pending = this.#pending;
      this.#pending = [];
      for (const p of pending) this.#apply(p);
    } catch (e) {
      this.run = null;
      this.error = errorOf(e);
    }
  }

  /** File dialog (several files; "所有文件" too, so unsupported formats are refused with a reason). */
  async importFiles(): Promise<void> {
    if (this.running) return;
    try {
      const paths = await pickFilesToOpen("导入照片", [
        { name: "图片(JPEG / PNG / WebP)", extensions: IMAGE_EXTENSIONS },
        { name: "所有文件", extensions: ["*"] },
      ]);
      await this.importPaths(paths);
    } catch (e) {
      this.error = errorOf(e);
    }
  }

  /** Folder dialog (an SD card, a camera folder): every image in it. */
  async importFolder(): Promise<void> {
    if (this.running) return;
    try {
      const dir = await pickFolder("导入文件夹中的照片");
      if (!dir) return;
      const paths = await call(commands.listFolderImages(dir));
      if (paths.length === 0) {
        this.error = { code: "file_unreadable", message: `文件夹中没有可导入的图片:${dir}`, problems: [] };
        return;
      }
      await this.importPaths(paths);
    } catch (e) {
      this.error = errorOf(e);
    }
  }

  async cancel(): Promise<void> {
    const run = this.run;
    if (!run || run.finished || run.batchId === null || run.cancelling) return;
    this.run = { ...run, cancelling: true };
    try {
      await call(commands.cancelPhotoImport(run.batchId));
    } catch (e) {
      if (this.run) this.run = { ...this.run, cancelling: false };
      this.error = errorOf(e);
    }
  }

  /** Hides the report of a finished run. */
  dismiss(): void {
    if (this.run?.finished) this.run = null;
    this.error = null;
  }
}

/** The window's one importer. */
export const photoImporter = new PhotoImporter();
