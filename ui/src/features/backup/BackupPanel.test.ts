import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { BackupSummary, RestoreSummary } from "../../ipc";
import BackupPanel from "./BackupPanel.svelte";

const SUMMARY: BackupSummary = {
  path: "/media/u盘/guanmo-backup-20261207T0300.gmbak",
  fileBytes: 12.5 * 1024 * 1024,
  photoFiles: 36,
  photoBytes: 11 * 1024 * 1024,
  schemaVersion: 21,
  rows: 4200,
  createdAt: "2026-12-07T03:00:00Z",
  millis: 1800,
};

const RESTORED: RestoreSummary = {
  schemaVersion: 21,
  createdAt: "2026-12-07T03:00:00Z",
  deviceId: "0193-device",
  photoFiles: 36,
  rows: 4200,
  previousDataBackup: null,
};

type Handler = (cmd: string, args: Record<string, unknown>) => unknown;

/** The backend: records every command with its arguments; `over` answers some differently. */
function backend(over: Record<string, Handler> = {}) {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    if (over[cmd]) return over[cmd](cmd, a);
    switch (cmd) {
      case "has_staged_restore":
        return false;
      case "pick_file_to_save":
        return "/media/u盘/guanmo-backup-20261207T0300.gmbak";
      case "pick_file_to_open":
        return "/media/u盘/old.gmbak";
      case "backup_data":
        return SUMMARY;
      case "stage_restore":
        return RESTORED;
      case "discard_staged_restore":
        return true;
      case "cancel_backup":
        return true;
      default:
        return null;
    }
  });
  return calls;
}

afterEach(() => {
  cleanup();
  clearMocks();
});

describe("BackupPanel", () => {
  it("backs up into the file picked in the save dialog and says where", async () => {
    const calls = backend();
    render(BackupPanel);
    await fireEvent.click(screen.getByTestId("backup-now"));
    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("已备份到 /media/u盘/guanmo-backup-20261207T0300.gmbak"));
    expect(screen.getByRole("status").textContent).toContain("12.5 MB");
    const save = calls.find((c) => c.cmd === "pick_file_to_save");
    expect(String(save?.args.fileName)).toMatch(/^guanmo-backup-\d{8}T\d{4}\.gmbak$/);
    expect(calls.find((c) => c.cmd === "backup_data")?.args).toEqual({ path: SUMMARY.path });
  });

  it("does nothing when the save dialog is cancelled", async () => {
    const calls = backend({ pick_file_to_save: () => null });
    render(BackupPanel);
    await fireEvent.click(screen.getByTestId("backup-now"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "pick_file_to_save")).toBe(true));
    expect(calls.some((c) => c.cmd === "backup_data")).toBe(false);
  });

  it("shows the progress while it runs and 取消 cancels it", async () => {
    let finish: (e: unknown) => void = () => {};
    const calls = backend({
      backup_data: () =>
        new Promise((_, reject) => {
          finish = reject;
        }),
    });
    render(BackupPanel);
    await fireEvent.click(screen.getByTestId("backup-now"));
    const cancel = await screen.findByTestId("backup-cancel");
    expect(screen.getByTestId("backup-progress").textContent).toContain("0%");
    await fireEvent.click(cancel);
    expect(calls.some((c) => c.cmd === "cancel_backup")).toBe(true);
    finish({ code: "cancelled", message: "已取消备份,未留下任何文件。", problems: [] });
    await waitFor(() => expect(screen.queryByTestId("backup-progress")).toBeNull());
    expect(screen.getByTestId("error-panel").textContent).toContain("已取消");
  });

  it("asks before restoring, saying the current data is backed up first", async () => {
    const calls = backend();
    render(BackupPanel);
    await fireEvent.click(screen.getByTestId("restore-choose"));
    const confirm = await screen.findByTestId("restore-confirm");
    expect(confirm.textContent).toContain("/media/u盘/old.gmbak");
    expect(confirm.textContent).toContain("现有数据会先自动备份");
    expect(calls.some((c) => c.cmd === "stage_restore")).toBe(false);
    await fireEvent.click(screen.getByTestId("restore-confirm-no"));
    expect(screen.queryByTestId("restore-confirm")).toBeNull();
    expect(calls.some((c) => c.cmd === "stage_restore")).toBe(false);

    await fireEvent.click(screen.getByTestId("restore-choose"));
    await fireEvent.click(await screen.findByTestId("restore-confirm-yes"));
    const staged = await screen.findByTestId("restore-staged");
    expect(calls.find((c) => c.cmd === "stage_restore")?.args).toEqual({ path: "/media/u盘/old.gmbak" });
    expect(staged.textContent).toContain("照片 36 个文件");
    expect(staged.textContent).toContain("重新启动程序后");
    await fireEvent.click(screen.getByTestId("restore-discard"));
    await waitFor(() => expect(screen.queryByTestId("restore-staged")).toBeNull());
    expect(calls.some((c) => c.cmd === "discard_staged_restore")).toBe(true);
  });

  it("shows why a damaged backup was refused and stages nothing", async () => {
    backend({
      stage_restore: () => {
        throw { code: "backup_damaged", message: "备份文件已损坏(photo 的校验值(SHA-256)不符),已拒绝恢复,现有数据未改动。请换用其他备份。", problems: [] };
      },
    });
    render(BackupPanel);
    await fireEvent.click(screen.getByTestId("restore-choose"));
    await fireEvent.click(await screen.findByTestId("restore-confirm-yes"));
    const error = await screen.findByTestId("error-panel");
    expect(error.textContent).toContain("备份文件已损坏");
    expect(error.textContent).toContain("现有数据未改动");
    expect(screen.queryByTestId("restore-staged")).toBeNull();
  });

  it("offers 立即重启 for a restore staged earlier", async () => {
    const calls = backend({ has_staged_restore: () => true });
    render(BackupPanel);
    await screen.findByTestId("restore-staged");
    expect((screen.getByTestId("backup-now") as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.click(screen.getByTestId("restore-restart"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "restart_to_restore")).toBe(true));
  });
});
