import { useId, useState } from "react";
import { useMutation } from "@apollo/client";
import { Loader2 } from "lucide-react";
import { SetSpendingCapMutation } from "@/graphql/documents";
import type { BillingQuery } from "@/gql/graphql";
import { formatCents } from "@/lib/utils";
import { useErrorToast } from "@/lib/useErrorToast";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { dollars, parseCapDollars } from "./spendingCap";

type Viewer = NonNullable<BillingQuery["viewer"]>;

/** Pro's monthly spending cap: the cap in force, how much of it is used, and a form to change
 * it. Saving shows the new cap at once (optimistic) and puts the old one back if refused. */
export function SpendingCapCard({ viewer }: { viewer: Viewer }) {
  const { billing } = viewer;
  const cap = billing.spendingCapCents ?? billing.defaultSpendingCapCents;
  const used = viewer.credits.periodUsageCents;
  const percent = cap > 0 ? Math.min(100, (used / cap) * 100) : 100;
  return (
    <Card data-testid="spending-cap">
      <CardHeader>
        <CardTitle>Spending cap</CardTitle>
        <CardDescription>
          Runs that would pass the cap are refused; raise it any time up to {dollars(billing.maxSpendingCapCents)}.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-5">
        <div className="grid gap-2">
          <div className="flex flex-wrap items-baseline justify-between gap-x-4 gap-y-1 text-sm">
            <span>
              Cap in force: <strong className="tabular-nums" data-testid="cap-in-force">{dollars(cap)}</strong>
              {viewer.spendingCapCents == null && <span className="text-muted-foreground"> (the default)</span>}
            </span>
            <span className="text-muted-foreground tabular-nums">{formatCents(used)} used this month</span>
          </div>
          <div role="progressbar" aria-label="Spending cap used" aria-valuemin={0} aria-valuemax={cap} aria-valuenow={Math.min(used, cap)} className="h-2 overflow-hidden rounded-full bg-muted">
            <div className={percent >= 90 ? "h-full rounded-full bg-destructive" : "h-full rounded-full bg-primary"} style={{ width: `${percent}%` }} />
          </div>
        </div>
        {/* Re-mounted whenever the cap in force changes (a save, or its rollback), so the field shows it. */}
        <CapForm key={cap} cap={cap} viewer={viewer} />
      </CardContent>
    </Card>
  );
}

function CapForm({ cap, viewer }: { cap: number; viewer: Viewer }) {
  const { billing } = viewer;
  const id = useId();
  const showError = useErrorToast();
  const [text, setText] = useState((cap / 100).toFixed(cap % 100 === 0 ? 0 : 2));
  const [error, setError] = useState<string | null>(null);
  const [setCap, { loading }] = useMutation(SetSpendingCapMutation);

  const save = (cents: number | null) => {
    setError(null);
    void setCap({
      variables: { cents },
      optimisticResponse: {
        setSpendingCap: {
          __typename: "Viewer",
          id: viewer.id,
          spendingCapCents: cents,
          billing: { __typename: "Billing", spendingCapCents: cents ?? billing.defaultSpendingCapCents },
        },
      },
    }).catch((e: unknown) => showError(e));
  };

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const parsed = parseCapDollars(text, billing.maxSpendingCapCents);
    if ("error" in parsed) {
      setError(parsed.error);
      return;
    }
    save(parsed.cents);
  };

  return (
    <form onSubmit={submit} noValidate className="grid gap-2">
      <Label htmlFor={id}>Monthly cap (USD)</Label>
      <div className="flex flex-wrap items-start gap-2">
        <div className="relative w-36">
          <span className="pointer-events-none absolute inset-y-0 left-3 flex items-center text-sm text-muted-foreground">$</span>
          <Input
            id={id}
            inputMode="decimal"
            autoComplete="off"
            className="pl-6 tabular-nums"
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              setError(null);
            }}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? `${id}-error` : `${id}-hint`}
          />
        </div>
        <Button type="submit" disabled={loading}>
          {loading && <Loader2 className="animate-spin" aria-hidden />}
          Save
        </Button>
        <Button type="button" variant="ghost" disabled={loading || viewer.spendingCapCents == null} onClick={() => save(null)}>
          Reset to default ({dollars(billing.defaultSpendingCapCents)})
        </Button>
      </div>
      {error ? (
        <p id={`${id}-error`} role="alert" className="text-sm text-destructive">{error}</p>
      ) : (
        <p id={`${id}-hint`} className="text-sm text-muted-foreground">Between $0 and {dollars(billing.maxSpendingCapCents)}. $0 stops all paid runs.</p>
      )}
    </form>
  );
}
