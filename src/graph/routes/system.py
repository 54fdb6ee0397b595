"""Health, the client's runtime configuration, and locally stored files."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from services.assets.storage import LocalDiskStorage
from services.runtime import Runtime


async def health(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    await runtime.db.pool.fetchval("select 1")
    return JSONResponse({"status": "ok"})


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
