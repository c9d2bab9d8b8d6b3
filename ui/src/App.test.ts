import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { Role, SessionView } from "./ipc";
import App from "./App.svelte";
import { deviceRole } from "./lib/deviceRole.svelte";
import { status } from "./features/sync/fixtures";
import { person, sessionView } from "./features/people/fixtures";
import { session } from "./lib/session.svelte";

function backend(role: Role | null, mayModerate = role === null || role === "hub", signedIn: SessionView | null = null) {
  const calls: string[] = [];
  let current = signedIn;
  /** The backend's own idle lock: no one is signed in any more. */
  lapse = () => (current = current && { ...current, person: null });
  mockIPC(
    (cmd, args) => {
      calls.push(cmd);
      switch (cmd) {
        case "get_session":
          return current;
        case "sign_out":
          current = current && { ...current, person: null };
          return current;
        case "sign_in":
          current = current && { ...current, person: person({ id: (args as { personId: string }).personId }) };
          return current;
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
  return calls;
}

let lapse = () => {};

const nav = () => [...document.querySelectorAll("nav button")].map((b) => b.textContent?.trim());

afterEach(() => {
  cleanup();
  clearMocks();
  session.view = null;
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
    expect(nav()).toHaveLength(8);
    expect(nav()).toContain("人员");
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

describe("谁在操作", () => {
  it("covers the window until someone signs in, then names them beside 切换用户", async () => {
    backend("hub", true, sessionView());
    render(App);
    expect(await screen.findByTestId("signin-screen")).toBeTruthy();
    expect(screen.queryByTestId("session-person")).toBeNull();

    await fireEvent.click(screen.getByTestId("signin-person-p-zs"));
    await fireEvent.input(screen.getByTestId("signin-pin"), { target: { value: "205817" } });
    await fireEvent.click(screen.getByTestId("signin-submit"));
    await waitFor(() => expect(screen.queryByTestId("signin-screen")).toBeNull());
    expect(screen.getByTestId("session-person").textContent).toBe("当前:张三(组织方)");
  });

  it("切换用户 signs out and brings the sign-in screen back", async () => {
    const calls = backend("hub", true, sessionView({ person: person() }));
    render(App);
    await fireEvent.click(await screen.findByTestId("switch-user"));
    expect(await screen.findByTestId("signin-screen")).toBeTruthy();
    expect(calls).toContain("sign_out");
  });

  it("asks the backend again when the window regains focus", async () => {
    const calls = backend("hub", true, null);
    render(App);
    await waitFor(() => expect(calls.filter((c) => c === "get_session")).toHaveLength(1));
    window.dispatchEvent(new Event("focus"));
    await waitFor(() => expect(calls.filter((c) => c === "get_session")).toHaveLength(2));
  });

  it("comes up when a command is refused for want of a sign-in", async () => {
    backend("hub", true, sessionView({ person: person() }));
    render(App);
    await screen.findByTestId("session-person");
    lapse();
    session.noticeError({ code: "sign_in_required", message: "", problems: [] });
    expect(await screen.findByTestId("signin-screen")).toBeTruthy();
    await waitFor(() => expect(screen.queryByTestId("session-person")).toBeNull());
    expect(screen.getByTestId("signin-screen")).toBeTruthy();
  });
});
