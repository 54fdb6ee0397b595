"""The authorization matrix: every root field of the schema has a rule, and every operation
answers each kind of caller as its rule says (anonymous, Free, Pro, an admin inside the
allow-list with MFA, an admin outside it, an admin without MFA, API keys of each scope).

Operations are sent with made-up arguments: what matters is whether the caller gets past
authorization (any other answer: data, NOT_FOUND, a validation error) or is refused
(UNAUTHENTICATED, FORBIDDEN). A new field without a rule in RULES fails the first test."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
import websockets
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    parse,
    specified_rules,
    validate,
)
from PIL import Image

from admin_support import sign_in_admin
from conftest import LiveServer, make_settings
from devstack.embedded import free_port
from graph.app import create_app
from graph.permissions import AdminConsole, Anyone, CanRun, NotApiKey, SignedIn
from graph.schema import LIMIT_RULES, build_schema
from graph.trusted_documents import DEFAULT_MANIFEST, load_manifest
from services.accounts.admin_access import allowed_networks
from services.platform.config import Settings
from support import CREATE, RUN, RUN_EVENTS, User, error_codes, flux_node, gql, sign_in
from test_auth import claims_for, dev_key

# Every root field and who may use it. Adding a field means adding it here.
RULES: dict[str, type] = {
    # Query
    "viewer": Anyone,
    "models": SignedIn,
    "workflows": SignedIn,
    "workflow": SignedIn,
    "run": SignedIn,
    "runs": SignedIn,
    "assets": SignedIn,
    "asset": SignedIn,
    "loras": SignedIn,
    "estimateWorkflow": SignedIn,
    "apiKeys": NotApiKey,
    "admin": AdminConsole,
    # Mutation
    "createWorkflow": CanRun,
    "updateWorkflow": CanRun,
    "deleteWorkflow": CanRun,
    "restoreWorkflow": CanRun,
    "runWorkflow": CanRun,
    "cancelRun": CanRun,
    "persistAsset": CanRun,
    "deleteAsset": CanRun,
    "deleteAssets": CanRun,
    "addLora": CanRun,
    "deleteLora": CanRun,
    "startCheckout": NotApiKey,
    "openBillingPortal": NotApiKey,
    "setSpendingCap": NotApiKey,
    "createApiKey": NotApiKey,
    "revokeApiKey": NotApiKey,
    "adminSetRole": AdminConsole,
    "adminAdjustCredits": AdminConsole,
    "adminSetSuspended": AdminConsole,
    "adminSetSpendingCapLimit": AdminConsole,
    "adminSetModelEnabled": AdminConsole,
    "adminSetDailySpendLimit": AdminConsole,
    # Subscription
    "runEvents": SignedIn,
}

CALLERS = (
    "anonymous",
    "free",
    "pro",
    "admin_mfa",
    "admin_no_mfa",
    "admin_outside",
    "key_read",
    "key_run",
)
# Who gets past each rule; everyone else is refused.
PASSES: dict[type, set[str]] = {
    Anyone: set(CALLERS),
    SignedIn: set(CALLERS) - {"anonymous"},
    CanRun: set(CALLERS) - {"anonymous", "key_read"},
    NotApiKey: set(CALLERS) - {"anonymous", "key_read", "key_run"},
    AdminConsole: {"admin_mfa"},
}


def _root_fields() -> dict[str, tuple[str, Any]]:
    schema = build_schema()
    found = {}
    for root in ("Query", "Mutation", "Subscription"):
        definition = schema._schema.get_type(root)
        for name, field in definition.fields.items():  # type: ignore[union-attr]
            found[name] = (root, field)
    return found


def _permission_of(root: str, name: str) -> list[type]:
    schema = build_schema()
    definition = schema.get_type_by_name(root)
    assert definition is not None
    for field in definition.fields:  # type: ignore[union-attr]
        if schema.config.name_converter.get_graphql_name(field) == name:
            return [type(p) if not isinstance(p, type) else p for p in field.permission_classes]
    raise AssertionError(name)


def test_every_root_field_has_exactly_its_rule() -> None:
    fields = _root_fields()
    assert set(fields) == set(RULES), "add the new field to RULES (and give it a permission class)"
    for name, (root, _) in fields.items():
        assert _permission_of(root, name) == [RULES[name]], name


def _value(graphql_type: Any, name: str) -> Any:
    """A made-up argument that parses: authorization runs before anything uses it."""
    if isinstance(graphql_type, GraphQLNonNull):
        return _value(graphql_type.of_type, name)
    if isinstance(graphql_type, GraphQLList):
        return []
    if isinstance(graphql_type, GraphQLEnumType):
        return next(iter(graphql_type.values))
    if isinstance(graphql_type, GraphQLInputObjectType):
        return {
            n: _value(f.type, n)
            for n, f in graphql_type.fields.items()
            if isinstance(f.type, GraphQLNonNull)
        }
    assert isinstance(graphql_type, GraphQLScalarType)
    # Numbers out of range, so a caller who gets through changes nothing (limits, caps).
    return {
        "ID": str(uuid.uuid4()),
        "String": "authorization-matrix",
        "Int": -1,
        "Float": -1.0,
        "Boolean": False,
        "JSON": {},
        "DateTime": "2026-01-01T00:00:00Z",
    }.get(graphql_type.name, "x")


def _document(root: str, name: str, field: GraphQLField) -> tuple[str, dict[str, Any]]:
    required = {n: a for n, a in field.args.items() if isinstance(a.type, GraphQLNonNull)}
    params = ", ".join(f"${n}: {a.type}" for n, a in required.items())
    args = ", ".join(f"{n}: ${n}" for n in required)
    operation = "query" if root == "Query" else "mutation"
    head = f"{operation} M({params})" if params else operation
    call = f"{name}({args})" if args else name
    named = field.type
    while isinstance(named, (GraphQLNonNull, GraphQLList)):
        named = named.of_type
    selection = "" if isinstance(named, (GraphQLScalarType, GraphQLEnumType)) else " { __typename }"
    return f"{head} {{ {call}{selection} }}", {n: _value(a.type, n) for n, a in required.items()}


async def _serve(settings: Settings) -> AsyncIterator[str]:
    """A server of this test's own. proxy_headers=False as in production (graph.app.main):
    TRUSTED_PROXIES alone decides whom X-Forwarded-For is taken from."""
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=settings.PORT,
            log_level="warning",
            proxy_headers=False,
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{settings.PORT}"
    finally:
        server.should_exit = True
        await task


def _settings_beside(live: LiveServer, **overrides: str) -> Settings:
    """Another server on the same database and Redis, trusting the same token issuer."""
    s = live.settings
    return make_settings(
        str(s.DATABASE_URL),
        str(s.REDIS_URL),
        Path(s.DATA_DIR),
        free_port(),
        PUBLIC_URL=live.base_url,
        **overrides,
    )


@pytest.fixture
async def outside(live: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    """The same database behind a server whose admin allow-list excludes loopback."""
    settings = _settings_beside(live, ADMIN_ALLOWED_IPS="10.0.0.0/8")
    async for url in _serve(settings):
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield http


async def _api_key(user: User, scopes: list[str]) -> str:
    created = await user.data(
        'mutation($s: [ApiKeyScope!]!) { createApiKey(name: "matrix", scopes: $s) { secret } }',
        s=scopes,
    )
    return str(created["createApiKey"]["secret"])


async def test_every_operation_answers_each_caller_as_its_rule_says(
    live: LiveServer, client: httpx.AsyncClient, outside: httpx.AsyncClient
) -> None:
    admin_aal1, admin = await sign_in_admin(client)
    pro = await sign_in(client, role="PRO")
    callers: dict[str, tuple[httpx.AsyncClient, str | None]] = {
        "anonymous": (client, None),
        "free": (client, (await sign_in(client)).token),
        "pro": (client, pro.token),
        "admin_mfa": (client, admin.token),
        "admin_no_mfa": (client, admin_aal1.token),
        # The same aal2 admin token, from a network outside the allow-list.
        "admin_outside": (outside, admin.token),
        "key_read": (client, await _api_key(pro, ["READ"])),
        "key_run": (client, await _api_key(pro, ["READ", "RUN"])),
    }
    wrong: list[str] = []
    for name, (root, field) in sorted(_root_fields().items()):
        if root == "Subscription":
            continue  # over WebSocket: tests/test_api_keys.py and test_events.py
        document, variables = _document(root, name, field)
        for caller, (http, token) in callers.items():
            result = await gql(http, document, variables, token=token)
            codes = error_codes(result)
            refused = any(c in ("UNAUTHENTICATED", "FORBIDDEN") for c in codes)
            expected = caller in PASSES[RULES[name]]
            if refused == expected:
                wrong.append(f"{name} as {caller}: {codes} {result.get('errors')}")
    assert not wrong, "\n".join(wrong)


async def test_an_admin_outside_the_allow_list_is_an_ordinary_user_whatever_headers_say(
    live: LiveServer, client: httpx.AsyncClient
) -> None:
    _, admin = await sign_in_admin(client)
    spoofed = {"X-Forwarded-For": "10.1.2.3", "Authorization": f"Bearer {admin.token}"}
    access = "{ viewer { role adminAccess { allowed reason } } }"
    # No trusted proxies: the header changes nothing.
    settings = _settings_beside(live, ADMIN_ALLOWED_IPS="10.0.0.0/8")
    async for url in _serve(settings):
        async with httpx.AsyncClient(base_url=url) as http:
            answer = (await http.post("/graphql", json={"query": access}, headers=spoofed)).json()
            assert answer["data"]["viewer"]["adminAccess"] == {
                "allowed": False,
                "reason": "not from an allowed network",
            }
            assert answer["data"]["viewer"]["role"] == "ADMIN"
            refused = (
                await http.post(
                    "/graphql",
                    json={"query": "{ admin { platform { todaySpendCents } } }"},
                    headers=spoofed,
                )
            ).json()
            assert error_codes(refused) == ["FORBIDDEN"]
            assert refused["errors"][0]["extensions"]["reason"] == "not from an allowed network"
    # Loopback is a trusted proxy: the client it names is the client.
    settings = _settings_beside(live, ADMIN_ALLOWED_IPS="10.0.0.0/8", TRUSTED_PROXIES="127.0.0.1")
    async for url in _serve(settings):
        async with httpx.AsyncClient(base_url=url) as http:
            answer = (await http.post("/graphql", json={"query": access}, headers=spoofed)).json()
            assert answer["data"]["viewer"]["adminAccess"] == {"allowed": True, "reason": None}


def test_production_with_no_allow_list_gives_no_admin_access() -> None:
    assert allowed_networks((), is_dev=False) == ()
    assert allowed_networks((), is_dev=True) != ()


async def _socket(base_url: str, token: str) -> websockets.ClientConnection:
    ws = await websockets.connect(
        base_url.replace("http", "ws") + "/graphql",
        subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
    )
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    return ws


async def test_a_websocket_closes_when_its_token_expires(live: LiveServer, alice: User) -> None:
    key, kid = dev_key(live)
    token = jwt.encode(
        claims_for(live, alice.id, exp=int(time.time()) + 2),
        key,
        algorithm="ES256",
        headers={"kid": kid},
    )
    ws = await _socket(live.base_url, token)
    try:
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    finally:
        await ws.close()


async def test_connections_per_user_are_capped(live: LiveServer, alice: User) -> None:
    open_sockets = []
    try:
        for _ in range(live.settings.WS_CONNECTIONS_PER_USER):
            ws = await _socket(live.base_url, alice.token)
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            open_sockets.append(ws)
        extra = await _socket(live.base_url, alice.token)
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(extra.recv(), timeout=5)
    finally:
        for ws in open_sockets:
            await ws.close()
    # Closed connections are released: a new one is accepted once the server has seen the
    # others close (no fixed wait: each refused attempt is retried until a deadline).
    deadline = time.monotonic() + 10
    while True:
        again = await _socket(live.base_url, alice.token)
        try:
            if json.loads(await again.recv())["type"] == "connection_ack":
                break
        except websockets.ConnectionClosed:
            assert time.monotonic() < deadline, "closed sockets were never released"
            await asyncio.sleep(0.05)
        finally:
            await again.close()


# The GraphQL edge: trusted documents, introspection and suggestions, query cost.

MODELS = "query Models { models { id allowed } }"


@pytest.fixture
async def closed(live: LiveServer, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A server as production runs it: only the manifest's documents, except for API keys."""
    manifest = tmp_path / "trusted.json"
    manifest.write_text(json.dumps({_sha(d): d for d in (MODELS, RUN_EVENTS)}))
    settings = _settings_beside(
        live, GRAPHQL_OPEN_DOCUMENTS="false", TRUSTED_DOCUMENTS_PATH=str(manifest)
    )
    async for url in _serve(settings):
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            yield http


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _persisted(digest: str) -> dict[str, Any]:
    return {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}}


