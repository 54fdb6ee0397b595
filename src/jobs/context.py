"""The worker process's resources, opened once on the actors' event loop when the worker
boots and closed when it shuts down (a Dramatiq middleware), with the process's follower
of in-flight fal requests."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from dataclasses import dataclass
from typing import Any

import dramatiq
import httpx
from dramatiq.asyncio import get_event_loop_thread

from jobs.broker import broker, settings
from jobs.follower import Follower
from services.runtime import Resources, open_resources

log = logging.getLogger(__name__)


@dataclass
class WorkerContext(Resources):
    """A worker process's resources: the shared ones, its HTTP client for outputs and its
    follower of in-flight fal requests."""

    http: httpx.AsyncClient
    follower: Follower


_context: WorkerContext | None = None
_opened: contextlib.AsyncExitStack | None = None
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
    global _opened
    async with contextlib.AsyncExitStack() as stack:
        resources = await stack.enter_async_context(open_resources(settings, broker))
        http = httpx.AsyncClient(timeout=60.0, follow_redirects=True)
        stack.push_async_callback(http.aclose)
        follower = Follower(
            poll_seconds=settings.FOLLOWER_POLL_SECONDS,
            polls_per_second=settings.FOLLOWER_POLLS_PER_SECOND,
            concurrency=settings.FOLLOWER_CONCURRENCY,
            max_tracked=settings.FOLLOWER_MAX_TRACKED,
            lease_seconds=settings.NODE_LEASE_SECONDS,
            deadline_seconds=settings.NODE_DEADLINE_SECONDS,
            stall_seconds=settings.NODE_STALL_SECONDS,
        )
        context = WorkerContext(**resources.shared(), http=http, follower=follower)
        follower.start(context)
        stack.push_async_callback(follower.stop)
        # Kept open past this block: `_close` unwinds it when the worker shuts down.
        _opened = stack.pop_all()
    # As in the API: what start-up built is left out of the collector's full passes.
    gc.freeze()
    return context


async def _close() -> None:
    global _context, _opened
    opened, _context, _opened = _opened, None, None
    if opened is not None:
        await opened.aclose()  # the follower first, then HTTP, Redis and the database


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
