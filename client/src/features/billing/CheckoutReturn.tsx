import { useEffect, useRef, useState } from "react";
import { useApolloClient, useQuery } from "@apollo/client";
import { CircleCheck, Info, Loader2, X } from "lucide-react";
import { ViewerQuery } from "@/graphql/documents";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";

export type CheckoutOutcome = "success" | "cancelled";

/** Back from Stripe Checkout. After a payment, Stripe tells the API by webhook, which can take
 * a moment: poll the viewer until the role says Pro, then refresh the page's billing data
 * (the sidebar reads the same cached viewer, so it turns Pro at the same time). */
export function CheckoutReturn({ outcome, onDismiss, onUpgraded, pollMs = 1000, slowPollMs = 5000, timeoutMs = 60_000 }: {
  outcome: CheckoutOutcome;
  onDismiss: () => void;
  /** Called once the viewer is Pro: the page reloads its billing data. */
  onUpgraded?: () => void;
  pollMs?: number;
  slowPollMs?: number;
  timeoutMs?: number;
}) {
  if (outcome === "cancelled") {
    return (
      <Alert data-testid="checkout-return" className="pr-10">
        <Info aria-hidden />
        <AlertTitle>Checkout was cancelled; you're still on Free.</AlertTitle>
        <AlertDescription>Nothing was charged. You can upgrade whenever you like.</AlertDescription>
        <Dismiss onClick={onDismiss} />
      </Alert>
    );
  }
  return <WaitForPro onDismiss={onDismiss} onUpgraded={onUpgraded} pollMs={pollMs} slowPollMs={slowPollMs} timeoutMs={timeoutMs} />;
}

function WaitForPro({ onDismiss, onUpgraded, pollMs, slowPollMs, timeoutMs }: {
  onDismiss: () => void;
  onUpgraded?: () => void;
  pollMs: number;
  slowPollMs: number;
  timeoutMs: number;
}) {
  const client = useApolloClient();
  const [timedOut, setTimedOut] = useState(false);
  const { data } = useQuery(ViewerQuery, { fetchPolicy: "network-only", nextFetchPolicy: "network-only" });
  const upgraded = data?.viewer != null && data.viewer.role !== "FREE";

  // Ask again every second until Pro; after a minute, keep asking, only less often.
  useEffect(() => {
    if (upgraded) return;
    const timer = setInterval(() => {
      void client.query({ query: ViewerQuery, fetchPolicy: "network-only" }).catch(() => undefined);
    }, timedOut ? slowPollMs : pollMs);
    return () => clearInterval(timer);
  }, [client, upgraded, timedOut, pollMs, slowPollMs]);

  useEffect(() => {
    if (upgraded) return;
    const timer = setTimeout(() => setTimedOut(true), timeoutMs);
    return () => clearTimeout(timer);
  }, [upgraded, timeoutMs]);

  // Pro now: the plan's cap and usage are worth loading afresh (once).
  const notify = useRef(onUpgraded);
  notify.current = onUpgraded;
  useEffect(() => {
    if (upgraded) notify.current?.();
  }, [upgraded]);

  if (upgraded) {
    return (
      <Alert variant="success" data-testid="checkout-return" data-state="upgraded" className="pr-10">
        <CircleCheck aria-hidden />
        <AlertTitle>You're on Pro</AlertTitle>
        <AlertDescription>Every model, your LoRAs and kept assets are yours. Thanks for upgrading!</AlertDescription>
        <Dismiss onClick={onDismiss} />
      </Alert>
    );
  }
  return (
    <Alert data-testid="checkout-return" data-state={timedOut ? "slow" : "waiting"}>
      <Loader2 className="animate-spin" aria-hidden />
      <AlertTitle>Finishing your upgrade…</AlertTitle>
      <AlertDescription>
        {timedOut
          ? "This is taking longer than usual — we'll update this page when Stripe confirms."
          : "Your payment went through; we're waiting for Stripe to confirm it."}
      </AlertDescription>
    </Alert>
  );
}

function Dismiss({ onClick }: { onClick: () => void }) {
  return (
    <Button variant="ghost" size="icon" className="absolute top-1.5 right-1.5 size-7" onClick={onClick} aria-label="Dismiss">
      <X />
    </Button>
  );
}
