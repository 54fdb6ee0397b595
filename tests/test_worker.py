"""The Dramatiq broker is wired: a message sent through services reaches a real worker process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import redis.asyncio as aioredis

from services.runs.dispatch import make_broker, send


async def test_a_real_worker_consumes_a_message_sent_through_services(
    test_redis_url: str,
) -> None:
    # The session's own Redis database (see conftest): nothing else on the server shares it.
    redis_url = test_redis_url
    token = uuid.uuid4().hex
    send(make_broker(redis_url), "ping", token, queue="maintenance")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dramatiq",
            "jobs.worker",
            "--processes",
            "1",
            "--threads",
            "1",
            "--queues",
            "maintenance",
        ],
        env={**os.environ, "REDIS_URL": redis_url},
    )
    client = aioredis.from_url(redis_url)
    try:
        for _ in range(200):
            if await client.get(f"lattice:pong:{token}"):
                break
            await asyncio.sleep(0.1)
        assert await client.get(f"lattice:pong:{token}") == b"1"
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        await client.aclose()
