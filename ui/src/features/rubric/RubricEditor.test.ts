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
      case "list_rubrics":
        return [rubricOf(frozen)];
      case "get_results_settings":
        return { groups: [], blend: null };
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

  it("a group gets its own rubric from a copy of the shared one, and gives it back", async () => {
    const saved: Rubric[] = [];
    const removed: string[] = [];
    let own: Rubric | null = null;
    mockIPC((cmd, args) => {
      switch (cmd) {
        case "list_rubrics":
          return own ? [rubricOf(false), own] : [rubricOf(false)];
        case "get_results_settings":
          return { groups: [{ name: "街道组", bands: [] }, { name: "乡镇组", bands: [] }], blend: null };
        case "validate_rubric":
          return [];
        case "save_rubric": {
          const sent = (args as { rubric: Rubric }).rubric;
          saved.push(sent);
          own = { ...sent, version: 1, frozen: false };
          return own;
        }
        case "remove_group_rubric":
          removed.push((args as { group: string }).group);
          own = null;
          return null;
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    });
    render(RubricEditor);
    const street = await screen.findByTestId("rubric-group-街道组");
    expect(street.textContent).toContain("用共用标准");
    await fireEvent.click(street);
    expect((await screen.findByTestId("rubric-group-uses-shared")).textContent).toContain("街道组目前使用共用评分标准");

    await fireEvent.click(screen.getByTestId("rubric-group-start"));
    const title = (await screen.findByTestId("rubric-title")) as HTMLInputElement;
    expect(title.value).toBe("街道组评分表");
    const save = screen.getByTestId("rubric-save") as HTMLButtonElement;
    await waitFor(() => expect(save.disabled).toBe(false));
    await fireEvent.click(save);
    await waitFor(() => expect(saved).toHaveLength(1));
    expect(saved[0].eval_group).toBe("街道组");
    expect(saved[0].categories[0].criteria.map((k) => k.name)).toEqual(["组织建设", "党员教育"]);
    await waitFor(() => expect(screen.getByTestId("rubric-group-街道组").textContent).toContain("本组标准"));

    await fireEvent.click(screen.getByTestId("rubric-group-remove"));
    await fireEvent.click(await screen.findByTestId("rubric-group-remove-confirm"));
    await waitFor(() => expect(removed).toEqual(["街道组"]));
    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("街道组已改回使用共用评分标准"));
    expect(screen.getByTestId("rubric-group-uses-shared")).toBeTruthy();
  });
});
