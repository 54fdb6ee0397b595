import { useQuery } from "@apollo/client";
import { ViewerQuery } from "@/graphql/documents";

export function useViewer() {
  const { data, loading } = useQuery(ViewerQuery, { fetchPolicy: "cache-and-network" });
  return { viewer: data?.viewer ?? null, loading };
}
