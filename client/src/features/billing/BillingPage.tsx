import { useQuery } from "@apollo/client";
import { useSearchParams } from "react-router-dom";
import { Loader2 } from "lucide-react";
import { BillingQuery } from "@/graphql/documents";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { CheckoutReturn, type CheckoutOutcome } from "./CheckoutReturn";
import { HowBillingWorks } from "./HowBillingWorks";
import { InvoicesCard } from "./InvoicesCard";
import { PastDueAlert } from "./PastDue";
import { PlanCard } from "./PlanCard";
import { SpendingCapCard } from "./SpendingCapCard";
import { UsageCard } from "./UsageCard";
import { useBillingRedirect } from "./useBillingRedirect";

/** The plan, this month's usage, the spending cap and invoices. The database's part paints
 * first; invoices (from Stripe) fill in on their own. */
export default function BillingPage() {
  const [params, setParams] = useSearchParams();
  const checkout = params.get("checkout");
  const outcome: CheckoutOutcome | null = checkout === "success" || checkout === "cancelled" ? checkout : null;
  const { data, error, refetch } = useQuery(BillingQuery, { fetchPolicy: "cache-and-network" });
  const viewer = data?.viewer;

  return (
    <div className="mx-auto flex w-full max-w-4xl flex-col gap-6 p-4 sm:p-6">
      <h1 className="text-2xl font-semibold tracking-tight">Billing</h1>
      {outcome && <CheckoutReturn outcome={outcome} onDismiss={() => setParams({}, { replace: true })} onUpgraded={() => void refetch().catch(() => undefined)} />}
      {!viewer ? (
        error ? <p className="text-sm text-destructive">Billing could not be loaded. Reload the page to try again.</p> : <BillingSkeleton />
      ) : (
        <>
          {viewer.billing.subscriptionStatus === "PAST_DUE" && (
            <PastDueAlert graceEndsAt={viewer.billing.graceEndsAt}>
              <UpdatePaymentMethod />
            </PastDueAlert>
          )}
          <PlanCard viewer={viewer} />
          <UsageCard billing={viewer.billing} />
          {viewer.role === "PRO" && <SpendingCapCard viewer={viewer} />}
          {(viewer.role === "PRO" || viewer.billing.subscriptionStatus != null) && <InvoicesCard />}
          <HowBillingWorks freeAllowanceCents={viewer.freeAllowanceCents} />
        </>
      )}
    </div>
  );
}

function UpdatePaymentMethod() {
  const { open, busy } = useBillingRedirect("portal");
  return (
    <Button size="sm" variant="outline" onClick={() => void open()} disabled={busy}>
      {busy && <Loader2 className="animate-spin" aria-hidden />}
      Update payment method
    </Button>
  );
}

/** The page's own shape while it loads: the plan card, then usage, at their usual heights. */
function BillingSkeleton() {
  return (
    <div className="flex flex-col gap-6" aria-busy="true" aria-label="Loading billing">
      <Card>
        <CardHeader>
          <Skeleton className="h-5 w-32" />
          <Skeleton className="h-4 w-64 max-w-full" />
        </CardHeader>
        <CardContent className="grid gap-5">
          <Skeleton className="h-10" />
          <Skeleton className="h-44 rounded-lg" />
        </CardContent>
      </Card>
      <Card>
        <CardHeader>
          <Skeleton className="h-5 w-40" />
          <Skeleton className="h-4 w-72 max-w-full" />
        </CardHeader>
        <CardContent className="grid gap-5">
          <Skeleton className="h-[154px]" />
          <Skeleton className="h-24" />
        </CardContent>
      </Card>
    </div>
  );
}
