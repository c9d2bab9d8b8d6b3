// The live site on the internet, as the README's "Put the live site on the internet" sets it
// up: the real `guanmo serve --site` (target/debug/guanmo) behind Debian's nginx with the
// shipped site file (src-tauri/crates/guanmo-cli/deploy/nginx/), over HTTPS with a
// self-signed certificate made here, and a phone (Chromium via playwright-core, 360×640)
// reaching it by its host name. Posts come from a paired 直播电脑 the way they do in production
// (src-tauri/crates/guanmo-web/examples/media_laptop.rs, over the peer protocol): through
// nginx over HTTPS, paired by address and code with the self-signed certificate's SHA-256
// fingerprint, which the laptop pins. The same laptop moderates: the organiser grants it 审核
// with `guanmo moderator` on the running hub's folder, it receives the phone's comment (number
// masked) and approves it, and the phone page shows it through nginx's /live.
//
// nginx runs as the current user on free ports of 127.0.0.1 with its own prefix in a temp
// folder. The snippets are included unchanged; the site file is the shipped one with only the
// per-server values replaced (ports, certificate, upstream addresses, cache folder), each
// checked to be found. One line is the test's own: `proxy_bind 127.0.0.2`, so nginx reaches
// the app from 127.0.0.2 while phones come from 127.0.0.1 and 127.0.0.3, and the test can
// tell which address the app counts. 直播网站设置 trust 127.0.0.2 as the proxy.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createInterface } from "node:readline";
import { createServer, connect } from "node:net";
import { request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";
import { mkdtempSync, mkdirSync, writeFileSync, readFileSync, existsSync, chmodSync, symlinkSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, PHONE, repoRoot, shots, targetDir } from "./fixture.mjs";

const HOST = "live.example.cn";
const guanmo = join(targetDir, "debug", "guanmo");
const laptopBin = join(targetDir, "debug", "examples", "media_laptop");
const deploy = join(repoRoot, "src-tauri", "crates", "guanmo-cli", "deploy", "nginx");
/** The address nginx reaches the app from (the test's `proxy_bind`), the only trusted proxy. */
const PROXY_ADDR = "127.0.0.2";

const s = {
  dir: "",
  ports: {},
  base: "",
  serve: null,
  serveLog: "",
  nginx: null,
  /** The hub's data folder (`guanmo serve` runs on it). */
  hub: "",
  laptop: null,
  laptopLines: null,
  /** The 直播电脑's device id, as it answered `PAIRED`. */
  laptopId: "",
  /** The certificate's SHA-256 fingerprint, as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprint: "",
  browser: null,
};

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function listening(port, ms = 30_000) {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const sock = connect(port, "127.0.0.1");
      sock.on("connect", () => {
        sock.destroy();
        resolve();
      });
      sock.on("error", () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on ${port}`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** One request to nginx over HTTPS (HTTP/1.1) from `local`, naming the site by its host. */
function fetchVia(path, { method = "GET", headers = {}, body, local = "127.0.0.1" } = {}) {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port: s.ports.https,
        servername: HOST,
        localAddress: local,
        rejectUnauthorized: false,
        agent: false,
        path,
        method,
        headers: { host: `${HOST}:${s.ports.https}`, ...headers },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on("error", reject);
    if (body) req.write(body);
    req.end();
  });
}

/** A media laptop process (a fresh data folder each), steered by `laptop`/`laptopFails`. */
function startLaptop() {
  const child = spawn(laptopBin, [], { stdio: ["pipe", "pipe", "inherit"] });
  return { child, lines: createInterface({ input: child.stdout }) };
}

