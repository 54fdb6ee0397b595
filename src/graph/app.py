"""The Starlette application: GraphQL over HTTP and WebSocket, health, dev sign-in, local
files and the built client."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from graph.body_limits import GRAPHQL_MAX_BYTES, BodyLimits
from graph.routes import dev_auth, system, uploads, webhooks
from graph.routes.client import CLIENT_DIST, SinglePageApp
from graph.schema import build_schema
from graph.security_headers import SecurityHeaders
from graph.trusted_documents import DEFAULT_MANIFEST, load_manifest
from graph.view import LatticeGraphQL
from services.assets.uploads import MAX_UPLOAD_BYTES
from services.platform.config import Settings
from services.runtime import open_runtime


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or Settings()
    settings.check_production_secrets()
    manifest = load_manifest(
        Path(settings.TRUSTED_DOCUMENTS_PATH)
        if settings.TRUSTED_DOCUMENTS_PATH
        else DEFAULT_MANIFEST
    )
    schema = build_schema(
        mask_errors=not settings.is_dev,
        trusted_documents=manifest,
        open_documents=settings.graphql_open_documents,
    )
    # GraphiQL in dev only (production's CSP allows no inline scripts); in production API
    # keys, the only callers that may send their own documents and introspect there, use
    # any GraphQL IDE with the Authorization header.
    graphql = LatticeGraphQL(
        schema,
        ide=settings.is_dev,
        trusted_documents=manifest,
        open_documents=settings.graphql_open_documents,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_runtime(settings) as runtime:
            app.state.runtime = runtime
            # What start-up built (modules, the schema, the app) lives as long as the process;
            # frozen, the collector's full passes walk only what requests allocate.
            gc.freeze()
            yield

    routes: list[BaseRoute] = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", graphql),
        *system.routes,
        *uploads.routes,
        *webhooks.routes,
    ]
    if settings.uses_dev_issuer:
        routes += dev_auth.routes
    if CLIENT_DIST.is_dir():
        routes.append(Mount("/", SinglePageApp(directory=CLIENT_DIST, html=True)))
    # The client IP (admin allow-list, audit log) is the socket peer; X-Forwarded-For counts
    # only from TRUSTED_PROXIES. Nothing is trusted when that is empty.
    proxies = Middleware(
        ProxyHeadersMiddleware, trusted_hosts=[str(n) for n in settings.trusted_proxies]
    )
    headers = Middleware(
        SecurityHeaders,
        supabase_url=settings.SUPABASE_URL,
        production=not settings.is_dev,
        local_media_origins=settings.local_media_origins,
    )
    # Multipart framing around the image is a few hundred bytes; 64 KB leaves room for it.
    limits = Middleware(
        BodyLimits,
        limits={"/graphql": GRAPHQL_MAX_BYTES, "/api/uploads": MAX_UPLOAD_BYTES + 64 * 1024},
    )
    return Starlette(routes=routes, lifespan=lifespan, middleware=[headers, proxies, limits])


# httptools, the faster of uvicorn's parsers, with a cap on the request head (request line
# and headers) that it lacks by itself: graph.http_protocol.
HTTP_LIMITS: dict[str, Any] = {"http": "graph.http_protocol:HeadCappedHttpTools"}
# The same, as options to the `uvicorn` command (the dev supervisor and the benchmarks' stacks).
HTTP_LIMIT_OPTIONS = ["--http", HTTP_LIMITS["http"]]
# uvicorn's own proxy-headers support would trust loopback peers by default; the app applies
# TRUSTED_PROXIES itself (ProxyHeadersMiddleware above). How production serves the app
# (main below), and the WebSocket fan-out benchmark serves both its apps.
SERVER_OPTIONS: dict[str, Any] = {**HTTP_LIMITS, "proxy_headers": False}


def main() -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO)
    settings = Settings()
    # Production runs in a container behind a proxy, so it listens on every interface.
    host = "127.0.0.1" if settings.is_dev else "0.0.0.0"  # noqa: S104
    # Each process builds its app from the same environment.
    uvicorn.run(
        "graph.app:create_app",
        factory=True,
        workers=settings.api_processes,
        host=host,
        port=settings.PORT,
        **SERVER_OPTIONS,
    )


if __name__ == "__main__":
    main()
