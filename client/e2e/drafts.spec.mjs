// Issue 10's editor journeys: drafts that survive a reload, reuse of an unchanged upstream node,
// Cancel that shows every node's end, utility nodes, and the gallery's search and selection.
import { drag, expect, newWorkflow, shot, signIn, test, waitForCanvasIdle } from "./harness.mjs";
import { recordStatuses } from "./editor.spec.mjs";

const FLUX = "fal-ai/flux/dev";
const WAN = "fal-ai/wan/v2.2-a14b/image-to-video";

const status = (page, id) => page.getByTestId(`node-${id}`).getAttribute("data-status");
const waitStatus = (page, id, wanted, timeout = 60_000) =>
  page.waitForFunction(([id, wanted]) => document.querySelector(`[data-testid="node-${id}"]`)?.getAttribute("data-status") === wanted, [id, wanted], { timeout });

async function waitForDraftSaved(page) {
  await page.waitForFunction(() => /^Saved/.test(document.querySelector('[data-testid="save-status"]')?.textContent ?? ""));
}

/** Adds a model from the palette; returns its node. */
async function add(page, modelId, id) {
  await page.getByTestId(`palette-${modelId}`).click();
  const node = page.getByTestId(`node-${id}`);
  await node.waitFor();
  await waitForCanvasIdle(page);
  return node;
}

async function wire(page, from, fromPort, to, toPort) {
  const edges = await page.locator(".react-flow__edge").count();
  await drag(page, from.locator(`.react-flow__handle[data-handleid="${fromPort}"]`), to.locator(`.react-flow__handle[data-handleid="${toPort}"]`));
  await page.waitForFunction((n) => document.querySelectorAll(".react-flow__edge").length > n, edges);
}

async function shortVideo(page) {
  await page.getByLabel("Frames", { exact: true }).fill("17");
  await page.getByRole("combobox", { name: "Resolution" }).click();
  await page.getByRole("option", { name: "480p" }).click();
}

test("an unwired Wan node is saved as a draft, survives a reload with its warning, and is refused only when run", async (page) => {
  await signIn(page, "PRO");
  await newWorkflow(page);
  const wan = await add(page, WAN, "n1");
  await waitForDraftSaved(page);
  await wan.getByTestId("node-warning").waitFor();
  const saved = await page.getByTestId("save-status").textContent();
  expect(saved.includes("draft") && !saved.includes("Not saved"), `the draft was not saved: ${saved}`);
  expect((await wan.getByTestId("node-warning").textContent()).includes("Image input is not connected"), "the node does not say what it lacks");
  await shot(page, "draft-saved");

  await page.reload();
  await page.getByTestId("node-n1").getByTestId("node-warning").waitFor();
  expect((await page.locator(".react-flow__node").count()) === 1, "the unwired node did not survive the reload");

  await page.getByTestId("run-button").click();
  await page.getByText("Image input is not connected").last().waitFor();
  expect(await status(page, "n1") === "IDLE", "the draft started a run");
  await shot(page, "draft-refused");
});

