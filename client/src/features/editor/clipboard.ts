/** Copy and paste of nodes, within a workflow and across workflows (and tabs): the copied
 * nodes travel as JSON in localStorage, and on the system clipboard when the browser allows. */
import { freeCell, landingCell, newNodeId, type Cell, type Graph, type GraphEdge, type GraphNode } from "./graph";

export interface Snippet {
  kind: "lattice/nodes";
  nodes: GraphNode[];
  /** Only wires between copied nodes; a wire to a node left behind has nothing to attach to. */
  edges: GraphEdge[];
}

const KEY = "lattice-clipboard";

export function copyNodes(graph: Graph, ids: string[]): Snippet | null {
  const nodes = graph.nodes.filter((n) => ids.includes(n.id));
  if (!nodes.length) return null;
  const edges = graph.edges.filter((e) => ids.includes(e.source) && ids.includes(e.target));
  return { kind: "lattice/nodes", nodes, edges };
}

/** Adds the snippet's nodes with fresh ids, keeping their layout, from `at` (or beside the graph). */
export function pasteNodes(graph: Graph, snippet: Snippet, at?: Cell): { graph: Graph; ids: string[] } {
  const minCol = Math.min(...snippet.nodes.map((n) => n.col));
  const minRow = Math.min(...snippet.nodes.map((n) => n.row));
  const origin = at ?? freeCell(graph, minCol + 1, minRow);
  const renamed = new Map<string, string>();
  let next = graph;
  for (const node of snippet.nodes) {
    const id = newNodeId(next);
    renamed.set(node.id, id);
    const cell = landingCell(next, { col: origin.col + node.col - minCol, row: origin.row + node.row - minRow });
    next = { ...next, nodes: [...next.nodes, { ...node, id, ...cell, params: structuredClone(node.params) }] };
  }
  const edges = snippet.edges.map((e) => ({ ...e, source: renamed.get(e.source)!, target: renamed.get(e.target)! }));
  return { graph: { ...next, edges: [...next.edges, ...edges] }, ids: [...renamed.values()] };
}

export function writeClipboard(snippet: Snippet): void {
  const json = JSON.stringify(snippet);
  localStorage.setItem(KEY, json);
  void navigator.clipboard?.writeText(json).catch(() => undefined);
}

export function readClipboard(): Snippet | null {
  return parseSnippet(localStorage.getItem(KEY));
}

export function parseSnippet(text: string | null): Snippet | null {
  if (!text) return null;
  try {
    const value = JSON.parse(text) as Partial<Snippet>;
    if (value.kind !== "lattice/nodes" || !Array.isArray(value.nodes) || !Array.isArray(value.edges) || !value.nodes.length) return null;
    return value as Snippet;
  } catch {
    return null;
  }
}
