"""Lattice as it runs in production: several API processes and several worker processes on
one PostgreSQL and one Redis, each a real process. Runs started through one API are watched
through another; an API dies under its subscribers; Redis goes away for a minute mid-run.
The stack here is its own (database, Redis, processes), so its faults touch no other test."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
import redis.asyncio as redis
import websockets

import fal_local
from conftest import WORKER_TUNING, migrated_database
from devstack.embedded import free_ports, start_redis
from support import (
    CREATE,
    FINISHED,
    RUN,
    User,
    credits,
    flux_node,
    run_events_socket,
    sign_in,
    wan_node,
    wire,
)


@dataclass
class Stack:
    database_url: str
    redis_port: int
    data_dir: Path
    admin_url: str = ""
    # What a load balancer would be: every process's PUBLIC_URL (token issuer, links).
    public_port: int = 0
    apis: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    redis: subprocess.Popen[bytes] | None = None

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    def env(self, port: int) -> dict[str, str]:
        return {
            **os.environ,
            **WORKER_TUNING,
            "NODE_DEADLINE_SECONDS": "180",
            "LATTICE_ENV": "dev",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "DATA_DIR": str(self.data_dir),
            "PORT": str(port),
            "PUBLIC_URL": f"http://127.0.0.1:{self.public_port or port}",
            "FAL_JWKS_URL": f"https://{os.environ['FAL_QUEUE_RUN_HOST']}/.well-known/jwks.json",
            "RUNS_PER_MINUTE": "1000",
        }

    async def postgres_outage(self, seconds: float) -> None:
        """What a restart looks like from the app: every connection to its database is cut,
        and new ones are refused until it is back (the server itself is shared with other
        tests, so the fault is scoped to this stack's database)."""
        # The path, not the URL's tail: an embedded server's URL ends in `?host=/its/socket`.
        name = urlsplit(self.database_url).path.lstrip("/")
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f'alter database "{name}" allow_connections false')
            await admin.execute(
                "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1", name
            )
            await asyncio.sleep(seconds)
            await admin.execute(f'alter database "{name}" allow_connections true')
        finally:
            await admin.close()

    def start_redis(self) -> None:
        self.redis = start_redis(self.data_dir, self.redis_port)[1]

    def stop_redis(self) -> None:
        assert self.redis is not None
        self.redis.kill()  # a failover: whatever it held is gone
        self.redis.wait()

    def start_api(self, port: int) -> str:
        self.public_port = self.public_port or port
        self.apis[port] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "graph.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=self.env(port),
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    return base
            assert self.apis[port].poll() is None, "the API exited"
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.1)

    def kill_api(self, port: int) -> None:
        os.killpg(self.apis[port].pid, signal.SIGKILL)
        self.apis.pop(port).wait()

    def start_worker(self, api_port: int) -> None:
        self.workers.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "dramatiq",
                    "jobs.worker",
                    "--processes",
                    "1",
                    "--threads",
                    "4",
                ],
                env=self.env(api_port),
                start_new_session=True,
            )
        )

    def stop(self) -> None:
        for process in [*self.apis.values(), *self.workers]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if self.redis and self.redis.poll() is None:
            self.redis.kill()
            self.redis.wait()


@pytest.fixture
async def stack(
    service_urls: dict[str, str], fal_server: object, tmp_path: Path
) -> AsyncIterator[Stack]:
    admin_url = service_urls["DATABASE_URL"]
    async with migrated_database(admin_url, "lattice_scale") as url:
        (redis_port,) = free_ports(1)
        running = Stack(
            database_url=url, redis_port=redis_port, data_dir=tmp_path, admin_url=admin_url
        )
        running.start_redis()
        await fal_local.reset()
        await fal_local.control(latency_ms=40)
        try:
            yield running
        finally:
            running.stop()
            await fal_local.reset()


async def _create(user: User, *nodes: dict[str, Any], edges: list[Any] | None = None) -> str:
    data = await user.data(
        CREATE, input={"name": "scale", "nodes": list(nodes), "edges": edges or []}
    )
    return str(data["createWorkflow"]["id"])


async def _watch(
    base: str,
    user: User,
    run_id: str,
    events: list[dict[str, Any]] | None = None,
    timeout: float = 90,
) -> list[dict[str, Any]]:
    """runEvents over graphql-transport-ws until the run finishes (or the socket dies)."""
    events = [] if events is None else events
    async with run_events_socket(base, user.token, run_id) as ws:
        async with asyncio.timeout(timeout):
            while True:
                message = json.loads(await ws.recv())
                if message["type"] != "next":
                    return events
                events.append(message["payload"]["data"]["runEvents"])
                if events[-1]["run"]["status"] in FINISHED:
                    return events


