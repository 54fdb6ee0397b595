"""The Dramatiq broker, and sending work to actors by name. The API sends through here
without importing the workers' code; the workers register their actors on the same broker.

Dramatiq's Redis consumers poll: an idle one sleeps up to its idle timeout between fetches,
so a message sent to an idle worker waits for the next poll. Ours also wait on a doorbell,
a pub/sub channel per queue that senders ring after a batch, and fetch the moment it rings.
The ring is only a hint: a message sent without one (a Dramatiq retry, say), or a ring lost
with a Redis reconnect, is still fetched at the next poll."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.middleware import AsyncIO, CurrentMessage

log = logging.getLogger(__name__)

NAMESPACE = "lattice"
QUEUE = "nodes"
EXECUTE_NODE = "execute_node"
COMPLETE_NODE = "complete_node"
BILLING_QUEUE = "billing"
REPORT_USAGE = "report_usage"


def doorbell(queue_name: str) -> str:
    return f"{NAMESPACE}:doorbell:{queue_name}"


class Broker(RedisBroker):
    """Dramatiq's Redis broker with a doorbell per queue."""

    @property
    def consumer_class(self) -> type[_RedisConsumer]:
        return _DoorbellConsumer

    def ring(self, queue_names: Iterable[str]) -> None:
        """Wakes the idle consumers of these queues (every worker process's)."""
        with self.client.pipeline(transaction=False) as pipe:
            for queue_name in set(queue_names):
                pipe.publish(doorbell(queue_name), b"")
            pipe.execute()


class _DoorbellConsumer(_RedisConsumer):
    """Where Dramatiq's consumer would sleep after finding its queue empty, this one waits
    on the queue's doorbell for as long (its idle timeout), and fetches as soon as it rings.

    It stays subscribed between waits, so a ring that comes between the empty fetch and the
    wait is not missed. Only an idle consumer waits on the bell: one with as many messages
    outstanding as it may prefetch keeps Dramatiq's own backoff."""

    def __init__(self, broker: Broker, queue_name: str, prefetch: int, timeout: int) -> None:
        super().__init__(broker, queue_name, prefetch, timeout)
        self._idle_timeout_ms = timeout
        self._bell: redis.client.PubSub | None = None

    def __next__(self) -> Any:
        idle = not self.message_cache and self.outstanding_message_count < self.prefetch
        if idle and not self._listening():
            idle = False  # Redis is away: Dramatiq's backoff, whose fetch reports it
        # An idle consumer's fetch that finds nothing must not sleep: it waits on the bell.
        self.timeout = 0 if idle else self._idle_timeout_ms
        message = super().__next__()
        if message is None and idle:
            self._wait_for_ring()
        return message

    def close(self) -> None:
        self._hang_up()
        super().close()

    def _listening(self) -> bool:
        if self._bell is None:
            try:
                bell = self.broker.client.pubsub(ignore_subscribe_messages=True)
                bell.subscribe(doorbell(self.queue_name))
            except redis.RedisError:
                return False
            self._bell = bell
        return True

    def _wait_for_ring(self) -> None:
        assert self._bell is not None
        try:
            if self._bell.get_message(timeout=self._idle_timeout_ms / 1000) is not None:
                # Rings that came meanwhile are answered by the one fetch that follows.
                while self._bell.get_message(timeout=0) is not None:
                    pass
        except (redis.RedisError, OSError):
            log.info("lost the doorbell of queue %s; polling until it is back", self.queue_name)
            self._hang_up()

    def _hang_up(self) -> None:
        bell, self._bell = self._bell, None
        if bell is not None:
            with contextlib.suppress(redis.RedisError, OSError):
                bell.close()


def make_broker(
    redis_url: str, *, heartbeat_timeout_ms: int = 60_000, maintenance_chance: int = 1000
) -> Broker:
    broker = Broker(
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
