import { afterEach, describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { Comment } from "../../ipc";
import QueueList from "./QueueList.svelte";
import { comment, plain } from "./fixtures";

afterEach(() => {
  clearMocks();
  localStorage.clear();
});

describe("官方回复", () => {
  it("answers an approved comment in a department's name and shows the reply on the card", async () => {
    let c: Comment = comment("c1", { status: "approved" });
    const sent: Record<string, unknown>[] = [];
    mockIPC((cmd, args) => {
      switch (cmd) {
        case "list_comment_queue":
          return [plain(c)];
        case "official_reply": {
          const a = args as { id: string; reply: string; department: string };
          sent.push(a);
          c = { ...c, reply: a.reply, reply_department: a.department, replied_at: "2024-12-04T03:00:00Z" };
          return c;
        }
        default:
          throw new Error(`unexpected command ${cmd}`);
      }
    });
    render(QueueList, { kind: "approved", reasons: [], posts: new Map(), townshipName: () => "", onchanged: () => {} });
    await fireEvent.click(await screen.findByTestId("official-c1"));
    const dept = screen.getByTestId("official-department") as HTMLInputElement;
    expect(dept.value).toBe("观摩会组委会");
    await fireEvent.input(dept, { target: { value: "常宁市委宣传部" } });
    await fireEvent.input(screen.getByTestId("official-text"), { target: { value: "感谢点赞,欢迎常来!" } });
    await fireEvent.click(screen.getByTestId("official-send"));
    await waitFor(() => expect(sent).toEqual([{ id: "c1", reply: "感谢点赞,欢迎常来!", department: "常宁市委宣传部" }]));
    const shown = await screen.findByTestId("official-reply-c1");
    expect(shown.textContent).toContain("官方回复");
    expect(shown.textContent).toContain("常宁市委宣传部:感谢点赞,欢迎常来!");
    // The department is remembered for the next reply on this computer.
    expect(localStorage.getItem("guanmo.officialReplyDepartment")).toBe("常宁市委宣传部");
    expect(screen.getByTestId("official-c1").textContent).toBe("修改官方回复");
  });

  it("a suggestion offers no 官方回复 (its township answers after 交办)", async () => {
    const s = comment("s1", { status: "approved", kind: "suggestion", handling: "open" });
    mockIPC((cmd) => {
      if (cmd === "list_comment_queue") return [plain(s)];
      throw new Error(`unexpected command ${cmd}`);
    });
    render(QueueList, { kind: "approved", reasons: [], posts: new Map(), townshipName: () => "", onchanged: () => {} });
    await screen.findByTestId("comment-s1");
    expect(screen.queryByTestId("official-s1")).toBeNull();
  });
});
