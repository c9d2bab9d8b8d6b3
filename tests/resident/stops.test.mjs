// Browser test of following one stop at a phone viewport (360×640) in Debian's Chromium, on
// the fixture's live tour (GUANMO_FIXTURE_SHOWCASE: today is day 1, 第8站·荫田镇 is current, a
// dozen photo posts across stops 5–8): the 当前 banner, the stop picker narrowing the list, a
// `/?stop=` link opened fresh in a new browser context showing only that stop (server-rendered
// and live), and link-preview tags with absolute URLs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { PHONE, residentSite, shots } from "./fixture.mjs";

const site = residentSite({ env: { GUANMO_FIXTURE_SHOWCASE: "1" } });

/** The stop labels of the posts the page shows, in order. */
async function labels(page) {
  return page.locator("#feed article.post .meta .stop").allTextContents();
}

test("the banner names the current stop and the picker narrows the list to one stop", async () => {
  const page = await site.browser.newPage({ viewport: PHONE });
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(site.base);
  const banner = page.locator(".now a");
  assert.equal((await banner.textContent()).trim(), "当前:第8站·荫田镇");
  assert.equal(await banner.getAttribute("href"), "/?stop=8");
  const all = await labels(page);
  assert.ok(new Set(all).size >= 4, `posts of several stops: ${all}`);
  await page.screenshot({ path: join(shots, "stops-banner.png") });

  // The picker lists the stops in tour order with their counts.
  const options = await page.locator("#stop-pick option").allTextContents();
  assert.equal(options.length, 23, "全部站点 and the 22 stops");
  assert.equal(options[0], "全部站点");
  assert.equal(options[6], "第6站·水口山镇(3)");
  assert.equal(options[8], "第8站·荫田镇(3)");

  await Promise.all([page.waitForURL(/\?stop=6$/), page.selectOption("#stop-pick", "6")]);
  assert.deepEqual(await labels(page), ["【第6站·水口山镇】", "【第6站·水口山镇】", "【第6站·水口山镇】"]);
  assert.equal((await page.locator(".stop-head h2").textContent()).trim(), "第6站·水口山镇");
  assert.equal(await page.locator("#stop-pick").inputValue(), "6");
  // Every image has its size before it loads; a single photo offers both copies, a grid
  // cell shows the thumbnail.
  for (const img of await page.locator("#feed img").all()) {
    assert.match(await img.getAttribute("width"), /^\d+$/);
    assert.match(await img.getAttribute("height"), /^\d+$/);
  }
  const single = page.locator("#feed .photos.n1 img").first();
  assert.match(await single.getAttribute("srcset"), /320\.jpg \d+w, .*1600\.jpg \d+w$/);
  assert.match(await page.locator("#feed .photos:not(.n1) img").first().getAttribute("src"), /320\.jpg$/);
  await page.screenshot({ path: join(shots, "stops-filtered.png"), fullPage: false });
  assert.deepEqual(errors, []);
  await page.close();
});

