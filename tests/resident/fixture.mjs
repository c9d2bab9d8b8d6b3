// What the resident-site browser tests share: the real guanmo-web router over a temp data
// folder (src-tauri/crates/guanmo-web/examples/resident_fixture.rs), steered through its stdin,
// and Debian's Chromium driven by playwright-core. Not a test file itself (no `.test.`).
import { before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { mkdirSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const target = process.env.CARGO_TARGET_DIR ?? join(root, "target");
const fixture = join(target, "debug", "examples", "resident_fixture");

/** The repository's root and the cargo target folder the binaries are built into. */
export const repoRoot = root;
export const targetDir = target;
/** How the tests start Debian's Chromium (headless, nothing phoning home). */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Where screenshots go. */
export const shots = join(root, "test-output", "resident");
/** The phone viewport every test uses. */
export const PHONE = { width: 360, height: 640 };

/**
 * Starts the fixture (with `env` added to its environment) and Chromium before this file's
 * tests and stops both after them. The returned object is filled in by then: `base` (the
 * site's URL), `browser`, and `ask(command, word)`, which sends a command and resolves to the
 * rest of the reply line starting with `word`.
 */
export function residentSite({ env = {} } = {}) {
  let server;
  let lines;
  const site = {
    base: "",
    browser: null,
    ask(command, word) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${word} after ${command}`)), 10_000);
        const onLine = (line) => {
          if (line.startsWith(word + " ")) {
            clearTimeout(timer);
            lines.off("line", onLine);
            resolve(line.slice(word.length + 1).trim());
          }
        };
        lines.on("line", onLine);
        server.stdin.write(command + "\n");
      });
    },
  };

  before(async () => {
    assert.ok(existsSync(fixture), `${fixture} missing: run cargo build -p guanmo-web --examples`);
    mkdirSync(shots, { recursive: true });
    server = spawn(fixture, [], { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, ...env } });
    lines = createInterface({ input: server.stdout });
    const port = await new Promise((resolve) => {
      const onLine = (line) => {
        if (line.startsWith("LISTENING ")) {
          lines.off("line", onLine);
          resolve(line.split(" ")[1]);
        }
      };
      lines.on("line", onLine);
    });
    site.base = `http://127.0.0.1:${port}/`;
    site.browser = await chromium.launch({
      executablePath: "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    });
  });

  after(async () => {
    await site.browser?.close();
    server?.stdin.end();
    await new Promise((resolve) => (server ? server.on("exit", resolve) : resolve()));
  });

  return site;
}