/** Sends a command to a media laptop and resolves to its answer (one line per command). */
function ask(command, l) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer to ${command}`)), 20_000);
    l.lines.once("line", (line) => {
      clearTimeout(timer);
      resolve(line);
    });
    l.child.stdin.write(command + "\n");
  });
}

/** Sends a command to the media laptop and resolves to the rest of its answer line. */
async function laptop(command, word, l = { child: s.laptop, lines: s.laptopLines }) {
  const line = await ask(command, l);
  if (!line.startsWith(word + " ")) throw new Error(`${command}: ${line}`);
  return line.slice(word.length + 1).trim();
}

/** Sends a command that must fail; resolves to the error's code (`ERROR <code> <message>`). */
async function laptopFails(command, l = { child: s.laptop, lines: s.laptopLines }) {
  const line = await ask(command, l);
  assert.match(line, /^ERROR [a-z_]+ /, line);
  return { code: line.split(" ")[1], line };
}

/** The shipped site file with this run's values in place of the production ones. */
function siteFile() {
  let text = readFileSync(join(deploy, "guanmo.conf"), "utf8");
  const replacements = [
    ["listen 80;", `listen 127.0.0.1:${s.ports.http};`],
    ["listen [::]:80;", ""],
    ["listen 443 ssl http2;", `listen 127.0.0.1:${s.ports.https} ssl http2;`],
    ["listen [::]:443 ssl http2;", ""],
    [`/etc/letsencrypt/live/${HOST}/fullchain.pem`, join(s.dir, "cert.pem")],
    [`/etc/letsencrypt/live/${HOST}/privkey.pem`, join(s.dir, "key.pem")],
    ["server 127.0.0.1:8080;", `server 127.0.0.1:${s.ports.site};`],
    ["server 127.0.0.1:8787;", `server 127.0.0.1:${s.ports.peer};`],
    ["/var/cache/nginx/guanmo", join(s.dir, "nginx", "cache")],
  ];
  for (const [from, to] of replacements) {
    assert.equal(text.split(from).length - 1, 1, `the shipped guanmo.conf has "${from}" once`);
    text = text.replace(from, to);
  }
  return text;
}

function nginxConf(prefix) {
  return `# Made by tests/resident/nginx.test.mjs around the shipped site file.
