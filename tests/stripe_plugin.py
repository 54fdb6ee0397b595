"""The local Stripe server for the test session (`python -m devstack.stripe_server`), and a
webhook receiver that verifies signatures with the real library.

Fixtures:
- `stripe_server` (session): a `LocalStripe` with `base_url`, `secret_key`, `webhook_secret`,
  `client()` (a real `stripe.StripeClient` pointed here) and helpers for `/_control`. It
  starts with no webhook URL: point it anywhere with `set_webhook_url(url)` (the app's live
  server, or the receiver below).
- `stripe_webhooks` (session): a `WebhookReceiver` on a loopback port recording every event
  that `stripe.Webhook.construct_event` accepts; `fail_next(n)` answers 500 n times."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import httpx
import pytest
import stripe

from devstack.embedded import free_port

T = TypeVar("T")


def wait_for(condition: Callable[[], T | None], timeout: float = 10, what: str = "") -> T:
    """Polls `condition` until it returns something truthy, or fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what or condition}"
        time.sleep(0.02)


@dataclass
class LocalStripe:
    base_url: str
    secret_key: str
    webhook_secret: str
    http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=10, trust_env=False))

    def client(self, max_network_retries: int = 2) -> stripe.StripeClient:
        base = self.base_url
        return stripe.StripeClient(
            self.secret_key,
            base_addresses={"api": base, "files": base, "connect": base, "meter_events": base},
            max_network_retries=max_network_retries,
        )

    # -- the control API ------------------------------------------------------------------
    def control(self, **body: Any) -> dict[str, Any]:
        """`POST /_control` (see devstack.stripe_server for every key); returns the state."""
        response = self.http.post(f"{self.base_url}/_control", json=body)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def state(self) -> dict[str, Any]:
        result: dict[str, Any] = self.http.get(f"{self.base_url}/_control").json()
        return result

    def set_webhook_url(self, url: str | None) -> None:
        self.control(webhook_url=url)

    def fail(
        self,
        status: int,
        *,
        count: int | None = None,
        seconds: float | None = None,
        paths: list[str] | None = None,
    ) -> None:
        self.control(fail={"status": status, "count": count, "seconds": seconds, "paths": paths})

    def clear_faults(self) -> None:
        self.control(fail=None)

    def set_subscription_status(self, subscription_id: str, status: str) -> dict[str, Any]:
        response = self.http.post(
            f"{self.base_url}/_control/subscriptions/{subscription_id}", json={"status": status}
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def redeliver(self, event_id: str) -> None:
        self.http.post(f"{self.base_url}/_control/redeliver/{event_id}").raise_for_status()

    def meter_events(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.http.get(
            f"{self.base_url}/_control/meter_events"
        ).json()
        return result

    def deliveries(self, event_id: str) -> list[dict[str, Any]]:
        return [d for d in self.state()["deliveries"] if d["event_id"] == event_id]

    # -- what a browser does --------------------------------------------------------------
    def pay(self, checkout_url: str) -> httpx.Response:
        """Presses "Pay" on the hosted Checkout page; the answer is the 303 to success_url."""
        return self.http.post(f"{checkout_url}/complete")


@dataclass
class WebhookReceiver:
    url: str
    secret: str
    events: list[stripe.Event] = field(default_factory=list)  # in arrival order
    rejected: int = 0
    failures_left: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, count: int) -> None:
        with self.lock:
            self.failures_left = count

    def of(self, object_id: str, type: str | None = None) -> list[stripe.Event]:
        """Events about one object (`data.object.id`), optionally of one type."""
        with self.lock:
            return [
                e
                for e in self.events
                if e.data.object["id"] == object_id and (type is None or e.type == type)
            ]

    def wait(self, object_id: str, type: str, count: int = 1) -> list[stripe.Event]:
        def enough() -> list[stripe.Event] | None:
            found = self.of(object_id, type)
            return found if len(found) >= count else None

        return wait_for(enough, what=f"{count} {type} for {object_id}")

    def handle(self, body: bytes, signature: str | None) -> int:
        with self.lock:
            if self.failures_left > 0:
                self.failures_left -= 1
                return 500
        try:
            event = stripe.Webhook.construct_event(body, signature or "", self.secret, 300)
        except (stripe.SignatureVerificationError, ValueError):
            with self.lock:
                self.rejected += 1
            return 400
        with self.lock:
            self.events.append(event)
        return 200


def _receiver_server(receiver: WebhookReceiver, port: int) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = receiver.handle(body, self.headers.get("Stripe-Signature"))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"received": status == 200}).encode())

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)


WEBHOOK_SECRET = "whsec_local_test_secret"


@contextlib.contextmanager
def start_server(webhook_secret: str = WEBHOOK_SECRET, *args: str) -> Iterator[LocalStripe]:
    """Runs `python -m devstack.stripe_server` on a free port until the block ends."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devstack.stripe_server",
            "--port",
            str(port),
            "--webhook-secret",
            webhook_secret,
            *args,
        ]
    )
    server = LocalStripe(f"http://127.0.0.1:{port}", "sk_test_local", webhook_secret)
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(httpx.HTTPError, socket.error):
                if server.http.get(f"{server.base_url}/healthz").status_code == 200:
                    break
            assert process.poll() is None, "the local Stripe server exited"
            assert time.monotonic() < deadline, "the local Stripe server did not start"
            time.sleep(0.05)
        yield server
    finally:
        server.http.close()
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def stripe_server() -> Iterator[LocalStripe]:
    with start_server() as server:
        yield server


@pytest.fixture(scope="session")
def stripe_webhooks() -> Iterator[WebhookReceiver]:
    port = free_port()
    receiver = WebhookReceiver(f"http://127.0.0.1:{port}/webhooks", WEBHOOK_SECRET)
    http = _receiver_server(receiver, port)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    yield receiver
    http.shutdown()
    http.server_close()
