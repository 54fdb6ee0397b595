"""The run engine end to end: the real app, a real worker process, real PostgreSQL and Redis,
and the local fal server reached through the real fal-client."""

from __future__ import annotations

import asyncio
import io
import json
import os
import ssl
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import av
import httpx
import pytest
from PIL import Image

import fal_local
from conftest import LiveServer, Worker
from support import (
    CREATE,
    FINISHED,
    RUN,
    RUN_STATE,
    User,
    credits,
    error_codes,
    flux_node,
    run_events_socket,
    sign_in,
    wait_for_node,
    wait_for_run,
    wan_node,
    wire,
)

pytestmark = pytest.mark.usefixtures("worker")
FLUX = "fal-ai/flux/dev"
WAN = "fal-ai/wan/v2.2-a14b/image-to-video"


@pytest.fixture(autouse=True)
async def quick_fal(fal_server: object) -> AsyncIterator[None]:
    await fal_local.reset()
    await fal_local.control(latency_ms=20)
    yield


def fal_https() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        verify=ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"]), timeout=30
    )


async def create(
    user: User, *nodes: dict[str, Any], edges: list[dict[str, str]] | None = None
) -> str:
    data = await user.data(
        CREATE, input={"name": "run me", "nodes": list(nodes), "edges": edges or []}
    )
    return str(data["createWorkflow"]["id"])


async def start(
    user: User, workflow_id: str, key: str | None = None, targets: list[str] | None = None
) -> str:
    data = await user.data(RUN, id=workflow_id, key=key or uuid.uuid4().hex, targets=targets)
    return str(data["runWorkflow"]["id"])


class Subscription:
    def __init__(self, live: LiveServer, user: User, run_id: str) -> None:
        self.base_url = live.base_url
        self.user, self.run_id = user, run_id
        self.events: list[dict[str, Any]] = []

    async def collect(
        self, *, until_finished: bool = True, count: int | None = None, timeout: float = 60
    ) -> list[dict[str, Any]]:
        async with run_events_socket(self.base_url, self.user.token, self.run_id) as ws:
            async with asyncio.timeout(timeout):
                while True:
                    message = json.loads(await ws.recv())
                    if message["type"] in ("complete", "error"):
                        self.events.append(message)
                        return self.events
                    if message["type"] != "next":
                        continue
                    self.events.append(message["payload"])
                    if count is not None and len(self.events) >= count:
                        return self.events
                    run = (message["payload"].get("data") or {}).get("runEvents", {}).get("run", {})
                    if until_finished and run.get("status") in FINISHED:
                        return self.events


def statuses(events: list[dict[str, Any]], node_id: str) -> list[str]:
    seen = []
    for event in events:
        data = (event.get("data") or {}).get("runEvents") or {}
        node = data.get("nodeRun")
        if node and node["nodeId"] == node_id and (not seen or seen[-1] != node["status"]):
            seen.append(node["status"])
    return seen


