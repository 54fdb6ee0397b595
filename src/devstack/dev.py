"""`make dev`: the whole product on one machine with no keys. Starts PostgreSQL and Redis
when their URLs are unset, applies migrations, then runs the API and a worker (and the local
fal server when FAL_KEY is unset) until Ctrl+C."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from devstack.embedded import ensure_services, stop_services
from devstack.processes import stop as stop_processes
from graph.app import HTTP_LIMIT_OPTIONS
from services.platform.config import Settings
from services.platform.migrations import migrate


def main() -> None:
    # This is the dev stack whatever the environment says (production is the default).
    settings = Settings(LATTICE_ENV="dev")
    data_dir = Path(settings.DATA_DIR).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    env, handles = ensure_services(data_dir)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        asyncio.run(migrate(env["DATABASE_URL"]))
        child_env = {
            **os.environ,
            **env,
            "LATTICE_ENV": "dev",
            "DATA_DIR": str(data_dir),
            **_local_fal(settings, data_dir),
            **_local_stripe(settings, data_dir),
        }
        python = sys.executable
        api = [python, "-m", "uvicorn", "graph.app:create_app", "--factory"]
        api += ["--host", "127.0.0.1", "--port", str(settings.PORT)]
        # One process unless API_PROCESSES asks for more (to try the scale-out locally).
        api += ["--workers", str(settings.api_processes)]
        # The same request-head cap as production (graph.app.main).
        api += HTTP_LIMIT_OPTIONS
        worker = [python, "-m", "dramatiq", "jobs.worker", "--processes", "1", "--threads", "16"]
        commands = {"api": api, "worker": worker}
        if "LATTICE_FAL_SERVER_ARGS" in child_env:
            fal_args = child_env["LATTICE_FAL_SERVER_ARGS"].split()
            commands["fal"] = [python, "-m", "devstack.fal_server", *fal_args]
        if "LATTICE_STRIPE_SERVER_ARGS" in child_env:
            stripe_args = child_env["LATTICE_STRIPE_SERVER_ARGS"].split()
            commands["stripe"] = [python, "-m", "devstack.stripe_server", *stripe_args]
        for name, command in commands.items():
            # Each child leads its own process group (dramatiq forks workers): stop whole groups.
            processes[name] = subprocess.Popen(command, env=child_env, start_new_session=True)
        if "stripe" in processes:
            _set_up_local_stripe(child_env)
        print(
            f"\n  Lattice is starting on {settings.public_url}  (Ctrl+C stops everything)\n",
            flush=True,
        )
        _supervise(processes)
    finally:
        stop_processes(processes.values(), timeout=10)
        stop_services(handles)


def local_port(settings: Settings, name: str, offset: int) -> int:
    """A local stand-in's port: `LATTICE_<NAME>_PORT` when set (the browser-test stack picks
    free ones), else next to the API's, so `make dev` keeps its links across restarts."""
    return int(os.environ.get(f"LATTICE_{name}_PORT") or settings.PORT + offset)


def _local_fal(settings: Settings, data_dir: Path) -> dict[str, str]:
    """Without a FAL_KEY, point fal-client at the local fal server through its own settings.
    Its media stays on disk, so gallery links survive a restart."""
    if settings.FAL_KEY:
        return {}
    from devstack.tls import ensure_local_tls

    tls = ensure_local_tls(data_dir / "tls")
    fal_port, cdn_port = local_port(settings, "FAL", 1), local_port(settings, "FAL_CDN", 2)
    host = f"127.0.0.1:{fal_port}"
    return {
        "FAL_KEY": "local-dev-key",
        "FAL_RUN_HOST": host,
        "FAL_QUEUE_RUN_HOST": host,
        "FAL_JWKS_URL": f"https://{host}/.well-known/jwks.json",
        "SSL_CERT_FILE": str(tls.ca),
        "NO_PROXY": "127.0.0.1,localhost",
        # Its CDN is on loopback: the API may copy media from it only because this says so.
        "LOCAL_MEDIA_ORIGINS": f"127.0.0.1:{cdn_port}",
        "LATTICE_FAL_SERVER_ARGS": (
            f"--port {fal_port} --cdn-port {cdn_port}"
            f" --tls-dir {data_dir / 'tls'} --files-dir {data_dir / 'fal-files'}"
        ),
    }


def _local_stripe(settings: Settings, data_dir: Path) -> dict[str, str]:
    """Without a STRIPE_SECRET_KEY, point the stripe library at the local Stripe server,
    which serves Checkout and the portal and sends signed webhooks back to the API."""
    if settings.STRIPE_SECRET_KEY:
        return {}
    port = local_port(settings, "STRIPE", 3)
    # Not a secret: the local server and the API only need to agree on it.
    webhook_secret = "whsec_lattice_local_dev"  # noqa: S105
    return {
        "STRIPE_SECRET_KEY": "sk_test_lattice_local",
        "STRIPE_WEBHOOK_SECRET": webhook_secret,
        "STRIPE_API_BASE": f"http://127.0.0.1:{port}",
        "LATTICE_STRIPE_SERVER_ARGS": (
            f"--port {port} --webhook-url {settings.public_url}/webhooks/stripe"
            f" --webhook-secret {webhook_secret} --state-file {data_dir / 'stripe-state.json'}"
        ),
    }


def _set_up_local_stripe(env: dict[str, str]) -> None:
    """Creates the Pro plan in the local Stripe server once it answers (idempotent)."""
    from services.billing.setup import ensure_pro_plan

    base = env["STRIPE_API_BASE"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/_control", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    asyncio.run(
        ensure_pro_plan(Settings(_env_file=None, LATTICE_ENV="dev", **_stripe_settings(env)))
    )


def _stripe_settings(env: dict[str, str]) -> dict[str, Any]:
    return {
        key: env[key]
        for key in (
            "STRIPE_SECRET_KEY",
            "STRIPE_API_BASE",
            "STRIPE_METER_EVENT_NAME",
            "STRIPE_PRO_BASE_PRICE_CENTS",
        )
        if key in env
    }


def _supervise(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping:
        for name, process in processes.items():
            if process.poll() is not None:
                print(f"{name} exited with {process.returncode}; stopping", file=sys.stderr)
                stopping = True
        time.sleep(0.3)


if __name__ == "__main__":
    main()
