"""The run engine at scale and under faults: no worker thread waits on fal, fal's signed
webhooks (lost, delayed, repeated) and the follower move nodes on, transient fal errors
never fail a node, and messages survive a Redis error after their state committed."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

import fal_local
from conftest import LiveServer, Worker
from services.assets.url_safety import image_hosts
from services.platform import database
from services.runs import inputs, start
from services.runs.dispatch import make_broker
from services.runs.engine import Engine
from services.runs.transitions import NodeWork
from services.workflows.graph import Graph
from support import (
    CREATE,
    RUN,
    User,
    credits,
    flux_node,
    sign_in,
    wait_for_node,
    wait_for_run,
    wan_node,
    wire,
)

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture(autouse=True)
async def quick_fal(fal_server: object) -> AsyncIterator[None]:
    await fal_local.reset()
    await fal_local.control(latency_ms=20)
    yield
    await fal_local.reset()


async def create(user: User, *nodes: dict[str, Any], edges: list[Any] | None = None) -> str:
    data = await user.data(
        CREATE, input={"name": "engine", "nodes": list(nodes), "edges": edges or []}
    )
    return str(data["createWorkflow"]["id"])


async def run(user: User, workflow_id: str) -> str:
    data = await user.data(RUN, id=workflow_id, key=uuid.uuid4().hex)
    return str(data["runWorkflow"]["id"])


async def ledger_of(live: LiveServer, run_id: str) -> list[tuple[str, int]]:
    async with live.runtime.db.as_service() as conn:
        rows = await conn.fetch(
            "select entry, amount_cents from public.credit_ledger where run_id = $1 order by id",
            uuid.UUID(run_id),
        )
    return [(r["entry"], r["amount_cents"]) for r in rows]


async def webhook_counters() -> dict[str, int]:
    return dict((await fal_local.state())["webhooks"]["counters"])


# -- fal's webhooks -----------------------------------------------------------------------


async def test_completed_requests_arrive_by_signed_webhook(live: LiveServer, pro: User) -> None:
    run_id = await run(pro, await create(pro, flux_node(prompt=f"hook {uuid.uuid4()}")))
    assert (await wait_for_run(pro, run_id))["status"] == "SUCCEEDED"
    deadline = time.monotonic() + 10
    while (await webhook_counters())["delivered"] < 1:
        assert time.monotonic() < deadline, await webhook_counters()
        await asyncio.sleep(0.05)


async def test_a_webhook_delivers_the_result_itself(live: LiveServer, pro: User) -> None:
    """fal's signed webhook carries the result: the node completes with its image even while
    fal's result endpoint fails, and without a second request to fetch it."""
    await fal_local.control(
        faults=[{"on": "result", "status": 500, "times": 10_000, "model": "fal-ai/flux/dev"}]
    )
    run_id = await run(pro, await create(pro, flux_node(prompt=f"carried {uuid.uuid4()}")))
    finished = await wait_for_run(pro, run_id)
    assert finished["status"] == "SUCCEEDED"
    [node] = finished["nodeRuns"]
    assert node["outputs"] and node["outputs"][0]["url"].startswith("http")
    assert await ledger_of(live, run_id) == [("RESERVE", 3), ("CHARGE", 3), ("RELEASE", 3)]


async def test_an_image_result_is_recorded_by_the_webhook_with_no_worker(
    live: LiveServer, pro: User, worker: Worker
) -> None:
    """The API records a carried image result itself, in the webhook's transaction: once the
    node is at fal, no worker is needed to finish it (nor a round trip through the queue)."""
    await fal_local.control(latency_ms=250, webhooks={"delay_ms": 500})
    run_id = await run(pro, await create(pro, flux_node(prompt=f"api {uuid.uuid4()}")))
    # RUNNING: the worker stored fal's request id and has followed it.
    await wait_for_node(pro, run_id, "a", ("RUNNING",))
    worker.kill()
    try:
        finished = await wait_for_run(pro, run_id, timeout=30)
        assert finished["status"] == "SUCCEEDED", finished
        assert len(finished["nodeRuns"][0]["outputs"]) == 1
        assert await ledger_of(live, run_id) == [("RESERVE", 3), ("CHARGE", 3), ("RELEASE", 3)]
    finally:
        worker.start()
        await worker.ready()


