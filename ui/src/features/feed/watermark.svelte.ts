//! 台标 in the window: the corner names, and the address of a photo's public copy (what
//! residents are served, with the logo when 台标 is on). The setting's digest goes in the
//! address: the webview keeps images by address, so a changed setting must be a new address.
import { call, commands, photoUrl, type WatermarkCorner } from "../../ipc";

export const CORNERS: { id: WatermarkCorner; label: string }[] = [
  { id: "top_left", label: "左上" },
  { id: "top_right", label: "右上" },
  { id: "bottom_left", label: "左下" },
  { id: "bottom_right", label: "右下" },
];

/** The digest public copies are made under now (null: 台标 off), asked of the backend once and kept current by 台标设置. */
class CurrentDigest {
  value = $state<string | null>(null);
  #asked = false;

  get(): string | null {
    if (!this.#asked) {
      this.#asked = true;
      call(commands.getWatermark())
        .then((s) => (this.value = s.digest))
        .catch(() => {
          // Without it the public copy is still right; only its address is less specific.
        });
    }
    return this.value;
  }

  set(digest: string | null) {
    this.#asked = true;
    this.value = digest;
  }
}

export const currentDigest = new CurrentDigest();

/** The public copy of `hash`: `…/<size>/public?w=<digest, or none>`. */
export function publicPhotoUrl(hash: string, size: 320 | 1600, digest: string | null = currentDigest.get()): string {
  return `${photoUrl(hash, size)}/public?w=${encodeURIComponent(digest ?? "none")}`;
}
