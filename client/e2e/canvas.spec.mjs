// The canvas basics a node-editor user expects: copy/paste across workflows, menus, wires to new nodes.
import { expect, newWorkflow, shot, signIn, test, waitForCanvasIdle, waitForSaved } from "./harness.mjs";

const nodeCount = (page) => page.locator(".react-flow__node").count();

test("copy and paste nodes within a workflow and into another one; duplicate; undo", async (page) => {
  await signIn(page, "PRO");
  await newWorkflow(page);
  await page.getByTestId("palette-fal-ai/flux/dev").click();
  await page.getByTestId("node-n1").waitFor();
  await page.getByLabel("Prompt", { exact: true }).fill("A red fox in snow");
  await waitForSaved(page);
  const firstUrl = page.url();
  await page.getByTestId("node-n1").click({ position: { x: 60, y: 12 } });
  await page.keyboard.press("Control+c");
  await page.keyboard.press("Control+v");
  await page.getByTestId("node-n2").waitFor();
  await page.keyboard.press("Control+d");
  await page.getByTestId("node-n3").waitFor();
  expect((await nodeCount(page)) === 3, "paste and duplicate did not add two nodes");
  await page.keyboard.press("Control+z");
  await page.getByTestId("node-n3").waitFor({ state: "detached" });
  await waitForCanvasIdle(page);
  await shot(page, "editor-pasted");
  await waitForSaved(page);

  // Into another workflow: the copy travels with the browser, not the page.
  await page.getByRole("link", { name: "Workflows" }).first().click();
  await newWorkflow(page);
  expect(page.url() !== firstUrl, "no second workflow");
  await page.locator(".react-flow__pane").click({ position: { x: 200, y: 200 } });
  await page.keyboard.press("Control+v");
  await page.getByTestId("node-n1").waitFor();
  await page.getByTestId("node-n1").click({ position: { x: 60, y: 12 } });
  await page.waitForFunction(() => document.querySelector("#param-prompt")?.value === "A red fox in snow");
});

test("right-click menus: add a node on an empty cell, delete a wire, delete a node", async (page) => {
  await signIn(page, "PRO");
  await newWorkflow(page);
  await page.locator(".react-flow__pane").click({ button: "right", position: { x: 150, y: 150 } });
  await page.getByRole("menuitem", { name: "Add node here" }).click();
  await page.getByTestId("menu-model-fal-ai/flux/dev").click();
  await page.getByTestId("node-n1").waitFor();
  await page.getByTestId("node-n1").click({ button: "right", position: { x: 60, y: 12 } });
  await page.getByTestId("canvas-menu").waitFor();
  await shot(page, "editor-node-menu");
  await page.getByRole("menuitem", { name: /Duplicate/ }).click();
  await page.getByTestId("node-n2").waitFor();
  await page.getByTestId("node-n2").click({ button: "right", position: { x: 60, y: 12 } });
  await page.getByRole("menuitem", { name: /Delete/ }).click();
  await page.getByTestId("node-n2").waitFor({ state: "detached" });
  expect((await nodeCount(page)) === 1, "the node was not deleted");
});

test("a wire dropped on an empty cell adds a compatible node, already connected", async (page) => {
  await signIn(page, "PRO");
  await newWorkflow(page);
  await page.getByTestId("palette-fal-ai/flux/dev").click();
  const flux = page.getByTestId("node-n1");
  await flux.waitFor();
  await waitForCanvasIdle(page);
  const handle = flux.locator('.react-flow__handle[data-handleid="image"]');
  const size = await handle.boundingBox();
  expect(size.width >= 12 && size.height >= 12, `sockets are too small to hit: ${size.width}x${size.height}`);
  const box = await flux.boundingBox();
  await page.mouse.move(size.x + size.width / 2, size.y + size.height / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width + 120, box.y + 60, { steps: 8 });
  await page.mouse.move(box.x + box.width + 140, box.y + 80, { steps: 4 });
  await page.mouse.up();
  await page.getByTestId("canvas-menu").waitFor();
  await shot(page, "editor-wire-menu");
  await page.getByTestId("menu-model-fal-ai/wan/v2.2-a14b/image-to-video").click();
  await page.getByTestId("node-n2").waitFor();
  await page.locator(".react-flow__edge").first().waitFor({ state: "attached" });
  await waitForSaved(page);
  await waitForCanvasIdle(page);
  await shot(page, "editor-wire-added-node");
});

test("drag a model from the palette onto a cell; dragging onto a taken cell shows where it lands", async (page) => {
  await signIn(page, "PRO");
  await newWorkflow(page);
  await page.getByTestId("palette-fal-ai/flux/dev").click();
  await page.getByTestId("node-n1").waitFor();
  await waitForCanvasIdle(page);
  const box = await page.getByTestId("node-n1").boundingBox();
  await page.getByTestId("palette-fal-ai/flux/dev").dragTo(page.getByTestId("canvas"), { targetPosition: { x: box.x - 463 + box.width + 150, y: box.y - 110 + 100 } });
  await page.getByTestId("node-n2").waitFor();
  await waitForCanvasIdle(page);
  // Drag n2 onto n1's cell: a highlighted free cell shows where it will land.
  const n1 = await page.getByTestId("node-n1").boundingBox();
  const n2 = await page.getByTestId("node-n2").boundingBox();
  await page.mouse.move(n2.x + 60, n2.y + 12);
  await page.mouse.down();
  await page.mouse.move(n1.x + 60, n1.y + 12, { steps: 10 });
  await page.getByTestId("landing-cell").waitFor();
  await shot(page, "editor-landing-cell");
  await page.mouse.up();
  await page.getByTestId("landing-cell").waitFor({ state: "detached" });
  const a = await page.getByTestId("node-n1").boundingBox();
  const b = await page.getByTestId("node-n2").boundingBox();
  expect(Math.abs(a.x - b.x) > 50 || Math.abs(a.y - b.y) > 50, "the dropped node overlaps the other");
});
