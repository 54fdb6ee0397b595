"""What Lattice adds to a fal request: concurrent one-node FLUX runs through the whole
product against the same requests sent straight to fal with fal-client.

  lattice  runWorkflow over GraphQL (API under uvicorn, one process per core; the API that
           starts a run submits its node to the local fal server itself, with a webhook URL)
           -> fal's signed webhook to the API, which records the result -> the node SUCCEEDED
           event on the runEvents subscription (graphql-transport-ws; each socket is connected
           and acknowledged before the clock starts, and subscribes as soon as runWorkflow
           answers). One worker process (`dramatiq jobs.worker --processes 1 --threads 16`,
           Dramatiq's default idle timeout, as in production) follows the node for progress.
  direct   the same number of concurrent `fal_client.AsyncClient.submit` + `handle.get()`
           (fal-client's own 100 ms status polling) against the same fal server, no Lattice.

Settings (fal's knobs through its /_control; fal concurrency 400, so nothing queues at fal):
  (a) fal fast, 20 ms x 8 steps: per-node overhead = Lattice latency - direct latency,
      compared quantile by quantile (p50, p95), at 50 and 200 concurrent runs.
      Target: p50 < 150 ms at 50 concurrent.
  (b) fal 2 s per node (250 ms x 8 steps), 200 concurrent: throughput = runs / (first call to
      last result); Lattice / direct. Target >= 0.8.

One fresh database (migrated), Redis DB 11, ten ADMIN users (no allowance), RUNS_PER_MINUTE
and PLATFORM_DAILY_SPEND_LIMIT_CENTS lifted, billing off. Rounds alternate direct / Lattice.
Prints figures and ratios; exits 0 (a measurement, not a test).

    uv run python bench/orchestration.py [--rounds 2] [--users 10]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import stack as bench_stack
import websockets
from stack import FLUX, FLUX_PARAMS, RUN_EVENTS, Stack, percentile

OVERHEAD_TARGET_MS = 150.0
THROUGHPUT_TARGET = 0.8
ROUND_TIMEOUT_SECONDS = 90.0


@dataclass
class Round:
    kind: str
    concurrency: int
    latencies: list[float] = field(default_factory=list)  # seconds, one per node
    makespan: float = 0.0
    failures: int = 0
    # Lattice only: where the time went, per node (seconds).
    mutation: list[float] = field(default_factory=list)
    to_submitted: list[float] = field(default_factory=list)
    at_fal: list[float] = field(default_factory=list)
    to_seen: list[float] = field(default_factory=list)
    finished_at_snapshot: int = 0
    # CPU seconds spent during the round, by process (the stack's, its database backends',
    # and this benchmark's own clients).
    cpu: dict[str, float] = field(default_factory=dict)
    # PostgreSQL transactions on the stack's database during the round.
    transactions: float = 0.0

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.makespan if self.makespan else 0.0


# --- CPU by process ----------------------------------------------------------------------


async def cpu_seconds(stack: Stack, db: asyncpg.Connection) -> dict[str, float]:
    """CPU used so far by each part: the API, worker and fal processes (with their
    children), PostgreSQL's backends serving the stack's database, the Redis server and this
    process."""
    found = {name: bench_stack.usage(p.pid).cpu_seconds for name, p in stack.processes.items()}
    found["redis"] = bench_stack.usage(stack.redis_pid).cpu_seconds
    backends = await db.fetch(
        "select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()"
    )
    found["postgres"] = sum(bench_stack.usage(r["pid"]).cpu_seconds for r in backends)
    found["bench"] = sum(os.times()[:2])
    return found


async def transactions_so_far(db: asyncpg.Connection) -> float:
    return float(
        await db.fetchval(
            "select xact_commit + xact_rollback from pg_stat_database where datname = current_database()"
        )
    )


async def accounted(stack: Stack, db: asyncpg.Connection, work: Awaitable[Round]) -> Round:
    """Runs a round, charging it the CPU and PostgreSQL transactions spent meanwhile."""
    cpu, transactions = await cpu_seconds(stack, db), await transactions_so_far(db)
    measured = await work
    after = await cpu_seconds(stack, db)
    measured.cpu = {name: after[name] - cpu.get(name, 0.0) for name in after}
    measured.transactions = await transactions_so_far(db) - transactions
    return measured


# --- direct: fal-client only -----------------------------------------------------------


async def direct_round(client: Any, concurrency: int) -> Round:
    result = Round("direct", concurrency)

    async def one() -> float:
        started = time.monotonic()
        handle = await client.submit(FLUX, {"prompt": f"direct {uuid.uuid4().hex}", **FLUX_PARAMS})
        await handle.get()
        return time.monotonic() - started

    started = time.monotonic()
    outcomes = await asyncio.gather(*(one() for _ in range(concurrency)), return_exceptions=True)
    result.makespan = time.monotonic() - started
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            result.failures += 1
        else:
            result.latencies.append(outcome)
    return result


# --- Lattice: the whole product --------------------------------------------------------


async def _connect(base_url: str, token: str) -> Any:
    ws = await websockets.connect(
        base_url.replace("http", "ws", 1) + "/graphql",
        subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
        max_size=2**22,
    )
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    ack = json.loads(await ws.recv())
    assert ack["type"] == "connection_ack", ack
    return ws


async def lattice_round(
    stack: Stack, http: httpx.AsyncClient, db: asyncpg.Connection, pairs: list[tuple[str, str]]
) -> Round:
    result = Round("lattice", len(pairs))
    limit = asyncio.Semaphore(50)

    async def connect(token: str) -> Any:
        async with limit:
            return await _connect(stack.base_url, token)

    sockets = await asyncio.gather(*(connect(token) for token, _ in pairs))
    seen: dict[str, tuple[float, float]] = {}  # run id -> (wall clock at start, at SUCCEEDED)

    async def one(ws: Any, token: str, workflow_id: str) -> tuple[str, float, float, bool]:
        wall, started = time.time(), time.monotonic()
        run_id = await bench_stack.run_workflow(http, token, workflow_id)
        mutation = time.monotonic() - started
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": RUN_EVENTS, "variables": {"runId": run_id}},
                }
            )
        )
        first = True
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == "error":
                raise RuntimeError(f"subscription error: {message['payload']}")
            if message["type"] == "complete":
                raise RuntimeError(f"run {run_id} ended without SUCCEEDED")
            if message["type"] != "next":
                continue
            payload = message["payload"]
            if payload.get("errors"):
                raise RuntimeError(f"subscription error: {payload['errors']}")
            node = payload["data"]["runEvents"]["run"]["nodeRuns"][0]
            if node["status"] == "SUCCEEDED":
                done = time.monotonic()
                seen[run_id] = (wall, wall + (done - started))
                return run_id, done - started, mutation, first
            if node["status"] in ("FAILED", "CANCELLED", "SKIPPED"):
                raise RuntimeError(f"node {node['status']}: {node.get('error')}")
            first = False

    async def timed(ws: Any, token: str, workflow_id: str) -> tuple[str, float, float, bool]:
        async with asyncio.timeout(ROUND_TIMEOUT_SECONDS):
            return await one(ws, token, workflow_id)

    started = time.monotonic()
    try:
        outcomes = await asyncio.gather(
            *(timed(ws, t, w) for ws, (t, w) in zip(sockets, pairs, strict=True)),
            return_exceptions=True,
        )
    finally:
        for ws in sockets:
            with contextlib.suppress(Exception):
                await ws.close()
    result.makespan = time.monotonic() - started
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            result.failures += 1
            if result.failures <= 3:
                print(f"  lattice failure: {outcome!r}")
            continue
        _, latency, mutation, at_snapshot = outcome
        result.latencies.append(latency)
        result.mutation.append(mutation)
        result.finished_at_snapshot += at_snapshot
    if result.failures:
        print("  where this round's runs stand:", await where_runs_stand(db, [w for _, w in pairs]))
    rows = await db.fetch(
        """
        select r.id, extract(epoch from n.created_at) as created,
               extract(epoch from n.started_at) as submitted,
               extract(epoch from n.finished_at) as finished
        from public.runs r join public.node_runs n on n.run_id = r.id
        where r.id = any($1::uuid[])
        """,
        list(seen),
    )
    for row in rows:
        _, seen_at = seen[str(row["id"])]
        result.to_submitted.append(float(row["submitted"] - row["created"]))
        result.at_fal.append(float(row["finished"] - row["submitted"]))
        result.to_seen.append(seen_at - float(row["finished"]))
    return result


async def where_runs_stand(db: asyncpg.Connection, workflow_ids: list[str]) -> dict[str, int]:
    rows = await db.fetch(
        """
        select r.status || '/' || n.status || case when n.fal_request_id is null then '' else '+fal' end
                 as state, count(*) as n
        from public.runs r join public.node_runs n on n.run_id = r.id
        where r.workflow_id = any($1::uuid[]) group by 1
        """,
        workflow_ids,
    )
    return {r["state"]: r["n"] for r in rows}


async def settled(db: asyncpg.Connection, work: Awaitable[Round]) -> Round:
    """The round, once what it caused has drained (so its cost is all counted)."""
    measured = await work
    await settle(db)
    return measured


async def settle(db: asyncpg.Connection) -> None:
    """Waits until no node is in flight and the outbox is empty (duplicate completions from
    webhook + follower have drained), so rounds do not overlap."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        busy = await db.fetchval(
            "select (select count(*) from public.node_runs where status in"
            " ('QUEUED','RUNNING')) + (select count(*) from public.outbox)"
        )
        if busy == 0:
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(0.5)


