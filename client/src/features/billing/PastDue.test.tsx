import { render, screen } from "@testing-library/react";
import { MockedProvider, type MockedResponse } from "@apollo/client/testing";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { ViewerQuery } from "@/graphql/documents";
import { createCache } from "@/lib/apollo";
import { AppShell } from "@/components/layout/AppShell";
import { shellViewer } from "./fixtures";

function renderShell(viewer: ReturnType<typeof shellViewer>) {
  const mocks: MockedResponse[] = [{ request: { query: ViewerQuery, variables: {} }, result: { data: { viewer } } }];
  render(
    <MockedProvider mocks={mocks} cache={createCache()}>
      <MemoryRouter initialEntries={["/workflows"]}>
        <Routes>
          <Route element={<AppShell />}>
            <Route path="workflows" element={<p>Workflows page</p>} />
          </Route>
        </Routes>
      </MemoryRouter>
    </MockedProvider>,
  );
}

describe("the past-due banner", () => {
  it("shows on every page, with the grace date and a link to Billing", async () => {
    renderShell(shellViewer({ role: "PRO", status: "PAST_DUE", graceEndsAt: "2030-03-20T12:00:00+00:00" }));
    const banner = await screen.findByTestId("past-due-banner");
    const date = new Intl.DateTimeFormat(undefined, { dateStyle: "medium" }).format(new Date("2030-03-20T12:00:00+00:00"));
    expect(banner).toHaveTextContent(`Your last payment failed. Pro stays on until ${date}; update your payment method.`);
    expect(screen.getByRole("link", { name: "Go to Billing" })).toHaveAttribute("href", "/billing");
    expect(screen.getByText("Workflows page")).toBeInTheDocument();
  });

  it("is not there while payments go through", async () => {
    renderShell(shellViewer({ role: "PRO", status: "ACTIVE" }));
    await screen.findByTestId("viewer-summary");
    expect(screen.queryByTestId("past-due-banner")).not.toBeInTheDocument();
  });
});
