import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { Role } from "./ipc";
import App from "./App.svelte";
import { deviceRole } from "./lib/deviceRole.svelte";
import { status } from "./features/sync/fixtures";

function backend(role: Role | null, mayModerate = role === null || role === "hub") {
  mockIPC(
    (cmd) => {
      switch (cmd) {
        case "get_sync_overview":
          return status({ may_moderate: mayModerate }, { role, name: role ? "评分电脑3号" : "" });
        case "get_delivery":
          return { to_hub: false, pending_sheet_ids: [], pending_records: 0 };
        case "get_media_credit":
          return "";
        case "list_townships":
        case "list_scorers":
        case "list_posts":
        case "list_photos":
          return [];
        default:
          return null;
      }
    },
    { shouldMockEvents: true },
  );
  // The role is read once per window; each test starts from what its backend says.
  deviceRole.set(role, mayModerate);
}

const nav = () => [...document.querySelectorAll("nav button")].map((b) => b.textContent?.trim());

afterEach(() => {
  cleanup();
  clearMocks();
});

describe("the window follows the laptop's role", () => {
  it("opens a scorer's laptop on 评分 without moderation, ranking or the live feed", async () => {
    backend("scorer");
    render(App);
    await waitFor(() => expect(screen.getByTestId("nav-scoring").getAttribute("aria-current")).toBe("page"));
    expect(nav()).toEqual(["观摩路线", "评分", "同步", "设置"]);
    expect(screen.queryByTestId("first-start")).toBeNull();
  });

  it("opens a media laptop on 图文直播 without scoring or ranking", async () => {
    backend("media");
    render(App);
    await waitFor(() => expect(screen.getByTestId("nav-feed").getAttribute("aria-current")).toBe("page"));
    expect(nav()).toEqual(["观摩路线", "图文直播", "评论审核", "同步", "设置"]);
  });

  it("shows 评论审核 on a scorer's laptop the hub granted 审核, still without the ranking (背靠背)", async () => {
    backend("scorer", true);
    render(App);
    await waitFor(() => expect(screen.getByTestId("nav-scoring").getAttribute("aria-current")).toBe("page"));
    expect(nav()).toEqual(["观摩路线", "评分", "评论审核", "同步", "设置"]);
  });

  it("asks a laptop without a role what it is for, until it is put off or chosen", async () => {
    backend(null);
    render(App);
    expect((await screen.findByTestId("first-start")).textContent).toContain("这台电脑做什么用");
    expect(nav()).toHaveLength(7);
    await fireEvent.click(screen.getByTestId("first-start-later"));
    expect(screen.queryByTestId("first-start")).toBeNull();
  });

  it("takes the organiser to 同步 to choose", async () => {
    backend(null);
    render(App);
    await fireEvent.click(await screen.findByTestId("first-start-choose"));
    await waitFor(() => expect(screen.getByTestId("nav-sync").getAttribute("aria-current")).toBe("page"));
    expect(screen.queryByTestId("first-start")).toBeNull();
  });
});
