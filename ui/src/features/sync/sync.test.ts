import { describe, expect, it } from "vitest";
import type { BundleReport } from "../../ipc";
import { overview, status } from "./fixtures";
import {
  ago,
  beijingTime,
  bundleCounts,
  bundleFileName,
  codeDigits,
  codeProblem,
  countdown,
  deviceName,
  entityLabel,
  fingerprintProblem,
  hubUrlProblem,
  laptopState,
  nameProblem,
  originalsText,
  openIssues,
  pairingLink,
  progressFraction,
  progressText,
  reasonText,
  roleLabel,
  runSummary,
  secondsUntil,
  sizeText,
  skewShort,
  skewWarning,
  spacedCode,
} from "./sync";

const NOW = Date.parse("2024-12-04T01:30:00Z"); // 09:30 in Beijing

describe("roles and names", () => {
  it("names the three roles in Chinese and says when none is chosen", () => {
    expect([roleLabel("hub"), roleLabel("scorer"), roleLabel("media"), roleLabel(null)]).toEqual(["组织方主机", "评分电脑", "直播电脑", "未设置"]);
  });

  it("wants a device name of 1 to 40 characters, counting Chinese characters as one each", () => {
    expect(nameProblem("  ")).not.toBeNull();
    expect(nameProblem("评".repeat(40))).toBeNull();
    expect(nameProblem("评".repeat(41))).not.toBeNull();
  });
});

describe("pairing", () => {
  it("shows a code as two groups of three and reads back what was typed with spaces", () => {
    expect(spacedCode("482913")).toBe("482 913");
    expect(codeDigits(" 482 913 ")).toBe("482913");
    expect(codeProblem("482 913")).toBeNull();
    expect(codeProblem("48291")).not.toBeNull();
    expect(codeProblem("48291a")).not.toBeNull();
  });

  it("asks for a hub address without spaces", () => {
    expect(hubUrlProblem("")).not.toBeNull();
    expect(hubUrlProblem("http://192.168.1 .20")).not.toBeNull();
    expect(hubUrlProblem("192.168.1.20:8787")).toBeNull();
  });

  it("reads a pairing link into address, code and certificate fingerprint", () => {
    expect(pairingLink("guanmo://pair?url=http%3A%2F%2F10.0.0.2%3A8787&code=123456")).toEqual({ url: "http://10.0.0.2:8787", code: "123456", fingerprint: "" });
    expect(pairingLink(" guanmo://pair?url=https%3A%2F%2Flive.example.cn&code=123456&fp=AB ")?.fingerprint).toBe("AB");
    expect(pairingLink("http://10.0.0.2:8787")).toBeNull();
    expect(pairingLink("guanmo://pair?code=123456")).toBeNull();
  });

  it("takes a certificate fingerprint with or without colons, in any case, or none", () => {
    const hex = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
    expect(fingerprintProblem("")).toBeNull();
    expect(fingerprintProblem(hex)).toBeNull();
    expect(fingerprintProblem(hex.toUpperCase().match(/../g)!.join(":"))).toBeNull();
    expect(fingerprintProblem("AB:CD")).not.toBeNull();
    expect(fingerprintProblem(hex.replace("5", "g"))).not.toBeNull();
  });

  it("counts down the code's ten minutes and stops at expiry", () => {
    const expires = new Date(NOW + 10 * 60 * 1000).toISOString();
    expect(countdown(expires, NOW)).toBe("10:00");
    expect(countdown(expires, NOW + 19_500)).toBe("09:40");
    expect(countdown(expires, NOW - 900)).toBe("10:00");
    expect(countdown(expires, NOW + 10 * 60 * 1000)).toBeNull();
    expect(countdown("not a time", NOW)).toBeNull();
  });
});

