import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { ParamForm } from "./ParamForm";
import type { ModelInfo } from "./graph";

const wan: ModelInfo = {
  id: "wan", name: "Wan 2.2", allowed: true, supportsLora: false, priceDescription: "",
  inputs: [{ name: "image_url", type: "IMAGE", required: true }, { name: "prompt", type: "TEXT", required: true }],
  outputs: [{ name: "video", type: "VIDEO", required: true }],
  paramsSchema: {
    properties: {
      prompt: { type: "string", title: "Prompt", format: "textarea" },
      image_url: { type: "string", title: "Image" },
      num_frames: { type: "integer", minimum: 17, maximum: 161, default: 81, title: "Frames" },
      resolution: { type: "string", enum: ["480p", "580p", "720p"], default: "720p", title: "Resolution" },
      seed: { type: ["integer", "null"], minimum: 0, title: "Seed" },
    },
  },
};

function setup(params: Record<string, unknown> = {}, wired: string[] = []) {
  const onChange = vi.fn();
  render(<ParamForm node={{ id: "b", modelId: "wan", col: 0, row: 0, params }} model={wan} wiredInputs={wired}
    onChange={onChange} onPickImage={vi.fn()} onUpload={vi.fn()} />);
  return onChange;
}

describe("ParamForm", () => {
  it("renders a text area for the prompt and a select for an enum", () => {
    setup({ prompt: "waves" });
    expect(screen.getByLabelText("Prompt").tagName).toBe("TEXTAREA");
    expect(screen.getByRole("combobox", { name: "Resolution" })).toHaveTextContent("720p");
  });

  it("rejects an out-of-range number as it is typed and does not save it", async () => {
    const onChange = setup({ num_frames: 81 });
    const input = screen.getByLabelText("Frames");
    await userEvent.clear(input);
    await userEvent.type(input, "500");
    expect(screen.getByRole("alert")).toHaveTextContent("At most 161");
    expect(onChange).not.toHaveBeenCalledWith(expect.objectContaining({ num_frames: 500 }));
  });

  it("says a wired input comes from the wire instead of asking for it", () => {
    setup({}, ["image_url"]);
    expect(screen.getByText(/comes from the wire/)).toBeInTheDocument();
    expect(screen.queryByPlaceholderText(/pick from the gallery/)).not.toBeInTheDocument();
  });

  it("rolls a random seed with the dice", async () => {
    const onChange = setup({});
    await userEvent.click(screen.getByRole("button", { name: "Random seed" }));
    expect(onChange).toHaveBeenCalledWith(expect.objectContaining({ seed: expect.any(Number) }));
  });
});