async def test_flux_feeds_wan_and_both_outputs_are_real_files_in_the_gallery(
    live: LiveServer, pro: User
) -> None:
    # Long enough on fal for its running state to be seen (at 20 ms a step it may finish
    # between two looks, straight from queued to done).
    await fal_local.control(latency_ms=120)
    workflow = await create(
        pro,
        flux_node(image_size="square"),
        wan_node(resolution="480p", num_frames=17),
        edges=[wire()],
    )
    run_id = await start(pro, workflow)
    watcher = asyncio.create_task(Subscription(live, pro, run_id).collect())
    run = await wait_for_run(pro, run_id)
    events = await watcher
    assert run["status"] == "SUCCEEDED", run
    image, video = (
        next(n for n in run["nodeRuns"] if n["nodeId"] == x)["outputs"][0] for x in ("a", "b")
    )
    assert (image["kind"], image["width"], image["height"]) == ("IMAGE", 512, 512)
    assert video["kind"] == "VIDEO" and video["contentType"] == "video/mp4"
    assert video["durationSeconds"] == pytest.approx(17 / 16, rel=0.05)
    assert image["storage"] == "TEMPORARY" and image["expiresAt"] is not None
    async with fal_https() as http:
        picture = Image.open(io.BytesIO((await http.get(image["url"])).content))
        assert picture.size == (512, 512)
        clip = av.open(io.BytesIO((await http.get(video["url"])).content))
        assert sum(1 for _ in clip.decode(video=0)) == 17
    # Events arrive in order, each node passing through its states to done.
    assert statuses(events, "a")[-1] == "SUCCEEDED" and "RUNNING" in statuses(events, "a")
    assert (
        statuses(events, "b")[0] in ("QUEUED", "RUNNING")
        and statuses(events, "b")[-1] == "SUCCEEDED"
    )
    first = events[0]["data"]["runEvents"]
    assert (
        first["nodeRun"] is None
        and {n["nodeId"]: n["status"] for n in first["run"]["nodeRuns"]}["b"] == "PENDING"
    )
    last_a = max(
        i
        for i, e in enumerate(events)
        if (e["data"]["runEvents"]["nodeRun"] or {}).get("nodeId") == "a"
    )
    first_b = min(
        i
        for i, e in enumerate(events)
        if (e["data"]["runEvents"]["nodeRun"] or {}).get("nodeId") == "b"
    )
    assert last_a < first_b, "wan started before flux finished"
    assert events[-1]["data"]["runEvents"]["run"]["status"] == "SUCCEEDED"
    gallery = (await pro.data("{ assets { edges { node { id kind } } } }"))["assets"]["edges"]
    assert [e["node"]["id"] for e in gallery[:2]] == [video["id"], image["id"]]
    videos = (await pro.data("{ assets(kind: VIDEO) { edges { node { kind } } } }"))["assets"][
        "edges"
    ]
    assert {e["node"]["kind"] for e in videos} == {"VIDEO"}
    assert run["costCents"] == 3 + 5  # 0.26 MP -> 1 MP at 2.5c; 17 frames at 480p -> 4.25c
    assert (await credits(pro))["periodUsageCents"] >= 8


async def test_the_same_idempotency_key_returns_the_same_run_and_charges_once(pro: User) -> None:
    workflow = await create(pro, flux_node())
    before = await fal_local.submits(FLUX)
    key = uuid.uuid4().hex
    first = await start(pro, workflow, key)
    again = await start(pro, workflow, key)
    assert first == again
    await wait_for_run(pro, first)
    assert await fal_local.submits(FLUX) == before + 1
    assert (await pro.data(RUN_STATE, id=first))["run"]["costCents"] == 3


async def test_a_failing_node_skips_its_downstream_and_releases_their_money(pro: User) -> None:
    usage_before = (await credits(pro))["periodUsageCents"]
    workflow = await create(pro, flux_node(prompt="a storm [fail]"), wan_node(), edges=[wire()])
    run = await wait_for_run(pro, await start(pro, workflow))
    nodes = {n["nodeId"]: n for n in run["nodeRuns"]}
    assert run["status"] == "FAILED"
    assert nodes["a"]["status"] == "FAILED" and nodes["a"]["error"]
    assert nodes["b"]["status"] == "SKIPPED"
    after = await credits(pro)
    assert after["reservedCents"] == 0 and after["periodUsageCents"] == usage_before


async def test_fal_validation_errors_fail_the_node_with_fals_message(pro: User) -> None:
    await fal_local.control(faults=[{"on": "submit", "status": 422, "times": 1, "model": FLUX}])
    run = await wait_for_run(pro, await start(pro, await create(pro, flux_node())))
    node = run["nodeRuns"][0]
    assert run["status"] == "FAILED" and node["status"] == "FAILED"
    assert node["error"] == "prompt: Injected validation error"


async def test_rate_limits_from_fal_are_retried(pro: User) -> None:
    await fal_local.control(faults=[{"on": "submit", "status": 429, "times": 2, "model": FLUX}])
    run = await wait_for_run(pro, await start(pro, await create(pro, flux_node())))
    assert run["status"] == "SUCCEEDED"


