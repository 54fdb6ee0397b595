// Starting points: templates that run, and workflows as files (export, import, a bad file explained).
import { readFileSync, writeFileSync } from "node:fs";
import { expect, OUT, shot, signIn, test, waitForSaved } from "./harness.mjs";

test("a template becomes a workflow that runs", async (page) => {
  await signIn(page, "PRO");
  await page.getByRole("button", { name: "From template" }).first().click();
  await page.getByTestId("template-text-to-image-to-video").waitFor();
  await shot(page, "templates-dialog");
  await page.getByTestId("template-text-to-image").getByRole("button", { name: "Use this template" }).click();
  await page.waitForURL(/\/workflows\/[0-9a-f-]{36}/);
  await page.getByTestId("node-n1").waitFor();
  expect((await page.getByLabel("Workflow name").inputValue()) === "Text to image", "the template's name was not used");
  await page.getByTestId("run-button").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="node-n1"]')?.getAttribute("data-status") === "SUCCEEDED", undefined, { timeout: 60_000 });
});

test("export a workflow as JSON and import it again; a bad file is explained", async (page) => {
  await signIn(page, "PRO");
  await page.getByRole("button", { name: "From template" }).first().click();
  await page.getByTestId("template-text-to-image-to-video").getByRole("button", { name: "Use this template" }).click();
  await page.getByTestId("node-n2").waitFor();
  await page.getByLabel("Workflow name").fill("Round trip");
  await waitForSaved(page);
  await page.getByRole("button", { name: "More workflow actions" }).click();
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-workflow").click()]);
  const path = `${OUT}Round-trip.lattice.json`;
  await download.saveAs(path);
  expect(download.suggestedFilename() === "Round-trip.lattice.json", `odd file name ${download.suggestedFilename()}`);
  const file = JSON.parse(readFileSync(path, "utf8"));
  expect(file.format === "lattice-workflow" && file.nodes.length === 2 && file.edges.length === 1, `unexpected export: ${JSON.stringify(file)}`);
  const exportedUrl = page.url();

  await page.getByRole("link", { name: "Workflows" }).first().click();
  const bad = `${OUT}not-a-workflow.json`;
  writeFileSync(bad, JSON.stringify({ hello: "world" }));
  await page.getByTestId("import-workflow").setInputFiles(bad);
  // The toast and its screen-reader announcement both carry the words.
  await page.getByText("not a Lattice workflow file").first().waitFor();
  await shot(page, "import-bad-file");

  await page.getByTestId("import-workflow").setInputFiles(path);
  await page.waitForURL((url) => /\/workflows\/[0-9a-f-]{36}/.test(url.pathname) && url.href !== exportedUrl);
  await page.getByTestId("node-n2").waitFor();
  await page.locator(".react-flow__edge").first().waitFor({ state: "attached" });
  expect((await page.getByLabel("Workflow name").inputValue()) === "Round trip", "the imported workflow lost its name");
});