# --- reporting -------------------------------------------------------------------------


def ms(value: float) -> str:
    return f"{value * 1000:7.0f}"


def describe(r: Round) -> str:
    return (
        f"{r.kind:<8} n={r.concurrency:<4} p50 {ms(percentile(r.latencies, 0.5))} ms"
        f"  p95 {ms(percentile(r.latencies, 0.95))} ms  makespan {r.makespan:6.2f} s"
        f"  {r.throughput:6.1f} runs/s  failures {r.failures}"
    )


def breakdown(rounds: list[Round]) -> str:
    def merged(name: str) -> list[float]:
        return [v for r in rounds for v in getattr(r, name)]

    parts = []
    for label, name in (
        ("runWorkflow answered", "mutation"),
        ("run committed -> submitted to fal", "to_submitted"),
        ("submitted -> SUCCEEDED committed", "at_fal"),
        ("committed -> event received", "to_seen"),
    ):
        values = merged(name)
        parts.append(
            f"    {label:<36} p50 {ms(percentile(values, 0.5))} ms"
            f"  p95 {ms(percentile(values, 0.95))} ms"
        )
    snap = sum(r.finished_at_snapshot for r in rounds)
    parts.append(f"    finished before the subscription's first event: {snap}")
    return "\n".join(parts)


