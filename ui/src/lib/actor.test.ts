import { describe, expect, it } from "vitest";
import { actorLabel } from "./actor";

describe("actorLabel", () => {
  it("names the person signed in and the device they used", () => {
    expect(actorLabel("organiser|0193a1b2-p1|张三")).toBe("张三 · 组织方");
    expect(actorLabel("scorer@0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c|p-2|李四")).toBe("李四 · 评分电脑(…3f4a5c)");
    expect(actorLabel("media@0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b|p-3|王五")).toBe("王五 · 直播电脑(…3f4a5b)");
  });
  it("says 未指定 when no one was signed in, and keeps residents as 市民", () => {
    expect(actorLabel("organiser")).toBe("未指定 · 组织方");
    expect(actorLabel("hub")).toBe("未指定 · 组织方");
    expect(actorLabel("media@0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b")).toBe("未指定 · 直播电脑(…3f4a5b)");
    expect(actorLabel("organiser|00000000-0000-0000-0000-000000000000|")).toBe("未指定 · 组织方");
    expect(actorLabel("resident")).toBe("市民");
  });
  it("leaves a typed name or an unknown tag as it is", () => {
    expect(actorLabel("李明")).toBe("李明");
    expect(actorLabel("someone@example.cn")).toBe("someone@example.cn");
    expect(actorLabel("media@")).toBe("media@");
  });
});
