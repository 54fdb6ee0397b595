import { checkConnection, freeCell, nearestCell, type Graph, type ModelInfo } from "./graph";

const flux: ModelInfo = {
  id: "flux", name: "FLUX", allowed: true, supportsLora: false, priceDescription: "", paramsSchema: {},
  inputs: [{ name: "prompt", type: "TEXT", required: true }], outputs: [{ name: "image", type: "IMAGE", required: true }],
};
const wan: ModelInfo = {
  id: "wan", name: "Wan", allowed: true, supportsLora: false, priceDescription: "", paramsSchema: {},
  inputs: [{ name: "image_url", type: "IMAGE", required: true }, { name: "prompt", type: "TEXT", required: true }],
  outputs: [{ name: "video", type: "VIDEO", required: true }],
};
const models = new Map([["flux", flux], ["wan", wan]]);
const graph: Graph = {
  name: "g",
  nodes: [
    { id: "a", modelId: "flux", col: 0, row: 0, params: {} },
    { id: "b", modelId: "wan", col: 1, row: 0, params: {} },
    { id: "c", modelId: "wan", col: 2, row: 0, params: {} },
  ],
  edges: [],
};

describe("checkConnection", () => {
  it("accepts an image output into an image input", () => {
    expect(checkConnection(graph, models, { source: "a", sourcePort: "image", target: "b", targetPort: "image_url" })).toEqual({ ok: true });
  });
  it("refuses a video output into an image input and says why", () => {
    const result = checkConnection(graph, models, { source: "b", sourcePort: "video", target: "c", targetPort: "image_url" });
    expect(result).toEqual({ ok: false, reason: "video output cannot feed the image input image_url." });
  });
  it("refuses a second wire into the same input", () => {
    const wired = { ...graph, edges: [{ source: "a", sourcePort: "image", target: "b", targetPort: "image_url" }] };
    const result = checkConnection(wired, models, { source: "a", sourcePort: "image", target: "b", targetPort: "image_url" });
    expect(result.ok).toBe(false);
  });
});

describe("the grid", () => {
  it("snaps a dropped position to the nearest whole cell", () => {
    expect(nearestCell(320, 310)).toEqual({ col: 1, row: 1 });
    expect(nearestCell(-40, 10)).toEqual({ col: 0, row: 0 });
  });
  it("finds a free cell next to occupied ones", () => {
    expect(freeCell(graph, 0, 0)).toEqual({ col: 0, row: 1 });
  });
});
