import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MockedProvider, type MockedResponse } from "@apollo/client/testing";
import { MemoryRouter, Route, Routes } from "react-router-dom";
import { GraphQLError } from "graphql";
import { BillingInvoicesQuery, BillingQuery, SetSpendingCapMutation, StartCheckoutMutation } from "@/graphql/documents";
import { Toaster } from "@/components/ui/toast";
import { createCache } from "@/lib/apollo";
import BillingPage from "./BillingPage";
import { billingViewer } from "./fixtures";

const billing = (viewer: ReturnType<typeof billingViewer>): MockedResponse => ({
  request: { query: BillingQuery, variables: {} },
  result: { data: { viewer } },
});
const invoices: MockedResponse = {
  request: { query: BillingInvoicesQuery, variables: {} },
  delay: 30,
  result: { data: { viewer: { __typename: "Viewer", id: "me", billing: {
    __typename: "Billing",
    upcomingInvoice: { __typename: "UpcomingInvoice", amountDueCents: 1234, currency: "usd", periodEnd: "2030-04-01T00:00:00+00:00" },
    invoices: [{ __typename: "Invoice", id: "in_1", number: "LAT-0001", status: "paid", amountDueCents: 900, amountPaidCents: 900, currency: "usd", createdAt: "2030-03-01T00:00:00+00:00", hostedInvoiceUrl: "https://stripe.test/i/in_1" }],
  } } } },
};

function renderPage(mocks: MockedResponse[], path = "/billing") {
  render(
    <MockedProvider mocks={mocks} cache={createCache()}>
      <MemoryRouter initialEntries={[path]}>
        <Routes><Route path="/billing" element={<BillingPage />} /></Routes>
        <Toaster />
      </MemoryRouter>
    </MockedProvider>,
  );
}

