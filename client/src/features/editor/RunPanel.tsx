import { Ban } from "lucide-react";
import type { RunFieldsFragment } from "@/gql/graphql";
import { formatCents } from "@/lib/utils";
import { Button } from "@/components/ui/button";
import { RunStatusBadge } from "@/features/runs/RunStatusBadge";
import { OPEN_NODE } from "./useRun";

type NodeRun = RunFieldsFragment["nodeRuns"][number];

/** What a node's box says: its error, its last log lines, or why there are none. */
function nodeNote(node: NodeRun): string {
  if (node.status === "CACHED") return "Unchanged since its last run: that output is reused, free.";
  if (node.modelId.startsWith("lattice/")) return "Free, done at once.";
  if (node.error) return node.error;
  if (node.logs.length) return node.logs.slice(-4).join("\n");
  // A quick node can finish at fal before its logs were read: fal's result carries none.
  return OPEN_NODE.includes(node.status) ? "No logs yet" : "No logs";
}

/** The current run: every node with its state and latest logs, and what it cost. */
export function RunPanel({ run, onCancel, nodeName }: { run: RunFieldsFragment; onCancel: () => void; nodeName: (nodeId: string) => string }) {
  const active = run.status === "QUEUED" || run.status === "RUNNING";
  return (
    <section className="flex h-full flex-col border-t bg-card" aria-label="Run">
      <div className="flex items-center gap-3 border-b px-4 py-2 text-sm">
        <span className="font-medium">Run</span>
        <RunStatusBadge status={run.status} />
        <span className="text-muted-foreground" data-testid="run-cost">
          {active ? `estimated ${formatCents(run.estimatedCostCents)}` : `cost ${formatCents(run.costCents)}`}
        </span>
        {active && (
          <Button size="sm" variant="outline" className="ml-auto" onClick={onCancel}><Ban /> Cancel</Button>
        )}
      </div>
      <ul className="grid flex-1 auto-rows-min grid-cols-[repeat(auto-fill,minmax(280px,1fr))] gap-2 overflow-auto p-3">
        {run.nodeRuns.map((node) => (
          <li key={node.id} className="flex flex-col gap-1 rounded-md border p-2 text-xs">
            <div className="flex items-center gap-2">
              <span className="font-medium">{nodeName(node.nodeId)}</span>
              <span className="font-mono text-muted-foreground">{node.nodeId}</span>
              <span className="ml-auto"><RunStatusBadge status={node.status} /></span>
            </div>
            <pre className="h-[4.5rem] overflow-auto whitespace-pre-wrap rounded bg-muted/60 p-1.5 font-mono text-[10px] leading-[14px] text-muted-foreground">
              {nodeNote(node)}
            </pre>
          </li>
        ))}
      </ul>
    </section>
  );
}
