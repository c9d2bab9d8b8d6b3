import { afterEach, describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { Township } from "../../ipc";
import RosterView from "./RosterView.svelte";

function township(id: string, code: string, name: string, position: number, enabled = true): Township {
  return {
    id,
    code,
    name,
    kind: "subdistrict",
    enabled,
    position,
    day: 1,
    arrival: `0${8 + position}:30`,
    slot_minutes: 40,
    note: "",
    version: 1,
  };
}

function fixture(): Township[] {
  return [
    township("id-yy", "430482001000", "宜阳街道", 0),
    township("id-qf", "430482002000", "泉峰街道", 1),
    township("id-py", "430482003000", "培元街道", 2, false),
  ];
}

/** A stand-in backend that records every call. */
function backend() {
  let list = fixture();
  const calls: { cmd: string; args: unknown }[] = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args });
    if (cmd === "list_townships") return list;
    if (cmd === "reorder_townships") {
      const ids = (args as { ids: string[] }).ids;
      list = ids.map((id, position) => ({ ...list.find((t) => t.id === id)!, position }));
      return list;
    }
    if (cmd === "update_township") {
      throw { code: "version_conflict", message: "版本已变化", problems: [] };
    }
    throw new Error(`unexpected command ${cmd}`);
  });
  return calls;
}

function rowCodes(): string[] {
  return screen
    .getAllByTestId(/^township-row-/)
    .map((row) => row.getAttribute("data-testid")!.replace("township-row-", ""));
}

afterEach(() => clearMocks());

describe("roster view", () => {
  it("shows the townships in visit order with stop numbers among enabled ones", async () => {
    backend();
    render(RosterView);
    await waitFor(() => expect(rowCodes()).toEqual(["430482001000", "430482002000", "430482003000"]));
    expect(screen.getByTestId("township-row-430482001000").textContent).toContain("第1站");
    expect(screen.getByTestId("township-row-430482002000").textContent).toContain("第2站");
    expect(screen.getByTestId("township-row-430482003000").textContent).toContain("已停用");
    expect(screen.getByTestId("arrival-430482002000").textContent).toBe("09:30");
    expect(screen.getByTestId("roster-summary").textContent).toBe("共3个,启用2个");
  });

  it("moving the first township down sends all ids with the first two swapped", async () => {
    const calls = backend();
    render(RosterView);
    await waitFor(() => expect(rowCodes()).toHaveLength(3));

    await fireEvent.click(screen.getByTestId("down-430482001000"));

    await waitFor(() => expect(calls.some((c) => c.cmd === "reorder_townships")).toBe(true));
    const reorder = calls.find((c) => c.cmd === "reorder_townships")!;
    expect(reorder.args).toEqual({ ids: ["id-qf", "id-yy", "id-py"] });
    await waitFor(() => expect(rowCodes()).toEqual(["430482002000", "430482001000", "430482003000"]));
  });

  it("a version conflict is shown in Chinese with its code", async () => {
    backend();
    render(RosterView);
    await waitFor(() => expect(rowCodes()).toHaveLength(3));

    await fireEvent.click(screen.getByTestId("toggle-430482001000"));

    const panel = await screen.findByTestId("error-panel");
    expect(panel.textContent).toContain("已被其他人修改");
    expect(screen.getByTestId("error-code").textContent).toBe("错误代码: version_conflict");
  });
});
