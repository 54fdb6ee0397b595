"""The workers' broker, configured from the environment before any actor is declared."""

from __future__ import annotations

import logging

import dramatiq

from services.platform.config import Settings
from services.runs.dispatch import make_broker

# Every fal status poll would otherwise be logged.
logging.getLogger("httpx").setLevel(logging.WARNING)

settings = Settings()
if not settings.REDIS_URL:
    raise SystemExit("REDIS_URL is not set (`make dev` starts an embedded Redis)")
broker = make_broker(
    settings.REDIS_URL,
    heartbeat_timeout_ms=settings.QUEUE_HEARTBEAT_TIMEOUT_MS,
    maintenance_chance=settings.QUEUE_MAINTENANCE_CHANCE,
)
dramatiq.set_broker(broker)
