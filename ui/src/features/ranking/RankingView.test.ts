import { afterEach, describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { AggregationRule, Standings, Township } from "../../ipc";
import RankingView from "./RankingView.svelte";

const towns = [
  { id: "t-yy", code: "430482001000", name: "宜阳街道", position: 1 },
  { id: "t-qf", code: "430482002000", name: "泉峰街道", position: 2 },
].map((t) => ({ ...t, kind: "subdistrict", enabled: true, day: 1, arrival: null, slot_minutes: null, note: "", version: 1 })) as Township[];

const rule: AggregationRule = { trim_k: 1, group_weights: [], normalize: false, tie_breaks: [], embargo: false };

const standings: Standings = {
  rule_summary: "去掉1个最高分和1个最低分后取平均分,再加上加减分项的平均值;得分保留两位小数;得分相同者名次相同",
  rows: [
    {
      township_id: "t-qf",
      status: { kind: "ranked" },
      rank: 1,
      shared_rank: false,
      result: 86.333,
      base_aggregate: 85,
      adjustment_mean: 1.333,
      untrimmed_mean: 86,
      normalized: null,
      normalized_rank: null,
      submitted: 3,
      expected: 3,
      groups: [{ group: "全部", weight_percent: 100, counted: 3, trimmed: 2, mean: 85 }],
      marks: [
        { sheet_id: "sh-1", scorer_id: "s1", scorer_name: "张三", group: "市领导", base: 90, adjustment: 2, trimmed: "high", counted: true, z: null },
        { sheet_id: "sh-2", scorer_id: "s2", scorer_name: "李四", group: "市领导", base: 85, adjustment: 1, trimmed: null, counted: true, z: null },
        { sheet_id: "sh-3", scorer_id: "s3", scorer_name: "王五", group: "市领导", base: 80, adjustment: 1, trimmed: "low", counted: true, z: null },
      ],
      tie_note: null,
    },
    {
      township_id: "t-yy",
      status: { kind: "too_few_sheets", have: 1, need: 3, group: null },
      rank: null,
      shared_rank: false,
      result: null,
      base_aggregate: null,
      adjustment_mean: null,
      untrimmed_mean: null,
      normalized: null,
      normalized_rank: null,
      submitted: 1,
      expected: 3,
      groups: [],
      marks: [],
      tie_note: null,
    },
  ],
};

function backend({ forbidden = false } = {}) {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
    switch (cmd) {
      case "get_tally_status":
        return { expected: 6, submitted: 4, complete: false, seal: null, revealed: false };
      case "get_standings":
        if (forbidden) throw { code: "forbidden", message: "揭晓前只有组织方和计票人能看到排名。", problems: [] };
        return standings;
      case "get_aggregation_rule":
        return rule;
      case "list_townships":
        return towns;
      case "list_scorers":
        return [];
      case "get_rubric":
        return { title: "评分表", total_points: 100, categories: [], adjustments: [] };
      case "list_audit":
        return [
          { seq: 7, at: "2024-12-04T01:30:05Z", device_id: "d", scorer_id: "s1", sheet_id: "sh-1", township_id: "t-qf", kind: "unlock", item_id: null, old_value: null, new_value: null, reason: "现场复核后更正", person_id: "p-zs", person_name: "张三" },
        ];
      case "unlock_sheet":
        if (((args as { reason: string }).reason ?? "").length < 2) {
          throw { code: "validation", message: "", problems: [{ code: "required", severity: "error", row: null, location: "解锁原因", message: "解锁原因至少2个字" }] };
        }
        return {};
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  return calls;
}

afterEach(() => clearMocks());

describe("ranking view", () => {
  it("shows the rule, results with two decimals and why a township is unranked", async () => {
    backend();
    render(RankingView);
    expect((await screen.findByTestId("rule-summary")).textContent).toBe(standings.rule_summary);
    expect(screen.getByTestId("standing-rank-430482002000").textContent?.trim()).toBe("1");
    expect(screen.getByTestId("standing-result-430482002000").textContent).toBe("86.33");
    expect(screen.getByTestId("standing-row-430482001000").textContent).toContain("评分不足:已有1份,需要3份");
    // Not every sheet is in: the ranking says it is provisional, as of when, and how far along.
    const state = screen.getByTestId("standings-state").textContent ?? "";
    expect(state).toMatch(/^临时排名 · 截至 \d{4}-\d{2}-\d{2} \d{2}:\d{2} · 已提交 4\/6 份 · 1个乡镇\(街道\)未交齐$/);
    const audit = screen.getByTestId("audit-table");
    expect(audit.textContent).toContain("解锁");
    expect(audit.textContent).toContain("泉峰街道");
    expect(audit.textContent).toContain("现场复核后更正");
    expect(audit.querySelector("thead")?.textContent).toContain("姓名");
    expect(screen.getByTestId("audit-person-7").textContent).toBe("张三");
    // 揭晓 sits above the ranking.
    expect((await screen.findByTestId("tally-progress")).textContent).toContain("已提交 4 / 应交 6");
  });

  it("shows a role that may not see the ranking yet the backend's sentence, not an error", async () => {
    const calls = backend({ forbidden: true });
    render(RankingView);
    expect((await screen.findByTestId("ranking-forbidden")).textContent).toBe("揭晓前只有组织方和计票人能看到排名。");
    expect(screen.queryByTestId("error-panel")).toBeNull();
    expect(screen.queryByTestId("standings-table")).toBeNull();
    expect(screen.getByTestId("tally-panel")).toBeTruthy();
    expect(calls.some((c) => c.cmd === "list_audit")).toBe(false);
  });

  it("a row explains itself, trimmed marks struck through, and a sheet can be unlocked with a reason", async () => {
    const calls = backend();
    render(RankingView);
    await fireEvent.click(await screen.findByTestId("standing-row-430482002000"));
    const panel = screen.getByTestId("explain-430482002000");
    expect(panel.textContent).toContain("去掉最高分");
    expect(panel.textContent).toContain("去掉最低分");
    expect(panel.querySelectorAll("s")).toHaveLength(2);

    await fireEvent.click(screen.getByTestId("unlock-0"));
    await fireEvent.click(screen.getByTestId("unlock-confirm"));
    await waitFor(() => expect(screen.getByTestId("error-panel").textContent).toContain("解锁原因至少2个字"));

    await fireEvent.input(screen.getByTestId("unlock-reason"), { target: { value: "评委误填第3项" } });
    await fireEvent.click(screen.getByTestId("unlock-confirm"));
    await waitFor(() => expect(screen.queryByTestId("unlock-dialog")).toBeNull());
    expect(calls.filter((c) => c.cmd === "unlock_sheet").at(-1)!.args).toEqual({ sheetId: "sh-1", reason: "评委误填第3项" });
  });
});
