//! Pure helpers for 同步: Chinese labels for roles, reasons and records, times and countdowns,
//! the progress bar's text, the laptop's status line and the pairing form's checks. The
//! backend enforces every rule (who may pair, what is refused); nothing here decides one.
import type { BundleReport, DeviceStatus, IssueView, OriginalsPolicy, Role, SyncOverview, SyncProgress, SyncStatus } from "../../ipc";
import { agoText, beijingParts } from "../../lib/beijing";

// ---- roles ----

export const ROLES: { id: Role; label: string; hint: string }[] = [
  { id: "hub", label: "组织方主机", hint: "组织方使用,全场只设一台。管理观摩路线、评分细则、评分人和评论审核;评分电脑和直播电脑与它同步,排名在这里汇总。" },
  { id: "scorer", label: "评分电脑", hint: "评委打分用。路上没有网络也能打分,连上主机后自动把评分表同步过去。" },
  { id: "media", label: "直播电脑", hint: "融媒体中心发布图文直播用。照片和动态同步到主机。" },
];

export function roleLabel(role: Role | null): string {
  return ROLES.find((r) => r.id === role)?.label ?? "未设置";
}

/** Device names: 1–40 characters after trimming (the backend checks the same). */
export function nameProblem(name: string): string | null {
  const n = [...name.trim()].length;
  if (n === 0) return "请填写设备名称,如“评分电脑3号”";
  if (n > 40) return "设备名称不超过40个字";
  return null;
}

// ---- pairing ----

/** "482913" → "482 913": easier to read aloud across a room. */
export function spacedCode(code: string): string {
  return code.length === 6 ? `${code.slice(0, 3)} ${code.slice(3)}` : code;
}

/** What a person typed as a code, digits only ("482 913" → "482913"). */
export function codeDigits(raw: string): string {
  return raw.replace(/[\s-]/g, "");
}

export function codeProblem(raw: string): string | null {
  return /^\d{6}$/.test(codeDigits(raw)) ? null : "配对码是主机上显示的6位数字";
}

export function hubUrlProblem(raw: string): string | null {
  const t = raw.trim();
  if (t === "") return "请填写主机地址,如 http://192.168.1.20:8787";
  if (/\s/.test(t)) return "主机地址中不能有空格";
  return null;
}

/**
 * A scanned or pasted pairing link `guanmo://pair?url=…&code=…&fp=…` as the form's fields
 * (fp only when the hub serves its own certificate); null for anything else.
 */
export function pairingLink(raw: string): { url: string; code: string; fingerprint: string } | null {
  const t = raw.trim();
  if (!t.startsWith("guanmo://pair?")) return null;
  const q = new URLSearchParams(t.slice("guanmo://pair?".length));
  const url = q.get("url");
  if (!url) return null;
  return { url, code: q.get("code") ?? "", fingerprint: q.get("fp") ?? "" };
}

/** 证书指纹 (optional): 64 hex digits, colons or spaces between pairs allowed, any case. */
export function fingerprintProblem(raw: string): string | null {
  const digits = raw.trim().replace(/[:\s]/g, "");
  if (digits === "" || /^[0-9a-fA-F]{64}$/.test(digits)) return null;
  return "证书指纹应为64位十六进制数字(可带冒号),请照组织方主机上显示的填写";
}

