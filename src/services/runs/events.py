"""Live run events. State is written to PostgreSQL first, then a small notice is published
on Redis; each API process holds one Redis subscription and fans notices out to its local
subscribers through bounded queues, so a slow client is dropped instead of growing memory."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

log = logging.getLogger(__name__)
CHANNEL_PREFIX = "lattice:run:"
SUBSCRIBER_QUEUE_SIZE = 256


@dataclass(frozen=True)
class RunNotice:
    run_id: uuid.UUID
    node_run_id: uuid.UUID | None

    def encode(self) -> str:
        return json.dumps(
            {"run": str(self.run_id), "node": str(self.node_run_id) if self.node_run_id else None}
        )

    @classmethod
    def decode(cls, data: str | bytes) -> RunNotice:
        raw: dict[str, Any] = json.loads(data)
        return cls(uuid.UUID(raw["run"]), uuid.UUID(raw["node"]) if raw.get("node") else None)


async def publish(
    redis: aioredis.Redis, run_id: uuid.UUID, node_run_id: uuid.UUID | None = None
) -> None:
    await redis.publish(f"{CHANNEL_PREFIX}{run_id}", RunNotice(run_id, node_run_id).encode())


class SlowSubscriber(Exception):
    """Raised to a subscriber whose queue overflowed; it should reconnect for a fresh snapshot."""


class EventHub:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._subscribers: dict[uuid.UUID, set[asyncio.Queue[RunNotice | None]]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="event-hub")
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _listen(self) -> None:
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.psubscribe(f"{CHANNEL_PREFIX}*")
                self._ready.set()
                async for message in pubsub.listen():
                    if message["type"] == "pmessage":
                        self._deliver(RunNotice.decode(message["data"]))
            except (aioredis.ConnectionError, OSError):
                log.warning("event hub lost Redis; reconnecting", exc_info=True)
                # Subscribers may have missed notices: end their streams so clients
                # reconnect and get a fresh snapshot.
                self._close_all()
                await asyncio.sleep(1)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _deliver(self, notice: RunNotice) -> None:
        for queue in list(self._subscribers.get(notice.run_id, ())):
            try:
                queue.put_nowait(notice)
            except asyncio.QueueFull:
                self._subscribers[notice.run_id].discard(queue)
                # Make room for the poison pill that tells the reader it fell behind.
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
                queue.put_nowait(None)

    def _close_all(self) -> None:
        for queues in self._subscribers.values():
            for queue in queues:
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(None)
        self._subscribers.clear()

    @contextlib.asynccontextmanager
    async def subscribe(self, run_id: uuid.UUID) -> AsyncIterator[asyncio.Queue[RunNotice | None]]:
        """A queue of notices for one run; None in it means the subscriber fell behind."""
        queue: asyncio.Queue[RunNotice | None] = asyncio.Queue(maxsize=SUBSCRIBER_QUEUE_SIZE)
        self._subscribers[run_id].add(queue)
        try:
            yield queue
        finally:
            self._subscribers[run_id].discard(queue)
            if not self._subscribers[run_id]:
                del self._subscribers[run_id]

    @property
    def subscriber_count(self) -> int:
        return sum(len(q) for q in self._subscribers.values())
