"""The editor's API (issue 10): drafts that are saved with per-node warnings and refused
only when run; reuse of an unchanged node's last output whatever its seed, free and without
calling fal; utility nodes (Text, Image) that cost nothing and run instantly; a cancelled
run's live stream that ends only once every node is final; the gallery's search and filters
under row-level security, batch delete, and a deleted workflow's undo."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import fal_local
from conftest import LiveServer
from support import (
    CREATE,
    RUN,
    RUN_STATE,
    UPDATE,
    User,
    credits,
    error_codes,
    flux_node,
    problems,
    run_events_socket,
    wait_for_node,
    wait_for_run,
    wan_node,
    wire,
)

pytestmark = pytest.mark.usefixtures("worker")
FLUX = "fal-ai/flux/dev"
WAN = "fal-ai/wan/v2.2-a14b/image-to-video"
TEXT = "lattice/text"
IMAGE = "lattice/image"
SAVE = """
mutation Create($input: WorkflowInput!) {
  createWorkflow(input: $input) { id version warnings { reason message nodeId field } }
}
"""
GET = """
query Get($id: ID!) {
  workflow(id: $id) { id version nodes { id modelId } warnings { reason nodeId field } }
}
"""
ESTIMATE = """
query Estimate($input: WorkflowInput!, $wf: ID, $targets: [ID!], $reroll: [ID!]) {
  estimateWorkflow(input: $input, workflowId: $wf, targetNodeIds: $targets, rerollNodeIds: $reroll) {
    totalCents nodes { nodeId cents } reusedNodeIds
  }
}
"""
RUN_REROLL = """
mutation Run($id: ID!, $key: String!, $targets: [ID!], $reroll: [ID!]) {
  runWorkflow(id: $id, idempotencyKey: $key, targetNodeIds: $targets, rerollNodeIds: $reroll) { id status }
}
"""
ASSETS = """
query Assets($search: String, $model: ID, $after: DateTime, $before: DateTime) {
  assets(first: 50, search: $search, modelId: $model, createdAfter: $after, createdBefore: $before) {
    edges { node { id modelId params createdAt } }
  }
}
"""


@pytest.fixture(autouse=True)
async def quick_fal(fal_server: object) -> None:
    await fal_local.reset()
    await fal_local.control(latency_ms=20)


def text_node(node_id: str, col: int, text: str) -> dict[str, Any]:
    return {"id": node_id, "modelId": TEXT, "col": col, "row": 0, "params": {"text": text}}


def image_node(node_id: str, col: int, image: str | None) -> dict[str, Any]:
    params = {"image_url": image} if image else {}
    return {"id": node_id, "modelId": IMAGE, "col": col, "row": 0, "params": params}


def prompt_wire(source: str, target: str) -> dict[str, str]:
    return {"source": source, "sourcePort": "text", "target": target, "targetPort": "prompt"}


async def create(user: User, *nodes: dict[str, Any], edges: list[Any] | None = None) -> str:
    data = await user.data(
        CREATE, input={"name": "editor", "nodes": list(nodes), "edges": edges or []}
    )
    return str(data["createWorkflow"]["id"])


async def run(user: User, workflow_id: str, **variables: Any) -> dict[str, Any]:
    data = await user.data(RUN_REROLL, id=workflow_id, key=uuid.uuid4().hex, **variables)
    return await wait_for_run(user, data["runWorkflow"]["id"])


async def charges(live: LiveServer, user: User) -> list[tuple[str, int]]:
    """The user's CHARGE entries in the credit ledger, read straight from PostgreSQL."""
    import asyncpg

    conn = await asyncpg.connect(str(live.settings.DATABASE_URL))
    try:
        rows = await conn.fetch(
            "select n.node_id, l.amount_cents from public.credit_ledger l"
            " join public.node_runs n on n.id = l.node_run_id"
            " where l.user_id = $1 and l.entry = 'CHARGE' order by l.id",
            uuid.UUID(user.id),
        )
    finally:
        await conn.close()
    return [(r["node_id"], r["amount_cents"]) for r in rows]


def by_node(run_state: dict[str, Any]) -> dict[str, str]:
    return {n["nodeId"]: n["status"] for n in run_state["nodeRuns"]}


# Drafts


