//! 大字号: one setting per laptop that enlarges the whole window (text, buttons, fields) for
//! older officials, kept in the window's own storage and applied before the first paint.

export type TextSize = "normal" | "large";

const KEY = "guanmo.textSize";
/** How much larger everything is drawn. */
const ZOOM: Record<TextSize, string> = { normal: "1", large: "1.25" };

/** The size chosen on this laptop ("normal" when none was, or storage is unavailable). */
export function getTextSize(store: Pick<Storage, "getItem"> | null = safeStorage()): TextSize {
  return store?.getItem(KEY) === "large" ? "large" : "normal";
}

/** Draws the window at `size` (and remembers it when `store` is given). */
export function applyTextSize(size: TextSize, root: HTMLElement = document.documentElement, store: Pick<Storage, "setItem"> | null = null): void {
  // CSSOM, not a style attribute: allowed by the window's CSP (style-src 'self').
  root.style.setProperty("zoom", ZOOM[size]);
  root.dataset.textSize = size;
  store?.setItem(KEY, size);
}

function safeStorage(): Storage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** Remembers and applies `size`. */
export function chooseTextSize(size: TextSize): void {
  applyTextSize(size, document.documentElement, safeStorage());
}
