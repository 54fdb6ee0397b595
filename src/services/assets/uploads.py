"""Images a user uploads to feed a workflow become gallery assets like any output."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import anyio
from PIL import Image, ImageOps, UnidentifiedImageError

from services.accounts.viewer import Role, Viewer
from services.assets.gallery import COLUMNS, AssetRecord
from services.assets.storage import Storage
from services.platform.database import Database
from services.platform.errors import Suspended, ValidationFailed

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
ACCEPTED = {
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "WEBP": ("image/webp", ".webp"),
}
UPLOAD_MODEL = "upload"
# Decoded, an image takes 4 bytes a pixel: 25 megapixels is 100 MB, larger than any model's
# input needs. The check reads only the header, before a pixel is decoded.
MAX_PIXELS = 25_000_000
# Decoding is CPU and memory heavy: a few at a time per process, on worker threads.
_decoders: anyio.CapacityLimiter | None = None


@dataclass(frozen=True)
class CleanImage:
    data: bytes
    format: str
    size: tuple[int, int]


def _not_an_image() -> ValidationFailed:
    return ValidationFailed.single(
        "NOT_AN_IMAGE", "That file is not a JPEG, PNG or WebP image", field="file"
    )


def _too_many_pixels() -> ValidationFailed:
    return ValidationFailed.single(
        "TOO_MANY_PIXELS",
        f"Images can have at most {MAX_PIXELS // 1_000_000} megapixels",
        field="file",
    )


def reencode(data: bytes) -> CleanImage:
    """Decodes the whole image under the pixel cap and encodes it afresh, so what we store is
    only pixels: no EXIF (GPS, camera serials), no comments, nothing appended to the file (an
    HTML or ZIP payload riding behind a valid image)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            if kind not in ACCEPTED:
                raise _not_an_image()
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise _too_many_pixels()
            image.load()
            # The orientation lives in the EXIF being dropped: apply it to the pixels.
            upright = ImageOps.exif_transpose(image)
            icc = image.info.get("icc_profile")
    except Image.DecompressionBombError as exc:
        # Pillow's own guard (twice its MAX_IMAGE_PIXELS) fires while opening, before ours.
        raise _too_many_pixels() from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _not_an_image() from exc
    if kind == "JPEG" and upright.mode not in ("RGB", "L", "CMYK"):
        upright = upright.convert("RGB")
    elif kind == "WEBP" and upright.mode not in ("RGB", "RGBA"):
        upright = upright.convert("RGBA" if "A" in upright.getbands() else "RGB")
    upright.info = {}  # nothing of the original's metadata rides along into the new file
    out = io.BytesIO()
    options: dict[str, object] = {"quality": 92} if kind in ("JPEG", "WEBP") else {}
    if icc:
        options["icc_profile"] = icc  # colour, not metadata about the person
    upright.save(out, format=kind, **options)
    return CleanImage(out.getvalue(), kind, upright.size)


async def _reencode_off_loop(data: bytes) -> CleanImage:
    global _decoders
    if _decoders is None:
        _decoders = anyio.CapacityLimiter(2)
    return await anyio.to_thread.run_sync(reencode, data, limiter=_decoders)


async def upload_image(
    db: Database, storage: Storage, viewer: Viewer, data: bytes, temporary_days: int
) -> AssetRecord:
    if viewer.suspended:
        raise Suspended()
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationFailed.single("TOO_LARGE", "Images can be at most 20 MB", field="file")
    image = await _reencode_off_loop(data)
    data, size = image.data, image.size
    content_type, extension = ACCEPTED[image.format]
    asset_id = uuid.uuid4()
    path = f"{viewer.id}/uploads/{asset_id}{extension}"
    await storage.put(path, data, content_type)
    # Free accounts keep nothing for good: their uploads expire like their outputs.
    persistent = viewer.role != Role.FREE
    expires = None if persistent else datetime.now(UTC) + timedelta(days=temporary_days)
    async with db.as_service() as conn:
        row = await conn.fetchrow(
            f"""
            insert into public.assets (id, user_id, kind, storage, storage_path, expires_at, width, height,
              content_type, file_size_bytes, model_id, source)
            values ($1, $2, 'IMAGE', $3, $4, $5, $6, $7, $8, $9, $10, 'UPLOADED')
            returning {COLUMNS}
            """,
            asset_id,
            viewer.id,
            "PERSISTENT" if persistent else "TEMPORARY",
            path,
            expires,
            size[0],
            size[1],
            content_type,
            len(data),
            UPLOAD_MODEL,
        )
    return AssetRecord.from_row(row)
