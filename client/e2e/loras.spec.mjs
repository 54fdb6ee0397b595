// LoRAs by name: added on the LoRAs page (which says which links it accepts), picked in the node.
import { Buffer } from "node:buffer";
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

// A safetensors file: 8-byte little-endian header length, the JSON header, then the bytes
// its one tensor covers (4 MB, so the upload takes long enough to report progress).
function safetensors(bytes = 4 * 1024 * 1024) {
  const header = Buffer.from(JSON.stringify({ __metadata__: {}, w: { dtype: "U8", shape: [bytes], data_offsets: [0, bytes] } }));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  return Buffer.concat([length, header, Buffer.alloc(bytes, 7)]);
}

test("a pro user uploads a .safetensors LoRA with a progress bar, and it is listed and offered in the editor", async (page) => {
  await signIn(page, "PRO");
  await page.getByRole("link", { name: "LoRAs" }).first().click();
  await page.getByRole("tab", { name: "Upload a .safetensors file" }).click();
  // A .safetensors name with other content is refused with the server's reason.
  await page.getByLabel("File", { exact: true }).setInputFiles({ name: "fake.safetensors", mimeType: "application/octet-stream", buffer: Buffer.from("<html>not a lora</html>") });
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await page.getByText(/not a \.safetensors LoRA/).waitFor();
  // Every width the progress bar showed, recorded as it changes.
  await page.evaluate(() => {
    window.__progress = [];
    new MutationObserver(() => {
      const bar = document.querySelector('[role="progressbar"]');
      if (bar) window.__progress.push(Number(bar.getAttribute("aria-valuenow")));
    }).observe(document.body, { subtree: true, childList: true, attributes: true });
  });
  await page.getByLabel("File", { exact: true }).setInputFiles({ name: "paper-cut.safetensors", mimeType: "application/octet-stream", buffer: safetensors() });
  expect(await page.getByLabel("Name", { exact: true }).inputValue() === "paper-cut", "the name is not taken from the file");
  await page.getByLabel("Name", { exact: true }).fill("Paper cut");
  await page.getByRole("button", { name: "Upload", exact: true }).click();
  await page.getByText("Paper cut was uploaded.").waitFor();
  const seen = await page.evaluate(() => window.__progress);
  expect(seen.length > 0 && seen[0] < 100, `no progress bar was shown while uploading: ${seen}`);
  const finished = await page.getByRole("progressbar", { name: "Upload progress" }).getAttribute("aria-valuenow");
  expect(finished === "100", `the progress bar did not finish: ${finished}`);
  await page.getByText("Paper cut", { exact: true }).waitFor();
  await page.getByText("Uploaded file").waitFor();
  await shot(page, "loras-upload");
  await page.getByRole("link", { name: "Workflows" }).first().click();
  await newWorkflow(page);
  await page.getByTestId("palette-fal-ai/flux-lora").click();
  await page.getByTestId("node-n1").waitFor();
  await page.getByTestId("lora-picker").scrollIntoViewIfNeeded();
  await page.getByRole("combobox", { name: "Add a LoRA" }).click();
  await page.getByRole("option", { name: "Paper cut" }).waitFor();
});
