/* global fetch */
// API keys: a user creates a key, sees its secret once, an integrator's program reads `viewer`
// with it, the user revokes it, and the same request is refused.
import { BASE, expect, shot, test } from "./harness.mjs";
import { signInAs } from "./admin.spec.mjs";

/** What an integrator's program does: one POST to /graphql with the key as a bearer token. */
async function viewerWithKey(secret) {
  const response = await fetch(new URL("/graphql", BASE), {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${secret}` },
    body: JSON.stringify({ query: "{ viewer { id email } }" }),
  });
  const body = await response.json().catch(() => ({}));
  return { status: response.status, body };
}

test("api keys: create a key, see the secret once, read viewer with it, revoke it and be refused", async (page) => {
  const email = `e2e-integrator-${Date.now()}@example.com`;
  await signInAs(page, email, "PRO");
  await page.getByRole("link", { name: "API keys" }).first().click();
  await page.getByRole("heading", { name: "API keys" }).waitFor();
  await page.getByText(/Runs cost money/).waitFor();

  await page.getByLabel("Name").fill("Nightly job");
  await page.getByRole("button", { name: "Create key" }).click();
  const secret = (await page.getByTestId("api-key-secret").textContent()).trim();
  expect(/^lat_/.test(secret) && secret.length >= 47, `the secret does not look like a key: ${secret}`);
  await page.getByText("you will not see it again", { exact: false }).waitFor();
  await page.getByRole("button", { name: "Copy" }).click();
  await page.getByRole("button", { name: "Copied" }).waitFor();
  const row = page.getByTestId("api-key-row").filter({ hasText: "Nightly job" });
  await row.getByText("READ").waitFor();
  await shot(page, "apikeys-created");

  const read = await viewerWithKey(secret);
  expect(read.status === 200 && read.body.data?.viewer?.email === email, `the key did not read its owner's viewer: ${read.status} ${JSON.stringify(read.body)}`);

  // Gone after a reload: only the prefix is listed.
  await page.reload();
  await row.waitFor();
  expect(!(await page.getByTestId("api-key-secret").count()), "the secret is shown again after a reload");
  const prefix = (await row.locator("code").first().textContent()).replace("…", "");
  expect(secret.startsWith(prefix), `the listed prefix ${prefix} is not the key's`);

  await row.getByRole("button", { name: "Revoke" }).click();
  await page.getByRole("dialog").getByText("stop working at once", { exact: false }).waitFor();
  await shot(page, "apikeys-revoke-confirm");
  await page.getByRole("button", { name: "Revoke key" }).click();
  await row.getByText("Revoked", { exact: true }).waitFor();

  // Refused either as an unknown token (UNAUTHENTICATED) or, where the API runs only trusted
  // documents, as a document sent without a valid key (FORBIDDEN): never with data.
  const refused = await viewerWithKey(secret);
  const code = refused.body.errors?.[0]?.extensions?.code;
  expect(!refused.body.data?.viewer && (refused.status === 401 || ["UNAUTHENTICATED", "FORBIDDEN"].includes(code)), `a revoked key still works: ${refused.status} ${JSON.stringify(refused.body)}`);
});

test("api keys: the page on a phone in dark mode", async (page) => {
  // The theme a user picked with the toggle (saved), so the screenshot is dark whatever the OS says.
  await page.addInitScript(() => localStorage.setItem("lattice-theme", "dark"));
  await signInAs(page, `e2e-phone-keys-${Date.now()}@example.com`, "FREE");
  await page.goto("/api-keys");
  await page.getByLabel("Name").fill("Phone key with a rather long name to wrap");
  await page.getByText("Run", { exact: true }).click();
  await page.getByRole("button", { name: "Create key" }).click();
  await page.getByTestId("api-key-secret").waitFor();
  const overflow = await page.evaluate(() => [document.documentElement, document.querySelector("main")].map((el) => el.scrollWidth - el.clientWidth).filter((d) => d > 1));
  expect(overflow.length === 0, `the API keys page scrolls sideways by ${overflow.join(", ")} px`);
  await shot(page, "apikeys-phone-dark");
}, { viewport: { width: 390, height: 844 }, colorScheme: "dark" });
