"""The browser-test stack (`python -m devstack.e2e`) starts on ports that are all free and
stops exactly what it started."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys

import asyncpg

from devstack.embedded import free_ports
from graph.trusted_documents import DEFAULT_MANIFEST, load_manifest


def test_free_ports_are_distinct_and_bindable() -> None:
    ports = free_ports(64)
    assert len(set(ports)) == 64
    for port in ports[:8]:
        with socket.socket() as s:
            s.bind(("127.0.0.1", port))


async def test_e2e_stack_runs_the_command_then_leaves_nothing_behind(
    service_urls: dict[str, str], tmp_path: object
) -> None:
    """With no REDIS_URL the stack starts an embedded Redis of its own; after the command
    the stack, that Redis and the e2e database are all gone."""
    before = _leftovers(), await _e2e_databases(service_urls["DATABASE_URL"])
    probe = (
        "import os, httpx; base = os.environ['LATTICE_URL'];"
        "print('HEALTH', httpx.get(base + '/healthz').status_code)"
    )
    assert "HEALTH 200" in await _in_e2e_stack(service_urls, probe)
    # Nothing the stack started outlives it (other stacks may run beside this test).
    assert _leftovers() <= before[0]
    assert await _e2e_databases(service_urls["DATABASE_URL"]) <= before[1]


async def test_the_dev_stack_runs_the_api_processes_asked_for_and_they_share_sign_ins(
    service_urls: dict[str, str],
) -> None:
    """`API_PROCESSES=2 make dev` runs two API processes (it used to run one, whatever it
    was told). Both start on one fresh data directory, and a token signed by either is
    accepted on every connection, whichever process takes it."""
    # The dev stack takes the client's trusted documents only: ask as the client does.
    viewer = next(
        d for d in load_manifest(DEFAULT_MANIFEST).values() if d.startswith("query Viewer")
    )
    probe = f"""
import os, httpx
base = os.environ['LATTICE_URL']
token = httpx.post(base + '/auth/dev/sign-in', json={{'email': 'two@example.com', 'role': 'PRO'}}).json()['access_token']
refused = 0
for _ in range(40):
    with httpx.Client(base_url=base) as fresh:  # a new connection: either process may take it
        body = fresh.post('/graphql', json={{'query': {viewer!r}}},
                          headers={{'Authorization': 'Bearer ' + token}}).json()
        refused += bool(body.get('errors'))
print('REFUSED', refused)
# The API's processes: uvicorn's children, when it runs more than one.
port = base.rsplit(':', 1)[1]
for pid in filter(str.isdigit, os.listdir('/proc')):
    try:
        command = open(f'/proc/{{pid}}/cmdline').read().split(chr(0))
    except OSError:
        continue
    if 'uvicorn' in command and port in command:
        children = open(f'/proc/{{pid}}/task/{{pid}}/children').read().split()
        # (not multiprocessing's resource tracker, also a child)
        workers = [c for c in children if 'spawn_main' in open(f'/proc/{{c}}/cmdline').read()]
        print('API PROCESSES', len(workers) or 1)
"""
    said = await _in_e2e_stack(service_urls, probe, API_PROCESSES="2")
    assert "API PROCESSES 2" in said and "REFUSED 0" in said, said[-2000:]


async def _in_e2e_stack(service_urls: dict[str, str], probe: str, **settings: str) -> str:
    """What `probe` (Python, given LATTICE_URL) prints, run inside a browser-test stack with
    these settings and an embedded Redis of its own."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "LATTICE_URL")}
    env.update(settings, DATABASE_URL=service_urls["DATABASE_URL"])
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "devstack.e2e", sys.executable, "-c", probe],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _leftovers() -> set[str]:
    """Embedded Redis servers and stack processes of browser-test stacks."""
    found = subprocess.run(
        ["pgrep", "-af", "e2e-embedded/redis|devstack.dev|devstack.fal_server"],
        capture_output=True,
        text=True,
    ).stdout
    return {line for line in found.splitlines() if "pgrep" not in line}


async def _e2e_databases(admin_url: str) -> set[str]:
    admin = await asyncpg.connect(admin_url)
    try:
        rows = await admin.fetch(
            "select datname from pg_database where datname like 'lattice_e2e_%'"
        )
    finally:
        await admin.close()
    return {r["datname"] for r in rows}
