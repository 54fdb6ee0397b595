"""Caps request bodies before anything reads them whole: a declared Content-Length over the
limit is answered 413 at once, and a chunked (or lying) body is counted as it streams and
cut off at the limit. Nothing past the limit is ever buffered."""

from __future__ import annotations

from collections.abc import Awaitable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A GraphQL request is a document and its variables; the largest the client sends (a 50-node
# workflow with its parameters) is far below this.
GRAPHQL_MAX_BYTES = 1024 * 1024


class BodyTooLarge(Exception):
    pass


class BodyLimits:
    """`limits` maps a path to its largest body in bytes; other paths are not limited here."""

    def __init__(self, app: ASGIApp, limits: dict[str, int]) -> None:
        self.app = app
        self.limits = limits

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: what is not limited (WebSockets among it) is handed
        # straight on, so no frame of this middleware stays alive for a socket's life.
        limit = self.limits.get(scope.get("path", "")) if scope["type"] == "http" else None
        if limit is None:
            return self.app(scope, receive, send)
        return self._limited(limit, scope, receive, send)

    async def _limited(self, limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > limit
            except ValueError:
                too_large = False  # the server itself rejects a malformed length
            if too_large:
                await _refuse(limit, scope, receive, send)
                return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(limit, scope, receive, send)


async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    error = {
        "code": "PAYLOAD_TOO_LARGE",
        "message": f"Requests to this endpoint can be at most {limit / (1024 * 1024):g} MB",
    }
    # Each endpoint's own error shape: GraphQL's errors list, or the REST routes' error.
    body: dict[str, object] = (
        {"errors": [{"message": error["message"], "extensions": {"code": error["code"]}}]}
        if scope["path"] == "/graphql"
        else {"error": error}
    )
    response = JSONResponse(
        body,
        status_code=413,
        # The rest of the body is not read: the connection cannot be reused.
        headers={"Connection": "close"},
    )
    await response(scope, receive, send)