/** "09:41" left until `expiresAt`; null once expired. */
export function countdown(expiresAt: string, nowMs: number): string | null {
  const end = Date.parse(expiresAt);
  if (Number.isNaN(end)) return null;
  if (end <= nowMs) return null;
  // Rounded down: the clock the view ticks with may be up to a second old.
  const left = Math.floor((end - nowMs) / 1000);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(Math.floor(left / 60))}:${pad(left % 60)}`;
}

// ---- times ----

/** "12-04 09:30:05" in Beijing time; "" for none; the input itself when it does not parse. */
export function beijingTime(at: string | null | undefined): string {
  if (!at) return "";
  const p = beijingParts(at);
  return p ? `${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}` : at;
}

/** "刚刚", "3分钟前", "2小时前", "1天前"; "从未" for none; the input itself when it does not parse. */
export function ago(at: string | null | undefined, nowMs: number): string {
  if (!at) return "从未";
  return agoText(at, nowMs) || at;
}

/** Seconds until `at`, at least 0; null for none. */
export function secondsUntil(at: string | null | undefined, nowMs: number): number | null {
  if (!at) return null;
  const t = Date.parse(at);
  if (Number.isNaN(t)) return null;
  return Math.max(0, Math.ceil((t - nowMs) / 1000));
}

/** The clock warning: "本机时间与主机相差 X 分钟,请校准系统时间" (hours too when it is far off). */
export function skewWarning(offsetMs: number | null): string | null {
  if (offsetMs === null) return null;
  const minutes = Math.round(Math.abs(offsetMs) / 60000);
  const hours = minutes >= 120 ? `(约 ${Math.round(minutes / 60)} 小时)` : "";
  const side = offsetMs > 0 ? "本机时间偏慢" : "本机时间偏快";
  return `本机时间与主机相差 ${minutes} 分钟${hours},请校准系统时间。${side};评分不受影响,但记录的时间可能不准。`;
}

/** The skew in a few characters for the status grid: "—", "< 1 分钟", "5 分钟". */
export function skewShort(offsetMs: number | null): string {
  if (offsetMs === null) return "—";
  const minutes = Math.round(Math.abs(offsetMs) / 60000);
  return minutes < 1 ? "< 1 分钟" : `${minutes} 分钟`;
}

// ---- the laptop's state ----

export type LaptopState = "unpaired" | "running" | "failing" | "synced" | "waiting";

export function laptopState(s: SyncStatus): LaptopState {
  if (!s.overview.hub_id) return "unpaired";
  if (s.running) return "running";
  if (s.last_error) return "failing";
  if (s.last_run) return "synced";
  return "waiting";
}

/** The hub as this laptop knows it. */
export function hubOf(o: SyncOverview): DeviceStatus | null {
  return o.devices.find((d) => d.role === "hub") ?? null;
}

/** Bytes as "3.4 MB" / "820 KB". */
export function sizeText(bytes: number | null): string {
  if (bytes === null) return "";
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} B`;
}

/** Text beside the progress bar. */
export function progressText(p: SyncProgress | null): string {
  if (!p) return "正在连接主机…";
  switch (p.step) {
    case "pushing":
      return `正在发送本机数据 ${p.done}/${p.total ?? "?"}`;
    case "pulling":
      return `正在接收其他设备的数据(已收到 ${p.done} 条)`;
    case "post":
      return `正在上传动态的照片 ${p.done}/${p.total ?? "?"}`;
    case "photos":
      return `正在传输照片 ${p.done}/${p.total ?? "?"}(${sizeText(p.bytes)})`;
  }
}

/** 0..1 for the bar; null when the amount is unknown (connecting, pulling). */
export function progressFraction(p: SyncProgress | null): number | null {
  if (!p || p.total === null || p.step === "pulling") return null;
  if (p.total === 0) return 1;
  return Math.min(1, p.done / p.total);
}

/** What the last run did, in one sentence; null when it moved nothing worth saying. */
export function runSummary(s: SyncStatus): string | null {
  const r = s.last_run;
  if (!r) return null;
  const parts: string[] = [];
  if (r.pushed > 0) parts.push(`发送 ${r.pushed} 条`);
  if (r.applied > 0) parts.push(`接收 ${r.applied} 条`);
  if (r.copies_sent > 0) parts.push(`上传照片 ${r.copies_sent} 张`);
  if (r.photos_sent > 0) parts.push(`上传原图 ${r.photos_sent} 张`);
  if (r.photos_received > 0) parts.push(`下载照片 ${r.photos_received} 张`);
  if (r.refused_by_hub > 0) parts.push(`主机拒绝 ${r.refused_by_hub} 条`);
  if (r.conflicts > 0) parts.push(`冲突 ${r.conflicts} 处`);
  return parts.length === 0 ? "数据已是最新" : parts.join(",");
}

// ---- 原图上传 ----

