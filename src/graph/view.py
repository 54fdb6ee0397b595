"""Strawberry's ASGI view, bound to our context: tokens from the Authorization header over
HTTP, and from the `connection_init` payload over WebSocket (a bad one closes with 4403)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.unset import UNSET, UnsetType

from graph.context import Context
from services.platform.errors import Unauthenticated
from services.runtime import Runtime


class LatticeGraphQL(GraphQL[Context, None]):
    def __init__(self, schema: object, *, ide: bool) -> None:
        super().__init__(
            schema,  # type: ignore[arg-type]
            graphql_ide="graphiql" if ide else None,
            # Only the maintained protocol; the legacy subscriptions-transport-ws is off.
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            allow_queries_via_get=False,
        )

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        runtime: Runtime = request.app.state.runtime
        return Context(runtime=runtime, request=request, response=response)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        try:
            if await context.viewer() is None:
                raise ConnectionRejectionError({"message": "Sign in to subscribe"})
        except Unauthenticated as exc:
            raise ConnectionRejectionError({"message": exc.message}) from exc
        unset: UnsetType = UNSET
        return unset
