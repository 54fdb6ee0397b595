"""The viewer's own LoRAs (Pro and Admin only)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from services.accounts.viewer import Role, Viewer
from services.assets.url_safety import LORA_HOSTS, check_public_https_url
from services.platform.database import Database
from services.platform.errors import NotFound, UpgradeRequired, ValidationFailed
from services.workflows.catalog import LORA_BASE_MODELS


@dataclass(frozen=True)
class LoraRecord:
    id: uuid.UUID
    name: str
    url: str
    base_model: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> LoraRecord:
        return cls(row["id"], row["name"], row["url"], row["base_model"], row["created_at"])


COLUMNS = "id, name, url, base_model, created_at"


async def list_loras(db: Database, viewer: Viewer) -> list[LoraRecord]:
    async with db.as_user(viewer.claims) as conn:
        rows = await conn.fetch(f"select {COLUMNS} from public.loras order by created_at desc")
    return [LoraRecord.from_row(r) for r in rows]


async def add_lora(
    db: Database, viewer: Viewer, name: str, url: str, base_model: str
) -> LoraRecord:
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


async def delete_lora(db: Database, viewer: Viewer, lora_id: uuid.UUID) -> bool:
    async with db.as_user(viewer.claims) as conn:
        deleted = await conn.fetchval(
            "delete from public.loras where id = $1 returning id", lora_id
        )
    if deleted is None:
        raise NotFound("LoRA", str(lora_id))
    return True
