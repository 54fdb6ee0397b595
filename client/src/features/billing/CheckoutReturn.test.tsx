import { render, screen, waitFor } from "@testing-library/react";
import { MockedProvider, type MockedResponse } from "@apollo/client/testing";
import { MemoryRouter } from "react-router-dom";
import { ViewerQuery } from "@/graphql/documents";
import { createCache } from "@/lib/apollo";
import { useViewer } from "@/lib/useViewer";
import { CheckoutReturn } from "./CheckoutReturn";
import { shellViewer } from "./fixtures";

const viewerAs = (role: "FREE" | "PRO"): MockedResponse => ({
  request: { query: ViewerQuery, variables: {} },
  result: { data: { viewer: shellViewer(role === "PRO" ? { role, status: "ACTIVE" } : { role }) } },
});

/** What the sidebar shows: it reads the same cached viewer. */
function SidebarRole() {
  const { viewer } = useViewer();
  return <span data-testid="sidebar-role">{viewer?.role}</span>;
}

function renderReturn(mocks: MockedResponse[], props: Partial<React.ComponentProps<typeof CheckoutReturn>> = {}) {
  const onDismiss = vi.fn();
  render(
    <MockedProvider mocks={mocks} cache={createCache()}>
      <MemoryRouter>
        <CheckoutReturn outcome="success" onDismiss={onDismiss} pollMs={20} {...props} />
        <SidebarRole />
      </MemoryRouter>
    </MockedProvider>,
  );
  return onDismiss;
}

describe("CheckoutReturn", () => {
  it("polls the viewer until the webhook made them Pro, then says so and stops", async () => {
    const mocks = [viewerAs("FREE"), viewerAs("FREE"), viewerAs("FREE"), viewerAs("FREE"), viewerAs("PRO")];
    // The sidebar's own first load answers first.
    renderReturn([viewerAs("FREE"), ...mocks]);
    expect(screen.getByText("Finishing your upgrade…")).toBeInTheDocument();
    expect(await screen.findByText("You're on Pro", undefined, { timeout: 3000 })).toBeInTheDocument();
    expect(screen.getByTestId("sidebar-role")).toHaveTextContent("PRO");
    expect(screen.queryByText("Finishing your upgrade…")).not.toBeInTheDocument();
    // No more requests once Pro: a poll now would find no mock left and fail loudly.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(screen.getByText("You're on Pro")).toBeInTheDocument();
  });

  it("says it is taking longer than usual after the timeout, and keeps waiting", async () => {
    renderReturn(
      [viewerAs("FREE"), viewerAs("FREE"), viewerAs("FREE"), viewerAs("PRO")],
      { pollMs: 40, slowPollMs: 40, timeoutMs: 50 },
    );
    expect(await screen.findByText(/taking longer than usual — we'll update this page when Stripe confirms/)).toBeInTheDocument();
    await waitFor(() => expect(screen.getByText("You're on Pro")).toBeInTheDocument(), { timeout: 3000 });
  });

  it("is a neutral note when checkout was cancelled", () => {
    renderReturn([viewerAs("FREE")], { outcome: "cancelled" });
    expect(screen.getByText("Checkout was cancelled; you're still on Free.")).toBeInTheDocument();
    expect(screen.queryByText("Finishing your upgrade…")).not.toBeInTheDocument();
  });
});
