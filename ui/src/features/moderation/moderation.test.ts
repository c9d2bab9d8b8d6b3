import { describe, expect, it } from "vitest";
import type { Delivery, IssueView, ModLogEntry, ModerationOverview, Post } from "../../ipc";
import {
  isPendingUpload,
  overruledComments,
  TABS,
  actionLabel,
  actorLabel,
  beijingDateTime,
  coalesce,
  filterWords,
  focusKind,
  keepSelection,
  logDetail,
  pruneChecked,
  queueKey,
  rejectKey,
  resolveReason,
  tabCount,
  targetLabel,
  wordsReportText,
  type KeyPress,
} from "./moderation";

const REASONS = ["含敏感词或不文明用语", "与观摩会内容无关", "含广告或联系方式", "涉及他人隐私", "重复内容", "信息不实"];

const press = (key: string, over: Partial<KeyPress> = {}): KeyPress => ({ key, focus: "none", modified: false, ...over });

const overview: ModerationOverview = {
  pending: 4,
  reported: 1,
  approved: 9,
  rejected: 2,
  suggestions_open: 3,
  area_open: true,
  words: 120,
  reject_reasons: REASONS,
};

describe("tabs", () => {
  it("list the seven sections the issue asks for, plus the mutes, in order", () => {
    expect(TABS.map((t) => t.label)).toEqual(["待审核", "被举报", "已通过", "已驳回", "意见建议", "禁言名单", "敏感词库", "审核记录"]);
  });

  it("count what the overview says, the mutes from their list, and nothing for the log", () => {
    expect(tabCount("pending", overview, 0)).toBe(4);
    expect(tabCount("reported", overview, 0)).toBe(1);
    expect(tabCount("suggestions", overview, 0)).toBe(3);
    expect(tabCount("words", overview, 0)).toBe(120);
    expect(tabCount("mutes", null, 2)).toBe(2);
    expect(tabCount("log", overview, 2)).toBeNull();
    expect(tabCount("pending", null, 2)).toBeNull();
  });
});

describe("labels", () => {
  it("name every moderation-log action in Chinese and leave an unknown one as it is", () => {
    for (const a of ["approve", "reject", "pin", "unpin", "appeal", "report", "mute", "unmute", "close", "reopen", "assign", "reply", "words", "dismiss_reports", "sms", "official_reply", "retention", "export_records"]) {
      expect(actionLabel(a)).toMatch(/[\u4e00-\u9fff]/);
    }
    expect(actionLabel("approve")).toBe("审核通过");
    expect(actionLabel("close")).toBe("关闭评论区");
    expect(actionLabel("something_new")).toBe("something_new");
    expect(actorLabel("organiser")).toBe("未指定 · 组织方");
    expect(actorLabel("resident")).toBe("市民");
    expect(actorLabel("李明")).toBe("李明");
  });

  it("explain a log line's detail: a mute's end in Beijing time, the township handed to, words added", () => {
    const entry = (action: string, detail: string): ModLogEntry => ({ id: "l", at: "2024-12-04T01:00:00Z", actor: "organiser", action, comment_id: null, phone_masked: null, reason: null, detail });
    const name = (id: string) => (id === "t-sks" ? "水口山镇" : "?");
    expect(logDetail(entry("mute", "2024-12-11T01:00:00Z"), name)).toBe("禁言至 2024-12-11 09:00");
    expect(logDetail(entry("assign", "t-sks"), name)).toBe("交办给 水口山镇");
    expect(logDetail(entry("words", "+3"), name)).toBe("新增 3 个词");
    expect(logDetail(entry("words", "-2"), name)).toBe("删除 2 个词");
    expect(logDetail({ ...entry("approve", ""), detail: null }, name)).toBe("");
  });

  it("name the post a comment is on by its stop label, or 整场活动 for the event", () => {
    const post = { id: "p1", stop_label: "【第7站·水口山镇】", body: "正文" } as Post;
    const bare = { id: "p2", stop_label: null, body: "开幕式在宜阳街道举行,观摩团一行" } as Post;
    const posts = new Map([
      ["p1", post],
      ["p2", bare],
    ]);
    expect(targetLabel("event", posts)).toBe("整场活动");
    expect(targetLabel("p1", posts)).toBe("【第7站·水口山镇】");
    expect(targetLabel("p2", posts)).toBe("动态:开幕式在宜阳街道举行,观摩团一行");
    expect(targetLabel("gone", posts)).toBe("某条动态");
  });

  it("report a word-list change as 新增/删除, 跳过 and 共计", () => {
    expect(wordsReportText({ changed: 3, skipped: 0, total: 10 }, "add")).toBe("新增 3 个,词库共计 10 个");
    expect(wordsReportText({ changed: 0, skipped: 2, total: 10 }, "add")).toContain("跳过 2 行");
    expect(wordsReportText({ changed: 2, skipped: 0, total: 8 }, "remove")).toBe("删除 2 个,词库共计 8 个");
  });
});

