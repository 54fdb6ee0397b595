"""One worker process following 2,000 slow fal requests at once.

2,000 one-node FLUX runs are started through the API (runWorkflow, 50 at a time, ten ADMIN
users) on a stack of their own (bench/stack.py: fresh database, Redis DB 10, local fal
server with concurrency 2,000, API, ONE worker process `dramatiq jobs.worker --processes 1
--threads 4` with Dramatiq's default idle timeout and the default FOLLOWER_* / DB_POOL_MAX).
Every request is made to finish at the same moment, at least --hold seconds after the last
run was started (while runs are being created, fal's per-step latency is re-set every second
so a request starting now lasts until that moment), so all 2,000 are in flight together.

Sampled every second: the worker's resident memory (VmRSS) and CPU (utime + stime) summed
over the dramatiq parent and its forked worker process (from /proc), its open descriptors
and TCP connections to fal, and from PostgreSQL how many nodes are in flight (submitted to
fal, not finished), RUNNING, SUCCEEDED, and whose follower lease has lapsed (nobody
following them). Prints the peak, the plateau (all submitted, none finished) and whether
all 2,000 SUCCEEDED. Target: one worker process follows >= 2,000 in-flight requests at
once. Exits 0 (a measurement, not a test).

    uv run python bench/in_flight.py [--runs 2000] [--hold 25]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import stack as bench_stack
from stack import FAL_PORT, tcp_connections_to, usage

STEPS = 8
TARGET = 2000
DEADLINE_SECONDS = 240.0


@dataclass
class Sample:
    at: float
    rss_mb: float
    cpu: float
    fds: int
    threads: int
    fal_connections: int
    in_flight: int
    running: int
    succeeded: int
    failed: int
    unsubmitted: int
    lapsed: int
    renewed_ago: float | None
    created: int


COUNTS = """
select
  count(*) filter (where status in ('QUEUED','RUNNING') and fal_request_id is not null) as in_flight,
  count(*) filter (where status = 'RUNNING') as running,
  count(*) filter (where status = 'SUCCEEDED') as succeeded,
  count(*) filter (where status in ('FAILED','CANCELLED')) as failed,
  count(*) filter (where status = 'QUEUED' and fal_request_id is null) as unsubmitted,
  count(*) filter (where status in ('QUEUED','RUNNING') and fal_request_id is not null
                   and (lease_until is null or lease_until < now())) as lapsed,
  extract(epoch from now() - (min(lease_until) filter (where status in ('QUEUED','RUNNING')
          and fal_request_id is not null) - make_interval(secs => $1))) as renewed_ago
