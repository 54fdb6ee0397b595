"""The dev-only token issuer: sign in with just an email, optionally as any role, so every
role can be tried locally. These routes exist only when LATTICE_ENV=dev without Supabase."""

from __future__ import annotations

import re
import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.accounts import mfa
from services.accounts.api_keys import is_api_key
from services.accounts.dev_issuer import TOKEN_TTL_SECONDS
from services.accounts.tokens import bearer_token
from services.accounts.viewer import (
    Role,
    create_anonymous_user,
    upsert_dev_user,
    viewer_from_claims,
)
from services.platform.errors import NotFound, RateLimited, Unauthenticated, ValidationFailed
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


# MFA, shaped like GoTrue's routes (what supabase-js's `auth.mfa` calls), authenticated with
# the current access token. Only the local issuer serves them; Supabase serves its own.


async def _session_user(request: Request) -> tuple[Runtime, dict[str, Any]] | JSONResponse:
    runtime: Runtime = request.app.state.runtime
    try:
        token = bearer_token(request.headers.get("authorization"))
        if token is None or is_api_key(token):
            raise Unauthenticated("Sign in first")
        claims = await runtime.verifier.verify(token)
    except Unauthenticated as exc:
        return JSONResponse({"error": exc.message}, status_code=401)
    return runtime, claims


async def enroll_factor(request: Request) -> JSONResponse:
    found = await _session_user(request)
    if isinstance(found, JSONResponse):
        return found
    runtime, claims = found
    try:
        body = await request.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict) or body.get("factor_type", "totp") != "totp":
        return JSONResponse({"error": "Only TOTP factors are supported"}, status_code=422)
    name = body.get("friendly_name")
    enrolled = await mfa.enroll(
        runtime.db, uuid.UUID(claims["sub"]), claims.get("email"), str(name) if name else None
    )
    return JSONResponse(
        {
            "id": str(enrolled.id),
            "type": "totp",
            "friendly_name": name,
            "totp": {"qr_code": enrolled.qr_code, "secret": enrolled.secret, "uri": enrolled.uri},
        }
    )


async def challenge_factor(request: Request) -> JSONResponse:
    found = await _session_user(request)
    if isinstance(found, JSONResponse):
        return found
    runtime, claims = found
    try:
        factor_id = uuid.UUID(request.path_params["factor_id"])
        challenge_id, expires_at = await mfa.challenge(
            runtime.db, uuid.UUID(claims["sub"]), factor_id
        )
    except (ValueError, NotFound):
        return JSONResponse({"error": "No such factor"}, status_code=404)
    return JSONResponse({"id": str(challenge_id), "type": "totp", "expires_at": expires_at})


async def verify_factor(request: Request) -> JSONResponse:
    found = await _session_user(request)
    if isinstance(found, JSONResponse):
        return found
    runtime, claims = found
    assert runtime.dev_issuer is not None
    user_id = uuid.UUID(claims["sub"])
    try:
        body = await request.json()
        factor_id = uuid.UUID(request.path_params["factor_id"])
        challenge_id = uuid.UUID(str(body["challenge_id"]))
        code = str(body["code"])
    except (ValueError, KeyError, TypeError):
        return JSONResponse(
            {"error": 'Send {"challenge_id": ..., "code": "123456"}'}, status_code=400
        )
    try:
        await runtime.rate_limits.hit_mfa(str(user_id))
    except RateLimited as exc:
        return JSONResponse(
            {"error": exc.message, "code": "over_request_rate_limit"},
            status_code=429,
            headers={"Retry-After": str(exc.details["retryAfterSeconds"])},
        )
    try:
        await mfa.verify(runtime.db, user_id, factor_id, challenge_id, code)
    except NotFound:
        return JSONResponse({"error": "No open challenge for this factor"}, status_code=404)
    except ValidationFailed:
        return JSONResponse(
            {"error": "Invalid TOTP code entered", "code": "mfa_verification_failed"},
            status_code=422,
        )
    viewer = await viewer_from_claims(runtime.db, claims)
    token = runtime.dev_issuer.sign(
        user_id=user_id, email=viewer.email, role=viewer.role.value, mfa=True
    )
    factors = await mfa.list_factors(runtime.db, user_id)
    return JSONResponse(
        {
            "access_token": token,
            "token_type": "bearer",
            "expires_in": TOKEN_TTL_SECONDS,
            "user": {
                "id": str(user_id),
                "email": viewer.email,
                "factors": [f.as_json() for f in factors],
            },
        }
    )


async def current_user(request: Request) -> JSONResponse:
    """GoTrue's `GET /user`: what `mfa.listFactors()` reads the factors from."""
    found = await _session_user(request)
    if isinstance(found, JSONResponse):
        return found
    runtime, claims = found
    user_id = uuid.UUID(claims["sub"])
    factors = await mfa.list_factors(runtime.db, user_id)
    return JSONResponse(
        {
            "id": str(user_id),
            "email": claims.get("email"),
            "factors": [f.as_json() for f in factors],
        }
    )


routes += [
    Route("/auth/v1/factors", enroll_factor, methods=["POST"]),
    Route("/auth/v1/factors/{factor_id}/challenge", challenge_factor, methods=["POST"]),
    Route("/auth/v1/factors/{factor_id}/verify", verify_factor, methods=["POST"]),
    Route("/auth/v1/user", current_user, methods=["GET"]),
]
