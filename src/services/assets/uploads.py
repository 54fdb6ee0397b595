"""Images a user uploads to feed a workflow become gallery assets like any output."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime, timedelta

from PIL import Image, UnidentifiedImageError

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


async def upload_image(
    db: Database, storage: Storage, viewer: Viewer, data: bytes, temporary_days: int
) -> AssetRecord:
    if viewer.suspended:
        raise Suspended()
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValidationFailed.single("TOO_LARGE", "Images can be at most 20 MB", field="file")
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            kind, size = image.format, image.size
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValidationFailed.single(
            "NOT_AN_IMAGE", "That file is not a JPEG, PNG or WebP image", field="file"
        ) from exc
    if kind not in ACCEPTED:
        raise ValidationFailed.single(
            "NOT_AN_IMAGE", "That file is not a JPEG, PNG or WebP image", field="file"
        )
    content_type, extension = ACCEPTED[kind]
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