describe("beijingDateTime", () => {
  it("shows date and HH:MM in Beijing time whatever the zone of the instant", () => {
    expect(beijingDateTime("2024-12-04T01:30:00Z")).toBe("2024-12-04 09:30");
    expect(beijingDateTime("2024-12-04T09:30:00+08:00")).toBe("2024-12-04 09:30");
    // Late evening UTC is already the next day in Beijing.
    expect(beijingDateTime("2024-12-31T17:05:00Z")).toBe("2025-01-01 01:05");
  });

  it("leaves an unparseable time as it is and a missing one empty", () => {
    expect(beijingDateTime("不是时间")).toBe("不是时间");
    expect(beijingDateTime(null)).toBe("");
  });
});

describe("filterWords", () => {
  it("keeps the words containing the query, ignoring case, up to the limit, and counts all matches", () => {
    const words = ["abc", "ABD", "广告", "广告位", "加微信"];
    expect(filterWords(words, "ab", 10)).toEqual({ shown: ["abc", "ABD"], matched: 2 });
    expect(filterWords(words, " 广告 ", 1)).toEqual({ shown: ["广告"], matched: 2 });
    expect(filterWords(words, "", 3)).toEqual({ shown: ["abc", "ABD", "广告"], matched: 5 });
  });
});

describe("focusKind", () => {
  const el = (html: string) => {
    const d = document.createElement("div");
    d.innerHTML = html;
    return d.firstElementChild;
  };

  it("treats text fields as typing and checkboxes, radios and plain elements as not", () => {
    expect(focusKind(el("<input>"))).toBe("line");
    expect(focusKind(el('<input type="search">'))).toBe("line");
    expect(focusKind(el("<textarea></textarea>"))).toBe("multiline");
    expect(focusKind(el("<select></select>"))).toBe("select");
    expect(focusKind(el("<button>通过</button>"))).toBe("button");
    expect(focusKind(el('<input type="checkbox">'))).toBe("none");
    expect(focusKind(el('<input type="radio">'))).toBe("none");
    expect(focusKind(el("<div></div>"))).toBe("none");
    expect(focusKind(null)).toBe("none");
  });
});

describe("queueKey (the pending list's shortcuts)", () => {
  it("moves the selection with J/K and the arrow keys, never past either end", () => {
    expect(queueKey(0, 3, press("j"))).toEqual({ selected: 1, action: "none", handled: true });
    expect(queueKey(1, 3, press("ArrowDown")).selected).toBe(2);
    expect(queueKey(2, 3, press("J")).selected).toBe(2);
    expect(queueKey(2, 3, press("k")).selected).toBe(1);
    expect(queueKey(0, 3, press("ArrowUp")).selected).toBe(0);
  });

  it("starts at the first comment when nothing is selected", () => {
    expect(queueKey(-1, 3, press("j")).selected).toBe(1);
    expect(queueKey(-1, 3, press("k")).selected).toBe(0);
    expect(queueKey(-1, 3, press("a"))).toEqual({ selected: 0, action: "approve", handled: true });
  });

  it("approves with A and opens the reject dialog with R, on the selected comment", () => {
    expect(queueKey(1, 3, press("a"))).toEqual({ selected: 1, action: "approve", handled: true });
    expect(queueKey(1, 3, press("R"))).toEqual({ selected: 1, action: "reject", handled: true });
  });

  it("does nothing while typing in a field, with Ctrl/Alt/Meta held, or for other keys", () => {
    for (const focus of ["line", "multiline", "select"] as const) {
      expect(queueKey(0, 3, press("a", { focus })).handled).toBe(false);
      expect(queueKey(0, 3, press("j", { focus })).selected).toBe(0);
    }
    expect(queueKey(0, 3, press("a", { modified: true })).handled).toBe(false);
    expect(queueKey(0, 3, press("x")).handled).toBe(false);
    expect(queueKey(0, 3, press("Enter")).handled).toBe(false);
  });

  it("still works with a button or a checkbox focused (not typing)", () => {
    expect(queueKey(0, 3, press("a", { focus: "button" })).action).toBe("approve");
  });

  it("has nothing to act on in an empty list", () => {
    expect(queueKey(-1, 0, press("a"))).toEqual({ selected: -1, action: "none", handled: false });
  });
});

describe("rejectKey (the reject dialog's keys)", () => {
  it("picks reasons 1–6 with the number keys and ignores numbers past the list", () => {
    expect(rejectKey(null, 6, press("1"))).toEqual({ choice: 0, confirm: false, handled: true });
    expect(rejectKey(0, 6, press("6"))).toEqual({ choice: 5, confirm: false, handled: true });
    expect(rejectKey(2, 6, press("7"))).toEqual({ choice: 2, confirm: false, handled: false });
    expect(rejectKey(2, 6, press("0")).handled).toBe(false);
  });

  it("leaves numbers to the free-text field while typing there, but Enter still confirms", () => {
    expect(rejectKey(6, 6, press("3", { focus: "line" })).handled).toBe(false);
    expect(rejectKey(6, 6, press("Enter", { focus: "line" }))).toEqual({ choice: 6, confirm: true, handled: true });
  });

  it("confirms with Enter, except on a button (Enter presses it) or in a multi-line field", () => {
    expect(rejectKey(1, 6, press("Enter")).confirm).toBe(true);
    expect(rejectKey(1, 6, press("Enter", { focus: "button" })).handled).toBe(false);
    expect(rejectKey(1, 6, press("Enter", { focus: "multiline" })).handled).toBe(false);
    expect(rejectKey(1, 6, press("Enter", { modified: true })).handled).toBe(false);
  });
});

