"""The dev-only token issuer: sign in with just an email, optionally as any role, so every
role can be tried locally. These routes exist only when LATTICE_ENV=dev without Supabase."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.accounts.dev_issuer import TOKEN_TTL_SECONDS
from services.accounts.viewer import Role, create_anonymous_user, upsert_dev_user
from services.runtime import Runtime

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


async def sign_in(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    assert runtime.dev_issuer is not None
    try:
        body = await request.json()
        if body.get("anonymous") is True:
            # What supabase-js's signInAnonymously gives: a user with no email.
            user_id = await create_anonymous_user(runtime.db)
            token = runtime.dev_issuer.sign(
                user_id=user_id, email=None, role=Role.FREE.value, anonymous=True
            )
            return _token(token)
        email = str(body["email"]).strip().lower()
        role = Role(body["role"]) if body.get("role") else None
    except (ValueError, KeyError, TypeError):
        return JSONResponse(
            {"error": 'Send {"email": ..., "role"?: FREE|PRO|ADMIN} or {"anonymous": true}'},
            status_code=400,
        )
    if not EMAIL.match(email) or len(email) > 254:
        return JSONResponse({"error": "That is not an email address"}, status_code=400)
    user_id, current_role = await upsert_dev_user(runtime.db, email, role)
    token = runtime.dev_issuer.sign(user_id=user_id, email=email, role=current_role.value)
    return _token(token)


def _token(token: str) -> JSONResponse:
    return JSONResponse(
        {"access_token": token, "token_type": "bearer", "expires_in": TOKEN_TTL_SECONDS}
    )


async def jwks(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    assert runtime.dev_issuer is not None
    return JSONResponse(runtime.dev_issuer.jwks(), headers={"Cache-Control": "public, max-age=600"})


routes = [
    Route("/auth/dev/sign-in", sign_in, methods=["POST"]),
    Route("/auth/v1/.well-known/jwks.json", jwks, methods=["GET"]),
]
