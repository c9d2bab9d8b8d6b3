// Lighthouse 12 (npm) on a resident page, run against Debian's Chromium (CHROME_PATH, default
// /usr/bin/chromium) with Lighthouse's default mobile form factor (a mid-range phone, slow 4G
// and a 4× slower CPU, simulated). Writes the JSON and HTML reports to test-output/lighthouse/
// and returns the four category scores. Used by lighthouse.test.mjs; also runs by hand against
// any site: `node tests/resident/lighthouse.mjs http://127.0.0.1:8080/ [name]`.
import lighthouse from "lighthouse";
import * as chromeLauncher from "chrome-launcher";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Where the reports go. */
export const reports = join(root, "test-output", "lighthouse");
/** The categories the resident page must score in, and the least score each must reach. */
export const CATEGORIES = ["performance", "accessibility", "best-practices", "seo"];
export const MIN_SCORE = 0.95;

/** The performance metrics reported beside the scores (ms, CLS unitless), by audit id. */
export const METRICS = {
  fcp: "first-contentful-paint",
  lcp: "largest-contentful-paint",
  tbt: "total-blocking-time",
  cls: "cumulative-layout-shift",
  si: "speed-index",
};

/**
 * Runs Lighthouse on `url`, writes `<name>.report.json` and `<name>.report.html`, and resolves
 * to `{ scores: {category: score}, metrics: {fcp, lcp, tbt, cls, si}, failing: [audit titles
 * that scored below 1 with weight] }`.
 */
export async function audit(url, name = "resident") {
  const chrome = await chromeLauncher.launch({
    chromePath: process.env.CHROME_PATH ?? "/usr/bin/chromium",
    chromeFlags: [
      "--headless=new",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
  try {
    const result = await lighthouse(url, {
      port: chrome.port,
      output: ["json", "html"],
      logLevel: "error",
      onlyCategories: CATEGORIES,
    });
    mkdirSync(reports, { recursive: true });
    const [json, html] = result.report;
    writeFileSync(join(reports, `${name}.report.json`), json);
    writeFileSync(join(reports, `${name}.report.html`), html);
    const lhr = result.lhr;
    const scores = Object.fromEntries(CATEGORIES.map((c) => [c, lhr.categories[c].score]));
    const failing = [];
    for (const c of CATEGORIES) {
      for (const ref of lhr.categories[c].auditRefs) {
        const a = lhr.audits[ref.id];
        if (ref.weight > 0 && a.score !== null && a.score < 1) {
          failing.push(`${c}: ${a.id} (${a.score}) ${a.displayValue ?? ""}`.trim());
        }
      }
    }
    const metrics = Object.fromEntries(
      Object.entries(METRICS).map(([k, id]) => [k, Math.round(lhr.audits[id].numericValue * 1000) / 1000]),
    );
    return { scores, metrics, failing, runtimeError: lhr.runtimeError?.message };
  } finally {
    await chrome.kill();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const url = process.argv[2];
  if (!url) {
    console.error("usage: node tests/resident/lighthouse.mjs <url> [name]");
    process.exit(2);
  }
  const r = await audit(url, process.argv[3] ?? "resident");
  console.log(JSON.stringify(r, null, 2));
  process.exit(Object.values(r.scores).every((s) => s >= MIN_SCORE) ? 0 : 1);
}
