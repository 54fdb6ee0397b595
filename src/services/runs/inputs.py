"""A node's inputs and outputs: what fal receives (upstream outputs, gallery assets, URLs,
LoRAs resolved to URLs), the cache key of that exact request, and the assets fal's result
becomes."""

from __future__ import annotations

import contextlib
import hashlib
import json
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from services.assets.storage import Storage
from services.assets.url_safety import LORA_HOSTS, check_public_https_url
from services.platform.database import Database
from services.platform.errors import ValidationFailed
from services.runs.transitions import NodeWork
from services.workflows.catalog import CATALOG, PortType

FAL_URL_TTL_SECONDS = 3600


class InputError(Exception):
    """An input cannot be resolved: the node fails with this message."""


@dataclass(frozen=True)
class ResolvedInputs:
    arguments: dict[str, Any]
    # What each input was, by identity rather than by (expiring) URL, for the cache key.
    identity: dict[str, Any]

    def cache_key(self, model_id: str) -> str | None:
        """Only a fixed seed makes a result reproducible, and so reusable."""
        if self.arguments.get("seed") is None:
            return None
        material = json.dumps(
            {"model": model_id, "inputs": self.identity}, sort_keys=True, default=str
        )
        return hashlib.sha256(material.encode()).hexdigest()


async def resolve(
    db: Database, storage: Storage, work: NodeWork, image_hosts: Collection[str]
) -> ResolvedInputs:
    """What fal is sent for a node; image URLs given by value must be on `image_hosts`."""
    spec = CATALOG[work.model_id]
    params = spec.with_defaults(work.params)
    arguments = {k: v for k, v in params.items() if v is not None and k != "loras"}
    identity: dict[str, Any] = {k: v for k, v in arguments.items()}
    async with contextlib.AsyncExitStack() as exits:
        reads = _Reads(db, exits)
        for port in spec.inputs:
            edge = next(
                (e for e in work.graph.incoming(work.node_id) if e.target_port == port.name), None
            )
            # A utility node upstream (Text, Image) is its value: read it from the run's graph.
            source = work.graph.node(edge.source) if edge is not None else None
            source_spec = CATALOG.get(source.model_id) if source is not None else None
            value = (
                source.params.get(source_spec.value_param)
                if source is not None and source_spec is not None and source_spec.value_param
                else None
            )
            if port.type == PortType.TEXT and source_spec is not None and source_spec.instant:
                arguments[port.name] = identity[port.name] = value or ""
                continue
            if port.type != PortType.IMAGE:
                continue
            if source_spec is not None and source_spec.instant:
                if not isinstance(value, str) or not value:
                    raise InputError(f"{port.name} has no image")
                asset = await _given_image(reads, work.user_id, value, image_hosts)
            elif edge is not None:
                asset = await _upstream_output(reads, work, edge.source, "IMAGE")
            elif isinstance(params.get(port.name), str) and params[port.name]:
                asset = await _given_image(reads, work.user_id, params[port.name], image_hosts)
            else:
                raise InputError(f"{port.name} has no image")
            arguments[port.name] = await _fetchable_url(storage, asset)
            identity[port.name] = f"asset:{asset['id']}" if asset.get("id") else asset["source_url"]
        if spec.supports_lora:
            loras = await _loras(reads, storage, work.user_id, params.get("loras") or [])
            arguments["loras"] = [{"path": url, "scale": scale} for url, scale, _ in loras]
            identity["loras"] = [[lora_id, scale] for _, scale, lora_id in loras]
    return ResolvedInputs(arguments, identity)


class _Reads:
    """The pooled connection a node's inputs are read through, taken at the first read:
    most nodes (a prompt and no LoRA) read nothing, and one that waited for a connection
    anyway would queue behind every run start in the pool. Independent reads: no
    transaction, so no BEGIN and COMMIT."""

    def __init__(self, db: Database, exits: contextlib.AsyncExitStack) -> None:
        self._db = db
        self._exits = exits
        self._conn: asyncpg.Connection | None = None

    async def connection(self) -> asyncpg.Connection:
        if self._conn is None:
            self._conn = await self._exits.enter_async_context(self._db.as_service_statement())
        return self._conn


