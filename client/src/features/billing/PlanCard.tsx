import { Check, ExternalLink, Loader2 } from "lucide-react";
import type { BillingQuery } from "@/gql/graphql";
import { formatCents, formatDate } from "@/lib/utils";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { PLAN_NAMES, STATUS_BADGES } from "./labels";
import { useBillingRedirect } from "./useBillingRedirect";

type Viewer = NonNullable<BillingQuery["viewer"]>;

export const PRO_FEATURES = [
  "Every model, including Wan 2.2 image-to-video",
  "Your own LoRAs",
  "Kept (persistent) assets",
  "Pay per use, metered monthly",
  "A monthly spending cap you control",
];

/** The plan and its status, and the one thing to do about it: upgrade, or manage billing. */
export function PlanCard({ viewer }: { viewer: Viewer }) {
  const { billing } = viewer;
  const status = billing.subscriptionStatus ? STATUS_BADGES[billing.subscriptionStatus] : null;
  return (
    <Card data-testid="plan-card">
      <CardHeader>
        <div className="flex flex-wrap items-center gap-2">
          <CardTitle className="text-lg">{PLAN_NAMES[viewer.role]} plan</CardTitle>
          {status && <Badge variant={status.variant} data-testid="subscription-status">{status.label}</Badge>}
        </div>
        <CardDescription>
          {viewer.role === "FREE" && `${formatCents(viewer.freeAllowanceCents)} of generation each month, free.`}
          {viewer.role === "PRO" && (billing.currentPeriodEnd
            ? `Pay per use. This billing period ends ${formatDate(billing.currentPeriodEnd)}.`
            : "Pay per use, metered monthly.")}
          {viewer.role === "ADMIN" && "Your usage is charged to the platform, not to you."}
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-5">
        {viewer.role === "FREE" ? <FreePlan viewer={viewer} /> : viewer.role === "PRO" ? <ManageBilling /> : null}
      </CardContent>
    </Card>
  );
}

function FreePlan({ viewer }: { viewer: Viewer }) {
  const { open, busy } = useBillingRedirect("checkout");
  return (
    <>
      <AllowanceMeter allowance={viewer.freeAllowanceCents} remaining={viewer.credits.freeRemaining} />
      <div className="grid gap-3 rounded-lg border bg-muted/40 p-4">
        <p className="text-sm font-medium">Pro gives you</p>
        <ul className="grid gap-2 text-sm sm:grid-cols-2" aria-label="What Pro gives you">
          {PRO_FEATURES.map((feature) => (
            <li key={feature} className="flex items-start gap-2">
              <Check className="mt-0.5 size-4 shrink-0 text-success" aria-hidden /> {feature}
            </li>
          ))}
        </ul>
        <div>
          <Button onClick={() => void open()} disabled={busy} aria-busy={busy}>
            {busy && <Loader2 className="animate-spin" aria-hidden />}
            {busy ? "Opening checkout…" : "Upgrade to Pro"}
          </Button>
        </div>
      </div>
    </>
  );
}

/** Used vs the monthly free allowance, as a bar. */
export function AllowanceMeter({ allowance, remaining }: { allowance: number; remaining: number }) {
  const used = Math.max(0, allowance - remaining);
  const percent = allowance > 0 ? Math.min(100, (used / allowance) * 100) : 100;
  return (
    <div className="grid gap-2" data-testid="allowance">
      <div className="flex flex-wrap items-baseline justify-between gap-x-4 gap-y-1 text-sm">
        <span className="font-medium">Free allowance this month</span>
        <span className="text-muted-foreground tabular-nums">
          {formatCents(used)} of {formatCents(allowance)} used · <span className="text-foreground">{formatCents(Math.max(0, remaining))} left</span>
        </span>
      </div>
      <div
        role="progressbar"
        aria-label="Free allowance used"
        aria-valuemin={0}
        aria-valuemax={allowance}
        aria-valuenow={used}
        aria-valuetext={`${formatCents(used)} of ${formatCents(allowance)} used`}
        className="h-2 overflow-hidden rounded-full bg-muted"
      >
        <div className={percent >= 90 ? "h-full rounded-full bg-destructive" : "h-full rounded-full bg-primary"} style={{ width: `${percent}%` }} />
      </div>
    </div>
  );
}

function ManageBilling() {
  const { open, busy } = useBillingRedirect("portal");
  return (
    <div className="flex flex-wrap items-center gap-3">
      <Button variant="outline" onClick={() => void open()} disabled={busy} aria-busy={busy}>
        {busy ? <Loader2 className="animate-spin" aria-hidden /> : <ExternalLink aria-hidden />}
        Manage billing
      </Button>
      <p className="text-sm text-muted-foreground">Payment method, invoices and cancelling live in Stripe's portal.</p>
    </div>
  );
}
