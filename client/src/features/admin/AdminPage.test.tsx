import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MockedProvider, type MockedResponse } from "@apollo/client/testing";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { GraphQLError } from "graphql";
import { ViewerQuery } from "@/graphql/documents";
import { AdminOverviewDocument } from "@/gql/lazy/graphql";
import { createCache } from "@/lib/apollo";
import { shellViewer } from "@/features/billing/fixtures";
import AdminPage from "./AdminPage";

const admin = (adminAccess: { allowed: boolean; reason: string | null }, mfaLevel = "aal1"): MockedResponse => ({
  request: { query: ViewerQuery, variables: {} },
  result: { data: { viewer: { ...shellViewer({ role: "ADMIN" }), mfaLevel, adminAccess: { __typename: "AdminAccess", ...adminAccess } } } },
});

function renderAdmin(mocks: MockedResponse[]) {
  render(
    <MockedProvider mocks={mocks} cache={createCache()}>
      <MemoryRouter initialEntries={["/admin"]}><Routes><Route path="admin/*" element={<AdminPage />} /></Routes></MemoryRouter>
    </MockedProvider>,
  );
}

/** The dev issuer's GoTrue-shaped routes, answered the way the API answers them. */
function devIssuer({ verified }: { verified: boolean }) {
  const calls: { method: string; path: string; body?: unknown; auth?: string | null }[] = [];
  const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  vi.stubGlobal("fetch", async (path: string, init: RequestInit = {}) => {
    const body = init.body ? JSON.parse(String(init.body)) : undefined;
    calls.push({ method: init.method ?? "GET", path, body, auth: new Headers(init.headers).get("authorization") });
    if (path === "/api/config") return json({ supabaseUrl: null, supabaseAnonKey: null, devSignIn: true });
    if (path === "/auth/v1/user") return json({ id: "u1", factors: verified ? [{ id: "f1", factor_type: "totp", status: "verified" }] : [] });
    if (path === "/auth/v1/factors") return json({ id: "f1", type: "totp", totp: { qr_code: "data:image/svg+xml;utf8,<svg/>", secret: "JBSWY3DPEHPK3PXP", uri: "otpauth://totp/Lattice" } });
    if (path === "/auth/v1/factors/f1/challenge") return json({ id: "c1", expires_at: 0 });
    if (path === "/auth/v1/factors/f1/verify") {
      return body.code === "123456"
        ? json({ access_token: "aal2-token", token_type: "bearer", expires_in: 3600 })
        : json({ error: "Invalid TOTP code entered", code: "mfa_verification_failed" }, 422);
    }
    return json({ error: "not found" }, 404);
  });
  return calls;
}

describe("AdminPage", () => {
  beforeEach(() => {
    localStorage.setItem("lattice-dev-session", JSON.stringify({ email: "op@example.com", role: "ADMIN", token: "aal1-token", expiresAt: Date.now() + 3_600_000 }));
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    localStorage.clear();
  });

  it("says plainly when the network is not allowed, and opens nothing", async () => {
    renderAdmin([admin({ allowed: false, reason: "not from an allowed network" })]);
    expect(await screen.findByText("Not from an allowed network")).toBeInTheDocument();
    expect(screen.queryByRole("navigation", { name: "Admin" })).not.toBeInTheDocument();
  });

  it("leads an admin without a second factor through enrollment, refuses a wrong code, and opens with the right one", async () => {
    const calls = devIssuer({ verified: false });
    const overview: MockedResponse = {
      request: { query: AdminOverviewDocument, variables: { days: 30 } },
      result: { data: { admin: { __typename: "Admin", usageByDay: [], usageByModel: [], models: [], platform: { __typename: "PlatformSettings", dailySpendLimitCents: 500_000, todaySpendCents: 1_250 } } } },
    };
    renderAdmin([admin({ allowed: false, reason: "needs MFA" }), admin({ allowed: true, reason: null }, "aal2"), overview]);
    expect(await screen.findByTestId("mfa-secret")).toHaveTextContent("JBSWY3DPEHPK3PXP");
    expect(screen.getByRole("img", { name: /QR code/ })).toHaveAttribute("src", expect.stringMatching(/^data:image\/svg\+xml/));

    const input = screen.getByLabelText("6-digit code");
    await userEvent.type(input, "000000");
    await userEvent.click(screen.getByRole("button", { name: "Verify" }));
    expect(await screen.findByText(/That code is not right/)).toBeInTheDocument();
    expect(JSON.parse(localStorage.getItem("lattice-dev-session")!).token).toBe("aal1-token");

    await userEvent.type(input, "123456");
    await userEvent.click(screen.getByRole("button", { name: "Verify" }));
    expect(await screen.findByRole("navigation", { name: "Admin" })).toBeInTheDocument();
    expect(await screen.findByTestId("daily-limit")).toHaveTextContent("Today $12.50of $5,000.00");
    expect(JSON.parse(localStorage.getItem("lattice-dev-session")!).token).toBe("aal2-token");
    const verify = calls.filter((c) => c.path === "/auth/v1/factors/f1/verify");
    expect(verify.map((c) => c.body)).toEqual([{ challenge_id: "c1", code: "000000" }, { challenge_id: "c1", code: "123456" }]);
    expect(verify.every((c) => c.auth === "Bearer aal1-token")).toBe(true);
  });

  it("asks only for the code when a factor is already verified", async () => {
    const calls = devIssuer({ verified: true });
    renderAdmin([admin({ allowed: false, reason: "needs MFA" })]);
    expect(await screen.findByLabelText("6-digit code")).toBeInTheDocument();
    await waitFor(() => expect(calls.some((c) => c.path === "/auth/v1/user")).toBe(true));
    expect(screen.queryByTestId("mfa-secret")).not.toBeInTheDocument();
    expect(calls.some((c) => c.path === "/auth/v1/factors")).toBe(false);
  });

  it("shows a refusal's reason, and leads to the code prompt when the session lost its second factor", async () => {
    devIssuer({ verified: true });
    const refused: MockedResponse = {
      request: { query: AdminOverviewDocument, variables: { days: 30 } },
      result: { errors: [new GraphQLError("Admin access refused: needs MFA (enroll an authenticator and verify a code)", { extensions: { code: "FORBIDDEN", reason: "needs MFA" } })] },
    };
    renderAdmin([admin({ allowed: true, reason: null }, "aal2"), refused, admin({ allowed: false, reason: "needs MFA" })]);
    expect(await screen.findByText(/Reason: Admin access refused: needs MFA/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Verify with your authenticator" }));
    expect(await screen.findByLabelText("6-digit code")).toBeInTheDocument();
  });
});
