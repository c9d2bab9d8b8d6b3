import { afterEach, describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { GroupedResults, ResultsSettings, Standing, Township } from "../../ipc";
import ResultsPanel from "./ResultsPanel.svelte";
import { bandRuleText, signedPoints } from "./ranking";

const towns = [
  { id: "t-yy", code: "430482001000", name: "宜阳街道", kind: "subdistrict" },
  { id: "t-sk", code: "430482100000", name: "水口山镇", kind: "town" },
].map((t) => ({ ...t, enabled: true, position: 1, day: 1, arrival: null, slot_minutes: null, note: "", eval_group: "", version: 1 })) as Township[];

const standing = { township_id: "t-yy", status: { kind: "ranked" }, rank: 1, shared_rank: false, result: 88, base_aggregate: 88, adjustment_mean: 0, untrimmed_mean: 88, normalized: null, normalized_rank: null, submitted: 3, expected: 3, groups: [], marks: [], tie_note: null } as Standing;

const results: GroupedResults = {
  rule_summary: "去掉1个最高分和1个最低分后取平均分",
  settings_summary: "最终得分 = 观摩得分 × 60% + 平时考核得分 × 40%,保留两位小数",
  blended: true,
  groups: [
    {
      name: "街道组",
      bands: [{ label: "先进", rule: { kind: "at_least", score: 90 } }],
      rows: [
        { township_id: "t-yy", name: "宜阳街道", inspection: 89, organiser_adjustment_tenths: 10, routine: 95, final_score: 91.4, rank: 1, shared_rank: false, band: "先进", unranked_reason: null, arithmetic: "(88.0)/1 = 88.00;+ 组织方加减分 1.0 = 89.00;× 60% + 平时 95.00 × 40% = 91.40", standing },
      ],
    },
    {
      name: "乡镇组",
      bands: [],
      rows: [
        { township_id: "t-sk", name: "水口山镇", inspection: null, organiser_adjustment_tenths: 0, routine: 90, final_score: null, rank: null, shared_rank: false, band: null, unranked_reason: "尚无已提交的评分表", arithmetic: "", standing: { ...standing, township_id: "t-sk", rank: null, status: { kind: "no_sheets" } } },
      ],
    },
  ],
};

const settings: ResultsSettings = { groups: [{ name: "乡镇组", bands: [] }, { name: "街道组", bands: [] }], blend: { inspection_percent: 60, routine_percent: 40 } };

let calls: { cmd: string; args: Record<string, unknown> }[] = [];

function mock() {
  calls = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
    switch (cmd) {
      case "get_results":
        return results;
      case "get_results_settings":
        return settings;
      case "list_organiser_adjustments":
        return [{ id: "a1", township_id: "t-yy", tenths: 10, basis: "获省级表彰", attachment_hash: null, created_at: "2026-12-04T00:00:00Z", created_by: "组织方", removed_at: null, removed_by: null, removed_reason: null }];
      case "list_townships":
        return towns;
      case "add_organiser_adjustment":
        return {};
      case "set_township_group":
        return towns[1];
      default:
        return null;
    }
  });
}

afterEach(() => clearMocks());

describe("ResultsPanel", () => {
  it("shows one table per group with the organiser adjustment, routine score, band and arithmetic", async () => {
    mock();
    render(ResultsPanel);
    await waitFor(() => expect(screen.getAllByTestId("results-group")).toHaveLength(2));
    expect(screen.getAllByTestId("results-group").map((h) => h.textContent)).toEqual(["【街道组】", "【乡镇组】"]);
    const row = screen.getAllByTestId("results-row")[0];
    expect(row.textContent).toContain("91.40");
    expect(row.textContent).toContain("+1.0");
    expect(row.textContent).toContain("先进");
    expect(row.textContent).toContain("平时 95.00 × 40%");
    expect(screen.getAllByTestId("results-row")[1].textContent).toContain("尚无已提交的评分表");
    expect(screen.getByTestId("adj-list").textContent).toContain("依据:获省级表彰");
  });

  it("sends a new adjustment with its basis and a group change to the backend", async () => {
    mock();
    render(ResultsPanel);
    await waitFor(() => expect(screen.getAllByTestId("group-select")).toHaveLength(2));
    await fireEvent.change(screen.getByTestId("adj-town"), { target: { value: "t-sk" } });
    await fireEvent.input(screen.getByTestId("adj-points"), { target: { value: "-2.5" } });
    await fireEvent.input(screen.getByTestId("adj-basis"), { target: { value: "发生安全事故" } });
    await fireEvent.click(screen.getByTestId("adj-add"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "add_organiser_adjustment")).toBe(true));
    const add = calls.find((c) => c.cmd === "add_organiser_adjustment")!;
    expect(add.args.input).toEqual({ township_id: "t-sk", points: -2.5, basis: "发生安全事故", attachment_hash: null });
    await fireEvent.change(screen.getAllByTestId("group-select")[1], { target: { value: "街道组" } });
    await waitFor(() => expect(calls.find((c) => c.cmd === "set_township_group")?.args).toEqual({ townshipId: "t-sk", group: "街道组" }));
  });

  it("withdraws an adjustment only with a reason typed in the row (the window has no prompt dialog)", async () => {
    mock();
    render(ResultsPanel);
    await fireEvent.click(await screen.findByTestId("adj-remove"));
    await fireEvent.click(screen.getByTestId("adj-remove-confirm"));
    expect(await screen.findByText("请填写撤销原因")).toBeTruthy();
    expect(calls.some((c) => c.cmd === "remove_organiser_adjustment")).toBe(false);
    await fireEvent.input(screen.getByTestId("adj-remove-reason"), { target: { value: "表彰文件有误" } });
    await fireEvent.click(screen.getByTestId("adj-remove-confirm"));
    await waitFor(() => expect(calls.find((c) => c.cmd === "remove_organiser_adjustment")?.args).toEqual({ id: "a1", reason: "表彰文件有误" }));
  });

  it("words band rules and signed points as the notice does", () => {
    expect(bandRuleText({ kind: "top", from: 1, to: 3 })).toBe("第1–3名");
    expect(bandRuleText({ kind: "bottom", count: 3 })).toBe("倒数3名");
    expect(bandRuleText({ kind: "at_least", score: 90 })).toBe("90分及以上");
    expect(signedPoints(-25)).toBe("-2.5");
    expect(signedPoints(10)).toBe("+1.0");
  });
});
