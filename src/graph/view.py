"""Strawberry's ASGI view, bound to our context: tokens from the Authorization header over
HTTP, and from the `connection_init` payload over WebSocket (a bad one closes with 4403).

A WebSocket lives no longer than the token it was opened with: when the token expires the
connection closes with 4401 and the client reconnects with a fresh one (graphql-ws calls
`connectionParams` again). Each connection holds at most MAX_SUBSCRIPTIONS_PER_CONNECTION
operations, and each user at most WS_CONNECTIONS_PER_USER (a setting) connections to this
process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncGenerator, Mapping
from json import JSONDecodeError
from typing import Any

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)
from strawberry.types.unset import UNSET, UnsetType

from graph.context import Context
from graph.errors import coded
from graph.memory import MemoryReturn
from graph.trusted_documents import PersistedQueryNotFound, is_trusted, untrusted
from services.accounts import api_keys
from services.platform import fast_json
from services.platform.errors import Unauthenticated
from services.runtime import Runtime

MAX_SUBSCRIPTIONS_PER_CONNECTION = 20
Cancellable = asyncio.TimerHandle | asyncio.Task[None]
TOKEN_EXPIRED = 4401
# How soon a socket opened with an API key notices the key was revoked.
KEY_RECHECK_SECONDS = 5.0


class PersistedOverWebSocket(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with trusted documents: a `subscribe` whose payload carries only
    the persistedQuery extension runs the manifest's document (Strawberry's handler passes
    no extensions to the schema, so the id is resolved here)."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload: Any = message["payload"]
        view: Any = self.view
        documents: Mapping[str, str] = view.trusted_documents
        persisted = (payload.get("extensions") or {}).get("persistedQuery")
        if not payload.get("query") and isinstance(persisted, dict):
            text = documents.get(str(persisted.get("sha256Hash")))
            if text is None:
                error = PersistedQueryNotFound("PersistedQueryNotFound")
                await self._refuse(message, coded(error))
                return
            payload["query"] = text
        elif not view.open_documents:
            try:
                trusted = await is_trusted(str(payload.get("query") or ""), documents, self.context)
            except Unauthenticated as exc:
                await self._refuse(message, coded(exc))
                return
            if not trusted:
                await self._refuse(message, coded(untrusted()))
                return
        await super().handle_subscribe(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        timeout = self.connection_init_timeout_task
        await super().handle_connection_init(message)
        if self.connection_init_received and timeout is not None:
            # Strawberry keeps the cancelled timeout task for the socket's whole life, and
            # with it the CancelledError's traceback, the sleeping frame and its timer (about
            # 1.5 KiB a socket). Once cancelled it finishes on its own; nothing waits for it.
            self.connection_init_timeout_task = None
        # The credentials were checked once (the viewer is kept) or refused (the socket
        # closes): the token itself need not stay for the socket's life. Empty, not None:
        # None would make the context read the upgrade request's headers instead.
        self.context.connection_params = {}

    async def _refuse(self, message: SubscribeMessage, error: GraphQLError) -> None:
        # A refused subscribe ends with graphql-transport-ws's `error` message, before any
        # operation is registered.
        await self.send_message(
            {"id": message["id"], "type": "error", "payload": [error.formatted]}
        )


class LeanWebSocketAdapter(ASGIWebSocketAdapter):
    """Strawberry's adapter, except that a received message's raw text is dropped once it
    is decoded: Strawberry's kept the last one (the `subscribe`, with its whole document)
    for as long as the socket then stayed idle."""

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                try:
                    message = self.view.decode_json(await self.ws.receive_text())
                except JSONDecodeError as e:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from e
                    continue
                yield message
        except KeyError as e:
            raise NonTextMessageReceived from e
        except WebSocketDisconnect:
            pass


class LatticeGraphQL(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = PersistedOverWebSocket
    websocket_adapter_class = LeanWebSocketAdapter

    def __init__(
        self,
        schema: object,
        *,
        ide: bool,
        trusted_documents: Mapping[str, str] | None = None,
        open_documents: bool = True,
    ) -> None:
        self.trusted_documents = trusted_documents or {}
        self.open_documents = open_documents
        super().__init__(
            schema,  # type: ignore[arg-type]
            graphql_ide="graphiql" if ide else None,
            # Only the maintained protocol; the legacy subscriptions-transport-ws is off.
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            allow_queries_via_get=False,
            max_subscriptions_per_connection=MAX_SUBSCRIPTIONS_PER_CONNECTION,
        )
        self._connections: Counter[uuid.UUID] = Counter()
        # Per open socket: its user and what closes it when the token expires (a timer) or
        # the API key is revoked (a task checking it).
        self._sockets: dict[WebSocket, tuple[uuid.UUID, Cancellable | None]] = {}
        # Sockets being closed because their token expired.
        self._expiring: set[asyncio.Task[None]] = set()
        self._memory = MemoryReturn()

    def encode_json(self, data: object) -> str:
        # Text, not bytes: bytes would go out over WebSockets as binary frames.
        return fast_json.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        try:
            return json.loads(data)
        except RecursionError as exc:
            # Python's parser recurses once per bracket: a body nested thousands deep would
            # end as a 500. It is refused like any other unparseable body (400).
            raise json.JSONDecodeError("nested too deeply", "", 0) from exc

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        socket = WebSocket(scope, receive=receive, send=send)
        try:
            await self.run(socket)
        finally:
            self._release(socket)
            self._memory.closed()

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        runtime: Runtime = request.app.state.runtime
        return Context(runtime=runtime, request=request, response=response)

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        try:
            viewer = await context.viewer()
        except Unauthenticated as exc:
            raise ConnectionRejectionError({"message": exc.message}) from exc
        if viewer is None:
            raise ConnectionRejectionError({"message": "Sign in to subscribe"})
        most = context.runtime.settings.WS_CONNECTIONS_PER_USER
        if self._connections[viewer.id] >= most:
            raise ConnectionRejectionError({"message": f"At most {most} live connections per user"})
        socket = context.request
        assert isinstance(socket, WebSocket)
        self._connections[viewer.id] += 1
        timer: Cancellable | None = None
        expires = viewer.claims.get("exp")
        key_id = viewer.claims.get("api_key_id")
        if isinstance(expires, (int, float)):
            # A timer, not a sleeping task: thousands of idle sockets each hold one, and a
            # task with its coroutine costs several times a timer handle.
            delay = max(0.0, float(expires) - time.time())
            timer = asyncio.get_running_loop().call_later(delay, self._expire, socket)
        elif key_id:
            timer = asyncio.create_task(_close_when_revoked(socket, context, str(key_id)))
        self._sockets[socket] = (viewer.id, timer)
        unset: UnsetType = UNSET
        return unset

    def _expire(self, socket: WebSocket) -> None:
        task = asyncio.get_running_loop().create_task(_close_expired(socket))
        self._expiring.add(task)
        task.add_done_callback(self._expiring.discard)

    def _release(self, socket: WebSocket) -> None:
        found = self._sockets.pop(socket, None)
        if found is None:
            return
        user_id, timer = found
        self._connections[user_id] -= 1
        if self._connections[user_id] <= 0:
            del self._connections[user_id]
        if timer is not None:
            timer.cancel()


async def _close_when_revoked(socket: WebSocket, context: Context, key_id: str) -> None:
    """API keys do not expire: a socket opened with one checks it is still valid."""
    while True:
        await asyncio.sleep(KEY_RECHECK_SECONDS)
        if not await api_keys.is_active(context.runtime.db, key_id):
            with contextlib.suppress(RuntimeError, OSError):
                await socket.close(code=TOKEN_EXPIRED, reason="The API key was revoked")
            return


async def _close_expired(socket: WebSocket) -> None:
    with contextlib.suppress(RuntimeError, OSError):
        await socket.close(code=TOKEN_EXPIRED, reason="The access token expired; reconnect")
