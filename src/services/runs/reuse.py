"""What a run will actually do, decided when it starts: utility nodes (Text, Image) are their
value and are done at once; a node whose parameters and inputs are unchanged since its last
successful output in this workflow reuses that output (free, shown as CACHED), whatever its
seed setting: a random-seed node keeps the result it actually got; everything else runs.

A node's identity is what `inputs.resolve` records for it when it runs (its parameters with
defaults, its images by gallery asset, its LoRAs by id), so a result recorded by a worker is
found again here. A node asked to re-roll, and everything downstream of a node that runs,
runs again."""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from services.accounts.viewer import Viewer
from services.assets.url_safety import check_public_https_url
from services.billing.pricing import Quote
from services.billing.pricing import estimate as price
from services.platform.database import Database
from services.platform.errors import ValidationFailed
from services.workflows.catalog import CATALOG, PortType
from services.workflows.graph import Graph, Node


@dataclass
class Plan:
    instant: set[str] = field(default_factory=set)
    # node id -> (the node run whose outputs are reused, the identity it was made from)
    reused: dict[str, tuple[uuid.UUID, dict[str, Any]]] = field(default_factory=dict)
    to_run: set[str] = field(default_factory=set)

    @property
    def done(self) -> set[str]:
        """Nodes finished as the run starts."""
        return self.instant | set(self.reused)


async def plan(
    conn: asyncpg.Connection,
    graph: Graph,
    workflow_id: uuid.UUID | None,
    selected: set[str],
    reroll: Iterable[str] = (),
) -> Plan:
    """`conn` reads as the viewer: only their own runs can be reused."""
    fresh = set(reroll)
    result = Plan()
    for node_id in _in_order(graph, selected):
        node = graph.node(node_id)
        spec = CATALOG.get(node.model_id) if node else None
        if node is None or spec is None:
            continue
        if spec.instant:
            result.instant.add(node_id)
            continue
        upstream = {e.source for e in graph.incoming(node_id)}
        if workflow_id is None or node_id in fresh or upstream & result.to_run:
            result.to_run.add(node_id)
            continue
        identity = await _identity(conn, graph, node, result)
        found = None
        if identity is not None:
            found = await _last_output(conn, workflow_id, node, identity)
        if found is None or identity is None:
            result.to_run.add(node_id)
        else:
            result.reused[node_id] = (found, identity)
    return result


def _in_order(graph: Graph, selected: set[str]) -> list[str]:
    indegree = {n: 0 for n in selected}
    for edge in graph.edges:
        if edge.source in selected and edge.target in selected:
            indegree[edge.target] += 1
    ready = deque(n.id for n in graph.nodes if n.id in selected and indegree[n.id] == 0)
    ordered: list[str] = []
    while ready:
        current = ready.popleft()
        ordered.append(current)
        for edge in graph.edges:
            if edge.source == current and edge.target in indegree:
                indegree[edge.target] -= 1
                if indegree[edge.target] == 0:
                    ready.append(edge.target)
    return ordered


async def _identity(
    conn: asyncpg.Connection, graph: Graph, node: Node, done: Plan
) -> dict[str, Any] | None:
    """The identity `inputs.resolve` would record; None when an input cannot be told yet."""
    spec = CATALOG[node.model_id]
    params = spec.with_defaults(node.params)
    identity: dict[str, Any] = {k: v for k, v in params.items() if v is not None and k != "loras"}
    for port in spec.inputs:
        edge = next((e for e in graph.incoming(node.id) if e.target_port == port.name), None)
        if edge is None:
            if port.type == PortType.IMAGE:
                given = given_image_identity(params.get(port.name))
                if given is None:
                    return None
                identity[port.name] = given
            continue
        source = graph.node(edge.source)
        source_spec = CATALOG.get(source.model_id) if source else None
        if source is None or source_spec is None:
            return None
        if source_spec.instant:
            value = source.params.get(source_spec.value_param or "") or ""
            if port.type == PortType.IMAGE:
                value = given_image_identity(value)
                if value is None:
                    return None
            identity[port.name] = value
        elif edge.source in done.reused and port.type == PortType.IMAGE:
            asset_id = await conn.fetchval(
                "select id from public.assets where node_run_id = $1 and kind = 'IMAGE'"
                " order by output_index limit 1",
                done.reused[edge.source][0],
            )
            if asset_id is None:
                return None
            identity[port.name] = f"asset:{asset_id}"
        else:
            return None
    if spec.supports_lora:
        try:
            identity["loras"] = [
                [str(uuid.UUID(c["lora_id"])), float(c.get("scale", 1))]
                for c in params.get("loras") or []
            ]
        except (KeyError, TypeError, ValueError):
            return None
    return identity


def given_image_identity(value: Any) -> str | None:
    """An image given by value (a gallery asset id or an https URL) as a node records it."""
    if not isinstance(value, str) or not value:
        return None
    if value.startswith("https://"):
        try:
            return check_public_https_url(value, field="image_url")
        except ValidationFailed:
            return None
    try:
        return f"asset:{uuid.UUID(value)}"
    except ValueError:
        return None


async def _last_output(
    conn: asyncpg.Connection, workflow_id: uuid.UUID, node: Node, identity: dict[str, Any]
) -> uuid.UUID | None:
    """The newest successful output of this node in this workflow made from exactly these
    inputs, while its outputs still exist."""
    found: uuid.UUID | None = await conn.fetchval(
        """
        select coalesce(n.cached_from, n.id) from public.runs r
        join public.node_runs n on n.run_id = r.id
        where r.workflow_id = $1 and n.node_id = $2 and n.model_id = $3
          and n.status in ('SUCCEEDED', 'CACHED') and n.inputs = $4::jsonb
          and exists (select from public.assets a where a.node_run_id = coalesce(n.cached_from, n.id)
                      and (a.expires_at is null or a.expires_at > now()))
        order by n.finished_at desc nulls last limit 1
        """,
        workflow_id,
        node.id,
        node.model_id,
        identity,
    )
    return found


async def estimate(
    db: Database,
    viewer: Viewer,
    graph: Graph,
    workflow_id: uuid.UUID | None,
    targets: list[str] | None,
    reroll: list[str],
) -> tuple[Quote, set[str]]:
    """The price of what a run of `graph` would actually do, and the nodes it would reuse.
    Read as the viewer: only their own workflow's outputs count."""
    known = [t for t in targets or [] if graph.node(t) is not None]
    selected = graph.upstream_closure(known) if targets is not None else {n.id for n in graph.nodes}
    if workflow_id is None:
        decided = Plan(to_run={n for n in selected if not _instant(graph, n)})
    else:
        async with db.as_user(viewer.claims) as conn:
            decided = await plan(conn, graph, workflow_id, selected, reroll)
    return price(graph, only=decided.to_run), set(decided.reused)


def _instant(graph: Graph, node_id: str) -> bool:
    node = graph.node(node_id)
    spec = CATALOG.get(node.model_id) if node else None
    return spec is not None and spec.instant
