// LoRAs by name: added on the LoRAs page (which says which links it accepts), picked in the node.
import { expect, newWorkflow, shot, signIn, test, waitForSaved } from "./harness.mjs";

test("a pro user adds LoRAs, then stacks them by name on a FLUX-with-LoRAs node", async (page) => {
  await signIn(page, "PRO");
  await page.getByRole("link", { name: "LoRAs" }).first().click();
  await page.getByText(/Links are accepted from .*Hugging Face/).waitFor();
  for (const [name, base] of [["Watercolour", "FLUX dev"], ["Ink lines", "FLUX dev"], ["Slow pan", "Wan 2.2"]]) {
    await page.getByLabel("Name").fill(name);
    await page.getByLabel("URL").fill(`https://huggingface.co/lattice/${name.replace(" ", "-")}/resolve/main/lora.safetensors`);
    await page.getByRole("combobox", { name: "Base model" }).click();
    await page.getByRole("option", { name: base }).click();
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.getByText(name, { exact: true }).waitFor();
  }
  await shot(page, "loras-page");
  await page.getByRole("link", { name: "Workflows" }).first().click();
  await newWorkflow(page);
  await page.getByTestId("palette-fal-ai/flux-lora").click();
  await page.getByTestId("node-n1").waitFor();
  const picker = page.getByTestId("lora-picker");
  await picker.scrollIntoViewIfNeeded();
  await page.getByRole("combobox", { name: "Add a LoRA" }).click();
  const options = await page.getByRole("option").allTextContents();
  expect(!options.includes("Slow pan"), `a Wan LoRA is offered on a FLUX node: ${options}`);
  await page.getByRole("option", { name: "Watercolour" }).click();
  await page.getByRole("combobox", { name: "Add a LoRA" }).click();
  await page.getByRole("option", { name: "Ink lines" }).click();
  await page.getByLabel("Ink lines strength value").fill("0.6");
  await page.getByRole("button", { name: "Move Ink lines up" }).click();
  const order = await page.getByTestId("lora-choice").allTextContents();
  expect(order[0].startsWith("Ink lines"), `the LoRAs were not reordered: ${order}`);
  await waitForSaved(page);
  await picker.scrollIntoViewIfNeeded();
  await shot(page, "editor-lora-picker");
});

test("a free user sees LoRAs need Pro before typing anything, with a way to upgrade", async (page) => {
  await signIn(page, "FREE");
  await page.getByRole("link", { name: "LoRAs" }).first().click();
  await page.getByTestId("lora-upgrade").waitFor();
  expect(await page.getByRole("button", { name: "Add", exact: true }).isDisabled(), "a free user can submit a LoRA");
  await page.getByRole("link", { name: "Upgrade to Pro" }).click();
  await page.waitForURL(/\/billing/);
});
