"""What the API's HTTP protocol costs per request, against uvicorn's two parsers.

The API serves on httptools with a request-head cap of its own (graph.http_protocol), as
h11's cap would cost more. This measures the server's CPU per request for each protocol on
the same tiny Starlette app (a POST with a runWorkflow-sized body and a bearer token, a
small JSON answer), so only the protocol differs:

  capped     graph.http_protocol:HeadCappedHttpTools (what the API runs)
  httptools  uvicorn's httptools protocol, no cap (the floor)
  h11        uvicorn's h11 protocol with its own cap (the alternative)

Each server runs in its own process, 50 keep-alive connections, rounds alternating. Prints
CPU microseconds per request and capped/httptools, capped/h11 (capped should sit at the
floor and below h11).

    uv run python bench/http_parser.py [--requests 5000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from devstack.embedded import free_port  # noqa: E402
from graph.http_protocol import MAX_HEAD_BYTES  # noqa: E402

PROTOCOLS = {
    "capped": ["--http", "graph.http_protocol:HeadCappedHttpTools"],
    "httptools": ["--http", "httptools"],
    "h11": ["--http", "h11", "--h11-max-incomplete-event-size", str(MAX_HEAD_BYTES)],
}

APP = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def graphql(request):
    await request.body()
    return JSONResponse({"data": {"runWorkflow": {"id": "0" * 36, "status": "QUEUED"}}})

app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"])])
"""

BODY = (
    b'{"query":"mutation Run($id: ID!, $key: String!) { runWorkflow(id: $id,'
    b' idempotencyKey: $key) { id status } }","variables":{"id":'
    b'"3a882463-dc6b-40f2-bec6-3432d4797d3b","key":"6f1c0d9e2b7a4c58a1e3f09b7d2c4e61"}}'
)
HEADERS = {
    "authorization": "Bearer " + "e" * 620,  # an ES256 token's length
    "content-type": "application/json",
    "accept": "application/graphql-response+json, application/json",
    "user-agent": "bench/1.0",
}


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(app_dir: str, protocol: str, requests: int, connections: int) -> float:
    """Server CPU seconds per request."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "tiny:app", "--port", str(port)]
    command += ["--log-level", "warning", "--no-access-log", *PROTOCOLS[protocol]]
    # Started and stopped between measurements, never while requests are timed.
    server = subprocess.Popen(  # noqa: ASYNC220
        command,
        cwd=app_dir,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), app_dir])},
    )
    try:
        limits = httpx.Limits(max_connections=connections)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits) as http:
            deadline = time.monotonic() + 20
            while True:
                try:
                    await http.post("/graphql", content=BODY, headers=HEADERS)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.05)

            async def client(count: int) -> None:
                for _ in range(count):
                    answer = await http.post("/graphql", content=BODY, headers=HEADERS)
                    assert answer.status_code == 200, answer.status_code

            per_client = max(1, requests // connections)
            await asyncio.gather(*(client(5) for _ in range(connections)))  # warm-up
            before = cpu_seconds(server.pid)
            await asyncio.gather(*(client(per_client) for _ in range(connections)))
            return (cpu_seconds(server.pid) - before) / (per_client * connections)
    finally:
        server.terminate()
        server.wait()


async def run(args: argparse.Namespace) -> None:
    spent: dict[str, list[float]] = {name: [] for name in PROTOCOLS}
    with tempfile.TemporaryDirectory() as app_dir:
        Path(app_dir, "tiny.py").write_text(APP)  # noqa: ASYNC240 (before anything is timed)
        for _ in range(args.rounds):
            for name in PROTOCOLS:
                spent[name].append(await measure(app_dir, name, args.requests, args.connections))
                print(f"  {name:<10} {spent[name][-1] * 1e6:6.0f} us per request", flush=True)
    median = {name: sorted(values)[len(values) // 2] for name, values in spent.items()}
    print(
        f"\nmedian server CPU per request: capped {median['capped'] * 1e6:.0f} us,"
        f" httptools {median['httptools'] * 1e6:.0f} us, h11 {median['h11'] * 1e6:.0f} us"
    )
    print(
        f"capped/httptools {median['capped'] / median['httptools']:.2f}x,"
        f" capped/h11 {median['capped'] / median['h11']:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
