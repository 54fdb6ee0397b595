// Starting runs: one user action is one run, however many times the keys are pressed.
import { expect, newWorkflow, signIn, test, waitForSaved } from "./harness.mjs";

test("pressing Ctrl+Enter twice during the pre-run save starts exactly one run", async (page) => {
  await signIn(page, "PRO");
  await newWorkflow(page);
  await page.getByTestId("palette-fal-ai/flux/dev").click();
  await page.getByTestId("node-n1").waitFor();
  await waitForSaved(page);
  // An unsaved edit, so the run has to save first; the second press lands during that save.
  await page.getByLabel("Prompt", { exact: true }).fill("A quiet harbour at dawn");
  await page.keyboard.press("Control+Enter");
  await page.keyboard.press("Control+Enter");
  // A double click on Run right after: Run stays disabled in place (Cancel never moves under the pointer).
  await page.getByTestId("run-button").dblclick({ force: true });
  await page.waitForFunction(() => document.querySelector('[data-testid="node-n1"]')?.getAttribute("data-status") === "SUCCEEDED", undefined, { timeout: 60_000 });
  await page.getByRole("link", { name: "Runs" }).first().click();
  await page.getByTestId("run-row").first().waitFor();
  const rows = await page.getByTestId("run-row").count();
  expect(rows === 1, `expected one run, found ${rows}`);
});
