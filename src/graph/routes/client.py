"""Serves the built web client, with every unknown path answered by index.html so the
client's own router handles deep links."""

from __future__ import annotations

from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

CLIENT_DIST = Path(__file__).resolve().parents[3] / "client" / "dist"


class SinglePageApp(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            response = await super().get_response(path, scope)
        except HTTPException as exc:
            if exc.status_code != 404 or path.startswith("assets/"):
                raise
            response = await super().get_response("index.html", scope)
        if path.startswith("assets/"):
            # Vite fingerprints these names, so they can be cached forever.
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response
