// Browser test of an older page of the live feed (查看更早的动态) at a phone viewport in Debian's
// Chromium: such a page has no live stream, so its comments refresh by polling at the interval
// the server sets. A comment written there and approved by a moderator appears without a reload.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { PHONE, residentSite, shots } from "./fixture.mjs";

const POLL_SECONDS = 2;
const site = residentSite({ env: { GUANMO_FIXTURE_POLL_SECONDS: String(POLL_SECONDS) } });

test("on an older page an approved comment appears without a reload", async () => {
  // 21 posts: the first page holds 20, the oldest is on the next.
  for (let i = 1; i <= 21; i++) {
    await site.ask(`publish 第${i}条动态:观摩团在第${i}站。`, "PUBLISHED");
  }
  const page = await site.browser.newPage({ viewport: PHONE, deviceScaleFactor: 2 });
  await page.goto(site.base);
  // Followed from the keyboard, as a pointer click could miss: Playwright jumps straight to
  // the link at the foot of the page, and the posts it passes are laid out only then (they
  // skip layout off screen, content-visibility), so the link can move between its aim and its
  // click (the likely reason two CI runs clicked and never navigated). A resident scrolls
  // there instead, which steady.test.mjs checks shifts nothing.
  const older = page.getByRole("link", { name: "查看更早的动态" });
  await older.focus();
  await Promise.all([page.waitForURL(/\?cursor=/, { timeout: 20_000 }), older.press("Enter")]);
  const oldest = page.locator("article.post", { hasText: "第1条动态" });
  await oldest.waitFor({ timeout: 20_000 });
  assert.match(page.url(), /\?cursor=/, "an older page");
  assert.equal(await page.locator("body").getAttribute("data-live"), null, "no live stream here");

  await oldest.getByRole("button", { name: "写评论" }).click();
  const form = page.locator("#comment-form");
  await form.waitFor({ state: "visible" });
  await form.locator("input[name=nickname]").fill("老读者");
  await form.locator("textarea[name=text]").fill("翻到前面的动态也能看到回复,很方便。");
  await form.locator("input[name=phone]").fill("13912345678");
  await form.getByRole("button", { name: "提交" }).click();
  await page.getByText("已提交,审核通过后显示").first().waitFor({ timeout: 10_000 });
  assert.equal(await oldest.locator(".cm").count(), 0, "nothing public before approval");

  assert.equal(await site.ask("approve-pending all", "APPROVED"), "1");
  const shown = oldest.locator(".cm-text", { hasText: "翻到前面的动态也能看到回复" });
  // One polling interval, plus room for a slow machine.
  await shown.waitFor({ timeout: (POLL_SECONDS + 4) * 1000 });
  await page.screenshot({ path: join(shots, "paged-comment-approved.png"), fullPage: false });
  await page.close();
});
