import { useState } from "react";
import { useMutation, useQuery } from "@apollo/client";
import { AdminOverviewDocument, AdminSetDailySpendLimitDocument, AdminSetModelEnabledDocument, type AdminOverviewQuery } from "@/gql/lazy/graphql";
import { describeError } from "@/lib/errors";
import { useErrorToast } from "@/lib/useErrorToast";
import { cn, formatDate } from "@/lib/utils";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";
import { AdminError, dollars, parseDollars } from "./common";

const DAYS = 30;
type Overview = AdminOverviewQuery["admin"];

export function OverviewPage() {
  const { data, error, loading, refetch } = useQuery(AdminOverviewDocument, { variables: { days: DAYS } });
  if (error && !data) return <AdminError error={error} retry={() => void refetch()} />;
  const admin = data?.admin;
  return (
    <div className="grid min-w-0 gap-4">
      <Card>
        <CardHeader>
          <CardTitle>Platform usage, last {DAYS} days</CardTitle>
          <CardDescription>What fal charged us against what users were charged, per day.</CardDescription>
        </CardHeader>
        <CardContent>{!admin || loading ? <Skeleton className="h-44" /> : <SpendChart days={admin.usageByDay} />}</CardContent>
      </Card>
      <div className="grid min-w-0 gap-4 lg:grid-cols-2 lg:items-start">
        <Card className="min-w-0">
          <CardHeader><CardTitle>By model</CardTitle></CardHeader>
          <CardContent>{admin ? <ModelUsageTable rows={admin.usageByModel} /> : <RowsSkeleton />}</CardContent>
        </Card>
        <div className="grid min-w-0 content-start gap-4">
          {admin ? <DailyLimitCard platform={admin.platform} /> : <Skeleton className="h-40" />}
          <Card className="min-w-0">
            <CardHeader>
              <CardTitle>Models</CardTitle>
              <CardDescription>A disabled model is refused for everyone, at run start and in the palette.</CardDescription>
            </CardHeader>
            <CardContent>{admin ? <ModelSwitches models={admin.models} /> : <RowsSkeleton />}</CardContent>
          </Card>
        </div>
      </div>
    </div>
  );
}

function RowsSkeleton() {
  return <div className="grid gap-2">{Array.from({ length: 4 }, (_, i) => <Skeleton key={i} className="h-7" />)}</div>;
}

/** Two bars a day, fal's cost and our charges, scaled to the biggest; each says its numbers. */
function SpendChart({ days }: { days: Overview["usageByDay"] }) {
  const max = Math.max(1, ...days.flatMap((d) => [d.falSpendCents, d.chargedCents]));
  const totals = days.reduce((t, d) => ({ fal: t.fal + d.falSpendCents, charged: t.charged + d.chargedCents, runs: t.runs + d.runs }), { fal: 0, charged: 0, runs: 0 });
  const label = (d: Overview["usageByDay"][number]) =>
    `${formatDate(d.day, { day: "numeric", month: "short" })}: fal ${dollars(d.falSpendCents)}, charged ${dollars(d.chargedCents)}, ${d.runs} runs`;
  return (
    <figure className="grid gap-3">
      <dl className="grid grid-cols-2 gap-2 text-sm sm:grid-cols-4" data-testid="platform-totals">
        <div><dt className="text-muted-foreground">fal spend</dt><dd className="text-lg font-semibold tabular-nums">{dollars(totals.fal)}</dd></div>
        <div><dt className="text-muted-foreground">Charged</dt><dd className="text-lg font-semibold tabular-nums">{dollars(totals.charged)}</dd></div>
        <div><dt className="text-muted-foreground">Margin</dt><dd className={cn("text-lg font-semibold tabular-nums", totals.charged < totals.fal && "text-destructive")}>{dollars(totals.charged - totals.fal, true)}</dd></div>
        <div><dt className="text-muted-foreground">Runs</dt><dd className="text-lg font-semibold tabular-nums">{totals.runs}</dd></div>
      </dl>
      <div role="list" aria-label="Spend by day" className="flex h-32 items-end gap-px border-b sm:gap-0.5" data-testid="platform-chart">
        {days.map((d) => (
          <div key={d.day} role="listitem" aria-label={label(d)} title={label(d)} className="flex h-full min-w-0 flex-1 items-end gap-px">
            {[[d.falSpendCents, "bg-amber-500/80"], [d.chargedCents, "bg-primary/80"]].map(([cents, color], i) => (
              <div key={i} className={cn("w-full rounded-t-sm", Number(cents) > 0 ? color : "bg-muted")}
                style={{ height: Number(cents) > 0 ? `${Math.max(3, (Number(cents) / max) * 100)}%` : "2px" }} />
            ))}
          </div>
        ))}
      </div>
      <figcaption className="flex flex-wrap items-center justify-between gap-2 text-xs text-muted-foreground">
        <span className="flex items-center gap-3">
          <span className="flex items-center gap-1"><span className="size-2.5 rounded-sm bg-amber-500/80" /> fal spend</span>
          <span className="flex items-center gap-1"><span className="size-2.5 rounded-sm bg-primary/80" /> charged</span>
        </span>
        <span className="tabular-nums">{days[0] && formatDate(days[0].day, { day: "numeric", month: "short" })} – {days.at(-1) && formatDate(days.at(-1)!.day, { day: "numeric", month: "short" })}</span>
      </figcaption>
    </figure>
  );
}

