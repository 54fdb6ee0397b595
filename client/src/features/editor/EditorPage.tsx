import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useQuery } from "@apollo/client";
import { useNavigate, useParams, useSearchParams } from "react-router-dom";
import { ReactFlowProvider } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import { AlertTriangle, Images, PanelLeftClose, PanelLeftOpen, PanelRightClose, PanelRightOpen, Play, Redo2, Undo2 } from "lucide-react";
import { ModelsQuery, WorkflowQuery } from "@/graphql/documents";
import { registerCommands } from "@/lib/commands";
import { describeError, type Problem } from "@/lib/errors";
import { plural } from "@/lib/plural";
import { accessToken } from "@/lib/session";
import { useMediaQuery } from "@/lib/useMediaQuery";
import { formatCents } from "@/lib/utils";
import { useErrorToast } from "@/lib/useErrorToast";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Skeleton } from "@/components/ui/skeleton";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { toast } from "@/components/ui/toast";
import { assetIdsOf, Canvas } from "./Canvas";
import type { LooseWire } from "./CanvasMenu";
import { copyNodes, pasteNodes, readClipboard, writeClipboard } from "./clipboard";
import { EditorSkeleton } from "./EditorSkeleton";
import { GalleryDrawer } from "./GalleryDrawer";
import { Palette } from "./Palette";
import { ParamForm } from "./ParamForm";
import { RunPanel } from "./RunPanel";
import { ShortcutSheet } from "./ShortcutSheet";
import { useAssetUrls } from "./useAssetUrls";
import { takeLocalDraft, toProblems, useAutosave } from "./useAutosave";
import { useEstimate } from "./useEstimate";
import { useHistory } from "./useHistory";
import { useRun } from "./useRun";
import { useRunLauncher } from "./useRunLauncher";
import { WorkflowFileMenu } from "./WorkflowFileMenu";
import {
  checkConnection, defaultParams, edgeId, freeCell, humanizeFields, imageParamsOf, landingCell, newNodeId, portLabel, removeNodes,
  type Cell, type Graph, type GraphNode, type ModelInfo,
} from "./graph";

