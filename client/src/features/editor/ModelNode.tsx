import { memo, useState } from "react";
import { Handle, Position, type NodeProps, type Node } from "@xyflow/react";
import { useQuery } from "@apollo/client";
import { Play } from "lucide-react";
import { AssetQuery } from "@/graphql/documents";
import { cn } from "@/lib/utils";
import { Skeleton } from "@/components/ui/skeleton";
import { Tooltip } from "@/components/ui/tooltip";
import { RunStatusBadge } from "@/features/runs/RunStatusBadge";
import { AssetPreview } from "@/features/gallery/AssetPreview";
import type { ModelInfo } from "./graph";

export interface NodeOutput { id: string; kind: string; url: string; width?: number | null; height?: number | null }
export interface NodeRunView {
  status: string;
  queuePosition?: number | null;
  progress?: number | null;
  lastLog?: string | null;
  error?: string | null;
  outputs: NodeOutput[];
}

export type ModelNodeData = {
  model: ModelInfo | undefined;
  /** Gallery asset ids given as image inputs (not wired), by port. */
  imageInputs: Record<string, string>;
  run: NodeRunView | undefined;
  problem: string | undefined;
  onRunThis: (nodeId: string) => void;
  onDropAsset: (nodeId: string, assetId: string) => void;
};
export type ModelFlowNode = Node<ModelNodeData, "model">;

export const ASSET_MIME = "application/x-lattice-asset";
const PORT_COLORS: Record<string, string> = { TEXT: "#a855f7", IMAGE: "#0ea5e9", VIDEO: "#f97316", LORA: "#22c55e", NUMBER: "#64748b" };

/** A node on the grid: its model, its ports, and its live state in the current run. */
export const ModelNode = memo(function ModelNode({ id, data, selected }: NodeProps<ModelFlowNode>) {
  const { model, run, problem } = data;
  const [dropping, setDropping] = useState(false);
  const acceptsImage = model?.inputs.some((p) => p.type === "IMAGE") ?? false;
  const active = run && ["QUEUED", "RUNNING", "PENDING"].includes(run.status);
  return (
    <div
      data-testid={`node-${id}`}
      data-status={run?.status ?? "IDLE"}
      className={cn(
        "w-60 rounded-xl border bg-card text-card-foreground shadow-sm transition-shadow",
        selected && "ring-2 ring-ring",
        problem && "border-destructive",
        dropping && "ring-2 ring-primary",
      )}
      onDragOver={(e) => {
        if (acceptsImage && e.dataTransfer.types.includes(ASSET_MIME)) {
          e.preventDefault();
          setDropping(true);
        }
      }}
      onDragLeave={() => setDropping(false)}
      onDrop={(e) => {
        setDropping(false);
        const assetId = e.dataTransfer.getData(ASSET_MIME);
        if (assetId) data.onDropAsset(id, assetId);
      }}
    >
      <div className="flex items-center gap-2 border-b px-3 py-2">
        <span className="truncate text-sm font-medium">{model?.name ?? "Unknown model"}</span>
        <span className="ml-auto shrink-0">{run && <RunStatusBadge status={run.status} />}</span>
      </div>
      <div className="relative flex flex-col gap-2 p-3">
        {model?.inputs.map((port, i) => (
          <Handle key={port.name} type="target" position={Position.Left} id={port.name}
            style={{ top: 56 + i * 22, background: PORT_COLORS[port.type] }} title={`${port.name} (${port.type})`} />
        ))}
        {model?.outputs.map((port, i) => (
          <Handle key={port.name} type="source" position={Position.Right} id={port.name}
            style={{ top: 56 + i * 22, background: PORT_COLORS[port.type] }} title={`${port.name} (${port.type})`} />
        ))}
        <div className="flex flex-col gap-0.5 pl-1 text-[11px] text-muted-foreground">
          {model?.inputs.map((p) => (
            <span key={p.name} className="flex h-4 items-center gap-1.5">
              {p.name}
              {data.imageInputs[p.name] && <InputThumbnail assetId={data.imageInputs[p.name]!} />}
            </span>
          ))}
        </div>
        <NodeBody run={run} />
        {problem && <p className="text-xs text-destructive">{problem}</p>}
        <div className="flex items-center justify-between">
          <span className="font-mono text-[10px] text-muted-foreground">{id}</span>
          <Tooltip content="Run this node and what it needs">
            <button
              className="nodrag inline-flex items-center gap-1 rounded-md px-1.5 py-0.5 text-xs text-muted-foreground hover:bg-accent hover:text-foreground disabled:opacity-40"
              onClick={() => data.onRunThis(id)}
              disabled={Boolean(active)}
              aria-label={`Run node ${id}`}
            >
              <Play className="size-3" /> Run this
            </button>
          </Tooltip>
        </div>
      </div>
    </div>
  );
});

/** The gallery image a node takes as input, small, beside the port's name. */
function InputThumbnail({ assetId }: { assetId: string }) {
  const { data } = useQuery(AssetQuery, { variables: { id: assetId } });
  const url = data?.asset?.url;
  return url ? (
    <img src={url} alt="" className="size-4 rounded-sm object-cover" data-testid="input-thumbnail" />
  ) : (
    <Skeleton className="size-4 rounded-sm" />
  );
}

/** The output area keeps one fixed height whatever the state, so the grid never jumps. */
function NodeBody({ run }: { run: NodeRunView | undefined }) {
  const output = run?.outputs[0];
  return (
    <div className="h-32 overflow-hidden rounded-md bg-muted/50">
      {output ? (
        <AssetPreview asset={output} className="h-full w-full object-cover" />
      ) : run && ["QUEUED", "RUNNING", "PENDING"].includes(run.status) ? (
        <div className="relative h-full">
          <Skeleton className="h-full w-full rounded-md" />
          <div className="absolute inset-x-2 bottom-2 flex flex-col gap-1 text-[11px]">
            <span className="truncate text-muted-foreground" data-testid="node-progress-text">
              {run.status === "QUEUED" && run.queuePosition != null ? `In fal's queue, position ${run.queuePosition + 1}` : run.lastLog ?? (run.status === "PENDING" ? "Waiting for its inputs" : "Starting…")}
            </span>
            <div className="h-1 overflow-hidden rounded bg-background/60">
              <div className="h-full bg-primary transition-[width]" style={{ width: `${Math.round((run.progress ?? 0) * 100)}%` }} />
            </div>
          </div>
        </div>
      ) : run?.status === "FAILED" ? (
        <p className="h-full overflow-auto p-2 text-xs text-destructive" data-testid="node-error">{run.error}</p>
      ) : (
        <div className="grid h-full place-items-center text-xs text-muted-foreground">
          {run?.status === "SKIPPED" ? "Skipped: an input failed" : run?.status === "CANCELLED" ? "Cancelled" : "Output appears here"}
        </div>
      )}
    </div>
  );
}
