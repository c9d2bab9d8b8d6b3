// Browser test that the live page does not move under a resident's finger (Chromium's
// layout-shift entries, which Lighthouse's CLS adds up): a post's comment area (点赞 · 写评论)
// is drawn after the page, when the comments arrive and the post comes near the screen, and
// takes the room the page kept for it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PHONE, residentSite } from "./fixture.mjs";

const site = residentSite();

/** The layout shifts recorded since the last call, summed, with what moved. */
async function shiftsSince(page) {
  const shifts = await page.evaluate(() => window.__shifts.splice(0));
  return { total: shifts.reduce((sum, s) => sum + s.value, 0), shifts };
}

test("the first screen and the way down to the older page's link do not shift", async () => {
  for (let i = 1; i <= 21; i++) {
    await site.ask(`publish 第${i}条动态:观摩团在第${i}站。`, "PUBLISHED");
  }
  const page = await site.browser.newPage({ viewport: PHONE, deviceScaleFactor: 2 });
  await page.addInitScript(() => {
    window.__shifts = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const moved = e.sources.map((s) => s.node?.id || s.node?.nodeName || "?");
        window.__shifts.push({ value: e.value, moved });
      }
    }).observe({ type: "layout-shift", buffered: true });
  });
  await page.goto(site.base);
  // The first screen's areas are drawn once the comments arrived.
  await page.locator("article.post section.cms").first().waitFor({ timeout: 10_000 });
  await page.waitForTimeout(500);
  const first = await shiftsSince(page);
  assert.ok(first.total < 0.001, `the first screen moved: ${JSON.stringify(first.shifts)}`);

  // Down the page half a screen at a time, as a thumb does, letting each area be drawn.
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  for (let y = 0; y <= height; y += PHONE.height / 2) {
    await page.evaluate((top) => window.scrollTo(0, top), y);
    await page.waitForTimeout(120);
  }
  const older = page.getByRole("link", { name: "查看更早的动态" });
  await older.scrollIntoViewIfNeeded();
  const before = await older.boundingBox();
  await page.waitForTimeout(500);
  assert.deepEqual(await older.boundingBox(), before, "the link stays where the finger is");
  assert.equal(await page.locator("article.post section.cms").count(), 20, "every area drawn");
  const down = await shiftsSince(page);
  assert.ok(down.total < 0.001, `the page moved on the way down: ${JSON.stringify(down.shifts)}`);
  await page.close();
});
