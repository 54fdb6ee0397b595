"""fal's webhooks (`?fal_webhook=URL` on submit): a POST when a request completes, signed
with ED25519 as fal signs them (request id, user id, timestamp and the body's SHA-256, one
per line; hex signature), the public key published as a JWKS, and failed deliveries retried
with back-off (seconds apart here, where fal spreads ten tries over two hours).

On demand (the control API) deliveries are dropped, delayed or repeated, as a network and
fal's at-least-once delivery may do to them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

log = logging.getLogger(__name__)
USER_ID = "local-fal-user"
ATTEMPTS = 10


class WebhookSigner:
    """One key per key file, kept across restarts so a verifier's cached JWKS stays valid."""

    def __init__(self, key_file: Path) -> None:
        if key_file.exists():
            loaded = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
            assert isinstance(loaded, Ed25519PrivateKey), f"{key_file} is not an ED25519 key"
            self._key = loaded
        else:
            self._key = Ed25519PrivateKey.generate()
            key_file.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(
                    self._key.private_bytes(
                        serialization.Encoding.PEM,
                        serialization.PrivateFormat.PKCS8,
                        serialization.NoEncryption(),
                    )
                )
        raw = self._key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._public = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        self.kid = hashlib.sha256(raw).hexdigest()[:16]

    def jwks(self) -> dict[str, Any]:
        key = {"kty": "OKP", "crv": "Ed25519", "x": self._public, "kid": self.kid}
        return {"keys": [{**key, "use": "sig", "alg": "EdDSA"}]}

    def headers(self, request_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        message = "\n".join((request_id, USER_ID, stamp, hashlib.sha256(body).hexdigest()))
        return {
            "X-Fal-Webhook-Request-Id": request_id,
            "X-Fal-Webhook-User-Id": USER_ID,
            "X-Fal-Webhook-Timestamp": stamp,
            "X-Fal-Webhook-Signature": self._key.sign(message.encode()).hex(),
        }


@dataclass
class Delivery:
    """What the control API asks of the next deliveries."""

    drop: int = 0  # the next N webhooks are never sent
    delay_ms: int = 0  # every webhook waits this long first
    repeat: int = 0  # every webhook is sent this many extra times
    first_retry_seconds: float = 0.5
    counters: dict[str, int] = field(
        default_factory=lambda: {"sent": 0, "delivered": 0, "dropped": 0, "failed": 0}
    )

    def configure(self, body: dict[str, Any]) -> None:
        for name in ("drop", "delay_ms", "repeat"):
            if name in body:
                setattr(self, name, max(0, int(body[name])))

    def snapshot(self) -> dict[str, Any]:
        return {
            "drop": self.drop,
            "delay_ms": self.delay_ms,
            "repeat": self.repeat,
            "counters": dict(self.counters),
        }


class Webhooks:
    def __init__(self, signer: WebhookSigner, delivery: Delivery) -> None:
        self.signer = signer
        self.delivery = delivery
        self._tasks: set[asyncio.Task[None]] = set()
        # One client for every delivery: a client per webhook paid a TLS context and a
        # connection each, which is the stand-in's cost, not anything fal adds.
        self._http: httpx.AsyncClient | None = None

    def send(self, url: str, request_id: str, body: dict[str, Any]) -> None:
        if self.delivery.drop > 0:
            self.delivery.drop -= 1
            self.delivery.counters["dropped"] += 1
            return
        for _ in range(1 + self.delivery.repeat):
            task = asyncio.create_task(self._deliver(url, request_id, body))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _deliver(self, url: str, request_id: str, body: dict[str, Any]) -> None:
        await asyncio.sleep(self.delivery.delay_ms / 1000)
        data = json.dumps(body).encode()
        wait = self.delivery.first_retry_seconds
        if self._http is None:
            # No pool limit: fal calls back as requests finish, however many finish at once.
            self._http = httpx.AsyncClient(
                timeout=httpx.Timeout(15, pool=None),
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=200),
                trust_env=False,
            )
        http = self._http
        for attempt in range(1, ATTEMPTS + 1):
            headers = {
                "Content-Type": "application/json",
                **self.signer.headers(request_id, data),
            }
            self.delivery.counters["sent"] += 1
            try:
                response = await http.post(url, content=data, headers=headers)
                if response.is_success:
                    self.delivery.counters["delivered"] += 1
                    return
                problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = str(exc) or type(exc).__name__
            log.info("webhook %s attempt %d failed: %s", url, attempt, problem)
            await asyncio.sleep(wait)
            wait = min(wait * 2, 30)
        self.delivery.counters["failed"] += 1


def payload(request_id: str, result: dict[str, Any] | None, error: str | None) -> dict[str, Any]:
    """fal's webhook body: the result on success, the error otherwise."""
    return {
        "request_id": request_id,
        "gateway_request_id": request_id,
        "status": "ERROR" if error else "OK",
        "payload": result if error is None else {"detail": [{"msg": error}]},
        "error": error,
    }
