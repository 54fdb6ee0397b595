"""Helpers for talking to the live test server as a user would."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import websockets


@dataclass
class User:
    client: httpx.AsyncClient
    token: str
    email: str
    id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def gql(self, query: str, **variables: Any) -> dict[str, Any]:
        return await gql(self.client, query, variables, token=self.token)

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        """The data of a query that must succeed."""
        result = await self.gql(query, **variables)
        assert "errors" not in result, result["errors"]
        data: dict[str, Any] = result["data"]
        return data


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def error_codes(result: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in result.get("errors", [])]


def problems(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        p for e in result.get("errors", []) for p in e.get("extensions", {}).get("problems", [])
    ]


async def sign_in(
    client: httpx.AsyncClient, *, role: str | None = None, email: str | None = None
) -> User:
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    body: dict[str, Any] = {"email": email}
    if role:
        body["role"] = role
    response = await client.post("/auth/dev/sign-in", json=body)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    me = await gql(client, "{ viewer { id } }", token=token)
    return User(client=client, token=token, email=email, id=me["data"]["viewer"]["id"])


FLUX = "fal-ai/flux/dev"
WAN = "fal-ai/wan/v2.2-a14b/image-to-video"


def flux_node(node_id: str = "a", col: int = 0, row: int = 0, **params: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "modelId": FLUX,
        "col": col,
        "row": row,
        "params": {"prompt": "a lighthouse", **params},
    }


def wan_node(node_id: str = "b", col: int = 1, row: int = 0, **params: Any) -> dict[str, Any]:
    return {
        "id": node_id,
        "modelId": WAN,
        "col": col,
        "row": row,
        "params": {"prompt": "waves roll in", **params},
    }


def wire(source: str = "a", target: str = "b") -> dict[str, str]:
    return {"source": source, "sourcePort": "image", "target": target, "targetPort": "image_url"}


CREATE = """
mutation Create($input: WorkflowInput!) {
  createWorkflow(input: $input) { id name version nodes { id modelId col row params } edges { source target } }
}
"""
UPDATE = """
mutation Update($id: ID!, $input: WorkflowInput!, $v: Int!) {
  updateWorkflow(id: $id, input: $input, expectedVersion: $v) { id name version nodes { id col row } }
}
"""


RUN = """
mutation Run($id: ID!, $key: String!, $targets: [ID!]) {
  runWorkflow(id: $id, idempotencyKey: $key, targetNodeIds: $targets) { id status estimatedCostCents }
}
"""
RUN_STATE = """
query State($id: ID!) {
  run(id: $id) {
    id status costCents estimatedCostCents finishedAt
    nodeRuns { id nodeId status error progress queuePosition logs
               outputs { id kind url width height durationSeconds contentType storage expiresAt } }
  }
}
"""
RUN_EVENTS = """
subscription Events($runId: ID!) {
  runEvents(runId: $runId) {
    run { id status costCents nodeRuns { nodeId status } }
    nodeRun { nodeId status queuePosition progress logs error outputs { id kind url } }
  }
}
"""
FINISHED = ("SUCCEEDED", "FAILED", "CANCELLED")


async def wait_for_run(user: User, run_id: str, *, timeout: float = 60) -> dict[str, Any]:
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        run = (await user.data(RUN_STATE, id=run_id))["run"]
        if run["status"] in FINISHED:
            return dict(run)
        assert asyncio.get_running_loop().time() < deadline, f"run still {run['status']}: {run}"
        await asyncio.sleep(0.1)


async def wait_for_node(
    user: User, run_id: str, node_id: str, statuses: tuple[str, ...], *, timeout: float = 30
) -> dict[str, Any]:
    import asyncio

    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        run = (await user.data(RUN_STATE, id=run_id))["run"]
        node = next(n for n in run["nodeRuns"] if n["nodeId"] == node_id)
        if node["status"] in statuses:
            return dict(node)
        assert asyncio.get_running_loop().time() < deadline, (
            f"node {node_id} still {node['status']}"
        )
        await asyncio.sleep(0.05)


async def credits(user: User) -> dict[str, int]:
    data = await user.data(
        "{ viewer { credits { freeRemaining periodUsageCents reservedCents } } }"
    )
    return dict(data["viewer"]["credits"])


@contextlib.asynccontextmanager
async def run_events_socket(
    base_url: str, token: str, run_id: str, document: str = RUN_EVENTS
) -> AsyncIterator[websockets.ClientConnection]:
    """A graphql-transport-ws connection, initialised with the token and subscribed (id "1")
    to `document` for the run; read its messages with `json.loads(await ws.recv())`."""
    url = base_url.replace("http", "ws") + "/graphql"
    async with websockets.connect(
        url, subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
    ) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        variables = {"runId": run_id}
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": document, "variables": variables},
                }
            )
        )
        yield ws