def cpu_per_node(directs: list[Round], lattices: list[Round]) -> str:
    """Lattice's rounds include settling (duplicate completions draining), so nothing a
    node causes is missed."""
    lines = []
    for rounds in (directs, lattices):
        nodes = sum(len(r.latencies) for r in rounds) or 1
        names = sorted({n for r in rounds for n in r.cpu})
        spent = {n: sum(r.cpu.get(n, 0.0) for r in rounds) * 1000 / nodes for n in names}
        parts = "  ".join(f"{n} {v:5.1f}" for n, v in spent.items() if v >= 0.05)
        transactions = sum(r.transactions for r in rounds) / nodes
        lines.append(
            f"    {rounds[0].kind:<8} {parts}  total {sum(spent.values()):5.1f}"
            f"  (PostgreSQL transactions per node {transactions:.1f})"
        )
    return "\n".join(lines)


async def run(args: argparse.Namespace) -> int:
    import fal_client

    print("starting the stack (fresh database, fal server, API, one worker)...", flush=True)
    stack = await bench_stack.start_stack(
        "orchestration", redis_db=11, fal_concurrency=400, worker_threads=args.worker_threads
    )
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    http = httpx.AsyncClient(base_url=stack.base_url, timeout=60, limits=limits)
    db = await asyncpg.connect(stack.database_url)
    client = fal_client.AsyncClient(key="local-bench-key")
    verdicts: list[str] = []
    try:
        tokens = [await bench_stack.sign_in(http) for _ in range(args.users)]
        await stack.control(latency_ms=20, steps=8, concurrency=400)
        # Warm-up: connections, caches, the worker's pools; not measured.
        await direct_round(client, 10)
        await lattice_round(stack, http, db, await bench_stack.create_workflows(http, tokens, 10))
        await settle(db)

        print("\n(a) fal fast: 20 ms x 8 steps (160 ms at fal), fal concurrency 400")
        overhead_at_50 = float("nan")
        for concurrency in args.fast_concurrency:
            directs, lattices = [], []
            for _ in range(args.rounds):
                pairs = await bench_stack.create_workflows(http, tokens, concurrency)
                directs.append(await accounted(stack, db, direct_round(client, concurrency)))
                print("  " + describe(directs[-1]), flush=True)
                lattices.append(
                    await accounted(stack, db, settled(db, lattice_round(stack, http, db, pairs)))
                )
                print("  " + describe(lattices[-1]), flush=True)
                stack.check_alive()
            direct_all = [v for r in directs for v in r.latencies]
            lattice_all = [v for r in lattices for v in r.latencies]
            p50 = percentile(lattice_all, 0.5) - percentile(direct_all, 0.5)
            p95 = percentile(lattice_all, 0.95) - percentile(direct_all, 0.95)
            print(
                f"  n={concurrency}: overhead per node p50 {p50 * 1000:.0f} ms,"
                f" p95 {p95 * 1000:.0f} ms  (direct p50 {percentile(direct_all, 0.5) * 1000:.0f}"
                f" ms, Lattice p50 {percentile(lattice_all, 0.5) * 1000:.0f} ms;"
                f" Lattice/direct p50 {percentile(lattice_all, 0.5) / percentile(direct_all, 0.5):.2f}x)"
            )
            print("  Lattice, where the time went:\n" + breakdown(lattices))
            print("  CPU per node, ms:\n" + cpu_per_node(directs, lattices))
            if concurrency == 50:
                overhead_at_50 = p50 * 1000
        if overhead_at_50 == overhead_at_50:
            verdict = "meets" if overhead_at_50 < OVERHEAD_TARGET_MS else "misses"
            verdicts.append(
                f"(a) overhead p50 at 50 concurrent: {overhead_at_50:.0f} ms"
                f" (target < {OVERHEAD_TARGET_MS:.0f} ms: {verdict})"
            )

        if args.slow_concurrency > 0:
            verdicts.append(await throughput_rounds(stack, http, db, client, tokens, args))
        print()
        for line in verdicts:
            print(line)
        return 0
    finally:
        await http.aclose()
        await db.close()
        await stack.close()


