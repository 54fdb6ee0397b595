import { formatCents } from "@/lib/utils";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";

/** The rules, in words: what is charged, and what cancelling a run costs. */
export function HowBillingWorks({ freeAllowanceCents }: { freeAllowanceCents: number }) {
  return (
    <Card data-testid="how-billing-works">
      <CardHeader>
        <CardTitle>How billing works</CardTitle>
      </CardHeader>
      <CardContent className="grid gap-3 text-sm leading-relaxed text-muted-foreground">
        <p>
          <strong className="font-medium text-foreground">Free:</strong> {formatCents(freeAllowanceCents)}/month of generation, outputs kept 7 days.
        </p>
        <p>
          <strong className="font-medium text-foreground">Pro:</strong> Usage is billed per cent of generation cost, monthly, and never past the
          spending cap you set.
        </p>
        <p>
          <strong className="font-medium text-foreground">Cancelling:</strong> If you cancel a run, nodes that never left fal's queue are free; a
          node fal had already started is charged at its estimate (fal bills it); a node that had already finished keeps its output and is charged.
        </p>
      </CardContent>
    </Card>
  );
}
