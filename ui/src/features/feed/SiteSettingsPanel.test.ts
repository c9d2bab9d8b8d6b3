import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { ApiError, SiteSettings, SiteSettingsSaved } from "../../ipc";
import SiteSettingsPanel from "./SiteSettingsPanel.svelte";

const defaults: SiteSettings = {
  title: "乡镇(街道)工作现场观摩会",
  pollSeconds: 15,
  comments: { phonePerMinute: 4, phoneBurst: 3, ipPerMinute: 200, ipBurst: 150 },
  actions: { phonePerMinute: 30, phoneBurst: 20, ipPerMinute: 1500, ipBurst: 1000 },
  trustedProxies: [],
  extraHosts: [],
  publicUrl: "",
};

type Calls = { cmd: string; args: Record<string, unknown> }[];

/** A backend holding `defaults`; `save` answers set_site_settings (or throws). */
function backend(save: (s: SiteSettings) => SiteSettingsSaved) {
  const calls: Calls = [];
  mockIPC((cmd, raw) => {
    const args = (raw ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    switch (cmd) {
      case "get_site_settings":
        return defaults;
      case "set_site_settings":
        return save(args.settings as SiteSettings);
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  return calls;
}

afterEach(() => {
  cleanup();
  clearMocks();
});

describe("site settings panel", () => {
  it("shows the stored settings and saves the edits, one list entry per line, saying the site restarted", async () => {
    const calls = backend((s) => ({ settings: s, restarted: true }));
    render(SiteSettingsPanel);
    expect(((await screen.findByTestId("site-title")) as HTMLInputElement).value).toBe(defaults.title);
    expect((screen.getByTestId("site-comments-ipPerMinute") as HTMLInputElement).value).toBe("200");

    await fireEvent.input(screen.getByTestId("site-poll"), { target: { value: "60" } });
    await fireEvent.input(screen.getByTestId("site-comments-ipBurst"), { target: { value: "300" } });
    await fireEvent.input(screen.getByTestId("site-proxies"), { target: { value: "10.0.0.5\n\n 10.0.0.6 \n" } });
    await fireEvent.input(screen.getByTestId("site-hosts"), { target: { value: "live.example.cn" } });
    await fireEvent.input(screen.getByTestId("site-public-url"), { target: { value: " https://live.example.cn/ " } });
    await fireEvent.click(screen.getByTestId("site-settings-save"));

    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("已保存,直播网站已按新设置重新启动"));
    const sent = calls.find((c) => c.cmd === "set_site_settings")!.args.settings as SiteSettings;
    expect(sent).toEqual({
      ...defaults,
      pollSeconds: 60,
      comments: { ...defaults.comments, ipBurst: 300 },
      trustedProxies: ["10.0.0.5", "10.0.0.6"],
      extraHosts: ["live.example.cn"],
      publicUrl: "https://live.example.cn/",
    });
  });

  it("says the settings apply at the next start when the site is not running", async () => {
    backend((s) => ({ settings: s, restarted: false }));
    render(SiteSettingsPanel);
    await fireEvent.click(await screen.findByTestId("site-settings-save"));
    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("下次开始直播时生效"));
  });

  it("shows the backend's reasons when it refuses the settings", async () => {
    backend(() => {
      throw {
        code: "validation",
        message: "site settings refused",
        problems: [{ code: "invalid", severity: "error", row: null, location: "可信反向代理地址", message: "「10.0.0.0/8」不是有效的IP地址:不支持网段,请逐个填写代理服务器的IP地址" }],
      } satisfies ApiError;
    });
    render(SiteSettingsPanel);
    await fireEvent.input(await screen.findByTestId("site-proxies"), { target: { value: "10.0.0.0/8" } });
    await fireEvent.click(screen.getByTestId("site-settings-save"));
    const panel = await screen.findByTestId("error-panel");
    expect(panel.textContent).toContain("可信反向代理地址");
    expect(panel.textContent).toContain("不支持网段");
  });

  it("does not send a number field that is not a whole number", async () => {
    const calls = backend((s) => ({ settings: s, restarted: false }));
    render(SiteSettingsPanel);
    await fireEvent.input(await screen.findByTestId("site-actions-phoneBurst"), { target: { value: "2.5" } });
    expect(screen.getByTestId("site-settings-number").textContent).toContain("整数");
    expect((screen.getByTestId("site-settings-save") as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByTestId("site-actions-phoneBurst").getAttribute("aria-invalid")).toBe("true");
    expect(calls.some((c) => c.cmd === "set_site_settings")).toBe(false);
  });
});
