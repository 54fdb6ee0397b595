"""runEvents fan-out: event delivery to 1,000 and 2,000 subscribers of one run, and API
memory per idle WebSocket.

  latency  N graphql-transport-ws subscribers of one run (loopback websockets) against the
           real app under uvicorn; a node changes in PostgreSQL and the notice is published on
           Redis; p50 of publish -> message received, over several events. Baseline in the same
           run: raw Redis pub/sub, one connection per subscriber, publishing the very bytes the
           API sends each subscriber. Target: within 3x.
  memory   RSS of the API process per idle subscribed WebSocket (delta / sockets) against a
           plain Starlette WebSocket hub doing the same handshake (connection_init, ack,
           subscribe, one snapshot message) under the same uvicorn settings. Target: within
           1.5x. Then how much of the delta is returned after the sockets close.

The API gets a fresh database (created, migrated, seeded, dropped at the end); the plain hub
needs none.

    uv run python bench/event_fanout.py [--counts 1000 2000] [--events 5]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import asyncpg  # noqa: E402

from devstack.embedded import ensure_services, free_port, stop_services  # noqa: E402
from services.platform.migrations import migrate  # noqa: E402

LATENCY_TARGET = 3.0
MEMORY_TARGET = 1.5
CONNECT_CONCURRENCY = 50
SUBSCRIPTION = """
subscription Events($runId: ID!) {
  runEvents(runId: $runId) {
    run { id status estimatedCostCents costCents createdAt finishedAt workflowId
          nodeRuns { id nodeId modelId status queuePosition progress logs error startedAt finishedAt
                     outputs { id kind url storage expiresAt width height durationSeconds contentType modelId params createdAt nodeRunId } } }
    nodeRun { id nodeId modelId status queuePosition progress logs error startedAt finishedAt
              outputs { id kind url storage expiresAt width height durationSeconds contentType modelId params createdAt nodeRunId } }
  }
}
"""


def raise_file_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = needed if hard == resource.RLIM_INFINITY else min(max(soft, needed), hard)
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    if want < needed:
        raise SystemExit(f"needs {needed} open files; the hard limit is {hard}")


# --- the servers (children of this script) ---------------------------------------------


def serve(app: Any, port: int) -> None:
    """Both servers run uvicorn as production does (graph.app.SERVER_OPTIONS: httptools with the
    request-head cap, no proxy-headers layer of uvicorn's), with uvicorn's WebSocket
    defaults, so their sockets differ only in what the apps keep."""
    import uvicorn

    from graph.app import SERVER_OPTIONS

    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, **SERVER_OPTIONS
    )


def serve_real(args: argparse.Namespace) -> None:
    import logging

    from graphql_throughput import _settings

    from graph.app import create_app

    # Connecting thousands of sockets queues their authorizations on the pool: expected here.
    logging.getLogger("services.platform.database").setLevel(logging.ERROR)
    serve(create_app(_settings(args)), args.port)


def plain_hub() -> Any:
    """The floor for memory: a Starlette WebSocket endpoint that speaks just enough
    graphql-transport-ws (init, ack, subscribe, one snapshot) and keeps each socket in a
    per-run set until it closes."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    runs: dict[str, set[WebSocket]] = {}
    snapshot = json.dumps({"runEvents": {"run": {"id": "x", "nodeRuns": []}, "nodeRun": None}})

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept(subprotocol="graphql-transport-ws")
        run_id = None
        try:
            init = json.loads(await websocket.receive_text())
            assert init["type"] == "connection_init"
            await websocket.send_text('{"type":"connection_ack"}')
            subscribe = json.loads(await websocket.receive_text())
            run_id = subscribe["payload"]["variables"]["runId"]
            runs.setdefault(run_id, set()).add(websocket)
            await websocket.send_text(
                f'{{"id":"{subscribe["id"]}","type":"next","payload":{{"data":{snapshot}}}}}'
            )
            while True:
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            if run_id is not None:
                runs[run_id].discard(websocket)
                if not runs[run_id]:
                    del runs[run_id]

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[WebSocketRoute("/graphql", endpoint), Route("/healthz", healthz)])


def serve_hub(args: argparse.Namespace) -> None:
    serve(plain_hub(), args.port)


# --- subscribers ----------------------------------------------------------------------------