test("a stop's shared link opened fresh shows only that stop, live too, with absolute preview tags", async () => {
  // 分享本站 on the stop's page yields its absolute /?stop= link.
  const first = await site.browser.newPage({ viewport: PHONE });
  await first.goto(site.base + "?stop=8");
  const share = first.locator("a.share");
  const url = await share.getAttribute("href");
  assert.equal(url, site.base + "?stop=8");
  await share.click();
  await first.locator(".toast", { hasText: "链接" }).first().waitFor({ timeout: 10_000 });
  await first.close();

  // Opened in a new context (no cookies, no cache), as a resident tapping it in a chat would.
  const context = await site.browser.newContext({ viewport: PHONE });
  const page = await context.newPage();
  const response = await page.goto(url);
  assert.equal(response.status(), 200);
  assert.deepEqual(await labels(page), ["【第8站·荫田镇】", "【第8站·荫田镇】", "【第8站·荫田镇】"]);

  // Link-preview tags, with absolute URLs.
  const meta = async (sel) => page.locator(sel).getAttribute("content");
  assert.equal(await meta('meta[property="og:url"]'), site.base + "?stop=8");
  assert.match(await meta('meta[property="og:title"]'), /^第8站·荫田镇 · /);
  assert.match(await meta('meta[property="og:description"]'), /第8站·荫田镇的现场图文直播,共3条动态/);
  const image = await meta('meta[property="og:image"]');
  assert.match(image, new RegExp("^" + site.base.replace(/[.]/g, "\\.") + "media/[0-9a-f]{64}/1600\\.jpg$"));
  assert.equal(await meta('meta[name="twitter:card"]'), "summary_large_image");
  assert.equal((await fetch(image)).status, 200, "the preview photo is served");
  assert.equal(await page.locator('link[rel="canonical"]').getAttribute("href"), url);

  // Live: a post of this stop appears, one of another stop does not.
  await site.ask("publish-stop 9 白沙镇的新动态不属于这一站。", "PUBLISHED");
  await site.ask("publish-stop 8 荫田镇刚刚发布的新动态。", "PUBLISHED");
  await page.locator("article.post", { hasText: "荫田镇刚刚发布的新动态" }).waitFor({ timeout: 10_000 });
  assert.equal(await page.locator("article.post", { hasText: "白沙镇的新动态" }).count(), 0);
  assert.equal((await labels(page)).filter((l) => l !== "【第8站·荫田镇】").length, 0);
  await page.screenshot({ path: join(shots, "stops-shared-link.png") });

  // The feed JSON pages through the stop alone; an unknown stop is 404.
  const feed = await (await fetch(site.base + "api/feed?stop=8&limit=2")).json();
  assert.equal(feed.posts.length, 2);
  assert.ok(feed.next_cursor);
  const rest = await (await fetch(`${site.base}api/feed?stop=8&limit=2&cursor=${feed.next_cursor}`)).json();
  assert.ok([...feed.posts, ...rest.posts].every((p) => p.stop_label === "【第8站·荫田镇】"));
  assert.equal((await fetch(site.base + "api/feed?stop=99")).status, 404);
  await context.close();
});

test("with 台标 set, the phone page's photos carry it and the originals are never served", async () => {
  const page = await site.browser.newPage({ viewport: PHONE, deviceScaleFactor: 2 });
  await page.goto(site.base + "?stop=6");
  const src = await page.locator("#feed article.post img").first().getAttribute("src");
  const plainUrl = new URL(src, site.base);
  const plain = Buffer.from(await (await page.request.get(plainUrl.href)).body());
  const digest = await site.ask("watermark on", "WATERMARK");
  assert.match(digest, /^[0-9a-f]{16}$/);
  const r = await page.request.get(plainUrl.href);
  assert.equal(r.headers()["etag"], `"w-${digest}"`, "the copy made under the current 台标");
  const marked = Buffer.from(await r.body());
  assert.notDeepEqual(marked, plain, "the served copy changed");
  assert.equal(marked.subarray(0, 3).toString("hex"), "ffd8ff", "still a JPEG");
  const hash = plainUrl.pathname.split("/")[2];
  assert.equal((await page.request.get(new URL(`/media/${hash}/original.jpg`, site.base).href)).status(), 404);
  // The phone that cached the plain copy reloads the page (the page itself may be kept 2 s):
  // its photo links now name the 台标 (?w=), so it loads the copy with the logo, not the one
  // it kept.
  await page.reload();
  const again = page.locator("#feed article.post img").first();
  assert.equal(new URL(await again.getAttribute("src"), site.base).searchParams.get("w"), digest);
  await again.scrollIntoViewIfNeeded();
  await page.waitForFunction((img) => img.complete && img.naturalWidth > 0, await again.elementHandle());
  const shown = await again.evaluate((img) => img.currentSrc);
  assert.equal(new URL(shown).searchParams.get("w"), digest, `the copy shown: ${shown}`);
  assert.equal((await page.request.get(shown)).headers()["cache-control"], "public, max-age=31536000, immutable");
  // A phone that opens the page for the first time gets them too.
  const fresh = await site.browser.newContext({ viewport: PHONE, deviceScaleFactor: 2 });
  const phone = await fresh.newPage();
  await phone.goto(site.base + "?stop=6");
  const photo = phone.locator("#feed article.post img").first();
  await photo.scrollIntoViewIfNeeded();
  await phone.waitForFunction((img) => img.complete && img.naturalWidth > 0, await photo.elementHandle());
  await phone.screenshot({ path: join(shots, "stops-watermark.png") });
  await photo.screenshot({ path: join(shots, "stops-watermark-photo.png") });
  await fresh.close();
  await page.close();
});
