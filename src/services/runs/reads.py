"""Reading runs and node runs, as the viewer (under RLS); `run_state` reads a whole run for
the event hub, as the service, once the subscription was authorized as the viewer."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any

import asyncpg

from services.accounts.viewer import Viewer
from services.assets import gallery
from services.assets.gallery import AssetRecord
from services.platform import fast_json
from services.platform.database import Database
from services.platform.pagination import Page, PageRequest


@dataclass(frozen=True)
class RunRecord:
    id: uuid.UUID
    user_id: uuid.UUID
    workflow_id: uuid.UUID
    status: str
    estimated_cost_cents: int
    cost_cents: int
    created_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_values(cls, values: tuple[Any, ...]) -> RunRecord:
        """From an anonymous row of `RUN_COLUMNS`, in their order."""
        return cls(*values)

    @classmethod
    def from_row(cls, r: asyncpg.Record) -> RunRecord:
        return cls(
            r["id"],
            r["user_id"],
            r["workflow_id"],
            r["status"],
            r["estimated_cost_cents"],
            r["cost_cents"],
            r["created_at"],
            r["finished_at"],
        )


@dataclass(frozen=True)
class NodeRunRecord:
    id: uuid.UUID
    run_id: uuid.UUID
    node_id: str
    model_id: str
    status: str
    queue_position: int | None
    progress: float | None
    logs: list[str]
    error: str | None
    cached_from: uuid.UUID | None
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_row(cls, r: asyncpg.Record) -> NodeRunRecord:
        return cls(
            r["id"],
            r["run_id"],
            r["node_id"],
            r["model_id"],
            r["status"],
            r["queue_position"],
            r["progress"],
            list(r["logs"]),
            r["error"],
            r["cached_from"],
            r["started_at"],
            r["finished_at"],
        )


RUN_COLUMNS = (
    "id, user_id, workflow_id, status, estimated_cost_cents, cost_cents, created_at, finished_at"
)
NODE_RUN_COLUMNS = (
    "id, run_id, node_id, model_id, status, queue_position, progress, logs, error, cached_from,"
    " started_at, finished_at"
)


async def runs_by_ids(
    db: Database, viewer: Viewer, ids: list[uuid.UUID]
) -> dict[uuid.UUID, RunRecord]:
    async with db.as_user(viewer.claims) as conn:
        rows = await conn.fetch(f"select {RUN_COLUMNS} from public.runs where id = any($1)", ids)
    return {r["id"]: RunRecord.from_row(r) for r in rows}


async def runs_for_workflows(
    db: Database,
    viewer: Viewer,
    workflow_ids: list[uuid.UUID],
    first: int | None,
    after: str | None,
) -> dict[uuid.UUID, Page[RunRecord]]:
    """One page of runs for each workflow, newest first, in a single statement."""
    request = PageRequest.of(first, after)
    async with db.as_user(viewer.claims, plan_per_call=True) as conn:
        rows = await conn.fetch(
            f"""
            select * from (
              select {RUN_COLUMNS},
                row_number() over (partition by workflow_id order by created_at desc, id desc) as n
              from public.runs
              where workflow_id = any($1)
                and ($2::timestamptz is null or (created_at, id) < ($2, $3))
            ) ranked where n <= $4
            order by workflow_id, n
            """,
            workflow_ids,
            request.before_at,
            request.before_id,
            request.fetch,
        )
    grouped: dict[uuid.UUID, list[RunRecord]] = defaultdict(list)
    for r in rows:
        grouped[r["workflow_id"]].append(RunRecord.from_row(r))
    return {
        w: request.page(grouped.get(w, []), lambda run: run, lambda run: (run.created_at, run.id))
        for w in workflow_ids
    }


async def node_runs_for_runs(
    db: Database, viewer: Viewer, run_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[NodeRunRecord]]:
    async with db.as_user(viewer.claims) as conn:
        rows = await conn.fetch(
            f"select {NODE_RUN_COLUMNS} from public.node_runs where run_id = any($1) order by created_at, node_id",
            run_ids,
        )
    grouped: dict[uuid.UUID, list[NodeRunRecord]] = defaultdict(list)
    for r in rows:
        grouped[r["run_id"]].append(NodeRunRecord.from_row(r))
    return grouped


async def node_run_by_id(
    db: Database, viewer: Viewer, node_run_id: uuid.UUID
) -> NodeRunRecord | None:
    async with db.as_user(viewer.claims) as conn:
        row = await conn.fetchrow(
            f"select {NODE_RUN_COLUMNS} from public.node_runs where id = $1", node_run_id
        )
    return NodeRunRecord.from_row(row) if row else None


async def list_runs(
    db: Database, viewer: Viewer, first: int | None, after: str | None
) -> Page[RunRecord]:
    request = PageRequest.of(first, after)
    async with db.as_user(viewer.claims, plan_per_call=True) as conn:
        rows = await conn.fetch(
            f"""
            select {RUN_COLUMNS} from public.runs
            where user_id = $1 and ($2::timestamptz is null or (created_at, id) < ($2, $3))
            order by created_at desc, id desc limit $4
            """,
            viewer.id,
            request.before_at,
            request.before_id,
            request.fetch,
        )
    return request.page(rows, RunRecord.from_row, lambda r: (r.created_at, r.id))


@dataclass(frozen=True, eq=False)
class RunState:
    """A run as one transaction saw it: the run, its node runs in order, and the outputs of
    each (a cached node run's outputs are those of the node run it reused). Immutable and
    shared: the event hub hands the same one to every subscriber of the run."""

    run: RunRecord
    node_runs: tuple[NodeRunRecord, ...]
    outputs: Mapping[uuid.UUID, tuple[AssetRecord, ...]]

    def node_run(self, node_run_id: uuid.UUID | None) -> NodeRunRecord | None:
        if node_run_id is None:
            return None
        return next((n for n in self.node_runs if n.id == node_run_id), None)

    def outputs_of(self, node_run: NodeRunRecord) -> tuple[AssetRecord, ...]:
        return self.outputs.get(node_run.cached_from or node_run.id, ())


_NODE_RUN_NAMES = tuple(c.strip() for c in NODE_RUN_COLUMNS.split(","))
_ASSET_NAMES = tuple(c.strip() for c in gallery.COLUMNS.split(","))
# jsonb inside a row arrives in its binary form, which the pool's json codec does not
# read: it is sent as text and decoded here.
_ASSET_ROW = ", ".join(f"{c}::text" if c == "params" else c for c in _ASSET_NAMES)
# The run, its node runs in order and their outputs (a cached node run's are those of the
# node run it reused) in one statement: one round trip per read, which the event hub makes
# for every change of a watched run. Node runs and assets come back as arrays of anonymous
# rows, decoded by position.
RUN_STATE = f"""
select {RUN_COLUMNS},
  array(select row({NODE_RUN_COLUMNS}) from public.node_runs where run_id = $1
        order by created_at, node_id) as node_runs,
  array(select row({_ASSET_ROW}) from public.assets
        where node_run_id in (select coalesce(cached_from, id) from public.node_runs where run_id = $1)
        order by output_index) as assets
from public.runs where id = $1
"""


async def run_state(conn: asyncpg.Connection, run_id: uuid.UUID) -> RunState | None:
    """The run with everything `runEvents` shows, in one statement on `conn` (whoever
    opened it decides who is reading: the service for the hub)."""
    row = await conn.fetchrow(RUN_STATE, run_id)
    if row is None:
        return None
    node_runs = tuple(
        NodeRunRecord.from_row(dict(zip(_NODE_RUN_NAMES, r, strict=True))) for r in row["node_runs"]
    )
    grouped: dict[uuid.UUID, list[AssetRecord]] = defaultdict(list)
    for r in row["assets"]:
        fields = dict(zip(_ASSET_NAMES, r, strict=True))
        fields["params"] = fast_json.loads(fields["params"])
        asset = AssetRecord.from_row(fields)
        assert asset.node_run_id is not None  # selected by it
        grouped[asset.node_run_id].append(asset)
    outputs = MappingProxyType({k: tuple(v) for k, v in grouped.items()})
    return RunState(RunRecord.from_row(row), node_runs, outputs)
