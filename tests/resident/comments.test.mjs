// Browser tests of resident comments (先审后发) at a phone viewport in Debian's Chromium
// (playwright-core), against the real guanmo-web router over a temp data folder
// (src-tauri/crates/guanmo-web/examples/resident_fixture.rs): post a comment through the page,
// see the pending notice and nothing public, approve it as a moderator through guanmo-api (the
// fixture's `approve-pending`), see it appear without a reload; an XSS payload renders as text.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { join } from "node:path";
import { PHONE, residentSite, shots } from "./fixture.mjs";

const site = residentSite();

async function writeComment(page, postTitle, fields) {
  await page.locator("article.post", { hasText: postTitle }).getByRole("button", { name: "写评论" }).click();
  const form = page.locator("#comment-form");
  await form.waitFor({ state: "visible" });
  await form.locator("input[name=nickname]").fill(fields.nickname);
  if (fields.kind) await form.getByLabel(fields.kind).check();
  await form.locator("textarea[name=text]").fill(fields.text);
  await form.locator("input[name=phone]").fill(fields.phone);
  if (fields.shot) await page.screenshot({ path: join(shots, fields.shot) });
  await form.getByRole("button", { name: "提交" }).click();
}

test("a comment shows only after approval, appears without a reload, and script in it stays text", async () => {
  await site.ask("publish 观摩团来到水口山镇,参观矿区生态修复。", "PUBLISHED");
  const page = await site.browser.newPage({ viewport: PHONE, deviceScaleFactor: 2 });
  const dialogs = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  await page.goto(site.base);
  await page.getByText("参观矿区生态修复").waitFor({ timeout: 10_000 });

  const xss = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`;
  await writeComment(page, "参观矿区生态修复", {
    nickname: "水口山人",
    kind: "意见建议",
    text: `建议增加公交班次 ${xss}`,
    phone: "13812341234",
    shot: "comment-form.png",
  });
  await page.getByText("已提交,审核通过后显示").first().waitFor({ timeout: 10_000 });
  // Pending: in the phone's own list, never among the public comments.
  await page.locator("#my-comments").getByText("待审核").waitFor({ timeout: 10_000 });
  assert.equal(await page.locator("article.post .cm").count(), 0, "nothing public before approval");
  await page.screenshot({ path: join(shots, "comment-pending.png"), fullPage: true });

  assert.equal(await site.ask("approve-pending all", "APPROVED"), "1");
  const shown = page.locator("article.post .cm-text", { hasText: "建议增加公交班次" });
  await shown.waitFor({ timeout: 5_000 });
  assert.equal(await shown.textContent(), `建议增加公交班次 ${xss}`, "the payload is shown as text");
  assert.equal(await page.evaluate(() => window.__xss), undefined, "no script ran");
  assert.equal(await page.locator("article.post .cm img").count(), 0);
  assert.deepEqual(dialogs, []);
  // The phone's own list follows the decision too.
  await page.locator("#my-comments").getByText("已通过").waitFor({ timeout: 5_000 });
  await page.screenshot({ path: join(shots, "comment-approved.png"), fullPage: true });
  await page.close();
});

test("refused input is explained in Chinese and a like counts once per phone", async () => {
  await site.ask("publish 观摩团走进塔山瑶族乡。", "PUBLISHED");
  const page = await site.browser.newPage({ viewport: PHONE, deviceScaleFactor: 2 });
  await page.goto(site.base);
  await page.getByText("观摩团走进塔山瑶族乡").waitFor({ timeout: 10_000 });
  await writeComment(page, "观摩团走进塔山瑶族乡", { nickname: "瑶乡", text: "好", phone: "123" });
  const msg = page.locator("#cf-msg");
  await msg.getByText("内容至少2个字").waitFor({ timeout: 10_000 });
  assert.match(await msg.textContent(), /11位手机号码/);
  await page.locator("#cf-cancel").click();

  const like = page.locator("article.post", { hasText: "观摩团走进塔山瑶族乡" }).locator("button.like");
  await like.click();
  await page.waitForFunction(
    () => [...document.querySelectorAll("article.post button.like")].some((b) => b.textContent === "已赞 1"),
    null,
    { timeout: 10_000 },
  );
  await like.click();
  await page.waitForTimeout(500);
  assert.ok((await like.textContent()).endsWith(" 1"), "a second like from the same phone is not counted");
  await page.close();
});

test("with SMS verification on, the texted code is asked for and accepted", async () => {
  // The organiser's SMS gateway, on loopback: it records the code it is asked to text.
  const texts = [];
  const gateway = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      texts.push({ auth: req.headers.authorization, ...JSON.parse(body) });
      res.writeHead(200).end("{}");
    });
  });
  await new Promise((resolve) => gateway.listen(0, "127.0.0.1", resolve));
  await site.ask(`sms http://127.0.0.1:${gateway.address().port}/send`, "SMS");
  try {
    await site.ask("publish 观摩团来到洋泉镇。", "PUBLISHED");
    const page = await site.browser.newPage({ viewport: PHONE, deviceScaleFactor: 2 });
    await page.goto(site.base);
    await page.getByText("观摩团来到洋泉镇").waitFor({ timeout: 10_000 });
    await page.locator("article.post", { hasText: "观摩团来到洋泉镇" }).getByRole("button", { name: "写评论" }).click();
    const form = page.locator("#comment-form");
    await form.locator("#cf-code-row").waitFor({ state: "visible", timeout: 10_000 });
    await form.locator("input[name=nickname]").fill("洋泉人");
    await form.locator("textarea[name=text]").fill("希望多来洋泉看看");
    await form.locator("input[name=phone]").fill("13912345678");
    await form.getByRole("button", { name: "获取验证码" }).click();
    await page.locator("#cf-msg").getByText("验证码已发送").waitFor({ timeout: 10_000 });
    assert.equal(texts.length, 1);
    assert.equal(texts[0].phone, "13912345678");
    assert.equal(texts[0].auth, "Bearer fixture-key");
    await form.locator("input[name=code]").fill(texts[0].code);
    await page.screenshot({ path: join(shots, "comment-sms.png") });
    await form.getByRole("button", { name: "提交" }).click();
    await page.getByText("已提交,审核通过后显示").first().waitFor({ timeout: 10_000 });
    await page.close();
  } finally {
    await site.ask("sms off", "SMS");
    gateway.close();
  }
});

