// Billing: a free user upgrades through (local) Stripe Checkout, comes back to Pro without a
// reload, runs FLUX -> Wan 2.2 (Pro only) and sees the usage; a failed payment shows the banner.
import { BASE, drag, expect, newWorkflow, shot, signIn, test, waitForCanvasIdle, waitForSaved } from "./harness.mjs";
import { recordStatuses } from "./editor.spec.mjs";

/** No horizontal scrolling anywhere on the page (the main column included). */
async function expectNoHorizontalOverflow(page, where) {
  const overflow = await page.evaluate(() => {
    const wide = [document.documentElement, document.querySelector("main")].filter(Boolean);
    return wide.map((el) => el.scrollWidth - el.clientWidth).filter((d) => d > 1);
  });
  expect(overflow.length === 0, `${where} scrolls sideways by ${overflow.join(", ")} px`);
}

/** FLUX dev feeding Wan 2.2 image-to-video, short and cheap, run to the end. */
async function runFluxToWan(page) {
  await newWorkflow(page);
  await page.getByTestId("palette-fal-ai/flux/dev").click();
  const flux = page.getByTestId("node-n1");
  await flux.waitFor();
  await waitForCanvasIdle(page);
  const box = await flux.boundingBox();
  await page.mouse.click(box.x + box.width + 140, box.y + 40);
  await page.getByText(/Add to cell/).waitFor();
  const wanInPalette = page.getByTestId("palette-fal-ai/wan/v2.2-a14b/image-to-video");
  expect(!(await wanInPalette.isDisabled()), "Wan 2.2 is still locked after the upgrade");
  await wanInPalette.click();
  const wan = page.getByTestId("node-n2");
  await wan.waitFor();
  await waitForCanvasIdle(page);
  await drag(page, flux.locator('.react-flow__handle[data-handleid="image"]'), wan.locator('.react-flow__handle[data-handleid="image_url"]'));
  await page.locator(".react-flow__edge").first().waitFor({ state: "attached" });
  await page.getByLabel("Frames", { exact: true }).fill("17");
  await page.getByRole("combobox", { name: "Resolution" }).click();
  await page.getByRole("option", { name: "480p" }).click();
  await flux.click();
  await page.getByLabel("Prompt", { exact: true }).fill("A lighthouse at dusk, paid for");
  await waitForSaved(page);
  await recordStatuses(page);
  await page.keyboard.press("Control+Enter");
  await page.waitForFunction(() => {
    const s = window.__statuses;
    const done = (id) => ["SUCCEEDED", "FAILED", "CANCELLED", "SKIPPED"].includes(s[id]?.at(-1));
    return done("n1") && done("n2");
  }, undefined, { timeout: 120_000 });
  const seen = await page.evaluate(() => window.__statuses);
  expect(seen.n1.at(-1) === "SUCCEEDED" && seen.n2.at(-1) === "SUCCEEDED", `the paid run did not finish: ${JSON.stringify(seen)}`);
  await wan.locator("video").waitFor();
}

