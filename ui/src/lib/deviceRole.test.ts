import { describe, expect, it } from "vitest";
import { editsHubRecords, sectionShown, startSection, type Section } from "./deviceRole";

const ALL: Section[] = ["roster", "scoring", "feed", "moderation", "ranking", "sync", "settings"];

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

  it("lets only the hub (or a laptop not set up yet) edit the hub's records", () => {
    expect(editsHubRecords("hub")).toBe(true);
    expect(editsHubRecords(null)).toBe(true);
    expect(editsHubRecords("scorer")).toBe(false);
    expect(editsHubRecords("media")).toBe(false);
  });
});
