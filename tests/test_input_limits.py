"""Inputs that used to end in INTERNAL or stall the server get a typed error instead: huge
graphs in estimates, JSON nested absurdly deep, almost-UUIDs in image inputs, a graph
written into the database behind the API's back, and keeping an upload made while Free."""

from __future__ import annotations

import asyncio
import io
import json
import time
import uuid
from typing import Any

import asyncpg
import httpx
from PIL import Image

from conftest import LiveServer
from support import CREATE, FLUX, User, error_codes, flux_node, problems

ESTIMATE_ONE = "e{i}: estimateWorkflow(input: $input) {{ totalCents }}"


def _huge_input(nodes: int) -> dict[str, Any]:
    return {
        "name": "huge",
        "nodes": [flux_node(f"n{i}", col=i % 100, row=i // 100) for i in range(nodes)],
        "edges": [],
    }


async def test_twenty_aliased_estimates_of_5000_nodes_are_refused_quickly(
    alice: User, bob: User
) -> None:
    query = (
        "query($input: WorkflowInput!) { "
        + " ".join(ESTIMATE_ONE.format(i=i) for i in range(20))
        + " }"
    )
    variables = {"input": _huge_input(5000)}

    async def others_latency() -> float:
        await asyncio.sleep(0.05)
        started = time.monotonic()
        await bob.data("{ viewer { id } }")
        return time.monotonic() - started

    started = time.monotonic()
    result, latency = await asyncio.gather(alice.gql(query, **variables), others_latency())
    elapsed = time.monotonic() - started
    assert set(error_codes(result)) == {"VALIDATION_ERROR"}
    assert {p["reason"] for p in problems(result)} == {"TOO_MANY_NODES"}
    assert elapsed < 2.0, f"took {elapsed:.2f}s"
    assert latency < 1.0, f"another user's query waited {latency:.2f}s"


async def test_params_nested_100000_deep_get_a_typed_error(alice: User) -> None:
    body = json.dumps(
        {
            "query": CREATE,
            "variables": {
                "input": {
                    "name": "deep",
                    "nodes": [{**flux_node(), "params": {"prompt": "p", "extra": "DEEP"}}],
                    "edges": [],
                }
            },
        }
    ).replace('"DEEP"', "[" * 100_000 + '"x"' + "]" * 100_000)
    response = await alice.client.post(
        "/graphql",
        content=body,
        headers={**alice.headers, "content-type": "application/json"},
    )
    # Refused as unparseable (Python's JSON parser cannot follow it), not a 500.
    assert response.status_code == 400, response.text[:500]
    assert (await alice.data("{ workflows(first: 5) { edges { node { id } } } }"))["workflows"][
        "edges"
    ] == []


async def test_params_nested_deeper_than_any_model_needs_are_refused(alice: User) -> None:
    deep: Any = "x"
    for _ in range(40):
        deep = {"a": deep}
    node = flux_node(extra=deep)
    result = await alice.gql(CREATE, input={"name": "deep", "nodes": [node], "edges": []})
    assert error_codes(result) == ["VALIDATION_ERROR"]
    assert problems(result)[0]["field"] == "params"


async def test_36_hex_digits_in_an_image_input_is_a_validation_error(pro: User) -> None:
    node = {
        "id": "v",
        "modelId": "fal-ai/wan/v2.2-a14b/image-to-video",
        "col": 0,
        "row": 0,
        "params": {"prompt": "waves", "image_url": "0123456789abcdef0123456789abcdef0123"},
    }
    result = await pro.gql(CREATE, input={"name": "hex", "nodes": [node], "edges": []})
    assert error_codes(result) == ["VALIDATION_ERROR"]
    assert [p["field"] for p in problems(result)] == ["image_url"]


async def test_a_graph_written_behind_the_apis_back_does_not_break_the_list(
    live: LiveServer, alice: User
) -> None:
    good = (await alice.data(CREATE, input={"name": "good", "nodes": [flux_node()], "edges": []}))[
        "createWorkflow"
    ]
    conn = await asyncpg.connect(str(live.settings.DATABASE_URL))
    try:
        broken = []
        for graph in (
            {"nodes": [{"id": 1}]},
            {"nodes": [{"id": "a", "modelId": FLUX, "col": "x", "row": 0, "params": {}}]},
            {"nodes": "nope"},
            [1, 2, 3],
        ):
            broken.append(
                await conn.fetchval(
                    "insert into public.workflows (user_id, name, graph) values ($1, 'bad', $2::jsonb) returning id",
                    uuid.UUID(alice.id),
                    json.dumps(graph),
                )
            )
    finally:
        await conn.close()
    listed = await alice.data(
        "{ workflows(first: 10) { edges { node { id name nodes { id col } warnings { reason } } } } }"
    )
    nodes = {e["node"]["id"]: e["node"] for e in listed["workflows"]["edges"]}
    assert set(nodes) == {good["id"], *(str(b) for b in broken)}
    assert nodes[good["id"]]["nodes"] == [{"id": "a", "col": 0}]
    for bad in broken:
        assert nodes[str(bad)]["nodes"] == []
        assert [w["reason"] for w in nodes[str(bad)]["warnings"]] == ["UNREADABLE_GRAPH"]
    run = await alice.gql(
        'mutation($id: ID!) { runWorkflow(id: $id, idempotencyKey: "k") { id } }',
        id=str(broken[0]),
    )
    assert error_codes(run) == ["VALIDATION_ERROR"]


async def test_an_upload_made_on_free_can_be_kept_after_upgrading(
    live: LiveServer, client: httpx.AsyncClient, alice: User
) -> None:
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, format="PNG")
    uploaded = await client.post(
        "/api/uploads",
        files={"file": ("a.png", png.getvalue(), "image/png")},
        headers=alice.headers,
    )
    assert uploaded.status_code == 201, uploaded.text
    conn = await asyncpg.connect(str(live.settings.DATABASE_URL))
    try:
        await conn.execute(
            "update public.profiles set role = 'PRO' where id = $1", uuid.UUID(alice.id)
        )
    finally:
        await conn.close()
    kept = await alice.data(
        "mutation($id: ID!) { persistAsset(id: $id) { storage expiresAt url } }",
        id=uploaded.json()["id"],
    )
    assert kept["persistAsset"]["storage"] == "PERSISTENT"
    assert kept["persistAsset"]["expiresAt"] is None
    assert (await client.get(kept["persistAsset"]["url"])).status_code == 200
