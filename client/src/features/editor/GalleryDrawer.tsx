import { useQuery } from "@apollo/client";
import { AssetsQuery } from "@/graphql/documents";
import { Skeleton } from "@/components/ui/skeleton";
import { cn } from "@/lib/utils";
import { AssetPreview } from "@/features/gallery/AssetPreview";
import { ASSET_MIME } from "./ModelNode";

/** Recent gallery images to drag onto a node's image input (or click to use). */
export function GalleryDrawer({ highlight, onPick }: { highlight?: string | null; onPick: (assetId: string) => void }) {
  const { data, loading } = useQuery(AssetsQuery, { variables: { kind: "IMAGE" }, fetchPolicy: "cache-and-network" });
  const assets = data?.assets.edges.map((e) => e.node) ?? [];
  return (
    <div className="flex flex-col gap-2">
      <p className="text-xs text-muted-foreground">Drag an image onto a node's image input, or click it to use it in the selected node.</p>
      <div className="grid grid-cols-2 gap-2">
        {loading && !data
          ? Array.from({ length: 6 }, (_, i) => <Skeleton key={i} className="aspect-square" />)
          : assets.map((asset) => (
              <button
                key={asset.id}
                draggable
                data-testid={`drawer-asset-${asset.id}`}
                onDragStart={(e) => {
                  e.dataTransfer.setData(ASSET_MIME, asset.id);
                  e.dataTransfer.effectAllowed = "copy";
                }}
                onClick={() => onPick(asset.id)}
                className={cn("aspect-square overflow-hidden rounded-md border hover:ring-2 hover:ring-ring", highlight === asset.id && "ring-2 ring-primary")}
                aria-label="Use this image"
              >
                <AssetPreview asset={asset} className="h-full w-full object-cover" />
              </button>
            ))}
      </div>
      {!loading && assets.length === 0 && <p className="text-sm text-muted-foreground">No images yet: run a FLUX node first.</p>}
    </div>
  );
}