describe("resolveReason", () => {
  it("gives the picked listed reason, the trimmed free text, or null when there is none", () => {
    expect(resolveReason(REASONS, 1, "")).toBe("与观摩会内容无关");
    expect(resolveReason(REASONS, 1, "不用的自填")).toBe("与观摩会内容无关");
    expect(resolveReason(REASONS, REASONS.length, "  含人身攻击 ")).toBe("含人身攻击");
    expect(resolveReason(REASONS, REASONS.length, "   ")).toBeNull();
    expect(resolveReason(REASONS, null, "含人身攻击")).toBeNull();
    expect(resolveReason(REASONS, 99, "")).toBeNull();
  });
});

describe("keepSelection", () => {
  it("keeps the same comment when it is still listed, even if others arrived before it", () => {
    expect(keepSelection(["a", "b", "c"], ["x", "a", "b", "c"], "b")).toBe("b");
  });

  it("moves on to the next comment once the selected one was decided", () => {
    expect(keepSelection(["a", "b", "c"], ["a", "c"], "b")).toBe("c");
    // Several decided at once (another laptop): the first one after it that is still there.
    expect(keepSelection(["a", "b", "c", "d"], ["a", "d"], "b")).toBe("d");
  });

  it("falls back to the one before when the last was decided, and to nothing in an empty list", () => {
    expect(keepSelection(["a", "b", "c"], ["a", "b"], "c")).toBe("b");
    expect(keepSelection(["a"], [], "a")).toBeNull();
  });

  it("selects the first comment when nothing was selected or the old one is unknown", () => {
    expect(keepSelection([], ["a", "b"], null)).toBe("a");
    expect(keepSelection(["z"], ["a", "b"], "q")).toBe("a");
  });
});

describe("pruneChecked", () => {
  it("drops ticked comments that left the list and keeps the order of the rest", () => {
    expect(pruneChecked(["c", "a", "gone"], ["a", "b", "c"])).toEqual(["c", "a"]);
  });
});

describe("coalesce", () => {
  it("runs a burst of triggers as one load running and one queued after it", async () => {
    let runs = 0;
    const gates: (() => void)[] = [];
    const load = coalesce(
      () =>
        new Promise<void>((resolve) => {
          runs += 1;
          gates.push(resolve);
        }),
    );
    const first = load();
    const second = load();
    const third = load();
    expect(runs).toBe(1);
    expect(second).toBe(third);
    gates[0]();
    await first;
    await Promise.resolve();
    await Promise.resolve();
    expect(runs).toBe(2);
    gates[1]();
    await third;
    expect(runs).toBe(2);
    // Once idle, a new trigger loads again at once.
    void load();
    expect(runs).toBe(3);
    gates[2]();
  });

  it("still runs the queued load when the running one failed, and passes the failure on", async () => {
    let runs = 0;
    const load = coalesce(async () => {
      runs += 1;
      if (runs === 1) throw new Error("busy");
    });
    const first = load();
    const second = load();
    await expect(first).rejects.toThrow("busy");
    await expect(second).resolves.toBeUndefined();
    expect(runs).toBe(2);
  });
});

describe("a moderator laptop's decisions on their way to the hub", () => {
  const delivery = (ids: string[], toHub = true): Delivery => ({ to_hub: toHub, pending_sheet_ids: [], pending_comment_ids: ids, pending_records: ids.length });

  it("marks 待上传 only the comments whose decision the hub has not confirmed, and only on a paired laptop", () => {
    expect(isPendingUpload("c1", delivery(["c1"]))).toBe(true);
    expect(isPendingUpload("c2", delivery(["c1"]))).toBe(false);
    expect(isPendingUpload("c1", delivery(["c1"], false))).toBe(false);
    expect(isPendingUpload("c1", null)).toBe(false);
  });

  it("names the comments whose decision here the hub refused for an earlier one, while the issue is open", () => {
    const issue = (id: string, over: Partial<IssueView>): IssueView => ({
      id,
      kind: "refused",
      code: "decision_conflict",
      origin: "me",
      seq: 3,
      entity_kind: "comment_decision",
      entity_id: `c-${id}`,
      other_origin: null,
      detail: "",
      at: "2024-12-04T01:30:00Z",
      resolved_at: null,
      ...over,
    });
    const issues = [
      issue("1", {}),
      issue("2", { resolved_at: "2024-12-04T02:00:00Z" }),
      issue("3", { code: "not_moderator" }),
      // The hub's own listing of another laptop's overruled decision is not this device's.
      issue("4", { kind: "conflict" }),
    ];
    expect([...overruledComments(issues)]).toEqual(["c-1"]);
  });
});
