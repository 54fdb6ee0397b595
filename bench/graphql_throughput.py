"""GraphQL throughput against a bare Starlette + asyncpg floor.

Three queries (`viewer`, `workflows(first: 20)`, `assets(first: 50)`) at 50 concurrent
keep-alive connections against:

  real  the Lattice app (graph.app.create_app) under uvicorn, in its own process;
  bare  a Starlette app under uvicorn doing the same work by hand: the same ES256 token
        check (TokenVerifier over the dev issuer's JWKS), the same profile read and the
        same service functions, so the same SQL in the same transactions (as_user:
        set_config role/claims per transaction, RLS), answering the same JSON.

Both run uvicorn as production does (httptools, with the request-head cap). Each server gets a
fresh database (created, migrated, seeded with one user, 20 workflows and 50 assets,
dropped at the end); both run in this one invocation, one at a time, alternating per query. Prints requests/s for each and real/bare per query (target >= 0.5).

    uv run python bench/graphql_throughput.py [--seconds 5] [--connections 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import asyncpg  # noqa: E402

from devstack.embedded import ensure_services, free_port, stop_services  # noqa: E402
from services.platform.migrations import migrate  # noqa: E402

TARGET = 0.5


def _serve(app: Any, port: int) -> None:
    """Both servers run uvicorn as production does (httptools, with the request-head cap)."""
    import uvicorn

    from graph.app import HTTP_LIMITS

    uvicorn.run(
        app, host="127.0.0.1", port=port, log_level="warning", access_log=False, **HTTP_LIMITS
    )


QUERIES: dict[str, str] = {
    "viewer": "query Viewer { viewer { id email role spendingCapCents } }",
    "workflows": (
        "query Workflows { workflows(first: 20) { edges { cursor node { id name version"
        " updatedAt nodes { id modelId col row params } edges { source sourcePort target"
        " targetPort } } } pageInfo { hasNextPage endCursor } } }"
    ),
    "assets": (
        "query Assets { assets(first: 50) { edges { cursor node { id kind url storage expiresAt"
        " width height durationSeconds contentType modelId params createdAt nodeRunId } }"
        " pageInfo { hasNextPage endCursor } } }"
    ),
}


# --- the servers (each runs in a child process of this script) ------------------------


def _settings(args: argparse.Namespace) -> Any:
    from services.platform.config import Settings

    values: dict[str, Any] = {
        "LATTICE_ENV": "dev",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "PORT": args.port,
        "DATA_DIR": args.data_dir,
        "SUPABASE_URL": None,
        "SUPABASE_JWT_SECRET": None,
        "STRIPE_SECRET_KEY": None,
        # The fan-out benchmark's thousands of subscribers of one run are one user's.
        "WS_CONNECTIONS_PER_USER": 1_000_000,
    }
    return Settings(_env_file=None, **values)


def serve_real(args: argparse.Namespace) -> None:
    from graph.app import create_app

    app = create_app(_settings(args))
    _serve(app, args.port)


def bare_app(settings: Any) -> Any:
    """The floor: what any Python service must do to answer these queries safely."""
    import httpx
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from services.accounts.dev_issuer import DevIssuer
    from services.accounts.tokens import TokenVerifier, bearer_token
    from services.accounts.viewer import viewer_from_claims
    from services.assets import gallery
    from services.platform import database
    from services.platform.errors import LatticeError
    from services.workflows import store

    issuer = DevIssuer(Path(settings.DATA_DIR) / "dev-issuer-key.pem", settings.auth_issuer)
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["db"] = await database.connect(settings.DATABASE_URL, max_size=settings.DB_POOL_MAX)
        async with httpx.AsyncClient(timeout=10.0) as http:
            state["verifier"] = TokenVerifier(
                jwks_url=settings.jwks_url, issuer=settings.auth_issuer, http=http
            )
            yield
        await state["db"].close()

    def page_info(page: Any) -> dict[str, Any]:
        return {"hasNextPage": page.has_next, "endCursor": page.end_cursor}

    def iso(value: Any) -> Any:
        return value.isoformat() if value is not None else None

    async def answer(name: str, db: Any, viewer: Any) -> dict[str, Any]:
        if name == "viewer":
            return {
                "viewer": {
                    "id": str(viewer.id),
                    "email": viewer.email,
                    "role": viewer.role.value,
                    "spendingCapCents": viewer.spending_cap_cents,
                }
            }
        if name == "workflows":
            page = await store.list_workflows(db, viewer, 20, None)
            return {
                "workflows": {
                    "edges": [
                        {
                            "cursor": cursor,
                            "node": {
                                "id": str(w.id),
                                "name": w.name,
                                "version": w.version,
                                "updatedAt": iso(w.updated_at),
                                **w.graph.as_json(),
                            },
                        }
                        for w, cursor in zip(page.items, page.cursors, strict=True)
                    ],
                    "pageInfo": page_info(page),
                }
            }
        page = await gallery.list_assets(db, viewer, 50, None, None)
        return {
            "assets": {
                "edges": [
                    {
                        "cursor": cursor,
                        "node": {
                            "id": str(a.id),
                            "kind": a.kind,
                            "url": a.source_url or "",
                            "storage": a.storage,
                            "expiresAt": iso(a.expires_at),
                            "width": a.width,
                            "height": a.height,
                            "durationSeconds": a.duration_seconds,
                            "contentType": a.content_type,
                            "modelId": a.model_id,
                            "params": a.params,
                            "createdAt": iso(a.created_at),
                            "nodeRunId": str(a.node_run_id) if a.node_run_id else None,
                        },
                    }
                    for a, cursor in zip(page.items, page.cursors, strict=True)
                ],
                "pageInfo": page_info(page),
            }
        }

    async def graphql(request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        name = body.get("operationName") or "viewer"
        try:
            token = bearer_token(request.headers.get("authorization"))
            assert token is not None
            claims = await state["verifier"].verify(token)
            viewer = await viewer_from_claims(state["db"], claims)
            data = await answer(name.lower(), state["db"], viewer)
        except LatticeError as exc:
            return JSONResponse({"errors": [{"message": exc.message}]})
        return JSONResponse({"data": data})

    async def jwks(request: Request) -> JSONResponse:
        return JSONResponse(issuer.jwks())

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["POST"]),
            Route("/auth/v1/.well-known/jwks.json", jwks),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )


def serve_bare(args: argparse.Namespace) -> None:
    app = bare_app(_settings(args))
    _serve(app, args.port)


# --- the load generator: keep-alive HTTP/1.1 over loopback, bounded in count and time ---


@dataclass
class Result:
    requests: int
    seconds: float
    failures: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def _one_connection(
    port: int, request: bytes, stop_at: float, limit: list[int], out: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.monotonic() < stop_at and limit[0] > 0:
            limit[0] -= 1
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            body = await reader.readexactly(length)
            ok = status == 200 and b'"errors"' not in body
            out[0 if ok else 1] += 1
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


def _request(port: int, name: str, token: str) -> bytes:
    body = json.dumps({"query": QUERIES[name], "operationName": name.capitalize()}).encode()
    return (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body


async def load(
    port: int, name: str, token: str, *, connections: int, seconds: float, max_requests: int
) -> Result:
    request = _request(port, name, token)
    # Warm-up: every connection opened, caches and pools filled, before the clock starts.
    warm = [0, 0]
    await asyncio.gather(
        *(
            _one_connection(port, request, time.monotonic() + 1.0, [20], warm)
            for _ in range(connections)
        )
    )
    out = [0, 0]
    started = time.monotonic()
    await asyncio.gather(
        *(
            _one_connection(port, request, started + seconds, [max_requests], out)
            for _ in range(connections)
        )
    )
    return Result(out[0], time.monotonic() - started, out[1])


async def fetch_json(port: int, name: str, token: str) -> dict[str, Any]:
    import httpx

    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        response = await http.post(
            "/graphql",
            json={"query": QUERIES[name], "operationName": name.capitalize()},
            headers={"Authorization": f"Bearer {token}"},
        )
        result: dict[str, Any] = response.json()
        return result


# --- databases and processes -------------------------------------------------------------


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


async def seed(url: str) -> uuid.UUID:
    """One user with 20 workflows (two wired nodes each) and 50 temporary assets."""
    conn = await asyncpg.connect(url)
    try:
        user_id = uuid.uuid4()
        email = f"bench-{user_id.hex[:8]}@example.com"
        await conn.execute("insert into auth.users (id, email) values ($1, $2)", user_id, email)
        await conn.execute(
            "insert into public.profiles (id, email) values ($1, $2) on conflict do nothing",
            user_id,
            email,
        )
        graph = {
            "nodes": [
                {
                    "id": "a",
                    "modelId": "fal-ai/flux/dev",
                    "col": 0,
                    "row": 0,
                    "params": {"prompt": "a lighthouse at dusk", "image_size": "square"},
                },
                {
                    "id": "b",
                    "modelId": "fal-ai/wan/v2.2-a14b/image-to-video",
                    "col": 1,
                    "row": 0,
                    "params": {"prompt": "waves roll in"},
                },
            ],
            "edges": [
                {"source": "a", "sourcePort": "image", "target": "b", "targetPort": "image_url"}
            ],
        }
        await conn.executemany(
            "insert into public.workflows (user_id, name, graph) values ($1, $2, $3::jsonb)",
            [(user_id, f"workflow {i}", json.dumps(graph)) for i in range(20)],
        )
        await conn.executemany(
            """
            insert into public.assets (user_id, kind, storage, source_url, expires_at, width,
              height, content_type, model_id, params)
            values ($1, 'IMAGE', 'TEMPORARY', $2, now() + interval '7 days', 1024, 1024,
              'image/png', 'fal-ai/flux/dev', $3::jsonb)
            """,
            [
                (
                    user_id,
                    f"https://v3.fal.media/files/bench/{i}.png",
                    json.dumps({"prompt": f"image {i}", "seed": i}),
                )
                for i in range(50)
            ],
        )
        return user_id
    finally:
        await conn.close()


@dataclass
class Server:
    kind: str
    port: int
    process: subprocess.Popen[bytes]
    token: str


def _spawn(
    kind: str, port: int, database_url: str, redis_url: str, data_dir: Path
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            kind,
            "--port",
            str(port),
            "--database-url",
            database_url,
            "--redis-url",
            redis_url,
            "--data-dir",
            str(data_dir),
        ],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        start_new_session=True,
    )


async def start_server(
    kind: str, database_url: str, redis_url: str, data_dir: Path, user_id: uuid.UUID
) -> Server:
    from services.accounts.dev_issuer import DevIssuer

    port = free_port()
    process = _spawn(kind, port, database_url, redis_url, data_dir)
    import httpx

    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as http:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the {kind} server exited with {process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the {kind} server did not start")
            await asyncio.sleep(0.1)
    # The issuer's key file exists once the server started; its URL is the server's own.
    issuer = DevIssuer(data_dir / "dev-issuer-key.pem", f"http://127.0.0.1:{port}/auth/v1")
    token = issuer.sign(user_id=user_id, email=None, role="FREE")
    return Server(kind, port, process, token)


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


def _shape(value: Any) -> Any:
    """The answer with volatile values blanked, to check both servers say the same thing."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__


