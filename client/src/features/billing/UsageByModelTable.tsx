import type { BillingQuery } from "@/gql/graphql";
import { formatCents } from "@/lib/utils";

type ModelUsage = NonNullable<BillingQuery["viewer"]>["billing"]["usageByModel"][number];

/** This period's cost per model, most expensive first. */
export function UsageByModelTable({ rows }: { rows: ModelUsage[] }) {
  const sorted = [...rows].sort((a, b) => b.cents - a.cents);
  return (
    <table className="w-full table-fixed text-sm" data-testid="usage-by-model">
      <caption className="sr-only">Usage by model</caption>
      <thead>
        <tr className="border-b text-left text-xs text-muted-foreground">
          <th scope="col" className="py-2 pr-2 font-medium">Model</th>
          <th scope="col" className="w-20 py-2 pr-2 text-right font-medium">Node runs</th>
          <th scope="col" className="w-20 py-2 text-right font-medium">Cost</th>
        </tr>
      </thead>
      <tbody>
        {sorted.map((row) => (
          <tr key={row.modelId} className="border-b last:border-0">
            <th scope="row" className="truncate py-2 pr-2 text-left font-normal" title={row.modelName}>{row.modelName}</th>
            <td className="py-2 pr-2 text-right tabular-nums">{row.nodeRuns}</td>
            <td className="py-2 text-right tabular-nums">{formatCents(row.cents)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
