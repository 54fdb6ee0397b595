"""Who may call the API: Supabase-style tokens verified through the JWKS path, the dev issuer,
and the tokens that must be refused."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import websockets
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from conftest import LiveServer
from devstack.embedded import free_port
from graph.app import create_app
from services.accounts.tokens import REFUSED, TokenVerifier
from services.platform.config import InsecureSettingError, MissingSecretError, Settings
from services.platform.errors import Unauthenticated
from support import User, error_codes, gql, sign_in


def claims_for(live: LiveServer, user_id: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": live.settings.auth_issuer,
        "aud": "authenticated",
        "exp": now + 600,
        "iat": now,
        "sub": user_id,
        "role": "authenticated",
        "aal": "aal1",
        "email": "someone@example.com",
        **overrides,
    }


def dev_key(live: LiveServer) -> tuple[Any, str]:
    issuer = live.runtime.dev_issuer
    assert issuer is not None
    return issuer._key, issuer.kid


async def test_dev_sign_in_creates_a_free_profile_on_first_sight(client: httpx.AsyncClient) -> None:
    user = await sign_in(client)
    data = await user.data(
        "{ viewer { id email role credits { freeRemaining periodUsageCents reservedCents } } }"
    )
    assert data["viewer"]["email"] == user.email
    assert data["viewer"]["role"] == "FREE"
    assert data["viewer"]["credits"] == {
        "freeRemaining": 100,
        "periodUsageCents": 0,
        "reservedCents": 0,
    }


async def test_viewer_is_null_without_a_token(client: httpx.AsyncClient) -> None:
    assert await gql(client, "{ viewer { id } }") == {"data": {"viewer": None}}


async def test_operations_other_than_viewer_need_a_signed_in_user(
    client: httpx.AsyncClient,
) -> None:
    for query in (
        "{ models { id } }",
        "{ workflows { edges { cursor } } }",
        "{ loras { id } }",
        "{ assets { edges { cursor } } }",
        'mutation { deleteLora(id: "x") }',
    ):
        assert error_codes(await gql(client, query)) == ["UNAUTHENTICATED"], query


async def test_a_token_signed_by_another_key_with_our_kid_is_refused(
    live: LiveServer, client: httpx.AsyncClient, alice: User
) -> None:
    _, kid = dev_key(live)
    forged = jwt.encode(
        claims_for(live, alice.id),
        ec.generate_private_key(ec.SECP256R1()),
        algorithm="ES256",
        headers={"kid": kid},
    )
    result = await gql(client, "{ viewer { id } }", token=forged)
    assert error_codes(result) == ["UNAUTHENTICATED"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": int(time.time()) - 10},
        {"aud": "anon"},
        {"iss": "https://evil.example.com/auth/v1"},
        # Lifetimes Supabase never issues: a token minted to outlive any session.
        {"exp": 4102444800},  # 2100-01-01
        {"iat": int(time.time()) - 60, "exp": int(time.time()) + 25 * 3600},
        {"iat": 0, "exp": int(time.time()) + 600},
        {"iat": None},
    ],
)
async def test_expired_misaddressed_and_overlong_tokens_are_refused_alike(
    live: LiveServer, client: httpx.AsyncClient, alice: User, overrides: dict[str, Any]
) -> None:
    key, kid = dev_key(live)
    claims = {k: v for k, v in claims_for(live, alice.id, **overrides).items() if v is not None}
    token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})
    result = await gql(client, "{ viewer { id } }", token=token)
    assert error_codes(result) == ["UNAUTHENTICATED"]
    # The same words whichever check failed: nothing to learn from the refusal.
    assert result["errors"][0]["message"] == REFUSED


async def test_unknown_algorithms_and_kids_get_the_same_refusal(
    live: LiveServer, client: httpx.AsyncClient, alice: User
) -> None:
    key, _ = dev_key(live)
    unknown_kid = jwt.encode(
        claims_for(live, alice.id), key, algorithm="ES256", headers={"kid": "nope"}
    )
    hs = jwt.encode(claims_for(live, alice.id), "x" * 32, algorithm="HS256")
    for token in (unknown_kid, hs, "not.a.token"):
        result = await gql(client, "{ viewer { id } }", token=token)
        assert [e["message"] for e in result["errors"]] == [REFUSED], token


async def test_alg_none_and_tampered_tokens_are_refused(
    live: LiveServer, client: httpx.AsyncClient, alice: User
) -> None:
    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims_for(live, alice.id))}."
    assert error_codes(await gql(client, "{ viewer { id } }", token=unsigned)) == [
        "UNAUTHENTICATED"
    ]

    header, _, signature = alice.token.split(".")
    promoted = claims_for(live, str(uuid.uuid4()), app_metadata={"role": "ADMIN"})
    tampered = f"{header}.{b64(promoted)}.{signature}"
    assert error_codes(await gql(client, "{ viewer { id } }", token=tampered)) == [
        "UNAUTHENTICATED"
    ]
    assert error_codes(await gql(client, "{ viewer { id } }", token="not-a-jwt")) == [
        "UNAUTHENTICATED"
    ]


async def test_hs256_is_refused_when_no_legacy_secret_is_configured(
    live: LiveServer, client: httpx.AsyncClient, alice: User
) -> None:
    token = jwt.encode(claims_for(live, alice.id), "guessable-secret-" * 3, algorithm="HS256")
    result = await gql(client, "{ viewer { id } }", token=token)
    assert error_codes(result) == ["UNAUTHENTICATED"]
    assert result["errors"][0]["message"] == REFUSED


async def test_role_comes_from_the_database_not_from_user_metadata(
    live: LiveServer, client: httpx.AsyncClient, alice: User
) -> None:
    key, kid = dev_key(live)
    token = jwt.encode(
        claims_for(live, alice.id, user_metadata={"role": "ADMIN"}, app_metadata={"role": "ADMIN"}),
        key,
        algorithm="ES256",
        headers={"kid": kid},
    )
    data = await gql(client, "{ viewer { role } }", token=token)
    assert data["data"]["viewer"]["role"] == "FREE"


async def test_a_rotated_signing_key_is_fetched_on_its_first_unknown_kid(
    live: LiveServer, client: httpx.AsyncClient
) -> None:
    issuer = live.runtime.dev_issuer
    assert issuer is not None
    before = await sign_in(client)
    old_kid = issuer.kid
    # Let the verifier's refetch guard lapse, as it would between real rotations.
    live.runtime.verifier._fetched_at -= 60
    issuer.rotate()
    assert issuer.kid != old_kid
    after = await sign_in(client)
    assert (await after.data("{ viewer { email } }"))["viewer"]["email"] == after.email
    # Tokens signed by the retired key stop working once the JWKS no longer lists it.
    assert error_codes(await before.gql("{ viewer { id } }")) == ["UNAUTHENTICATED"]


async def test_hs256_and_rs256_tokens_verify_when_configured() -> None:
    """The production paths: the legacy HS256 secret, and an RS256 key published in a JWKS."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    jwks = {"keys": [{**jwk, "kid": "rsa-1", "alg": "RS256", "use": "sig"}]}
    port = free_port()
    issuer = f"http://127.0.0.1:{port}/auth/v1"

    async def serve_jwks(_: Any) -> JSONResponse:
        return JSONResponse(jwks)

    import asyncio

    import uvicorn

    jwks_app = Starlette(routes=[Route("/auth/v1/.well-known/jwks.json", serve_jwks)])
    server = uvicorn.Server(
        uvicorn.Config(jwks_app, host="127.0.0.1", port=port, log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        async with httpx.AsyncClient() as http:
            verifier = TokenVerifier(
                jwks_url=f"{issuer}/.well-known/jwks.json",
                issuer=issuer,
                http=http,
                hs256_secret="s" * 40,
            )
            now = int(time.time())
            claims = {
                "iss": issuer,
                "aud": "authenticated",
                "exp": now + 60,
                "iat": now,
                "sub": str(uuid.uuid4()),
            }
            rs = jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "rsa-1"})
            assert (await verifier.verify(rs))["sub"] == claims["sub"]
            hs = jwt.encode(claims, "s" * 40, algorithm="HS256")
            assert (await verifier.verify(hs))["sub"] == claims["sub"]
            # An RS256 token claiming HS256 with the public key as the secret (key confusion).
            public_pem = rsa_key.public_key().public_bytes(
                encoding=__import__(
                    "cryptography.hazmat.primitives.serialization", fromlist=["Encoding"]
                ).Encoding.PEM,
                format=__import__(
                    "cryptography.hazmat.primitives.serialization", fromlist=["PublicFormat"]
                ).PublicFormat.SubjectPublicKeyInfo,
            )
            confused = jwt.encode(claims, public_pem.decode()[:60] + "x" * 10, algorithm="HS256")
            with pytest.raises(Unauthenticated):
                await verifier.verify(confused)
            with pytest.raises(Unauthenticated):
                await verifier.verify(
                    jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "rsa-2"})
                )
    finally:
        server.should_exit = True
        await task


