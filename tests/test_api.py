"""The API's edges: every operation authorizes, limits hold, and what is not built yet says so."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from graphql import build_schema, get_named_type, is_leaf_type

from conftest import make_settings, serve
from devstack.embedded import free_port
from graph.export_schema import SCHEMA_FILE
from support import User, error_codes, gql, sign_in

VALUES: dict[str, object] = {
    "id": str(uuid.uuid4()),
    "idempotencyKey": "k",
    "expectedVersion": 1,
    "cents": 1,
    "ids": [str(uuid.uuid4())],
    # API keys and the admin console.
    "name": "x",
    "scopes": ["READ"],
    "userId": str(uuid.uuid4()),
    "role": "PRO",
    "reason": "x",
    "amountCents": 1,
    "suspended": False,
    "limitCents": 1,
    "modelId": "x",
    "enabled": True,
}
INPUTS = {
    "WorkflowInput!": {"name": "x", "nodes": [], "edges": []},
    "LoraInput!": {"name": "x", "url": "https://hf.co/x", "baseModel": "flux-dev"},
}


def _operations() -> list[tuple[str, str, dict[str, object]]]:
    schema = build_schema(SCHEMA_FILE.read_text())
    assert schema.query_type and schema.mutation_type
    found = []
    for kind, root in (("query", schema.query_type), ("mutation", schema.mutation_type)):
        for name, field in root.fields.items():
            if name == "viewer":
                continue
            args = ", ".join(f"${a}: {t.type}" for a, t in field.args.items())
            call = ", ".join(f"{a}: ${a}" for a in field.args)
            # Scalars and lists of them take no selection.
            selection = "" if is_leaf_type(get_named_type(field.type)) else " { __typename }"
            document = f"{kind} Op{f'({args})' if args else ''} {{ {name}{f'({call})' if call else ''}{selection} }}"
            variables = {a: INPUTS.get(str(t.type), VALUES.get(a)) for a, t in field.args.items()}
            found.append((name, document, variables))
    return found


async def test_every_operation_refuses_an_anonymous_caller(client: httpx.AsyncClient) -> None:
    operations = _operations()
    assert len(operations) >= 20
    for name, document, variables in operations:
        body = (
            await client.post("/graphql", json={"query": document, "variables": variables})
        ).json()
        assert error_codes(body) == ["UNAUTHENTICATED"], (name, body)


async def test_deep_queries_are_refused(alice: User) -> None:
    deep = "{ workflows { edges { node { runs { edges { node { workflow { runs { edges { node { workflow { id } } } } } } } } } } } }"
    result = await alice.gql(deep)
    assert "exceeds maximum operation depth" in result["errors"][0]["message"]


async def test_too_many_aliases_are_refused(alice: User) -> None:
    many = "{ " + " ".join(f"a{i}: viewer {{ id }}" for i in range(30)) + " }"
    assert "aliases" in (await alice.gql(many))["errors"][0]["message"]


async def test_billing_without_stripe_keys_answers_not_available(
    database_url: str, test_redis_url: str, data_dir: Path
) -> None:
    settings = make_settings(database_url, test_redis_url, data_dir, free_port())
    async for server in serve(settings):
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            user = await sign_in(http)
            for mutation in ("startCheckout", "openBillingPortal"):
                result = await user.gql(f"mutation {{ {mutation} {{ url }} }}")
                assert error_codes(result) == ["NOT_AVAILABLE"], result


async def test_spending_cap_is_set_and_removed(alice: User) -> None:
    assert (await alice.data("mutation { setSpendingCap(cents: 2500) { spendingCapCents } }"))[
        "setSpendingCap"
    ]["spendingCapCents"] == 2500
    assert (await alice.data("{ viewer { spendingCapCents } }"))["viewer"][
        "spendingCapCents"
    ] == 2500
    assert error_codes(await alice.gql("mutation { setSpendingCap(cents: -1) { id } }")) == [
        "VALIDATION_ERROR"
    ]
    assert (await alice.data("mutation { setSpendingCap(cents: null) { spendingCapCents } }"))[
        "setSpendingCap"
    ]["spendingCapCents"] is None


async def test_health_and_client_config(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {
        "status": "ok",
        "down": [],
        "postgres": "ok",
        "redis": "ok",
        "hub": "ok",
    }
    assert (await client.get("/api/config")).json() == {
        "supabaseUrl": None,
        "supabaseAnonKey": None,
        "devSignIn": True,
    }


async def test_graphiql_is_served_in_dev(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()


async def test_the_gallery_starts_empty(alice: User) -> None:
    data = await alice.data(
        "{ assets(kind: IMAGE) { edges { node { id } } pageInfo { hasNextPage endCursor } } }"
    )
    assert data["assets"] == {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}
    assert (await alice.data(f'{{ asset(id: "{uuid.uuid4()}") {{ id }} }}'))["asset"] is None


async def test_unknown_ids_are_null_not_errors(alice: User, client: httpx.AsyncClient) -> None:
    for query in (
        '{ workflow(id: "nope") { id } }',
        '{ run(id: "nope") { id } }',
        '{ asset(id: "nope") { id } }',
    ):
        result = await gql(client, query, token=alice.token)
        assert list(result["data"].values()) == [None], query
