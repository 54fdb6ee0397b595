"""Idle workers wait on their queue's doorbell: a message sent to an idle worker is fetched
as soon as its sender rings, not at the worker's next poll; with Redis away the consumer
reports it as Dramatiq's own does (the worker reconnects)."""

from __future__ import annotations

import queue as queues
import threading
import time
import uuid
from typing import Any

import pytest
from dramatiq.errors import ConnectionClosed

from services.runs.dispatch import doorbell, make_broker, send

A_MINUTE_MS = 60_000


def test_an_idle_consumer_fetches_as_soon_as_the_doorbell_rings(test_redis_url: str) -> None:
    queue = f"doorbell-test-{uuid.uuid4().hex[:8]}"
    broker = make_broker(test_redis_url)
    broker.declare_queue(queue)
    # A minute between polls: only the doorbell can bring the message within the test.
    consumer = broker.consume(queue, prefetch=2, timeout=A_MINUTE_MS)
    received: queues.Queue[Any] = queues.Queue()

    def consume() -> None:
        for message in consumer:
            if message is not None:
                received.put(message)
                return

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    try:
        _wait_for_listener(broker, queue)
        send(broker, "execute_node", "n1", queue=queue)
        broker.ring([queue])
        message = received.get(timeout=10)
        assert message.actor_name == "execute_node"
        assert message.args == ("n1",)
    finally:
        consumer.close()


def test_with_redis_away_the_consumer_reports_it_rather_than_wait() -> None:
    broker = make_broker("redis://127.0.0.1:1/0")  # nothing listens there
    broker.declare_queue("nodes")
    consumer = broker.consume("nodes", prefetch=2, timeout=A_MINUTE_MS)
    with pytest.raises(ConnectionClosed):
        next(consumer)


def _wait_for_listener(broker: Any, queue: str) -> None:
    """Until the consumer has subscribed to the queue's doorbell."""
    deadline = time.monotonic() + 10
    while broker.client.pubsub_numsub(doorbell(queue))[0][1] < 1:
        assert time.monotonic() < deadline, "the consumer never listened for the doorbell"
        time.sleep(0.01)
