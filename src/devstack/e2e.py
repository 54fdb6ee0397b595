"""`python -m devstack.e2e COMMAND...`: runs COMMAND (the browser tests) against a whole stack
of its own (API serving the built client, a worker, the local fal server) on a fresh
database and free ports, with LATTICE_URL pointing at it; then tears everything down."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from devstack.embedded import ensure_services, free_port


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
    data_dir = Path(tempfile.mkdtemp(prefix="lattice-e2e-"))
    services, handles = ensure_services(Path(".lattice/e2e-embedded").resolve())
    name, database_url = asyncio.run(_create_database(services["DATABASE_URL"]))
    port = free_port()
    redis = urlunsplit(urlsplit(services["REDIS_URL"])._replace(path="/14"))
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis,
        "PORT": str(port),
        "DATA_DIR": str(data_dir),
        "LATTICE_ENV": "dev",
    }
    for key in ("FAL_KEY", "SUPABASE_URL", "SUPABASE_SERVICE_ROLE_KEY"):
        env.pop(key, None)
    stack = subprocess.Popen(
        [sys.executable, "-m", "devstack.dev"], env=env, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if stack.poll() is not None or time.monotonic() > deadline:
                print("the stack did not start", file=sys.stderr)
                return 1
            time.sleep(0.3)
        return subprocess.call(command, env={**os.environ, "LATTICE_URL": base})
    finally:
        os.killpg(stack.pid, signal.SIGTERM)
        try:
            stack.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(stack.pid, signal.SIGKILL)
        asyncio.run(_drop_database(services["DATABASE_URL"], name))
        for handle in handles:
            if isinstance(handle, subprocess.Popen):
                handle.terminate()


if __name__ == "__main__":
    sys.exit(main())