worker_processes 1;
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log info;
events { worker_connections 1024; }
http {
  access_log ${prefix}/access.log;
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  # The test's own line: nginx reaches the app from ${PROXY_ADDR}, phones come from 127.0.0.1/.3.
  proxy_bind ${PROXY_ADDR};
  include sites-enabled/guanmo.conf;
}
`;
}

function stop(child, signal = "SIGTERM") {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child?.exitCode);
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill(signal);
  });
}

before(async () => {
  for (const bin of [guanmo, laptopBin]) {
    assert.ok(existsSync(bin), `${bin} missing: run cargo build -p guanmo-cli --bin guanmo and cargo build -p guanmo-web --examples`);
  }
  mkdirSync(shots, { recursive: true });
  s.dir = mkdtempSync(join(tmpdir(), "guanmo-nginx-"));
  // nginx started by root runs its workers as nobody: they must reach the cache and temp folders.
  chmodSync(s.dir, 0o755);
  for (const name of ["http", "https", "site", "peer"]) s.ports[name] = await freePort();
  s.base = `https://${HOST}:${s.ports.https}/`;

  // A self-signed certificate for the host name, as a county without certbot might have.
  execFileSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", join(s.dir, "key.pem"), "-out", join(s.dir, "cert.pem"), "-days", "2",
    "-subj", `/CN=${HOST}`, "-addext", `subjectAltName=DNS:${HOST}`,
  ], { stdio: "pipe" });
  // What the organiser reads off the certificate and types into the laptop beside the address.
  const printed = execFileSync("openssl", ["x509", "-noout", "-fingerprint", "-sha256", "-in", join(s.dir, "cert.pem")], { encoding: "utf8" });
  s.fingerprint = printed.trim().split("=")[1];
  assert.match(s.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/, printed);

  // The hub's folder, with 直播网站设置: nginx is the trusted proxy, the host name allowed.
  const hub = (s.hub = join(s.dir, "hub"));
  mkdirSync(hub);
  writeFileSync(join(s.dir, "site.json"), JSON.stringify({ trustedProxies: [PROXY_ADDR], extraHosts: [HOST] }));
  execFileSync(guanmo, ["site-settings", "--data-dir", hub, "--set", join(s.dir, "site.json")], { stdio: "pipe" });
  const code = execFileSync(guanmo, ["pairing-code", "--data-dir", hub], { encoding: "utf8" }).split("\n")[0].trim();

  s.serve = spawn(guanmo, [
    "serve", "--data-dir", hub,
    "--peer", `127.0.0.1:${s.ports.peer}`,
    "--site", `127.0.0.1:${s.ports.site}`,
    "--site-host", HOST,
  ], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, RUST_LOG: "info" } });
  s.serve.stderr.on("data", (c) => (s.serveLog += c));
  await listening(s.ports.site);
  await listening(s.ports.peer);

  // nginx with the shipped files, as this user, in the foreground.
  const prefix = join(s.dir, "nginx");
  mkdirSync(join(prefix, "sites-enabled"), { recursive: true });
  chmodSync(prefix, 0o755);
  symlinkSync(join(deploy, "snippets"), join(prefix, "snippets"));
  writeFileSync(join(prefix, "sites-enabled", "guanmo.conf"), siteFile());
  writeFileSync(join(prefix, "nginx.conf"), nginxConf(prefix));
  const args = ["-p", prefix, "-c", join(prefix, "nginx.conf")];
  execFileSync("nginx", [...args, "-t"], { stdio: "pipe" });
  s.nginx = spawn("nginx", [...args, "-g", "daemon off;"], { stdio: ["ignore", "inherit", "inherit"] });
  await listening(s.ports.https);

  // The 直播电脑 pairs through nginx over HTTPS, by IP address, pinning the certificate (whose
  // name is the host's, not the address: the pin alone is checked).
  ({ child: s.laptop, lines: s.laptopLines } = startLaptop());
  s.laptopId = await laptop(`pair https://127.0.0.1:${s.ports.https} ${code} ${s.fingerprint}`, "PAIRED");

  s.browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [...CHROMIUM_ARGS, `--host-resolver-rules=MAP ${HOST} 127.0.0.1`, "--ignore-certificate-errors"],
  });
});

after(async () => {
  await s.browser?.close();
  s.laptop?.stdin.end();
  await stop(s.laptop);
  await stop(s.nginx, "SIGQUIT");
  const code = await stop(s.serve);
  if (code !== 0 && s.serve) console.log(`guanmo serve ended with ${code}:\n${s.serveLog}`);
  if (process.env.GUANMO_KEEP_TEMP) console.log(`kept ${s.dir}`);
  else if (s.dir) rmSync(s.dir, { recursive: true, force: true });
});

test("the phone page loads through nginx over HTTPS/2 and a new post appears live within 2 s", async () => {
  await laptop("publish 观摩会今日开幕,观摩团将走进22个乡镇(街道)。", "PUBLISHED");
  const page = await s.browser.newPage({ viewport: PHONE, deviceScaleFactor: 2 });
  const response = await page.goto(s.base);
  assert.equal(response.status(), 200);
  assert.ok((await response.securityDetails())?.protocol?.startsWith("TLS"), "served over TLS");
  const protocol = await page.evaluate(() => performance.getEntriesByType("navigation")[0].nextHopProtocol);
  assert.equal(protocol, "h2", "nginx speaks HTTP/2 to the phone");
  // The app believes nginx's X-Forwarded-Proto (trusted proxy): HSTS only goes out over HTTPS.
  assert.match((await response.allHeaders())["strict-transport-security"] ?? "", /max-age=/);
  await page.getByText("观摩会今日开幕").waitFor({ timeout: 10_000 });
  await page.evaluate(() => (window.__stillTheSamePage = true));
  // Give the page's script time to open its live connection (through nginx) first.
  await page.waitForTimeout(500);

  const started = Date.now();
  await laptop("publish 第2站:水口山镇铅锌矿工业遗址保护利用成效明显。", "PUBLISHED");
  await page.getByText("水口山镇铅锌矿工业遗址").waitFor({ timeout: 2_000 });
  const latency = Date.now() - started;
  console.log(`published on the laptop → shown on the phone through nginx in ${latency} ms`);
  assert.ok(latency <= 2_000, `${latency} ms`);
  const log = readFileSync(join(s.dir, "nginx", "access.log"), "utf8");
  assert.match(log, /"POST \/peer\/v1\/push HTTP\/1\.1" 200 /, "the laptop pushed through nginx");
  assert.equal(await page.evaluate(() => window.__stillTheSamePage), true, "the page must not reload");
  await page.screenshot({ path: join(shots, "nginx-phone-360x640.png") });
  await page.close();
});

