import { describe, expect, it } from "vitest";
import type { Post, PostInput } from "../../ipc";
import { beijingHHMM, charCount, gridColumns, movePhoto, paragraphs, previewModel, residentStamp, residentUpdateStamp, uploadOf } from "./feed";
import { status } from "../sync/fixtures";

const input: PostInput = {
  stop_label: "【第7站·水口山镇】",
  township_id: "t-7",
  body: "  观摩团来到水口山镇。\r\n\r\n  现场汇报亮出成果。 \n\n",
  photos: ["a", "b", "c", "d"],
  credit: " 记者 李明 摄 ",
};

describe("photo order", () => {
  it("moves a photo to the place it is dropped on", () => {
    expect(movePhoto(["a", "b", "c", "d"], 0, 2)).toEqual(["b", "c", "a", "d"]);
    expect(movePhoto(["a", "b", "c", "d"], 3, 0)).toEqual(["d", "a", "b", "c"]);
  });

  it("leaves the order alone for an impossible move, and never changes its input", () => {
    const photos = ["a", "b"];
    expect(movePhoto(photos, 1, 5)).toEqual(["a", "b"]);
    expect(movePhoto(photos, 1, 0)).toEqual(["b", "a"]);
    expect(photos).toEqual(["a", "b"]);
  });
});

describe("preview formatting", () => {
  it("splits the body into trimmed, non-blank paragraphs as the resident page does", () => {
    expect(paragraphs(input.body)).toEqual(["观摩团来到水口山镇。", "现场汇报亮出成果。"]);
    expect(paragraphs("  \n ")).toEqual([]);
  });

  it("lays photos out in 1, 2 or 3 columns by count", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map(gridColumns)).toEqual([0, 1, 2, 3, 2, 3, 3, 3, 3, 3]);
  });

  it("shows times as HH:MM in Beijing time, whatever the laptop's zone", () => {
    expect(beijingHHMM("2024-12-04T01:05:00Z")).toBe("09:05");
    expect(beijingHHMM("2024-12-04T23:30:00+08:00")).toBe("23:30");
    expect(beijingHHMM("not a time")).toBe("");
  });

  it("residents read a post's time with its day: the tour runs over two days", () => {
    expect(residentStamp("2024-12-04T01:05:00Z")).toBe("12月4日 09:05");
    expect(residentStamp("2024-12-04T16:30:00Z")).toBe("12月5日 00:30");
    expect(residentUpdateStamp("2024-12-04T01:05:00Z", "2024-12-04T08:00:00Z")).toBe("16:00");
    expect(residentUpdateStamp("2024-12-04T01:05:00Z", "2024-12-05T01:00:00Z")).toBe("12月5日 09:00");
  });

  it("a draft previews at the time of publishing (now), without 已更新", () => {
    const m = previewModel(input, null, new Date("2024-12-04T02:41:00Z"));
    expect(m).toMatchObject({ time: "12月4日 10:41", stopLabel: "【第7站·水口山镇】", columns: 2, credit: "记者 李明 摄", updated: null, pinned: false });
  });

  it("a published post keeps its time; edited, it shows 已更新 at the time of saving", () => {
    const post: Post = {
      id: "p1",
      ...input,
      status: "published",
      pinned: true,
      created_at: "2024-12-04T01:00:00Z",
      published_at: "2024-12-04T01:10:00Z",
      updated_at: null,
      retracted_at: null,
      retracted_by: null,
      signoff: { levels_done: 0, editor: null, approver: null, returned_reason: null, print_footer: false },
      version: 3,
    };
    const now = new Date("2024-12-04T03:00:00Z");
    expect(previewModel(input, post, now)).toMatchObject({ time: "12月4日 09:10", updated: null, pinned: true });
    expect(previewModel({ ...input, photos: ["a"] }, post, now)).toMatchObject({ updated: "11:00", columns: 1 });
    const nextDay = new Date("2024-12-05T00:20:00Z");
    expect(previewModel({ ...input, photos: ["a"] }, post, nextDay)).toMatchObject({ updated: "12月5日 08:20" });
  });

  it("counts characters as the backend does", () => {
    expect(charCount("观摩𠀀")).toBe(3);
  });
});

describe("a post on its way to the resident page", () => {
  const published: Post = {
    id: "p1",
    ...input,
    status: "published",
    pinned: false,
    created_at: "2024-12-04T01:00:00Z",
    published_at: "2024-12-04T01:10:00Z",
    updated_at: null,
    retracted_at: null,
    retracted_by: null,
    signoff: { levels_done: 0, editor: null, approver: null, returned_reason: null, print_footer: false },
    version: 2,
  };
  const media = { role: "media" as const, hub_id: "hub" };

  it("says nothing on the hub, on a device without a role, for drafts, or before the status is known", () => {
    expect(uploadOf(published, null)).toBeNull();
    expect(uploadOf(published, status({}, { role: "hub", hub_id: "me" }))).toBeNull();
    expect(uploadOf(published, status({}, { role: null }))).toBeNull();
    expect(uploadOf({ ...published, status: "draft" }, status({}, { ...media, posts_waiting: ["p1"] }))).toBeNull();
  });

  it("is 仅本机 before pairing, 待上传 until the hub confirmed it, 已上线 after", () => {
    expect(uploadOf(published, status({}, { role: "media", hub_id: null }))?.label).toBe("仅本机");
    const waiting = uploadOf(published, status({}, { ...media, posts_waiting: ["p1"] }));
    expect(waiting).toMatchObject({ label: "待上传", tone: "wait" });
    const offline = status({ last_error: { at: "2024-12-04T01:30:00Z", error: { code: "unreachable", message: "", problems: [] } } }, { ...media, posts_waiting: ["p1"] });
    expect(uploadOf(published, offline)?.hint).toContain("联网后自动上传");
    expect(uploadOf(published, status({}, { ...media, posts_waiting: ["other"] }))).toMatchObject({ label: "已上线", tone: "ok" });
  });

  it("counts its photos while they go out", () => {
    const progress = { step: "post" as const, done: 4, total: 9, bytes: 0, post_id: "p1" };
    expect(uploadOf(published, status({ running: true, progress }, { ...media, posts_waiting: ["p1"] }))).toMatchObject({ label: "上传中 4/9", tone: "busy" });
    const other = { ...progress, post_id: "p2" };
    expect(uploadOf(published, status({ running: true, progress: other }, { ...media, posts_waiting: ["p1"] }))?.label).toBe("上传中");
  });
});
