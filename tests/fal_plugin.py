"""The local fal server for the test session. fal-client reads its hosts once, at import,
so the environment is set when this plugin loads, before anything imports fal_client."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devstack.embedded import free_port
from devstack.tls import ensure_local_tls

PORT, CDN_PORT = free_port(), free_port()
WORKDIR = Path(tempfile.mkdtemp(prefix="lattice-fal-"))
TLS = ensure_local_tls(WORKDIR / "tls")
os.environ.update(
    {
        "FAL_KEY": "local-test-key",
        "FAL_RUN_HOST": f"127.0.0.1:{PORT}",
        "FAL_QUEUE_RUN_HOST": f"127.0.0.1:{PORT}",
        "SSL_CERT_FILE": str(TLS.ca),
        "NO_PROXY": "127.0.0.1,localhost",
    }
)


@pytest.fixture(scope="session")
def fal_server() -> Iterator[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devstack.fal_server",
            "--port",
            str(PORT),
            "--tls-dir",
            str(TLS.ca.parent),
            "--cdn-port",
            str(CDN_PORT),
            "--files-dir",
            str(WORKDIR / "files"),
        ]
    )
    base = f"https://127.0.0.1:{PORT}"
    deadline = time.monotonic() + 20
    while True:
        with contextlib.suppress(httpx.HTTPError, socket.error):
            if (
                httpx.get(
                    f"{base}/_control", verify=ssl.create_default_context(cafile=str(TLS.ca))
                ).status_code
                == 200
            ):
                break
        assert process.poll() is None, "the local fal server exited"
        assert time.monotonic() < deadline, "the local fal server did not start"
        time.sleep(0.1)
    yield base
    process.terminate()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:  # requests left hanging on purpose keep uvicorn waiting
        process.kill()
        process.wait()