async def _upstream_output(
    reads: _Reads, work: NodeWork, source_node: str, kind: str
) -> dict[str, Any]:
    conn = await reads.connection()
    row = await conn.fetchrow(
        """
        select a.id, a.source_url, a.storage_path from public.node_runs n
        join public.assets a on a.node_run_id = coalesce(n.cached_from, n.id)
        where n.run_id = $1 and n.node_id = $2 and a.kind = $3
        order by a.output_index limit 1
        """,
        work.run_id,
        source_node,
        kind,
    )
    if row is None:
        raise InputError(f"node {source_node} produced no {kind.lower()}")
    return dict(row)


async def _given_image(
    reads: _Reads, user_id: uuid.UUID, value: str, hosts: Collection[str]
) -> dict[str, Any]:
    if value.startswith("https://"):
        try:
            url = check_public_https_url(value, field="image_url", hosts=hosts)
        except ValidationFailed as exc:
            raise InputError(exc.message) from exc
        return {"id": None, "source_url": url, "storage_path": None}
    try:
        asset_id = uuid.UUID(value)
    except ValueError as exc:
        raise InputError("image_url is neither a URL nor a gallery asset") from exc
    conn = await reads.connection()
    row = await conn.fetchrow(
        "select id, source_url, storage_path from public.assets where id = $1 and user_id = $2 and kind = 'IMAGE'",
        asset_id,
        user_id,
    )
    if row is None:
        raise InputError("that gallery image no longer exists")
    return dict(row)


async def _fetchable_url(storage: Storage, asset: dict[str, Any]) -> str:
    if asset.get("storage_path"):
        path = asset["storage_path"]
        return (await storage.signed_urls([path], FAL_URL_TTL_SECONDS))[path]
    return str(asset["source_url"])


async def _loras(
    reads: _Reads, storage: Storage, user_id: uuid.UUID, chosen: list[dict[str, Any]]
) -> list[tuple[str, float, str]]:
    if not chosen:
        return []
    ids = [uuid.UUID(c["lora_id"]) for c in chosen]
    conn = await reads.connection()
    rows = await conn.fetch(
        "select id, url, storage_path from public.loras where id = any($1) and user_id = $2",
        ids,
        user_id,
    )
    found = {r["id"]: r for r in rows}
    # Uploaded files live in our private bucket: fal gets a signed URL made for this request.
    paths = [r["storage_path"] for r in rows if r["storage_path"]]
    signed = await storage.signed_urls(paths, FAL_URL_TTL_SECONDS) if paths else {}
    resolved = []
    for choice in chosen:
        lora_id = uuid.UUID(choice["lora_id"])
        row = found.get(lora_id)
        if row is None:
            raise InputError("a LoRA this node uses was deleted")
        if row["storage_path"]:
            url = signed.get(row["storage_path"])
            if url is None:
                raise InputError("a LoRA this node uses is missing from storage")
        else:
            # Checked again now: the row may predate today's rules or have been written
            # around the API, and fal fetches whatever we hand it.
            try:
                url = check_public_https_url(row["url"], field="loras", hosts=LORA_HOSTS)
            except ValidationFailed as exc:
                raise InputError(
                    f"a LoRA this node uses has a URL we no longer fetch: {exc.message}"
                ) from exc
        resolved.append((url, float(choice.get("scale", 1)), str(lora_id)))
    return resolved


def output_assets(
    work: NodeWork, result: dict[str, Any], temporary_days: int
) -> list[dict[str, Any]]:
    """fal's result as asset rows (temporary: fal's hosted URL, kept by fal at least 7 days)."""
    expires = datetime.now(UTC) + timedelta(days=temporary_days)
    base = {"storage": "TEMPORARY", "expires_at": expires, "storage_path": None}
    assets = [
        {
            **base,
            "kind": "IMAGE",
            "source_url": image["url"],
            "width": image.get("width"),
            "height": image.get("height"),
            "content_type": image.get("content_type") or "image/jpeg",
            "output_index": index,
        }
        for index, image in enumerate(result.get("images") or [])
    ]
    video = result.get("video")
    if video:
        params = CATALOG[work.model_id].with_defaults(work.params)
        assets.append(
            {
                **base,
                "kind": "VIDEO",
                "source_url": video["url"],
                "content_type": video.get("content_type") or "video/mp4",
                "file_size_bytes": video.get("file_size"),
                "duration_seconds": int(params["num_frames"]) / int(params["frames_per_second"]),
                "output_index": 0,
            }
        )
    return assets
