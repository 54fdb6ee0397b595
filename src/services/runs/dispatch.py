"""The Dramatiq broker, and sending work to actors by name. The API sends through here
without importing the workers' code; the workers register their actors on the same broker."""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO, CurrentMessage

NAMESPACE = "lattice"
QUEUE = "nodes"
EXECUTE_NODE = "execute_node"
COMPLETE_NODE = "complete_node"
BILLING_QUEUE = "billing"
REPORT_USAGE = "report_usage"


def make_broker(
    redis_url: str, *, heartbeat_timeout_ms: int = 60_000, maintenance_chance: int = 1000
) -> RedisBroker:
    broker = RedisBroker(
        url=redis_url,
        namespace=NAMESPACE,
        heartbeat_timeout=heartbeat_timeout_ms,
        maintenance_chance=maintenance_chance,
    )
    # Actors are coroutines: one event loop per worker process, shared by its threads.
    broker.add_middleware(AsyncIO())
    # Lets an actor see how often its message was retried.
    broker.add_middleware(CurrentMessage())
    return broker


def send(
    broker: dramatiq.Broker, actor_name: str, *args: Any, queue: str = QUEUE, **options: Any
) -> dramatiq.Message[Any]:
    message: dramatiq.Message[Any] = dramatiq.Message(
        queue_name=queue, actor_name=actor_name, args=args, kwargs={}, options=options
    )
    return broker.enqueue(message)
