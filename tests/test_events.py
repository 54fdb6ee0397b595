"""The event hub over a real Redis: one subscription per process fans out to local
subscribers, and a subscriber that stops reading is cut off instead of growing memory."""

from __future__ import annotations

import asyncio
import uuid

import redis.asyncio as aioredis

from services.runs.events import SUBSCRIBER_QUEUE_SIZE, EventHub, publish


async def test_notices_reach_every_local_subscriber_of_that_run_only(test_redis_url: str) -> None:
    redis = aioredis.from_url(test_redis_url)
    hub = EventHub(redis)
    await hub.start()
    run, other = uuid.uuid4(), uuid.uuid4()
    try:
        async with (
            hub.subscribe(run) as first,
            hub.subscribe(run) as second,
            hub.subscribe(other) as third,
        ):
            node = uuid.uuid4()
            await publish(redis, run, node)
            for queue in (first, second):
                notice = await asyncio.wait_for(queue.get(), timeout=5)
                assert notice is not None and (notice.run_id, notice.node_run_id) == (run, node)
            await asyncio.sleep(0.1)
            assert third.empty()
        assert hub.subscriber_count == 0
    finally:
        await hub.stop()
        await redis.aclose()


async def test_a_subscriber_that_falls_behind_is_told_so_and_dropped(test_redis_url: str) -> None:
    redis = aioredis.from_url(test_redis_url)
    hub = EventHub(redis)
    await hub.start()
    run = uuid.uuid4()
    try:
        async with hub.subscribe(run) as slow:
            for _ in range(SUBSCRIBER_QUEUE_SIZE + 50):
                await publish(redis, run)
            await asyncio.sleep(0.5)
            assert slow.qsize() <= SUBSCRIBER_QUEUE_SIZE
            drained = [slow.get_nowait() for _ in range(slow.qsize())]
            assert drained[-1] is None  # the signal to resubscribe for a fresh snapshot
            assert hub.subscriber_count == 0
    finally:
        await hub.stop()
        await redis.aclose()