test("a comment from the phone through nginx waits for review; the granted laptop approves it and the phone shows it live within 2 s", async () => {
  const TEXT = "建议在遗址公园增设公交站点";
  const PHONE_NUMBER = "13812341234";
  const page = await s.browser.newPage({ viewport: PHONE, deviceScaleFactor: 2 });
  await page.goto(s.base);
  const post = page.locator("article.post", { hasText: "水口山镇铅锌矿工业遗址" });
  await post.waitFor({ timeout: 10_000 });
  await post.getByRole("button", { name: "写评论" }).click();
  const form = page.locator("#comment-form");
  await form.waitFor({ state: "visible" });
  await form.locator("input[name=nickname]").fill("水口山人");
  await form.getByLabel("意见建议").check();
  await form.locator("textarea[name=text]").fill(TEXT);
  await form.locator("input[name=phone]").fill(PHONE_NUMBER);
  const answered = page.waitForResponse((r) => r.url().endsWith("/api/comments") && r.request().method() === "POST");
  await form.getByRole("button", { name: "提交" }).click();
  const r = await answered;
  assert.equal(r.status(), 201, await r.text());
  assert.equal((await r.allHeaders())["x-cache-status"], undefined, "comment routes are never cached");
  await page.getByText("已提交,审核通过后显示").first().waitFor({ timeout: 10_000 });
  await page.locator("#my-comments").getByText("待审核").waitFor({ timeout: 10_000 });
  await page.screenshot({ path: join(shots, "nginx-phone-comment-pending.png"), fullPage: true });
  await page.evaluate(() => (window.__stillTheSamePage = true));
  const shownComment = post.locator(".cm-list li.cm", { hasText: TEXT });
  assert.equal(await shownComment.count(), 0, "not shown before a moderator approves it");

  // The laptop receives the comment, but holds no 审核 grant yet: it may not decide.
  assert.match(await laptop("sync", "SYNCED"), /^\d+$/);
  const refused = await laptopFails(`approve ${TEXT}`);
  assert.equal(refused.code, "hub_only", refused.line);

  // The organiser grants it 审核 on the server, on the running hub's folder.
  const granted = execFileSync(guanmo, ["moderator", "--data-dir", s.hub, s.laptopId], { encoding: "utf8" });
  assert.match(granted, /now holds 审核/, granted);
  assert.match(execFileSync(guanmo, ["devices", "--data-dir", s.hub], { encoding: "utf8" }), new RegExp(`^${s.laptopId}\t.*paired, 审核`, "m"));
  const applied = Number(await laptop("sync", "SYNCED"));
  assert.ok(applied >= 1, `the grant arrives through nginx (applied ${applied})`);

  // The moderator approves; timed from its answer (the hub has accepted the decision) to the
  // comment under the post on the open phone page, which hears of it on nginx's /live.
  const sent = Date.now();
  const shownAt = shownComment.waitFor({ timeout: 10_000 }).then(() => Date.now());
  const [id, masked] = (await laptop(`approve ${TEXT}`, "APPROVED")).split(" ");
  const approvedAt = Date.now();
  const shown = await shownAt;
  const latency = Math.max(0, shown - approvedAt);
  console.log(`approved on the laptop (answered after ${approvedAt - sent} ms) → shown on the phone through nginx in ${latency} ms`);
  assert.ok(latency <= 2_000, `${latency} ms`);
  assert.ok(id, "a comment id");
  assert.equal(await page.locator(`#c-${id}`).count(), 1, "the approved comment is the one shown");
  // The laptop only ever held the masked number.
  assert.match(masked ?? "", /^\d{3}\*{4}\d{4}$/, `phone on the laptop: ${masked}`);
  assert.notEqual(masked, PHONE_NUMBER);
  assert.equal(masked, `${PHONE_NUMBER.slice(0, 3)}****${PHONE_NUMBER.slice(-4)}`);
  await page.locator("#my-comments li.st-approved", { hasText: TEXT }).getByText("已通过").waitFor({ timeout: 10_000 });
  assert.equal(await page.evaluate(() => window.__stillTheSamePage), true, "the page must not reload");
  await shownComment.scrollIntoViewIfNeeded();
  // The submission's toast ("已提交,审核通过后显示") has gone by then, for a screenshot that says one thing.
  await page.locator("#toast.show").waitFor({ state: "detached", timeout: 10_000 });
  await page.waitForTimeout(400);
  await page.screenshot({ path: join(shots, "nginx-phone-comment-approved.png") });
  await page.close();
});

