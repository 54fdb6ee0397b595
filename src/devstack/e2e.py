"""`python -m devstack.e2e COMMAND...`: runs COMMAND (the browser tests) against a whole stack
of its own (API serving the built client, a worker, the local fal server) on a fresh
database and free ports, with LATTICE_URL pointing at it; then tears everything down."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from devstack.embedded import ensure_services, free_ports, stop_services
from devstack.processes import stop as stop_processes


async def _create_database(admin_url: str) -> tuple[str, str]:
    name = f"lattice_e2e_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'create database "{name}"')
    finally:
        await conn.close()
    return name, urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))


async def _drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'drop database if exists "{name}" with (force)')
    finally:
        await conn.close()


def main() -> int:
    command = sys.argv[1:]
    if not command:
        print("usage: python -m devstack.e2e COMMAND...", file=sys.stderr)
        return 2
    # Teardown stops exactly what was started, in reverse order, however far start-up got.
    with contextlib.ExitStack() as started:
        services, handles = ensure_services(Path(".lattice/e2e-embedded").resolve())
        started.callback(stop_services, handles)
        name, database_url = asyncio.run(_create_database(services["DATABASE_URL"]))
        started.callback(lambda: asyncio.run(_drop_database(services["DATABASE_URL"], name)))
        base = _start_stack(started, services, database_url)
        if base is None:
            return 1
        return subprocess.call(command, env={**os.environ, "LATTICE_URL": base})
    return 1  # unreachable; mypy cannot see that ExitStack never swallows


def _start_stack(
    started: contextlib.ExitStack, services: dict[str, str], database_url: str
) -> str | None:
    """Starts `make dev`'s stack on free ports; its URL once healthy, None if it never was."""
    port, fal_port, cdn_port, stripe_port = free_ports(4)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": urlunsplit(
            urlsplit(services["REDIS_URL"])._replace(
                path=f"/{os.environ.get('LATTICE_E2E_REDIS_DB', '14')}"
            )
        ),
        "PORT": str(port),
        "LATTICE_FAL_PORT": str(fal_port),
        "LATTICE_FAL_CDN_PORT": str(cdn_port),
        "LATTICE_STRIPE_PORT": str(stripe_port),
        "DATA_DIR": tempfile.mkdtemp(prefix="lattice-e2e-"),
        "LATTICE_ENV": "dev",
        # As in production: the client's trusted documents only (dev would take any).
        "GRAPHQL_OPEN_DOCUMENTS": "false",
    }
    for key in ("FAL_KEY", "SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY", "STRIPE_SECRET_KEY"):
        env.pop(key, None)
    stack = subprocess.Popen(
        [sys.executable, "-m", "devstack.dev"], env=env, start_new_session=True
    )
    started.callback(stop_processes, [stack], timeout=20)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while stack.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return base
        time.sleep(0.3)
    print("the stack did not start", file=sys.stderr)
    return None


if __name__ == "__main__":
    sys.exit(main())
