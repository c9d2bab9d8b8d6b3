import { afterEach, describe, expect, it, vi } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/svelte";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { GroupedResults, ResultRow, Standing } from "../../ipc";
import BigScreen from "./BigScreen.svelte";

function row(name: string, rank: number | null, score: number | null, band: string | null = null, reason: string | null = null): ResultRow {
  return {
    township_id: `t-${name}`,
    name,
    inspection: score,
    organiser_adjustment_tenths: 0,
    routine: null,
    final_score: score,
    rank,
    shared_rank: false,
    band,
    unranked_reason: reason,
    arithmetic: "",
    standing: {} as Standing,
  };
}

const results: GroupedResults = {
  rule_summary: "",
  settings_summary: "",
  blended: false,
  groups: [
    {
      name: "街道组",
      bands: [{ label: "表扬", rule: { kind: "top", from: 1, to: 1 } }],
      rows: [row("宜阳街道", 1, 91.5, "表扬"), row("泉峰街道", 2, 88.25)],
    },
    {
      name: "乡镇组",
      bands: [{ label: "表态发言", rule: { kind: "bottom", count: 1 } }],
      rows: [row("柏坊镇", 1, 90), row("水口山镇", 2, 86.4), row("烟洲镇", 3, 80.1, "表态发言"), row("荫田镇", null, null, null, "尚无已提交的评分表")],
    },
  ],
};

function backend(refuse = false) {
  mockIPC((cmd) => {
    switch (cmd) {
      case "get_results":
        if (refuse) throw { code: "forbidden", message: "揭晓前不能查看排名,请等待组织方揭晓。", problems: [] };
        return results;
      case "get_rubric":
        return { title: "2026年常宁市乡镇(街道)工作现场观摩会", total_points: 100, categories: [], adjustments: [] };
      default:
        return null;
    }
  });
}

const names = () => screen.queryAllByTestId("bigscreen-name").map((e) => e.textContent);

afterEach(() => clearMocks());

describe("BigScreen", () => {
  it("shows the first group's bars with rank, two-decimal score and band, the others on tabs", async () => {
    backend();
    render(BigScreen, { onclose: () => {} });
    await waitFor(() => expect(names()).toEqual(["宜阳街道", "泉峰街道"]));
    expect(screen.getByTestId("bigscreen-title").textContent).toBe("街道组 · 综合成绩排名");
    expect(screen.getAllByTestId("bigscreen-score").map((e) => e.textContent)).toEqual(["91.50", "88.25"]);
    expect(screen.getByTestId("bigscreen-band").textContent).toBe("表扬");
    expect(screen.getByTestId("bigscreen-group-1").textContent).toBe("乡镇组");
    await fireEvent.click(screen.getByTestId("bigscreen-group-1"));
    expect(names()).toEqual(["柏坊镇", "水口山镇", "烟洲镇"]);
    expect(screen.getByTestId("bigscreen-unranked").textContent).toContain("荫田镇(尚无已提交的评分表)");
  });

  it("switches groups with →/← and PageDown/PageUp", async () => {
    backend();
    render(BigScreen, { onclose: () => {} });
    await waitFor(() => expect(names()).toHaveLength(2));
    await fireEvent.keyDown(window, { key: "ArrowRight" });
    expect(screen.getByTestId("bigscreen-title").textContent).toBe("乡镇组 · 综合成绩排名");
    await fireEvent.keyDown(window, { key: "ArrowLeft" });
    expect(screen.getByTestId("bigscreen-title").textContent).toBe("街道组 · 综合成绩排名");
    await fireEvent.keyDown(window, { key: "PageDown" });
    expect(names()).toEqual(["柏坊镇", "水口山镇", "烟洲镇"]);
    await fireEvent.keyDown(window, { key: "PageUp" });
    expect(names()).toEqual(["宜阳街道", "泉峰街道"]);
  });

  it("逐名揭晓 shows only the last place first, then one more per Space, from the bottom", async () => {
    backend();
    render(BigScreen, { onclose: () => {} });
    await waitFor(() => expect(names()).toHaveLength(2));
    await fireEvent.click(screen.getByTestId("bigscreen-group-1"));
    await fireEvent.click(screen.getByTestId("bigscreen-reveal-step"));
    expect(names()).toEqual(["烟洲镇"]);
    expect(screen.getAllByTestId("bigscreen-row-hidden")).toHaveLength(2);
    expect(screen.getByTestId("bigscreen-counter").textContent).toBe("已揭晓 1 / 3");
    await fireEvent.keyDown(window, { key: " " });
    expect(names()).toEqual(["水口山镇", "烟洲镇"]);
    await fireEvent.keyDown(window, { key: "ArrowRight" });
    expect(names()).toEqual(["柏坊镇", "水口山镇", "烟洲镇"]);
    expect(screen.getByTestId("bigscreen-counter").textContent).toBe("已揭晓 3 / 3");
    await fireEvent.click(screen.getByTestId("bigscreen-reveal-all"));
    expect(screen.queryAllByTestId("bigscreen-row-hidden")).toHaveLength(0);
  });

  it("closes on Esc and on 退出", async () => {
    backend();
    const onclose = vi.fn();
    render(BigScreen, { onclose });
    await waitFor(() => expect(names()).toHaveLength(2));
    await fireEvent.keyDown(window, { key: "Escape" });
    await fireEvent.click(screen.getByTestId("bigscreen-exit"));
    expect(onclose).toHaveBeenCalledTimes(2);
  });

  it("shows the backend's refusal instead of the results", async () => {
    backend(true);
    render(BigScreen, { onclose: () => {} });
    await waitFor(() => expect(screen.getByTestId("bigscreen-refused").textContent).toBe("揭晓前不能查看排名,请等待组织方揭晓。"));
    expect(names()).toEqual([]);
  });
});
