import { afterEach, describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/svelte";
import { compile } from "svelte/compiler";
import type { Rubric, Sheet } from "../../ipc";
import PrintSheet from "./PrintSheet.svelte";
import source from "./PrintSheet.svelte?raw";

const rubric: Rubric = {
  title: "2024年度下半年乡镇(街道)工作现场观摩会评分表",
  total_points: 20,
  categories: [
    {
      id: "cat-1",
      name: "基层党建",
      max_points: 20,
      criteria: [
        { id: "crit-1", name: "组织建设", max_points: 8, guidance: "" },
        { id: "crit-2", name: "党员教育", max_points: 12, guidance: "" },
      ],
    },
  ],
  adjustments: [{ id: "adj-1", name: "获市级以上表彰", kind: "bonus", limit_points: 2, guidance: "" }],
};

const sheet: Sheet = {
  id: "sheet-1",
  scorer_id: "s-1",
  township_id: "t-yy",
  status: "draft",
  marks: [{ criterion_id: "crit-1", points: 7.5, note: "阵地规范" }],
  adjustments: [],
  comment: "亮点突出",
  base_total: 7.5,
  adjustment_total: 0,
  submitted_at: null,
  unlock_reason: null,
  evidence: [],
  version: 3,
};

const props = {
  rubric,
  sheet,
  scorer: { name: "张三", group: "市领导" },
  township: "宜阳街道",
  stop: 1,
  printedAt: new Date("2024-12-04T02:30:00Z"),
};

/**
 * The component's own CSS, scoped with the class Svelte gave the rendered copy. jsdom applies
 * `screen` (and `all`) media rules and never `print` ones: for paper, `@media print` is read as
 * `@media all`.
 */
function installStyles(scopedEl: Element, media: "screen" | "paper") {
  const scope = [...scopedEl.classList].find((c) => c.startsWith("svelte-"));
  expect(scope, "the print copy carries its scoped class").toBeTruthy();
  const css = compile(source, { filename: "PrintSheet.svelte", css: "external", cssHash: () => scope! }).css!.code;
  const style = document.createElement("style");
  style.textContent = media === "paper" ? css.replaceAll("@media print", "@media all") : css;
  document.head.appendChild(style);
  return style;
}

let installed: HTMLElement[] = [];
afterEach(() => {
  for (const el of installed) el.remove();
  installed = [];
});

/** Stands in for the app's window: navigation, the sheet with its inputs and buttons. */
function appShell() {
  const app = document.createElement("div");
  app.id = "app";
  app.innerHTML = `<nav>评分 排名</nav><main><input data-testid="mark-0-0" value="9" /><button>提交</button></main>`;
  document.body.prepend(app);
  installed.push(app);
  return app;
}

describe("the printed sheet on its own", () => {
  it("holds the values as text: no button, no input; the draft mark, the totals, the signature and the footer", () => {
    render(PrintSheet, { props });
    const print = screen.getByTestId("print-sheet");
    expect(print.querySelectorAll("button, input, textarea, select, nav, aside")).toHaveLength(0);
    expect(print.querySelector("h1")!.textContent).toBe("2024年度下半年乡镇(街道)工作现场观摩会评分表");
    expect(screen.getByTestId("print-township").textContent).toBe("第1站 · 宜阳街道");
    expect(screen.getByTestId("print-scorer").textContent).toBe("评分人:张三");
    expect(screen.getByTestId("print-group").textContent).toBe("组别:市领导");
    expect(screen.getByTestId("print-draft").textContent).toBe("草稿,未提交");
    expect(screen.getByTestId("print-status").textContent).toBe("状态:草稿,未提交");
    expect(screen.getByTestId("print-mark-0-0").textContent).toBe("7.5");
    expect(screen.getByTestId("print-mark-0-1").textContent).toBe("");
    expect(screen.getByTestId("print-subtotal-0").textContent).toBe("7.5");
    expect(screen.getByTestId("print-adjustment-0").textContent).toBe("");
    expect(screen.getByTestId("print-total").textContent).toBe("总分 7.5 = 细则 7.5 + 加减分 0");
    expect(screen.getByTestId("print-comment").textContent).toBe("总体评价:亮点突出");
    expect(screen.getByTestId("print-signature").textContent).toBe("评分人签字:________________日期:____年__月__日");
    expect(screen.getByTestId("print-footer").textContent).toBe("打印时间 2024-12-04 10:30(北京时间) · 共2项,已评1项");
    // Each category's name spans its criteria and its 小计.
    expect(print.querySelector("tbody th.cat")!.getAttribute("rowspan")).toBe("3");
  });

  it("a submitted sheet has no draft mark and says when it was submitted", () => {
    render(PrintSheet, { props: { ...props, sheet: { ...sheet, status: "submitted", submitted_at: "2024-12-04T02:05:00Z" } } });
    expect(screen.queryByTestId("print-draft")).toBeNull();
    expect(screen.getByTestId("print-status").textContent).toBe("状态:已提交(2024-12-04 10:05 北京时间)");
  });

  it("lives directly under <body> while mounted, and leaves with the component", () => {
    const { unmount } = render(PrintSheet, { props });
    expect(screen.getByTestId("print-sheet").parentElement).toBe(document.body);
    unmount();
    expect(document.querySelector("[data-testid='print-sheet']")).toBeNull();
  });

  it("on screen it is hidden and the app shows", () => {
    const app = appShell();
    render(PrintSheet, { props });
    const print = screen.getByTestId("print-sheet");
    installed.push(installStyles(print, "screen"));
    expect(getComputedStyle(print).display).toBe("none");
    expect(getComputedStyle(app).display).not.toBe("none");
  });

  it("on paper (@media print) it is shown and everything else of the app is hidden", () => {
    const app = appShell();
    const { container } = render(PrintSheet, { props });
    const print = screen.getByTestId("print-sheet");
    installed.push(installStyles(print, "paper"));
    expect(getComputedStyle(print).display).toBe("block");
    expect(getComputedStyle(app).display).toBe("none");
    expect(getComputedStyle(container).display).toBe("none");
  });
});
