"""The viewer's own LoRAs (Pro and Admin only)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

import asyncpg

from services.accounts.viewer import Role, Viewer
from services.assets.storage import Storage
from services.assets.url_safety import LORA_HOSTS, check_public_https_url
from services.platform.database import Database
from services.platform.errors import NotFound, UpgradeRequired, ValidationFailed
from services.workflows.catalog import LORA_BASE_MODELS


@dataclass(frozen=True)
class LoraRecord:
    id: uuid.UUID
    name: str
    # The link it was added from; for a file uploaded to our storage, None as stored and a
    # signed download link once `with_download_urls` has run.
    url: str | None
    base_model: str
    created_at: datetime
    storage_path: str | None = None

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> LoraRecord:
        return cls(
            row["id"],
            row["name"],
            row["url"],
            row["base_model"],
            row["created_at"],
            row["storage_path"],
        )


COLUMNS = "id, name, url, base_model, created_at, storage_path"


async def list_loras(db: Database, storage: Storage, viewer: Viewer) -> list[LoraRecord]:
    async with db.as_user(viewer.claims) as conn:
        rows = await conn.fetch(f"select {COLUMNS} from public.loras order by created_at desc")
    return await with_download_urls(storage, [LoraRecord.from_row(r) for r in rows])


async def with_download_urls(storage: Storage, records: list[LoraRecord]) -> list[LoraRecord]:
    """An uploaded file's `url` is a signed link to download it (it expires), so every LoRA
    has a link its owner can open; runs sign their own, fresh."""
    paths = [r.storage_path for r in records if r.storage_path]
    signed = await storage.signed_urls(paths) if paths else {}
    return [replace(r, url=signed.get(r.storage_path)) if r.storage_path else r for r in records]


def check_new_lora(viewer: Viewer, name: str, base_model: str) -> str:
    """The plan and the fields every new LoRA needs, linked or uploaded; the clean name."""
    if viewer.role == Role.FREE:
        raise UpgradeRequired("Custom LoRAs need a Pro plan")
    name = name.strip()
    if not 1 <= len(name) <= 120:
        raise ValidationFailed.single(
            "INVALID_NAME", "A LoRA needs a name of 1-120 characters", field="name"
        )
    if base_model not in LORA_BASE_MODELS:
        raise ValidationFailed.single(
            "INVALID_BASE_MODEL",
            f"baseModel must be one of {', '.join(LORA_BASE_MODELS)}",
            field="baseModel",
        )
    return name


async def add_lora(
    db: Database, viewer: Viewer, name: str, url: str, base_model: str
) -> LoraRecord:
    name = check_new_lora(viewer, name, base_model)
    url = check_public_https_url(url, field="url", hosts=LORA_HOSTS)
    async with db.as_user(viewer.claims) as conn:
        row = await conn.fetchrow(
            f"insert into public.loras (user_id, name, url, base_model) values ($1, $2, $3, $4) returning {COLUMNS}",
            viewer.id,
            name,
            url,
            base_model,
        )
    return LoraRecord.from_row(row)


async def delete_lora(db: Database, storage: Storage, viewer: Viewer, lora_id: uuid.UUID) -> bool:
    async with db.as_user(viewer.claims) as conn:
        deleted = await conn.fetchrow(
            "delete from public.loras where id = $1 returning id, storage_path", lora_id
        )
    if deleted is None:
        raise NotFound("LoRA", str(lora_id))
    if deleted["storage_path"]:
        await storage.remove([deleted["storage_path"]])
    return True
