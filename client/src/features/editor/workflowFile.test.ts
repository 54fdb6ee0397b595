import { fileName, parseWorkflowFile, toWorkflowFile } from "./workflowFile";
import type { Graph } from "./graph";

const graph: Graph = {
  name: "Lighthouse",
  nodes: [
    { id: "n1", modelId: "fal-ai/flux/dev", col: 0, row: 0, params: { prompt: "a" } },
    { id: "n2", modelId: "fal-ai/wan/v2.2-a14b/image-to-video", col: 1, row: 0, params: {} },
  ],
  edges: [{ source: "n1", sourcePort: "image", target: "n2", targetPort: "image_url" }],
};

describe("the workflow file", () => {
  it("round-trips a graph", () => {
    expect(parseWorkflowFile(JSON.stringify(toWorkflowFile(graph)))).toEqual({ ok: true, graph });
  });
  it("says what is wrong with a bad file", () => {
    const bad = (value: unknown) => {
      const result = parseWorkflowFile(typeof value === "string" ? value : JSON.stringify(value));
      return result.ok ? null : result.error;
    };
    expect(bad("{")).toMatch(/not JSON/);
    expect(bad({ nodes: [] })).toMatch(/not a Lattice workflow/);
    expect(bad({ ...toWorkflowFile(graph), version: 9 })).toMatch(/version 9/);
    expect(bad({ ...toWorkflowFile(graph), nodes: [{ id: "n1" }] })).toMatch(/Node 1 needs/);
    expect(bad({ ...toWorkflowFile(graph), edges: [{ source: "n1", sourcePort: "image", target: "n9", targetPort: "image_url" }] })).toMatch(/not in the file/);
    expect(bad({ ...toWorkflowFile(graph), nodes: [graph.nodes[0], { ...graph.nodes[1], col: 0 }], edges: [] })).toMatch(/share the cell/);
  });
  it("drops unknown fields", () => {
    const extra = { ...toWorkflowFile(graph), nodes: graph.nodes.map((n) => ({ ...n, colour: "red" })) };
    const result = parseWorkflowFile(JSON.stringify(extra));
    expect(result.ok && result.graph.nodes[0]).toEqual(graph.nodes[0]);
  });
  it("names the download after the workflow", () => {
    expect(fileName("My lighthouse / v2")).toBe("My-lighthouse-v2.lattice.json");
  });
});
