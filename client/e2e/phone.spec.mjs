// Phones and dark mode: every main page fits a 390 px screen, and the editor opens read-only.
import { expect, shot, signIn, test } from "./harness.mjs";

const PHONE = { viewport: { width: 390, height: 844 } };

async function noSidewaysScroll(page, name) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
  expect(scrollWidth <= innerWidth, `${name} overflows sideways at ${innerWidth} px: ${scrollWidth} px wide`);
}

async function signInOnPhone(page, role) {
  // The sign-in page is the same at any width; sign in wide, then look at everything narrow.
  await page.setViewportSize({ width: 1024, height: 800 });
  await signIn(page, role);
  await page.setViewportSize(PHONE.viewport);
}

test("at 390 px the workflows, gallery, runs and editor pages fit the screen; the sidebar is a menu", async (page) => {
  await signInOnPhone(page, "PRO");
  await noSidewaysScroll(page, "workflows (empty)");
  // A workflow with a finished run, so every page has content.
  await page.getByRole("button", { name: "From template" }).first().click();
  await page.getByTestId("template-text-to-image").getByRole("button", { name: "Use this template" }).click();
  await page.getByTestId("node-n1").waitFor();
  await page.getByTestId("read-only-note").waitFor();
  await page.getByTestId("run-button").click();
  await page.waitForFunction(() => document.querySelector('[data-testid="node-n1"]')?.getAttribute("data-status") === "SUCCEEDED", undefined, { timeout: 60_000 });
  await page.getByTestId("node-n1").locator("img").waitFor();
  await noSidewaysScroll(page, "editor");
  await shot(page, "phone-editor");

  for (const [label, ready] of [["Workflows", "heading"], ["Gallery", "asset-image"], ["Runs", "run-row"]]) {
    await page.getByRole("button", { name: "Menu" }).click();
    await page.getByRole("dialog").getByRole("link", { name: label }).click();
    if (ready === "heading") await page.getByRole("heading", { name: label }).waitFor();
    else await page.getByTestId(ready).first().waitFor();
    await noSidewaysScroll(page, label);
    await shot(page, `phone-${label.toLowerCase()}`);
  }
  await page.getByRole("button", { name: "Menu" }).click();
  await page.getByRole("dialog").getByRole("link", { name: "Gallery" }).waitFor();
  await shot(page, "phone-menu");
}, PHONE);

test("dark mode: the editor's canvas controls and minimap follow the theme", async (page) => {
  await signIn(page, "PRO");
  await page.getByRole("button", { name: "Toggle theme" }).click();
  await page.getByRole("button", { name: "From template" }).first().click();
  await page.getByTestId("template-text-to-image-to-video").getByRole("button", { name: "Use this template" }).click();
  await page.getByTestId("node-n2").waitFor();
  const colors = await page.evaluate(() => {
    const bg = (sel) => getComputedStyle(document.querySelector(sel)).backgroundColor;
    return { control: bg(".react-flow__controls-button"), minimap: bg(".react-flow__minimap"), page: getComputedStyle(document.body).backgroundColor };
  });
  const light = (c) => { const [r, g, b] = c.match(/[\d.]+/g).map(Number); return (r + g + b) / 3 > 128; };
  expect(!light(colors.control) && !light(colors.minimap), `controls or minimap stay light in dark mode: ${JSON.stringify(colors)}`);
  await shot(page, "editor-dark");
});