describe("times", () => {
  it("shows Beijing time whatever the laptop's zone", () => {
    expect(beijingTime("2024-12-04T01:30:05Z")).toBe("12-04 09:30:05");
    expect(beijingTime(null)).toBe("");
  });

  it("says how long ago, and 从未 for never", () => {
    expect(ago(null, NOW)).toBe("从未");
    expect(ago(new Date(NOW - 20_000).toISOString(), NOW)).toBe("刚刚");
    expect(ago(new Date(NOW - 3 * 60_000).toISOString(), NOW)).toBe("3分钟前");
    expect(ago(new Date(NOW - 2 * 3600_000).toISOString(), NOW)).toBe("2小时前");
    expect(ago(new Date(NOW - 26 * 3600_000).toISOString(), NOW)).toBe("1天前");
  });

  it("counts seconds to the next attempt, never below zero", () => {
    expect(secondsUntil(new Date(NOW + 4_200).toISOString(), NOW)).toBe(5);
    expect(secondsUntil(new Date(NOW - 4_000).toISOString(), NOW)).toBe(0);
    expect(secondsUntil(null, NOW)).toBeNull();
  });
});

describe("clock skew", () => {
  it("warns in minutes with the wording the organiser asked for", () => {
    const text = skewWarning(-5 * 60_000);
    expect(text).toContain("本机时间与主机相差 5 分钟,请校准系统时间");
    expect(text).toContain("偏快");
    expect(skewWarning(3 * 3600_000)).toContain("相差 180 分钟(约 3 小时)");
    expect(skewWarning(null)).toBeNull();
  });

  it("shows a short skew for the status grid", () => {
    expect(skewShort(null)).toBe("—");
    expect(skewShort(20_000)).toBe("< 1 分钟");
    expect(skewShort(-24 * 3600_000)).toBe("1440 分钟");
  });
});

describe("the laptop's state", () => {
  it("is unpaired without a hub, then running, failing, synced or waiting", () => {
    expect(laptopState(status())).toBe("unpaired");
    const paired = { hub_id: "hub" };
    expect(laptopState(status({}, paired))).toBe("waiting");
    expect(laptopState(status({ running: true }, paired))).toBe("running");
    const error = { at: "2024-12-04T01:30:00Z", error: { code: "unreachable" as const, message: "", problems: [] } };
    expect(laptopState(status({ last_error: error }, paired))).toBe("failing");
    const run = { at: "2024-12-04T01:30:00Z", pushed: 0, applied: 0, held: 0, refused: 0, conflicts: 0, refused_by_hub: 0, photos_sent: 0, photos_received: 0, copies_sent: 0, originals_waiting: 0, bytes: 0 };
    expect(laptopState(status({ last_run: run }, paired))).toBe("synced");
    expect(runSummary(status({ last_run: run }, paired))).toBe("数据已是最新");
    expect(runSummary(status({ last_run: { ...run, pushed: 18, photos_received: 2, conflicts: 1 } }, paired))).toBe("发送 18 条,下载照片 2 张,冲突 1 处");
    const photos = { ...run, copies_sent: 9, photos_sent: 2, originals_waiting: 7 };
    expect(runSummary(status({ last_run: photos }, paired))).toBe("上传照片 9 张,上传原图 2 张");
    expect(originalsText(status({ last_run: photos }, { ...paired, originals: "lan_only" }))).toBe("主机设置为“仅局域网”;还有 7 张原图待上传(动态照片已先行上传,不影响直播)");
    expect(originalsText(status({ last_run: run }, paired))).toBe("主机设置为“后台上传”;原图已全部上传");
  });

  it("describes each step of a run, with a bar only where the amount is known", () => {
    expect(progressText(null)).toBe("正在连接主机…");
    expect(progressText({ step: "pushing", done: 3, total: 18, bytes: 0, post_id: null })).toBe("正在发送本机数据 3/18");
    expect(progressText({ step: "pulling", done: 40, total: null, bytes: 0, post_id: null })).toContain("已收到 40 条");
    expect(progressText({ step: "photos", done: 1, total: 4, bytes: 3.5 * 1024 * 1024, post_id: null })).toBe("正在传输照片 1/4(3.5 MB)");
    expect(progressText({ step: "post", done: 2, total: 9, bytes: 0, post_id: "p1" })).toBe("正在上传动态的照片 2/9");
    expect(progressFraction({ step: "post", done: 3, total: 9, bytes: 0, post_id: "p1" })).toBeCloseTo(1 / 3);
    expect(progressFraction({ step: "pushing", done: 9, total: 18, bytes: 0, post_id: null })).toBe(0.5);
    expect(progressFraction({ step: "pulling", done: 9, total: null, bytes: 0, post_id: null })).toBeNull();
    expect(progressFraction({ step: "photos", done: 0, total: 0, bytes: 0, post_id: null })).toBe(1);
    expect(sizeText(820 * 1024)).toBe("820 KB");
    expect(sizeText(null)).toBe("");
  });
});