async def test_an_unwired_node_is_saved_as_a_draft_with_warnings_and_refused_only_when_run(
    pro: User,
) -> None:
    draft = {"name": "draft", "nodes": [flux_node("a", 0), wan_node("b", 1)], "edges": []}
    saved = (await pro.data(SAVE, input=draft))["createWorkflow"]
    assert saved["warnings"] == [
        {
            "reason": "MISSING_INPUT",
            "message": "Wan 2.2 image-to-video node b: Image input is not connected",
            "nodeId": "b",
            "field": "image_url",
        }
    ]
    # It survives a reload, warning included.
    reloaded = (await pro.data(GET, id=saved["id"]))["workflow"]
    assert [n["id"] for n in reloaded["nodes"]] == ["a", "b"]
    assert reloaded["warnings"] == [
        {"reason": "MISSING_INPUT", "nodeId": "b", "field": "image_url"}
    ]

    refused = await pro.gql(RUN, id=saved["id"], key=uuid.uuid4().hex)
    assert error_codes(refused) == ["VALIDATION_ERROR"]
    assert [(p["reason"], p["nodeId"], p["field"]) for p in problems(refused)] == [
        ("MISSING_INPUT", "b", "image_url")
    ]
    assert (await pro.data("{ runs(first: 5) { edges { node { id } } } }"))["runs"]["edges"] == []
    assert (await credits(pro))["reservedCents"] == 0

    # The complete part of a draft runs on its own ("Run this").
    alone = await run(pro, saved["id"], targets=["a"])
    assert alone["status"] == "SUCCEEDED" and by_node(alone) == {"a": "SUCCEEDED"}

    wired = await pro.data(UPDATE, id=saved["id"], v=1, input={**draft, "edges": [wire("a", "b")]})
    assert wired["updateWorkflow"]["version"] == 2
    assert (await pro.data(GET, id=saved["id"]))["workflow"]["warnings"] == []


async def test_an_empty_prompt_is_a_warning_but_a_broken_graph_is_still_refused(
    pro: User,
) -> None:
    empty = await pro.data(SAVE, input={"name": "x", "nodes": [flux_node(prompt="")], "edges": []})
    assert [(w["nodeId"], w["field"]) for w in empty["createWorkflow"]["warnings"]] == [
        ("a", "prompt")
    ]
    unknown = await pro.gql(
        SAVE,
        input={"name": "x", "nodes": [{**wan_node(), "modelId": "fal-ai/nope"}], "edges": []},
    )
    assert error_codes(unknown) == ["VALIDATION_ERROR"]
    assert problems(unknown)[0]["reason"] == "UNKNOWN_MODEL"


# Reuse whatever the seed


async def test_run_this_downstream_reuses_a_random_seed_upstream_without_a_second_charge(
    live: LiveServer, pro: User
) -> None:
    flux = flux_node("a", 0, prompt=f"reuse {uuid.uuid4()}")  # no seed: random
    wan = wan_node("b", 1, resolution="480p", num_frames=17)
    workflow = await create(pro, flux, wan, edges=[wire("a", "b")])
    first = await run(pro, workflow, targets=["a"])
    assert by_node(first) == {"a": "SUCCEEDED"}
    flux_image = first["nodeRuns"][0]["outputs"][0]["id"]
    flux_submits = await fal_local.submits(FLUX)

    estimate = (
        await pro.data(
            ESTIMATE,
            input={"name": "x", "nodes": [flux, wan], "edges": [wire("a", "b")]},
            wf=workflow,
            targets=["b"],
        )
    )["estimateWorkflow"]
    assert estimate["reusedNodeIds"] == ["a"]
    assert estimate["nodes"] == [{"nodeId": "b", "cents": 5}] and estimate["totalCents"] == 5

    second = await run(pro, workflow, targets=["b"])
    assert by_node(second) == {"a": "CACHED", "b": "SUCCEEDED"}
    reused = next(n for n in second["nodeRuns"] if n["nodeId"] == "a")
    assert reused["outputs"][0]["id"] == flux_image
    assert await fal_local.submits(FLUX) == flux_submits
    assert second["costCents"] == 5 and second["estimatedCostCents"] == 5
    assert await charges(live, pro) == [("a", 3), ("b", 5)]  # FLUX charged once

    # A full Run of the unchanged graph reuses both, for nothing.
    third = await run(pro, workflow)
    assert by_node(third) == {"a": "CACHED", "b": "CACHED"} and third["costCents"] == 0
    assert await charges(live, pro) == [("a", 3), ("b", 5)]


