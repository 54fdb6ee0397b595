import { useQuery } from "@apollo/client";
import { Link } from "react-router-dom";
import { RunsQuery } from "@/graphql/documents";
import { formatCents, relativeTime } from "@/lib/utils";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { RunStatusBadge } from "./RunStatusBadge";
import { RunRowsSkeleton } from "./RunsSkeleton";
import { plural } from "@/lib/plural";

export default function RunsPage() {
  const { data, loading, fetchMore } = useQuery(RunsQuery, { fetchPolicy: "cache-and-network" });
  const runs = data?.runs.edges.map((e) => e.node) ?? [];
  return (
    <div className="flex flex-col gap-6 p-4 sm:p-6">
      <h1 className="text-2xl font-semibold tracking-tight">Runs</h1>
      <Card className="divide-y">
        {loading && !data
          ? <RunRowsSkeleton />
          : runs.length === 0
            ? <p className="p-6 text-sm text-muted-foreground">No runs yet.</p>
            : runs.map((run) => (
                <Link key={run.id} to={`/workflows/${run.workflowId}`} className="flex h-14 min-w-0 items-center gap-3 px-4 text-sm hover:bg-accent sm:gap-4" data-testid="run-row">
                  <RunStatusBadge status={run.status} />
                  <span className="min-w-0 truncate font-medium">{run.workflow.name}</span>
                  <span className="text-muted-foreground max-sm:hidden">{plural(run.nodeRuns.length, "node")}</span>
                  <span className="ml-auto shrink-0 text-muted-foreground">{formatCents(run.finishedAt ? run.costCents : run.estimatedCostCents)}</span>
                  <span className="w-28 shrink-0 text-right text-muted-foreground max-sm:hidden">{relativeTime(run.createdAt)}</span>
                </Link>
              ))}
      </Card>
      {data?.runs.pageInfo.hasNextPage && (
        <Button variant="outline" onClick={() => void fetchMore({ variables: { after: data.runs.pageInfo.endCursor } })}>Load more</Button>
      )}
    </div>
  );
}
