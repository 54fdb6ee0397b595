import { BarChart3 } from "lucide-react";
import type { BillingQuery } from "@/gql/graphql";
import { formatCents, formatDate } from "@/lib/utils";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { fillDays, utcToday } from "./usage";
import { UsageChart } from "./UsageChart";
import { UsageByModelTable } from "./UsageByModelTable";

type Billing = NonNullable<BillingQuery["viewer"]>["billing"];

/** This period's usage: a bar per day, the total, and the cost per model. */
export function UsageCard({ billing, now }: { billing: Billing; now?: Date }) {
  const today = utcToday(now);
  const days = fillDays(billing.usagePeriodStart, today, billing.usageByDay);
  const total = days.reduce((sum, d) => sum + d.cents, 0);
  const empty = total === 0 && billing.usageByModel.length === 0;
  return (
    <Card data-testid="usage-card">
      <CardHeader>
        <div className="flex flex-wrap items-baseline justify-between gap-x-4 gap-y-1">
          <CardTitle>Usage this period</CardTitle>
          <p className="text-2xl font-semibold tabular-nums" data-testid="usage-total">{formatCents(total)}</p>
        </div>
        <CardDescription>Since {formatDate(billing.usagePeriodStart)} (periods are calendar months, UTC).</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-5">
        {empty ? (
          <div className="grid h-32 place-items-center rounded-lg border border-dashed text-center text-sm text-muted-foreground" data-testid="usage-empty">
            <div className="grid justify-items-center gap-2 px-4">
              <BarChart3 className="size-5" aria-hidden />
              No usage yet this period. What your runs cost shows up here, day by day.
            </div>
          </div>
        ) : (
          <>
            <UsageChart days={days} today={today} />
            <UsageByModelTable rows={billing.usageByModel} />
          </>
        )}
      </CardContent>
    </Card>
  );
}
