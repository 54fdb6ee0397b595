"""The worker process's resources, opened once on the actors' event loop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
import redis.asyncio as aioredis

from jobs.broker import broker, settings
from services.assets.storage import Storage
from services.billing.stripe_gateway import StripeGateway
from services.fal.gateway import FalGateway
from services.platform import database
from services.runs.engine import Engine
from services.runtime import make_storage


@dataclass
class WorkerContext:
    engine: Engine
    fal: FalGateway
    storage: Storage
    http: httpx.AsyncClient
    stripe: StripeGateway | None


_context: WorkerContext | None = None
_lock: asyncio.Lock | None = None


async def worker_context() -> WorkerContext:
    global _context, _lock
    if _context is None:
        _lock = _lock or asyncio.Lock()
        async with _lock:
            if _context is None:
                assert settings.DATABASE_URL and settings.REDIS_URL
                db = await database.connect(settings.DATABASE_URL, max_size=settings.DB_POOL_MAX)
                redis = aioredis.from_url(settings.REDIS_URL)
                fal_key = settings.FAL_KEY.get_secret_value() if settings.FAL_KEY else ""
                _context = WorkerContext(
                    engine=Engine(settings=settings, db=db, redis=redis, broker=broker),
                    fal=FalGateway(fal_key),
                    storage=make_storage(settings),
                    http=httpx.AsyncClient(timeout=60.0, follow_redirects=True),
                    stripe=StripeGateway(settings) if settings.billing_enabled else None,
                )
    return _context