async def throughput_rounds(
    stack: Stack,
    http: httpx.AsyncClient,
    db: asyncpg.Connection,
    client: Any,
    tokens: list[str],
    args: argparse.Namespace,
) -> str:
    """(b): 2 s nodes, Lattice's throughput against direct's; returns the verdict."""
    print("\n(b) fal slow: 250 ms x 8 steps (2 s at fal), fal concurrency 400")
    await stack.control(latency_ms=250, steps=8, concurrency=400)
    directs, lattices = [], []
    for _ in range(args.rounds):
        pairs = await bench_stack.create_workflows(http, tokens, args.slow_concurrency)
        directs.append(await direct_round(client, args.slow_concurrency))
        print("  " + describe(directs[-1]), flush=True)
        lattices.append(await lattice_round(stack, http, db, pairs))
        print("  " + describe(lattices[-1]), flush=True)
        stack.check_alive()
        await settle(db)
    direct_rate = sum(len(r.latencies) for r in directs) / sum(r.makespan for r in directs)
    lattice_rate = sum(len(r.latencies) for r in lattices) / sum(r.makespan for r in lattices)
    ratio = lattice_rate / direct_rate
    print("  Lattice, where the time went:\n" + breakdown(lattices))
    verdict = "meets" if ratio >= THROUGHPUT_TARGET else "misses"
    return (
        f"(b) throughput at {args.slow_concurrency} concurrent, 2 s nodes:"
        f" Lattice {lattice_rate:.1f} runs/s, direct {direct_rate:.1f} runs/s,"
        f" ratio {ratio:.2f}x (target >= {THROUGHPUT_TARGET}: {verdict})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="per setting and concurrency")
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--fast-concurrency", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--slow-concurrency", type=int, default=200, help="0 skips (b)")
    parser.add_argument("--worker-threads", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
