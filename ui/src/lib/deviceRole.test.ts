import { describe, expect, it } from "vitest";
import { editsHubRecords, moderationAccess, sectionShown, startSection, type Section } from "./deviceRole";

const ALL: Section[] = ["roster", "scoring", "feed", "moderation", "ranking", "people", "sync", "settings"];

describe("what a laptop's role sees", () => {
  it("opens a scorer's laptop on 评分 and a media laptop on 图文直播", () => {
    expect(startSection("scorer")).toBe("scoring");
    expect(startSection("media")).toBe("feed");
    expect(startSection("hub")).toBe("roster");
    expect(startSection(null)).toBe("roster");
  });

  it("hides moderation and the ranking from a scorer's laptop, scoring from a media laptop", () => {
    expect(ALL.filter((s) => sectionShown("scorer", s))).toEqual(["roster", "scoring", "sync", "settings"]);
    expect(ALL.filter((s) => sectionShown("media", s))).toEqual(["roster", "feed", "moderation", "sync", "settings"]);
    expect(ALL.filter((s) => sectionShown("hub", s))).toEqual(ALL);
    expect(ALL.filter((s) => sectionShown(null, s))).toEqual(ALL);
  });

  it("keeps 人员 on the hub (and a laptop not set up yet), never on a scorer's or media laptop", () => {
    expect(sectionShown("hub", "people")).toBe(true);
    expect(sectionShown(null, "people")).toBe(true);
    expect(sectionShown("scorer", "people", true)).toBe(false);
    expect(sectionShown("media", "people", true)).toBe(false);
    expect(sectionShown("hub", "ranking")).toBe(true);
  });

  it("shows 评论审核 on a scorer's laptop only while the hub grants it 审核, and never the ranking", () => {
    expect(ALL.filter((s) => sectionShown("scorer", s, true))).toEqual(["roster", "scoring", "moderation", "sync", "settings"]);
    expect(ALL.filter((s) => sectionShown("media", s, true))).toEqual(["roster", "feed", "moderation", "sync", "settings"]);
    expect(ALL.filter((s) => sectionShown("media", s, false))).toEqual(["roster", "feed", "moderation", "sync", "settings"]);
  });

  it("lets the hub do everything in 评论审核, a granted laptop decide, any other laptop only look", () => {
    expect(moderationAccess("hub", true)).toBe("full");
    expect(moderationAccess(null, true)).toBe("full");
    expect(moderationAccess("media", true)).toBe("decide");
    expect(moderationAccess("scorer", true)).toBe("decide");
    expect(moderationAccess("media", false)).toBe("read");
    expect(moderationAccess("scorer", false)).toBe("read");
  });

  it("lets only the hub (or a laptop not set up yet) edit the hub's records", () => {
    expect(editsHubRecords("hub")).toBe(true);
    expect(editsHubRecords(null)).toBe(true);
    expect(editsHubRecords("scorer")).toBe(false);
    expect(editsHubRecords("media")).toBe(false);
  });
});