async def test_only_trusted_documents_run_for_browser_sessions(
    closed: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    pro = await sign_in(client, role="PRO")
    headers = {"Authorization": f"Bearer {pro.token}"}
    by_id = (await closed.post("/graphql", json=_persisted(_sha(MODELS)), headers=headers)).json()
    assert by_id["data"]["models"]
    unknown = (await closed.post("/graphql", json=_persisted("0" * 64), headers=headers)).json()
    assert error_codes(unknown) == ["PERSISTED_QUERY_NOT_FOUND"]
    for document in (
        "{ viewer { id } }",
        "{ __schema { types { name } } }",
        "{ viewr { id } }",  # no "Did you mean viewer?" either
    ):
        refused = (await closed.post("/graphql", json={"query": document}, headers=headers)).json()
        assert error_codes(refused) == ["FORBIDDEN"], refused
        assert "Did you mean" not in json.dumps(refused)
    # Anonymous callers likewise.
    anonymous = (await closed.post("/graphql", json={"query": "{ viewer { id } }"})).json()
    assert error_codes(anonymous) == ["FORBIDDEN"]


async def test_api_keys_send_their_own_documents_and_introspect(
    closed: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    pro = await sign_in(client, role="PRO")
    key = await _api_key(pro, ["READ"])
    headers = {"Authorization": f"Bearer {key}"}
    introspection = {"query": "{ __schema { queryType { name } } }"}
    answer = (await closed.post("/graphql", json=introspection, headers=headers)).json()
    assert answer["data"]["__schema"]["queryType"]["name"] == "Query"
    own = (
        await closed.post("/graphql", json={"query": "{ viewer { id } }"}, headers=headers)
    ).json()
    assert own["data"]["viewer"]["id"] == pro.id
    # A revoked key hears that its credential is no good, not that its document is untrusted.
    for listed in (await pro.data("{ apiKeys { id } }"))["apiKeys"]:
        await pro.data("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", id=listed["id"])
    gone = (
        await closed.post("/graphql", json={"query": "{ viewer { id } }"}, headers=headers)
    ).json()
    assert error_codes(gone) == ["UNAUTHENTICATED"], gone


async def test_the_query_cost_limit_weighs_page_sizes(client: httpx.AsyncClient) -> None:
    pro = await sign_in(client, role="PRO")
    nested = """query($n: Int) { workflows(first: 100) { edges { node { id
      runs(first: $n) { edges { node { id nodeRuns { id } } } } } } } }"""
    refused = await pro.gql(nested, n=5)
    assert error_codes(refused) == ["QUERY_TOO_COSTLY"]
    small = """{ workflows(first: 10) { edges { node { id
      runs(first: 10) { edges { node { id nodeRuns { id } } } } } } } }"""
    assert error_codes(await pro.gql(small)) == []


def test_the_clients_trusted_documents_are_valid_and_within_the_limits() -> None:
    manifest = load_manifest(DEFAULT_MANIFEST)
    schema = build_schema()._schema
    for digest, text in manifest.items():
        errors = validate(schema, parse(text), [*specified_rules, *LIMIT_RULES])
        assert not errors, (digest, text.split("{")[0], errors)


async def test_subscriptions_run_trusted_documents_by_id_over_websocket(
    closed: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    pro = await sign_in(client, role="PRO")
    created = await pro.data(CREATE, input={"name": "ws", "nodes": [flux_node()], "edges": []})
    run_id = (await pro.data(RUN, id=created["createWorkflow"]["id"], key=uuid.uuid4().hex))[
        "runWorkflow"
    ]["id"]
    ws = await _socket(str(closed.base_url), pro.token)
    try:
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        by_id = {"variables": {"runId": run_id}, **_persisted(_sha(RUN_EVENTS)), "query": ""}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": by_id}))
        first = json.loads(await ws.recv())
        assert first["type"] == "next", first
        assert first["payload"]["data"]["runEvents"]["run"]["id"] == run_id
        own = {
            "query": "subscription($r: ID!) { runEvents(runId: $r) { run { id } } }",
            "variables": {"r": run_id},
        }
        await ws.send(json.dumps({"id": "2", "type": "subscribe", "payload": own}))
        while (message := json.loads(await ws.recv()))["id"] != "2":
            pass
        assert "FORBIDDEN" in json.dumps(message), message
    finally:
        await ws.close()


async def test_another_user_reaches_none_of_a_users_objects_by_id(
    client: httpx.AsyncClient,
) -> None:
    """Every root field that takes an id, sent by Bob with Alice's ids (and with Bob's own
    RUN key): nothing is revealed or changed."""
    alice = await sign_in(client, role="PRO")
    bob = await sign_in(client, role="PRO")
    workflow = (await alice.data(CREATE, input={"name": "a", "nodes": [flux_node()], "edges": []}))[
        "createWorkflow"
    ]
    run = (await alice.data(RUN, id=workflow["id"], key=uuid.uuid4().hex))["runWorkflow"]
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, format="PNG")
    upload = await client.post(
        "/api/uploads",
        files={"file": ("a.png", png.getvalue(), "image/png")},
        headers=alice.headers,
    )
    asset = upload.json()["id"]
    lora = (
        await alice.data(
            "mutation($i: LoraInput!) { addLora(input: $i) { id } }",
            i={
                "name": "s",
                "url": "https://huggingface.co/me/s.safetensors",
                "baseModel": "flux-dev",
            },
        )
    )["addLora"]["id"]
    key = (
        await alice.data('mutation { createApiKey(name: "a", scopes: [READ]) { apiKey { id } } }')
    )["createApiKey"]["apiKey"]["id"]
    attempts: list[tuple[str, dict[str, Any]]] = [
        ("query($id: ID!) { workflow(id: $id) { id } }", {"id": workflow["id"]}),
        ("query($id: ID!) { run(id: $id) { id } }", {"id": run["id"]}),
        ("query($id: ID!) { asset(id: $id) { id } }", {"id": asset}),
        (
            "mutation($id: ID!, $i: WorkflowInput!) { updateWorkflow(id: $id, input: $i, expectedVersion: 1) { id } }",
            {"id": workflow["id"], "i": {"name": "mine now", "nodes": [], "edges": []}},
        ),
        (
            'mutation($id: ID!) { runWorkflow(id: $id, idempotencyKey: "x") { id } }',
            {"id": workflow["id"]},
        ),
        ("mutation($id: ID!) { cancelRun(id: $id) { id } }", {"id": run["id"]}),
        ("mutation($id: ID!) { persistAsset(id: $id) { id } }", {"id": asset}),
        ("mutation($id: ID!) { deleteAsset(id: $id) }", {"id": asset}),
        ("mutation($ids: [ID!]!) { deleteAssets(ids: $ids) }", {"ids": [asset]}),
        ("mutation($id: ID!) { deleteLora(id: $id) }", {"id": lora}),
        ("mutation($id: ID!) { revokeApiKey(id: $id) { id } }", {"id": key}),
        ("mutation($id: ID!) { deleteWorkflow(id: $id) }", {"id": workflow["id"]}),
        ("mutation($id: ID!) { restoreWorkflow(id: $id) { id } }", {"id": workflow["id"]}),
    ]
    bob_key = await _api_key(bob, ["READ", "RUN"])
    leaks = []
    for document, variables in attempts:
        for token in (bob.token, bob_key):
            result = await gql(client, document, variables, token=token)
            value = next(iter((result.get("data") or {None: None}).values()))
            # NOT_FOUND, or FORBIDDEN for what keys may never do: neither says the id exists.
            if value not in (None, False, []) or set(error_codes(result)) - {
                "NOT_FOUND",
                "FORBIDDEN",
            }:
                leaks.append((document.split("{")[1].strip(), result))
    assert not leaks, leaks
    # Alice's objects are as she left them.
    mine = await alice.data(
        """query($w: ID!, $r: ID!, $a: ID!) { workflow(id: $w) { name }
           run(id: $r) { id } asset(id: $a) { id } loras { id } apiKeys { revokedAt } }""",
        w=workflow["id"],
        r=run["id"],
        a=asset,
    )
    assert mine["workflow"] == {"name": "a"} and mine["run"] and mine["asset"]
    assert [x["id"] for x in mine["loras"]] == [lora]
    assert mine["apiKeys"] == [{"revokedAt": None}]