export default function EditorPage() {
  const { id = "" } = useParams();
  const { data, loading } = useQuery(WorkflowQuery, { variables: { id }, fetchPolicy: "cache-and-network" });
  const models = useQuery(ModelsQuery);
  if ((loading && !data) || !models.data) return <EditorSkeleton />;
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
  const phone = useMediaQuery("(max-width: 767px)");
  const modelMap = useMemo(() => new Map(models.map((m) => [m.id, m])), [models]);
  const history = useHistory<Graph>(toGraph(workflow));
  const graph = history.value;
  // Actions read the newest graph from here, so they stay the same functions across edits.
  const graphRef = useRef(graph);
  graphRef.current = graph;
  const autosave = useAutosave(workflow.id, graph, workflow.version);
  const { run, byNode, start, cancel, starting, active } = useRun(workflow.id, workflow.runs.edges[0]?.node);
  // A finished run changes what the next one reuses, and so its price.
  const estimate = useEstimate(graph, workflow.id, run?.status);
  const [selection, setSelection] = useState<string[]>([]);
  const [pendingCell, setPendingCell] = useState<Cell | null>(null);
  const [side, setSide] = useState<"settings" | "gallery">("settings");
  const [imageField, setImageField] = useState("image_url");
  const [shortcutsOpen, setShortcutsOpen] = useState(false);
  const [panels, setPanels] = usePanels();
  const assetUrls = useAssetUrls(assetIdsOf(graph));
  const pendingAsset = search.get("useAsset");
  const readOnly = phone;

  useEffect(() => {
    // Unsaved work from an earlier visit (a reload before the save, a session that expired)
    // comes back, and is saved.
    const draft = takeLocalDraft(workflow.id, workflow.version);
    autosave.markLoaded(toGraph(workflow), workflow.version, toProblems(workflow.warnings));
    if (draft) history.set(draft);
    if (pendingAsset) setSide("gallery");
    // Loads once per workflow; later server versions are our own saves.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [workflow.id]);

  const updateNode = useCallback((nodeId: string, change: Partial<GraphNode>) => {
    history.set((g) => ({ ...g, nodes: g.nodes.map((n) => (n.id === nodeId ? { ...n, ...change } : n)) }));
  }, [history]);

  const assignAsset = useCallback((nodeId: string, assetId: string, field = "image_url") => {
    history.set((g) => ({ ...g, nodes: g.nodes.map((n) => (n.id === nodeId ? { ...n, params: { ...n.params, [field]: assetId } } : n)) }));
    if (pendingAsset) setSearch({}, { replace: true });
    toast({ title: "Image set", description: `The node will use it as its ${portLabel(field).toLowerCase()}.` });
  }, [history, pendingAsset, setSearch]);

  const launcher = useRunLauncher({
    save: autosave.flush,
    start,
    onUnsaved: () => toast({ title: "Fix the workflow first", description: "It could not be saved, so it cannot run yet.", variant: "destructive" }),
    onError: (error, retry) => {
      const described = describeError(error);
      const nodeId = described.action?.kind === "selectNode" ? described.action.nodeId : null;
      if (nodeId) setSelection([nodeId]);
      showError(error, retry);
    },
  });
  const runGraph = launcher.run;

  const actions = useMemo(() => {
    const place = (next: Graph, ids: string[]) => {
      history.set(next);
      setSelection(ids);
    };
    const addNode = (model: ModelInfo, cell: Cell, wire?: LooseWire, params?: Record<string, unknown>) => {
      const g = graphRef.current;
      const node: GraphNode = { id: newNodeId(g), modelId: model.id, ...landingCell(g, cell), params: { ...defaultParams(model), ...params } };
      let edges = g.edges;
      if (wire) {
        const edge = wire.from === "source"
          ? { source: wire.nodeId, sourcePort: wire.port, target: node.id, targetPort: model.inputs.find((p) => p.type === wire.type)?.name ?? "" }
          : { source: node.id, sourcePort: model.outputs.find((p) => p.type === wire.type)?.name ?? "", target: wire.nodeId, targetPort: wire.port };
        const withNode = { ...g, nodes: [...g.nodes, node] };
        const check = checkConnection(withNode, modelMap, edge);
        if (check.ok) edges = [...edges, edge];
        else toast({ title: "Added without a wire", description: check.reason });
      }
      place({ ...g, nodes: [...g.nodes, node], edges }, [node.id]);
      setPendingCell(null);
      setSide("settings");
    };
    return {
      addNode,
      runNodes: (ids: string[]) => void runGraph(ids),
      reroll: (ids: string[]) => {
        // A fixed seed gets a new value (the node's settings show it); a random one is
        // simply drawn again by running the node afresh instead of reusing its output.
        const fixed = new Set(graphRef.current.nodes.filter((n) => ids.includes(n.id) && typeof n.params.seed === "number").map((n) => n.id));
        if (fixed.size) {
          history.set((g) => ({ ...g, nodes: g.nodes.map((n) => (fixed.has(n.id) ? { ...n, params: { ...n.params, seed: Math.floor(Math.random() * 2 ** 32) } } : n)) }));
        }
        // After the edit has rendered, so the pre-run save sends it.
        setTimeout(() => void runGraph(ids, ids), 0);
      },
      dropAsset: (nodeId: string, assetId: string, field?: string) => assignAsset(nodeId, assetId, field),
      copy: (ids: string[]) => {
        const snippet = copyNodes(graphRef.current, ids);
        if (!snippet) return;
        writeClipboard(snippet);
        toast({ title: ids.length === 1 ? "Node copied" : `${ids.length} nodes copied`, description: "Paste with Ctrl+V, here or in another workflow." });
      },
      paste: (cell?: Cell) => {
        const snippet = readClipboard();
        if (!snippet) {
          toast({ title: "Nothing to paste", description: "Copy nodes first with Ctrl+C." });
          return;
        }
        const pasted = pasteNodes(graphRef.current, snippet, cell);
        place(pasted.graph, pasted.ids);
      },
      canPaste: () => readClipboard() !== null,
      duplicate: (ids: string[]) => {
        const snippet = copyNodes(graphRef.current, ids);
        if (!snippet) return;
        const pasted = pasteNodes(graphRef.current, snippet);
        place(pasted.graph, pasted.ids);
      },
      remove: (ids: string[]) => {
        history.set((g) => removeNodes(g, ids));
        setSelection([]);
      },
      removeEdge: (id: string) => history.set((g) => ({ ...g, edges: g.edges.filter((e) => edgeId(e) !== id) })),
    };
  }, [assignAsset, history, modelMap, runGraph]);

  // The keyboard, as in other node editors; shortcuts that edit the canvas stay out of text fields.
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      const typing = Boolean(target && (/^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable));
      const mod = event.metaKey || event.ctrlKey;
      const key = event.key.toLowerCase();
      if (mod && key === "enter") {
        event.preventDefault();
        if (!active) void runGraph();
        return;
      }
      if (typing || document.querySelector("[role=dialog], [role=menu]")) return;
      if (mod && key === "z") {
        event.preventDefault();
        if (event.shiftKey) history.redo();
        else history.undo();
      } else if (mod && key === "y") {
        event.preventDefault();
        history.redo();
      } else if (readOnly) {
        return;
      } else if (mod && key === "c" && selection.length && !window.getSelection()?.toString()) {
        event.preventDefault();
        actions.copy(selection);
      } else if (mod && key === "v") {
        event.preventDefault();
        actions.paste(pendingCell ?? undefined);
      } else if (mod && key === "d" && selection.length) {
        event.preventDefault();
        actions.duplicate(selection);
      } else if (mod && key === "a") {
        event.preventDefault();
        setSelection(graphRef.current.nodes.map((n) => n.id));
      } else if (event.key === "?") {
        setShortcutsOpen(true);
      } else if (event.key === "Escape") {
        setSelection([]);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [active, actions, history, pendingCell, readOnly, runGraph, selection]);

  // What this screen adds to Ctrl+K.
  const commandsRef = useRef({ actions, runGraph, setPanels, setShortcutsOpen });
  commandsRef.current = { actions, runGraph, setPanels, setShortcutsOpen };
  useEffect(() => registerCommands([
    { id: "run", group: "This workflow", label: "Run the workflow", shortcut: "Ctrl Enter", run: () => void commandsRef.current.runGraph() },
    ...models.map((model) => ({
      id: `add-${model.id}`, group: "Add a node", label: `Add ${model.name}`, keywords: "node model", disabled: !model.allowed,
      run: () => commandsRef.current.actions.addNode(model, freeCell(graphRef.current, 0, 0)),
    })),
    { id: "paste", group: "This workflow", label: "Paste nodes", shortcut: "Ctrl V", run: () => commandsRef.current.actions.paste() },
    { id: "panels", group: "This workflow", label: "Show or hide the side panels", run: () => commandsRef.current.setPanels((p) => ({ left: !(p.left && p.right), right: !(p.left && p.right) })) },
    { id: "shortcuts", group: "This workflow", label: "Keyboard shortcuts", shortcut: "?", run: () => commandsRef.current.setShortcutsOpen(true) },
  ]), [models]);

  const problems = autosave.status.state === "invalid" ? autosave.status.problems : [];
  const selectedNode = selection.length === 1 ? graph.nodes.find((n) => n.id === selection[0]) ?? null : null;
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

  const showLeft = panels.left && !readOnly;
  const showRight = panels.right && !readOnly;
  return (
    <div className="flex h-full flex-col">
      <div className="flex min-h-14 shrink-0 flex-wrap items-center gap-x-3 gap-y-2 border-b px-4 py-2">
        {!readOnly && (
          <Button variant="ghost" size="icon" aria-label={panels.left ? "Hide the models panel" : "Show the models panel"} aria-pressed={panels.left}
            onClick={() => setPanels((p) => ({ ...p, left: !p.left }))}>{panels.left ? <PanelLeftClose /> : <PanelLeftOpen />}</Button>
        )}
        <Input aria-label="Workflow name" className="h-8 w-full min-w-0 font-medium sm:w-64" value={graph.name} readOnly={readOnly}
          onChange={(e) => history.set((g) => ({ ...g, name: e.target.value }))} />
        {!readOnly && <SaveStatus status={autosave.status} warnings={autosave.warnings} onSelect={(id) => setSelection([id])} onReload={() => navigate(0)}
          onOverwrite={(v) => void autosave.overwrite(v)} />}
        <div className="ml-auto flex items-center gap-2">
          <span className="w-36 text-right text-sm text-muted-foreground" data-testid="estimate"
            title={estimate?.reused.length ? "Nodes unchanged since their last output reuse it for free" : "What a run will cost"}>
            {estimate === null ? <Skeleton className="ml-auto h-4 w-20" /> : (
              <>≈ {formatCents(estimate.cents)}{estimate.reused.length > 0 && <span className="text-xs"> · {estimate.reused.length} reused</span>}</>
            )}
          </span>
          {!readOnly && (
            <>
              <Button variant="ghost" size="icon" aria-label="Undo" title="Undo (Ctrl+Z)" disabled={!history.canUndo} onClick={history.undo}><Undo2 /></Button>
              <Button variant="ghost" size="icon" aria-label="Redo" title="Redo (Ctrl+Shift+Z)" disabled={!history.canRedo} onClick={history.redo}><Redo2 /></Button>
              <WorkflowFileMenu graph={graph} onShortcuts={() => setShortcutsOpen(true)} />
              <Button variant={side === "gallery" && panels.right ? "secondary" : "ghost"} size="icon" aria-label="Gallery drawer"
                onClick={() => { setPanels((p) => ({ ...p, right: true })); setSide(side === "gallery" ? "settings" : "gallery"); }}><Images /></Button>
            </>
          )}
          {/* Cancel never takes Run's place: a double click on Run must not cancel the run it started. */}
          {active && <Button variant="outline" onClick={() => void cancel()}>Cancel run</Button>}
          <Button onClick={() => void runGraph()} disabled={active || launcher.launching || starting || graph.nodes.length === 0}
            title="Run (Ctrl+Enter)" data-testid="run-button">
            <Play /> {launcher.launching ? "Starting…" : active ? "Running…" : "Run"}
          </Button>
          {!readOnly && (
            <Button variant="ghost" size="icon" aria-label={panels.right ? "Hide the settings panel" : "Show the settings panel"} aria-pressed={panels.right}
              onClick={() => setPanels((p) => ({ ...p, right: !p.right }))}>{panels.right ? <PanelRightClose /> : <PanelRightOpen />}</Button>
          )}
        </div>
      </div>
      {readOnly && (
        <div className="border-b bg-muted px-4 py-2 text-xs text-muted-foreground" data-testid="read-only-note">
          On a small screen the workflow is view-only: run it and watch its outputs here, edit it on a larger screen.
        </div>
      )}
      {pendingAsset && !readOnly && (
        <div className="border-b bg-accent px-4 py-2 text-sm">
          Drag the highlighted image from the gallery drawer onto a node's image input, or select a node and click the image.
        </div>
      )}
      <div className="flex min-h-0 flex-1">
        {showLeft && (
          <aside className="w-64 shrink-0 overflow-y-auto border-r p-3" aria-label="Models">
            <p className="mb-2 text-xs font-medium uppercase tracking-wide text-muted-foreground">
              {pendingCell ? `Add to cell ${pendingCell.col + 1}, ${pendingCell.row + 1}` : "Add a node"}
            </p>
            <Palette models={models} onAdd={(model) => actions.addNode(model, pendingCell ?? freeCell(graphRef.current, 0, 0))} />
          </aside>
        )}
        <div className="flex min-w-0 flex-1 flex-col">
          <div className="min-h-0 flex-1">
            <Canvas
              graph={graph}
              models={modelMap}
              modelList={models}
              runs={byNode}
              problems={problems}
              warnings={autosave.warnings}
              assetUrls={assetUrls}
              selection={selection}
              readOnly={readOnly}
              actions={actions}
              onSelectionChange={setSelection}
              onChange={history.set}
              onPaneCell={setPendingCell}
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
        {showRight && (
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
                ) : selection.length > 1 ? (
                  <p className="text-sm text-muted-foreground">{selection.length} nodes selected. Drag one to move them together, or press Delete.</p>
                ) : (
                  <p className="text-sm text-muted-foreground">Select a node to configure it. To add one, click an empty cell and pick a model, drag a model onto the grid, or right-click the grid.</p>
                )}
              </TabsContent>
              <TabsContent value="gallery">
                <GalleryDrawer highlight={pendingAsset} onPick={(assetId) => {
                  const fields = imageParamsOf(selectedModel);
                  if (selectedNode && fields.length) assignAsset(selectedNode.id, assetId, fields.includes(imageField) ? imageField : fields[0]);
                  else toast({ title: "Select a node with an image input first" });
                }} />
              </TabsContent>
            </Tabs>
          </aside>
        )}
      </div>
      <ShortcutSheet open={shortcutsOpen} onOpenChange={setShortcutsOpen} />
    </div>
  );
}

