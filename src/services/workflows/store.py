"""Saving and reading workflows. Every statement runs as the viewer, under RLS."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import partial

import anyio
import asyncpg

from services.accounts.viewer import Viewer
from services.platform.database import Database
from services.platform.errors import Conflict, NotFound, ValidationFailed
from services.platform.pagination import Page, PageRequest
from services.workflows.graph import Graph, validate


@dataclass(frozen=True)
class WorkflowRecord:
    id: uuid.UUID
    user_id: uuid.UUID
    name: str
    graph: Graph
    version: int
    created_at: datetime
    updated_at: datetime
    # The stored graph could not be read: it lists with no nodes and says so in its warnings,
    # instead of breaking the whole list (saving it again from the editor repairs it).
    unreadable: bool = False

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> WorkflowRecord:
        try:
            graph, unreadable = Graph.from_json(row["graph"]), False
        except ValidationFailed:
            graph, unreadable = Graph((), ()), True
        return cls(
            id=row["id"],
            user_id=row["user_id"],
            name=row["name"],
            graph=graph,
            version=row["version"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            unreadable=unreadable,
        )


COLUMNS = "id, user_id, name, graph, version, created_at, updated_at"


def clean_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 200:
        raise ValidationFailed.single(
            "INVALID_NAME", "A workflow needs a name of 1-200 characters", field="name"
        )
    return name


async def owned_loras(conn: asyncpg.Connection) -> dict[str, str]:
    rows = await conn.fetch("select id, base_model from public.loras")
    return {str(r["id"]): r["base_model"] for r in rows}


async def _validate(conn: asyncpg.Connection, viewer: Viewer, graph: Graph) -> None:
    """Parameter schemas, wires and cycles are pure CPU: a worker thread checks them, so one
    user's large save never stalls everyone else's requests on the event loop."""
    loras = await owned_loras(conn)
    await anyio.to_thread.run_sync(partial(validate, graph, role=viewer.role, owned_loras=loras))


async def list_workflows(
    db: Database, viewer: Viewer, first: int | None, after: str | None
) -> Page[WorkflowRecord]:
    request = PageRequest.of(first, after)
    async with db.as_user(viewer.claims, plan_per_call=True) as conn:
        rows = await conn.fetch(
            f"""
            select {COLUMNS} from public.workflows
            where user_id = $1 and deleted_at is null
              and ($2::timestamptz is null or (updated_at, id) < ($2, $3))
            order by updated_at desc, id desc
            limit $4
            """,
            viewer.id,
            request.before_at,
            request.before_id,
            request.fetch,
        )
    return request.page(rows, WorkflowRecord.from_row, lambda w: (w.updated_at, w.id))


async def get_workflow(
    db: Database, viewer: Viewer, workflow_id: uuid.UUID
) -> WorkflowRecord | None:
    async with db.as_user(viewer.claims) as conn:
        row = await conn.fetchrow(
            f"select {COLUMNS} from public.workflows where id = $1 and deleted_at is null",
            workflow_id,
        )
    return WorkflowRecord.from_row(row) if row else None


async def create_workflow(db: Database, viewer: Viewer, name: str, graph: Graph) -> WorkflowRecord:
    name = clean_name(name)
    async with db.as_user(viewer.claims) as conn:
        await _validate(conn, viewer, graph)
        row = await conn.fetchrow(
            f"insert into public.workflows (user_id, name, graph) values ($1, $2, $3) returning {COLUMNS}",
            viewer.id,
            name,
            graph.as_json(),
        )
    return WorkflowRecord.from_row(row)


async def update_workflow(
    db: Database,
    viewer: Viewer,
    workflow_id: uuid.UUID,
    name: str,
    graph: Graph,
    expected_version: int,
) -> WorkflowRecord:
    name = clean_name(name)
    async with db.as_user(viewer.claims) as conn:
        current = await conn.fetchval(
            "select version from public.workflows where id = $1 and deleted_at is null for update",
            workflow_id,
        )
        if current is None:
            raise NotFound("Workflow", str(workflow_id))
        if current != expected_version:
            raise Conflict(
                f"This workflow changed elsewhere (version {current}, you edited {expected_version})",
                currentVersion=current,
            )
        await _validate(conn, viewer, graph)
        row = await conn.fetchrow(
            f"""
            update public.workflows set name = $2, graph = $3, version = version + 1
            where id = $1 returning {COLUMNS}
            """,
            workflow_id,
            name,
            graph.as_json(),
        )
    return WorkflowRecord.from_row(row)


async def delete_workflow(db: Database, viewer: Viewer, workflow_id: uuid.UUID) -> bool:
    async with db.as_user(viewer.claims) as conn:
        deleted = await conn.fetchval(
            "update public.workflows set deleted_at = now() where id = $1 and deleted_at is null returning id",
            workflow_id,
        )
    if deleted is None:
        raise NotFound("Workflow", str(workflow_id))
    return True


async def restore_workflow(db: Database, viewer: Viewer, workflow_id: uuid.UUID) -> WorkflowRecord:
    async with db.as_user(viewer.claims) as conn:
        row = await conn.fetchrow(
            f"""
            update public.workflows set deleted_at = null
            where id = $1 and deleted_at is not null returning {COLUMNS}
            """,
            workflow_id,
        )
    if row is None:
        raise NotFound("Workflow", str(workflow_id))
    return WorkflowRecord.from_row(row)


async def workflows_by_ids(
    db: Database, viewer: Viewer, ids: list[uuid.UUID]
) -> dict[uuid.UUID, WorkflowRecord]:
    """Includes deleted workflows: a past run still shows the workflow it belonged to."""
    async with db.as_user(viewer.claims) as conn:
        rows = await conn.fetch(f"select {COLUMNS} from public.workflows where id = any($1)", ids)
    return {r["id"]: WorkflowRecord.from_row(r) for r in rows}