def transport_ws(live: LiveServer) -> Any:
    """A graphql-transport-ws connection to the API (use with `async with`)."""
    return websockets.connect(
        live.base_url.replace("http", "ws") + "/graphql",
        subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
    )


async def init(ws: Any, token: str) -> dict[str, Any]:
    """Sends connection_init with the token; returns the server's answer."""
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    answer: dict[str, Any] = json.loads(await ws.recv())
    return answer


async def test_websocket_accepts_a_valid_token_and_closes_4403_on_a_bad_one(
    live: LiveServer, alice: User
) -> None:
    async with transport_ws(live) as ws:
        assert (await init(ws, alice.token))["type"] == "connection_ack"
    async with transport_ws(live) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}})
        )
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_a_websocket_must_send_connection_init_in_time_and_then_stays_open(
    live: LiveServer, alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    view = next(
        r.endpoint
        for r in live.app.routes
        if isinstance(r, WebSocketRoute) and r.path == "/graphql"
    )
    monkeypatch.setattr(view, "connection_init_wait_timeout", timedelta(seconds=0.5))
    async with transport_ws(live) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408
    # Initialised in time: the timeout, cancelled, never closes the socket afterwards.
    async with transport_ws(live) as ws:
        assert (await init(ws, alice.token))["type"] == "connection_ack"
        await asyncio.sleep(1.0)
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), timeout=5))["type"] == "pong"


