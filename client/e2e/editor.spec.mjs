// The editor's original journeys: build FLUX -> Wan on the grid, run it live, gallery; roles in the palette.
import { drag, expect, newWorkflow, shot, signIn, test, waitForCanvasIdle, waitForImages, waitForSaved } from "./harness.mjs";

/** Records every data-status each node shows, from now on (a MutationObserver in the page). */
export async function recordStatuses(page) {
  await page.evaluate(() => {
    const seen = (window.__statuses = {});
    const note = (el) => {
      const id = el.getAttribute("data-testid")?.replace("node-", "");
      const status = el.getAttribute("data-status");
      if (!id || !status) return;
      const list = (seen[id] ??= []);
      if (list.at(-1) !== status) list.push(status);
    };
    document.querySelectorAll("[data-status]").forEach(note);
    new MutationObserver((records) => {
      for (const r of records) if (r.target instanceof Element && r.target.hasAttribute("data-status")) note(r.target);
    }).observe(document.body, { attributes: true, attributeFilter: ["data-status"], subtree: true });
  });
}

test("a pro user builds FLUX -> Wan 2.2 on the grid, runs it live, and finds both outputs in the gallery", async (page) => {
  await signIn(page, "PRO");
  await newWorkflow(page);
  await page.getByTestId("palette-fal-ai/flux/dev").click();
  const flux = page.getByTestId("node-n1");
  await flux.waitFor();
  await waitForCanvasIdle(page);
  // Click an empty cell to the right of the FLUX node, then pick Wan 2.2 for it.
  const box = await flux.boundingBox();
  await page.mouse.click(box.x + box.width + 140, box.y + 40);
  await page.getByText(/Add to cell/).waitFor();
  await page.getByTestId("palette-fal-ai/wan/v2.2-a14b/image-to-video").click();
  const wan = page.getByTestId("node-n2");
  await wan.waitFor();
  await waitForCanvasIdle(page); // the view glides to fit the new node
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

  await recordStatuses(page);
  await page.keyboard.press("Control+Enter");
  await page.waitForFunction(() => window.__statuses.n1?.at(-1) === "RUNNING", undefined, { timeout: 60_000 });
  await page.getByTestId("node-progress-text").first().waitFor();
  await shot(page, "editor-mid-run");
  await page.waitForFunction(() => {
    const s = window.__statuses;
    const done = (id) => ["SUCCEEDED", "FAILED", "CANCELLED", "SKIPPED"].includes(s[id]?.at(-1));
    return done("n1") && done("n2");
  }, undefined, { timeout: 90_000 });
  const seen = await page.evaluate(() => window.__statuses);
  expect(seen.n1.at(-1) === "SUCCEEDED" && seen.n2.at(-1) === "SUCCEEDED", `nodes did not finish: ${JSON.stringify(seen)}`);
  expect(seen.n1.includes("RUNNING"), `FLUX was never shown running: ${JSON.stringify(seen)}`);
  expect(seen.n2.includes("PENDING") || seen.n2.includes("QUEUED"), `Wan never waited for FLUX: ${JSON.stringify(seen)}`);
  await flux.locator("img").first().waitFor();
  await wan.locator("video").waitFor();
  await waitForImages(page, '[data-testid="node-n1"]');
  await shot(page, "editor-finished-run");

  await page.getByRole("link", { name: "Gallery" }).first().click();
  await page.getByTestId("asset-video").first().waitFor();
  await page.getByTestId("asset-image").first().waitFor();
  await waitForImages(page, '[data-testid="gallery-grid"]');
  await shot(page, "gallery");

  // The video's source image feeds a new workflow.
  await page.getByTestId("asset-video").first().click();
  await page.getByText("Made from this image").waitFor();
  await shot(page, "asset-detail");
  await page.getByTestId("use-as-input").click();
  await page.getByRole("menuitem", { name: "In a new workflow" }).click();
  // The new workflow starts from the image: an Image node that holds it.
  await page.waitForURL(/\/workflows\/[0-9a-f-]{36}$/);
  const imageNode = page.getByTestId("node-n1");
  await imageNode.getByTestId("utility-image").waitFor();
  await imageNode.click({ position: { x: 60, y: 12 } });
  const assetId = await page.locator("#param-image_url").inputValue();
  expect(/^[0-9a-f-]{36}$/.test(assetId), `the Image node holds no gallery asset: ${assetId}`);
  await page.getByTestId("palette-fal-ai/wan/v2.2-a14b/image-to-video").click();
  const target = page.getByTestId("node-n2");
  await target.waitFor();
  await page.getByRole("tab", { name: "Gallery" }).click();
  const drawerAsset = page.getByTestId(`drawer-asset-${assetId}`);
  await drawerAsset.waitFor();
  // The canvas may still be panning to the new node: drop once the node stays put, or the
  // drop lands on the grid beside it (a new Image node) instead of on its input.
  await stayedPut(target);
  await drawerAsset.dragTo(target);
  await page.getByRole("tab", { name: "Settings" }).click();
  await target.click();
  await page.waitForFunction((id) => document.querySelector("#param-image_url")?.value === id, assetId);
  await waitForSaved(page);
  await target.getByTestId("input-thumbnail").waitFor();
  await shot(page, "editor-asset-as-input");

  // The dark theme, on the gallery.
  await page.getByRole("button", { name: "Toggle theme" }).click();
  await page.getByRole("link", { name: "Gallery" }).first().click();
  await page.getByTestId("asset-video").first().waitFor();
  await waitForImages(page, '[data-testid="gallery-grid"]');
  await shot(page, "gallery-dark");
});

test("a free user sees Wan 2.2 and Keep marked Pro, with why and an upgrade", async (page) => {
  await signIn(page, "FREE");
  await newWorkflow(page);
  const wan = page.getByTestId("palette-fal-ai/wan/v2.2-a14b/image-to-video");
  expect(await wan.isDisabled(), "Wan 2.2 is usable by a free user");
  await wan.getByLabel("Locked").waitFor();
  expect((await wan.textContent()).includes("needs a Pro plan"), "the lock does not say why");
  expect(!(await page.getByTestId("palette-fal-ai/flux/dev").isDisabled()), "FLUX dev is locked for a free user");
  expect((await wan.textContent()).includes("Pro"), "the Wan entry is not marked Pro");
  await page.getByRole("link", { name: "Upgrade" }).waitFor();
  await shot(page, "free-user-palette");
  // A free user's output in the gallery: Keep is marked Pro and leads to the upgrade.
  await page.getByTestId("palette-fal-ai/flux/dev").click();
  await page.getByTestId("node-n1").waitFor();
  await page.getByTestId("run-button").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="node-n1"]')?.getAttribute("data-status") === "SUCCEEDED", undefined, { timeout: 60_000 });
  await page.getByRole("link", { name: "Gallery" }).first().click();
  await page.getByTestId("asset-image").first().click();
  await page.getByTestId("keep-upgrade").waitFor();
  await shot(page, "free-user-keep");
});

/** Until the element's box has stayed the same for five animation frames. */
async function stayedPut(locator) {
  await locator.evaluate(
    (element) =>
      new Promise((resolve) => {
        let last = null;
        let still = 0;
        const check = () => {
          const box = element.getBoundingClientRect();
          const same = last && ["x", "y", "width", "height"].every((k) => Math.abs(box[k] - last[k]) < 0.5);
          still = same ? still + 1 : 0;
          last = box;
          if (still >= 5) resolve();
          else globalThis.requestAnimationFrame(check);
        };
        globalThis.requestAnimationFrame(check);
      }),
  );
}
