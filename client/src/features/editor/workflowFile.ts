/**
 * The workflow file: what "Export" downloads and "Import" reads.
 *
 *   {
 *     "format": "lattice-workflow",   // always this string
 *     "version": 1,                   // the file format's version
 *     "name": "Lighthouse",           // the workflow's name
 *     "nodes": [{ "id": "n1", "modelId": "fal-ai/flux/dev", "col": 0, "row": 0, "params": { "prompt": "…" } }],
 *     "edges": [{ "source": "n1", "sourcePort": "image", "target": "n2", "targetPort": "image_url" }]
 *   }
 *
 * nodes and edges are exactly the API's WorkflowInput; col and row are whole grid cells; params
 * follow each model's paramsSchema (the API validates them again on import). Gallery assets
 * and LoRAs are referenced by id, so they only resolve for the account that owns them.
 */
import type { Graph, GraphEdge, GraphNode } from "./graph";

export const FORMAT = "lattice-workflow";
export const VERSION = 1;

export interface WorkflowFile extends Graph {
  format: typeof FORMAT;
  version: typeof VERSION;
}

export function toWorkflowFile(graph: Graph): WorkflowFile {
  return { format: FORMAT, version: VERSION, name: graph.name, nodes: graph.nodes, edges: graph.edges };
}

export type ParseResult = { ok: true; graph: Graph } | { ok: false; error: string };

/** Reads a file's text into a graph, or says in words what is wrong with it. */
export function parseWorkflowFile(text: string): ParseResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, error: "This file is not JSON. Choose a workflow exported from Lattice." };
  }
  if (!isObject(value) || value.format !== FORMAT) return { ok: false, error: "This is not a Lattice workflow file (no \"format\": \"lattice-workflow\")." };
  if (value.version !== VERSION) return { ok: false, error: `This file is format version ${String(value.version)}; this Lattice reads version ${VERSION}.` };
  if (typeof value.name !== "string" || !value.name.trim()) return { ok: false, error: "The workflow has no name." };
  if (!Array.isArray(value.nodes) || !Array.isArray(value.edges)) return { ok: false, error: "The file needs a list of nodes and a list of edges." };
  const ids = new Set<string>();
  const cells = new Set<string>();
  for (const [i, node] of value.nodes.entries()) {
    if (!isNode(node)) return { ok: false, error: `Node ${i + 1} needs an id, a modelId, whole-number col and row (0 or more) and params.` };
    if (ids.has(node.id)) return { ok: false, error: `Two nodes have the id ${node.id}.` };
    if (cells.has(`${node.col},${node.row}`)) return { ok: false, error: `Two nodes share the cell ${node.col}, ${node.row}.` };
    ids.add(node.id);
    cells.add(`${node.col},${node.row}`);
  }
  for (const [i, edge] of value.edges.entries()) {
    if (!isEdge(edge)) return { ok: false, error: `Edge ${i + 1} needs source, sourcePort, target and targetPort.` };
    if (!ids.has(edge.source) || !ids.has(edge.target)) return { ok: false, error: `Edge ${i + 1} joins a node that is not in the file.` };
  }
  const nodes = (value.nodes as GraphNode[]).map(({ id, modelId, col, row, params }) => ({ id, modelId, col, row, params }));
  const edges = (value.edges as GraphEdge[]).map(({ source, sourcePort, target, targetPort }) => ({ source, sourcePort, target, targetPort }));
  return { ok: true, graph: { name: value.name.trim(), nodes, edges } };
}

export function fileName(name: string): string {
  return `${name.trim().replace(/[^\w.-]+/g, "-").replace(/^-+|-+$/g, "") || "workflow"}.lattice.json`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isNode(value: unknown): value is GraphNode {
  return isObject(value) && typeof value.id === "string" && value.id !== "" && typeof value.modelId === "string"
    && Number.isInteger(value.col) && Number.isInteger(value.row) && (value.col as number) >= 0 && (value.row as number) >= 0
    && isObject(value.params);
}

function isEdge(value: unknown): value is GraphEdge {
  return isObject(value) && ["source", "sourcePort", "target", "targetPort"].every((k) => typeof value[k] === "string" && value[k] !== "");
}