test("Run this on Wan reuses the FLUX image on screen: shown as reused, FLUX not charged again", async (page) => {
  await signIn(page, "PRO");
  await newWorkflow(page);
  const flux = await add(page, FLUX, "n1");
  await page.getByLabel("Prompt", { exact: true }).fill(`A harbour at dawn ${Date.now()}`);
  await page.getByRole("button", { name: "Run node n1" }).click();
  await waitStatus(page, "n1", "SUCCEEDED");
  await flux.locator("img").first().waitFor();
  const fluxImage = await flux.locator("img").first().getAttribute("src");

  const wan = await add(page, WAN, "n2");
  await wire(page, flux, "image", wan, "image_url");
  await shortVideo(page);
  await waitForDraftSaved(page);
  await page.waitForFunction(() => /1 reused/.test(document.querySelector('[data-testid="estimate"]')?.textContent ?? ""));
  const estimate = await page.getByTestId("estimate").textContent();
  expect(estimate.includes("5¢"), `the estimate prices FLUX again: ${estimate}`);

  await recordStatuses(page);
  await page.getByRole("button", { name: "Run node n2" }).click();
  await waitStatus(page, "n2", "SUCCEEDED", 90_000);
  const seen = await page.evaluate(() => window.__statuses);
  expect(seen.n1.at(-1) === "CACHED" && !seen.n1.includes("RUNNING"), `FLUX ran again: ${JSON.stringify(seen)}`);
  await flux.getByText("Reused").waitFor();
  expect(await flux.locator("img").first().getAttribute("src") === fluxImage, "FLUX shows another image");
  const cost = await page.getByTestId("run-cost").textContent();
  expect(cost.includes("5¢"), `the run charged more than Wan: ${cost}`);
  await shot(page, "run-this-reuses-upstream");

  // New seed runs FLUX again, and Wan after it.
  await flux.getByRole("button", { name: "Actions for node n1" }).click();
  await page.getByTestId("menu-new-seed").click();
  await page.waitForFunction(() => window.__statuses.n1?.includes("RUNNING") || window.__statuses.n1?.at(-1) === "SUCCEEDED", undefined, { timeout: 60_000 });
  await waitStatus(page, "n1", "SUCCEEDED");
});

test("Cancel shows every node's final state without a reload", async (page) => {
  await signIn(page, "PRO");
  await newWorkflow(page);
  const flux = await add(page, FLUX, "n1");
  await page.getByLabel("Prompt", { exact: true }).fill("A slow storm [slow]");
  const wan = await add(page, WAN, "n2");
  await wire(page, flux, "image", wan, "image_url");
  await shortVideo(page);
  await waitForDraftSaved(page);
  await recordStatuses(page);
  await page.getByTestId("run-button").click();
  await waitStatus(page, "n1", "RUNNING");
  await page.getByRole("button", { name: "Cancel run" }).click();
  // The node fal was working on ends after the run does; it must not stay "Running".
  await waitStatus(page, "n1", "CANCELLED", 30_000);
  await waitStatus(page, "n2", "CANCELLED", 30_000);
  await flux.getByText("Cancelled").first().waitFor();
  await shot(page, "cancel-final-states");
});

