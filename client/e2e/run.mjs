// Browser tests against the running stack (`make dev`, or the stack `make test` starts):
// Debian's Chromium driven by playwright-core. Screenshots go to client/test-results/.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";

const BASE = process.env.LATTICE_URL ?? "http://127.0.0.1:8000";
const OUT = new URL("../test-results/", import.meta.url).pathname;
mkdirSync(OUT, { recursive: true });
const results = [];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"],
});

async function test(name, body) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, baseURL: BASE });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  try {
    await body(page);
    if (errors.length) throw new Error(`uncaught errors in the page: ${errors.join("; ")}`);
    results.push([name, null]);
    console.log(`ok   ${name}`);
  } catch (error) {
    results.push([name, error]);
    console.log(`FAIL ${name}\n     ${error.stack ?? error}`);
    await page.screenshot({ path: `${OUT}failure-${name.replace(/\W+/g, "-")}.png` }).catch(() => {});
  } finally {
    await context.close();
  }
}

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

async function signIn(page, role) {
  await page.goto("/");
  await page.getByLabel("Email").fill(`e2e-${role.toLowerCase()}-${Date.now()}@example.com`);
  await page.getByRole("combobox", { name: "Role" }).click();
  await page.getByRole("option", { name: role === "PRO" ? "Pro" : role === "ADMIN" ? "Admin" : "Free" }).click();
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Workflows" }).waitFor();
  await page.getByTestId("credits").waitFor();
}

async function newWorkflow(page) {
  await page.getByRole("button", { name: "New workflow" }).first().click();
  await page.waitForURL(/\/workflows\/[0-9a-f-]{36}/);
  await page.getByLabel("Workflow name").waitFor();
}

async function drag(page, from, to) {
  const a = await from.boundingBox();
  const b = await to.boundingBox();
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2, { steps: 5 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 5 });
  await page.mouse.up();
}

async function waitForSaved(page) {
  await page.waitForFunction(() => document.querySelector('[data-testid="save-status"]')?.textContent === "Saved");
}

