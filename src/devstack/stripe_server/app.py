"""The Starlette app: REST API, hosted pages, control API, and the webhook sender running
for the app's lifetime."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette

from devstack.stripe_server import api, control, pages
from devstack.stripe_server.server import StripeServer


def create_app(server: StripeServer) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        sender = asyncio.create_task(server.webhooks.run())
        try:
            yield
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            await server.webhooks.close()

    app = Starlette(
        routes=[*control.routes(server), *pages.routes(server), *api.routes(server)],
        lifespan=lifespan,
    )
    app.state.stripe = server
    return app