test("a Text node feeds the prompts of two FLUX nodes, free and instant", async (page) => {
  await signIn(page, "PRO");
  await newWorkflow(page);
  const text = await add(page, "lattice/text", "n1");
  const prompt = `A paper boat on a pond ${Date.now()}`;
  await page.getByLabel("Text", { exact: true }).fill(prompt);
  const a = await add(page, FLUX, "n2");
  const b = await add(page, FLUX, "n3");
  await wire(page, text, "text", a, "prompt");
  await wire(page, text, "text", b, "prompt");
  await waitForDraftSaved(page);
  expect((await text.textContent()).includes("Free"), "the Text node is not shown as free");
  await page.getByTestId("run-button").click();
  await waitStatus(page, "n2", "SUCCEEDED");
  await waitStatus(page, "n3", "SUCCEEDED");
  expect(await status(page, "n1") === "SUCCEEDED", "the Text node did not complete");
  const cost = await page.getByTestId("run-cost").textContent();
  expect(cost.includes("6¢"), `the run did not cost two FLUX images: ${cost}`);
  await shot(page, "text-node-two-prompts");

  // The gallery finds both by the shared prompt's words, and can select and delete them.
  await page.getByRole("link", { name: "Gallery" }).first().click();
  await page.getByTestId("gallery-search").fill(prompt.split(" ").at(-1));
  await page.waitForURL(/q=/);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="asset-image"]').length === 2);
  await page.getByRole("combobox", { name: "Model" }).click();
  await page.getByRole("option", { name: "Wan 2.2 image-to-video", exact: true }).click();
  await page.getByText("Nothing matches").waitFor();
  await page.getByRole("combobox", { name: "Model" }).click();
  await page.getByRole("option", { name: "All models" }).click();
  await page.getByRole("combobox", { name: "When" }).click();
  await page.getByRole("option", { name: "Today" }).click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="asset-image"]').length === 2);
  await shot(page, "gallery-search");

  // Use as input -> in a new workflow: it starts with an Image node holding the image.
  await page.getByTestId("asset-image").first().click();
  await page.getByTestId("use-as-input").click();
  await page.getByRole("menuitem", { name: "In a new workflow" }).click();
  await page.waitForURL(/\/workflows\/[0-9a-f-]{36}$/);
  await page.getByTestId("node-n1").getByTestId("utility-image").waitFor();
  await shot(page, "use-as-input-image-node");
  // A gallery image dropped on an empty cell starts another Image node there.
  await page.getByRole("tab", { name: "Gallery" }).click();
  const drawerAsset = page.locator('[data-testid^="drawer-asset-"]').first();
  await drawerAsset.waitFor();
  await drawerAsset.dragTo(page.locator(".react-flow__pane"), { targetPosition: { x: 40, y: 40 } });
  await page.getByTestId("node-n2").getByTestId("utility-image").waitFor();
  expect((await page.locator(".react-flow__node").count()) === 2, "the drop did not add exactly one node");

  await page.getByRole("link", { name: "Gallery" }).first().click();
  await page.getByTestId("gallery-search").fill(prompt.split(" ").at(-1));
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="asset-image"]').length === 2);
  await page.getByTestId("gallery-select").click();
  for (const tile of await page.getByTestId("asset-image").all()) await tile.click();
  await page.getByTestId("selection-count").getByText("2 items selected").waitFor();
  await shot(page, "gallery-selected");
  await page.getByTestId("delete-selected").click();
  await page.getByTestId("confirm-delete").getByRole("button", { name: "Delete" }).click();
  await page.getByText("Nothing matches").waitFor();
  await page.reload();
  await page.getByText("Nothing matches").waitFor();
});

test("the minimap covers no node of a fitted workflow at 1440x900", async (page) => {
  await signIn(page, "PRO");
  await newWorkflow(page);
  for (const id of ["n1", "n2", "n3"]) await add(page, FLUX, id);
  await page.reload();
  await page.getByTestId("node-n3").waitFor();
  await waitForCanvasIdle(page);
  const map = await page.locator(".react-flow__minimap").boundingBox();
  for (const id of ["n1", "n2", "n3"]) {
    const box = await page.getByTestId(`node-${id}`).boundingBox();
    const overlaps = box.x < map.x + map.width && box.x + box.width > map.x && box.y < map.y + map.height && box.y + box.height > map.y;
    expect(!overlaps, `the minimap covers node ${id}: ${JSON.stringify({ box, map })}`);
  }
  await shot(page, "minimap-clear");
});

test("the gallery and runs pages load without layout shift (their skeletons have their shape)", async (page) => {
  await page.addInitScript(() => {
    window.__cls = 0;
    new window.PerformanceObserver((list) => {
      for (const entry of list.getEntries()) if (!entry.hadRecentInput) window.__cls += entry.value;
    }).observe({ type: "layout-shift", buffered: true });
  });
  await signIn(page, "PRO");
  await newWorkflow(page);
  await add(page, FLUX, "n1");
  await page.getByTestId("run-button").click();
  await waitStatus(page, "n1", "SUCCEEDED");
  for (const [path, ready] of [["/runs", '[data-testid="run-row"]'], ["/gallery", '[data-testid="asset-image"]']]) {
    await page.goto(path);
    await page.locator(ready).first().waitFor();
    // Settled: no skeleton or busy region left, every image loaded.
    await page.waitForFunction(
      () =>
        !document.querySelector('[aria-busy="true"], .animate-pulse') &&
        Array.from(document.images).every((image) => image.complete),
      undefined,
      { timeout: 15_000 },
    );
    const cls = await page.evaluate(() => window.__cls);
    expect(cls < 0.05, `${path} shifted its layout while loading: CLS ${cls.toFixed(3)}`);
    await shot(page, `loaded-${path.slice(1)}`);
  }
});
