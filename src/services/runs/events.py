"""Live run events. State is written to PostgreSQL first, then a small notice is published
on Redis; each API process holds one Redis subscription (the hub) and turns a notice into
its payload once per run: one read of the run as the service, handed as the same immutable
`RunUpdate` to every local subscriber of that run. Subscribers were authorized as the
viewer before they joined (every subscriber of a run is its owner or an admin).

Per run, one task reads and delivers in order, so every subscriber sees the run's states
in the order they were read: first a snapshot (a read made after it joined), then each
change. Notices that arrive while a read is under way are answered by the next read,
together. Each subscriber has a bounded buffer; one that stops reading is told it fell
behind and dropped, instead of growing memory.

The hub survives what Redis sends it: a malformed message is logged and skipped; a lost
connection is retried, and the streams of every local subscriber end (they missed notices:
clients resubscribe for a fresh snapshot)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis

from services.platform.database import Database
from services.runs.reads import NodeRunRecord, RunState, run_state

log = logging.getLogger(__name__)
CHANNEL_PREFIX = "lattice:run:"
SUBSCRIBER_QUEUE_SIZE = 256
RECONNECT_SECONDS = (0.1, 0.5, 1.0, 2.0, 5.0)


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
        """Raises ValueError for anything that is not a notice."""
        try:
            raw: Any = json.loads(data)
            node = raw.get("node")
            return cls(uuid.UUID(raw["run"]), uuid.UUID(node) if node else None)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a run notice: {data!r:.200}") from exc


async def publish(
    redis: aioredis.Redis, run_id: uuid.UUID, node_run_id: uuid.UUID | None = None
) -> None:
    await redis.publish(f"{CHANNEL_PREFIX}{run_id}", RunNotice(run_id, node_run_id).encode())


@dataclass(frozen=True, eq=False)
class RunUpdate:
    """What one read of a run means to a subscriber: the run's state, and the node run that
    changed (None in a snapshot or for a change to the run itself). Shared by every
    subscriber of the run; compared by identity."""

    state: RunState
    node_run: NodeRunRecord | None
    snapshot: bool = False


ReadState = Callable[[uuid.UUID], Awaitable[RunState | None]]


class Subscriber:
    """One subscription's buffer of updates; None in it means: this stream is over (it fell
    behind, the hub lost Redis, or the run is gone), resubscribe."""

    __slots__ = ("_items", "_waiter", "closed")

    def __init__(self) -> None:
        self._items: list[RunUpdate | None] = []
        self._waiter: asyncio.Future[None] | None = None
        self.closed = False

    def offer(self, update: RunUpdate) -> bool:
        """False when the buffer was full: the subscriber is told and must be dropped."""
        if self.closed:
            return False
        if len(self._items) >= SUBSCRIBER_QUEUE_SIZE:
            self.end()
            return False
        self._items.append(update)
        self._wake()
        return True

    def end(self) -> None:
        if not self.closed:
            self.closed = True
            self._items.clear()
            self._items.append(None)
            self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def pending(self) -> int:
        return len(self._items)

    async def get(self) -> RunUpdate | None:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._items.pop(0)
        if item is None:
            self._items.append(None)  # stays over
        return item


class _Run:
    """A run with local subscribers: who has had a snapshot, who waits for one, which
    notices wait for the next read, and the task reading."""

    __slots__ = ("joining", "notices", "subscribers", "task")

    def __init__(self) -> None:
        self.subscribers: set[Subscriber] = set()
        self.joining: list[Subscriber] = []
        self.notices: dict[RunNotice, None] = {}  # an ordered set
        self.task: asyncio.Task[None] | None = None

    @property
    def empty(self) -> bool:
        return not self.subscribers and not self.joining


class EventHub:
    def __init__(self, redis: aioredis.Redis, db: Database | None = None) -> None:
        self.redis = redis
        self._db = db
        self._runs: dict[uuid.UUID, _Run] = {}
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self.connected = False
        self.malformed = 0
        self.received = 0
        self.reads = 0
        # Bumped whenever every stream is ended; a read begun before cannot be trusted after.
        self._epoch = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="event-hub")
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def stop(self) -> None:
        tasks = [self._task, *(r.task for r in self._runs.values())]
        for task in tasks:
            if task is not None:
                task.cancel()
        for task in tasks:
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._close_all()

    @property
    def status(self) -> str:
        """`ok`, `reconnecting` (Redis lost, retrying) or `stopped` (the hub task ended)."""
        if self._task is None or self._task.done():
            return "stopped"
        return "ok" if self.connected else "reconnecting"

    async def _listen(self) -> None:
        failures = 0
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.psubscribe(f"{CHANNEL_PREFIX}*")
                if failures:
                    log.info("event hub reconnected to Redis")
                self.connected, failures = True, 0
                self._ready.set()
                async for message in pubsub.listen():
                    if message["type"] == "pmessage":
                        self._receive(message["data"])
                raise aioredis.ConnectionError("the subscription ended")
            except asyncio.CancelledError:
                raise
            except Exception:
                # Whatever happened (Redis errors, or anything unexpected), the hub lives on.
                self.connected = False
                log.warning("event hub lost Redis; reconnecting", exc_info=True)
                # Subscribers may have missed notices: end their streams so clients
                # resubscribe and get a fresh snapshot.
                self._close_all()
                await asyncio.sleep(RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)])
                failures += 1
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _receive(self, data: str | bytes) -> None:
        try:
            notice = RunNotice.decode(data)
        except ValueError:
            self.malformed += 1
            log.warning("event hub skipped a malformed message", exc_info=True)
            return
        self.received += 1
        run = self._runs.get(notice.run_id)
        # Kept while a read is under way even if it only serves joining subscribers: their
        # snapshot may have read the run before this change, which they would never see.
        if run is None or (run.empty and run.task is None):
            return
        run.notices[notice] = None
        self._wake(notice.run_id, run)

    def _wake(self, run_id: uuid.UUID, run: _Run) -> None:
        if run.task is None:
            run.task = asyncio.create_task(self._pump(run_id, run), name=f"run-events:{run_id}")

    async def _read(self, run_id: uuid.UUID) -> RunState | None:
        assert self._db is not None, "an EventHub that reads runs needs the database"
        self.reads += 1
        # One statement, atomic by itself: no BEGIN and COMMIT around it.
        async with self._db.as_service_statement() as conn:
            return await run_state(conn, run_id)

    async def _pump(self, run_id: uuid.UUID, run: _Run) -> None:
        """Reads the run once for everything pending, then hands the result out: a change to
        every subscriber that joined before the read, a snapshot to those waiting for one."""
        try:
            while run.joining or (run.notices and run.subscribers):
                notices, run.notices = list(run.notices), {}
                joining, run.joining = run.joining, []
                epoch = self._epoch
                try:
                    state = await self._read(run_id)
                except Exception:
                    # The database failed: this run's streams end and clients resubscribe.
                    log.warning("reading run %s for its subscribers failed", run_id, exc_info=True)
                    state = None
                if state is None or epoch != self._epoch:
                    for subscriber in (*run.subscribers, *joining):
                        subscriber.end()
                    run.subscribers.clear()
                    continue
                if notices and run.subscribers:
                    updates = [RunUpdate(state, state.node_run(n.node_run_id)) for n in notices]
                    for subscriber in list(run.subscribers):
                        if not all(subscriber.offer(u) for u in updates):
                            run.subscribers.discard(subscriber)
                snapshot = RunUpdate(state, None, snapshot=True)
                for subscriber in joining:
                    if subscriber.offer(snapshot):
                        run.subscribers.add(subscriber)
        finally:
            run.task = None
            self._release(run_id, run)

    def _release(self, run_id: uuid.UUID, run: _Run) -> None:
        if run.empty and run.task is None and self._runs.get(run_id) is run:
            del self._runs[run_id]

    def _close_all(self) -> None:
        self._epoch += 1
        for run in self._runs.values():
            for subscriber in (*run.subscribers, *run.joining):
                subscriber.end()
            run.subscribers.clear()
            run.joining.clear()
            run.notices.clear()
        for run_id, run in list(self._runs.items()):
            self._release(run_id, run)

    @contextlib.asynccontextmanager
    async def subscribe(self, run_id: uuid.UUID) -> AsyncIterator[Subscriber]:
        """Updates of one run, starting with a snapshot. Authorize the caller first: the
        hub reads as the service."""
        subscriber = Subscriber()
        run = self._runs.get(run_id)
        if run is None:
            run = self._runs[run_id] = _Run()
        run.joining.append(subscriber)
        self._wake(run_id, run)
        try:
            yield subscriber
        finally:
            subscriber.closed = True
            run.subscribers.discard(subscriber)
            with contextlib.suppress(ValueError):
                run.joining.remove(subscriber)
            self._release(run_id, run)

    @property
    def subscriber_count(self) -> int:
        return sum(len(r.subscribers) + len(r.joining) for r in self._runs.values())

    @property
    def run_count(self) -> int:
        return len(self._runs)
