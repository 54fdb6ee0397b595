import { parseWorkflowFile, toWorkflowFile } from "@/features/editor/workflowFile";
import { TEMPLATES } from "./templates";

describe("templates", () => {
  it("are valid workflow files, with every wire between nodes they contain", () => {
    for (const template of TEMPLATES) {
      const graph = template.build({ imageAssetId: "00000000-0000-0000-0000-000000000001", fluxLoraId: "00000000-0000-0000-0000-000000000002" });
      expect(parseWorkflowFile(JSON.stringify(toWorkflowFile(graph)))).toEqual({ ok: true, graph });
    }
  });
  it("say what they need before they can be used", () => {
    const i2v = TEMPLATES.find((t) => t.id === "image-to-video")!;
    expect(i2v.missing({})).toMatch(/image in your gallery/);
    expect(i2v.missing({ imageAssetId: "x" })).toBeNull();
  });
});
