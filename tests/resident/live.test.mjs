// Browser tests of the resident site: playwright-core driving Debian's Chromium at a phone
// viewport (360×640) against the real guanmo-web router over a temp data folder
// (src-tauri/crates/guanmo-web/examples/resident_fixture.rs), with posts published through
// guanmo-api. Screenshots go to test-output/resident/.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { PHONE, residentSite, shots } from "./fixture.mjs";

const site = residentSite();

test("a published post appears on an open phone page without a reload, and a retracted one disappears", async () => {
  const opening = await site.ask("publish 观摩会今日开幕,观摩团将走进22个乡镇(街道)。", "PUBLISHED");
  const page = await site.browser.newPage({ viewport: PHONE, deviceScaleFactor: 2 });
  await page.goto(site.base);
  await page.getByText("观摩会今日开幕").waitFor({ timeout: 10_000 });
  // Mark the document: a reload would lose the mark.
  await page.evaluate(() => (window.__stillTheSamePage = true));
  // Give the page's script time to open its live connection before publishing.
  await page.waitForTimeout(500);

  const started = Date.now();
  const id = await site.ask("publish 第2站:水口山镇铅锌矿工业遗址保护利用成效明显。", "PUBLISHED");
  await page.getByText("水口山镇铅锌矿工业遗址").waitFor({ timeout: 5_000 });
  const latency = Date.now() - started;
  console.log(`published → shown on the phone page in ${latency} ms`);
  assert.equal(await page.evaluate(() => window.__stillTheSamePage), true, "the page must not reload");
  await page.screenshot({ path: join(shots, "01-live-page-360x640.png") });

  await site.ask(`retract ${id}`, "RETRACTED");
  await page.getByText("水口山镇铅锌矿工业遗址").waitFor({ state: "detached", timeout: 5_000 });
  assert.equal(await page.evaluate(() => window.__stillTheSamePage), true);
  assert.ok(await page.getByText("观摩会今日开幕").isVisible());
  await page.screenshot({ path: join(shots, "02-after-retract-360x640.png") });
  await page.close();
  assert.ok(opening.length > 0);
});

test("with JavaScript disabled the page still lists the posts", async () => {
  await site.ask("publish 第3站:烟洲镇村集体经济项目现场。", "PUBLISHED");
  const context = await site.browser.newContext({ viewport: PHONE, javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(site.base);
  const text = await page.locator("body").innerText();
  assert.match(text, /烟洲镇村集体经济项目现场/);
  assert.match(text, /观摩会今日开幕/);
  assert.doesNotMatch(text, /水口山镇铅锌矿工业遗址/, "a retracted post never shows");
  // The room a comment area takes (kept for it until the script draws it) is not kept here.
  const kept = await page
    .locator("article.post")
    .first()
    .evaluate((post) => getComputedStyle(post, "::after").content);
  assert.equal(kept, "none", "no empty room under a post without JavaScript");
  await page.screenshot({ path: join(shots, "03-no-javascript-360x640.png"), fullPage: true });
  await context.close();
});
