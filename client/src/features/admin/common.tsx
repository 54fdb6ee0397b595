import { useApolloClient, type ApolloError } from "@apollo/client";
import { ViewerQuery } from "@/graphql/documents";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { describeError } from "@/lib/errors";
import { TriangleAlert } from "lucide-react";

/** Dollars with cents and a sign when asked: "$12.40", "−$3.00" (the ledger's adjustments). */
export function dollars(cents: number, signed = false): string {
  const text = `$${(Math.abs(cents) / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  if (cents < 0) return `−${text}`;
  return signed && cents > 0 ? `+${text}` : text;
}

/** "12.50" typed by a person → 1250 cents; null when it is not an amount. */
export function parseDollars(text: string): number | null {
  const match = /^\s*([-+−]?)\s*\$?\s*(\d+)(?:\.(\d{1,2}))?\s*$/.exec(text);
  if (!match) return null;
  const cents = Number(match[2]) * 100 + Number((match[3] ?? "").padEnd(2, "0") || 0);
  return match[1] === "-" || match[1] === "−" ? -cents : cents;
}

/** An admin call refused or failed, in words: FORBIDDEN carries the API's reason ("needs MFA"). */
export function AdminError({ error, retry }: { error: unknown; retry?: () => void }) {
  const client = useApolloClient();
  const described = describeError(error);
  const forbidden = described.code === "FORBIDDEN";
  // The session lost its second factor (an aal1 token after a refresh): the viewer says so too,
  // and reading it again turns the console into the code prompt.
  const needsMfa = (error as Partial<ApolloError> | undefined)?.graphQLErrors?.[0]?.extensions?.reason === "needs MFA";
  return (
    <Alert variant="destructive" data-testid="admin-error" data-code={described.code}>
      <TriangleAlert />
      <AlertTitle>{forbidden ? "The admin console refused this" : described.title}</AlertTitle>
      <AlertDescription className="flex flex-wrap items-center justify-between gap-2">
        <span>{forbidden ? `Reason: ${described.message}` : described.message}</span>
        {needsMfa
          ? <Button size="sm" variant="outline" onClick={() => void client.refetchQueries({ include: [ViewerQuery] })}>Verify with your authenticator</Button>
          : retry && described.action?.kind === "retry" && <Button size="sm" variant="outline" onClick={retry}>Retry</Button>}
      </AlertDescription>
    </Alert>
  );
}

export function LoadMore({ hasMore, loading, onMore }: { hasMore: boolean; loading: boolean; onMore: () => void }) {
  if (!hasMore) return null;
  return (
    <div className="flex justify-center p-3">
      <Button variant="outline" size="sm" disabled={loading} onClick={onMore}>{loading ? "Loading…" : "Load more"}</Button>
    </div>
  );
}
