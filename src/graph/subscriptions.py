"""Live updates over graphql-transport-ws."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from graph.types import Info, RunEvent
from services.errors import NotAvailable


@strawberry.type
class Subscription:
    @strawberry.subscription(description="First a snapshot of the run, then every change.")
    async def run_events(self, info: Info, run_id: strawberry.ID) -> AsyncGenerator[RunEvent, None]:
        await info.context.require_viewer()
        raise NotAvailable("Live run events")
        yield  # pragma: no cover  (makes this an async generator)
