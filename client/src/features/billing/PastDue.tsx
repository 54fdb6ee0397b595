import { Link } from "react-router-dom";
import { TriangleAlert } from "lucide-react";
import { formatDate } from "@/lib/utils";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";

/** What a failed payment means, in one sentence, with the day Pro ends. */
export function pastDueMessage(graceEndsAt: string | null | undefined): string {
  return graceEndsAt
    ? `Your last payment failed. Pro stays on until ${formatDate(graceEndsAt)}; update your payment method.`
    : "Your last payment failed. Update your payment method to keep Pro.";
}

/** The app-wide strip in the shell, on every page, while the subscription is past due. */
export function PastDueBanner({ graceEndsAt }: { graceEndsAt: string | null | undefined }) {
  return (
    <div
      role="alert"
      data-testid="past-due-banner"
      className="flex shrink-0 items-start gap-2 border-b border-amber-300 bg-amber-50 px-4 py-2 text-sm text-amber-950 dark:border-amber-500/40 dark:bg-amber-500/10 dark:text-amber-100"
    >
      <TriangleAlert className="mt-0.5 size-4 shrink-0 text-amber-600 dark:text-amber-400" aria-hidden />
      <p className="min-w-0 flex-1">
        {pastDueMessage(graceEndsAt)}{" "}
        <Link to="/billing" className="font-medium whitespace-nowrap underline underline-offset-4">Go to Billing</Link>
      </p>
    </div>
  );
}

/** The same warning on the Billing page, where the portal button is at hand. */
export function PastDueAlert({ graceEndsAt, children }: { graceEndsAt: string | null | undefined; children?: React.ReactNode }) {
  return (
    <Alert variant="warning" data-testid="past-due-alert">
      <TriangleAlert aria-hidden />
      <AlertTitle>Payment failed</AlertTitle>
      <AlertDescription className="flex flex-col items-start gap-3">
        <p>{pastDueMessage(graceEndsAt)}</p>
        {children}
      </AlertDescription>
    </Alert>
  );
}
