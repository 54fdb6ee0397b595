"""What an idle stack costs: CPU of the API, the worker, the local fal server and Redis while nothing
runs, with the worker at Dramatiq's default idle timeout (production's) and, as the baseline
measured in the same run, at 100 ms (what the stack used before doorbells woke workers).

An idle worker's consumers fetch once per idle timeout and its threads wake as often; on a
machine whose cores the API and PostgreSQL share, that is CPU taken from every run.

    uv run python bench/idle_worker.py [--seconds 20]
"""

from __future__ import annotations

import argparse
import asyncio

import stack as bench_stack

BASELINE_TIMEOUT_MS = "100"


async def idle_cpu(worker_env: dict[str, str], seconds: float) -> dict[str, float]:
    """Share of one core each process uses while the stack is idle."""
    stack = await bench_stack.start_stack("idle", redis_db=11, worker_env=worker_env)
    try:
        await asyncio.sleep(5)  # start-up work (migrations, pools, first follower rounds)
        pids = {name: p.pid for name, p in stack.processes.items()}
        pids["redis"] = stack.redis_pid
        before = {name: bench_stack.usage(pid).cpu_seconds for name, pid in pids.items()}
        await asyncio.sleep(seconds)
        return {
            name: (bench_stack.usage(pid).cpu_seconds - before[name]) / seconds
            for name, pid in pids.items()
        }
    finally:
        await stack.close()


async def run(args: argparse.Namespace) -> None:
    production = await idle_cpu({}, args.seconds)
    baseline = await idle_cpu({"dramatiq_worker_timeout": BASELINE_TIMEOUT_MS}, args.seconds)
    for name in production:
        print(
            f"{name:7} idle: {production[name] * 100:5.1f}% of a core"
            f"  (worker timeout {BASELINE_TIMEOUT_MS} ms: {baseline[name] * 100:5.1f}%)"
        )
    ratio = production["worker"] / baseline["worker"] if baseline["worker"] else float("nan")
    print(f"worker idle CPU, default timeout / {BASELINE_TIMEOUT_MS} ms: {ratio:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20.0)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
