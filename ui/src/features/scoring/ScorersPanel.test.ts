import { afterEach, describe, expect, it } from "vitest";
import { cleanup, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import type { Scorer } from "../../ipc";
import ScorersPanel from "./ScorersPanel.svelte";

const zhang: Scorer = { id: "s-1", name: "张三", group: "市领导", township_id: null, active: true, version: 1 };
const li: Scorer = { id: "s-2", name: "李四", group: "市领导", township_id: null, active: true, version: 1 };

function backend() {
  let scorers = [zhang];
  const calls: string[] = [];
  mockIPC(
    (cmd) => {
      calls.push(cmd);
      switch (cmd) {
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
  return { calls, setScorers: (next: Scorer[]) => (scorers = next) };
}

// Unmount (which stops the listener) while the event mock is still there.
afterEach(() => {
  cleanup();
  clearMocks();
});

describe("scorers panel", () => {
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
