import { afterEach, describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { Post, PostInput, Township } from "../../ipc";
import Composer from "./Composer.svelte";

const town = {
  id: "t-sks",
  code: "430482102000",
  name: "水口山镇",
  kind: "town",
  enabled: true,
  position: 7,
  day: 1,
  arrival: "09:30",
  slot_minutes: 60,
  note: "",
  version: 1,
} as Township;

const HASH_A = "a".repeat(64);
const HASH_B = "b".repeat(64);

function post(input: PostInput, status: Post["status"], version: number): Post {
  return {
    id: "p-1",
    ...input,
    status,
    pinned: false,
    created_at: "2024-12-04T01:00:00Z",
    published_at: status === "published" ? "2024-12-04T01:30:00Z" : null,
    updated_at: null,
    retracted_at: null,
    retracted_by: null,
    signoff: { levels_done: 0, editor: null, approver: null, returned_reason: null, print_footer: false },
    version,
  };
}

function backend() {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  let draft: Post | null = null;
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    switch (cmd) {
      case "list_townships":
        return [town];
      case "get_media_credit":
        return "记者 李明 摄";
      case "set_media_credit":
        return a.credit;
      case "stop_label_for_township":
        return "【第7站·水口山镇】";
      case "create_draft":
        draft = post(a.input as PostInput, "draft", 1);
        return draft;
      case "publish_post":
        return post(draft!, "published", 2);
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  return calls;
}

afterEach(() => clearMocks());

describe("composer", () => {
  it("为本站起草: the stop's label and township are set and its photos offered, none added by itself", async () => {
    const calls = backend();
    render(Composer, {
      post: null,
      preset: { township_id: "t-sks", stop_label: "【第7站·水口山镇】", window: "12月4日 09:30–10:30", photos: [HASH_A, HASH_B], posts: 0 },
    });
    await waitFor(() => expect((screen.getByTestId("post-stop-label") as HTMLInputElement).value).toBe("【第7站·水口山镇】"));
    await waitFor(() => expect((screen.getByTestId("post-stop") as HTMLSelectElement).value).toBe("t-sks"));
    expect(screen.getByTestId("stop-photos").textContent).toContain("本站拍摄的照片(2 张)");
    expect(screen.queryByTestId("post-photos")).toBeNull();
    await fireEvent.click(screen.getByTestId("stop-photo-1"));
    expect(screen.getByTestId("post-photo-0").querySelector("img")?.getAttribute("src")).toContain(HASH_B);
    expect((screen.getByTestId("stop-photo-1") as HTMLButtonElement).disabled).toBe(true);
    await fireEvent.input(screen.getByTestId("post-body"), { target: { value: "观摩团来到水口山镇。" } });
    await fireEvent.click(screen.getByTestId("post-save-draft"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "create_draft")).toBe(true));
    const input = calls.find((c) => c.cmd === "create_draft")!.args.input as PostInput;
    expect(input).toMatchObject({ stop_label: "【第7站·水口山镇】", township_id: "t-sks", photos: [HASH_B] });
  });

  it("发布 creates the draft, then publishes exactly that version", async () => {
    const calls = backend();
    const saved: [Post, boolean][] = [];
    render(Composer, { post: null, onsaved: (p: Post, published: boolean) => saved.push([p, published]) });

    await waitFor(() => expect((screen.getByTestId("post-credit") as HTMLInputElement).value).toBe("记者 李明 摄"));
    await waitFor(() => expect(screen.getByTestId("post-stop").textContent).toContain("水口山镇"));
    await fireEvent.change(screen.getByTestId("post-stop"), { target: { value: "t-sks" } });
    await waitFor(() => expect((screen.getByTestId("post-stop-label") as HTMLInputElement).value).toBe("【第7站·水口山镇】"));
    await fireEvent.input(screen.getByTestId("post-body"), { target: { value: "观摩团来到水口山镇。\n\n现场汇报亮出成果。" } });

    // The preview shows the post as residents will see it.
    const preview = screen.getByTestId("post-preview");
    expect(screen.getByTestId("preview-stop").textContent).toBe("【第7站·水口山镇】");
    expect(screen.getAllByTestId("preview-paragraph").map((p) => p.textContent)).toEqual(["观摩团来到水口山镇。", "现场汇报亮出成果。"]);
    expect(preview.textContent).toContain("记者 李明 摄");
    expect(screen.getByTestId("post-body-count").textContent).toBe("21/5000 字");

    await fireEvent.click(screen.getByTestId("post-publish"));

    await waitFor(() => expect(calls.some((c) => c.cmd === "publish_post")).toBe(true));
    const writes = calls.filter((c) => c.cmd === "create_draft" || c.cmd === "publish_post" || c.cmd === "update_post");
    expect(writes).toEqual([
      {
        cmd: "create_draft",
        args: {
          input: {
            stop_label: "【第7站·水口山镇】",
            township_id: "t-sks",
            body: "观摩团来到水口山镇。\n\n现场汇报亮出成果。",
            photos: [],
            credit: "记者 李明 摄",
          },
        },
      },
      { cmd: "publish_post", args: { id: "p-1", expectedVersion: 1 } },
    ]);
    // The credit did not change: nothing to remember.
    expect(calls.some((c) => c.cmd === "set_media_credit")).toBe(false);
    await waitFor(() => expect(saved.map(([p, pub]) => [p.status, pub])).toEqual([["published", true]]));
  });

  it("edits a draft's photo order and credit, and remembers the new credit", async () => {
    const calls = backend();
    const existing = post({ stop_label: null, township_id: null, body: "开幕", photos: [HASH_A, HASH_B], credit: "记者 李明 摄" }, "draft", 4);
    calls.length = 0;
    mockIPC((cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: a });
      if (cmd === "list_townships") return [town];
      if (cmd === "get_media_credit") return "记者 李明 摄";
      if (cmd === "set_media_credit") return a.credit;
      if (cmd === "update_post") return { ...existing, ...(a.input as PostInput), version: 5 };
      throw new Error(`unexpected command ${cmd}`);
    });
    render(Composer, { post: existing });

    expect(screen.getByTestId("preview-photos").dataset.columns).toBe("2");
    await fireEvent.click(screen.getByLabelText("后移", { selector: "[data-testid=post-photo-0] button" }));
    await fireEvent.input(screen.getByTestId("post-credit"), { target: { value: "记者 王芳 摄" } });
    await fireEvent.click(screen.getByTestId("post-save-draft"));

    await waitFor(() => expect(calls.some((c) => c.cmd === "update_post")).toBe(true));
    expect(calls.find((c) => c.cmd === "set_media_credit")!.args).toEqual({ credit: "记者 王芳 摄" });
    expect(calls.find((c) => c.cmd === "update_post")!.args).toEqual({
      id: "p-1",
      expectedVersion: 4,
      input: { stop_label: null, township_id: null, body: "开幕", photos: [HASH_B, HASH_A], credit: "记者 王芳 摄" },
    });
  });
});
