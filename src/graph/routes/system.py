"""Health, the client's runtime configuration, and locally stored files."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from services.assets.storage import LocalDiskStorage
from services.runtime import Runtime

HEALTH_TIMEOUT_SECONDS = 2.0
log = logging.getLogger(__name__)


async def _check(name: str, probe: Awaitable[object]) -> str:
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
            await probe
    except Exception as exc:
        log.warning("health: %s is down", name, exc_info=True)
        return f"down: {type(exc).__name__}"
    return "ok"


async def health(request: Request) -> JSONResponse:
    """Each part this process needs: PostgreSQL, Redis and its event hub; 503 naming the
    part that is down, so a load balancer stops sending traffic here."""
    runtime: Runtime = request.app.state.runtime
    postgres, redis = await asyncio.gather(
        _check("postgres", runtime.db.pool.fetchval("select 1")),
        _check("redis", runtime.hub.redis.ping()),
    )
    parts = {"postgres": postgres, "redis": redis, "hub": runtime.hub.status}
    down = sorted(name for name, state in parts.items() if state != "ok")
    body = {"status": "ok" if not down else "down", "down": down, **parts}
    return JSONResponse(body, status_code=503 if down else 200)


async def client_config(request: Request) -> JSONResponse:
    settings = request.app.state.runtime.settings
    return JSONResponse(
        {
            "supabaseUrl": settings.SUPABASE_URL,
            "supabaseAnonKey": settings.SUPABASE_ANON_KEY,
            "devSignIn": settings.uses_dev_issuer,
        }
    )


async def stored_file(request: Request) -> Response:
    storage = request.app.state.runtime.storage
    if not isinstance(storage, LocalDiskStorage):
        return PlainTextResponse("Not found", status_code=404)
    try:
        expires = int(request.query_params["expires"])
        signature = request.query_params["signature"]
    except (KeyError, ValueError):
        return PlainTextResponse("This link is not signed", status_code=403)
    found = storage.open_signed(request.path_params["path"], expires, signature)
    if found is None:
        return PlainTextResponse("This link is invalid or has expired", status_code=403)
    path, content_type = found
    return FileResponse(
        path, media_type=content_type, headers={"Cache-Control": "private, max-age=3600"}
    )


routes = [
    Route("/healthz", health),
    Route("/api/config", client_config),
    Route("/files/{path:path}", stored_file),
]
