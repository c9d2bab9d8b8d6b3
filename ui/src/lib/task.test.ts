import { describe, expect, it, vi } from "vitest";
import type { ApiError } from "../ipc";
import { Task, isStale, reloadWhenStale } from "./task.svelte";

const conflict: ApiError = { code: "version_conflict", message: "已被修改", problems: [] };
const invalid: ApiError = { code: "validation", message: "", problems: [] };

describe("Task", () => {
  it("is busy while an action runs, then shows its notice", async () => {
    const task = new Task();
    let release!: () => void;
    const running = task.run(async () => {
      await new Promise<void>((r) => (release = r));
      task.notice = "已保存";
    });
    expect(task.busy).toBe(true);
    release();
    await running;
    expect(task.busy).toBe(false);
    expect(task.notice).toBe("已保存");
    expect(task.error).toBeNull();
  });

  it("clears the last messages, turns a failure into an ApiError and ignores a second action while busy", async () => {
    const task = new Task();
    task.notice = "旧的提示";
    let release!: () => void;
    const first = task.run(async () => {
      await new Promise<void>((r) => (release = r));
      throw invalid;
    });
    expect(task.notice).toBeNull();
    const second = vi.fn(async () => {});
    await task.run(second);
    expect(second).not.toHaveBeenCalled();
    release();
    await first;
    expect(task.error).toEqual(invalid);
    expect(task.busy).toBe(false);
  });

  it("runs onError before it is idle again and keeps the action's error when onError fails", async () => {
    const seen: boolean[] = [];
    const task: Task = new Task({
      onError: async () => {
        seen.push(task.busy);
        throw new Error("reload failed");
      },
    });
    await task.run(async () => {
      throw conflict;
    });
    expect(seen).toEqual([true]);
    expect(task.error).toEqual(conflict);
  });

  it("reloadWhenStale reloads on a version conflict or a vanished record only", async () => {
    expect(isStale(conflict)).toBe(true);
    expect(isStale({ code: "not_found", message: "", problems: [] })).toBe(true);
    const reload = vi.fn(async () => {});
    const task = new Task({ onError: reloadWhenStale(reload) });
    await task.run(async () => {
      throw invalid;
    });
    expect(reload).not.toHaveBeenCalled();
    await task.run(async () => {
      throw conflict;
    });
    expect(reload).toHaveBeenCalledTimes(1);
    expect(task.error).toEqual(conflict);
  });

  it("background work does not make it busy; its failure is shown", async () => {
    const task = new Task();
    task.background(async () => {
      throw conflict;
    });
    expect(task.busy).toBe(false);
    await vi.waitFor(() => expect(task.error).toEqual(conflict));
  });
});
