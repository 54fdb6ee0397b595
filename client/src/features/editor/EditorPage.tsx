import { useCallback, useEffect, useMemo, useState } from "react";
import { useQuery } from "@apollo/client";
import { useNavigate, useParams, useSearchParams } from "react-router-dom";
import { ReactFlowProvider } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { AlertTriangle, Images, Play, Redo2, Undo2 } from "lucide-react";
import { ModelsQuery, WorkflowQuery } from "@/graphql/documents";
import { describeError } from "@/lib/errors";
import { accessToken } from "@/lib/session";
import { formatCents } from "@/lib/utils";
import { useErrorToast } from "@/lib/useErrorToast";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Skeleton } from "@/components/ui/skeleton";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { toast } from "@/components/ui/toast";
import { PageSkeleton } from "@/components/layout/PageSkeleton";
import { Canvas } from "./Canvas";
import { GalleryDrawer } from "./GalleryDrawer";
import { Palette } from "./Palette";
import { ParamForm } from "./ParamForm";
import { RunPanel } from "./RunPanel";
import { useAutosave, draftKey } from "./useAutosave";
import { useEstimate } from "./useEstimate";
import { useHistory } from "./useHistory";
import { useRun } from "./useRun";
import { useRunLauncher } from "./useRunLauncher";
import { defaultParams, freeCell, newNodeId, type Graph, type GraphNode, type ModelInfo } from "./graph";

export default function EditorPage() {
  const { id = "" } = useParams();
  const { data, loading } = useQuery(WorkflowQuery, { variables: { id }, fetchPolicy: "cache-and-network" });
  const models = useQuery(ModelsQuery);
  if ((loading && !data) || !models.data) return <PageSkeleton />;
  if (!data?.workflow) return <p className="p-6 text-muted-foreground">This workflow does not exist or was deleted.</p>;
  return (
    <ReactFlowProvider>
      <Editor key={id} workflow={data.workflow} models={models.data.models as ModelInfo[]} />
    </ReactFlowProvider>
  );
}

type LoadedWorkflow = NonNullable<ReturnType<typeof useQuery<import("@/gql/graphql").WorkflowQuery>>["data"]>["workflow"];

function toGraph(workflow: NonNullable<LoadedWorkflow>): Graph {
  return {
    name: workflow.name,
    nodes: workflow.nodes.map((n) => ({ id: n.id, modelId: n.modelId, col: n.col, row: n.row, params: (n.params ?? {}) as Record<string, unknown> })),
    edges: workflow.edges.map((e) => ({ source: e.source, sourcePort: e.sourcePort, target: e.target, targetPort: e.targetPort })),
  };
}

