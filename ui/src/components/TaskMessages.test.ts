import { describe, expect, it } from "vitest";
import { fireEvent, render, screen } from "@testing-library/svelte";
import { Task } from "../lib/task.svelte";
import TaskMessages from "./TaskMessages.svelte";

describe("TaskMessages", () => {
  it("shows the last action's notice, or its error until the user closes it", async () => {
    const task = new Task();
    await task.run(async () => {
      task.notice = "已导出到 /tmp/观摩路线.csv";
    });
    render(TaskMessages, { task });
    expect(screen.getByRole("status").textContent).toBe("已导出到 /tmp/观摩路线.csv");
    expect(screen.queryByTestId("error-panel")).toBeNull();

    await task.run(async () => {
      throw { code: "version_conflict", message: "", problems: [] };
    });
    await screen.findByTestId("error-panel");
    expect(screen.queryByRole("status")).toBeNull();

    await fireEvent.click(screen.getByText("关闭"));
    expect(screen.queryByTestId("error-panel")).toBeNull();
    expect(task.error).toBeNull();
  });
});
