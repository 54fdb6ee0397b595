import { useEffect, useMemo, useRef, useState } from "react";
import { useApolloClient, useMutation, useQuery } from "@apollo/client";
import { Link, useSearchParams } from "react-router-dom";
import { useVirtualizer } from "@tanstack/react-virtual";
import { CheckCircle2, Circle, Clock, ImageIcon, ListChecks, Pin, Search, Trash2, X } from "lucide-react";
import { AssetsQuery, DeleteAssetsMutation, ModelsQuery, PersistAssetMutation } from "@/graphql/documents";
import { plural } from "@/lib/plural";
import { cn } from "@/lib/utils";
import { useErrorToast } from "@/lib/useErrorToast";
import { useViewer } from "@/lib/useViewer";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Select } from "@/components/ui/select";
import { Tabs, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { toast } from "@/components/ui/toast";
import { AssetPreview } from "./AssetPreview";
import { AssetDetail } from "./AssetDetail";
import { ConfirmDelete } from "./ConfirmDelete";
import { GalleryTilesSkeleton } from "./GallerySkeleton";

// Tiles shrink to fit two per row on a phone.
const TILE = 220;
const MIN_TILE = 150;
const GAP = 12;
const DAY_MS = 86_400_000;
const PERIODS = [
  { value: "any", label: "Any time" },
  { value: "1", label: "Today" },
  { value: "7", label: "Past 7 days" },
  { value: "30", label: "Past 30 days" },
];

/** The start of the chosen period, fixed when it is chosen (so the query stays the same). */
function since(days: string | null): string | null {
  if (!days || days === "any") return null;
  const start = new Date();
  start.setHours(0, 0, 0, 0);
  return new Date(start.getTime() - (Number(days) - 1) * DAY_MS).toISOString();
}

export default function GalleryPage() {
  const [params, setParams] = useSearchParams();
  const kind = (params.get("kind") as "IMAGE" | "VIDEO" | null) ?? null;
  const modelId = params.get("model");
  const period = params.get("since") ?? "any";
  const query = params.get("q") ?? "";
  const open = params.get("asset");
  // Typing updates the box at once and the query shortly after.
  const [typed, setTyped] = useState(query);
  // From the newest parameters, not this render's: the search box's delayed update must not
  // undo a filter picked meanwhile.
  const update = (change: Record<string, string | null>, replace = false) => {
    setParams((current) => {
      const next = new URLSearchParams(current);
      for (const [key, value] of Object.entries(change)) {
        if (value === null || value === "" || value === "any") next.delete(key);
        else next.set(key, value);
      }
      return next;
    }, { replace });
  };
  useEffect(() => {
    if (typed === query) return;
    const timer = setTimeout(() => update({ q: typed.trim() || null }, true), 300);
    return () => clearTimeout(timer);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [typed]);

  const createdAfter = useMemo(() => since(period), [period]);
  const variables = { kind, search: query || null, modelId, createdAfter };
  const { data, loading, fetchMore } = useQuery(AssetsQuery, { variables, fetchPolicy: "cache-and-network" });
  const models = useQuery(ModelsQuery);
  const assets = data?.assets.edges.map((e) => e.node) ?? [];
  const pageInfo = data?.assets.pageInfo;
  const filtered = Boolean(query || modelId || createdAfter);

  const [selecting, setSelecting] = useState(false);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [confirming, setConfirming] = useState(false);
  const toggle = (id: string) => setSelected((s) => {
    const next = new Set(s);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    return next;
  });
  const stopSelecting = () => {
    setSelecting(false);
    setSelected(new Set());
  };

  const [remove] = useMutation(DeleteAssetsMutation);
  const showError = useErrorToast();
  const deleteSelected = async () => {
    const ids = [...selected];
    stopSelecting();
    await remove({
      variables: { ids },
      optimisticResponse: { deleteAssets: ids },
      update: (cache, { data: result }) => {
        for (const id of result?.deleteAssets ?? []) cache.evict({ id: cache.identify({ __typename: "Asset", id }) });
        cache.gc();
      },
    }).then(() => toast({ title: `${plural(ids.length, "item")} deleted` }))
      .catch((error: unknown) => showError(error));
  };

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
      void fetchMore({ variables: { ...variables, after: pageInfo.endCursor } });
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [lastRow, rows, pageInfo, loading, fetchMore]);

  const modelOptions = [
    { value: "any", label: "All models" },
    ...(models.data?.models ?? []).filter((m) => !m.utility).map((m) => ({ value: m.id, label: m.name })),
  ];

  return (
    <div className="flex h-full flex-col gap-4 p-4 sm:p-6">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-semibold tracking-tight">Gallery</h1>
        <div className="flex flex-wrap items-center gap-2">
          <Tabs value={kind ?? "ALL"} onValueChange={(v) => update({ kind: v === "ALL" ? null : v })}>
            <TabsList>
              <TabsTrigger value="ALL">All</TabsTrigger>
              <TabsTrigger value="IMAGE">Images</TabsTrigger>
              <TabsTrigger value="VIDEO">Videos</TabsTrigger>
            </TabsList>
          </Tabs>
          <Button variant={selecting ? "secondary" : "outline"} onClick={() => (selecting ? stopSelecting() : setSelecting(true))}
            aria-pressed={selecting} data-testid="gallery-select">
            <ListChecks /> {selecting ? "Done" : "Select"}
          </Button>
        </div>
      </div>
      <div className="flex flex-wrap gap-2" role="search">
        <div className="relative w-full sm:w-64">
          <Search className="absolute left-2.5 top-2.5 size-4 text-muted-foreground" />
          <Input placeholder="Search prompts" aria-label="Search prompts" className="pl-8" value={typed} onChange={(e) => setTyped(e.target.value)}
            data-testid="gallery-search" />
        </div>
        <div className="w-[calc(50%-0.25rem)] sm:w-56">
          <Select aria-label="Model" value={modelId ?? "any"} onValueChange={(v) => update({ model: v })} options={modelOptions} />
        </div>
        <div className="w-[calc(50%-0.25rem)] sm:w-40">
          <Select aria-label="When" value={period} onValueChange={(v) => update({ since: v })} options={PERIODS} />
        </div>
        {filtered && (
          <Button variant="ghost" onClick={() => { setTyped(""); update({ q: null, model: null, since: null }); }}><X /> Clear filters</Button>
        )}
      </div>
      {selecting && (
        <SelectionBar
          count={selected.size}
          ids={[...selected]}
          temporary={assets.filter((a) => selected.has(a.id) && a.storage === "TEMPORARY").map((a) => a.id)}
          onSelectAll={() => setSelected(new Set(assets.map((a) => a.id)))}
          onDelete={() => setConfirming(true)}
          onDone={stopSelecting}
        />
      )}
      <div ref={scroller} className="min-h-0 flex-1 overflow-auto" data-testid="gallery-grid">
        {loading && !data ? (
          <GalleryTilesSkeleton />
        ) : assets.length === 0 ? (
          <Card className="flex flex-col items-center gap-2 p-12 text-center">
            <ImageIcon className="size-10 text-muted-foreground" />
            <p className="font-medium">{filtered ? "Nothing matches" : "Nothing here yet"}</p>
            <p className="text-sm text-muted-foreground">{filtered ? "Try other words, another model or a longer period." : "Every output of every run lands here."}</p>
          </Card>
        ) : (
          <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
            {items.map((row) => (
              <div key={row.key} className="absolute inset-x-0 grid gap-3" style={{ top: row.start, height: TILE, gridTemplateColumns: `repeat(${columns}, minmax(0, 1fr))` }}>
                {assets.slice(row.index * columns, row.index * columns + columns).map((asset) => {
                  const checked = selected.has(asset.id);
                  return (
                    <button
                      key={asset.id}
                      onClick={() => (selecting ? toggle(asset.id) : update({ asset: asset.id }))}
                      className={cn("group relative overflow-hidden rounded-lg border bg-muted text-left hover:ring-2 hover:ring-ring", checked && "ring-2 ring-primary")}
                      data-testid={`asset-${asset.kind.toLowerCase()}`}
                      aria-pressed={selecting ? checked : undefined}
                      title={typeof (asset.params as { prompt?: unknown } | null)?.prompt === "string" ? String((asset.params as { prompt: string }).prompt) : undefined}
                    >
                      <AssetPreview asset={asset} className="h-full w-full object-cover" />
                      {selecting && (
                        <span className="absolute left-2 top-2 rounded-full bg-background/80 text-primary" aria-hidden>
                          {checked ? <CheckCircle2 className="size-5" /> : <Circle className="size-5 text-muted-foreground" />}
                        </span>
                      )}
                      <div className="absolute inset-x-2 bottom-2 flex gap-1">
                        <Badge variant="secondary">{asset.kind === "VIDEO" ? `Video · ${asset.durationSeconds?.toFixed(1)}s` : "Image"}</Badge>
                        {asset.storage === "TEMPORARY" && <Badge variant="secondary"><Clock /> Temporary</Badge>}
                      </div>
                    </button>
                  );
                })}
              </div>
            ))}
          </div>
        )}
      </div>
      <ConfirmDelete count={selected.size} open={confirming} onOpenChange={setConfirming} onConfirm={() => void deleteSelected()} />
      <AssetDetail assetId={open} onClose={() => update({ asset: null })} />
    </div>
  );
}

/** What can be done with the selected tiles: keep them for good (Pro) or delete them. */
function SelectionBar({ count, ids, temporary, onSelectAll, onDelete, onDone }: {
  count: number;
  ids: string[];
  temporary: string[];
  onSelectAll: () => void;
  onDelete: () => void;
  onDone: () => void;
}) {
  const isFree = useViewer().viewer?.role === "FREE";
  const client = useApolloClient();
  const showError = useErrorToast();
  const [keeping, setKeeping] = useState(false);
  const keep = async () => {
    setKeeping(true);
    try {
      // One at a time: each copies a file into storage, and a failure names its item.
      for (const id of temporary) await client.mutate({ mutation: PersistAssetMutation, variables: { id } });
      toast({ title: `${plural(temporary.length, "item")} kept`, description: "They no longer expire." });
      onDone();
    } catch (error) {
      showError(error);
    } finally {
      setKeeping(false);
    }
  };
  return (
    <div className="flex flex-wrap items-center gap-2 rounded-lg border bg-muted/50 px-3 py-2 text-sm" data-testid="selection-bar">
      <span className="font-medium" data-testid="selection-count">{count === 0 ? "Click items to select them" : `${plural(count, "item")} selected`}</span>
      <Button variant="ghost" size="sm" onClick={onSelectAll}>Select all shown</Button>
      <div className="ml-auto flex gap-2">
        {isFree ? (
          <Button variant="outline" size="sm" asChild title="Keeping outputs for good needs the Pro plan">
            <Link to="/billing"><Pin /> Keep <Badge variant="secondary">Pro</Badge></Link>
          </Button>
        ) : (
          <Button variant="outline" size="sm" disabled={temporary.length === 0 || keeping} onClick={() => void keep()} data-testid="keep-selected">
            <Pin /> {keeping ? "Keeping…" : `Keep${temporary.length ? ` ${temporary.length}` : ""}`}
          </Button>
        )}
        <Button variant="outline" size="sm" className="text-destructive" disabled={ids.length === 0} onClick={onDelete} data-testid="delete-selected">
          <Trash2 /> Delete
        </Button>
      </div>
    </div>
  );
}
