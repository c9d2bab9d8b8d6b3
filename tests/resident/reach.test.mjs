// 传播数据 from a phone: the page reports that it was opened and which posts it showed, each once
// per load, as the reader scrolls; the site's counts match what two phones did (views exact,
// visitors by the existing cookie). Phone viewport 360×640, Debian's Chromium.
import { test } from "node:test";
import assert from "node:assert/strict";
import { PHONE, residentSite } from "./fixture.mjs";

const site = residentSite();

/** Resolves once `ok()` holds (checked every 50 ms), or fails after `ms`. */
async function until(ok, what, ms = 5_000) {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) { throw new Error(`timed out waiting for ${what}`); }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function report() {
  return JSON.parse(await site.ask("reach now", "REACH"));
}

test("two phones reading the page count as page views, post showings and two visitors", async () => {
  const ids = [];
  for (let i = 1; i <= 12; i++) {
    ids.push(await site.ask(`publish 传播数据测试第${i}条:观摩团走进乡镇现场,群众纷纷点赞。`, "PUBLISHED"));
  }
  const newest = ids[ids.length - 1];
  const oldest = ids[0];
  const before = await report();

  const phones = [];
  for (let p = 0; p < 2; p++) {
    const context = await site.browser.newContext({ viewport: PHONE });
    const page = await context.newPage();
    const beacons = [];
    page.on("request", (r) => {
      if (r.url().endsWith("/api/seen")) { beacons.push(JSON.parse(r.postData() ?? "{}")); }
    });
    await page.goto(site.base);
    await page.getByText("传播数据测试第12条").waitFor({ timeout: 10_000 });
    // The first report waits for the cookie, then names the posts on screen.
    await until(() => beacons.length > 0, "the first report");
    phones.push({ context, page, beacons });
  }
  const first = phones[0].beacons[0];
  assert.equal(first.page, true, "the first report says the page was opened");
  assert.ok(first.posts.includes(newest), "the newest post is on screen at once");
  assert.ok(!first.posts.includes(oldest), "a post below the fold is not counted yet");

  // Phone 0 scrolls to the bottom: the rest of the posts are reported once each.
  const p0 = phones[0].page;
  await p0.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await until(() => phones[0].beacons.some((b) => b.posts.includes(oldest)), "the oldest post's report");
  const reported = phones[0].beacons.flatMap((b) => b.posts);
  assert.equal(new Set(reported).size, reported.length, "each post is reported once per load");
  assert.equal(phones[0].beacons.filter((b) => b.page).length, 1, "one page view per load");

  // Phone 1 reloads: a second page view by the same visitor.
  await phones[1].page.reload();
  await until(() => phones[1].beacons.filter((b) => b.page).length === 2, "the reload's report");
  // Beacons are sent without waiting for an answer: ask until the last one has arrived.
  let after = await report();
  for (let i = 0; i < 50 && after.total.views - before.total.views < 3; i++) {
    await new Promise((r) => setTimeout(r, 100));
    after = await report();
  }
  assert.equal(after.total.views - before.total.views, 3, "two loads and one reload");
  assert.equal(after.total.visitors - before.total.visitors, 2, "two phones, whatever they reloaded");
  const views = (r, id) => r.posts.find((p) => p.post_id === id)?.figures.views ?? 0;
  assert.equal(views(after, newest) - views(before, newest), 3, "the newest post was on screen in every load");
  assert.equal(views(after, oldest) - views(before, oldest), 1, "only the phone that scrolled saw the oldest");
  for (const p of phones) { await p.context.close(); }
});