@dataclass
class Round:
    started: float
    progress: float
    received: list[float] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)
    expected: int = 0
    sample: str = ""

    @property
    def needle(self) -> str:
        """How the new progress appears in a message (only after this event's change)."""
        return f'"progress":{json.dumps(self.progress)}'


class Subscribers:
    """N graphql-transport-ws clients of one run; each notes when an event's message arrived."""

    def __init__(self, url: str, token: str, run_id: str) -> None:
        self.url, self.token, self.run_id = url, token, run_id
        self.sockets: list[Any] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.round: Round | None = None

    async def _open(self) -> None:
        import websockets

        ws = await websockets.connect(
            self.url,
            subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
            ping_interval=None,
            max_size=None,
        )
        await ws.send(
            json.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {self.token}"}}
            )
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIPTION, "variables": {"runId": self.run_id}},
                }
            )
        )
        snapshot = json.loads(await ws.recv())
        assert snapshot["type"] == "next" and "errors" not in snapshot["payload"], snapshot
        self.sockets.append(ws)
        self.tasks.append(asyncio.create_task(self._read(ws)))

    async def _read(self, ws: Any) -> None:
        with contextlib.suppress(Exception):
            async for message in ws:
                at = time.perf_counter()
                current = self.round
                if current is None:
                    continue
                if current.needle in message:
                    current.received.append(at - current.started)
                    current.sample = message
                    if len(current.received) >= current.expected:
                        current.done.set()

    async def grow(self, count: int) -> None:
        semaphore = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one() -> None:
            async with semaphore:
                await self._open()

        await asyncio.gather(*(one() for _ in range(count - len(self.sockets))))

    async def close(self) -> None:
        semaphore = asyncio.Semaphore(CONNECT_CONCURRENCY * 4)

        async def one(ws: Any) -> None:
            async with semaphore:
                with contextlib.suppress(Exception):
                    await ws.close()

        await asyncio.gather(*(one(ws) for ws in self.sockets))
        for task in self.tasks:
            task.cancel()
        self.sockets, self.tasks = [], []


class RedisSubscribers:
    """The baseline: N Redis connections subscribed to one channel."""

    def __init__(self, url: str, channel: str) -> None:
        self.url, self.channel = url, channel
        self.clients: list[Any] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.round: Round | None = None

    async def grow(self, count: int) -> None:
        import redis.asyncio as aioredis

        semaphore = asyncio.Semaphore(CONNECT_CONCURRENCY)

        async def one() -> None:
            async with semaphore:
                client = aioredis.from_url(self.url)
                pubsub = client.pubsub()
                await pubsub.subscribe(self.channel)
                self.clients.append((client, pubsub))
                self.tasks.append(asyncio.create_task(self._read(pubsub)))

        await asyncio.gather(*(one() for _ in range(count - len(self.clients))))

    async def _read(self, pubsub: Any) -> None:
        with contextlib.suppress(Exception):
            async for message in pubsub.listen():
                at = time.perf_counter()
                current = self.round
                if current is None or message["type"] != "message":
                    continue
                current.received.append(at - current.started)
                if len(current.received) >= current.expected:
                    current.done.set()

    async def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for client, pubsub in self.clients:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
                await client.aclose()
        self.clients, self.tasks = [], []


