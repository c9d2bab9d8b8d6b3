import { describe, expect, it } from "vitest";
import type { PhotoImportProgress, PhotoInfo, PhotoSkip } from "../../ipc";
import { type ImportRun, applyFinished, applyProgress, formatPosition, formatTakenAt, formatTimeLeft, mergePhotos, offsetSeconds, offsetText, percent, runSummary, secondsLeft, startRun } from "./photos";

function photo(hash: string): PhotoInfo {
  return {
    hash,
    file_name: `${hash}.jpg`,
    width: 1600,
    height: 1200,
    format: "jpeg",
    taken_at: null,
    camera: null,
    gps_lat: null,
    gps_lon: null,
    imported_at: "2024-12-04T02:00:00Z",
    original_bytes: 2_400_000,
  };
}
const heic: PhotoSkip = { file_name: "IMG_0012.HEIC", code: "unsupported_format", message: "IMG_0012.HEIC: 暂不支持 HEIC 格式,请导出为 JPEG" };

function progress(done: number, p: Partial<PhotoImportProgress> = {}): PhotoImportProgress {
  return { batch_id: "b1", done, total: 4, file_name: `f${done}`, photo: null, skip: null, ...p };
}

describe("time left", () => {
  it("is estimated from the average time per file so far", () => {
    // 2 files in 3 s: 1.5 s each, 6 files to go → 9 s.
    expect(secondsLeft({ done: 2, total: 8, startedAt: 1_000, lastAt: 4_000 })).toBe(9);
    expect(secondsLeft({ done: 0, total: 8, startedAt: 1_000, lastAt: 1_000 })).toBeNull();
    expect(secondsLeft({ done: 8, total: 8, startedAt: 0, lastAt: 9_000 })).toBe(0);
  });

  it("reads as seconds, minutes or hours", () => {
    expect(formatTimeLeft(null)).toBe("正在估算剩余时间…");
    expect(formatTimeLeft(0)).toBe("即将完成");
    expect(formatTimeLeft(9)).toBe("约 9 秒");
    expect(formatTimeLeft(125)).toBe("约 2 分 05 秒");
    expect(formatTimeLeft(3 * 3600 + 4 * 60)).toBe("约 3 小时 4 分");
  });
});

describe("import run", () => {
  it("counts files, collects thumbnails and skips, and ignores other batches", () => {
    let run: ImportRun = { ...startRun(4, 0), batchId: "b1" };
    run = applyProgress(run, progress(1, { photo: photo("a") }), 1_000);
    run = applyProgress(run, progress(2, { skip: heic }), 2_000);
    run = applyProgress(run, progress(3, { batch_id: "other", photo: photo("x") }), 2_500);
    run = applyProgress(run, progress(3, { photo: photo("b") }), 3_000);

    expect(run.done).toBe(3);
    expect(percent(run)).toBe(75);
    expect(run.imported.map((p) => p.hash)).toEqual(["a", "b"]);
    expect(run.skipped).toEqual([heic]);
    expect(run.current).toBe("f3");
    expect(secondsLeft(run)).toBe(1);

    run = applyFinished(run, { batch_id: "b1", imported: 2, skipped: [heic], cancelled: true });
    expect(run.finished).toBe(true);
    expect(runSummary(run)).toBe("已取消导入(已处理 3/4):成功导入 2 张,跳过 1 个文件");
    // Late events change nothing once finished.
    expect(applyProgress(run, progress(4, { photo: photo("c") }), 4_000)).toBe(run);
  });

  it("takes no event before the batch id is known", () => {
    const run = startRun(2, 0);
    expect(applyProgress(run, progress(1, { photo: photo("a") }), 10)).toBe(run);
  });

  it("shows the new photos first, each once", () => {
    const merged = mergePhotos([photo("n1"), photo("n2")], [photo("n1"), photo("old")]);
    expect(merged.map((p) => p.hash)).toEqual(["n2", "n1", "old"]);
  });
});

describe("photo facts", () => {
  it("position has five decimals, and needs both coordinates", () => {
    expect(formatPosition(26.4123456, 112.398761)).toBe("26.41235, 112.39876");
    expect(formatPosition(26.4, null)).toBeNull();
  });

  it("an EXIF time is shown as written", () => {
    expect(formatTakenAt("2024:12:04 10:32:05")).toBe("2024-12-04 10:32:05");
    expect(formatTakenAt("2024-12-04T10:32:05")).toBe("2024-12-04 10:32:05");
    expect(formatTakenAt(null)).toBeNull();
  });
});

describe("camera clock correction", () => {
  it("adds minutes for a slow camera and subtracts for a fast one", () => {
    expect(offsetSeconds("slow", 70)).toBe(4200);
    expect(offsetSeconds("fast", 5)).toBe(-300);
    expect(offsetSeconds("slow", Number.NaN)).toBe(0);
    expect(offsetText(4200)).toBe("+70 分钟");
    expect(offsetText(-300)).toBe("−5 分钟");
    expect(offsetText(0)).toBe("不校正");
  });
});
