"""Events and their delivery: every event is stored (for `GET /v1/events`) and POSTed as JSON
to the webhook URL with a `Stripe-Signature` header that `stripe.Webhook.construct_event`
verifies. One background task sends first attempts in order of creation; a failed attempt
(non-2xx or no connection) is retried on its own task with doubling delays, so it never
holds up later events nor the request that created the event. Faults for tests: hold
events and release them (optionally in reverse order), or send every event twice."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import time
from dataclasses import dataclass, field

import httpx
from stripe import WebhookSignature

from devstack.stripe_server.store import Obj, Store, now

API_VERSION = "2026-10-28.endive"


@dataclass
class Delivery:
    event_id: str
    type: str
    attempts: list[Obj] = field(default_factory=list)  # {"at", "status"} or {"at", "error"}
    delivered: bool = False
    gave_up: bool = False

    def snapshot(self) -> Obj:
        return {
            "event_id": self.event_id,
            "type": self.type,
            "attempts": len(self.attempts),
            "delivered": self.delivered,
            "gave_up": self.gave_up,
            "outcomes": self.attempts,
        }


@dataclass
class Webhooks:
    store: Store
    url: str | None
    secret: str
    retry_initial: float = 0.5  # seconds before the first retry; doubles each time
    retry_total: float = 60.0  # give up once the delays would add up to more than this
    hold: bool = False
    reverse: bool = False
    duplicate: bool = False
    held: list[Delivery] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    request: Obj | None = None  # the API request creating events right now, for `request`

    def __post_init__(self) -> None:
        self.queue: asyncio.Queue[Delivery] = asyncio.Queue()
        self.tasks: set[asyncio.Task[None]] = set()
        self.http: httpx.AsyncClient | None = None

    # -- creating events ------------------------------------------------------------------
    def emit(self, type: str, obj: Obj, previous: Obj | None = None) -> Obj:
        data: Obj = {"object": copy.deepcopy(obj)}
        if previous is not None:
            data["previous_attributes"] = copy.deepcopy(previous)
        event = self.store.create(
            "event",
            {
                "object": "event",
                "api_version": API_VERSION,
                "created": now(),
                "data": data,
                "livemode": False,
                "pending_webhooks": 1 if self.url else 0,
                "request": dict(self.request or {"id": None, "idempotency_key": None}),
                "type": type,
            },
        )
        for _ in range(2 if self.duplicate else 1):
            self.send(event)
        return event

    def send(self, event: Obj) -> None:
        delivery = Delivery(event["id"], event["type"])
        self.deliveries.append(delivery)
        if self.hold:
            self.held.append(delivery)
        else:
            self.queue.put_nowait(delivery)

    def release(self) -> None:
        held, self.held = self.held, []
        for delivery in reversed(held) if self.reverse else held:
            self.queue.put_nowait(delivery)

    def reset(self) -> None:
        for task in self.tasks:
            task.cancel()
        self.tasks.clear()
        while not self.queue.empty():
            self.queue.get_nowait()
        self.held.clear()
        self.deliveries.clear()
        self.hold = self.reverse = self.duplicate = False

    # -- delivering -----------------------------------------------------------------------
    async def run(self) -> None:
        """The background task: first attempts in order; retries on their own tasks."""
        async with httpx.AsyncClient(timeout=10, trust_env=False) as http:
            self.http = http
            while True:
                delivery = await self.queue.get()
                if not await self._attempt(delivery) and not delivery.gave_up:
                    task = asyncio.create_task(self._retry(delivery))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)

    async def _retry(self, delivery: Delivery) -> None:
        delay, waited = self.retry_initial, 0.0
        while waited + delay <= self.retry_total:
            await asyncio.sleep(delay)
            waited += delay
            if await self._attempt(delivery):
                return
            delay *= 2
        delivery.gave_up = True

    async def _attempt(self, delivery: Delivery) -> bool:
        event = self.store.objects["event"].get(delivery.event_id)
        at = time.time()
        if self.url is None or event is None:
            delivery.attempts.append({"at": at, "error": "no webhook url"})
            delivery.gave_up = True
            return False
        body = json.dumps(event, indent=2)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": WebhookSignature.generate_signature_header(body, self.secret),
        }
        assert self.http is not None
        try:
            response = await self.http.post(self.url, content=body.encode(), headers=headers)
        except httpx.HTTPError as exc:
            delivery.attempts.append({"at": at, "error": f"{type(exc).__name__}: {exc}"})
            return False
        delivery.attempts.append({"at": at, "status": response.status_code})
        delivery.delivered = delivery.delivered or response.is_success
        return response.is_success

    def snapshot(self) -> Obj:
        return {
            "url": self.url,
            "hold": self.hold,
            "reverse": self.reverse,
            "duplicate": self.duplicate,
            "retry": {"initial_seconds": self.retry_initial, "total_seconds": self.retry_total},
            "held": [d.event_id for d in self.held],
            "queued": self.queue.qsize(),
        }

    async def close(self) -> None:
        for task in list(self.tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