async def test_a_changed_parameter_or_a_new_seed_runs_the_node_again(pro: User) -> None:
    flux = flux_node("a", 0, prompt=f"reroll {uuid.uuid4()}")
    workflow = await create(pro, flux)
    first = await run(pro, workflow)
    before = await fal_local.submits(FLUX)

    rerolled = await run(pro, workflow, reroll=["a"])
    assert by_node(rerolled) == {"a": "SUCCEEDED"} and rerolled["costCents"] == 3
    assert rerolled["nodeRuns"][0]["outputs"][0]["id"] != first["nodeRuns"][0]["outputs"][0]["id"]
    assert await fal_local.submits(FLUX) == before + 1
    # The re-rolled output is now the one reused.
    again = await run(pro, workflow)
    assert again["nodeRuns"][0]["outputs"][0]["id"] == rerolled["nodeRuns"][0]["outputs"][0]["id"]

    await pro.data(
        UPDATE,
        id=workflow,
        v=1,
        input={
            "name": "x",
            "nodes": [{**flux, "params": {**flux["params"], "num_inference_steps": 4}}],
            "edges": [],
        },
    )
    changed = await run(pro, workflow)
    assert by_node(changed) == {"a": "SUCCEEDED"} and await fal_local.submits(FLUX) == before + 2


async def test_another_users_outputs_are_never_reused(pro: User, client: Any) -> None:
    from support import sign_in

    other = await sign_in(client, role="PRO")
    prompt = f"mine {uuid.uuid4()}"
    await run(pro, await create(pro, flux_node(prompt=prompt)))
    theirs = await run(other, await create(other, flux_node(prompt=prompt)))
    assert by_node(theirs) == {"a": "SUCCEEDED"} and theirs["costCents"] == 3


# Utility nodes


async def test_a_text_node_feeds_two_prompts_and_utility_nodes_are_free_and_instant(
    pro: User,
) -> None:
    prompt = f"a shared prompt {uuid.uuid4().hex[:8]}"
    models = (await pro.data("{ models { id utility priceDescription } }"))["models"]
    assert {m["id"] for m in models if m["utility"]} == {TEXT, IMAGE}
    workflow = await create(
        pro,
        text_node("t", 0, prompt),
        flux_node("a", 1, prompt=""),
        flux_node("c", 2, prompt="", num_inference_steps=4),
        edges=[prompt_wire("t", "a"), prompt_wire("t", "c")],
    )
    assert (await pro.data(GET, id=workflow))["workflow"]["warnings"] == []
    done = await run(pro, workflow)
    assert by_node(done) == {"t": "SUCCEEDED", "a": "SUCCEEDED", "c": "SUCCEEDED"}
    assert done["costCents"] == 6  # the two FLUX nodes; the Text node is free
    text_run = next(n for n in done["nodeRuns"] if n["nodeId"] == "t")
    assert text_run["outputs"] == []
    assets = (await pro.data(ASSETS, search=prompt))["assets"]["edges"]
    assert sorted(a["node"]["params"]["prompt"] for a in assets) == [prompt, prompt]


async def test_an_image_node_starts_a_graph_from_a_gallery_asset(pro: User) -> None:
    made = await run(pro, await create(pro, flux_node(prompt=f"source {uuid.uuid4()}")))
    asset_id = made["nodeRuns"][0]["outputs"][0]["id"]
    empty = await create(pro, image_node("i", 0, None))
    warnings = (await pro.data(GET, id=empty))["workflow"]["warnings"]
    assert [(w["nodeId"], w["field"]) for w in warnings] == [("i", "image_url")]

    workflow = await create(
        pro,
        image_node("i", 0, asset_id),
        wan_node("v", 1, resolution="480p", num_frames=17),
        edges=[{"source": "i", "sourcePort": "image", "target": "v", "targetPort": "image_url"}],
    )
    done = await run(pro, workflow)
    assert by_node(done) == {"i": "SUCCEEDED", "v": "SUCCEEDED"} and done["costCents"] == 5
    assert done["nodeRuns"][1]["outputs"][0]["kind"] == "VIDEO"

    # Only utility nodes: done as it starts, nothing reserved or charged.
    alone = await pro.data(RUN, id=workflow, key=uuid.uuid4().hex, targets=["i"])
    assert alone["runWorkflow"]["status"] == "SUCCEEDED"
    assert alone["runWorkflow"]["estimatedCostCents"] == 0


