"""Temporary assets (fal-hosted, expiring) and persistent ones (copied into our storage),
and the periodic removal of expired temporary assets from the gallery."""

from __future__ import annotations

import mimetypes
import uuid
from collections.abc import Collection

import httpx

from services.accounts.viewer import Role, Viewer
from services.assets.gallery import COLUMNS, AssetRecord, get_asset
from services.assets.storage import Storage
from services.assets.url_safety import FAL_OUTPUT_HOSTS, check_fetchable
from services.platform.database import Database
from services.platform.errors import (
    LatticeError,
    NotFound,
    Suspended,
    UpgradeRequired,
    ValidationFailed,
)

MAX_COPY_BYTES = 200 * 1024 * 1024


class CopyFailed(LatticeError):
    code = "UNAVAILABLE"


async def persist_asset(
    db: Database,
    storage: Storage,
    http: httpx.AsyncClient,
    viewer: Viewer,
    asset_id: uuid.UUID,
    local_origins: Collection[str] = (),
) -> AssetRecord:
    if viewer.suspended:
        raise Suspended()
    if viewer.role == Role.FREE:
        raise UpgradeRequired("Keeping assets in persistent storage needs a Pro plan")
    asset = await get_asset(db, viewer, asset_id)
    if asset is None:
        raise NotFound("Asset", str(asset_id))
    if asset.storage == "PERSISTENT":
        return asset
    if asset.storage_path is not None:
        # Uploaded while on Free: the file is already in our storage, only its expiry goes.
        async with db.as_service() as conn:
            row = await conn.fetchrow(
                f"""
                update public.assets set storage = 'PERSISTENT', expires_at = null
                where id = $1 and user_id = $2 returning {COLUMNS}
                """,
                asset.id,
                viewer.id,
            )
        if row is None:
            raise NotFound("Asset", str(asset_id))
        return AssetRecord.from_row(row)
    if asset.source_url is None:
        raise NotFound("Asset", str(asset_id))
    # The server fetches this itself: fal's CDN only, and only at public addresses.
    try:
        await check_fetchable(
            asset.source_url, field="id", hosts=FAL_OUTPUT_HOSTS, local_origins=local_origins
        )
    except ValidationFailed as exc:
        raise CopyFailed(f"This file cannot be copied: {exc.message}") from exc
    data = await _download(http, asset.source_url)
    extension = mimetypes.guess_extension(asset.content_type) or ""
    path = f"{viewer.id}/{asset.id}{extension}"
    await storage.put(path, data, asset.content_type)
    async with db.as_service() as conn:
        row = await conn.fetchrow(
            f"""
            update public.assets set storage = 'PERSISTENT', storage_path = $3, expires_at = null,
              file_size_bytes = $4
            where id = $1 and user_id = $2 returning {COLUMNS}
            """,
            asset.id,
            viewer.id,
            path,
            len(data),
        )
    if row is None:  # deleted while we copied
        await storage.remove([path])
        raise NotFound("Asset", str(asset_id))
    return AssetRecord.from_row(row)


async def _download(http: httpx.AsyncClient, url: str) -> bytes:
    try:
        async with http.stream("GET", url, timeout=60.0, follow_redirects=False) as response:
            response.raise_for_status()
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_COPY_BYTES:
                    raise CopyFailed("This file is too large to keep")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as exc:
        raise CopyFailed("The file could not be fetched from fal; it may have expired") from exc


async def purge_expired(db: Database, storage: Storage) -> int:
    """Removes temporary assets past their expiry; returns how many."""
    async with db.as_service() as conn:
        rows = await conn.fetch(
            "delete from public.assets where storage = 'TEMPORARY' and expires_at < now() returning storage_path"
        )
    paths = [r["storage_path"] for r in rows if r["storage_path"]]
    if paths:
        await storage.remove(paths)
    return len(rows)
