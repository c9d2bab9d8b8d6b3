import { afterEach, describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { Rubric } from "../../ipc";
import RubricEditor from "./RubricEditor.svelte";

function rubricOf(frozen: boolean): Rubric {
  return {
    title: "评分表",
    total_points: 20,
    categories: [
      {
        id: "a",
        name: "基层党建",
        max_points: 20,
        criteria: [
          { id: "a1", name: "组织建设", max_points: 10, guidance: "" },
          { id: "a2", name: "党员教育", max_points: 10, guidance: "" },
        ],
      },
    ],
    adjustments: [],
    version: 2,
    change_reason: "上一版的原因",
    frozen,
  };
}

function backend(frozen: boolean) {
  const saves: Rubric[] = [];
  mockIPC((cmd, args) => {
    switch (cmd) {
      case "get_rubric":
        return rubricOf(frozen);
      case "validate_rubric":
        return [];
      case "save_rubric": {
        const sent = (args as { rubric: Rubric }).rubric;
        saves.push(sent);
        return { ...sent, version: 3, frozen };
      }
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  return saves;
}

afterEach(() => clearMocks());

describe("rubric editor", () => {
  it("before scoring begins there is no notice and no reason to give", async () => {
    const saves = backend(false);
    render(RubricEditor);
    expect((await screen.findByTestId("rubric-version")).textContent).toBe("第2版 · 修订原因:上一版的原因");
    expect(screen.queryByTestId("rubric-frozen")).toBeNull();
    await fireEvent.input(screen.getByTestId("rubric-title"), { target: { value: "新标题" } });
    const save = screen.getByTestId("rubric-save") as HTMLButtonElement;
    await waitFor(() => expect(save.disabled).toBe(false));
    await fireEvent.click(save);
    await waitFor(() => expect(saves).toHaveLength(1));
    expect(saves[0].change_reason).toBe("");
  });

  it("once frozen it says so and saves only with this save's 修订原因", async () => {
    const saves = backend(true);
    render(RubricEditor);
    const notice = await screen.findByTestId("rubric-frozen");
    expect(notice.textContent).toContain("评分已开始,评分标准已冻结;修改将生成新版本并重新打开受影响的评分表");
    const reason = screen.getByTestId("rubric-change-reason") as HTMLTextAreaElement;
    expect(reason.value).toBe("");

    await fireEvent.input(screen.getByTestId("rubric-title"), { target: { value: "新标题" } });
    const save = screen.getByTestId("rubric-save") as HTMLButtonElement;
    await waitFor(() => expect(screen.getByTestId("rubric-change-reason-problem").textContent).toBe("请填写修订原因(至少2个字)"));
    expect(save.disabled).toBe(true);

    await fireEvent.input(reason, { target: { value: "标题更正" } });
    await waitFor(() => expect(save.disabled).toBe(false));
    await fireEvent.click(save);
    await waitFor(() => expect(saves).toHaveLength(1));
    expect(saves[0].change_reason).toBe("标题更正");
    expect(saves[0].title).toBe("新标题");
    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("已保存为第3版"));
    expect((screen.getByTestId("rubric-change-reason") as HTMLTextAreaElement).value).toBe("");
  });
});