from public.node_runs
"""


async def run(args: argparse.Namespace) -> int:
    print("starting the stack (fresh database, fal server, API, one worker)...", flush=True)
    stack = await bench_stack.start_stack(
        "in_flight", redis_db=10, fal_latency_ms=4000, fal_concurrency=max(2000, args.runs)
    )
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    http = httpx.AsyncClient(base_url=stack.base_url, timeout=120, limits=limits)
    db = await asyncpg.connect(stack.database_url)
    samples: list[Sample] = []
    created = [0]
    failures: list[str] = []
    try:
        tokens = [await bench_stack.sign_in(http) for _ in range(args.users)]
        print(f"creating {args.runs} one-node workflows...", flush=True)
        pairs = await bench_stack.create_workflows(http, tokens, args.runs, concurrency=25)
        lease = 30.0
        cpu_start = usage(stack.worker_pid).cpu_seconds
        started = time.monotonic()
        # Re-estimated from the rate runs reach fal once 100 have (20/s assumed before).
        end_at = [started + args.runs / 20 + args.hold]

        async def sample() -> None:
            while True:
                u = usage(stack.worker_pid)
                row = await db.fetchrow(COUNTS, lease)
                samples.append(
                    Sample(
                        at=time.monotonic() - started,
                        rss_mb=u.rss_bytes / 2**20,
                        cpu=u.cpu_seconds - cpu_start,
                        fds=u.fds,
                        threads=u.threads,
                        fal_connections=tcp_connections_to(stack.worker_pid, FAL_PORT),
                        in_flight=row["in_flight"],
                        running=row["running"],
                        succeeded=row["succeeded"],
                        failed=row["failed"],
                        unsubmitted=row["unsubmitted"],
                        lapsed=row["lapsed"],
                        renewed_ago=(
                            float(row["renewed_ago"]) if row["renewed_ago"] is not None else None
                        ),
                        created=created[0],
                    )
                )
                await asyncio.sleep(1.0)

        async def pace() -> None:
            """Every request ends at end_at: fal's per-step latency for a request starting
            now is (end_at - now) / steps; end_at follows the creation rate."""
            while True:
                now = time.monotonic()
                last = samples[-1] if samples else None
                submitted = last.in_flight + last.succeeded + last.failed if last else 0
                if 100 <= submitted < args.runs:
                    # The worker submits behind runWorkflow: pace on what reached fal.
                    rate = submitted / (now - started)
                    end_at[0] = started + args.runs / rate + args.hold
                if last is not None and submitted >= args.runs:
                    return  # every request has its end already
                latency = max(500, int((end_at[0] - now) * 1000 / STEPS))
                await stack.control(latency_ms=latency, steps=STEPS)
                await asyncio.sleep(1.0)

        limit = asyncio.Semaphore(args.concurrency)

        async def one(token: str, workflow_id: str) -> None:
            async with limit:
                try:
                    await bench_stack.run_workflow(http, token, workflow_id)
                except Exception as exc:
                    failures.append(repr(exc))
                created[0] += 1

        sampler = asyncio.create_task(sample())
        pacer = asyncio.create_task(pace())
        await asyncio.gather(*(one(t, w) for t, w in pairs))
        created_in = time.monotonic() - started
        print(
            f"{created[0]} runs started in {created_in:.1f} s"
            f" ({created[0] / created_in:.0f}/s, {len(failures)} failed)",
            flush=True,
        )
        deadline = started + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            stack.check_alive()
            if samples and samples[-1].succeeded + samples[-1].failed >= args.runs:
                break
            await asyncio.sleep(1.0)
        sampler.cancel()
        pacer.cancel()
        total = time.monotonic() - started
        final = await db.fetchrow(COUNTS, lease)
        fal = await stack.fal_state()
        report(samples, final, fal, args, created_in, total, failures)
        return 0
    finally:
        await http.aclose()
        await db.close()
        await stack.close()


def report(
    samples: list[Sample],
    final: Any,
    fal: dict[str, Any],
    args: argparse.Namespace,
    created_in: float,
    total: float,
    failures: list[str],
) -> None:
    print(
        f"\n{'t s':>5} {'created':>7} {'unsubm':>6} {'flight':>6} {'RUNNING':>7} {'done':>5}"
        f" {'lapsed':>6} {'renew':>5} {'RSS MB':>7} {'CPU s':>6} {'fds':>5} {'fal tcp':>7}"
    )
    step = max(1, len(samples) // 40)
    for s in samples[::step]:
        renewed = f"{s.renewed_ago:5.1f}" if s.renewed_ago is not None else "    -"
        print(
            f"{s.at:5.0f} {s.created:7d} {s.unsubmitted:6d} {s.in_flight:6d} {s.running:7d}"
            f" {s.succeeded:5d} {s.lapsed:6d} {renewed} {s.rss_mb:7.1f} {s.cpu:6.1f}"
            f" {s.fds:5d} {s.fal_connections:7d}"
        )
    peak = max(samples, key=lambda s: s.in_flight)
    plateau = [s for s in samples if s.in_flight >= 0.99 * args.runs]
    print()
    print(
        f"peak in flight at once: {peak.in_flight} (RUNNING {peak.running}) at t={peak.at:.0f} s;"
        f" worker RSS then {peak.rss_mb:.0f} MB, max RSS {max(s.rss_mb for s in samples):.0f} MB,"
        f" max fds {max(s.fds for s in samples)}, max TCP connections to fal"
        f" {max(s.fal_connections for s in samples)}"
    )
    if len(plateau) >= 2:
        span = plateau[-1].at - plateau[0].at
        cpu = plateau[-1].cpu - plateau[0].cpu
        print(
            f"with >= {int(0.99 * args.runs)} in flight ({span:.0f} s): worker CPU {cpu:.1f} s"
            f" ({100 * cpu / span if span else 0:.0f}% of a core),"
            f" longest since a lease renewal {max(s.renewed_ago or 0 for s in plateau):.1f} s,"
            f" most nodes with a lapsed lease {max(s.lapsed for s in plateau)}"
        )
    print(
        f"runs started in {created_in:.1f} s; whole benchmark {total:.0f} s;"
        f" worker CPU {samples[-1].cpu:.1f} s in all"
    )
    print(
        f"fal saw {sum(fal['counters']['submits'].values())} submits;"
        f" webhooks {fal['webhooks']['counters']}"
    )
    print(
        f"SUCCEEDED {final['succeeded']} / {args.runs}, failed {final['failed']},"
        f" still in flight {final['in_flight']}, never submitted {final['unsubmitted']};"
        f" runWorkflow errors {len(failures)}{': ' + failures[0][:200] if failures else ''}"
    )
    met = peak.in_flight >= TARGET and final["succeeded"] == args.runs
    print(
        f"target: one worker process follows >= {TARGET} in-flight requests at once:"
        f" {'meets' if met else 'misses'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=50, help="runWorkflow calls at once")
    parser.add_argument(
        "--hold",
        type=float,
        default=25.0,
        help="seconds every request stays in flight after the last run started",
    )
    args = parser.parse_args()
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