async def _start_slow_runs(user: User, label: str) -> list[str]:
    """Three FLUX -> Wan runs, slow at fal, so faults land while they are in flight."""
    runs = []
    for index in range(3):
        workflow = await _create(
            user,
            flux_node(prompt=f"[slow] {label} {index} {uuid.uuid4()}"),
            wan_node(),
            edges=[wire()],
        )
        runs.append((await user.data(RUN, id=workflow, key=uuid.uuid4().hex))["runWorkflow"]["id"])
    return runs


async def _until_no_message_is_left(stack: Stack, timeout: float = 30) -> None:
    """Until the outbox is empty and no message waits in (or is held from) the queues."""
    deadline = time.monotonic() + timeout
    db = await asyncpg.connect(stack.database_url)
    queue = redis.Redis.from_url(stack.redis_url)
    try:
        while True:
            outbox = await db.fetchval("select count(*) from public.outbox")
            queued = await queue.hlen("lattice:nodes.msgs")
            if outbox == 0 and queued == 0:
                return
            assert time.monotonic() < deadline, (outbox, queued)
            await asyncio.sleep(0.1)
    finally:
        await db.close()
        await queue.aclose()


async def _final_states(user: User, runs: list[str], timeout: float = 120) -> list[str]:
    """Each run's status once every one has finished."""
    deadline = time.monotonic() + timeout
    while True:
        states = [
            (await user.data("query($id: ID!) { run(id: $id) { status } }", id=r))["run"]["status"]
            for r in runs
        ]
        if all(s in FINISHED for s in states):
            return states
        assert time.monotonic() < deadline, states
        await asyncio.sleep(0.5)


async def test_runs_started_through_one_api_are_watched_through_another(stack: Stack) -> None:
    port_a, port_b = free_ports(2)
    a, b = stack.start_api(port_a), stack.start_api(port_b)
    stack.start_worker(port_a)
    stack.start_worker(port_b)
    async with httpx.AsyncClient(base_url=a, timeout=30) as via_a:
        user = await sign_in(via_a, role="PRO")
        workflow = await _create(user, flux_node(), wan_node(), edges=[wire()])
        run_id = (await user.data(RUN, id=workflow, key=uuid.uuid4().hex))["runWorkflow"]["id"]
    async with httpx.AsyncClient(base_url=b, timeout=30) as via_b:
        user_b = User(client=via_b, token=user.token, email=user.email, id=user.id)
        events = await _watch(b, user_b, run_id)
        assert events[-1]["run"]["status"] == "SUCCEEDED"
        seen = {(e["nodeRun"]["nodeId"], e["nodeRun"]["status"]) for e in events if e["nodeRun"]}
        assert {("a", "SUCCEEDED"), ("b", "SUCCEEDED")} <= seen
        assert (await credits(user_b))["reservedCents"] == 0


async def test_subscribers_of_an_api_that_dies_reconnect_to_another(stack: Stack) -> None:
    port_a, port_b = free_ports(2)
    a, b = stack.start_api(port_a), stack.start_api(port_b)
    stack.start_worker(port_b)
    await fal_local.control(latency_ms=150)
    async with httpx.AsyncClient(base_url=b, timeout=30) as via_b:
        user = await sign_in(via_b, role="PRO")
        workflow = await _create(user, flux_node(prompt=f"[slow] {uuid.uuid4()}"))
        run_id = (await user.data(RUN, id=workflow, key=uuid.uuid4().hex))["runWorkflow"]["id"]
        seen_on_a: list[dict[str, Any]] = []
        watching = asyncio.create_task(_watch(a, user, run_id, seen_on_a))
        deadline = time.monotonic() + 20
        while not seen_on_a:  # the subscription is open on A: its snapshot arrived
            assert time.monotonic() < deadline and not watching.done()
            await asyncio.sleep(0.05)
        assert seen_on_a[-1]["run"]["status"] not in FINISHED
        stack.kill_api(port_a)
        with contextlib.suppress(websockets.ConnectionClosed, OSError):
            await watching
        # The client reconnects to the API that is left: a snapshot, then the end.
        events = await _watch(b, user, run_id)
        assert events[0]["run"]["id"] == run_id
        assert events[-1]["run"]["status"] == "SUCCEEDED"