async def test_forged_stale_and_tampered_fal_webhooks_are_refused(
    live: LiveServer, client: httpx.AsyncClient
) -> None:
    body = json.dumps({"request_id": "req-forged", "status": "OK", "payload": {}}).encode()
    now = str(int(time.time()))
    digest = hashlib.sha256(body).hexdigest()
    base = {
        "X-Fal-Webhook-Request-Id": "req-forged",
        "X-Fal-Webhook-User-Id": "someone",
        "X-Fal-Webhook-Timestamp": now,
        "X-Fal-Webhook-Signature": "00" * 64,
    }
    attempts = {
        "unsigned": {},
        "bad signature": base,
        "stale": {**base, "X-Fal-Webhook-Timestamp": str(int(time.time()) - 3600)},
        "garbage signature": {**base, "X-Fal-Webhook-Signature": digest + "zz"},
    }
    for name, headers in attempts.items():
        response = await client.post("/webhooks/fal", content=body, headers=headers)
        assert response.status_code == 400, name


async def test_lost_webhooks_are_covered_by_the_follower(live: LiveServer, pro: User) -> None:
    await fal_local.control(webhooks={"drop": 100})
    run_id = await run(pro, await create(pro, flux_node(prompt=f"lost {uuid.uuid4()}")))
    assert (await wait_for_run(pro, run_id))["status"] == "SUCCEEDED"
    assert (await webhook_counters())["dropped"] >= 1


async def test_repeated_and_delayed_webhooks_change_nothing_twice(
    live: LiveServer, pro: User
) -> None:
    await fal_local.control(webhooks={"repeat": 3, "delay_ms": 1500})
    workflow = await create(pro, flux_node(), wan_node(), edges=[wire()])
    run_id = await run(pro, workflow)
    finished = await wait_for_run(pro, run_id)
    assert finished["status"] == "SUCCEEDED"
    # Every repeat has arrived (and been answered) by now.
    deadline = time.monotonic() + 15
    while (await webhook_counters())["delivered"] < 8:
        assert time.monotonic() < deadline, await webhook_counters()
        await asyncio.sleep(0.1)
    again = await wait_for_run(pro, run_id)
    assert [len(n["outputs"]) for n in again["nodeRuns"]] == [1, 1]
    charges = [c for c in await ledger_of(live, run_id) if c[0] == "CHARGE"]
    assert len(charges) == 2
    assert again["costCents"] == finished["costCents"] == sum(c[1] for c in charges)


# -- following without a thread per node --------------------------------------------------


async def test_one_worker_follows_many_requests_at_once(
    live: LiveServer, client: httpx.AsyncClient
) -> None:
    """The worker has 6 threads; 24 slow requests all run on fal at the same time."""
    await fal_local.control(latency_ms=500, steps=8, concurrency=100)
    users = [await sign_in(client, role="ADMIN") for _ in range(2)]
    runs = []
    for index in range(24):
        user = users[index % 2]
        runs.append(
            (
                user,
                await run(
                    user, await create(user, flux_node(prompt=f"many {index} {uuid.uuid4()}"))
                ),
            )
        )
    most_at_once = 0
    deadline = time.monotonic() + 60
    while True:
        async with live.runtime.db.as_service() as conn:
            running = await conn.fetchval(
                "select count(*) from public.node_runs where run_id = any($1::uuid[]) and status = 'RUNNING'",
                [r for _, r in runs],
            )
        most_at_once = max(most_at_once, running)
        if most_at_once >= 20:
            break
        assert time.monotonic() < deadline, f"at most {most_at_once} ran at once"
        await asyncio.sleep(0.05)
    for user, run_id in runs:
        assert (await wait_for_run(user, run_id, timeout=60))["status"] == "SUCCEEDED"


async def test_a_transient_fal_error_while_following_does_not_fail_the_node(
    live: LiveServer, pro: User
) -> None:
    # No webhook: the follower's status polls are all that moves the node on.
    await fal_local.control(
        latency_ms=60,
        webhooks={"drop": 100},
        faults=[{"on": "poll", "status": 500, "times": 6, "model": "fal-ai/flux/dev"}],
    )
    run_id = await run(pro, await create(pro, flux_node(prompt=f"flaky {uuid.uuid4()}")))
    finished = await wait_for_run(pro, run_id)
    assert finished["status"] == "SUCCEEDED", finished
    assert (await fal_local.state())["faults"][0]["times"] == 0  # every injected error was seen


# -- the hand-off: the API submits what a start made ready ----------------------------------