describe("issues", () => {
  it("explains each refusal code in Chinese and shows an unknown one as sent", () => {
    expect(reasonText("hub_only")).toBe("只能由组织方主机修改");
    expect(reasonText("not_owner")).toBe("该记录属于另一台设备");
    expect(reasonText("hub_changed_scores")).toBe("主机不能修改评分");
    expect(reasonText("concurrent_edit")).toBe("两台设备同时修改了同一记录,已保留主机版本,请核对");
    for (const code of ["bad_payload", "not_applicable"]) expect(reasonText(code)).toMatch(/[\u4e00-\u9fff]/);
    expect(reasonText("brand_new")).toContain("brand_new");
    expect(entityLabel("sheet")).toBe("评分表");
    expect(entityLabel("mystery")).toBe("mystery");
  });

  it("names devices from the overview, this one as 本机, others by the end of their id", () => {
    const o = overview({ devices: [{ id: "hub-1", name: "组织方主机", role: "hub", paired_at: "", revoked_at: null, last_contact: null, ops_received: 0, backlog: 0, address: null, scorer_ids: [], moderator: false }] });
    expect(deviceName("hub-1", o)).toBe("组织方主机");
    expect(deviceName(o.device_id, o)).toBe("评分电脑3号(本机)");
    expect(deviceName("0193abcd-0000-7000-8000-00000000beef", o)).toBe("设备…00beef");
  });

  it("keeps only the issues nobody has handled", () => {
    const base = { kind: "refused", code: "hub_only", origin: "x", seq: 1, entity_kind: "roster", entity_id: "*", other_origin: null, detail: "", at: "" };
    expect(openIssues([{ ...base, id: "a", resolved_at: null }, { ...base, id: "b", resolved_at: "2024-12-04T01:00:00Z" }]).map((i) => i.id)).toEqual(["a"]);
  });
});

describe("bundles", () => {
  it("names the file after the device and the Beijing time, safely", () => {
    expect(bundleFileName("评分电脑 3/号", NOW)).toBe("同步包-评分电脑_3_号-20241204-0930.gmsync");
    expect(bundleFileName("", NOW)).toBe("同步包-本机-20241204-0930.gmsync");
  });

  it("reports applied, already there, refused and still missing, marking the ones to look at", () => {
    const r: BundleReport = {
      device_id: "d",
      device_name: "评分电脑3号",
      applied: 18,
      already: 2,
      refused: [{ origin: "d", seq: 21, code: "not_owner", detail: "" }],
      still_missing: 0,
      photos_added: 1,
      photos_already: 0,
      bundle_id: "b1",
      ops: 21,
      conflicts: 0,
      photos_missing: 0,
    };
    expect(bundleCounts(r)).toEqual([
      { label: "已应用", value: 18, tone: "ok" },
      { label: "已存在", value: 2, tone: "muted" },
      { label: "拒绝", value: 1, tone: "bad" },
      { label: "仍缺少", value: 0, tone: "muted" },
      { label: "冲突", value: 0, tone: "muted" },
    ]);
  });
});
