"""Saving workflows: optimistic concurrency, every validation rule with the node or edge it
names, rejected saves that change nothing, paging, and query counts that do not grow."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from conftest import LiveServer
from support import (
    CREATE,
    FLUX,
    UPDATE,
    User,
    error_codes,
    flux_node,
    problems,
    sign_in,
    wan_node,
    wire,
)

GET = "query Get($id: ID!) { workflow(id: $id) { id name version nodes { id col row params } edges { source } } }"


def graph(
    *nodes: dict[str, Any], edges: list[dict[str, str]] | None = None, name: str = "w"
) -> dict[str, Any]:
    return {"name": name, "nodes": list(nodes), "edges": edges or []}


async def test_create_read_update_and_delete(pro: User) -> None:
    created = (
        await pro.data(
            CREATE, input=graph(flux_node(), wan_node(), edges=[wire()], name="Lighthouse")
        )
    )["createWorkflow"]
    assert created["version"] == 1
    assert [n["id"] for n in created["nodes"]] == ["a", "b"]
    moved = await pro.data(
        UPDATE,
        id=created["id"],
        v=1,
        input=graph(flux_node(col=3), wan_node(), edges=[wire()], name="Moved"),
    )
    assert moved["updateWorkflow"]["version"] == 2
    assert moved["updateWorkflow"]["nodes"][0]["col"] == 3
    fetched = (await pro.data(GET, id=created["id"]))["workflow"]
    assert fetched["name"] == "Moved" and fetched["edges"] == [{"source": "a"}]
    assert (await pro.data("mutation($id: ID!) { deleteWorkflow(id: $id) }", id=created["id"]))[
        "deleteWorkflow"
    ] is True
    assert (await pro.data(GET, id=created["id"]))["workflow"] is None


async def test_a_stale_version_is_a_conflict_and_overwrites_nothing(alice: User) -> None:
    created = (await alice.data(CREATE, input=graph(flux_node())))["createWorkflow"]
    await alice.data(
        UPDATE, id=created["id"], v=1, input=graph(flux_node(prompt="tab one"), name="tab one")
    )
    stale = await alice.gql(
        UPDATE, id=created["id"], v=1, input=graph(flux_node(prompt="tab two"), name="tab two")
    )
    assert error_codes(stale) == ["CONFLICT"]
    assert stale["errors"][0]["extensions"]["currentVersion"] == 2
    current = (await alice.data(GET, id=created["id"]))["workflow"]
    assert current["name"] == "tab one" and current["version"] == 2


def _cases() -> list[tuple[str, dict[str, Any], str, dict[str, Any]]]:
    return [
        (
            "cycle",
            graph(
                wan_node("x", 0),
                wan_node("y", 1),
                edges=[
                    {
                        "source": "x",
                        "sourcePort": "video",
                        "target": "y",
                        "targetPort": "image_url",
                    },
                    {
                        "source": "y",
                        "sourcePort": "video",
                        "target": "x",
                        "targetPort": "image_url",
                    },
                ],
            ),
            "CYCLE",
            {"nodeId": "x"},
        ),
        (
            "unknown model",
            graph({**flux_node(), "modelId": "fal-ai/nope"}),
            "UNKNOWN_MODEL",
            {"nodeId": "a"},
        ),
        (
            "port type mismatch",
            graph(
                wan_node("v", 0),
                wan_node("w", 1),
                edges=[
                    {"source": "v", "sourcePort": "video", "target": "w", "targetPort": "image_url"}
                ],
            ),
            "PORT_TYPE_MISMATCH",
            {
                "edge": {
                    "source": "v",
                    "sourcePort": "video",
                    "target": "w",
                    "targetPort": "image_url",
                }
            },
        ),
        (
            "duplicate ids",
            graph(flux_node("a", 0), flux_node("a", 1)),
            "DUPLICATE_ID",
            {"nodeId": "a"},
        ),
        (
            "two nodes in one cell",
            graph(flux_node("a", 2, 2), flux_node("b", 2, 2)),
            "CELL_OCCUPIED",
            {"nodeId": "b"},
        ),
        (
            "params out of range",
            graph(flux_node(num_inference_steps=500)),
            "INVALID_PARAMS",
            {"nodeId": "a", "field": "num_inference_steps"},
        ),
        (
            "params bad enum",
            graph(flux_node(output_format="gif")),
            "INVALID_PARAMS",
            {"nodeId": "a", "field": "output_format"},
        ),
        ("unknown param", graph(flux_node(colour="red")), "INVALID_PARAMS", {"nodeId": "a"}),
        (
            "http image url",
            graph(wan_node(image_url="http://example.com/a.png")),
            "INVALID_PARAMS",
            {"nodeId": "b"},
        ),
        ("edge to a missing node", graph(flux_node(), edges=[wire("a", "zz")]), "UNKNOWN_NODE", {}),
        (
            "edge to a missing port",
            graph(
                flux_node(),
                wan_node(),
                edges=[{"source": "a", "sourcePort": "image", "target": "b", "targetPort": "mask"}],
            ),
            "UNKNOWN_PORT",
            {},
        ),
        (
            "too many nodes",
            graph(*[flux_node(f"n{i}", i % 10, i // 10) for i in range(51)]),
            "TOO_MANY_NODES",
            {},
        ),
    ]


@pytest.mark.parametrize(("case", "bad", "reason", "where"), _cases(), ids=[c[0] for c in _cases()])
async def test_each_invalid_graph_is_rejected_with_what_it_concerns_and_saves_nothing(
    pro: User, case: str, bad: dict[str, Any], reason: str, where: dict[str, Any]
) -> None:
    original = (await pro.data(CREATE, input=graph(flux_node(), name="before")))["createWorkflow"]
    result = await pro.gql(UPDATE, id=original["id"], v=1, input=bad)
    assert error_codes(result) == ["VALIDATION_ERROR"], result
    found = [p for p in problems(result) if p["reason"] == reason]
    assert found, problems(result)
    assert all(found[0].get(k) == v for k, v in where.items()), found
    after = (await pro.data(GET, id=original["id"]))["workflow"]
    assert (after["version"], after["name"]) == (1, "before")
    created = await pro.gql(CREATE, input=bad)
    assert error_codes(created) == ["VALIDATION_ERROR"]


async def test_a_real_cycle_is_named(pro: User) -> None:
    # Images cannot feed FLUX, so a cycle needs a model with an image input and output:
    # build one from the validator's point of view by wiring Wan's video output twice.
    result = await pro.gql(
        CREATE,
        input=graph(
            flux_node("a", 0),
            wan_node("b", 1),
            wan_node("c", 2),
            edges=[
                wire("a", "b"),
                {"source": "b", "sourcePort": "video", "target": "c", "targetPort": "image_url"},
            ],
        ),
    )
    assert any(p["reason"] == "PORT_TYPE_MISMATCH" for p in problems(result))


async def test_free_users_cannot_save_a_pro_model(alice: User) -> None:
    result = await alice.gql(CREATE, input=graph(flux_node(), wan_node(), edges=[wire()]))
    assert error_codes(result) == ["VALIDATION_ERROR"]
    assert [p["nodeId"] for p in problems(result) if p["reason"] == "MODEL_NOT_ALLOWED"] == ["b"]


async def test_a_lora_the_viewer_does_not_own_is_rejected(pro: User, client: Any) -> None:
    other = await sign_in(client, role="PRO")
    theirs = (
        await other.data(
            'mutation { addLora(input: {name: "style", url: "https://huggingface.co/x/y.safetensors", baseModel: "flux-dev"}) { id } }'
        )
    )["addLora"]["id"]
    mine = (
        await pro.data(
            'mutation { addLora(input: {name: "mine", url: "https://huggingface.co/me/y.safetensors", baseModel: "flux-dev"}) { id } }'
        )
    )["addLora"]["id"]
    node = {**flux_node(), "modelId": "fal-ai/flux-lora"}
    ok = await pro.gql(
        CREATE,
        input=graph(
            {**node, "params": {**node["params"], "loras": [{"lora_id": mine, "scale": 0.8}]}}
        ),
    )
    assert "errors" not in ok, ok
    bad = await pro.gql(
        CREATE, input=graph({**node, "params": {**node["params"], "loras": [{"lora_id": theirs}]}})
    )
    assert [p["reason"] for p in problems(bad)] == ["LORA_NOT_OWNED"]


async def test_another_user_can_neither_read_nor_change_a_workflow(alice: User, bob: User) -> None:
    created = (await alice.data(CREATE, input=graph(flux_node(), name="private")))["createWorkflow"]
    assert (await bob.data(GET, id=created["id"]))["workflow"] is None
    assert error_codes(
        await bob.gql(UPDATE, id=created["id"], v=1, input=graph(flux_node(), name="mine now"))
    ) == ["NOT_FOUND"]
    assert error_codes(
        await bob.gql("mutation($id: ID!) { deleteWorkflow(id: $id) }", id=created["id"])
    ) == ["NOT_FOUND"]
    assert all(
        e["node"]["id"] != created["id"]
        for e in (await bob.data("{ workflows { edges { node { id } } } }"))["workflows"]["edges"]
    )
    assert (await alice.data(GET, id=created["id"]))["workflow"]["name"] == "private"


async def test_workflows_page_newest_first_with_cursors(client: Any) -> None:
    user = await sign_in(client)
    ids = [
        (await user.data(CREATE, input=graph(flux_node(), name=f"w{i}")))["createWorkflow"]["id"]
        for i in range(5)
    ]
    query = "query($after: String) { workflows(first: 2, after: $after) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }"
    seen, after = [], None
    while True:
        page = (await user.data(query, after=after))["workflows"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == list(reversed(ids))
    assert error_codes(
        await user.gql("{ workflows(first: 1000) { pageInfo { hasNextPage } } }")
    ) == ["VALIDATION_ERROR"]
    assert error_codes(
        await user.gql('{ workflows(after: "garbage!") { pageInfo { hasNextPage } } }')
    ) == ["VALIDATION_ERROR"]


async def test_a_page_of_workflows_with_runs_costs_a_constant_number_of_queries(
    live: LiveServer, client: Any
) -> None:
    user = await sign_in(client)
    query = """{ workflows(first: 50) { edges { node { id nodes { id } runs(first: 3) {
        edges { node { id status nodeRuns { id status outputs { id url } } workflow { id } } } } } } } }"""

    async def add_workflows(count: int) -> None:
        for _ in range(count):
            wf = (await user.data(CREATE, input=graph(flux_node())))["createWorkflow"]["id"]
            async with live.runtime.db.as_service() as conn:
                for _ in range(2):
                    run = await conn.fetchval(
                        "insert into runs (user_id, workflow_id, workflow_version, graph, idempotency_key)"
                        " values ($1, $2, 1, '{}', $3) returning id",
                        uuid.UUID(user.id),
                        uuid.UUID(wf),
                        uuid.uuid4().hex,
                    )
                    await conn.execute(
                        "insert into node_runs (run_id, user_id, node_id, model_id) values ($1, $2, 'a', $3)",
                        run,
                        uuid.UUID(user.id),
                        FLUX,
                    )

    async def count_queries() -> int:
        await user.data(query)  # warm up: new pooled connections introspect types once
        before = live.runtime.db.stats.count
        await user.data(query)
        return live.runtime.db.stats.count - before

    await add_workflows(2)
    few = await count_queries()
    await add_workflows(8)
    many = await count_queries()
    assert many == few, f"{few} statements for 2 workflows but {many} for 10"
    # Six levels (viewer, workflows, runs, node runs, outputs, run.workflow), each one
    # transaction of BEGIN, set_config, the query and COMMIT.
    assert few <= 6 * 4 + 6
