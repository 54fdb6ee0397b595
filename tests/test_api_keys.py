"""API keys: the secret once, a hash at rest, the owner's rights under row-level security
limited to the key's scopes, revocation at once, never admin powers or key management."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import websockets
from PIL import Image

from admin_support import sign_in_admin
from conftest import LiveServer
from graph.view import KEY_RECHECK_SECONDS
from support import CREATE, RUN, error_codes, flux_node, gql, run_events_socket, sign_in
from test_authorization import _serve, _settings_beside

CREATE_KEY = """
mutation($name: String!, $scopes: [ApiKeyScope!]!) {
  createApiKey(name: $name, scopes: $scopes) { secret apiKey { id name prefix scopes lastUsedAt revokedAt } }
}
"""
KEYS = "{ apiKeys { id name prefix scopes createdAt lastUsedAt revokedAt } }"
REVOKE = "mutation($id: ID!) { revokeApiKey(id: $id) { id revokedAt } }"
WORKFLOWS = "{ workflows { edges { node { id name } } } }"


async def test_the_secret_is_shown_once_and_only_its_hash_is_stored(
    live: LiveServer, client: httpx.AsyncClient
) -> None:
    alice = await sign_in(client)
    created = (await alice.data(CREATE_KEY, name="ci", scopes=["READ"]))["createApiKey"]
    secret = created["secret"]
    assert secret.startswith(created["apiKey"]["prefix"] + "_")
    assert len(secret) >= len("lat_") + 8 + 1 + 43  # 32 random bytes, base64url
    listed = (await alice.data(KEYS))["apiKeys"]
    assert [k["id"] for k in listed] == [created["apiKey"]["id"]]
    assert secret not in json.dumps(listed)
    async with live.runtime.db.as_service() as conn:
        row = await conn.fetchrow(
            "select secret_hash, prefix from public.api_keys where id = $1",
            uuid.UUID(created["apiKey"]["id"]),
        )
    assert row["secret_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in json.dumps(dict(row))


async def test_a_key_acts_as_its_user_under_row_level_security(client: httpx.AsyncClient) -> None:
    alice, bob = await sign_in(client), await sign_in(client)
    mine = await alice.data(CREATE, input={"name": "alice's", "nodes": [], "edges": []})
    await bob.data(CREATE, input={"name": "bob's", "nodes": [], "edges": []})
    key = (await alice.data(CREATE_KEY, name="read", scopes=["READ"]))["createApiKey"]["secret"]
    seen = await gql(client, WORKFLOWS, token=key)
    names = [e["node"]["name"] for e in seen["data"]["workflows"]["edges"]]
    assert names == ["alice's"]
    assert (await gql(client, "{ viewer { id } }", token=key))["data"]["viewer"]["id"] == alice.id
    # Bob cannot revoke Alice's key; it is simply not found for him.
    key_id = (await alice.data(KEYS))["apiKeys"][0]["id"]
    assert error_codes(await bob.gql(REVOKE, id=key_id)) == ["NOT_FOUND"]
    assert mine["createWorkflow"]["id"]


async def test_a_read_key_cannot_write_and_a_run_key_runs_and_follows_events(
    live: LiveServer, client: httpx.AsyncClient
) -> None:
    pro = await sign_in(client, role="PRO")
    read = (await pro.data(CREATE_KEY, name="r", scopes=["READ"]))["createApiKey"]["secret"]
    run = (await pro.data(CREATE_KEY, name="w", scopes=["READ", "RUN"]))["createApiKey"]["secret"]
    document = {"name": "k", "nodes": [flux_node()], "edges": []}
    refused = await gql(client, CREATE, {"input": document}, token=read)
    assert error_codes(refused) == ["FORBIDDEN"]
    created = await gql(client, CREATE, {"input": document}, token=run)
    workflow_id = created["data"]["createWorkflow"]["id"]
    started = await gql(client, RUN, {"id": workflow_id, "key": uuid.uuid4().hex}, token=run)
    assert error_codes(started) == []
    run_id = started["data"]["runWorkflow"]["id"]
    # The key also authenticates a WebSocket (connection_init), and the first event is the
    # run's snapshot.
    async with run_events_socket(live.base_url, read, run_id) as ws:
        message = json.loads(await ws.recv())
        assert message["type"] == "next", message
        assert message["payload"]["data"]["runEvents"]["run"]["id"] == run_id


async def test_a_revoked_key_stops_working_at_once(
    live: LiveServer, client: httpx.AsyncClient
) -> None:
    alice = await sign_in(client)
    created = (await alice.data(CREATE_KEY, name="gone", scopes=["READ"]))["createApiKey"]
    secret = created["secret"]
    assert "errors" not in await gql(client, WORKFLOWS, token=secret)
    listed = (await alice.data(KEYS))["apiKeys"][0]
    assert listed["lastUsedAt"] is not None
    revoked = await alice.data(REVOKE, id=created["apiKey"]["id"])
    assert revoked["revokeApiKey"]["revokedAt"] is not None
    assert error_codes(await gql(client, WORKFLOWS, token=secret)) == ["UNAUTHENTICATED"]
    # A made-up secret with a real prefix is refused the same way.
    forged = secret[: secret.index("_", 4) + 1] + "x" * 43
    assert error_codes(await gql(client, WORKFLOWS, token=forged)) == ["UNAUTHENTICATED"]
    async with live.runtime.db.as_service() as conn:
        actions = await conn.fetch(
            "select action from public.audit_log where target = $1 order by id",
            created["apiKey"]["id"],
        )
    assert [a["action"] for a in actions] == ["api_key.created", "api_key.revoked"]


async def test_a_key_never_manages_keys_nor_uses_admin_powers(client: httpx.AsyncClient) -> None:
    _, admin = await sign_in_admin(client)
    key = (await admin.data(CREATE_KEY, name="ops", scopes=["READ", "RUN"]))["createApiKey"][
        "secret"
    ]
    made = await gql(client, CREATE_KEY, {"name": "more", "scopes": ["RUN"]}, token=key)
    assert error_codes(made) == ["FORBIDDEN"]
    assert error_codes(await gql(client, KEYS, token=key)) == ["FORBIDDEN"]
    console = await gql(client, "{ admin { platform { todaySpendCents } } }", token=key)
    assert error_codes(console) == ["FORBIDDEN"]
    access = await gql(client, "{ viewer { adminAccess { allowed reason } } }", token=key)
    assert access["data"]["viewer"]["adminAccess"] == {
        "allowed": False,
        "reason": "not with an API key",
    }


async def test_scopes_and_names_are_checked(client: httpx.AsyncClient) -> None:
    alice = await sign_in(client)
    assert error_codes(await alice.gql(CREATE_KEY, name="x", scopes=[])) == ["VALIDATION_ERROR"]
    assert error_codes(await alice.gql(CREATE_KEY, name=" ", scopes=["READ"])) == [
        "VALIDATION_ERROR"
    ]
    assert (await alice.data(KEYS))["apiKeys"] == []


async def test_writes_are_rate_limited_per_user_and_per_key(live: LiveServer) -> None:
    settings = _settings_beside(live, WRITES_PER_MINUTE="3", API_KEY_WRITES_PER_MINUTE="2")
    # The windows are whole minutes: start well inside one.
    if time.time() % 60 > 50:
        await asyncio.sleep(61 - time.time() % 60)
    async for url in _serve(settings):
        async with httpx.AsyncClient(base_url=url, timeout=30) as http:
            alice = await sign_in(http, role="PRO")
            key = (await alice.data(CREATE_KEY, name="bot", scopes=["RUN"]))["createApiKey"][
                "secret"
            ]
            document = {"input": {"name": "w", "nodes": [], "edges": []}}
            # createApiKey was the first write of Alice's session.
            codes = [error_codes(await alice.gql(CREATE, **document)) for _ in range(3)]
            assert codes == [[], [], ["RATE_LIMITED"]]
            # The key has its own count, and its own limit.
            by_key = [error_codes(await gql(http, CREATE, document, token=key)) for _ in range(3)]
            assert by_key == [[], [], ["RATE_LIMITED"]]
            limited = await gql(http, CREATE, document, token=key)
            assert limited["errors"][0]["extensions"]["retryAfterSeconds"] >= 1
            # Reads are not counted.
            assert error_codes(await alice.gql(WORKFLOWS)) == []


async def test_a_socket_opened_with_a_key_closes_when_the_key_is_revoked(
    live: LiveServer, client: httpx.AsyncClient
) -> None:
    alice = await sign_in(client)
    created = (await alice.data(CREATE_KEY, name="ws", scopes=["READ"]))["createApiKey"]
    ws = await websockets.connect(
        live.base_url.replace("http", "ws") + "/graphql",
        subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
    )
    try:
        init = {
            "type": "connection_init",
            "payload": {"Authorization": f"Bearer {created['secret']}"},
        }
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await alice.data(REVOKE, id=created["apiKey"]["id"])
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), timeout=KEY_RECHECK_SECONDS * 3)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    finally:
        await ws.close()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 200)).save(out, format="PNG")
    return out.getvalue()


async def test_uploads_take_a_run_key_but_not_a_read_key(client: httpx.AsyncClient) -> None:
    pro = await sign_in(client, role="PRO")
    read = (await pro.data(CREATE_KEY, name="r", scopes=["READ"]))["createApiKey"]["secret"]
    run = (await pro.data(CREATE_KEY, name="w", scopes=["RUN"]))["createApiKey"]["secret"]
    files = {"file": ("a.png", _png(), "image/png")}
    refused = await client.post(
        "/api/uploads", files=files, headers={"Authorization": f"Bearer {read}"}
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
    uploaded = await client.post(
        "/api/uploads", files=files, headers={"Authorization": f"Bearer {run}"}
    )
    assert uploaded.status_code == 201, uploaded.text
    mine = await pro.data("{ assets { edges { node { id } } } }")
    assert [e["node"]["id"] for e in mine["assets"]["edges"]] == [uploaded.json()["id"]]


README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_example() -> str:
    section = README.read_text().split("## API keys for integrators", 1)[1]
    return section.split("```python", 1)[1].split("```", 1)[0]


async def test_the_readmes_integrator_example_runs_a_workflow_and_follows_it(
    live: LiveServer, client: httpx.AsyncClient, worker: object
) -> None:
    """The Python example in README.md, run as written against this server."""
    pro = await sign_in(client, role="PRO")
    key = (await pro.data(CREATE_KEY, name="readme", scopes=["READ", "RUN"]))["createApiKey"]
    created = await pro.data(
        CREATE,
        input={"name": "readme", "nodes": [flux_node(prompt=str(uuid.uuid4()))], "edges": []},
    )
    example = _readme_example()
    example = (
        example.replace("https://lattice.example.com/graphql", f"{live.base_url}/graphql")
        .replace('"lat_..."', repr(key["secret"]))
        .replace('"<workflow id>"', repr(created["createWorkflow"]["id"]))
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        example,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode == 0, err.decode()
    assert "SUCCEEDED" in out.decode().splitlines()[-1], out.decode()
