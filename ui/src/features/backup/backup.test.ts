import { describe, expect, it } from "vitest";
import { backupFileName, percent, phaseText, sizeText, whenText } from "./backup";

describe("backup wording", () => {
  it("names a backup file by the local minute, as guanmo backup does", () => {
    expect(backupFileName(new Date(2026, 11, 7, 3, 5))).toBe("guanmo-backup-20261207T0305.gmbak");
  });

  it("says how far it is in whole percent, never past 100", () => {
    const p = { phase: "photos" as const, bytesDone: 512, bytesTotal: 1024, itemsDone: 3, itemsTotal: 9 };
    expect(percent(p)).toBe(50);
    expect(percent({ ...p, bytesDone: 2048 })).toBe(100);
    expect(percent({ ...p, bytesTotal: 0 })).toBe(0);
    expect(percent({ ...p, bytesDone: null })).toBe(0);
    expect(percent(null)).toBe(0);
  });

  it("names every step in Chinese", () => {
    expect(phaseText("database")).toBe("正在备份数据库");
    expect(phaseText("photos")).toBe("正在备份照片");
    expect(phaseText("verifying")).toBe("正在校验备份文件");
    expect(phaseText("saving_current")).toBe("正在自动备份现有数据");
  });

  it("writes sizes and times the way people read them", () => {
    expect(sizeText(820 * 1024)).toBe("820 KB");
    expect(sizeText(12.5 * 1024 * 1024)).toBe("12.5 MB");
    expect(sizeText(null)).toBe("");
    expect(whenText("not a time")).toBe("not a time");
    expect(whenText("2026-12-07T03:00:00Z")).toBe("2026-12-07 11:00");
  });
});