export const ORIGINALS: { id: OriginalsPolicy; label: string; hint: string }[] = [
  { id: "background", label: "后台上传", hint: "联网时在后台上传原图;有新动态或评分要上传时,原图让路。" },
  { id: "lan_only", label: "仅局域网", hint: "只在通过局域网地址连接主机时(会场或组织方的网络)上传原图;用手机热点、经互联网连接时不传原图,节省流量。" },
  { id: "usb_only", label: "仅U盘", hint: "原图不经网络传输,用“导出同步包”带到主机导入。" },
];

export function originalsLabel(p: OriginalsPolicy): string {
  return ORIGINALS.find((o) => o.id === p)?.label ?? p;
}

/** The laptop's line about originals: the hub's setting and what waits. */
export function originalsText(s: SyncStatus): string {
  const waiting = s.last_run?.originals_waiting ?? 0;
  const how = `主机设置为“${originalsLabel(s.overview.originals)}”`;
  if (waiting === 0) return `${how};原图已全部上传`;
  return `${how};还有 ${waiting} 张原图待上传(动态照片已先行上传,不影响直播)`;
}

// ---- issues ----

const REASONS: Record<string, string> = {
  hub_only: "只能由组织方主机修改",
  not_owner: "该记录属于另一台设备",
  hub_changed_scores: "主机不能修改评分",
  bad_payload: "数据格式不正确,无法应用",
  not_applicable: "无法应用到本机数据(可能缺少相关记录)",
  concurrent_edit: "两台设备同时修改了同一记录,已保留主机版本,请核对",
  decision_conflict: "另一位审核员已先作出决定,以先送达主机的决定为准",
  not_moderator: "该设备没有审核权限(组织方主机未授予或已撤销),其审核决定未被采用",
  wrong_role: "该设备的角色不能作出这项修改",
  bad_transition: "评论已是另一状态,该审核决定不再适用",
};

/** Why an operation was refused or flagged, in Chinese; an unknown code is shown as sent. */
export function reasonText(code: string): string {
  return REASONS[code] ?? `未知原因(${code})`;
}

const ENTITY_LABELS: Record<string, string> = {
  roster: "观摩路线",
  township: "观摩路线",
  rubric: "评分细则",
  aggregation_rule: "计分规则",
  scorer: "评分人",
  scoring_state: "评分开放状态",
  sheet: "评分表",
  photo: "照片",
  post: "直播动态",
  comment: "评论",
  comment_decision: "评论审核决定",
  moderator: "审核权限",
};

export function entityLabel(kind: string): string {
  return ENTITY_LABELS[kind] ?? kind;
}

/** A device's name from the overview, else the end of its id (UUIDv7 ids share their start). */
export function deviceName(id: string | null, o: SyncOverview): string {
  if (!id) return "";
  if (id === o.device_id) return `${o.name}(本机)`;
  const d = o.devices.find((x) => x.id === id);
  return d ? d.name : `设备…${id.slice(-6)}`;
}

export function openIssues(issues: IssueView[]): IssueView[] {
  return issues.filter((i) => i.resolved_at === null);
}

// ---- bundles ----

export const BUNDLE_FILTER = { name: "观摩同步包", extensions: ["gmsync"] };

/** "同步包-评分电脑3号-20241204-0930.gmsync": who and when, safe as a file name. */
export function bundleFileName(deviceName: string, nowMs: number): string {
  const p = beijingParts(new Date(nowMs));
  const stamp = p ? `${p.year}${p.month}${p.day}-${p.hour}${p.minute}` : "";
  const safe = deviceName.replace(/[\\/:*?"<>|\s]+/g, "_").slice(0, 40) || "本机";
  return `同步包-${safe}-${stamp}.${BUNDLE_FILTER.extensions[0]}`;
}

/** The import report's operation counts, in the order the organiser reads them. */
export function bundleCounts(r: BundleReport): { label: string; value: number; tone: "ok" | "muted" | "bad" | "warn" }[] {
  return [
    { label: "已应用", value: r.applied, tone: "ok" },
    { label: "已存在", value: r.already, tone: "muted" },
    { label: "拒绝", value: r.refused.length, tone: r.refused.length > 0 ? "bad" : "muted" },
    { label: "仍缺少", value: r.still_missing, tone: r.still_missing > 0 ? "warn" : "muted" },
    { label: "冲突", value: r.conflicts, tone: r.conflicts > 0 ? "warn" : "muted" },
  ];
}
