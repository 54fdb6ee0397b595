import { useState } from "react";
import { useMutation, useQuery } from "@apollo/client";
import { Link, useNavigate } from "react-router-dom";
import { Download, ExternalLink, Pin, Trash2, Wand2 } from "lucide-react";
import { AssetQuery, CreateWorkflowMutation, DeleteAssetMutation, PersistAssetMutation, WorkflowsQuery } from "@/graphql/documents";
import { relativeTime } from "@/lib/utils";
import { useErrorToast } from "@/lib/useErrorToast";
import { useViewer } from "@/lib/useViewer";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { DropdownMenu, DropdownMenuContent, DropdownMenuItem, DropdownMenuTrigger } from "@/components/ui/dropdown-menu";
import { Skeleton } from "@/components/ui/skeleton";
import { AssetPreview } from "./AssetPreview";
import { ConfirmDelete } from "./ConfirmDelete";

/** The catalog's Image node (services/workflows/catalog.py). */
const IMAGE_NODE = "lattice/image";

export function AssetDetail({ assetId, onClose }: { assetId: string | null; onClose: () => void }) {
  const { data, loading } = useQuery(AssetQuery, { variables: { id: assetId ?? "" }, skip: !assetId });
  const asset = data?.asset;
  const showError = useErrorToast();
  const navigate = useNavigate();
  const [persist, persisting] = useMutation(PersistAssetMutation);
  const isFree = useViewer().viewer?.role === "FREE";
  const [remove] = useMutation(DeleteAssetMutation);
  const [create] = useMutation(CreateWorkflowMutation);
  const workflows = useQuery(WorkflowsQuery, { skip: !assetId });
  const [confirming, setConfirming] = useState(false);

  const openWithImage = async (imageId: string, workflowId?: string) => {
    try {
      if (!workflowId) {
        // A new workflow starts from the image: an Image node holding it, ready to wire.
        const image = { id: "n1", modelId: IMAGE_NODE, col: 0, row: 0, params: { image_url: imageId } };
        const created = await create({ variables: { input: { name: "From the gallery", nodes: [image], edges: [] } } });
        const id = created.data?.createWorkflow.id;
        if (id) navigate(`/workflows/${id}`);
        return;
      }
      navigate(`/workflows/${workflowId}?useAsset=${imageId}`);
    } catch (error) {
      showError(error);
    }
  };

  const params = (asset?.params ?? {}) as Record<string, unknown>;
  const imageForInput = asset?.kind === "IMAGE" ? asset : asset?.sourceImage ?? null;
  return (
    <Dialog open={Boolean(assetId)} onOpenChange={(open) => !open && onClose()}>
      <DialogContent className="max-w-4xl">
        <DialogHeader>
          <DialogTitle>{asset?.kind === "VIDEO" ? "Video" : "Image"}</DialogTitle>
          <DialogDescription>{asset ? `${asset.modelId} · ${relativeTime(asset.createdAt)}` : "Loading…"}</DialogDescription>
        </DialogHeader>
        {loading || !asset ? (
          <Skeleton className="aspect-video w-full" />
        ) : (
          <div className="grid gap-6 md:grid-cols-[1fr_280px]">
            <div className="grid place-items-center overflow-hidden rounded-lg bg-muted" style={{ aspectRatio: `${asset.width ?? 16} / ${asset.height ?? 9}` }}>
              <AssetPreview asset={asset} controls className="h-full w-full object-contain" />
            </div>
            <div className="flex flex-col gap-4 text-sm">
              <div className="flex flex-wrap gap-1.5">
                <Badge variant={asset.storage === "PERSISTENT" ? "success" : "secondary"}>{asset.storage === "PERSISTENT" ? "Kept" : "Temporary"}</Badge>
                {asset.width && <Badge variant="outline">{asset.width}×{asset.height}</Badge>}
                {asset.durationSeconds && <Badge variant="outline">{asset.durationSeconds.toFixed(1)} s</Badge>}
              </div>
              {asset.expiresAt && <p className="text-muted-foreground">Expires {relativeTime(asset.expiresAt)} unless you keep it.</p>}
              {typeof params.prompt === "string" && (
                <div><p className="font-medium">Prompt</p><p className="text-muted-foreground">{params.prompt}</p></div>
              )}
              <details>
                <summary className="cursor-pointer font-medium">Parameters</summary>
                <pre className="mt-2 max-h-40 overflow-auto rounded bg-muted p-2 text-xs">{JSON.stringify(params, null, 2)}</pre>
              </details>
              {asset.sourceImage && (
                <div className="flex items-center gap-2">
                  <AssetPreview asset={asset.sourceImage} className="size-12 rounded object-cover" />
                  <span className="text-muted-foreground">Made from this image</span>
                </div>
              )}
              <div className="mt-auto grid gap-2">
                {imageForInput && (
                  <DropdownMenu>
                    <DropdownMenuTrigger asChild>
                      <Button data-testid="use-as-input"><Wand2 /> Use {asset.kind === "VIDEO" ? "its source image" : "as input"}</Button>
                    </DropdownMenuTrigger>
                    <DropdownMenuContent>
                      <DropdownMenuItem onSelect={() => void openWithImage(imageForInput.id)}>In a new workflow</DropdownMenuItem>
                      {workflows.data?.workflows.edges.slice(0, 8).map(({ node }) => (
                        <DropdownMenuItem key={node.id} onSelect={() => void openWithImage(imageForInput.id, node.id)}>In {node.name}</DropdownMenuItem>
                      ))}
                    </DropdownMenuContent>
                  </DropdownMenu>
                )}
                <div className="grid grid-cols-2 gap-2">
                  <Button variant="outline" asChild><a href={asset.url} download target="_blank" rel="noreferrer"><Download /> Download</a></Button>
                  {isFree && asset.storage !== "PERSISTENT" ? (
                    // Keeping outputs is a Pro feature: say so, and how to get it, before any click.
                    <Button variant="outline" asChild title="Keeping outputs for good needs the Pro plan" data-testid="keep-upgrade">
                      <Link to="/billing"><Pin /> Keep <Badge variant="secondary">Pro</Badge></Link>
                    </Button>
                  ) : (
                    <Button variant="outline" disabled={asset.storage === "PERSISTENT" || persisting.loading}
                      onClick={() => void persist({ variables: { id: asset.id } }).catch((e: unknown) => showError(e))}>
                      <Pin /> {asset.storage === "PERSISTENT" ? "Kept" : persisting.loading ? "Keeping…" : "Keep"}
                    </Button>
                  )}
                  {asset.run && (
                    <Button variant="outline" asChild><Link to={`/workflows/${asset.run.workflowId}`}><ExternalLink /> Open the run</Link></Button>
                  )}
                  <Button variant="outline" className="text-destructive" onClick={() => setConfirming(true)} data-testid="asset-delete">
                    <Trash2 /> Delete
                  </Button>
                  <ConfirmDelete count={1} open={confirming} onOpenChange={setConfirming} onConfirm={() => {
                    onClose();
                    void remove({
                      variables: { id: asset.id },
                      optimisticResponse: { deleteAsset: true },
                      update: (cache) => { cache.evict({ id: cache.identify({ __typename: "Asset", id: asset.id }) }); cache.gc(); },
                    }).catch((e: unknown) => showError(e));
                  }} />
                </div>
              </div>
            </div>
          </div>
        )}
      </DialogContent>
    </Dialog>
  );
}