async def run(args: argparse.Namespace) -> int:
    embedded = ROOT / ".lattice" / "bench-embedded"
    env, handles = ensure_services(embedded)
    admin_url = env["DATABASE_URL"]
    redis_url = urlunsplit(urlsplit(env["REDIS_URL"])._replace(path="/12"))
    admin = await asyncpg.connect(admin_url)
    created: list[str] = []
    servers: list[Server] = []
    stack = contextlib.ExitStack()
    try:
        for kind in ("real", "bare"):
            name = f"lattice_bench_{kind}_{uuid.uuid4().hex[:8]}"
            await admin.execute(f'create database "{name}"')
            created.append(name)
            url = _with_database(admin_url, name)
            await migrate(url)
            user_id = await seed(url)
            data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            servers.append(await start_server(kind, url, redis_url, data_dir, user_id))
        real, bare = servers
        for name in QUERIES:
            answers = [await fetch_json(s.port, name, s.token) for s in servers]
            for server, answer in zip(servers, answers, strict=True):
                assert "errors" not in answer, (server.kind, answer)
            assert _shape(answers[0]) == _shape(answers[1]), (name, answers)

        print(
            f"{args.connections} connections, {args.seconds:.0f} s per measurement, "
            f"real/bare target >= {TARGET}"
        )
        print(f"{'query':<10} {'real req/s':>11} {'bare req/s':>11} {'real/bare':>10}")
        worst = float("inf")
        for name in QUERIES:
            rates: dict[str, Result] = {}
            for server in (real, bare):
                rates[server.kind] = await load(
                    server.port,
                    name,
                    server.token,
                    connections=args.connections,
                    seconds=args.seconds,
                    max_requests=args.max_requests,
                )
                assert rates[server.kind].failures == 0, (server.kind, name, rates)
            ratio = rates["real"].rate / rates["bare"].rate
            worst = min(worst, ratio)
            print(
                f"{name:<10} {rates['real'].rate:>11.0f} {rates['bare'].rate:>11.0f} {ratio:>9.2f}x"
            )
        print(f"worst real/bare: {worst:.2f}x ({'meets' if worst >= TARGET else 'misses'} target)")
        return 0 if worst >= TARGET else 1
    finally:
        for server in servers:
            stop_server(server)
        stack.close()
        for name in created:
            await admin.execute(f'drop database "{name}" with (force)')
        await admin.close()
        stop_services(handles)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--max-requests", type=int, default=20_000, help="per connection")
    parser.add_argument("--serve", choices=("real", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve == "real":
        serve_real(args)
    elif args.serve == "bare":
        serve_bare(args)
    else:
        sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
