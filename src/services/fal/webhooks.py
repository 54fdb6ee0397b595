"""fal's webhooks: ED25519 signatures over the request id, user id, timestamp and the body's
SHA-256, checked against fal's published JWKS (cached, refetched when a key is unknown),
with timestamps more than five minutes off refused."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Mapping
from typing import Any

import httpx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

TOLERANCE_SECONDS = 300
KEYS_TTL_SECONDS = 600
REFETCH_AT_MOST_EVERY_SECONDS = 30


class InvalidFalWebhook(Exception):
    """Unsigned, wrongly signed, stale or malformed."""


class FalWebhookVerifier:
    def __init__(self, jwks_url: str, http: httpx.AsyncClient) -> None:
        self._jwks_url = jwks_url
        self._http = http
        self._keys: list[Ed25519PublicKey] = []
        self._fetched_at = 0.0

    async def verify(self, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        """The webhook's JSON body, once its signature and timestamp hold."""
        try:
            request_id = headers["x-fal-webhook-request-id"]
            user_id = headers["x-fal-webhook-user-id"]
            stamp = headers["x-fal-webhook-timestamp"]
            signature = bytes.fromhex(headers["x-fal-webhook-signature"])
            age = abs(time.time() - int(stamp))
        except (KeyError, ValueError) as exc:
            raise InvalidFalWebhook("missing or malformed signature headers") from exc
        if age > TOLERANCE_SECONDS:
            raise InvalidFalWebhook("stale timestamp")
        message = "\n".join((request_id, user_id, stamp, hashlib.sha256(body).hexdigest()))
        if not await self._signed(signature, message.encode()):
            raise InvalidFalWebhook("bad signature")
        try:
            found: dict[str, Any] = json.loads(body)
        except ValueError as exc:
            raise InvalidFalWebhook("the body is not JSON") from exc
        if found.get("request_id") != request_id:
            raise InvalidFalWebhook("the body names another request")
        return found

    async def _signed(self, signature: bytes, message: bytes) -> bool:
        for fresh in (False, True):
            for key in await self._current_keys(refresh=fresh):
                try:
                    key.verify(signature, message)
                    return True
                except InvalidSignature:
                    continue
        return False

    async def _current_keys(self, *, refresh: bool) -> list[Ed25519PublicKey]:
        age = time.monotonic() - self._fetched_at
        stale = not self._keys or age > KEYS_TTL_SECONDS
        # A key we do not know may be a new one: refetch, but not on every forged request.
        if stale or (refresh and age > REFETCH_AT_MOST_EVERY_SECONDS):
            response = await self._http.get(self._jwks_url)
            response.raise_for_status()
            self._keys = [
                Ed25519PublicKey.from_public_bytes(_b64(key["x"]))
                for key in response.json().get("keys", [])
                if key.get("kty") == "OKP" and key.get("crv") == "Ed25519" and "x" in key
            ]
            self._fetched_at = time.monotonic()
        return self._keys


def _b64(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
