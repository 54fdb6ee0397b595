import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import {
  Background,
  BackgroundVariant,
  Controls,
  MiniMap,
  ReactFlow,
  useReactFlow,
  ViewportPortal,
  type Connection,
  type Edge,
  type EdgeChange,
  type NodeChange,
  type OnConnectEnd,
} from "@xyflow/react";
import type { Problem } from "@/lib/errors";
import { toast } from "@/components/ui/toast";
import { CELL_H, CELL_W, cellPosition, checkConnection, edgeId, imageParamsOf, landingCell, moveNodes, nearestCell, removeNodes, type Cell, type Graph, type ModelInfo } from "./graph";
import { ASSET_MIME, ModelNode, type ModelFlowNode, type NodeRunView } from "./ModelNode";
import { CanvasMenu, type CanvasActions, type MenuState } from "./CanvasMenu";
import { MODEL_MIME, NodeActionsContext, type NodeActions } from "./nodeActions";

const nodeTypes = { model: ModelNode };
const NO_PROBLEMS: Problem[] = [];

/** Below this zoom node text is unreadable; a large graph is explored with the minimap instead. */
const READABLE_ZOOM = 0.55;
/** Fitting leaves the bottom strip to the minimap (bottom right) and the zoom controls
 * (bottom left), so neither covers a node. */
const FIT_PADDING = { top: "32px", right: "32px", left: "32px", bottom: "136px" } as const;

interface Props {
  graph: Graph;
  models: Map<string, ModelInfo>;
  modelList: ModelInfo[];
  runs: Map<string, NodeRunView>;
  problems: Problem[];
  /** What nodes of a saved draft still lack: shown on them, less loudly than errors. */
  warnings?: Problem[];
  assetUrls: Map<string, string>;
  selection: string[];
  running: boolean;
  readOnly?: boolean;
  actions: CanvasActions & { dropAsset: (nodeId: string, assetId: string) => void };
  onSelectionChange: (ids: string[]) => void;
  onChange: (update: (graph: Graph) => Graph) => void;
  onPaneCell: (cell: Cell | null) => void;
}

