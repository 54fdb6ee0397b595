"""The test stack: real PostgreSQL and Redis (the machine's when DATABASE_URL / REDIS_URL
are set, embedded servers otherwise), a fresh database per session with every migration
applied, and the real ASGI app served by uvicorn on a loopback port."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import redis as redis_sync
import uvicorn
from starlette.applications import Starlette

import fal_plugin
from devstack.embedded import ensure_services, free_port
from devstack.processes import stop as stop_processes
from graph.app import HTTP_LIMITS, create_app
from services.billing.setup import ensure_pro_plan
from services.platform.config import Settings
from services.platform.migrations import migrate
from services.runtime import Runtime
from support import User, sign_in

if TYPE_CHECKING:
    from stripe_plugin import LocalStripe

pytest_plugins = ["fal_plugin", "stripe_plugin"]


@pytest.fixture(scope="session")
def test_redis_url(service_urls: dict[str, str]) -> str:
    """A Redis database of the tests' own, so a dev stack on the same server never takes
    (or gives) queue messages; emptied at the start of the session. Two sessions on one
    Redis at once each set their own LATTICE_TEST_REDIS_DB."""
    parts = urlsplit(service_urls["REDIS_URL"])
    database = int(os.environ.get("LATTICE_TEST_REDIS_DB", "13"))
    url = urlunsplit(parts._replace(path=f"/{database}"))
    redis_sync.Redis.from_url(url).flushdb()
    return url


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lattice")


@pytest.fixture(scope="session")
def service_urls(data_dir: Path) -> Iterator[dict[str, str]]:
    embedded_dir = Path(
        os.environ.get("LATTICE_TEST_EMBEDDED_DIR", ".lattice/test-embedded")
    ).resolve()
    env, handles = ensure_services(embedded_dir)
    yield env
    for handle in handles:
        if hasattr(handle, "terminate"):
            handle.terminate()


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@asynccontextmanager
async def migrated_database(admin_url: str, prefix: str) -> AsyncIterator[str]:
    """A database of its own on the server of `admin_url`, migrated from nothing, dropped
    (whoever is still connected) when the block ends."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'create database "{name}"')
        try:
            url = with_database(admin_url, name)
            await migrate(url)
            yield url
        finally:
            await admin.execute(f'drop database "{name}" with (force)')
    finally:
        await admin.close()


@pytest.fixture(scope="session")
async def database_url(service_urls: dict[str, str]) -> AsyncIterator[str]:
    """A database of our own for this session."""
    async with migrated_database(service_urls["DATABASE_URL"], "lattice_test") as url:
        yield url


@dataclass
class LiveServer:
    base_url: str
    app: Starlette
    settings: Settings

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime


