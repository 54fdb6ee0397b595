/** Ready-made graphs for "New from template". Each is a plain WorkflowInput; what a template
 * cannot know (the user's image, the user's LoRA) comes from `TemplateContext`. */
import type { Graph } from "@/features/editor/graph";

export const FLUX = "fal-ai/flux/dev";
export const FLUX_LORA = "fal-ai/flux-lora";
export const WAN = "fal-ai/wan/v2.2-a14b/image-to-video";

export interface TemplateContext {
  /** The newest image in the user's gallery, for templates that start from an image. */
  imageAssetId?: string | null;
  /** The user's first FLUX LoRA, for the style pass. */
  fluxLoraId?: string | null;
}

export interface Template {
  id: string;
  name: string;
  description: string;
  models: string[];
  /** Why it cannot be used yet (in the user's words), or null. */
  missing: (context: TemplateContext) => string | null;
  build: (context: TemplateContext) => Graph;
}

const FLUX_PROMPT = "A lighthouse on a cliff at dusk, cinematic light";
const flux = (id: string, col: number, prompt = FLUX_PROMPT) => ({ id, modelId: FLUX, col, row: 0, params: { prompt, image_size: "landscape_4_3", num_inference_steps: 28 } });
const wan = (id: string, col: number, params: Record<string, unknown> = {}) => ({
  id, modelId: WAN, col, row: 0, params: { prompt: "The camera slowly pushes in", num_frames: 81, resolution: "480p", ...params },
});

export const TEMPLATES: Template[] = [
  {
    id: "text-to-image",
    name: "Text to image",
    description: "One FLUX node: write a prompt, get an image.",
    models: [FLUX],
    missing: () => null,
    build: () => ({ name: "Text to image", nodes: [flux("n1", 0)], edges: [] }),
  },
  {
    id: "image-to-video",
    name: "Image to video",
    description: "Wan 2.2 animates an image from your gallery.",
    models: [WAN],
    missing: (c) => (c.imageAssetId ? null : "Needs an image in your gallery: run Text to image first."),
    build: (c) => ({ name: "Image to video", nodes: [wan("n1", 0, { image_url: c.imageAssetId })], edges: [] }),
  },
  {
    id: "text-to-image-to-video",
    name: "Text to image to video",
    description: "FLUX makes an image; Wan 2.2 turns it into a short video.",
    models: [FLUX, WAN],
    missing: () => null,
    build: () => ({
      name: "Text to image to video",
      nodes: [flux("n1", 0), wan("n2", 1)],
      edges: [{ source: "n1", sourcePort: "image", target: "n2", targetPort: "image_url" }],
    }),
  },
  {
    id: "lora-style",
    name: "LoRA style pass",
    description: "FLUX with your own LoRA style; add or change LoRAs in the node's settings.",
    models: [FLUX_LORA],
    missing: () => null,
    build: (c) => ({
      name: "LoRA style pass",
      nodes: [{
        id: "n1", modelId: FLUX_LORA, col: 0, row: 0,
        params: { prompt: "A harbour town, in my style", image_size: "landscape_4_3", loras: c.fluxLoraId ? [{ lora_id: c.fluxLoraId, scale: 0.8 }] : [] },
      }],
      edges: [],
    }),
  },
];
