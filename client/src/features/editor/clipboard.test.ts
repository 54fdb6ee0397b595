import { copyNodes, parseSnippet, pasteNodes } from "./clipboard";
import { humanize, moveNodes, portLabel, type Graph } from "./graph";

const graph: Graph = {
  name: "g",
  nodes: [
    { id: "n1", modelId: "flux", col: 0, row: 0, params: { prompt: "a" } },
    { id: "n2", modelId: "wan", col: 1, row: 0, params: {} },
    { id: "n3", modelId: "wan", col: 2, row: 0, params: {} },
  ],
  edges: [
    { source: "n1", sourcePort: "image", target: "n2", targetPort: "image_url" },
    { source: "n1", sourcePort: "image", target: "n3", targetPort: "image_url" },
  ],
};

describe("copy and paste", () => {
  it("copies the chosen nodes and only the wires between them", () => {
    const snippet = copyNodes(graph, ["n1", "n2"])!;
    expect(snippet.nodes.map((n) => n.id)).toEqual(["n1", "n2"]);
    expect(snippet.edges).toHaveLength(1);
  });

  it("pastes with fresh ids, the same layout and the wires between the copies", () => {
    const { graph: next, ids } = pasteNodes(graph, copyNodes(graph, ["n1", "n2"])!, { col: 0, row: 1 });
    expect(ids).toEqual(["n4", "n5"]);
    expect(next.nodes.slice(3).map((n) => [n.col, n.row])).toEqual([[0, 1], [1, 1]]);
    expect(next.edges.at(-1)).toEqual({ source: "n4", sourcePort: "image", target: "n5", targetPort: "image_url" });
  });

  it("never pastes onto an occupied cell", () => {
    const { graph: next } = pasteNodes(graph, copyNodes(graph, ["n1"])!, { col: 0, row: 0 });
    const cells = next.nodes.map((n) => `${n.col},${n.row}`);
    expect(new Set(cells).size).toBe(cells.length);
  });

  it("reads only its own format back", () => {
    expect(parseSnippet("not json")).toBeNull();
    expect(parseSnippet(JSON.stringify({ kind: "other" }))).toBeNull();
    expect(parseSnippet(JSON.stringify(copyNodes(graph, ["n1"])))).not.toBeNull();
  });
});

describe("moving several nodes", () => {
  it("moves a group together, and a node aimed at a taken cell lands on a free one", () => {
    const next = moveNodes(graph, { n1: { col: 0, row: 1 }, n2: { col: 2, row: 0 } });
    expect(next.nodes.find((n) => n.id === "n1")).toMatchObject({ col: 0, row: 1 });
    const n2 = next.nodes.find((n) => n.id === "n2")!;
    expect([n2.col, n2.row]).not.toEqual([2, 0]);
  });
});

describe("names for people", () => {
  it("humanises ports and enum values", () => {
    expect(portLabel("image_url")).toBe("Image");
    expect(portLabel("loras")).toBe("LoRAs");
    expect(humanize("landscape_4_3")).toBe("Landscape 4:3");
    expect(humanize("square_hd")).toBe("Square HD");
    expect(humanize("portrait_16_9")).toBe("Portrait 16:9");
  });
});

describe("API messages for people", () => {
  it("names fields the way the form does", async () => {
    const { humanizeFields } = await import("./graph");
    expect(humanizeFields("Node n2 needs its image_url input")).toBe("Node n2 needs its image input");
  });
});