await test("a pro user builds FLUX -> Wan 2.2 on the grid, runs it live, and finds both outputs in the gallery", async (page) => {
  await signIn(page, "PRO");
  await newWorkflow(page);
  await page.getByTestId("palette-fal-ai/flux/dev").click();
  const flux = page.getByTestId("node-n1");
  await flux.waitFor();
  await page.waitForTimeout(500);
  // Click an empty cell to the right of the FLUX node, then pick Wan 2.2 for it.
  const box = await flux.boundingBox();
  await page.mouse.click(box.x + box.width + 140, box.y + 40);
  await page.getByText(/Add to cell/).waitFor();
  await page.getByTestId("palette-fal-ai/wan/v2.2-a14b/image-to-video").click();
  const wan = page.getByTestId("node-n2");
  await wan.waitFor();
  await page.waitForTimeout(500); // the view glides to fit the new node
  // Wire FLUX's image output into Wan's image input by dragging between the handles.
  await drag(page, flux.locator('.react-flow__handle[data-handleid="image"]'), wan.locator('.react-flow__handle[data-handleid="image_url"]'));
  await page.locator(".react-flow__edge").first().waitFor({ state: "attached" });
  // Keep the video short, and make FLUX slow enough to watch.
  await page.getByLabel("Frames", { exact: true }).fill("17");
  await page.getByRole("combobox", { name: "Resolution" }).click();
  await page.getByRole("option", { name: "480p" }).click();
  await flux.click();
  await page.getByLabel("Prompt", { exact: true }).fill("A lighthouse at dusk [slow]");
  await waitForSaved(page);
  const estimate = await page.getByTestId("estimate").textContent();
  expect(/\d/.test(estimate ?? ""), `no price estimate shown: ${estimate}`);

  await page.keyboard.press("Control+Enter");
  const seen = { n1: [], n2: [] };
  let midRunShot = false;
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    for (const id of ["n1", "n2"]) {
      const status = await page.getByTestId(`node-${id}`).getAttribute("data-status");
      if (seen[id].at(-1) !== status) seen[id].push(status);
    }
    if (!midRunShot && seen.n1.at(-1) === "RUNNING") {
      await page.getByTestId("node-progress-text").first().waitFor();
      await page.screenshot({ path: `${OUT}editor-mid-run.png` });
      midRunShot = true;
    }
    if (seen.n1.at(-1) === "SUCCEEDED" && seen.n2.at(-1) === "SUCCEEDED") break;
    if (["FAILED", "CANCELLED"].includes(seen.n2.at(-1))) break;
    await page.waitForTimeout(100);
  }
  expect(seen.n1.at(-1) === "SUCCEEDED" && seen.n2.at(-1) === "SUCCEEDED", `nodes did not finish: ${JSON.stringify(seen)}`);
  expect(seen.n1.includes("RUNNING"), `FLUX was never shown running: ${JSON.stringify(seen)}`);
  expect(seen.n2.includes("PENDING") || seen.n2.includes("QUEUED"), `Wan never waited for FLUX: ${JSON.stringify(seen)}`);
  expect(midRunShot, "no mid-run screenshot");
  await flux.locator("img").waitFor();
  await wan.locator("video").waitFor();
  await page.waitForFunction(() => {
    const img = document.querySelector('[data-testid="node-n1"] img');
    return img instanceof HTMLImageElement && img.complete && img.naturalWidth > 0;
  });
  await page.screenshot({ path: `${OUT}editor-finished-run.png` });

  await page.getByRole("link", { name: "Gallery" }).click();
  await page.getByTestId("asset-video").first().waitFor();
  await page.getByTestId("asset-image").first().waitFor();
  await page.waitForTimeout(500);
  await page.screenshot({ path: `${OUT}gallery.png` });

  // The video's source image feeds a new workflow.
  await page.getByTestId("asset-video").first().click();
  await page.getByText("Made from this image").waitFor();
  await page.screenshot({ path: `${OUT}asset-detail.png` });
  await page.getByTestId("use-as-input").click();
  await page.getByRole("menuitem", { name: "In a new workflow" }).click();
  await page.waitForURL(/useAsset=/);
  const assetId = new URL(page.url()).searchParams.get("useAsset");
  await page.getByTestId("palette-fal-ai/wan/v2.2-a14b/image-to-video").click();
  const target = page.getByTestId("node-n1");
  await target.waitFor();
  await page.getByRole("tab", { name: "Gallery" }).click();
  const drawerAsset = page.getByTestId(`drawer-asset-${assetId}`);
  await drawerAsset.waitFor();
  await drawerAsset.dragTo(target);
  await page.getByRole("tab", { name: "Settings" }).click();
  await target.click();
  await page.waitForFunction((id) => document.querySelector("#param-image_url")?.value === id, assetId);
  await waitForSaved(page);
  await target.getByTestId("input-thumbnail").waitFor();
  await page.screenshot({ path: `${OUT}editor-asset-as-input.png` });

  // The dark theme, on the gallery.
  await page.getByRole("button", { name: "Toggle theme" }).click();
  await page.getByRole("link", { name: "Gallery" }).click();
  await page.getByTestId("asset-video").first().waitFor();
  await page.waitForTimeout(300);
  await page.screenshot({ path: `${OUT}gallery-dark.png` });
});

await test("a free user sees Wan 2.2 locked, with why", async (page) => {
  await signIn(page, "FREE");
  await newWorkflow(page);
  const wan = page.getByTestId("palette-fal-ai/wan/v2.2-a14b/image-to-video");
  expect(await wan.isDisabled(), "Wan 2.2 is usable by a free user");
  await wan.getByLabel("Locked").waitFor();
  expect((await wan.textContent()).includes("needs a Pro plan"), "the lock does not say why");
  expect(!(await page.getByTestId("palette-fal-ai/flux/dev").isDisabled()), "FLUX dev is locked for a free user");
  await page.screenshot({ path: `${OUT}free-user-palette.png` });
});

await browser.close();
const failed = results.filter(([, error]) => error).length;
console.log(`${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
