import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import SignInScreen from "./SignInScreen.svelte";
import { person, sessionView } from "./fixtures";

/** A stand-in backend that records every call; `sign_in` accepts 205817 only. */
function backend() {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
    const a = args as Record<string, string>;
    if (cmd === "sign_in") {
      if (a.pin !== "205817") throw { code: "sign_in_refused", message: "PIN 不正确,还可以再试 3 次", problems: [] };
      return sessionView({ person: person() });
    }
    if (cmd === "sign_in_with_code") return sessionView({ person: person({ id: "p-ls", name: "李四", roles: ["scorer"] }) });
    throw new Error(`unexpected command ${cmd}`);
  });
  return calls;
}

afterEach(() => clearMocks());

describe("谁在操作", () => {
  it("lists the people as large buttons with unit, title and roles", () => {
    backend();
    render(SignInScreen, { view: sessionView(), onsignedin: () => {} });
    const zs = screen.getByTestId("signin-person-p-zs");
    expect(zs.textContent).toContain("张三");
    expect(zs.textContent).toContain("市委办公室 · 副主任");
    expect(zs.textContent).toContain("组织方");
    expect(screen.getByTestId("signin-person-p-ls").textContent).toContain("首次登录需登录码");
  });

  it("signs in with the chosen person's PIN on Enter, and shows the backend's refusal", async () => {
    const calls = backend();
    const onsignedin = vi.fn();
    render(SignInScreen, { view: sessionView(), onsignedin });
    await fireEvent.click(screen.getByTestId("signin-person-p-zs"));

    const pin = screen.getByTestId("signin-pin") as HTMLInputElement;
    expect(pin.type).toBe("password");
    expect(pin.inputMode).toBe("numeric");
    await fireEvent.input(pin, { target: { value: "111222" } });
    await fireEvent.submit(pin.form!);
    const error = await screen.findByTestId("signin-error");
    expect(error.textContent).toContain("PIN 不正确,还可以再试 3 次");
    expect(onsignedin).not.toHaveBeenCalled();
    expect(pin.value).toBe("");

    await fireEvent.input(pin, { target: { value: "205817" } });
    await fireEvent.click(screen.getByTestId("signin-submit"));
    await waitFor(() => expect(onsignedin).toHaveBeenCalledTimes(1));
    expect(onsignedin.mock.calls[0][0].person.name).toBe("张三");
    expect(calls.filter((c) => c.cmd === "sign_in").map((c) => c.args)).toEqual([
      { personId: "p-zs", pin: "111222" },
      { personId: "p-zs", pin: "205817" },
    ]);
  });

  it("asks for six digits before asking the backend", async () => {
    const calls = backend();
    render(SignInScreen, { view: sessionView(), onsignedin: () => {} });
    await fireEvent.click(screen.getByTestId("signin-person-p-zs"));
    await fireEvent.input(screen.getByTestId("signin-pin"), { target: { value: "2058" } });
    await fireEvent.click(screen.getByTestId("signin-submit"));
    expect(screen.getByTestId("signin-error").textContent).toContain("PIN 须为 6 位数字");
    expect(calls).toHaveLength(0);
  });

  it("without a PIN here, takes the one-time code and a new PIN typed twice the same", async () => {
    const calls = backend();
    const onsignedin = vi.fn();
    render(SignInScreen, { view: sessionView(), onsignedin });
    await fireEvent.click(screen.getByTestId("signin-person-p-ls"));
    expect(screen.queryByTestId("signin-pin")).toBeNull();

    await fireEvent.input(screen.getByTestId("signin-code"), { target: { value: "ab12 cd34" } });
    await fireEvent.input(screen.getByTestId("signin-new-pin"), { target: { value: "205817" } });
    await fireEvent.input(screen.getByTestId("signin-new-pin2"), { target: { value: "205871" } });
    await fireEvent.click(screen.getByTestId("signin-submit"));
    expect(screen.getByTestId("signin-error").textContent).toContain("两次输入的 PIN 不一致");
    expect(calls).toHaveLength(0);

    await fireEvent.input(screen.getByTestId("signin-new-pin2"), { target: { value: "205817" } });
    await fireEvent.click(screen.getByTestId("signin-submit"));
    await waitFor(() => expect(onsignedin).toHaveBeenCalledTimes(1));
    expect(calls).toEqual([{ cmd: "sign_in_with_code", args: { personId: "p-ls", code: "AB12CD34", newPin: "205817" } }]);
  });
});
