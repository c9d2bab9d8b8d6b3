import { afterEach, describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { WordImportReport } from "../../ipc";
import WordsPanel from "./WordsPanel.svelte";

const report: WordImportReport = {
  added: [{ line: 2, word: "赌博", category: "赌博" }],
  duplicates: [{ line: 3, word: "賭博", same_as: "赌博", earlier_line: 2 }],
  refused: [{ line: 4, text: "赌", reason: "单字词会命中几乎所有评论,默认不导入" }],
  warnings: [],
  categories: [{ category: "赌博", words: 1 }],
  total: 1,
  preview: false,
  message: "已导入1个敏感词,1个重复,1行未导入(单字词会命中几乎所有评论,默认不导入);词库共1个",
};

afterEach(() => clearMocks());

describe("sensitive-word import", () => {
  it("shows the import's message and, line by line, what was refused or already listed", async () => {
    let listed: string[] = [];
    mockIPC((cmd) => {
      switch (cmd) {
        case "list_sensitive_words":
          return listed;
        case "pick_file_to_open":
          return "/media/usb/敏感词.txt";
        case "import_sensitive_words":
          listed = ["赌博"];
          return report;
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    });
    render(WordsPanel, { onchanged: () => {} });
    await fireEvent.click(await screen.findByTestId("words-import"));
    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("已导入1个敏感词"));
    const details = screen.getByTestId("words-import-report");
    expect(details.textContent).toContain("新增 1 个,已有 1 个,未导入 1 行");
    expect(details.textContent).toContain("第4行「赌」:单字词会命中几乎所有评论,默认不导入");
    expect(details.textContent).toContain("第3行「賭博」(即「赌博」)与第2行重复");
  });
});
