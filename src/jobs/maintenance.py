"""Housekeeping actors."""

from __future__ import annotations

import logging

import dramatiq

from jobs.broker import broker, schedule_once
from jobs.context import worker_context
from services.assets.persist import purge_expired

log = logging.getLogger(__name__)
PURGE_EVERY_SECONDS = 600
PURGE_SLOT_KEY = "lattice:maintenance:purge-scheduled"


@dramatiq.actor(broker=broker, queue_name="maintenance", max_retries=0)
def ping(token: str) -> None:
    """Lets a health check prove that a worker is consuming."""
    broker.client.set(f"lattice:pong:{token}", "1", ex=60)


@dramatiq.actor(broker=broker, queue_name="maintenance", max_retries=3)
async def purge_expired_assets() -> None:
    """Removes expired temporary assets from the gallery, then schedules its next round."""
    ctx = await worker_context()
    removed = await purge_expired(ctx.engine.db, ctx.storage)
    if removed:
        log.info("removed %d expired temporary assets", removed)
    schedule_purge()


def schedule_purge() -> None:
    schedule_once(PURGE_SLOT_KEY, purge_expired_assets, PURGE_EVERY_SECONDS)
