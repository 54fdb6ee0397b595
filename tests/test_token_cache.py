"""TokenVerifier.verify_cached: a verified token is not verified again on every request, but
never outlives its `exp`, VERIFIED_TOKEN_SECONDS, or the key that verified it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from conftest import LiveServer
from services.accounts import tokens
from services.accounts.tokens import TokenVerifier
from services.platform.errors import Unauthenticated
from support import error_codes, sign_in

ISSUER = "http://issuer.test/auth/v1"


class Jwks:
    """A JWKS endpoint whose keys the test replaces."""

    def __init__(self) -> None:
        self.keys: dict[str, ec.EllipticCurvePrivateKey] = {}
        self.fetches = 0

    def add(self, kid: str) -> ec.EllipticCurvePrivateKey:
        self.keys[kid] = ec.generate_private_key(ec.SECP256R1())
        return self.keys[kid]

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.fetches += 1
        entries = []
        for kid, key in self.keys.items():
            jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
            entries.append({**jwk, "kid": kid, "alg": "ES256", "use": "sig"})
        return httpx.Response(200, json={"keys": entries})


def token(key: ec.EllipticCurvePrivateKey, kid: str, *, lifetime: int = 600) -> str:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": "authenticated",
        "exp": now + lifetime,
        "iat": now,
        "sub": str(uuid.uuid4()),
    }
    return jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})


@contextlib.asynccontextmanager
async def verifier_for(jwks: Jwks) -> AsyncIterator[TokenVerifier]:
    """A verifier that fetches its keys from `jwks`."""
    async with httpx.AsyncClient(transport=httpx.MockTransport(jwks.handle)) as http:
        yield TokenVerifier(jwks_url=f"{ISSUER}/jwks", issuer=ISSUER, http=http)


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every signature check the verifier makes."""
    seen: list[str] = []
    decode = jwt.decode

    def counted(raw: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(raw)
        return decode(raw, *args, **kwargs)

    monkeypatch.setattr(tokens.jwt, "decode", counted)
    return seen


async def test_a_verified_token_is_checked_once_and_answers_the_same(
    decodes: list[str],
) -> None:
    jwks = Jwks()
    key = jwks.add("k1")
    async with verifier_for(jwks) as verifier:
        raw = token(key, "k1")
        first = await verifier.verify_cached(raw)
        again = await verifier.verify_cached(raw)
        assert first == again == await verifier.verify(raw)
        # verify() itself never uses the cache.
        assert decodes == [raw, raw]
        # Callers get their own copy of the claims.
        again["sub"] = "someone else"
        assert (await verifier.verify_cached(raw))["sub"] == first["sub"]
        # A token that fails is never remembered.
        forged = token(ec.generate_private_key(ec.SECP256R1()), "k1")
        for _ in range(2):
            with pytest.raises(Unauthenticated):
                await verifier.verify_cached(forged)
        assert decodes[-2:] == [forged, forged]


async def test_a_remembered_token_ends_with_its_exp(decodes: list[str]) -> None:
    jwks = Jwks()
    key = jwks.add("k1")
    async with verifier_for(jwks) as verifier:
        raw = token(key, "k1", lifetime=1)
        await verifier.verify_cached(raw)
        await asyncio.sleep(
            max(0.0, jwt.decode(raw, options={"verify_signature": False})["exp"] - time.time())
            + 0.05
        )
        with pytest.raises(Unauthenticated):
            await verifier.verify_cached(raw)


async def test_a_remembered_token_is_checked_again_after_the_trust_window(
    decodes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens, "VERIFIED_TOKEN_SECONDS", 0.0)
    jwks = Jwks()
    key = jwks.add("k1")
    async with verifier_for(jwks) as verifier:
        raw = token(key, "k1")
        await verifier.verify_cached(raw)
        await verifier.verify_cached(raw)
        assert decodes == [raw, raw]


async def test_a_retired_keys_tokens_are_refused_at_once(decodes: list[str]) -> None:
    jwks = Jwks()
    old_key = jwks.add("old")
    async with verifier_for(jwks) as verifier:
        old = token(old_key, "old")
        await verifier.verify_cached(old)
        # The issuer rotates: the old key is gone from the JWKS, and a token signed by the
        # new one makes the verifier fetch it (once the refetch guard has lapsed).
        del jwks.keys["old"]
        new_key = jwks.add("new")
        verifier._fetched_at -= 60
        await verifier.verify_cached(token(new_key, "new"))
        with pytest.raises(Unauthenticated):
            await verifier.verify_cached(old)


async def test_the_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "VERIFIED_TOKENS_KEPT", 3)
    jwks = Jwks()
    key = jwks.add("k1")
    async with verifier_for(jwks) as verifier:
        raws = [token(key, "k1") for _ in range(5)]
        for raw in raws:
            await verifier.verify_cached(raw)
        assert list(verifier._verified) == raws[-3:]


async def test_the_api_refuses_a_used_token_of_a_rotated_key(
    live: LiveServer, client: httpx.AsyncClient
) -> None:
    """Through GraphQL, which verifies with the cache: a token used (and so remembered)
    before its key is retired is refused as soon as the API learns of the new key."""
    issuer = live.runtime.dev_issuer
    assert issuer is not None
    before = await sign_in(client)
    assert (await before.data("{ viewer { email } }"))["viewer"]["email"] == before.email
    live.runtime.verifier._fetched_at -= 60
    issuer.rotate()
    after = await sign_in(client)
    assert (await after.data("{ viewer { email } }"))["viewer"]["email"] == after.email
    assert error_codes(await before.gql("{ viewer { id } }")) == ["UNAUTHENTICATED"]
