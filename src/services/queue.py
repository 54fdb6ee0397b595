"""The Dramatiq broker, and sending work to actors by name. The API sends through here
without importing the workers' code; the workers register their actors on the same broker."""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO

NAMESPACE = "lattice"
QUEUE = "nodes"


def make_broker(redis_url: str) -> RedisBroker:
    broker = RedisBroker(url=redis_url, namespace=NAMESPACE)
    # Actors are coroutines: one event loop per worker process, shared by its threads.
    broker.add_middleware(AsyncIO())
    return broker


def send(
    broker: dramatiq.Broker, actor_name: str, *args: Any, queue: str = QUEUE, **options: Any
) -> dramatiq.Message[Any]:
    message: dramatiq.Message[Any] = dramatiq.Message(
        queue_name=queue, actor_name=actor_name, args=args, kwargs={}, options=options
    )
    return broker.enqueue(message)