async def test_an_image_node_cannot_use_another_users_asset(pro: User, client: Any) -> None:
    from support import sign_in

    made = await run(pro, await create(pro, flux_node(prompt=f"private {uuid.uuid4()}")))
    asset_id = made["nodeRuns"][0]["outputs"][0]["id"]
    other = await sign_in(client, role="PRO")
    theirs = await create(
        other,
        image_node("i", 0, asset_id),
        wan_node("v", 1),
        edges=[{"source": "i", "sourcePort": "image", "target": "v", "targetPort": "image_url"}],
    )
    refused = await other.gql(RUN, id=theirs, key=uuid.uuid4().hex)
    assert error_codes(refused) == ["VALIDATION_ERROR"]
    assert problems(refused)[0]["reason"] == "ASSET_NOT_FOUND"


# Cancel


async def test_after_cancel_the_stream_ends_only_once_every_node_is_final(
    live: LiveServer, pro: User
) -> None:
    await fal_local.control(latency_ms=400)
    workflow = await create(pro, flux_node(), wan_node(), edges=[wire()])
    data = await pro.data(RUN, id=workflow, key=uuid.uuid4().hex)
    run_id = data["runWorkflow"]["id"]
    await wait_for_node(pro, run_id, "a", ("RUNNING",))
    events: list[dict[str, Any]] = []
    async with run_events_socket(live.base_url, pro.token, run_id) as ws:
        first = json.loads(await ws.recv())
        assert first["type"] == "next"
        await pro.data("mutation($id: ID!) { cancelRun(id: $id) { status } }", id=run_id)
        async with asyncio.timeout(20):
            while True:
                message = json.loads(await ws.recv())
                if message["type"] == "complete":
                    break
                events.append(message["payload"]["data"]["runEvents"])
    last = events[-1]["run"]
    assert last["status"] == "CANCELLED"
    assert {n["nodeId"]: n["status"] for n in last["nodeRuns"]} == {
        "a": "CANCELLED",
        "b": "CANCELLED",
    }
    assert (await pro.data(RUN_STATE, id=run_id))["run"]["status"] == "CANCELLED"


# Gallery


async def test_the_gallery_searches_prompts_and_filters_by_model_and_date_under_rls(
    pro: User, client: Any
) -> None:
    from support import sign_in

    word = f"zebra{uuid.uuid4().hex[:6]}"
    await run(pro, await create(pro, flux_node(prompt=f"a {word} at dawn")))
    await run(pro, await create(pro, flux_node(prompt="a quiet harbour")))
    other = await sign_in(client, role="PRO")
    await run(other, await create(other, flux_node(prompt=f"their {word} too")))

    found = (await pro.data(ASSETS, search=word[:-2]))["assets"]["edges"]
    assert [e["node"]["params"]["prompt"] for e in found] == [f"a {word} at dawn"]
    assert (await pro.data(ASSETS, search="harbour"))["assets"]["edges"]
    assert (await pro.data(ASSETS, search=word, model=WAN))["assets"]["edges"] == []
    assert len((await pro.data(ASSETS, model=FLUX))["assets"]["edges"]) == 2
    now = datetime.now(UTC)
    later = (now + timedelta(minutes=5)).isoformat()
    earlier = (now - timedelta(minutes=5)).isoformat()
    assert (await pro.data(ASSETS, after=later))["assets"]["edges"] == []
    assert len((await pro.data(ASSETS, after=earlier))["assets"]["edges"]) == 2
    assert (await pro.data(ASSETS, before=earlier))["assets"]["edges"] == []
    # Punctuation in a search is only words, never tsquery syntax.
    assert (await pro.data(ASSETS, search="!&|:*()'"))["assets"]["edges"] is not None


