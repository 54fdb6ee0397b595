"""The model catalog: what each fal model takes and gives, what it costs and who may use
it. Adding a model is adding one entry to CATALOG."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services.accounts.viewer import Role


class PortType(StrEnum):
    TEXT = "TEXT"
    IMAGE = "IMAGE"
    VIDEO = "VIDEO"
    LORA = "LORA"
    NUMBER = "NUMBER"


@dataclass(frozen=True)
class Port:
    name: str
    type: PortType
    required: bool = True


@dataclass(frozen=True)
class ModelSpec:
    id: str
    name: str
    description: str
    inputs: tuple[Port, ...]
    outputs: tuple[Port, ...]
    params_schema: Mapping[str, Any]
    price_description: str
    # Cost in (possibly fractional) cents for fully defaulted params.
    price: Callable[[Mapping[str, Any]], float]
    roles: frozenset[Role]
    # The base model a LoRA must be trained for to be used here; None: no LoRAs.
    lora_base: str | None = None
    # Utility nodes (Text, Image) are their value: they cost nothing, never go to fal, and
    # count as done when the run starts. This names the parameter holding the value.
    value_param: str | None = None

    @property
    def instant(self) -> bool:
        return self.value_param is not None

    @property
    def image_params(self) -> tuple[str, ...]:
        """Parameters that hold an image (a gallery asset id or an https URL)."""
        names = [p.name for p in self.inputs if p.type == PortType.IMAGE]
        if self.value_param and any(p.type == PortType.IMAGE for p in self.outputs):
            names.append(self.value_param)
        return tuple(names)

    @property
    def supports_lora(self) -> bool:
        return self.lora_base is not None

    def allowed(self, role: Role) -> bool:
        return role in self.roles

    def input(self, name: str) -> Port | None:
        return next((p for p in self.inputs if p.name == name), None)

    def output(self, name: str) -> Port | None:
        return next((p for p in self.outputs if p.name == name), None)

    def with_defaults(self, params: Mapping[str, Any]) -> dict[str, Any]:
        props = self.params_schema.get("properties", {})
        filled = {k: v["default"] for k, v in props.items() if "default" in v}
        filled.update(params)
        return filled

    def estimate_cents(self, params: Mapping[str, Any]) -> int:
        # Whole cents, rounded up per node: we never quote less than fal will bill.
        return math.ceil(round(self.price(self.with_defaults(params)), 6))


LORA_BASE_MODELS = ("flux-dev", "wan-2.2")
EVERYONE = frozenset(Role)
PAID = frozenset({Role.PRO, Role.ADMIN})

IMAGE_SIZES = {
    "square_hd": (1024, 1024),
    "square": (512, 512),
    "portrait_4_3": (768, 1024),
    "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768),
    "landscape_16_9": (1024, 576),
}


def image_dimensions(image_size: Any) -> tuple[int, int]:
    if isinstance(image_size, Mapping):
        return int(image_size["width"]), int(image_size["height"])
    return IMAGE_SIZES[str(image_size)]


def _per_megapixel(cents: float) -> Callable[[Mapping[str, Any]], float]:
    def price(params: Mapping[str, Any]) -> float:
        width, height = image_dimensions(params["image_size"])
        # fal bills each image by its megapixels, rounded up to a whole megapixel.
        megapixels = math.ceil(width * height / 1_000_000)
        return cents * megapixels * int(params["num_images"])

    return price


WAN_CENTS_PER_SECOND = {"720p": 8.0, "580p": 6.0, "480p": 4.0}
WAN_BILLING_FPS = 16


def _wan_price(params: Mapping[str, Any]) -> float:
    seconds = int(params["num_frames"]) / WAN_BILLING_FPS
    return WAN_CENTS_PER_SECOND[str(params["resolution"])] * seconds


SEED = {"type": ["integer", "null"], "minimum": 0, "maximum": 2**32 - 1, "title": "Seed"}
PROMPT = {"type": "string", "maxLength": 4000, "title": "Prompt", "format": "textarea"}
LORAS = {
    "type": "array",
    "title": "LoRAs",
    "maxItems": 3,
    "default": [],
    "items": {
        "type": "object",
        "required": ["lora_id"],
        "additionalProperties": False,
        "properties": {
            "lora_id": {"type": "string", "format": "uuid", "title": "LoRA"},
            "scale": {"type": "number", "minimum": 0, "maximum": 4, "default": 1, "title": "Scale"},
        },
    },
}

FLUX_PARAMS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "prompt": PROMPT,
        "image_size": {
            "title": "Image size",
            "default": "landscape_4_3",
            "anyOf": [
                {"type": "string", "enum": list(IMAGE_SIZES)},
                {
                    "type": "object",
                    "required": ["width", "height"],
                    "additionalProperties": False,
                    "properties": {
                        "width": {"type": "integer", "minimum": 64, "maximum": 14142},
                        "height": {"type": "integer", "minimum": 64, "maximum": 14142},
                    },
                },
            ],
        },
        "num_inference_steps": {
            "type": "integer",
            "minimum": 1,
            "maximum": 50,
            "default": 28,
            "title": "Steps",
        },
        "seed": SEED,
        "guidance_scale": {
            "type": "number",
            "minimum": 1,
            "maximum": 20,
            "default": 3.5,
            "title": "Guidance",
        },
        "num_images": {
            "type": "integer",
            "minimum": 1,
            "maximum": 4,
            "default": 1,
            "title": "Images",
        },
        "enable_safety_checker": {"type": "boolean", "default": True, "title": "Safety checker"},
        "output_format": {
            "type": "string",
            "enum": ["jpeg", "png"],
            "default": "jpeg",
            "title": "Format",
        },
        "acceleration": {
            "type": "string",
            "enum": ["none", "regular", "high"],
            "default": "none",
            "title": "Acceleration",
        },
    },
}

WAN_PARAMS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "prompt": PROMPT,
        "image_url": {"type": "string", "maxLength": 2048, "title": "Image (URL or gallery asset)"},
        "num_frames": {
            "type": "integer",
            "minimum": 17,
            "maximum": 161,
            "default": 81,
            "title": "Frames",
        },
        "frames_per_second": {
            "type": "integer",
            "minimum": 4,
            "maximum": 60,
            "default": 16,
            "title": "Frames per second",
        },
        "resolution": {
            "type": "string",
            "enum": ["480p", "580p", "720p"],
            "default": "720p",
            "title": "Resolution",
        },
        "aspect_ratio": {
            "type": "string",
            "enum": ["auto", "16:9", "9:16", "1:1"],
            "default": "auto",
            "title": "Aspect ratio",
        },
        "negative_prompt": {
            "type": "string",
            "maxLength": 4000,
            "default": "",
            "title": "Negative prompt",
        },
        "num_inference_steps": {
            "type": "integer",
            "minimum": 2,
            "maximum": 40,
            "default": 27,
            "title": "Steps",
        },
        "guidance_scale": {
            "type": "number",
            "minimum": 1,
            "maximum": 10,
            "default": 3.5,
            "title": "Guidance",
        },
        "seed": SEED,
        "enable_safety_checker": {"type": "boolean", "default": False, "title": "Safety checker"},
    },
}


def _with_loras(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "properties": {**schema["properties"], "loras": LORAS}}


TEXT_PROMPT = Port("prompt", PortType.TEXT)
IMAGE_OUT = (Port("image", PortType.IMAGE),)
VIDEO_OUT = (Port("video", PortType.VIDEO),)
LORA_IN = Port("loras", PortType.LORA, required=False)
WAN_INPUTS = (Port("image_url", PortType.IMAGE), TEXT_PROMPT)
WAN_PRICE = "$0.08 per video second at 720p, $0.06 at 580p, $0.04 at 480p (16 fps)"

TEXT_NODE = "lattice/text"
IMAGE_NODE = "lattice/image"

TEXT_PARAMS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "text": {"type": "string", "maxLength": 4000, "title": "Text", "format": "textarea"}
    },
}
IMAGE_PARAMS: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "image_url": {"type": "string", "maxLength": 2048, "title": "Image (URL or gallery asset)"}
    },
}


def _free(_: Mapping[str, Any]) -> float:
    return 0.0


CATALOG: dict[str, ModelSpec] = {
    spec.id: spec
    for spec in (
        ModelSpec(
            id="fal-ai/flux/dev",
            name="FLUX.1 [dev] text-to-image",
            description="High-quality images from a text prompt.",
            inputs=(TEXT_PROMPT,),
            outputs=IMAGE_OUT,
            params_schema=FLUX_PARAMS,
            price_description="$0.025 per megapixel",
            price=_per_megapixel(2.5),
            roles=EVERYONE,
        ),
        ModelSpec(
            id="fal-ai/flux-lora",
            name="FLUX.1 [dev] with LoRAs",
            description="FLUX dev text-to-image with your own LoRA styles.",
            inputs=(TEXT_PROMPT, LORA_IN),
            outputs=IMAGE_OUT,
            params_schema=_with_loras(FLUX_PARAMS),
            price_description="$0.035 per megapixel",
            price=_per_megapixel(3.5),
            roles=PAID,
            lora_base="flux-dev",
        ),
        ModelSpec(
            id="fal-ai/wan/v2.2-a14b/image-to-video",
            name="Wan 2.2 image-to-video",
            description="Animates an image into a short video guided by a prompt.",
            inputs=WAN_INPUTS,
            outputs=VIDEO_OUT,
            params_schema=WAN_PARAMS,
            price_description=WAN_PRICE,
            price=_wan_price,
            roles=PAID,
        ),
        ModelSpec(
            id="fal-ai/wan/v2.2-a14b/image-to-video/lora",
            name="Wan 2.2 image-to-video with LoRAs",
            description="Wan 2.2 image-to-video with your own LoRAs.",
            inputs=(*WAN_INPUTS, LORA_IN),
            outputs=VIDEO_OUT,
            params_schema=_with_loras(WAN_PARAMS),
            price_description=WAN_PRICE,
            price=_wan_price,
            roles=PAID,
            lora_base="wan-2.2",
        ),
        ModelSpec(
            id=TEXT_NODE,
            name="Text",
            description="A prompt to share: wire it into the prompt of several nodes.",
            inputs=(),
            outputs=(Port("text", PortType.TEXT),),
            params_schema=TEXT_PARAMS,
            price_description="Free",
            price=_free,
            roles=EVERYONE,
            value_param="text",
        ),
        ModelSpec(
            id=IMAGE_NODE,
            name="Image",
            description="A gallery image, an upload or an https URL to start a graph from.",
            inputs=(),
            outputs=IMAGE_OUT,
            params_schema=IMAGE_PARAMS,
            price_description="Free",
            price=_free,
            roles=EVERYONE,
            value_param="image_url",
        ),
    )
}