async def test_a_run_s_first_node_is_submitted_by_the_api_that_started_it(
    live: LiveServer, pro: User, worker: Worker
) -> None:
    """With every worker frozen, a one-node run still goes to fal and finishes: the API that
    started it submitted the node, and fal's webhook brought the image back. Nothing was
    left for a worker: no message in the outbox, none in the queue."""
    assert worker.process is not None
    os.killpg(worker.process.pid, signal.SIGSTOP)
    try:
        run_id = await run(pro, await create(pro, flux_node(prompt=f"handed {uuid.uuid4()}")))
        finished = await wait_for_run(pro, run_id, timeout=30)
        assert finished["status"] == "SUCCEEDED", finished
        assert len(finished["nodeRuns"][0]["outputs"]) == 1
        node_run_id = finished["nodeRuns"][0]["id"]
        async with live.runtime.db.as_service() as conn:
            left = await conn.fetchval(
                "select count(*) from public.outbox where args->>0 = $1", node_run_id
            )
        assert left == 0
        queued = await live.runtime.engine.redis.hvals("lattice:nodes.msgs")
        assert not [m for m in queued if node_run_id.encode() in m]
        assert await ledger_of(live, run_id) == [("RESERVE", 3), ("CHARGE", 3), ("RELEASE", 3)]
    finally:
        os.killpg(worker.process.pid, signal.SIGCONT)


async def test_fal_away_at_the_hand_off_sends_the_node_to_the_workers_at_once(
    live: LiveServer, pro: User
) -> None:
    """fal refuses the API's submission (a 500): the node is not failed, nor left waiting
    for its claim to lapse; a worker submits it, and the run finishes."""
    flux = "fal-ai/flux/dev"
    await fal_local.control(faults=[{"on": "submit", "status": 500, "times": 1, "model": flux}])
    before = await fal_local.submits(flux)
    run_id = await run(pro, await create(pro, flux_node(prompt=f"refused {uuid.uuid4()}")))
    # Sooner than the API's claim on the node's message (its submit lease) would lapse.
    assert live.settings.NODE_SUBMIT_LEASE_SECONDS >= 60
    finished = await wait_for_run(pro, run_id, timeout=30)
    assert finished["status"] == "SUCCEEDED", finished
    assert await fal_local.submits(flux) == before + 2


async def test_a_node_with_nothing_to_read_goes_to_fal_while_every_connection_is_busy(
    live: LiveServer, pro: User
) -> None:
    """A prompt-only FLUX node (no image wired in) needs nothing from the database
    before it is submitted: with every pooled connection taken (a burst of run starts), its
    inputs are still ready at once, instead of queueing behind the starts for a connection."""
    node = flux_node(prompt=f"nothing to read {uuid.uuid4()}")
    work = NodeWork(
        id=uuid.uuid4(),
        run_id=uuid.uuid4(),
        user_id=uuid.UUID(pro.id),
        node_id=node["id"],
        model_id=node["modelId"],
        params=node["params"],
        status="QUEUED",
        fal_request_id=None,
        run_status="QUEUED",
        graph=Graph.from_json({"nodes": [node], "edges": []}),
    )
    db = await database.connect(live.settings.DATABASE_URL, max_size=1)
    try:
        async with db.as_service_statement():  # the pool's only connection, busy
            resolved = await asyncio.wait_for(
                inputs.resolve(db, live.runtime.storage, work, image_hosts(None)), timeout=5
            )
    finally:
        await db.close()
    assert resolved.arguments["prompt"] == node["params"]["prompt"]


# -- messages that must not be lost ----------------------------------------------------------


async def test_a_redis_error_after_commit_loses_no_message(live: LiveServer, pro: User) -> None:
    """The run commits, then sending its first node fails (Redis unreachable from this
    process): the message waits in the outbox and the workers' relay delivers it."""
    workflow = await create(pro, flux_node(prompt=f"outbox {uuid.uuid4()}"))
    runtime = live.runtime
    cut_off = Engine(
        settings=runtime.settings,
        db=runtime.db,
        redis=runtime.engine.redis,
        broker=make_broker("redis://127.0.0.1:1/0"),  # nothing listens there
    )
    viewer = await _viewer(live, pro)
    record = await start.start_run(cut_off, viewer, uuid.UUID(workflow), uuid.uuid4().hex, None)
    assert (await wait_for_run(pro, str(record.id)))["status"] == "SUCCEEDED"
    assert (await credits(pro))["reservedCents"] == 0


