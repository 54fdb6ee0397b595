"""A whole Lattice stack of a benchmark's own, and the client side of talking to it.

`start_stack` creates a fresh database (migrated with services.platform.migrations.migrate),
empties a Redis database of the benchmark's own, and starts the local fal server (TLS), the
API (uvicorn as production runs it: one process per core, httptools with the request-head cap)
and one worker process (`dramatiq jobs.worker --processes 1 --threads 16`, Dramatiq's
default idle timeout as in production), each in its own process group; `Stack.close` stops exactly
those and drops the database. fal-client in this process is pointed at the
same fal server (its hosts are read at import, so `prepare_fal_env` runs first).

Not a benchmark itself: bench/orchestration.py and bench/in_flight.py use it.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import json
import os
import shutil
import ssl
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

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from devstack.embedded import free_ports  # noqa: E402
from devstack.processes import stop as stop_processes  # noqa: E402
from devstack.tls import ensure_local_tls  # noqa: E402
from services.platform.migrations import migrate  # noqa: E402

ADMIN_DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_BASE_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
FLUX = "fal-ai/flux/dev"
# What every FLUX node (and the direct loop) sends fal, apart from the prompt.
FLUX_PARAMS: dict[str, Any] = {"image_size": "square"}

WORKDIR = Path(tempfile.mkdtemp(prefix="lattice-bench-"))
# Removed when the benchmark exits (it holds fal's files and the local CA's key), unless a
# process of a stack died: its log there is what `check_alive` points at.
_keep_workdir = False


@atexit.register
def _remove_workdir() -> None:
    if not _keep_workdir:
        shutil.rmtree(WORKDIR, ignore_errors=True)


FAL_PORT, FAL_CDN_PORT, API_PORT = free_ports(3)


def prepare_fal_env() -> dict[str, str]:
    """The fal-client settings for the local fal server, set in this process too (before
    fal_client is imported) so the direct loop talks to the same server as the workers."""
    tls = ensure_local_tls(WORKDIR / "tls")
    host = f"127.0.0.1:{FAL_PORT}"
    env = {
        "FAL_KEY": "local-bench-key",
        "FAL_RUN_HOST": host,
        "FAL_QUEUE_RUN_HOST": host,
        "FAL_JWKS_URL": f"https://{host}/.well-known/jwks.json",
        "SSL_CERT_FILE": str(tls.ca),
        "NO_PROXY": "127.0.0.1,localhost",
    }
    os.environ.update(env)
    return env


FAL_ENV = prepare_fal_env()

# After the fal settings: the app's modules import fal-client.
from graph.app import HTTP_LIMIT_OPTIONS  # noqa: E402


@dataclass
class Stack:
    base_url: str
    fal_url: str
    database_url: str
    redis_url: str
    admin_url: str
    database: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    @property
    def worker_pid(self) -> int:
        return self.processes["worker"].pid

    async def control(self, **config: Any) -> dict[str, Any]:
        async with _fal_http() as http:
            response = await http.post(f"{self.fal_url}/_control", json=config)
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            return body

    async def fal_state(self) -> dict[str, Any]:
        async with _fal_http() as http:
            response = await http.get(f"{self.fal_url}/_control")
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            return body

    async def close(self) -> None:
        stop_processes(self.processes.values(), timeout=15)
        admin = await asyncpg.connect(self.admin_url)
        try:
            await admin.execute(f'drop database if exists "{self.database}" with (force)')
        finally:
            await admin.close()
        _flush_redis(self.redis_url)

    @functools.cached_property
    def redis_pid(self) -> int:
        """The Redis server's process (shared by every database on it; nothing else should
        use it while a benchmark runs). Asked once: every round's CPU accounting reads it."""
        import redis

        with redis.Redis.from_url(self.redis_url) as client:
            return int(client.info("server")["process_id"])

    def check_alive(self) -> None:
        global _keep_workdir
        for name, process in self.processes.items():
            if process.poll() is not None:
                _keep_workdir = True
                raise RuntimeError(
                    f"{name} exited with {process.returncode}; see {self.logs[name]}"
                )


