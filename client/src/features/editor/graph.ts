/** The editor's graph model, free of React: grid geometry, connection rules, ids. */

export const CELL_W = 300;
export const CELL_H = 300;

export interface Port { name: string; type: string; required: boolean }
export interface ModelInfo {
  id: string;
  name: string;
  allowed: boolean;
  whyNotAllowed?: string | null;
  supportsLora: boolean;
  priceDescription: string;
  paramsSchema: unknown;
  inputs: Port[];
  outputs: Port[];
  /** A Text or Image node: free, no model call, done as the run starts. */
  utility?: boolean;
}
export interface GraphNode { id: string; modelId: string; col: number; row: number; params: Record<string, unknown> }
export interface GraphEdge { source: string; sourcePort: string; target: string; targetPort: string }
export interface Graph { name: string; nodes: GraphNode[]; edges: GraphEdge[] }

export function cellPosition(col: number, row: number): { x: number; y: number } {
  return { x: col * CELL_W, y: row * CELL_H };
}

export function nearestCell(x: number, y: number): { col: number; row: number } {
  return { col: Math.max(0, Math.round(x / CELL_W)), row: Math.max(0, Math.round(y / CELL_H)) };
}

export function occupied(graph: Graph, col: number, row: number, except?: string): boolean {
  return graph.nodes.some((n) => n.col === col && n.row === row && n.id !== except);
}

/** The free cell nearest to the wanted one, scanning outwards row by row. */
export function freeCell(graph: Graph, col = 0, row = 0): { col: number; row: number } {
  for (let radius = 0; radius < 50; radius++) {
    for (let dr = 0; dr <= radius; dr++) {
      for (let dc = 0; dc <= radius; dc++) {
        if (Math.max(dr, dc) !== radius) continue;
        if (!occupied(graph, col + dc, row + dr)) return { col: col + dc, row: row + dr };
      }
    }
  }
  return { col: graph.nodes.length, row: 0 };
}

export function newNodeId(graph: Graph): string {
  let i = graph.nodes.length + 1;
  while (graph.nodes.some((n) => n.id === `n${i}`)) i++;
  return `n${i}`;
}

export type ConnectionCheck = { ok: true } | { ok: false; reason: string };

/** Whether a wire may join these ports, and if not, why — in words a person understands. */
export function checkConnection(graph: Graph, models: Map<string, ModelInfo>, edge: GraphEdge): ConnectionCheck {
  if (edge.source === edge.target) return { ok: false, reason: "A node cannot feed itself." };
  const source = graph.nodes.find((n) => n.id === edge.source);
  const target = graph.nodes.find((n) => n.id === edge.target);
  const out = source && models.get(source.modelId)?.outputs.find((p) => p.name === edge.sourcePort);
  const input = target && models.get(target.modelId)?.inputs.find((p) => p.name === edge.targetPort);
  if (!out || !input) return { ok: false, reason: "Connect an output (right) to an input (left)." };
  if (out.type !== input.type) {
    return { ok: false, reason: `${out.type.toLowerCase()} output cannot feed the ${input.type.toLowerCase()} input ${input.name}.` };
  }
  if (graph.edges.some((e) => e.target === edge.target && e.targetPort === edge.targetPort)) {
    return { ok: false, reason: `Input ${input.name} already has a wire; remove it first.` };
  }
  if (reaches(graph, edge.target, edge.source)) return { ok: false, reason: "That wire would make a loop." };
  return { ok: true };
}

function reaches(graph: Graph, from: string, to: string): boolean {
  const pending = [from];
  const seen = new Set<string>();
  while (pending.length) {
    const current = pending.pop()!;
    if (current === to) return true;
    if (seen.has(current)) continue;
    seen.add(current);
    for (const e of graph.edges) if (e.source === current) pending.push(e.target);
  }
  return false;
}

export function edgeId(e: GraphEdge): string {
  return `${e.source}.${e.sourcePort}->${e.target}.${e.targetPort}`;
}

/** Starting parameters for a new node: the schema's defaults, and an example prompt so the
 * node is valid (and saved) from the moment it is placed. */
