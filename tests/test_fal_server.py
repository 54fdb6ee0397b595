"""The local fal server speaks fal's queue protocol: queue positions, status with and
without logs, the status stream, results and cancellation, with fal's shapes."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
from collections.abc import AsyncIterator

import fal_client
import httpx
import pytest

import fal_local

FLUX = "fal-ai/flux/dev"


@pytest.fixture
async def http(fal_server: str) -> AsyncIterator[httpx.AsyncClient]:
    await fal_local.reset()
    context = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    headers = {"Authorization": f"Key {os.environ['FAL_KEY']}"}
    async with httpx.AsyncClient(
        base_url=fal_server, verify=context, headers=headers, timeout=30
    ) as client:
        yield client


async def test_requests_beyond_concurrency_wait_with_falling_queue_positions(
    http: httpx.AsyncClient,
) -> None:
    await fal_local.control(concurrency=1, latency_ms=80, steps=3)
    client = fal_client.AsyncClient(key=os.environ["FAL_KEY"])
    handles = [await client.submit(FLUX, {"prompt": f"queued {i}"}) for i in range(3)]
    positions: list[int] = []
    while True:
        status = await handles[2].status()
        if not isinstance(status, fal_client.Queued):
            break
        if not positions or positions[-1] != status.position:
            positions.append(status.position)
        await asyncio.sleep(0.02)
    assert positions[0] >= 1 and positions == sorted(positions, reverse=True), positions
    results = [await h.get() for h in handles]
    assert all(r["images"][0]["url"].startswith("http://127.0.0.1:") for r in results)


async def test_status_carries_logs_only_when_asked_and_streams_until_done(
    http: httpx.AsyncClient,
) -> None:
    await fal_local.control(latency_ms=60, steps=4)
    submitted = (await http.post(f"/{FLUX}", json={"prompt": "stream me"})).json()
    assert {"request_id", "status_url", "response_url", "cancel_url"} <= submitted.keys()
    # Once it runs (a condition, not a guess at how long that takes):
    deadline = asyncio.get_running_loop().time() + 10
    while (await http.get(submitted["status_url"])).json()["status"] == "IN_QUEUE":
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)
    without = (await http.get(submitted["status_url"], params={"logs": "false"})).json()
    with_logs = (await http.get(submitted["status_url"], params={"logs": "true"})).json()
    assert without["status"] in ("IN_PROGRESS", "COMPLETED") and without.get("logs") is None
    assert [entry["message"] for entry in with_logs["logs"]][:1] == [f"Loading {FLUX}"]
    events = []
    async with http.stream(
        "GET", submitted["status_url"] + "/stream", params={"logs": "1"}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
    assert events[-1]["status"] == "COMPLETED" and "inference_time" in events[-1]["metrics"]
    result = (await http.get(submitted["response_url"])).json()
    assert result["images"][0]["width"] == 1024 and result["seed"] >= 0


async def test_bad_inputs_get_fals_422_shape_and_a_missing_key_401(http: httpx.AsyncClient) -> None:
    rejected = await http.post(f"/{FLUX}", json={"prompt": "x", "num_images": 9})
    assert rejected.status_code == 422 and rejected.headers["x-fal-retryable"] == "false"
    assert rejected.json()["detail"][0]["loc"] == ["body", "num_images"]
    anonymous = await http.post(f"/{FLUX}", json={"prompt": "x"}, headers={"Authorization": ""})
    assert anonymous.status_code == 401


async def test_cancel_answers_as_fal_does(http: httpx.AsyncClient) -> None:
    await fal_local.control(latency_ms=500)
    submitted = (await http.post(f"/{FLUX}", json={"prompt": "cancel me"})).json()
    assert (await http.put(submitted["cancel_url"])).json() == {"status": "CANCELLATION_REQUESTED"}
    assert (await http.put(submitted["cancel_url"])).status_code == 400  # ALREADY_COMPLETED
    assert (
        await http.put(submitted["cancel_url"].replace(submitted["request_id"], "nope"))
    ).status_code == 404
