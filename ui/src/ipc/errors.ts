//! Chinese wording for every backend ErrorCode. The code itself stays visible in the UI
//! (small, under the message) so a support call can name it exactly.
import type { ApiError, ErrorCode, Problem } from "./bindings.gen";

/** One sentence per code; `Record` makes a missing code a type error. */
export const ERROR_MESSAGES: Record<ErrorCode, string> = {
  validation: "填写的内容未通过校验,请按下方提示修改后再保存。",
  import_invalid: "导入的文件有错误,未作任何更改。请按下方所列行号修改文件后重新导入。",
  not_found: "要操作的记录已不存在,可能已被删除。请刷新后重试。",
  version_conflict: "这条记录已被其他人修改。已重新载入最新内容,请核对后再保存。",
  file_too_large: "文件太大,无法导入。请检查是否选错了文件。",
  unsupported_format: "不支持该文件格式。请选择 CSV、Excel(.xlsx)或 JSON 文件。",
  file_unreadable: "无法读取该文件。请确认文件存在、未被其他程序占用,且有读取权限。",
  recused: "回避:不能为本人所在乡镇评分。",
  sheet_locked: "评分表已提交锁定。如需修改,请组织方填写原因后解锁。",
  scoring_closed: "该乡镇评分尚未开放或已结束。",
  comments_closed: "评论区已关闭,暂不接收新评论。",
  muted: "该手机号已被禁言,暂不能发表评论。",
  busy: "当前提交的人较多,请稍后再试。",
  hub_only: "只能由组织方主机修改(观摩路线、评分细则、评分人、评分开放与锁定等)。请在组织方主机上操作,同步后各电脑自动更新。",
  not_paired: "本机尚未与组织方主机配对,或已被主机撤销。请在“同步”中输入主机地址和配对码重新配对。",
  pairing_refused: "配对码不正确、已过期或已使用(每个配对码10分钟内有效,最多试5次)。请在组织方主机上生成新配对码后重试。",
  bundle_invalid: "同步包无法使用(文件损坏、不完整,或不是已配对设备导出的),未作任何更改。请重新导出后再导入。",
  unreachable: "连接不上组织方主机。本机数据已保存,网络恢复后会自动同步;也可用“导出同步包”通过U盘带到主机。",
  cert_changed: "组织方主机的证书与配对时不一致,可能有人冒充主机,未发送任何数据。若主机确实换了证书,请在主机上生成新的配对码重新配对。",
  cert_untrusted: "组织方主机的证书不受本机信任(已过期、签发者未知或与地址不符),未发送任何数据。请联系组织方,或用主机上显示的证书指纹重新配对。",
  insecure_hub_address: "公网地址必须使用 https://,以免设备密钥被截获。局域网地址(如 192.168.x.x)可以使用 http://。",
  not_picked: "只能导入或导出在本程序对话框中选择的文件。请点击按钮,在弹出的对话框中重新选择。",
  sign_in_required: "请先确认身份:选择您的姓名并输入 PIN 后再操作。",
  sign_in_refused: "PIN 或登录码不正确、已过期,或因多次输错已暂时锁定。请稍后再试,或请组织方发放新的登录码。",
  forbidden: "您的角色无权查看或进行此操作(背靠背评分:评分人只能看到本人的评分表,揭晓前只有组织方和计票人能看到排名)。",
  data_newer_than_app: "此数据由更新版本的观摩创建,为防止损坏已拒绝打开或恢复,数据未改动。请安装新版本。",
  backup_unreadable: "备份文件不完整或不是观摩备份文件(可能未复制完整),已拒绝恢复,现有数据未改动。",
  backup_damaged: "备份文件已损坏(校验不符),已拒绝恢复,现有数据未改动。请换用其他备份。",
  restore_target_not_empty: "目标数据文件夹不是空的,已拒绝恢复。替换现有数据前会先自动备份。",
  cancelled: "已取消,未留下任何文件,现有数据未改动。",
  storage: "保存数据时出错(数据库或磁盘)。请检查磁盘空间后重试。",
  internal: "程序内部出错。请记下错误代码并联系技术支持。",
};

export function errorMessage(code: ErrorCode): string {
  return ERROR_MESSAGES[code] ?? ERROR_MESSAGES.internal;
}

/** "第3行 · 到达时间 · 格式应为 HH:MM" — row and location are left out when absent. */
export function describeProblem(p: Problem): string {
  const parts: string[] = [];
  if (p.row !== null) parts.push(`第${p.row}行`);
  if (p.location) parts.push(p.location);
  parts.push(p.message);
  return parts.join(" · ");
}

const KNOWN_CODES = new Set<string>(Object.keys(ERROR_MESSAGES));

/** True for the `{code, message, problems}` shape the backend sends. */
export function isApiError(value: unknown): value is ApiError {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === "string" && KNOWN_CODES.has(v.code) && typeof v.message === "string";
}

/**
 * Anything thrown or returned by IPC, as an ApiError. Tauri itself can reject with a bare string
 * (unknown command, denied permission) or an Error (no Tauri runtime at all): those become `internal`.
 */
export function toApiError(value: unknown): ApiError {
  if (isApiError(value)) {
    return { code: value.code, message: value.message, problems: Array.isArray(value.problems) ? value.problems : [] };
  }
  const message = value instanceof Error ? value.message : typeof value === "string" ? value : JSON.stringify(value);
  return { code: "internal", message: message ?? "", problems: [] };
}
