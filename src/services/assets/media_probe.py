"""Reads a media file's dimensions and duration, so the gallery can lay out a tile before
the file loads (no layout shift)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
from PIL import Image


@dataclass(frozen=True)
class MediaInfo:
    width: int | None
    height: int | None
    duration_seconds: float | None


def probe_image(data: bytes) -> MediaInfo:
    with Image.open(io.BytesIO(data)) as image:
        return MediaInfo(image.width, image.height, None)


def probe_video(data: bytes) -> MediaInfo:
    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.video[0]
        duration = None
        if stream.frames and stream.average_rate:
            duration = float(stream.frames / stream.average_rate)
        elif container.duration:
            duration = container.duration / 1_000_000
        return MediaInfo(stream.codec_context.width, stream.codec_context.height, duration)
