import { useMutation } from "@apollo/client";
import { OpenPortalMutation, StartCheckoutMutation } from "@/graphql/documents";
import { formatCents } from "@/lib/utils";
import { useViewer } from "@/lib/useViewer";
import { useErrorToast } from "@/lib/useErrorToast";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";

export default function BillingPage() {
  const { viewer } = useViewer();
  const showError = useErrorToast();
  const [checkout, checkingOut] = useMutation(StartCheckoutMutation);
  const [portal, opening] = useMutation(OpenPortalMutation);
  const go = async (action: () => Promise<{ data?: { startCheckout?: { url: string }; openBillingPortal?: { url: string } } | null }>) => {
    try {
      const result = await action();
      const url = result.data?.startCheckout?.url ?? result.data?.openBillingPortal?.url;
      if (url) window.location.assign(url);
    } catch (error) {
      showError(error);
    }
  };
  return (
    <div className="flex max-w-3xl flex-col gap-6 p-6">
      <h1 className="text-2xl font-semibold tracking-tight">Billing</h1>
      <Card>
        <CardHeader>
          <CardTitle>Your plan</CardTitle>
          <CardDescription>Free includes {viewer ? formatCents(viewer.freeAllowanceCents) : "…"} of generation each month. Pro is pay-per-use with all models, LoRAs and kept assets.</CardDescription>
        </CardHeader>
        <CardContent className="grid gap-4">
          {!viewer ? <Skeleton className="h-20" /> : (
            <dl className="grid grid-cols-3 gap-4 text-sm">
              <div><dt className="text-muted-foreground">Plan</dt><dd className="text-lg font-semibold">{viewer.role}</dd></div>
              <div><dt className="text-muted-foreground">Used this month</dt><dd className="text-lg font-semibold">{formatCents(viewer.credits.periodUsageCents)}</dd></div>
              <div><dt className="text-muted-foreground">{viewer.role === "FREE" ? "Free credits left" : "Spending cap"}</dt>
                <dd className="text-lg font-semibold">{viewer.role === "FREE" ? formatCents(viewer.credits.freeRemaining) : viewer.spendingCapCents != null ? formatCents(viewer.spendingCapCents) : "None"}</dd></div>
            </dl>
          )}
          <div className="flex gap-2">
            {viewer?.role === "FREE" && (
              <Button disabled={checkingOut.loading} onClick={() => void go(() => checkout())}>{checkingOut.loading ? "Opening…" : "Upgrade to Pro"}</Button>
            )}
            <Button variant="outline" disabled={opening.loading} onClick={() => void go(() => portal())}>{opening.loading ? "Opening…" : "Manage billing"}</Button>
          </div>
        </CardContent>
      </Card>
    </div>
  );
}
