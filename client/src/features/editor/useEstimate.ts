import { useEffect, useState } from "react";
import { useApolloClient } from "@apollo/client";
import { EstimateQuery } from "@/graphql/documents";
import type { Graph } from "./graph";

export interface Estimate { cents: number; reused: string[] }

/** What running the whole graph would cost, refreshed shortly after each edit: only what
 * will actually run (nodes unchanged since their last output in this workflow are reused). */
export function useEstimate(graph: Graph, workflowId: string, refreshKey?: unknown): Estimate | null {
  const client = useApolloClient();
  const [estimate, setEstimate] = useState<Estimate | null>(null);
  const key = JSON.stringify({ nodes: graph.nodes, edges: graph.edges });
  useEffect(() => {
    let current = true;
    const timer = setTimeout(() => {
      const { nodes, edges } = JSON.parse(key) as Graph;
      client
        .query({ query: EstimateQuery, variables: { input: { name: "estimate", nodes, edges }, workflowId }, fetchPolicy: "network-only" })
        .then((r) => current && setEstimate({ cents: r.data.estimateWorkflow.totalCents, reused: r.data.estimateWorkflow.reusedNodeIds }))
        .catch(() => undefined);
    }, 300);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [client, key, workflowId, refreshKey]);
  return estimate;
}