type Panels = { left: boolean; right: boolean };

/** Which side panels are open, remembered across visits. */
function usePanels(): [Panels, (update: (p: Panels) => Panels) => void] {
  const [panels, setPanelsState] = useState<Panels>(() => {
    try {
      return { left: true, right: true, ...(JSON.parse(localStorage.getItem("lattice-panels") ?? "{}") as Partial<Panels>) };
    } catch {
      return { left: true, right: true };
    }
  });
  const setPanels = useCallback((update: (p: Panels) => Panels) => {
    setPanelsState((p) => {
      const next = update(p);
      localStorage.setItem("lattice-panels", JSON.stringify(next));
      return next;
    });
  }, []);
  return [panels, setPanels];
}

function SaveStatus({ status, warnings, onSelect, onReload, onOverwrite }: {
  status: ReturnType<typeof useAutosave>["status"];
  warnings: Problem[];
  onSelect: (nodeId: string) => void;
  onReload: () => void;
  onOverwrite: (version: number) => void;
}) {
  const base = "flex min-w-0 items-center gap-2 text-xs";
  switch (status.state) {
    case "saved": {
      // A draft is saved as it is; what it lacks only stops it from running.
      const first = warnings.find((w) => w.nodeId)?.nodeId;
      const nodes = new Set(warnings.map((w) => w.nodeId)).size;
      return warnings.length === 0 ? <span className={`${base} text-muted-foreground`} data-testid="save-status">Saved</span> : (
        <span className={`${base} text-muted-foreground`} data-testid="save-status">
          Saved as a draft · <span className="text-amber-700 dark:text-amber-400">{plural(nodes, "node")} still {nodes === 1 ? "needs" : "need"} an input</span>
          {first && <Button size="sm" variant="outline" onClick={() => onSelect(first)}>Show</Button>}
        </span>
      );
    }
    case "dirty":
    case "saving": return <span className={`${base} text-muted-foreground`} data-testid="save-status">Saving…</span>;
    case "invalid": {
      const nodeId = status.problems.find((p) => p.nodeId)?.nodeId;
      return (
        <span className={`${base} text-destructive`} data-testid="save-status">
          <AlertTriangle className="size-4 shrink-0" /> <span className="truncate">Not saved: {humanizeFields(status.message)}</span>
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
    case "error": return <span className={`${base} text-destructive`} data-testid="save-status">Not saved: {humanizeFields(status.message)}</span>;
  }
}

