"""The gallery: every output a user owns, newest first."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.accounts.viewer import Viewer
from services.platform.database import Database
from services.platform.errors import NotFound, ValidationFailed
from services.platform.pagination import Page, PageRequest


@dataclass(frozen=True)
class AssetRecord:
    id: uuid.UUID
    kind: str
    storage: str
    source_url: str | None
    storage_path: str | None
    expires_at: datetime | None
    width: int | None
    height: int | None
    duration_seconds: float | None
    content_type: str
    model_id: str
    params: dict[str, Any]
    run_id: uuid.UUID | None
    node_run_id: uuid.UUID | None
    created_at: datetime

    @classmethod
    def from_row(cls, r: asyncpg.Record) -> AssetRecord:
        return cls(
            r["id"],
            r["kind"],
            r["storage"],
            r["source_url"],
            r["storage_path"],
            r["expires_at"],
            r["width"],
            r["height"],
            r["duration_seconds"],
            r["content_type"],
            r["model_id"],
            r["params"],
            r["run_id"],
            r["node_run_id"],
            r["created_at"],
        )


MAX_BATCH = 200
COLUMNS = (
    "id, kind, storage, source_url, storage_path, expires_at, width, height, duration_seconds,"
    " content_type, model_id, params, run_id, node_run_id, created_at"
)


@dataclass(frozen=True)
class AssetFilter:
    kind: str | None = None
    model_id: str | None = None
    # Words of the prompt, each matched as a prefix ("light" finds "lighthouse").
    search: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None

    def prompt_query(self) -> str | None:
        words = re.findall(r"\w+", (self.search or "").lower())[:10]
        return " & ".join(f"{w}:*" for w in words) or None


async def list_assets(
    db: Database,
    viewer: Viewer,
    first: int | None,
    after: str | None,
    kind: str | None = None,
    where: AssetFilter | None = None,
) -> Page[AssetRecord]:
    request = PageRequest.of(first, after)
    where = where or AssetFilter(kind=kind)
    async with db.as_user(viewer.claims, plan_per_call=True) as conn:
        # The prompt expression matches assets_prompt_search_idx exactly, so it is used.
        rows = await conn.fetch(
            f"""
            select {COLUMNS} from public.assets
            where user_id = $1 and ($2::text is null or kind = $2)
              and (expires_at is null or expires_at > now())
              and ($3::timestamptz is null or (created_at, id) < ($3, $4))
              and ($6::text is null or model_id = $6)
              and ($7::text is null
                   or to_tsvector('simple', coalesce(params ->> 'prompt', '')) @@ to_tsquery('simple', $7))
              and ($8::timestamptz is null or created_at >= $8)
              and ($9::timestamptz is null or created_at < $9)
            order by created_at desc, id desc
            limit $5
            """,
            viewer.id,
            where.kind or kind,
            request.before_at,
            request.before_id,
            request.fetch,
            where.model_id,
            where.prompt_query(),
            where.created_after,
            where.created_before,
        )
    return request.page(rows, AssetRecord.from_row, lambda a: (a.created_at, a.id))


async def get_asset(db: Database, viewer: Viewer, asset_id: uuid.UUID) -> AssetRecord | None:
    async with db.as_user(viewer.claims) as conn:
        row = await conn.fetchrow(f"select {COLUMNS} from public.assets where id = $1", asset_id)
    return AssetRecord.from_row(row) if row else None


async def outputs_for_node_runs(
    db: Database, viewer: Viewer, node_run_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[AssetRecord]]:
    async with db.as_user(viewer.claims) as conn:
        rows = await conn.fetch(
            f"select {COLUMNS} from public.assets where node_run_id = any($1) order by output_index",
            node_run_ids,
        )
    grouped: dict[uuid.UUID, list[AssetRecord]] = defaultdict(list)
    for r in rows:
        grouped[r["node_run_id"]].append(AssetRecord.from_row(r))
    return grouped


async def delete_asset(db: Database, viewer: Viewer, asset_id: uuid.UUID) -> AssetRecord:
    async with db.as_user(viewer.claims) as conn:
        row = await conn.fetchrow(
            f"delete from public.assets where id = $1 returning {COLUMNS}", asset_id
        )
    if row is None:
        raise NotFound("Asset", str(asset_id))
    return AssetRecord.from_row(row)


async def delete_assets(
    db: Database, viewer: Viewer, asset_ids: list[uuid.UUID]
) -> list[AssetRecord]:
    """Deletes those of the viewer's assets that exist (under RLS another user's ids match
    nothing); all or nothing in one statement."""
    if len(asset_ids) > MAX_BATCH:
        raise ValidationFailed.single(
            "TOO_MANY", f"At most {MAX_BATCH} assets at once", field="ids"
        )
    async with db.as_user(viewer.claims) as conn:
        rows = await conn.fetch(
            f"delete from public.assets where id = any($1) returning {COLUMNS}", asset_ids
        )
    return [AssetRecord.from_row(r) for r in rows]


async def source_images(
    db: Database, viewer: Viewer, node_run_ids: list[uuid.UUID]
) -> dict[uuid.UUID, AssetRecord]:
    """The gallery image each node run took as its image input, when it took one."""
    async with db.as_user(viewer.claims) as conn:
        rows = await conn.fetch(
            f"""
            select n.id as consumer_id, {", ".join("a." + c.strip() for c in COLUMNS.split(","))}
            from public.node_runs n
            join public.assets a on a.id::text = substr(n.inputs ->> 'image_url', 7)
            where n.id = any($1) and n.inputs ->> 'image_url' like 'asset:%'
            """,
            node_run_ids,
        )
    return {r["consumer_id"]: AssetRecord.from_row(r) for r in rows}
