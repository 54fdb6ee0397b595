import { useCallback, useEffect, useMemo, useState } from "react";
import {
  Background,
  BackgroundVariant,
  Controls,
  MiniMap,
  ReactFlow,
  useReactFlow,
  type Connection,
  type Edge,
  type NodeChange,
  type EdgeChange,
} from "@xyflow/react";
import type { Problem } from "@/lib/errors";
import { toast } from "@/components/ui/toast";
import { CELL_H, CELL_W, cellPosition, checkConnection, edgeId, nearestCell, occupied, type Graph, type ModelInfo } from "./graph";
import { ModelNode, type ModelFlowNode, type NodeRunView } from "./ModelNode";

const nodeTypes = { model: ModelNode };

interface Props {
  graph: Graph;
  models: Map<string, ModelInfo>;
  runs: Map<string, NodeRunView>;
  problems: Problem[];
  selected: string | null;
  running: boolean;
  onSelect: (nodeId: string | null) => void;
  onChange: (update: (graph: Graph) => Graph) => void;
  onPaneCell: (cell: { col: number; row: number }) => void;
  onRunThis: (nodeId: string) => void;
  onDropAsset: (nodeId: string, assetId: string) => void;
}

/** The grid: nodes live in whole cells (col, row); dragging snaps to them. */
export function Canvas({ graph, models, runs, problems, selected, running, onSelect, onChange, onPaneCell, onRunThis, onDropAsset }: Props) {
  const flow = useReactFlow();
  // Where a node is while being dragged; on release it snaps into its cell.
  const [dragging, setDragging] = useState<Record<string, { x: number; y: number }>>({});
  // React Flow measures each node and hands the sizes back; controlled nodes must carry them.
  const [sizes, setSizes] = useState<Record<string, { width: number; height: number }>>({});

  // Keep every node in view as the graph grows (new nodes may land off-screen).
  const count = graph.nodes.length;
  useEffect(() => {
    const timer = setTimeout(() => void flow.fitView({ maxZoom: 1, padding: 0.25, duration: 200 }), 50);
    return () => clearTimeout(timer);
  }, [count, flow]);

  const nodes: ModelFlowNode[] = useMemo(
    () =>
      graph.nodes.map((n) => ({
        id: n.id,
        type: "model",
        position: dragging[n.id] ?? cellPosition(n.col, n.row),
        measured: sizes[n.id],
        selected: n.id === selected,
        data: {
          model: models.get(n.modelId),
          imageInputs: imageInputsOf(n, models.get(n.modelId), graph),
          run: runs.get(n.id),
          problem: problems.find((p) => p.nodeId === n.id)?.message,
          onRunThis,
          onDropAsset,
        },
      })),
    [graph, dragging, sizes, selected, models, runs, problems, onRunThis, onDropAsset],
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
      })),
    [graph.edges, running],
  );

  const onNodesChange = useCallback((changes: NodeChange<ModelFlowNode>[]) => {
    for (const change of changes) {
      if (change.type === "dimensions" && change.dimensions) {
        const dimensions = change.dimensions;
        setSizes((s) => ({ ...s, [change.id]: dimensions }));
      }
      if (change.type === "select" && change.selected) onSelect(change.id);
      if (change.type === "position" && change.position) {
        const position = change.position;
        if (change.dragging) {
          setDragging((d) => ({ ...d, [change.id]: position }));
        } else {
          const cell = nearestCell(position.x, position.y);
          setDragging((d) => {
            const { [change.id]: _, ...rest } = d;
            return rest;
          });
          onChange((g) => (occupied(g, cell.col, cell.row, change.id) ? g : {
            ...g,
            nodes: g.nodes.map((n) => (n.id === change.id ? { ...n, ...cell } : n)),
          }));
        }
      }
      if (change.type === "remove") {
        onChange((g) => ({
          ...g,
          nodes: g.nodes.filter((n) => n.id !== change.id),
          edges: g.edges.filter((e) => e.source !== change.id && e.target !== change.id),
        }));
        onSelect(null);
      }
    }
  }, [onChange, onSelect]);

  const onEdgesChange = useCallback((changes: EdgeChange[]) => {
    const removed = new Set(changes.filter((c) => c.type === "remove").map((c) => c.id));
    if (removed.size) onChange((g) => ({ ...g, edges: g.edges.filter((e) => !removed.has(edgeId(e))) }));
  }, [onChange]);

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

  return (
    <ReactFlow
      nodes={nodes}
      edges={edges}
      nodeTypes={nodeTypes}
      onNodesChange={onNodesChange}
      onEdgesChange={onEdgesChange}
      onConnect={onConnect}
      onPaneClick={(event) => {
        onSelect(null);
        const p = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
        onPaneCell({ col: Math.max(0, Math.floor(p.x / CELL_W)), row: Math.max(0, Math.floor(p.y / CELL_H)) });
      }}
      snapToGrid
      snapGrid={[CELL_W, CELL_H]}
      deleteKeyCode={["Delete", "Backspace"]}
      fitView
      fitViewOptions={{ maxZoom: 1, padding: 0.2 }}
      minZoom={0.2}
      proOptions={{ hideAttribution: true }}
    >
      <Background variant={BackgroundVariant.Lines} gap={[CELL_W, CELL_H]} color="var(--border)" />
      <MiniMap pannable zoomable className="!h-24 !w-36" />
      <Controls />
    </ReactFlow>
  );
}

const ASSET_ID = /^[0-9a-f-]{36}$/i;

function imageInputsOf(node: Graph["nodes"][number], model: ModelInfo | undefined, graph: Graph): Record<string, string> {
  const given: Record<string, string> = {};
  for (const port of model?.inputs ?? []) {
    const value = node.params[port.name];
    const wired = graph.edges.some((e) => e.target === node.id && e.targetPort === port.name);
    if (port.type === "IMAGE" && !wired && typeof value === "string" && ASSET_ID.test(value)) given[port.name] = value;
  }
  return given;
}
