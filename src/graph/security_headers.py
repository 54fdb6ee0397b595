"""Security headers on every HTTP response: the page, the API and files.

The client's policy allows scripts only from this origin (no inline script, no eval), so an
injected `<script>` or `javascript:` URL does nothing. Media may come from any https host
(fal's CDN, Supabase Storage's signed URLs); the API may talk to itself, its WebSocket and
the configured Supabase project. GraphiQL (GET /graphql answering HTML) loads its scripts
from unpkg and starts with an inline script: that page alone gets those allowances."""

from __future__ import annotations

import re
from collections.abc import Awaitable
from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

GRAPHIQL_CDN = "https://unpkg.com"
# The Host header is the caller's: only a plain host[:port] may reach the policy.
PLAIN_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]{1,5})?$")
HSTS = "max-age=63072000; includeSubDomains"
PERMISSIONS = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()"
)


def _policy(directives: dict[str, list[str]]) -> str:
    return "; ".join(f"{name} {' '.join(values)}".strip() for name, values in directives.items())


class SecurityHeaders:
    def __init__(
        self,
        app: ASGIApp,
        *,
        supabase_url: str | None,
        production: bool,
        local_media_origins: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.production = production
        # Dev and tests: the local fal server's CDN serves plain http on loopback.
        self.local_media = [f"{s}://{o}" for o in local_media_origins for s in ("http", "https")]
        self.supabase: list[str] = []
        if supabase_url:
            parts = urlsplit(supabase_url)
            ws = "wss" if parts.scheme == "https" else "ws"
            self.supabase = [f"{parts.scheme}://{parts.netloc}", f"{ws}://{parts.netloc}"]

    def content_security_policy(self, host: str | None, *, graphiql: bool) -> str:
        # CSP's 'self' does not cover WebSockets in every browser: name ours.
        sockets = [f"ws://{host}", f"wss://{host}"] if host else []
        directives = {
            "default-src": ["'self'"],
            "script-src": ["'self'"],
            # Radix and the toast library write <style> elements at run time.
            "style-src": ["'self'", "'unsafe-inline'"],
            "img-src": ["'self'", "data:", "blob:", "https:", *self.local_media],
            "media-src": ["'self'", "blob:", "https:", *self.local_media],
            "font-src": ["'self'", "data:"],
            "connect-src": ["'self'", *sockets, *self.supabase, *self.local_media],
            "worker-src": ["'self'", "blob:"],
            "object-src": ["'none'"],
            "base-uri": ["'self'"],
            "form-action": ["'self'"],
            "frame-ancestors": ["'none'"],
        }
        if graphiql:
            directives["script-src"] += ["'unsafe-inline'", GRAPHIQL_CDN]
            directives["style-src"] += [GRAPHIQL_CDN]
            directives["font-src"] += [GRAPHIQL_CDN]
        return _policy(directives)

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Not a coroutine itself: a WebSocket is handed straight on, so none of this
        # middleware's frames stay alive for the socket's whole life.
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        return self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_headers = Headers(scope=scope)
        host = request_headers.get("host")
        host = host if host and PLAIN_HOST.match(host) else None

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                graphiql = scope["path"] == "/graphql" and headers.get(
                    "content-type", ""
                ).startswith("text/html")
                headers.setdefault(
                    "Content-Security-Policy",
                    self.content_security_policy(host, graphiql=graphiql),
                )
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
                headers.setdefault("Permissions-Policy", PERMISSIONS)
                if self.production:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, with_headers)