def _fal_http() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        verify=ssl.create_default_context(cafile=FAL_ENV["SSL_CERT_FILE"]), timeout=30
    )


def _flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


async def start_stack(
    name: str,
    *,
    redis_db: int,
    fal_latency_ms: int = 20,
    fal_concurrency: int = 400,
    worker_threads: int = 16,
    worker_env: dict[str, str] | None = None,
    api_processes: int = os.cpu_count() or 1,
) -> Stack:
    admin_url = ADMIN_DATABASE_URL
    database = f"lattice_bench_{name}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'create database "{database}"')
    finally:
        await admin.close()
    database_url = urlunsplit(urlsplit(admin_url)._replace(path=f"/{database}"))
    redis_url = urlunsplit(urlsplit(REDIS_BASE_URL)._replace(path=f"/{redis_db}"))
    stack = Stack(
        base_url=f"http://127.0.0.1:{API_PORT}",
        fal_url=f"https://127.0.0.1:{FAL_PORT}",
        database_url=database_url,
        redis_url=redis_url,
        admin_url=admin_url,
        database=database,
    )
    try:
        await migrate(database_url)
        _flush_redis(redis_url)
        env = {
            **{
                k: v
                for k, v in os.environ.items()
                if not k.startswith(("STRIPE_", "SUPABASE_", "FOLLOWER_", "NODE_", "DB_POOL"))
            },
            **FAL_ENV,
            "PYTHONPATH": str(ROOT / "src"),
            "LATTICE_ENV": "dev",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "PORT": str(API_PORT),
            "DATA_DIR": str(WORKDIR / "data"),
            # Many runs and writes a minute per user, and no platform spending stop (billing
            # is off: no STRIPE_* in the environment).
            "RUNS_PER_MINUTE": "1000000",
            "WRITES_PER_MINUTE": "1000000",
            "PLATFORM_DAILY_SPEND_LIMIT_CENTS": str(10**12),
        }
        python = sys.executable
        commands = {
            "fal": [
                python,
                "-m",
                "devstack.fal_server",
                "--port",
                str(FAL_PORT),
                "--cdn-port",
                str(FAL_CDN_PORT),
                "--tls-dir",
                str(WORKDIR / "tls"),
                "--files-dir",
                str(WORKDIR / "fal-files"),
                "--latency-ms",
                str(fal_latency_ms),
                "--concurrency",
                str(fal_concurrency),
            ],
            "api": [
                python,
                "-m",
                "uvicorn",
                "graph.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(API_PORT),
                "--log-level",
                "warning",
                "--no-access-log",
                "--workers",
                str(api_processes),
                # As production serves it (graph.app.main): httptools with the request-head cap.
                *HTTP_LIMIT_OPTIONS,
            ],
            "worker": [
                python,
                "-m",
                "dramatiq",
                "jobs.worker",
                "--processes",
                "1",
                "--threads",
                str(worker_threads),
            ],
        }
        envs = {
            "fal": env,
            "api": env,
            "worker": {**env, **(worker_env or {})},
        }
        for process_name, command in commands.items():
            log = WORKDIR / f"{process_name}.log"
            stack.logs[process_name] = log
            with log.open("wb") as out:
                stack.processes[process_name] = subprocess.Popen(  # noqa: ASYNC220
                    command,
                    env=envs[process_name],
                    cwd=ROOT,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            if process_name == "fal":
                await _wait_until(stack, f"{stack.fal_url}/_control", process_name)
            elif process_name == "api":
                await _wait_until(stack, f"{stack.base_url}/healthz", process_name)
        await _wait_for_worker(stack)
    except BaseException:
        await stack.close()
        raise
    return stack


async def _wait_until(stack: Stack, url: str, name: str) -> None:
    deadline = time.monotonic() + 60
    async with _fal_http() as http:
        while True:
            stack.check_alive()
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start; see {stack.logs[name]}")
            await asyncio.sleep(0.1)


async def _wait_for_worker(stack: Stack) -> None:
    """The worker is up once its forked process exists and has booted (its follower opened
    the database pool: a connection from the worker shows in pg_stat_activity)."""
    deadline = time.monotonic() + 60
    conn = await asyncpg.connect(stack.database_url)
    try:
        while True:
            stack.check_alive()
            pids = set(process_tree(stack.worker_pid))
            backends = await conn.fetch(
                "select client_port from pg_stat_activity where datname = $1", stack.database
            )
            if len(pids) > 1 and len(backends) >= 3:  # ours, the API's, the worker's
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start; see {stack.logs['worker']}")
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


# --- the processes' resources, from /proc ------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """pid and every descendant (dramatiq forks its worker processes)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{current}/task"):
                children = Path(f"/proc/{current}/task/{task}/children").read_text().split()
                queue.extend(int(c) for c in children)
    return found


@dataclass
class Usage:
    rss_bytes: int
    cpu_seconds: float
    threads: int
    fds: int


def usage(pid: int) -> Usage:
    """Summed over the process tree: resident memory (VmRSS), CPU (utime + stime), threads,
    open file descriptors."""
    rss = cpu_ticks = threads = fds = 0
    for current in process_tree(pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) * 1024
                elif line.startswith("Threads:"):
                    threads += int(line.split()[1])
            stat = Path(f"/proc/{current}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            cpu_ticks += int(fields[11]) + int(fields[12])  # utime, stime
            fds += len(os.listdir(f"/proc/{current}/fd"))
    return Usage(rss, cpu_ticks / CLOCK_TICKS, threads, fds)


def tcp_connections_to(pid: int, port: int) -> int:
    """Established TCP connections from the process tree to a loopback port."""
    inodes: set[str] = set()
    for current in process_tree(pid):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{current}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{current}/fd/{fd}")
                    if target.startswith("socket:["):
                        inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                parts = line.split()
                remote_port = int(parts[2].rsplit(":", 1)[1], 16)
                if remote_port == port and parts[3] == "01" and parts[9] in inodes:
                    count += 1
    return count


# --- the client side: users, workflows, runs --------------------------------------------

CREATE = """
mutation Create($input: WorkflowInput!) { createWorkflow(input: $input) { id } }
"""
RUN = """
mutation Run($id: ID!, $key: String!) { runWorkflow(id: $id, idempotencyKey: $key) { id status } }
"""
RUN_EVENTS = """
subscription Events($runId: ID!) {
  runEvents(runId: $runId) { run { id status nodeRuns { nodeId status error } } }
}
"""


async def gql(http: httpx.AsyncClient, token: str, query: str, **variables: Any) -> Any:
    response = await http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
    )
    response.raise_for_status()
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(json.dumps(body["errors"])[:500])
    return body["data"]


async def sign_in(http: httpx.AsyncClient, role: str = "ADMIN") -> str:
    email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
    response = await http.post("/auth/dev/sign-in", json={"email": email, "role": role})
    response.raise_for_status()
    return str(response.json()["access_token"])


async def create_workflows(
    http: httpx.AsyncClient, tokens: list[str], count: int, *, concurrency: int = 20
) -> list[tuple[str, str]]:
    """`count` one-node FLUX workflows, each with a prompt of its own (no cache hits), spread
    over the users; (token, workflow id) pairs."""
    limit = asyncio.Semaphore(concurrency)

    async def one(index: int) -> tuple[str, str]:
        token = tokens[index % len(tokens)]
        node = {
            "id": "a",
            "modelId": FLUX,
            "col": 0,
            "row": 0,
            "params": {"prompt": f"bench {uuid.uuid4().hex}", **FLUX_PARAMS},
        }
        async with limit:
            data = await gql(
                http,
                token,
                CREATE,
                input={"name": f"bench {index}", "nodes": [node], "edges": []},
            )
        return token, str(data["createWorkflow"]["id"])

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def run_workflow(http: httpx.AsyncClient, token: str, workflow_id: str) -> str:
    data = await gql(http, token, RUN, id=workflow_id, key=uuid.uuid4().hex)
    return str(data["runWorkflow"]["id"])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
