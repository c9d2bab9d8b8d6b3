import { describe, expect, it } from "vitest";
import { actorLabel } from "./actor";

describe("actorLabel", () => {
  it("names roles in Chinese and keeps a person's name", () => {
    expect(actorLabel("organiser")).toBe("组织方");
    expect(actorLabel("resident")).toBe("市民");
    expect(actorLabel("李明")).toBe("李明");
  });
  it("names a laptop by its role and the end of its device id", () => {
    expect(actorLabel("media@0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")).toBe("直播电脑(…3f4a5b)");
    expect(actorLabel("scorer@0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c")).toBe("评分电脑(…3f4a5c)");
  });
  it("leaves an unknown tag with an @ as it is", () => {
    expect(actorLabel("someone@example.cn")).toBe("someone@example.cn");
    expect(actorLabel("media@")).toBe("media@");
  });
});