# --- databases, processes, measurements --------------------------------------------------------


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def settled_rss(pid: int, steady_seconds: float = 0.2) -> int:
    """RSS once it has stopped moving for `steady_seconds` (the server finished what the
    last step gave it), or after 10 s."""
    last = rss_kib(pid)
    steady_since = time.monotonic()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        now = rss_kib(pid)
        if abs(now - last) > max(256, last // 500):
            steady_since = time.monotonic()
        elif time.monotonic() - steady_since >= steady_seconds:
            return now
        last = now
    return last


async def seed_run(url: str) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """A user, a workflow and a RUNNING run with two PENDING node runs, one with an output."""
    conn = await asyncpg.connect(url)
    try:
        user = uuid.uuid4()
        email = f"fanout-{user.hex[:8]}@example.com"
        await conn.execute("insert into auth.users (id, email) values ($1, $2)", user, email)
        await conn.execute(
            "insert into public.profiles (id, email) values ($1, $2) on conflict do nothing",
            user,
            email,
        )
        workflow = await conn.fetchval(
            "insert into public.workflows (user_id, name) values ($1, 'fanout') returning id", user
        )
        run = await conn.fetchval(
            """
            insert into public.runs (user_id, workflow_id, workflow_version, graph,
              idempotency_key, status) values ($1, $2, 1, '{}'::jsonb, 'fanout', 'RUNNING')
            returning id
            """,
            user,
            workflow,
        )
        nodes = [
            await conn.fetchval(
                """
                insert into public.node_runs (run_id, user_id, node_id, model_id, status)
                values ($1, $2, $3, 'fal-ai/flux/dev', 'PENDING') returning id
                """,
                run,
                user,
                name,
            )
            for name in ("a", "b")
        ]
        await conn.execute(
            """
            insert into public.assets (user_id, kind, storage, source_url, content_type, model_id,
              run_id, node_run_id, width, height) values ($1, 'IMAGE', 'TEMPORARY',
              'https://v3.fal.media/files/bench/a.png', 'image/png', 'fal-ai/flux/dev', $2, $3,
              1024, 1024)
            """,
            user,
            run,
            nodes[0],
        )
        return user, run, nodes[1]
    finally:
        await conn.close()


@dataclass
class Server:
    kind: str
    port: int
    process: subprocess.Popen[bytes]


def _spawn(kind: str, port: int, database_url: str, redis_url: str, data_dir: Path) -> Any:
    return subprocess.Popen(
        [
            *(sys.executable, __file__, "--serve", kind, "--port", str(port)),
            *(
                "--database-url",
                database_url,
                "--redis-url",
                redis_url,
                "--data-dir",
                str(data_dir),
            ),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        start_new_session=True,
    )


async def start(kind: str, database_url: str, redis_url: str, data_dir: Path) -> Server:
    import httpx

    port = free_port()
    process = _spawn(kind, port, database_url, redis_url, data_dir)
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as http:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the {kind} server exited with {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return Server(kind, port, process)
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {kind} server did not start")
            await asyncio.sleep(0.1)


def stop(server: Server) -> None:
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


async def measure_api(
    subscribers: Subscribers, database_url: str, redis: Any, run: uuid.UUID, node: uuid.UUID, k: int
) -> tuple[float, str]:
    """One event: the node's progress changes, the notice is published; p50 in seconds."""
    from services.runs.events import publish

    progress = (k % 127 + 1) / 128  # exact in PostgreSQL's real, so it reads back as sent
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "update public.node_runs set status = 'RUNNING', progress = $2 where id = $1",
            node,
            progress,
        )
    finally:
        await conn.close()
    current = Round(started=time.perf_counter(), progress=progress)
    current.expected = len(subscribers.sockets)
    subscribers.round = current
    current.started = time.perf_counter()
    await publish(redis, run, node)
    await asyncio.wait_for(current.done.wait(), timeout=60)
    subscribers.round = None
    return statistics.median(current.received), current.sample


async def measure_redis(
    subscribers: RedisSubscribers, redis: Any, channel: str, payload: str
) -> float:
    current = Round(started=time.perf_counter(), progress=0)
    current.expected = len(subscribers.clients)
    subscribers.round = current
    current.started = time.perf_counter()
    await redis.publish(channel, payload)
    await asyncio.wait_for(current.done.wait(), timeout=60)
    subscribers.round = None
    return statistics.median(current.received)


async def run(args: argparse.Namespace) -> int:
    import redis.asyncio as aioredis

    from services.accounts.dev_issuer import DevIssuer

    most = max(args.counts)
    raise_file_limit(2 * most + 512)
    env, handles = ensure_services(ROOT / ".lattice" / "bench-embedded")
    admin_url = env["DATABASE_URL"]
    redis_url = urlunsplit(urlsplit(env["REDIS_URL"])._replace(path="/12"))
    admin = await asyncpg.connect(admin_url)
    created: list[str] = []
    servers: list[Server] = []
    redis = aioredis.from_url(redis_url)
    ok = True
    with contextlib.ExitStack() as stack:
        try:
            databases = {}
            name = f"lattice_bench_fanout_{uuid.uuid4().hex[:8]}"
            await admin.execute(f'create database "{name}"')
            created.append(name)
            databases["real"] = urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
            await migrate(databases["real"])
            user, run_id, node = await seed_run(databases["real"])
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            real = await start("real", databases["real"], redis_url, data_dir)
            servers.append(real)
            issuer = DevIssuer(
                data_dir / "dev-issuer-key.pem", f"http://127.0.0.1:{real.port}/auth/v1"
            )
            token = issuer.sign(user_id=user, email=None, role="FREE")
            url = f"ws://127.0.0.1:{real.port}/graphql"

            # Latency, and the API's memory per socket on the way.
            api = Subscribers(url, token, str(run_id))
            await api.grow(1)  # warm: the first subscription builds caches, pools, the hub feed
            await measure_api(api, databases["real"], redis, run_id, node, 0)
            base_rss = await settled_rss(real.process.pid)
            baseline = RedisSubscribers(redis_url, f"bench:fanout:{uuid.uuid4().hex}")
            print(f"events per measurement: {args.events}; p50 of publish -> received")
            print(
                f"{'subscribers':>11} {'API p50 ms':>11} {'Redis p50 ms':>13} {'API/Redis':>10}"
                f" {'API KiB/socket':>15}"
            )
            api_per_socket = {}
            for count in sorted(args.counts):
                started = time.perf_counter()
                await api.grow(count)
                connect_seconds = time.perf_counter() - started
                api_per_socket[count] = ((await settled_rss(real.process.pid)) - base_rss) / len(
                    api.sockets
                )
                api_p50s, sample = [], ""
                for k in range(1, args.events + 1):
                    p50, sample = await measure_api(
                        api, databases["real"], redis, run_id, node, count + k
                    )
                    api_p50s.append(p50)
                await baseline.grow(count)
                redis_p50s = [
                    await measure_redis(baseline, redis, baseline.channel, sample)
                    for _ in range(args.events)
                ]
                api_ms = statistics.median(api_p50s) * 1000
                redis_ms = statistics.median(redis_p50s) * 1000
                ratio = api_ms / redis_ms
                ok &= ratio <= LATENCY_TARGET
                print(
                    f"{count:>11} {api_ms:>11.1f} {redis_ms:>13.1f} {ratio:>9.2f}x"
                    f" {api_per_socket[count]:>15.1f}   (connected in {connect_seconds:.1f} s;"
                    f" message {len(sample)} bytes)"
                )
            await baseline.close()
            peak_rss = await settled_rss(real.process.pid)
            await api.close()
            # Closed sockets are given back in batches, a moment after the wave ends.
            after_rss = await settled_rss(real.process.pid, steady_seconds=3)
            returned = (peak_rss - after_rss) / max(1, peak_rss - base_rss)
            stop(real)
            servers.remove(real)

            # The plain Starlette hub's memory per socket.
            hub = await start("hub", databases["real"], redis_url, data_dir)
            servers.append(hub)
            plain = Subscribers(f"ws://127.0.0.1:{hub.port}/graphql", token, str(run_id))
            await plain.grow(1)
            plain_base = await settled_rss(hub.process.pid)
            await plain.grow(most)
            plain_per_socket = ((await settled_rss(hub.process.pid)) - plain_base) / len(
                plain.sockets
            )
            await plain.close()
            memory_ratio = api_per_socket[most] / plain_per_socket
            ok &= memory_ratio <= MEMORY_TARGET
            print(
                f"memory per idle socket at {most}: API {api_per_socket[most]:.1f} KiB,"
                f" plain Starlette hub {plain_per_socket:.1f} KiB, ratio {memory_ratio:.2f}x"
                f" (target <= {MEMORY_TARGET}x)"
            )
            print(
                f"API RSS: {base_rss / 1024:.0f} MiB idle, {peak_rss / 1024:.0f} MiB with"
                f" {most} sockets, {after_rss / 1024:.0f} MiB after they closed"
                f" ({returned:.0%} of the growth returned)"
            )
            print(
                f"targets (latency <= {LATENCY_TARGET}x, memory <= {MEMORY_TARGET}x): {'met' if ok else 'not met'}"
            )
            return 0 if ok else 1
        finally:
            for server in servers:
                stop(server)
            await redis.aclose()
            for name in created:
                await admin.execute(f'drop database "{name}" with (force)')
            await admin.close()
            stop_services(handles)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[1000, 2000])
    parser.add_argument("--events", type=int, default=5)
    parser.add_argument("--serve", choices=("real", "hub"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "real":
        serve_real(args)
    elif args.serve == "hub":
        serve_hub(args)
    else:
        sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