function ModelUsageTable({ rows }: { rows: Overview["usageByModel"] }) {
  if (rows.length === 0) return <p className="text-sm text-muted-foreground">No model was run in this period.</p>;
  const sorted = [...rows].sort((a, b) => b.falSpendCents - a.falSpendCents);
  return (
    <table className="w-full table-fixed text-sm" data-testid="platform-by-model">
      <caption className="sr-only">Usage by model</caption>
      <thead>
        <tr className="border-b text-left text-xs text-muted-foreground">
          <th scope="col" className="py-2 pr-2 font-medium">Model</th>
          <th scope="col" className="w-14 py-2 pr-2 text-right font-medium">Nodes</th>
          <th scope="col" className="w-20 py-2 pr-2 text-right font-medium">fal</th>
          <th scope="col" className="w-20 py-2 text-right font-medium">Charged</th>
        </tr>
      </thead>
      <tbody>
        {sorted.map((row) => (
          <tr key={row.modelId} className="border-b last:border-0">
            <th scope="row" className="truncate py-2 pr-2 text-left font-normal" title={row.title}>{row.title}</th>
            <td className="py-2 pr-2 text-right tabular-nums">{row.nodes}</td>
            <td className="py-2 pr-2 text-right tabular-nums">{dollars(row.falSpendCents)}</td>
            <td className="py-2 text-right tabular-nums">{dollars(row.chargedCents)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ModelSwitches({ models }: { models: Overview["models"] }) {
  const showError = useErrorToast();
  const [setEnabled] = useMutation(AdminSetModelEnabledDocument);
  return (
    <ul className="grid gap-1" data-testid="admin-models">
      {models.map((model) => (
        <li key={model.id} className="flex items-center justify-between gap-3 py-1 text-sm">
          <label htmlFor={`model-${model.id}`} className={cn("min-w-0 truncate", !model.enabled && "text-muted-foreground line-through")} title={model.id}>{model.title}</label>
          <input
            id={`model-${model.id}`}
            type="checkbox"
            role="switch"
            className="size-4 shrink-0 accent-primary"
            checked={model.enabled}
            onChange={(e) => {
              const enabled = e.target.checked;
              // Optimistic: the switch moves at once and moves back if the API refuses.
              setEnabled({
                variables: { modelId: model.id, enabled },
                optimisticResponse: { adminSetModelEnabled: { __typename: "AdminModel", id: model.id, title: model.title, enabled } },
              }).catch(showError);
            }}
          />
        </li>
      ))}
    </ul>
  );
}

function DailyLimitCard({ platform }: { platform: Overview["platform"] }) {
  const [value, setValue] = useState((platform.dailySpendLimitCents / 100).toFixed(2));
  const [error, setError] = useState<string | null>(null);
  const showError = useErrorToast();
  const [save, { loading }] = useMutation(AdminSetDailySpendLimitDocument, {
    update(cache, { data }) {
      if (!data) return;
      cache.updateQuery({ query: AdminOverviewDocument, variables: { days: DAYS } }, (current) =>
        current && { admin: { ...current.admin, platform: { ...current.admin.platform, ...data.adminSetDailySpendLimit } } });
    },
  });
  const used = platform.dailySpendLimitCents > 0 ? Math.min(100, (platform.todaySpendCents / platform.dailySpendLimitCents) * 100) : 100;
  return (
    <Card>
      <CardHeader>
        <CardTitle>Daily spend limit</CardTitle>
        <CardDescription>Runs are refused for everyone once the platform's fal spend today reaches it.</CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        <div className="grid gap-1 text-sm" data-testid="daily-limit">
          <div className="flex justify-between tabular-nums"><span>Today {dollars(platform.todaySpendCents)}</span><span className="text-muted-foreground">of {dollars(platform.dailySpendLimitCents)}</span></div>
          <div className="h-2 overflow-hidden rounded-full bg-muted"><div className={cn("h-full", used >= 90 ? "bg-destructive" : "bg-primary")} style={{ width: `${used}%` }} /></div>
        </div>
        <form
          className="flex flex-wrap items-end gap-2"
          onSubmit={async (event) => {
            event.preventDefault();
            setError(null);
            const cents = parseDollars(value);
            if (cents === null || cents < 0) return setError("Type an amount in dollars, like 500 or 499.99.");
            try {
              await save({ variables: { limitCents: cents } });
            } catch (err) {
              const described = describeError(err);
              if (described.code === "VALIDATION_ERROR") setError(described.message);
              else showError(err);
            }
          }}
        >
          <div className="grid gap-1.5">
            <Label htmlFor="daily-limit">Limit (USD)</Label>
            <Input id="daily-limit" inputMode="decimal" className="w-36" value={value} onChange={(e) => setValue(e.target.value)} />
          </div>
          <Button type="submit" variant="outline" disabled={loading}>{loading ? "Saving…" : "Save limit"}</Button>
        </form>
        <p className="min-h-5 text-sm text-destructive" role="alert">{error}</p>
      </CardContent>
    </Card>
  );
}
