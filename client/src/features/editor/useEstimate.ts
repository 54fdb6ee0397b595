import { useEffect, useState } from "react";
import { useApolloClient } from "@apollo/client";
import { EstimateQuery } from "@/graphql/documents";
import type { Graph } from "./graph";

/** What running the whole graph would cost, refreshed shortly after each edit. */
export function useEstimate(graph: Graph): number | null {
  const client = useApolloClient();
  const [cents, setCents] = useState<number | null>(null);
  const key = JSON.stringify({ nodes: graph.nodes, edges: graph.edges });
  useEffect(() => {
    let current = true;
    const timer = setTimeout(() => {
      const { nodes, edges } = JSON.parse(key) as Graph;
      client
        .query({ query: EstimateQuery, variables: { input: { name: "estimate", nodes, edges } }, fetchPolicy: "network-only" })
        .then((r) => current && setCents(r.data.estimateWorkflow.totalCents))
        .catch(() => undefined);
    }, 300);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [client, key]);
  return cents;
}
