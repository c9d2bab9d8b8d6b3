import { afterEach, describe, expect, it } from "vitest";
import { cleanup, render, screen } from "@testing-library/svelte";
import ErrorPanel from "./ErrorPanel.svelte";

afterEach(() => cleanup());

describe("ErrorPanel", () => {
  it("says in Chinese what happened and keeps the English detail and the code behind 详情", () => {
    render(ErrorPanel, { error: { code: "unreachable", message: "hub not reachable: io: Connection refused (os error 111)", problems: [] } });
    const panel = screen.getByTestId("error-panel");
    expect(panel.querySelector("strong")?.textContent).toContain("连接不上组织方主机");
    const more = panel.querySelector("details")!;
    expect(more.open).toBe(false);
    expect(more.querySelector("summary")?.textContent).toBe("详情");
    expect(screen.getByTestId("error-detail").textContent).toContain("Connection refused");
    expect(more.contains(screen.getByTestId("error-detail"))).toBe(true);
    expect(more.contains(screen.getByTestId("error-code"))).toBe(true);
    // Outside 详情 there is no English.
    const outside = [...panel.children].filter((c) => c !== more).map((c) => c.textContent).join("");
    expect(outside).not.toMatch(/Connection|os error|unreachable/);
  });

  it("shows a detail the backend wrote for people", () => {
    render(ErrorPanel, { error: { code: "validation", message: "端口由环境变量固定,不能在这里更改", problems: [] } });
    expect(screen.getByTestId("error-panel").textContent).toContain("端口由环境变量固定");
    expect(screen.queryByTestId("error-detail")).toBeNull();
  });
});
