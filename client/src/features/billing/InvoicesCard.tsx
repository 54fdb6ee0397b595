import { useQuery } from "@apollo/client";
import { ExternalLink } from "lucide-react";
import { BillingInvoicesQuery } from "@/graphql/documents";
import type { BillingInvoicesQuery as BillingInvoicesData } from "@/gql/graphql";
import { formatDate, formatMoney } from "@/lib/utils";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { invoiceBadge } from "./labels";

type Billing = NonNullable<BillingInvoicesData["viewer"]>["billing"];
type Invoice = Billing["invoices"][number];

/** What Stripe will invoice next and what it invoiced before. Stripe is asked for these, which
 * is slower than the rest of the page: they load on their own, behind skeletons of their shape. */
export function InvoicesCard() {
  const { data, loading, error } = useQuery(BillingInvoicesQuery, { fetchPolicy: "cache-and-network" });
  const billing = data?.viewer?.billing;
  return (
    <Card data-testid="invoices">
      <CardHeader>
        <CardTitle>Invoices</CardTitle>
        <CardDescription>Stripe invoices your usage at the end of each period.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-5">
        {!billing && loading ? (
          <InvoicesSkeleton />
        ) : !billing ? (
          <p className="text-sm text-muted-foreground">{error ? "Invoices could not be loaded from Stripe right now; try again in a minute." : "No invoices yet."}</p>
        ) : (
          <>
            {billing.upcomingInvoice && <UpcomingInvoice invoice={billing.upcomingInvoice} />}
            <PastInvoices invoices={billing.invoices} />
          </>
        )}
      </CardContent>
    </Card>
  );
}

function UpcomingInvoice({ invoice }: { invoice: NonNullable<Billing["upcomingInvoice"]> }) {
  return (
    <div className="flex flex-wrap items-baseline justify-between gap-x-4 gap-y-1 rounded-lg border bg-muted/40 p-4" data-testid="upcoming-invoice">
      <div className="grid gap-1">
        <span className="text-sm font-medium">Next invoice</span>
        <span className="text-sm text-muted-foreground">{invoice.periodEnd ? `On ${formatDate(invoice.periodEnd)}` : "At the end of this period"}</span>
      </div>
      <span className="text-2xl font-semibold tabular-nums">{formatMoney(invoice.amountDueCents, invoice.currency)}</span>
    </div>
  );
}

function PastInvoices({ invoices }: { invoices: Invoice[] }) {
  if (invoices.length === 0) return <p className="text-sm text-muted-foreground">No past invoices yet.</p>;
  return (
    <ul className="grid divide-y" aria-label="Past invoices" data-testid="past-invoices">
      {invoices.map((invoice) => {
        const badge = invoiceBadge(invoice.status);
        const amount = invoice.status === "paid" ? invoice.amountPaidCents : invoice.amountDueCents;
        return (
          <li key={invoice.id} className="flex flex-wrap items-center gap-x-3 gap-y-1 py-2.5 text-sm">
            <div className="flex min-w-0 basis-full items-baseline gap-3 sm:basis-0 sm:flex-1">
              <span className="shrink-0 tabular-nums sm:w-28">{formatDate(invoice.createdAt)}</span>
              <span className="min-w-0 truncate text-muted-foreground" title={invoice.number ?? undefined}>{invoice.number ?? "Draft"}</span>
            </div>
            <div className="ml-auto flex shrink-0 items-center gap-3">
              <Badge variant={badge.variant}>{badge.label}</Badge>
              <span className="w-16 text-right tabular-nums">{formatMoney(amount, invoice.currency)}</span>
              {invoice.hostedInvoiceUrl ? (
                <a
                  href={invoice.hostedInvoiceUrl}
                  target="_blank"
                  rel="noreferrer noopener"
                  className="inline-flex w-12 items-center gap-1 text-primary underline-offset-4 hover:underline"
                  aria-label={`View invoice ${invoice.number ?? formatDate(invoice.createdAt)} (opens in a new tab)`}
                >
                  View <ExternalLink className="size-3.5" aria-hidden />
                </a>
              ) : (
                <span className="w-12" />
              )}
            </div>
          </li>
        );
      })}
    </ul>
  );
}

function InvoicesSkeleton() {
  return (
    <div className="grid gap-5" aria-busy="true" aria-label="Loading invoices">
      <Skeleton className="h-[78px] rounded-lg" />
      <div className="grid gap-3">
        {[0, 1, 2].map((i) => <Skeleton key={i} className="h-6" />)}
      </div>
    </div>
  );
}