async def test_ingress_errors_are_retried_and_an_outage_fails_the_node_not_the_worker(
    pro: User,
) -> None:
    await fal_local.control(faults=[{"on": "submit", "status": 502, "times": 2, "model": FLUX}])
    assert (await wait_for_run(pro, await start(pro, await create(pro, flux_node()))))[
        "status"
    ] == "SUCCEEDED"
    # A submit failing with 5xx is retried a few times, then the node fails: the API's own
    # attempt, then a worker's first and SUBMIT_RETRIES more (a second apart at first).
    await fal_local.control(faults=[{"on": "submit", "status": 500, "times": 5, "model": FLUX}])
    down = await wait_for_run(pro, await start(pro, await create(pro, flux_node())))
    assert down["status"] == "FAILED" and "unavailable" in down["nodeRuns"][0]["error"]
    # The same worker goes on serving.
    assert (await wait_for_run(pro, await start(pro, await create(pro, flux_node()))))[
        "status"
    ] == "SUCCEEDED"


async def test_a_request_past_its_deadline_is_cancelled_and_fails(pro: User) -> None:
    await fal_local.control(faults=[{"on": "status", "status": "hang", "times": 1, "model": FLUX}])
    cancels_before = (await fal_local.state())["counters"]["cancels"]
    run = await wait_for_run(pro, await start(pro, await create(pro, flux_node())), timeout=40)
    assert run["status"] == "FAILED"
    assert (await fal_local.state())["counters"]["cancels"] > cancels_before
    assert (await credits(pro))["reservedCents"] == 0


async def test_cancel_mid_run_charges_what_fal_started_and_releases_the_rest(pro: User) -> None:
    """fal bills a request it has started: the running node is charged its estimate; the
    node that never reached fal is released."""
    await fal_local.control(latency_ms=400)
    workflow = await create(pro, flux_node(), wan_node(), edges=[wire()])
    run_id = await start(pro, workflow)
    await wait_for_node(pro, run_id, "a", ("RUNNING",))
    cancelled = await pro.data("mutation($id: ID!) { cancelRun(id: $id) { status } }", id=run_id)
    assert cancelled["cancelRun"]["status"] == "CANCELLED"
    await wait_for_node(pro, run_id, "a", ("CANCELLED",), timeout=15)
    run = (await pro.data(RUN_STATE, id=run_id))["run"]
    assert {n["nodeId"]: n["status"] for n in run["nodeRuns"]} == {
        "a": "CANCELLED",
        "b": "CANCELLED",
    }
    assert (await fal_local.state())["counters"]["cancels"] >= 1
    assert (await credits(pro))["reservedCents"] == 0
    assert run["costCents"] == 3  # FLUX dev's estimate; Wan never ran
    assert (await credits(pro))["periodUsageCents"] >= 3


async def test_a_cached_rerun_costs_nothing_and_calls_fal_not_at_all(pro: User) -> None:
    workflow = await create(pro, flux_node(seed=42, prompt=f"cache me {uuid.uuid4()}"))
    first = await wait_for_run(pro, await start(pro, workflow))
    before = await fal_local.submits(FLUX)
    second = await wait_for_run(pro, await start(pro, workflow))
    node = second["nodeRuns"][0]
    assert node["status"] == "CACHED" and second["costCents"] == 0
    assert node["outputs"][0]["id"] == first["nodeRuns"][0]["outputs"][0]["id"]
    assert await fal_local.submits(FLUX) == before


async def test_running_one_target_node_reuses_its_cached_upstream(pro: User) -> None:
    workflow = await create(
        pro,
        flux_node(seed=7, prompt=f"branch {uuid.uuid4()}"),
        wan_node(resolution="480p", num_frames=17),
        edges=[wire()],
    )
    await wait_for_run(pro, await start(pro, workflow, targets=["a"]))
    flux_before, wan_before = await fal_local.submits(FLUX), await fal_local.submits(WAN)
    rerun = await wait_for_run(pro, await start(pro, workflow, targets=["b"]))
    nodes = {n["nodeId"]: n["status"] for n in rerun["nodeRuns"]}
    assert nodes == {"a": "CACHED", "b": "SUCCEEDED"}
    assert (await fal_local.submits(FLUX), await fal_local.submits(WAN)) == (
        flux_before,
        wan_before + 1,
    )
    assert rerun["costCents"] == 5


async def test_a_gallery_asset_feeds_another_workflow(pro: User) -> None:
    first = await wait_for_run(pro, await start(pro, await create(pro, flux_node())))
    asset_id = first["nodeRuns"][0]["outputs"][0]["id"]
    workflow = await create(
        pro, wan_node("v", 0, image_url=asset_id, resolution="480p", num_frames=17)
    )
    run = await wait_for_run(pro, await start(pro, workflow))
    assert run["status"] == "SUCCEEDED"
    assert run["nodeRuns"][0]["outputs"][0]["kind"] == "VIDEO"


