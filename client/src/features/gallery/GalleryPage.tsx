import { useEffect, useRef, useState } from "react";
import { useQuery } from "@apollo/client";
import { useSearchParams } from "react-router-dom";
import { useVirtualizer } from "@tanstack/react-virtual";
import { Clock, ImageIcon } from "lucide-react";
import { AssetsQuery } from "@/graphql/documents";
import { Badge } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { Tabs, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { AssetPreview } from "./AssetPreview";
import { AssetDetail } from "./AssetDetail";

// Tiles shrink to fit two per row on a phone.
const TILE = 220;
const MIN_TILE = 150;
const GAP = 12;

export default function GalleryPage() {
  const [search, setSearch] = useSearchParams();
  const kind = (search.get("kind") as "IMAGE" | "VIDEO" | null) ?? null;
  const open = search.get("asset");
  const { data, loading, fetchMore } = useQuery(AssetsQuery, { variables: { kind }, fetchPolicy: "cache-and-network" });
  const assets = data?.assets.edges.map((e) => e.node) ?? [];
  const pageInfo = data?.assets.pageInfo;

  const scroller = useRef<HTMLDivElement>(null);
  const [columns, setColumns] = useState(4);
  useEffect(() => {
    const element = scroller.current;
    if (!element) return;
    const observer = new ResizeObserver(([entry]) => {
      const width = entry?.contentRect.width ?? 800;
      setColumns(Math.max(1, Math.floor((width + GAP) / ((width < 2 * TILE + GAP ? MIN_TILE : TILE) + GAP))));
    });
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  const rows = Math.ceil(assets.length / columns);
  // Only the rows in view exist in the DOM, however large the gallery grows.
  const virtualizer = useVirtualizer({ count: rows, getScrollElement: () => scroller.current, estimateSize: () => TILE + GAP, overscan: 3 });
  const items = virtualizer.getVirtualItems();
  const lastRow = items[items.length - 1]?.index ?? 0;
  useEffect(() => {
    if (pageInfo?.hasNextPage && !loading && lastRow >= rows - 2) {
      void fetchMore({ variables: { after: pageInfo.endCursor, kind } });
    }
  }, [lastRow, rows, pageInfo, loading, fetchMore, kind]);

  return (
    <div className="flex h-full flex-col gap-4 p-4 sm:p-6">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-semibold tracking-tight">Gallery</h1>
        <Tabs value={kind ?? "ALL"} onValueChange={(v) => setSearch(v === "ALL" ? {} : { kind: v })}>
          <TabsList>
            <TabsTrigger value="ALL">All</TabsTrigger>
            <TabsTrigger value="IMAGE">Images</TabsTrigger>
            <TabsTrigger value="VIDEO">Videos</TabsTrigger>
          </TabsList>
        </Tabs>
      </div>
      <div ref={scroller} className="min-h-0 flex-1 overflow-auto" data-testid="gallery-grid">
        {loading && !data ? (
          <div className="grid gap-3" style={{ gridTemplateColumns: `repeat(auto-fill, minmax(${MIN_TILE}px, 1fr))` }}>
            {Array.from({ length: 12 }, (_, i) => <Skeleton key={i} style={{ height: TILE }} />)}
          </div>
        ) : assets.length === 0 ? (
          <Card className="flex flex-col items-center gap-2 p-12 text-center">
            <ImageIcon className="size-10 text-muted-foreground" />
            <p className="font-medium">Nothing here yet</p>
            <p className="text-sm text-muted-foreground">Every output of every run lands here.</p>
          </Card>
        ) : (
          <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
            {items.map((row) => (
              <div key={row.key} className="absolute inset-x-0 grid gap-3" style={{ top: row.start, height: TILE, gridTemplateColumns: `repeat(${columns}, minmax(0, 1fr))` }}>
                {assets.slice(row.index * columns, row.index * columns + columns).map((asset) => (
                  <button
                    key={asset.id}
                    onClick={() => setSearch({ ...(kind ? { kind } : {}), asset: asset.id })}
                    className="group relative overflow-hidden rounded-lg border bg-muted text-left hover:ring-2 hover:ring-ring"
                    data-testid={`asset-${asset.kind.toLowerCase()}`}
                  >
                    <AssetPreview asset={asset} className="h-full w-full object-cover" />
                    <div className="absolute inset-x-2 bottom-2 flex gap-1">
                      <Badge variant="secondary">{asset.kind === "VIDEO" ? `Video · ${asset.durationSeconds?.toFixed(1)}s` : "Image"}</Badge>
                      {asset.storage === "TEMPORARY" && <Badge variant="secondary"><Clock /> Temporary</Badge>}
                    </div>
                  </button>
                ))}
              </div>
            ))}
          </div>
        )}
      </div>
      <AssetDetail assetId={open} onClose={() => setSearch(kind ? { kind } : {})} />
    </div>
  );
}
