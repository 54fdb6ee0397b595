"""The workers' broker, configured from the environment before any actor is declared."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import dramatiq
import uvloop

from services.platform.config import Settings
from services.runtime import broker_for

# Every fal status poll would otherwise be logged.
logging.getLogger("httpx").setLevel(logging.WARNING)

# The actors' event loop (Dramatiq's AsyncIO middleware makes it with new_event_loop) runs
# on uvloop, as the API's does under uvicorn: every node is a dozen database, Redis and fal
# round trips, and uvloop's transports spend less CPU on each.
asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

settings = Settings()
if not settings.REDIS_URL:
    raise SystemExit("REDIS_URL is not set (`make dev` starts an embedded Redis)")
broker = broker_for(settings)
dramatiq.set_broker(broker)


def schedule_once(slot_key: str, actor: dramatiq.Actor[..., Any], every_seconds: float) -> None:
    """Schedules the next round of a periodic actor; however many worker processes call it,
    one round is scheduled per interval (the slot key expires just before it is due)."""
    every_ms = max(1, int(every_seconds * 1000))
    if broker.client.set(slot_key, "1", nx=True, px=max(1, every_ms - 50)):
        actor.send_with_options(delay=every_ms)