async def test_another_user_can_neither_read_nor_watch_a_run(
    live: LiveServer, pro: User, client: httpx.AsyncClient
) -> None:
    run_id = await start(pro, await create(pro, flux_node()))
    other = await sign_in(client, role="PRO")
    assert (await other.data(RUN_STATE, id=run_id))["run"] is None
    events = await Subscription(live, other, run_id).collect(timeout=10)
    errors = [e for event in events for e in event.get("errors", [])]
    print(events)
    assert [e["extensions"]["code"] for e in errors] == ["NOT_FOUND"], events
    assert not any((event.get("data") or {}).get("runEvents") for event in events)
    assert error_codes(
        await other.gql("mutation($id: ID!) { cancelRun(id: $id) { id } }", id=run_id)
    ) == ["NOT_FOUND"]
    await wait_for_run(pro, run_id)


async def test_a_subscriber_reconnecting_mid_run_gets_a_fresh_snapshot(
    live: LiveServer, pro: User
) -> None:
    await fal_local.control(latency_ms=150)
    run_id = await start(
        pro,
        await create(pro, flux_node(), wan_node(resolution="480p", num_frames=17), edges=[wire()]),
    )
    await wait_for_node(pro, run_id, "a", ("SUCCEEDED",))
    snapshot = (await Subscription(live, pro, run_id).collect(count=1))[0]["data"]["runEvents"]
    assert snapshot["nodeRun"] is None
    assert {n["nodeId"]: n["status"] for n in snapshot["run"]["nodeRuns"]}["a"] == "SUCCEEDED"
    await wait_for_run(pro, run_id)


async def test_free_users_run_flux_until_their_allowance_is_spent(
    client: httpx.AsyncClient,
) -> None:
    user = await sign_in(client)
    big = flux_node(image_size={"width": 2048, "height": 2048}, num_images=4)  # 5 MP x 4 = 50c
    # Three workflows: a second run of one unchanged workflow would reuse its output, free.
    for _ in range(2):
        workflow = await create(user, big)
        assert (await wait_for_run(user, await start(user, workflow)))["status"] == "SUCCEEDED"
    workflow = await create(user, big)
    refused = await user.gql(RUN, id=workflow, key=uuid.uuid4().hex, targets=None)
    assert error_codes(refused) == ["INSUFFICIENT_CREDITS"]
    assert (await credits(user)) == {
        "freeRemaining": 0,
        "periodUsageCents": 100,
        "reservedCents": 0,
    }


async def test_a_spending_cap_blocks_a_run_that_would_pass_it(pro: User) -> None:
    await pro.data("mutation { setSpendingCap(cents: 10) { id } }")
    workflow = await create(pro, flux_node(), wan_node(), edges=[wire()])
    result = await pro.gql(RUN, id=workflow, key=uuid.uuid4().hex, targets=None)
    assert error_codes(result) == ["SPENDING_CAP_REACHED"]
    assert (
        await pro.data(
            "query($id: ID!) { workflow(id: $id) { runs { edges { node { id } } } } }", id=workflow
        )
    )["workflow"]["runs"]["edges"] == []


async def test_keeping_an_asset_copies_it_to_signed_storage_for_pro_only(
    live: LiveServer, pro: User, alice: User
) -> None:
    run = await wait_for_run(pro, await start(pro, await create(pro, flux_node())))
    asset_id = run["nodeRuns"][0]["outputs"][0]["id"]
    kept = (
        await pro.data(
            "mutation($id: ID!) { persistAsset(id: $id) { storage expiresAt url } }", id=asset_id
        )
    )["persistAsset"]
    assert kept["storage"] == "PERSISTENT" and kept["expiresAt"] is None
    assert kept["url"].startswith(live.base_url + "/files/")
    async with httpx.AsyncClient() as http:
        fetched = await http.get(kept["url"])
        assert fetched.status_code == 200 and fetched.headers["content-type"] == "image/jpeg"
        Image.open(io.BytesIO(fetched.content)).verify()
        assert (await http.get(kept["url"].replace("signature=", "signature=0"))).status_code == 403
    free_run = await wait_for_run(alice, await start(alice, await create(alice, flux_node())))
    result = await alice.gql(
        "mutation($id: ID!) { persistAsset(id: $id) { id } }",
        id=free_run["nodeRuns"][0]["outputs"][0]["id"],
    )
    assert error_codes(result) == ["UPGRADE_REQUIRED"]
    assert error_codes(
        await alice.gql("mutation($id: ID!) { persistAsset(id: $id) { id } }", id=asset_id)
    ) == ["UPGRADE_REQUIRED"]