describe("BillingPage", () => {
  it("paints its own skeleton, then shows a free user the allowance and what Pro gives", async () => {
    renderPage([billing(billingViewer({ usageByDay: [{ day: "2030-03-02", cents: 180 }] }))]);
    expect(screen.getByLabelText("Loading billing")).toHaveAttribute("aria-busy", "true");
    expect(await screen.findByText("Free plan")).toBeInTheDocument();
    expect(screen.getByRole("progressbar", { name: "Free allowance used" })).toHaveAttribute("aria-valuenow", "180");
    expect(screen.getByText(/\$1\.80 of \$5\.00 used/)).toBeInTheDocument();
    const features = within(screen.getByRole("list", { name: "What Pro gives you" }));
    expect(features.getByText(/Wan 2\.2 image-to-video/)).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Upgrade to Pro" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: /Manage billing/ })).not.toBeInTheDocument();
    expect(screen.queryByTestId("spending-cap")).not.toBeInTheDocument();
    expect(screen.getByText(/outputs kept 7 days/)).toBeInTheDocument();
  });

  it("opens Stripe Checkout from Upgrade to Pro, with a spinner meanwhile", async () => {
    const assign = vi.fn();
    const original = window.location;
    Object.defineProperty(window, "location", { configurable: true, value: { ...original, assign } });
    try {
      renderPage([
        billing(billingViewer()),
        { request: { query: StartCheckoutMutation, variables: {} }, delay: 30, result: { data: { startCheckout: { __typename: "CheckoutSession", url: "http://stripe.test/c/pay/cs_1" } } } },
      ]);
      await userEvent.click(await screen.findByRole("button", { name: "Upgrade to Pro" }));
      expect(screen.getByRole("button", { name: "Opening checkout…" })).toBeDisabled();
      await waitFor(() => expect(assign).toHaveBeenCalledWith("http://stripe.test/c/pay/cs_1"));
    } finally {
      Object.defineProperty(window, "location", { configurable: true, value: original });
    }
  });

  it("says so when the user is already subscribed", async () => {
    renderPage([
      billing(billingViewer()),
      { request: { query: StartCheckoutMutation, variables: {} }, result: { errors: [new GraphQLError("You already have Pro", { extensions: { code: "VALIDATION_ERROR", problems: [{ reason: "ALREADY_SUBSCRIBED", message: "x", field: "plan" }] } })] } },
    ]);
    await userEvent.click(await screen.findByRole("button", { name: "Upgrade to Pro" }));
    expect(await screen.findByText("You're already on Pro")).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Upgrade to Pro" })).toBeEnabled();
  });

  it("shows a day's usage in the chart, with the days around it at zero", async () => {
    const today = new Date().toISOString().slice(0, 10);
    const start = `${today.slice(0, 8)}01`;
    renderPage([billing(billingViewer({ usagePeriodStart: start, usageByDay: [{ day: start, cents: 250 }] }))]);
    const chart = await screen.findByRole("list", { name: "Usage by day" });
    const bars = within(chart).getAllByRole("listitem");
    expect(bars).toHaveLength(Number(today.slice(8, 10)));
    expect(bars[0]).toHaveAccessibleName(/: \$2\.50$/);
    expect(screen.getByTestId("usage-total")).toHaveTextContent("$2.50");
  });

  it("shows an empty state without usage", async () => {
    renderPage([billing(billingViewer())]);
    expect(await screen.findByTestId("usage-empty")).toHaveTextContent("No usage yet");
  });

  it("shows Pro the cap, the upcoming invoice (after its skeleton) and past invoices", async () => {
    renderPage([billing(billingViewer({ role: "PRO", status: "ACTIVE" })), invoices]);
    expect(await screen.findByText("Pro plan")).toBeInTheDocument();
    expect(screen.getByTestId("subscription-status")).toHaveTextContent("Active");
    expect(screen.getByRole("button", { name: /Manage billing/ })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Upgrade to Pro" })).not.toBeInTheDocument();
    expect(screen.getByText(/raise it any time up to \$500/)).toBeInTheDocument();
    expect(screen.getByLabelText("Loading invoices")).toBeInTheDocument();
    expect(await screen.findByTestId("upcoming-invoice")).toHaveTextContent("$12.34");
    const link = screen.getByRole("link", { name: /View invoice LAT-0001/ });
    expect(link).toHaveAttribute("href", "https://stripe.test/i/in_1");
    expect(link).toHaveAttribute("target", "_blank");
  });

  it("warns when the payment failed, with the grace date", async () => {
    renderPage([billing(billingViewer({ role: "PRO", status: "PAST_DUE", graceEndsAt: "2030-03-20T12:00:00+00:00" })), invoices]);
    const alert = await screen.findByTestId("past-due-alert");
    expect(alert).toHaveTextContent(/Your last payment failed\. Pro stays on until .*20.*2030; update your payment method\./);
    expect(within(alert).getByRole("button", { name: "Update payment method" })).toBeInTheDocument();
  });
});

describe("the spending cap", () => {
  const setCap = (cents: number | null, result: MockedResponse["result"]): MockedResponse => ({
    request: { query: SetSpendingCapMutation, variables: { cents } },
    delay: 60,
    result,
  });

  it("checks the amount before sending it", async () => {
    renderPage([billing(billingViewer({ role: "PRO", status: "ACTIVE" })), invoices]);
    const field = await screen.findByLabelText("Monthly cap (USD)");
    await userEvent.clear(field);
    await userEvent.type(field, "600");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(screen.getByRole("alert")).toHaveTextContent("The highest cap you can set is $500.");
    expect(field).toHaveAttribute("aria-invalid", "true");
    await userEvent.clear(field);
    await userEvent.type(field, "-3");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(screen.getByRole("alert")).toHaveTextContent("can't be negative");
  });

  it("shows the new cap at once and keeps it when the server agrees", async () => {
    renderPage([
      billing(billingViewer({ role: "PRO", status: "ACTIVE" })), invoices,
      setCap(8000, { data: { setSpendingCap: { __typename: "Viewer", id: "me", spendingCapCents: 8000, billing: { __typename: "Billing", spendingCapCents: 8000 } } } }),
    ]);
    const field = await screen.findByLabelText("Monthly cap (USD)");
    expect(screen.getByTestId("cap-in-force")).toHaveTextContent("$50");
    await userEvent.clear(field);
    await userEvent.type(field, "80");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(screen.getByTestId("cap-in-force")).toHaveTextContent("$80");
    await waitFor(() => expect(screen.getByRole("button", { name: /Reset to default/ })).toBeEnabled());
    expect(screen.getByTestId("cap-in-force")).toHaveTextContent("$80");
  });

  it("puts the old cap back, and says why, when the server refuses", async () => {
    renderPage([
      billing(billingViewer({ role: "PRO", status: "ACTIVE" })), invoices,
      setCap(40000, { errors: [new GraphQLError("The monthly spending cap must be between 0 and 30000¢", { extensions: { code: "VALIDATION_ERROR", problems: [{ reason: "CAP_TOO_HIGH", message: "x", field: "cents" }] } })] }),
    ]);
    const field = await screen.findByLabelText("Monthly cap (USD)");
    await userEvent.clear(field);
    await userEvent.type(field, "400");
    await userEvent.click(screen.getByRole("button", { name: "Save" }));
    expect(screen.getByTestId("cap-in-force")).toHaveTextContent("$400");
    expect(await screen.findByText("Spending cap too high")).toBeInTheDocument();
    expect(screen.getByTestId("cap-in-force")).toHaveTextContent("$50");
    expect(screen.getByLabelText("Monthly cap (USD)")).toHaveValue("50");
  });

  it("goes back to the default cap", async () => {
    renderPage([
      billing(billingViewer({ role: "PRO", status: "ACTIVE", ownCap: 9000 })), invoices,
      setCap(null, { data: { setSpendingCap: { __typename: "Viewer", id: "me", spendingCapCents: null, billing: { __typename: "Billing", spendingCapCents: 5000 } } } }),
    ]);
    expect(await screen.findByTestId("cap-in-force")).toHaveTextContent("$90");
    await userEvent.click(screen.getByRole("button", { name: /Reset to default/ }));
    expect(screen.getByTestId("cap-in-force")).toHaveTextContent("$50");
    expect(screen.getByText("(the default)")).toBeInTheDocument();
  });
});
