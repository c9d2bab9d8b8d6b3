import { afterEach, describe, expect, it } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import type { PhotoInfo } from "../../ipc";
import { PhotoImporter } from "./importer.svelte";

afterEach(() => clearMocks());

const photo = (hash: string) => ({ hash, file_name: `${hash}.jpg` }) as PhotoInfo;

describe("PhotoImporter", () => {
  it("keeps events that arrive before the batch id and follows its own batch to the end", async () => {
    let clock = 0;
    const importer = new PhotoImporter(() => (clock += 1000));
    let answer!: (id: string) => void;
    mockIPC(
      (cmd) => {
        if (cmd === "import_photos") return new Promise<string>((r) => (answer = r));
        throw new Error(`unexpected command ${cmd}`);
      },
      { shouldMockEvents: true },
    );
    const ended: number[] = [];
    importer.onFinished(() => ended.push(1));

    const started = importer.importPaths(["/sd/a.jpg", "/sd/b.heic"]);
    await new Promise((r) => setTimeout(r, 0));
    expect(importer.running).toBe(true);
    // The first file finishes before import_photos has answered.
    await emit("photo-import-progress", { batch_id: "b1", done: 1, total: 2, file_name: "a.jpg", photo: photo("a"), skip: null });
    await emit("photo-import-progress", { batch_id: "zz", done: 1, total: 9, file_name: "x.jpg", photo: photo("x"), skip: null });
    answer("b1");
    await started;
    expect(importer.run?.imported.map((p) => p.hash)).toEqual(["a"]);
    expect(importer.run?.total).toBe(2);

    const skip = { file_name: "b.heic", code: "unsupported_format", message: "b.heic: 暂不支持 HEIC 格式,请导出为 JPEG" };
    await emit("photo-import-progress", { batch_id: "b1", done: 2, total: 2, file_name: "b.heic", photo: null, skip });
    await emit("photo-import-finished", { batch_id: "b1", imported: 1, skipped: [skip], cancelled: false });

    expect(importer.running).toBe(false);
    expect(importer.run?.skipped).toEqual([skip]);
    expect(ended).toEqual([1]);
  });
});

describe("an idle importer", () => {
  it("follows a batch it did not start, to its end, and not again after", async () => {
    let clock = 0;
    const importer = new PhotoImporter(() => (clock += 1000));
    mockIPC(() => null, { shouldMockEvents: true });
    await importer.watch();
    expect(importer.run).toBeNull();

    await emit("photo-import-progress", { batch_id: "ext", done: 1, total: 2, file_name: "a.jpg", photo: photo("a"), skip: null });
    expect(importer.running).toBe(true);
    expect(importer.run?.batchId).toBe("ext");
    expect(importer.run?.total).toBe(2);
    await emit("photo-import-progress", { batch_id: "ext", done: 2, total: 2, file_name: "b.jpg", photo: photo("b"), skip: null });
    await emit("photo-import-finished", { batch_id: "ext", imported: 2, skipped: [], cancelled: false });
    expect(importer.running).toBe(false);
    expect(importer.run?.imported.map((p) => p.hash)).toEqual(["a", "b"]);

    // A late event of the finished batch does not start it again.
    await emit("photo-import-progress", { batch_id: "ext", done: 2, total: 2, file_name: "b.jpg", photo: photo("b"), skip: null });
    expect(importer.running).toBe(false);
  });
});
