"""Small housekeeping actors."""

from __future__ import annotations

import dramatiq

from jobs.broker import broker


@dramatiq.actor(broker=broker, queue_name="maintenance", max_retries=0)
def ping(token: str) -> None:
    """Lets a health check prove that a worker is consuming."""
    broker.client.set(f"lattice:pong:{token}", "1", ex=60)
