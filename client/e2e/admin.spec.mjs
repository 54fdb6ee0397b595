/* global Buffer */
// The admin console: an ADMIN signs in, is led through TOTP enrollment (the code computed here
// from the secret on the page), reaches the console, grants credits to a user found by email,
// and sees the grant in the user's ledger and in the audit log. Then the console on a phone.
import { createHmac } from "node:crypto";
import { BASE, expect, shot, test } from "./harness.mjs";

/** RFC 6238 TOTP (SHA-1, 30 s, 6 digits), what authenticator apps compute from the secret. */
export function totp(secretBase32, at = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secretBase32.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const mac = createHmac("sha1", key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  return String((mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

/** Dev sign-in with a chosen email (the harness's signIn picks a random one). */
export async function signInAs(page, email, role) {
  await page.goto("/");
  await page.getByLabel("Email").fill(email);
  await page.getByRole("combobox", { name: "Role" }).click();
  await page.getByRole("option", { name: role === "PRO" ? "Pro" : role === "ADMIN" ? "Admin" : "Free" }).click();
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Workflows" }).waitFor();
  await page.getByTestId("credits").first().waitFor({ state: "attached" });
}

const unique = (who) => `e2e-${who}-${Date.now()}-${Math.random().toString(36).slice(2, 6)}@example.com`;

/** From "Unlock admin" through enrollment to the console. The first code may be refused if the
 * 30 s window turns between computing and checking it; the next window's code then works. */
async function enrollAndOpenConsole(page, { phone = false } = {}) {
  if (phone) await page.getByRole("button", { name: "Menu" }).click();
  expect(!(await page.getByRole("link", { name: "Admin", exact: true }).count()), "Admin is in the nav before MFA");
  await page.getByRole("link", { name: "Unlock admin" }).first().click();
  await page.getByTestId("mfa-step-up").waitFor();
  const secret = (await page.getByTestId("mfa-secret").textContent()).trim();
  expect(/^[A-Z2-7]{16,}$/.test(secret), `the secret to type by hand is not base32: ${secret}`);
  expect((await page.getByTestId("mfa-qr").getAttribute("src")).startsWith("data:image/svg+xml"), "no QR code image");
  return secret;
}

async function typeCode(page, code) {
  await page.getByLabel("6-digit code").fill(code);
  await page.getByRole("button", { name: "Verify" }).click();
}

test("admin: enrolls MFA, finds a user by email, grants credits with a reason, and sees it in the ledger and the audit log", async (page) => {
  // The user to help, signed in once in a browser of their own so they exist.
  const userEmail = unique("customer");
  const other = await page.context().browser().newContext({ baseURL: BASE });
  await signInAs(await other.newPage(), userEmail, "FREE");
  await other.close();

  await signInAs(page, unique("admin"), "ADMIN");
  const secret = await enrollAndOpenConsole(page);
  await shot(page, "admin-mfa-enroll");

  // A wrong code is refused, clearly, and the console stays shut.
  const right = totp(secret);
  await typeCode(page, right === "000000" ? "111111" : "000000");
  await page.getByText(/That code is not right/).waitFor();
  expect(!(await page.getByRole("navigation", { name: "Admin" }).count()), "the console opened after a wrong code");

  await typeCode(page, totp(secret));
  try {
    await page.getByRole("navigation", { name: "Admin" }).waitFor({ timeout: 5_000 });
  } catch {
    await typeCode(page, totp(secret, Date.now() + 1_000));
    await page.getByRole("navigation", { name: "Admin" }).waitFor();
  }
  await page.getByRole("link", { name: "Admin", exact: true }).first().waitFor();
  await page.getByTestId("platform-chart").waitFor();
  await shot(page, "admin-overview");

  // Find the user by email and grant $5.00 with a reason.
  await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Users" }).click();
  await page.getByLabel("Search users by email").fill(userEmail);
  await page.waitForURL(/\/admin\/users\?q=/);
  await page.waitForFunction((email) => {
    const rows = [...document.querySelectorAll('[data-testid="admin-user-row"]')];
    return rows.length > 0 && rows.every((r) => r.textContent.includes(email));
  }, userEmail);
  const row = page.getByTestId("admin-user-row").filter({ hasText: userEmail });
  expect((await page.getByTestId("admin-user-row").count()) === 1, "the search found more than the one user");
  await shot(page, "admin-users");
  await row.click();
  await page.getByTestId("admin-user-email").filter({ hasText: userEmail }).waitFor();
  const before = await page.getByTestId("admin-user-credits").textContent();

  const grant = page.getByRole("form", { name: "Grant or adjust credits" });
  await grant.getByLabel("Amount (USD)").fill("5");
  await grant.getByRole("button", { name: "Apply" }).click();
  await grant.getByText(/Say why/).waitFor();
  const reason = `e2e goodwill ${Date.now()}`;
  await grant.getByLabel("Reason").fill(reason);
  await grant.getByRole("button", { name: "Apply" }).click();

  const entry = page.getByTestId("ledger-entry").filter({ hasText: reason });
  await entry.waitFor();
  const entryText = await entry.textContent();
  expect(/\+\$5\.00/.test(entryText) && /grant/i.test(entryText), `the ledger entry does not show the grant: ${entryText}`);
  await page.waitForFunction((b) => document.querySelector('[data-testid="admin-user-credits"]')?.textContent !== b, before);
  await shot(page, "admin-user");

  // The audit log names the grant, its actor's target and the reason; filter by action.
  await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Audit log" }).click();
  await page.getByLabel("Action").fill("credits.granted");
  await page.getByRole("button", { name: "Filter" }).click();
  const audited = page.getByTestId("audit-entry").filter({ hasText: reason });
  await audited.waitFor();
  const auditText = await audited.textContent();
  expect(/credits\.granted/.test(auditText) && /500/.test(auditText) && /IP /.test(auditText), `the audit entry lacks what happened: ${auditText}`);
  const actions = await page.getByTestId("audit-entry").evaluateAll((els) => els.map((e) => e.dataset.action));
  expect(actions.every((a) => a === "credits.granted"), `the action filter let others through: ${actions}`);
  await shot(page, "admin-audit");

  // The same pages in the dark theme (the header's toggle).
  await page.getByRole("button", { name: "Toggle theme" }).click();
  await page.waitForFunction(() => document.documentElement.classList.contains("dark"));
  await shot(page, "admin-audit-dark");
  await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Overview" }).click();
  await page.getByTestId("platform-chart").waitFor();
  await shot(page, "admin-overview-dark");
});

/** No horizontal scrolling anywhere on the page (the main column included). */
async function expectNoHorizontalOverflow(page, where) {
  const overflow = await page.evaluate(() => {
    const wide = [document.documentElement, document.querySelector("main")].filter(Boolean);
    return wide.map((el) => el.scrollWidth - el.clientWidth).filter((d) => d > 1);
  });
  expect(overflow.length === 0, `${where} scrolls sideways by ${overflow.join(", ")} px`);
}

test("admin: the console on a phone in dark mode", async (page) => {
  // The theme a user picked with the toggle (saved), so the screenshots are dark whatever the OS says.
  await page.addInitScript(() => localStorage.setItem("lattice-theme", "dark"));
  await signInAs(page, unique("phone-admin"), "ADMIN");
  const secret = await enrollAndOpenConsole(page, { phone: true });
  await expectNoHorizontalOverflow(page, "MFA enrollment");
  await shot(page, "admin-mfa-phone-dark");
  await typeCode(page, totp(secret));
  try {
    await page.getByRole("navigation", { name: "Admin" }).waitFor({ timeout: 5_000 });
  } catch {
    await typeCode(page, totp(secret, Date.now() + 1_000));
    await page.getByRole("navigation", { name: "Admin" }).waitFor();
  }
  await page.getByTestId("platform-chart").waitFor();
  await page.getByTestId("admin-models").waitFor();
  await expectNoHorizontalOverflow(page, "the admin overview");
  await shot(page, "admin-overview-phone-dark");
  await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Users" }).click();
  await page.getByTestId("admin-user-row").first().waitFor();
  await expectNoHorizontalOverflow(page, "the user list");
  await shot(page, "admin-users-phone-dark");
  await page.getByTestId("admin-user-row").first().click();
  await page.getByTestId("admin-user-email").waitFor();
  await page.getByTestId("admin-ledger").waitFor();
  await expectNoHorizontalOverflow(page, "a user's page");
  await shot(page, "admin-user-phone-dark");
  await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Audit log" }).click();
  await page.waitForFunction(() => document.querySelector('[data-testid="audit-log"]')?.getAttribute("aria-busy") === "false"
    && document.querySelectorAll('[data-testid="audit-log"] .animate-pulse').length === 0);
  await expectNoHorizontalOverflow(page, "the audit log");
  await shot(page, "admin-audit-phone-dark");
  await page.getByRole("button", { name: "Toggle theme" }).click();
  await page.waitForFunction(() => !document.documentElement.classList.contains("dark"));
  await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Overview" }).click();
  await page.getByTestId("platform-chart").waitFor();
  await expectNoHorizontalOverflow(page, "the admin overview (light)");
  await shot(page, "admin-overview-phone-light");
}, { viewport: { width: 390, height: 844 }, colorScheme: "dark" });

test("admin: a Free user has no Admin entry and /admin opens nothing", async (page) => {
  await signInAs(page, unique("free"), "FREE");
  expect(!(await page.getByRole("link", { name: /admin/i }).count()), "a Free user sees an Admin link");
  await page.goto("/admin");
  await page.getByTestId("admin-refused").waitFor();
  expect(!(await page.getByRole("navigation", { name: "Admin" }).count()), "the console opened for a Free user");
});
