import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import type { Scorer } from "../../ipc";
import ScorersPanel from "./ScorersPanel.svelte";

const zhang: Scorer = { id: "s-1", name: "张三", group: "市领导", township_id: null, active: true, version: 1, work_unit: "" };
const li: Scorer = { id: "s-2", name: "李四", group: "市领导", township_id: null, active: true, version: 1, work_unit: "" };

function backend() {
  let scorers = [zhang];
  const calls: string[] = [];
  const registered: unknown[] = [];
  mockIPC(
    (cmd, args) => {
      calls.push(cmd);
      switch (cmd) {
        case "register_scorer": {
          const input = (args as { input: Scorer }).input;
          registered.push(input);
          return { ...input, id: `s-${registered.length + 10}`, version: 1 };
        }
        case "list_scorers":
          return scorers;
        case "list_townships":
          return [];
        case "get_device_scorer":
          return null;
        default:
          return null;
      }
    },
    { shouldMockEvents: true },
  );
  return { calls, registered, setScorers: (next: Scorer[]) => (scorers = next) };
}

// Unmount (which stops the listener) while the event mock is still there.
afterEach(() => {
  cleanup();
  clearMocks();
});

describe("scorers panel", () => {
  it("asks before registering a second scorer of the same name and group", async () => {
    const { registered } = backend();
    render(ScorersPanel);
    await screen.findByTestId("scorer-row-0");
    await fireEvent.input(screen.getByTestId("scorer-name"), { target: { value: " 张三 " } });
    await fireEvent.input(screen.getByTestId("scorer-group"), { target: { value: "市领导" } });
    await fireEvent.click(screen.getByTestId("scorer-add"));
    const dialog = await screen.findByTestId("scorer-duplicate-dialog");
    expect(dialog.textContent).toContain("“张三”(市领导)已经登记");
    expect(registered).toEqual([]);
    await fireEvent.click(screen.getByTestId("scorer-duplicate-cancel"));
    expect(registered).toEqual([]);
    await fireEvent.click(screen.getByTestId("scorer-add"));
    await fireEvent.click(await screen.findByTestId("scorer-duplicate-confirm"));
    await waitFor(() => expect(registered).toEqual([{ name: "张三", group: "市领导", township_id: null, active: true, work_unit: "" }]));
  });

  it("registers a scorer with their work unit and lists it", async () => {
    const { registered } = backend();
    render(ScorersPanel);
    await screen.findByTestId("scorer-row-0");
    await fireEvent.input(screen.getByTestId("scorer-name"), { target: { value: "赵六" } });
    await fireEvent.input(screen.getByTestId("scorer-group"), { target: { value: "市领导" } });
    await fireEvent.input(screen.getByTestId("scorer-unit"), { target: { value: " 市委办公室 " } });
    await fireEvent.click(screen.getByTestId("scorer-add"));
    await waitFor(() => expect(registered).toEqual([{ name: "赵六", group: "市领导", township_id: null, active: true, work_unit: "市委办公室" }]));
    expect((await screen.findByTestId("scorer-unit-1")).textContent).toBe("市委办公室");
    expect(screen.getByTestId("scorer-unit-0").textContent).toBe("—");
    const options = [...(screen.getByTestId("device-scorer-select") as HTMLSelectElement).options].map((o) => o.textContent);
    expect(options).toContain("赵六(市领导 · 市委办公室)");
  });

  it("says a township head needs their township before sending", async () => {
    const { registered } = backend();
    render(ScorersPanel);
    await screen.findByTestId("scorer-row-0");
    await fireEvent.input(screen.getByTestId("scorer-name"), { target: { value: "王五" } });
    await fireEvent.input(screen.getByTestId("scorer-group"), { target: { value: "乡镇(街道)党政主要负责人" } });
    await fireEvent.click(screen.getByTestId("scorer-add"));
    expect((await screen.findByTestId("scorer-township-missing")).textContent).toContain("回避本乡镇");
    expect(screen.getByTestId("scorer-township").getAttribute("aria-invalid")).toBe("true");
    expect(registered).toEqual([]);
  });

  it("reloads when another window changes scorers, not when only a sheet changed", async () => {
    const { calls, setScorers } = backend();
    render(ScorersPanel);
    await screen.findByTestId("scorer-row-0");
    await new Promise((r) => setTimeout(r, 0)); // the listener is registered asynchronously
    const loads = () => calls.filter((c) => c === "list_scorers").length;
    expect(loads()).toBe(1);

    setScorers([zhang, li]);
    await emit("data-changed", { entities: ["sheet"] });
    expect(loads()).toBe(1);

    await emit("data-changed", { entities: ["scorer"] });
    await waitFor(() => expect(screen.getByTestId("scorer-row-1").textContent).toContain("李四"));
    expect(loads()).toBe(2);
  });
});
