import { useEffect, useRef, useState } from "react";
import { useApolloClient } from "@apollo/client";
import { AssetQuery } from "@/graphql/documents";

/** URLs of the gallery assets a graph uses as inputs, fetched once per asset for the whole
 * editor (nodes only render what they are given). */
export function useAssetUrls(ids: string[]): Map<string, string> {
  const client = useApolloClient();
  const [urls, setUrls] = useState(() => new Map<string, string>());
  const tried = useRef(new Set<string>());
  const key = ids.slice().sort().join(",");
  useEffect(() => {
    const wanted = key ? key.split(",") : [];
    const missing = wanted.filter((id) => !tried.current.has(id));
    if (!missing.length) return;
    // Marked before the answer comes, so StrictMode's second effect does not fetch again.
    for (const id of missing) tried.current.add(id);
    void Promise.all(missing.map((id) =>
      client.query({ query: AssetQuery, variables: { id } }).then((r) => [id, r.data.asset?.url] as const).catch(() => [id, undefined] as const),
    )).then((found) => {
      if (!found.some(([, url]) => url)) return;
      setUrls((before) => {
        const next = new Map(before);
        for (const [id, url] of found) if (url) next.set(id, url);
        return next;
      });
    });
  }, [client, key]);
  return urls;
}
