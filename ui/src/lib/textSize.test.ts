import { describe, expect, it } from "vitest";
import { applyTextSize, getTextSize } from "./textSize";

function memory(): Storage {
  const m = new Map<string, string>();
  return {
    get length() {
      return m.size;
    },
    clear: () => m.clear(),
    getItem: (k) => m.get(k) ?? null,
    key: (i) => [...m.keys()][i] ?? null,
    removeItem: (k) => void m.delete(k),
    setItem: (k, v) => void m.set(k, v),
  };
}

describe("大字号", () => {
  it("is off until chosen, then enlarges the window by a quarter and is remembered", () => {
    const store = memory();
    const root = document.createElement("div");
    expect(getTextSize(store)).toBe("normal");
    applyTextSize("large", root, store);
    expect(root.style.getPropertyValue("zoom")).toBe("1.25");
    expect(root.dataset.textSize).toBe("large");
    expect(getTextSize(store)).toBe("large");
    applyTextSize("normal", root, store);
    expect(root.style.getPropertyValue("zoom")).toBe("1");
    expect(getTextSize(store)).toBe("normal");
  });

  it("falls back to the normal size without storage or with anything else stored", () => {
    expect(getTextSize(null)).toBe("normal");
    const store = memory();
    store.setItem("guanmo.textSize", "huge");
    expect(getTextSize(store)).toBe("normal");
  });
});
