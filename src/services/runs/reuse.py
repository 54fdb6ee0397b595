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
from collections.abc import Iterable, Mapping
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


@dataclass(frozen=True)
class _Earlier:
    """A successful output of a node in this workflow: what it was made from, the node run
    whose outputs it is, and that output's first image (what a downstream node takes)."""

    model_id: str
    inputs: dict[str, Any]
    source: uuid.UUID
    first_image: uuid.UUID | None


async def plan(
    conn: asyncpg.Connection,
    graph: Graph,
    workflow_id: uuid.UUID | None,
    selected: set[str],
    reroll: Iterable[str] = (),
) -> Plan:
    """`conn` reads as the viewer: only their own runs can be reused. One statement however
    many nodes (the editor asks for an estimate after each edit)."""
    fresh = set(reroll)
    candidates = [
        n.id
        for n in graph.nodes
        if n.id in selected and n.id not in fresh and not _instant(graph, n.id)
    ]
    earlier = (
        await conn.fetch(earlier_outputs("$1", node_ids="$2"), workflow_id, candidates)
        if workflow_id is not None and candidates
        else []
    )
    return decide(graph, selected, fresh, earlier)


def earlier_outputs(workflow_id: str, *, node_ids: str | None = None) -> str:
    """A select of the successful outputs of nodes (all, or those in the array `node_ids`)
    in the workflow `workflow_id` that still exist: the newest one for each node, model and
    set of inputs. What `decide` takes, read as the viewer."""
    of_nodes = f"and n.node_id = any({node_ids})" if node_ids else ""
    return f"""
select distinct on (n.node_id, n.model_id, n.inputs) n.node_id, n.model_id, n.inputs,
       coalesce(n.cached_from, n.id) as source,
       (select a.id from public.assets a
        where a.node_run_id = coalesce(n.cached_from, n.id) and a.kind = 'IMAGE'
        order by a.output_index limit 1) as first_image
from public.runs r
join public.node_runs n on n.run_id = r.id
where r.workflow_id = {workflow_id} {of_nodes}
  and n.status in ('SUCCEEDED', 'CACHED') and n.inputs is not null
  and exists (select from public.assets a where a.node_run_id = coalesce(n.cached_from, n.id)
              and (a.expires_at is null or a.expires_at > now()))
order by n.node_id, n.model_id, n.inputs, n.finished_at desc nulls last
"""


def decide(
    graph: Graph,
    selected: set[str],
    reroll: Iterable[str],
    outputs: Iterable[Mapping[str, Any]],
) -> Plan:
    """The plan, given the rows of `earlier_outputs` (as records, or as JSON objects with
    the ids as text)."""
    fresh = set(reroll)
    result = Plan()
    earlier: dict[str, list[_Earlier]] = {}
    for row in outputs:
        image = row["first_image"]
        earlier.setdefault(row["node_id"], []).append(
            _Earlier(
                row["model_id"],
                row["inputs"],
                uuid.UUID(str(row["source"])),
                uuid.UUID(str(image)) if image else None,
            )
        )
    for node_id in _in_order(graph, selected):
        node = graph.node(node_id)
        spec = CATALOG.get(node.model_id) if node else None
        if node is None or spec is None:
            continue
        if spec.instant:
            result.instant.add(node_id)
            continue
        upstream = {e.source for e in graph.incoming(node_id)}
        if node_id in fresh or upstream & result.to_run:
            result.to_run.add(node_id)
            continue
        identity = _identity(graph, node, result, earlier)
        found = next(
            (
                e
                for e in earlier.get(node_id, [])
                if identity is not None and e.model_id == node.model_id and e.inputs == identity
            ),
            None,
        )
        if found is None or identity is None:
            result.to_run.add(node_id)
        else:
            result.reused[node_id] = (found.source, identity)
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


def _identity(
    graph: Graph, node: Node, done: Plan, earlier: dict[str, list[_Earlier]]
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
            reused_from = done.reused[edge.source][0]
            image = next(
                (e.first_image for e in earlier.get(edge.source, []) if e.source == reused_from),
                None,
            )
            if image is None:
                return None
            identity[port.name] = f"asset:{image}"
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
