"""The outbox relay against a real database and Redis: every committed message reaches the
broker once, a failed send loses nothing, and a batch claimed by a relay that died is sent
by the next relay once its claim lapses (never while another relay may still send it).

Each test has a database of its own (no worker's follower relays it) and a queue nobody
consumes, so what reached Redis can be counted."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.exceptions
from dramatiq.brokers.redis import RedisBroker

from conftest import migrated_database
from services.platform import database
from services.platform.database import Database
from services.runs import outbox
from services.runs.dispatch import NAMESPACE, doorbell, make_broker


@pytest.fixture
async def db(service_urls: dict[str, str]) -> AsyncIterator[Database]:
    async with migrated_database(service_urls["DATABASE_URL"], "lattice_outbox") as url:
        opened = await database.connect(url, max_size=4)
        try:
            yield opened
        finally:
            await opened.close()


@pytest.fixture
def queue() -> str:
    return f"outbox-test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def broker(test_redis_url: str, queue: str) -> RedisBroker:
    made = make_broker(test_redis_url)
    made.declare_queue(queue)
    return made


async def _put(db: Database, queue: str, *names: str) -> None:
    async with db.as_service() as conn:
        await outbox.add(conn, [outbox.Message("execute_node", (name,), queue) for name in names])


def _sent(broker: RedisBroker, queue: str) -> list[Any]:
    """The one argument of every message on the queue, in no particular order."""
    stored = broker.client.hvals(f"{NAMESPACE}:{queue}.msgs")
    sent = [json.loads(m)["args"] for m in stored]
    assert all(len(args) == 1 for args in sent), sent
    return sorted(args[0] for args in sent)


async def _left(db: Database) -> list[tuple[str, bool]]:
    async with db.as_service() as conn:
        rows = await conn.fetch(
            "select args->>0 as name, claimed_until is not null as claimed from public.outbox"
            " order by id"
        )
    return [(r["name"], r["claimed"]) for r in rows]


async def test_each_message_reaches_the_broker_once_and_leaves_the_outbox(
    db: Database, broker: RedisBroker, queue: str
) -> None:
    await _put(db, queue, "first", "second", "third")
    assert await outbox.relay(db, broker) == 3
    assert _sent(broker, queue) == ["first", "second", "third"]
    assert await _left(db) == []
    assert await outbox.relay(db, broker) == 0
    assert _sent(broker, queue) == ["first", "second", "third"]


async def test_a_failed_send_leaves_the_messages_for_the_next_relay_at_once(
    db: Database, broker: RedisBroker, queue: str
) -> None:
    """Redis unreachable: the relay fails, the messages stay and are not left claimed, so
    the next relay (the workers' follower, a moment later) sends them without waiting."""
    await _put(db, queue, "first", "second")
    cut_off = make_broker("redis://127.0.0.1:1/0")  # nothing listens there
    with pytest.raises(redis.exceptions.ConnectionError):
        await outbox.relay(db, cut_off)
    assert await _left(db) == [("first", False), ("second", False)]
    assert await outbox.relay(db, broker) == 2
    assert _sent(broker, queue) == ["first", "second"]


async def test_a_batch_claimed_by_a_relay_that_died_is_sent_once_its_claim_lapses(
    db: Database, broker: RedisBroker, queue: str
) -> None:
    """A relay claimed two messages and died before sending them. Until the claim lapses
    another relay leaves them alone (the first may still be sending); then they go."""
    await _put(db, queue, "first", "second")
    async with db.as_service_statement() as conn:
        claimed = await conn.fetch(outbox.CLAIM, outbox.RELAY_BATCH, outbox.CLAIM_SECONDS)
    assert len(claimed) == 2
    await _put(db, queue, "third")
    assert await outbox.relay(db, broker) == 1
    assert _sent(broker, queue) == ["third"]
    assert await _left(db) == [("first", True), ("second", True)]

    async with db.as_service() as conn:  # the claim's time is up
        await conn.execute("update public.outbox set claimed_until = now() - interval '1 second'")
    assert await outbox.relay(db, broker) == 2
    assert _sent(broker, queue) == ["first", "second", "third"]
    assert await _left(db) == []


async def test_a_relayed_batch_rings_its_queue_s_doorbell_once(
    db: Database, broker: RedisBroker, queue: str
) -> None:
    """Idle workers wait on the doorbell: a relay that sent messages must ring it (once per
    queue for the batch), or they would be picked up only at the workers' next poll."""
    listener = broker.client.pubsub()
    listener.subscribe(doorbell(queue))
    try:
        await _put(db, queue, "first", "second")
        assert await outbox.relay(db, broker) == 2
        assert _rings(broker, listener, queue) == 1
        assert await outbox.relay(db, broker) == 0  # nothing sent: no ring
        assert _rings(broker, listener, queue) == 0
    finally:
        listener.close()


def _rings(broker: RedisBroker, listener: Any, queue: str) -> int:
    """How often the queue's doorbell rang since the last call. A marker published now
    arrives after every ring published before it, so reading up to it reads them all."""
    broker.client.publish(doorbell(queue), b"marker")
    rings = 0
    while True:
        message = listener.get_message(timeout=10)
        assert message is not None, "the marker never arrived"
        if message["type"] != "message":
            continue  # the subscription's confirmation
        if message["data"] == b"marker":
            return rings
        rings += 1
