import { memo, useState } from "react";
import { Handle, Position, type NodeProps, type Node } from "@xyflow/react";
import { AlertTriangle, MoreHorizontal, Play } from "lucide-react";
import { cn } from "@/lib/utils";
import { Skeleton } from "@/components/ui/skeleton";
import { Tooltip } from "@/components/ui/tooltip";
import { RunStatusBadge } from "@/features/runs/RunStatusBadge";
import { AssetPreview } from "@/features/gallery/AssetPreview";
import { humanizeFields, imageParamsOf, portLabel, type ModelInfo, type Port } from "./graph";
import { useNodeActions } from "./nodeActions";

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
  /** Gallery images given as image inputs (not wired), by port: their URL once known. */
  imageInputs: Record<string, string | null>;
  run: NodeRunView | undefined;
  problem: string | undefined;
  /** What a saved draft's node still lacks before it can run. */
  warning?: string | undefined;
  /** A Text node's text. */
  text?: string | undefined;
};
export type ModelFlowNode = Node<ModelNodeData, "model">;

export const ASSET_MIME = "application/x-lattice-asset";
export const PORT_COLORS: Record<string, string> = { TEXT: "#a855f7", IMAGE: "#0ea5e9", VIDEO: "#f97316", LORA: "#22c55e", NUMBER: "#64748b" };

/** LoRAs are chosen in the node's settings; no node outputs one, so they get no socket. */
const wireable = (ports: Port[] | undefined) => (ports ?? []).filter((p) => p.type !== "LORA");

/** A node on the grid: its model, its ports, and its live state in the current run. */
export const ModelNode = memo(function ModelNode({ id, data, selected }: NodeProps<ModelFlowNode>) {
  const { model, run, problem, warning } = data;
  const actions = useNodeActions();
  const [dropping, setDropping] = useState(false);
  const imageParams = imageParamsOf(model);
  const acceptsImage = imageParams.length > 0;
  const active = run && ["QUEUED", "RUNNING", "PENDING"].includes(run.status);
  const inputs = wireable(model?.inputs);
  const outputs = wireable(model?.outputs);
  return (
    <div
      data-testid={`node-${id}`}
      data-status={run?.status ?? "IDLE"}
      className={cn(
        "w-60 rounded-xl border bg-card text-card-foreground shadow-sm transition-shadow",
        selected && "ring-2 ring-ring",
        problem && "border-destructive",
        !problem && warning && "border-amber-500",
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
        if (assetId && acceptsImage) {
          // This node takes it; the canvas must not also start an Image node with it.
          e.stopPropagation();
          e.preventDefault();
          actions.dropAsset(id, assetId, imageParams[0]);
        }
      }}
    >
      {/* The title may wrap to two lines; the run status has its own row below, so neither hides the other. */}
      <div className="flex items-start gap-1 border-b px-3 py-2">
        <span className="line-clamp-2 min-h-10 text-sm font-medium leading-5" title={`${model?.name ?? "Unknown model"} (${id})`}>
          {model?.name ?? "Unknown model"}
        </span>
        {!actions.readOnly && <button
          className="nodrag -mr-1.5 ml-auto grid size-6 shrink-0 place-items-center rounded-md text-muted-foreground hover:bg-accent hover:text-foreground"
          aria-label={`Actions for node ${id}`}
          onClick={(e) => actions.openMenu(id, { x: e.clientX, y: e.clientY })}
        >
          <MoreHorizontal className="size-4" />
        </button>}
      </div>
      <div className="flex flex-col gap-2 py-2">
        <div className="grid grid-cols-2 gap-y-1 text-[11px] text-muted-foreground">
          {Array.from({ length: Math.max(inputs.length, outputs.length) }, (_, i) => (
            <PortRow key={i} input={inputs[i]} output={outputs[i]} thumbnail={inputs[i] ? data.imageInputs[inputs[i]!.name] : undefined} />
          ))}
        </div>
        <div className="px-3">
          {model?.utility ? <UtilityBody text={data.text} image={data.imageInputs.image_url} isImage={imageParams.length > 0} /> : <NodeBody run={run} />}
        </div>
        {problem && <p className="px-3 text-xs text-destructive">{humanizeFields(problem)}</p>}
        {!problem && warning && (
          <p className="flex items-start gap-1 px-3 text-xs text-amber-700 dark:text-amber-400" data-testid="node-warning">
            <AlertTriangle className="mt-0.5 size-3 shrink-0" /> {nodeWarning(warning)}
          </p>
        )}
        <div className="flex h-6 items-center justify-between gap-2 px-3">
          <span className="min-w-0">{run && !model?.utility && <RunStatusBadge status={run.status} />}</span>
          {model?.utility ? <span className="text-xs text-muted-foreground">Free · instant</span> : <Tooltip content="Run this node and what it needs">
            <button
              className="nodrag inline-flex shrink-0 items-center gap-1 rounded-md px-1.5 py-0.5 text-xs text-muted-foreground hover:bg-accent hover:text-foreground disabled:opacity-40"
              onClick={() => actions.runNodes([id])}
              disabled={Boolean(active)}
              aria-label={`Run node ${id}`}
            >
              <Play className="size-3" /> Run this
            </button>
          </Tooltip>}
        </div>
      </div>
    </div>
  );
});