async def test_an_api_killed_while_submitting_a_run_s_first_node_pays_fal_once(
    stack: Stack,
) -> None:
    """The API that started a run dies after fal accepted the run's first node but before
    fal's answer (the request id) reached it. fal's webhook names the node, so the other API
    adopts the request when fal reports it done; the node's message, claimed for the dead
    API, reaches a worker once the claim lapses and finds nothing to do. One request at fal,
    one charge, nothing reserved."""
    port_a, port_b = free_ports(2)
    b = stack.start_api(port_b)  # started first: fal's webhooks go to B (the public URL)
    a = stack.start_api(port_a)
    stack.start_worker(port_b)
    flux = "fal-ai/flux/dev"
    async with httpx.AsyncClient(base_url=a, timeout=30) as via_a:
        user = await sign_in(via_a, role="PRO")
        workflow = await _create(user, flux_node(prompt=f"orphaned {uuid.uuid4()}"))
        await fal_local.control(submit_delay_ms=60_000)
        before = await fal_local.submits(flux)
        run_id = (await user.data(RUN, id=workflow, key=uuid.uuid4().hex))["runWorkflow"]["id"]
    deadline = time.monotonic() + 20
    while await fal_local.submits(flux) == before:  # fal has it; its answer is held back
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    stack.kill_api(port_a)
    await fal_local.control(submit_delay_ms=0)
    async with httpx.AsyncClient(base_url=b, timeout=30) as via_b:
        user_b = User(client=via_b, token=user.token, email=user.email, id=user.id)
        assert await _final_states(user_b, [run_id], timeout=60) == ["SUCCEEDED"]
        # The dead API's claim lapsed, and its message reached a worker and was done with.
        await _until_no_message_is_left(stack)
        assert await fal_local.submits(flux) == before + 1
        run = (
            await user_b.data(
                "query($id: ID!) { run(id: $id) { costCents nodeRuns { outputs { id } } } }",
                id=run_id,
            )
        )["run"]
        assert len(run["nodeRuns"][0]["outputs"]) == 1 and run["costCents"] > 0
        assert (await credits(user_b))["reservedCents"] == 0


@pytest.mark.timeout(300)
async def test_redis_gone_for_a_minute_mid_run_heals_every_run(stack: Stack) -> None:
    """Redis is killed (losing its queues) while runs are on fal, and comes back empty a
    minute later: every run still ends, and nothing stays reserved."""
    (port,) = free_ports(1)
    base = stack.start_api(port)
    stack.start_worker(port)
    stack.start_worker(port)
    await fal_local.control(latency_ms=300)
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        user = await sign_in(http, role="PRO")
        runs = await _start_slow_runs(user, "outage")
        stack.stop_redis()
        await asyncio.sleep(60)
        stack.start_redis()
        assert await _final_states(user, runs) == ["SUCCEEDED"] * 3
        assert (await credits(user))["reservedCents"] == 0


@pytest.mark.timeout(300)
async def test_postgres_restarted_mid_run_heals_every_run_and_subscription(stack: Stack) -> None:
    """Every database connection is cut while runs are on fal and their owner watches them,
    and none can be made for 15 s: every run still ends, every subscription ends, and the
    ledger is balanced (nothing stays reserved)."""
    (port,) = free_ports(1)
    base = stack.start_api(port)
    stack.start_worker(port)
    stack.start_worker(port)
    await fal_local.control(latency_ms=300)
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        user = await sign_in(http, role="PRO")
        runs = await _start_slow_runs(user, "database")
        seen: list[list[dict[str, Any]]] = [[] for _ in runs]
        watchers = [
            asyncio.create_task(_watch(base, user, r, events, timeout=240))
            for r, events in zip(runs, seen, strict=True)
        ]
        while not all(seen):  # every subscriber is watching before the database goes
            await asyncio.sleep(0.05)
        await stack.postgres_outage(15)
        # Each subscription ends: with the run's final event, or closed for the client to
        # reconnect and read the final state.
        await asyncio.gather(*watchers)
        assert await _final_states(user, runs) == ["SUCCEEDED"] * 3
        assert (await credits(user))["reservedCents"] == 0


async def test_the_api_runs_as_several_processes_on_one_port(stack: Stack) -> None:
    """`python -m graph.app` with API_PROCESSES=2: two processes answer on one port."""
    (port,) = free_ports(1)
    serving = await asyncio.to_thread(_serving_processes, stack.env(port), port)
    assert len(serving) == 2, serving


def _serving_processes(env: dict[str, str], port: int) -> list[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "graph.app"],
        env={**env, "API_PROCESSES": "2"},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            assert process.poll() is None, "the API exited"
            assert time.monotonic() < deadline, "the API did not start"
            time.sleep(0.1)
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        # uvicorn spawns each server process (the resource tracker is another child).
        return [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
