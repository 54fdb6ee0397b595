"""What each model accepts (validated the way fal validates, with fal's 422 shape) and the
real media it makes: images with Pillow, H.264 videos with PyAV."""

from __future__ import annotations

import hashlib
import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import av
from PIL import Image, ImageDraw, ImageFont

IMAGE_SIZES = {
    "square_hd": (1024, 1024),
    "square": (512, 512),
    "portrait_4_3": (768, 1024),
    "portrait_16_9": (576, 1024),
    "landscape_4_3": (1024, 768),
    "landscape_16_9": (1024, 576),
}
RESOLUTIONS = {"480p": 480, "580p": 580, "720p": 720}
ASPECTS = {"16:9": 16 / 9, "9:16": 9 / 16, "1:1": 1.0}

Detail = list[dict[str, Any]]


def _error(field: str, message: str, kind: str, value: Any = None) -> dict[str, Any]:
    return {"loc": ["body", field], "msg": message, "type": kind, "input": value}


def _integer(args: dict[str, Any], name: str, low: int, high: int, errors: Detail) -> None:
    value = args.get(name)
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool):
        errors.append(_error(name, "Input should be a valid integer", "int_type", value))
    elif not low <= value <= high:
        errors.append(
            _error(name, f"Input should be between {low} and {high}", "value_error", value)
        )


def _choice(args: dict[str, Any], name: str, options: list[str], errors: Detail) -> None:
    value = args.get(name)
    if value is not None and value not in options:
        quoted = ", ".join(repr(o) for o in options)
        errors.append(_error(name, f"Input should be {quoted}", "literal_error", value))


def _required_text(args: dict[str, Any], name: str, errors: Detail) -> None:
    if not isinstance(args.get(name), str) or not args[name]:
        errors.append(_error(name, "Field required", "missing"))


def validate_flux(args: dict[str, Any]) -> Detail:
    errors: Detail = []
    _required_text(args, "prompt", errors)
    size = args.get("image_size", "landscape_4_3")
    if isinstance(size, dict):
        for side in ("width", "height"):
            if not isinstance(size.get(side), int) or not 1 <= size[side] <= 14142:
                errors.append(
                    _error(
                        "image_size",
                        f"{side} should be an integer up to 14142",
                        "value_error",
                        size,
                    )
                )
    elif size not in IMAGE_SIZES:
        _choice({"image_size": size}, "image_size", list(IMAGE_SIZES), errors)
    _integer(args, "num_images", 1, 4, errors)
    _integer(args, "num_inference_steps", 1, 50, errors)
    _choice(args, "output_format", ["jpeg", "png"], errors)
    _choice(args, "acceleration", ["none", "regular", "high"], errors)
    return errors


def validate_wan(args: dict[str, Any]) -> Detail:
    errors: Detail = []
    _required_text(args, "prompt", errors)
    _required_text(args, "image_url", errors)
    _integer(args, "num_frames", 17, 161, errors)
    _integer(args, "frames_per_second", 4, 60, errors)
    _choice(args, "resolution", list(RESOLUTIONS), errors)
    _choice(args, "aspect_ratio", ["auto", *ASPECTS], errors)
    return errors


def _palette(seed_text: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    digest = hashlib.sha256(seed_text.encode()).digest()
    return (digest[0], digest[1], digest[2]), (digest[3], digest[4], digest[5])


def render_image(prompt: str, seed: int, width: int, height: int, fmt: str) -> bytes:
    """A gradient in colours drawn from the prompt and seed, with the prompt written on it,
    so a person can tell outputs apart."""
    top, bottom = _palette(f"{prompt}:{seed}")
    image = Image.linear_gradient("L").resize((width, height))
    image = Image.composite(
        Image.new("RGB", (width, height), bottom), Image.new("RGB", (width, height), top), image
    )
    draw = ImageDraw.Draw(image)
    rng = random.Random(seed)
    for _ in range(6):
        x, y, r = (
            rng.randrange(width),
            rng.randrange(height),
            rng.randrange(max(8, width // 10), max(9, width // 4)),
        )
        draw.ellipse(
            (x - r, y - r, x + r, y + r), outline=(255, 255, 255), width=max(2, width // 200)
        )
    font = ImageFont.load_default(size=max(14, width // 28))
    draw.text((width // 20, height - height // 6), prompt[:60], fill=(255, 255, 255), font=font)
    out = io.BytesIO()
    image.save(out, format="PNG" if fmt == "png" else "JPEG", quality=88)
    return out.getvalue()


def video_size(source: Image.Image, resolution: str, aspect: str) -> tuple[int, int]:
    short = RESOLUTIONS[resolution]
    ratio = ASPECTS.get(aspect) or source.width / source.height
    width, height = (round(short * ratio), short) if ratio >= 1 else (short, round(short / ratio))
    return width - width % 2, height - height % 2  # yuv420p needs even sides


def render_video(source_bytes: bytes, frames: int, fps: int, resolution: str, aspect: str) -> bytes:
    """A slow zoom into the input image: exactly `frames` H.264 frames at `fps`."""
    with Image.open(io.BytesIO(source_bytes)) as opened:
        source = opened.convert("RGB")
    width, height = video_size(source, resolution, aspect)
    base = source.resize((width, height), Image.Resampling.BILINEAR)
    out = io.BytesIO()
    with av.open(out, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for index in range(frames):
            zoom = 1 + 0.15 * index / max(1, frames - 1)
            crop_w, crop_h = width / zoom, height / zoom
            left, top = (width - crop_w) / 2, (height - crop_h) / 2
            frame = base.resize(
                (width, height),
                Image.Resampling.BILINEAR,
                box=(left, top, left + crop_w, top + crop_h),
            )
            for packet in stream.encode(av.VideoFrame.from_image(frame)):  # type: ignore[no-untyped-call]
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


@dataclass(frozen=True)
class ModelSpec:
    validate: Callable[[dict[str, Any]], Detail]
    kind: str  # "image" | "video"


MODELS = {
    "fal-ai/flux/dev": ModelSpec(validate_flux, "image"),
    "fal-ai/flux-lora": ModelSpec(validate_flux, "image"),
    "fal-ai/wan/v2.2-a14b/image-to-video": ModelSpec(validate_wan, "video"),
    "fal-ai/wan/v2.2-a14b/image-to-video/lora": ModelSpec(validate_wan, "video"),
}


def image_dimensions(size: Any) -> tuple[int, int]:
    if isinstance(size, dict):
        return int(size["width"]), int(size["height"])
    return IMAGE_SIZES[str(size)]