export function defaultParams(model: ModelInfo): Record<string, unknown> {
  const schema = model.paramsSchema as { properties?: Record<string, { default?: unknown }> };
  const params: Record<string, unknown> = {};
  for (const [name, property] of Object.entries(schema.properties ?? {})) {
    if (property.default !== undefined && name !== "loras") params[name] = property.default;
  }
  if (model.utility && model.outputs.some((p) => p.type === "TEXT")) params.text = "A lighthouse on a cliff at dusk, cinematic light";
  if (model.inputs.some((p) => p.name === "prompt")) {
    params.prompt = model.outputs.some((p) => p.type === "VIDEO") ? "The camera slowly pushes in" : "A lighthouse on a cliff at dusk, cinematic light";
  }
  return params;
}

export type Cell = { col: number; row: number };

/** Where a node dropped on `wanted` lands: there when free, else the nearest free cell
 * (the editor shows this cell while dragging, so the drop never surprises). */
export function landingCell(graph: Graph, wanted: Cell, moving: string[] = []): Cell {
  const others = { ...graph, nodes: graph.nodes.filter((n) => !moving.includes(n.id)) };
  return freeCell(others, Math.max(0, wanted.col), Math.max(0, wanted.row));
}

/** Moves nodes to new cells together; a node whose cell is taken lands on the nearest free one. */
export function moveNodes(graph: Graph, moves: Record<string, Cell>): Graph {
  const ids = Object.keys(moves);
  let placed: Graph = { ...graph, nodes: graph.nodes.filter((n) => !ids.includes(n.id)) };
  for (const node of graph.nodes) {
    if (!ids.includes(node.id)) continue;
    const cell = landingCell(placed, moves[node.id]!);
    placed = { ...placed, nodes: [...placed.nodes, { ...node, ...cell }] };
  }
  // Keep the original order, so saving a move does not reorder the workflow.
  const byId = new Map(placed.nodes.map((n) => [n.id, n]));
  return { ...graph, nodes: graph.nodes.map((n) => byId.get(n.id)!) };
}

export function removeNodes(graph: Graph, ids: string[]): Graph {
  return {
    ...graph,
    nodes: graph.nodes.filter((n) => !ids.includes(n.id)),
    edges: graph.edges.filter((e) => !ids.includes(e.source) && !ids.includes(e.target)),
  };
}

/** Models that can take a wire of this type, with the port it would plug into. */
export function modelsAccepting(models: ModelInfo[], type: string): { model: ModelInfo; port: Port }[] {
  return models.flatMap((model) => {
    const port = model.inputs.find((p) => p.type === type);
    return port ? [{ model, port }] : [];
  });
}

/** Models that can feed a wire of this type into an input, with their output port. */
export function modelsProducing(models: ModelInfo[], type: string): { model: ModelInfo; port: Port }[] {
  return models.flatMap((model) => {
    const port = model.outputs.find((p) => p.type === type);
    return port ? [{ model, port }] : [];
  });
}

const PORT_NAMES: Record<string, string> = {
  prompt: "Prompt",
  image: "Image",
  image_url: "Image",
  video: "Video",
  text: "Text",
  loras: "LoRAs",
  negative_prompt: "Negative prompt",
};

/** A port's name for people: "Image", not image_url. */
export function portLabel(name: string): string {
  return PORT_NAMES[name] ?? humanize(name);
}

/** "landscape_4_3" -> "Landscape 4:3", "square_hd" -> "Square HD": enum values for people. */
export function humanize(value: string): string {
  const words = value.split(/[_\s]+/).filter(Boolean);
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const next = words[i + 1];
    if (/^\d+$/.test(word) && next && /^\d+$/.test(next)) {
      out.push(`${word}:${next}`);
      i++;
    } else if (/^(hd|sd|uhd|fps|url|id|ai|jpeg|png|webp)$/i.test(word)) out.push(word.toUpperCase());
    else out.push(word);
  }
  const text = out.join(" ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The API names fields as the schema does ("needs its image_url input"); people read "Image". */
export function humanizeFields(message: string): string {
  return message.replace(/\b(?:its|the) ([a-z]+(?:_[a-z]+)+|prompt|loras) input\b/g, (_, field: string) => `its ${portLabel(field).toLowerCase()} input`);
}

/** The parameters of a node that hold an image (a gallery asset id or a URL): its image
 * inputs, and an Image node's own image. */
export function imageParamsOf(model: ModelInfo | undefined): string[] {
  if (!model) return [];
  const names = model.inputs.filter((p) => p.type === "IMAGE").map((p) => p.name);
  if (model.utility && model.outputs.some((p) => p.type === "IMAGE")) names.push("image_url");
  return names;
}
