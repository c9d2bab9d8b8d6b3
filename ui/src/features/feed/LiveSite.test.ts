import { afterEach, describe, expect, it } from "vitest";
import { cleanup, render, screen } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { LiveSiteStatus, SiteSettings } from "../../ipc";
import LiveSite from "./LiveSite.svelte";

const stopped: LiveSiteStatus = { running: false, ip: null, port: null, url: null, qr_svg: null, message: null, public_url: null, public_qr_svg: null };

const settings: SiteSettings = {
  title: "乡镇(街道)工作现场观摩会",
  pollSeconds: 15,
  comments: { phonePerMinute: 4, phoneBurst: 3, ipPerMinute: 200, ipBurst: 150 },
  actions: { phonePerMinute: 30, phoneBurst: 20, ipPerMinute: 1500, ipBurst: 1000 },
  trustedProxies: [],
  extraHosts: [],
  publicUrl: "",
};

function backend(status: LiveSiteStatus) {
  mockIPC((cmd) => {
    switch (cmd) {
      case "get_live_site_status":
        return status;
      case "list_network_interfaces":
        return [{ name: "wlan0", ip: "192.168.1.20" }];
      case "get_site_settings":
        return settings;
      case "plugin:event|listen":
        return 1;
      case "plugin:event|unlisten":
        return null;
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
}

afterEach(() => {
  cleanup();
  clearMocks();
});

describe("直播网站 panel", () => {
  it("shows the hub's public address with its QR code even while this laptop's own site is off", async () => {
    backend({ ...stopped, public_url: "https://live.example.cn/", public_qr_svg: "<svg data-qr='public'></svg>" });
    render(LiveSite);
    const link = (await screen.findByTestId("site-public-link")) as HTMLAnchorElement;
    expect(link.textContent).toBe("https://live.example.cn/");
    expect(screen.getByTestId("site-public").innerHTML).toContain("data-qr=\"public\"");
    expect(screen.getByTestId("site-public").textContent).toContain("无需与本机连在同一网络");
    expect(screen.getByTestId("site-state").textContent).toBe("未开启");
  });

  it("shows no public card when the hub has no public address", async () => {
    backend(stopped);
    render(LiveSite);
    await screen.findByTestId("site-interface");
    expect(screen.queryByTestId("site-public")).toBeNull();
  });
});
