import { afterEach, describe, expect, it, vi } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import { watchDataChanged } from "./live";

afterEach(() => clearMocks());

/** Lets the listener registration (an async IPC round trip) settle. */
const settle = () => new Promise((r) => setTimeout(r, 0));

describe("watchDataChanged", () => {
  it("reports every change, and nothing once stopped", async () => {
    mockIPC(() => null, { shouldMockEvents: true });
    const cb = vi.fn();
    const stop = watchDataChanged(cb);
    await settle();

    await emit("data-changed", { entities: ["township"] });
    expect(cb).toHaveBeenCalledWith(["township"]);

    stop();
    await emit("data-changed", { entities: ["scorer"] });
    expect(cb).toHaveBeenCalledTimes(1);
  });

  it("skips changes made only of ignored entity kinds", async () => {
    mockIPC(() => null, { shouldMockEvents: true });
    const cb = vi.fn();
    watchDataChanged(cb, { ignore: ["sheet"] });
    await settle();

    await emit("data-changed", { entities: ["sheet"] });
    expect(cb).not.toHaveBeenCalled();
    await emit("data-changed", { entities: ["sheet", "scoring_state"] });
    expect(cb).toHaveBeenCalledWith(["sheet", "scoring_state"]);
  });

  it("stopped before the listener is in place, it never reports", async () => {
    mockIPC(() => null, { shouldMockEvents: true });
    const cb = vi.fn();
    watchDataChanged(cb)();
    await settle();

    await emit("data-changed", { entities: ["township"] });
    expect(cb).not.toHaveBeenCalled();
  });
});