async def test_the_legacy_websocket_protocol_is_refused(live: LiveServer) -> None:
    url = live.base_url.replace("http", "ws") + "/graphql"
    with pytest.raises(websockets.ConnectionClosed) as closed:
        async with websockets.connect(
            url, subprotocols=[websockets.Subprotocol("graphql-ws")]
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4406


def test_production_refuses_to_start_without_a_secret_and_names_it() -> None:
    with pytest.raises(MissingSecretError, match="STRIPE_WEBHOOK_SECRET"):
        Settings(
            _env_file=None,
            LATTICE_ENV="production",
            DATABASE_URL="postgresql://x",
            REDIS_URL="redis://x",  # type: ignore[call-arg]
            SUPABASE_URL="https://p.supabase.co",
            SUPABASE_SERVICE_ROLE_KEY="k",
            STRIPE_SECRET_KEY="k",
            FAL_KEY="k",
        ).check_production_secrets()


def test_production_has_no_dev_sign_in_route(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        LATTICE_ENV="production",
        DATABASE_URL="postgresql://x",  # type: ignore[call-arg]
        REDIS_URL="redis://x",
        SUPABASE_URL="https://p.supabase.co",
        SUPABASE_SERVICE_ROLE_KEY="k",
        FAL_KEY="k",
        STRIPE_SECRET_KEY="k",
        STRIPE_WEBHOOK_SECRET="k",
        DATA_DIR=str(tmp_path),
    )
    paths = {getattr(route, "path", None) for route in create_app(settings).routes}
    assert "/graphql" in paths
    assert "/auth/dev/sign-in" not in paths
    assert "/auth/v1/.well-known/jwks.json" not in paths


async def test_dev_sign_in_rejects_bad_input(client: httpx.AsyncClient) -> None:
    assert (await client.post("/auth/dev/sign-in", json={"email": "nope"})).status_code == 400
    assert (
        await client.post("/auth/dev/sign-in", json={"email": "a@b.co", "role": "GOD"})
    ).status_code == 400


def test_production_serves_no_graphiql(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        LATTICE_ENV="production",
        DATABASE_URL="postgresql://x",  # type: ignore[call-arg]
        REDIS_URL="redis://x",
        SUPABASE_URL="https://p.supabase.co",
        SUPABASE_SERVICE_ROLE_KEY="k",
        FAL_KEY="k",
        STRIPE_SECRET_KEY="k",
        STRIPE_WEBHOOK_SECRET="k",
        DATA_DIR=str(tmp_path),
    )
    views = [
        getattr(route, "endpoint", None) or getattr(route, "app", None)
        for route in create_app(settings).routes
        if getattr(route, "path", None) == "/graphql"
    ]
    assert views and all(getattr(view, "graphql_ide", "x") is None for view in views)


def test_an_unset_lattice_env_means_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LATTICE_ENV", raising=False)
    settings = Settings(_env_file=None)
    assert settings.LATTICE_ENV == "production" and not settings.is_dev
    assert not settings.uses_dev_issuer
    # So a bare start-up asks for production's secrets instead of serving dev sign-in.
    with pytest.raises(MissingSecretError):
        create_app(settings)


def test_production_refuses_a_plain_http_supabase_url(tmp_path: Path) -> None:
    values: dict[str, Any] = {
        "LATTICE_ENV": "production",
        "DATABASE_URL": "postgresql://x",
        "REDIS_URL": "redis://x",
        "SUPABASE_SERVICE_ROLE_KEY": "k",
        "FAL_KEY": "k",
        "STRIPE_SECRET_KEY": "k",
        "STRIPE_WEBHOOK_SECRET": "k",
        "DATA_DIR": str(tmp_path),
    }
    with pytest.raises(InsecureSettingError, match="https"):
        create_app(Settings(_env_file=None, SUPABASE_URL="http://p.supabase.co", **values))
    create_app(Settings(_env_file=None, SUPABASE_URL="https://p.supabase.co", **values))


def test_production_refuses_local_media_origins(tmp_path: Path) -> None:
    """The loopback allowance for the local fal CDN exists for dev and tests only."""
    with pytest.raises(InsecureSettingError, match="LOCAL_MEDIA_ORIGINS"):
        create_app(
            Settings(
                _env_file=None,
                LATTICE_ENV="production",
                DATABASE_URL="postgresql://x",  # type: ignore[call-arg]
                REDIS_URL="redis://x",
                SUPABASE_URL="https://p.supabase.co",
                SUPABASE_SERVICE_ROLE_KEY="k",
                FAL_KEY="k",
                STRIPE_SECRET_KEY="k",
                STRIPE_WEBHOOK_SECRET="k",
                DATA_DIR=str(tmp_path),
                LOCAL_MEDIA_ORIGINS="127.0.0.1:9000",
            )
        )
