import { describe, expect, it } from "vitest";
import type { ErrorCode } from "./bindings.gen";
import { ERROR_MESSAGES, describeProblem, errorMessage, toApiError } from "./errors";

// Typed as ErrorCode[] and checked for exhaustiveness below: a new backend code breaks this file's type check.
const LISTED = [
  "validation",
  "import_invalid",
  "not_found",
  "version_conflict",
  "file_too_large",
  "unsupported_format",
  "file_unreadable",
  "recused",
  "sheet_locked",
  "scoring_closed",
  "comments_closed",
  "muted",
  "busy",
  "hub_only",
  "not_paired",
  "pairing_refused",
  "bundle_invalid",
  "unreachable",
  "cert_changed",
  "cert_untrusted",
  "insecure_hub_address",
  "not_picked",
  "sign_in_required",
  "sign_in_refused",
  "forbidden",
  "data_newer_than_app",
  "backup_unreadable",
  "backup_damaged",
  "restore_target_not_empty",
  "cancelled",
  "storage",
  "internal",
] as const satisfies readonly ErrorCode[];
// Fails to compile when the backend adds a code that is not listed above.
type Missing = Exclude<ErrorCode, (typeof LISTED)[number]>;
const noneMissing: [Missing] extends [never] ? true : false = true;
const ALL_CODES: ErrorCode[] = [...LISTED];

describe("error messages", () => {
  it("every error code has a non-empty Chinese message", () => {
    expect(noneMissing).toBe(true);
    for (const code of ALL_CODES) {
      const msg = errorMessage(code);
      expect(msg.trim().length, `message for ${code}`).toBeGreaterThan(0);
      expect(msg, `message for ${code} should be Chinese`).toMatch(/[\u4e00-\u9fff]/);
    }
    expect(Object.keys(ERROR_MESSAGES).sort()).toEqual([...ALL_CODES].sort());
  });

  it("a problem reads as row, location and message", () => {
    expect(
      describeProblem({ code: "invalid", severity: "error", row: 3, location: "到达时间", message: "格式应为 HH:MM" }),
    ).toBe("第3行 · 到达时间 · 格式应为 HH:MM");
    expect(describeProblem({ code: "required", severity: "error", row: null, location: "", message: "必须填写" })).toBe(
      "必须填写",
    );
  });

  it("a bare string rejection becomes an internal error that keeps its text", () => {
    expect(toApiError("command not found")).toEqual({ code: "internal", message: "command not found", problems: [] });
    expect(toApiError({ code: "not_found", message: "x", problems: [] }).code).toBe("not_found");
  });

  it("scoring refusals read as the organiser words them", () => {
    expect(errorMessage("recused")).toContain("回避:不能为本人所在乡镇评分");
    expect(errorMessage("sheet_locked")).toContain("评分表已提交锁定");
    expect(errorMessage("scoring_closed")).toContain("该乡镇评分尚未开放或已结束");
  });
});
