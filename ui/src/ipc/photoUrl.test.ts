import { afterEach, describe, expect, it } from "vitest";
import { clearMocks, mockConvertFileSrc } from "@tauri-apps/api/mocks";
import { photoUrl } from "./index";

afterEach(() => clearMocks());

describe("photoUrl", () => {
  const hash = "0a".repeat(32);

  it("keeps the size a real path segment (the backend splits the path on /)", () => {
    mockConvertFileSrc("linux");
    expect(photoUrl(hash, 320)).toBe(`guanmo-media://localhost/${hash}/320`);
    mockConvertFileSrc("windows");
    expect(photoUrl(hash, 1600)).toBe(`http://guanmo-media.localhost/${hash}/1600`);
  });

  it("still gives a URL without a Tauri runtime", () => {
    expect(photoUrl(hash, 320)).toBe(`guanmo-media://localhost/${hash}/320`);
  });
});