def make_settings(
    database_url: str, redis_url: str, data_dir: Path, port: int, **overrides: object
) -> Settings:
    values: dict[str, object] = {
        "LATTICE_ENV": "dev",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "PORT": port,
        "DATA_DIR": str(data_dir),
        "SUPABASE_URL": None,
        "SUPABASE_JWT_SECRET": None,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


async def serve(settings: Settings) -> AsyncIterator[LiveServer]:
    """Runs the app under uvicorn on this event loop, so tests reach it over real sockets."""
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=settings.PORT, log_level="warning", **HTTP_LIMITS
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield LiveServer(base_url=f"http://127.0.0.1:{settings.PORT}", app=app, settings=settings)
    finally:
        server.should_exit = True
        await task


def stripe_settings(stripe: LocalStripe) -> dict[str, str]:
    """Billing on, through the real stripe library pointed at the local Stripe server."""
    return {
        "STRIPE_SECRET_KEY": stripe.secret_key,
        "STRIPE_WEBHOOK_SECRET": stripe.webhook_secret,
        "STRIPE_API_BASE": stripe.base_url,
    }


@pytest.fixture(scope="session")
async def live(
    database_url: str, test_redis_url: str, data_dir: Path, stripe_server: LocalStripe
) -> AsyncIterator[LiveServer]:
    settings = make_settings(
        database_url,
        test_redis_url,
        data_dir,
        free_port(),
        FAL_JWKS_URL=f"https://{os.environ['FAL_QUEUE_RUN_HOST']}/.well-known/jwks.json",
        # The local fal server's CDN, on loopback: persistAsset copies from it.
        LOCAL_MEDIA_ORIGINS=f"127.0.0.1:{fal_plugin.CDN_PORT}",
        **stripe_settings(stripe_server),
    )
    await ensure_pro_plan(settings)
    async for server in serve(settings):
        stripe_server.set_webhook_url(f"{server.base_url}/webhooks/stripe")
        yield server


@pytest.fixture
async def client(live: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live.base_url, timeout=30) as http:
        yield http


@pytest.fixture
async def alice(client: httpx.AsyncClient) -> User:
    return await sign_in(client)


@pytest.fixture
async def bob(client: httpx.AsyncClient) -> User:
    return await sign_in(client)


@pytest.fixture
async def pro(client: httpx.AsyncClient) -> User:
    return await sign_in(client, role="PRO")


class Worker:
    """A real `dramatiq jobs.worker` process, configured like the API it serves."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self._ready = threading.Event()

    def start(self) -> None:
        # Its own process group: dramatiq forks worker processes, and all must die together.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "dramatiq", "jobs.worker", "--processes", "1", "--threads", "6"],
            env=self.env,
            start_new_session=True,
            stderr=subprocess.PIPE,
        )
        self._ready = threading.Event()
        threading.Thread(
            target=_relay_log, args=(self.process.stderr, self._ready), daemon=True
        ).start()

    def wait_ready(self, timeout: float = 60) -> None:
        """Until its process has booted: resources open, following fal, consuming."""
        assert self._ready.wait(timeout), "the worker did not boot"

    async def ready(self, timeout: float = 60) -> None:
        """`wait_ready` for a test on the event loop, which the live API shares."""
        await asyncio.to_thread(self.wait_ready, timeout)

    def kill(self) -> None:
        """SIGKILL to every process of the worker: no clean-up, no acknowledgement, as when
        a machine dies."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """As a deploy stops it: the messages in hand are finished first."""
        if self.process is not None:
            stop_processes([self.process], timeout=15)


def _relay_log(stream: IO[bytes], ready: threading.Event) -> None:
    """Passes a worker's log on to ours, noting when its process is ready: Dramatiq says so
    once the worker has booted (our middleware's resources and follower included)."""
    for line in stream:
        os.write(2, line)
        if b"Worker process is ready for action" in line:
            ready.set()


WORKER_TUNING = {
    # Short enough that the worker-kill test sees redelivery within seconds.
    "QUEUE_HEARTBEAT_TIMEOUT_MS": "2000",
    "QUEUE_MAINTENANCE_CHANCE": "200000",
    "NODE_LEASE_SECONDS": "3",
    # A worker killed mid-submit is presumed dead after this long (fal answers in ms here).
    "NODE_SUBMIT_LEASE_SECONDS": "4",
    "NODE_DEADLINE_SECONDS": "12",
    # The billing sweep re-sends unreported charges within seconds, not minutes.
    "BILLING_SWEEP_INTERVAL_SECONDS": "1",
    "FOLLOWER_POLL_SECONDS": "0.2",
    "NODE_STALL_SECONDS": "8",
    "dramatiq_worker_timeout": "100",
    "USAGE_REPORT_RETRY_AFTER_SECONDS": "3",
}


def worker_env(live: LiveServer) -> dict[str, str]:
    """A worker configured like the API it serves."""
    s = live.settings
    assert s.STRIPE_SECRET_KEY and s.STRIPE_WEBHOOK_SECRET and s.STRIPE_API_BASE
    return {
        **os.environ,
        **WORKER_TUNING,
        "LATTICE_ENV": "dev",
        "DATABASE_URL": str(s.DATABASE_URL),
        "REDIS_URL": str(s.REDIS_URL),
        "DATA_DIR": s.DATA_DIR,
        "PORT": str(s.PORT),
        "STRIPE_SECRET_KEY": s.STRIPE_SECRET_KEY.get_secret_value(),
        "STRIPE_WEBHOOK_SECRET": s.STRIPE_WEBHOOK_SECRET.get_secret_value(),
        "STRIPE_API_BASE": s.STRIPE_API_BASE,
        "FAL_JWKS_URL": s.FAL_JWKS_URL,
    }


@pytest.fixture(scope="session")
def worker(live: LiveServer, fal_server: object) -> Iterator[Worker]:
    running = Worker(worker_env(live))
    running.start()
    running.wait_ready()
    yield running
    running.stop()
