import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { AboutInfo } from "../../ipc";
import AboutDialog from "./AboutDialog.svelte";

const DIR = "/home/张三/.local/share/cn.guanmo.desktop";

function backend(about: Partial<AboutInfo> = {}) {
  const calls: string[] = [];
  mockIPC((cmd) => {
    calls.push(cmd);
    if (cmd === "get_about") {
      return { version: "0.1.0", commit: "58af31b", sqliteVersion: "3.53.2", dataDir: DIR, ...about } satisfies AboutInfo;
    }
    return null;
  });
  return calls;
}

afterEach(() => {
  cleanup();
  clearMocks();
  vi.unstubAllGlobals();
});

describe("AboutDialog", () => {
  it("shows the version, the commit, SQLite's version and the data folder", async () => {
    const calls = backend();
    render(AboutDialog, { onclose: () => {} });
    expect((await screen.findByTestId("about-version")).textContent).toContain("0.1.0");
    expect(screen.getByTestId("about-commit").textContent).toContain("58af31b");
    expect(screen.getByTestId("about-sqlite").textContent).toContain("3.53.2");
    expect(screen.getByTestId("about-data-dir").textContent).toContain(DIR);
    for (const label of ["版本", "提交", "SQLite", "数据文件夹"]) {
      expect(screen.getByText(label)).toBeTruthy();
    }
    expect(calls).toEqual(["get_about"]);
  });

  it("says 未知 for a build made outside a git checkout", async () => {
    backend({ commit: "unknown" });
    render(AboutDialog, { onclose: () => {} });
    expect((await screen.findByTestId("about-commit")).textContent).toContain("未知");
  });

  it("copies the data folder's path", async () => {
    backend();
    const writeText = vi.fn(() => Promise.resolve());
    vi.stubGlobal("navigator", { ...navigator, clipboard: { writeText } });
    render(AboutDialog, { onclose: () => {} });
    await fireEvent.click(await screen.findByTestId("about-copy-dir"));
    expect(writeText).toHaveBeenCalledWith(DIR);
    await waitFor(() => expect(screen.getByTestId("about-copy-dir").textContent).toContain("已复制"));
  });

  it("closes with 关闭 and with Escape", async () => {
    backend();
    const onclose = vi.fn();
    render(AboutDialog, { onclose });
    await fireEvent.click(await screen.findByTestId("about-close"));
    await fireEvent.keyDown(window, { key: "Escape" });
    expect(onclose).toHaveBeenCalledTimes(2);
  });
});