async def test_expired_temporary_assets_leave_the_gallery(live: LiveServer, pro: User) -> None:
    from services.assets.persist import purge_expired

    run = await wait_for_run(pro, await start(pro, await create(pro, flux_node())))
    asset_id = run["nodeRuns"][0]["outputs"][0]["id"]
    async with live.runtime.db.as_service() as conn:
        await conn.execute(
            "update assets set expires_at = now() - interval '1 minute' where id = $1",
            uuid.UUID(asset_id),
        )
    assert asset_id not in json.dumps(
        await pro.data("{ assets(first: 100) { edges { node { id } } } }")
    )
    assert await purge_expired(live.runtime.db, live.runtime.storage) >= 1
    async with live.runtime.db.as_service() as conn:
        assert (
            await conn.fetchval("select count(*) from assets where id = $1", uuid.UUID(asset_id))
            == 0
        )


async def test_a_worker_killed_mid_node_finishes_it_exactly_once(
    live: LiveServer, pro: User, worker: Worker
) -> None:
    await fal_local.control(latency_ms=300)
    before = await fal_local.submits(FLUX)
    run_id = await start(pro, await create(pro, flux_node(prompt=f"survive {uuid.uuid4()}")))
    await wait_for_node(pro, run_id, "a", ("RUNNING",))
    worker.kill()
    await asyncio.sleep(1)
    worker.start()
    await worker.ready()
    run = await wait_for_run(pro, run_id, timeout=90)
    assert run["status"] == "SUCCEEDED"
    assert await fal_local.submits(FLUX) == before + 1
    assert len(run["nodeRuns"][0]["outputs"]) == 1
    async with live.runtime.db.as_service() as conn:
        charges = await conn.fetchval(
            "select count(*) from credit_ledger where run_id = $1 and entry = 'CHARGE'",
            uuid.UUID(run_id),
        )
    assert charges == 1


async def test_a_worker_stopped_for_a_deploy_records_the_submission_it_had_in_hand(
    live: LiveServer, pro: User, worker: Worker
) -> None:
    """A deploy stops the worker (SIGTERM to its main process, as a supervisor sends) while
    fal has accepted a node the worker submitted but not yet answered with its request id.
    The worker records the answer before it exits: the node is followed from there, never
    submitted twice nor left for recovery to guess at."""
    await fal_local.control(latency_ms=300, submit_delay_ms=1500)
    started_before = (await fal_local.state())["counters"]["started"].get(WAN, 0)
    submits_before = await fal_local.submits(WAN)
    workflow = await create(pro, flux_node(), wan_node(num_frames=17), edges=[wire()])
    run_id = await start(pro, workflow)
    deadline = time.monotonic() + 30
    # The worker submitted the video node and fal is running it, its answer held back.
    while (await fal_local.state())["counters"]["started"].get(WAN, 0) == started_before:
        assert time.monotonic() < deadline, "the worker never submitted the video node"
        await asyncio.sleep(0.02)
    # Its webhook is lost: only what the worker recorded tells anyone about the request.
    await fal_local.control(webhooks={"drop": 1})
    await asyncio.to_thread(worker.stop)  # off the loop the live API shares while it waits
    async with live.runtime.db.as_service() as conn:
        request_id = await conn.fetchval(
            "select fal_request_id from node_runs where run_id = $1 and node_id = 'b'",
            uuid.UUID(run_id),
        )
    assert request_id is not None, "the stopped worker dropped fal's answer"
    worker.start()
    await worker.ready()
    run = await wait_for_run(pro, run_id, timeout=60)
    assert run["status"] == "SUCCEEDED"
    assert await fal_local.submits(WAN) == submits_before + 1