/** One row of sockets: an input on the left edge and an output on the right, each with its name beside it. */
function PortRow({ input, output, thumbnail }: { input?: Port; output?: Port; thumbnail?: string | null }) {
  return (
    <>
      <div className="relative flex h-6 items-center gap-1.5 pl-3">
        {input && (
          <>
            <Handle type="target" position={Position.Left} id={input.name} style={{ background: PORT_COLORS[input.type] }}
              title={`${portLabel(input.name)} input (${input.type.toLowerCase()})${input.required ? "" : ", optional"}`} />
            <span className="truncate">{portLabel(input.name)}</span>
            {thumbnail !== undefined && (thumbnail
              ? <img src={thumbnail} alt="" className="size-5 rounded-sm object-cover" data-testid="input-thumbnail" />
              : <Skeleton className="size-5 rounded-sm" />)}
          </>
        )}
      </div>
      <div className="relative flex h-6 items-center justify-end pr-3">
        {output && (
          <>
            <span className="truncate">{portLabel(output.name)}</span>
            <Handle type="source" position={Position.Right} id={output.name} style={{ background: PORT_COLORS[output.type] }}
              title={`${portLabel(output.name)} output (${output.type.toLowerCase()})`} />
          </>
        )}
      </div>
    </>
  );
}

/** A warning on its node needs no "Wan 2.2 node n2:" prefix: the node is right there. */
function nodeWarning(message: string): string {
  return humanizeFields(message.replace(/^.*? node [A-Za-z0-9_-]+:? /, ""));
}

/** A Text node shows its text, an Image node its image: they are their value. */
function UtilityBody({ text, image, isImage }: { text?: string; image?: string | null; isImage: boolean }) {
  return (
    <div className="h-24 overflow-hidden rounded-md bg-muted/50">
      {isImage ? (
        image ? <img src={image} alt="" className="h-full w-full object-cover" data-testid="utility-image" />
          : image === null ? <Skeleton className="h-full w-full rounded-md" />
          : <p className="grid h-full place-items-center p-2 text-center text-xs text-muted-foreground">Pick an image in the settings, or drop one from the gallery</p>
      ) : (
        <p className="line-clamp-5 h-full whitespace-pre-wrap p-2 text-xs" data-testid="utility-text">{text || <span className="text-muted-foreground">Type the text in the settings</span>}</p>
      )}
    </div>
  );
}

/** The output area keeps one fixed height whatever the state, so the grid never jumps. */
function NodeBody({ run }: { run: NodeRunView | undefined }) {
  const output = run?.outputs[0];
  return (
    <div className="h-24 overflow-hidden rounded-md bg-muted/50">
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
