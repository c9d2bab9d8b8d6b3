// Lighthouse 12 on the live page residents open, on the fixture's live tour with a dozen
// photo posts and approved comments (GUANMO_FIXTURE_SHOWCASE): at least 0.95 in performance,
// accessibility, best practices and SEO, for the whole feed and for one stop's page. Reports:
// test-output/lighthouse/<page>-<run>.report.{json,html}.
//
// A score varies a few points from run to run (Lighthouse simulates a slow phone from one
// real load, and the machine's other work shows in it), so each category is judged by its
// median over three runs, as Lighthouse's own guidance on variability advises (two runs that
// both pass settle it without a third). What decides performance is the first photo: its
// slot on Lighthouse's phone (412 px wide, DPR 1.75) needs a ~665 px copy, and the page
// offers the ~800 px one (about a third of the 1600 px copy's bytes) beside the 320 and
// 1600 px ones.
import { test } from "node:test";
import assert from "node:assert/strict";
import { residentSite } from "./fixture.mjs";
import { audit, CATEGORIES, MIN_SCORE } from "./lighthouse.mjs";

const site = residentSite({ env: { GUANMO_FIXTURE_SHOWCASE: "1" } });
const RUNS = 3;

const passes = (r) => CATEGORIES.every((c) => r.scores[c] >= MIN_SCORE);

for (const [name, path] of [
  ["live-page", ""],
  ["stop-page", "?stop=8"],
]) {
  test(`Lighthouse scores the ${name} at least ${MIN_SCORE} in every category (median of ${RUNS} runs)`, { timeout: 480_000 }, async () => {
    const runs = [];
    while (runs.length < RUNS) {
      const r = await audit(site.base + path, `${name}-${runs.length + 1}`);
      console.log(`lighthouse ${name} run ${runs.length + 1}: ${JSON.stringify(r.scores)} ${JSON.stringify(r.metrics)}`);
      assert.equal(r.runtimeError, undefined);
      runs.push(r);
      if (runs.length === 2 && passes(runs[0]) && passes(runs[1])) { break; }
    }
    for (const c of CATEGORIES) {
      const scores = runs.map((r) => r.scores[c]).sort((a, b) => a - b);
      // Two runs that both pass: the lower one; three: the middle one.
      const median = scores[scores.length === 2 ? 0 : 1];
      const below = runs.map((r, i) => `run ${i + 1}: ${r.failing.join("; ")}`).join(" | ");
      assert.ok(median >= MIN_SCORE, `${c}: median ${median} of [${scores}] < ${MIN_SCORE}; below 1: ${below}`);
    }
  });
}