async def test_a_queued_node_whose_message_was_lost_is_sent_again(
    live: LiveServer, pro: User, worker: Worker
) -> None:
    """The message is gone altogether (a Redis failover lost it): recovery re-sends it."""
    workflow = await create(pro, flux_node(prompt=f"lost message {uuid.uuid4()}"))
    runtime = live.runtime
    cut_off = Engine(
        settings=runtime.settings,
        db=runtime.db,
        redis=runtime.engine.redis,
        broker=make_broker("redis://127.0.0.1:1/0"),
    )
    viewer = await _viewer(live, pro)
    # The worker is frozen, so no relay sees the message before it is lost.
    assert worker.process is not None
    os.killpg(worker.process.pid, signal.SIGSTOP)
    try:
        record = await start.start_run(cut_off, viewer, uuid.UUID(workflow), uuid.uuid4().hex, None)
        async with runtime.db.as_service() as conn:
            lost = await conn.execute(
                "delete from public.outbox where args->>0 in"
                " (select id::text from public.node_runs where run_id = $1)",
                record.id,
            )
        assert lost == "DELETE 1"
    finally:
        os.killpg(worker.process.pid, signal.SIGCONT)
    assert (await wait_for_run(pro, str(record.id), timeout=30))["status"] == "SUCCEEDED"


async def _viewer(live: LiveServer, user: User) -> Any:
    from services.accounts.viewer import viewer_from_claims

    return await viewer_from_claims(
        live.runtime.db, {"sub": user.id, "role": "authenticated", "email": user.email}
    )


async def test_a_worker_killed_while_submitting_is_not_submitted_twice(
    live: LiveServer, pro: User, worker: Worker
) -> None:
    """SIGKILL after fal accepted the request but before its answer reached the worker: the
    request id was never stored. fal's webhook names the node, so the request is adopted
    when fal reports it done and is never submitted (and paid for at fal) a second time; the
    user gets one result, one charge, and nothing stays reserved."""
    flux = "fal-ai/flux/dev"
    # fal refuses the API's hand-off (a 500), so the node goes to the worker, whose answer
    # fal then holds back.
    await fal_local.control(
        submit_delay_ms=60_000, faults=[{"on": "submit", "status": 500, "times": 1, "model": flux}]
    )
    before = await fal_local.submits(flux)
    run_id = await run(pro, await create(pro, flux_node(prompt=f"crash {uuid.uuid4()}")))
    while await fal_local.submits(flux) < before + 2:  # the worker's is at fal, held back
        await asyncio.sleep(0.05)
    worker.kill()
    await fal_local.control(submit_delay_ms=0)
    worker.start()
    await worker.ready()
    finished = await wait_for_run(pro, run_id, timeout=90)
    assert finished["status"] == "SUCCEEDED", finished
    assert len(finished["nodeRuns"][0]["outputs"]) == 1
    assert await fal_local.submits(flux) == before + 2  # the one refused, the one accepted
    entries = await ledger_of(live, run_id)
    assert [e for e, _ in entries].count("CHARGE") == 1
    reserved = sum(c for e, c in entries if e == "RESERVE")
    assert reserved == sum(c for e, c in entries if e == "RELEASE")


async def test_cancel_racing_a_submission_charges_what_fal_started(
    live: LiveServer, pro: User
) -> None:
    """The user cancels while fal has accepted the request but its answer (the request id)
    has not reached the API that submitted it yet: cancel answers at once, the request is
    cancelled at fal as soon as its id is known, and what fal had started is charged,
    nothing more."""
    await fal_local.control(latency_ms=200, submit_delay_ms=1500)
    started_before = (await fal_local.state())["counters"]["started"].get("fal-ai/flux/dev", 0)
    run_id = await run(pro, await create(pro, flux_node(prompt=f"race {uuid.uuid4()}")))
    deadline = time.monotonic() + 20
    # fal is running it (a queued request would be free to cancel), its answer held back.
    while (await fal_local.state())["counters"]["started"].get("fal-ai/flux/dev", 0) == (
        started_before
    ):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    cancelled = await pro.gql("mutation($id: ID!) { cancelRun(id: $id) { status } }", id=run_id)
    assert "errors" not in cancelled, cancelled
    assert cancelled["data"]["cancelRun"]["status"] == "CANCELLED"
    cancels_before = (await fal_local.state())["counters"]["cancels"]
    deadline = time.monotonic() + 20
    while (await fal_local.state())["counters"]["cancels"] <= cancels_before:
        assert time.monotonic() < deadline, "the request was never cancelled at fal"
        await asyncio.sleep(0.05)
    # The run is CANCELLED at once; the submitter settles the node once fal's answer arrives
    # (it cancels at fal first, then charges): fal had started it, so its estimate.
    deadline = time.monotonic() + 20
    while True:
        finished = await wait_for_run(pro, run_id)
        if finished["costCents"] > 0 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    node = finished["nodeRuns"][0]
    assert (finished["status"], node["status"]) == ("CANCELLED", "CANCELLED")
    assert finished["costCents"] == finished["estimatedCostCents"] > 0
    deadline = time.monotonic() + 10
    while (await credits(pro))["reservedCents"] != 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
