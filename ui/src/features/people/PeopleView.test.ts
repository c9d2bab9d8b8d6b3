import { afterEach, describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { Scorer } from "../../ipc";
import { session } from "../../lib/session.svelte";
import PeopleView from "./PeopleView.svelte";
import { person, personView, sessionView } from "./fixtures";

const scorers: Scorer[] = [
  { id: "s-1", name: "李四", group: "市领导", township_id: null, active: true, version: 1, work_unit: "市财政局" },
  { id: "s-2", name: "王五", group: "部门", township_id: null, active: true, version: 1, work_unit: "" },
];

function backend() {
  session.view = sessionView({ person: person(), idle_minutes: 10 });
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
    switch (cmd) {
      case "list_people":
        return [
          personView({}, { has_pin_here: true }),
          personView({ id: "p-ls", name: "李四", roles: ["scorer", "monitor"], scorer_id: "s-1" }, { scorer_name: "李四", code_expires_at: "2024-12-04T10:00:00Z" }),
        ];
      case "list_scorers":
        return scorers;
      case "get_sign_in_log":
        return [
          { at: "2024-12-04T01:00:00Z", person_id: "p-zs", person_name: "张三", event: "signed_in", detail: "" },
          { at: "2024-12-04T01:05:00Z", person_id: "p-ls", person_name: "李四", event: "wrong_pin", detail: "还可以再试 4 次" },
        ];
      case "save_person":
        return person({ id: "p-new", ...(args as { input: object }).input });
      case "set_person_pin":
        return personView({}, { has_pin_here: true });
      case "issue_sign_in_code":
        return { code: "AB12CD34", expires_at: "2024-12-04T12:00:00Z" };
      case "set_idle_minutes":
        return sessionView({ person: person(), idle_minutes: (args as { minutes: number }).minutes });
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  return calls;
}

afterEach(() => {
  clearMocks();
  session.view = null;
});

describe("人员", () => {
  it("lists people with Chinese roles, their scorer, this computer's PIN and their code", async () => {
    backend();
    render(PeopleView);
    const ls = await screen.findByTestId("person-row-p-ls");
    expect(ls.textContent).toContain("评分人、监票人");
    expect(ls.textContent).toContain("李四");
    expect(ls.textContent).toContain("未设置");
    expect(ls.textContent).toContain("有效至 2024-12-04 18:00");
    const zs = screen.getByTestId("person-row-p-zs");
    expect(zs.textContent).toContain("组织方");
    expect(zs.textContent).toContain("已设置");
    const log = screen.getByTestId("signin-log").textContent ?? "";
    expect(log).toContain("PIN错误");
    expect(log).toContain("登录");
  });

  it("sends a new person with roles in order and the scorer, which is asked only for a 评分人", async () => {
    const calls = backend();
    render(PeopleView);
    await screen.findByTestId("person-row-p-zs");
    await fireEvent.click(screen.getByTestId("people-add"));
    await fireEvent.input(screen.getByTestId("person-name"), { target: { value: " 赵六 " } });
    await fireEvent.click(screen.getByTestId("person-role-monitor"));
    expect(screen.queryByTestId("person-scorer")).toBeNull();
    await fireEvent.click(screen.getByTestId("person-role-scorer"));
    await fireEvent.change(screen.getByTestId("person-scorer"), { target: { value: "s-2" } });
    await fireEvent.click(screen.getByTestId("person-save"));
    await waitFor(() => expect(screen.queryByTestId("person-form")).toBeNull());
    expect(calls.find((c) => c.cmd === "save_person")!.args).toEqual({
      id: null,
      expectedVersion: 0,
      input: { name: "赵六", work_unit: "", title: "", roles: ["scorer", "monitor"], scorer_id: "s-2", active: true },
    });
  });

  it("edits a person at the version read, dropping the scorer when 评分人 is unticked", async () => {
    const calls = backend();
    render(PeopleView);
    await fireEvent.click(await screen.findByTestId("person-edit-p-ls"));
    expect((screen.getByTestId("person-scorer") as HTMLSelectElement).value).toBe("s-1");
    await fireEvent.click(screen.getByTestId("person-role-scorer"));
    expect(screen.queryByTestId("person-scorer")).toBeNull();
    await fireEvent.click(screen.getByTestId("person-save"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "save_person")).toBe(true));
    const args = calls.find((c) => c.cmd === "save_person")!.args;
    expect(args.id).toBe("p-ls");
    expect(args.expectedVersion).toBe(1);
    expect(args.input).toMatchObject({ roles: ["monitor"], scorer_id: null });
  });

  it("sets a PIN only when typed twice the same", async () => {
    const calls = backend();
    render(PeopleView);
    await fireEvent.click(await screen.findByTestId("person-set-pin-p-ls"));
    expect(screen.getByTestId("pin-dialog").textContent).toContain("请本人输入 6 位 PIN");
    await fireEvent.input(screen.getByTestId("pin-new"), { target: { value: "205817" } });
    await fireEvent.input(screen.getByTestId("pin-confirm"), { target: { value: "205818" } });
    await fireEvent.click(screen.getByTestId("pin-save"));
    expect(screen.getByTestId("pin-error").textContent).toContain("不一致");
    expect(calls.some((c) => c.cmd === "set_person_pin")).toBe(false);
    await fireEvent.input(screen.getByTestId("pin-confirm"), { target: { value: "205817" } });
    await fireEvent.click(screen.getByTestId("pin-save"));
    await waitFor(() => expect(screen.queryByTestId("pin-dialog")).toBeNull());
    expect(calls.find((c) => c.cmd === "set_person_pin")!.args).toEqual({ personId: "p-ls", pin: "205817" });
  });

  it("shows an issued code once with its expiry and what to tell the person", async () => {
    backend();
    render(PeopleView);
    await fireEvent.click(await screen.findByTestId("person-issue-code-p-ls"));
    expect((await screen.findByTestId("issued-code")).textContent).toBe("AB12CD34");
    const dialog = screen.getByTestId("code-dialog").textContent ?? "";
    expect(dialog).toContain("有效至 2024-12-04 20:00");
    expect(dialog).toContain("请告知本人,在评分电脑/直播电脑上首次登录时输入;同步后生效");
  });

  it("saves the idle lock's minutes", async () => {
    const calls = backend();
    render(PeopleView);
    await screen.findByTestId("person-row-p-zs");
    expect((screen.getByTestId("idle-minutes") as HTMLInputElement).value).toBe("10");
    await fireEvent.input(screen.getByTestId("idle-minutes"), { target: { value: "15" } });
    await fireEvent.click(screen.getByTestId("idle-save"));
    await waitFor(() => expect(session.view?.idle_minutes).toBe(15));
    expect(calls.find((c) => c.cmd === "set_idle_minutes")!.args).toEqual({ minutes: 15 });
  });
});
