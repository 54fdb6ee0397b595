"""Verifies Supabase access tokens: ES256/RS256 against the project's JWKS, or HS256 with
the legacy JWT secret when one is configured. Everything else is refused."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import httpx
import jwt

from services.platform.errors import Unauthenticated

ASYMMETRIC = ("ES256", "RS256")
AUDIENCE = "authenticated"
# Supabase's edge caches the JWKS for 10 minutes and asks clients not to cache longer.
JWKS_TTL_SECONDS = 600.0
# An unknown kid triggers a refetch, but forged kids must not turn us into a request pump.
MIN_REFETCH_SECONDS = 10.0
# Supabase issues access tokens for an hour by default; one valid for longer than a day was
# not issued for a session (a leaked signing key, or a token minted to live forever).
MAX_TOKEN_LIFETIME_SECONDS = 24 * 3600
# verify_cached: how long a verified token is taken on trust (never past its `exp`, and
# only while the key that verified it is still the JWKS's current one), and how many are kept.
VERIFIED_TOKEN_SECONDS = 60.0
VERIFIED_TOKENS_KEPT = 1024
# One answer for every refusal: which check failed helps only someone forging tokens.
REFUSED = "The access token is invalid or has expired; sign in again"


def _refused() -> Unauthenticated:
    return Unauthenticated(REFUSED)


class TokenVerifier:
    def __init__(
        self,
        *,
        jwks_url: str,
        issuer: str,
        http: httpx.AsyncClient,
        hs256_secret: str | None = None,
    ) -> None:
        self._jwks_url = jwks_url
        self._issuer = issuer
        self._http = http
        self._hs256_secret = hs256_secret
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()
        # verify_cached's tokens: raw token -> (trusted until, kid, key, claims).
        self._verified: OrderedDict[str, tuple[float, str | None, Any, dict[str, Any]]] = (
            OrderedDict()
        )

    async def verify(self, token: str) -> dict[str, Any]:
        claims, _kid, _key = await self._verify(token)
        return claims

    async def verify_cached(self, token: str) -> dict[str, Any]:
        """verify(), remembering the tokens that passed: a client sends the same token with
        every request for an hour, and checking an ES256 signature is a good part of a small
        query's CPU. A remembered token is taken without its signature checked again until
        its `exp` or for VERIFIED_TOKEN_SECONDS, whichever is first, and only while the key
        that verified it is still the current one: a JWKS refresh (the TTL, or a rotation
        seen through an unknown kid) drops every remembered token, so a retired key's tokens
        are refused as soon as verify() would refuse them. At most VERIFIED_TOKENS_KEPT are
        kept, the least recently used dropped first."""
        now = time.time()
        found = self._verified.get(token)
        if found is not None:
            until, kid, key, claims = found
            if now < until and self._is_current(kid, key):
                self._verified.move_to_end(token)
                return dict(claims)
            del self._verified[token]
        claims, kid, key = await self._verify(token)
        until = min(float(claims["exp"]), now + VERIFIED_TOKEN_SECONDS)
        self._verified[token] = (until, kid, key, dict(claims))
        while len(self._verified) > VERIFIED_TOKENS_KEPT:
            self._verified.popitem(last=False)
        return claims

    def _is_current(self, kid: str | None, key: Any) -> bool:
        if kid is None:  # HS256: the configured secret
            return key is self._hs256_secret
        fresh = time.monotonic() - self._fetched_at <= JWKS_TTL_SECONDS
        return fresh and self._keys.get(kid) is key

    async def _verify(self, token: str) -> tuple[dict[str, Any], str | None, Any]:
        """The token's claims, and the kid and key that verified it (no kid for HS256)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise _refused() from exc
        alg = header.get("alg")
        key: Any
        jwk: Any
        kid: str | None = None
        if alg in ASYMMETRIC:
            kid = str(header.get("kid"))
            jwk = await self._key(kid, alg)
            key = jwk.key
        elif alg == "HS256" and self._hs256_secret:
            key = jwk = self._hs256_secret
        else:
            raise _refused()
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=AUDIENCE,
                issuer=self._issuer,
                options={"require": ["exp", "iat", "sub", "aud", "iss"]},
            )
        except jwt.PyJWTError as exc:
            raise _refused() from exc
        exp, iat = claims["exp"], claims["iat"]
        if (
            not isinstance(exp, int | float)
            or not isinstance(iat, int | float)
            or exp - iat > MAX_TOKEN_LIFETIME_SECONDS
            or exp - time.time() > MAX_TOKEN_LIFETIME_SECONDS
        ):
            raise _refused()
        return claims, kid, jwk

    async def _key(self, kid: str, alg: str) -> jwt.PyJWK:
        key = self._keys.get(kid)
        stale = time.monotonic() - self._fetched_at > JWKS_TTL_SECONDS
        if key is None or stale:
            await self._refresh(force=key is None)
            key = self._keys.get(kid)
        if key is None:
            raise _refused()
        if key.algorithm_name != alg:
            raise _refused()
        return key

    async def _refresh(self, *, force: bool) -> None:
        async with self._lock:
            age = time.monotonic() - self._fetched_at
            if age < MIN_REFETCH_SECONDS or (not force and age < JWKS_TTL_SECONDS):
                return
            try:
                response = await self._http.get(self._jwks_url, timeout=5.0)
                response.raise_for_status()
                self._keys = _parse_jwks(response.json())
            except (httpx.HTTPError, ValueError) as exc:
                # Keep the keys we had: a blip at the issuer must not sign everyone out.
                if not self._keys:
                    raise Unauthenticated("Signing keys are unavailable; try again") from exc
            self._fetched_at = time.monotonic()


def _parse_jwks(document: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    keys = {}
    for entry in document.get("keys", []):
        if entry.get("alg") in ASYMMETRIC and entry.get("kid"):
            keys[entry["kid"]] = jwt.PyJWK(entry)
    return keys


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("Use 'Authorization: Bearer <access token>'")
    return token.strip()
