import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { ApiError, PhotoInfo, WatermarkPlacement, WatermarkSettings } from "../../ipc";
import WatermarkPanel from "./WatermarkPanel.svelte";
import { currentDigest, publicPhotoUrl } from "./watermark.svelte";

const limits = { sizePct: [8, 30] as [number, number], opacityPct: [10, 100] as [number, number], marginPct: [0, 10] as [number, number], maxLogoBytes: 2097152 };
const off: WatermarkSettings = {
  placement: { enabled: false, corner: "bottom_right", sizePct: 15, opacityPct: 80, marginPct: 3 },
  logo: null,
  digest: null,
  limits,
};
const withLogo: WatermarkSettings = {
  placement: { ...off.placement, enabled: true },
  logo: { name: "县融媒体中心.png", width: 400, height: 160, bytes: 20480 },
  digest: "0123456789abcdef",
  limits,
};
const photo = (hash: string): PhotoInfo => ({
  hash,
  file_name: `${hash.slice(0, 4)}.jpg`,
  width: 1600,
  height: 1067,
  format: "jpeg",
  taken_at: null,
  camera: null,
  gps_lat: null,
  gps_lon: null,
  original_bytes: 1000,
  imported_at: "2024-12-04T08:00:00Z",
});

type Calls = { cmd: string; args: Record<string, unknown> }[];

function backend(initial: WatermarkSettings, answers: Partial<Record<string, (args: Record<string, unknown>) => unknown>> = {}) {
  const calls: Calls = [];
  mockIPC((cmd, raw) => {
    const args = (raw ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args });
    const answer = answers[cmd];
    if (answer) return answer(args);
    switch (cmd) {
      case "get_watermark":
        return initial;
      case "list_photos":
        return [photo("a".repeat(64)), photo("b".repeat(64))];
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

describe("台标设置", () => {
  it("chooses a PNG logo, then shows the preview of a photo as residents will see it", async () => {
    const calls = backend(off, {
      pick_file_to_open: () => "/media/u盘/县融媒体中心.png",
      set_watermark_logo: () => withLogo,
    });
    render(WatermarkPanel);
    expect((await screen.findByTestId("watermark-logo")).textContent).toBe("尚未选择台标图片");
    expect((screen.getByTestId("watermark-enabled") as HTMLInputElement).disabled).toBe(true);
    await fireEvent.click(screen.getByTestId("watermark-choose"));
    await waitFor(() => expect(screen.getByTestId("watermark-logo").textContent).toBe("县融媒体中心.png · 400×160 像素"));
    expect(calls.find((c) => c.cmd === "set_watermark_logo")?.args).toEqual({ path: "/media/u盘/县融媒体中心.png" });
    expect(calls.find((c) => c.cmd === "pick_file_to_open")?.args.filters).toEqual([{ name: "台标(PNG,带透明背景)", extensions: ["png"] }]);
    expect(screen.getByRole("status").textContent).toContain("已换上新台标并开启");
    const preview = screen.getByTestId("watermark-preview-image") as HTMLImageElement;
    expect(preview.getAttribute("src")).toBe(publicPhotoUrl("a".repeat(64), 1600, "0123456789abcdef"));
    expect(preview.getAttribute("src")).toMatch(/\/1600\/public\?w=0123456789abcdef$/);
    // Another photo for the preview.
    await fireEvent.click(screen.getAllByTestId("watermark-preview-choice")[1]);
    expect(preview.getAttribute("src")).toContain("b".repeat(64));
  });

  it("saves the corner, size and opacity, and the preview follows the new digest", async () => {
    const calls = backend(withLogo, {
      set_watermark_placement: (args) => ({ ...withLogo, placement: args.placement as WatermarkPlacement, digest: "fedcba9876543210" }),
    });
    render(WatermarkPanel);
    const save = (await screen.findByTestId("watermark-save")) as HTMLButtonElement;
    expect(save.disabled).toBe(true);
    await fireEvent.click(screen.getByTestId("watermark-corner-top_left"));
    await fireEvent.input(screen.getByTestId("watermark-size"), { target: { value: "20" } });
    await fireEvent.input(screen.getByTestId("watermark-opacity"), { target: { value: "50" } });
    expect(save.disabled).toBe(false);
    await fireEvent.click(save);
    await waitFor(() => expect(screen.getByRole("status").textContent).toContain("已按新设置加上台标"));
    expect(calls.find((c) => c.cmd === "set_watermark_placement")?.args.placement).toEqual({
      enabled: true,
      corner: "top_left",
      sizePct: 20,
      opacityPct: 50,
      marginPct: 3,
    });
    expect(screen.getByTestId("watermark-preview-image").getAttribute("src")).toContain("?w=fedcba9876543210");
  });

  it("shows why a JPEG logo was refused, in Chinese with its code, and keeps what was saved", async () => {
    const refused: ApiError = {
      code: "unsupported_format",
      message: "logo_not_png: the logo is not a PNG but JPEG",
      problems: [
        {
          code: "invalid",
          severity: "error",
          row: null,
          location: "台标 logo.jpg",
          message: "台标必须是带透明背景的 PNG 图片,所选文件是 JPEG,请让美编导出 PNG 后再选",
        },
      ],
    };
    backend(withLogo, {
      pick_file_to_open: () => "/media/u盘/logo.jpg",
      set_watermark_logo: () => {
        throw refused;
      },
    });
    render(WatermarkPanel);
    await fireEvent.click(await screen.findByTestId("watermark-choose"));
    const alert = await screen.findByTestId("watermark-refusal");
    expect(alert.textContent).toContain("台标 logo.jpg · 台标必须是带透明背景的 PNG 图片,所选文件是 JPEG");
    expect(alert.textContent).toContain("错误代码: unsupported_format");
    expect(screen.getByTestId("watermark-logo").textContent).toContain("县融媒体中心.png");
  });
});

describe("the composer's phone preview", () => {
  it("shows each photo's public copy, addressed by the current 台标 digest, never the app's plain copy", async () => {
    const { default: PostPreview } = await import("./PostPreview.svelte");
    const hashes = ["c".repeat(64), "d".repeat(64)];
    const model = { time: "12月04日 08:30", stopLabel: null, paragraphs: ["正文"], photos: hashes, columns: 2, credit: "", updated: null, pinned: false };
    const srcs = () => [...screen.getByTestId("preview-photos").querySelectorAll("img")].map((i) => i.getAttribute("src"));
    currentDigest.set("0123456789abcdef");
    render(PostPreview, { props: { model } });
    expect(srcs()).toEqual(hashes.map((h) => `guanmo-media://localhost/${h}/320/public?w=0123456789abcdef`));
    // 台标 switched off in 台标设置: a new address, so the webview cannot show the old copy.
    currentDigest.set(null);
    await waitFor(() => expect(srcs()).toEqual(hashes.map((h) => `guanmo-media://localhost/${h}/320/public?w=none`)));
  });
});