test("billing: a free user upgrades to Pro through Stripe Checkout, runs Wan 2.2, and sees the usage", async (page) => {
  await signIn(page, "FREE");
  await page.getByRole("link", { name: "Billing" }).first().click();
  await page.getByText("Free plan").waitFor();
  await page.getByTestId("allowance").waitFor();
  const features = await page.getByRole("list", { name: "What Pro gives you" }).textContent();
  expect(/Wan 2\.2 image-to-video/.test(features) && /LoRAs/.test(features) && /spending cap/.test(features), `Pro's features are not listed: ${features}`);
  expect(/of \$\d+\.\d\d used/.test(await page.getByTestId("allowance").textContent()), "the free allowance is not shown");
  await page.getByTestId("how-billing-works").getByText(/never left fal's queue are free/).waitFor();
  await shot(page, "billing-free");

  // Stripe's hosted Checkout: another origin, with the plan, its price and a Pay button.
  await page.getByRole("button", { name: "Upgrade to Pro" }).click();
  await page.waitForURL(/\/c\/pay\/cs_/, { timeout: 30_000 });
  const checkoutUrl = new URL(page.url());
  expect(checkoutUrl.origin !== new URL(BASE).origin, `Checkout is not on Stripe's origin: ${checkoutUrl}`);
  await page.getByRole("button", { name: "Pay" }).waitFor();
  const checkoutText = await page.locator("body").textContent();
  expect(/Pro/i.test(checkoutText), `Checkout does not name the plan: ${checkoutText}`);
  expect(/\$|usd/i.test(checkoutText), `Checkout shows no price: ${checkoutText}`);
  await shot(page, "billing-checkout");

  // Pay: back on /billing, the page waits for Stripe's webhook and turns Pro by itself.
  await page.getByRole("button", { name: "Pay" }).click();
  await page.waitForURL(/\/billing\?checkout=success&session_id=cs_/);
  await page.evaluate(() => { window.__sameDocument = true; });
  await page.getByText("You're on Pro").waitFor({ timeout: 60_000 });
  expect(await page.evaluate(() => window.__sameDocument === true), "the page reloaded to show Pro");
  await page.waitForFunction(() => document.querySelector('[data-testid="viewer-summary"]')?.textContent?.includes("PRO"));
  await page.getByText("Pro plan").waitFor();
  await page.getByTestId("spending-cap").waitFor();
  await page.getByRole("button", { name: /Manage billing/ }).waitFor();
  expect(await page.getByRole("button", { name: "Upgrade to Pro" }).count() === 0, "Upgrade is still offered to a Pro user");

  // What Pro is for: Wan 2.2, fed by FLUX.
  await page.getByRole("link", { name: "Workflows" }).first().click();
  await page.getByRole("heading", { name: "Workflows" }).waitFor();
  await runFluxToWan(page);

  await page.getByRole("link", { name: "Billing" }).first().click();
  await page.getByText("Pro plan").waitFor();
  await page.waitForFunction(() => /Wan 2\.2/i.test(document.querySelector('[data-testid="usage-by-model"]')?.textContent ?? ""), undefined, { timeout: 30_000 });
  const total = await page.getByTestId("usage-total").textContent();
  expect(total !== "0¢", `no usage after a paid run: ${total}`);
  await page.getByTestId("invoices").waitFor();
  await page.waitForFunction(() => !document.querySelector('[aria-label="Loading invoices"]'), undefined, { timeout: 30_000 });
  await shot(page, "billing-pro");

  // A failed payment (the local Stripe's control API): the banner, on every page.
  await page.getByRole("button", { name: /Manage billing/ }).click();
  await page.waitForURL(/\/p\/session\//);
  const stripe = new URL(page.url()).origin;
  const subscription = await page.locator('input[name="subscription"]').first().getAttribute("value");
  const response = await page.request.post(`${stripe}/_control/subscriptions/${subscription}`, { data: { status: "past_due" } });
  expect(response.ok(), `the Stripe control API refused: ${response.status()} ${await response.text()}`);
  await page.getByRole("link", { name: /Return to Lattice/ }).click();
  await page.waitForURL(/\/billing$/);
  const banner = page.getByTestId("past-due-banner");
  // The page reads the subscription when it loads; Stripe's webhook may land just after.
  for (let attempt = 0; attempt < 10; attempt++) {
    const shown = await banner.waitFor({ timeout: 2_000 }).then(() => true, () => false);
    if (shown) break;
    await page.reload();
  }
  await banner.waitFor({ timeout: 5_000 });
  expect(/Pro stays on until .+; update your payment method\./.test(await banner.textContent()), "the banner does not give the grace date");
  await page.getByTestId("past-due-alert").waitFor();
  await shot(page, "billing-past-due");
  // The failed payment left an open invoice: the list links to Stripe's page, in a new tab.
  const invoice = page.getByRole("link", { name: /View invoice/ }).first();
  await invoice.waitFor({ timeout: 30_000 });
  expect(await invoice.getAttribute("target") === "_blank", "an invoice link does not open a new tab");
  await page.getByTestId("invoices").scrollIntoViewIfNeeded();
  await shot(page, "billing-pro-invoices");
  // The same page on a phone: nothing scrolls sideways.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByTestId("spending-cap").scrollIntoViewIfNeeded();
  await expectNoHorizontalOverflow(page, "Billing (Pro) at 390 px");
  await shot(page, "billing-pro-phone");
  await page.getByTestId("invoices").scrollIntoViewIfNeeded();
  await shot(page, "billing-pro-phone-invoices");
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.getByRole("link", { name: "Workflows" }).first().click();
  await page.getByRole("heading", { name: "Workflows" }).waitFor();
  await banner.waitFor();
  await shot(page, "past-due-banner-workflows");
});

test("billing: fits a 390 px phone, in the dark theme", async (page) => {
  await signIn(page, "FREE");
  if (!(await page.evaluate(() => document.documentElement.classList.contains("dark")))) {
    await page.getByRole("button", { name: "Toggle theme" }).click();
  }
  await page.goto("/billing?checkout=cancelled");
  await page.getByText("Free plan").waitFor();
  await page.getByText("Checkout was cancelled; you're still on Free.").waitFor();
  await expectNoHorizontalOverflow(page, "Billing at 390 px");
  await shot(page, "billing-mobile-dark");
}, { viewport: { width: 390, height: 844 }, colorScheme: "dark" });