test("an official reply shows under the comment, marked 官方回复, and in the commenter's own list", async () => {
  await site.ask("publish 观摩团来到荫田镇,察看人居环境整治。", "PUBLISHED");
  const page = await site.browser.newPage({ viewport: PHONE, deviceScaleFactor: 2 });
  await page.goto(site.base);
  await page.getByText("察看人居环境整治").waitFor({ timeout: 10_000 });
  await writeComment(page, "察看人居环境整治", { nickname: "荫田人", text: "荫田的村道干净多了,点赞!", phone: "13712345678" });
  await page.getByText("已提交,审核通过后显示").first().waitFor({ timeout: 10_000 });
  // Earlier tests of this site may have left comments waiting too: all are approved.
  assert.ok(Number(await site.ask("approve-pending all", "APPROVED")) >= 1);
  await page.locator("article.post .cm-text", { hasText: "荫田的村道干净多了" }).waitFor({ timeout: 5_000 });

  await site.ask("official-reply 荫田的村道干净多了|感谢点赞!人居环境整治还将继续推进。", "REPLIED");
  // The page follows without a reload: the reply under the comment, marked 官方回复 with its department.
  const reply = page.locator("article.post .reply.official", { hasText: "人居环境整治还将继续推进" });
  await reply.waitFor({ timeout: 10_000 });
  assert.match(await reply.textContent(), /^官方回复观摩会组委会:感谢点赞!人居环境整治还将继续推进。/);
  // The commenter's phone sees it in 我的评论 too.
  await page.locator("#my-comments .reply.official", { hasText: "人居环境整治还将继续推进" }).waitFor({ timeout: 10_000 });
  await reply.scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(shots, "comment-official-reply.png") });
  await page.close();
});