async def test_several_assets_are_deleted_at_once_and_another_users_are_untouched(
    pro: User, client: Any
) -> None:
    from support import sign_in

    other = await sign_in(client, role="PRO")
    mine = await run(pro, await create(pro, flux_node(prompt="one", num_images=2)))
    ids = [o["id"] for o in mine["nodeRuns"][0]["outputs"]]
    theirs = await run(other, await create(other, flux_node(prompt="theirs")))
    their_id = theirs["nodeRuns"][0]["outputs"][0]["id"]

    deleted = await pro.data(
        "mutation($ids: [ID!]!) { deleteAssets(ids: $ids) }", ids=[*ids, their_id]
    )
    assert sorted(deleted["deleteAssets"]) == sorted(ids)
    assert (await pro.data(ASSETS))["assets"]["edges"] == []
    assert (await other.data(ASSETS))["assets"]["edges"][0]["node"]["id"] == their_id


async def test_a_deleted_workflow_can_be_restored_by_its_owner_only(pro: User, client: Any) -> None:
    from support import sign_in

    workflow = await create(pro, flux_node())
    await pro.data("mutation($id: ID!) { deleteWorkflow(id: $id) }", id=workflow)
    other = await sign_in(client)
    stolen = await other.gql("mutation($id: ID!) { restoreWorkflow(id: $id) { id } }", id=workflow)
    assert error_codes(stolen) == ["NOT_FOUND"]
    restored = await pro.data(
        "mutation($id: ID!) { restoreWorkflow(id: $id) { id name } }", id=workflow
    )
    assert restored["restoreWorkflow"]["id"] == workflow
    assert (await pro.data(GET, id=workflow))["workflow"]["id"] == workflow


async def test_a_batch_delete_is_capped_and_changes_nothing_when_refused(pro: User) -> None:
    made = await run(pro, await create(pro, flux_node(prompt=f"kept {uuid.uuid4()}")))
    asset_id = made["nodeRuns"][0]["outputs"][0]["id"]
    too_many = [asset_id, *(str(uuid.uuid4()) for _ in range(200))]
    refused = await pro.gql("mutation($ids: [ID!]!) { deleteAssets(ids: $ids) }", ids=too_many)
    assert error_codes(refused) == ["VALIDATION_ERROR"]
    assert problems(refused)[0]["reason"] == "TOO_MANY"
    assert [e["node"]["id"] for e in (await pro.data(ASSETS))["assets"]["edges"]] == [asset_id]


async def test_an_estimate_never_reuses_another_users_workflow(pro: User, client: Any) -> None:
    from support import sign_in

    flux = flux_node(prompt=f"estimate {uuid.uuid4()}")
    workflow = await create(pro, flux)
    await run(pro, workflow)
    mine = await pro.data(ESTIMATE, input={"name": "x", "nodes": [flux], "edges": []}, wf=workflow)
    assert mine["estimateWorkflow"]["reusedNodeIds"] == ["a"]
    assert mine["estimateWorkflow"]["totalCents"] == 0
    other = await sign_in(client, role="PRO")
    theirs = await other.data(
        ESTIMATE, input={"name": "x", "nodes": [flux], "edges": []}, wf=workflow
    )
    assert theirs["estimateWorkflow"] == {
        "totalCents": 3,
        "nodes": [{"nodeId": "a", "cents": 3}],
        "reusedNodeIds": [],
    }


async def test_an_estimate_costs_the_same_statements_for_one_node_or_ten(
    live: LiveServer, pro: User
) -> None:
    """The editor asks for an estimate after each edit: reuse is decided in one statement."""

    async def statements(count: int) -> int:
        nodes = [flux_node(f"n{i}", i, prompt=f"count {i}") for i in range(count)]
        workflow = await create(pro, *nodes)
        await run(pro, workflow)
        variables = {"input": {"name": "x", "nodes": nodes, "edges": []}, "wf": workflow}
        await pro.data(ESTIMATE, **variables)  # warm up pooled connections
        before = live.runtime.db.stats.count
        estimate = (await pro.data(ESTIMATE, **variables))["estimateWorkflow"]
        assert len(estimate["reusedNodeIds"]) == count
        return live.runtime.db.stats.count - before

    assert await statements(1) == await statements(10)
