"""Live updates over graphql-transport-ws."""

from __future__ import annotations

import weakref
from collections.abc import AsyncGenerator

import strawberry

from graph.errors import coded
from graph.permissions import SignedIn
from graph.types import Info, NodeRun, Run, RunEvent, parse_id
from services.platform.errors import LatticeError, NotFound
from services.runs import reads
from services.runs.events import RunUpdate
from services.runs.status import TERMINAL_NODE

FINISHED = ("SUCCEEDED", "FAILED", "CANCELLED")

# The GraphQL face of each update, made once however many subscribers receive it.
_events: weakref.WeakKeyDictionary[RunUpdate, RunEvent] = weakref.WeakKeyDictionary()


class FellBehind(LatticeError):
    code = "FELL_BEHIND"


@strawberry.type
class Subscription:
    @strawberry.subscription(
        permission_classes=[SignedIn],
        description="First a snapshot of the run, then every change until it and all its"
        " nodes are final.",
    )
    async def run_events(self, info: Info, run_id: strawberry.ID) -> AsyncGenerator[RunEvent, None]:
        # Authorizes as the viewer (row-level security: the owner or an admin sees the run),
        # then follows the process's event hub, which reads the run once per change for
        # every subscriber of it: first a snapshot, then each change. One generator, not a
        # wrapper around another: an idle subscription keeps every frame of its chain.
        try:
            viewer = info.context.signed_in
            runtime = info.context.runtime
            run_uuid = parse_id(run_id)
            if run_uuid is None or not await reads.runs_by_ids(runtime.db, viewer, [run_uuid]):
                raise NotFound("Run", str(run_id))
            async with runtime.hub.subscribe(run_uuid) as updates:
                while True:
                    update = await updates.get()
                    if update is None:
                        raise FellBehind(
                            "This stream missed some of the run's updates (it read them too"
                            " slowly, or the server lost its event feed); resubscribe for a"
                            " fresh snapshot"
                        )
                    # Fields outside the shared state (a run's workflow, say) read fresh
                    # each time.
                    info.context.reset_loaders()
                    yield event_of(update)
                    if _settled(update):
                        return
        except LatticeError as exc:
            raise coded(exc) from exc


def _settled(update: RunUpdate) -> bool:
    """The stream ends once the run and every node in it are final: a cancelled run's node
    that fal was working on reaches its end after the run does (the worker records it once
    fal confirms), and the client must see that without reloading."""
    state = update.state
    return state.run.status in FINISHED and all(n.status in TERMINAL_NODE for n in state.node_runs)


def event_of(update: RunUpdate) -> RunEvent:
    event = _events.get(update)
    if event is None:
        state = update.state
        node = update.node_run
        event = RunEvent(
            run=Run.of(state.run, state),
            node_run=NodeRun.of(node, state) if node is not None else None,
            results={},
        )
        _events[update] = event
    return event
