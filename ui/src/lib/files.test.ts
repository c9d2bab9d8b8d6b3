import { afterEach, describe, expect, it, vi } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { exportToFile } from "./files";

afterEach(() => clearMocks());

describe("exportToFile", () => {
  it("asks for a file of the kind, writes it there and says where", async () => {
    const dialogs: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "pick_file_to_save") {
        dialogs.push(args);
        return "/tmp/观摩路线.xlsx";
      }
      throw new Error(`unexpected command ${cmd}`);
    });
    const write = vi.fn(async () => null);

    const notice = await exportToFile("导出观摩名单", "观摩路线", "xlsx", write);

    expect(dialogs).toEqual([
      // The backend shows the dialog (the page never names a path itself).
      expect.objectContaining({ title: "导出观摩名单", fileName: "观摩路线.xlsx", filters: [{ name: "Excel 工作簿", extensions: ["xlsx"] }] }),
    ]);
    expect(write).toHaveBeenCalledWith("/tmp/观摩路线.xlsx");
    expect(notice).toBe("已导出到 /tmp/观摩路线.xlsx");
  });

  it("writes nothing when the dialog is cancelled", async () => {
    mockIPC(() => null);
    const write = vi.fn(async () => null);
    expect(await exportToFile("导出原始分", "观摩原始分", "csv", write)).toBeNull();
    expect(write).not.toHaveBeenCalled();
  });
});