function Editor({ workflow, models }: { workflow: NonNullable<LoadedWorkflow>; models: ModelInfo[] }) {
  const navigate = useNavigate();
  const [search, setSearch] = useSearchParams();
  const showError = useErrorToast();
  const modelMap = useMemo(() => new Map(models.map((m) => [m.id, m])), [models]);
  const history = useHistory<Graph>(toGraph(workflow));
  const graph = history.value;
  const autosave = useAutosave(workflow.id, graph, workflow.version);
  const estimate = useEstimate(graph);
  const { run, byNode, start, cancel, starting, active } = useRun(workflow.id, workflow.runs.edges[0]?.node);
  const [selected, setSelected] = useState<string | null>(null);
  const [pendingCell, setPendingCell] = useState<{ col: number; row: number } | null>(null);
  const [side, setSide] = useState<"settings" | "gallery">("settings");
  const [imageField, setImageField] = useState("image_url");
  const pendingAsset = search.get("useAsset");

  useEffect(() => {
    autosave.markLoaded(toGraph(workflow), workflow.version);
    // Unsaved work from an earlier visit (e.g. a session that expired) comes back.
    const draft = localStorage.getItem(draftKey(workflow.id));
    if (draft) history.set(JSON.parse(draft) as Graph);
    if (pendingAsset) setSide("gallery");
    // Loads once per workflow; later server versions are our own saves.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [workflow.id]);

  const updateNode = useCallback((nodeId: string, change: Partial<GraphNode>) => {
    history.set((g) => ({ ...g, nodes: g.nodes.map((n) => (n.id === nodeId ? { ...n, ...change } : n)) }));
  }, [history]);

  const addNode = useCallback((model: ModelInfo) => {
    history.set((g) => {
      const cell = pendingCell && !g.nodes.some((n) => n.col === pendingCell.col && n.row === pendingCell.row) ? pendingCell : freeCell(g, 0, 0);
      const node: GraphNode = { id: newNodeId(g), modelId: model.id, ...cell, params: defaultParams(model) };
      setSelected(node.id);
      return { ...g, nodes: [...g.nodes, node] };
    });
    setPendingCell(null);
    setSide("settings");
  }, [history, pendingCell]);

  const assignAsset = useCallback((nodeId: string, assetId: string, field = "image_url") => {
    history.set((g) => ({ ...g, nodes: g.nodes.map((n) => (n.id === nodeId ? { ...n, params: { ...n.params, [field]: assetId } } : n)) }));
    if (pendingAsset) setSearch({}, { replace: true });
    toast({ title: "Image set", description: `Node ${nodeId} will use it as its ${field}.` });
  }, [history, pendingAsset, setSearch]);

  const launcher = useRunLauncher({
    save: autosave.flush,
    start,
    onUnsaved: () => toast({ title: "Fix the workflow first", description: "It could not be saved, so it cannot run yet.", variant: "destructive" }),
    onError: (error, retry) => {
      const described = describeError(error);
      const nodeId = described.action?.kind === "selectNode" ? described.action.nodeId : null;
      if (nodeId) setSelected(nodeId);
      showError(error, retry);
    },
  });
  const runGraph = launcher.run;

  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const typing = event.target instanceof HTMLElement && /^(INPUT|TEXTAREA|SELECT)$/.test(event.target.tagName);
      const mod = event.metaKey || event.ctrlKey;
      if (mod && event.key === "Enter") {
        event.preventDefault();
        if (!active) void runGraph();
      } else if (mod && !typing && event.key.toLowerCase() === "z") {
        event.preventDefault();
        if (event.shiftKey) history.redo();
        else history.undo();
      } else if (mod && !typing && event.key.toLowerCase() === "y") {
        event.preventDefault();
        history.redo();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [active, history, runGraph]);

  const problems = autosave.status.state === "invalid" ? autosave.status.problems : [];
  const selectedNode = graph.nodes.find((n) => n.id === selected) ?? null;
  const selectedModel = selectedNode ? modelMap.get(selectedNode.modelId) : undefined;

  const upload = async (nodeId: string, field: string, file: File) => {
    const body = new FormData();
    body.append("file", file);
    const token = await accessToken();
    const response = await fetch("/api/uploads", { method: "POST", body, headers: token ? { Authorization: `Bearer ${token}` } : {} });
    const result = (await response.json()) as { id?: string; error?: { message: string } };
    if (!response.ok || !result.id) {
      toast({ title: "Upload failed", description: result.error?.message ?? "Try another image.", variant: "destructive" });
      return;
    }
    assignAsset(nodeId, result.id, field);
  };

  return (
    <div className="flex h-full flex-col">
      <div className="flex h-14 shrink-0 items-center gap-3 border-b px-4">
        <Input aria-label="Workflow name" className="h-8 w-64 font-medium" value={graph.name}
          onChange={(e) => history.set((g) => ({ ...g, name: e.target.value }))} />
        <SaveStatus status={autosave.status} onSelect={setSelected} onReload={() => navigate(0)}
          onOverwrite={(v) => void autosave.overwrite(v)} />
        <div className="ml-auto flex items-center gap-2">
          <span className="w-28 text-right text-sm text-muted-foreground" data-testid="estimate">
            {estimate === null ? <Skeleton className="ml-auto h-4 w-20" /> : `≈ ${formatCents(estimate)}`}
          </span>
          <Button variant="ghost" size="icon" aria-label="Undo" disabled={!history.canUndo} onClick={history.undo}><Undo2 /></Button>
          <Button variant="ghost" size="icon" aria-label="Redo" disabled={!history.canRedo} onClick={history.redo}><Redo2 /></Button>
          <Button variant={side === "gallery" ? "secondary" : "ghost"} size="icon" aria-label="Gallery drawer"
            onClick={() => setSide(side === "gallery" ? "settings" : "gallery")}><Images /></Button>
          {/* Cancel never takes Run's place: a double click on Run must not cancel the run it started. */}
          {active && <Button variant="outline" onClick={() => void cancel()}>Cancel run</Button>}
          <Button onClick={() => void runGraph()} disabled={active || launcher.launching || starting || graph.nodes.length === 0}
            title="Run (Ctrl+Enter)" data-testid="run-button">
            <Play /> {launcher.launching ? "Starting…" : active ? "Running…" : "Run"}
          </Button>
        </div>
      </div>
      {pendingAsset && (
        <div className="border-b bg-accent px-4 py-2 text-sm">
          Drag the highlighted image from the gallery drawer onto a node's image input, or select a node and click the image.
        </div>
      )}
      <div className="flex min-h-0 flex-1">
        <aside className="w-64 shrink-0 overflow-y-auto border-r p-3" aria-label="Models">
          <p className="mb-2 text-xs font-medium uppercase tracking-wide text-muted-foreground">
            {pendingCell ? `Add to cell ${pendingCell.col}, ${pendingCell.row}` : "Add a node"}
          </p>
          <Palette models={models} onAdd={addNode} />
        </aside>
        <div className="flex min-w-0 flex-1 flex-col">
          <div className="min-h-0 flex-1">
            <Canvas
              graph={graph}
              models={modelMap}
              runs={byNode}
              problems={problems}
              selected={selected}
              onSelect={setSelected}
              onChange={history.set}
              onPaneCell={setPendingCell}
              onRunThis={(nodeId) => void runGraph([nodeId])}
              onDropAsset={(nodeId, assetId) => assignAsset(nodeId, assetId)}
              running={active}
            />
          </div>
          {run && (
            <div className="h-52 shrink-0">
              <RunPanel run={run} onCancel={() => void cancel()} nodeName={(nodeId) => {
                const node = graph.nodes.find((n) => n.id === nodeId);
                return (node && modelMap.get(node.modelId)?.name) ?? nodeId;
              }} />
            </div>
          )}
        </div>
        <aside className="w-80 shrink-0 overflow-y-auto border-l p-4" aria-label="Inspector">
          <Tabs value={side} onValueChange={(v) => setSide(v as "settings" | "gallery")}>
            <TabsList className="mb-4 w-full">
              <TabsTrigger value="settings" className="flex-1">Settings</TabsTrigger>
              <TabsTrigger value="gallery" className="flex-1">Gallery</TabsTrigger>
            </TabsList>
            <TabsContent value="settings">
              {selectedNode && selectedModel ? (
                <ParamForm
                  node={selectedNode}
                  model={selectedModel}
                  wiredInputs={graph.edges.filter((e) => e.target === selectedNode.id).map((e) => e.targetPort)}
                  onChange={(params) => updateNode(selectedNode.id, { params })}
                  onPickImage={(field) => { setImageField(field); setSide("gallery"); }}
                  onUpload={(field, file) => void upload(selectedNode.id, field, file)}
                />
              ) : (
                <p className="text-sm text-muted-foreground">Select a node to configure it, or click an empty cell and pick a model.</p>
              )}
            </TabsContent>
            <TabsContent value="gallery">
              <GalleryDrawer highlight={pendingAsset} onPick={(assetId) => {
                if (selectedNode && selectedModel?.inputs.some((p) => p.type === "IMAGE")) assignAsset(selectedNode.id, assetId, imageField);
                else toast({ title: "Select a node with an image input first" });
              }} />
            </TabsContent>
          </Tabs>
        </aside>
      </div>
    </div>
  );
}

function SaveStatus({ status, onSelect, onReload, onOverwrite }: {
  status: ReturnType<typeof useAutosave>["status"];
  onSelect: (nodeId: string) => void;
  onReload: () => void;
  onOverwrite: (version: number) => void;
}) {
  const base = "flex min-w-0 items-center gap-2 text-xs";
  switch (status.state) {
    case "saved": return <span className={`${base} text-muted-foreground`} data-testid="save-status">Saved</span>;
    case "dirty":
    case "saving": return <span className={`${base} text-muted-foreground`} data-testid="save-status">Saving…</span>;
    case "invalid": {
      const nodeId = status.problems.find((p) => p.nodeId)?.nodeId;
      return (
        <span className={`${base} text-destructive`} data-testid="save-status">
          <AlertTriangle className="size-4 shrink-0" /> <span className="truncate">Not saved: {status.message}</span>
          {nodeId && <Button size="sm" variant="outline" onClick={() => onSelect(nodeId)}>Show node</Button>}
        </span>
      );
    }
    case "conflict":
      return (
        <span className={`${base} text-destructive`} data-testid="save-status">
          <AlertTriangle className="size-4 shrink-0" /> Changed in another tab.
          <Button size="sm" variant="outline" onClick={onReload}>Load theirs</Button>
          <Button size="sm" variant="outline" onClick={() => onOverwrite(status.currentVersion)}>Keep mine</Button>
        </span>
      );
    case "error": return <span className={`${base} text-destructive`} data-testid="save-status">Not saved: {status.message}</span>;
  }
}
