"""Live updates over graphql-transport-ws."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from graph.errors import coded
from graph.types import Info, NodeRun, Run, RunEvent, parse_id
from services.platform.errors import LatticeError, NotFound
from services.runs import reads

FINISHED = ("SUCCEEDED", "FAILED", "CANCELLED")


class FellBehind(LatticeError):
    code = "FELL_BEHIND"


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="First a snapshot of the run, then every change until it finishes."
    )
    async def run_events(self, info: Info, run_id: strawberry.ID) -> AsyncGenerator[RunEvent, None]:
        try:
            async for event in _run_events(info, run_id):
                yield event
        except LatticeError as exc:
            raise coded(exc) from exc


async def _run_events(info: Info, run_id: strawberry.ID) -> AsyncGenerator[RunEvent, None]:
    """Subscribes before reading the snapshot, so no change falls between the two; each
    event re-reads the run as the viewer (under RLS)."""
    viewer = await info.context.require_viewer()
    runtime = info.context.runtime
    run_uuid = parse_id(run_id)
    if run_uuid is None:
        raise NotFound("Run", str(run_id))
    async with runtime.hub.subscribe(run_uuid) as notices:
        snapshot = (await reads.runs_by_ids(runtime.db, viewer, [run_uuid])).get(run_uuid)
        if snapshot is None:  # not this viewer's run (row-level security), or no such run
            raise NotFound("Run", str(run_id))
        info.context.reset_loaders()
        yield RunEvent(run=Run.of(snapshot), node_run=None)
        status = snapshot.status
        while status not in FINISHED:
            notice = await notices.get()
            if notice is None:
                raise FellBehind(
                    "Updates arrived faster than this connection read them; resubscribe"
                )
            run = (await reads.runs_by_ids(runtime.db, viewer, [run_uuid]))[run_uuid]
            node = None
            if notice.node_run_id is not None:
                node = await reads.node_run_by_id(runtime.db, viewer, notice.node_run_id)
            info.context.reset_loaders()
            yield RunEvent(run=Run.of(run), node_run=NodeRun.of(node) if node else None)
            status = run.status