/** The grid: nodes live in whole cells (col, row); dragging shows the cell a node will land on. */
export function Canvas({ graph, models, modelList, runs, problems, warnings = NO_PROBLEMS, assetUrls, selection, running, readOnly = false, actions, onSelectionChange, onChange, onPaneCell }: Props) {
  const flow = useReactFlow();
  // Where nodes are while being dragged; on release they land on the highlighted cells.
  const [dragging, setDragging] = useState<Record<string, { x: number; y: number }>>({});
  // React Flow measures each node and hands the sizes back; controlled nodes must carry them.
  const [sizes, setSizes] = useState<Record<string, { width: number; height: number }>>({});
  const [selectedEdges, setSelectedEdges] = useState<string[]>([]);
  const [menu, setMenu] = useState<MenuState | null>(null);
  const [dropCell, setDropCell] = useState<Cell | null>(null);
  const wrapper = useRef<HTMLDivElement>(null);

  // Keep new nodes in view as the graph grows, but never zoom out past readable.
  const count = graph.nodes.length;
  useEffect(() => {
    const timer = setTimeout(() => void flow.fitView({ maxZoom: 1, minZoom: READABLE_ZOOM, padding: FIT_PADDING, duration: 200 }), 50);
    return () => clearTimeout(timer);
  }, [count, flow]);
  // The canvas shrinks when the run panel opens: fit again, so the minimap covers no node.
  useEffect(() => {
    const element = wrapper.current;
    if (!element) return;
    let last = element.clientHeight;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const observer = new ResizeObserver(() => {
      if (Math.abs(element.clientHeight - last) < 40) return;
      last = element.clientHeight;
      clearTimeout(timer);
      timer = setTimeout(() => void flow.fitView({ maxZoom: 1, minZoom: READABLE_ZOOM, padding: FIT_PADDING, duration: 200 }), 100);
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      clearTimeout(timer);
    };
  }, [flow]);

  const cellAt = useCallback((x: number, y: number): Cell => {
    const p = flow.screenToFlowPosition({ x, y });
    return { col: Math.max(0, Math.floor(p.x / CELL_W)), row: Math.max(0, Math.floor(p.y / CELL_H)) };
  }, [flow]);

  // A node's data object is reused while its values are unchanged, so the memoised node skips
  // re-rendering when another node changes: large graphs stay light.
  const dataCache = useRef(new Map<string, ModelFlowNode["data"]>());
  const nodes: ModelFlowNode[] = useMemo(
    () =>
      graph.nodes.map((n) => {
        const model = models.get(n.modelId);
        const fresh: ModelFlowNode["data"] = {
          model,
          imageInputs: imageInputsOf(n, model, graph, assetUrls),
          run: runs.get(n.id),
          problem: problems.find((p) => p.nodeId === n.id)?.message,
          warning: warnings.find((p) => p.nodeId === n.id)?.message,
          text: model?.utility && typeof n.params.text === "string" ? n.params.text : undefined,
        };
        const cached = dataCache.current.get(n.id);
        const data = cached && sameData(cached, fresh) ? cached : fresh;
        dataCache.current.set(n.id, data);
        return {
          id: n.id,
          type: "model",
          position: dragging[n.id] ?? cellPosition(n.col, n.row),
          measured: sizes[n.id],
          selected: selection.includes(n.id),
          draggable: !readOnly,
          data,
        };
      }),
    [graph, dragging, sizes, selection, readOnly, models, runs, problems, warnings, assetUrls],
  );
  const edges: Edge[] = useMemo(
    () =>
      graph.edges.map((e) => ({
        id: edgeId(e),
        source: e.source,
        sourceHandle: e.sourcePort,
        target: e.target,
        targetHandle: e.targetPort,
        animated: running,
        selected: selectedEdges.includes(edgeId(e)),
      })),
    [graph.edges, running, selectedEdges],
  );

  // The cells the dragged nodes will land on, shown while dragging.
  const landing = useMemo(() => {
    const ids = Object.keys(dragging);
    if (!ids.length) return [];
    const moves = Object.fromEntries(ids.map((id) => [id, nearestCell(dragging[id]!.x, dragging[id]!.y)]));
    const next = moveNodes(graph, moves);
    return next.nodes.filter((n) => ids.includes(n.id)).map((n) => ({ id: n.id, col: n.col, row: n.row }));
  }, [dragging, graph]);

  const onNodesChange = useCallback((changes: NodeChange<ModelFlowNode>[]) => {
    const dropped: Record<string, Cell> = {};
    const removed: string[] = [];
    let selectionChanged = false;
    const nextSelection = new Set(selection);
    for (const change of changes) {
      if (change.type === "dimensions" && change.dimensions) {
        const dimensions = change.dimensions;
        setSizes((s) => ({ ...s, [change.id]: dimensions }));
      }
      if (change.type === "select") {
        selectionChanged = true;
        if (change.selected) nextSelection.add(change.id);
        else nextSelection.delete(change.id);
      }
      if (change.type === "position" && change.position) {
        const position = change.position;
        if (change.dragging) setDragging((d) => ({ ...d, [change.id]: position }));
        else dropped[change.id] = nearestCell(position.x, position.y);
      }
      if (change.type === "remove" && !readOnly) removed.push(change.id);
    }
    if (selectionChanged) onSelectionChange([...nextSelection]);
    const droppedIds = Object.keys(dropped);
    if (droppedIds.length) {
      setDragging((d) => Object.fromEntries(Object.entries(d).filter(([id]) => !droppedIds.includes(id))));
      // Nodes moved together land together: one undo step.
      onChange((g) => {
        const moved = moveNodes(g, dropped);
        return moved.nodes.every((n, i) => n.col === g.nodes[i]!.col && n.row === g.nodes[i]!.row) ? g : moved;
      });
    }
    if (removed.length) {
      onChange((g) => removeNodes(g, removed));
      onSelectionChange([]);
    }
  }, [onChange, onSelectionChange, readOnly, selection]);

  const onEdgesChange = useCallback((changes: EdgeChange[]) => {
    const removed = new Set(changes.filter((c) => c.type === "remove").map((c) => c.id));
    for (const change of changes) {
      if (change.type === "select") setSelectedEdges((s) => (change.selected ? [...s, change.id] : s.filter((id) => id !== change.id)));
    }
    if (removed.size && !readOnly) {
      onChange((g) => (g.edges.some((e) => removed.has(edgeId(e))) ? { ...g, edges: g.edges.filter((e) => !removed.has(edgeId(e))) } : g));
    }
  }, [onChange, readOnly]);

  const onConnect = useCallback((connection: Connection) => {
    const edge = {
      source: connection.source,
      sourcePort: connection.sourceHandle ?? "",
      target: connection.target,
      targetPort: connection.targetHandle ?? "",
    };
    const check = checkConnection(graph, models, edge);
    if (!check.ok) {
      toast({ title: "These ports do not connect", description: check.reason, variant: "destructive" });
      return;
    }
    onChange((g) => ({ ...g, edges: [...g.edges, edge] }));
  }, [graph, models, onChange]);

  // A wire let go on empty canvas offers the nodes that could take it, placed right there.
  const onConnectEnd: OnConnectEnd = useCallback((event, state) => {
    if (state.isValid || state.toNode || !state.fromNode || !state.fromHandle?.id) return;
    const point = "changedTouches" in event ? event.changedTouches[0]! : event;
    const node = graph.nodes.find((n) => n.id === state.fromNode!.id);
    const model = node && models.get(node.modelId);
    const from = state.fromHandle.type;
    const port = (from === "source" ? model?.outputs : model?.inputs)?.find((p) => p.name === state.fromHandle!.id);
    if (!node || !port) return;
    const at = { x: point.clientX, y: point.clientY };
    setMenu({ kind: "wire", at, cell: landingCell(graph, cellAt(at.x, at.y)), wire: { nodeId: node.id, port: port.name, type: port.type, from } });
  }, [cellAt, graph, models]);

  const nodeActions: NodeActions = useMemo(() => ({
    runNodes: actions.runNodes,
    dropAsset: actions.dropAsset,
    readOnly,
    openMenu: (nodeId, at) => !readOnly && setMenu({ kind: "node", at, ids: selection.includes(nodeId) ? selection : [nodeId] }),
  }), [actions.runNodes, actions.dropAsset, readOnly, selection]);

  return (
    <NodeActionsContext.Provider value={nodeActions}>
      <div
        ref={wrapper}
        className="h-full w-full"
        data-testid="canvas"
        onDragOver={(e) => {
          if (readOnly || !(e.dataTransfer.types.includes(MODEL_MIME) || e.dataTransfer.types.includes(ASSET_MIME))) return;
          e.preventDefault();
          e.dataTransfer.dropEffect = "copy";
          setDropCell(landingCell(graph, cellAt(e.clientX, e.clientY)));
        }}
        onDragLeave={(e) => {
          if (!wrapper.current?.contains(e.relatedTarget as Node | null)) setDropCell(null);
        }}
        onDrop={(e) => {
          const modelId = e.dataTransfer.getData(MODEL_MIME);
          const assetId = e.dataTransfer.getData(ASSET_MIME);
          // A gallery image dropped on an empty cell starts the graph there: an Image node.
          const imageModel = [...models.values()].find((m) => m.utility && m.outputs.some((p) => p.type === "IMAGE"));
          const model = modelId ? models.get(modelId) : assetId ? imageModel : undefined;
          setDropCell(null);
          if (!model || readOnly) return;
          e.preventDefault();
          actions.addNode(model, landingCell(graph, cellAt(e.clientX, e.clientY)), undefined, assetId && !modelId ? { image_url: assetId } : undefined);
        }}
      >
        <ReactFlow
          nodes={nodes}
          edges={edges}
          nodeTypes={nodeTypes}
          onNodesChange={onNodesChange}
          onEdgesChange={onEdgesChange}
          onConnect={onConnect}
          onConnectEnd={readOnly ? undefined : onConnectEnd}
          nodesConnectable={!readOnly}
          onPaneClick={(event) => {
            onSelectionChange([]);
            setSelectedEdges([]);
            onPaneCell(readOnly ? null : cellAt(event.clientX, event.clientY));
          }}
          onNodeContextMenu={(event, node) => {
            event.preventDefault();
            if (readOnly) return;
            setMenu({ kind: "node", at: { x: event.clientX, y: event.clientY }, ids: selection.includes(node.id) ? selection : [node.id] });
          }}
          onEdgeContextMenu={(event, edge) => {
            event.preventDefault();
            if (!readOnly) setMenu({ kind: "edge", at: { x: event.clientX, y: event.clientY }, edgeId: edge.id });
          }}
          onPaneContextMenu={(event) => {
            event.preventDefault();
            if (readOnly) return;
            const cell = cellAt(event.clientX, event.clientY);
            onPaneCell(cell);
            setMenu({ kind: "pane", at: { x: event.clientX, y: event.clientY }, cell: landingCell(graph, cell) });
          }}
          multiSelectionKeyCode={["Shift", "Meta", "Control"]}
          selectionKeyCode="Shift"
          deleteKeyCode={readOnly ? null : ["Delete", "Backspace"]}
          fitView
          fitViewOptions={{ maxZoom: 1, minZoom: READABLE_ZOOM, padding: FIT_PADDING }}
          minZoom={0.2}
          proOptions={{ hideAttribution: true }}
        >
          <Background variant={BackgroundVariant.Lines} gap={[CELL_W, CELL_H]} color="var(--border)" />
          <ViewportPortal>
            {landing.map((cell) => <CellHighlight key={cell.id} cell={cell} testId="landing-cell" />)}
            {dropCell && <CellHighlight cell={dropCell} testId="drop-cell" />}
          </ViewportPortal>
          <MiniMap pannable zoomable className="!h-24 !w-36 max-sm:!hidden" nodeColor="var(--muted-foreground)" maskColor="color-mix(in oklch, var(--background) 70%, transparent)" />
          <Controls showInteractive={false} />
        </ReactFlow>
      </div>
      <CanvasMenu menu={menu} models={modelList} actions={actions} onClose={() => setMenu(null)} />
    </NodeActionsContext.Provider>
  );
}

/** The cell a node will land on: a dashed outline behind the nodes. */
function CellHighlight({ cell, testId }: { cell: Cell; testId: string }) {
  const { x, y } = cellPosition(cell.col, cell.row);
  return (
    <div
      data-testid={testId}
      className="pointer-events-none absolute rounded-xl border-2 border-dashed border-primary bg-primary/10"
      style={{ transform: `translate(${x}px, ${y}px)`, width: 240, height: 260 }}
    />
  );
}

function sameData(a: ModelFlowNode["data"], b: ModelFlowNode["data"]): boolean {
  return a.model === b.model && (a.run === b.run || JSON.stringify(a.run) === JSON.stringify(b.run)) && a.problem === b.problem
    && a.warning === b.warning && a.text === b.text && JSON.stringify(a.imageInputs) === JSON.stringify(b.imageInputs);
}

const ASSET_ID = /^[0-9a-f-]{36}$/i;

function imageInputsOf(node: Graph["nodes"][number], model: ModelInfo | undefined, graph: Graph, urls: Map<string, string>): Record<string, string | null> {
  const given: Record<string, string | null> = {};
  for (const name of imageParamsOf(model)) {
    const value = node.params[name];
    const wired = graph.edges.some((e) => e.target === node.id && e.targetPort === name);
    if (!wired && typeof value === "string" && ASSET_ID.test(value)) given[name] = urls.get(value) ?? null;
    else if (!wired && typeof value === "string" && value.startsWith("https://")) given[name] = value;
  }
  return given;
}

/** The gallery asset ids a graph uses as (unwired) image inputs. */
export function assetIdsOf(graph: Graph): string[] {
  const ids = new Set<string>();
  for (const node of graph.nodes) for (const value of Object.values(node.params)) if (typeof value === "string" && ASSET_ID.test(value)) ids.add(value);
  return [...ids];
}