test("the feed is micro-cached by nginx (HIT, 304 on its ETag) and a publish shows within the cache window", async () => {
  const path = "/api/feed?limit=7"; // a key no earlier test used
  const first = await fetchVia(path);
  assert.equal(first.status, 200);
  assert.notEqual(first.headers["x-cache-status"], "HIT");
  const second = await fetchVia(path);
  assert.equal(second.headers["x-cache-status"], "HIT", "the second request within the window is served by nginx");
  assert.equal(second.body, first.body);
  assert.equal(second.headers["cache-control"], "public, max-age=2", "the app's policy goes through");
  const etag = first.headers.etag;
  assert.ok(etag);
  const again = await fetchVia(path, { headers: { "if-none-match": etag } });
  assert.equal(again.status, 304, "a phone holding the ETag gets 304");
  // The answers that depend on the phone's cookie are never cached.
  const me = await fetchVia("/api/me");
  assert.equal(me.headers["x-cache-status"], undefined);

  // Timed from when the post has reached the hub (the laptop answers once its sync is done):
  // what is left is the cache's window, not the laptop's upload.
  await laptop("publish 第3站:烟洲镇村集体经济项目现场。", "PUBLISHED");
  const started = Date.now();
  let seenAfter = -1;
  while (Date.now() - started < 6_000) {
    const r = await fetchVia(path);
    if (r.body.includes("烟洲镇村集体经济项目现场")) {
      seenAfter = Date.now() - started;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  console.log(`published → in /api/feed through the micro-cache after ${seenAfter} ms`);
  // The app's max-age (2 s), which nginx counts in whole seconds (so up to 3 s), plus a poll
  // step.
  assert.ok(seenAfter >= 0 && seenAfter <= 3_500, `${seenAfter} ms`);
});

test("the app counts the phone's own address: a forged X-Forwarded-For changes nothing", async () => {
  const feed = JSON.parse((await fetchVia("/api/feed")).body);
  const target = feed.posts[0].id;
  const comment = (i, from, forged) =>
    fetchVia("/api/comments", {
      method: "POST",
      local: from,
      headers: { "content-type": "application/json", ...(forged ? { "x-forwarded-for": forged } : {}) },
      body: JSON.stringify({
        target,
        nickname: `居民${i}`,
        kind: "other",
        text: `第${i}条留言,来自${from}`,
        phone: `1391234${String(5000 + i)}`,
      }),
    });

  // Without a cookie one address gets a twentieth of its comment quota (150 / 20 = 7 at once).
  // Phone A (127.0.0.1) claims another address every time, 127.0.0.3 among them.
  const statuses = [];
  for (let i = 0; i < 12; i++) {
    const forged = i % 2 ? "127.0.0.3" : `203.0.113.${i + 1}`;
    const r = await comment(i, "127.0.0.1", forged);
    statuses.push(r.status);
    if (r.status === 429) {
      assert.match(r.headers["content-type"] ?? "", /json/, "the app's refusal, not nginx's");
      assert.ok(r.headers["retry-after"]);
      break;
    }
  }
  console.log(`phone A (forging X-Forwarded-For): ${statuses.join(" ")}`);
  assert.equal(statuses.at(-1), 429, "A's own address ran out although it claimed other ones");
  assert.ok(statuses.slice(0, -1).every((c) => c === 201), statuses.join(" "));
  assert.ok(statuses.length >= 7 && statuses.length <= 9, statuses.join(" "));

  // Phone B (127.0.0.3) is a different address to the app although all of it comes from
  // nginx's one address (127.0.0.2), and A's forged "127.0.0.3" counted nothing against it.
  const b = await comment(100, "127.0.0.3");
  assert.equal(b.status, 201, b.body);
  const b2 = await comment(101, "127.0.0.3", "127.0.0.1");
  assert.equal(b2.status, 201, b2.body);
});

test("a laptop refuses a hub whose certificate is not the fingerprint's, and plain http:// to a public address", async () => {
  const other = startLaptop();
  try {
    // The real fingerprint with its first byte changed: nginx's certificate no longer matches.
    const first = s.fingerprint.slice(0, 2) === "00" ? "01" : "00";
    const wrong = first + s.fingerprint.slice(2);
    const pairs = () => readFileSync(join(s.dir, "nginx", "access.log"), "utf8").split("/peer/v1/pair").length;
    const before = pairs();
    assert.ok(before > 1, "the 直播电脑 paired through nginx");
    const changed = await laptopFails(`pair https://127.0.0.1:${s.ports.https} 000000 ${wrong}`, other);
    assert.equal(changed.code, "cert_changed", changed.line);
    assert.equal(pairs(), before, "no request goes over a connection to the wrong certificate");

    // Plain HTTP to an address on the internet is refused before connecting (TEST-NET-3, port 1:
    // a connection attempt would be `unreachable`).
    const insecure = await laptopFails("pair http://203.0.113.7:1 000000", other);
    assert.equal(insecure.code, "insecure_hub_address", insecure.line);
    // Neither attempt left the laptop paired.
    assert.equal((await laptopFails("publish 不应发出", other)).code, "not_paired");
  } finally {
    other.child.stdin.end();
    await stop(other.child);
  }
});

test("nginx sends phones to HTTPS, laptops to the peer listener, and passes nothing else", async () => {
  const redirect = await new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port: s.ports.http, path: "/?x=1", headers: { host: HOST } },
      (res) => {
        res.resume();
        resolve({ status: res.statusCode, location: res.headers.location });
      },
    );
    req.on("error", reject);
    req.end();
  });
  assert.equal(redirect.status, 301);
  assert.equal(redirect.location, `https://${HOST}/?x=1`);

  // The sync routes reach the peer listener (its own refusal: no device token).
  const pull = await fetchVia("/peer/v1/pull", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  assert.equal(pull.status, 401, pull.body);
  assert.equal(JSON.parse(pull.body).code, "unauthorized");

  // Anything else stops at nginx (no app security headers on the answer).
  for (const path of ["/.env", "/admin", "/peer", "/api/feedx", "/api/comments/x/delete"]) {
    const r = await fetchVia(path);
    assert.equal(r.status, 404, path);
    assert.equal(r.headers["content-security-policy"], undefined, path);
  }
  // A body over the resident routes' limit is refused by nginx before the app.
  const big = await fetchVia("/api/comments", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text: "长".repeat(20_000) }),
  });
  assert.equal(big.status, 413);
});
