"""The worker process's resources, opened once on the actors' event loop when the worker
boots and closed when it shuts down (a Dramatiq middleware), with the process's follower
of in-flight fal requests."""

from __future__ import annotations

import asyncio
import gc
import logging
from dataclasses import dataclass
from typing import Any

import dramatiq
import httpx
import redis.asyncio as aioredis
from dramatiq.asyncio import get_event_loop_thread

from jobs.broker import broker, settings
from jobs.follower import Follower
from services.assets.storage import Storage
from services.billing.stripe_gateway import StripeGateway
from services.fal.gateway import FalGateway
from services.platform import database
from services.runs.engine import Engine
from services.runs.submission import Submitter
from services.runtime import make_storage

log = logging.getLogger(__name__)


@dataclass
class WorkerContext:
    engine: Engine
    fal: FalGateway
    storage: Storage
    http: httpx.AsyncClient
    stripe: StripeGateway | None
    follower: Follower

    @property
    def submitter(self) -> Submitter:
        return Submitter(self.engine, self.fal, self.storage)


_context: WorkerContext | None = None
_lock: asyncio.Lock | None = None


async def worker_context() -> WorkerContext:
    global _context, _lock
    if _context is None:
        _lock = _lock or asyncio.Lock()
        async with _lock:
            if _context is None:
                _context = await _open()
    return _context


async def _open() -> WorkerContext:
    assert settings.DATABASE_URL and settings.REDIS_URL
    db = await database.connect(settings.DATABASE_URL, max_size=settings.DB_POOL_MAX)
    redis = aioredis.from_url(settings.REDIS_URL)
    follower = Follower(
        poll_seconds=settings.FOLLOWER_POLL_SECONDS,
        polls_per_second=settings.FOLLOWER_POLLS_PER_SECOND,
        concurrency=settings.FOLLOWER_CONCURRENCY,
        max_tracked=settings.FOLLOWER_MAX_TRACKED,
        lease_seconds=settings.NODE_LEASE_SECONDS,
        deadline_seconds=settings.NODE_DEADLINE_SECONDS,
        stall_seconds=settings.NODE_STALL_SECONDS,
    )
    context = WorkerContext(
        engine=Engine(settings=settings, db=db, redis=redis, broker=broker),
        fal=FalGateway(settings.fal_key),
        storage=make_storage(settings),
        http=httpx.AsyncClient(timeout=60.0, follow_redirects=True),
        stripe=StripeGateway(settings) if settings.billing_enabled else None,
        follower=follower,
    )
    follower.start(context)
    # As in the API: what start-up built is left out of the collector's full passes.
    gc.freeze()
    return context


async def _close() -> None:
    global _context
    if _context is None:
        return
    context, _context = _context, None
    await context.follower.stop()
    await context.http.aclose()
    await context.engine.redis.aclose()
    await context.engine.db.close()


class WorkerResources(dramatiq.Middleware):
    """Opens the resources (and starts following fal) as soon as the worker boots, not on
    its first message: nodes left in flight by a dead worker are adopted at once."""

    def after_worker_boot(self, broker: dramatiq.Broker, worker: Any) -> None:
        if not settings.DATABASE_URL:
            log.warning("DATABASE_URL is not set: only maintenance actors can run")
            return
        get_event_loop_thread().run_coroutine(worker_context())  # type: ignore[union-attr]

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: Any) -> None:
        # After the worker threads finished the messages in hand (a submission fal has yet
        # to answer must still record its request id), before the AsyncIO middleware stops
        # the loop: Dramatiq calls `after_` hooks in reverse, and this one is added later.
        thread = get_event_loop_thread()
        if thread is not None:
            thread.run_coroutine(_close())


broker.add_middleware(WorkerResources())
