// The browser-test harness: Debian's Chromium driven by playwright-core against a running stack
// (`make dev`, or the stack `make e2e` starts). Spec modules import `test` and the helpers;
// run.mjs imports the specs in order and calls `finish()`. Screenshots go to client/test-results/.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

export const BASE = process.env.LATTICE_URL ?? "http://127.0.0.1:8000";
export const OUT = new URL("../test-results/", import.meta.url).pathname;
mkdirSync(OUT, { recursive: true });

// `node e2e/run.mjs words…` runs only the tests whose names contain one of the words.
const only = process.argv.slice(2).map((w) => w.toLowerCase());
const results = [];
let browser = null;

async function launch() {
  browser ??= await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"],
  });
  return browser;
}

const queue = [];

/** Registers a test; `finish()` runs them one after another, in the order they were registered. */
export function test(name, body, options = {}) {
  if (only.length && !only.some((w) => name.toLowerCase().includes(w))) return;
  queue.push([name, body, options]);
}

/** One test in a fresh browser context (its own storage); a failure leaves a screenshot. */
async function runOne(name, body, { viewport = { width: 1440, height: 900 }, colorScheme = "light" } = {}) {
  const context = await (await launch()).newContext({ viewport, baseURL: BASE, colorScheme });
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE }).catch(() => {});
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  // The API's Content-Security-Policy must not block anything the client does.
  page.on("console", (m) => {
    if (m.type() === "error" && /Content Security Policy/i.test(m.text())) errors.push(m.text());
  });
  const started = Date.now();
  try {
    await body(page);
    if (errors.length) throw new Error(`uncaught errors in the page: ${errors.join("; ")}`);
    results.push([name, null]);
    console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  } catch (error) {
    results.push([name, error]);
    console.log(`FAIL ${name}\n     ${error.stack ?? error}`);
    await page.screenshot({ path: `${OUT}failure-${name.replace(/\W+/g, "-")}.png` }).catch(() => {});
  } finally {
    await context.close();
  }
}

/** Runs the registered tests, prints the summary, exits non-zero when one failed (or none ran). */
export async function finish() {
  for (const [name, body, options] of queue) await runOne(name, body, options);
  await browser?.close();
  const failed = results.filter(([, error]) => error).length;
  console.log(`${results.length - failed} passed, ${failed} failed`);
  process.exit(failed || results.length === 0 ? 1 : 0);
}

export function expect(condition, message) {
  if (!condition) throw new Error(message);
}

export function shot(page, name) {
  return page.screenshot({ path: `${OUT}${name}.png` });
}

export async function signIn(page, role) {
  await page.goto("/");
  await page.getByLabel("Email").fill(`e2e-${role.toLowerCase()}-${Date.now()}-${Math.random().toString(36).slice(2, 6)}@example.com`);
  await page.getByRole("combobox", { name: "Role" }).click();
  await page.getByRole("option", { name: role === "PRO" ? "Pro" : role === "ADMIN" ? "Admin" : "Free" }).click();
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Workflows" }).waitFor();
  // Attached, not visible: on a phone the sidebar that shows the credits is a closed menu.
  await page.getByTestId("credits").first().waitFor({ state: "attached" });
}

export async function newWorkflow(page) {
  await page.getByRole("button", { name: "New workflow" }).first().click();
  await page.waitForURL(/\/workflows\/[0-9a-f-]{36}/);
  await page.getByLabel("Workflow name").waitFor();
}

export async function drag(page, from, to) {
  const a = await from.boundingBox();
  const b = await to.boundingBox();
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 5 });
  await page.mouse.up();
}

export async function waitForSaved(page) {
  await page.waitForFunction(() => document.querySelector('[data-testid="save-status"]')?.textContent === "Saved");
}

/** The canvas has stopped moving: React Flow's viewport transform has not changed for 300 ms
 * (the view glides for 200 ms after a node is added). */
export async function waitForCanvasIdle(page) {
  await page.evaluate(() => { window.__canvasIdle = { transform: null, since: performance.now() }; });
  await page.waitForFunction(() => {
    const el = document.querySelector(".react-flow__viewport");
    if (!el) return false;
    const state = window.__canvasIdle;
    if (state.transform !== el.style.transform) {
      state.transform = el.style.transform;
      state.since = performance.now();
      return false;
    }
    return performance.now() - state.since > 300;
  }, undefined, { polling: 50 });
}

/** Every <img> in the matched element has finished loading. */
export async function waitForImages(page, selector) {
  await page.waitForFunction((sel) => {
    const imgs = [...document.querySelectorAll(`${sel} img`)];
    return imgs.length > 0 && imgs.every((img) => img.complete && img.naturalWidth > 0);
  }, selector);
}
